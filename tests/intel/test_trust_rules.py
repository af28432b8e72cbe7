"""The six trust breaks found in the core, each through the real API on both databases: a new
version widened by defaults, a report widening what it refers to, granular and 2.0-style TLP
markings ignored, anonymity undone by history, identities forged and public ids squatted, and
blocklist entries injected. The "must not see" assertions come first in each test."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from shieldwall.correlate.index import CorrelationIndex
from shieldwall.intel.tables import objects
from shieldwall.intel.validate_values import UNSAFE
from shieldwall.markings import SHARING_EXTENSION_ID, TLP, Distribution, allows
from shieldwall.members.service import broker_identity
from shieldwall.settings import Settings
from tests.factories import STIX_TIME, ApiUser, World, indicator, marked, report, stix_id

LATER = "2026-02-01T00:00:00.000Z"
T1566 = "attack-pattern--a62a8db3-f23a-4d8f-afd6-9dbc77e7813b"  # ATT&CK, from the MISP galaxies
APT28 = "threat-actor--5b4ee3ea-eee3-4c8e-8323-85ae32658754"  # MISP galaxy threat-actor cluster


def _latest(user: ApiUser, object_id: str) -> dict[str, Any] | None:
    response = user.get(f"/api/v1/objects/{object_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()["objects"][0]


def _versions(user: ApiUser, object_id: str) -> list[dict[str, Any]]:
    response = user.get(f"/api/v1/objects/{object_id}", params={"versions": "all"})
    return [] if response.status_code == 404 else response.json()["objects"]


def _sharing(obj: dict[str, Any]) -> tuple[str, str]:
    ext = obj["extensions"][SHARING_EXTENSION_ID]
    tlps = [TLP.parse(t) for t in ("clear", "green", "amber", "amber+strict", "red")]
    level = next(t for t in tlps if t.marking_id in obj["object_marking_refs"])
    return level.label, ext["distribution"]


def _errors(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    return response.json()["error"]["details"]


def _no_forbidden_pair(world: World) -> None:
    with world.db.read() as conn:
        for tlp, distribution, group in conn.execute(
            select(objects.c.tlp, objects.c.distribution, objects.c.sharing_group_id)
        ):
            assert allows(TLP(tlp), Distribution(distribution)), (tlp, distribution)
            assert (distribution == "group") == (group is not None)


def _pair(world: World) -> tuple[ApiUser, ApiUser]:
    return world.user(world.member("CERT North")), world.user(world.member("CERT South"))


# --- 1. a new version keeps the marking and distribution of the version before it --------------


def test_a_new_version_without_markings_keeps_red_and_org(world: World) -> None:
    north, south = _pair(world)
    v1 = indicator("198.51.100.1", tlp="red", distribution="org")
    assert north.share(v1).status_code == 201
    v2 = {k: v for k, v in v1.items() if k not in ("object_marking_refs", "extensions")}
    v2 |= {"modified": LATER, "revoked": True}
    assert north.share(v2).status_code == 201
    assert _latest(south, v1["id"]) is None
    assert _versions(south, v1["id"]) == []
    assert v1["id"] not in south.object_ids(versions="all")
    latest = _latest(north, v1["id"])
    assert latest is not None and latest["revoked"] is True
    assert _sharing(latest) == ("red", "org")
    _no_forbidden_pair(world)


def test_widening_takes_an_explicit_marking_and_distribution(world: World) -> None:
    north, south = _pair(world)
    v1 = indicator("198.51.100.2", tlp="red", distribution="org")
    north.share(v1)
    # A new TLP alone keeps the distribution: still the member's own.
    v2 = marked({**v1, "modified": LATER}, tlp="green")
    del v2["extensions"]
    assert north.share(v2).status_code == 201
    assert _latest(south, v1["id"]) is None
    assert _sharing(_latest(north, v1["id"])) == ("green", "org")
    # A distribution alone keeps the TLP: red with community is refused, saying why.
    v4 = marked({**v1, "modified": "2026-03-01T00:00:00.000Z"}, tlp="red", distribution="community")
    assert "does not allow" in _errors(north.share(v4))[0]["message"]
    # Both, explicitly: now the community sees the new version, and only that one.
    v5 = marked(
        {**v1, "modified": "2026-04-01T00:00:00.000Z"}, tlp="green", distribution="community"
    )
    assert north.share(v5).status_code == 201
    assert [o["modified"] for o in _versions(south, v1["id"])] == ["2026-04-01T00:00:00.000Z"]
    _no_forbidden_pair(world)


def test_a_distribution_without_tlp_is_checked_against_the_previous_version(world: World) -> None:
    north, _ = _pair(world)
    v1 = indicator("198.51.100.3", tlp="red", distribution="org")
    north.share(v1)
    v2 = marked({**v1, "modified": LATER}, distribution="community")
    del v2["object_marking_refs"]
    (error,) = _errors(north.share(v2))
    assert "previous version" in error["message"]


def test_versions_in_one_bundle_inherit_from_the_one_before(world: World) -> None:
    north, south = _pair(world)
    v1 = indicator("198.51.100.4", tlp="amber+strict", distribution="org")
    v2 = {k: v for k, v in v1.items() if k not in ("object_marking_refs", "extensions")}
    v2["modified"] = LATER
    assert north.share(v2, v1).status_code == 201  # order in the bundle does not matter
    assert _versions(south, v1["id"]) == []
    assert [_sharing(o) for o in _versions(north, v1["id"])] == [("amber+strict", "org")] * 2


def test_an_older_version_arriving_late_takes_the_stored_ones(world: World) -> None:
    north, south = _pair(world)
    v2 = marked({**indicator("198.51.100.5"), "modified": LATER}, tlp="red", distribution="org")
    north.share(v2)
    v1 = {k: v for k, v in v2.items() if k not in ("object_marking_refs", "extensions")}
    v1["modified"] = STIX_TIME
    assert north.share(v1).status_code == 201
    assert _versions(south, v2["id"]) == []


# --- 2. a report never widens what it refers to ------------------------------------------------


def test_a_clear_report_leaves_a_red_indicator_red_and_narrow(world: World) -> None:
    north, south = _pair(world)
    red = indicator("198.51.100.10", tlp="red")
    amber = indicator("198.51.100.11", tlp="amber")
    story = report([red["id"], amber["id"]], tlp="clear", distribution="all")
    assert north.share(story, red, amber).status_code == 201
    assert _latest(south, red["id"]) is None
    assert _sharing(_latest(north, red["id"])) == ("red", "org")
    # The AMBER one meant for the community still reaches it, within what AMBER allows.
    assert _sharing(_latest(south, amber["id"])) == ("amber", "federation")
    _no_forbidden_pair(world)


def test_a_report_narrows_what_it_refers_to_and_nested_reports_too(world: World) -> None:
    north, south = _pair(world)
    group_member = world.user(world.member("CERT East"))
    group = world.group([north.member_id, group_member.member_id])
    inner_ioc = indicator("198.51.100.12")
    inner = report([inner_ioc["id"]], name="inner")
    outer = report([inner["id"]], name="outer", tlp="red", distribution="group", group=group)
    assert north.share(outer, inner, inner_ioc).status_code == 201
    for hidden in (inner_ioc, inner, outer):
        assert _latest(south, hidden["id"]) is None
        assert _sharing(_latest(group_member, hidden["id"])) == ("red", "group")


# --- 3. granular markings and TLP definitions of other shapes ----------------------------------


def test_a_granular_red_marking_makes_the_object_red(world: World) -> None:
    north, south = _pair(world)
    ioc = indicator("198.51.100.20")
    ioc["description"] = "seen at the victim's payroll server"
    ioc["granular_markings"] = [{"marking_ref": TLP.RED.marking_id, "selectors": ["description"]}]
    assert north.share(ioc).status_code == 201
    assert _latest(south, ioc["id"]) is None
    assert _sharing(_latest(north, ioc["id"])) == ("red", "org")


@pytest.mark.parametrize(
    "definition",
    [
        {"definition_type": "tlp", "definition": {"tlp": "red"}},  # STIX 2.0 style, own id
        {"definition_type": "TLP", "definition": {"TLP": "TLP:RED"}, "name": "TLP:RED"},  # OpenCTI
        {"extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
            "extension_type": "property-extension", "tlp_2_0": "red"}}},  # TLP 2.0, own id
    ],
)  # fmt: skip
def test_tlp_marking_definitions_of_other_shapes_are_read(world: World, definition: dict) -> None:
    north, south = _pair(world)
    marking = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stix_id("marking-definition"),
        "created": STIX_TIME,
        **definition,
    }
    ioc = indicator("198.51.100.21") | {"object_marking_refs": [marking["id"]]}
    assert north.share(marking, ioc).status_code == 201
    assert _latest(south, ioc["id"]) is None
    # A later bundle naming the definition already shared reads it from the store.
    later = indicator("198.51.100.22") | {"object_marking_refs": [marking["id"]]}
    assert north.share(later).status_code == 201
    assert _latest(south, later["id"]) is None
    assert _sharing(_latest(north, later["id"]))[0] == "red"


def test_a_marking_nobody_defined_is_refused_not_ignored(world: World) -> None:
    north, _ = _pair(world)
    ioc = indicator("198.51.100.23") | {"object_marking_refs": [stix_id("marking-definition")]}
    ioc["granular_markings"] = [
        {"marking_ref": stix_id("marking-definition"), "selectors": ["name"]}
    ]
    errors = _errors(north.share(ioc))
    assert {e["property"] for e in errors} == {
        "object_marking_refs[0]",
        "granular_markings[0].marking_ref",
    }
    assert "send its definition" in errors[0]["message"]
    assert _latest(north, ioc["id"]) is None


def test_a_statement_marking_is_not_a_tlp(world: World) -> None:
    north, south = _pair(world)
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stix_id("marking-definition"),
        "created": STIX_TIME,
        "definition_type": "statement",
        "definition": {"statement": "Copyright Example"},
    }
    ioc = marked(indicator("198.51.100.24"), tlp="green", distribution="community")
    ioc["object_marking_refs"].append(statement["id"])
    assert north.share(statement, ioc).status_code == 201
    assert _sharing(_latest(south, ioc["id"])) == ("green", "community")


# --- 4. anonymity is the same in every version -------------------------------------------------


def test_a_named_object_cannot_become_anonymous(world: World) -> None:
    north, south = _pair(world)
    with world.db.read() as conn:
        from shieldwall.members.service import get_member

        north_identity = get_member(conn, north.member_id)["identity_id"]
    v1 = indicator("198.51.100.30", tlp="green") | {"created_by_ref": north_identity}
    north.share(v1)
    v2 = marked({**v1, "modified": LATER}, tlp="green", anonymous=True)
    (error,) = _errors(north.share(v2))
    assert error["property"].endswith(".anonymous")
    assert all(o["created_by_ref"] == north_identity for o in _versions(south, v1["id"]))


def test_an_anonymous_object_stays_anonymous_in_every_version_and_read_path(world: World) -> None:
    north, south = _pair(world)
    with world.db.read() as conn:
        from shieldwall.members.service import get_member

        north_identity = get_member(conn, north.member_id)["identity_id"]
    broker = broker_identity(Settings().broker_name)
    v1 = marked(indicator("198.51.100.31"), tlp="green", anonymous=True)
    v1["created_by_ref"] = north_identity
    north.share(v1)
    v2 = {k: v for k, v in v1.items() if k != "extensions"} | {"modified": LATER}
    assert north.share(v2).status_code == 201
    v3 = marked({**v1, "modified": "2026-03-01T00:00:00.000Z"}, tlp="green", anonymous=False)
    assert _errors(north.share(v3))[0]["property"].endswith(".anonymous")
    seen = _versions(south, v1["id"])
    listed = south.get("/api/v1/objects", params={"versions": "all", "id": v1["id"]}).json()
    for versions in (seen, listed["objects"]):
        assert len(versions) == 2
        assert {o["created_by_ref"] for o in versions} == {broker}
        assert all(o["extensions"][SHARING_EXTENSION_ID]["anonymous"] for o in versions)
    assert listed["contributors"] == {}


# --- 5. identities only the platform writes, public ids nobody owns ----------------------------


def test_members_and_the_broker_have_identities_every_member_reads(world: World) -> None:
    north, south = _pair(world)
    members = {m["name"]: m for m in south.get("/api/v1/members").json()["members"]}
    north_identity = _latest(south, members["CERT North"]["identity_id"])
    assert north_identity is not None and north_identity["name"] == "CERT North"
    broker = _latest(south, broker_identity(Settings().broker_name))
    assert broker is not None and broker["name"] == Settings().broker_name
    # What is shared without a creator is shown with its member's identity.
    ioc = marked(indicator("198.51.100.40"), tlp="green")
    north.share(ioc)
    assert _latest(south, ioc["id"])["created_by_ref"] == north_identity["id"]


def test_no_member_can_forge_another_members_identity_or_the_brokers(world: World) -> None:
    north, south = _pair(world)
    members = {m["name"]: m for m in south.get("/api/v1/members").json()["members"]}
    north_id = members["CERT North"]["identity_id"]
    broker = broker_identity(Settings().broker_name)
    for forged_id in (north_id, broker):
        forged = marked(
            {
                "type": "identity",
                "spec_version": "2.1",
                "id": forged_id,
                "created": STIX_TIME,
                "modified": LATER,
                "name": "CERT North (official)",
                "identity_class": "organization",
            },
            tlp="clear",
            distribution="all",
        )
        (error,) = _errors(south.share(forged))
        assert "only the platform writes it" in error["message"]
        assert _latest(north, forged_id)["name"] != "CERT North (official)"
    # North cannot rename itself through a bundle either; the platform's own copy passes.
    own = _latest(north, north_id)
    assert _errors(north.share({**own, "name": "CERT Norse", "modified": LATER}))
    response = north.share(own)
    assert response.status_code == 201 and response.json()["stored"] == 0


def test_public_reference_objects_are_kept_per_member(world: World) -> None:
    north, south = _pair(world)
    third = world.user(world.member("CERT West"))
    for object_id, extra in ((T1566, {"name": "Phishing"}), (APT28, {"name": "APT28"})):
        squat = marked(
            {"type": object_id.split("--")[0], "spec_version": "2.1", "id": object_id,
             "created": STIX_TIME, "modified": STIX_TIME, **extra},
            tlp="red", distribution="org",
        )  # fmt: skip
        assert north.share(squat).status_code == 201
        public = marked({**squat, "description": "public"}, tlp="clear", distribution="all")
        assert south.share(public).status_code == 201, south.share(public).text
        seen = _latest(third, object_id)
        assert seen is not None and seen.get("description") == "public"
        assert [o.get("description") for o in _versions(third, object_id)] == ["public"]
        assert "description" not in _latest(north, object_id)  # its own copy first
    # A member's own object still belongs to it alone.
    mine = indicator("198.51.100.41", tlp="green")
    north.share(mine)
    assert "another member" in _errors(south.share({**mine, "modified": LATER}))[0]["message"]


def test_marking_definitions_are_kept_per_member(world: World) -> None:
    north, south = _pair(world)
    statement = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stix_id("marking-definition"),
        "created": STIX_TIME,
        "definition_type": "statement",
        "definition": {"statement": "Internal"},
    }
    assert north.share(marked(statement, tlp="red", distribution="org")).status_code == 201
    assert south.share(statement).status_code == 201


# --- 6. no value can inject a blocklist entry ---------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "[domain-name:value = 'inj1.example\ngoogle.com']",
        "[domain-name:value = 'inj1.example\r\ngoogle.com']",
        "[domain-name:value = 'inj1.example\u2028google.com']",
        "[domain-name:value = 'inj1.example google.com']",
        "[domain-name:value = 'inj1.example\x00']",
        "[email-addr:value = 'x@inj1.example\ngoogle.com']",
        "[url:value = 'http://inj1.example/\nhttp://google.com/']",
        "[url:value = 'inj1.example/no-scheme']",
        "[email-message:from_ref.value = 'a@inj1.example\ngoogle.com']",
        "[ipv4-addr:value = '198.51.100.1'] AND [domain-name:value = 'a\nb.example']",
    ],
)
def test_values_that_would_break_a_blocklist_line_are_refused(world: World, pattern: str) -> None:
    north, _ = _pair(world)
    ioc = indicator(tlp="green", distribution="community") | {"pattern": pattern}
    errors = _errors(north.share(ioc))
    # A NUL is also refused as a NUL; every answer names the pattern.
    assert errors and {error["property"] for error in errors} == {"pattern"}
    assert north.get("/api/v1/exports/blocklist", params={"kind": "domain"}).text == ""


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("domain-name", "inj1.example\ngoogle.com"),
        ("domain-name", "bad domain.example"),
        ("domain-name", "-leading-hyphen.example"),
        ("email-addr", "victim @example.org"),
        ("url", "http://inj1.example/\u2029"),
    ],
)
def test_observable_values_are_checked_by_kind(world: World, type_: str, value: str) -> None:
    north, _ = _pair(world)
    sco = {"type": type_, "spec_version": "2.1", "id": f"{type_}--{uuid.uuid4()}", "value": value}
    (error,) = _errors(north.share(sco))
    assert error["property"] == "value"


def test_good_values_of_every_kind_pass(world: World) -> None:
    north, _ = _pair(world)
    good = [
        "[domain-name:value = 'xn--bcher-kva.example']",
        "[domain-name:value = 'bücher.example']",
        "[domain-name:value = '_dmarc.example.org.']",
        "[email-addr:value = 'first.last+tag@example.org']",
        "[url:value = 'https://example.org/a%20b?c=d']",
    ]
    objs = [indicator(tlp="green", distribution="community") | {"pattern": p} for p in good]
    assert north.share(*objs).status_code == 201
    scos = [
        {"type": "domain-name", "spec_version": "2.1", "id": stix_id("domain-name"),
         "value": "mail.example.org"},
        {"type": "email-addr", "spec_version": "2.1", "id": stix_id("email-addr"),
         "value": "root@[192.0.2.1]"},
    ]  # fmt: skip
    assert north.share(*scos).status_code == 201


def test_domain_blocklists_hold_shared_domains_not_url_hosts(world: World) -> None:
    north, south = _pair(world)
    url = indicator(tlp="green", distribution="community")
    url["pattern"] = "[url:value = 'http://shared-host.example/one/compromised/page']"
    domain = indicator(tlp="green", distribution="community")
    domain["pattern"] = "[domain-name:value = 'evil.example']"
    north.share(url, domain)
    lines = south.get("/api/v1/exports/blocklist", params={"kind": "domain"}).text.splitlines()
    assert lines == ["evil.example"]
    response = south.get(
        "/api/v1/exports/blocklist", params={"kind": "domain", "include_url_hosts": "true"}
    )
    assert sorted(response.text.splitlines()) == ["evil.example", "shared-host.example"]


def test_a_stored_value_that_would_break_a_line_is_never_written_as_it_is(world: World) -> None:
    """Rows from before ingest checked values (the migration narrows them to their member, who
    still exports them): the blocklist writes each value as one line or not at all."""
    north, _ = _pair(world)
    good = indicator(tlp="green", distribution="community")
    north.share(good)
    bad = {
        "pattern": "[domain-name:value = 'inj1.example\ngoogle.com'] OR "
        "[url:value = 'http://inj2.example/\ngoogle.com']",
    }
    with world.db.write() as conn:
        import orjson

        row = conn.execute(select(objects).where(objects.c.object_id == good["id"])).one()
        body = orjson.loads(row.body) | bad
        values = {**row._mapping, "pk": row.pk + 1000, "object_id": stix_id("indicator"),
                  "body": orjson.dumps(body).decode()}  # fmt: skip
        conn.execute(objects.insert().values(**values))
        # and its values in the correlation index, as ingest wrote them then
        index = CorrelationIndex(values=True)
        layouts = zip(index.layouts, index.rows(values["pk"], body), strict=True)
        for (table, columns), rows in layouts:
            if rows:
                conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in rows])
    domains = north.get("/api/v1/exports/blocklist", params={"kind": "domain"}).text
    assert "google.com" not in domains.splitlines()
    urls = north.get("/api/v1/exports/blocklist", params={"kind": "url"}).text.splitlines()
    assert urls and "google.com" not in urls
    assert not any(UNSAFE.search(line) for line in urls)


def test_created_by_takes_a_member_id_or_name_and_never_finds_anonymous_intel(
    world: World,
) -> None:
    north, south = _pair(world)
    named = marked(indicator("198.51.100.50"), tlp="green")
    hidden = marked(indicator("198.51.100.51"), tlp="green", anonymous=True)
    north.share(named, hidden)
    for creator in ("CERT North", north.member_id):
        assert south.object_ids(created_by=creator) == {named["id"]}
    broker = broker_identity(Settings().broker_name)
    assert south.object_ids(created_by=broker) == {hidden["id"]}
    assert south.object_ids(created_by="No Such Member") == set()


def test_identities_forged_before_the_rule_are_removed_when_the_server_starts(
    world: World, database_url: str
) -> None:
    from fastapi.testclient import TestClient

    from shieldwall.app import create_app
    from shieldwall.intel.tables import change_log, change_objects

    _, south = _pair(world)
    members = {m["name"]: m for m in south.get("/api/v1/members").json()["members"]}
    north_id = members["CERT North"]["identity_id"]
    forged = _latest(south, north_id) | {"name": "CERT North (official)", "modified": LATER}
    with world.db.write() as conn:  # as the old code would have stored it
        row = conn.execute(select(objects).where(objects.c.object_id == north_id)).one()
        conn.execute(objects.update().where(objects.c.pk == row.pk).values(is_latest=False))
        import orjson

        conn.execute(objects.insert().values(**{
            **row._mapping, "pk": row.pk + 1000, "member_id": south.member_id,
            "modified": "2026-02-01T00:00:00.000000Z", "body": orjson.dumps(forged).decode(),
        }))  # fmt: skip
    assert _latest(south, north_id)["name"] == "CERT North (official)"
    settings = Settings(database_url=database_url, warninglists="none", validation_workers=0)
    with TestClient(create_app(settings)):  # a server start
        pass
    assert _latest(south, north_id)["name"] == "CERT North"
    with world.db.read() as conn:
        assert conn.scalar(select(objects.c.pk).where(objects.c.pk == row.pk + 1000)) is None
        removal = conn.execute(select(change_log).where(change_log.c.action == "remove")).one()
        gone = conn.execute(select(change_objects).where(change_objects.c.seq == removal.seq))
        assert [r.object_id for r in gone] == [north_id]


def test_an_id_the_sharer_cannot_see_tells_nothing_and_harms_nothing(world: World) -> None:
    """No oracle for ids: sharing an object under the id of another member's hidden object
    answers exactly as for a fresh id, and keeps the sharer's object apart from the hidden one."""
    north, south = _pair(world)
    hidden = indicator("198.51.100.120", tlp="red", distribution="org")
    north.share(hidden)
    fresh = indicator("198.51.100.121", tlp="green", distribution="community")
    guess = {**fresh, "id": hidden["id"]}
    for attempt in (fresh, guess):
        response = south.share(attempt)
        assert response.status_code == 201, response.text
        assert response.json()["stored"] == 1
    # North's object is untouched and still its own; South reads its own copy.
    assert _latest(north, hidden["id"])["pattern"] == hidden["pattern"]
    assert _latest(south, hidden["id"])["pattern"] == fresh["pattern"]
    assert [o["pattern"] for o in _versions(south, hidden["id"])] == [fresh["pattern"]]
    # An id the sharer CAN see stays its owner's.
    visible = indicator("198.51.100.122", tlp="green", distribution="community")
    north.share(visible)
    assert "another member" in _errors(south.share({**visible, "modified": LATER}))[0]["message"]
