"""Webhooks: the stream's events POSTed in batches to a member's URL, signed, never lost.

Each webhook reads the change log from its own persisted position (`position`), as the stream
does and through the same reader (stream/events.py), with the rights of the user who made it:
what that user may not see is never sent, and a user disabled since stops its deliveries. The
position moves only after the receiver answered 2xx, so a crash, a restart or a receiver that is
down loses nothing: the batch is sent again (receivers dedupe on the events' ids). A failed
delivery is retried with exponential backoff (2 s doubling to an hour), and its error is kept on
the webhook for the member's admins to read.

Delivery runs as one scheduled job (jobs.py), so exactly one process of a cluster delivers.

The receiver is checked against server-side request forgery at creation and again before every
delivery (a name may resolve elsewhere later): an address that is loopback, private, link-local,
multicast or reserved is refused unless it is inside $SHIELDWALL_WEBHOOK_NETWORKS.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import Connection, select, update

from shieldwall.audit import service as audit
from shieldwall.db import Database, utc_now
from shieldwall.errors import Forbidden, Invalid, NotFound
from shieldwall.members.service import viewer_for_user
from shieldwall.members.tables import users
from shieldwall.policy import Viewer, may_manage_member
from shieldwall.selections.service import Selection, parse
from shieldwall.stream import events
from shieldwall.stream.reader import ChangeReader
from shieldwall.stream.tables import webhooks

log = logging.getLogger(__name__)

JOB_NAME = "webhooks"
EVERY_SECONDS = 1.0
BATCH = 500  # events in one POST
TIMEOUT_SECONDS = 10.0
_BACKOFF_FIRST, _BACKOFF_MOST = 2, 3600
SIGNATURE_HEADER = "X-Shieldwall-Signature"


def allowed_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """$SHIELDWALL_WEBHOOK_NETWORKS: comma-separated CIDRs; ValueError naming a bad one."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} in SHIELDWALL_WEBHOOK_NETWORKS is not a network") from None
    return tuple(found)


def check_receiver(url: str, networks: Sequence[Any]) -> None:
    """Invalid unless `url` is http(s) to a host whose every address is public or allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("a webhook URL must be http:// or https:// with a host")
    if parts.username or parts.password:
        raise Invalid("a webhook URL may not hold credentials; the signature authenticates us")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise Invalid(f"the webhook's host cannot be resolved: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if any(address in network for network in networks):
            continue
        if not address.is_global or address.is_multicast:
            raise Invalid(
                f"the webhook's host resolves to {address}, an address that is not public; "
                "an admin may allow such networks with SHIELDWALL_WEBHOOK_NETWORKS"
            )


def signature(secret: str, body: bytes) -> str:
    """What X-Shieldwall-Signature carries: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class NewWebhook:
    url: str
    selection: Selection
    member_id: str | None = None  # an admin may make one for another member's user


def create(
    db: Database, viewer: Viewer, new: NewWebhook, networks: Sequence[Any], start: events.Position
) -> dict[str, Any]:
    """A webhook for the viewer's member (member-admins, admins), delivering from `start`."""
    member_id = new.member_id or viewer.member_id
    if not may_manage_member(viewer, member_id):
        raise Forbidden("only the member's member-admins and instance admins manage its webhooks")
    if member_id != viewer.member_id:
        raise Invalid("a webhook reads with its maker's rights: make it as a user of the member")
    check_receiver(new.url, networks)
    webhook_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
    with db.write() as conn:
        conn.execute(webhooks.insert().values(
            id=webhook_id, member_id=member_id, user_id=viewer.user_id, url=new.url,
            secret=secret, selection=orjson.dumps(new.selection.as_dict()).decode(),
            position=str(start), active=True, failures=0, delivered=0, created_at=utc_now(),
        ))  # fmt: skip
        audit.append(conn, viewer, "webhook.create", {"webhook": webhook_id, "url": new.url})
        row = _row(conn, webhook_id)
    return {**as_dict(row), "secret": secret}


def listing(db: Database, viewer: Viewer) -> list[dict[str, Any]]:
    with db.read() as conn:
        query = select(webhooks).order_by(webhooks.c.created_at)
        if not viewer.is_admin:
            if not may_manage_member(viewer, viewer.member_id):
                raise Forbidden("only member-admins and admins manage webhooks")
            query = query.where(webhooks.c.member_id == viewer.member_id)
        return [as_dict(r) for r in conn.execute(query)]


def get(db: Database, viewer: Viewer, webhook_id: str) -> dict[str, Any]:
    with db.read() as conn:
        return as_dict(_managed(conn, viewer, webhook_id))


def delete(db: Database, viewer: Viewer, webhook_id: str) -> None:
    with db.write() as conn:
        _managed(conn, viewer, webhook_id)
        conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id))
        audit.append(conn, viewer, "webhook.delete", {"webhook": webhook_id})


def _managed(conn: Connection, viewer: Viewer, webhook_id: str) -> Any:
    """The webhook, if the viewer manages its member; NotFound otherwise (as if absent)."""
    row = _row(conn, webhook_id)
    if row is None or not may_manage_member(viewer, row.member_id):
        raise NotFound("no such webhook")
    return row


def _row(conn: Connection, webhook_id: str) -> Any:
    return conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()


def as_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "member_id": row.member_id, "user_id": row.user_id, "url": row.url,
        "selection": orjson.loads(row.selection), "position": row.position,
        "active": row.active, "failures": row.failures, "last_error": row.last_error,
        "last_attempt_at": row.last_attempt_at, "last_delivered_at": row.last_delivered_at,
        "next_attempt_at": row.next_attempt_at, "delivered": row.delivered,
        "created_at": row.created_at,
    }  # fmt: skip


class Deliverer:
    """The job: for each active webhook that is due, POST what it has not yet been sent."""

    def __init__(
        self,
        db: Database,
        reader: ChangeReader,
        networks: Sequence[Any],
        half_lives: dict[str, float],
        noisy_threshold: int = 50,
    ) -> None:
        self._db, self._reader = db, reader
        self._networks, self._half_lives = networks, half_lives
        self._noisy_threshold = noisy_threshold

    def run(self) -> int:
        """Deliver one batch per due webhook; how many events were delivered."""
        now = utc_now()
        with self._db.read() as conn:
            due = conn.execute(
                select(webhooks).where(
                    webhooks.c.active.is_(True),
                    (webhooks.c.next_attempt_at.is_(None)) | (webhooks.c.next_attempt_at <= now),
                )
            ).all()
        if not due:
            return 0
        # A client per run, closed after it: a run a second needs no pool kept open between.
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            return sum(self._deliver(client, row) for row in due)

    def _deliver(self, client: httpx.Client, row: Any) -> int:
        try:
            with self._db.read() as conn:
                enabled = conn.scalar(select(users.c.disabled).where(users.c.id == row.user_id))
                if enabled is None or enabled:
                    raise Invalid("the user whose rights it reads with is disabled or gone")
                viewer = viewer_for_user(conn, row.user_id)
            filters = events.Filters(
                parse(orjson.loads(row.selection)), self._half_lives, self._noisy_threshold
            )
            got, through = self._reader.read(
                viewer, events.Position.parse(row.position), filters, BATCH
            )
        except Exception as exc:  # the webhook cannot be read for: say so to its admins
            self._failed(row, f"{type(exc).__name__}: {exc}")
            return 0
        if not got:
            if str(through) != row.position:  # passed over what it may not see
                self._moved(row, through, 0)
            return 0
        body = orjson.dumps({
            "webhook": row.id, "through": str(through),
            "events": [{"id": str(e.position), "event": e.kind, "data": e.data} for e in got],
        })  # fmt: skip
        try:
            check_receiver(row.url, self._networks)
            answer = client.post(row.url, content=body, headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: signature(row.secret, body),
                "X-Shieldwall-Webhook": row.id, "User-Agent": "Shieldwall-Webhook/1",
            })  # fmt: skip
        except (httpx.HTTPError, Invalid) as exc:
            self._failed(row, f"{type(exc).__name__}: {exc}")
            return 0
        if not 200 <= answer.status_code < 300:
            self._failed(row, f"the receiver answered {answer.status_code}")
            return 0
        self._moved(row, through, len(got))
        audit.record(self._db, viewer, "webhook.deliver", {
            "webhook": row.id, "count": len(got), "through": str(through),
            "objects": [e.data["id"] for e in got][:100],
        })  # fmt: skip
        return len(got)

    def _moved(self, row: Any, through: events.Position, count: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == row.id, webhooks.c.position == row.position)
                .values(position=str(through), failures=0, last_error=None, next_attempt_at=None,
                        last_attempt_at=utc_now(), delivered=webhooks.c.delivered + count,
                        last_delivered_at=utc_now() if count else webhooks.c.last_delivered_at)
            )  # fmt: skip

    def _failed(self, row: Any, error: str) -> None:
        failures = row.failures + 1
        wait = min(_BACKOFF_FIRST * 2 ** (failures - 1), _BACKOFF_MOST)
        retry = datetime.now(UTC) + timedelta(seconds=wait)
        log.warning("webhook %s: delivery failed (%s); retry in %d s", row.id, error, wait)
        with self._db.write() as conn:
            conn.execute(
                update(webhooks)
                .where(webhooks.c.id == row.id)
                .values(failures=failures, last_error=error[:2000], last_attempt_at=utc_now(),
                        next_attempt_at=retry.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            )  # fmt: skip
