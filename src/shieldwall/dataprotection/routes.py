"""REST routes for data protection: object metadata and break-glass reads for instance admins,
the break-glass log for member admins, retention rules, and personal-data find and erase."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import admin_viewer, current_viewer, get_db, get_ingestor
from shieldwall.api.openapi import errors
from shieldwall.dataprotection import custody, personal, retention
from shieldwall.db import Database
from shieldwall.intel.ingest import Ingestor
from shieldwall.jobs import Job
from shieldwall.policy import Viewer

router = APIRouter(prefix="/api/v1", tags=["data protection"])
RETENTION_EVERY = timedelta(hours=1).total_seconds()


class BreakGlassIn(BaseModel):
    object_id: str = Field(min_length=1, max_length=300)
    reason: str = Field(min_length=1, max_length=2000)


class RetentionIn(BaseModel):
    member_id: str | None = None
    type: str | None = Field(None, max_length=250)
    days: int | None = Field(None, ge=1, description="null removes the rule")


class ErasureIn(BaseModel):
    value: str = Field(min_length=3, max_length=1000)
    reason: str = Field(min_length=10, max_length=2000)


@router.get("/admin/objects")
async def object_metadata(
    viewer: Viewer = Depends(admin_viewer),
    db: Database = Depends(get_db),
    member: str | None = None,
    type: str | None = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    """Every object's metadata (owner, marking, size, dates), never its content: admins only."""
    return await run_in_threadpool(
        custody.object_metadata, db, viewer, member_id=member, object_type=type, after=after,
        limit=limit,
    )  # fmt: skip


@router.post("/admin/break-glass", responses=errors(404))
async def break_glass(
    body: BreakGlassIn, viewer: Viewer = Depends(admin_viewer), db: Database = Depends(get_db)
) -> dict:
    """Read an object the policy keeps from the admin, for a reason the owner's admins will see."""
    return await run_in_threadpool(
        custody.break_glass_read, db, viewer, body.object_id, body.reason
    )


@router.get("/break-glass", responses=errors(403))
async def break_glass_log(
    viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """The break-glass reads of this member's objects (member-admins), or of all (admins)."""
    return {"reads": await run_in_threadpool(custody.break_glass_log, db, viewer)}


@router.get("/admin/retention")
async def retention_rules(
    _: Viewer = Depends(admin_viewer), db: Database = Depends(get_db)
) -> dict:
    """The retention rules, most specific first; intel no rule covers is kept for ever."""

    def read() -> list[dict]:
        with db.read() as conn:
            return retention.rules_as_dicts(conn)

    return {"rules": await run_in_threadpool(read)}


@router.put("/admin/retention", responses=errors(404))
async def set_retention(
    body: RetentionIn, viewer: Viewer = Depends(admin_viewer), db: Database = Depends(get_db)
) -> dict:
    """Keep a member's (or every member's) intel of a type (or every type) for `days` days."""
    from shieldwall.audit import service as audit

    def write() -> list[dict]:
        with db.write() as conn:
            retention.set_rule(conn, body.member_id, body.type, body.days)
            audit.append(conn, viewer, "retention.set", body.model_dump())
            return retention.rules_as_dicts(conn)

    return {"rules": await run_in_threadpool(write)}


@router.get("/admin/privacy/find")
async def find_personal_data(
    value: Annotated[str, Query(min_length=3, max_length=1000)],
    viewer: Viewer = Depends(admin_viewer),
    db: Database = Depends(get_db),
) -> dict:
    """Every stored object version holding an e-mail address, phone number, name or account,
    and where in it (no content)."""
    found = await run_in_threadpool(personal.find, db, viewer, value)
    return {"found": [
        {"id": f.object_id, "modified": f.modified, "owner": f.owner, "properties": f.properties}
        for f in found
    ]}  # fmt: skip


@router.post("/admin/privacy/erase")
async def erase_personal_data(
    body: ErasureIn,
    viewer: Viewer = Depends(admin_viewer),
    db: Database = Depends(get_db),
    ingestor: Ingestor = Depends(get_ingestor),
) -> dict:
    """Replace a personal value with a marker in every version, rebuilding their indexes."""
    return await run_in_threadpool(
        personal.erase, db, viewer, body.value, body.reason, ingestor.indexes
    )


def register(app: FastAPI) -> None:
    app.include_router(router)
    db: Database = app.state.db
    app.state.scheduler.add(Job("retention", RETENTION_EVERY, lambda: retention.apply(db)))
