"""TLP 2.0 levels, PAP levels, distribution levels and the rule that ties TLP and distribution
together.

Values only: no database, no HTTP. The policy and ingest build on these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import IntEnum, StrEnum

SHARING_EXTENSION_ID = "extension-definition--c56d41b5-3fe7-441e-af12-498adb577219"
TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
# Who defined the sharing extension: the Shieldwall project, the same on every instance, as the
# extension's id is (STIX 2.1 §7.3 requires an extension-definition's created_by_ref).
SHIELDWALL_PROJECT_ID = "identity--9d3c6f2e-41a7-4b8e-9f0d-5c2a7e1b3d64"


class TLP(IntEnum):
    """TLP 2.0 levels, ordered from least to most restrictive."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    AMBER_STRICT = 3
    RED = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "+")

    @classmethod
    def parse(cls, text: str) -> TLP:
        """'amber+strict' -> TLP.AMBER_STRICT; 'white' is TLP 1.0's name for clear."""
        key = text.strip().lower().removeprefix("tlp:")
        if key == "white":
            return cls.CLEAR
        try:
            return cls[key.upper().replace("+", "_")]
        except KeyError:
            raise ValueError(f"unknown TLP level {text!r}") from None

    @property
    def marking_id(self) -> str:
        """The TLP 2.0 marking-definition id this platform writes onto objects."""
        return TLP2_MARKING_IDS[self]


class Distribution(StrEnum):
    ORG = "org"
    COMMUNITY = "community"
    FEDERATION = "federation"
    ALL = "all"
    GROUP = "group"


# TLP 2.0 marking definitions published for STIX 2.1 by the OASIS CTI TC (TLP2_EXTENSION_ID).
TLP2_MARKING_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# The four TLP 1.0 marking definitions STIX 2.1 itself defines (§7.2.1.4); white reads as clear.
STIX21_TLP_MARKING_IDS: dict[str, TLP] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}

TLP_BY_MARKING_ID: dict[str, TLP] = {
    **STIX21_TLP_MARKING_IDS,
    **{marking_id: tlp for tlp, marking_id in TLP2_MARKING_IDS.items()},
}

# PAP (MISP's Permissible Actions Protocol: what a recipient may do with what it was told, from
# CLEAR, anything, to RED, nothing an attacker could notice) as the STIX 2.1 marking definitions
# OASIS publishes for it (cti-stix-common-objects, PAP marking definition, extension
# PAP_EXTENSION_ID): well known, so they are referred to and never sent in a bundle.
PAP_EXTENSION_ID = "extension-definition--f8d78575-edfd-406e-8e84-6162a8450f5b"


class PAP(IntEnum):
    """PAP levels, ordered from least to most restrictive (WHITE is PAP 1.0's CLEAR)."""

    CLEAR = 0
    GREEN = 1
    AMBER = 2
    RED = 3

    @property
    def tag(self) -> str:
        """The MISP tag: `PAP:RED`."""
        return f"PAP:{self.name}"

    @classmethod
    def parse(cls, text: str) -> PAP:
        """'red' or 'PAP:RED' -> PAP.RED."""
        key = text.strip().upper().removeprefix("PAP:")
        level = cls.CLEAR if key == "WHITE" else cls.__members__.get(key)
        if level is None:
            raise ValueError(f"unknown PAP level {text!r}")
        return level


PAP_MARKING_IDS: dict[PAP, str] = {
    PAP.CLEAR: "marking-definition--ad15a0cd-55b6-4588-a14c-a66105329b92",
    PAP.GREEN: "marking-definition--c43594d1-4b11-4c59-93ab-1c9b14d53ce9",
    PAP.AMBER: "marking-definition--60f8932b-e51e-4458-b265-a2e8be9a80ab",
    PAP.RED: "marking-definition--740d36e5-7714-4c30-961a-3ae632ceee0e",
}
PAP_WHITE_MARKING_ID = "marking-definition--a3bea94c-b469-41dc-9cfe-d6e7daba7730"
PAP_BY_MARKING_ID: dict[str, PAP] = {
    **{marking_id: pap for pap, marking_id in PAP_MARKING_IDS.items()},
    PAP_WHITE_MARKING_ID: PAP.CLEAR,
}


# The MISP tag of each PAP marking, and back (upper case; WHITE keeps its own marking).
PAP_TAGS: dict[str, str] = {
    **{marking_id: pap.tag for pap, marking_id in PAP_MARKING_IDS.items()},
    PAP_WHITE_MARKING_ID: "PAP:WHITE",
}
PAP_MARKING_OF_TAG: dict[str, str] = {tag: marking_id for marking_id, tag in PAP_TAGS.items()}


def pap_marking_of_tags(tags: Iterable[str]) -> str | None:
    """The marking of the strictest `PAP:` tag among MISP tags (any case), or None."""
    found = [m for t in tags if (m := PAP_MARKING_OF_TAG.get(t.strip().upper())) is not None]
    return max(found, key=PAP_BY_MARKING_ID.__getitem__) if found else None


def pap_tag_of(refs: object) -> str | None:
    """The MISP tag of the strictest PAP marking among marking references, or None."""
    if type(refs) is not list:
        return None
    found = [r for r in refs if type(r) is str and r in PAP_BY_MARKING_ID]
    return PAP_TAGS[max(found, key=PAP_BY_MARKING_ID.__getitem__)] if found else None


# Broadest distribution each TLP level allows (DESIGN.md, access rules). GROUP is always allowed.
_ALLOWED: dict[TLP, frozenset[Distribution]] = {
    TLP.RED: frozenset({Distribution.ORG, Distribution.GROUP}),
    TLP.AMBER_STRICT: frozenset(
        {Distribution.ORG, Distribution.COMMUNITY, Distribution.FEDERATION, Distribution.GROUP}
    ),
    TLP.AMBER: frozenset(
        {Distribution.ORG, Distribution.COMMUNITY, Distribution.FEDERATION, Distribution.GROUP}
    ),
    TLP.GREEN: frozenset(Distribution),
    TLP.CLEAR: frozenset(Distribution),
}

# How far each distribution reaches; used to pick the stricter of two (a report and its object).
DISTRIBUTION_REACH: dict[Distribution, int] = {
    Distribution.ORG: 0,
    Distribution.GROUP: 1,
    Distribution.COMMUNITY: 2,
    Distribution.FEDERATION: 3,
    Distribution.ALL: 4,
}


def allows(tlp: TLP, distribution: Distribution) -> bool:
    """May an object marked `tlp` be shared with `distribution`?"""
    return distribution in _ALLOWED[tlp]


def cap_distribution(tlp: TLP, wanted: Distribution) -> Distribution:
    """`wanted` narrowed to what `tlp` allows.

    Used only where the object asked for no distribution itself (a member's default, a previous
    version's, a report's): an explicit request that the TLP does not allow is rejected by
    ingest, never narrowed.
    """
    if allows(tlp, wanted):
        return wanted
    return Distribution.FEDERATION if allows(tlp, Distribution.FEDERATION) else Distribution.ORG


class ForbiddenPair(RuntimeError):
    """A row about to be stored holds a TLP/distribution pair the rules forbid: a bug upstream,
    never the sender's fault (ingest rejects or narrows before it gets here)."""


def check_stored_pair(tlp: TLP, distribution: Distribution, sharing_group_id: str | None) -> None:
    """Raise ForbiddenPair unless a row may hold this marking, distribution and group.

    Called where rows are built for every table that carries the policy's columns, so that no
    code path, present or future, can store what the policy would have to second-guess.
    """
    if not allows(tlp, distribution):
        raise ForbiddenPair(f"TLP:{tlp.label.upper()} with distribution {distribution.value!r}")
    if (distribution is Distribution.GROUP) != (sharing_group_id is not None):
        raise ForbiddenPair(f"distribution {distribution.value!r} with group {sharing_group_id!r}")


def tlp_of_definition(definition: dict) -> TLP | None:
    """The TLP level a marking-definition object stands for, or None when it is not a TLP marking.

    Reads the TLP 2.0 extension (`tlp_2_0`), STIX 2.1's own `definition_type: "tlp"` with
    `{"tlp": level}`, and the spellings other platforms write (`"TLP"`, `{"TLP": "TLP:RED"}`).
    Raises ValueError for a definition that says it is TLP but names no level we can read:
    such a marking is never taken for less than it says.
    """
    extension = (definition.get("extensions") or {}).get(TLP2_EXTENSION_ID)
    if isinstance(extension, dict) and "tlp_2_0" in extension:
        level = extension["tlp_2_0"]
        if not isinstance(level, str):
            raise ValueError(f"tlp_2_0 must name a TLP level, not {level!r}")
        return TLP.parse(level)
    kind = definition.get("definition_type")
    if not isinstance(kind, str) or kind.strip().lower() != "tlp":
        return None
    body = definition.get("definition")
    levels = (
        [v for k, v in body.items() if isinstance(k, str) and k.lower() == "tlp"]
        if isinstance(body, dict)
        else []
    )
    if len(levels) != 1 or not isinstance(levels[0], str):
        raise ValueError('a TLP marking definition must hold {"tlp": level}')
    return TLP.parse(levels[0])


def tlp_of(marking_refs: list[str] | None) -> TLP | None:
    """The strictest TLP among an object's marking refs, or None when it has none."""
    if marking_refs and len(marking_refs) == 1:  # the common case, on the ingest hot path
        return TLP_BY_MARKING_ID.get(marking_refs[0])
    levels = [TLP_BY_MARKING_ID[ref] for ref in marking_refs or () if ref in TLP_BY_MARKING_ID]
    return max(levels) if levels else None


def tlp_marking_definitions() -> list[dict]:
    """The five TLP 2.0 marking-definition objects, as an instance serves and exports them."""
    return [
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": marking_id,
            "created": "2022-10-01T00:00:00.000Z",
            "name": f"TLP:{tlp.label.upper()}",
            "extensions": {
                TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": tlp.label}
            },
        }
        for tlp, marking_id in TLP2_MARKING_IDS.items()
    ]


def definitions() -> list[dict]:
    """What every bundle this instance writes starts with, and GET /definitions serves: the TLP
    2.0 marking definitions, the sharing extension's definition and the identity that made it."""
    return [
        *tlp_marking_definitions(),
        shieldwall_project_identity(),
        sharing_extension_definition(),
    ]


def shieldwall_project_identity() -> dict:
    """The identity of the Shieldwall project, creator of the sharing extension's definition."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": SHIELDWALL_PROJECT_ID,
        "created": "2026-11-24T00:00:00.000Z",
        "modified": "2026-11-24T00:00:00.000Z",
        "name": "Shieldwall project",
        "identity_class": "organization",
        "description": "The makers of Shieldwall, who define its STIX sharing extension.",
    }


def sharing_extension_definition() -> dict:
    """The extension-definition object for our sharing metadata (DESIGN.md, on the wire)."""
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": SHARING_EXTENSION_ID,
        "created_by_ref": SHIELDWALL_PROJECT_ID,
        "created": "2026-11-24T00:00:00.000Z",
        "modified": "2026-11-24T00:00:00.000Z",
        "name": "Shieldwall sharing metadata",
        "description": "Who on a Shieldwall partnership may see an object: its distribution level, "
        "sharing group and whether it was contributed anonymously through the community broker; "
        "between instances, where it was first shared (origin), the instances it passed through "
        "(path) and its origin's Ed25519 signature over its RFC 8785 JSON without signature and "
        "path.",
        # STIX 2.1 §7.3: `schema` may be the normative definition as plain text; we give the JSON
        # schema itself so that a tool can check the properties without fetching anything.
        "schema": json.dumps(SHARING_EXTENSION_SCHEMA, sort_keys=True),
        "version": "1.1.0",
        "extension_types": ["property-extension"],
        "extension_properties": [
            "distribution",
            "sharing_group",
            "anonymous",
            "origin",
            "path",
            "signature",
        ],
    }


SHARING_EXTENSION_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "extension_type": {"const": "property-extension"},
        "distribution": {"enum": [d.value for d in Distribution]},
        "sharing_group": {"type": "string", "format": "uuid"},
        "anonymous": {"type": "boolean", "default": False},
        "origin": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "path": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{16}$"}},
        "signature": {
            "type": "object",
            "properties": {
                "alg": {"const": "ed25519"},
                "key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                "value": {"type": "string", "contentEncoding": "base64"},
            },
            "required": ["alg", "key_id", "value"],
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
    "if": {"properties": {"distribution": {"const": "group"}}, "required": ["distribution"]},
    "then": {"required": ["sharing_group"]},
    "else": {"not": {"required": ["sharing_group"]}},
}
