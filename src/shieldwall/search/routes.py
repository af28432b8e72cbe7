"""REST route for search: GET /api/v1/search."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_db, get_settings
from shieldwall.db import Database
from shieldwall.intel.routes import page_response, page_size, stix_types
from shieldwall.policy import Viewer
from shieldwall.search import service
from shieldwall.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["search"])


@router.get("/search")
async def search(
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=8192,
            description="text mode: words, all required; a trailing * makes the last a prefix "
            "(lazar*). value mode: one observable value, or a prefix of one with a trailing *",
        ),
    ],
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
    mode: Literal["text", "value"] = "text",
    kind: Annotated[
        str | None, Query(description="value mode: observable kind, e.g. domain, ipv4, sha256")
    ] = None,
    type: Annotated[
        list[str] | None, Query(description="STIX type(s), repeat or comma-separate")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Visible objects matching q, in the order this server added them, a page at a time, with
    the fields each matched by (`matched`: object id -> field names)."""
    s = service.Search(q=q, mode=mode, kind=kind or None, types=stix_types(type))
    headers: dict[str, str] = {}
    size = page_size(limit, settings, headers)
    found = await run_in_threadpool(service.search, db, viewer, s, cursor=cursor, limit=size)
    return _with_field(page_response(found.page, headers), "matched", found.matched)


def _with_field(response: Response, name: str, value: object) -> Response:
    """The page response with one more top-level field, spliced before its closing brace: the
    page keeps the one shape every list of objects has, whatever fields that shape gains."""
    body = bytes(response.body)
    if not body.endswith(b"}"):  # pragma: no cover - a page is always a JSON object
        raise ValueError("a page response is a JSON object")
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    spliced = body[:-1] + b',"' + name.encode() + b'":' + orjson.dumps(value) + b"}"
    return Response(spliced, status_code=response.status_code, headers=headers)


def register(app: FastAPI) -> None:
    app.include_router(router)
