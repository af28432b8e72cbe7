"""A sync that is cut off resumes where it stopped: a peer that goes down in the middle of a pull,
a puller killed with SIGKILL in the middle of one; nothing lost, nothing stored twice. And a
push reaches the peer as soon as something is written, without waiting for the schedule."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.factories import indicator
from tests.federation.instances import Instance, make_instance, pair, sharing_of

from shieldwall.db import Database
from shieldwall.intel.tables import objects
from shieldwall.members.tables import members

OBJECTS = 3000
PAGE = "200"  # 15 pages: room to cut a pull off in the middle


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    source = make_instance(tmp_path, "source", "national-cert")
    sink = make_instance(tmp_path, "sink", "industry", federation_page_size=PAGE)
    try:
        pair(source, sink)
        for start in range(0, OBJECTS, 1000):
            source.share(*[
                indicator(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", tlp="green",
                          distribution="all")
                for n in range(start, start + 1000)
            ])  # fmt: skip
        yield source, sink
    finally:
        source.server.stop()
        sink.server.stop()


def _arrived(sink: Instance) -> tuple[int, int]:
    """(stored versions, distinct objects) that arrived from the source, read straight from the
    sink's database."""
    db = Database(sink.database_url)
    try:
        with db.read() as conn:
            source = select(members.c.id).where(members.c.name == "source").scalar_subquery()
            mine = select(objects.c.object_id).where(
                objects.c.member_id == source, objects.c.type == "indicator"
            )
            rows = conn.scalar(select(func.count()).select_from(mine.subquery()))
            distinct = conn.scalar(
                select(func.count(func.distinct(objects.c.object_id))).where(
                    objects.c.member_id == source, objects.c.type == "indicator"
                )
            )
            return rows or 0, distinct or 0
    finally:
        db.dispose()


def _sync_process(sink: Instance) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHIELDWALL_DATABASE_URL": sink.database_url,
           "SHIELDWALL_WARNINGLISTS": "none", "SHIELDWALL_FEDERATION_PAGE_SIZE": PAGE}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "shieldwall.cli", "sync"], env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _until_partly_arrived(sink: Instance, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        arrived, _ = _arrived(sink)
        if 0 < arrived < OBJECTS:
            return arrived
        time.sleep(0.02)
    raise AssertionError("the pull ended before it could be cut off")


def test_a_puller_killed_in_the_middle_resumes_without_loss_or_doubles(
    two: tuple[Instance, Instance],
) -> None:
    _, sink = two
    process = _sync_process(sink)
    _until_partly_arrived(sink, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert _arrived(sink)[0] < OBJECTS
    sink.sync()
    assert _arrived(sink) == (OBJECTS, OBJECTS)
    assert "stored 0" in sink.sync()  # and a further round finds nothing new


def test_a_peer_down_in_the_middle_of_a_pull_is_resumed_when_it_is_back(
    two: tuple[Instance, Instance],
) -> None:
    source, sink = two
    process = _sync_process(sink)
    _until_partly_arrived(sink, process)
    source.server.kill()
    _, err = process.communicate(timeout=120)
    assert b"FAILED" in err or process.returncode != 0, err
    assert process.returncode != 0
    listed = httpx.get(f"{sink.url}/api/v1/peers", headers=sink.auth(sink.admin_key)).json()
    assert next(p for p in listed["peers"] if p["name"] == "source")["last_error"], err
    assert _arrived(sink)[0] < OBJECTS
    source.server.start()
    sink.sync()
    assert _arrived(sink) == (OBJECTS, OBJECTS)


def test_a_push_reaches_the_peer_as_soon_as_something_is_shared(tmp_path: Path) -> None:
    source = make_instance(tmp_path, "pusher", "national-cert")
    sink = make_instance(tmp_path, "receiver", "industry")
    try:
        pair(source, sink, direction="push")
        kept = indicator("192.0.2.60", tlp="amber", distribution="org")
        one_hop = indicator("192.0.2.61", tlp="amber", distribution="federation")
        onwards = indicator("192.0.2.62", tlp="green", distribution="all")
        source.share(kept, one_hop, onwards)  # the pusher's server wakes its push at once
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sink.seen(onwards["id"]) is None:
            time.sleep(0.2)
        assert sink.seen(kept["id"]) is None
        assert sharing_of(sink.seen(one_hop["id"]))["distribution"] == "community"  # type: ignore[arg-type]
        assert sharing_of(sink.seen(onwards["id"]))["path"] == [  # type: ignore[arg-type]
            sharing_of(sink.seen(onwards["id"]))["origin"]  # type: ignore[arg-type]
        ]
    finally:
        source.server.stop()
        sink.server.stop()
