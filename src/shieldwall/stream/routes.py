"""GET /api/v1/stream (Server-Sent Events of every change the subscriber may see) and
/api/v1/webhooks (the same events POSTed to a member's receiver)."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import client_address, current_viewer, get_db, get_settings
from shieldwall.api.openapi import errors
from shieldwall.db import Database
from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.jobs import Job
from shieldwall.markings import TLP
from shieldwall.policy import Viewer
from shieldwall.selections.service import Selection
from shieldwall.settings import Settings
from shieldwall.sightings.score import parse_half_lives
from shieldwall.stream import events, webhooks
from shieldwall.stream.feed import ChangeFeed
from shieldwall.stream.reader import ChangeReader

router = APIRouter(prefix="/api/v1", tags=["stream"])
EVENTS_PER_READ = 500
RETRY_MS = 3000  # what a browser's EventSource waits before it reconnects
AUDIT_SECONDS = 10.0  # a busy stream's reads are audited together at most this long


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "an event stream"}},
)
async def stream(
    request: Request,
    type: Annotated[list[str], Query(description="only objects of these STIX types")] = [],  # noqa: B006
    max_tlp: Annotated[str | None, Query(description="only objects at most this TLP")] = None,
    label: Annotated[list[str], Query(description="only objects with one of these labels")] = [],  # noqa: B006
    min_score: Annotated[
        float | None, Query(ge=0, le=100, description="only indicators scoring at least this")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Query(
            description="resume after this event id (as the Last-Event-ID header does); "
            "0 replays the whole change log"
        ),
    ] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    """Server-Sent Events, one per change the caller may see: `object` (new), `version`,
    `revoked`, `sighting`, `correlation` (after a new object's or version's event, under its id:
    the other objects the caller may see that share a value with it, or an address inside a
    range), `removed`, `erased`, and
    `incident` (a timeline entry of an incident the caller takes part in, such as an
    escalation). Each event's `id` is its position in the
    change log and its `data` a JSON object with at least `id` and `type`; reconnect with the
    `Last-Event-ID` header (or `last_event_id`) to resume exactly after it. Without one the
    stream starts with changes made from now on. Quiet streams get a comment line every
    $SHIELDWALL_STREAM_KEEPALIVE_SECONDS."""
    selection = _selection(type, max_tlp, label, min_score)
    filters = events.Filters(
        selection, parse_half_lives(settings.decay_half_lives), settings.noisy_threshold
    )
    given = last_event_id_header if last_event_id_header is not None else last_event_id
    if given is not None and given.strip():
        start = events.Position.parse(given)
    else:
        start = await run_in_threadpool(events.head, db)
    feed: ChangeFeed = request.app.state.change_feed
    reader: ChangeReader = request.app.state.change_reader
    authenticator = request.app.state.authenticator
    key = request.headers["authorization"].partition(" ")[2].strip()
    address = client_address(request)

    async def body() -> AsyncIterator[bytes]:
        nonlocal viewer
        position = start
        # Spread over the interval: a hundred subscribers that connected together must not all
        # check their credentials again in the same instant (each check is several queries).
        checked = time.monotonic() - random.uniform(0, settings.stream_keepalive_seconds / 2)
        audit = _ReadAudit(request.app.state.audit_writer, start)
        yield f"retry: {RETRY_MS}\n: stream from {position}\n\n".encode()
        try:
            while True:
                if time.monotonic() - checked >= settings.stream_keepalive_seconds:
                    # A revoked key, a disabled user or a changed group membership applies to
                    # open streams too, busy or quiet, from the next keep-alive interval on.
                    checked = time.monotonic()
                    try:
                        viewer = await run_in_threadpool(authenticator.viewer_for, key, address)
                    except ShieldwallError:  # refused, or throttled
                        yield b'event: closed\ndata: {"reason": "credentials no longer valid"}\n\n'
                        return
                generation = feed.generation
                got, position = await run_in_threadpool(
                    reader.read, viewer, position, filters, EVENTS_PER_READ
                )
                if got:
                    yield b"".join(e.sse() for e in got)
                    audit.add(viewer, got, position)
                    continue
                audit.record(viewer)  # quiet: what it was sent is in the log before it waits
                if not await feed.wait(generation, settings.stream_keepalive_seconds):
                    yield b": keep-alive\n\n"
        finally:  # the subscriber went away
            audit.record(viewer)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


class _ReadAudit:
    """What one subscriber was sent, for the audit log: one entry when the stream goes quiet,
    ends, or has been busy for AUDIT_SECONDS, not one per read (a hundred busy subscribers
    wrote a thousand entries a second). An entry names the positions it covers, from which the
    change log and the policy give back every event sent, its count and its first 100 ids."""

    def __init__(self, writer: Any, start: events.Position) -> None:
        self._writer = writer
        self._from = start
        self._through = start
        self._count = 0
        self._objects: list[str] = []
        self._since = time.monotonic()

    def add(self, viewer: Viewer, got: list[events.Event], through: events.Position) -> None:
        self._count += len(got)
        self._objects += [e.data["id"] for e in got[: 100 - len(self._objects)]]
        self._through = through
        if time.monotonic() - self._since >= AUDIT_SECONDS:
            self.record(viewer)

    def record(self, viewer: Viewer) -> None:
        if self._count:
            self._writer.record_later(viewer, "stream.read", {
                "count": self._count, "from": str(self._from), "through": str(self._through),
                "objects": self._objects,
            })  # fmt: skip
        self._from, self._count, self._objects = self._through, 0, []
        self._since = time.monotonic()


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="http(s) URL of the receiver", max_length=2000)
    type: list[str] = Field(default=[], description="only objects of these STIX types")
    max_tlp: str | None = Field(default=None, description="only objects at most this TLP")
    label: list[str] = Field(default=[], description="only objects with one of these labels")
    min_score: float | None = Field(default=None, ge=0, le=100)
    from_position: str | None = Field(
        default=None, description="deliver what came after this stream position (default: now)"
    )


@router.post("/webhooks", status_code=201, responses=errors(403))
async def create_webhook(
    body: WebhookIn,
    request: Request,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> dict:
    """A webhook for your member (member-admins and admins): the stream's events, as you may
    see them, POSTed in batches to `url`, signed with `X-Shieldwall-Signature: sha256=<hex
    HMAC-SHA256 of the body>` keyed by the `secret` shown once in this answer."""
    selection = _selection(body.type, body.max_tlp, body.label, body.min_score)
    if body.from_position is not None:
        start = events.Position.parse(body.from_position)
    else:
        start = await run_in_threadpool(events.head, db)
    new = webhooks.NewWebhook(body.url, selection)
    return await run_in_threadpool(
        webhooks.create, db, viewer, new, request.app.state.webhook_networks, start
    )


@router.get("/webhooks", responses=errors(403))
async def list_webhooks(
    viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """Your member's webhooks (all, for admins) with their delivery state: `position`,
    `delivered`, `failures` in a row, `last_error`, `next_attempt_at`. Never the secret."""
    return {"webhooks": await run_in_threadpool(webhooks.listing, db, viewer)}


@router.get("/webhooks/{webhook_id}")
async def get_webhook(
    webhook_id: str, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """One webhook and its delivery state; 404 for one you do not manage."""
    return await run_in_threadpool(webhooks.get, db, viewer, webhook_id)


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(
    webhook_id: str, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> Response:
    """Stop and remove a webhook."""
    await run_in_threadpool(webhooks.delete, db, viewer, webhook_id)
    return Response(status_code=204)


def _selection(
    types: list[str], max_tlp: str | None, labels: list[str], min_score: float | None
) -> Selection:
    try:
        ceiling = TLP.parse(max_tlp) if max_tlp is not None else None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return Selection(  # Invalid (400) for a bad type name
        types=tuple(dict.fromkeys(types)),
        max_tlp=ceiling,
        labels=tuple(dict.fromkeys(labels)),
        min_score=min_score,
    )


def register(app: FastAPI) -> None:
    """Mount the routes and add the webhook delivery job; a bad network setting stops the
    start here."""
    settings: Settings = app.state.settings
    # One reader of the change log for every subscriber of this process.
    app.state.change_reader = ChangeReader(app.state.db, app.state.change_feed)
    app.state.webhook_networks = webhooks.allowed_networks(settings.webhook_networks)
    deliverer = webhooks.Deliverer(
        app.state.db,
        app.state.change_reader,
        app.state.webhook_networks,
        parse_half_lives(settings.decay_half_lives),
        settings.noisy_threshold,
    )
    app.state.webhook_deliverer = deliverer
    app.state.scheduler.add(Job(webhooks.JOB_NAME, webhooks.EVERY_SECONDS, deliverer.run))
    app.include_router(router)
