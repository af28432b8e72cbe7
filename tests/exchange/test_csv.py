"""CSV in and out, through the real app.

Negative cases first: another member's TLP:RED org-only indicator never reaches an export; a bad
row refuses the whole file with its line number and stores nothing; a cell that a spreadsheet
would run as a formula is written as text.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from shieldwall.exchange.csv_format import safe_cell
from tests.factories import World, indicator
from tests.test_cli import run


def exported(user) -> list[dict[str, str]]:
    response = user.get("/api/v1/exports/csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_another_members_red_org_only_indicator_is_not_exported(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    assert alice.share(
        indicator("203.0.113.66", tlp="red", distribution="org"),
        indicator("203.0.113.67", tlp="green", distribution="community"),
    ).status_code == 201  # fmt: skip
    assert [r["value"] for r in exported(bob)] == ["203.0.113.67"]
    assert sorted(r["value"] for r in exported(alice)) == ["203.0.113.66", "203.0.113.67"]
    red = next(r for r in exported(alice) if r["value"] == "203.0.113.66")
    assert red["type"] == "ipv4" and red["tlp"] == "red"


def test_a_bad_row_refuses_the_whole_file_naming_its_line(world: World) -> None:
    alice = world.user(world.member())
    text = "type,value\nipv4,198.51.100.10\ndomain,evil.example\nipv4,not-an-address\n"
    response = alice.post("/api/v1/imports/csv", content=text)
    assert response.status_code == 400, response.text
    assert "line 4" in response.text
    assert exported(alice) == []
    # ingest's own rules refuse a row too, and the whole file, naming the line
    red = "type,value,tlp\nipv4,198.51.100.11,green\nipv4,198.51.100.12,red\n"
    response = alice.post("/api/v1/imports/csv", content=red, params={"distribution": "all"})
    assert response.status_code == 400 and "line 3" in response.text, response.text
    assert exported(alice) == []
    for bad, line in (
        ("kind,value\nipv4,198.51.100.10\n", "line 1"),
        ("type,value\nwidget,198.51.100.10\n", "line 2"),
        ("type,value,tlp\nipv4,198.51.100.10,purple\n", "line 2"),
        ("type,value\nipv4,198.51.100.10,extra\n", "line 2"),
    ):
        response = alice.post("/api/v1/imports/csv", content=bad)
        assert response.status_code == 400 and line in response.text, (bad, response.text)
    assert exported(alice) == []


def test_rows_become_indicators_and_come_back_out(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    text = (
        "Type,Value,TLP,Labels,Comment\n"
        "ipv4,198.51.100.20,green,c2;botnet,seen in phishing\n"
        "domain,Evil.Example,,,\n"
        "url,http://evil.example/a,amber+strict,,\n"
        "sha256," + "a" * 64 + ",clear,,\n"
        "ipv4,198.51.100.20,green,,duplicate row\n"
        "\n"
    )
    response = alice.post("/api/v1/imports/csv", content=text, params={"distribution": "community"})
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 4
    rows = {r["value"]: r for r in exported(alice)}
    assert set(rows) == {"198.51.100.20", "evil.example", "http://evil.example/a", "a" * 64}
    assert (
        rows["198.51.100.20"]["labels"] == "c2;botnet" and rows["198.51.100.20"]["tlp"] == "green"
    )
    assert rows["evil.example"]["tlp"] == "amber"  # the default
    assert rows["http://evil.example/a"]["tlp"] == "amber+strict"
    # shared with the community: another member sees the same rows (the policy decides)
    assert {r["value"] for r in exported(bob)} == set(rows)


def test_export_cells_cannot_run_as_formulas(world: World) -> None:
    for raw in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(raw) == "'" + raw
    assert safe_cell("evil.example") == "evil.example"
    alice = world.user(world.member())
    labelled = {**indicator("198.51.100.30", tlp="green"), "labels": ['=HYPERLINK("x")']}
    assert alice.share(labelled).status_code == 201
    (row,) = exported(alice)
    assert row["labels"] == '\'=HYPERLINK("x")'


def test_the_export_carries_scores_and_sightings_filters_and_is_audited(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    fresh = "2026-11-30T00:00:00.000Z"
    strong = {**indicator("198.51.100.50", tlp="green"), "confidence": 90,
              "created": fresh, "modified": fresh, "valid_from": fresh}  # fmt: skip
    amber = indicator("198.51.100.51", tlp="amber")
    assert alice.share(strong, amber).status_code == 201
    # Bob's own sighting of the value is his (org-only): Alice's export must not count it.
    sighting = {"value": "198.51.100.50", "count": 2, "tlp": "green", "distribution": "org",
                "seen_at": "2026-12-01T10:00:00Z"}  # fmt: skip
    assert bob.post("/api/v1/sightings", json={"sightings": [sighting]}).status_code == 201
    theirs = {r["value"]: r for r in exported(bob)}
    mine = {r["value"]: r for r in exported(alice)}
    assert theirs["198.51.100.50"]["seen"] == "2"
    assert theirs["198.51.100.50"]["first_seen"] == theirs["198.51.100.50"]["last_seen"]
    assert theirs["198.51.100.50"]["last_seen"].startswith("2026-12-01T10:00:00")
    assert mine["198.51.100.50"]["seen"] == "0" and mine["198.51.100.50"]["last_seen"] == ""
    assert float(mine["198.51.100.50"]["score"]) > float(mine["198.51.100.51"]["score"])
    # Filters as every export's: a TLP ceiling, a minimum score.
    green = alice.get("/api/v1/exports/csv", params={"tlp": "green"})
    assert [r["value"] for r in csv.DictReader(io.StringIO(green.text))] == ["198.51.100.50"]
    threshold = (float(mine["198.51.100.50"]["score"]) + float(mine["198.51.100.51"]["score"])) / 2
    strong_only = alice.get("/api/v1/exports/csv", params={"min_score": threshold})
    assert [r["value"] for r in csv.DictReader(io.StringIO(strong_only.text))] == ["198.51.100.50"]
    assert alice.get("/api/v1/exports/csv", params={"min_score": "x"}).status_code == 422
    assert alice.get("/api/v1/exports/csv", params={"kind": "ipv4"}).status_code == 422
    entries = world.admin().get("/api/v1/audit", params={"action": "export.csv"}).json()
    by_user = [e for e in entries["entries"] if e["user_id"] == alice.user_id]
    assert by_user and all(e["detail"]["objects"] for e in by_user)
    assert {strong["id"], amber["id"]} <= {i for e in by_user for i in e["detail"]["objects"]}


def test_columns_mapped_by_number_read_a_spreadsheet_of_any_header(world: World) -> None:
    alice = world.user(world.member())
    sheet = (
        "Seen,Indicator type,Indicator,Notes,Level\n"
        "2026-11-01,ip-dst,198.51.100.70,from the phishing wave,green\n"
        "2026-11-02,domain,c2.evil.example,,amber\n"
    )
    # Negative first: its header names nothing this import knows, so it is refused whole...
    refused = alice.post("/api/v1/imports/csv", content=sheet)
    assert refused.status_code == 400 and "--column" in refused.json()["error"]["message"]
    # ...and mapped, the header row is data unless skipped: line 1 is then no indicator.
    mapping = {"column": ["kind=2", "value=3", "comment=4", "tlp=5"]}
    unskipped = alice.post("/api/v1/imports/csv", content=sheet, params=mapping)
    assert unskipped.status_code == 400 and "line 1" in unskipped.json()["error"]["message"]
    for bad in (
        ["value=3"],
        ["kind=2", "value=0"],
        ["kind=2", "value=2"],
        ["colour=1"],
        ["kind=2", "value=\u00b2"],
    ):
        answer = alice.post("/api/v1/imports/csv", content=sheet, params={"column": bad})
        assert answer.status_code == 422, (bad, answer.text)
    assert exported(alice) == []  # nothing of a refused file was stored

    options = {**mapping, "skip_header": "yes", "distribution": "community"}
    stored = alice.post("/api/v1/imports/csv", content=sheet, params=options)
    assert stored.status_code == 201, stored.text
    rows = {r["value"]: r for r in exported(alice)}
    assert set(rows) == {"198.51.100.70", "c2.evil.example"}
    assert rows["198.51.100.70"]["tlp"] == "green" and rows["c2.evil.example"]["tlp"] == "amber"
    # A short row names its line; without a header, no row is skipped.
    short = alice.post(
        "/api/v1/imports/csv", content="ipv4\n", params={"column": ["kind=1", "value=2"]}
    )
    assert (
        short.status_code == 400 and "line 1: 1 cells, column 2" in short.json()["error"]["message"]
    )


def test_the_command_maps_columns(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-Sheet", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "ana@cert.example", "--member", "CERT-Sheet", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("When,What,Value\n2026-11-01,ipv4,198.51.100.80\n")
    out = run("import", "--format", "csv", str(sheet), "--user", "ana@cert.example",
              "--column", "kind=2", "--column", "value=3", "--skip-header",
              database_url=database_url)  # fmt: skip
    assert "stored 1 objects" in out.stdout, out.stdout
    bad = run("import", "--format", "csv", str(sheet), "--user", "ana@cert.example",
              "--column", "value=3", database_url=database_url, check=False)  # fmt: skip
    assert bad.returncode == 1 and "map kind" in bad.stderr
