"""Migration 0007 brings rows stored under the old sharing behaviour under the new rules: it
narrows (never widens) each row that breaks one, rewrites what the row serves to match, and says
how many it found."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from sqlalchemy import select

import shieldwall.db
from shieldwall.db import Database
from shieldwall.intel.tables import objects
from shieldwall.markings import SHARING_EXTENSION_ID, TLP
from shieldwall.search.tables import observable_values
from tests.factories import World, stix_id

_pks = itertools.count(1_000_000)
BROKER = "identity--00000000-0000-5000-8000-000000000001"


def _alembic(url: str, action: str, revision: str) -> None:
    shieldwall.db.alembic(url, action, revision)


def _row(member: str, tlp: TLP, distribution: str, *, object_id: str | None = None,
         modified: str = "2026-01-01T00:00:00.000000Z", anonymous: bool = False,
         created_by: str | None = None, extra: dict | None = None,
         type_: str = "indicator") -> dict[str, Any]:  # fmt: skip
    object_id = object_id or stix_id(type_)
    body: dict[str, Any] = {
        "type": type_, "spec_version": "2.1", "id": object_id, "created": modified,
        "modified": modified, "object_marking_refs": [tlp.marking_id],
        "extensions": {SHARING_EXTENSION_ID: {"extension_type": "property-extension",
                                              "distribution": distribution,
                                              "anonymous": anonymous}},
        **({"created_by_ref": created_by} if created_by else {}), **(extra or {}),
    }  # fmt: skip
    if type_ == "marking-definition":
        body = {k: v for k, v in body.items() if k not in ("object_marking_refs", "extensions")}
    return {
        "pk": next(_pks), "object_id": object_id, "type": type_, "created": modified,
        "modified": modified, "created_by": created_by, "tlp": int(tlp),
        "distribution": distribution, "sharing_group_id": None, "member_id": member,
        "anonymous": anonymous, "date_added": modified, "is_latest": True, "revoked": False,
        "labels": None, "search_text": None, "body": orjson.dumps(body).decode(),
        "confidence": None,
    }  # fmt: skip


def _served(world: World, pk: int) -> tuple[str, str, bool, str | None, dict]:
    with world.db.read() as conn:
        row = conn.execute(select(objects).where(objects.c.pk == pk)).one()
    body = orjson.loads(row.body)
    ext = body.get("extensions", {}).get(SHARING_EXTENSION_ID, {})
    if row.type != "marking-definition":
        assert ext["distribution"] == row.distribution and ext["anonymous"] == row.anonymous
        assert TLP(row.tlp).marking_id in body["object_marking_refs"]
    return TLP(row.tlp).label, row.distribution, row.anonymous, row.created_by, body


def test_rows_that_break_the_new_rules_are_narrowed_and_counted(
    app: Any, world: World, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    north = world.member("CERT North")  # defaults: amber, community
    north_identity = f"identity--{stix_id('x').split('--')[1]}"
    definition = _row(north, TLP.CLEAR, "community", type_="marking-definition",
                      extra={"definition_type": "tlp", "definition": {"tlp": "red"}})  # fmt: skip
    chain_id, kept_id, anonymous_id = stix_id("indicator"), stix_id("indicator"), stix_id("malware")
    later = "2026-02-01T00:00:00.000000Z"
    rows = {
        "red_all": _row(north, TLP.RED, "all"),
        "amber_all": _row(north, TLP.AMBER, "all"),
        "granular": _row(north, TLP.GREEN, "community", extra={"granular_markings": [
            {"marking_ref": TLP.RED.marking_id, "selectors": ["description"]}]}),
        "definition": definition,
        "by_definition": _row(north, TLP.AMBER, "community",
                              extra={"object_marking_refs": [definition["object_id"]]}),
        "named_v1": _row(north, TLP.GREEN, "community", object_id=anonymous_id,
                         created_by=north_identity, type_="malware"),
        "anonymous_v2": _row(north, TLP.GREEN, "community", object_id=anonymous_id,
                             modified=later, anonymous=True, created_by=BROKER, type_="malware"),
        "chain_v1": _row(north, TLP.RED, "org", object_id=chain_id),
        "chain_v2": _row(north, TLP.AMBER, "community", object_id=chain_id, modified=later),
        "kept_v1": _row(north, TLP.RED, "org", object_id=kept_id),
        "kept_v2": _row(north, TLP.GREEN, "community", object_id=kept_id, modified=later),
        "injected": _row(north, TLP.GREEN, "community"),
    }  # fmt: skip
    for earlier in ("named_v1", "chain_v1", "kept_v1"):
        rows[earlier]["is_latest"] = False
    app.state.scheduler.close()  # its jobs read tables the downgrade drops
    world.db.dispose()
    _alembic(database_url, "downgrade", "0006")
    database = Database(database_url)
    with database.write() as conn:
        conn.execute(objects.insert(), list(rows.values()))
        conn.execute(observable_values.insert().values(
            object_pk=rows["injected"]["pk"], kind="domain", value="inj1.example\ngoogle.com",
        ))  # fmt: skip
    database.dispose()
    capsys.readouterr()
    _alembic(database_url, "upgrade", "head")
    printed = capsys.readouterr().err

    def served(name: str) -> tuple[str, str, bool, str | None, dict]:
        return _served(world, rows[name]["pk"])

    assert served("red_all")[:2] == ("red", "org")
    assert served("amber_all")[:2] == ("amber", "federation")
    assert served("granular")[:2] == ("red", "org")
    assert served("by_definition")[:2] == ("red", "org")
    for name in ("named_v1", "anonymous_v2"):
        _, _, anonymous, created_by, body = served(name)
        assert anonymous and created_by == BROKER and body["created_by_ref"] == BROKER
    assert served("chain_v2")[:2] == ("red", "org")  # was exactly the member's defaults
    assert served("kept_v2")[:2] == ("green", "community")  # an explicit widening: left alone
    assert served("injected")[:2] == ("green", "org")
    for found in (
        "narrowed 2 object version(s) with a TLP/distribution pair the rules forbid",
        "narrowed 2 object version(s) with a TLP stricter than the row's",
        "narrowed 1 object version(s) with a named version of an object shared anonymously",
        "narrowed 1 object version(s) with a version widened by its member's defaults",
        "narrowed 1 object version(s) with a domain, e-mail or URL value",
    ):
        assert found in printed, printed
