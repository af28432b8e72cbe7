"""Large lookups answered by two processes: about half of the values here, the rest in a helper.

Answering a 10,000-value lookup is mostly Python (normalising, answers, scores, warning-list
matching) around the database's work, and Python runs one thread at a time. So a helper process
answers a part of the values whole on the other core, while this process answers the rest. Each
part is read in a transaction of its own: a write that commits between the two shows in one
part's answers and not in the other's, as it would in two lookups made a moment apart. Every
answer goes through the same `service.lookup`, so through the same policy, whichever process
gives it; and each part reads its own values (`asked.read_entries`), naming those it cannot read
by their positions in the whole lookup.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple

import orjson
from sqlalchemy.engine import make_url

from shieldwall.correlate import service
from shieldwall.correlate.asked import Read, read_entries
from shieldwall.db import Database
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


class Answer(NamedTuple):
    """A lookup's answer, or a part's: the results as a JSON array (serialised where they were
    made, so a part crosses from the helper as bytes), the reports they name, and the values
    that could not be read (positions in the whole lookup)."""

    results: bytes
    reports: dict[str, dict[str, Any]]
    unreadable: list[dict[str, Any]]

    def json(self) -> bytes:
        """The answer as the API gives it, without parsing the results again (and copying their
        megabytes once: a chain of + would copy them at each step)."""
        return b"".join((
            b'{"results":', self.results, b',"reports":', orjson.dumps(self.reports),
            b',"unreadable":', orjson.dumps(self.unreadable), b"}",
        ))  # fmt: skip

    def joined(self, other: Answer) -> Answer:
        """This part's answer followed by the next part's."""
        if self.results == b"[]":
            results = other.results
        elif other.results == b"[]":
            results = self.results
        else:  # two JSON arrays as one, without parsing either
            results = self.results[:-1] + b"," + other.results[1:]
        return Answer(
            results, {**self.reports, **other.reports}, self.unreadable + other.unreadable
        )


class Options(NamedTuple):
    """What a caller may ask of a lookup besides its values."""

    min_score: float | None = None
    exclude_warninglisted: bool = False


def _answer_entries(
    job: LookupSettings,
    viewer: Viewer,
    entries: Sequence[tuple[str, str]],
    offset: int,
    options: Options,
) -> tuple[Answer, float]:
    """In the helper: the answer about raw entries (the lookup's from position `offset` on), and
    when it was ready (time.monotonic)."""
    with gc_paused():  # as the server pauses it over its own part
        return answer_read(job, viewer, read_entries(entries, offset), options), time.monotonic()


def answer_read(
    job: LookupSettings,
    viewer: Viewer,
    read: Read,
    options: Options,
    db: Database | None = None,
) -> Answer:
    """The answer about values read (here, or in the helper without `db`)."""
    with gc_paused():  # tens of thousands of objects, and no cycles among them
        found = service.lookup(
            db if db is not None else _database(job.database_url),
            viewer,
            read.items,
            noisy_threshold=job.noisy_threshold,
            half_lives=job.half_lives,
            min_score=options.min_score,
            lists=warning_lists(job.warninglists, job.cache_dir),
            exclude_warninglisted=options.exclude_warninglisted,
        )
        return Answer(orjson.dumps(found.results), found.reports, read.unreadable)


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
        options: Options = Options(),
    ) -> Answer:
        """The answer about (raw value, kind) entries: results in their order, for those that
        can be read; the others named, with their positions, in `unreadable`."""
        here = functools.partial(answer_read, job, viewer, options=options, db=self._db)
        pool = self._ready_pool(job) if len(entries) >= HELPER_MIN_VALUES else None
        if pool is None:
            return here(read_entries(entries))
        cut = len(entries) - int(len(entries) * self.share)
        start = time.monotonic()
        try:  # the helper reads its part itself, while this process reads the rest
            future = pool.submit(_answer_entries, job, viewer, entries[cut:], cut, options)
        except Exception:  # shut down or broken meanwhile
            self._reset()
            return here(read_entries(entries))
        # The pool's own thread sends the part, once it holds the interpreter lock: let it have
        # the lock now, not at the next switch (up to 5 ms later, all of it the helper's delay).
        time.sleep(0.001)
        mine = here(read_entries(entries[:cut]))
        mine_done = time.monotonic()
        try:
            theirs, their_done = future.result()
        except Exception:  # the helper died or failed: start it afresh, answer from here
            self._reset()
            return mine.joined(here(read_entries(entries[cut:], cut)))
        # When the helper says it finished, not when this process heard of it: that waits for
        # this process's threads to let go of the interpreter lock, and would make the helper
        # look slower than it is.
        self._rebalance(cut, mine_done - start, len(entries) - cut, their_done - start)
        return mine.joined(theirs)

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
