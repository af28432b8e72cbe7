"""One object's page: what it is, the reports that hold it and the objects sharing a value with
it, so that an analyst can pivot from a search hit or a report's line. It calls the services
GET /api/v1/objects/{id} and GET /api/v1/objects/{id}/correlations call, as the signed-in user:
an object the user may not see is the same 404 as one that does not exist."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from shieldwall.correlate import service as correlate_service
from shieldwall.correlate.observables import KINDS, observables_of
from shieldwall.errors import Invalid, NotFound
from shieldwall.intel import query
from shieldwall.web.pages import render, signed_in, to_login
from shieldwall.web.reading import not_found, record_seen, strictest, summary

router = APIRouter(include_in_schema=False)

# What the page lists of an object's own properties, in this order, when it has them.
_SHOWN = (
    "pattern", "value", "aliases", "labels", "indicator_types", "malware_types",
    "threat_actor_types", "valid_from", "valid_until", "first_seen", "last_seen", "created",
    "modified", "revoked",
)  # fmt: skip


def _shown(body: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for name in _SHOWN:
        value = body.get(name)
        if value is None or value == []:
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        out.append((name.replace("_", " ").capitalize(), text))
    return out


@router.get("/objects/{object_id}")
async def object_page(request: Request, object_id: str) -> Response:
    """One object with the reports holding it and what shares its values; a report's own page
    says more, so a report goes there."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    db, settings = request.app.state.db, request.app.state.settings

    def view() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        body = orjson.loads(query.get_object(db, session.viewer, object_id).bodies[0])
        if body["type"] == "report":
            return body, {}, [], {}
        shared = correlate_service.correlations(
            db, session.viewer, object_id, noisy_threshold=settings.noisy_threshold
        )
        reports, titles = correlate_service.holding_reports(
            db, session.viewer, object_id, [m["id"] for m in shared["matches"]]
        )
        return body, shared, reports, titles

    try:
        body, shared, reports, titles = await run_in_threadpool(view)
    except (NotFound, Invalid):
        return not_found(request, session, "No such object, or not one you may see.")
    if body["type"] == "report":
        return RedirectResponse(f"/reports/{quote(object_id, safe='')}", status_code=303)
    head = summary(body)
    matches = [
        {
            "id": m["id"],
            "type": m["type"],
            "name": (titles.get(m["id"]) or {}).get("name") or m["id"],
            "tlp": m["tlp"],
            "values": m["values"],
        }
        for m in shared.get("matches", [])
    ]
    return render(
        "object.html",
        request,
        session,
        obj=head,
        properties=_shown(body),
        values=[v for v in observables_of(body) if v.kind in KINDS],
        recorded=request.query_params.get("seen"),
        reports=reports,
        matches=matches,
        noisy=shared.get("noisy_values", []),
        page_tlp=strictest(
            [head["tlp"], *(r["tlp"] for r in reports), *(m["tlp"] for m in matches)]
        ),
    )


@router.post("/objects/{object_id}/sightings")
async def record_sighting(request: Request, object_id: str) -> Response:
    """One click on the object's value: "seen here"; back to the object."""
    return await record_seen(request, f"/objects/{quote(object_id, safe='')}")
