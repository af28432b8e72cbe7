"""REST routes for MISP: events in (and, as they land, events out and feeds)."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_ingestor, get_settings
from shieldwall.api.openapi import errors
from shieldwall.exchange.misp_import import NotMispEvents, import_misp
from shieldwall.intel.ingest import Ingestor, NotJSON
from shieldwall.intel.routes import PayloadTooLarge
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["exchange"])

_MISP_BODY = {
    "requestBody": {
        "required": True,
        "description": 'MISP event JSON: one event (bare or {"Event": ...}), a list of them, '
        'or {"response": [...]} as MISP\'s search answers; up to SHIELDWALL_MAX_BUNDLE_BYTES',
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post("/imports/misp", status_code=201, responses=errors(403), openapi_extra=_MISP_BODY)
async def import_misp_events(
    request: Request,
    viewer: Viewer = Depends(current_viewer),
    ingestor: Ingestor = Depends(get_ingestor),
    settings: Settings = Depends(get_settings),
) -> dict:
    """Share MISP events, converted to STIX 2.1: stored whole, or rejected whole (422)."""
    limit = settings.max_bundle_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"imports are limited to {limit} bytes")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotJSON(f"the MISP document is not JSON: {exc}") from None
    if not document:
        raise NotMispEvents("no MISP event in the document")
    result = await run_in_threadpool(import_misp, ingestor, viewer, document, source="api:misp")
    return result.as_dict()


def register(app: FastAPI) -> None:
    app.include_router(router)
