"""REST routes for sharing and reading intel."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.bodies import read_spooled
from shieldwall.api.deps import current_viewer, get_db, get_ingestor, get_settings
from shieldwall.api.openapi import errors
from shieldwall.db import Database
from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.intel import query
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.sanitize import sanitize_text
from shieldwall.intel.stix_types import TYPES
from shieldwall.intel.timestamps import is_timestamp
from shieldwall.markings import TLP
from shieldwall.markings import definitions as platform_definitions
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["intel"])

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
# Characters of a `q` or `label` filter: each becomes a LIKE pattern, which SQLite refuses past
# 50,000 bytes (4 bytes a character at most, and the escapes, stay below it).
MAX_FILTER_TEXT = 10_000


class PayloadTooLarge(ShieldwallError):
    status = 413


class SanitizeIn(BaseModel):
    text: str = Field(max_length=1_000_000)
    keep: list[str] = []
    internal_domains: list[str] = []


# The route reads its body as a stream (a bundle may be 100 MB), so FastAPI cannot see that it
# takes one: the document says so itself, and the interactive docs can send one.
_BUNDLE_SCHEMA = {
    "type": "object",
    "required": ["type", "id", "objects"],
    "properties": {
        "type": {"type": "string", "enum": ["bundle"]},
        "id": {"type": "string", "description": "bundle--<UUID>"},
        "objects": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["type", "id"],
                "properties": {"type": {"type": "string"}, "id": {"type": "string"}},
                "additionalProperties": True,
            },
        },
    },
    "example": {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [{
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-01-15T10:00:00.000Z", "modified": "2026-01-15T10:00:00.000Z",
            "name": "SYNTHETIC example", "pattern": "[ipv4-addr:value = '198.51.100.7']",
            "pattern_type": "stix", "valid_from": "2026-01-15T10:00:00.000Z",
        }],
    },
}  # fmt: skip
_BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "description": "a STIX 2.1 bundle (as application/json or application/stix+json), read "
        "as it arrives up to SHIELDWALL_MAX_BUNDLE_BYTES",
        "content": {"application/json": {"schema": _BUNDLE_SCHEMA}},
    }
}


@router.post("/bundles", status_code=201, responses=errors(403), openapi_extra=_BUNDLE_BODY)
async def post_bundle(
    request: Request,
    viewer: Viewer = Depends(current_viewer),
    ingestor: Ingestor = Depends(get_ingestor),
    settings: Settings = Depends(get_settings),
) -> dict:
    """Share a STIX 2.1 bundle: stored whole, or rejected whole with every error listed (422)."""
    # A large bundle goes to a temporary file that ingest reads in two passes
    # (intel/bundle_file.py), so the server's memory holds its objects' ids, not its bodies; a
    # small one is parsed whole, faster.
    limit = settings.max_bundle_bytes
    body = await read_spooled(
        request,
        limit,
        lambda: PayloadTooLarge(f"bundles are limited to {limit} bytes"),
        spill_above=settings.stream_bundle_bytes,
    )
    if isinstance(body, bytes):
        result = await run_in_threadpool(ingestor.ingest_json, viewer, body)
    else:
        try:
            result = await run_in_threadpool(
                lambda: ingestor.ingest_file(viewer, body, source="api")
            )
        finally:
            body.unlink(missing_ok=True)
    return result.as_dict()


def csv_values(values: list[str] | None) -> tuple[str, ...]:
    """A repeated or comma-separated query parameter's values: ?type=a&type=b,c."""
    return tuple(v for value in values or () for v in value.split(",") if v)


def stix_types(values: list[str] | None) -> tuple[str, ...]:
    """The `type` filter's values: STIX 2.1 types, or custom ones (x-...); a misspelt type
    would otherwise answer an empty list, as if nothing of that type had been shared."""
    types = csv_values(values)
    unknown = [t for t in types if t not in TYPES and not t.startswith("x-")]
    if unknown:
        raise Invalid(
            f"unknown STIX type(s) {', '.join(repr(t) for t in unknown[:5])}; known types: "
            f"{', '.join(sorted(TYPES))}, or a custom type starting with x-"
        )
    return types


def page_size(limit: int | None, settings: Settings, response_headers: dict[str, str]) -> int:
    """The page size a list answers with; it says so in X-Shieldwall-Limit, so that a client
    asking for more than the largest page (SHIELDWALL_MAX_PAGE_SIZE) learns it got less."""
    size = min(limit or settings.page_size, settings.max_page_size)
    response_headers["X-Shieldwall-Limit"] = str(size)
    return size


def page_response(page: query.Page, headers: dict[str, str] | None = None) -> Response:
    # The stored JSON is spliced in as it is: parsing and re-serialising each object would cost
    # more than the query.
    head = b'{"objects":[' + ",".join(page.bodies).encode() + b"]"
    tail = orjson.dumps(
        {
            "next": page.next_cursor,
            "more": page.next_cursor is not None,
            "contributors": page.contributors,
        }
    )
    return Response(head + b"," + tail[1:], media_type="application/json", headers=headers)


@router.get("/objects")
async def list_objects(
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
    type: Annotated[
        list[str] | None, Query(description="STIX type(s), repeat or comma-separate")
    ] = None,
    id: Annotated[list[str] | None, Query(description="object id(s)")] = None,
    created_by: Annotated[
        str | None,
        Query(description="creator: an identity id, or a member's id or name", max_length=300),
    ] = None,
    tlp: Annotated[
        list[str] | None, Query(description="TLP level(s): clear, green, amber, amber+strict, red")
    ] = None,
    label: Annotated[str | None, Query(max_length=MAX_FILTER_TEXT)] = None,
    added_after: str | None = None,
    modified_since: str | None = None,
    modified_until: str | None = None,
    q: Annotated[
        str | None,
        Query(
            description="free text over name, description and pattern",
            max_length=MAX_FILTER_TEXT,
        ),
    ] = None,
    versions: Annotated[str, Query(pattern="^(latest|all)$")] = "latest",
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Visible objects in the order this server added them, a page at a time."""
    for name, value in (
        ("added_after", added_after),
        ("modified_since", modified_since),
        ("modified_until", modified_until),
    ):
        if value is not None and not is_timestamp(value):
            raise Invalid(f"{name} must be an RFC 3339 UTC timestamp such as 2024-01-31T00:00:00Z")
    try:
        levels = tuple(TLP.parse(t) for t in csv_values(tlp))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    f = query.ObjectFilter(
        types=stix_types(type),
        ids=csv_values(id),
        created_by=created_by,
        tlp=levels,
        label=label,
        added_after=added_after,
        modified_since=modified_since,
        modified_until=modified_until,
        text=q,
        all_versions=versions == "all",
    )
    headers: dict[str, str] = {}
    size = page_size(limit, settings, headers)
    page = await run_in_threadpool(query.list_objects, db, viewer, f, cursor=cursor, limit=size)
    return page_response(page, headers)


@router.get("/objects/{object_id}")
async def get_object(
    object_id: str,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    versions: Annotated[str, Query(pattern="^(latest|all)$")] = "latest",
) -> Response:
    """One object (404 when unknown or not visible: the two are never told apart)."""
    page = await run_in_threadpool(
        query.get_object, db, viewer, object_id, all_versions=versions == "all"
    )
    return page_response(page)


@router.get("/definitions")
async def definitions() -> dict:
    """The TLP 2.0 marking definitions and the sharing extension's definition (with the
    identity that made it), as a bundle."""
    return {
        "type": "bundle",
        "id": "bundle--5b7c5bb9-5dbd-4f39-9e43-94e1c1fd1d7a",
        "objects": platform_definitions(),
    }


@router.post("/sanitize")
async def sanitize(body: SanitizeIn, _: Viewer = Depends(current_viewer)) -> dict:
    """A preview of free text with victim data masked; nothing is stored."""
    result = await run_in_threadpool(
        sanitize_text,
        body.text,
        keep=frozenset(body.keep),
        internal_domains=tuple(body.internal_domains),
    )
    return result.as_dict()


def register(app: FastAPI) -> None:
    app.include_router(router)
