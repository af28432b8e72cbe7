"""The responder directory (/responders): every member's declared responder profile (what it
can do for others, where, in which languages, whether now), as GET /api/v1/responders gives it
to every member; and, for a member's member-admins (and instance admins), the form declaring
their own member's profile, as PUT /api/v1/responders/{member_id} does. The ranking of
responders for an incident reads nothing but these profiles."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.incidents import responders
from shieldwall.incidents.config import AVAILABILITIES, CAPABILITIES
from shieldwall.members.sessions import Session
from shieldwall.policy import may_declare_responder
from shieldwall.web.incidents import refused
from shieldwall.web.pages import expired_form, render, signed_in, to_login
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)
_SPLIT = re.compile(r"[,;\n]")


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in _SPLIT.split(text) if w.strip())


async def _page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    db, viewer = request.app.state.db, session.viewer

    def read() -> list[dict[str, Any]]:
        with db.read() as conn:
            return responders.list_profiles(conn)

    profiles = await run_in_threadpool(read)
    own = next((p for p in profiles if p["member_id"] == viewer.member_id), None)
    values = {"errors": {}, "done": "", "form": None, **extra}
    if values["form"] is None:
        values["form"] = {
            "capabilities": own["capabilities"] if own else [],
            "countries": ", ".join(own["countries"]) if own else "",
            "sectors": ", ".join(own["sectors"]) if own else "",
            "languages": ", ".join(own["languages"]) if own else "",
            "availability": own["availability"] if own else "available",
            "note": own["note"] if own else "",
        }
    return render(
        "responders.html",
        request,
        session,
        status=status,
        profiles=profiles,
        own=own,
        may_declare=may_declare_responder(viewer, viewer.member_id),
        capabilities=CAPABILITIES,
        availabilities=AVAILABILITIES,
        **values,
    )


@router.get("/responders")
async def directory(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return to_login()
    done = "Your member's responder profile is saved." if request.query_params.get("done") else ""
    return await _page(request, session, done=done)


@router.post("/responders")
async def declare(request: Request) -> Response:
    """Declare (or replace) the signed-in user's member's profile."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    raw = await request.form()
    form: dict[str, Any] = {k: v for k, v in raw.items() if isinstance(v, str)}
    form["capabilities"] = [v for v in raw.getlist("capabilities") if isinstance(v, str)]
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    profile = responders.Profile(
        tuple(form["capabilities"]),
        _words(form.get("countries", "")),
        _words(form.get("sectors", "")),
        _words(form.get("languages", "")),
        form.get("availability", ""),
        form.get("note", ""),
    )
    app, viewer = request.app, session.viewer
    try:
        await run_in_threadpool(
            responders.declare, app.state.db, viewer, viewer.member_id, profile,
            app.state.incident_clock(),
        )  # fmt: skip
    except Invalid as exc:
        errors: dict[str, str] = {}
        for d in exc.details:
            key = d.get("property") or "form"
            errors[key] = "; ".join(filter(None, (errors.get(key), d.get("message"))))
        return await _page(request, session, 422, errors=errors or {"form": exc.message}, form=form)
    except ShieldwallError as exc:
        return refused(request, session, exc)
    return RedirectResponse("/responders?done=1#declare", status_code=303)
