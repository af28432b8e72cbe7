"""A server killed (SIGKILL, the whole process group) in the middle of ingesting a large bundle, at
several points, on both databases: after a restart the bundle is wholly there or wholly absent,
the change log has no gap, the indexes agree with the objects, and the audit chain verifies.

The bundle's size is $SHIELDWALL_CRASH_OBJECTS (default 20,000, which keeps this test within
about a minute per database on a busy two-core machine; the README's figures are for 100,000).
The points: during the commit (SQLite: once the write-ahead log starts taking the transaction's
pages; PostgreSQL: once the ingest's connection has written its audit entry, its last statement
before COMMIT), then 0.5, 1 and 2 seconds after the POST began.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from shieldwall.db import Database
from shieldwall.intel.tables import objects
from tests.operations.bundles import object_id, write_bundle
from tests.operations.server import Server, analyst_key
from tests.test_cli import run

CRASH_OBJECTS = int(os.environ.get("SHIELDWALL_CRASH_OBJECTS", "20000"))
POINTS = ("commit", 0.5, 1.0, 2.0)


class Post(threading.Thread):
    """POST a bundle file in the background; `status` is None when the server died first."""

    def __init__(self, url: str, key: str, path: Path) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.path = url, key, path
        self.status: int | None = None
        self.started = time.monotonic()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        try:
            with self.path.open("rb") as body:
                response = httpx.post(
                    f"{self.url}/api/v1/bundles", content=body, headers=headers, timeout=600
                )
            self.status = response.status_code
        except httpx.HTTPError:
            self.status = None


class CommitProbe:
    """Turns true once the ingest's transaction is committing, as seen from outside."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.db = None if url.get_backend_name() == "sqlite" else Database(database_url)
        self.wal = Path(f"{url.database}-wal")
        self.baseline = self.wal.stat().st_size if self.wal.exists() else 0

    def __call__(self) -> bool:
        if self.db is None:
            # The ingest's pages wait in the writer's page cache until COMMIT writes them out.
            return self.wal.exists() and self.wal.stat().st_size > self.baseline + 256 * 1024
        with self.db.engine.connect() as conn:
            return bool(conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state <> 'idle' AND (query ILIKE 'INSERT INTO audit_log%' OR query = 'COMMIT')"
            )))  # fmt: skip

    def close(self) -> None:
        if self.db is not None:
            self.db.dispose()


def _kill_at(server: Server, post: Post, point: Any, database_url: str) -> str:
    """Kill the server at `point`; what the client saw."""
    if point == "commit":
        committing = CommitProbe(database_url)
        try:
            while post.is_alive() and not committing():
                time.sleep(0.002)
        finally:
            committing.close()
    else:
        time.sleep(max(0.0, post.started + point - time.monotonic()))
    server.kill()
    post.join(timeout=60)
    return "answered" if post.status is not None else "cut off"


def _stored(database_url: str, member_objects: Callable[[Any], Any]) -> int:
    db = Database(database_url)
    try:
        with db.read() as conn:
            return conn.scalar(member_objects(select(func.count()).select_from(objects)))
    finally:
        db.dispose()


def test_a_killed_ingest_is_whole_or_absent(database_url: str, tmp_path: Path) -> None:
    key = analyst_key(database_url)
    log = tmp_path / "server.log"

    def crash_objects(query: Any) -> Any:
        return query.where(objects.c.type != "identity")

    # Validation in the server process (no worker process to start each time: five starts).
    server = Server(database_url, log, validation_workers="0").start()
    before, figures, absent = 0, [], []
    try:
        for point in POINTS:
            bundle = tmp_path / f"bundle-{point}.json"
            tag = write_bundle(bundle, CRASH_OBJECTS)
            post = Post(server.url, key, bundle)
            post.start()
            seen = _kill_at(server, post, point, database_url)
            seconds = time.monotonic() - post.started
            server = Server(database_url, log, validation_workers="0").start()  # recovery
            after = _stored(database_url, crash_objects)
            whole = after - before
            assert whole in (0, CRASH_OBJECTS), (point, whole)  # all or nothing
            if seen == "answered":
                assert post.status == 201 and whole == CRASH_OBJECTS, (point, post.status)
            # The API agrees: the bundle's first and last objects are both there or both not.
            headers = {"Authorization": f"Bearer {key}"}
            ends = [object_id("indicator", tag, 0), object_id("report", tag, CRASH_OBJECTS - 1)]
            found = {httpx.get(f"{server.url}/api/v1/objects/{i}", headers=headers).status_code
                     for i in ends}  # fmt: skip
            assert found == ({200} if whole else {404}), (point, found)
            figures.append(f"{point}: killed after {seconds:.2f} s, client {seen}, "
                           f"{'whole' if whole else 'absent'}")  # fmt: skip
            if not whole:
                absent.append(bundle)
            before = after
        # Nothing is left stuck (locks, half-written files): the last absent bundle goes in whole.
        if absent:
            post = Post(server.url, key, absent[-1])
            post.run()
            assert post.status == 201
            assert _stored(database_url, crash_objects) == before + CRASH_OBJECTS
    finally:
        server.stop()
    print(f"\ncrash test, {CRASH_OBJECTS:,} objects: " + "; ".join(figures))
    checked = run("check", database_url=database_url)
    assert checked.stdout.startswith("whole:"), checked.stdout + checked.stderr
    verified = run("audit", "verify", database_url=database_url)
    assert "audit chain intact" in verified.stdout
