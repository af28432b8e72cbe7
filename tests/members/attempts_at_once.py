"""Authentication attempts at once, each held between its check and its outcome until all are
there (members/authentication.py's reservations): tests/members/test_authentication.py calls
the authenticator from threads, tests/members/test_api_keys.py sends requests to the app."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event

from shieldwall.db import Database


class HeldAfterTheCheck:
    """Holds every attempt between its check and its outcome until `parties` attempts are
    there, so they are all checked before any is counted: the race a parallel guesser wins now
    and then, every time. The moment is the one a check's connection goes back to the pool
    (the `checkin` event), after its throttle check and its key or password check, before
    anything after them; the attempts are the threads that read the failure counters (the
    flush writes them but never reads them). `arrived` counts those held so far."""

    def __init__(self, db: Database, parties: int) -> None:
        self._engine = db.engine
        self._barrier = threading.Barrier(parties, timeout=20)
        self._checking = threading.local()

    @property
    def arrived(self) -> int:
        return self._barrier.n_waiting

    def wait_for(self, arrived: int) -> None:
        for _ in range(2000):
            if self.arrived >= arrived:
                return
            threading.Event().wait(0.005)
        raise AssertionError(f"{arrived} attempts never reached the end of their check")

    def _read(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "auth_failures" in statement:
            self._checking.now = True

    def _checked_in(self, dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
        if getattr(self._checking, "now", False):
            self._checking.now = False
            self._barrier.wait()

    def __enter__(self) -> HeldAfterTheCheck:
        event.listen(self._engine, "after_cursor_execute", self._read)
        event.listen(self._engine, "checkin", self._checked_in)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "after_cursor_execute", self._read)
        event.remove(self._engine, "checkin", self._checked_in)


def at_once(attempts: list[Any], held: HeldAfterTheCheck, first: int = 0) -> list[Any]:
    """Run each attempt (a function giving its outcome) in its own thread, the first `first`
    of them alone until each has passed its check and is held; the outcomes in that order (an
    attempt's unexpected error is raised here)."""
    outcomes: list[Any] = [None] * len(attempts)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            outcomes[i] = attempts[i]()
        except BaseException as exc:  # raised in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    try:
        for i, thread in enumerate(threads):
            thread.start()
            if i < first:
                held.wait_for(i + 1)
    finally:
        for thread in threads:
            if thread.ident is not None:
                thread.join()
    if errors:
        raise errors[0]
    return outcomes
