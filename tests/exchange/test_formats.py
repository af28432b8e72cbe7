"""The format registry (exchange/formats.py): GET /api/v1/formats, the generic
POST /api/v1/imports/{format} and GET /api/v1/exports/{format}, and the CLI's
`shieldwall import/export --format F`.

Negative cases first: an unknown format or direction is a 404 JSON error naming the known ones,
a stranger may not import, an export holds only what the viewer may see.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shieldwall.exchange.formats import Format, format_for, formats, register_format
from shieldwall.policy import Role
from tests.factories import World, bundle, indicator
from tests.test_cli import run


def test_an_unknown_format_is_a_404_naming_the_known_ones(world: World) -> None:
    alice = world.user(world.member())
    for response in (
        alice.get("/api/v1/exports/nosuch"),
        alice.post("/api/v1/imports/nosuch", content=b"{}"),
        alice.post("/api/v1/imports/blocklist", content=b"x"),  # export only
        alice.get("/api/v1/exports/stix"),  # import only
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


def test_the_listing_and_registration(world: World) -> None:
    names = {
        f["name"]: f for f in world.user(world.member()).get("/api/v1/formats").json()["formats"]
    }
    assert names["stix"]["import"] and not names["stix"]["export"]
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
