"""TAXII 2.1 over HTTP at /taxii2/ (a sub-application, so that every answer under it, errors and
unknown paths included, is TAXII's: its media type and its error body), and the admins' REST
routes that define collections.

Authentication (§1.6.9 leaves it to the server): HTTP Basic with a user's e-mail and one of its
API keys, or `Authorization: Bearer <API key>` as on the REST API.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from shieldwall.api.bodies import read_spooled
from shieldwall.api.deps import admin_viewer, client_address, get_db, get_ingestor, get_settings
from shieldwall.api.errors import log_server_error
from shieldwall.audit import service as audit
from shieldwall.db import Database
from shieldwall.errors import ShieldwallError, TooManyRequests, Unauthorized
from shieldwall.intel.ingest import Ingestor
from shieldwall.members.authentication import Authenticated
from shieldwall.policy import Viewer
from shieldwall.selections import service as selections
from shieldwall.settings import Settings
from shieldwall.taxii import collections, filters, service
from shieldwall.taxii.protocol import (
    TAXII_MEDIA_TYPE,
    TaxiiError,
    check_accept,
    check_content_type,
    too_large,
)

taxii = APIRouter()
admin = APIRouter(prefix="/api/v1/taxii", tags=["taxii"])
_CHALLENGE = 'Basic realm="Shieldwall TAXII", Bearer realm="Shieldwall TAXII"'
_ROOT = f"/{service.API_ROOT}"


def _unauthorized(description: str) -> TaxiiError:
    return TaxiiError(401, "Unauthorized", description, headers={"WWW-Authenticate": _CHALLENGE})


async def taxii_caller(request: Request) -> Authenticated:
    """The user behind Basic (e-mail, API key) or Bearer credentials; 401 otherwise. Then the
    Accept header must admit TAXII 2.1 (406)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    email = None
    if scheme == "basic":
        try:
            email, colon, key = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorized(
                "the Basic credentials are not base64 of 'e-mail:API key'"
            ) from None
        if not colon:
            raise _unauthorized("the Basic credentials are not base64 of 'e-mail:API key'")
    elif scheme == "bearer" and credentials:
        key = credentials
    else:
        raise _unauthorized("credentials are required: HTTP Basic with your e-mail and an API key, "
                            "or 'Authorization: Bearer <API key>'")  # fmt: skip
    try:  # the REST API's rules: 401 for bad credentials, 429 after too many
        caller = await run_in_threadpool(
            request.app.state.authenticator.authenticate, key, client_address(request), email
        )
    except Unauthorized:
        raise _unauthorized("these credentials are not valid") from None
    except TooManyRequests as exc:
        raise TaxiiError(429, "Too Many Requests", exc.message,
                         headers={"Retry-After": str(exc.retry_after)}) from None  # fmt: skip
    check_accept(request.headers.get("accept"))
    return caller


def _lookup(request: Request, caller: Authenticated) -> collections.Lookup:
    """The collection definitions this app keeps, checked against the auth_generation the
    request's authentication read: no second read of it."""
    return collections.Lookup(request.app.state.known_collections, caller.generation)


def _query(request: Request, endpoint: str) -> filters.TaxiiQuery:
    settings: Settings = request.app.state.settings
    return filters.parse(
        request.query_params.multi_items(), endpoint,
        default_limit=settings.page_size, max_limit=settings.max_page_size,
    )  # fmt: skip


def _record(request: Request) -> Callable[[Viewer, str, dict[str, Any]], None]:
    return request.app.state.audit_writer.record_later


def taxii_response(
    body: bytes | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, status_code=status, headers=headers, media_type=TAXII_MEDIA_TYPE)


def _listing_response(listing: service.Listing) -> Response:
    headers = {}
    if listing.date_added_first is not None and listing.date_added_last is not None:
        headers["X-TAXII-Date-Added-First"] = listing.date_added_first
        headers["X-TAXII-Date-Added-Last"] = listing.date_added_last
    return taxii_response(listing.body, headers=headers)


def _route(path: str, methods: list[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A TAXII route at its path with and without the trailing slash: TAXII's URLs end in one,
    but clients build some without (taxii2-client's status URL)."""

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        taxii.add_api_route(path, endpoint, methods=methods)
        if path.rstrip("/"):
            taxii.add_api_route(path.rstrip("/"), endpoint, methods=methods)
        return endpoint

    return register


@_route("/", ["GET"])
async def get_discovery(request: Request, _: Authenticated = Depends(taxii_caller)) -> Response:
    _query(request, "none")
    # The mount's own path is not in base_url: this route's URL is the discovery URL.
    return taxii_response(service.discovery(str(request.url.replace(query=""))))


@_route(f"{_ROOT}/", ["GET"])
async def get_api_root(
    request: Request, _: Authenticated = Depends(taxii_caller),
    settings: Settings = Depends(get_settings),
) -> Response:  # fmt: skip
    _query(request, "none")
    return taxii_response(service.api_root(settings))


@_route(f"{_ROOT}/status/{{status_id}}/", ["GET"])
async def get_status(
    request: Request, status_id: str, caller: Authenticated = Depends(taxii_caller),
    db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    _query(request, "none")
    return taxii_response(await run_in_threadpool(service.get_status, db, caller.viewer, status_id))


@_route(f"{_ROOT}/collections/", ["GET"])
async def get_collections(
    request: Request, caller: Authenticated = Depends(taxii_caller), db: Database = Depends(get_db)
) -> Response:
    _query(request, "none")
    return taxii_response(await run_in_threadpool(service.get_collections, db, caller.viewer))


@_route(f"{_ROOT}/collections/{{collection_id}}/", ["GET"])
async def get_collection(
    request: Request, collection_id: str, caller: Authenticated = Depends(taxii_caller),
    db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    _query(request, "none")
    found = await run_in_threadpool(
        service.get_collection, db, caller.viewer, collection_id, _lookup(request, caller)
    )
    return taxii_response(found)


@_route(f"{_ROOT}/collections/{{collection_id}}/manifest/", ["GET"])
async def get_object_manifest(
    request: Request, collection_id: str, caller: Authenticated = Depends(taxii_caller),
    db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    q = _query(request, "manifest")
    listing = await run_in_threadpool(
        service.get_object_manifest, db, caller.viewer, collection_id, q, _record(request),
        _lookup(request, caller),
    )  # fmt: skip
    return _listing_response(listing)


@_route(f"{_ROOT}/collections/{{collection_id}}/objects/", ["GET"])
async def get_objects(
    request: Request, collection_id: str, caller: Authenticated = Depends(taxii_caller),
    db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    q = _query(request, "objects")
    listing = await run_in_threadpool(
        service.get_objects, db, caller.viewer, collection_id, q, _record(request),
        _lookup(request, caller),
    )  # fmt: skip
    return _listing_response(listing)


@_route(f"{_ROOT}/collections/{{collection_id}}/objects/", ["POST"])
async def add_objects(
    request: Request, collection_id: str, caller: Authenticated = Depends(taxii_caller),
    db: Database = Depends(get_db), ingestor: Ingestor = Depends(get_ingestor),
    settings: Settings = Depends(get_settings),
) -> Response:  # fmt: skip
    _query(request, "none")
    collection = await run_in_threadpool(
        service.writable_collection, db, caller.viewer, collection_id, _lookup(request, caller)
    )
    check_content_type(request.headers.get("content-type"))
    # Past stream_bundle_bytes written to a temporary file as POST /api/v1/bundles does, as a
    # bundle (service.spill_envelope).
    limit = settings.max_bundle_bytes
    body = await read_spooled(
        request, limit, lambda: too_large(limit),
        spill_above=settings.stream_bundle_bytes, open_spill=service.spill_envelope,
    )  # fmt: skip
    try:
        status = await run_in_threadpool(
            service.add_objects, db, ingestor, caller.viewer, collection, body
        )
    finally:
        if isinstance(body, Path):
            body.unlink(missing_ok=True)
    return taxii_response(status, status=202)


@_route(f"{_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", ["GET"])
async def get_object(
    request: Request, collection_id: str, object_id: str,
    caller: Authenticated = Depends(taxii_caller), db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    q = _query(request, "object")
    listing = await run_in_threadpool(
        service.get_object, db, caller.viewer, collection_id, object_id, q, _record(request),
        _lookup(request, caller),
    )  # fmt: skip
    return _listing_response(listing)


@_route(f"{_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/", ["DELETE"])
async def delete_object(
    request: Request, collection_id: str, object_id: str,
    caller: Authenticated = Depends(taxii_caller), db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    q = _query(request, "delete")
    await run_in_threadpool(
        service.delete_object, db, caller.viewer, collection_id, object_id, q,
        _lookup(request, caller),
    )  # fmt: skip
    return taxii_response(b"")


@_route(f"{_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/", ["GET"])
async def get_object_versions(
    request: Request, collection_id: str, object_id: str,
    caller: Authenticated = Depends(taxii_caller), db: Database = Depends(get_db),
) -> Response:  # fmt: skip
    q = _query(request, "versions")
    listing = await run_in_threadpool(
        service.get_object_versions, db, caller.viewer, collection_id, object_id, q,
        _record(request), _lookup(request, caller),
    )  # fmt: skip
    return _listing_response(listing)


def _error_response(error: TaxiiError) -> Response:
    return taxii_response(error.body(), status=error.status, headers=error.headers)


def _install_errors(app: FastAPI) -> None:
    """Every failure under /taxii2/ as a TAXII error message (§3.6.1), in TAXII's media type."""

    @app.exception_handler(TaxiiError)
    async def _taxii(_: Request, exc: TaxiiError) -> Response:
        return _error_response(exc)

    @app.exception_handler(ShieldwallError)
    async def _domain(_: Request, exc: ShieldwallError) -> Response:
        details = {"errors": exc.details} if exc.details else None
        phrase = HTTPStatus(exc.status).phrase
        return _error_response(TaxiiError(exc.status, phrase, exc.message, details=details))

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> Response:
        return _error_response(TaxiiError(400, "Bad Request", "the request is not valid"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        description = "no such TAXII resource" if exc.status_code == 404 else str(exc.detail)
        phrase = HTTPStatus(exc.status_code).phrase
        return _error_response(TaxiiError(exc.status_code, phrase, description, exc.headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Logged here, with the id the answer names, as the REST API's failures are.
        error_id = log_server_error(request.scope, exc)
        description = (
            f"the server failed to answer this request; if it persists, report error id {error_id}"
        )
        return _error_response(TaxiiError(500, "Internal Server Error", description))


class CollectionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    selection: dict[str, Any] = Field(
        default_factory=dict,
        description="what it serves: types, max_tlp, labels, sharing_group (an id), "
        "member_kinds, max_age_days",
    )


@admin.post("/collections", status_code=201)
async def create_collection(
    body: CollectionIn, viewer: Viewer = Depends(admin_viewer), db: Database = Depends(get_db)
) -> dict[str, Any]:
    """Define a TAXII collection (admins): a title over a selection of the store."""
    selection = selections.parse(body.selection)

    def create() -> str:
        with db.write() as conn:
            collection_id = collections.create_collection(
                conn, body.title, selection, body.description
            )
            audit.append(conn, viewer, "taxii.collection.create",
                         {"id": collection_id, "title": body.title})  # fmt: skip
            return collection_id

    collection_id = await run_in_threadpool(create)
    return {"id": collection_id, "title": body.title.strip(), "description": body.description,
            "selection": selection.as_dict()}  # fmt: skip


@admin.get("/collections")
async def list_collections(
    _: Viewer = Depends(admin_viewer), db: Database = Depends(get_db)
) -> dict[str, Any]:
    """The collections admins defined, with what each serves (members' inboxes are not listed)."""

    def read() -> list[dict[str, Any]]:
        with db.read() as conn:
            return collections.defined_collections(conn)

    return {"collections": await run_in_threadpool(read)}


def register(app: FastAPI) -> None:
    """Mount the TAXII server at /taxii2/ and the admins' collection routes."""
    server = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.known_collections = collections.KnownCollections()
    server.state = app.state  # the same database, settings, ingestor and audit writer
    _install_errors(server)
    server.include_router(taxii)
    app.mount("/taxii2", server)
    app.include_router(admin)
