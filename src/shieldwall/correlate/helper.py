"""Large lookups answered by two processes: about half of the values here, the rest in a helper.

Answering a 10,000-value lookup is mostly Python (normalising, answers, scores, warning-list
matching) around the database's work, and Python runs one thread at a time. So a helper process
answers a part of the values whole on the other core, while this process answers the rest. Each
part is read in a transaction of its own: a write that commits between the two shows in one
part's answers and not in the other's, as it would in two lookups made a moment apart. Every
answer goes through the same `service.lookup`, so through the same policy, whichever process
gives it; and a lookup with an unreadable value is refused whole, naming every such value,
whichever part holds it.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import NamedTuple

import orjson
from sqlalchemy.engine import make_url

from shieldwall.correlate import service
from shieldwall.correlate.observables import Observable, normalise
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.gcpause import gc_paused
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.sightings.benign import warning_lists
from shieldwall.sightings.score import parse_half_lives

HELPER_MIN_VALUES = 500  # below this, the round trip to the helper costs more than it saves
# The helper's first part, a little less than half: it also unpacks its values and packs its
# answers. Later parts follow how fast each side answered (LookupHelper._rebalance).
HELPER_SHARE = 0.45


class LookupSettings(NamedTuple):
    """What answering a lookup needs to know, in a form a helper process can be sent."""

    database_url: str
    warninglists: str
    cache_dir: str | None
    noisy_threshold: int
    half_lives: dict[str, float]

    @classmethod
    def of(cls, settings: Settings) -> LookupSettings:
        return cls(
            settings.database_url,
            settings.warninglists,
            settings.cache_dir,
            settings.noisy_threshold,
            parse_half_lives(settings.decay_half_lives),
        )


@functools.cache
def _database(url: str) -> Database:
    """In the helper: its own connection pool, opened once."""
    return Database(url)


def _load(job: LookupSettings) -> None:
    """In the helper: the lists and the database, ready before the first values arrive."""
    warning_lists(job.warninglists, job.cache_dir)
    with _database(job.database_url).read():
        pass


def normalised(entries: Sequence[tuple[str, str]]) -> list[Observable]:
    """The observables that (raw value, kind) entries stand for; Invalid, naming every entry
    that cannot be read, if any cannot."""
    items, errors = [], []
    for index, (value, kind) in enumerate(entries):
        try:
            observable = normalise(kind, value)
        except ValueError as exc:
            observable, reason = None, str(exc)
        else:
            reason = "no rule recognises it; give its kind"
        if observable is None:
            errors.append({"index": index, "value": value[:200], "message": reason})
        else:
            items.append(observable)
    if errors:
        raise Invalid(
            f"{len(errors)} value(s) could not be read; nothing was looked up", details=errors
        )
    return items


def _answers_of_entries(
    job: LookupSettings, viewer: Viewer, entries: Sequence[tuple[str, str]], min_score: float | None
) -> tuple[bytes | None, float]:
    """In the helper: the answers about raw entries, None when one cannot be read (the server,
    which says which, normalises them all again); and when they were ready (time.monotonic)."""
    with gc_paused():  # as the server pauses it over its own part
        try:
            items = normalised(entries)
        except Invalid:
            return None, time.monotonic()
        return answers_json(job, viewer, items, min_score), time.monotonic()


def answers_json(
    job: LookupSettings,
    viewer: Viewer,
    items: Sequence[Observable],
    min_score: float | None,
    db: Database | None = None,
) -> bytes:
    """The JSON array of the answers about `items` (here, or in the helper without `db`)."""
    with gc_paused():  # tens of thousands of objects, and no cycles among them
        results = service.lookup(
            db if db is not None else _database(job.database_url),
            viewer,
            items,
            noisy_threshold=job.noisy_threshold,
            half_lives=job.half_lives,
            min_score=min_score,
            lists=warning_lists(job.warninglists, job.cache_dir),
        )
        return orjson.dumps(results)


def _joined(first: bytes, second: bytes) -> bytes:
    """Two JSON arrays as one, without parsing either."""
    if first == b"[]":
        return second
    if second == b"[]":
        return first
    return first[:-1] + b"," + second[1:]


class LookupHelper:
    """Answers lookups; those of HELPER_MIN_VALUES values or more in part in `helpers` helper
    processes (0: always all of it here).

    The helper starts on the first large lookup, which does not wait for it: until the helper has
    loaded the warning lists and opened the database, and whenever anything goes wrong over
    there, the whole lookup is answered here. A server that never gets a large lookup never pays
    for the helper (here ~120 MB of its own: interpreter, warning lists, connection; the SQLite
    file pages it maps are the operating system's cache, shared with the server).
    """

    def __init__(self, db: Database, helpers: int = 1) -> None:
        # An in-memory SQLite database exists in this process alone: a helper would see another.
        in_memory = db.is_sqlite and make_url(db.url).database in (None, "", ":memory:")
        self._db, self.helpers = db, 0 if in_memory else helpers
        self.share = HELPER_SHARE  # of a large lookup's values, answered by the helper
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future[None] | None = None
        self._lock = threading.Lock()

    def answer(
        self,
        job: LookupSettings,
        viewer: Viewer,
        entries: Sequence[tuple[str, str]],
        min_score: float | None,
    ) -> bytes:
        """The JSON array of the answers about (raw value, kind) entries, in their order;
        Invalid, naming every entry that cannot be read, if any cannot."""
        here = functools.partial(answers_json, job, viewer, min_score=min_score, db=self._db)
        pool = self._ready_pool(job) if len(entries) >= HELPER_MIN_VALUES else None
        if pool is None:
            return here(normalised(entries))
        cut = len(entries) - int(len(entries) * self.share)
        start = time.monotonic()
        try:  # the helper normalises its part itself, while this process normalises the rest
            future = pool.submit(_answers_of_entries, job, viewer, entries[cut:], min_score)
        except Exception:  # shut down or broken meanwhile
            self._reset()
            return here(normalised(entries))
        # The pool's own thread sends the part, once it holds the interpreter lock: let it have
        # the lock now, not at the next switch (up to 5 ms later, all of it the helper's delay).
        time.sleep(0.001)
        try:
            items = normalised(entries[:cut])
        except Invalid:
            normalised(entries)  # raises, naming every unreadable entry of both parts
            raise
        mine = here(items)
        mine_done = time.monotonic()
        try:
            theirs, their_done = future.result()
        except Exception:  # the helper died or failed: start it afresh, answer from here
            self._reset()
            return _joined(mine, here(normalised(entries)[cut:]))
        if theirs is None:  # an entry of the helper's part cannot be read
            normalised(entries)  # raises, naming it
        # When the helper says it finished, not when this process heard of it: that waits for
        # this process's threads to let go of the interpreter lock, and would make the helper
        # look slower than it is.
        self._rebalance(cut, mine_done - start, len(entries) - cut, their_done - start)
        return _joined(mine, theirs)

    def _rebalance(self, mine: int, my_seconds: float, theirs: int, their_seconds: float) -> None:
        """Move the split towards where both sides would have finished together, at the rates
        per value each side just showed (which differ by database, machine and load)."""
        my_rate, their_rate = my_seconds / mine, their_seconds / theirs
        balanced = my_rate / (my_rate + their_rate)
        self.share = min(max(0.7 * self.share + 0.3 * balanced, 0.1), 0.9)

    def warm_up(self, job: LookupSettings, timeout: float = 120) -> None:
        """Start the helper and wait until it is ready (for tests and tools)."""
        self._ready_pool(job)
        ready = self._ready
        if ready is not None:
            ready.result(timeout)

    def close(self) -> None:
        self._reset(wait=True)

    def _ready_pool(self, job: LookupSettings) -> ProcessPoolExecutor | None:
        """The helper pool once it is ready; None until then (and for good when it could not
        get ready)."""
        with self._lock:
            if self.helpers < 1:
                return None
            if self._pool is None:
                # spawn, not fork: the server has threads (and database connections) that a
                # forked child would inherit in whatever state they were.
                self._pool = ProcessPoolExecutor(
                    self.helpers, mp_context=multiprocessing.get_context("spawn")
                )
                self._ready = self._pool.submit(_load, job)
            ready = self._ready
            if ready is None or not ready.done():
                return None
            if ready.exception() is None:
                return self._pool
            self.helpers = 0  # it would only fail again: answer here from now on
        self._reset()
        return None

    def _reset(self, *, wait: bool = False) -> None:
        """Drop the helper: waiting for it on close, not when a request found it broken."""
        with self._lock:
            pool, self._pool, self._ready = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
