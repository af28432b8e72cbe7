"""REST routes for exports in the formats other tools read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from shieldwall.api.deps import current_viewer, get_db, get_settings
from shieldwall.api.streaming import stream_checked
from shieldwall.db import Database
from shieldwall.exchange.blocklist import BLOCKABLE, Blocklist, blocklist_lines
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
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> StreamingResponse:
    """The values of the visible, current indicators of the given kinds, one per line: for a
    firewall, DNS filter or IDS. Values on a false-positive warning list are left out unless
    `include_benign`; with `min_score`, weaker indicators are too. A domain list holds domains
    shared as domains, and the hosts of shared URLs only with `include_url_hosts`."""
    request = Blocklist(  # 422 if bad
        tuple(dict.fromkeys(kind)), min_score, include_benign, include_url_hosts
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


def register(app: FastAPI) -> None:
    from shieldwall.exchange import csv_routes, misp_routes, text_routes

    app.include_router(router)
    misp_routes.register(app)
    text_routes.register(app)
    csv_routes.register(app)
