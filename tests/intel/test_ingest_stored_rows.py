"""What ingest stores, row for row: the objects, both indexes, the change log and the audit log.

Ingest is tuned for speed again and again (intel/ingest.py, correlate/, search/index.py); every
such change must store exactly what was stored before. This test ingests varied bundles (the
four common pattern kinds and complex ones, observables, observed-data, reports, notes,
sightings, relationships, revoked objects, new and late versions, markings, groups, anonymity,
a second member's copies) and compares every row written against tests/intel/data/
ingest_stored_rows.json, which the code before the tuning wrote. Run this module with
SHIELDWALL_REWRITE_EXPECTED=1 to write that file anew after an intended change, and say why in
the commit.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Table, select

from shieldwall.audit.tables import audit_log
from shieldwall.correlate.index import CorrelationIndex
from shieldwall.correlate.observables import Observable
from shieldwall.correlate.tables import object_refs, observable_keys
from shieldwall.db import Database
from shieldwall.intel import ingest
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.tables import change_log, objects
from shieldwall.intel.validate_parallel import BundleValidator
from shieldwall.markings import TLP
from shieldwall.members import service
from shieldwall.members.service import broker_identity
from shieldwall.members.tables import members
from shieldwall.policy import Role, Viewer
from shieldwall.search.index import SearchIndex
from shieldwall.search.tables import observable_values, relationship_ends, search_docs
from tests.factories import sharing

EXPECTED = Path(__file__).parent / "data" / "ingest_stored_rows.json"
NOW = "2026-02-01T12:00:00.000000Z"
_NS = uuid.UUID("5c1f3a52-8d0e-4a6b-9f57-2b1d0c7e9a11")
T1, T2, T0 = "2026-01-15T10:00:00.000Z", "2026-01-20T08:30:00.5Z", "2026-01-10T00:00:00Z"
T00 = "2026-01-01T00:00:00Z"
AMBER, GREEN, RED = TLP.AMBER.marking_id, TLP.GREEN.marking_id, TLP.RED.marking_id
STATEMENT = "marking-definition--" + str(uuid.uuid5(_NS, "statement"))
TABLES: tuple[Table, ...] = (
    objects,
    observable_keys,
    object_refs,
    observable_values,
    search_docs,
    relationship_ends,
    change_log,
    audit_log,
)


def sid(type_: str, name: str) -> str:
    return f"{type_}--{uuid.uuid5(_NS, name)}"


def benign(observable: Observable) -> str | None:
    """A stand-in warning list: a few values are on it."""
    return "test-list" if observable.value in ("8.8.8.8", "example.com") else None


def sdo(type_: str, key: str, modified: str = T1, **props: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "spec_version": "2.1",
        "id": sid(type_, key),
        "created": T1,
        "modified": modified,
    } | props


def indicator(name: str, pattern: str, modified: str = T1, **props: Any) -> dict[str, Any]:
    return sdo(
        "indicator",
        name,
        modified,
        name=name,
        pattern=pattern,
        pattern_type="stix",
        valid_from=T1,
        **props,
    )


def sco(type_: str, key: str, **props: Any) -> dict[str, Any]:
    return {"type": type_, "spec_version": "2.1", "id": sid(type_, key), **props}


PATTERNS = {
    "ipv4": "[ipv4-addr:value = '198.51.100.7']",
    "benign-ip": "[ipv4-addr:value = '8.8.8.8']",
    "ipv6": "[ipv6-addr:value = '2001:DB8:0:0:0:0:0:1']",
    "cidr": "[ipv4-addr:value = '203.0.113.0/24']",
    "domain": "[domain-name:value = 'Evil.Example.']",
    "url": "[url:value = 'http://h1.evil.example/x?a=1']",
    "odd-url": "[url:value = 'HTTP://User@Evil.Example:80/a/./b/../c%7e?q=%2f']",
    "sha256": "[file:hashes.'SHA-256' = '" + "AB" * 32 + "']",
    "md5": "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
    "and-or": "[email-addr:value = 'Bob@Example.COM' AND domain-name:value = 'example.com'] OR "
    "[file:name = 'a\\'b.exe'] AND [network-traffic:dst_port = 443]",
    "negated": "[ipv4-addr:value != '192.0.2.1' AND autonomous-system:number = 64500]",
    "repeat": "[ipv4-addr:value = '198.51.100.7']  ",
    "registry": "[windows-registry-key:key = 'HKLM\\\\Software\\\\Run']",
    "mutex": "[mutex:name = 'Global\\\\x']",
    "custom": "[x-thing:colour = 'blue']",
}


def first_bundle(group: str) -> list[dict[str, Any]]:
    inds = [
        indicator(f"Indicator {kind}", pattern, object_marking_refs=[GREEN], labels=["c2", kind])
        for kind, pattern in PATTERNS.items()
    ]
    inds[0]["confidence"] = 80
    inds[0]["valid_until"] = "2027-01-15T10:00:00Z"  # stored normalised, for exports (0023)
    inds[1]["revoked"] = True
    inds[2]["description"] = "Seen with CVE-2021-44228 and T1071.001 (Café)"
    inds[3]["object_marking_refs"] = [STATEMENT, RED]
    inds[3]["extensions"] = sharing("group", group)
    inds[4].pop("object_marking_refs")
    inds[5]["granular_markings"] = [{"marking_ref": AMBER, "selectors": ["description"]}]
    inds[5]["description"] = "granular"
    scos = [
        sco("ipv4-addr", "ip", value="198.51.100.7"),
        sco("ipv6-addr", "ip6", value="2001:db8::1"),
        sco("domain-name", "dom", value="Example.com"),
        sco("url", "url", value="https://A.example:443/b%7ec?x=Y"),
        sco("email-addr", "mail", value="alice@example.org"),
        sco("file", "file", name="x.exe", hashes={"SHA-1": "A" * 40, "MD5": "b" * 32}),
        sco("autonomous-system", "as", number=64501),
        sco("x-custom-obs", "custom", colour="green", size="large"),
        sco(
            "network-traffic",
            "nt",
            protocols=["tcp"],
            dst_ref=sid("ipv4-addr", "ip"),
            extensions={
                "http-request-ext": {
                    "request_method": "get",
                    "request_value": "/",
                    "request_header": {"User-Agent": "Mozilla/5.0 evil"},
                }
            },
        ),
    ]
    malware = sdo(
        "malware",
        "mw",
        name="EvilRAT",
        is_family=True,
        aliases=["ER", "Evil RAT"],
        description="A remote access tool. CAPEC-66 and CWE-79.",
        external_references=[
            {"source_name": "cve", "external_id": "CVE-2024-0001"},
            {"source_name": "mitre-attack", "external_id": "S0154"},
        ],
    )
    observed = sdo(
        "observed-data",
        "od",
        first_observed=T1,
        last_observed=T1,
        number_observed=3,
        objects={
            "0": {"type": "ipv4-addr", "value": "192.0.2.44"},
            "1": {"type": "domain-name", "value": "od.example"},
        },
    )
    rel = sdo(
        "relationship",
        "rel",
        relationship_type="indicates",
        source_ref=inds[0]["id"],
        target_ref=malware["id"],
    )
    rel_self = sdo(
        "relationship",
        "rel-self",
        relationship_type="related-to",
        source_ref=malware["id"],
        target_ref=malware["id"],
    )
    sighting = sdo(
        "sighting",
        "sight",
        sighting_of_ref=inds[0]["id"],
        count=2,
        where_sighted_refs=[sid("identity", "somewhere")],
    )
    report = sdo(
        "report",
        "rep",
        name="Campaign report",
        published=T1,
        object_marking_refs=[AMBER],
        description="Report with T1566",
        object_refs=[inds[6]["id"], inds[7]["id"], malware["id"], inds[6]["id"]],
        extensions=sharing("federation"),
    )
    note = sdo(
        "note",
        "note",
        abstract="Note abstract",
        content="Note content on CVE-2023-1234",
        object_refs=[malware["id"]],
        extensions=sharing(anonymous=True),
    )
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": STATEMENT,
        "created": T1,
        "definition_type": "statement",
        "definition": {"statement": "Copyright test"},
    }
    observed_refs = sdo(
        "observed-data",
        "od-refs",
        first_observed=T1,
        last_observed=T1,
        number_observed=1,
        object_refs=[scos[0]["id"], scos[2]["id"]],
    )
    vuln = sdo(
        "vulnerability",
        "vuln",
        name="CVE-2021-44228",
        modified=T0,
        created=T00,
        external_references=[{"source_name": "cve", "external_id": "CVE-2021-44228"}],
    )
    custom = sdo("x-custom-sdo", "xsdo", name="Custom thing", x_field={"deep": [1, "two"]})
    return [
        statement,
        *inds,
        *scos,
        malware,
        observed,
        observed_refs,
        rel,
        rel_self,
        sighting,
        report,
        note,
        vuln,
        custom,
    ]


def second_bundle(first: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New versions, repeats and a version older than the stored one."""
    by_name = {o.get("name"): o for o in first}
    newer = {
        **by_name["Indicator ipv4"],
        "modified": T2,
        "description": "now described",
        "labels": ["c2", "updated"],
    }
    widened = {
        **by_name["Indicator domain"],
        "modified": T2,
        "object_marking_refs": [GREEN],
        "extensions": sharing("all"),
    }
    revoked = {**by_name["EvilRAT"], "modified": T2, "revoked": True}
    older = {**by_name["CVE-2021-44228"], "modified": "2026-01-05T00:00:00Z"}
    newer_vuln = {**by_name["CVE-2021-44228"], "modified": T2, "description": "Log4Shell"}
    unchanged = by_name["Indicator url"]
    twice_a = {**by_name["Indicator md5"], "modified": "2026-01-16T00:00:00Z"}
    twice_b = {**by_name["Indicator md5"], "modified": "2026-01-17T00:00:00.123Z"}
    report2 = sdo(
        "report",
        "rep2",
        name="Red report",
        published=T1,
        object_marking_refs=[RED],
        object_refs=[twice_b["id"], newer["id"]],
    )
    return [newer, widened, revoked, older, newer_vuln, unchanged, twice_b, twice_a, report2]


def other_member_bundle(first: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Another member's copies of the same observables, and an indicator of its own."""
    scos = [o for o in first if "created" not in o and not o["type"].startswith("x-")]
    return [*scos, indicator("Other member", "[domain-name:value = 'example.com']")]


def _viewer(db: Database, name: str) -> tuple[Viewer, dict[str, str]]:
    with db.write() as conn:
        member_id = service.create_member(conn, name, "industry")
        new = service.create_user(conn, f"{name.lower()}@example.org", member_id, Role.ANALYST)
        viewer = service.viewer_for_user(conn, new.user_id)
        identity = conn.scalar(select(members.c.identity_id).where(members.c.id == member_id))
    names = {
        member_id: f"<member {name}>",
        new.user_id: f"<user {name}>",
        identity: f"<identity {name}>",
    }
    return viewer, names


def _dump(db: Database, names: dict[str, str]) -> dict[str, list[list[Any]]]:
    """Every row of the tables ingest writes, in key order, ids of this run replaced by names."""
    out: dict[str, list[list[Any]]] = {}
    with db.read() as conn:
        for table in TABLES:
            key = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*key, *table.columns)).all()
            dumped = []
            for row in rows:
                values = dict(row._mapping)
                if table is audit_log:  # its clock and hash chain are not ingest's
                    values.update(at="<at>", prev_hash="<hash>", hash="<hash>")
                    values["detail"] = orjson.loads(values["detail"])
                if table is change_log and values["action"] != "ingest":
                    values["at"] = "<at>"  # the members' creation, not ingest's
                if table is objects and values["type"] == "identity":
                    continue  # the members' own identities, written by the platform
                dumped.append([values[c.name] for c in table.columns])
            out[str(table.name)] = dumped
    text = orjson.dumps(out, option=orjson.OPT_INDENT_2).decode()
    for real, name in names.items():
        text = text.replace(real, name)
    return orjson.loads(text)


def test_ingest_stores_exactly_the_expected_rows(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ingest, "utc_now", lambda: NOW)
    a, names = _viewer(db, "Alpha")
    b, names_b = _viewer(db, "Bravo")
    names |= names_b
    with db.write() as conn:
        group = service.create_group(conn, "Test group", a.member_id, [a.member_id, b.member_id])
    with db.read() as conn:
        a = service.viewer_for_user(conn, a.user_id)  # now in the group
    names[group] = "<group>"
    indexes = (CorrelationIndex(benign, values=True), SearchIndex.for_database(db))
    ingestor = Ingestor(db, broker_identity("Broker"), indexes, BundleValidator(0), "Broker")
    first = first_bundle(group)
    results = [
        ingestor.ingest(a, {"type": "bundle", "id": sid("bundle", "1"), "objects": first}),
        ingestor.ingest(
            a, {"type": "bundle", "id": sid("bundle", "2"), "objects": second_bundle(first)}
        ),
        ingestor.ingest(
            b, {"type": "bundle", "id": sid("bundle", "3"), "objects": other_member_bundle(first)}
        ),
    ]
    got = {
        "results": [r.as_dict() | {"stored_ids": list(r.stored_ids)} for r in results],
        **_dump(db, names),
    }
    if os.environ.get("SHIELDWALL_REWRITE_EXPECTED"):
        EXPECTED.parent.mkdir(exist_ok=True)
        EXPECTED.write_bytes(orjson.dumps(got, option=orjson.OPT_INDENT_2) + b"\n")
        pytest.skip(f"wrote {EXPECTED}")
    expected = orjson.loads(EXPECTED.read_bytes())
    assert sum(len(rows) for rows in expected.values()) > 150  # the file holds what it should
    for table in expected:
        assert got[table] == expected[table], table
