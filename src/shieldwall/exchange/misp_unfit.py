"""The second try of an import whose values STIX would not take: those objects as notes.

An attribute whose value STIX will not take as its type (a malformed ssdeep, a hash of the
wrong length) is rare, so rather than validating every object twice, the conversion is ingested
as it is, and a rejection naming such objects is answered by ingesting it again with them turned
into notes (nothing was stored of the rejected try).

The rejected try should cost its validation only. Ingest validates while it writes and checks
the answer before it commits, so a rejected bundle paid for every row it wrote and rolled back:
one malformed ssdeep among the real events made their batched import write everything twice
(~45% of its CPU). `rejecting_before_writing` gives the first try an ingestor that rejects, as
soon as its validation is in, a bundle validated in this process (all of them without validation
workers, small ones with), before ingest reads or writes anything. A rejection that it raises and
that no note can answer is not the final word: the caller asks the plain ingestor for the full
one (ingest's errors of sharing too), so what a refused document is told is what it was told before.
The second try, the noted bundle, has the same objects but the notes and what refers to them: the
very same dicts, which validation found nothing wrong with a moment ago, so `validating_the_rest`
validates only the others (validate_object is pure, and nobody changes an object once made).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shieldwall.intel.ingest import BundleRejected, Ingestor
from shieldwall.intel.validate import bundle_errors, validate_object, with_duplicates
from shieldwall.intel.validate_parallel import BundleCheck, BundleValidator


class RejectedBeforeWriting(BundleRejected):
    """Validation errors found before anything was written; ingest's other checks not run."""


class _RejectingBeforeWriting(BundleValidator):
    """`inner`, but a check already answered with errors is raised at once (see the module)."""

    def __init__(self, inner: BundleValidator) -> None:
        super().__init__(inner.workers)
        self._inner = inner

    def start(self, bundle: Any) -> BundleCheck:
        check = self._inner.start(bundle)
        if check.done and (errors := check()):
            raise RejectedBeforeWriting(errors)
        return check

    def start_file(self, path: Path) -> BundleCheck:
        return self._inner.start_file(path)

    def close(self) -> None:
        """The inner validator belongs to the ingestor it came from, which closes it."""


class _ValidatingTheRest(BundleValidator):
    """Validates in this process, skipping the objects (these very dicts) found valid before."""

    def __init__(self, valid: dict[int, Any]) -> None:
        super().__init__(0)
        self._valid = valid  # id(obj) -> obj: the object kept, so its id is never reused

    def start(self, bundle: Any) -> BundleCheck:
        errors, objects = bundle_errors(bundle)
        if objects is not None:
            found = [
                error
                for index, obj in enumerate(objects)
                if self._valid.get(id(obj)) is not obj
                for error in validate_object(obj, index)
            ]
            errors += with_duplicates(objects, found)
        return BundleCheck(lambda: errors, done=True)


def validating_the_rest(
    ingestor: Ingestor, first: dict[str, Any], rejected: RejectedBeforeWriting
) -> Ingestor:
    """`ingestor`, validating only what was not found valid in the bundle `first`, whose first
    try `rejected` tells every validation error of (see the module)."""
    bad = {error.get("index") for error in rejected.details}
    valid = {id(obj): obj for index, obj in enumerate(first["objects"]) if index not in bad}
    return dataclasses.replace(ingestor, validator=_ValidatingTheRest(valid))


def rejecting_before_writing(ingestor: Ingestor) -> Ingestor:
    """`ingestor`, rejecting bundles whose validation is in before writing (see the module)."""
    return dataclasses.replace(ingestor, validator=_RejectingBeforeWriting(ingestor.validator))


@dataclass(frozen=True)
class Conversion:
    """A MISP document as one STIX 2.1 bundle, and the note each attribute object that is no
    note would become if its value does not fit its STIX type: id -> (time, report id)."""

    bundle: dict[str, Any]
    notes_if_unfit: dict[str, tuple[str, str]]

    def with_unfit_values_as_notes(self, rejected: BundleRejected) -> dict[str, Any] | None:
        """The bundle with every object that ingest rejected and that fails validation alone
        (its value, not its sharing) turned into a note, references to it following; None
        when there is no such object (then the rejection stands)."""
        objects = self.bundle["objects"]
        unfit: dict[str, str] = {}  # old id -> the note's
        for error in rejected.details:
            index = error.get("index")
            obj = objects[index] if type(index) is int and index < len(objects) else None
            if obj is None or obj["id"] not in self.notes_if_unfit or obj["id"] in unfit:
                continue
            if validate_object(obj, index):
                unfit[obj["id"]] = "note--" + obj["id"].partition("--")[2]
        if not unfit:
            return None
        out = []
        for obj in objects:
            if obj["id"] in unfit:
                when, report_id = self.notes_if_unfit[obj["id"]]
                obj = _note_of(obj, unfit[obj["id"]], when, report_id)
            out.append(_with_refs_renamed(obj, unfit))
        return {**self.bundle, "objects": out}


def _note_of(obj: dict[str, Any], note_id: str, when: str, report_id: str) -> dict[str, Any]:
    """The note an attribute's object becomes when STIX will not take its value as its type:
    the value whole as its content, its MISP facts and sharing kept."""
    note: dict[str, Any] = {
        "type": "note", "spec_version": "2.1", "id": note_id, "created": when, "modified": when,
        "content": str(obj["x_misp_value"]), "abstract": str(obj["x_misp_type"]),
        "object_refs": [report_id],
    }  # fmt: skip
    labels = obj.get("labels") or obj.get("x_misp_tags")
    if labels:
        note["labels"] = labels
    for key, value in obj.items():
        if key in ("object_marking_refs", "extensions") or (
            key.startswith("x_misp_") and key != "x_misp_tags"
        ):
            note[key] = value
    return note


def _with_refs_renamed(obj: dict[str, Any], renamed: dict[str, str]) -> dict[str, Any]:
    """`obj` with every reference to a renamed object following it."""
    changes: dict[str, Any] = {}
    for key in ("source_ref", "target_ref", "sighting_of_ref"):
        if obj.get(key) in renamed:
            changes[key] = renamed[obj[key]]
    refs = obj.get("object_refs")
    if type(refs) is list and any(r in renamed for r in refs):
        changes["object_refs"] = [renamed.get(r, r) for r in refs]
    return {**obj, **changes} if changes else obj
