"""Who a request is, and keeping guessers out: API keys checked, failures counted and slowed
down, and each key's last use remembered without a write per request.

Failed authentications are counted per client address and per account (the user a presented
key names) in fixed windows of `auth_failure_window` seconds. Past `auth_failures_per_address`
or `auth_failures_per_account` failures in a window, every attempt from that address, or on that
account, is refused with 429 and `Retry-After` until the window ends, without even looking at
the key. An account's key failures (`user:<id>`) and its password failures (`password:<id>`)
are counted apart: anyone who can reach the sign-in page and guess an e-mail address can fail
passwords on that account, and that must lock its password out, never the API keys its
machines sync with (nor may failures with a key's visible prefix lock its user out of the web).
The counters live in the database (`auth_failures`), so every process serving one database
slows the same clients down; each process also counts its own failures at once, and a
background thread adds them to the database within about a second, so a failed attempt never
waits for the database's one writer (a large ingest can hold it for seconds).

A check adds its own process's pending failures to the stored counters, so each failure must be
in exactly one of the two as the check sees them. The flush's COMMIT moves failures from one to
the other, and a check's two reads (the stored counters as of its snapshot, then the pending
ones) could fall on either side of it: counted on both sides, a client is throttled before its
limit; on neither, it gets attempts past it. So they are kept apart (_Handover): a check holds
it, shared, from before its transaction's first read (SQLite takes a read transaction's snapshot
there; PostgreSQL's autocommit statements each take their own, later one) until it has read the
pending counts; the flush holds it alone from just before its COMMIT until the written failures
are off the pending counts. Neither waits for the database's writer on the other's behalf: the
flush takes it once its rows are written, for the length of a COMMIT, and a check never holds
it across a password hash or a write.

Attempts under way in one process see each other (reservations): a check that lets an attempt
through to its key or password check counts it, under the same lock as the pending failures,
before that check's answer is known, and the attempt's outcome settles it (a failure stays
counted, a success or an error frees it). So however many requests find an account one failure
short of its limit at once, one is tried and the others are refused as throttled (Retry-After 1
while the one tried is still being checked: its outcome decides). An attempt whose outcome is
known at its check is counted there at once instead (nothing for a success): a key's hash is
compared as it is read, and a kept key is known right, so the common request (a kept key) holds
no reservation and costs what it did. Between processes a reservation is not seen: a process
counts another's failures once that one's flush has stored them (about a second; longer while a
large ingest holds SQLite's writer), and each refuses once the stored ones and its own reach the
limit, so P processes let a client make at most P times the limit in a window, and only by
reaching all P within that lag. Bounding it exactly would take a database write before every key
check: the wait on the writer that keeping failures in memory avoids.

A key's last use is written at most once a minute (LAST_USED_RESOLUTION): authentication reads
the stored time with the key anyway, and only when it is older than that is the new time queued
for the same background thread. A request never writes; listings show the time to the minute.

The viewer a key stands for is kept in memory after a success (by the SHA-256 of the key, at
most CACHE_SECONDS and CACHE_SIZE keys), beside the value the `auth_generation` counter had
when it was read. Triggers move that counter on every change to users, members, sharing group
memberships and keys' validity, whoever makes it (migration 0024), and every request reads it
in the one statement that reads its failure counters: a kept viewer is used only while the
counter has not moved and its key has not expired, so a revoked key, a disabled user, a new
role or a new membership counts at the next request in every process. A request with a known
key costs that one statement instead of five. The value read is handed on with the viewer
(authenticate()): what else a request keeps by the counter (TAXII's collections) is checked
against it without reading it again.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    String,
    case,
    cast,
    delete,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shieldwall.db import Database, utc_now
from shieldwall.errors import TooManyRequests, Unauthorized
from shieldwall.intel.timestamps import parse_timestamp
from shieldwall.members import keys, passwords
from shieldwall.members.service import viewer_for_user
from shieldwall.members.tables import auth_failures, auth_generation
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

log = logging.getLogger("shieldwall.authentication")

LAST_USED_RESOLUTION = 60.0  # seconds: how stale a key's stored last use may be
_FLUSH_EVERY = 1.0  # seconds between the background thread's writes, at most
CACHE_SECONDS = 60.0  # the longest a viewer is kept, even while auth_generation stays put
CACHE_SIZE = 1024  # keys whose viewers are kept, the least recently used dropped first


class TooManyAttempts(TooManyRequests):
    """Too many failed authentications from this address or on this account: wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed authentications: try again in {retry_after} s",
            retry_after=retry_after,
        )


class KeyRefused(Unauthorized):
    """The key is unknown, revoked or expired, or its user is disabled: all answer alike."""

    def __init__(self) -> None:
        super().__init__("this API key is not valid (unknown, revoked or expired)")


@dataclass(frozen=True, slots=True)
class Limits:
    window: float  # seconds
    per_address: int  # failures per window; 0: not limited
    per_account: int


@dataclass(frozen=True, slots=True)
class _Known:
    """A key that authenticated, and the viewer it stood for when auth_generation was
    `generation`."""

    generation: int
    key_id: str
    expires_at: str | None
    last_used_at: str | None
    viewer: Viewer
    until: float  # time.monotonic() past which it is read again whatever the counter says


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Who a request is, and auth_generation as its authentication read it: before anything
    the viewer was read from, so whatever is kept by that counter and still carries this value
    is as current as the viewer."""

    viewer: Viewer
    generation: int


@dataclass(slots=True)
class _Pending:
    failures: int
    since: float  # when the first of them happened


class _Handover:
    """Checks (any number at once) or the flush handing failures over (alone), never both: a
    check sees each failure once, among the stored counters or among the pending ones. A flush
    waiting to hand over keeps new checks waiting, so a stream of checks cannot keep it out."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._checks = 0
        self._handing_over = False

    @contextlib.contextmanager
    def checking(self) -> Iterator[None]:
        with self._changed:
            while self._handing_over:
                self._changed.wait()
            self._checks += 1
        try:
            yield
        finally:
            with self._changed:
                self._checks -= 1
                if not self._checks:
                    self._changed.notify_all()

    def begin(self) -> None:
        """Wait for the checks under way to end, and keep new ones waiting until end()."""
        with self._changed:
            while self._handing_over:  # flush() runs one at a time; this is only for safety
                self._changed.wait()
            self._handing_over = True
            while self._checks:
                self._changed.wait()

    def end(self) -> None:
        with self._changed:
            self._handing_over = False
            self._changed.notify_all()


class Authenticator:
    """The viewer behind a presented API key, for one app (app.state.authenticator)."""

    def __init__(self, db: Database, limits: Limits, *, background: bool = True) -> None:
        """`background`: False leaves every write to flush() (tests that choose the moment)."""
        self._db = db
        self._limits = limits
        self._background = background
        self._lock = threading.Lock()
        self._handover = _Handover()
        self._failures: dict[str, _Pending] = {}  # scope -> failures not yet in the database
        self._reserved: dict[str, int] = {}  # scope -> attempts let through, outcome unknown
        self._used: dict[str, str] = {}  # key id -> last use not yet in the database
        self._queued_at: dict[str, float] = {}  # key id -> when its last use was last queued
        self._flushing = threading.Lock()  # one flush at a time; flush() waits for the thread's
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        # SHA-256 of a key -> what it stood for. Found by an ordinary dict lookup, not in
        # constant time: what its timing could tell is of the hash of a guess, not of a key.
        self._known: OrderedDict[str, _Known] = OrderedDict()

    def viewer_for(self, key: str, address: str | None, email: str | None = None) -> Viewer:
        """The user `key` stands for; KeyRefused for a key that does not stand for one, and
        TooManyAttempts while its address or account has failed too often. `email`, when the
        client sent one too (HTTP Basic), must be the key's user's."""
        return self.authenticate(key, address, email).viewer

    def authenticate(
        self, key: str, address: str | None, email: str | None = None
    ) -> Authenticated:
        """viewer_for's viewer, with the auth_generation its check read."""
        now = time.time()
        digest = keys.hash_api_key(key)
        known = self._kept(digest)
        scopes = [f"address:{address}"] if address else []
        viewer: Viewer | None = None
        with self._db.quick_read() as conn:
            with self._handover.checking():  # before the first read: see the module's doc
                # Read before what it guards: a change committed after this read moves it again.
                checked = scopes + ([key_scope(known.viewer.user_id)] if known else [])
                generation, stored = self._generation_and_failures(conn, checked)
                if known is not None and (
                    generation != known.generation or not _unexpired(known.expires_at)
                ):
                    self._forget(digest)
                    known = None
                if known is not None:  # the right key: only another user's e-mail fails it
                    scopes = checked
                    right = email is None or known.viewer.email == email.strip().lower()
                    self._admit(conn, scopes, now, right, stored)
                    if not right:
                        raise KeyRefused
                    found: keys.FoundKey | None = keys.FoundKey(
                        known.key_id, known.viewer.user_id, True, True, known.last_used_at,
                        known.expires_at,
                    )  # fmt: skip
                    viewer = known.viewer
                else:
                    found = keys.find(conn, key)  # its hash compared: known right or wrong
                    if found is not None:
                        scopes.append(key_scope(found.user_id))
                    usable = found is not None and found.matches and found.usable
                    # Known but for the e-mail, which needs the viewer read: held till then.
                    self._admit(conn, scopes, now, None if usable else False)
                    if not usable:
                        raise KeyRefused
            assert found is not None
            if viewer is None:
                failed = False
                try:
                    viewer = viewer_for_user(conn, found.user_id)
                    self._keep(digest, found, viewer, generation)
                    failed = email is not None and viewer.email != email.strip().lower()
                finally:  # an error frees the attempt: it says nothing of the key
                    self._settle(scopes, now, failed)
                if failed:
                    raise KeyRefused
        self._used_now(found, now)
        return Authenticated(viewer, generation)

    def user_for_password(self, email: str, password: str, address: str | None) -> str | None:
        """The user signing in with this address and password, or None; counted and slowed
        down like a failed key, per client address and per account (the user the e-mail
        names, its password_scope: a password's failures never lock the account's keys)."""
        now = time.time()
        with self._db.read() as conn:
            with self._handover.checking():  # before the first read: see the module's doc
                scopes = [f"address:{address}"] if address else []
                user_id = passwords.user_id_by_email(conn, email)
                if user_id is not None:
                    scopes.append(password_scope(user_id))
                self._admit(conn, scopes, now, None)
            try:  # a password hash's time: the reservation holds the attempt, not _Handover
                found = passwords.user_for_password(conn, email, password)
            except BaseException:  # frees the attempt: it says nothing of the password
                self._settle(scopes, now, failed=False)
                raise
            self._settle(scopes, now, failed=found is None)
        return found

    # --- viewers kept -------------------------------------------------------------------------

    def _kept(self, digest: str) -> _Known | None:
        with self._lock:
            known = self._known.get(digest)
            if known is None:
                return None
            if known.until <= time.monotonic():
                del self._known[digest]
                return None
            self._known.move_to_end(digest)
            return known

    def _keep(self, digest: str, found: keys.FoundKey, viewer: Viewer, generation: int) -> None:
        known = _Known(generation, found.key_id, found.expires_at, found.last_used_at, viewer,
                       time.monotonic() + CACHE_SECONDS)  # fmt: skip
        with self._lock:
            self._known[digest] = known
            self._known.move_to_end(digest)
            while len(self._known) > CACHE_SIZE:
                self._known.popitem(last=False)

    def _forget(self, digest: str) -> None:
        with self._lock:
            self._known.pop(digest, None)

    def _generation_and_failures(
        self, conn: Connection, scopes: list[str]
    ) -> tuple[int, dict[str, Any]]:
        """auth_generation now, and the stored failure counters of those of `scopes` that are
        limited: one statement, one round trip."""
        generation = select(
            literal("", String()).label("scope"),
            cast(auth_generation.c.generation, Float()).label("window_start"),
            literal(0, Integer()).label("failures"),
        ).where(auth_generation.c.id == 1)
        limited = [s for s in scopes if self._limit(s) > 0]
        statement: Any = generation
        if limited:
            failures = select(
                auth_failures.c.scope, auth_failures.c.window_start, auth_failures.c.failures
            ).where(auth_failures.c.scope.in_(limited))
            statement = union_all(generation, failures)
        rows = conn.execute(statement).all()
        stored = {r.scope: r for r in rows if r.scope}
        counter = next((r.window_start for r in rows if not r.scope), None)
        if counter is None:
            raise RuntimeError("auth_generation has no row: is the database migrated (0024)?")
        return int(counter), stored

    # --- failures -----------------------------------------------------------------------------

    def _limit(self, scope: str) -> int:
        return self._limits.per_address if scope.startswith("address:") else (
            self._limits.per_account
        )  # fmt: skip

    def _admit(
        self, conn: Connection, scopes: list[str], now: float, outcome: bool | None,
        stored: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """TooManyAttempts if a scope is at its limit, the attempts under way in this process
        counted; else this attempt goes through, counted at once in the same locked step: as a
        failure when `outcome` is False, not at all when True (it cannot fail), as a reservation
        when None (not known yet: _settle() ends it). `stored`: the counters, when read.
        Called while checking (_Handover): the stored and the pending counts then agree."""
        limited = [s for s in scopes if self._limit(s) > 0]
        if limited and stored is None:
            stored = {
                r.scope: r
                for r in conn.execute(
                    select(auth_failures).where(auth_failures.c.scope.in_(limited))
                )
            }
        window = self._limits.window
        wait = 0.0
        with self._lock:
            for scope in limited:
                count, since = 0, now
                row = stored.get(scope) if stored else None
                if row is not None and row.window_start > now - window:
                    count, since = row.failures, row.window_start
                pending = self._failures.get(scope)
                if pending is not None and pending.since > now - window:
                    count += pending.failures
                    since = min(since, pending.since)
                limit = self._limit(scope)
                if count >= limit:
                    wait = max(wait, since + window - now)
                elif count + self._reserved.get(scope, 0) >= limit:
                    wait = max(wait, 1.0)  # the attempts under way decide it within a second
            if wait > 0:
                raise TooManyAttempts(max(1, math.ceil(wait)))
            if outcome is None:
                for scope in scopes:
                    self._reserved[scope] = self._reserved.get(scope, 0) + 1
            elif not outcome:
                for scope in scopes:
                    self._count_failure(scope, now)
        if outcome is False:
            self._poke()

    def _settle(self, scopes: list[str], now: float, failed: bool) -> None:
        """The end of an attempt _admit() reserved: a failure stays counted, else it is gone."""
        with self._lock:
            for scope in scopes:
                left = self._reserved[scope] - 1
                if left:
                    self._reserved[scope] = left
                else:
                    del self._reserved[scope]
                if failed:
                    self._count_failure(scope, now)
        if failed:
            self._poke()

    def _count_failure(self, scope: str, now: float) -> None:
        """One failure more among the pending ones (with the lock held)."""
        pending = self._failures.get(scope)
        if pending is None or pending.since <= now - self._limits.window:
            self._failures[scope] = _Pending(1, now)
        else:
            pending.failures += 1

    # --- last use -----------------------------------------------------------------------------

    def _used_now(self, found: keys.FoundKey, now: float) -> None:
        stored = found.last_used_at
        fresh = utc_now()
        if stored is not None and _seconds_between(stored, fresh) < LAST_USED_RESOLUTION:
            return
        with self._lock:
            queued = self._queued_at.get(found.key_id)
            if queued is not None and now - queued < LAST_USED_RESOLUTION:
                return
            self._queued_at[found.key_id] = now
            self._used[found.key_id] = fresh
        self._poke()

    # --- the background writer ----------------------------------------------------------------

    def _poke(self) -> None:
        with self._lock:
            if self._thread is None and self._background and not self._closing:
                self._thread = threading.Thread(
                    target=self._run, name="shieldwall-auth", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait()
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # kept in memory and tried again at the next wake
                log.exception("could not store authentication bookkeeping; will retry")
            time.sleep(_FLUSH_EVERY)

    def flush(self) -> None:
        """Write what is pending now, after any write under way (the thread calls it; tests and
        shutdown may too): once it returns, every failure and use counted before is stored.

        What is being written stays counted in memory until it has committed, then what was
        written is taken off; no check runs from just before the COMMIT until then (_Handover),
        so none counts a failure twice or not at all."""
        with self._flushing:
            with self._lock:
                failures = {s: _Pending(p.failures, p.since) for s, p in self._failures.items()}
                used = dict(self._used)
            if not failures and not used:
                return
            handing_over = False
            try:
                with self._bookkeeping() as conn:
                    if failures:
                        self._store_failures(conn, failures)
                    if used:
                        keys.record_use(conn, used)
                    if failures:  # the COMMIT that ends this block makes them stored
                        self._handover.begin()
                        handing_over = True
                with self._lock:
                    for scope, written in failures.items():
                        pending = self._failures.get(scope)
                        if pending is not None and pending.since == written.since:
                            pending.failures -= written.failures
                            if pending.failures <= 0:
                                del self._failures[scope]
                    for key_id, at in used.items():
                        if self._used.get(key_id) == at:
                            del self._used[key_id]
            finally:
                if handing_over:
                    self._handover.end()

    @contextlib.contextmanager
    def _bookkeeping(self) -> Iterator[Connection]:
        """A transaction for these rows: on PostgreSQL not behind the writers' lock (it orders
        the change log, which these rows are not on); SQLite has one writer whatever we do."""
        if self._db.is_sqlite:
            with self._db.write() as conn:
                yield conn
        else:
            with self._db.engine.begin() as conn:
                yield conn

    def _store_failures(self, conn: Connection, failures: dict[str, _Pending]) -> None:
        window = self._limits.window
        insert = sqlite_insert if self._db.is_sqlite else postgresql_insert
        oldest = min(p.since for p in failures.values())
        for scope, pending in sorted(failures.items()):  # one order: no deadlock between nodes
            statement = insert(auth_failures).values(
                scope=scope, window_start=pending.since, failures=pending.failures
            )
            stale = auth_failures.c.window_start <= pending.since - window
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[auth_failures.c.scope],
                    set_={
                        "failures": case(
                            (stale, statement.excluded.failures),
                            else_=auth_failures.c.failures + statement.excluded.failures,
                        ),
                        "window_start": case(
                            (stale, statement.excluded.window_start),
                            else_=auth_failures.c.window_start,
                        ),
                    },
                )
            )
        conn.execute(delete(auth_failures).where(auth_failures.c.window_start < oldest - window))

    def close(self) -> None:
        """Stop the thread and write what is pending (at shutdown)."""
        with self._lock:
            self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(Exception):  # the database may be gone; nothing to save then
            self.flush()


def authenticator_for(db: Database, settings: Settings) -> Authenticator:
    """The authenticator an app builds once, with the limits its settings give."""
    return Authenticator(
        db,
        Limits(
            float(settings.auth_failure_window),
            settings.auth_failures_per_address,
            settings.auth_failures_per_account,
        ),
    )


def key_scope(user_id: str) -> str:
    """The scope an account's API key failures are counted in."""
    return f"user:{user_id}"


def password_scope(user_id: str) -> str:
    """The scope an account's password failures are counted in: apart from its keys' (see the
    module's doc), so a stranger failing passwords on it never locks its API keys out."""
    return f"password:{user_id}"


def generation_now(conn: Connection) -> int:
    """auth_generation now, for what is kept by it when no authentication read it."""
    generation = conn.scalar(select(auth_generation.c.generation).where(auth_generation.c.id == 1))
    if generation is None:
        raise RuntimeError("auth_generation has no row: is the database migrated (0024)?")
    return int(generation)


def _unexpired(expires_at: str | None) -> bool:
    return expires_at is None or expires_at > utc_now()


def _seconds_between(earlier: str, later: str) -> float:
    """Seconds between two stored timestamps (the fixed-width form utc_now() writes)."""
    return (parse_timestamp(later) - parse_timestamp(earlier)).total_seconds()
