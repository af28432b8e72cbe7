"""One JSON error shape for every failure: {"error": {"status", "title", "message", "details"}}."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shieldwall.errors import ShieldwallError, Unauthorized


def error_response(
    status: int,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "error": {
            "status": status,
            "title": HTTPStatus(status).phrase,
            "message": message,
            "details": details or [],
        }
    }
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ShieldwallError)
    async def _domain(_: Request, exc: ShieldwallError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return error_response(exc.status, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> Response:
        details = [
            {"property": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return error_response(422, "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        return error_response(exc.status_code, str(exc.detail), headers=exc.headers)
