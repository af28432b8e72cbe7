"""Resolve each object's marking, distribution, sharing group and anonymity before it is stored.

Rules (DESIGN.md, access rules): an object with no TLP takes its member's default TLP; one with no
distribution takes the member's default distribution, narrowed to what its TLP allows (it asked
for nothing, so nothing is refused); an object that explicitly asks for more than its TLP allows
is rejected. A report's objects in the same bundle inherit the report's marking, distribution and
anonymity unless they carry stricter ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shieldwall.intel.validate import ObjectError
from shieldwall.markings import (
    DISTRIBUTION_REACH,
    SHARING_EXTENSION_ID,
    TLP,
    TLP_BY_MARKING_ID,
    Distribution,
    allows,
    cap_distribution,
    tlp_of,
)
from shieldwall.policy import Viewer, may_share_with_group


@dataclass(frozen=True, slots=True)
class MemberDefaults:
    member_id: str
    identity_id: str
    tlp: TLP
    distribution: Distribution


@dataclass(frozen=True, slots=True)
class Sharing:
    tlp: TLP
    distribution: Distribution
    sharing_group_id: str | None
    anonymous: bool

    def extension(self) -> dict[str, Any]:
        ext: dict[str, Any] = {
            "extension_type": "property-extension",
            "distribution": self.distribution.value,
        }
        if self.sharing_group_id:
            ext["sharing_group"] = self.sharing_group_id
        ext["anonymous"] = self.anonymous
        return ext


def _explicit(obj: dict[str, Any]) -> tuple[TLP | None, dict[str, Any]]:
    ext = (obj.get("extensions") or {}).get(SHARING_EXTENSION_ID) or {}
    return tlp_of(obj.get("object_marking_refs")), ext


def _describe(tlp: TLP, distribution: Distribution) -> str:
    broadest = [d.value for d in Distribution if allows(tlp, d)]
    return (
        f"TLP:{tlp.label.upper()} does not allow distribution {distribution.value!r}; "
        f"it allows {', '.join(broadest)}"
    )


def resolve_one(
    tlp: TLP | None,
    distribution: Distribution | None,
    group_id: str | None,
    anonymous: bool,
    viewer: Viewer,
    defaults: MemberDefaults,
) -> tuple[Sharing, list[tuple[str, str]]]:
    """The sharing of one thing a member shares (an object, a sighting), applying the defaults;
    with (`marking` | `sharing_group`, message) problems when it asks for what is not allowed."""
    problems = []
    explicit_tlp = tlp is not None
    tlp = defaults.tlp if tlp is None else tlp
    if distribution is None:
        distribution = cap_distribution(tlp, defaults.distribution)
    elif not allows(tlp, distribution):
        problems.append((
            "marking",
            _describe(tlp, distribution)
            + ("" if explicit_tlp else " (no TLP was given, so the member's default applies)"),
        ))  # fmt: skip
    if group_id is not None and not may_share_with_group(viewer, group_id):
        problems.append(
            (
                "sharing_group",
                f"sharing group {group_id} does not exist or this member is not in it",
            )
        )
    return Sharing(tlp, distribution, group_id, anonymous), problems


_PROPERTY_OF = {
    "marking": "object_marking_refs",
    "sharing_group": f"extensions.{SHARING_EXTENSION_ID}.sharing_group",
}


def resolve(
    objects: Sequence[dict[str, Any]], viewer: Viewer, defaults: MemberDefaults
) -> tuple[list[Sharing], list[ObjectError]]:
    """One Sharing per object, in order, or the errors that reject the bundle."""
    errors: list[ObjectError] = []
    own: list[Sharing] = []
    explicit_tlp: list[bool] = []
    explicit_distribution: list[bool] = []
    for index, obj in enumerate(objects):
        tlp, ext = _explicit(obj)
        distribution = Distribution(ext["distribution"]) if "distribution" in ext else None
        explicit_tlp.append(tlp is not None)
        explicit_distribution.append(distribution is not None)
        sharing, problems = resolve_one(
            tlp, distribution, ext.get("sharing_group"), bool(ext.get("anonymous", False)),
            viewer, defaults,
        )  # fmt: skip
        own.append(sharing)
        errors += [ObjectError(index, obj.get("id"), _PROPERTY_OF[p], m) for p, m in problems]
    if errors:
        return own, errors
    return _inherit_from_reports(objects, own, explicit_tlp, explicit_distribution), []


def _stricter(a: Sharing, b: Sharing, *, a_tlp: bool, a_dist: bool) -> Sharing:
    """`a` (an object's own sharing) tightened by `b` (a report that refers to it)."""
    tlp = max(a.tlp, b.tlp) if a_tlp else b.tlp
    if a_dist and DISTRIBUTION_REACH[a.distribution] <= DISTRIBUTION_REACH[b.distribution]:
        distribution, group = a.distribution, a.sharing_group_id
    else:
        distribution, group = b.distribution, b.sharing_group_id
    return Sharing(tlp, distribution, group, a.anonymous or b.anonymous)


def _inherit_from_reports(
    objects: Sequence[dict[str, Any]],
    own: list[Sharing],
    explicit_tlp: list[bool],
    explicit_distribution: list[bool],
) -> list[Sharing]:
    index_of = {obj["id"]: i for i, obj in enumerate(objects)}
    referrers: dict[int, list[int]] = {}
    for report_index, obj in enumerate(objects):
        if obj["type"] == "report":
            for ref in obj.get("object_refs", ()):
                i = index_of.get(ref)
                if i is not None and i != report_index:
                    referrers.setdefault(i, []).append(report_index)
    resolved = list(own)
    for i, reports in referrers.items():
        sharing, tlp_set, distribution_set = own[i], explicit_tlp[i], explicit_distribution[i]
        for report_index in reports:
            sharing = _stricter(sharing, own[report_index], a_tlp=tlp_set, a_dist=distribution_set)
            tlp_set = distribution_set = True  # what one report gave is the floor for the next
        resolved[i] = sharing
    return resolved


def apply(obj: dict[str, Any], sharing: Sharing, broker_identity: str) -> dict[str, Any]:
    """The object as it will be stored and served: marking and sharing extension made explicit,
    and the broker as creator of an anonymous contribution."""
    out = dict(obj)
    refs = list(obj.get("object_marking_refs") or ())
    if tlp_of(refs) is not sharing.tlp:
        refs = [r for r in refs if r not in TLP_BY_MARKING_ID] + [sharing.tlp.marking_id]
        out["object_marking_refs"] = refs
    extensions = dict(obj.get("extensions") or {})
    extensions[SHARING_EXTENSION_ID] = sharing.extension()
    out["extensions"] = extensions
    if sharing.anonymous and ("created_by_ref" in obj or "created" in obj):  # SDOs and SROs
        out["created_by_ref"] = broker_identity
    return out
