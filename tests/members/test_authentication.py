"""Counting failed authentications (members/authentication.py) while the flush moves them from a
process's pending counts to the stored counters: a check counts each failure once whenever the
flush commits, so a client gets neither more attempts than its limit nor fewer.

Each test makes the flush commit at the one moment that used to miscount, through the database's
own events: inside a check, between its read of the stored counters and its read of the pending
ones; or inside the flush, between its COMMIT and taking the written failures off the pending
counts. The authenticator here writes only when told (background=False), so the failures are
still pending when that moment comes; the app's database is real, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from sqlalchemy import event, select

from shieldwall.members.authentication import Authenticator, KeyRefused, Limits, TooManyAttempts
from shieldwall.members.tables import auth_failures
from tests.factories import ApiUser, World

ADDRESS = "198.51.100.23"
LIMITS = Limits(window=600.0, per_address=5, per_account=3)
# How long the moment is held open for the other side. A check or a flush that fits in it shows
# the miscount; the fixed code makes the other side wait instead, so the tests pass either way.
HELD = 1.0


def _wrong_secret(key: str) -> str:
    return key[:12] + secrets.token_urlsafe(32)


def _attempt(authenticator: Authenticator, key: str) -> type[Exception] | None:
    """What one attempt comes to: None when the key was taken, else the error's class."""
    try:
        authenticator.viewer_for(key, ADDRESS)
    except (KeyRefused, TooManyAttempts) as exc:
        return type(exc)
    return None


def _stored(world: World, user: ApiUser) -> int:
    with world.db.read() as conn:
        return conn.scalar(
            select(auth_failures.c.failures).where(auth_failures.c.scope == f"user:{user.user_id}")
        )


def _parameters(parameters: Any) -> list[Any]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters or ())


# --- may NOT: more attempts than the limit ---------------------------------------------------


@pytest.mark.parametrize("kept", [False, True], ids=["guessed-key", "right-key-kept"])
def test_no_attempt_past_the_limit_when_the_flush_commits_inside_a_check(
    world: World, kept: bool
) -> None:
    """Three failures pending; the fourth attempt reads the stored counters (none yet), the flush
    then stores the three and takes them off the pending counts, and the check reads the pending
    counts: before the fix it found none anywhere and let the attempt through."""
    user = world.user(world.member())
    authenticator = Authenticator(world.db, LIMITS, background=False)
    if kept:  # the viewer kept in memory: one statement reads the counters
        assert _attempt(authenticator, user.key) is None
    for _ in range(3):
        assert _attempt(authenticator, _wrong_secret(user.key)) is KeyRefused
    checking = threading.current_thread()
    flusher = threading.Thread(target=authenticator.flush)

    def stored_counters_read(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        account = f"user:{user.user_id}"
        if (
            threading.current_thread() is checking
            and "auth_failures" in statement
            and account in _parameters(parameters)
            and flusher.ident is None
        ):
            flusher.start()
            flusher.join(HELD)

    event.listen(world.db.engine, "after_cursor_execute", stored_counters_read)
    try:
        fourth = _attempt(authenticator, user.key if kept else _wrong_secret(user.key))
    finally:
        event.remove(world.db.engine, "after_cursor_execute", stored_counters_read)
        if flusher.ident is not None:
            flusher.join()
    assert flusher.ident is not None, "the check never read the account's stored counter"
    assert fourth is TooManyAttempts
    assert _stored(world, user) == 3
    assert _attempt(authenticator, user.key) is TooManyAttempts


# --- may NOT: throttled before the limit -----------------------------------------------------


def test_not_throttled_before_the_limit_when_a_check_runs_inside_the_flush(world: World) -> None:
    """Two failures pending; the flush commits them, and a third attempt runs before they are
    off the pending counts: before the fix it found them on both sides (four) and refused with
    429 an attempt the limit allows."""
    user = world.user(world.member())
    authenticator = Authenticator(world.db, LIMITS, background=False)
    for _ in range(2):
        assert _attempt(authenticator, _wrong_secret(user.key)) is KeyRefused
    outcome: list[type[Exception] | None] = []
    third = threading.Thread(
        target=lambda: outcome.append(_attempt(authenticator, _wrong_secret(user.key)))
    )
    flusher = threading.Thread(target=authenticator.flush)

    def committed(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
        # The flush's connection goes back to the pool after its COMMIT.
        if threading.current_thread() is flusher and third.ident is None:
            third.start()
            third.join(HELD)

    event.listen(world.db.engine, "checkin", committed)
    try:
        flusher.start()
        flusher.join()
    finally:
        event.remove(world.db.engine, "checkin", committed)
        if third.ident is not None:
            third.join()
    assert third.ident is not None, "the flush never gave its connection back"
    assert outcome == [KeyRefused]
    assert _stored(world, user) == 2
    assert _attempt(authenticator, user.key) is TooManyAttempts  # the third counted, once


# --- may: what is counted stays counted ------------------------------------------------------


def test_failures_stay_counted_across_flushes_and_checks_at_once(world: World) -> None:
    """Forty failures from four threads while another flushes without pause, on an account
    allowed forty: none is refused early, the stored counter holds each once, and the next
    attempt is refused."""
    user = world.user(world.member())
    authenticator = Authenticator(
        world.db, Limits(window=600.0, per_address=0, per_account=40), background=False
    )
    stop = threading.Event()

    def flushing() -> None:
        while not stop.wait(0.001):
            authenticator.flush()

    def guessing(outcomes: list[type[Exception] | None]) -> None:
        outcomes.extend(_attempt(authenticator, _wrong_secret(user.key)) for _ in range(10))

    flusher = threading.Thread(target=flushing)
    flusher.start()
    outcomes: list[type[Exception] | None] = []
    try:
        guessers = [threading.Thread(target=guessing, args=(outcomes,)) for _ in range(4)]
        for guesser in guessers:
            guesser.start()
        for guesser in guessers:
            guesser.join()
    finally:
        stop.set()
        flusher.join()
    authenticator.flush()
    assert outcomes == [KeyRefused] * 40
    assert _stored(world, user) == 40
    assert _attempt(authenticator, user.key) is TooManyAttempts
