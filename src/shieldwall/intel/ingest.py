"""Accept a STIX 2.1 bundle whole or not at all.

validate (pure) -> resolve sharing (pure) -> one write transaction: ownership and version checks,
object rows, the change-log entry and the audit entry. Anything that fails leaves the database as
it was before the write. A large bundle is validated in a worker process (validate_parallel.py)
while the rest goes on; the transaction commits only once the worker has found no error. A
caller whose write is one step of something it audits itself (a batch of MISP events) hands its
own audit entry to `ingest` (AuditedAlso), which writes it in the same transaction: no crash can
leave the objects without it.

The write's parts live beside this module: stored_versions.py (which versions are new),
write_checks.py (what a write refuses beyond validation and sharing) and object_rows.py (the rows
it stores, with its indexes', the change-log entry and the audit entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from shieldwall.audit import service as audit
from shieldwall.correlate.index import CorrelationIndex
from shieldwall.db import Database, utc_now
from shieldwall.errors import Forbidden, Invalid, ShieldwallError
from shieldwall.gcpause import gc_paused
from shieldwall.intel import sharing
from shieldwall.intel.bundle_file import BundleFile, NotABundleFile, Progress
from shieldwall.intel.object_rows import ObjectIndex, row, store
from shieldwall.intel.sharing_context import (
    MemberContext,
    member_context,
    stored_marking_levels,
)
from shieldwall.intel.stored_versions import plan_versions, stored_versions, versions_of
from shieldwall.intel.validate import ObjectError
from shieldwall.intel.validate_parallel import BundleCheck, BundleValidator
from shieldwall.intel.write_checks import (
    creator_errors,
    federation_errors,
    merged,
    platform_objects,
)
from shieldwall.members.service import broker_identity
from shieldwall.policy import Viewer, may_write_intel
from shieldwall.settings import Settings
from shieldwall.sightings.benign import benign_of

__all__ = [
    "AuditedAlso", "BundleRejected", "IngestResult", "Ingestor", "NotJSON", "ObjectIndex",
    "ingestor_for",
]  # fmt: skip


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


@dataclass(frozen=True, slots=True)
class AuditedAlso:
    """The caller's own audit entry of a write, appended in the write's transaction right after
    ingest's `intel.ingest` entry, `detail` with the write's `change_seq` added; nothing is
    audited when nothing new is stored (no transaction then)."""

    action: str
    detail: dict[str, Any]


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

    def ingest(
        self,
        viewer: Viewer,
        bundle: Any,
        *,
        source: str = "api",
        also_audited: AuditedAlso | None = None,
    ) -> IngestResult:
        """Store every object of `bundle` for `viewer`'s member, or raise BundleRejected;
        `also_audited`: the caller's audit entry of this write, in its transaction."""
        if viewer.peer and self.arrival is not None:
            stix_objects = bundle.get("objects") if type(bundle) is dict else None
            if type(stix_objects) is list and may_write_intel(viewer):
                result = self.arrival.receive(self, viewer, stix_objects, source)
                # The arrival rules write in transactions of their own: the entry follows.
                if also_audited is not None and result.change_seq is not None:
                    detail = {**also_audited.detail, "change_seq": result.change_seq}
                    audit.record(self.db, viewer, also_audited.action, detail)
                return result
        with gc_paused():
            return _ingest(self, viewer, bundle, source, also_audited)

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


def _ingest(
    ingestor: Ingestor,
    viewer: Viewer,
    bundle: Any,
    source: str,
    also_audited: AuditedAlso | None = None,
) -> IngestResult:
    if not may_write_intel(viewer):
        raise Forbidden("this role may not share intel")
    check = ingestor.validator.start(bundle)
    try:
        stix_objects = bundle.get("objects") if type(bundle) is dict else None
        if type(stix_objects) is not list:
            raise BundleRejected(check())  # not even a list of objects: the validator says why
        return _validated_ingest(
            ingestor, viewer, stix_objects, lambda: iter(stix_objects), source, check, also_audited
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
    also_audited: AuditedAlso | None = None,
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
        ingestor, viewer, stix_objects, stream, context, levels, marking_errors, source, check,
        also_audited,
    )  # fmt: skip
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
    also_audited: AuditedAlso | None = None,
) -> IngestResult:
    """The write transaction of an ingest: read what is stored of the bundle's objects, resolve
    their sharing against it, and store the new versions, or reject the whole with every error."""
    db = ingestor.db
    skipped, errors = platform_objects(stix_objects, context)
    versions = versions_of(stix_objects, skipped)
    with db.write() as conn:
        # Taken under the write lock: writes commit in pk order, so date_added rises with pk
        # and "added after t" (TAXII's added_after) never misses a write that committed late.
        now = utc_now()
        stored = stored_versions(conn, viewer, versions)
        resolved, sharing_errors = sharing.resolve(
            stix_objects, viewer, context.defaults, levels, stored.history
        )
        errors += marking_errors + stored.owner_errors + sharing_errors
        errors += creator_errors(stix_objects, resolved, context, viewer)
        if not viewer.peer:
            errors += federation_errors(stix_objects)
        if errors:
            # Every error in one answer: the validator's too (it may still be running).
            raise BundleRejected(merged(errors, check()))
        new, superseded, unchanged = plan_versions(stored, versions)
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
                        yield row(
                            pk, version.is_latest, obj, shared, viewer, creator, broker, now,
                            version.modified,
                        ), obj  # fmt: skip
                        pk += 1
                        version = next(wanted, None)

            change_seq = store(
                conn, viewer, new, prepared, ingestor.indexes, superseded, now, source
            )
            if also_audited is not None:
                audit.append(conn, viewer, also_audited.action,
                             {**also_audited.detail, "change_seq": change_seq})  # fmt: skip
        if errors := check():  # waits for the workers; raising here rolls the write back
            raise BundleRejected(errors)
        return IngestResult(
            change_seq=change_seq,
            stored=len(new),
            unchanged=unchanged + len(skipped),
            stored_ids=tuple(v.object_id for v in new),
        )
