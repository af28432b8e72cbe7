"""A bundle read from a file a chunk at a time, so that importing one of any size holds the
objects' ids, not the objects.

Ingest needs two things from a bundle: what decides each object's sharing and version (its id,
type, `modified`, markings, sharing extension, a report's `object_refs`, a creator) before it
writes anything, and then each object whole as it writes it. From a file these come in two
passes: the first keeps a small skeleton of each object (a few hundred bytes, whatever the
object's size), the second parses the objects again, one at a time, as their rows are written
in the same transaction. Memory grows with the number of objects' ids, never with their
bodies: the 25 MB, 50,000-object bundle that took ~550 MB parsed whole takes a few tens.

Parsed with ijson's C backend (yajl2): orjson reads only whole documents, and a hand-written
splitter would have to track strings and escapes byte by byte in Python.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from shieldwall.intel.validate import ObjectError
from shieldwall.markings import SHARING_EXTENSION_ID

# What sharing, versions and platform checks read of an object (intel/sharing.py, ingest.py).
_SKELETON_KEYS = ("type", "id", "modified", "object_marking_refs", "granular_markings",
                  "created_by_ref", "name")  # fmt: skip
Progress = Callable[[str, int], None]  # (phase, objects so far)


class NotABundleFile(Exception):
    """The file is not JSON, or its top level is not what a bundle is."""


def skeleton_of(obj: Any) -> Any:
    """The part of an object ingest reads before writing: everything of a marking definition
    (its TLP may be in its body), of others only the keys sharing and versions need."""
    if type(obj) is not dict or obj.get("type") == "marking-definition":
        return obj
    small = {key: obj[key] for key in _SKELETON_KEYS if key in obj}
    # Types, timestamps and marking ids repeat across a bundle: one copy of each.
    for key in ("type", "modified", "created_by_ref"):
        if type(small.get(key)) is str:
            small[key] = sys.intern(small[key])
    refs = small.get("object_marking_refs")
    if type(refs) is list:
        small["object_marking_refs"] = [sys.intern(r) if type(r) is str else r for r in refs]
    ext = (obj.get("extensions") or {}).get(SHARING_EXTENSION_ID) if type(
        obj.get("extensions")
    ) is dict else None  # fmt: skip
    if ext is not None:
        small["extensions"] = {SHARING_EXTENSION_ID: ext}
    if obj.get("type") == "report" and "object_refs" in obj:
        small["object_refs"] = obj["object_refs"]
    return small


def _items(stream: IO[bytes]) -> Iterator[Any]:
    return ijson.items(stream, "objects.item", use_float=True)


class BundleFile:
    """The objects of a bundle file, in two passes (see the module's docstring)."""

    def __init__(self, path: Path, progress: Progress | None = None) -> None:
        self.path = path
        self._progress = progress
        self.skeletons: list[Any] = []

    def read_skeletons(self) -> None:
        """The first pass: every object's skeleton, in order."""
        try:
            with self.path.open("rb") as stream:
                for obj in _items(stream):
                    self.skeletons.append(skeleton_of(obj))
                    if self._progress and len(self.skeletons) % 5000 == 0:
                        self._progress("read", len(self.skeletons))
        except ijson.JSONError as exc:
            raise NotABundleFile(f"the bundle is not JSON: {exc}") from None
        if self._progress:
            self._progress("read", len(self.skeletons))

    def stream(self) -> Iterator[Any]:
        """The second pass: the objects whole, one at a time, in the same order."""
        with self.path.open("rb") as stream:
            for index, obj in enumerate(_items(stream), 1):
                yield obj
                if self._progress and index % 5000 == 0:
                    self._progress("stored", index)
        if self._progress:
            self._progress("stored", len(self.skeletons))


def head_errors(path: Path) -> list[ObjectError]:
    """The bundle-level errors of a file (validate.bundle_errors' checks, without reading the
    objects into memory): its top level, type and id; `objects` a non-empty list."""
    found: dict[str, Any] = {}
    objects_kind = None
    try:
        with path.open("rb") as stream:
            events = ijson.parse(stream, use_float=True)
            top = next(events, None)
            if top is None or top[1] != "start_map":
                return [ObjectError(None, None, None, "a bundle must be a JSON object")]
            for prefix, event, value in events:
                if prefix in ("type", "id") and event in ("string", "number", "boolean", "null"):
                    found[prefix] = value
                elif prefix == "objects" and objects_kind is None:
                    objects_kind = event
                    if event == "start_array":
                        first = next(events, None)
                        objects_kind = "empty" if first and first[1] == "end_array" else "list"
                        break
        if objects_kind == "list" and ("type" not in found or "id" not in found):
            # type or id written after the objects (rare): scanned for in C, not event by event
            for key in ("type", "id"):
                with path.open("rb") as stream:
                    found.setdefault(key, next(iter(ijson.items(stream, key)), None))
    except ijson.JSONError as exc:
        return [ObjectError(None, None, None, f"the bundle is not JSON: {exc}")]
    from shieldwall.intel.validate import bundle_errors

    # A stand-in of the right kind for what `objects` holds, for bundle_errors' messages.
    stand_in = {"list": [None], "empty": [], "start_map": {}, None: None}.get(objects_kind, "")
    errors, _ = bundle_errors({"type": found.get("type"), "id": found.get("id"),
                               "objects": stand_in})  # fmt: skip
    return errors


def validate_file(path: Path) -> list[ObjectError]:
    """Every error of a bundle file, as validate_bundle gives them for a parsed bundle."""
    from shieldwall.intel.validate import validate_object, with_duplicates

    head = head_errors(path)
    if any(e.property in (None, "objects") for e in head):
        return head  # not a bundle with objects: nothing more to read
    found: list[ObjectError] = []
    versions: list[Any] = []  # what with_duplicates reads of each object
    for index, obj in enumerate(objects_in(path)):
        found += validate_object(obj, index)
        versions.append(
            {"id": obj.get("id"), "modified": obj.get("modified")} if type(obj) is dict else obj
        )
    return head + with_duplicates(versions, found)


def objects_in(path: Path) -> Iterator[Any]:
    """Every object of a bundle file, whole, one at a time (for the validator)."""
    with path.open("rb") as stream:
        yield from _items(stream)
