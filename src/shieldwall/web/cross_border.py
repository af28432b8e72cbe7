"""The cross-border view (/incidents/cross-border): incidents hitting more than one country, and
groups of incidents that correlate through shared indicators (the same object, or the same
observable value), as GET /api/v1/incidents/cross-border gives them: built from the incidents
the member takes part in and the intel the user may see only, so a group is shown only to those
who may see every incident in it and the indicators linking them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shieldwall.incidents import figures
from shieldwall.web.pages import render, signed_in, to_login
from shieldwall.web.reading import strictest

router = APIRouter(include_in_schema=False)


@router.get("/incidents/cross-border")
async def cross_border(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return to_login()
    app = request.app
    view = await run_in_threadpool(
        figures.cross_border,
        app.state.db,
        session.viewer,
        app.state.incident_config,
        app.state.incident_clock(),
    )
    shown = view["multi_country"] + [i for g in view["correlated"] for i in g["incidents"]]
    return render(
        "cross_border.html",
        request,
        session,
        view=view,
        page_tlp=strictest([i["tlp"] for i in shown]),
    )
