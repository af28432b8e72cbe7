"""Validating a large bundle in a worker process while ingest gets on with the rest.

Validation is a fifth of what ingest does with a large bundle, and needs nothing from the
database: another process checks the objects, a chunk at a time, while this one resolves
sharing and writes rows into a transaction that commits only once the worker has found nothing
wrong. A bundle with errors is still rejected whole, with every error, and stores nothing.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import orjson

from shieldwall.gcpause import gc_paused
from shieldwall.intel.bundle_file import validate_file
from shieldwall.intel.validate import (
    ObjectError,
    bundle_errors,
    validate_bundle,
    validate_object,
    with_duplicates,
)

PARALLEL_MIN_OBJECTS = 2_000  # below this, a worker's round trip costs more than it saves
CHUNK_OBJECTS = 10_000  # per task: bounds the worker's memory, keeps it busy from the start


class BundleCheck:
    """The validation of one bundle: call it for every error, waiting for the workers if they
    are still at it. `done` says whether the answer is already in."""

    def __init__(self, errors: Callable[[], list[ObjectError]], *, done: bool) -> None:
        self._errors = errors
        self.done = done

    def __call__(self) -> list[ObjectError]:
        return self._errors()


def _validate_chunk(raw: bytes, start: int) -> list[ObjectError]:
    """In the worker: validate_object for each object of a JSON array, numbered from `start`.
    With the collector paused, as ingest parses: a chunk is ~30 objects made per STIX object,
    none in a cycle, which the collector walked again and again (~15% of the worker's time)."""
    with gc_paused():
        return [
            error
            for index, obj in enumerate(orjson.loads(raw), start)
            for error in validate_object(obj, index)
        ]


def _warm() -> None:
    """In the worker: nothing; running it makes the worker import this module up front."""


def _checked_here(bundle: Any) -> BundleCheck:
    found = validate_bundle(bundle)
    return BundleCheck(lambda: found, done=True)


class BundleValidator:
    """Validates bundles, large ones in `workers` worker processes (0: always in-process).

    `start(bundle)` returns its BundleCheck. The caller may go on meanwhile, as long as it
    commits nothing before the check has returned no error.
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, bundle: Any) -> BundleCheck:
        head, objects = bundle_errors(bundle)
        if objects is None or self.workers < 1 or len(objects) < PARALLEL_MIN_OBJECTS:
            return _checked_here(bundle)
        try:
            chunks = [
                (orjson.dumps(objects[start : start + CHUNK_OBJECTS]), start)
                for start in range(0, len(objects), CHUNK_OBJECTS)
            ]
        except TypeError:  # not JSON-shaped (a dict built in Python): validate here
            return _checked_here(bundle)
        pool = self._worker_pool()
        futures: list[Future[list[ObjectError]]] = [
            pool.submit(_validate_chunk, raw, start) for raw, start in chunks
        ]
        del chunks
        answer: list[list[ObjectError]] = []

        def errors() -> list[ObjectError]:
            if not answer:
                try:
                    found = [error for future in futures for error in future.result()]
                except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh
                    self.close()
                    return _checked_here(bundle)()
                except Exception:  # whatever broke over there, the answer is found here
                    return _checked_here(bundle)()
                answer.append(head + with_duplicates(objects, found))
            return answer[0]

        return BundleCheck(errors, done=False)

    def start_file(self, path: Path) -> BundleCheck:
        """The same for a bundle file: the worker reads the file itself (nothing is pickled
        across), while this process reads it for ingest; in-process without workers."""
        if self.workers < 1:
            found = validate_file(path)
            return BundleCheck(lambda: found, done=True)
        future = self._worker_pool().submit(validate_file, path)
        answer: list[list[ObjectError]] = []

        def errors() -> list[ObjectError]:
            if not answer:
                try:
                    answer.append(future.result())
                except BrokenProcessPool:
                    self.close()
                    answer.append(validate_file(path))
                except Exception:
                    answer.append(validate_file(path))
            return answer[0]

        return BundleCheck(errors, done=False)

    def warm_up(self) -> None:
        """Start the workers now rather than on the first large bundle."""
        if self.workers > 0:
            self._worker_pool().submit(_warm).result()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None

    def _worker_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the server has threads (and database connections) that a
                # forked child would inherit in whatever state they were.
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            return self._pool
