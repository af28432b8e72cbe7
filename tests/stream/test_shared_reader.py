"""One reader serves every subscriber of a process (stream/reader.py), reading each piece of the
change log once and filtering it per subscriber in memory. What each subscriber is told must be
exactly what a reader of its own gets through the SQL policy (policy.visible_filter,
correlate.new_correlations): tested on random worlds of members, a sharing group with a peer in
it, every TLP and distribution, new versions that narrow or widen, ranges and values common
enough to be noisy for some viewers and not for others, with subscribers reading interleaved,
in small pieces, across chunk boundaries and from behind the kept tail."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shieldwall.app import create_app
from shieldwall.correlate.index import CONTAINER_TYPES
from shieldwall.correlate.new_links import new_correlations
from shieldwall.intel.tables import change_log, objects
from shieldwall.members.service import viewer_for_user
from shieldwall.members.tables import sharing_groups
from shieldwall.policy import Role, Viewer, visible_filter
from shieldwall.settings import Settings
from shieldwall.stream import reader as reader_module
from shieldwall.stream.events import Event, Filters, Position
from shieldwall.stream.reader import ChangeReader
from tests.factories import ApiUser, World, indicator, marked

NOISY = 3  # a value held by more visible objects than this links nothing, for that viewer
TLPS = ["clear", "green", "amber", "amber+strict", "red"]
DISTRIBUTIONS = ["org", "community", "federation", "all", "group"]
VALUES = [f"203.0.113.{i}" for i in range(1, 7)]
RANGES = ["203.0.113.0/29", "198.51.100.0/24"]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    settings = Settings(database_url=database_url, warninglists="none", validation_workers=0)
    app = create_app(settings)
    with TestClient(app) as client:
        yield World(app.state.db, client)


def _build(world: World, rng: random.Random) -> dict[str, ApiUser]:
    """Members A, B, C, a peer instance P; group AB and group AP (with the peer); objects
    shared by A, B and C at random markings, some in bundles, some as new versions."""
    a, b, c = world.member("A"), world.member("B"), world.member("C")
    p = world.member("P", kind="peer")
    groups = {"AB": world.group([a, b], "AB"), "AP": world.group([a, p], "AP")}
    users = {
        "A": world.user(a), "B": world.user(b), "C": world.user(c), "P": world.user(p),
        "admin": world.admin(), "A-reader": world.user(a, Role.READER),
    }  # fmt: skip
    sharers = {"A": ["AB", "AP"], "B": ["AB"], "C": []}
    shared: list[tuple[str, dict[str, Any]]] = []
    for _ in range(14):
        sharer = rng.choice(list(sharers))
        bundle = []
        for _ in range(rng.randint(1, 4)):
            if shared and rng.random() < 0.25:  # a new version of something shared before
                owner, earlier = rng.choice(shared)
                if owner != sharer:
                    continue
                obj = {**earlier, "modified": f"2026-02-{rng.randint(1, 28):02d}T10:00:00.000Z"}
                obj.pop("object_marking_refs", None)
                obj.pop("extensions", None)
            else:
                obj = indicator(rng.choice(VALUES + RANGES))
            distribution = rng.choice(DISTRIBUTIONS)
            group = None
            if distribution == "group":
                if not sharers[sharer]:
                    distribution = "community"
                else:
                    group = groups[rng.choice(sharers[sharer])]
            obj = marked(obj, tlp=rng.choice(TLPS), distribution=distribution, group=group)
            if any(o["id"] == obj["id"] for o in bundle):
                continue
            bundle.append(obj)
        if not bundle:
            continue
        answer = users[sharer].share(*bundle)
        if answer.status_code == 201:  # a marking ingest refuses (red to the community...)
            shared += [(sharer, o) for o in bundle]
    return users


def _expected(world: World, viewer: Viewer) -> list[tuple[str, str, Any]]:
    """What a reader of its own would tell `viewer`, through the SQL policy."""
    found: list[tuple[str, str, Any]] = []
    with world.db.read() as conn:
        entries = conn.execute(select(change_log).order_by(change_log.c.seq)).all()
        for entry in entries:
            if entry.action not in ("ingest", "identity") or entry.first_pk is None:
                continue
            rows = conn.execute(
                select(objects)
                .where(
                    objects.c.pk.between(entry.first_pk, entry.last_pk),
                    visible_filter(viewer, objects),
                )
                .order_by(objects.c.pk)
            ).all()
            linkable = [
                (r.pk, r.object_id, r.body) for r in rows
                if not r.revoked and r.type != "sighting" and r.type not in CONTAINER_TYPES
            ]  # fmt: skip
            linked = new_correlations(conn, viewer, linkable, noisy_threshold=NOISY)
            for r in rows:
                earlier = conn.scalar(
                    select(objects.c.pk).where(
                        objects.c.object_id == r.object_id,
                        objects.c.pk < r.pk,
                        visible_filter(viewer, objects),
                    ).limit(1)
                )  # fmt: skip
                kind = "revoked" if r.revoked else "version" if earlier else "object"
                if r.type == "sighting":
                    kind = "sighting"
                at = f"{entry.seq}.{r.pk}"
                found.append((at, kind, r.object_id))
                if r.pk in linked:
                    found.append((at, "correlation", tuple(d["id"] for d in linked[r.pk])))
    return found


def _told(events: list[Event]) -> list[tuple[str, str, Any]]:
    return [
        (str(e.position), e.kind,
         tuple(d["id"] for d in e.data["correlated_with"]) if e.kind == "correlation"
         else e.data["id"])
        for e in events
    ]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_subscriber_is_told_what_its_own_reader_would_tell_it(
    world: World, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    # Chunks of 3 versions and a tail of 4 entries, so that reads cross chunk boundaries and
    # subscribers start behind the tail and catch up into it.
    monkeypatch.setattr(reader_module, "CHUNK_PKS", 3)
    monkeypatch.setattr(reader_module, "TAIL_ENTRIES", 4)
    reader = ChangeReader(world.db)
    reader.read(Viewer("u", "nobody", Role.READER), Position(0), Filters(), 1)  # tail from here
    users = _build(world, rng)
    with world.db.read() as conn:
        viewers = {name: viewer_for_user(conn, u.user_id) for name, u in users.items()}
    filters = Filters(noisy_threshold=NOISY)
    told: dict[str, list[Event]] = {name: [] for name in viewers}
    at = dict.fromkeys(viewers, Position(0))
    done: set[str] = set()
    while len(done) < len(viewers):  # every subscriber a few events at a time, interleaved
        for name, viewer in viewers.items():
            if name in done:
                continue
            got, now = reader.read(viewer, at[name], filters, rng.randint(1, 5))
            told[name] += got
            if not got and now == at[name]:
                done.add(name)
            at[name] = now
    # Negative first: nobody is told of a version it may not see, not even its id.
    rows = _rows(world)
    group_of = {g: name for name, g in _groups(world).items()}
    for name, hidden in {
        "C": [r for r in rows if r.member_id != viewers["C"].member_id
              and r.distribution in ("org", "group")],
        "admin": [r for r in rows if r.distribution in ("org", "group")],
        "P": [r for r in rows if r.distribution in ("org", "community")
              or (r.distribution == "group" and group_of[r.sharing_group_id] == "AB")],
        "B": [r for r in rows if r.member_id != viewers["B"].member_id and (
              r.distribution == "org"
              or (r.distribution == "group" and group_of[r.sharing_group_id] == "AP"))],
    }.items():  # fmt: skip
        told_pks = {e.position.sub for e in told[name]}
        assert not told_pks & {r.pk for r in hidden}, name
    for name, viewer in viewers.items():
        assert _told(told[name]) == _expected(world, viewer), name
    assert any(e.kind == "correlation" for e in told["A"])


def _rows(world: World) -> list[Any]:
    with world.db.read() as conn:
        return conn.execute(select(objects).where(objects.c.type == "indicator")).all()


def _groups(world: World) -> dict[str, str]:
    with world.db.read() as conn:
        return dict(conn.execute(select(sharing_groups.c.name, sharing_groups.c.id)).all())
