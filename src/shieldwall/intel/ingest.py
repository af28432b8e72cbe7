"""Accept a STIX 2.1 bundle whole or not at all.

validate (pure) -> resolve sharing (pure) -> one write transaction: ownership and version checks,
object rows, the change-log entry and the audit entry. Anything that fails leaves the database as
it was before the write. A large bundle is validated in a worker process (validate_parallel.py)
while the rest goes on; the transaction commits only once the worker has found no error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, String, Table, func, select, update

from shieldwall.audit import service as audit
from shieldwall.correlate.index import CorrelationIndex
from shieldwall.db import Database, bulk_insert, probe_by_probe, utc_now, value_list
from shieldwall.errors import Forbidden, Invalid, ShieldwallError
from shieldwall.gcpause import gc_paused
from shieldwall.intel import sharing
from shieldwall.intel.bundle_file import BundleFile, NotABundleFile, Progress
from shieldwall.intel.reference import kept_per_member
from shieldwall.intel.sharing_context import (
    MemberContext,
    member_context,
    stored_marking_levels,
)
from shieldwall.intel.tables import change_log, objects
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.intel.validate import ObjectError
from shieldwall.intel.validate_extensions import FEDERATION_PROPERTIES
from shieldwall.intel.validate_parallel import BundleCheck, BundleValidator
from shieldwall.markings import (
    SHARING_EXTENSION_ID,
    TLP,
    TLP_BY_MARKING_ID,
    Distribution,
    check_stored_pair,
)
from shieldwall.members.service import broker_identity
from shieldwall.policy import Viewer, may_see, may_write_intel
from shieldwall.settings import Settings
from shieldwall.sightings.benign import benign_of

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
    # From a peer instance: objects its arrival rules turned away, {"index", "id", "message"}.
    refused: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = {"change_seq": self.change_seq, "stored": self.stored, "unchanged": self.unchanged}
        if self.refused:
            out["refused"] = list(self.refused)
        return out


class Arrival(Protocol):
    """Federation's arrival rules (federation/arrival.py), which every write by a peer
    instance's account goes through: they check, narrow or turn away each object, then store
    the rest with Ingestor.ingest_arrived."""

    def receive(
        self, ingestor: Ingestor, viewer: Viewer, objects: list[Any], source: str
    ) -> IngestResult: ...

    def foresee(self, viewer: Viewer, objects: list[Any]) -> None:
        """`objects` will soon arrive (through receive, the same list): start on them now."""
        ...


@dataclass(slots=True)
class _Version:
    """One object version of the bundle: where it stands and whether it is new."""

    index: int
    object_id: str
    modified: str  # normalised; '' for objects without one
    is_latest: bool = True


# objects' columns in the order _row fills them after pk and is_latest.
_COLUMNS = (
    "object_id", "type", "created", "modified", "created_by", "tlp", "distribution",
    "sharing_group_id", "member_id", "anonymous", "date_added", "revoked", "labels",
    "search_text", "body", "confidence", "valid_until",
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
    broker_name: str = ""  # the name the broker's identity goes by (Settings.broker_name)
    arrival: Arrival | None = None  # what a peer instance sends goes through these rules first

    def close(self) -> None:
        """Stop the validation workers, if any were started."""
        self.validator.close()

    def ingest(self, viewer: Viewer, bundle: Any, *, source: str = "api") -> IngestResult:
        """Store every object of `bundle` for `viewer`'s member, or raise BundleRejected."""
        if viewer.peer and self.arrival is not None:
            stix_objects = bundle.get("objects") if type(bundle) is dict else None
            if type(stix_objects) is list and may_write_intel(viewer):
                return self.arrival.receive(self, viewer, stix_objects, source)
        with gc_paused():
            return _ingest(self, viewer, bundle, source)

    def foresee(self, viewer: Viewer, stix_objects: list[Any]) -> None:
        """A page of objects that `viewer` will ingest soon, the same list: work that needs
        nothing from the pages before it (checking a peer's signatures) may start now, on
        another thread, while this one still stores the page before."""
        if viewer.peer and self.arrival is not None:
            self.arrival.foresee(viewer, stix_objects)

    def ingest_arrived(self, viewer: Viewer, bundle: Any, *, source: str) -> IngestResult:
        """Store what a peer sent once the arrival rules admitted it (Arrival.receive only)."""
        with gc_paused():
            return _ingest(self, viewer, bundle, source)

    def ingest_json(self, viewer: Viewer, raw: bytes, *, source: str = "api") -> IngestResult:
        """The same for a bundle still in its JSON text: parsed with the collector paused too."""
        with gc_paused():
            try:
                bundle = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise NotJSON(f"the bundle is not JSON: {exc}") from None
        if viewer.peer and self.arrival is not None:
            return self.ingest(viewer, bundle, source=source)
        with gc_paused():
            return _ingest(self, viewer, bundle, source)

    def ingest_file(
        self,
        viewer: Viewer,
        path: Path,
        *,
        source: str = "import",
        progress: Progress | None = None,
    ) -> IngestResult:
        """The same for a bundle file, read in two passes so that memory holds the objects'
        ids and never their bodies, whatever the file's size (bundle_file.py); `progress` hears
        of the objects read and stored."""
        if not may_write_intel(viewer):
            raise Forbidden("this role may not share intel")
        if viewer.peer and self.arrival is not None:  # a peer sends pages, never huge files
            return self.ingest_json(viewer, path.read_bytes(), source=source)
        with gc_paused():
            check = self.validator.start_file(path)
            bundle_file = BundleFile(path, progress)
            try:
                try:
                    bundle_file.read_skeletons()
                except NotABundleFile as exc:
                    errors = check() or [ObjectError(None, None, None, str(exc))]
                    raise BundleRejected(errors) from None
                if not bundle_file.skeletons:
                    raise BundleRejected(check())  # no objects: the validator says why
                return _validated_ingest(
                    self, viewer, bundle_file.skeletons, bundle_file.stream, source, check
                )
            except BundleRejected:
                raise
            except Exception:
                if errors := check():
                    raise BundleRejected(errors) from None
                raise


def ingestor_for(db: Database, settings: Settings) -> Ingestor:
    """The ingestor an app or a command builds once and uses for every write."""
    from shieldwall.search.index import SearchIndex

    benign = benign_of(settings.warninglists, settings.cache_dir)
    correlation = CorrelationIndex(benign, values=True)
    indexes = (correlation, SearchIndex.for_database(db))
    from shieldwall.federation.arrival import ArrivalRules

    validator = BundleValidator(settings.validation_workers)
    return Ingestor(
        db, broker_identity(settings.broker_name), indexes, validator, settings.broker_name,
        ArrivalRules(db),
    )  # fmt: skip


def _ingest(ingestor: Ingestor, viewer: Viewer, bundle: Any, source: str) -> IngestResult:
    if not may_write_intel(viewer):
        raise Forbidden("this role may not share intel")
    check = ingestor.validator.start(bundle)
    try:
        stix_objects = bundle.get("objects") if type(bundle) is dict else None
        if type(stix_objects) is not list:
            raise BundleRejected(check())  # not even a list of objects: the validator says why
        return _validated_ingest(
            ingestor, viewer, stix_objects, lambda: iter(stix_objects), source, check
        )
    except BundleRejected:
        raise
    except Exception:
        # Whatever went wrong, a bundle that breaks the rules is told so: the objects may not
        # even have had the shape the rest of ingest assumes while the worker was checking them.
        if errors := check():
            raise BundleRejected(errors) from None
        raise


def _validated_ingest(
    ingestor: Ingestor,
    viewer: Viewer,
    stix_objects: Sequence[Any],
    stream: Callable[[], Iterator[Any]],
    source: str,
    check: BundleCheck,
) -> IngestResult:
    """Ingest proper. `stix_objects` are the objects, or their skeletons (bundle_file.py): what
    sharing and versions are decided from; `stream()` gives the objects whole, in the same
    order, as they are written. `check` gives the validation errors, and nothing commits
    before it did."""
    db = ingestor.db
    with db.read() as conn:
        context = member_context(conn, viewer, ingestor.broker_identity, ingestor.broker_name)
        levels, marking_errors = sharing.marking_levels(
            stix_objects, lambda ids: stored_marking_levels(conn, viewer, ids)
        )
    result = _write(
        ingestor, viewer, stix_objects, stream, context, levels, marking_errors, source, check
    )
    db.wrote_many(result.stored)  # on PostgreSQL, statistics catch up after large writes
    return result


def _write(
    ingestor: Ingestor,
    viewer: Viewer,
    stix_objects: Sequence[Any],
    stream: Callable[[], Iterator[Any]],
    context: MemberContext,
    levels: sharing.MarkingLevels,
    marking_errors: list[ObjectError],
    source: str,
    check: BundleCheck,
) -> IngestResult:
    """The write transaction of an ingest: read what is stored of the bundle's objects, resolve
    their sharing against it, and store the new versions, or reject the whole with every error."""
    db = ingestor.db
    skipped, errors = _platform_objects(stix_objects, context)
    versions = _versions(stix_objects, skipped)
    with db.write() as conn:
        # Taken under the write lock: writes commit in pk order, so date_added rises with pk
        # and "added after t" (TAXII's added_after) never misses a write that committed late.
        now = utc_now()
        stored = _stored_versions(conn, viewer, versions)
        resolved, sharing_errors = sharing.resolve(
            stix_objects, viewer, context.defaults, levels, stored.history
        )
        errors += marking_errors + stored.owner_errors + sharing_errors
        errors += _creator_errors(stix_objects, resolved, context, viewer)
        if not viewer.peer:
            errors += _federation_errors(stix_objects)
        if errors:
            # Every error in one answer: the validator's too (it may still be running).
            raise BundleRejected(_merged(errors, check()))
        new, superseded, unchanged = _plan_versions(stored, versions)
        change_seq = None
        if new:
            broker = context.broker_identity or ingestor.broker_identity
            creator = context.defaults.identity_id

            def prepared(pk: int) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
                """Each new version's stored row, from `pk` on, and the object as sent (for the
                indexes), in bundle order, as the objects come whole from the stream."""
                wanted = iter(new)
                version = next(wanted, None)
                for index, obj in enumerate(stream()):
                    if version is None:
                        return
                    if index == version.index:
                        shared = resolved[index]
                        yield _row(
                            pk, version.is_latest, obj, shared, viewer, creator, broker, now,
                            version.modified,
                        ), obj  # fmt: skip
                        pk += 1
                        version = next(wanted, None)

            change_seq = _store(
                conn, viewer, new, prepared, ingestor.indexes, superseded, now, source
            )
        if errors := check():  # waits for the workers; raising here rolls the write back
            raise BundleRejected(errors)
        return IngestResult(
            change_seq=change_seq,
            stored=len(new),
            unchanged=unchanged + len(skipped),
            stored_ids=tuple(v.object_id for v in new),
        )


def _versions(stix_objects: Sequence[Any], skipped: set[int]) -> list[_Version]:
    """Each object's version (sharing.version_of), but a `modified` that several objects of the
    bundle share (an event's objects, a feed's page) is checked and normalised once."""
    versions = []
    normalised: dict[str, str] = {}
    for index, obj in enumerate(stix_objects):
        if type(obj) is not dict or index in skipped:
            continue
        object_id = obj.get("id")
        modified = obj.get("modified")
        if type(object_id) is not str or type(modified) is not str:
            if (version := sharing.version_of(obj)) is not None:
                versions.append(_Version(index, *version))
            continue
        normal = normalised.get(modified)
        if normal is None:  # as version_of reads it
            if not is_timestamp(modified):
                continue
            normal = normalised[modified] = normalize_timestamp(modified)
        versions.append(_Version(index, object_id, normal))
    return versions


def _merged(*error_lists: Sequence[ObjectError]) -> list[ObjectError]:
    """Errors from several checks, each once, in bundle order (bundle-level ones first)."""
    seen: set[ObjectError] = set()
    merged = [e for errors in error_lists for e in errors if not (e in seen or seen.add(e))]
    return sorted(merged, key=lambda e: -1 if e.index is None else e.index)


def _platform_objects(
    stix_objects: Sequence[Any], context: MemberContext
) -> tuple[set[int], list[ObjectError]]:
    """Objects the platform keeps itself and so does not store from a bundle: the TLP marking
    definitions, and the identities of members and of the broker (skipped when they say what the
    platform says, rejected otherwise: nobody may speak as another member or as the broker)."""
    skipped: set[int] = set()
    errors: list[ObjectError] = []
    for index, obj in enumerate(stix_objects):
        if type(obj) is not dict:
            continue
        object_id = obj.get("id")
        if obj.get("type") == "marking-definition" and object_id in TLP_BY_MARKING_ID:
            skipped.add(index)
        elif type(object_id) is str and object_id in context.reserved_identities:
            name = context.reserved_identities[object_id]
            skipped.add(index)  # not stored either way; a different one is refused besides
            if obj.get("name") != name:
                errors.append(ObjectError(index, object_id, "id", (
                    f"{object_id} is the identity the platform keeps for {name!r}; only the "
                    "platform writes it (leave it out of the bundle, or send it unchanged)"
                )))  # fmt: skip
    return skipped, errors


def _federation_errors(stix_objects: Sequence[Any]) -> list[ObjectError]:
    """Origin, path and signature are federation's: only a peer instance's account sends them."""
    errors = []
    for index, obj in enumerate(stix_objects):
        extensions = obj.get("extensions") if type(obj) is dict else None
        ext = extensions.get(SHARING_EXTENSION_ID) if type(extensions) is dict else None
        if type(ext) is dict and any(name in ext for name in FEDERATION_PROPERTIES):
            object_id = obj["id"] if type(obj.get("id")) is str else None
            errors.append(ObjectError(index, object_id, "extensions", (
                "origin, path and signature in the sharing extension are written by federation "
                "between instances: only a peer instance's account may send them"
            )))  # fmt: skip
    return errors


def _creator_errors(
    stix_objects: Sequence[Any], resolved: Sequence[sharing.Sharing], context: MemberContext,
    viewer: Viewer,
) -> list[ObjectError]:  # fmt: skip
    """A member may not speak as another member (or the broker). A peer instance's objects may
    name its own broker, whose identity is ours when both brokers have the same name."""
    foreign = context.foreign_identities
    if viewer.peer:
        foreign = foreign - {context.broker_identity}
    errors = []
    for index, (obj, s) in enumerate(zip(stix_objects, resolved, strict=True)):
        creator = obj.get("created_by_ref") if type(obj) is dict else None
        if creator in foreign and not s.anonymous:
            errors.append(ObjectError(
                index, obj["id"], "created_by_ref",
                "created_by_ref names the identity of another member or of the broker",
            ))  # fmt: skip
    return errors


def _row(
    pk: int, is_latest: bool, obj: dict[str, Any], s: sharing.Sharing, viewer: Viewer,
    creator: str, broker: str, now: str, modified: str,
) -> tuple[Any, ...]:  # fmt: skip
    """The object's row: pk, is_latest, then _COLUMNS in order; `modified` already normalised."""
    _check_stored_pair(s)
    body = obj if obj["type"] == "marking-definition" else sharing.apply(obj, s, creator, broker)
    created = body.get("created")
    labels = body.get("labels")
    text = " ".join([str(body[k]) for k in _SEARCHED if k in body]).lower()[:_SEARCH_TEXT_LIMIT]
    return (
        pk,
        is_latest,
        body["id"],
        body["type"],
        # Most objects are created and modified at once: that one is normalised already.
        (modified if created == body.get("modified") else normalize_timestamp(created))
        if created
        else None,
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
        # Normalised, so that exports leave expired indicators out in SQL, no body read.
        normalize_timestamp(end) if is_timestamp(end := body.get("valid_until")) else None,
    )


@functools.lru_cache(maxsize=1024)
def _check_stored_pair(s: sharing.Sharing) -> None:
    """check_stored_pair once per distinct sharing (a bundle's objects mostly share a few): the
    answer for a sharing never changes, and one that fails raises every time (never cached)."""
    check_stored_pair(s.tlp, s.distribution, s.sharing_group_id)


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class _Stored:
    """What is stored of the objects a bundle sends, as the sharing member's write sees it."""

    # object id -> the member's own stored versions: {"versions": {modified: pk}, "latest": ...}
    existing: dict[str, dict[str, Any]]
    history: dict[str, list[tuple[str, sharing.Sharing]]]  # object id -> (modified, sharing)
    owner_errors: list[ObjectError]


def _stored_versions(conn: Connection, viewer: Viewer, versions: list[_Version]) -> _Stored:
    """The member's stored versions of the bundle's objects, with their sharing (what a new
    version inherits), and an error for each id that belongs to another member.

    Each member keeps its own copy of observables and public reference objects (reference.py);
    any other id belongs to the member that first shared it, as far as the sharer can tell: an
    id whose object the sharer may not see is, for the sharer, an id like any other, and its
    object is kept as the sharer's own. Refusing it would tell the sharer that a hidden object
    with that id exists (an oracle for ids that reports and relationships may name).
    """
    ids = sorted({v.object_id for v in versions})
    existing: dict[str, dict[str, Any]] = {}
    history: dict[str, list[tuple[str, sharing.Sharing]]] = {}
    owners: dict[str, str] = {}
    if ids:
        probe_by_probe(conn)
        wanted = value_list(conn, ids, String())
        c = objects.c
        stored = select(
            c.pk, c.object_id, c.member_id, c.modified, c.is_latest, c.tlp, c.distribution,
            c.sharing_group_id, c.anonymous,
        ).select_from(wanted.join(objects, c.object_id == wanted.c.value))  # fmt: skip
        for row in conn.execute(stored):
            if row.member_id != viewer.member_id:
                if not kept_per_member(row.object_id) and may_see(viewer, row._mapping):
                    owners[row.object_id] = row.member_id
                continue  # another member's copy, or an object the sharer cannot see
            entry = existing.setdefault(row.object_id, {"versions": {}, "latest": None})
            entry["versions"][row.modified] = row.pk
            if row.is_latest:
                entry["latest"] = (row.modified, row.pk)
            history.setdefault(row.object_id, []).append((
                row.modified,
                sharing.Sharing(TLP(row.tlp), Distribution(row.distribution),
                                row.sharing_group_id, row.anonymous),
            ))  # fmt: skip
    for chain in history.values():
        chain.sort(key=lambda entry: entry[0])
    # The id is told only to someone who already holds it; STIX ids are random UUIDs.
    taken = "this id belongs to an object shared by another member; objects of other creators "
    taken += "cannot be overwritten"
    owner_errors = [
        ObjectError(v.index, v.object_id, "id", taken)
        for v in versions
        if v.object_id in owners and v.object_id not in existing  # its own object already
    ]
    return _Stored(existing, history, owner_errors)


def _plan_versions(
    stored: _Stored, versions: list[_Version]
) -> tuple[list[_Version], list[int], int]:
    """Which versions are new, which stored rows stop being the latest, how many are repeats."""
    existing = stored.existing
    new_rows: list[_Version] = []
    unchanged = 0
    newest: dict[str, str] = {}  # object_id -> newest modified among stored and new versions
    superseded: list[int] = []
    for r in versions:
        entry = existing.get(r.object_id)
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
        entry = existing.get(object_id)
        if entry and entry["latest"] and entry["latest"][0] != modified:
            superseded.append(entry["latest"][1])
    return new_rows, superseded, unchanged


def _store(
    conn: Connection,
    viewer: Viewer,
    new_rows: list[_Version],
    prepared: Callable[[int], Iterator[tuple[tuple[Any, ...], dict[str, Any]]]],
    indexes: Sequence[ObjectIndex],
    superseded: list[int],
    now: str,
    source: str,
) -> int:
    """Write the new versions (`prepared(first_pk)` yields each one's row and object, in
    order), the superseded flags, the change-log entry and the audit entry; the change-log seq."""
    first_pk = (conn.scalar(select(func.max(objects.c.pk))) or 0) + 1
    seq = (conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1
    index_layouts = [layout for index in indexes for layout in index.layouts]

    def batches() -> Iterator[list[list[tuple[Any, ...]]]]:
        pk = first_pk
        rows_of = [index.rows for index in indexes]
        stream = prepared(first_pk)
        while chunk := list(islice(stream, _INSERT_BATCH)):
            object_rows = [row for row, _ in chunk]
            index_rows: list[list[tuple[Any, ...]]] = [[] for _ in index_layouts]
            for _, original in chunk:
                slot = 0
                for index_rows_of in rows_of:
                    for rows in index_rows_of(pk, original):
                        if rows:
                            index_rows[slot] += rows
                        slot += 1
                pk += 1
            yield [object_rows, *index_rows]
        if pk != first_pk + len(new_rows):  # the second read must give what the first did
            raise RuntimeError("the bundle changed while it was being read")

    bulk_insert(
        conn,
        [(objects, ("pk", "is_latest", *_COLUMNS)), *index_layouts],
        batches(),
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
