"""The work on an incident's page, each form calling the service its JSON twin calls: a note on
the timeline (POST /api/v1/incidents/{id}/timeline), the coordinator moving the status
(.../status), resuming after a wait on the requester (.../resume), closing or withdrawing
(.../close), and tasks given and marked done (.../tasks, PATCH .../tasks/{task}).

Each resolves the incident through the policy first, in the service: for a member not taking
part every form here is the 404 page of an unknown incident. A mistake comes back beside the
form's main field, with the page as it stands; success comes back to the page, saying what was
done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.incidents import status, work
from shieldwall.web.incidents import expired_form, incident_page, refused
from shieldwall.web.pages import signed_in, to_login
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)


def due_time(text: str) -> datetime | None:
    """A due time from the form's `datetime-local` field, read as UTC; None when left empty."""
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise Invalid("due: a date and time, such as 2026-03-02T17:00") from None


async def _act(
    request: Request, incident_id: str, form_name: str, done: str, call: Callable[..., Any]
) -> Response:
    """Check the session and the form's token, call `call(form, viewer, now)` off the loop, and
    answer: back to the page saying `done`, the page with the mistake beside `form_name`'s
    field, or the refusal page (the 404 of an unknown incident for those not taking part)."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    now = request.app.state.incident_clock()
    try:
        await run_in_threadpool(call, form, session.viewer, now)
    except Invalid as exc:
        errors = {form_name: exc.message}
        return await incident_page(request, session, incident_id, status=422, errors=errors)
    except ShieldwallError as exc:
        return refused(request, session, exc)
    target = f"/incidents/{quote(incident_id, safe='')}?done={done}#{form_name}-form"
    return RedirectResponse(target, status_code=303)


@router.post("/incidents/{incident_id}/notes")
async def note(request: Request, incident_id: str) -> Response:
    db = request.app.state.db
    return await _act(
        request, incident_id, "note", "noted",
        lambda f, viewer, now: work.add_note(db, viewer, incident_id, f.get("text", ""), now),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/status")
async def move(request: Request, incident_id: str) -> Response:
    db = request.app.state.db
    return await _act(
        request, incident_id, "status", "status",
        lambda f, viewer, now: status.set_status(
            db, viewer, incident_id, f.get("status", ""), f.get("reason", ""), now
        ),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/resume")
async def resume(request: Request, incident_id: str) -> Response:
    db = request.app.state.db
    return await _act(
        request, incident_id, "resume", "resumed",
        lambda f, viewer, now: status.resume(db, viewer, incident_id, f.get("note", ""), now),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/close")
async def close(request: Request, incident_id: str) -> Response:
    db = request.app.state.db
    return await _act(
        request, incident_id, "close", "closed",
        lambda f, viewer, now: status.close(
            db, viewer, incident_id, f.get("resolution", ""), f.get("summary", ""), now
        ),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/tasks")
async def add_task(request: Request, incident_id: str) -> Response:
    db = request.app.state.db

    def call(f: dict[str, str], viewer: Any, now: datetime) -> Any:
        item = work.TaskIn(
            title=f.get("title", ""),
            description=f.get("description", ""),
            owner_member_id=f.get("owner_member_id") or None,
            due_at=due_time(f.get("due", "")),
            mandatory=f.get("mandatory") == "on",
        )
        return work.add_task(db, viewer, incident_id, item, now)

    return await _act(request, incident_id, "task", "task-added", call)


@router.post("/incidents/{incident_id}/tasks/{task_id}")
async def update_task(request: Request, incident_id: str, task_id: str) -> Response:
    db = request.app.state.db

    def call(f: dict[str, str], viewer: Any, now: datetime) -> Any:
        change = work.TaskChange(status=f.get("status", ""))
        return work.update_task(db, viewer, incident_id, task_id, change, now)

    return await _act(request, incident_id, f"task-{task_id}", "task-updated", call)
