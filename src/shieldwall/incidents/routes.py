"""REST routes for incident assistance: filing and reading requests, the dashboard, figures and
the cross-border view, status and lead changes, and responder profiles. The work inside one
incident (taskings, tasks, evidence, links, the timeline) is in routes_work.py.

Routes parse, call one service function off the event loop with `now` from the app's incident
clock, and return what it gives. Every page of the web application reads these same answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_db
from shieldwall.api.openapi import errors
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.incidents import escalation, figures, responders, service, status
from shieldwall.incidents.config import (
    AVAILABILITIES,
    CAPABILITIES,
    CLOCK_MEANINGS,
    CLOCKS,
    RESOLUTIONS,
    SEVERITY_MEANINGS,
    STATUSES,
    IncidentConfig,
    config_from,
)
from shieldwall.incidents.times import parse_given, wall_clock
from shieldwall.jobs import Job
from shieldwall.policy import Viewer

router = APIRouter(prefix="/api/v1", tags=["incidents"])

_SEVERITY_HELP = "; ".join(f"`{k}`: {v}" for k, v in SEVERITY_MEANINGS.items())


def get_config(request: Request) -> IncidentConfig:
    """The instance's incident configuration, read from the settings when the app was built."""
    return request.app.state.incident_config


def get_now(request: Request) -> datetime:
    """`now` for this request, from the app's incident clock (tests replace it)."""
    return request.app.state.incident_clock()


class SanitizeOptions(BaseModel):
    """What the sanitiser leaves alone, and the filer's own DNS suffixes it masks."""

    model_config = ConfigDict(extra="forbid")

    keep: list[str] = Field(default_factory=list, description="sanitiser kinds left unmasked")
    internal_domains: list[str] = Field(
        default_factory=list, max_length=50, description="your DNS suffixes, masked as internal"
    )


_WORDS = Field(default_factory=list, max_length=50)


class IncidentIn(BaseModel):
    """A request for assistance, filed for the caller's member."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=300)
    description: str = Field(max_length=100_000, description="sanitised before it is stored")
    severity: str = Field(description=_SEVERITY_HELP)
    tlp: str = Field(description="TLP 2.0: clear, green, amber, amber+strict, red")
    countries: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="ISO 3166 alpha-2 codes of the countries hit",
    )
    sectors: list[str] = Field(default_factory=list, max_length=50, description="sectors hit")
    services: list[str] = Field(
        default_factory=list, max_length=50, description="services hit, in your words"
    )
    needs: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="capabilities wanted (none: incident-response): " + ", ".join(CAPABILITIES),
    )
    languages: list[str] = Field(
        default_factory=list, max_length=20, description="ISO 639-1 codes responders should speak"
    )
    links: list[str] = Field(
        default_factory=list, max_length=500, description="ids of intel in the store you may see"
    )
    sanitize: SanitizeOptions = Field(default_factory=SanitizeOptions)

    def draft(self) -> service.Draft:
        """The request as the service takes it."""
        return service.Draft(
            title=self.title,
            description=self.description,
            severity=self.severity,
            tlp=self.tlp,
            countries=tuple(self.countries),
            sectors=tuple(self.sectors),
            services=tuple(self.services),
            needs=tuple(self.needs),
            languages=tuple(self.languages),
            links=tuple(self.links),
            keep=frozenset(self.sanitize.keep),
            internal_domains=tuple(self.sanitize.internal_domains),
        )


class IncidentPatch(BaseModel):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=300)
    description: str | None = Field(None, max_length=100_000)
    severity: str | None = None
    tlp: str | None = None
    countries: list[str] | None = Field(None, max_length=50)
    sectors: list[str] | None = Field(None, max_length=50)
    services: list[str] | None = Field(None, max_length=50)
    needs: list[str] | None = Field(None, max_length=20)
    languages: list[str] | None = Field(None, max_length=20)
    sanitize: SanitizeOptions = Field(default_factory=SanitizeOptions)

    def changes(self) -> service.Changes:
        """The changes as the service takes them."""

        def words(value: list[str] | None) -> tuple[str, ...] | None:
            return None if value is None else tuple(value)

        return service.Changes(
            title=self.title,
            description=self.description,
            severity=self.severity,
            tlp=self.tlp,
            countries=words(self.countries),
            sectors=words(self.sectors),
            services=words(self.services),
            needs=words(self.needs),
            languages=words(self.languages),
            keep=frozenset(self.sanitize.keep),
            internal_domains=tuple(self.sanitize.internal_domains),
        )


class StatusIn(BaseModel):
    """A status the coordinator moves the incident to, and why."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description=", ".join(s for s in STATUSES if s != "closed"))
    reason: str = Field("", max_length=5000)


class ResumeIn(BaseModel):
    """What the requester answered, ending the wait."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=5000, description="what the requester answered")


class CloseIn(BaseModel):
    """How the incident ended."""

    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(description=", ".join(RESOLUTIONS))
    summary: str = Field(max_length=20_000)


class HandoverIn(BaseModel):
    """The member taking the lead, and why."""

    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(max_length=36, description="the member taking the lead")
    reason: str = Field(max_length=5000)
    keep_previous: bool = Field(True, description="the previous coordinator stays on")


class ProfileIn(BaseModel):
    """A member's responder profile."""

    model_config = ConfigDict(extra="forbid")

    capabilities: list[str] = Field(
        max_length=len(CAPABILITIES), description=", ".join(CAPABILITIES)
    )
    countries: list[str] = _WORDS
    sectors: list[str] = _WORDS
    languages: list[str] = _WORDS
    availability: str = Field("available", description=", ".join(AVAILABILITIES))
    note: str = Field("", max_length=2000)


def _time(text: str | None, name: str) -> datetime | None:
    return None if text is None else parse_given(text, name)


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(lambda: fn(*args, **kwargs))


Viewing = Annotated[Viewer, Depends(current_viewer)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[IncidentConfig, Depends(get_config)]
Now = Annotated[datetime, Depends(get_now)]


@router.get("/incidents/meta")
async def meta(_: Viewing, config: Config) -> dict:
    """The words of incident assistance and this instance's choices: severities with their
    meanings, statuses, resolutions, clocks with their targets per severity (seconds), how long
    a tasked responder has to answer, the coordinator rule, and the responder capabilities."""
    return {
        "severities": [{"name": k, "meaning": v} for k, v in SEVERITY_MEANINGS.items()],
        "statuses": list(STATUSES),
        "resolutions": list(RESOLUTIONS),
        "clocks": [
            {"name": c, "meaning": CLOCK_MEANINGS[c], "targets": dict(config.targets[c])}
            for c in CLOCKS
        ],
        "answer_within": dict(config.answer_within),
        "warn_at": config.warn_at,
        "coordinator_rule": list(config.coordinator_rule),
        "capabilities": list(CAPABILITIES),
        "availabilities": list(AVAILABILITIES),
    }


@router.post("/incidents/preview")
async def preview(body: IncidentIn, viewer: Viewing, db: Db, config: Config) -> dict:
    """What filing this request would store (title and description with victim data masked,
    and what was masked) and which member would coordinate it, by the instance's rule. Nothing
    is stored."""
    return await _call(service.preview, db, viewer, config, body.draft())


@router.post("/incidents", status_code=201, responses=errors(403))
async def file_incident(
    body: IncidentIn, viewer: Viewing, db: Db, config: Config, now: Now
) -> dict:
    """File a request for assistance for your member: 201 with the new incident (its `id`)
    and `findings`, what the sanitiser masked in the title and description."""
    filed = await _call(service.file_incident, db, viewer, config, body.draft(), now)
    view = await _call(service.get_incident, db, viewer, config, filed["id"], now)
    return {**view, "findings": filed["findings"]}


@router.get("/incidents")
async def list_incidents(
    viewer: Viewing,
    db: Db,
    config: Config,
    now: Now,
    status: Annotated[list[str] | None, Query(description="status(es), repeated")] = None,
    severity: Annotated[list[str] | None, Query(description="severity(ies), repeated")] = None,
    role: Annotated[
        str | None,
        Query(
            pattern="^(requester|coordinator|responder)$", description="your member's part in them"
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    """The incidents your member takes part in (requester, coordinator, tasked responder),
    newest first; `next` is the cursor of the following page. No total is given."""
    for name, given, known in (
        ("status", status, STATUSES),
        ("severity", severity, tuple(SEVERITY_MEANINGS)),
    ):
        if bad := [v for v in given or () if v not in known]:
            raise Invalid(f"{name}: unknown {', '.join(bad)}; known: {', '.join(known)}")
    f = service.ListFilter(tuple(status or ()), tuple(severity or ()), role)
    return await _call(
        service.list_incidents, db, viewer, config, f, cursor=cursor, limit=limit, now=now
    )


@router.get("/incidents/dashboard")
async def dashboard(viewer: Viewing, db: Db, config: Config, now: Now) -> dict:
    """What needs your member now: open incidents by status and severity, `marks` (clocks
    running late or breached), taskings awaiting your answer, your open tasks, the latest
    escalations, and a line per open incident."""
    return await _call(figures.dashboard, db, viewer, config, now)


@router.get("/incidents/figures")
async def incident_figures(
    viewer: Viewing,
    db: Db,
    config: Config,
    now: Now,
    by: Annotated[str, Query(description="severity, sector, country or none")] = "severity",
    since: Annotated[str | None, Query(description="filed at or after (RFC 3339)")] = None,
    until: Annotated[str | None, Query(description="filed before (RFC 3339)")] = None,
) -> dict:
    """Per group, the number of incidents and, per clock, how many were measured, their median
    and 90th percentile in seconds, and how many met, breached or still run; `tlp`, the
    strictest TLP of the incidents counted (null when none). Counts only the incidents you take
    part in."""
    return await _call(
        figures.figures,
        db,
        viewer,
        config,
        by=by,
        since=_time(since, "since"),
        until=_time(until, "until"),
        now=now,
    )


@router.get("/incidents/figures/series")
async def incident_series(
    viewer: Viewing,
    db: Db,
    config: Config,
    now: Now,
    interval: Annotated[str, Query(description="day, week or month")] = "week",
    since: str | None = None,
    until: str | None = None,
) -> dict:
    """The chart over time: per period of filing, incidents by severity and each clock's
    median and breaches; `tlp`, the strictest TLP of the incidents counted (null when none)."""
    return await _call(
        figures.series,
        db,
        viewer,
        config,
        interval=interval,
        since=_time(since, "since"),
        until=_time(until, "until"),
        now=now,
    )


@router.get("/incidents/cross-border")
async def cross_border(viewer: Viewing, db: Db, config: Config, now: Now) -> dict:
    """Incidents hitting more than one country, and groups of incidents linked to a common
    indicator (the same object, or the same observable value), built only from incidents and
    intel you may see."""
    return await _call(figures.cross_border, db, viewer, config, now)


@router.get("/incidents/{incident_id}")
async def get_incident(incident_id: str, viewer: Viewing, db: Db, config: Config, now: Now) -> dict:
    """One incident: what was filed, requester and coordinator, responders and their taskings,
    clocks, tasks, evidence, the linked intel you may see, and who led it when. 404 for an
    incident you do not take part in, as for an unknown one."""
    return await _call(service.get_incident, db, viewer, config, incident_id, now)


@router.patch("/incidents/{incident_id}", responses=errors(403, 409))
async def patch_incident(
    incident_id: str, body: IncidentPatch, viewer: Viewing, db: Db, config: Config, now: Now
) -> dict:
    """Change what was filed: title, description and TLP by the requester; severity and scope
    by the requester or the coordinator. A new severity retargets the clocks."""
    return await _call(
        service.update_incident, db, viewer, config, incident_id, body.changes(), now
    )


@router.post("/incidents/{incident_id}/acknowledge", responses=errors(403, 409))
async def acknowledge(incident_id: str, viewer: Viewing, db: Db, now: Now) -> dict:
    """The coordinator acknowledges the request (stops the acknowledge clock)."""
    return await _call(status.set_status, db, viewer, incident_id, "acknowledged", "", now)


@router.post("/incidents/{incident_id}/status", responses=errors(403, 409))
async def set_status(incident_id: str, body: StatusIn, viewer: Viewing, db: Db, now: Now) -> dict:
    """The coordinator moves the status (`waiting-on-requester` pauses the clocks)."""
    return await _call(status.set_status, db, viewer, incident_id, body.status, body.reason, now)


@router.post("/incidents/{incident_id}/resume", responses=errors(403, 409))
async def resume(incident_id: str, body: ResumeIn, viewer: Viewing, db: Db, now: Now) -> dict:
    """The requester has answered (requester or coordinator): the clocks run again."""
    return await _call(status.resume, db, viewer, incident_id, body.note, now)


@router.post("/incidents/{incident_id}/close", responses=errors(403, 409))
async def close(incident_id: str, body: CloseIn, viewer: Viewing, db: Db, now: Now) -> dict:
    """Close for good, with a resolution and a summary: the coordinator, or the requester
    withdrawing. Closing as resolved needs every mandatory task done or cancelled."""
    return await _call(status.close, db, viewer, incident_id, body.resolution, body.summary, now)


@router.post("/incidents/{incident_id}/handover", responses=errors(403, 409))
async def handover(incident_id: str, body: HandoverIn, viewer: Viewing, db: Db, now: Now) -> dict:
    """The coordinator hands the lead to another member, recorded."""
    return await _call(
        status.handover,
        db,
        viewer,
        incident_id,
        body.member_id,
        body.reason,
        body.keep_previous,
        now,
    )


@router.get("/responders")
async def list_responders(_: Viewing, db: Db) -> dict:
    """Every declared responder profile: partnership directory information."""

    def read() -> list[dict]:
        with db.read() as conn:
            return responders.list_profiles(conn)

    return {"responders": await run_in_threadpool(read)}


@router.get("/responders/{member_id}")
async def get_responder(member_id: str, _: Viewing, db: Db) -> dict:
    """One member's responder profile (404 when it declared none)."""

    def read() -> dict:
        with db.read() as conn:
            return responders.get_profile(conn, member_id)

    return await run_in_threadpool(read)


@router.put("/responders/{member_id}", responses=errors(403))
async def declare_responder(
    member_id: str, body: ProfileIn, viewer: Viewing, db: Db, now: Now
) -> dict:
    """Declare (or replace) a member's responder profile: its member-admins, or an admin."""
    profile = responders.Profile(
        tuple(body.capabilities),
        tuple(body.countries),
        tuple(body.sectors),
        tuple(body.languages),
        body.availability,
        body.note,
    )
    return await _call(responders.declare, db, viewer, member_id, profile, now)


def register(app: FastAPI) -> None:
    """Mount the routes and add the clock job; a bad incident setting stops the start here."""
    from shieldwall.incidents import routes_work

    app.state.incident_config = config_from(app.state.settings)
    app.state.incident_clock = wall_clock
    app.include_router(router)
    app.include_router(routes_work.router)
    db: Database = app.state.db
    app.state.scheduler.add(
        Job(
            escalation.JOB_NAME,
            escalation.EVERY_SECONDS,
            lambda: escalation.run(db, app.state.incident_config, app.state.incident_clock()),
        )
    )
