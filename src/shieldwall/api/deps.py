"""What every route needs from the request: the app's database and settings, and the viewer."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from shieldwall.correlate.helper import LookupHelper
from shieldwall.db import Database
from shieldwall.errors import Forbidden, Invalid, Unauthorized
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.validate_storable import nul_problems
from shieldwall.policy import Viewer
from shieldwall.settings import Settings


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_ingestor(request: Request) -> Ingestor:
    return request.app.state.ingestor


def get_lookup_helper(request: Request) -> LookupHelper:
    return request.app.state.lookup_helper


async def current_viewer(request: Request) -> Viewer:
    """The user behind `Authorization: Bearer <API key>`; 401 otherwise."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("an API key is required: send 'Authorization: Bearer <key>'")
    # 401 for a bad key, 429 while its address or account has failed too often.
    return await run_in_threadpool(
        request.app.state.authenticator.viewer_for, key.strip(), client_address(request)
    )


def client_address(request: Request) -> str | None:
    """The client's address as the server saw it (behind a proxy: as uvicorn's
    --forwarded-allow-ips lets it read X-Forwarded-For), which failed authentications count by."""
    return request.client.host if request.client else None


async def admin_viewer(request: Request) -> Viewer:
    viewer = await current_viewer(request)
    if not viewer.is_admin:
        raise Forbidden("only an instance admin may do this")
    return viewer


_QUERY_NAMES: dict[int, frozenset[str]] = {}


async def known_query_parameters(request: Request) -> None:
    """422 for a query parameter the route does not take, naming the ones it does: a misspelt
    filter (`?tpye=indicator`) must not quietly mean "no filter". For the REST API (/api/v1);
    other protocols (TAXII, feeds) follow their own rules."""
    route = request.scope.get("route")
    if route is None or not request.url.path.startswith("/api/v1/"):
        return
    if getattr(getattr(route, "endpoint", None), "checks_own_query", False):
        return  # e.g. exports/{format}: each format names its own options (exchange/formats.py)
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            return
        names = _QUERY_NAMES[id(route)] = frozenset(_query_names(dependant))
    unknown = sorted({name for name in request.query_params if name not in names})
    if unknown:
        raise Invalid(
            f"unknown query parameter(s) {', '.join(unknown)}; this route takes "
            f"{', '.join(sorted(names)) or 'none'}"
        )


# Routes that deal with a NUL in their body themselves: bundles through the STIX validator (and
# read as a stream, never whole here), lookups by reporting such a value as unreadable.
_OWN_NUL_RULES = ("/api/v1/bundles", "/api/v1/lookup")


async def storable_input(request: Request) -> None:
    """422 for a NUL character in a query or path parameter or in a JSON body, naming where.
    Nothing stored can hold one (intel/validate_storable.py), PostgreSQL cannot even compare
    with one, and SQLite's LIKE stopped reading a pattern at it (`?label=apt%00` matched every
    label): refused on both databases alike."""
    path = request.url.path
    if not path.startswith("/api/v1/"):
        return
    pairs = [*request.query_params.multi_items(), *request.path_params.items()]
    for name, value in pairs:
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            shown = name.replace("\x00", "\\u0000")
            raise Invalid(f"{shown} must not hold a NUL character (U+0000)")
    if request.method not in ("POST", "PUT", "PATCH") or path.startswith(_OWN_NUL_RULES):
        return
    body = await request.body()  # kept by the request: the route reads the same bytes
    if b"\\u0000" not in body:  # JSON can only spell a NUL so
        return
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # not JSON: the route says so
    found: list[tuple[str | None, str]] = []
    nul_problems("body", parsed, found)
    if found:
        raise Invalid(
            f"{found[0][0]} must not hold a NUL character (U+0000)",
            details=[{"property": where, "message": message} for where, message in found],
        )


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route and its dependencies declare (walked here: FastAPI's own
    flattening helper is private and has changed between releases)."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
