"""Sync with peers over TAXII 2.1: pull what may leave towards us, push what may leave towards them.

A pull reads the peer's federation collection (a plain TAXII server's collections) page by page
through taxii.client.pull, as the peer's member here, so every page goes through the arrival
rules; where it stopped is kept per peer and collection, so a restart or a peer that was down
resumes there, and a page read twice stores nothing twice (a stored version is not stored
again). A push reads what may leave towards the peer (the policy, for the peer's member, under
our rule for it), past the last object pushed, signs it and POSTs it to the inbox the peer
keeps for us, remembering the last object pushed after each batch.

Each peer's round is on its own: one that is down is recorded (`last_error`) and the others go
on. `shieldwall sync` runs a round now; `shieldwall serve` runs one on a schedule, and pushes as
soon as something is written here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import httpx
import orjson

from shieldwall.db import Database
from shieldwall.errors import ShieldwallError
from shieldwall.federation import peers as peer_service
from shieldwall.federation.groups import learn_groups
from shieldwall.federation.keys import instance_key
from shieldwall.federation.outgoing import leaving
from shieldwall.federation.peers import SHIELDWALL, Peer
from shieldwall.intel import query
from shieldwall.intel.ingest import Ingestor
from shieldwall.markings import SHARING_EXTENSION_ID
from shieldwall.members.service import viewer_for_member
from shieldwall.policy import Role, Viewer
from shieldwall.taxii.client import PullResult, TaxiiClient, TaxiiClientError, pull
from shieldwall.taxii.collections import FEDERATION_COLLECTION_ID

log = logging.getLogger("shieldwall.federation")

PULL_JOB, PUSH_JOB = "federation-pull", "federation-push"


@dataclass(slots=True)
class RoundResult:
    """One peer's round."""

    peer: str
    received: int = 0
    stored: int = 0
    unchanged: int = 0
    pushed: int = 0
    error: str | None = None
    collections: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer, "received": self.received, "stored": self.stored,
            "unchanged": self.unchanged, "pushed": self.pushed, "error": self.error,
        }  # fmt: skip


def sync(
    db: Database, ingestor: Ingestor, *, peer_name: str | None = None, pull_only: bool = False,
    push_only: bool = False, page: int = 1000, timeout: float = 120,
    transport: httpx.BaseTransport | None = None,
    on_page: Callable[[RoundResult], None] | None = None,
) -> list[RoundResult]:  # fmt: skip
    """One round with `peer_name` (else every peer); each peer's failure is its own."""
    with db.read() as conn:
        chosen = (
            [peer_service.get_peer(conn, peer_name)] if peer_name else peer_service.list_peers(conn)
        )
    if push_only:
        chosen = [p for p in chosen if p.pushes]
    if pull_only:
        chosen = [p for p in chosen if p.pulls]
    results = []
    for peer in chosen:
        result = RoundResult(peer.name)
        try:
            with _client(peer, timeout, transport) as client:
                if peer.protocol == SHIELDWALL and not push_only:  # not on every woken push
                    _learn_from(db, peer)
                if peer.pulls and not push_only:
                    _pull(db, ingestor, peer, client, result, page, on_page)
                if peer.pushes and not pull_only:
                    _push(db, peer, client, result, page, on_page)
        except (TaxiiClientError, ShieldwallError, httpx.HTTPError) as exc:
            result.error = str(exc)
            log.warning("sync with %s failed: %s", peer.name, exc)
        # A push woken by a write that left nothing to push writes nothing (which would wake it).
        if not push_only or result.pushed or result.error != peer.last_error:
            with db.write() as conn:
                peer_service.record_round(conn, peer, result.error)
        results.append(result)
    return results


def _client(peer: Peer, timeout: float, transport: httpx.BaseTransport | None) -> TaxiiClient:
    return TaxiiClient(
        peer.api_root, basic=(peer.remote_user, peer.remote_key), timeout=timeout,
        transport=transport,
    )  # fmt: skip


def _peer_viewer(db: Database, peer: Peer) -> Viewer:
    """The peer's member here, as what arrives from it is stored and what leaves towards it is
    read (its own accounts see the same); the round's audit entries name the peer's id."""
    with db.read() as conn:
        return viewer_for_member(
            conn, peer.member_id, user_id=peer.id, role=Role.ANALYST,
            email=f"peer:{peer.name}", peer=True,
        )  # fmt: skip


def _pull(
    db: Database, ingestor: Ingestor, peer: Peer, client: TaxiiClient, result: RoundResult,
    page: int, on_page: Callable[[RoundResult], None] | None,
) -> None:  # fmt: skip
    if peer.protocol == SHIELDWALL:
        wanted = [FEDERATION_COLLECTION_ID]
    elif peer.collection_id:
        wanted = [peer.collection_id]
    else:
        wanted = [str(c["id"]) for c in client.collections() if c.get("can_read") and "id" in c]
    viewer = _peer_viewer(db, peer)
    for collection_id in wanted:
        before = (result.received, result.stored, result.unchanged)

        def counted(progress: PullResult, before: tuple[int, int, int] = before) -> None:
            result.received = before[0] + progress.received
            result.stored = before[1] + progress.stored
            result.unchanged = before[2] + progress.unchanged
            if on_page is not None:
                on_page(result)

        pull(db, ingestor, viewer, client, collection_id, limit=page, on_page=counted)
        result.collections.append(collection_id)


def _learn_from(db: Database, peer: Peer) -> None:
    """What a Shieldwall peer tells us before a round: the keys of the instances whose objects
    it forwards, as it vouches for them, and the sharing groups it has us in."""
    keys = _peer_json(peer, "/api/v1/federation/keys")
    groups = _peer_json(peer, "/api/v1/groups")
    own = instance_key(db).key_id
    with db.write() as conn:
        peer_service.record_vouched(conn, peer, keys, own)
        learn_groups(conn, peer, groups)


def _peer_json(peer: Peer, path: str) -> Any:
    """GET a Shieldwall peer's REST API as our account there."""
    url = peer.url.rstrip("/") + path
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {peer.remote_key}"},
                             timeout=30)  # fmt: skip
    except httpx.HTTPError as exc:
        raise TaxiiClientError(f"{url}: {exc}") from None
    if response.status_code != 200:
        raise TaxiiClientError(f"{url}: HTTP {response.status_code}")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise TaxiiClientError(
            f"{url}: the answer is not JSON (is the URL a Shieldwall's?)"
        ) from None


def _push(
    db: Database, peer: Peer, client: TaxiiClient, result: RoundResult, page: int,
    on_page: Callable[[RoundResult], None] | None,
) -> None:  # fmt: skip
    """Push what may leave towards the peer, past the last object pushed, to its inbox."""
    inbox: dict[str, Any] | None = None
    key = instance_key(db)
    viewer = _peer_viewer(db, peer)
    wanted = query.ObjectFilter(
        selection=peer.selection, other_than_member_id=peer.member_id, all_versions=True
    )
    after = peer.push_after_pk
    while True:
        with db.read() as conn:
            rows = list(islice(query.iter_objects(conn, viewer, wanted, page, after=after), page))
        if not rows:
            return
        batch = []
        for row in rows:
            obj = orjson.loads(row.body)
            if not _came_from(obj, peer):
                batch.append(leaving(obj, key))
        if batch:
            inbox = inbox or _inbox(client, peer)
            client.add_objects(str(inbox["id"]), batch)
        after = rows[-1].pk
        with db.write() as conn:
            peer_service.record_pushed(conn, peer, after)
        result.pushed += len(batch)
        if on_page is not None:
            on_page(result)


def _inbox(client: TaxiiClient, peer: Peer) -> dict[str, Any]:
    """The collection the peer keeps for what we send: the one we may write to."""
    inbox = next((c for c in client.collections() if c.get("can_write")), None)
    if inbox is None:
        raise TaxiiClientError(f"{peer.api_root}: no collection there takes our objects")
    return inbox


def _came_from(obj: dict[str, Any], peer: Peer) -> bool:
    """Whether the object started at the peer or passed through it: it would drop it."""
    if peer.public_key is None:
        return False
    ext = obj.get("extensions", {}).get(SHARING_EXTENSION_ID) or {}
    return ext.get("origin") == peer.public_key.key_id or peer.public_key.key_id in (
        ext.get("path") or ()
    )
