"""REST routes for reading and verifying the audit log (instance admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import admin_viewer, get_db
from shieldwall.audit import service
from shieldwall.db import Database
from shieldwall.policy import Viewer

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("")
async def list_entries(
    _: Viewer = Depends(admin_viewer),
    db: Database = Depends(get_db),
    after: Annotated[
        int,
        # A BIGINT: past it, SQLite cannot even compare (a 500 before), and no entry is there.
        Query(ge=0, le=2**63 - 1, description="return entries after this sequence number"),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: str | None = None,
) -> dict:
    def read() -> list[dict]:
        with db.read() as conn:
            return service.list_entries(conn, after=after, limit=limit, action=action)

    entries = await run_in_threadpool(read)
    return {"entries": entries, "next_after": entries[-1]["seq"] if len(entries) == limit else None}


@router.get("/verify")
async def verify(_: Viewer = Depends(admin_viewer), db: Database = Depends(get_db)) -> dict:
    result = await run_in_threadpool(service.verify, db)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "first_bad_seq": result.first_bad_seq,
        "reason": result.reason,
    }


def register(app: FastAPI) -> None:
    app.include_router(router)
