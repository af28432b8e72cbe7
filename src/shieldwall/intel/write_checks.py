"""What a write refuses beyond validation and sharing: speaking as the platform, as another
member, or with federation's properties from an account that is not a peer instance's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shieldwall.intel import sharing
from shieldwall.intel.sharing_context import MemberContext
from shieldwall.intel.validate import ObjectError
from shieldwall.intel.validate_extensions import FEDERATION_PROPERTIES
from shieldwall.markings import SHARING_EXTENSION_ID, TLP_BY_MARKING_ID
from shieldwall.policy import Viewer


def merged(*error_lists: Sequence[ObjectError]) -> list[ObjectError]:
    """Errors from several checks, each once, in bundle order (bundle-level ones first)."""
    seen: set[ObjectError] = set()
    merged = [e for errors in error_lists for e in errors if not (e in seen or seen.add(e))]
    return sorted(merged, key=lambda e: -1 if e.index is None else e.index)


def platform_objects(
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


def federation_errors(stix_objects: Sequence[Any]) -> list[ObjectError]:
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


def creator_errors(
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
