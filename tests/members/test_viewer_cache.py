"""The viewers the authenticator keeps in memory (members/authentication.py): a change to who a
key stands for counts at the next request in every process, whoever made it (the API, the
command line, SQL by hand), on the REST API and TAXII alike. What may not pass comes first;
then that a known key costs one statement.

Two apps on one database stand for two server processes: they share nothing but the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, select, text, update

from shieldwall.app import create_app
from shieldwall.members import service
from shieldwall.members.tables import api_keys, auth_generation, sharing_group_members, users
from shieldwall.policy import Role
from shieldwall.settings import Settings
from tests.factories import ApiUser, World
from tests.test_cli import run

TAXII = {"Accept": "application/taxii+json;version=2.1"}


@pytest.fixture
def other(database_url: str) -> Iterator[TestClient]:
    """A second server process on the same database."""
    app = create_app(Settings(database_url=database_url, warninglists="none", validation_workers=0))
    with TestClient(app) as client:
        yield client


def _me(client: TestClient, user: ApiUser) -> Any:
    return client.get("/api/v1/me", headers=user.headers)


def _taxii(client: TestClient, user: ApiUser) -> int:
    return client.get("/taxii2/", headers={**TAXII, **user.headers}).status_code


def _known_everywhere(world: World, other: TestClient, user: ApiUser) -> None:
    """Both processes have authenticated the key (and so keep its viewer)."""
    assert _me(world.client, user).status_code == 200
    assert _me(other, user).status_code == 200
    assert _taxii(world.client, user) == 200
    assert _taxii(other, user) == 200


# --- may NOT -----------------------------------------------------------------------------------


def test_a_key_revoked_through_the_api_is_refused_at_once_by_every_process(
    world: World, other: TestClient
) -> None:
    analyst = world.user(world.member())
    _known_everywhere(world, other, analyst)
    assert analyst.delete(f"/api/v1/api-keys/{analyst.key[:11]}").status_code == 200
    assert _me(other, analyst).status_code == 401
    assert _taxii(other, analyst) == 401
    assert _me(world.client, analyst).status_code == 401


def test_a_key_revoked_by_the_command_line_is_refused_at_once(
    world: World, other: TestClient, database_url: str
) -> None:
    analyst = world.user(world.member())
    _known_everywhere(world, other, analyst)
    run("user", "key", "revoke", analyst.key[:11], database_url=database_url)  # a third process
    assert _me(world.client, analyst).status_code == 401
    assert _taxii(other, analyst) == 401


def test_a_key_revoked_by_sql_by_hand_is_refused_at_once(world: World, other: TestClient) -> None:
    analyst = world.user(world.member())
    _known_everywhere(world, other, analyst)
    with world.db.write() as conn:
        conn.execute(update(api_keys).where(api_keys.c.user_id == analyst.user_id)
                     .values(revoked_at="2026-01-01T00:00:00.000000Z"))  # fmt: skip
    assert _me(world.client, analyst).status_code == 401
    assert _me(other, analyst).status_code == 401


def test_a_disabled_user_is_refused_at_once(world: World, other: TestClient) -> None:
    analyst = world.user(world.member())
    _known_everywhere(world, other, analyst)
    with world.db.write() as conn:
        service.set_user_disabled(conn, analyst.user_id, True)
    assert _me(other, analyst).status_code == 401
    assert _taxii(world.client, analyst) == 401


def test_a_key_that_expires_while_kept_is_refused_without_any_write(
    world: World, other: TestClient
) -> None:
    analyst = world.user(world.member())
    # Seconds ahead: the key must still be good while both apps learn it, on a busy machine too.
    soon = (datetime.now(UTC) + timedelta(seconds=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    issued = analyst.post(f"/api/v1/users/{analyst.user_id}/api-keys",
                          json={"name": "brief", "expires_at": soon})  # fmt: skip
    assert issued.status_code == 201, issued.text
    brief = ApiUser(world.client, analyst.user_id, analyst.member_id, issued.json()["api_key"])
    _known_everywhere(world, other, brief)
    time.sleep(max(0.0, (datetime.fromisoformat(soon) - datetime.now(UTC)).total_seconds()) + 0.1)
    assert _me(world.client, brief).status_code == 401
    assert _taxii(other, brief) == 401


def test_a_demoted_admin_loses_admin_rights_at_once(world: World, other: TestClient) -> None:
    admin = world.admin()
    assert other.get("/api/v1/members", headers=admin.headers).status_code == 200
    assert _me(other, admin).json()["role"] == "admin"
    with world.db.write() as conn:
        service.set_user_role(conn, admin.user_id, Role.READER)
    assert _me(other, admin).json()["role"] == "reader"
    refused = other.post("/api/v1/members", headers=admin.headers,
                         json={"name": "Not made", "kind": "industry"})  # fmt: skip
    assert refused.status_code == 403


def test_a_member_taken_out_of_a_sharing_group_loses_it_at_once(
    world: World, other: TestClient
) -> None:
    mine, theirs = world.member(), world.member()
    group = world.group([theirs, mine])
    analyst = world.user(mine)
    _known_everywhere(world, other, analyst)
    assert _me(other, analyst).json()["sharing_group_ids"] == [group]
    with world.db.write() as conn:  # no route removes a member from a group yet: by hand
        conn.execute(delete(sharing_group_members).where(
            sharing_group_members.c.group_id == group, sharing_group_members.c.member_id == mine,
        ))  # fmt: skip
    assert _me(other, analyst).json()["sharing_group_ids"] == []
    assert _me(world.client, analyst).json()["sharing_group_ids"] == []


# --- may ---------------------------------------------------------------------------------------


def test_a_promoted_user_and_a_new_membership_count_at_once(
    world: World, other: TestClient
) -> None:
    mine, theirs = world.member(), world.member()
    reader = world.user(mine, Role.READER)
    _known_everywhere(world, other, reader)
    group = world.group([theirs])
    with world.db.write() as conn:
        service.add_group_member(conn, group, mine)
        service.set_user_role(conn, reader.user_id, Role.ANALYST)
    seen = _me(other, reader).json()
    assert seen["role"] == "analyst"
    assert seen["sharing_group_ids"] == [group]


def test_every_change_to_who_a_key_stands_for_moves_the_generation(world: World) -> None:
    """The triggers of migration 0024, table by table (a table rebuilt by a later migration
    loses its triggers on SQLite: this fails then)."""
    member = world.member()
    analyst = world.user(member)

    def generation() -> int:
        with world.db.read() as conn:
            return int(conn.scalar(select(auth_generation.c.generation)))

    changes = [
        lambda conn: service.create_member(conn, "Moved Co", "industry"),
        lambda conn: conn.execute(text("UPDATE members SET kind = 'peer' WHERE name = 'Moved Co'")),
        lambda conn: service.create_group(conn, "Moved group", member, [member]),
        lambda conn: service.set_user_role(conn, analyst.user_id, Role.READER),
        lambda conn: conn.execute(update(api_keys).where(api_keys.c.user_id == analyst.user_id)
                                  .values(expires_at="2999-01-01T00:00:00.000000Z")),
        lambda conn: conn.execute(delete(api_keys).where(api_keys.c.user_id == analyst.user_id)),
        lambda conn: conn.execute(delete(users).where(users.c.id == analyst.user_id)),
    ]  # fmt: skip
    for change in changes:
        before = generation()
        with world.db.write() as conn:
            change(conn)
        assert generation() > before


def test_a_known_key_costs_one_statement_and_its_last_use_is_still_kept(
    world: World, app: Any
) -> None:
    analyst = world.user(world.member())
    authenticator = app.state.authenticator
    first = authenticator.viewer_for(analyst.key, "192.0.2.1")
    statements: list[str] = []

    here = threading.get_ident()  # the app's background jobs share the engine

    def count(conn, cursor, statement, *_: Any) -> None:  # type: ignore[no-untyped-def]
        if threading.get_ident() == here and statement != "BEGIN":  # SQLite's, db.py's
            statements.append(statement)

    event.listen(world.db.engine, "before_cursor_execute", count)
    try:
        again = authenticator.viewer_for(analyst.key, "192.0.2.1")
    finally:
        event.remove(world.db.engine, "before_cursor_execute", count)
    assert again == first
    assert len(statements) == 1, statements
    authenticator.flush()
    with world.db.read() as conn:
        used = conn.scalar(select(api_keys.c.last_used_at)
                           .where(api_keys.c.user_id == analyst.user_id))  # fmt: skip
    assert used is not None
