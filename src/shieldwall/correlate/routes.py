"""REST routes for correlations and lookups."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_db, get_lookup_helper, get_settings
from shieldwall.correlate import service
from shieldwall.correlate.helper import LookupHelper, LookupSettings, Options
from shieldwall.db import Database
from shieldwall.gcpause import gc_paused
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.sightings.score import parse_half_lives

router = APIRouter(prefix="/api/v1", tags=["correlation"])
MAX_LOOKUP_VALUES = 10_000


# Any text: an empty, overlong or unreadable value is reported in `unreadable` (asked.py), never a
# reason to refuse the rest of the lookup.
RawValue = str


class LookupValue(BaseModel):
    value: RawValue
    kind: str = "auto"


class LookupIn(BaseModel):
    values: Annotated[list[RawValue | LookupValue], Field(max_length=MAX_LOOKUP_VALUES)]
    min_score: float | None = Field(
        None, ge=0, le=100, description="leave out weaker indicators, and revoked objects"
    )
    exclude_warninglisted: bool = Field(
        False, description="leave out matches by a value on a false-positive warning list"
    )


class PrivateLookupIn(BaseModel):
    prefixes: Annotated[list[str], Field(max_length=MAX_LOOKUP_VALUES)]
    min_score: float | None = Field(
        None, ge=0, le=100, description="leave out weaker indicators, and revoked objects"
    )
    exclude_warninglisted: bool = Field(
        False, description="leave out matches by a value on a false-positive warning list"
    )


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


@router.post("/lookup")
async def lookup(
    body: LookupIn,
    viewer: Viewer = Depends(current_viewer),
    settings: Settings = Depends(get_settings),
    helper: LookupHelper = Depends(get_lookup_helper),
) -> Response:
    """Up to 10,000 raw values: each normalised, with the visible objects and reports holding it;
    those that cannot be read are skipped and listed in `unreadable` with their positions."""

    def answer() -> bytes:
        # All of it off the event loop: normalising 10,000 values and serialising their answer
        # (orjson: the stdlib's encoder took 70 ms of a 4 MB one) are CPU work as much as the
        # lookup is. None of it makes cycles for the collector to look for.
        entries = [(v, "auto") if isinstance(v, str) else (v.value, v.kind) for v in body.values]
        options = Options(body.min_score, body.exclude_warninglisted)
        with gc_paused():
            return helper.answer(LookupSettings.of(settings), viewer, entries, options).json()

    return Response(await run_in_threadpool(answer), media_type="application/json")


@router.post("/lookup/private")
async def private_lookup(
    body: PrivateLookupIn,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> dict:
    """Prefixes of sha256(lookup key) in, the full digests of visible values under them out."""
    answer = functools.partial(
        service.private_lookup,
        half_lives=parse_half_lives(settings.decay_half_lives),
        min_score=body.min_score,
        exclude_warninglisted=body.exclude_warninglisted,
    )
    return await run_in_threadpool(answer, db, viewer, body.prefixes)


def register(app: FastAPI) -> None:
    app.include_router(router)
