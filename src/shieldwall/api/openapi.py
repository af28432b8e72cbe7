"""The OpenAPI document, made to tell the truth about every route.

FastAPI documents what it can see: a 200, and its own `{"detail": [...]}` 422. The answers
routes really give come from elsewhere too: the app-wide parameter checks (an unknown parameter,
a NUL: 422), the API key (401), the body limit (413), the error handler (500), and rules inside
handlers (403, 404, 409). So the document is completed here, once for every route:

- each route declares the answers its own rules give with `responses=errors(403, 409)` beside
  its code;
- what every route of a kind answers is added from the route itself: 401 (and the Bearer
  security requirement, which makes the interactive docs' Authorize button work) when it needs
  a key, 403 more when it needs an admin's, 404 when it has an id in its path, 413 when it takes
  a body, 422, 500 and 503 always;
- every error answer has the real error schema (ErrorBody), FastAPI's own is removed, and a
  JSON answer documented as "any value" is documented as a JSON object.

tests/api/test_openapi_fuzz.py holds the document to this: schemathesis calls every operation
with generated input and fails on any status code or body the document does not describe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from shieldwall.api.deps import admin_viewer, current_viewer
from shieldwall.api.errors import ErrorBody

SECURITY_SCHEME = "apiKey"
_REF = "#/components/schemas/ErrorBody"
_WHY = {
    400: "the request could not be read (e.g. a body that is not JSON)",
    401: "no API key, or one that is not valid",
    403: "your role, or your member, may not do this",
    404: "unknown, or not visible to you: the two are never told apart",
    409: "it clashes with something that exists already",
    413: "the body is larger than this route reads",
    415: "the body is not of a media type this route reads",
    422: "the request is well-formed but breaks a rule; `details` says where",
    429: "too many failed authentications from this address or for this account: retry later",
    500: "the server failed; `id` is the error's id in the server log",
    503: "the request's work ran past the time one request may take: ask for less",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the error answers its own rules give, in the error schema."""
    return {status: _error_response(status) for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _WHY.get(status, HTTPStatus(status).phrase),
        "content": {"application/json": {"schema": {"$ref": _REF}}},
    }


def _calls(route: Any) -> set[Callable[..., Any]]:
    """Every dependency a route runs, its own and theirs, however deep."""
    found: set[Callable[..., Any]] = set()
    todo = list(route.dependant.dependencies)
    while todo:
        dependant = todo.pop()
        if dependant.call is not None:
            found.add(dependant.call)
        todo.extend(dependant.dependencies)
    return found


def _statuses(route: Any, method: str) -> set[int]:
    """What any route of this kind can answer besides its own rules."""
    calls = _calls(route)
    statuses = {422, 500, 503}
    if calls & {current_viewer, admin_viewer}:
        statuses |= {401, 429}
    if admin_viewer in calls:
        statuses.add(403)
    if route.dependant.path_params:
        statuses.add(404)
    if method in ("POST", "PUT", "PATCH"):
        statuses |= {400, 413}  # a body that cannot be read (not UTF-8), one past the limit
    return statuses


def _json_object(responses: dict[str, Any]) -> None:
    """A success documented as any JSON value (a route that returns a Response) is an object:
    every JSON answer of this API is one."""
    for status, response in responses.items():
        if not status.startswith("2"):
            continue
        content = response.get("content", {})
        json_body = content.get("application/json")
        if json_body is not None and json_body.get("schema") in (None, {}):
            json_body["schema"] = {"type": "object"}


def _routes(app: FastAPI) -> Iterable[Any]:
    """Every documented API route as the app serves it (its full path, its dependencies with
    the app's and routers'), the way FastAPI itself walks them for the document."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app`, completed as this module's docstring says."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "an API key: `Authorization: Bearer <API key>`",
        }
    }
    for route in _routes(app):
        for method in route.methods:
            operation = schema["paths"][route.path_format].get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(route, method)):
                responses[str(status)] = _error_response(status)
            for status, response in responses.items():
                if status[0] in "45" and status not in map(str, _statuses(route, method)):
                    response.setdefault("content", {})["application/json"] = {
                        "schema": {"$ref": _REF}
                    }
            _json_object(responses)
            if {current_viewer, admin_viewer} & _calls(route):
                operation["security"] = [{SECURITY_SCHEME: []}]
    return schema


def install(app: FastAPI) -> None:
    """Serve `document(app)` as the app's OpenAPI document (made once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
