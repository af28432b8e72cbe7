"""REST routes for CSV: indicators in (all or nothing) and the viewer's indicators out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from shieldwall.api.bodies import read_body
from shieldwall.api.deps import current_viewer, get_ingestor, get_settings
from shieldwall.api.openapi import errors
from shieldwall.exchange.csv_format import import_csv
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.routes import PayloadTooLarge
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["exchange"])

_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "CSV with a header row: type,value and optionally tlp,labels,comment",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


@router.post("/imports/csv", status_code=201, responses=errors(400, 403), openapi_extra=_CSV_BODY)
async def import_csv_rows(
    request: Request,
    tlp: Annotated[str, Query(description="TLP of rows without a tlp cell")] = "amber",
    distribution: Annotated[str, Query(description="org, community, federation or all")] = "org",
    viewer: Viewer = Depends(current_viewer),
    ingestor: Ingestor = Depends(get_ingestor),
    settings: Settings = Depends(get_settings),
) -> dict:
    """Share a CSV of indicators: stored whole, or refused whole (400 naming the bad line)."""
    limit = settings.max_bundle_bytes
    body = await read_body(
        request, limit, lambda: PayloadTooLarge(f"imports are limited to {limit} bytes")
    )
    result = await run_in_threadpool(
        import_csv, ingestor, viewer, body, "api:csv", tlp=tlp, distribution=distribution
    )
    return result.as_dict()


def register(app: FastAPI) -> None:
    app.include_router(router)
