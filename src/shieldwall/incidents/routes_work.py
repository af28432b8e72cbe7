"""REST routes for the work inside one incident: proposals and taskings, the timeline, tasks,
evidence and its custody, and links to intel (existing, or shared back from the response).

Each resolves the incident through the policy first: for a member not taking part, every one
of these is the same 404 as for an unknown incident, whatever the body or the sub-resource.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.openapi import errors
from shieldwall.incidents import evidence, links, service, taskings, work
from shieldwall.incidents.routes import Config, Db, Now, Viewing, _time
from shieldwall.intel.ingest import Ingestor

router = APIRouter(prefix="/api/v1", tags=["incidents"])


def _ingestor(request: Request) -> Ingestor:
    return request.app.state.ingestor


class TaskingIn(BaseModel):
    """Whom the coordinator tasks."""

    model_config = ConfigDict(extra="forbid")

    member_id: str | None = Field(
        None, max_length=36, description="the member to task; left out: the best-ranked proposal"
    )


class AnswerIn(BaseModel):
    """A tasked member's answer."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=5000, description="required to decline")


class ReleaseIn(BaseModel):
    """Why a tasking ends."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=5000)


class NoteIn(BaseModel):
    """A note on the timeline."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=20_000)


class TaskIn(BaseModel):
    """A task for a member taking part."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=300)
    description: str = Field("", max_length=20_000)
    owner_member_id: str | None = Field(None, max_length=36, description="default: your member")
    owner_user_id: str | None = Field(None, max_length=36)
    due_at: str | None = Field(None, description="RFC 3339 with an offset")
    mandatory: bool = Field(False, description="the incident is not resolved while it is open")


class TaskPatch(BaseModel):
    """Changes to a task; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, description="open, done or cancelled")
    due_at: str | None = Field(None, description="RFC 3339; null clears it")
    owner_user_id: str | None = Field(None, max_length=36)


class HashIn(BaseModel):
    """An artefact's digest."""

    model_config = ConfigDict(extra="forbid")

    algorithm: str = Field(description=", ".join(evidence.HASH_LENGTHS))
    value: str = Field(max_length=128)


class EvidenceIn(BaseModel):
    """Evidence your member holds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=300)
    hash: HashIn
    location: str = Field(max_length=2000, description="where the artefact is kept")
    description: str = Field("", max_length=20_000)
    size_bytes: int | None = Field(None, ge=0, le=2**62)
    collected_at: str | None = Field(None, description="RFC 3339; default now")


class CustodyIn(BaseModel):
    """One handling of evidence, for its chain of custody."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(description=", ".join(evidence.CUSTODY_ACTIONS))
    to_member_id: str | None = Field(
        None, max_length=36, description="for transferred and returned"
    )
    hash_seen: str | None = Field(None, max_length=128, description="the digest you computed")
    note: str = Field("", max_length=5000)


class LinksIn(BaseModel):
    """Intel in the store to link."""

    model_config = ConfigDict(extra="forbid")

    object_ids: list[str] = Field(min_length=1, max_length=500)


class FindingIn(BaseModel):
    """An indicator found during the response, to share back as intel."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(max_length=8000)
    kind: str = Field("auto", description="auto, or " + ", ".join(links.SHAREABLE_KINDS))
    tlp: str | None = Field(None, description="default: the incident's TLP")
    distribution: str | None = Field(None, description="default: your member's, within the TLP")
    sharing_group: str | None = Field(None, max_length=36)
    name: str | None = Field(None, max_length=300)
    description: str | None = Field(None, max_length=20_000)


class IntelIn(BaseModel):
    """Indicators to share back as intel, all or none."""

    model_config = ConfigDict(extra="forbid")

    indicators: list[FindingIn] = Field(min_length=1, max_length=1000)


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(lambda: fn(*args, **kwargs))


@router.get("/incidents/{incident_id}/proposals", responses=errors(403))
async def proposals(incident_id: str, viewer: Viewing, db: Db) -> dict:
    """Declared responders ranked by fit for this incident, each with the reasons (coordinator
    and requester)."""
    return {"proposals": await _call(taskings.proposals, db, viewer, incident_id)}


@router.post("/incidents/{incident_id}/taskings", status_code=201, responses=errors(403, 409))
async def task(
    incident_id: str, body: TaskingIn, viewer: Viewing, db: Db, config: Config, now: Now
) -> dict:
    """The coordinator tasks a member (or the best-ranked proposal), who must answer before
    `answer_by`."""
    return await _call(taskings.task, db, viewer, config, incident_id, body.member_id, now)


@router.post("/incidents/{incident_id}/taskings/{tasking_id}/accept", responses=errors(403, 409))
async def accept(
    incident_id: str,
    tasking_id: str,
    body: AnswerIn,
    viewer: Viewing,
    db: Db,
    config: Config,
    now: Now,
) -> dict:
    """The tasked member accepts. 409 once its time to answer has passed: the tasking then
    expires and moves to the next in rank."""
    return await _call(
        taskings.answer, db, viewer, config, incident_id, tasking_id, True, body.reason, now
    )


@router.post("/incidents/{incident_id}/taskings/{tasking_id}/decline", responses=errors(403, 409))
async def decline(
    incident_id: str,
    tasking_id: str,
    body: AnswerIn,
    viewer: Viewing,
    db: Db,
    config: Config,
    now: Now,
) -> dict:
    """The tasked member declines, with a reason: the next in rank is tasked."""
    return await _call(
        taskings.answer, db, viewer, config, incident_id, tasking_id, False, body.reason, now
    )


@router.post("/incidents/{incident_id}/taskings/{tasking_id}/release", responses=errors(403, 409))
async def release(
    incident_id: str, tasking_id: str, body: ReleaseIn, viewer: Viewing, db: Db, now: Now
) -> dict:
    """End a standing tasking: the coordinator lets a responder go, or the responder withdraws."""
    return await _call(taskings.release, db, viewer, incident_id, tasking_id, body.reason, now)


@router.get("/incidents/{incident_id}/timeline")
async def timeline(
    incident_id: str,
    viewer: Viewing,
    db: Db,
    after: Annotated[int, Query(ge=0, le=2**62, description="the `next` of the last page")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    """Everything that happened, oldest first, written by the platform and by people."""
    return await _call(service.get_timeline, db, viewer, incident_id, after=after, limit=limit)


@router.post("/incidents/{incident_id}/timeline", status_code=201, responses=errors(403, 409))
async def add_note(incident_id: str, body: NoteIn, viewer: Viewing, db: Db, now: Now) -> dict:
    """Write on the timeline."""
    return await _call(work.add_note, db, viewer, incident_id, body.text, now)


@router.post("/incidents/{incident_id}/tasks", status_code=201, responses=errors(403, 409))
async def add_task(incident_id: str, body: TaskIn, viewer: Viewing, db: Db, now: Now) -> dict:
    """A task for a member taking part (the coordinator's for anyone, others' for their own
    member), optionally for one of its users, with a due time and a mandatory flag."""
    item = work.TaskIn(
        body.title,
        body.description,
        body.owner_member_id,
        body.owner_user_id,
        _time(body.due_at, "due_at"),
        body.mandatory,
    )
    return await _call(work.add_task, db, viewer, incident_id, item, now)


@router.patch("/incidents/{incident_id}/tasks/{task_id}", responses=errors(403, 409))
async def update_task(
    incident_id: str, task_id: str, body: TaskPatch, viewer: Viewing, db: Db, now: Now
) -> dict:
    """Mark a task done, cancelled or open again, or change its due time or user."""
    sent = body.model_fields_set
    change = work.TaskChange(
        status=body.status,
        due_at=_time(body.due_at, "due_at") if "due_at" in sent else work.UNCHANGED,
        owner_user_id=body.owner_user_id if "owner_user_id" in sent else work.UNCHANGED,
    )
    return await _call(work.update_task, db, viewer, incident_id, task_id, change, now)


@router.post("/incidents/{incident_id}/evidence", status_code=201, responses=errors(403, 409))
async def add_evidence(
    incident_id: str, body: EvidenceIn, viewer: Viewing, db: Db, now: Now
) -> dict:
    """Record evidence your member holds: its hash, where it is kept; custody starts."""
    item = evidence.EvidenceIn(
        body.name,
        body.hash.algorithm,
        body.hash.value,
        body.location,
        body.description,
        body.size_bytes,
        _time(body.collected_at, "collected_at"),
    )
    return await _call(evidence.add_evidence, db, viewer, incident_id, item, now)


@router.post(
    "/incidents/{incident_id}/evidence/{evidence_id}/custody",
    status_code=201,
    responses=errors(403, 409),
)
async def custody(
    incident_id: str, evidence_id: str, body: CustodyIn, viewer: Viewing, db: Db, now: Now
) -> dict:
    """Add to the chain of custody: its holder (or the coordinator) records a handling."""
    item = evidence.CustodyIn(body.action, body.to_member_id, body.hash_seen, body.note)
    return await _call(evidence.record_custody, db, viewer, incident_id, evidence_id, item, now)


@router.post("/incidents/{incident_id}/links", status_code=201, responses=errors(403, 409))
async def link(incident_id: str, body: LinksIn, viewer: Viewing, db: Db, now: Now) -> dict:
    """Link intel in the store that you may see."""
    return await _call(links.link, db, viewer, incident_id, body.object_ids, now)


@router.delete(
    "/incidents/{incident_id}/links/{object_id}", status_code=204, responses=errors(403, 409)
)
async def unlink(incident_id: str, object_id: str, viewer: Viewing, db: Db, now: Now) -> None:
    """Remove a link (the member that made it, or the coordinator)."""
    await _call(links.unlink, db, viewer, incident_id, object_id, now)


@router.post("/incidents/{incident_id}/intel", status_code=201, responses=errors(403, 409))
async def share_intel(
    incident_id: str,
    body: IntelIn,
    viewer: Viewing,
    db: Db,
    now: Now,
    ingestor: Annotated[Ingestor, Depends(_ingestor)],
) -> dict:
    """Share indicators found during the response as intel in one step, each with its own TLP
    and distribution, linked to the incident. All are stored or none (422 listing every error)."""
    findings = [
        links.Finding(
            f.value, f.kind, f.tlp, f.distribution, f.sharing_group, f.name, f.description
        )
        for f in body.indicators
    ]
    return await _call(links.share_back, db, ingestor, viewer, incident_id, findings, now)
