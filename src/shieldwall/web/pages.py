"""Rendering pages: the package's Jinja2 templates, autoescaped, and the signed-in session."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from shieldwall.members import sessions
from shieldwall.web.security import SESSION_COOKIE

TLP_NAMES = ("clear", "green", "amber", "amber+strict", "red")

templates = Environment(
    loader=PackageLoader("shieldwall.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def tlp_class(tlp: str | None) -> str:
    """The CSS class of a TLP badge (`tlp-amber-strict` for TLP:AMBER+STRICT)."""
    return "tlp-" + (tlp or "clear").replace("+", "-")


templates.filters["tlp_class"] = tlp_class


def when(stamp: str | None) -> str:
    """A stored UTC time stamp (2026-03-02T09:00:00.000000Z) as people read it: 2026-03-02 09:00."""
    return (stamp or "")[:16].replace("T", " ")


templates.filters["when"] = when

# What each level asks of its recipients, in FIRST's words (TLP 2.0, "TLP definitions").
TLP_MEANINGS = {
    "clear": "Recipients can spread this to the world, there is no limit on disclosure.",
    "green": "Limited disclosure, recipients can spread this within their community.",
    "amber": "Limited disclosure, recipients can only spread this on a need-to-know basis "
    "within their organization and its clients.",
    "amber+strict": "Limited disclosure, recipients can only spread this on a need-to-know "
    "basis within their organization.",
    "red": "For the eyes and ears of individual recipients only, no further disclosure.",
}
templates.globals["tlp_meanings"] = TLP_MEANINGS


def render(
    name: str, request: Request, session: sessions.Session | None, status: int = 200, **data: Any
) -> HTMLResponse:
    """A page from its template, with what the layout needs (the user, the CSRF token)."""
    html = templates.get_template(name).render(
        request=request,
        viewer=session.viewer if session else None,
        csrf=session.csrf if session else None,
        **data,
    )
    return HTMLResponse(html, status_code=status)


async def signed_in(request: Request) -> sessions.Session | None:
    """The session behind the request's cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    db = request.app.state.db

    def find() -> sessions.Session | None:
        with db.read() as conn:
            return sessions.session_for(conn, token)

    return await run_in_threadpool(find)


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def expired_form(request: Request, session: sessions.Session) -> HTMLResponse:
    """The answer to a form posted without the session's CSRF token (a forged or stale one)."""
    return render(
        "error.html", request, session, status=403, title="Forbidden",
        message="The form has expired. Reload the page and try again.",
    )  # fmt: skip
