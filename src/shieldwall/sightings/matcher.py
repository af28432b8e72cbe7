"""Matching a lookup's values against the warning lists in a helper process.

Matching is pure Python and a third of a 10,000-value lookup, and it needs nothing from the
database: a helper process does it on the other core while the lookup reads the database and
scores what it found. A thread would only take turns with the lookup for the GIL.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from shieldwall.correlate.observables import Observable
from shieldwall.sightings.benign import warning_lists
from shieldwall.sightings.warninglists import WarningMatch

HELPER_MIN_VALUES = 500  # below this, the round trip to the helper costs more than it saves

Matches = list[tuple[WarningMatch, ...]]


def _load(spec: str, cache_dir: str | None) -> None:
    """In the helper: load the lists once, before the first values arrive."""
    warning_lists(spec, cache_dir)


def _match_all(spec: str, cache_dir: str | None, pairs: list[tuple[str, str]]) -> Matches:
    """In the helper (or here): each (kind, value)'s matches."""
    lists = warning_lists(spec, cache_dir)
    if lists is None:
        return [()] * len(pairs)
    return [lists.match(kind, value) for kind, value in pairs]


class WarningMatcher:
    """The warning-list matches of a lookup's values, found in `helpers` helper processes for
    large lookups (0: always in this process).

    The helper starts on the first large lookup, which does not wait for it: until the helper
    has loaded the lists, and whenever anything goes wrong over there, matching is done here.
    A server that never gets a large lookup never pays for the helper (~60 MB).
    """

    def __init__(self, spec: str, cache_dir: str | None, helpers: int = 1) -> None:
        self._spec, self._cache_dir, self.helpers = spec, cache_dir, helpers
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Future[None] | None = None
        self._lock = threading.Lock()

    def start(self, items: Sequence[Observable]) -> Callable[[], Matches]:
        """Start matching `items`; the returned function gives their matches, in order."""
        pairs = [(item.kind, item.value) for item in items]
        here = functools.partial(_match_all, self._spec, self._cache_dir, pairs)
        if warning_lists(self._spec, self._cache_dir) is None:  # no lists selected
            return here
        pool = self._ready_pool() if len(pairs) >= HELPER_MIN_VALUES else None
        if pool is None:
            return here
        try:
            future = pool.submit(_match_all, self._spec, self._cache_dir, pairs)
        except Exception:  # shut down or broken meanwhile
            self._reset()
            return here

        def matches() -> Matches:
            try:
                return future.result()
            except Exception:  # the helper died or failed: start it afresh, answer from here
                self._reset()
                return here()

        return matches

    def warm_up(self, timeout: float = 120) -> None:
        """Start the helper and wait until it has the lists (for tests and tools)."""
        self._ready_pool()
        ready = self._ready
        if ready is not None:
            ready.result(timeout)

    def close(self) -> None:
        self._reset(wait=True)

    def _ready_pool(self) -> ProcessPoolExecutor | None:
        """The helper pool once the lists are loaded in it; None until then (and for good when
        they could not be loaded there)."""
        with self._lock:
            if self.helpers < 1:
                return None
            if self._pool is None:
                # spawn, not fork: the server has threads (and database connections) that a
                # forked child would inherit in whatever state they were.
                self._pool = ProcessPoolExecutor(
                    self.helpers, mp_context=multiprocessing.get_context("spawn")
                )
                self._ready = self._pool.submit(_load, self._spec, self._cache_dir)
            ready = self._ready
            if ready is None or not ready.done():
                return None
            if ready.exception() is None:
                return self._pool
            self.helpers = 0  # it would only fail again: match here from now on
        self._reset()
        return None

    def _reset(self, *, wait: bool = False) -> None:
        """Drop the helper: waiting for it on close, not when a request found it broken."""
        with self._lock:
            pool, self._pool, self._ready = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
