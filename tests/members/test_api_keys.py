"""API keys through the API (issue 12): revoked, expired and other members' keys refused first;
then who may revoke which key, named keys, prefixes, expiry, the last-used time without a write
per request, and failed authentications slowed down per address and per account, across
processes."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, update

from shieldwall.app import create_app
from shieldwall.db import utc_now
from shieldwall.members.tables import api_keys, auth_failures
from shieldwall.policy import Role
from shieldwall.settings import Settings
from tests.factories import ApiUser, World
from tests.members.attempts_at_once import HeldAfterTheCheck, at_once
from tests.test_cli import run

NEW_KEY = re.compile(r"sw_[a-z2-7]{8}_[A-Za-z0-9_-]{43}")


def _status(user: ApiUser) -> int:
    return user.get("/api/v1/me").status_code


def _as(user: ApiUser, key: str) -> ApiUser:
    return ApiUser(user.client, user.user_id, user.member_id, key)


def _new_key(by: ApiUser, user: ApiUser, **body: Any) -> Any:
    return by.post(f"/api/v1/users/{user.user_id}/api-keys", json=body or None)


def _prefix(key: str) -> str:
    return key[:11]


# --- may NOT ---------------------------------------------------------------------------------


def test_a_revoked_key_is_refused(world: World) -> None:
    analyst = world.user(world.member())
    revoked = analyst.delete(f"/api/v1/api-keys/{_prefix(analyst.key)}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["revoked_by"] == analyst.user_id
    refused = analyst.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith("this API key is not valid")


def test_an_expired_key_is_refused(world: World) -> None:
    analyst = world.user(world.member())
    issued = _new_key(analyst, analyst, name="ci", expires_at="2999-01-01T00:00:00Z")
    assert issued.status_code == 201, issued.text
    key = issued.json()["api_key"]
    assert _status(_as(analyst, key)) == 200
    with world.db.write() as conn:  # its time comes
        conn.execute(
            update(api_keys)
            .where(api_keys.c.lookup_id == key[3:11])
            .values(expires_at="2020-01-01T00:00:00.000000Z")
        )
    assert _status(_as(analyst, key)) == 401
    listed = analyst.get("/api/v1/api-keys").json()["api_keys"]
    assert {k["prefix"]: k["state"] for k in listed}[_prefix(key)] == "expired"


def test_a_key_cannot_be_issued_already_expired_or_without_a_time_zone(world: World) -> None:
    analyst = world.user(world.member())
    past = _new_key(analyst, analyst, name="x", expires_at="2020-01-01T00:00:00Z")
    assert past.status_code == 422
    naive = _new_key(analyst, analyst, name="x", expires_at="2999-01-01T00:00:00")
    assert naive.status_code == 422
    assert _status(analyst) == 200  # and the user's key was not replaced by either


def test_a_member_admin_cannot_revoke_another_members_key_nor_learn_it_exists(
    world: World,
) -> None:
    mine, theirs = world.member(), world.member()
    member_admin = world.user(mine, Role.MEMBER_ADMIN)
    stranger = world.user(theirs)
    by_prefix = member_admin.delete(f"/api/v1/api-keys/{_prefix(stranger.key)}")
    unknown = member_admin.delete("/api/v1/api-keys/sw_aaaaaaaa")
    assert by_prefix.status_code == unknown.status_code == 404
    assert by_prefix.json() == unknown.json()
    stranger_keys = stranger.get("/api/v1/api-keys").json()["api_keys"]
    by_id = member_admin.delete(f"/api/v1/api-keys/{stranger_keys[0]['id']}")
    assert by_id.status_code == 404
    assert _status(stranger) == 200
    listed = member_admin.get("/api/v1/api-keys").json()["api_keys"]
    assert {k["user_id"] for k in listed} == {member_admin.user_id}
    assert member_admin.get("/api/v1/api-keys", params={"user_id": stranger.user_id}).json() == {
        "api_keys": []
    }


def test_an_analyst_cannot_revoke_a_colleagues_key(world: World) -> None:
    member = world.member()
    analyst, colleague = world.user(member), world.user(member)
    assert analyst.delete(f"/api/v1/api-keys/{_prefix(colleague.key)}").status_code == 404
    assert _new_key(analyst, colleague).status_code == 404
    assert _status(colleague) == 200


def test_a_member_admin_cannot_revoke_an_instance_admins_key(world: World) -> None:
    alliance = world.member(kind="alliance")
    admin = world.user(alliance, Role.ADMIN)
    member_admin = world.user(alliance, Role.MEMBER_ADMIN)
    assert member_admin.delete(f"/api/v1/api-keys/{_prefix(admin.key)}").status_code == 404
    assert _status(admin) == 200


def test_a_revoked_key_is_refused_by_taxii_too(world: World) -> None:
    analyst = world.user(world.member())
    taxii = {"Accept": "application/taxii+json;version=2.1"}
    bearer = {**taxii, "Authorization": f"Bearer {analyst.key}"}
    assert analyst.client.get("/taxii2/", headers=bearer).status_code == 200
    assert analyst.delete(f"/api/v1/api-keys/{_prefix(analyst.key)}").status_code == 200
    assert analyst.client.get("/taxii2/", headers=bearer).status_code == 401


# --- may -------------------------------------------------------------------------------------


def test_who_may_revoke_a_key_the_user_its_member_admin_an_admin(world: World) -> None:
    member = world.member()
    member_admin = world.user(member, Role.MEMBER_ADMIN)
    admin = world.admin()
    for revoker in ("self", "member-admin", "admin"):
        analyst = world.user(member)
        by = {"self": analyst, "member-admin": member_admin, "admin": admin}[revoker]
        response = by.delete(f"/api/v1/api-keys/{_prefix(analyst.key)}")
        assert response.status_code == 200, (revoker, response.text)
        assert response.json()["revoked_by"] == by.user_id
        assert _status(analyst) == 401, revoker
        assert by is analyst or _status(by) == 200  # the revoker's own key is untouched
    audit = admin.get("/api/v1/audit").json()["entries"]
    assert sum(e["action"] == "api-key.revoke" for e in audit) == 3


def test_a_new_key_replaces_the_one_of_its_name_and_says_so(world: World) -> None:
    analyst = world.user(world.member())
    first = analyst.key
    rotated = _new_key(analyst, analyst)  # no name: "default", the name of the user's first key
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert body["replaced"] == [_prefix(first)]
    assert body["key"]["prefix"] == _prefix(body["api_key"]) and body["key"]["name"] == "default"
    assert _status(_as(analyst, first)) == 401
    current = _as(analyst, body["api_key"])
    assert _status(current) == 200


def test_a_user_holds_several_named_keys_each_listed_with_its_prefix(world: World) -> None:
    member = world.member()
    analyst = world.user(member)
    member_admin = world.user(member, Role.MEMBER_ADMIN)
    laptop = _new_key(analyst, analyst, name="laptop").json()
    sync = _new_key(member_admin, analyst, name="MISP sync", expires_at="2999-06-01T12:00:00+02:00")
    assert sync.status_code == 201, sync.text
    assert laptop["replaced"] == [] and sync.json()["replaced"] == []
    held = [analyst.key, laptop["api_key"], sync.json()["api_key"]]
    assert all(NEW_KEY.fullmatch(k) for k in held)
    assert all(_status(_as(analyst, k)) == 200 for k in held)
    listed = member_admin.get("/api/v1/api-keys", params={"user_id": analyst.user_id}).json()
    rows = {k["name"]: k for k in listed["api_keys"]}
    assert set(rows) == {"default", "laptop", "MISP sync"}
    assert {k["prefix"] for k in rows.values()} == {_prefix(k) for k in held}
    assert rows["MISP sync"]["expires_at"] == "2999-06-01T10:00:00.000000Z"
    assert all(k["state"] == "active" and k["created_at"] for k in rows.values())
    assert all("api_key" not in k and "key_hash" not in k for k in rows.values())
    assert not any(k in listed.__repr__() for k in held)  # never the keys themselves


def test_a_key_from_before_prefixes_still_works_and_can_be_revoked(world: World) -> None:
    """Keys issued before migration 0014 are `sw_<secret>`, with no lookup id."""
    analyst = world.user(world.member())
    old = "sw_" + secrets.token_urlsafe(32)
    with world.db.write() as conn:
        conn.execute(
            api_keys.insert().values(
                id=str(uuid.uuid4()), user_id=analyst.user_id, prefix=old[:10],
                key_hash=hashlib.sha256(old.encode()).hexdigest(), created_at=utc_now(),
            )
        )  # fmt: skip
    legacy = _as(analyst, old)
    assert _status(legacy) == 200
    assert _status(_as(analyst, old[:-1] + ("A" if old[-1] != "A" else "B"))) == 401
    assert legacy.delete(f"/api/v1/api-keys/{old[:10]}").status_code == 200
    assert _status(legacy) == 401


def test_last_use_is_shown_to_the_member_admin_without_a_write_per_request(world: World) -> None:
    member = world.member()
    analyst = world.user(member)
    member_admin = world.user(member, Role.MEMBER_ADMIN)
    authenticator = world.client.app.state.authenticator  # type: ignore[attr-defined]
    writes: list[str] = []

    def listed() -> dict[str, Any]:
        rows = member_admin.get("/api/v1/api-keys", params={"user_id": analyst.user_id}).json()
        return rows["api_keys"][0]

    key_id = listed()["id"]

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEYS") and key_id in str(parameters):
            writes.append(statement)

    assert listed()["last_used_at"] is None
    event.listen(world.db.engine, "before_cursor_execute", count)
    try:
        for _ in range(30):
            assert _status(analyst) == 200
        authenticator.flush()
        first = listed()["last_used_at"]
        assert first is not None
        for _ in range(30):
            assert _status(analyst) == 200
        authenticator.flush()
    finally:
        event.remove(world.db.engine, "before_cursor_execute", count)
    assert len(writes) == 1  # 60 uses, one write: the time is kept to the minute
    assert listed()["last_used_at"] == first


# --- slowed down -----------------------------------------------------------------------------


@pytest.fixture
def strict(database_url: str) -> Iterator[Any]:
    """An app that allows 3 failures per account and 5 per address in a 10-minute window."""
    settings = Settings(
        database_url=database_url, warninglists="none", validation_workers=0,
        auth_failure_window=600, auth_failures_per_account=3, auth_failures_per_address=5,
    )  # fmt: skip
    app = create_app(settings)
    with TestClient(app, client=("198.51.100.1", 40000)) as client:
        yield app, client


def _wrong_secret(key: str) -> str:
    return key[:12] + secrets.token_urlsafe(32)


def _assert_throttled(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 600
    assert response.json()["error"]["status"] == 429


def test_failures_on_an_account_throttle_that_account(strict: Any) -> None:
    app, client = strict
    world = World(app.state.db, client)
    member = world.member()
    target, bystander = world.user(member), world.user(member)
    for _ in range(3):
        assert _status(_as(target, _wrong_secret(target.key))) == 401
    refused = target.get("/api/v1/me")  # even the right key, until the window ends
    _assert_throttled(refused)
    assert _status(bystander) == 200  # another account from the same address is not


def test_failures_from_an_address_throttle_that_address(strict: Any) -> None:
    app, client = strict
    world = World(app.state.db, client)
    analyst = world.user(world.member())
    elsewhere = TestClient(app, client=("203.0.113.9", 40000))
    for _ in range(5):
        guess = f"sw_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
        refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {guess}"})
        assert refused.status_code == 401
    _assert_throttled(analyst.get("/api/v1/me"))
    assert _status(ApiUser(elsewhere, analyst.user_id, analyst.member_id, analyst.key)) == 200


def test_throttling_holds_across_processes_and_on_taxii(strict: Any, database_url: str) -> None:
    """Two apps on one database share nothing but the database, as two server processes do."""
    app, client = strict
    world = World(app.state.db, client)
    analyst = world.user(world.member())
    taxii = {"Accept": "application/taxii+json;version=2.1"}
    basic = TestClient(app, client=("192.0.2.50", 40000))
    wrong_email = basic.get(
        "/taxii2/", headers=taxii, auth=("someone.else@example.org", analyst.key)
    )
    assert wrong_email.status_code == 401  # a right key with a wrong e-mail is a failure too
    for _ in range(2):
        wrong = _wrong_secret(analyst.key)
        assert _status(_as(analyst, wrong)) == 401
    app.state.authenticator.flush()  # what the background thread does within a second
    other_app = create_app(
        Settings(database_url=database_url, warninglists="none", validation_workers=0,
                 auth_failure_window=600, auth_failures_per_account=3)
    )  # fmt: skip
    with TestClient(other_app, client=("203.0.113.77", 40000)) as other:
        _assert_throttled(other.get("/api/v1/me", headers=analyst.headers))
        throttled = other.get("/taxii2/", headers={**taxii, **analyst.headers})
        assert throttled.status_code == 429
        assert throttled.headers["content-type"].startswith("application/taxii+json")
        assert int(throttled.headers["retry-after"]) >= 1


def test_requests_without_a_key_are_not_counted(strict: Any) -> None:
    app, client = strict
    world = World(app.state.db, client)
    analyst = world.user(world.member())
    for _ in range(10):
        assert client.get("/api/v1/me").status_code == 401
    assert _status(analyst) == 200


def test_keys_from_the_command_line(database_url: str, client: TestClient) -> None:
    """`shieldwall user key add/list/revoke` as an operator runs them; the API agrees."""
    run("member", "add", "CERT", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "a@cert.example", "--member", "CERT", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    issued = run("user", "key", "add", "a@cert.example", "--name", "sync", "--expires", "30d",
                 database_url=database_url).stdout  # fmt: skip
    key = next(line.split()[-1] for line in issued.splitlines() if line.startswith("API key:"))
    assert NEW_KEY.fullmatch(key)
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    listed = json.loads(run("user", "key", "list", "--user", "a@cert.example", "--json",
                            database_url=database_url).stdout)  # fmt: skip
    sync = next(k for k in listed if k["name"] == "sync")
    assert sync["prefix"] == _prefix(key) and sync["state"] == "active" and sync["expires_at"]
    assert key not in json.dumps(listed)
    bad = run("user", "key", "revoke", "sw_aaaaaaaa", database_url=database_url, check=False)
    assert bad.returncode == 1 and "no such API key" in bad.stderr
    run("user", "key", "revoke", _prefix(key), database_url=database_url)
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    expiry = run("user", "key", "add", "a@cert.example", "--expires", "soon",
                 database_url=database_url, check=False)  # fmt: skip
    assert expiry.returncode == 1 and "--expires" in expiry.stderr


def test_wrong_keys_sent_at_once_get_one_attempt_at_the_limits_edge(strict: Any) -> None:
    """Two failures of three on an account, then eight requests with wrong keys at once, each
    held after its check until all eight are checked: one is tried (401), seven are refused as
    throttled (429), and the account's stored count is its limit, not nine."""
    app, client = strict
    world = World(app.state.db, client)
    target = world.user(world.member())
    for _ in range(2):
        assert _status(_as(target, _wrong_secret(target.key))) == 401
    guesses = [_as(target, _wrong_secret(target.key)) for _ in range(8)]
    with HeldAfterTheCheck(app.state.db, len(guesses)) as held:
        responses = at_once([lambda g=g: g.get("/api/v1/me") for g in guesses], held)
    assert sorted(r.status_code for r in responses) == [401] + [429] * 7
    for response in responses:
        if response.status_code == 429:
            _assert_throttled(response)
    app.state.authenticator.flush()
    with app.state.db.read() as conn:
        stored = conn.scalar(
            select(auth_failures.c.failures).where(
                auth_failures.c.scope == f"user:{target.user_id}"
            )
        )
    assert stored == 3
    _assert_throttled(target.get("/api/v1/me"))
