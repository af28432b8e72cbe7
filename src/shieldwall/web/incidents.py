"""The incident pages: the incidents the user's member takes part in (/incidents), one incident
(/incidents/{id}), the tasked member's answer and withdrawal, and the coordinator's tasking and
release from it. Each calls the service its JSON twin calls (GET /api/v1/incidents, GET
/api/v1/incidents/{id} with its timeline and proposals, POST .../taskings, .../accept,
.../decline, .../release) as the signed-in user, with `now` from the app's incident clock: the
same policy, nothing more.

Negative first: an incident the member does not take part in is the same 404 page, word for
word, as an unknown id, on every page and form here; lists say no total.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from shieldwall.errors import Conflict, Forbidden, Invalid, NotFound, ShieldwallError
from shieldwall.incidents import service, taskings
from shieldwall.incidents.clocks import describe_seconds
from shieldwall.incidents.config import (
    CAPABILITIES,
    PEER_KIND,
    RESOLUTIONS,
    SEVERITIES,
    STATUSES,
)
from shieldwall.incidents.evidence import CUSTODY_ACTIONS, HASH_LENGTHS
from shieldwall.incidents.status import MOVES
from shieldwall.incidents.work import TASK_STATUSES
from shieldwall.members import service as members_service
from shieldwall.members.sessions import Session
from shieldwall.policy import STANDING_TASKINGS
from shieldwall.web.pages import TLP_NAMES, expired_form, render, signed_in, to_login
from shieldwall.web.reading import strictest
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TIMELINE_PAGE = 200
ROLES = ("requester", "coordinator", "responder")
# The same words for an unknown incident and one the member takes no part in (never told apart).
NO_SUCH_INCIDENT = "No such incident, or not one you take part in."
STATUS_OF = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422}
# What the page says after a form of it did its work (`?done=`).
DONE = {
    "tasked": "Responder tasked; it has until the time shown to answer.",
    "accepted": "You accepted the tasking.",
    "noted": "Written on the timeline.",
    "status": "Status changed.",
    "resumed": "The clocks run again.",
    "closed": "The incident is closed.",
    "task-added": "Task given.",
    "task-updated": "Task updated.",
    "evidence": "Evidence recorded.",
    "custody": "Custody recorded.",
    "linked": "Intel linked.",
    "unlinked": "Link removed.",
    "shared": "Indicators shared as intel and linked.",
    "handover": "Lead handed over.",
    "released": "Responder released; nobody is tasked in its place unless you task one.",
    "edited": "Saved; a new severity gives the clocks its targets.",
}


def not_found(request: Request, session: Session) -> HTMLResponse:
    return render(
        "error.html", request, session, status=404, title="Not found", message=NO_SUCH_INCIDENT
    )


def refused(request: Request, session: Session, exc: ShieldwallError) -> HTMLResponse:
    """A service's refusal as a page: NotFound is always the one 404 page above."""
    if isinstance(exc, NotFound):
        return not_found(request, session)
    status = next((s for kind, s in STATUS_OF.items() if isinstance(exc, kind)), 400)
    return render(
        "error.html", request, session, status=status, title="Not done", message=exc.message
    )


def _now(request: Request) -> Any:
    return request.app.state.incident_clock()


def _pick(value: str, known: tuple[str, ...]) -> str:
    """A filter's value if it is a known word, else '' (any): a page never fails on a filter."""
    return value if value in known else ""


@router.get("/incidents")
async def incidents(
    request: Request,
    status: str = "",
    severity: str = "",
    role: str = "",
    cursor: str | None = None,
    answered: str = "",
) -> Response:
    """The incidents the member takes part in, newest first, filtered, each with its clocks."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    status, severity = _pick(status, STATUSES), _pick(severity, SEVERITIES)
    role = _pick(role, ROLES)
    f = service.ListFilter(
        (status,) if status else (), (severity,) if severity else (), role or None
    )
    app, error = request.app, None
    try:
        page = await run_in_threadpool(
            lambda: service.list_incidents(
                app.state.db,
                session.viewer,
                app.state.incident_config,
                f,
                cursor=cursor,
                limit=PAGE_SIZE,
                now=_now(request),
            )
        )
    except Invalid as exc:  # a cursor from another filter, or mangled
        page, error = {"incidents": [], "next": None}, exc.message
    filters = {"status": status, "severity": severity, "role": role}
    next_url = None
    if page["next"]:
        next_url = "/incidents?" + urlencode({**filters, "cursor": page["next"]})
    return render(
        "incidents.html",
        request,
        session,
        rows=page["incidents"],
        filters=filters,
        statuses=STATUSES,
        severities=SEVERITIES,
        capabilities=CAPABILITIES,
        roles=ROLES,
        next_url=next_url,
        error=error,
        answered=answered if answered in ("accepted", "declined", "withdrawn") else "",
        page_tlp=strictest([r["tlp"] for r in page["incidents"]]),
    )


def _read_incident(request: Request, session: Session, incident_id: str, after: int) -> Any:
    """The incident, its timeline page and (for requester and coordinator) the proposals."""
    app, viewer = request.app, session.viewer
    now = _now(request)
    incident = service.get_incident(
        app.state.db, viewer, app.state.incident_config, incident_id, now
    )
    timeline = service.get_timeline(
        app.state.db, viewer, incident_id, after=after, limit=TIMELINE_PAGE
    )
    proposals = None
    if {"requester", "coordinator"} & set(incident["your_roles"]):
        proposals = taskings.proposals(app.state.db, viewer, incident_id)
    leads: list[dict[str, Any]] = []
    with app.state.db.read() as conn:
        if incident["you_may"]["coordinate"]:  # whom the lead may go to: the directory's members
            leads = [
                m
                for m in members_service.list_members(conn)
                if m["kind"] != PEER_KIND and m["id"] != incident["coordinator"]["id"]
            ]
        # The people a task of the viewer's own member may go to. Another member's users are
        # never listed: the API names a task's user by id only, and so does the page.
        people = [
            {"id": u["id"], "email": u["email"]}
            for u in members_service.list_users(conn, viewer.member_id)
            if not u["disabled"] and u["role"] != "reader"
        ]
    incident["lead_candidates"] = leads
    incident["people"] = people
    return incident, timeline, proposals


async def incident_page(
    request: Request,
    session: Session,
    incident_id: str,
    *,
    after: int = 0,
    status: int = 200,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    try:
        incident, timeline, proposals = await run_in_threadpool(
            _read_incident, request, session, incident_id, after
        )
    except ShieldwallError as exc:
        return refused(request, session, exc)
    for clock in incident["clocks"]:
        clock["target"] = describe_seconds(clock["target_seconds"])
        clock["elapsed"] = describe_seconds(clock["elapsed_seconds"])
        clock["remaining"] = describe_seconds(clock["remaining_seconds"])
    overdue = [c["clock"] for c in incident["clocks"] if c["state"] == "breached"]
    overdue += [t["title"] for t in incident["tasks"] if t["overdue"]]
    owners = [incident["requester"], incident["coordinator"]]
    owners += [t["member"] for t in incident["responders"] if t["state"] in STANDING_TASKINGS]
    owners = list({o["id"]: {"id": o["id"], "name": o["name"]} for o in owners}.values())
    return render(
        "incident.html",
        request,
        session,
        status=status,
        incident=incident,
        timeline=timeline,
        proposals=proposals,
        overdue=overdue,
        owners=owners,
        moves=MOVES.get(incident["status"], ()),
        resolutions=RESOLUTIONS,
        task_statuses=TASK_STATUSES,
        hash_algorithms=HASH_LENGTHS,
        custody_actions=CUSTODY_ACTIONS,
        tlps=TLP_NAMES,
        severities=SEVERITIES,
        capabilities=CAPABILITIES,
        distributions=("org", "community", "federation", "all"),
        errors=errors or {},
        done=done,
        page_tlp=strictest([incident["tlp"], *(link["tlp"] for link in incident["links"])]),
    )


@router.get("/incidents/{incident_id}")
async def incident(request: Request, incident_id: str, after: int = 0, done: str = "") -> Response:
    """One incident as the member sees it: what was filed, who takes part and why, clocks,
    tasks, timeline, evidence and the linked intel the user may see."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    if incident_id == "new":  # routed here only if the filing page was not mounted first
        return not_found(request, session)
    shown = DONE.get(done, "")
    return await incident_page(request, session, incident_id, after=max(0, after), done=shown)


async def _form(request: Request, session: Session) -> dict[str, str] | None:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return form if same_token(form.get("csrf"), session.csrf) else None


def _back(incident_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{quote(incident_id, safe='')}?done={done}", 303)


async def _on_tasking(
    request: Request,
    incident_id: str,
    tasking_id: str,
    call: Callable[[dict[str, str], Session], Any],
    field: str,
    done: str,
    gone: str,
) -> Response:
    """A tasking answered or ended from the page: `call(form, session)` off the loop; a missing
    reason beside the form's `field`; then the incident again saying `done`, or, when the
    member's part ended with it (declined, withdrew), the list saying `gone`."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    form = await _form(request, session)
    if form is None:
        return expired_form(request, session)
    app = request.app
    try:
        await run_in_threadpool(call, form, session)
    except Invalid as exc:
        errors = {f"{field}-{tasking_id}": exc.message.removeprefix("reason: ")}
        return await incident_page(request, session, incident_id, status=422, errors=errors)
    except ShieldwallError as exc:
        return refused(request, session, exc)

    def still_taking_part() -> bool:
        try:
            service.get_incident(
                app.state.db, session.viewer, app.state.incident_config, incident_id, _now(request)
            )
        except NotFound:
            return False
        return True

    if await run_in_threadpool(still_taking_part):
        return _back(incident_id, done)
    return RedirectResponse(f"/incidents?answered={gone}", 303)


@router.post("/incidents/{incident_id}/taskings/{tasking_id}/answer")
async def answer(request: Request, incident_id: str, tasking_id: str) -> Response:
    """The tasked member accepts or declines (with a reason), as POST .../accept or .../decline.
    Declining ends the member's part: the list says so, as the incident is no longer its to see."""
    app = request.app

    def call(form: dict[str, str], session: Session) -> Any:
        return taskings.answer(
            app.state.db, session.viewer, app.state.incident_config, incident_id, tasking_id,
            form.get("answer") == "accept", form.get("reason", ""), _now(request),
        )  # fmt: skip

    return await _on_tasking(
        request, incident_id, tasking_id, call, "reason", "accepted", "declined"
    )


@router.post("/incidents/{incident_id}/taskings/{tasking_id}/release")
async def release(request: Request, incident_id: str, tasking_id: str) -> Response:
    """The coordinator lets a responder go, or the responder withdraws, with a reason, as POST
    .../taskings/{t}/release. Withdrawing ends the member's part: back to the list."""
    db = request.app.state.db

    def call(form: dict[str, str], session: Session) -> Any:
        reason = form.get("reason", "")
        return taskings.release(db, session.viewer, incident_id, tasking_id, reason, _now(request))

    return await _on_tasking(
        request, incident_id, tasking_id, call, "release", "released", "withdrawn"
    )


@router.post("/incidents/{incident_id}/taskings")
async def task(request: Request, incident_id: str) -> Response:
    """The coordinator tasks a proposed responder (or the best-ranked one), as POST
    /api/v1/incidents/{id}/taskings."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    form = await _form(request, session)
    if form is None:
        return expired_form(request, session)
    app = request.app
    try:
        await run_in_threadpool(
            taskings.task,
            app.state.db,
            session.viewer,
            app.state.incident_config,
            incident_id,
            form.get("member_id") or None,
            _now(request),
        )
    except ShieldwallError as exc:
        return refused(request, session, exc)
    return _back(incident_id, "tasked")
