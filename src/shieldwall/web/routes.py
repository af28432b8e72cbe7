"""The pages: sign-in, sign-out and the dashboard. Each calls the service its JSON twin in the
REST API calls, as the signed-in user."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from shieldwall.api.deps import client_address
from shieldwall.dashboard import charts
from shieldwall.dashboard import service as dashboard_service
from shieldwall.errors import TooManyRequests
from shieldwall.members import sessions
from shieldwall.web import (
    account,
    admin,
    admin_actions,
    cross_border,
    exports,
    incident_actions,
    incident_form,
    incidents,
    objects,
    reading,
    responders,
    share,
    upload,
)
from shieldwall.web.incident_dashboard import incident_part
from shieldwall.web.pages import expired_form, render, signed_in, to_login
from shieldwall.web.reading import strictest
from shieldwall.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SecureHeaders,
    cookie_options,
    new_token,
    same_token,
)

router = APIRouter(include_in_schema=False)

# Every failed sign-in waits this long before its answer, on top of the per-account and
# per-address limits (members/authentication.py): guessing is slow even below the limits.
FAILED_SIGN_IN_DELAY = 1.0  # seconds


def forbidden(request: Request, message: str) -> HTMLResponse:
    return render("error.html", request, None, status=403, title="Forbidden", message=message)


async def form_of(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def login_page(
    request: Request, token: str, status: int = 200, error: str | None = None, email: str = ""
) -> HTMLResponse:
    response = render(
        "login.html", request, None, status=status, login_csrf=token, error=error, email=email
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, **cookie_options(request))
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    if await signed_in(request) is not None:
        return RedirectResponse("/", status_code=303)
    return login_page(request, request.cookies.get(LOGIN_CSRF_COOKIE) or new_token())


@router.post("/login")
async def login(request: Request) -> Response:
    form = await form_of(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not same_token(form.get("csrf"), expected):
        return forbidden(request, "The form has expired. Reload the sign-in page and try again.")
    email, password = form.get("email", "").strip(), form.get("password", "")
    authenticator = request.app.state.authenticator
    try:
        user_id = await run_in_threadpool(
            authenticator.user_for_password, email, password, client_address(request)
        )
    except TooManyRequests as exc:
        response = login_page(request, expected, 429, exc.message, email)  # type: ignore[arg-type]
        response.headers["retry-after"] = str(exc.retry_after)
        return response
    if user_id is None:
        await asyncio.sleep(FAILED_SIGN_IN_DELAY)
        return login_page(request, expected, 401, "Wrong e-mail address or password.", email)  # type: ignore[arg-type]
    db = request.app.state.db
    lifetime = timedelta(minutes=request.app.state.settings.session_minutes)

    def open_session() -> str:
        with db.write() as conn:
            return sessions.open_session(conn, user_id, lifetime)

    token = await run_in_threadpool(open_session)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        **cookie_options(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return to_login()
    form = await form_of(request)
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    db, token = request.app.state.db, request.cookies[SESSION_COOKIE]

    def end() -> None:
        with db.write() as conn:
            sessions.end_session(conn, token)

    await run_in_threadpool(end)
    response = to_login()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


WINDOWS = (7, 30, 90, 365)  # the dashboard's choice of days; the API takes any up to MAX_DAYS


@router.get("/")
async def dashboard(request: Request, days: str = "30") -> Response:
    """The dashboard: GET /api/v1/dashboard's figures, drawn, each chart with its table."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    window = int(days) if days.isdigit() and int(days) in WINDOWS else 30
    settings = request.app.state.settings
    figures = await run_in_threadpool(
        dashboard_service.dashboard,
        request.app.state.db,
        session.viewer,
        days=window,
        interval=None,
        broker_name=settings.broker_name,
        noisy_threshold=settings.noisy_threshold,
    )
    app = request.app
    incidents = await run_in_threadpool(
        incident_part,
        app.state.db,
        session.viewer,
        app.state.incident_config,
        app.state.incident_clock(),
        window,
    )
    return render(
        "dashboard.html",
        request,
        session,
        figures=figures,
        charts=charts.of_dashboard(figures),
        incidents=incidents,
        windows=WINDOWS,
        page_tlp=strictest([figures["tlp"], *incidents["tlps"]]),
    )


def register(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(reading.router)
    app.include_router(objects.router)
    app.include_router(exports.router)
    app.include_router(account.router)
    app.include_router(admin.router)
    app.include_router(admin_actions.router)
    app.include_router(share.router)
    app.include_router(upload.router)
    app.include_router(incident_form.router)  # /incidents/new before /incidents/{id}
    app.include_router(cross_border.router)  # and /incidents/cross-border
    app.include_router(incidents.router)
    app.include_router(incident_actions.router)
    app.include_router(responders.router)
    static = files("shieldwall.web") / "static"
    # Compressed for a slow link (htmx: 52 KB, 16 KB gzipped). Only these files: a page holds a
    # CSRF token beside what the user typed, which compression would let an observer guess at
    # (BREACH), and these hold nothing secret.
    assets = GZipMiddleware(StaticFiles(directory=str(static)), minimum_size=1024)
    app.mount("/static", assets, name="static")
    app.add_middleware(SecureHeaders)
