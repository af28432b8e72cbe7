"""Accept a STIX 2.1 bundle whole or not at all.

validate (pure) -> resolve sharing (pure) -> one write transaction: ownership and version checks,
object rows, the change-log entry and the audit entry. Anything that fails leaves the database as
it was before the write. A large bundle is validated in a worker process (validate_parallel.py)
while the rest goes on; the transaction commits only once the worker has found no error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, String, Table, func, select, update

from shieldwall.audit import service as audit
from shieldwall.correlate.index import CorrelationIndex
from shieldwall.db import Database, bulk_insert, probe_by_probe, utc_now, value_list
from shieldwall.errors import Forbidden, Invalid, ShieldwallError
from shieldwall.gcpause import gc_paused
from shieldwall.intel import sharing
from shieldwall.intel.tables import change_log, objects
from shieldwall.intel.timestamps import normalize_timestamp
from shieldwall.intel.validate import ObjectError
from shieldwall.intel.validate_parallel import BundleCheck, BundleValidator
from shieldwall.markings import TLP, TLP_BY_MARKING_ID, Distribution
from shieldwall.members.service import broker_identity
from shieldwall.members.tables import members
from shieldwall.policy import Viewer, may_write_intel
from shieldwall.settings import Settings
from shieldwall.sightings.benign import benign_of

# STIX 2.1 §6: cyber-observable types. Their ids are usually derived from their values, so several
# members legitimately send the same id: each member keeps its own copy with its own marking.
SCO_TYPES = frozenset(
    {
        "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
        "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
        "network-traffic", "process", "software", "url", "user-account",
        "windows-registry-key", "x509-certificate",
    }
)  # fmt: skip
_INSERT_BATCH = 5000  # rows built while the previous batch is written
_SEARCHED = ("name", "description", "pattern")
_SEARCH_TEXT_LIMIT = 4000
_IN_CHUNK = 5000  # ids per IN (...) probe: few round trips, well under any bind limit


class NotJSON(ShieldwallError):
    """The bundle is not even JSON."""

    status = 400


class BundleRejected(Invalid):
    """The bundle broke a rule; `details` lists every error, nothing was stored."""

    def __init__(self, errors: Sequence[ObjectError]) -> None:
        n = len(errors)
        super().__init__(
            f"bundle rejected: {n} error{'s' if n != 1 else ''}; nothing was stored",
            details=[e.as_dict() for e in errors],
        )


@dataclass(frozen=True, slots=True)
class IngestResult:
    change_seq: int | None
    stored: int
    unchanged: int
    stored_ids: tuple[str, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"change_seq": self.change_seq, "stored": self.stored, "unchanged": self.unchanged}


@dataclass(slots=True)
class _Version:
    """One object version of the bundle: where it stands and whether it is new."""

    index: int
    object_id: str
    modified: str  # normalised; '' for objects without one
    is_latest: bool = True


# objects' columns in the order _row fills them; pk and is_latest are added when stored.
_COLUMNS = (
    "object_id", "type", "created", "modified", "created_by", "tlp", "distribution",
    "sharing_group_id", "member_id", "anonymous", "date_added", "revoked", "labels",
    "search_text", "body", "confidence",
)  # fmt: skip


class ObjectIndex(Protocol):
    """Something kept beside each stored object version and written in the same transaction
    (the correlation index, full-text search...)."""

    layouts: Sequence[tuple[Table, Sequence[str]]]

    def rows(self, pk: int, obj: dict[str, Any]) -> Sequence[list[tuple[Any, ...]]]:
        """Rows for each layout, in order, for the object version stored as `pk`."""
        ...


@dataclass(frozen=True, slots=True)
class Ingestor:
    """The write path of one instance: its database, its broker identity and its indexes."""

    db: Database
    broker_identity: str
    indexes: tuple[ObjectIndex, ...] = ()
    validator: BundleValidator = field(default_factory=lambda: BundleValidator(workers=0))

    def close(self) -> None:
        """Stop the validation workers, if any were started."""
        self.validator.close()

    def ingest(self, viewer: Viewer, bundle: Any, *, source: str = "api") -> IngestResult:
        """Store every object of `bundle` for `viewer`'s member, or raise BundleRejected."""
        with gc_paused():
            return _ingest(self, viewer, bundle, source)

    def ingest_json(self, viewer: Viewer, raw: bytes, *, source: str = "api") -> IngestResult:
        """The same for a bundle still in its JSON text: parsed with the collector paused too."""
        with gc_paused():
            try:
                bundle = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise NotJSON(f"the bundle is not JSON: {exc}") from None
            return _ingest(self, viewer, bundle, source)


def ingestor_for(db: Database, settings: Settings) -> Ingestor:
    """The ingestor an app or a command builds once and uses for every write."""
    from shieldwall.search.index import SearchIndex

    benign = benign_of(settings.warninglists, settings.cache_dir)
    correlation = CorrelationIndex(benign, values=True)
    indexes = (correlation, SearchIndex.for_database(db))
    validator = BundleValidator(settings.validation_workers)
    return Ingestor(db, broker_identity(settings.broker_name), indexes, validator)


def _ingest(ingestor: Ingestor, viewer: Viewer, bundle: Any, source: str) -> IngestResult:
    if not may_write_intel(viewer):
        raise Forbidden("this role may not share intel")
    check = ingestor.validator.start(bundle)
    try:
        return _validated_ingest(ingestor, viewer, bundle, source, check)
    except Exception:
        # Whatever went wrong, a bundle that breaks the rules is told so: the objects may not
        # even have had the shape the rest of ingest assumes while the worker was checking them.
        if errors := check():
            raise BundleRejected(errors) from None
        raise


def _validated_ingest(
    ingestor: Ingestor, viewer: Viewer, bundle: Any, source: str, check: BundleCheck
) -> IngestResult:
    """Ingest proper; `check` gives the validation errors, and nothing commits before it did."""
    db, broker_identity = ingestor.db, ingestor.broker_identity
    if check.done and (errors := check()):
        raise BundleRejected(errors)
    with db.read() as conn:
        defaults, other_identities = member_context(conn, viewer)
    stix_objects = bundle["objects"]
    resolved, errors = sharing.resolve(stix_objects, viewer, defaults)
    errors += _identity_errors(
        stix_objects, resolved, defaults, other_identities | {broker_identity}
    )
    if errors:
        raise BundleRejected(errors)
    # The TLP marking definitions are the platform's own (GET /api/v1/definitions): not stored.
    versions = [
        _Version(i, obj["id"], normalize_timestamp(obj["modified"]) if obj.get("modified") else "")
        for i, obj in enumerate(stix_objects)
        if not (obj["type"] == "marking-definition" and obj["id"] in TLP_BY_MARKING_ID)
    ]
    skipped_markings = len(stix_objects) - len(versions)
    result = _write(ingestor, viewer, stix_objects, resolved, versions, source, check)
    db.wrote_many(result.stored)  # on PostgreSQL, statistics catch up after large writes
    return replace(result, unchanged=result.unchanged + skipped_markings)


def _write(
    ingestor: Ingestor,
    viewer: Viewer,
    stix_objects: Sequence[dict[str, Any]],
    resolved: Sequence[sharing.Sharing],
    versions: list[_Version],
    source: str,
    check: BundleCheck,
) -> IngestResult:
    """The write transaction of an ingest."""
    db, broker_identity, now = ingestor.db, ingestor.broker_identity, utc_now()
    with db.write() as conn:
        new, superseded, unchanged = _plan_versions(conn, viewer, versions)
        change_seq = None
        if new:

            def prepare(version: _Version) -> tuple[tuple[Any, ...], dict[str, Any]]:
                """The stored row of a version, and the object as sent (for the index)."""
                obj = stix_objects[version.index]
                shared = resolved[version.index]
                return _row(obj, shared, viewer, broker_identity, now, version.modified), obj

            change_seq = _store(
                conn, viewer, new, prepare, ingestor.indexes, superseded, now, source
            )
        if errors := check():  # waits for the workers; raising here rolls the write back
            raise BundleRejected(errors)
        return IngestResult(
            change_seq=change_seq,
            stored=len(new),
            unchanged=unchanged,
            stored_ids=tuple(v.object_id for v in new),
        )


def member_context(conn: Connection, viewer: Viewer) -> tuple[sharing.MemberDefaults, set[str]]:
    rows = conn.execute(
        select(
            members.c.id,
            members.c.identity_id,
            members.c.default_tlp,
            members.c.default_distribution,
        )
    ).all()
    mine = next(r for r in rows if r.id == viewer.member_id)
    defaults = sharing.MemberDefaults(
        member_id=mine.id,
        identity_id=mine.identity_id,
        tlp=TLP(mine.default_tlp),
        distribution=Distribution(mine.default_distribution),
    )
    return defaults, {r.identity_id for r in rows if r.id != viewer.member_id}


def _identity_errors(
    stix_objects: Sequence[dict[str, Any]],
    resolved: Sequence[sharing.Sharing],
    defaults: sharing.MemberDefaults,
    foreign_identities: set[str],
) -> list[ObjectError]:
    """A member may not speak as another member (or the broker), and an anonymous contribution
    may not carry its contributor's identity."""
    errors = []
    for index, (obj, s) in enumerate(zip(stix_objects, resolved, strict=True)):
        creator = obj.get("created_by_ref")
        if creator in foreign_identities and not s.anonymous:
            errors.append(
                ObjectError(
                    index,
                    obj["id"],
                    "created_by_ref",
                    "created_by_ref names the identity of another member",
                )
            )
        if s.anonymous and obj["id"] == defaults.identity_id:
            errors.append(
                ObjectError(
                    index,
                    obj["id"],
                    "id",
                    "an anonymous contribution must not "
                    "include the contributing member's own identity",
                )
            )
    return errors


def _row(
    obj: dict[str, Any], s: sharing.Sharing, viewer: Viewer, broker: str, now: str, modified: str
) -> tuple[Any, ...]:
    """The object's column values, in _COLUMNS order; `modified` already normalised."""
    body = obj if obj["type"] == "marking-definition" else sharing.apply(obj, s, broker)
    created = body.get("created")
    labels = body.get("labels")
    text = " ".join([str(body[k]) for k in _SEARCHED if k in body]).lower()[:_SEARCH_TEXT_LIMIT]
    return (
        body["id"],
        body["type"],
        normalize_timestamp(created) if created else None,
        modified,
        body.get("created_by_ref"),
        int(s.tlp),
        s.distribution.value,
        s.sharing_group_id,
        viewer.member_id,
        s.anonymous,
        now,
        bool(body.get("revoked", False)),
        "|" + "|".join(labels) + "|" if labels else None,
        text or None,
        orjson.dumps(body).decode(),
        confidence if type(confidence := body.get("confidence")) is int else None,
    )


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _plan_versions(
    conn: Connection, viewer: Viewer, versions: list[_Version]
) -> tuple[list[_Version], list[int], int]:
    """Which rows are new versions, which stored rows stop being the latest, how many are repeats.

    A version is (id, modified); for observables also the member, since each member keeps its own.
    """
    ids = sorted({v.object_id for v in versions})
    existing: dict[tuple[str, str | None], dict[str, Any]] = {}  # key -> {modified: pk}, latest
    owner_errors: list[ObjectError] = []
    owners: dict[str, str] = {}
    probe_by_probe(conn)
    wanted = value_list(conn, ids, String())
    stored = select(
        objects.c.pk,
        objects.c.object_id,
        objects.c.type,
        objects.c.member_id,
        objects.c.modified,
        objects.c.is_latest,
    ).select_from(wanted.join(objects, objects.c.object_id == wanted.c.value))
    if ids:
        for pk, object_id, type_, member_id, modified, is_latest in conn.execute(stored):
            if type_ in SCO_TYPES and member_id != viewer.member_id:
                continue  # another member's copy of the same observable
            owners[object_id] = member_id
            entry = existing.setdefault((object_id, member_id), {"versions": {}, "latest": None})
            entry["versions"][modified] = pk
            if is_latest:
                entry["latest"] = (modified, pk)
    for r in versions:
        owner = owners.get(r.object_id)
        if owner is not None and owner != viewer.member_id:
            # The id is told only to someone who already holds it; STIX ids are random UUIDs.
            owner_errors.append(
                ObjectError(
                    r.index,
                    r.object_id,
                    "id",
                    "this id belongs to an object shared by another "
                    "member; objects of other creators cannot be overwritten",
                )
            )
    if owner_errors:
        raise BundleRejected(owner_errors)

    new_rows: list[_Version] = []
    unchanged = 0
    newest: dict[str, str] = {}  # object_id -> newest modified among stored and new versions
    superseded: list[int] = []
    for r in versions:
        entry = existing.get((r.object_id, viewer.member_id))
        if entry and r.modified in entry["versions"]:
            unchanged += 1
            continue
        new_rows.append(r)
        best = newest.get(r.object_id)
        if best is None and entry and entry["latest"]:
            best = entry["latest"][0]
        if best is None or r.modified > best:
            newest[r.object_id] = r.modified
    for r in new_rows:
        r.is_latest = newest.get(r.object_id) == r.modified
    for object_id, modified in newest.items():
        entry = existing.get((object_id, viewer.member_id))
        if entry and entry["latest"] and entry["latest"][0] != modified:
            superseded.append(entry["latest"][1])
    return new_rows, superseded, unchanged


def _store(
    conn: Connection,
    viewer: Viewer,
    new_rows: list[_Version],
    prepare: Callable[[_Version], tuple[tuple[Any, ...], dict[str, Any]]],
    indexes: Sequence[ObjectIndex],
    superseded: list[int],
    now: str,
    source: str,
) -> int:
    first_pk = (conn.scalar(select(func.max(objects.c.pk))) or 0) + 1
    seq = (conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1

    def batch(start: int) -> list[list[tuple[Any, ...]]]:
        object_rows: list[tuple[Any, ...]] = []
        index_rows: list[list[tuple[Any, ...]]] = [[] for _ in index_layouts]
        for pk, v in enumerate(new_rows[start : start + _INSERT_BATCH], start=first_pk + start):
            values, original = prepare(v)
            object_rows.append((pk, v.is_latest, *values))
            slot = 0
            for index in indexes:
                for rows in index.rows(pk, original):
                    index_rows[slot] += rows
                    slot += 1
        return [object_rows, *index_rows]

    index_layouts = [layout for index in indexes for layout in index.layouts]
    bulk_insert(
        conn,
        [(objects, ("pk", "is_latest", *_COLUMNS)), *index_layouts],
        (batch(start) for start in range(0, len(new_rows), _INSERT_BATCH)),
    )
    for chunk in _chunks(superseded):  # type: ignore[arg-type]
        conn.execute(update(objects).where(objects.c.pk.in_(chunk)).values(is_latest=False))
    last_pk = first_pk + len(new_rows) - 1
    conn.execute(
        change_log.insert().values(
            seq=seq,
            at=now,
            action="ingest",
            member_id=viewer.member_id,
            user_id=viewer.user_id,
            first_pk=first_pk,
            last_pk=last_pk,
            count=len(new_rows),
        )
    )
    ids = [f"{r.object_id}@{r.modified}" for r in new_rows]
    audit.append(
        conn,
        viewer,
        "intel.ingest",
        {
            "source": source,
            "change_seq": seq,
            "count": len(new_rows),
            "first_pk": first_pk,
            "last_pk": last_pk,
            "objects": ids if len(ids) <= 100 else ids[:100],
            "objects_digest": audit.digest_of(ids),
        },
    )
    return seq
