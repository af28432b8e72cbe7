"""Which versions of a bundle's objects are new, before anything is written.

Each object's version (its id and normalised `modified`), what the sharing member already stores
of those ids (with each version's sharing, which a new version inherits), and from both the
plan: the versions to store, the stored rows they supersede as latest, and the repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, select

from shieldwall.db import probe_by_probe, value_list
from shieldwall.intel import sharing
from shieldwall.intel.reference import kept_per_member
from shieldwall.intel.tables import objects
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.intel.validate import ObjectError
from shieldwall.markings import TLP, Distribution
from shieldwall.policy import Viewer, may_see


@dataclass(slots=True)
class Version:
    """One object version of the bundle: where it stands and whether it is new."""

    index: int
    object_id: str
    modified: str  # normalised; '' for objects without one
    is_latest: bool = True


def versions_of(stix_objects: Sequence[Any], skipped: set[int]) -> list[Version]:
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
                versions.append(Version(index, *version))
            continue
        normal = normalised.get(modified)
        if normal is None:  # as version_of reads it
            if not is_timestamp(modified):
                continue
            normal = normalised[modified] = normalize_timestamp(modified)
        versions.append(Version(index, object_id, normal))
    return versions


@dataclass(slots=True)
class Stored:
    """What is stored of the objects a bundle sends, as the sharing member's write sees it."""

    # object id -> the member's own stored versions: {"versions": {modified: pk}, "latest": ...}
    existing: dict[str, dict[str, Any]]
    history: dict[str, list[tuple[str, sharing.Sharing]]]  # object id -> (modified, sharing)
    owner_errors: list[ObjectError]


def stored_versions(conn: Connection, viewer: Viewer, versions: list[Version]) -> Stored:
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
    return Stored(existing, history, owner_errors)


def plan_versions(stored: Stored, versions: list[Version]) -> tuple[list[Version], list[int], int]:
    """Which versions are new, which stored rows stop being the latest, how many are repeats."""
    existing = stored.existing
    new_rows: list[Version] = []
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
