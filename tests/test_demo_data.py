"""The synthetic demo data set: deterministic, labelled, within the rules, valid STIX 2.1."""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pymispgalaxies
import pytest
import stix2
from fastapi.testclient import TestClient

from shieldwall.db import Database
from shieldwall.demo import seed
from shieldwall.demo_data import (
    DEMO_NAMESPACE,
    DemoBundle,
    DemoDataset,
    DemoMember,
    DemoUser,
    build_demo_dataset,
    group_placeholder_id,
    member_identity_id,
)
from shieldwall.members import service
from shieldwall.settings import Settings

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SHARING = "extension-definition--c56d41b5-3fe7-441e-af12-498adb577219"
# Written out here rather than imported, so the tests check the data against the rule itself.
TLP_MARKINGS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
ALLOWED = {
    "red": {"org", "group"},
    "amber+strict": {"org", "community", "federation", "group"},
    "amber": {"org", "community", "federation", "group"},
    "green": {"org", "community", "federation", "all", "group"},
    "clear": {"org", "community", "federation", "all", "group"},
}
SCO_TYPES = {"ipv4-addr", "domain-name", "url", "file"}
ID = re.compile(
    r"^([a-z0-9-]+)--[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CLUSTERS = Path(pymispgalaxies.__file__).parent / "data" / "misp-galaxy" / "clusters"


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return build_demo_dataset(seed=7, now=NOW)


def all_objects(dataset: DemoDataset) -> list[dict]:
    return [obj for b in dataset.bundles for obj in b.bundle["objects"]]


def cluster_values(name: str) -> list[dict]:
    return json.loads((CLUSTERS / f"{name}.json").read_text(encoding="utf-8"))["values"]


def test_same_seed_and_now_give_the_same_dataset(dataset: DemoDataset) -> None:
    again = build_demo_dataset(seed=7, now=NOW)
    assert again == dataset
    assert json.dumps([b.bundle for b in again.bundles]) == json.dumps(
        [b.bundle for b in dataset.bundles]
    )


def test_another_seed_gives_other_objects_but_the_same_partnership(dataset: DemoDataset) -> None:
    other = build_demo_dataset(seed=8, now=NOW)
    assert other.bundles != dataset.bundles
    assert not {o["id"] for o in all_objects(other) if o["type"] not in SCO_TYPES} & {
        o["id"] for o in all_objects(dataset)
    }
    assert (other.members, other.users, other.groups) == (
        dataset.members,
        dataset.users,
        dataset.groups,
    )


def test_a_naive_now_is_read_as_utc(dataset: DemoDataset) -> None:
    assert build_demo_dataset(seed=7, now=NOW.replace(tzinfo=None)) == dataset


def test_every_invented_name_is_labelled_synthetic(dataset: DemoDataset) -> None:
    names = [m.name for m in dataset.members] + [g.name for g in dataset.groups]
    names += [o["name"] for o in all_objects(dataset) if o["type"] in {"report", "indicator"}]
    assert names
    assert all("SYNTHETIC" in name for name in names), [n for n in names if "SYNTHETIC" not in n]
    reports = [o for o in all_objects(dataset) if o["type"] == "report"]
    assert all(r["name"].startswith("SYNTHETIC ") for r in reports)
    assert all("SYNTHETIC" in r["description"] for r in reports)
    for obj in all_objects(dataset):
        if obj["type"] not in SCO_TYPES:
            assert obj["labels"] == ["synthetic"], obj["id"]


def test_members_cover_every_kind_with_real_countries_and_sectors(dataset: DemoDataset) -> None:
    countries = {v["meta"]["ISO"] for v in cluster_values("country")}
    sectors = {v["value"] for v in cluster_values("sector")}
    capabilities = {
        "incident-response",
        "malware-analysis",
        "forensics",
        "threat-hunting",
        "vulnerability-coordination",
    }
    assert 6 <= len(dataset.members) <= 8
    assert len({m.name for m in dataset.members}) == len(dataset.members)
    assert {m.kind for m in dataset.members} == {
        "alliance",
        "national-cert",
        "industry",
        "academia",
        "partner",
    }
    for m in dataset.members:
        assert m.country in countries
        assert m.sectors and set(m.sectors) <= sectors
        assert m.capabilities and set(m.capabilities) <= capabilities
        # A response team to reach, on the reserved .invalid domain, labelled synthetic.
        assert m.contacts and all(
            ".synthetic.invalid " in c and "SYNTHETIC" in c for c in m.contacts
        )


def test_users_one_admin_and_a_member_admin_and_analyst_per_member(dataset: DemoDataset) -> None:
    alliance = next(m.name for m in dataset.members if m.kind == "alliance")
    admins = [u for u in dataset.users if u.role == "admin"]
    assert [(u.email, u.member) for u in admins] == [
        ("admin@synthetic.shieldwall.invalid", alliance)
    ]
    roles = Counter((u.member, u.role) for u in dataset.users if u.role != "admin")
    assert roles == Counter(
        {(m.name, role): 1 for m in dataset.members for role in ("member-admin", "analyst")}
    )
    emails = [u.email for u in dataset.users]
    assert len(set(emails)) == len(emails)
    for email in emails:
        domain = email.partition("@")[2]
        assert domain.endswith(".invalid") and "synthetic" in domain, email


def test_each_bundle_is_sent_by_an_analyst_of_its_member(dataset: DemoDataset) -> None:
    users = {u.email: u for u in dataset.users}
    for b in dataset.bundles:
        assert users[b.user].member == b.member
        assert users[b.user].role == "analyst"


def test_every_object_obeys_the_tlp_distribution_rule(dataset: DemoDataset) -> None:
    for obj in all_objects(dataset):
        levels = [TLP_MARKINGS[ref] for ref in obj["object_marking_refs"]]
        assert len(levels) == 1, obj["id"]
        ext = obj["extensions"][SHARING]
        assert ext["extension_type"] == "property-extension"
        assert set(ext) <= {"extension_type", "distribution", "sharing_group", "anonymous"}
        assert ext["distribution"] in ALLOWED[levels[0]], obj["id"]
        assert ("sharing_group" in ext) == (ext["distribution"] == "group"), obj["id"]
        assert isinstance(ext["anonymous"], bool)


def test_reports_mix_every_level_and_distribution(dataset: DemoDataset) -> None:
    reports = [o for o in all_objects(dataset) if o["type"] == "report"]
    assert 10 <= len(reports) <= 20
    assert {TLP_MARKINGS[r["object_marking_refs"][0]] for r in reports} == set(ALLOWED)
    assert {r["extensions"][SHARING]["distribution"] for r in reports} == {
        "org",
        "community",
        "federation",
        "all",
        "group",
    }


def test_one_anonymous_industry_contribution(dataset: DemoDataset) -> None:
    kinds = {m.name: m.kind for m in dataset.members}
    anonymous = [
        b for b in dataset.bundles if b.bundle["objects"][0]["extensions"][SHARING]["anonymous"]
    ]
    assert len(anonymous) == 1
    assert kinds[anonymous[0].member] == "industry"
    assert all(o["extensions"][SHARING]["anonymous"] for o in all_objects(dataset)) is False
    assert all(o["extensions"][SHARING]["anonymous"] for o in anonymous[0].bundle["objects"])


def test_objects_of_a_report_are_never_shared_wider_than_it(dataset: DemoDataset) -> None:
    order = list(ALLOWED)[::-1]  # clear ... red
    stricter = 0
    for b in dataset.bundles:
        report, *rest = b.bundle["objects"]
        level = order.index(TLP_MARKINGS[report["object_marking_refs"][0]])
        for obj in rest:
            own = order.index(TLP_MARKINGS[obj["object_marking_refs"][0]])
            assert own >= level, obj["id"]
            stricter += own > level
            assert obj["extensions"][SHARING] == report["extensions"][SHARING]
    assert stricter, "one report should show objects marked stricter than the report"


def test_group_references_resolve_to_placeholders_by_default(dataset: DemoDataset) -> None:
    groups = {g.name: g for g in dataset.groups}
    assert "SYNTHETIC Alliance–EU technical arrangement" in groups  # noqa: RUF001 (its name)
    kinds = {m.name: m.kind for m in dataset.members}
    arrangement = groups["SYNTHETIC Alliance–EU technical arrangement"]  # noqa: RUF001
    assert {kinds[m] for m in arrangement.members} >= {"alliance"}
    assert any("EU" in m and kinds[m] != "alliance" for m in arrangement.members)
    assert any({kinds[m] for m in g.members} >= {"industry"} for g in groups.values())
    for g in dataset.groups:
        assert set(g.members) <= set(kinds)
    group_only = []
    for b in dataset.bundles:
        wanted = group_placeholder_id(b.sharing_group) if b.sharing_group else None
        for obj in b.bundle["objects"]:
            assert obj["extensions"][SHARING].get("sharing_group") == wanted
        if b.sharing_group:
            assert b.member in groups[b.sharing_group].members
            group_only.append(b)
    assert group_only


def test_group_ids_given_by_the_caller_fill_the_extension(dataset: DemoDataset) -> None:
    real = {g.name: f"00000000-0000-4000-8000-{n:012d}" for n, g in enumerate(dataset.groups)}
    seeded = build_demo_dataset(seed=7, now=NOW, group_ids=real)
    seen = set()
    for b in seeded.bundles:
        for obj in b.bundle["objects"]:
            ext = obj["extensions"][SHARING]
            assert ext.get("sharing_group") == (real[b.sharing_group] if b.sharing_group else None)
            seen.add(ext.get("sharing_group"))
    assert seen - {None} <= set(real.values())
    assert [o["id"] for o in all_objects(seeded)] == [o["id"] for o in all_objects(dataset)]


def test_group_ids_must_name_every_group(dataset: DemoDataset) -> None:
    with pytest.raises(ValueError, match="lacks an id"):
        build_demo_dataset(seed=7, now=NOW, group_ids={dataset.groups[0].name: "x"})


def test_ids_are_well_formed_unique_and_resolve(dataset: DemoDataset) -> None:
    ids = [o["id"] for o in all_objects(dataset)] + [b.bundle["id"] for b in dataset.bundles]
    assert len(set(ids)) == len(ids)
    for b in dataset.bundles:
        assert ID.match(b.bundle["id"]).group(1) == "bundle"
        assert b.bundle["type"] == "bundle"
        report, *rest = b.bundle["objects"]
        in_bundle = {o["id"] for o in rest}
        assert report["type"] == "report"
        assert sorted(report["object_refs"]) == sorted(in_bundle)
        for obj in b.bundle["objects"]:
            assert ID.match(obj["id"]).group(1) == obj["type"]
            if obj["type"] == "relationship":
                assert {obj["source_ref"], obj["target_ref"]} <= in_bundle
            if obj["type"] in SCO_TYPES:
                continue
            if obj["extensions"][SHARING]["anonymous"]:  # the server names the broker
                assert "created_by_ref" not in obj, obj["id"]
            else:
                assert obj["created_by_ref"] == member_identity_id(b.member)


def test_no_member_identities_or_marking_definitions_are_sent(dataset: DemoDataset) -> None:
    types = {o["type"] for o in all_objects(dataset)}
    assert not types & {"identity", "marking-definition", "extension-definition"}
    assert {"indicator", "threat-actor", "attack-pattern", "relationship"} <= types
    assert types >= SCO_TYPES


def test_member_identity_id_is_a_stable_uuid5() -> None:
    a = member_identity_id("SYNTHETIC CERT-EE")
    assert a == member_identity_id("SYNTHETIC CERT-EE") != member_identity_id("SYNTHETIC CERT-PL")
    assert ID.match(a).group(1) == "identity"
    assert a.split("--")[1][14] == "5"


def test_sdos_and_sros_carry_the_common_properties(dataset: DemoDataset) -> None:
    for obj in all_objects(dataset):
        assert obj["spec_version"] == "2.1"
        if obj["type"] in SCO_TYPES:
            assert "created" not in obj and "created_by_ref" not in obj
            continue
        assert TIMESTAMP.match(obj["created"]) and TIMESTAMP.match(obj["modified"])
        assert obj["created"] <= obj["modified"] <= "2026-11-24T12:00:00.000Z"


def test_observed_values_are_reserved_for_documentation(dataset: DemoDataset) -> None:
    nets = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    reserved = (".example", ".test", ".invalid")
    kinds = Counter()
    for obj in all_objects(dataset):
        if obj["type"] == "indicator":
            prop, value = re.fullmatch(
                r"\[([a-z0-9-]+:[^ ]+) = '([^']+)'\]", obj["pattern"]
            ).groups()
            obj = {
                "ipv4-addr:value": {"type": "ipv4-addr", "value": value},
                "domain-name:value": {"type": "domain-name", "value": value},
                "url:value": {"type": "url", "value": value},
                "file:hashes.'SHA-256'": {"type": "file", "hashes": {"SHA-256": value}},
            }[prop]
        if obj["type"] == "ipv4-addr":
            assert any(ipaddress.ip_address(obj["value"]) in n for n in nets), obj
        elif obj["type"] == "domain-name":
            assert obj["value"].endswith(reserved), obj
        elif obj["type"] == "url":
            assert urlsplit(obj["value"]).hostname.endswith(reserved), obj
        elif obj["type"] == "file":
            assert re.fullmatch(r"[0-9a-f]{64}", obj["hashes"]["SHA-256"]), obj
        kinds[obj["type"]] += 1
    assert all(kinds[t] for t in SCO_TYPES)


def test_some_value_is_seen_by_two_members(dataset: DemoDataset) -> None:
    members_by_pattern: dict[str, set[str]] = {}
    for b in dataset.bundles:
        for obj in b.bundle["objects"]:
            if obj["type"] == "indicator":
                members_by_pattern.setdefault(obj["pattern"], set()).add(b.member)
    assert any(len(members) > 1 for members in members_by_pattern.values())


def test_actors_and_techniques_are_real_reference_data(dataset: DemoDataset) -> None:
    actors = {v["value"]: v for v in cluster_values("threat-actor")}
    techniques = {v["meta"]["external_id"]: v for v in cluster_values("mitre-attack-pattern")}
    groups = {v["meta"]["external_id"]: v for v in cluster_values("mitre-intrusion-set")}
    found = Counter()
    for obj in all_objects(dataset):
        if obj["type"] == "threat-actor":
            assert obj["name"] in actors
            assert obj.get("description") == actors[obj["name"]].get("description")
        elif obj["type"] in {"attack-pattern", "intrusion-set"}:
            (ref,) = obj["external_references"]
            assert ref["source_name"] == "mitre-attack"
            entry = (techniques if obj["type"] == "attack-pattern" else groups)[ref["external_id"]]
            assert entry["value"] == f"{obj['name']} - {ref['external_id']}"
            assert ref["url"].startswith("https://attack.mitre.org/")
        found[obj["type"]] += 1
    assert found["threat-actor"] and found["attack-pattern"] and found["intrusion-set"]
    t1566 = [
        o
        for o in all_objects(dataset)
        if o["type"] == "attack-pattern" and o["external_references"][0]["external_id"] == "T1566"
    ]
    for o in t1566:
        assert o["name"] == "Phishing"


def test_every_object_and_bundle_passes_stix2(dataset: DemoDataset) -> None:
    for b in dataset.bundles:
        for obj in b.bundle["objects"]:
            parsed = stix2.parse(obj, allow_custom=True)
            assert parsed["id"] == obj["id"]
        stix2.parse(b.bundle, allow_custom=True)


def test_observable_ids_are_the_stix_deterministic_ones(dataset: DemoDataset) -> None:
    for obj in all_objects(dataset):
        if obj["type"] in SCO_TYPES:
            bare = {k: v for k, v in obj.items() if k not in {"id", "extensions"}}
            assert stix2.parse(bare, allow_custom=True)["id"] == obj["id"]


# --- anonymous contributions reveal nothing about their contributor -----------------------------


def contributor_traces(member: DemoMember, users: tuple[DemoUser, ...]) -> list[re.Pattern[str]]:
    """What would name `member`: its name (with or without the SYNTHETIC prefix, spelt as a slug
    too), its users' addresses and their domain, its STIX identity, its country's ISO code and
    name (from the same MISP cluster the demo reads countries from)."""
    country = next(
        v["value"]
        for v in cluster_values("country")
        if v.get("meta", {}).get("ISO") == member.country
    )
    bare = member.name.removeprefix("SYNTHETIC ")
    slug = bare.lower().replace(" ", "-")
    words = [member.name, bare, slug, member_identity_id(member.name), country]
    words += [u.email for u in users if u.member == member.name]
    patterns = [re.compile(re.escape(w), re.IGNORECASE) for w in words]
    # The two-letter code only as a word of its own, in capitals: "DE" but not "defence".
    patterns.append(re.compile(rf"(?<![A-Za-z0-9]){member.country}(?![A-Za-z0-9])"))
    return patterns


def traces_in(text: str, patterns: list[re.Pattern[str]]) -> list[str]:
    return [m[0] for p in patterns for m in p.finditer(text)]


def anonymous_bundles(dataset: DemoDataset) -> list[DemoBundle]:
    return [
        b for b in dataset.bundles if b.bundle["objects"][0]["extensions"][SHARING]["anonymous"]
    ]


@pytest.mark.parametrize("seed", [7, 8, 9, 10, 11])
def test_an_anonymous_contribution_names_nothing_of_its_contributor(seed: int) -> None:
    """Description, labels, external references, names, ids: nothing in an anonymous bundle
    says, or lets anyone recompute, which member shared it."""
    dataset = build_demo_dataset(seed=seed, now=NOW)
    members = {m.name: m for m in dataset.members}
    (anonymous,) = anonymous_bundles(dataset)
    member = members[anonymous.member]
    patterns = contributor_traces(member, dataset.users)
    for obj in anonymous.bundle["objects"]:
        assert traces_in(json.dumps(obj, ensure_ascii=False), patterns) == [], obj["id"]
        assert "created_by_ref" not in obj
        assert obj["extensions"][SHARING]["anonymous"] is True
    assert traces_in(anonymous.bundle["id"], patterns) == []
    # Ids are uuid5s of public inputs: none may be recomputed from any member's name.
    index = dataset.bundles.index(anonymous)
    types = {o["type"] for o in anonymous.bundle["objects"]} | {"bundle"}
    for other in dataset.members:
        keys = [f"{seed}:{t}:{other.name}:{index}" for t in types]
        keys += [f"{k}:{n}" for k in keys for n in range(len(anonymous.bundle["objects"]))]
        derived = {f"{k.split(':')[1]}--{uuid.uuid5(DEMO_NAMESPACE, k)}" for k in keys}
        ids = {o["id"] for o in anonymous.bundle["objects"]} | {anonymous.bundle["id"]}
        assert not ids & derived, other.name
    # Nor does the report's sector point at the contributor's own.
    report = anonymous.bundle["objects"][0]
    assert not any(f"Sector: {s}." in report["description"] for s in member.sectors)
    assert not any(f" {s} sector" in report["name"] for s in member.sectors)


def test_the_contributor_of_an_anonymous_report_is_unknown_to_every_other_member(
    app, client: TestClient
) -> None:  # type: ignore[no-untyped-def]
    """The demo seeded through the real services: every anonymous object, read as an analyst of
    each other member that may see it, shows the broker and nothing of the contributor."""
    db: Database = app.state.db
    settings = Settings(database_url=str(db.url), warninglists="none", validation_workers=0)
    seed(db, settings)
    dataset = build_demo_dataset()
    members = {m.name: m for m in dataset.members}
    (anonymous,) = anonymous_bundles(dataset)
    contributor = members[anonymous.member]
    patterns = contributor_traces(contributor, dataset.users)
    with db.read() as conn:
        member_ids = {m["name"]: m["id"] for m in service.list_members(conn)}
    patterns.append(re.compile(re.escape(member_ids[contributor.name])))
    broker = service.broker_identity(settings.broker_name)
    expected = {o["id"] for o in anonymous.bundle["objects"]}
    seen_by = 0
    for other in dataset.members:
        if other.name == contributor.name:
            continue
        analyst = next(u for u in dataset.users if u.member == other.name and u.role == "analyst")
        with db.write() as conn:
            key = service.issue_api_key(conn, service.user_by_email(conn, analyst.email)["id"]).key
        headers = {"Authorization": f"Bearer {key}"}
        page = client.get("/api/v1/objects", params={"id": sorted(expected)}, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["contributors"] == {}
        for obj in body["objects"]:
            assert obj["extensions"][SHARING]["anonymous"] is True
            assert traces_in(json.dumps(obj, ensure_ascii=False), patterns) == [], obj["id"]
            if "created" in obj:  # SDOs and SROs name a creator: the broker
                assert obj["created_by_ref"] == broker
        for obj in body["objects"]:
            one = client.get(f"/api/v1/objects/{obj['id']}", headers=headers)
            assert traces_in(one.text, patterns) == []
        seen_by += bool(body["objects"])
    assert seen_by >= 2  # a community report: the check ran for several members
