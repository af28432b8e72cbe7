"""REST routes for MISP: events in (and, as they land, events out and feeds)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from shieldwall.api.bodies import read_body
from shieldwall.api.deps import current_viewer, get_db, get_ingestor, get_settings
from shieldwall.api.openapi import errors
from shieldwall.api.streaming import stream_checked
from shieldwall.db import Database
from shieldwall.errors import NotFound
from shieldwall.exchange.misp_document import NotMispEvents
from shieldwall.exchange.misp_export import misp_events, misp_response_json
from shieldwall.exchange.misp_feed import feed_event, hashes_csv, manifest
from shieldwall.exchange.misp_import import import_misp
from shieldwall.intel.ingest import Ingestor, NotJSON
from shieldwall.intel.query import ObjectFilter
from shieldwall.intel.routes import PayloadTooLarge, csv_values
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.taxii.collections import Collection, collection_for
from shieldwall.taxii.protocol import TaxiiError

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
    body = await read_body(
        request, limit, lambda: PayloadTooLarge(f"imports are limited to {limit} bytes")
    )
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise NotJSON(f"the MISP document is not JSON: {exc}") from None
    if not document:
        raise NotMispEvents("no MISP event in the document")
    result = await run_in_threadpool(import_misp, ingestor, viewer, document, source="api:misp")
    return result.as_dict()


@router.get("/exports/misp", response_class=StreamingResponse)
async def export_misp_events(
    report: Annotated[
        list[str] | None, Query(description="report ids (default: every report)")
    ] = None,
    label: Annotated[str | None, Query(description="only reports with this label (tag)")] = None,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> StreamingResponse:
    """The reports you may see as MISP events, `{"response": [{"Event": ...}, ...]}` as MISP's
    search answers, each holding only the attributes, objects, references, tags and sightings
    you may see. Streamed; each batch is audited."""
    f = ObjectFilter(types=("report",), ids=csv_values(report), label=label)
    return await stream_checked(
        misp_response_json(misp_events(db, viewer, f)), media_type="application/json"
    )


feeds = APIRouter(prefix="/feeds/misp", tags=["exchange"])


def _feed(db: Database, viewer: Viewer, feed: str) -> Collection:
    """The TAXII collection a feed serves, if the viewer is shown it; 404 for any other."""
    with db.read() as conn:
        try:
            return collection_for(conn, viewer, feed)
        except TaxiiError:
            raise NotFound("no such feed") from None


@feeds.get("/{feed}/manifest.json")
async def feed_manifest(
    feed: str, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> Response:
    """A MISP feed's manifest: each event the feed holds for you, by uuid. A feed is a TAXII
    collection (its id), served as MISP to MISP instances that add it as a feed."""

    def read() -> bytes:
        return orjson.dumps(manifest(db, viewer, _feed(db, viewer, feed)))

    return Response(await run_in_threadpool(read), media_type="application/json")


@feeds.get("/{feed}/hashes.csv", response_class=PlainTextResponse)
async def feed_hashes(
    feed: str, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> StreamingResponse:
    """A MISP feed's hashes.csv: `md5 of each attribute value,event uuid`, one a line."""
    collection = await run_in_threadpool(_feed, db, viewer, feed)
    return await stream_checked(
        hashes_csv(db, viewer, collection), media_type="text/csv; charset=utf-8"
    )


@feeds.get("/{feed}/{event_uuid}.json")
async def feed_event_json(
    feed: str, event_uuid: str, viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    """One event of a MISP feed, `{"Event": ...}`."""

    def read() -> bytes:
        return orjson.dumps(feed_event(db, viewer, _feed(db, viewer, feed), event_uuid))

    return Response(await run_in_threadpool(read), media_type="application/json")


def register(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(feeds)
