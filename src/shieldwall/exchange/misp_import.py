"""MISP events in: MISP event JSON converted to one STIX 2.1 bundle, then shared through intel's
ingest, so a file of events is stored whole or not at all.

Read: a single event (bare or as `{"Event": ...}`), a list of them, or `{"response": [...]}` as
MISP's REST search answers. Each event becomes a report whose `object_refs` hold everything the
event made: attributes as indicators (`to_ids`) or observables by type (misp_types.py), free
text as notes, MISP objects as groupings of their attributes, object references as
relationships, galaxy clusters as threat actors, malware, tools, attack patterns and intrusion
sets, sightings of indicators as sightings. Tags become labels; `tlp:` tags the TLP marking,
`PAP:` tags the PAP marking (markings.PAP; an event's covers its attributes).

Where each part lives: misp_document.py (the document's shapes, ids, times), misp_convert.py (an
event's objects), misp_galaxies.py (galaxy clusters), misp_types.py (attribute types),
misp_unfit.py (values STIX will not take, as notes), misp_batch.py (many events, a transaction
for many). Ids are the member's own: misp_document.py says why.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from shieldwall.exchange.misp_convert import EventConverter
from shieldwall.exchange.misp_document import events_in
from shieldwall.exchange.misp_unfit import (
    Conversion,
    RejectedBeforeWriting,
    rejecting_before_writing,
    validating_the_rest,
)
from shieldwall.gcpause import gc_paused
from shieldwall.intel.ingest import AuditedAlso, BundleRejected, Ingestor, IngestResult
from shieldwall.members.service import group_names_of
from shieldwall.policy import Viewer


def misp_to_bundle(
    document: Any, member_id: str, groups: Callable[[], dict[str, str]] = dict
) -> Conversion:
    """The STIX 2.1 bundle of every event of a MISP JSON document, as `member_id` shares it
    (`groups`: id -> name of the member's sharing groups, asked for once if needed). With the
    cyclic collector paused, as ingest pauses it: see misp_batch.py."""
    stix_objects: list[dict[str, Any]] = []
    notes_if_unfit: dict[str, tuple[str, str]] = {}
    known = functools.cache(groups)
    with gc_paused():
        for index, event in enumerate(events_in(document)):
            where = f"event {index} ({event.get('uuid') or event.get('info')!s:.80})"
            converter = EventConverter(member_id, event, where, known)
            stix_objects += converter.convert()
            notes_if_unfit.update(converter.notes_if_unfit)
    unique = {(o["id"], o.get("modified")): o for o in stix_objects}
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(unique.values())}
    return Conversion(bundle, notes_if_unfit)


def import_misp(
    ingestor: Ingestor, viewer: Viewer, document: Any, *, source: str = "misp"
) -> IngestResult:
    """Share every event of a MISP document as `viewer`, all or nothing.

    Validated once, by ingest: an attribute whose value STIX will not take as its type is
    rare, so rather than validating every object twice, a rejection naming such objects is
    answered by storing them as notes (nothing was stored of the rejected try)."""

    def groups() -> dict[str, str]:
        with ingestor.db.read() as conn:
            return group_names_of(conn, viewer.member_id)

    conversion = misp_to_bundle(document, viewer.member_id, groups)
    return ingest_conversion(ingestor, viewer, conversion, source=source)


def ingest_conversion(
    ingestor: Ingestor,
    viewer: Viewer,
    conversion: Conversion,
    *,
    source: str,
    also_audited: AuditedAlso | None = None,
) -> IngestResult:
    """Store a converted document in one ingest, its unfit values as notes if ingest rejects
    them (see import_misp); BundleRejected when something else is wrong. The first try is
    rejected before anything is written when its validation finds errors, and the second
    validates only what changed (misp_unfit.py). `also_audited`: the caller's audit entry,
    written in the transaction that stores the document."""
    first = ingestor if viewer.peer else rejecting_before_writing(ingestor)
    try:
        return first.ingest(viewer, conversion.bundle, source=source, also_audited=also_audited)
    except BundleRejected as rejected:
        again = conversion.with_unfit_values_as_notes(rejected)
        if again is None:
            if isinstance(rejected, RejectedBeforeWriting):  # ingest's whole answer, as before
                return ingestor.ingest(
                    viewer, conversion.bundle, source=source, also_audited=also_audited
                )
            raise
        second = ingestor
        if isinstance(rejected, RejectedBeforeWriting):
            second = validating_the_rest(ingestor, conversion.bundle, rejected)
    return second.ingest(viewer, again, source=source, also_audited=also_audited)
