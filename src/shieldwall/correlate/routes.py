"""REST routes for correlations and lookups."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.correlate import service
from shieldwall.correlate.observables import Observable, normalise
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.sightings.matcher import WarningMatcher
from shieldwall.sightings.score import parse_half_lives
from shieldwall.web.deps import current_viewer, get_db, get_matcher, get_settings

router = APIRouter(prefix="/api/v1", tags=["correlation"])
MAX_LOOKUP_VALUES = 10_000


class LookupValue(BaseModel):
    value: str = Field(min_length=1, max_length=8192)
    kind: str = "auto"


class LookupIn(BaseModel):
    values: Annotated[list[str | LookupValue], Field(max_length=MAX_LOOKUP_VALUES)]
    min_score: float | None = Field(None, ge=0, le=100, description="leave out weaker indicators")


class PrivateLookupIn(BaseModel):
    prefixes: Annotated[list[str], Field(max_length=MAX_LOOKUP_VALUES)]


@router.get("/objects/{object_id}/correlations")
async def correlations(
    object_id: str,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> dict:
    """Visible objects sharing a value with this one (exact, address in range, URL on a domain)."""
    return await run_in_threadpool(
        service.correlations, db, viewer, object_id, noisy_threshold=settings.noisy_threshold
    )


def _normalised(values: list[str | LookupValue]) -> list[Observable]:
    items, errors = [], []
    for index, entry in enumerate(values):
        wanted = entry if isinstance(entry, LookupValue) else LookupValue(value=entry)
        try:
            observable = normalise(wanted.kind, wanted.value)
        except ValueError as exc:
            observable, reason = None, str(exc)
        else:
            reason = "no rule recognises it; give its kind"
        if observable is None:
            errors.append({"index": index, "value": wanted.value[:200], "message": reason})
        else:
            items.append(observable)
    if errors:
        raise Invalid(
            f"{len(errors)} value(s) could not be read; nothing was looked up", details=errors
        )
    return items


@router.post("/lookup")
async def lookup(
    body: LookupIn,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
    matcher: WarningMatcher = Depends(get_matcher),
) -> Response:
    """Up to 10,000 raw values: each normalised, with the visible objects and reports holding it."""
    half_lives = parse_half_lives(settings.decay_half_lives)

    def answer() -> bytes:
        # All of it off the event loop: normalising 10,000 values and serialising their answer
        # (orjson: the stdlib's encoder took 70 ms of a 4 MB one) are CPU work as much as the
        # lookup is.
        items = _normalised(body.values)
        results = service.lookup(
            db,
            viewer,
            items,
            noisy_threshold=settings.noisy_threshold,
            half_lives=half_lives,
            min_score=body.min_score,
            warnings=matcher.start(items),
        )
        return orjson.dumps({"results": results})

    return Response(await run_in_threadpool(answer), media_type="application/json")


@router.post("/lookup/private")
async def private_lookup(
    body: PrivateLookupIn, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """Prefixes of sha256(lookup key) in, the full digests of visible values under them out."""
    return {"results": await run_in_threadpool(service.private_lookup, db, viewer, body.prefixes)}


def register(app: FastAPI) -> None:
    app.include_router(router)
