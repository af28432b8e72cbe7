"""Checks for the `extensions` property (STIX 2.1 §7.3): how extensions are keyed, and the
contents of the two we understand, our sharing extension and TLP 2.0's. Other extensions are
accepted and left alone (§11)."""

from __future__ import annotations

import re
from typing import Any

from shieldwall.intel import stix_types as st
from shieldwall.intel.validate_properties import (
    UUID_PATTERN,
    Problems,
    boolean,
    is_type_name,
    show,
)
from shieldwall.markings import SHARING_EXTENSION_ID, TLP2_EXTENSION_ID, Distribution

_SHARING_GROUP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHARING_PATH = f"extensions.{SHARING_EXTENSION_ID}"
_SHARING_PROPERTIES = frozenset({"extension_type", "distribution", "sharing_group", "anonymous"})
# Written by federation (DESIGN.md): accepted here in shape, and only from a peer by ingest.
FEDERATION_PROPERTIES = ("origin", "path", "signature")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{2,200}={0,2}")
_MAX_PATH = 64
_DISTRIBUTIONS = frozenset(d.value for d in Distribution)
_TLP2 = frozenset({"clear", "green", "amber", "amber+strict", "red"})


def _sharing_extension(path: str, ext: dict[str, Any], out: Problems) -> None:
    """Our own property extension (DESIGN.md, sharing metadata on the wire)."""
    for key in ext:
        if key not in _SHARING_PROPERTIES and key not in FEDERATION_PROPERTIES:
            out.append(
                (
                    f"{path}.{key}",
                    f"{path}.{key} is not a property of the Shieldwall sharing extension; it "
                    "allows only extension_type, distribution, sharing_group and anonymous "
                    "(and, from peer instances, origin, path and signature)",
                )
            )
    _federation_properties(path, ext, out)
    if "extension_type" in ext and ext["extension_type"] != "property-extension":
        out.append(
            (
                f"{path}.extension_type",
                f"{path}.extension_type must be 'property-extension', "
                f"not {show(ext['extension_type'])}",
            )
        )
    distribution = ext.get("distribution")
    bad_distribution = "distribution" in ext and (
        type(distribution) is not str or distribution not in _DISTRIBUTIONS
    )
    if bad_distribution:
        out.append(
            (
                f"{path}.distribution",
                f"{path}.distribution must be one of org, community, federation, all and group, "
                f"not {show(distribution)}",
            )
        )
    group_path = f"{path}.sharing_group"
    if "sharing_group" in ext:
        group = ext["sharing_group"]
        if type(group) is not str or _SHARING_GROUP.fullmatch(group) is None:
            out.append(
                (
                    group_path,
                    f"{group_path} must be a sharing group's id (a lowercase UUID, as "
                    f"`shieldwall group add` prints it), not {show(group)}",
                )
            )
        if distribution != "group" and not bad_distribution:
            out.append((group_path, f"{group_path} is only allowed with distribution 'group'"))
    elif distribution == "group":
        out.append((group_path, f"{group_path} is required with distribution 'group'"))
    if "anonymous" in ext:
        boolean(f"{path}.anonymous", ext["anonymous"], out)


def _federation_properties(path: str, ext: dict[str, Any], out: Problems) -> None:
    """The shape of origin, path and signature; who may send them is ingest's to check."""
    if "origin" in ext and (type(ext["origin"]) is not str or not _KEY_ID.fullmatch(ext["origin"])):
        out.append(
            (f"{path}.origin", f"{path}.origin must be an instance's key id (16 hex digits)")
        )
    if "path" in ext:
        hops = ext["path"]
        if (
            type(hops) is not list
            or len(hops) > _MAX_PATH
            or not all(type(h) is str and _KEY_ID.fullmatch(h) for h in hops)
        ):
            out.append((f"{path}.path", (
                f"{path}.path must be a list of at most {_MAX_PATH} instance key ids"
            )))  # fmt: skip
    if "signature" in ext:
        sig = ext["signature"]
        good = (
            type(sig) is dict
            and set(sig) == {"alg", "key_id", "value"}
            and sig["alg"] == "ed25519"
            and type(sig["key_id"]) is str
            and _KEY_ID.fullmatch(sig["key_id"]) is not None
            and type(sig["value"]) is str
            and _BASE64.fullmatch(sig["value"]) is not None
        )
        if not good:
            out.append((f"{path}.signature", (
                f'{path}.signature must be {{"alg": "ed25519", "key_id": <16 hex digits>, '
                '"value": <base64>}'
            )))  # fmt: skip


def _tlp2_extension(path: str, ext: dict[str, Any], out: Problems) -> None:
    """TLP 2.0 as the OASIS CTI TC publishes it for STIX 2.1 markings."""
    level = ext.get("tlp_2_0")
    if type(level) is not str or level not in _TLP2:
        out.append(
            (
                f"{path}.tlp_2_0",
                f"{path}.tlp_2_0 must be one of clear, green, amber, amber+strict and red, "
                f"not {show(level)}",
            )
        )


def extensions(name: str, value: Any, out: Problems) -> None:
    """The checker for the `extensions` property of any object."""
    if type(value) is not dict or not value:
        out.append((name, f"{name} must be a non-empty JSON object, not {show(value)}"))
        return
    for key, ext in value.items():
        path = f"{name}.{key}"
        if key == SHARING_EXTENSION_ID:
            if type(ext) is dict:
                _sharing_extension(_SHARING_PATH, ext, out)
            else:
                out.append((path, f"{path} must be a JSON object, not {show(ext)}"))
            continue
        if type(key) is not str:
            out.append((name, f"{name} has a key {show(key)} that is not a string"))
            continue
        is_definition = key.startswith("extension-definition--")
        if is_definition:
            if UUID_PATTERN.fullmatch(key, 22) is None:
                out.append((path, f"{path}: 'extension-definition--' must be followed by a UUID"))
        elif not (key.endswith("-ext") and is_type_name(key)):
            out.append(
                (
                    path,
                    f"{path}: an extension is keyed by its extension-definition id or, for a "
                    "predefined extension, by a name ending in '-ext'",
                )
            )
        if type(ext) is not dict:
            out.append((path, f"{path} must be a JSON object, not {show(ext)}"))
        elif is_definition:
            kind = ext.get("extension_type", "property-extension")
            if type(kind) is not str or kind not in st.EXTENSION_TYPES:
                out.append(
                    (
                        f"{path}.extension_type",
                        f"{path}.extension_type must be one of "
                        f"{', '.join(sorted(st.EXTENSION_TYPES))}, not {show(kind)}",
                    )
                )
            if key == TLP2_EXTENSION_ID:
                _tlp2_extension(path, ext, out)
