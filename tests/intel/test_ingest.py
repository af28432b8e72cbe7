"""POST /api/v1/bundles: all or nothing, versions, ownership, markings and sharing metadata."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shieldwall.audit import service as audit
from shieldwall.intel.tables import change_log, objects
from shieldwall.markings import SHARING_EXTENSION_ID, TLP
from shieldwall.policy import Role
from tests.factories import STIX_TIME, ApiUser, World, bundle, indicator, report, stix_id


def _count(world: World) -> int:
    with world.db.read() as conn:
        return conn.scalar(
            select(func.count()).select_from(objects).where(objects.c.type != "identity")
        )


def _get(user: ApiUser, object_id: str, **params: str) -> list[dict]:
    response = user.get(f"/api/v1/objects/{object_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()["objects"]


def test_accepted_bundle_is_stored_whole_with_defaults_made_explicit(world: World) -> None:
    analyst = world.user(world.member())
    ind = indicator()
    rep = report([ind["id"]])
    response = analyst.share(ind, rep)
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 2
    stored = _get(analyst, ind["id"])[0]
    assert stored["object_marking_refs"] == [TLP.AMBER.marking_id]  # the member's default TLP
    assert stored["extensions"][SHARING_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "distribution": "community",
        "anonymous": False,
    }
    assert stored["pattern"] == ind["pattern"]


def test_one_invalid_object_rejects_the_bundle_and_lists_every_error(world: World) -> None:
    analyst = world.user(world.member())
    good = indicator()
    bad1 = {**indicator(), "pattern": "[ipv4-addr:value = "}
    bad2 = {**indicator(), "valid_from": "yesterday"}
    response = analyst.share(good, bad1, bad2)
    assert response.status_code == 422
    error = response.json()["error"]
    assert "nothing was stored" in error["message"]
    by_index = {d["index"]: d for d in error["details"]}
    assert set(by_index) == {1, 2}
    assert by_index[1]["id"] == bad1["id"] and by_index[1]["property"] == "pattern"
    assert by_index[2]["property"] == "valid_from"
    assert _count(world) == 0


def test_resending_the_same_version_is_idempotent(world: World) -> None:
    analyst = world.user(world.member())
    ind = indicator()
    assert analyst.share(ind).json()["stored"] == 1
    again = analyst.share(ind).json()
    assert again == {"change_seq": None, "stored": 0, "unchanged": 1}
    assert _count(world) == 1


def test_a_newer_modified_is_a_new_version(world: World) -> None:
    analyst = world.user(world.member())
    v1 = indicator()
    v2 = {**v1, "modified": "2026-02-01T00:00:00Z", "name": "renamed"}
    analyst.share(v1)
    analyst.share(v2)
    assert _get(analyst, v1["id"])[0]["name"] == "renamed"
    assert [o["modified"] for o in _get(analyst, v1["id"], versions="all")] == [
        STIX_TIME,
        "2026-02-01T00:00:00Z",
    ]
    assert analyst.object_ids() == {v1["id"]}  # lists show the latest version only
    # An older version arriving late is kept, but does not become the latest.
    v0 = {
        **v1,
        "created": "2026-01-01T00:00:00Z",
        "modified": "2026-01-10T00:00:00Z",
        "name": "old",
    }
    assert analyst.share(v0).json()["stored"] == 1
    assert _get(analyst, v1["id"])[0]["name"] == "renamed"
    assert len(_get(analyst, v1["id"], versions="all")) == 3


def test_objects_of_other_creators_cannot_be_overwritten(world: World) -> None:
    owner = world.user(world.member())
    other = world.user(world.member())
    ind = indicator()
    owner.share(ind)
    hijack = {**ind, "modified": "2026-03-01T00:00:00Z", "name": "hijacked"}
    response = other.share(hijack)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["property"] == "id"
    assert _get(owner, ind["id"])[0]["name"] == ind["name"]


def test_each_member_keeps_its_own_copy_of_an_observable(world: World) -> None:
    a, b = world.user(world.member()), world.user(world.member())
    ip = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
        "value": "198.51.100.3",
    }
    assert a.share({**ip, "object_marking_refs": [TLP.RED.marking_id]}).status_code == 201
    assert b.share({**ip, "object_marking_refs": [TLP.GREEN.marking_id]}).status_code == 201
    assert _count(world) == 2
    seen_by_b = _get(b, ip["id"])
    assert seen_by_b[0]["object_marking_refs"] == [TLP.GREEN.marking_id]


def test_tlp_caps_distribution_with_a_clear_error(world: World) -> None:
    analyst = world.user(world.member())
    response = analyst.share(indicator(tlp="red", distribution="community"))
    assert response.status_code == 422
    message = response.json()["error"]["details"][0]["message"]
    assert "TLP:RED does not allow distribution 'community'" in message
    assert analyst.share(indicator(tlp="amber", distribution="all")).status_code == 422
    assert analyst.share(indicator(tlp="green", distribution="all")).status_code == 201


def test_no_distribution_takes_the_default_narrowed_to_the_tlp(world: World) -> None:
    analyst = world.user(world.member())
    ind = indicator(tlp="red")
    assert analyst.share(ind).status_code == 201
    ext = _get(analyst, ind["id"])[0]["extensions"][SHARING_EXTENSION_ID]
    assert ext["distribution"] == "org"


def test_no_tlp_with_a_distribution_the_default_tlp_forbids_is_rejected(world: World) -> None:
    analyst = world.user(world.member())  # default TLP amber
    response = analyst.share(indicator(distribution="all"))
    assert response.status_code == 422
    assert "member's default" in response.json()["error"]["details"][0]["message"]


def test_report_objects_inherit_its_marking_unless_stricter(world: World) -> None:
    analyst = world.user(world.member())
    plain = indicator("198.51.100.1")
    looser = indicator("198.51.100.2", tlp="green", distribution="all")
    stricter = indicator("198.51.100.3", tlp="red", distribution="org")
    rep = report(
        [plain["id"], looser["id"], stricter["id"]], tlp="amber+strict", distribution="community"
    )
    assert analyst.share(plain, looser, stricter, rep).status_code == 201

    def marking(obj: dict) -> tuple[list[str], str]:
        stored = _get(analyst, obj["id"])[0]
        return stored["object_marking_refs"], stored["extensions"][SHARING_EXTENSION_ID][
            "distribution"
        ]

    assert marking(plain) == ([TLP.AMBER_STRICT.marking_id], "community")
    assert marking(looser) == ([TLP.AMBER_STRICT.marking_id], "community")
    assert marking(stricter) == ([TLP.RED.marking_id], "org")


def test_sharing_with_a_group_needs_membership(world: World) -> None:
    outsider_member = world.member()
    a, b = world.member(), world.member()
    group = world.group([a, b])
    outsider = world.user(outsider_member)
    response = outsider.share(indicator(tlp="red", distribution="group", group=group))
    assert response.status_code == 422
    assert "does not exist or this member is not in it" in response.text
    insider = world.user(a)
    assert insider.share(indicator(tlp="red", distribution="group", group=group)).status_code == 201


def test_custom_objects_properties_and_extensions_are_kept_verbatim(world: World) -> None:
    analyst = world.user(world.member())
    custom = {
        "type": "x-acme-ticket",
        "id": stix_id("x-acme-ticket"),
        "spec_version": "2.1",
        "created": STIX_TIME,
        "modified": STIX_TIME,
        "x_queue": {"name": "soc", "n": [1, 2]},
    }
    ind = {
        **indicator(),
        "x_acme_score": 7,
        "extensions": {
            "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {
                "extension_type": "property-extension",
                "rank": 5,
            }
        },
    }
    assert analyst.share(custom, ind).status_code == 201
    stored_custom = _get(analyst, custom["id"])[0]
    assert stored_custom["x_queue"] == custom["x_queue"]
    stored = _get(analyst, ind["id"])[0]
    assert stored["x_acme_score"] == 7
    assert stored["extensions"]["extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"] == {
        "extension_type": "property-extension",
        "rank": 5,
    }


def test_a_member_cannot_speak_as_another_member(world: World, app) -> None:  # type: ignore[no-untyped-def]
    a = world.user(world.member())
    victim = world.member()
    with world.db.read() as conn:
        from shieldwall.members.service import get_member

        victim_identity = get_member(conn, victim)["identity_id"]
    response = a.share({**indicator(), "created_by_ref": victim_identity})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["property"] == "created_by_ref"


def test_readers_may_not_share(world: World) -> None:
    reader = world.user(world.member(), Role.READER)
    response = reader.share(indicator())
    assert response.status_code == 403
    assert response.json()["error"]["status"] == 403


def test_bad_bodies_get_clear_errors(world: World) -> None:
    analyst = world.user(world.member())
    not_json = analyst.post("/api/v1/bundles", content=b"{not json")
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]["message"]
    not_bundle = analyst.post("/api/v1/bundles", json={"type": "indicator"})
    assert not_bundle.status_code == 422
    empty = analyst.post("/api/v1/bundles", json=bundle())
    assert empty.status_code == 422


def test_a_crash_mid_write_leaves_the_database_as_before(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = world.user(world.member())
    analyst.share(indicator())

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    # Objects and the change-log entry are written before the audit entry: fail there.
    monkeypatch.setattr(audit, "append", crash)
    assert analyst.share(indicator(), indicator()).status_code == 500
    assert _count(world) == 1
    with world.db.read() as conn:
        ingests = (
            select(func.count()).select_from(change_log).where(change_log.c.action == "ingest")
        )
        assert conn.scalar(ingests) == 1


def test_tlp_marking_definitions_in_a_bundle_are_recognised_not_stored(world: World) -> None:
    analyst = world.user(world.member())
    from shieldwall.markings import tlp_marking_definitions

    markings = tlp_marking_definitions()
    bad = indicator(tlp="red", distribution="all")
    response = analyst.share(*markings, indicator(), bad)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["index"] == len(markings) + 1  # bundle index
    ok = analyst.share(*markings, indicator(tlp="green"))
    assert ok.json()["stored"] == 1 and ok.json()["unchanged"] == len(markings)
