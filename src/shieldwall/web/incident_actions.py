"""The work on an incident's page, each form calling the service its JSON twin calls: a note on
the timeline (POST /api/v1/incidents/{id}/timeline), the coordinator moving the status
(.../status), resuming after a wait on the requester (.../resume), closing or withdrawing
(.../close), tasks given and marked done (.../tasks, PATCH .../tasks/{task}), evidence and its
custody (.../evidence), intel linked, unlinked or shared back in one step (.../links, DELETE
.../links/{object}, .../intel), the lead handed over (.../handover), and what was filed changed
(PATCH /api/v1/incidents/{id}).

Each resolves the incident through the policy first, in the service: for a member not taking
part every form here is the 404 page of an unknown incident. A mistake comes back beside the
form's main field, with the page as it stands; success comes back to the page, saying what was
done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.incidents import evidence, links, service, status, work
from shieldwall.web.incidents import incident_page, refused
from shieldwall.web.pages import expired_form, signed_in, to_login
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
    form: dict[str, str] = {}
    for name, value in (await request.form()).multi_items():  # ticked boxes: one a line
        if isinstance(value, str):
            form[name] = f"{form[name]}\n{value}" if name in form else value
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    now = request.app.state.incident_clock()
    try:
        await run_in_threadpool(call, form, session.viewer, now)
    except Invalid as exc:
        named = [str(d["id"]) for d in exc.details if d.get("id")]  # e.g. links refused
        errors = {form_name: exc.message + (f" ({', '.join(named)})" if named else "")}
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
            owner_user_id=f.get("owner_user_id") or None,
            due_at=due_time(f.get("due", "")),
            mandatory=f.get("mandatory") == "on",
        )
        return work.add_task(db, viewer, incident_id, item, now)

    return await _act(request, incident_id, "task", "task-added", call)


@router.post("/incidents/{incident_id}/tasks/{task_id}")
async def update_task(request: Request, incident_id: str, task_id: str) -> Response:
    db = request.app.state.db

    def call(f: dict[str, str], viewer: Any, now: datetime) -> Any:
        # The person and the due time change only when the form offered them and they differ
        # from what the page showed, so that marking a task done changes nothing else.
        person, due = f.get("owner_user_id"), f.get("due")
        changed = person is not None and person != f.get("shown_user_id", "")
        moved = due is not None and due.strip() != f.get("shown_due", "")
        change = work.TaskChange(
            status=f.get("status") or None,
            owner_user_id=(person or None) if changed else work.UNCHANGED,
            due_at=due_time(due) if moved and due is not None else work.UNCHANGED,
        )
        return work.update_task(db, viewer, incident_id, task_id, change, now)

    return await _act(request, incident_id, f"task-{task_id}", "task-updated", call)


@router.post("/incidents/{incident_id}/evidence")
async def add_evidence(request: Request, incident_id: str) -> Response:
    """Evidence the user's member holds, with its hash and where it is kept, as POST
    /api/v1/incidents/{id}/evidence records it (its custody starts with `collected`)."""
    db = request.app.state.db

    def call(f: dict[str, str], viewer: Any, now: datetime) -> Any:
        item = evidence.EvidenceIn(
            name=f.get("name", ""),
            hash_algorithm=f.get("hash_algorithm", ""),
            hash_value=f.get("hash_value", ""),
            location=f.get("location", ""),
            description=f.get("description", ""),
        )
        return evidence.add_evidence(db, viewer, incident_id, item, now)

    return await _act(request, incident_id, "evidence", "evidence", call)


@router.post("/incidents/{incident_id}/evidence/{evidence_id}/custody")
async def custody(request: Request, incident_id: str, evidence_id: str) -> Response:
    """One handling of evidence for its chain of custody (examined, verified with the hash
    seen, transferred to another member...), as POST .../evidence/{e}/custody records it."""
    db = request.app.state.db

    def call(f: dict[str, str], viewer: Any, now: datetime) -> Any:
        item = evidence.CustodyIn(
            action=f.get("action", ""),
            to_member_id=f.get("to_member_id") or None,
            hash_seen=f.get("hash_seen") or None,
            note=f.get("note", ""),
        )
        return evidence.record_custody(db, viewer, incident_id, evidence_id, item, now)

    return await _act(request, incident_id, f"custody-{evidence_id}", "custody", call)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/incidents/{incident_id}/links")
async def link(request: Request, incident_id: str) -> Response:
    """Intel already in the store (ids, one a line) linked to the incident, as POST
    .../links does: only intel the user may see, an unknown or invisible id refusing all."""
    db = request.app.state.db
    return await _act(
        request, incident_id, "link", "linked",
        lambda f, viewer, now: links.link(
            db, viewer, incident_id, _lines(f.get("object_ids", "")), now
        ),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/links/{object_id}/unlink")
async def unlink(request: Request, incident_id: str, object_id: str) -> Response:
    """A link removed (by the member that made it, or the coordinator), as DELETE
    .../links/{object} does; intel the user may not see is not found, as an unknown id."""
    db = request.app.state.db
    return await _act(
        request, incident_id, "link", "unlinked",
        lambda f, viewer, now: links.unlink(db, viewer, incident_id, object_id, now),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/intel")
async def share_back(request: Request, incident_id: str) -> Response:
    """Indicators found during the response (values, one a line) shared as intel in one step
    and linked, as POST .../intel does: at the TLP chosen (the incident's by default) and the
    distribution chosen (the member's default within the TLP), through intel's ingest."""
    app = request.app

    def call(f: dict[str, str], viewer: Any, now: datetime) -> Any:
        found = [
            links.Finding(
                value=value,
                tlp=f.get("tlp") or None,
                distribution=f.get("distribution") or None,
            )
            for value in _lines(f.get("values", ""))
        ]
        return links.share_back(app.state.db, app.state.ingestor, viewer, incident_id, found, now)

    return await _act(request, incident_id, "intel", "shared", call)


@router.post("/incidents/{incident_id}/handover")
async def handover(request: Request, incident_id: str) -> Response:
    """The coordinator hands the lead to another member, as POST .../handover does."""
    db = request.app.state.db
    return await _act(
        request, incident_id, "handover", "handover",
        lambda f, viewer, now: status.handover(
            db, viewer, incident_id, f.get("member_id", ""), f.get("reason", ""),
            f.get("keep_previous") == "on", now,
        ),
    )  # fmt: skip


@router.post("/incidents/{incident_id}/edit")
async def edit(request: Request, incident_id: str) -> Response:
    """What was filed, changed as PATCH /api/v1/incidents/{id} changes it: the title, the
    description (sanitised again) and the TLP by the requester; the severity (the clocks take
    its targets), countries, sectors, services, help needed and languages by the requester or
    the coordinator. Only what differs is changed and written on the timeline."""
    app = request.app

    def call(f: dict[str, str], viewer: Any, now: datetime) -> Any:
        def listed(name: str) -> tuple[str, ...] | None:
            """A list the form offered (as text, or as boxes marked by `{name}_shown`)."""
            if name not in f and f"{name}_shown" not in f:
                return None
            return tuple(w.strip() for w in re.split(r"[,;\n]", f.get(name, "")) if w.strip())

        changes = service.Changes(
            title=f.get("title"),  # the requester's form only; None leaves it as it is
            description=f.get("description"),
            severity=f.get("severity") or None,
            tlp=f.get("tlp") or None,
            countries=listed("countries"),
            sectors=listed("sectors"),
            services=listed("services"),
            needs=listed("needs"),
            languages=listed("languages"),
        )
        return service.update_incident(
            app.state.db, viewer, app.state.incident_config, incident_id, changes, now
        )

    return await _act(request, incident_id, "edit", "edited", call)
