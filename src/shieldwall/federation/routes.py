"""/api/v1/federation/keys (who signs what we may receive) and /api/v1/peers (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_db
from shieldwall.api.openapi import errors
from shieldwall.db import Database
from shieldwall.errors import Forbidden, Invalid
from shieldwall.federation import peers as peer_service
from shieldwall.federation import sync as sync_service
from shieldwall.federation.keys import instance_key
from shieldwall.federation.signatures import SIGN_JOB, Signer
from shieldwall.jobs import Job
from shieldwall.markings import TLP
from shieldwall.policy import Viewer

router = APIRouter(prefix="/api/v1", tags=["federation"])


def _admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise Forbidden("only instance admins manage peers")


@router.get("/federation/keys", responses=errors(403))
async def federation_keys(
    viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """This instance's public key and those of the Shieldwall instances it exchanges with (for
    admins and peers' accounts): a peer keeps them to check the signatures of objects that
    reach it through this instance."""
    if not (viewer.is_admin or viewer.peer):
        raise Forbidden("only admins and peer instances read the federation's keys")

    def listing() -> dict:
        own = instance_key(db).public
        with db.read() as conn:
            return peer_service.keys_listing(conn, own)

    return await run_in_threadpool(listing)


class PeerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, description="the peer; also its member's name here")
    url: str = Field(max_length=1000, description="a Shieldwall's base URL, or a TAXII API root")
    user: str = Field(max_length=320, description="the account the other side made for us")
    key: str = Field(max_length=200, description="that account's API key")
    public_key: str | None = Field(
        default=None, description="the peer's `shieldwall instance key`; none: a TAXII server"
    )
    direction: str = Field(default="pull", description="pull, push or both")
    type: list[str] = Field(default=[], description="only objects of these STIX types")
    max_tlp: str | None = Field(default=None, description="only objects at most this TLP")
    label: list[str] = Field(default=[], description="only objects with one of these labels")
    collection: str | None = Field(
        default=None, description="a TAXII server's collection (default: every readable one)"
    )


@router.get("/peers", responses=errors(403))
async def list_peers(
    viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """Every peer with its rule and how its last round went (never the key it gave us)."""
    _admin(viewer)

    def listing() -> dict:
        with db.read() as conn:
            return {"peers": [p.as_dict() for p in peer_service.list_peers(conn)]}

    return await run_in_threadpool(listing)


@router.post("/peers", status_code=201, responses=errors(403, 409))
async def add_peer(
    body: PeerIn, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """Add a peer (as `shieldwall peer add`): linked to the member of kind `peer` of that name,
    made when there is none."""
    _admin(viewer)
    try:
        ceiling = TLP.parse(body.max_tlp) if body.max_tlp is not None else None
    except ValueError as exc:
        raise Invalid(str(exc)) from None

    def add() -> dict:
        with db.write() as conn:
            return peer_service.add_peer(
                conn, body.name, url=body.url, user=body.user, key=body.key,
                public_key=body.public_key, direction=body.direction, types=tuple(body.type),
                max_tlp=ceiling, labels=tuple(body.label), collection_id=body.collection,
            ).as_dict()  # fmt: skip

    return await run_in_threadpool(add)


@router.delete("/peers/{name}", status_code=204, responses=errors(403, 404))
async def remove_peer(
    name: str, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> Response:
    """Stop exchanging with a peer; its member and what arrived from it stay."""
    _admin(viewer)

    def remove() -> None:
        with db.write() as conn:
            peer_service.remove_peer(conn, name)

    await run_in_threadpool(remove)
    return Response(status_code=204)


@router.post("/peers/{name}/sync", responses=errors(403, 404))
async def sync_peer(
    name: str, request: Request, viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> dict:  # fmt: skip
    """Run a round with the peer now (as `shieldwall sync --peer NAME`)."""
    _admin(viewer)
    ingestor = request.app.state.ingestor
    page = request.app.state.settings.federation_page_size
    results = await run_in_threadpool(
        lambda: sync_service.sync(db, ingestor, peer_name=name, page=page)
    )
    return results[0].as_dict()


def register(app: FastAPI) -> None:
    """Mount the routes and add the sync jobs: pulls on a schedule, pushes on a schedule and
    as soon as this process writes (the job's lock keeps one node at it)."""
    db: Database = app.state.db
    ingestor = app.state.ingestor
    every = app.state.settings.federation_sync_seconds
    page = app.state.settings.federation_page_size
    scheduler = app.state.scheduler

    def pull() -> None:
        sync_service.sync(db, ingestor, pull_only=True, page=page)

    def push() -> None:
        sync_service.sync(db, ingestor, push_only=True, page=page)

    def written() -> None:
        # A write by a request wakes the push (at most once a second); the jobs' own writes
        # (their leases, a pull's objects, cursors) wait for the next round.
        if not scheduler.in_job():
            scheduler.wake(SIGN_JOB, not_within=1.0)  # before the push: it serves signatures
            scheduler.wake(sync_service.PUSH_JOB, not_within=1.0)

    scheduler.add(Job(sync_service.PULL_JOB, every, pull))
    scheduler.add(Job(sync_service.PUSH_JOB, every, push))
    scheduler.add(Job(SIGN_JOB, every, Signer(db).run))
    db.after_write(written)
    app.include_router(router)
