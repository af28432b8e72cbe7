"""Arrival rules: what a peer instance sends, checked and narrowed before it is stored.

Every write by a peer's account comes here (Ingestor.ingest routes it), whether we pulled it or
the peer pushed it to its inbox. Per object, in order:
1. Loops: an object whose origin is this instance, or whose path already names it, is dropped
   (it came back; nothing arrives twice).
2. Signature: checked against the origin's key (a direct peer's, or one a peer vouched for),
   over the object as it arrived; an object that is altered, signed by a key other than its
   origin's, or unsigned from a peer whose rule requires signatures is turned away and audited.
3. Distribution, hop by hop: `org` and `community` never travel, so they are turned away;
   `federation` arrives as `community` and travels no further; `all` keeps travelling; a
   sharing group stays that group here (the group is made, with the peer in it, when it is new
   here; members join it as this instance's admins decide) and never travels further.
   Anonymous contributions never leave their instance: one that says it is is turned away.
4. The peer's rule (types, TLP ceiling, labels) drops what we do not take from it.
5. A version already stored is not stored again. A new version of an object that arrived
   earlier through another peer, from the same origin, is stored as that peer's, since the
   object is its there; an id that belongs to one of our own members is turned away.
What is left is stored through the one write path, Ingestor.ingest_arrived. One object the
validator rejects turns away that object, not the page: a peer's bad object must not stall sync.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, String, select

from shieldwall.audit import service as audit
from shieldwall.db import Database, value_list
from shieldwall.federation.groups import arrived_group
from shieldwall.federation.keys import PublicKey, instance_key
from shieldwall.federation.peers import Peer, known_keys, peer_of_member
from shieldwall.federation.signing import signature_of, verify
from shieldwall.intel.ingest import BundleRejected, Ingestor, IngestResult
from shieldwall.intel.reference import kept_per_member
from shieldwall.intel.sharing import version_of
from shieldwall.intel.tables import objects
from shieldwall.markings import SHARING_EXTENSION_ID, tlp_of
from shieldwall.members.service import viewer_for_member
from shieldwall.members.tables import members
from shieldwall.policy import Viewer

_LOOP = "loop"


@dataclass(slots=True)
class _Sorting:
    """The objects of one arrival, sorted: by the member that stores them, or turned away."""

    by_owner: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    refused: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    def refuse(self, obj: Any, message: str) -> None:
        object_id = obj.get("id") if type(obj) is dict and type(obj.get("id")) is str else None
        self.refused.append({"id": object_id, "message": message})


def _sharing_ext(obj: dict[str, Any]) -> dict[str, Any] | None:
    extensions = obj.get("extensions")
    ext = extensions.get(SHARING_EXTENSION_ID) if type(extensions) is dict else None
    return ext if type(ext) is dict else None


def _with_ext(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    ext = {**(_sharing_ext(obj) or {"extension_type": "property-extension"}), **changes}
    return {**obj, "extensions": {**obj.get("extensions", {}), SHARING_EXTENSION_ID: ext}}


class ArrivalRules:
    """Ingestor.arrival for an instance: the rules above, against its database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._own: str | None = None
        # Pages foreseen, by id(): the page itself (the id is only ours while it lives) and its
        # signatures' verdicts, being checked on the verifiers' threads.
        self._foreseen: dict[int, tuple[list[Any], _Verdicts]] = {}
        self._foreseen_lock = threading.Lock()

    def foresee(self, viewer: Viewer, stix_objects: list[Any]) -> None:
        """Start checking the page's signatures now, while the page before it is stored."""
        with self.db.read() as conn:
            keys = known_keys(conn)
        verdicts = _Verdicts(stix_objects, keys)
        with self._foreseen_lock:
            while len(self._foreseen) >= _FORESEEN_PAGES:  # never received: a pull that broke
                del self._foreseen[next(iter(self._foreseen))]
            self._foreseen[id(stix_objects)] = (stix_objects, verdicts)

    def _verdicts(self, stix_objects: list[Any], keys: dict[str, PublicKey]) -> _Verdicts:
        with self._foreseen_lock:
            page, verdicts = self._foreseen.pop(id(stix_objects), (None, None))
        if page is stix_objects and verdicts is not None:
            return verdicts
        return _Verdicts(stix_objects, keys)

    def own_key_id(self) -> str:
        if self._own is None:
            self._own = instance_key(self.db).key_id
        return self._own

    def receive(
        self, ingestor: Ingestor, viewer: Viewer, stix_objects: list[Any], source: str
    ) -> IngestResult:
        with self.db.read() as conn:
            peer = peer_of_member(conn, viewer.member_id)
            keys = known_keys(conn)
        sorting = _Sorting()
        checked: list[dict[str, Any]] = []
        verdicts = self._verdicts(stix_objects, keys).result() if peer is not None else {}
        for index, obj in enumerate(stix_objects):
            verdict = self._check(obj, peer, verdicts.get(index, "the object is not signed"))
            if verdict is _LOOP:
                sorting.unchanged += 1
            elif isinstance(verdict, str):
                sorting.refuse(obj, verdict)
            else:
                checked.append(verdict)
        if checked:
            self._place(viewer, peer, checked, sorting)
        result = self._store(ingestor, viewer, sorting, source)
        if sorting.refused:
            audit.record(self.db, viewer, "federation.refused", {
                "peer": peer.name if peer else None, "source": source,
                "count": len(sorting.refused), "objects": sorting.refused[:100],
            })  # fmt: skip
        return result

    def _check(self, obj: Any, peer: Peer | None, unverified: str | None) -> Any:
        """The object to store (narrowed), _LOOP, or why it is turned away; `unverified` is
        why its signature does not hold (None when it does)."""
        if type(obj) is not dict:
            return obj  # the validator says what is wrong with it
        own = self.own_key_id()
        ext = _sharing_ext(obj) or {}
        origin = ext.get("origin")
        path = ext.get("path") if type(ext.get("path")) is list else []
        if origin == own or own in path:
            return _LOOP
        if peer is None:
            return "this member of kind peer has no peer configured here: nothing is taken from it"
        signature = signature_of(obj)
        if signature is not None or peer.require_signatures:
            if unverified is not None:
                return f"signature: {unverified}"
            if signature is not None and signature.get("key_id") != origin:
                return "signature: the object is not signed by its origin"
            if ext.get("anonymous") is True:
                return "an anonymous contribution never leaves its instance"
        elif ext.get("anonymous") is True:
            obj = _with_ext(obj, anonymous=False)  # the peer is who sends it
        distribution = ext.get("distribution")
        if distribution in ("org", "community"):
            return f"distribution {distribution!r} never leaves its instance"
        if distribution == "federation":
            obj = _with_ext(obj, distribution="community")  # one hop: it travels no further
        rule = peer.selection
        if rule is not None:
            refs = obj.get("object_marking_refs")
            tlp = tlp_of(refs if type(refs) is list else None)
            labels = obj.get("labels") if type(obj.get("labels")) is list else []
            if (
                (rule.types and obj.get("type") not in rule.types)
                or (rule.max_tlp is not None and (tlp is None or tlp > rule.max_tlp))
                or (rule.labels and not set(rule.labels) & set(labels))
            ):
                return _LOOP  # not what we take from this peer: dropped quietly, as a loop is
        return obj

    def _place(
        self, viewer: Viewer, peer: Peer | None, checked: list[dict[str, Any]], sorting: _Sorting
    ) -> None:
        """Sort checked objects by the member that stores them; make the groups they need."""
        assert peer is not None
        groups = {
            ext["sharing_group"]
            for obj in checked
            if (ext := _sharing_ext(obj)) and ext.get("distribution") == "group"
            and type(ext.get("sharing_group")) is str
        }  # fmt: skip
        closed = self._join_groups(peer, groups)
        ids = sorted({obj["id"] for obj in checked if type(obj.get("id")) is str})
        stored: dict[str, list[Any]] = defaultdict(list)
        bodies: dict[tuple[str, str], str] = {}
        with self.db.read() as conn:
            peer_members = set(conn.scalars(select(members.c.id).where(members.c.kind == "peer")))
            if ids:
                wanted = value_list(conn, ids, String())
                c = objects.c
                rows = conn.execute(
                    select(c.object_id, c.modified, c.member_id).select_from(
                        wanted.join(objects, c.object_id == wanted.c.value)
                    )
                )
                for row in rows:
                    stored[row.object_id].append(row)
                # Bodies only of other members' copies (where an origin is compared): a round
                # that finds what it stored before reads none.
                others = [i for i, rs in stored.items() if any(r.member_id != viewer.member_id
                                                               for r in rs)]  # fmt: skip
                if others:
                    bodies = _bodies(conn, others, viewer.member_id)
        for obj in checked:
            ext = _sharing_ext(obj) or {}
            if ext.get("distribution") == "group" and ext.get("sharing_group") in closed:
                sorting.refuse(obj, "the sharing group is not shared with this peer here")
                continue
            version = version_of(obj)
            if version is None:
                sorting.by_owner[viewer.member_id].append(obj)  # the validator will say why
                continue
            object_id, modified = version
            rows = stored.get(object_id, [])
            # kept_per_member reads the installed MISP galaxies once per process (~0.3 s): only
            # asked when another member holds the id, which a sync of new objects never meets.
            if any(r.member_id != viewer.member_id for r in rows) and kept_per_member(object_id):
                rows = [r for r in rows if r.member_id == viewer.member_id]
            if any(r.modified == modified for r in rows):
                sorting.unchanged += 1
                continue
            owners = {r.member_id for r in rows}
            if not owners or owners == {viewer.member_id}:
                sorting.by_owner[viewer.member_id].append(obj)
                continue
            owner = next(iter(owners))
            stored_origin = _origin_of(bodies[(object_id, owner)])
            if (
                owner in peer_members
                and stored_origin is not None
                and stored_origin == ext.get("origin")
            ):
                sorting.by_owner[owner].append(obj)
                continue
            sorting.refuse(obj, "this object's id belongs to another member here")

    def _join_groups(self, peer: Peer, group_ids: set[str]) -> set[str]:
        """Make each group that is new here, with the peer in it; the ids of groups that exist
        here without the peer (its objects for them are turned away)."""
        if not group_ids:
            return set()
        with self.db.write() as conn:
            return {gid for gid in sorted(group_ids) if not arrived_group(conn, peer, gid)}

    def _owner(self, viewer: Viewer, member_id: str) -> Viewer:
        """The peer member that stores a new version of what came through it first."""
        with self.db.read() as conn:
            return viewer_for_member(
                conn, member_id, user_id=viewer.user_id, role=viewer.role, email=viewer.email,
                peer=True,
            )  # fmt: skip

    def _store(
        self, ingestor: Ingestor, viewer: Viewer, sorting: _Sorting, source: str
    ) -> IngestResult:
        stored, unchanged, change_seq = 0, sorting.unchanged, None
        stored_ids: list[str] = []
        for member_id, batch in sorting.by_owner.items():
            owner = viewer if member_id == viewer.member_id else self._owner(viewer, member_id)
            for attempt in range(2):
                if not batch:
                    break
                bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": batch}
                try:
                    result = ingestor.ingest_arrived(owner, bundle, source=source)
                except BundleRejected as exc:
                    bad = {d["index"] for d in exc.details if d.get("index") is not None}
                    if not bad or attempt == 1:  # the bundle as a whole, or again: all of it
                        for obj in batch:
                            sorting.refuse(obj, f"rejected: {_first_message(exc.details)}")
                        break
                    for index in sorted(bad):
                        sorting.refuse(
                            batch[index], f"rejected: {_message_for(exc.details, index)}"
                        )
                    batch = [obj for i, obj in enumerate(batch) if i not in bad]
                    continue
                stored += result.stored
                unchanged += result.unchanged
                stored_ids += result.stored_ids
                change_seq = result.change_seq or change_seq
                break
        return IngestResult(
            change_seq, stored, unchanged, tuple(stored_ids), tuple(sorting.refused)
        )


# Ed25519 verification releases the GIL: two threads check a page's signatures side by side.
_VERIFIERS = ThreadPoolExecutor(2, thread_name_prefix="shieldwall-verify")
_FORESEEN_PAGES = 4  # a pull reads one page ahead; more would be pages nobody will store


class _Verdicts:
    """A page's signatures being checked on the verifiers' threads; result() waits for them:
    index -> why the object's signature does not hold (None: it holds), for signed objects."""

    def __init__(self, stix_objects: list[Any], keys: dict[str, PublicKey]) -> None:
        signed = [(i, o) for i, o in enumerate(stix_objects) if type(o) is dict and signature_of(o)]
        half = (len(signed) + 1) // 2

        def check(part: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str | None]]:
            return [(i, verify(o, keys)) for i, o in part]

        self._parts = [_VERIFIERS.submit(check, part) for part in (signed[:half], signed[half:])]

    def result(self) -> dict[int, str | None]:
        return {i: why for part in self._parts for i, why in part.result()}


def _bodies(conn: Connection, object_ids: list[str], member_id: str) -> dict[tuple[str, str], str]:
    """A body of each other member's copy of these objects, by (object id, member)."""
    wanted = value_list(conn, object_ids, String())
    c = objects.c
    rows = conn.execute(
        select(c.object_id, c.member_id, c.body)
        .select_from(wanted.join(objects, c.object_id == wanted.c.value))
        .where(c.member_id != member_id)
    )
    return {(r.object_id, r.member_id): r.body for r in rows}


def _origin_of(body: str) -> str | None:
    ext = _sharing_ext(orjson.loads(body))
    origin = ext.get("origin") if ext else None
    return origin if type(origin) is str else None


def _first_message(details: list[dict[str, Any]]) -> str:
    return str(details[0].get("message", "")) if details else "the bundle was rejected"


def _message_for(details: list[dict[str, Any]], index: int) -> str:
    return "; ".join(str(d.get("message")) for d in details if d.get("index") == index)[:500]
