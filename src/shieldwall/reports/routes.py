"""REST route for the report view: GET /api/v1/reports/{id}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_db, get_settings
from shieldwall.api.streaming import stream_checked
from shieldwall.db import Database
from shieldwall.policy import Viewer
from shieldwall.reports import service
from shieldwall.settings import Settings
from shieldwall.sightings.score import parse_half_lives

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/reports/{report_id}", response_class=JSONResponse)  # streamed; JSON, documented
async def report_view(
    report_id: str,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    """A report (latest visible version) with the visible objects it refers to, the visible
    relationships around them, the other visible reports it correlates with (through which
    values, from which of its objects) and its indicators' scores. 404 when unknown or not
    visible: the two are never told apart."""
    pieces = await run_in_threadpool(
        service.report_view,
        db,
        viewer,
        report_id,
        noisy_threshold=settings.noisy_threshold,
        half_lives=parse_half_lives(settings.decay_half_lives),
    )
    return await stream_checked(pieces, media_type="application/json")


def register(app: FastAPI) -> None:
    app.include_router(router)
