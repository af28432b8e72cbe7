"""Many MISP events in, each whole or not at all, many events to a transaction.

A feed pull promises each event on its own: stored whole or refused whole, one refused event
never stopping the others. Stored one ingest each, an event of ~50 objects paid ~30 ms for
the transaction alone (change-log entry, audit entry, commit and its fsync), ten times its
conversion. So events are converted one by one (a conversion error refuses that event alone)
and stored a batch at a time, up to `BATCH_OBJECTS` objects in one ingest. When ingest rejects
a batch, the events its errors point at are stored alone, each getting its own verdict exactly
as an import of it alone would (misp_import.ingest_conversion), and the rest of the batch is
stored together again. A batch is one change-log entry and one `intel.ingest` audit entry (its
objects), and in the same transaction a `misp.import` audit entry names the events it stored,
each MISP event uuid with its report id, and that ingest's change-log seq.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shieldwall.errors import ShieldwallError
from shieldwall.exchange.misp_import import ingest_conversion, misp_to_bundle
from shieldwall.exchange.misp_unfit import Conversion
from shieldwall.gcpause import gc_paused
from shieldwall.intel.ingest import AuditedAlso, BundleRejected, Ingestor, IngestResult
from shieldwall.members.service import group_names_of
from shieldwall.policy import Viewer

BATCH_OBJECTS = 5000  # objects per ingest: the commit's cost shared, little to redo on a reject


@dataclass(slots=True)
class EventsImported:
    """What a batched import did, by the key each document came with (a feed's event uuid)."""

    stored: int = 0  # object versions stored
    unchanged: int = 0
    imported: dict[str, int | None] = field(default_factory=dict)  # key -> change-log seq
    failed: dict[str, str] = field(default_factory=dict)  # key -> why, nothing of it stored


@dataclass(frozen=True, slots=True)
class _Converted:
    key: str
    conversion: Conversion

    @property
    def objects(self) -> list[dict[str, Any]]:
        return self.conversion.bundle["objects"]


def import_misp_batched(
    ingestor: Ingestor,
    viewer: Viewer,
    documents: Iterable[tuple[str, Any]],
    *,
    source: str = "misp",
    batch_objects: int = BATCH_OBJECTS,
) -> EventsImported:
    """Share each MISP document (`(key, document)`, a document usually one event) as `viewer`,
    each all or nothing, many to a transaction (see the module's docstring)."""

    @functools.cache
    def groups() -> dict[str, str]:
        with ingestor.db.read() as conn:
            return group_names_of(conn, viewer.member_id)

    out = EventsImported()
    pending = iter(documents)
    while True:
        # A batch is converted and stored with the cyclic collector paused, as ingest pauses it
        # (gcpause.py): thousands of small objects, no cycles, all alive until the batch is
        # stored. Collections between events (one of them, now and then, a full one walking
        # the whole process, galaxies' index and all: ~75 ms) cost the real events more than
        # their conversion; between batches they run on what the batch left.
        with gc_paused():
            batch = _converted_batch(pending, viewer, groups, batch_objects, out)
            if not batch:
                return out
            _store(ingestor, viewer, batch, source, out)


def _converted_batch(
    documents: Iterator[tuple[str, Any]],
    viewer: Viewer,
    groups: Callable[[], dict[str, str]],
    batch_objects: int,
    out: EventsImported,
) -> list[_Converted]:
    """The next documents converted, up to `batch_objects` objects or more (a conversion error
    refuses its document alone, in `out`); [] when none is left."""
    batch: list[_Converted] = []
    size = 0
    for key, document in documents:
        try:
            conversion = misp_to_bundle(document, viewer.member_id, groups)
        except ShieldwallError as exc:
            out.failed[key] = str(exc)
            continue
        batch.append(_Converted(key, conversion))
        size += len(conversion.bundle["objects"])
        if size >= batch_objects:
            break
    return batch


def _store(
    ingestor: Ingestor, viewer: Viewer, batch: list[_Converted], source: str, out: EventsImported
) -> None:
    """Store a batch in one ingest; on a rejection, the events it names alone, the rest again."""
    if len(batch) == 1:
        _store_alone(ingestor, viewer, batch[0], source, out)
        return
    conversion, owners = _merged(batch)
    try:
        result = ingest_conversion(
            ingestor, viewer, conversion, source=source, also_audited=_audited(batch, source)
        )
    except BundleRejected as rejected:
        named = {
            owners[e["index"]]
            for e in rejected.details
            if type(e.get("index")) is int and 0 <= e["index"] < len(owners)
        }
        if not named or len(named) == len(batch):  # nothing to tell them apart: one by one
            named = set(range(len(batch)))
        for i in sorted(named):
            _store_alone(ingestor, viewer, batch[i], source, out)
        rest = [converted for i, converted in enumerate(batch) if i not in named]
        if rest:
            _store(ingestor, viewer, rest, source, out)
        return
    except Exception:  # not the events' fault, maybe: each is tried alone and told its own
        for converted in batch:
            _store_alone(ingestor, viewer, converted, source, out)
        return
    _stored(batch, result, out)


def _store_alone(
    ingestor: Ingestor, viewer: Viewer, converted: _Converted, source: str, out: EventsImported
) -> None:
    try:
        result = ingest_conversion(
            ingestor, viewer, converted.conversion, source=source,
            also_audited=_audited([converted], source),
        )  # fmt: skip
    except ShieldwallError as exc:
        out.failed[converted.key] = str(exc)
        return
    except Exception as exc:  # whatever else went wrong: this event only
        out.failed[converted.key] = f"{type(exc).__name__}: {exc}"
        return
    _stored([converted], result, out)


def _merged(batch: list[_Converted]) -> tuple[Conversion, list[int]]:
    """One conversion of the batch's events, and the event (its place in `batch`) of each
    object.

    An object that several events make (a galaxy cluster many events name, each event giving
    it its own time) is kept once, in its newest version: what importing the events one after
    the other leaves as the latest, minus the versions in between. Its sharing is the same:
    every report of the batch that refers to it tightens it (intel/sharing.py), as each
    version inheriting the one before did. A bundle holding 100 versions of one object costs
    sharing's resolution a round per version (~0.3 s at 5,000 objects); one version costs one.
    """
    objects = [obj for converted in batch for obj in converted.objects]
    owner_at = [i for i, converted in enumerate(batch) for _ in converted.objects]
    owners = owner_at
    newest: dict[str, int] = {}  # id -> the place in `objects` of its newest version
    for at, obj in enumerate(objects):
        kept = newest.setdefault(obj["id"], at)
        if kept != at and (obj.get("modified") or "") > (objects[kept].get("modified") or ""):
            newest[obj["id"]] = at
    if len(newest) < len(objects):  # some object made by several events: its newest only
        kept_at = sorted(newest.values())
        objects, owners = [objects[at] for at in kept_at], [owner_at[at] for at in kept_at]
    notes_if_unfit: dict[str, tuple[str, str]] = {}
    for i, converted in enumerate(batch):
        for object_id, note in converted.conversion.notes_if_unfit.items():
            if object_id in newest and owner_at[newest[object_id]] == i:
                notes_if_unfit[object_id] = note
    bundle = {**batch[0].conversion.bundle, "objects": objects}
    return Conversion(bundle, notes_if_unfit), owners


def _audited(batch: list[_Converted], source: str) -> AuditedAlso:
    """The `misp.import` entry of a batch's ingest, written in its transaction (ingest adds the
    change-log seq): which events it stores, each MISP event uuid with its report's id. Ingest's
    own entry lists its objects, the first 100 of them: a batch's reports would mostly not be
    among them."""
    events: dict[str, str] = {}
    for converted in batch:
        for obj in converted.objects:
            if obj["type"] == "report" and "x_misp_uuid" in obj:
                events[obj["x_misp_uuid"]] = obj["id"]
    return AuditedAlso("misp.import", {"source": source, "events": events})


def _stored(batch: list[_Converted], result: IngestResult, out: EventsImported) -> None:
    """Count what one ingest stored (and audited: _audited)."""
    out.stored += result.stored
    out.unchanged += result.unchanged
    for converted in batch:
        out.imported[converted.key] = result.change_seq
