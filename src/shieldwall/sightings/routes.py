"""REST routes for sightings and indicator scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_db, get_settings
from shieldwall.api.openapi import errors
from shieldwall.correlate.observables import lookup_key, normalise
from shieldwall.db import Database
from shieldwall.errors import Invalid, NotFound
from shieldwall.intel import query
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp, parse_timestamp
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.sightings import service
from shieldwall.sightings.score import parse_half_lives

router = APIRouter(prefix="/api/v1", tags=["sightings"])
MAX_SIGHTINGS = 10_000


class SightingModel(BaseModel):
    # A misspelt field ("kind" for "type") must not quietly become a default "seen".
    model_config = ConfigDict(extra="forbid")

    value: str = Field(min_length=1, max_length=8192)
    value_kind: str = "auto"
    type: str = Field("seen", description="seen, false-positive or expired")
    count: int = 1
    seen_at: str | None = None
    tlp: str | None = None
    distribution: str | None = None
    sharing_group: str | None = None
    anonymous: bool = False


class SightingsIn(BaseModel):
    sightings: Annotated[list[SightingModel], Field(min_length=1, max_length=MAX_SIGHTINGS)]


@router.post("/sightings", status_code=201, responses=errors(403))
async def post_sightings(
    body: SightingsIn, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """Report values seen, false positives or expired ones; all stored, or none (422)."""
    entries = [
        service.SightingIn(
            value=s.value,
            value_kind=s.value_kind,
            kind=s.type,
            count=s.count,
            seen_at=s.seen_at,
            tlp=s.tlp,
            distribution=s.distribution,
            sharing_group=s.sharing_group,
            anonymous=s.anonymous,
        )
        for s in body.sightings
    ]
    return {"recorded": await run_in_threadpool(service.record, db, viewer, entries)}


@router.get("/sightings")
async def get_sightings(
    value: str,
    kind: str = "auto",
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> dict:
    """What the viewer may see of the sightings of one value."""
    try:
        observable = normalise(kind, value)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if observable is None:
        raise Invalid(f"{value[:100]!r} cannot be read as {kind}")
    key = lookup_key(observable)

    def read() -> dict:
        with db.read() as conn:
            tally = service.tallies_by_value(conn, viewer, [key]).get(key, service.Tally())
        return {"kind": observable.kind, "value": observable.value, **tally.as_dict()}

    return await run_in_threadpool(read)


@router.get("/objects/{object_id}/score")
async def get_score(
    object_id: str,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
    at: Annotated[str | None, Query(description="score at this time instead of now")] = None,
) -> dict:
    """An indicator's score for this viewer, with the visible sightings behind it."""
    if at is not None and not is_timestamp(at):
        raise Invalid("at must be an RFC 3339 UTC timestamp such as 2026-01-31T12:00:00Z")
    now = parse_timestamp(normalize_timestamp(at)) if at else None
    half_lives = parse_half_lives(settings.decay_half_lives)

    def read() -> dict:
        with db.read() as conn:
            pks = query.latest_visible_pks(conn, viewer, [object_id])
            return service.indicator_scores(conn, viewer, pks, half_lives, now)

    scores = await run_in_threadpool(read)
    if not scores:
        raise NotFound("no such indicator")
    return {"id": object_id, **next(iter(scores.values()))}


def register(app: FastAPI) -> None:
    app.include_router(router)
