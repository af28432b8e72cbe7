"""GET /api/v1/search finds what analysts type: ATT&CK technique ids and CVE ids, in prose and in
external references, and each hit says which of its fields matched. Invisible holders first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

import shieldwall.db
from shieldwall.correlate.index import CorrelationIndex
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.tables import objects
from shieldwall.members.service import viewer_for_user
from shieldwall.policy import Role
from shieldwall.search.index import document_of, matched_fields, query_terms, terms
from shieldwall.search.tables import search_docs
from tests.factories import STIX_TIME, ApiUser, World, bundle, indicator, marked, report, stix_id
from tests.search.test_search import _alembic

COMMUNITY = {"tlp": "green", "distribution": "community"}


def sdo(type_: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "spec_version": "2.1",
        "id": stix_id(type_),
        "created": STIX_TIME,
        "modified": STIX_TIME,
        **properties,
    }


def attack_pattern(name: str, technique: str, **marking: Any) -> dict[str, Any]:
    ref = {
        "source_name": "mitre-attack",
        "external_id": technique,
        "url": f"https://attack.mitre.org/techniques/{technique.replace('.', '/')}",
    }
    return marked(sdo("attack-pattern", name=name, external_references=[ref]), **marking)


def vulnerability(cve: str, **marking: Any) -> dict[str, Any]:
    ref = {"source_name": "cve", "external_id": cve}
    return marked(sdo("vulnerability", name=cve, external_references=[ref]), **marking)


def found(user: ApiUser, q: str, **params: Any) -> tuple[list[str], dict[str, list[str]]]:
    """Every id the user finds, in order, and the fields each matched, following `next`."""
    ids: list[str] = []
    matched: dict[str, list[str]] = {}
    cursor = None
    while True:
        query = {"q": q, **params, **({"cursor": cursor} if cursor else {})}
        response = user.get("/api/v1/search", params=query)
        assert response.status_code == 200, response.text
        data = response.json()
        ids += [o["id"] for o in data["objects"]]
        assert set(data["matched"]) == {o["id"] for o in data["objects"]}
        matched |= data["matched"]
        cursor = data["next"]
        if not cursor:
            return ids, matched


def search(user: ApiUser, q: str, **params: Any) -> list[str]:
    return found(user, q, **params)[0]


# --- who may NOT see ---------------------------------------------------------------------------


def test_identifiers_held_by_invisible_objects_are_never_found(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    group = world.group([a, b])
    alice, bob, carol = world.user(a), world.user(b, Role.READER), world.user(c, Role.READER)
    org_vuln = vulnerability("CVE-2024-3094", tlp="amber", distribution="org")
    red_note = marked(
        sdo("note", content="xz backdoor, CVE-2024-3094", object_refs=[org_vuln["id"]]),
        tlp="red", distribution="org",
    )  # fmt: skip
    group_technique = attack_pattern(
        "Web Protocols", "T1071.001", tlp="amber", distribution="group", group=group
    )
    assert alice.share(org_vuln, red_note, group_technique).status_code == 201
    for q in ("CVE-2024-3094", "cve-2024-3094", "xz"):
        assert found(bob, q) == ([], {}), q
        assert found(carol, q) == ([], {}), q
        assert search(alice, q), q
    assert search(bob, "T1071.001") == [group_technique["id"]]
    for q in ("T1071.001", "T1071", "t107*", "web protocols"):
        assert found(carol, q) == ([], {}), q


# --- ATT&CK ------------------------------------------------------------------------------------


def test_attack_techniques_by_id_and_parent(world: World) -> None:
    analyst = world.user(world.member())
    parent = attack_pattern("Application Layer Protocol", "T1071")
    web = attack_pattern("Web Protocols", "T1071.001")
    dns = attack_pattern("DNS", "T1071.004")
    rep = report([web["id"]], name="Beacons") | {
        "description": "The implant beacons over HTTPS (ATT&CK T1071.001)."
    }
    cited = indicator("198.51.100.71") | {
        "external_references": [{"source_name": "mitre-attack", "external_id": "T1071.001"}]
    }
    # The pieces of T1071.001 apart: the parent technique, and an unrelated "001".
    decoy = sdo("malware", name="Stage 001", is_family=False, description="Uses T1071 too")
    other = attack_pattern("Exfiltration Over C2 Channel", "T1041")
    assert analyst.share(parent, web, dns, rep, cited, decoy, other).status_code == 201
    sub = [web["id"], rep["id"], cited["id"]]
    for q in ("T1071.001", "t1071.001", " T1071.001 "):
        assert search(analyst, q) == sub, q
    # The parent technique finds itself, its sub-techniques and what names any of them.
    assert search(analyst, "T1071") == [parent["id"], web["id"], dns["id"], rep["id"],
                                        cited["id"], decoy["id"]]  # fmt: skip
    assert search(analyst, "T1071.004") == [dns["id"]]
    assert search(analyst, "T1071.002") == []
    assert search(analyst, "T1071.001 https") == [rep["id"]]
    assert search(analyst, "T1071.001", type="attack-pattern") == [web["id"]]
    _, matched = found(analyst, "T1071.001")
    assert matched == {
        web["id"]: ["external_references.external_id"],
        rep["id"]: ["description"],
        cited["id"]: ["external_references.external_id"],
    }
    assert found(analyst, "web protocols")[1] == {web["id"]: ["name"]}


# --- CVE ---------------------------------------------------------------------------------------


def test_cve_ids_in_names_references_and_prose(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    log4shell = vulnerability("CVE-2021-44228", **COMMUNITY)
    other = vulnerability("CVE-2021-45046", **COMMUNITY)
    rep = marked(report([log4shell["id"]], name="Log4Shell exploitation"), **COMMUNITY) | {
        "description": "Scanning for CVE\u20112021\u201144228 (non-breaking hyphens) since Friday."
    }
    note = marked(sdo("note", content="patched cve-2021-44228 on the VPN",
                      object_refs=[rep["id"]]), **COMMUNITY)  # fmt: skip
    # Its pieces, apart: must not answer the id.
    decoy = marked(
        report([other["id"]], name="Year 2021 review")
        | {"description": "CVE-2021-4422 and 44228 bytes"},
        **COMMUNITY,
    )
    assert alice.share(log4shell, other, rep, note, decoy).status_code == 201
    expected = [log4shell["id"], rep["id"], note["id"]]
    for q in ("CVE-2021-44228", "cve-2021-44228", "CVE\u20132021\u201344228"):
        assert search(bob, q) == expected, q
    assert search(bob, "CVE-2021-44228", type="report") == [rep["id"]]
    assert search(bob, "log4shell CVE-2021-44228") == [rep["id"]]
    assert search(bob, "CVE-2021-45046") == [other["id"]]
    words_apart = [log4shell["id"], rep["id"], note["id"], decoy["id"]]
    assert search(bob, "2021 44228") == words_apart  # its words still work as words
    _, matched = found(bob, "CVE-2021-44228")
    assert matched == {
        log4shell["id"]: ["name", "external_references.external_id"],
        rep["id"]: ["description"],
        note["id"]: ["content"],
    }
    assert found(bob, "log4sh*")[1] == {rep["id"]: ["name"]}


# --- matched fields in value mode --------------------------------------------------------------


def test_value_hits_say_where_the_value_is(world: World) -> None:
    analyst = world.user(world.member())
    by_pattern = {**indicator(), "pattern": "[domain-name:value = 'evil.example']"}
    domain = {"type": "domain-name", "spec_version": "2.1", "id": stix_id("domain-name"),
              "value": "evil.example"}  # fmt: skip
    url = {"type": "url", "spec_version": "2.1", "id": stix_id("url"),
           "value": "http://evil.example/x"}  # fmt: skip
    sha = "a" * 64
    file_ = {"type": "file", "spec_version": "2.1", "id": stix_id("file"),
             "name": "evil.exe", "hashes": {"SHA-256": sha}}  # fmt: skip
    assert analyst.share(by_pattern, domain, url, file_).status_code == 201
    ids, matched = found(analyst, "evil.example", mode="value")
    assert ids == [by_pattern["id"], domain["id"], url["id"]]
    assert matched == {by_pattern["id"]: ["pattern"], domain["id"]: ["value"],
                       url["id"]: ["value"]}  # fmt: skip
    assert found(analyst, sha.upper(), mode="value")[1] == {file_["id"]: ["hashes"]}
    assert found(analyst, "evil.e*", mode="value", type="file")[1] == {file_["id"]: ["name"]}


# --- the words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "identifier"),
    [
        ("CVE-2021-44228", "cve202144228"),
        ("cve-2014-0160.", "cve20140160"),
        ("CVE\u20142023\u201412345678", "cve202312345678"),
        ("T1071.001", "t1071001"),
        ("(t1059.003)", "t1059003"),
        ("CWE-79", "cwe79"),
        ("CAPEC-66", "capec66"),
    ],
)
def test_identifiers_are_one_word_more(text: str, identifier: str) -> None:
    assert terms(text)[-1] == identifier
    assert identifier in query_terms(text)
    assert len(query_terms(text)) == 1


@pytest.mark.parametrize("text", ["CVE-21-44228", "T1071.0011", "T10711.001", "xT1071.001",
                                  "CVE-2021-442", "version 1.2-3", "T1071", "TA0011"])  # fmt: skip
def test_what_is_not_an_identifier_stays_words(text: str) -> None:
    assert terms(text) == query_terms(text)


def test_documents_hold_external_ids_and_fields_say_which() -> None:
    obj = {
        "name": "Web Protocols",
        "description": "C2 over HTTP",
        "external_references": [
            {"source_name": "mitre-attack", "external_id": "T1071.001"},
            {"source_name": "capec", "url": "https://capec.mitre.org/"},
            "not a reference",
        ],
    }
    assert document_of(obj) == "web protocols c2 over http t1071 001 t1071001"
    assert matched_fields(obj, query_terms("T1071.001"), prefix=False) == [
        "external_references.external_id"
    ]
    assert matched_fields(obj, query_terms("http protocols"), prefix=False) == [
        "name",
        "description",
    ]
    assert matched_fields(obj, ["web", "t107"], prefix=True) == [
        "name",
        "external_references.external_id",
    ]
    assert document_of({"external_references": [{"external_id": 7}]}) is None


# --- the migration -----------------------------------------------------------------------------


def _revision_before(file_suffix: str) -> str:
    """The revision a migration revises, found by its file's name."""
    config = Config()
    config.set_main_option(
        "script_location", str(Path(shieldwall.db.__file__).parent / "migrations")
    )
    (script,) = [
        s for s in ScriptDirectory.from_config(config).walk_revisions()
        if s.path.endswith(file_suffix)
    ]  # fmt: skip
    assert isinstance(script.down_revision, str)
    return script.down_revision


def test_the_migration_rebuilds_what_was_stored_before_it(world: World, database_url: str) -> None:
    """Objects stored with documents of the old shape (and no relationship ends): going down to
    the revision before this one and up again gives them their identifiers, external ids and
    ends."""
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b)
    with world.db.read() as conn:
        viewer = viewer_for_user(conn, alice.user_id)
    technique = attack_pattern("Web Protocols", "T1071.001", **COMMUNITY)
    vuln = marked(sdo("vulnerability", name="Log4Shell", description="CVE-2021-44228"), **COMMUNITY)
    hidden = vulnerability("CVE-2021-44228", tlp="amber", distribution="org")
    tool = marked(sdo("malware", name="Beaconer", is_family=True), **COMMUNITY)
    uses = marked(sdo("relationship", relationship_type="uses", source_ref=tool["id"],
                      target_ref=technique["id"]), **COMMUNITY)  # fmt: skip
    rep = marked(report([tool["id"]], name="Beaconer report"), **COMMUNITY)
    stored = (technique, vuln, hidden, tool, uses, rep)
    # Without search's index: no documents, no relationship ends, as before this revision...
    Ingestor(world.db, "identity--x", (CorrelationIndex(values=True),)).ingest(
        viewer, bundle(*stored)
    )
    # ... but for one document of the old shape, which must be replaced, not doubled.
    with world.db.write() as conn:
        pk = conn.scalar(select(objects.c.pk).where(objects.c.object_id == vuln["id"]))
        docs = search_docs
        conn.execute(docs.insert().values(object_pk=pk, doc="log4shell cve 2021 44228"))
    world.db.dispose()
    _alembic(database_url, "downgrade", _revision_before("_search_identifiers.py"))
    _alembic(database_url, "upgrade", "head")
    assert search(bob, "T1071.001") == [technique["id"]]
    assert search(bob, "CVE-2021-44228") == [vuln["id"]]
    assert search(alice, "CVE-2021-44228") == [vuln["id"], hidden["id"]]
    assert search(bob, "log4shell") == [vuln["id"]]
    response = bob.get(f"/api/v1/reports/{rep['id']}")
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["relationships"]] == [uses["id"]]
    with world.db.read() as conn:
        key = docs.c[0]
        assert conn.scalar(select(func.count()).select_from(docs).where(key == pk)) == 1
