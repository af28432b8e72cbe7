"""REST route of the dashboard: GET /api/v1/dashboard, the JSON twin of the page at `/`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_db, get_settings
from shieldwall.dashboard import service
from shieldwall.db import Database
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["dashboard"])


@router.get("/dashboard")
async def dashboard(
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
    days: Annotated[
        int, Query(ge=1, le=service.MAX_DAYS, description="the window: this many days to today")
    ] = 30,
    interval: Annotated[
        str | None,
        Query(
            pattern="^(day|week)$",
            description="`day` or `week` per point of the series; by default days up to 62 "
            "days, weeks beyond",
        ),
    ] = None,
) -> dict:
    """What was shared over the window, as this viewer may see it: `shared_over_time`,
    `by_tlp`, `by_member_kind`, `by_sector`, `by_country`, `top_values`, `top_malware`,
    `top_techniques`, `newest_reports`, `sightings_over_time`, `totals`, and `tlp`, the
    strictest TLP among what is counted. Nothing the viewer may not see is counted;
    anonymous contributions count as the community broker's (`anonymous`)."""
    return await run_in_threadpool(
        service.dashboard,
        db,
        viewer,
        days=days,
        interval=interval,
        broker_name=settings.broker_name,
        noisy_threshold=settings.noisy_threshold,
    )


def register(app: FastAPI) -> None:
    app.include_router(router)
