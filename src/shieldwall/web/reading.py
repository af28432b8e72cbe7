"""The pages for reading: reports (list and one), search, lookup and the member directory. Each
calls the service its JSON twin calls (GET /api/v1/objects?type=report, GET /api/v1/reports/{id},
GET /api/v1/search, POST /api/v1/lookup, GET /api/v1/members and /groups) as the signed-in
user: the same policy, nothing more."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from shieldwall.correlate import service as correlate_service
from shieldwall.correlate.helper import LookupSettings, Options
from shieldwall.correlate.observables import KINDS, observables_of
from shieldwall.errors import Invalid, NotFound
from shieldwall.intel import query
from shieldwall.markings import TLP, tlp_of
from shieldwall.members import service as members_service
from shieldwall.members.sessions import Session
from shieldwall.reports import service as reports_service
from shieldwall.search import service as search_service
from shieldwall.sightings import service as sightings_service
from shieldwall.sightings.score import parse_half_lives
from shieldwall.web.pages import expired_form, render, signed_in, to_login
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_LOOKUP_VALUES = 1000  # a page shows its answer whole; the API takes up to 10,000


def tlp_label(obj: dict[str, Any]) -> str | None:
    level = tlp_of(obj.get("object_marking_refs"))
    return level.label if level is not None else None


def strictest(labels: list[str | None]) -> str | None:
    """The page's TLP: the strictest of what it shows."""
    levels = [TLP.parse(label) for label in labels if label]
    return max(levels).label if levels else None


def summary(obj: dict[str, Any]) -> dict[str, Any]:
    """What a list shows of an object."""
    return {
        "id": obj["id"],
        "type": obj["type"],
        "name": obj.get("name") or obj.get("pattern") or obj.get("value") or obj["id"],
        "tlp": tlp_label(obj),
        "modified": str(obj.get("modified") or obj.get("created") or "")[:10],
        "description": obj.get("description") or "",
    }


def relationship_line(rel: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A relationship as an analyst reads it: source, verb, target, each end by its name
    (`names`: the report's objects and the ends outside it, which the report view sends a
    relationship for only when the viewer may see both)."""

    def named(ref: Any) -> str:
        return names.get(ref) or str(ref)

    return {
        **summary(rel),
        "source": named(rel.get("source_ref")),
        "verb": str(rel.get("relationship_type") or "related-to").replace("-", " "),
        "target": named(rel.get("target_ref")),
    }


def not_found(request: Request, session: Session, message: str) -> HTMLResponse:
    return render("error.html", request, session, status=404, title="Not found", message=message)


@router.get("/reports")
async def reports(
    request: Request, q: str = "", tlp: str = "", cursor: str | None = None
) -> Response:
    """The reports the user may see, newest first, a page at a time, filtered by text and TLP."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    error = None
    try:
        levels = (TLP.parse(tlp),) if tlp else ()
        f = query.ObjectFilter(types=("report",), text=q.strip() or None, tlp=levels)
        page = await run_in_threadpool(
            query.list_objects,
            request.app.state.db,
            session.viewer,
            f,
            cursor=cursor,
            limit=PAGE_SIZE,
            newest_first=True,
        )
        rows = [summary(orjson.loads(body)) for body in page.bodies]
        next_cursor = page.next_cursor
    except (Invalid, ValueError) as exc:
        rows, next_cursor, error = [], None, str(exc)
    return render(
        "reports.html",
        request,
        session,
        rows=rows,
        q=q,
        tlp=tlp,
        tlps=[t.label for t in TLP],
        next_cursor=next_cursor,
        error=error,
        page_tlp=strictest([r["tlp"] for r in rows]),
    )


@router.get("/reports/{report_id}")
async def report(request: Request, report_id: str) -> Response:
    """One report: its objects, relationships, the reports it correlates with, scores."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    settings = request.app.state.settings

    def view() -> dict[str, Any]:
        pieces = reports_service.report_view(
            request.app.state.db,
            session.viewer,
            report_id,
            noisy_threshold=settings.noisy_threshold,
            half_lives=parse_half_lives(settings.decay_half_lives),
        )
        data = orjson.loads(b"".join(pieces))
        # The names of relationships' ends outside the report (both ends are visible, or the
        # view would not have sent the relationship).
        inside = {o["id"] for o in data["objects"]}
        ends = {r.get(k) for r in data["relationships"] for k in ("source_ref", "target_ref")}
        outside = {e for e in ends if isinstance(e, str)} - inside
        titled = correlate_service.titles(request.app.state.db, session.viewer, outside)
        data["outside"] = {i: t["name"] or i for i, t in titled.items()}
        return data

    try:
        data = await run_in_threadpool(view)
    except (NotFound, Invalid):
        return not_found(request, session, "No such report, or not one you may see.")
    head = summary(data["report"])
    objects = []
    for body in data["objects"]:
        o = summary(body)
        scored = data["scores"].get(o["id"], {})
        o["score"] = scored.get("score")
        o["seen"] = (scored.get("sightings") or {}).get("seen")
        o["values"] = [v for v in observables_of(body) if v.kind in KINDS]
        objects.append(o)
    correlated = data["correlated_reports"]
    names = {**data["outside"], **{o["id"]: o["name"] for o in objects}}
    return render(
        "report.html",
        request,
        session,
        report=head,
        body=data["report"],
        objects=objects,
        relationships=[relationship_line(r, names) for r in data["relationships"]],
        correlated=correlated,
        recorded=request.query_params.get("seen"),
        page_tlp=strictest(
            [head["tlp"], *(o["tlp"] for o in objects), *(c["tlp"] for c in correlated)]
        ),
    )


@router.post("/reports/{report_id}/sightings")
async def record_sighting(request: Request, report_id: str) -> Response:
    """One click on a report's value: "seen here"; back to the report."""
    return await record_seen(request, f"/reports/{quote(report_id, safe='')}")


async def record_seen(request: Request, back: str) -> Response:
    """A "Seen VALUE" button's post: a sighting as POST /api/v1/sightings records it (count 1,
    now, the member's default TLP and distribution), then back to the page it was on."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    seen = sightings_service.SightingIn(
        value=form.get("value", ""), value_kind=form.get("kind", "auto")
    )
    try:
        await run_in_threadpool(
            sightings_service.record, request.app.state.db, session.viewer, [seen]
        )
    except Invalid as exc:
        return render(
            "error.html", request, session, status=422, title="Not recorded", message=exc.message
        )
    return RedirectResponse(f"{back}?seen={quote(seen.value, safe='')}", status_code=303)


@router.get("/search")
async def search(
    request: Request, q: str = "", mode: str = "text", cursor: str | None = None
) -> Response:
    """Everything the user may see that matches: text, or an observable value."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    rows: list[dict[str, Any]] = []
    next_cursor = error = None
    if q.strip():
        try:
            if mode not in ("text", "value"):
                raise Invalid("mode is text or value")
            s = search_service.Search(q=q.strip(), mode=mode)  # type: ignore[arg-type]
            found = await run_in_threadpool(
                search_service.search,
                request.app.state.db,
                session.viewer,
                s,
                cursor=cursor,
                limit=PAGE_SIZE,
            )
            rows = [summary(orjson.loads(body)) for body in found.page.bodies]
            for row in rows:
                row["matched"] = found.matched.get(row["id"], [])
            next_cursor = found.page.next_cursor
        except (Invalid, ValueError) as exc:
            error = str(exc)
    return render(
        "search.html",
        request,
        session,
        rows=rows,
        q=q,
        mode=mode,
        next_cursor=next_cursor,
        error=error,
        page_tlp=strictest([r["tlp"] for r in rows]),
    )


@router.get("/lookup")
async def lookup_form(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return to_login()
    return render("lookup.html", request, session, values="", answer=None, error=None)


@router.post("/lookup")
async def lookup(request: Request) -> Response:
    """Pasted values, one a line: the matches the user may see, warnings and scores."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    form = await request.form()
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    text = form.get("values")
    text = text if isinstance(text, str) else ""
    values = [v.strip() for v in text.splitlines() if v.strip() and not v.startswith("#")]
    if len(values) > MAX_LOOKUP_VALUES:
        error = f"at most {MAX_LOOKUP_VALUES} values at a time here (the API takes 10,000)"
        return render(
            "lookup.html", request, session, status=422, values=text, answer=None, error=error
        )
    settings = request.app.state.settings
    helper = request.app.state.lookup_helper

    def answer() -> dict[str, Any]:
        entries = [(v, "auto") for v in values]
        return orjson.loads(helper.answer(LookupSettings.of(settings), session.viewer, entries,
                                          Options()).json())  # fmt: skip

    found = await run_in_threadpool(answer) if values else None
    labels = [m.get("tlp") for r in (found or {}).get("results", []) for m in r["matches"]]
    return render(
        "lookup.html",
        request,
        session,
        values=text,
        answer=found,
        error=None,
        page_tlp=strictest(labels),
    )


@router.get("/members")
async def directory(request: Request) -> Response:
    """The partnership's directory (every member sees who the members are, as GET
    /api/v1/members) and the sharing groups the user's member is in (all of them for an
    instance admin, as GET /api/v1/groups)."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    viewer = session.viewer

    def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with request.app.state.db.read() as conn:
            everyone = members_service.list_members(conn)
            groups = members_service.list_groups(
                conn, None if viewer.is_admin else viewer.member_id
            )
        return everyone, groups

    everyone, groups = await run_in_threadpool(read)
    names = {m["id"]: m["name"] for m in everyone}
    for group in groups:
        group["member_names"] = sorted(names.get(i, i) for i in group["member_ids"])
    return render("members.html", request, session, members=everyone, groups=groups)
