"""The collections' definitions each process keeps in memory (taxii/collections.py,
KnownCollections): a collection changed or removed, a selection narrowed, a peer's rule changed
or a member taken out of a sharing group counts at the next request in every process, whoever
made the change (the API, the command line, another process, SQL by hand). What may not pass
comes first; then that a known collection costs no statement of its own, and migration 0025.

Two apps on one database stand for two server processes; a third engine writing by hand for
any other program on the database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, select, text, update

import shieldwall.db
from shieldwall.app import create_app
from shieldwall.db import Database
from shieldwall.federation.peers import add_peer
from shieldwall.federation.tables import peers
from shieldwall.markings import TLP
from shieldwall.members.tables import auth_generation, members, sharing_group_members
from shieldwall.policy import Role
from shieldwall.selections.tables import selections
from shieldwall.settings import Settings
from shieldwall.taxii.collections import FEDERATION_COLLECTION_ID
from shieldwall.taxii.tables import taxii_collections
from tests.factories import ApiUser, World, indicator, marked, stix_id
from tests.taxii.helpers import ROOT, TAXII, create_collection
from tests.test_cli import run


@pytest.fixture
def other(database_url: str) -> Iterator[TestClient]:
    """A second server process on the same database."""
    app = create_app(Settings(database_url=database_url, warninglists="none", validation_workers=0))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def by_hand(database_url: str) -> Iterator[Database]:
    """Any other program writing to the database: an engine of its own."""
    database = Database(database_url)
    yield database
    database.dispose()


def _get(client: TestClient, user: ApiUser, path: str) -> Any:
    return client.get(ROOT + path, headers={**user.headers, "Accept": TAXII})


def _ids(client: TestClient, user: ApiUser, collection: str) -> set[str]:
    answer = _get(client, user, f"/collections/{collection}/objects/")
    assert answer.status_code == 200, answer.text
    return {o["id"] for o in answer.json().get("objects", [])}


def _status(client: TestClient, user: ApiUser, collection: str) -> tuple[int, int]:
    """The collection resource's status and its objects' status, as `user` asks `client`."""
    return (
        _get(client, user, f"/collections/{collection}/").status_code,
        _get(client, user, f"/collections/{collection}/objects/").status_code,
    )


def _malware(**marking: Any) -> dict[str, Any]:
    obj = {"type": "malware", "spec_version": "2.1", "id": stix_id("malware"),
           "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
           "name": "Kept malware", "is_family": False}  # fmt: skip
    return marked(obj, **marking)


def _everywhere(world: World, other: TestClient) -> tuple[TestClient, TestClient]:
    return world.client, other


# --- may NOT -----------------------------------------------------------------------------------


def test_a_collection_removed_by_another_program_is_not_found_at_once_in_every_process(
    world: World, other: TestClient, by_hand: Database
) -> None:
    admin = world.admin()
    reader = world.user(world.member(), Role.READER)
    collection = create_collection(admin, "Going")
    for client in _everywhere(world, other):
        assert _status(client, reader, collection) == (200, 200)  # kept by both
    with by_hand.write() as conn:
        selection_id = conn.scalar(select(taxii_collections.c.selection_id)
                                   .where(taxii_collections.c.id == collection))  # fmt: skip
        conn.execute(delete(taxii_collections).where(taxii_collections.c.id == collection))
        conn.execute(delete(selections).where(selections.c.id == selection_id))
    for client in _everywhere(world, other):
        assert _status(client, reader, collection) == (404, 404)
        assert _status(client, admin, collection) == (404, 404)


def test_a_narrowed_selection_stops_serving_what_it_leaves_out_at_once(
    world: World, other: TestClient, by_hand: Database
) -> None:
    admin = world.admin()
    sharer = world.user(world.member())
    reader = world.user(world.member(), Role.READER)
    green = indicator("198.51.100.11", tlp="green")
    amber = indicator("198.51.100.12", tlp="amber")
    malware = _malware(tlp="green")
    assert sharer.share(green, amber, malware).status_code == 201
    collection = create_collection(admin, "Narrowed", types=["indicator", "malware"],
                                   max_tlp="amber")  # fmt: skip
    for client in _everywhere(world, other):
        assert _ids(client, reader, collection) == {green["id"], amber["id"], malware["id"]}
    chosen = select(taxii_collections.c.selection_id).where(taxii_collections.c.id == collection)
    with by_hand.write() as conn:
        conn.execute(update(selections).where(selections.c.id == chosen.scalar_subquery())
                     .values(max_tlp=int(TLP.GREEN)))  # fmt: skip
    for client in _everywhere(world, other):
        assert _ids(client, reader, collection) == {green["id"], malware["id"]}
    with by_hand.write() as conn:
        conn.execute(update(selections).where(selections.c.id == chosen.scalar_subquery())
                     .values(types='["indicator"]'))  # fmt: skip
    for client in _everywhere(world, other):
        assert _ids(client, reader, collection) == {green["id"]}


def test_a_member_taken_out_of_a_sharing_group_no_longer_finds_its_collection(
    world: World, other: TestClient, by_hand: Database
) -> None:
    mine, theirs = world.member(), world.member()
    group = world.group([theirs, mine])
    reader = world.user(mine, Role.READER)
    collection = create_collection(world.admin(), "Group only", sharing_group=group)
    for client in _everywhere(world, other):
        assert _status(client, reader, collection) == (200, 200)
    with by_hand.write() as conn:
        conn.execute(delete(sharing_group_members).where(
            sharing_group_members.c.group_id == group, sharing_group_members.c.member_id == mine,
        ))  # fmt: skip
    for client in _everywhere(world, other):
        assert _status(client, reader, collection) == (404, 404)  # not 403: never told it exists
        listed = _get(client, reader, "/collections/").json()["collections"]
        assert collection not in {c["id"] for c in listed}


def test_a_collection_moved_to_a_group_is_not_found_by_others_at_once(
    world: World, other: TestClient, by_hand: Database
) -> None:
    """A collection re-pointed at another selection (one limited to a group)."""
    admin = world.admin()
    inside, outside = world.member(), world.member()
    group = world.group([inside])
    member_reader, other_reader = world.user(inside, Role.READER), world.user(outside, Role.READER)
    collection = create_collection(admin, "Open")
    limited = create_collection(admin, "Limited", sharing_group=group)
    for client in _everywhere(world, other):
        assert _status(client, other_reader, collection) == (200, 200)
    with by_hand.write() as conn:
        limited_selection = conn.scalar(select(taxii_collections.c.selection_id)
                                        .where(taxii_collections.c.id == limited))  # fmt: skip
        conn.execute(update(taxii_collections).where(taxii_collections.c.id == collection)
                     .values(selection_id=limited_selection, title="Now limited"))  # fmt: skip
    for client in _everywhere(world, other):
        assert _status(client, other_reader, collection) == (404, 404)
        found = _get(client, member_reader, f"/collections/{collection}/")
        assert found.json()["title"] == "Now limited"


def test_a_peer_rule_narrowed_stops_serving_at_once(
    world: World, other: TestClient, by_hand: Database
) -> None:
    with world.db.write() as conn:
        peer = add_peer(conn, "Peer instance", url="https://peer.example/taxii2/api/",
                        user="us@peer.example", key="their-key",
                        types=("indicator", "malware"))  # fmt: skip
    account = world.user(peer.member_id, Role.READER)
    sharer = world.user(world.member())
    shared = indicator("198.51.100.21", tlp="green", distribution="all")
    malware = _malware(tlp="green", distribution="all")
    assert sharer.share(shared, malware).status_code == 201
    for client in _everywhere(world, other):
        assert _ids(client, account, FEDERATION_COLLECTION_ID) == {shared["id"], malware["id"]}
    rule = select(peers.c.selection_id).where(peers.c.member_id == peer.member_id)
    with by_hand.write() as conn:
        conn.execute(update(selections).where(selections.c.id == rule.scalar_subquery())
                     .values(types='["malware"]'))  # fmt: skip
    for client in _everywhere(world, other):
        assert _ids(client, account, FEDERATION_COLLECTION_ID) == {malware["id"]}
    with by_hand.write() as conn:  # a rule of its own: a selection made for it, then chosen
        conn.execute(text(
            "INSERT INTO selections (id, name, types, labels, member_kinds, created_at) VALUES "
            "('00000000-0000-4000-8000-000000000025', 'Nothing', '[\"note\"]', '[]', '[]', "
            "'2026-01-01T00:00:00.000000Z')"
        ))  # fmt: skip
        conn.execute(update(peers).where(peers.c.member_id == peer.member_id)
                     .values(selection_id="00000000-0000-4000-8000-000000000025"))  # fmt: skip
    for client in _everywhere(world, other):
        assert _ids(client, account, FEDERATION_COLLECTION_ID) == set()


# --- may ---------------------------------------------------------------------------------------


def test_a_changed_collection_and_a_renamed_inbox_are_seen_at_once(
    world: World, other: TestClient, by_hand: Database
) -> None:
    admin = world.admin()
    member = world.member("Old Name Co")
    reader = world.user(member, Role.READER)
    collection = create_collection(admin, "Before")
    inbox = _get(world.client, reader, "/collections/").json()["collections"][0]["id"]
    for client in _everywhere(world, other):
        assert _get(client, reader, f"/collections/{collection}/").json()["title"] == "Before"
        assert _get(client, reader, f"/collections/{inbox}/").json()["title"] == (
            "Old Name Co inbox"
        )
    with by_hand.write() as conn:
        conn.execute(update(taxii_collections).where(taxii_collections.c.id == collection)
                     .values(title="After"))  # fmt: skip
        conn.execute(update(members).where(members.c.id == member).values(name="New Name Co"))
    for client in _everywhere(world, other):
        assert _get(client, reader, f"/collections/{collection}/").json()["title"] == "After"
        assert _get(client, reader, f"/collections/{inbox}/").json()["title"] == (
            "New Name Co inbox"
        )


def test_a_collection_added_through_the_api_or_the_command_line_is_found_at_once(
    world: World, other: TestClient, database_url: str
) -> None:
    reader = world.user(world.member(), Role.READER)
    assert _get(other, reader, "/collections/").status_code == 200
    by_api = create_collection(world.admin(), "By the API")
    by_cli = run("collection", "add", "By the CLI", database_url=database_url).stdout.strip()
    for client in _everywhere(world, other):
        for collection in (by_api, by_cli):
            assert _status(client, reader, collection) == (200, 200)


def test_a_known_collection_costs_no_statement_of_its_own(world: World) -> None:
    """A request reads auth_generation once (authentication's statement) and the collection's
    definition not at all once it is kept: two statements, authentication's and the page's."""
    admin = world.admin()
    reader = world.user(world.member(), Role.READER)
    collection = create_collection(admin, "Kept", types=["indicator"])
    assert _status(world.client, reader, collection) == (200, 200)
    statements: list[str] = []
    lock = threading.Lock()

    def count(conn, cursor, statement, *_: Any) -> None:  # type: ignore[no-untyped-def]
        with lock:
            statements.append(statement)

    event.listen(world.db.engine, "before_cursor_execute", count)
    try:
        assert _get(world.client, reader, f"/collections/{collection}/objects/").status_code == 200
    finally:
        event.remove(world.db.engine, "before_cursor_execute", count)
    generation_reads = [s for s in statements if "auth_generation" in s]
    assert len(generation_reads) == 1, statements
    assert not [s for s in statements if "taxii_collections" in s or "FROM selections" in s]


def test_every_change_to_what_a_collection_is_moves_the_generation(world: World) -> None:
    """The triggers of migration 0025, table by table and event by event (a table rebuilt by a
    later migration loses its triggers on SQLite: this fails then)."""
    admin = world.admin()
    collection = create_collection(admin, "Watched")
    with world.db.write() as conn:
        peer = add_peer(conn, "Watched peer", url="https://peer.example/taxii2/api/",
                        user="us@peer.example", key="their-key", types=("indicator",))  # fmt: skip
    spare = world.member("Spare peer", kind="peer")

    def generation() -> int:
        with world.db.read() as conn:
            return int(conn.scalar(select(auth_generation.c.generation)))

    changes = [
        lambda conn: conn.execute(update(taxii_collections).values(title="Moved")),
        lambda conn: conn.execute(update(selections).values(labels='["x"]')),
        lambda conn: conn.execute(update(peers).where(peers.c.id == peer.id)
                                  .values(member_id=spare)),
        lambda conn: conn.execute(update(peers).where(peers.c.id == peer.id)
                                  .values(selection_id=None)),
        lambda conn: conn.execute(delete(peers)),
        lambda conn: add_peer(conn, "Another peer", url="https://other.example/taxii2/api/",
                              user="us@other.example", key="their-key"),
        lambda conn: conn.execute(delete(taxii_collections)
                                  .where(taxii_collections.c.id == collection)),
        lambda conn: conn.execute(delete(selections).where(selections.c.name.like("TAXII%"))),
    ]  # fmt: skip
    for change in changes:
        before = generation()
        with world.db.write() as conn:
            change(conn)
        assert generation() > before
    before = generation()
    with world.db.write() as conn:  # a sync round's bookkeeping changes no definition
        conn.execute(update(peers).values(last_sync_at="2026-01-01T00:00:00.000000Z",
                                          push_after_pk=7, last_error=None))  # fmt: skip
    assert generation() == before


def test_migration_0025_goes_down_and_up(world: World, app: Any, database_url: str) -> None:
    """Down to 0024 the triggers are gone (a change to a collection moves nothing), and back up
    they move the counter again; what was stored is kept."""
    collection = create_collection(world.admin(), "Through the migration")
    app.state.scheduler.close()  # its jobs would hold connections the downgrade waits for
    world.db.dispose()

    def changed(title: str) -> bool:
        database = Database(database_url)
        try:
            with database.read() as conn:
                before = conn.scalar(select(auth_generation.c.generation))
            with database.write() as conn:
                conn.execute(update(taxii_collections).values(title=title))
            with database.read() as conn:
                return bool(conn.scalar(select(auth_generation.c.generation)) != before)
        finally:
            database.dispose()

    shieldwall.db.alembic(database_url, "downgrade", "0024")
    assert not changed("Down")
    shieldwall.db.alembic(database_url, "upgrade", "head")
    assert changed("Up")
    with world.db.read() as conn:
        assert conn.scalar(select(taxii_collections.c.title)
                           .where(taxii_collections.c.id == collection)) == "Up"  # fmt: skip
