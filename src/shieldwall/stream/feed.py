"""Wakes a process's stream readers when the change log may have grown.

Three ways in, from fastest: a write by this process (Database.after_write), a NOTIFY from any
process on the same PostgreSQL (db.CHANGES_CHANNEL, sent by every write at its commit), and a
look at the change log's newest seq every `poll_seconds` (SQLite, whose other processes cannot
signal us, and a safety net should a PostgreSQL listener connection drop). One feed serves every
subscriber of the process, so a thousand open streams cost one poll, not a thousand. It runs on
threads and wakes each waiter on its own event loop, so it does not care which loop serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from shieldwall.db import CHANGES_CHANNEL, Database
from shieldwall.intel.tables import change_log

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self, db: Database, poll_seconds: float) -> None:
        self._db = db
        self._poll = max(poll_seconds, 0.05)
        self._lock = threading.Lock()
        self._generation = 0  # bumped on every wake-up
        self._waiters: set[asyncio.Future[None]] = set()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        db.after_write(self.wake)

    def start(self) -> None:
        with self._lock:
            if self._threads or self._closing.is_set():
                return
            self._threads.append(threading.Thread(target=self._poll_newest, daemon=True,
                                                  name="stream-poll"))  # fmt: skip
            if not self._db.is_sqlite:
                self._threads.append(threading.Thread(target=self._listen, daemon=True,
                                                      name="stream-listen"))  # fmt: skip
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._closing.set()
        self.wake()
        for thread in self._threads:
            thread.join(5)

    @property
    def generation(self) -> int:
        return self._generation

    async def wait(self, generation: int, timeout: float) -> bool:
        """Until a wake-up after `generation` (True), or `timeout` seconds (False)."""
        self.start()  # an app served without its lifespan still gets its wake-ups
        waiter = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._generation != generation:
                return True
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    def wake(self) -> None:
        """From any thread: the change log may have grown."""
        with self._lock:
            self._generation += 1
            waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                waiter.get_loop().call_soon_threadsafe(_settle, waiter)

    def _poll_newest(self) -> None:
        newest = None
        while not self._closing.wait(self._poll):
            try:
                with self._db.read() as conn:
                    seq = conn.scalar(select(func.max(change_log.c.seq))) or 0
            except Exception:  # a database down for a moment: try again next time
                log.exception("stream: could not read the change log's newest seq")
                continue
            if newest is not None and seq != newest:
                self.wake()
            newest = seq

    def _listen(self) -> None:
        """LISTEN on PostgreSQL (a connection of its own, outside the pool)."""
        dsn = make_url(self._db.url).set(drivername="postgresql")
        while not self._closing.is_set():
            try:
                with psycopg.connect(dsn.render_as_string(hide_password=False),
                                     autocommit=True) as conn:  # fmt: skip
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    while not self._closing.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.wake()
            except psycopg.Error:
                log.warning("stream: PostgreSQL listener lost; polling until it is back")
                self._closing.wait(self._poll)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
