"""REST routes for exports in the formats other tools read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from shieldwall.api.bodies import read_body
from shieldwall.api.deps import current_viewer, get_db, get_ingestor, get_settings
from shieldwall.api.openapi import errors
from shieldwall.api.streaming import stream_checked
from shieldwall.db import Database
from shieldwall.exchange import filters
from shieldwall.exchange.blocklist import BLOCKABLE, BLOCKING_PAP, Blocklist, blocklist_lines
from shieldwall.exchange.formats import format_for, formats
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.routes import PayloadTooLarge
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.sightings.benign import warning_lists
from shieldwall.sightings.score import parse_half_lives

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])


@router.get("/blocklist", response_class=PlainTextResponse)  # streamed; plain text, documented
async def blocklist(
    kind: Annotated[list[str], Query(description=f"one or more of: {', '.join(BLOCKABLE)}")],
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    include_benign: bool = False,
    include_url_hosts: Annotated[
        bool, Query(description="with kind=domain, also the hosts of shared URLs")
    ] = False,
    tlp: Annotated[str | None, Query(description="the most restricted TLP to hold")] = None,
    label: Annotated[
        list[str] | None, Query(description="only indicators with one of these labels")
    ] = None,
    max_age_days: Annotated[
        int | None, Query(ge=1, description="only indicators added at most this long ago")
    ] = None,
    pap: Annotated[
        str | None,
        Query(description="the most restricted PAP to hold (default green: blocking is active)"),
    ] = None,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    """The values of the visible, current indicators of the given kinds, one per line: for a
    firewall, DNS filter or IDS. Values on a false-positive warning list are left out unless
    `include_benign`; with `min_score`, weaker indicators are too. A domain list holds domains
    shared as domains, and the hosts of shared URLs only with `include_url_hosts`. `tlp`,
    `label` and `max_age_days` narrow it as they narrow a feed; values marked PAP:AMBER or RED
    are left out unless `pap` says so."""
    chosen = {
        "tlp": tlp or "",
        "label": ",".join(label or ()),
        "max_age_days": str(max_age_days or ""),
    }
    request = Blocklist(  # 422 if bad
        tuple(dict.fromkeys(kind)),
        min_score,
        include_benign,
        include_url_hosts,
        filters.selection_of(chosen),
        filters.pap_of(pap, BLOCKING_PAP),
    )
    lines = blocklist_lines(
        db,
        viewer,
        request,
        half_lives=parse_half_lives(settings.decay_half_lives),
        lists=warning_lists(settings.warninglists, settings.cache_dir),
    )
    # The first batch is read before the answer starts: a failure there is an error answer,
    # never a 200 with an empty list; a later one breaks the connection off (api/streaming.py).
    return await stream_checked(lines, media_type="text/plain; charset=utf-8")


formats_router = APIRouter(prefix="/api/v1", tags=["exchange"])


@formats_router.get("/formats")
async def list_formats() -> dict:
    """The exchange formats (exchange/formats.py) and whether each imports and/or exports."""
    return {"formats": [fmt.as_dict() for fmt in formats()]}


@formats_router.post("/imports/{name}", status_code=201, responses=errors(403, 404))
async def import_format(
    name: str,
    request: Request,
    viewer: Viewer = Depends(current_viewer),
    ingestor: Ingestor = Depends(get_ingestor),
    settings: Settings = Depends(get_settings),
) -> dict:
    """Share a file in a registered format (GET /api/v1/formats), converted to STIX 2.1 and
    stored whole through ingest, or rejected whole; the query string holds the format's import
    options. An unknown format is a 404."""
    fmt = format_for(name, direction="import")
    assert fmt.importer is not None
    fmt.check_options(request.query_params.keys(), direction="import")
    options = {k: ",".join(request.query_params.getlist(k)) for k in request.query_params}
    limit = settings.max_bundle_bytes
    body = await read_body(
        request, limit, lambda: PayloadTooLarge(f"imports are limited to {limit} bytes")
    )
    result = await run_in_threadpool(
        fmt.importer, ingestor, viewer, body, f"api:{fmt.name}", options
    )
    return result.as_dict()


@formats_router.get("/exports/{name}", response_class=StreamingResponse, responses=errors(404))
async def export_format(
    name: str,
    request: Request,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    """What `viewer` may see, in a registered format; the query string holds the format's
    options. Streamed. An unknown format is a 404."""
    fmt = format_for(name, direction="export")
    assert fmt.exporter is not None
    fmt.check_options(request.query_params.keys())
    options = {k: ",".join(request.query_params.getlist(k)) for k in request.query_params}
    pieces = fmt.exporter(db, viewer, settings, options)
    return await stream_checked(pieces, media_type=fmt.media_type)


import_format.checks_own_query = True  # type: ignore[attr-defined]  # see api/deps.py
export_format.checks_own_query = True  # type: ignore[attr-defined]  # see api/deps.py


def register(app: FastAPI) -> None:
    from shieldwall.exchange import misp_routes, text_routes

    app.include_router(router)
    misp_routes.register(app)
    text_routes.register(app)
    app.include_router(formats_router)  # last: the formats' own routes above win
