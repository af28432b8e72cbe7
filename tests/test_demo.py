"""The demo is seeded through the real services and obeys the same rules as everything else."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shieldwall.db import Database
from shieldwall.demo import DEMO_WARNINGLISTS, seed
from shieldwall.demo_data import build_demo_dataset
from shieldwall.markings import SHARING_EXTENSION_ID
from shieldwall.members import service
from shieldwall.settings import Settings


def test_demo_seeds_once_and_respects_the_policy(app, client: TestClient, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    db: Database = app.state.db
    cache = str(tmp_path_factory.getbasetemp() / "cache")  # one build for the whole session
    settings = Settings(database_url=str(db.url), warninglists=DEMO_WARNINGLISTS, cache_dir=cache)
    login = seed(db, settings)
    again = seed(db, settings)  # a second start seeds nothing and hands out a new key
    assert again.key != login.key
    # The web password printed with it signs in; the one printed before no longer does.
    from shieldwall.members import passwords

    with db.read() as conn:
        assert passwords.user_for_password(conn, again.email, again.password) is not None
        assert passwords.user_for_password(conn, login.email, login.password) is None
    admin = {"Authorization": f"Bearer {again.key}"}
    reports = client.get("/api/v1/objects", params={"type": "report", "limit": 1000}, headers=admin)
    all_reports = reports.json()["objects"]
    assert all_reports and all(r["name"].startswith("SYNTHETIC") for r in all_reports)

    group_only = [
        r for r in all_reports if r["extensions"][SHARING_EXTENSION_ID]["distribution"] == "group"
    ]
    assert group_only
    dataset = build_demo_dataset()
    with db.read() as conn:
        groups = {g["id"]: set(g["member_ids"]) for g in service.list_groups(conn)}
        members = service.list_members(conn)
    report = group_only[0]
    in_group = groups[report["extensions"][SHARING_EXTENSION_ID]["sharing_group"]]
    outsider = next(m for m in members if m["id"] not in in_group)
    outsider_user = next(u for u in dataset.users if u.member == outsider["name"])
    with db.write() as conn:
        user_id = service.user_by_email(conn, outsider_user.email)["id"]
        key = service.issue_api_key(conn, user_id).key
    seen = client.get(f"/api/v1/objects/{report['id']}", headers={"Authorization": f"Bearer {key}"})
    assert seen.status_code == 404


def test_each_start_revokes_the_admin_key_printed_before(
    app, client: TestClient, tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    db: Database = app.state.db
    cache = str(tmp_path_factory.getbasetemp() / "cache")
    settings = Settings(database_url=str(db.url), warninglists=DEMO_WARNINGLISTS, cache_dir=cache)
    keys = [seed(db, settings).key, seed(db, settings).key]
    analyst = next(u for u in build_demo_dataset().users if u.role != "admin")
    with db.write() as conn:  # a key another demo user made meanwhile
        theirs = service.issue_api_key(conn, service.user_by_email(conn, analyst.email)["id"]).key
    keys.append(seed(db, settings).key)

    def me(key: str) -> int:
        return client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code

    # The keys printed by earlier starts no longer open anything...
    assert [me(old) for old in keys[:-1]] == [401, 401]
    # ...the one on the screen does, and other users' keys are not the demo's to revoke.
    assert me(keys[-1]) == 200 and me(theirs) == 200
    rotations = client.get(
        "/api/v1/audit",
        params={"action": "api_key.rotate"},
        headers={"Authorization": f"Bearer {keys[-1]}"},
    ).json()["entries"]
    assert [e["detail"]["revoked"] for e in rotations] == [1, 1, 1]


def test_the_demo_collection_serves_taxii_and_a_misp_feed_within_the_policy(
    app, client: TestClient, tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    db: Database = app.state.db
    cache = str(tmp_path_factory.getbasetemp() / "cache")
    settings = Settings(database_url=str(db.url), warninglists=DEMO_WARNINGLISTS, cache_dir=cache)
    login = seed(db, settings)
    assert seed(db, settings).collection_id == login.collection_id  # made once
    taxii = {"Accept": "application/taxii+json;version=2.1"}
    url = f"/taxii2/shieldwall/collections/{login.collection_id}/objects/"
    admin = {"Authorization": f"Bearer {seed(db, settings).key}", **taxii}
    # An outsider to a sharing group reads the collection without the group's reports, and
    # without anything above TLP:AMBER.
    dataset = build_demo_dataset()
    with db.read() as conn:
        groups = service.list_groups(conn)
        members = service.list_members(conn)
    in_group = set(groups[0]["member_ids"])
    outsider = next(m for m in members if m["id"] not in in_group)
    outsider_user = next(u for u in dataset.users if u.member == outsider["name"])
    with db.write() as conn:
        user_id = service.user_by_email(conn, outsider_user.email)["id"]
        key = service.issue_api_key(conn, user_id).key
    theirs = client.get(
        url, params={"limit": 1000}, headers={"Authorization": f"Bearer {key}", **taxii}
    )
    everything = client.get(url, params={"limit": 1000}, headers=admin)
    assert theirs.status_code == everything.status_code == 200, theirs.text
    seen = {o["id"]: o for o in theirs.json()["objects"]}
    all_ = {o["id"]: o for o in everything.json()["objects"]}
    assert seen and set(seen) < set(all_)
    for obj in all_.values():
        sharing = obj.get("extensions", {}).get(SHARING_EXTENSION_ID, {})
        if (
            sharing.get("distribution") == "group"
            and sharing.get("sharing_group") == groups[0]["id"]
        ):
            assert obj["id"] not in seen
    markings = {m for o in all_.values() for m in o.get("object_marking_refs", [])}
    assert not markings & {
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",  # RED
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    }  # AMBER+STRICT
    feed = client.get(f"/feeds/misp/{login.collection_id}/manifest.json",
                      headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert feed.status_code == 200 and feed.json(), feed.text
