"""Peers: the other instances (Shieldwall, or any TAXII 2.1 server) this one exchanges intel with.

On this side a peer is a member of kind `peer` named as the peer (DESIGN.md, the words we use):
its accounts read what may leave towards it, sharing groups may name it, and what arrives from
it is stored as its contribution. Adding a peer links to that member when an admin has already
made it (with the account the other side will use) and makes it otherwise.

A Shieldwall peer is reached at its base URL, signs what it sends, and has its public key
configured here; any other TAXII 2.1 server is reached at an API root, pull only and unsigned.
A peer's rule (object types, TLP ceiling, labels) is a selection: what we serve it and what we
take from it, on top of the access policy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, select, update

from shieldwall.db import utc_now
from shieldwall.errors import Conflict, Invalid, NotFound
from shieldwall.federation.keys import PublicKey, key_id_of
from shieldwall.federation.tables import peers, vouched_keys
from shieldwall.markings import TLP
from shieldwall.members.service import create_member
from shieldwall.members.tables import members
from shieldwall.selections import service as selections
from shieldwall.selections.service import Selection

DIRECTIONS = ("pull", "push", "both")
SHIELDWALL, TAXII = "shieldwall", "taxii"
TAXII_PATH = "/taxii2/shieldwall/"  # a Shieldwall's API root, below its base URL


@dataclass(frozen=True, slots=True)
class Peer:
    id: str
    name: str
    member_id: str
    url: str
    protocol: str
    direction: str
    public_key: PublicKey | None
    remote_user: str
    remote_key: str
    collection_id: str | None
    selection: Selection | None
    require_signatures: bool
    push_after_pk: int
    last_sync_at: str | None
    last_error: str | None

    @property
    def api_root(self) -> str:
        if self.protocol == SHIELDWALL:
            return self.url.rstrip("/") + TAXII_PATH
        return self.url if self.url.endswith("/") else self.url + "/"

    @property
    def pulls(self) -> bool:
        return self.direction in ("pull", "both")

    @property
    def pushes(self) -> bool:
        return self.direction in ("push", "both")

    def as_dict(self) -> dict[str, Any]:
        """What admins see of a peer: everything but the API key the other side gave us."""
        return {
            "name": self.name,
            "member_id": self.member_id,
            "url": self.url,
            "protocol": self.protocol,
            "direction": self.direction,
            "public_key": str(self.public_key) if self.public_key else None,
            "key_id": self.public_key.key_id if self.public_key else None,
            "user": self.remote_user,
            "collection": self.collection_id,
            "selection": self.selection.as_dict() if self.selection else None,
            "require_signatures": self.require_signatures,
            "last_sync_at": self.last_sync_at,
            "last_error": self.last_error,
        }


def add_peer(
    conn: Connection, name: str, *, url: str, user: str, key: str,
    public_key: str | None = None, direction: str = "pull", types: tuple[str, ...] = (),
    max_tlp: TLP | None = None, labels: tuple[str, ...] = (), collection_id: str | None = None,
) -> Peer:  # fmt: skip
    """Add a peer: with `public_key` another Shieldwall at its base URL `url` (signatures
    required), without one any TAXII 2.1 server at its API root (pull only, unsigned)."""
    name = name.strip()
    if not name:
        raise Invalid("a peer needs a name")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"the peer's URL must be an http(s) URL, not {url!r}")
    if direction not in DIRECTIONS:
        raise Invalid(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    if not user.strip() or not key.strip():
        raise Invalid("a peer needs the user and API key the other side made for this instance")
    parsed = PublicKey.parse(public_key) if public_key else None
    protocol = SHIELDWALL if parsed else TAXII
    if protocol == TAXII and direction != "pull":
        raise Invalid("a TAXII server without a Shieldwall public key is pulled from only")
    if conn.scalar(select(peers.c.id).where(peers.c.name == name)):
        raise Conflict(f"a peer named {name!r} already exists")
    member = conn.execute(select(members.c.id, members.c.kind).where(members.c.name == name))
    found = member.first()
    if found is not None and found.kind != "peer":
        raise Conflict(f"the member {name!r} exists and is not of kind peer")
    member_id = found.id if found is not None else create_member(conn, name, "peer")
    if conn.scalar(select(peers.c.id).where(peers.c.member_id == member_id)):
        raise Conflict(f"the member {name!r} is already another peer")
    selection = Selection(types=tuple(types), max_tlp=max_tlp, labels=tuple(labels))
    selection_id = (
        selections.create(conn, f"Peer rule: {name}", selection)
        if selection != Selection()
        else None
    )
    peer_id = str(uuid.uuid4())
    conn.execute(peers.insert().values(
        id=peer_id, name=name, member_id=member_id, url=url.strip(), protocol=protocol,
        direction=direction, public_key=str(parsed) if parsed else None,
        key_id=parsed.key_id if parsed else None, remote_user=user.strip(), remote_key=key.strip(),
        collection_id=collection_id, selection_id=selection_id,
        require_signatures=parsed is not None, push_after_pk=0, created_at=utc_now(),
    ))  # fmt: skip
    return get_peer(conn, name)


def _of_row(conn: Connection, row: Any) -> Peer:
    return Peer(
        id=row.id, name=row.name, member_id=row.member_id, url=row.url, protocol=row.protocol,
        direction=row.direction,
        public_key=PublicKey.parse(row.public_key) if row.public_key else None,
        remote_user=row.remote_user, remote_key=row.remote_key, collection_id=row.collection_id,
        selection=selections.get(conn, row.selection_id) if row.selection_id else None,
        require_signatures=row.require_signatures, push_after_pk=row.push_after_pk,
        last_sync_at=row.last_sync_at, last_error=row.last_error,
    )  # fmt: skip


def get_peer(conn: Connection, name: str) -> Peer:
    row = conn.execute(select(peers).where(peers.c.name == name)).first()
    if row is None:
        raise NotFound(f"no peer named {name!r}")
    return _of_row(conn, row)


def peer_of_member(conn: Connection, member_id: str) -> Peer | None:
    """The peer a member of kind `peer` stands for, if one was added."""
    row = conn.execute(select(peers).where(peers.c.member_id == member_id)).first()
    return _of_row(conn, row) if row is not None else None


def list_peers(conn: Connection) -> list[Peer]:
    return [_of_row(conn, row) for row in conn.execute(select(peers).order_by(peers.c.name))]


def remove_peer(conn: Connection, name: str) -> None:
    """Stop exchanging with a peer. Its member, and what arrived from it, stay."""
    peer = get_peer(conn, name)
    conn.execute(delete(vouched_keys).where(vouched_keys.c.vouched_by == peer.id))
    conn.execute(delete(peers).where(peers.c.id == peer.id))


def record_round(conn: Connection, peer: Peer, error: str | None) -> None:
    conn.execute(
        update(peers)
        .where(peers.c.id == peer.id)
        .values(last_sync_at=utc_now(), last_error=error[:2000] if error else None)
    )


def record_pushed(conn: Connection, peer: Peer, after_pk: int) -> None:
    conn.execute(update(peers).where(peers.c.id == peer.id).values(push_after_pk=after_pk))


def known_keys(conn: Connection) -> dict[str, PublicKey]:
    """Every key whose signature this instance checks: its peers' and those they vouch for."""
    keys = {
        row.key_id: PublicKey.parse(row.public_key)
        for row in conn.execute(select(vouched_keys.c.key_id, vouched_keys.c.public_key))
    }
    for row in conn.execute(select(peers.c.key_id, peers.c.public_key)):
        if row.public_key:
            keys[row.key_id] = PublicKey.parse(row.public_key)  # a direct peer's own wins
    return keys


def keys_listing(conn: Connection, own: PublicKey) -> dict[str, Any]:
    """This instance's key and its Shieldwall peers' (GET /api/v1/federation/keys): what a peer
    reads to check the signatures of instances whose objects it forwards to it."""
    return {
        "instance": {"key_id": own.key_id, "public_key": str(own)},
        "peers": [
            {"name": row.name, "key_id": row.key_id, "public_key": row.public_key}
            for row in conn.execute(select(peers).order_by(peers.c.name))
            if row.public_key
        ],
    }


def record_vouched(conn: Connection, peer: Peer, listing: Any, own_key_id: str) -> int:
    """Keep the keys `peer` vouches for (its keys_listing); returns how many were kept. A
    listed key that does not hash to its id, our own key and our direct peers' are skipped."""
    if type(listing) is not dict or type(listing.get("peers")) is not list:
        return 0
    direct = set(conn.scalars(select(peers.c.key_id).where(peers.c.key_id.is_not(None))))
    kept = 0
    conn.execute(delete(vouched_keys).where(vouched_keys.c.vouched_by == peer.id))
    for entry in listing["peers"]:
        try:
            key = PublicKey.parse(str(entry["public_key"]))
        except (Invalid, KeyError, TypeError):
            continue
        if key_id_of(key.raw) != entry.get("key_id") or key.key_id in direct | {own_key_id}:
            continue
        exists = conn.scalar(
            select(vouched_keys.c.key_id).where(vouched_keys.c.key_id == key.key_id)
        )
        if exists:
            continue  # another peer vouched for it first
        conn.execute(vouched_keys.insert().values(
            key_id=key.key_id, public_key=str(key), name=str(entry.get("name", ""))[:200],
            vouched_by=peer.id, updated_at=utc_now(),
        ))  # fmt: skip
        kept += 1
    return kept
