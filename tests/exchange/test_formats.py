"""The format registry (exchange/formats.py): GET /api/v1/formats, the generic
POST /api/v1/imports/{format} and GET /api/v1/exports/{format}, and the CLI's
`shieldwall import/export --format F`.

Negative cases first: an unknown format or direction is a 404 JSON error naming the known ones,
a stranger may not import, an export holds only what the viewer may see.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shieldwall.exchange.formats import (
    Format,
    detect_format,
    format_for,
    formats,
    register_format,
)
from shieldwall.intel.tables import objects
from shieldwall.policy import Role
from tests.factories import ApiUser, World, bundle, indicator, report
from tests.test_cli import run


def test_an_unknown_format_is_a_404_naming_the_known_ones(world: World) -> None:
    alice = world.user(world.member())
    for response in (
        alice.get("/api/v1/exports/nosuch"),
        alice.post("/api/v1/imports/nosuch", content=b"{}"),
        alice.post("/api/v1/imports/blocklist", content=b"x"),  # export only
    ):
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert "format" in error["message"] and "misp" in error["message"]


def test_strangers_and_readers_may_not_import(world: World) -> None:
    reader = world.user(world.member(), Role.READER)
    assert world.client.post("/api/v1/imports/stix", content=b"{}").status_code == 401
    raw = json.dumps(bundle(indicator("203.0.113.9", tlp="green"))).encode()
    assert reader.post("/api/v1/imports/stix", content=raw).status_code == 403


def test_an_export_holds_only_what_the_viewer_may_see(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    raw = json.dumps(
        bundle(
            indicator("203.0.113.1", tlp="amber", distribution="org"),
            indicator("203.0.113.3", tlp="green", distribution="community"),
        )
    ).encode()
    stored = alice.post("/api/v1/imports/stix", content=raw)
    assert stored.status_code == 201, stored.text
    assert stored.json()["stored"] == 2
    # the generic route serves blocklist through the registry like its own route does
    params = {"kind": "ipv4"}
    own = bob.get("/api/v1/exports/blocklist", params=params).text.splitlines()
    assert own == ["203.0.113.3"]
    assert alice.get("/api/v1/exports/blocklist", params=params).text.splitlines() == [
        "203.0.113.1",
        "203.0.113.3",
    ]


def test_an_age_past_a_century_is_refused_not_a_server_error(world: World) -> None:
    """max_age_days from a query string may be any whole number: one reaching back past the
    year 1 (an OverflowError), past 64 bits (the audit entry's JSON) or to a year of three
    digits (which sorts after every stored date) must NOT break an export off or empty it: it
    is refused by name; a century is still a bound, and holds what was added."""
    alice = world.user(world.member())
    assert alice.share(indicator("203.0.113.4", tlp="green")).status_code == 201
    for name in ("text", "blocklist", "suricata", "csv", "stix"):
        kind = {"kind": "ipv4"} if name == "blocklist" else {}
        for days in ("99999999", "99999999999999999999", "500000", "36526"):
            got = alice.get(f"/api/v1/exports/{name}", params={"max_age_days": days, **kind})
            assert got.status_code == 422, (name, days, got.text[:300])
            assert "max_age_days" in got.json()["error"]["message"]
        got = alice.get(f"/api/v1/exports/{name}", params={"max_age_days": "36525", **kind})
        assert got.status_code == 200, (name, got.text[:300])
        assert "203.0.113.4" in got.text.replace("[.]", "."), name


def test_a_stored_selection_reaching_past_the_calendar_bounds_nothing() -> None:
    """A selection kept from before the cap (a collection's, a feed's) must NOT make every read
    of it a server error, nor let nothing through: an age past the calendar bounds nothing."""
    from shieldwall.selections.service import Selection

    row = {"type": "indicator", "tlp": 1, "labels": "", "sharing_group_id": None,
           "anonymous": False, "date_added": "2026-12-01T00:00:00.000000Z"}  # fmt: skip
    for days in (500_000, 99_999_999):
        selection = Selection(max_age_days=days)
        assert selection.admits(row, "industry")
        assert str(selection.where(objects)) == "true"


def test_the_listing_and_registration(world: World) -> None:
    names = {
        f["name"]: f for f in world.user(world.member()).get("/api/v1/formats").json()["formats"]
    }
    assert names["stix"]["import"] and names["stix"]["export"]
    assert names["csv"]["import"] and names["csv"]["export"]
    assert names["text"]["import"] and names["text"]["export"]
    assert names["csv"]["import_options"] == ["tlp", "distribution", "column", "skip_header"]
    assert names["misp"]["import"] and names["misp"]["export"]
    assert names["blocklist"]["export"] and not names["blocklist"]["import"]
    with pytest.raises(ValueError):
        register_format(Format("Bad Name", "x", exporter=lambda *a: []))
    with pytest.raises(ValueError):
        register_format(Format("nothing", "neither imports nor exports"))
    register_format(
        Format(
            "test-echo", "test", exporter=lambda db, v, s, o: [o.get("say", "")], options=("say",)
        )
    )
    try:
        assert format_for("test-echo", direction="export").name == "test-echo"
        alice = world.user(world.member())
        assert alice.get("/api/v1/exports/test-echo", params={"say": "hi"}).text == "hi"
        misspelt = alice.get("/api/v1/exports/test-echo", params={"sya": "hi"})
        assert misspelt.status_code == 422 and "say" in misspelt.json()["error"]["message"]
    finally:
        from shieldwall.exchange import formats as module

        module._FORMATS.pop("test-echo")
    assert "test-echo" not in {f.name for f in formats()}


def test_the_commands_import_and_export_by_format(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-Test", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "ana@cert.example", "--member", "CERT-Test", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(indicator("198.51.100.7", tlp="green"))))
    out = run("import", "--format", "stix", str(path), "--user", "ana@cert.example",
              database_url=database_url)  # fmt: skip
    assert "stored 1 objects" in out.stdout
    bad = run("import", "--format", "nosuch", str(path), "--user", "ana@cert.example",
              database_url=database_url, check=False)  # fmt: skip
    assert bad.returncode != 0 and "stix" in bad.stderr and "misp" in bad.stderr
    listed = run("export", "--format", "blocklist", "-o", "kind=ipv4", "--user",
                 "ana@cert.example", database_url=database_url)  # fmt: skip
    assert listed.stdout.splitlines() == ["198.51.100.7"]
    unknown = run("export", "--format", "nosuch", "--user", "ana@cert.example",
                  database_url=database_url, check=False)  # fmt: skip
    assert unknown.returncode != 0 and "unknown format" in unknown.stderr
    assert "blocklist" in run("formats", database_url=database_url).stdout


def exported_stix(user: ApiUser, **params: Any) -> dict[str, Any]:
    response = user.get("/api/v1/exports/stix", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def shared_values(document: dict[str, Any]) -> list[str]:
    return sorted(
        o["pattern"].split("'")[1] for o in document["objects"] if o["type"] == "indicator"
    )


def test_a_stix_export_never_holds_what_the_viewer_may_not_see(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    alice, bob, carol = world.user(a), world.user(b), world.user(c, Role.READER)
    group = world.group([a, c])
    org_only = indicator("203.0.113.1", tlp="amber", distribution="org")
    red = indicator("203.0.113.2", tlp="red", distribution="group", group=group)
    green = indicator("203.0.113.3", tlp="green", distribution="community")
    secret = report([org_only["id"]], "Org-only report", tlp="amber", distribution="org")
    assert alice.share(org_only, red, green, secret).status_code == 201
    seen = exported_stix(bob)
    assert shared_values(seen) == ["203.0.113.3"]
    ids = {o["id"] for o in seen["objects"]}
    assert not ids & {org_only["id"], red["id"], secret["id"]}
    assert "Org-only" not in json.dumps(seen)
    assert shared_values(exported_stix(carol)) == ["203.0.113.2", "203.0.113.3"]
    assert shared_values(exported_stix(alice)) == ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    assert world.client.get("/api/v1/exports/stix").status_code == 401


def test_a_stix_export_is_a_bundle_stix2_reads_with_its_definitions(world: World) -> None:
    import stix2

    alice = world.user(world.member())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    fresh = {**indicator("198.51.100.20", tlp="green"), "created": now, "modified": now,
             "labels": ["phishing"]}  # fmt: skip
    red = indicator("198.51.100.21", tlp="red", distribution="org")
    old = indicator("198.51.100.22", tlp="green")
    assert alice.share(fresh, red, old, report([fresh["id"]], tlp="green")).status_code == 201
    document = exported_stix(alice)
    types = [o["type"] for o in document["objects"]]
    assert types[:7] == ["marking-definition"] * 5 + ["identity", "extension-definition"]
    for obj in document["objects"]:  # the extension-definition too (created_by_ref, §7.3)
        stix2.parse(obj, allow_custom=True)
    assert len({o["id"] for o in document["objects"]}) == len(document["objects"])
    assert shared_values(document) == ["198.51.100.20", "198.51.100.21", "198.51.100.22"]
    # options: type, label, TLP ceiling, age
    only = exported_stix(alice, type="report")
    assert [o["type"] for o in only["objects"][7:]] == ["report"]
    assert shared_values(exported_stix(alice, tlp="amber")) == ["198.51.100.20", "198.51.100.22"]
    assert shared_values(exported_stix(alice, label="phishing")) == ["198.51.100.20"]
    with world.db.write() as conn:  # as if added to this instance in 2020
        conn.execute(
            objects.update()
            .where(objects.c.object_id == old["id"])
            .values(date_added="2020-01-01T00:00:00.000000Z")
        )
    assert shared_values(exported_stix(alice, max_age_days="2", type="indicator")) == [
        "198.51.100.20",
        "198.51.100.21",
    ]
    for bad in ({"tlp": "purple"}, {"max_age_days": "soon"}, {"max_age_days": "0"}, {"typ": "x"}):
        refused = alice.get("/api/v1/exports/stix", params=bad)
        assert refused.status_code == 422, refused.text
        assert next(iter(bad)) in refused.json()["error"]["message"]
    # an import takes only its format's options
    raw = json.dumps(bundle(indicator("198.51.100.23", tlp="green"))).encode()
    refused = alice.post("/api/v1/imports/stix", params={"tlp": "green"}, content=raw)
    assert refused.status_code == 422 and "tlp" in refused.json()["error"]["message"]


def test_the_format_of_a_file_is_detected() -> None:
    assert detect_format(b'\xef\xbb\xbf  {"type": "bundle", "objects": []}') == "stix"
    assert detect_format(b'{"id": "bundle--1", "objects": [], "type":"bundle"}') == "stix"
    assert detect_format(b'{"Event": {"info": "x"}}') == "misp"
    assert detect_format(b'[{"Event": {}}]') == "misp"
    assert detect_format(b'{"response": [{"Event": {}}]}') == "misp"
    assert detect_format(b"{oops") == "stix"  # stix's checks say it is not JSON
    assert detect_format(b"Type,Value,TLP\r\nipv4,198.51.100.1,green\r\n") == "csv"
    assert detect_format(b"value,type\n") == "csv"
    assert detect_format(b"type,value,colour\nipv4,1.2.3.4,red\n") == "text"
    assert detect_format(b"Seen hxxp://evil[.]example/gate from 198.51.100.1") == "text"
    assert detect_format(b"") == "text"


def test_csv_text_and_stix_through_the_commands(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-Test", "--kind", "national-cert", database_url=database_url)
    run("member", "add", "Other", "--kind", "industry", database_url=database_url)
    for email, member in (("ana@cert.example", "CERT-Test"), ("olaf@other.example", "Other")):
        run("user", "add", email, "--member", member, "--role", "analyst",
            database_url=database_url)  # fmt: skip
    rows = tmp_path / "rows.csv"
    rows.write_text("type,value,tlp\nipv4,198.51.100.31,green\ndomain,evil.example,\n")
    out = run("import", str(rows), "--user", "ana@cert.example", "--distribution", "community",
              database_url=database_url)  # fmt: skip
    assert "imported as csv" in out.stderr and "stored 2 objects" in out.stdout
    mail = tmp_path / "mail.txt"
    mail.write_text("Block hxxps://bad[.]example/x and 198.51.100.32 please.")
    out = run("import", str(mail), "--user", "ana@cert.example", "--tlp", "green",
              "--distribution", "org", database_url=database_url)  # fmt: skip
    assert "imported as text" in out.stderr and "report report--" in out.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("type,value\nipv4,not-an-address\n")
    refused = run("import", str(bad), "--user", "ana@cert.example", database_url=database_url,
                  check=False)  # fmt: skip
    assert refused.returncode != 0 and "line 2" in refused.stderr
    misspelt = run("import", "--format", "misp", str(bad), "--user", "ana@cert.example",
                   "--tlp", "green", database_url=database_url, check=False)  # fmt: skip
    assert misspelt.returncode != 0 and "tlp" in misspelt.stderr
    # the other member sees the community CSV rows, not the org-only text report
    theirs = run("export", "--format", "csv", "--user", "olaf@other.example",
                 database_url=database_url).stdout  # fmt: skip
    assert "198.51.100.31" in theirs and "evil.example" in theirs
    assert "198.51.100.32" not in theirs and "bad.example" not in theirs
    mine = run("export", "--format", "csv", "--user", "ana@cert.example",
               database_url=database_url).stdout  # fmt: skip
    assert "198.51.100.32" in mine and "https://bad.example/x" in mine
    document = json.loads(run("export", "--format", "stix", "-o", "type=report", "--user",
                              "olaf@other.example", database_url=database_url).stdout)  # fmt: skip
    assert [o["type"] for o in document["objects"]][5:] == ["identity", "extension-definition"]
    document = json.loads(run("export", "--format", "stix", "-o", "type=report", "--user",
                              "ana@cert.example", database_url=database_url).stdout)  # fmt: skip
    assert [o["name"] for o in document["objects"][7:]] == ["mail.txt"]
