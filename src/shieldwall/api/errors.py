"""One JSON error shape for every failure: {"error": {"status", "title", "message", "details"}},
and `id` on a server error.

A server error never shows the client what went wrong inside (no traceback, no exception text):
it gets an opaque error id, and the server log has the same id beside the traceback, so a report
from a member ("error 3f9c...") leads straight to the cause. `ServerErrors` is the outermost
middleware, so an error in another middleware or in a streamed body is caught as well; once a
body has started, no error can be sent any more, and the connection is broken off instead of
ended, so the client sees it broke rather than a short, clean-looking answer.

A browser asking for a page of the web application (an unknown address, a server error) gets the
same answer as a small HTML page instead, with a way back (`wants_page`).
"""

from __future__ import annotations

import contextlib
import html
import logging
import secrets
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shieldwall.db import is_statement_timeout
from shieldwall.errors import ShieldwallError, TooLong, TooManyRequests, Unauthorized

log = logging.getLogger("shieldwall.errors")


class ErrorInfo(BaseModel):
    """What went wrong, for people and programs alike."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(description="the HTTP status, repeated")
    title: str = Field(description="the status's phrase, e.g. 'Unprocessable Content'")
    message: str = Field(description="one sentence on what was wrong and what to do")
    details: list[dict[str, Any]] = Field(
        description="one entry per problem found (e.g. `property`, `message`, and for a bundle "
        "`index` and `id`); empty when there is only the message"
    )
    id: str | None = Field(
        None, description="on a server error only: the id the server log holds it under"
    )


class ErrorBody(BaseModel):
    """Every error answer of the REST API."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorInfo


def error_response(
    status: int,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    *,
    error_id: str | None = None,
) -> Response:
    body: dict[str, Any] = {
        "status": status,
        "title": HTTPStatus(status).phrase,
        "message": message,
        "details": details or [],
    }
    if error_id is not None:
        body["id"] = error_id
    return Response(
        orjson.dumps({"error": body}),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def new_error_id() -> str:
    """Opaque and unguessable: it tells the client nothing, and only the log can read it."""
    return secrets.token_hex(8)


def log_server_error(scope: Scope, exc: BaseException) -> str:
    """Log an unexpected failure with its traceback under a new error id, and return the id.
    Once per failure: a mounted app (the TAXII server) that answered with the id logs it first,
    and the failure, raised on to this app's ServerErrors, keeps that id."""
    if isinstance(known := getattr(exc, "shieldwall_error_id", None), str):
        return known
    error_id = new_error_id()
    log.error(
        "server error %s on %s %s", error_id, scope.get("method", "-"), scope.get("path", "-"),
        exc_info=exc,
    )  # fmt: skip
    with contextlib.suppress(AttributeError):  # an exception without a __dict__: logged twice
        exc.shieldwall_error_id = error_id  # type: ignore[attr-defined]
    return error_id


def server_error_response(error_id: str, *, page: bool = False) -> Response:
    message = (
        f"the server failed to answer this request; if it persists, report error id {error_id}"
    )
    if page:
        return page_response(500, message)
    return error_response(500, message, error_id=error_id)


# Where machines, not people, read the answers: they get JSON (or TAXII's) whatever they accept.
_MACHINE_PATHS = ("/api/", "/taxii2", "/feeds/")


def wants_page(scope: Scope) -> bool:
    """Whether the request is a browser's for a page of the web application."""
    if str(scope.get("path", "")).startswith(_MACHINE_PATHS):
        return False
    accept = dict(scope.get("headers") or ()).get(b"accept", b"")
    return b"text/html" in accept


def page_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error as a page, self-contained (no template, no session: it must not fail itself)."""
    title = html.escape(HTTPStatus(status).phrase)
    body = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title} · Shieldwall</title>"
        '<link rel="stylesheet" href="/static/shieldwall.css"></head>'
        '<body><header><nav aria-label="Shieldwall"><a href="/">Shieldwall</a></nav></header>'
        f"<main><h1>{title}</h1><p>{html.escape(message)}</p>"
        '<p><a href="/">Back to the dashboard</a></p></main></body></html>\n'
    )
    return Response(body, status_code=status, headers=headers, media_type="text/html")


class ServerErrors:
    """ASGI middleware: an unexpected exception becomes a logged JSON 500 with an error id before
    the answer has started, and a broken connection after (re-raised, so the server drops it
    rather than finishing the body)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def tracked(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if is_statement_timeout(exc) and not started:
                log.warning("statement timeout on %s %s", scope.get("method"), scope.get("path"))
                too_long = TooLong(
                    "this request took longer than the server lets one request take; ask for "
                    "less (a narrower filter, a smaller page, fewer values)"
                )
                await error_response(too_long.status, too_long.message)(scope, receive, send)
                return
            error_id = log_server_error(scope, exc)
            if finished:  # the client has its whole answer: nothing to break off
                return
            if started:
                raise BrokenAnswer(error_id) from exc
            await server_error_response(error_id, page=wants_page(scope))(scope, receive, send)


class BrokenAnswer(Exception):
    """An answer failed after its first byte: the server must break the connection off."""


def install(app: FastAPI) -> None:
    @app.exception_handler(ShieldwallError)
    async def _domain(_: Request, exc: ShieldwallError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, TooManyRequests):  # RFC 9110 §10.2.3, RFC 6585 §4
            headers = {"Retry-After": str(exc.retry_after)}
        return error_response(exc.status, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> Response:
        details = [
            {"property": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return error_response(422, "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_page(request.scope):
            message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
            return page_response(exc.status_code, message, exc.headers)
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)
