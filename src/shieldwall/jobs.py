"""Scheduled jobs (pulls, pushes, webhook delivery, clocks, housekeeping): each runs on exactly one
process at a time, however many app nodes serve the database.

A job is a plain function run on a background thread, every `every` seconds and whenever
something wakes it (`Scheduler.wake`, e.g. after a write). Before a run the scheduler takes the
job's lock: on PostgreSQL a session advisory lock held for the run (released by the server if the
process dies); on SQLite a lease row in `job_leases`, taken under the write lock and left to
expire if the process dies. A node that finds the lock taken skips that run: the holder is
doing the work. A job that raises is logged and tried again at its next turn.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, String, Table, delete, insert, select, text, update

from shieldwall.db import Database, metadata, utc_now

log = logging.getLogger("shieldwall.jobs")

# SQLite only: who runs each job until when (PostgreSQL holds advisory locks instead).
job_leases = Table(
    "job_leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("until", String(32), nullable=False),
)
_THREAD_NAME = "shieldwall-jobs"
_LEASE_SECONDS = 300  # a lease outlives any run; a dead holder's lease lapses after this


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: float  # seconds between runs when nothing wakes it
    run: Callable[[], object]


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key per job name."""
    return int.from_bytes(hashlib.sha256(f"shieldwall-job:{name}".encode()).digest()[:8], "big",
                          signed=True)  # fmt: skip


class Scheduler:
    """Runs jobs on one background thread, each under its cross-process lock."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._jobs: dict[str, Job] = {}
        self._due: dict[str, float] = {}
        self._woken: dict[str, float] = {}  # when each job was last asked to run early
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.runs: dict[str, int] = {}  # completed runs per job, in this process

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.name] = job
            self._due[job.name] = time.monotonic()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=_THREAD_NAME, daemon=True)
            self._thread.start()

    def wake(self, name: str | None = None, *, not_within: float = 0.0) -> None:
        """Run `name` (or every job) as soon as possible; with `not_within`, no sooner than that
        many seconds after the last wake-up that asked for the same (a burst of writes wakes a
        job once a second, not once a write)."""
        now = time.monotonic()
        with self._lock:
            for job_name in [name] if name else list(self._due):
                if job_name in self._due:
                    at = max(now, self._woken.get(job_name, 0.0) + not_within)
                    self._woken[job_name] = at
                    self._due[job_name] = min(self._due[job_name], at)
        self._wake.set()

    @staticmethod
    def in_job() -> bool:
        """Whether the calling thread is the one running the jobs (a job's own writes)."""
        return threading.current_thread().name == _THREAD_NAME

    def run_now(self, name: str) -> bool:
        """Run one job in the calling thread under its lock; False if another process holds it."""
        return self._run(self._jobs[name])

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._closing:
            now = time.monotonic()
            with self._lock:
                due = [self._jobs[n] for n, at in self._due.items() if at <= now]
                for job in due:
                    self._due[job.name] = now + job.every
                next_at = min(self._due.values(), default=now + 60)
            for job in due:
                if self._closing:
                    return
                self._run(job)
            self._wake.wait(max(0.0, next_at - time.monotonic()))
            self._wake.clear()

    def _run(self, job: Job) -> bool:
        try:
            if self._db.is_sqlite:
                holder = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"  # this run, not this process
                if not self._take_lease(job.name, holder):
                    return False
                try:
                    job.run()
                finally:
                    self._give_lease(job.name, holder)
            else:
                with self._db.engine.connect() as conn:
                    key = _lock_key(job.name)
                    if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
                        conn.rollback()
                        return False
                    conn.commit()
                    try:
                        job.run()
                    finally:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                        conn.commit()
            self.runs[job.name] = self.runs.get(job.name, 0) + 1
            return True
        except Exception:
            log.exception("job %s failed; it runs again at its next turn", job.name)
            return False

    def _take_lease(self, name: str, holder_id: str) -> bool:
        now = utc_now()
        until = time.strftime(
            "%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() + _LEASE_SECONDS)
        )
        with self._db.write() as conn:
            holder = conn.execute(select(job_leases).where(job_leases.c.name == name)).first()
            if holder is None:
                conn.execute(insert(job_leases).values(name=name, holder=holder_id, until=until))
                return True
            if holder.until > now:
                return False
            conn.execute(
                update(job_leases)
                .where(job_leases.c.name == name)
                .values(holder=holder_id, until=until)
            )
            return True

    def _give_lease(self, name: str, holder_id: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                delete(job_leases).where(
                    job_leases.c.name == name, job_leases.c.holder == holder_id
                )
            )
