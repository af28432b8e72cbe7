"""The scoped full-text index (search/tables.py, migration 0019): a search reads the postings of
the scopes its viewer may see and nothing else, so no answer, count or time depends on objects
the viewer may not see. The "may NOT" cases come first; every test runs on SQLite (FTS5) and
PostgreSQL (tsvector).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from shieldwall.intel.ingest import ingestor_for
from shieldwall.intel.removal import remove_versions
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP, Distribution
from shieldwall.members.service import viewer_for_user
from shieldwall.operations.consistency import ConsistencyReport, check
from shieldwall.policy import Role, Viewer, visible_filter
from shieldwall.search.service import tsquery_lexeme, visible_scopes
from shieldwall.search.tables import FTS_WORDS, PG_WORDS, scoped_word, search_scopes
from shieldwall.settings import Settings
from tests.factories import ApiUser, World, indicator
from tests.search.test_search import _alembic, search


def described(text: str, value: str, **marking: Any) -> dict[str, Any]:
    return indicator(value, **marking) | {"description": text}


def _viewer(world: World, user: ApiUser) -> Viewer:
    with world.db.read() as conn:
        return viewer_for_user(conn, user.user_id)


def _engine_matches(conn: Connection, sqlite: bool, scopes: list[int], word: str) -> int:
    """How many documents the full-text engine itself yields for `word` in `scopes`, before any
    join or policy filter: what a search walks."""
    if not scopes:
        return 0
    if sqlite:
        expression = " OR ".join(f'"{scoped_word(s, word)}"' for s in scopes)
        match = literal_column(FTS_WORDS.name).op("MATCH")(expression)
        return conn.scalar(select(func.count()).select_from(FTS_WORDS).where(match)) or 0
    expression = " | ".join(tsquery_lexeme(scoped_word(s, word)) for s in scopes)
    match = PG_WORDS.c.tsv.op("@@")(cast(literal(expression), TSQUERY))
    return conn.scalar(select(func.count()).select_from(PG_WORDS).where(match)) or 0


def _check(world: World) -> ConsistencyReport:
    settings = Settings(database_url=world.db.url, warninglists="none", validation_workers=0)
    ingestor = ingestor_for(world.db, settings)
    try:
        return check(world.db, ingestor.indexes)
    finally:
        ingestor.close()


# --- who may NOT see ---------------------------------------------------------------------------


def test_the_engine_never_walks_what_the_viewer_may_not_see(world: World) -> None:
    """Another member's org-only, TLP:RED group and other-group objects holding a word: the
    viewer's scopes hold none of them, so the engine yields nothing for it, not even a count."""
    a, b, c = world.member(), world.member(), world.member()
    ours, theirs = world.group([a, b]), world.group([a, c])
    alice, bob = world.user(a), world.user(b, Role.READER)
    hidden = [
        described("Numbat beacon", "192.0.2.11", tlp="amber", distribution="org"),
        described("Numbat beacon", "192.0.2.12", tlp="red", distribution="org"),
        described("Numbat beacon", "192.0.2.13", tlp="green", distribution="group", group=theirs),
        described("Numbat beacon", "192.0.2.14", tlp="red", distribution="group", group=theirs),
    ]
    assert alice.share(*hidden).status_code == 201
    sqlite = world.db.is_sqlite
    bobs = visible_scopes(world.db, _viewer(world, bob))
    with world.db.read() as conn:
        assert _engine_matches(conn, sqlite, bobs, "numbat") == 0
        everyone = list(conn.scalars(select(search_scopes.c.id)))
        assert _engine_matches(conn, sqlite, everyone, "numbat") == len(hidden)
    assert not set(bobs) & set(everyone)  # none of them is a scope Bob may see
    assert search(bob, "numbat") == []
    assert search(bob, "numb*") == []
    # A RED object in Bob's own group is his to find, and only it.
    red = described("Numbat beacon", "192.0.2.15", tlp="red", distribution="group", group=ours)
    assert alice.share(red).status_code == 201
    bobs = visible_scopes(world.db, _viewer(world, bob))
    with world.db.read() as conn:
        assert _engine_matches(conn, sqlite, bobs, "numbat") == 1
    assert search(bob, "numbat") == [red["id"]]
    assert search(alice, "numbat") == [o["id"] for o in (*hidden, red)]


def test_a_peer_finds_only_what_may_leave_towards_it(world: World) -> None:
    a = world.member()
    alice, peer = world.user(a), world.user(world.member(kind="peer"), Role.READER)
    community = described("Dingo relay", "192.0.2.21", tlp="green", distribution="community")
    federation = described("Dingo relay", "192.0.2.22", tlp="green", distribution="federation")
    assert alice.share(community, federation).status_code == 201
    sqlite = world.db.is_sqlite
    scopes = visible_scopes(world.db, _viewer(world, peer))
    with world.db.read() as conn:
        assert _engine_matches(conn, sqlite, scopes, "dingo") == 1
    assert search(peer, "dingo") == [federation["id"]]


def test_a_narrowed_object_leaves_its_old_scope(world: World) -> None:
    """Objects' visibility columns changed in place (as a migration narrowing old rows does):
    the index follows, and a reader who may no longer see an object no longer finds it."""
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b, Role.READER)
    shared = described("Quoll wiper", "192.0.2.31", tlp="green", distribution="community")
    assert alice.share(shared).status_code == 201
    assert search(bob, "quoll") == [shared["id"]]
    with world.db.write() as conn:
        conn.execute(
            update(objects)
            .where(objects.c.object_id == shared["id"])
            .values(distribution="org", tlp=4)
        )
    assert search(bob, "quoll") == []
    sqlite = world.db.is_sqlite
    with world.db.read() as conn:
        assert _engine_matches(conn, sqlite, visible_scopes(world.db, _viewer(world, bob)),
                               "quoll") == 0  # fmt: skip
    assert search(alice, "quoll") == [shared["id"]]
    assert _check(world).ok
    # ... and widened again, it is found again.
    with world.db.write() as conn:
        conn.execute(
            update(objects)
            .where(objects.c.object_id == shared["id"])
            .values(distribution="community", tlp=1)
        )
    assert search(bob, "quoll") == [shared["id"]]
    assert _check(world).ok


def test_an_object_is_visible_exactly_when_one_of_its_two_scopes_is(world: World) -> None:
    """What the split index rests on: policy.visible_filter of an object's row is the filter of
    its owner scope OR of its audience scope, for members, group members and peers, over every
    marking and distribution (search/tables.py)."""
    mine, other, g1, g2 = "m-mine", "m-other", "g-one", "g-two"
    rows = [
        (member, d.value, int(tlp), group)
        for member in (mine, other)
        for d in Distribution
        for tlp in TLP
        for group in ("", g1, g2)
    ]
    table = Table(
        "scope_rows", MetaData(), Column("n", Integer), Column("member_id", String),
        Column("distribution", String), Column("tlp", Integer),
        Column("sharing_group_id", String), prefixes=["TEMPORARY"],
    )  # fmt: skip
    parts = [
        {"n": 3 * n + part, **dict(zip(("member_id", "distribution", "tlp", "sharing_group_id"),
                                       row, strict=True))}
        for n, full in enumerate(rows)
        for part, row in enumerate((full, (full[0], "", 0, ""), ("", *full[1:])))
    ]  # fmt: skip
    viewers = [
        Viewer("u", mine, Role.READER),
        Viewer("u", mine, Role.READER, frozenset({g1})),
        Viewer("u", mine, Role.ADMIN, frozenset({g1, g2})),
        Viewer("u", mine, Role.READER, frozenset({g2}), peer=True),
    ]
    with world.db.write() as conn:
        table.create(conn)
        try:
            conn.execute(table.insert(), parts)
            for viewer in viewers:
                seen = set(conn.scalars(select(table.c.n).where(visible_filter(viewer, table))))
                for n in range(len(rows)):
                    whole, owner, audience = (3 * n + part in seen for part in range(3))
                    assert whole == (owner or audience), (viewer, rows[n])
        finally:
            table.drop(conn)


# --- who may -----------------------------------------------------------------------------------


def test_removal_and_erasure_keep_the_index_in_step(world: World) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b, Role.READER)
    kept = described("Bilby stealer", "192.0.2.41", tlp="green", distribution="community")
    gone = described("Bilby stealer", "192.0.2.42", tlp="green", distribution="community")
    named = described("Bilby stealer, ask bilby@victim.example", "192.0.2.43", tlp="green",
                      distribution="community")  # fmt: skip
    assert alice.share(kept, gone, named).status_code == 201
    assert search(bob, "bilby") == [kept["id"], gone["id"], named["id"]]
    with world.db.write() as conn:
        pk = conn.scalar(select(objects.c.pk).where(objects.c.object_id == gone["id"]))
        remove_versions(conn, [pk], reason="test")
    erased = world.admin().post(
        "/api/v1/admin/privacy/erase",
        json={"value": "bilby@victim.example", "reason": "the victim asked us to"},
    )
    assert erased.status_code == 200, erased.text
    assert search(bob, "bilby") == [kept["id"], named["id"]]
    assert search(bob, "victim") == []
    report = _check(world)
    assert report.ok, report.problems


def test_a_broken_scoped_index_is_reported(world: World) -> None:
    alice = world.user(world.member())
    shared = described("Echidna loader", "192.0.2.51", tlp="green", distribution="community")
    assert alice.share(shared).status_code == 201
    assert _check(world).ok
    with world.db.write() as conn:
        if world.db.is_sqlite:  # the word of another scope, as a stale index would hold it
            conn.execute(text("UPDATE search_words SET doc = 's999xechidna' "))
        else:
            conn.execute(
                text("UPDATE search_words SET tsv = to_tsvector('simple', 's999xechidna')")
            )
    report = _check(world)
    assert not report.ok
    assert any("not indexed under its object's scope" in p for p in report.problems)


def test_a_write_of_known_and_new_scopes_is_indexed_whole(world: World) -> None:
    """The trigger indexes the documents whose scopes exist at once and creates the missing ones
    for the rest (migration 0026): one write holding both kinds has every document indexed."""
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b, Role.READER)
    first = described("Numbat beacon", "192.0.2.81", tlp="green", distribution="community")
    assert alice.share(first).status_code == 201
    known = described("Numbat beacon", "192.0.2.82", tlp="green", distribution="community")
    new = described("Numbat beacon", "192.0.2.83", tlp="amber", distribution="org")
    newer = described("Numbat beacon", "192.0.2.84", tlp="clear", distribution="all")
    assert alice.share(new, known, newer).status_code == 201
    assert search(alice, "numbat") == [first["id"], new["id"], known["id"], newer["id"]]
    assert search(bob, "numbat beac*") == [first["id"], known["id"], newer["id"]]
    report = _check(world)
    assert report.ok, report.problems


def test_many_scopes_one_search(world: World) -> None:
    """Twenty members, each sharing under several markings: a reader's search spans every scope
    it may see, with every word of the query and a prefix."""
    members = [world.member() for _ in range(20)]
    reader = world.user(world.member(), Role.READER)
    expected = []
    for n, member in enumerate(members):
        user = world.user(member)
        objects_ = [
            described(f"Kowari {n} tunnel", f"198.51.100.{n}", tlp="green", distribution="all"),
            described(f"Kowari {n} tunnel", f"198.51.101.{n}", tlp="amber"),
            described(f"Kowari {n} tunnel", f"198.51.102.{n}", tlp="amber", distribution="org"),
        ]
        assert user.share(*objects_).status_code == 201
        expected += [o["id"] for o in objects_[:2]]
    assert search(reader, "kowari tunnel") == expected
    assert search(reader, "tunnel kowa*", limit=7) == expected
    assert search(reader, "kowari 7") == expected[14:16]


def test_the_migration_indexes_what_was_stored_before_it(world: World, database_url: str) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b, Role.READER)
    hidden = described("Wallaroo packer", "192.0.2.61", tlp="amber", distribution="org")
    seen = described("Wallaroo packer", "192.0.2.62", tlp="green", distribution="community")
    assert alice.share(hidden, seen).status_code == 201
    world.db.dispose()
    _alembic(database_url, "downgrade", "0018")
    _alembic(database_url, "upgrade", "head")
    assert search(bob, "wallaroo") == [seen["id"]]
    assert search(alice, "wallaroo") == [hidden["id"], seen["id"]]
    report = _check(world)
    assert report.ok, report.problems


def test_the_words_migration_rebuilds_the_index_both_ways(world: World, database_url: str) -> None:
    """0026 (PostgreSQL): down, the words parsed again with their positions, as 0019's triggers
    wrote them; up, each scoped word one lexeme as it is. Searches and the check agree after."""
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b, Role.READER)
    hidden = described("Quokka Café packer", "192.0.2.71", tlp="amber", distribution="org")
    seen = described("Quokka Café packer", "192.0.2.72", tlp="green", distribution="community")
    assert alice.share(hidden, seen).status_code == 201
    postgresql = not world.db.is_sqlite
    stripped = "SELECT count(*) FROM search_words WHERE tsv = strip(tsv)"
    # How new TAXII status details are compressed: '' (the server's default, pglz) or 'l' (lz4).
    compression = (
        "SELECT attcompression FROM pg_attribute WHERE attrelid = 'taxii_statuses'::regclass "
        "AND attname = 'successes'"
    )
    lz4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    world.db.dispose()
    _alembic(database_url, "downgrade", "0025")
    if postgresql:
        with world.db.read() as conn:
            assert conn.scalar(text(stripped)) == 0  # 0019's form: every lexeme has positions
            assert conn.scalar(text("SELECT count(*) FROM search_words")) == 2
            assert conn.scalar(text(compression)) == ""
        world.db.dispose()
    _alembic(database_url, "upgrade", "head")
    if postgresql:
        with world.db.read() as conn:
            assert conn.scalar(text(stripped)) == 2
            assert conn.scalar(text(compression)) == ("l" if conn.scalar(text(lz4)) else "")
    assert search(bob, "quokka cafe") == [seen["id"]]
    assert search(alice, "café quok*") == [hidden["id"], seen["id"]]
    later = described("Quokka dropper", "192.0.2.73", tlp="green", distribution="community")
    assert alice.share(later).status_code == 201
    assert search(bob, "quokka") == [seen["id"], later["id"]]
    report = _check(world)
    assert report.ok, report.problems


def test_a_lexeme_is_one_lexeme_whatever_it_holds(world: World) -> None:
    """Our words are letters and digits, but the quoting must hold for any: a quote, a backslash
    or tsquery's operators in a word are that word, never syntax."""
    if world.db.is_sqlite:
        return
    words = ["it's", "back\\slash", "a & b", "x | !y", "'", "\\", "<->", "z:*", "q''q", "e\\'"]
    one = text("SELECT numnode(CAST(:q AS tsquery))")
    holds = text("SELECT array_to_tsvector(CAST(:words AS text[])) @@ CAST(:q AS tsquery)")
    with world.db.read() as conn:
        for word in words:
            for prefix in (False, True):
                q = tsquery_lexeme(word, prefix)
                assert conn.scalar(one, {"q": q}) == 1, word
                assert conn.scalar(holds, {"words": [word, "other"], "q": q}) is True, word
                assert conn.scalar(holds, {"words": [word[:-1] + "#"], "q": q}) is False, word
        prefix = tsquery_lexeme("it'", prefix=True)
        assert conn.scalar(holds, {"words": ["it's"], "q": prefix}) is True
        assert conn.scalar(holds, {"words": ["its"], "q": prefix}) is False
