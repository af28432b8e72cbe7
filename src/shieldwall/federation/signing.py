"""Signed objects: an Ed25519 signature over an object's RFC 8785 canonical JSON.

The signature sits in the Shieldwall sharing extension (DESIGN.md, sharing metadata on the
wire) as {"alg": "ed25519", "key_id", "value": base64}, and covers the object with `signature`
and `path` removed from that extension, so the origin's signature survives forwarding: an
intermediate instance appends itself to `path` and re-serves the object as it arrived, and a
third instance checks the origin's signature against the origin's key.

RFC 8785 (JSON Canonicalization Scheme) by the `rfc8785` package: sorted keys, no whitespace,
ECMAScript number and string forms, so two implementations sign the same bytes.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import rfc8785

from shieldwall.federation.keys import InstanceKey, PublicKey
from shieldwall.markings import SHARING_EXTENSION_ID

ALG = "ed25519"
_UNSIGNED = ("signature", "path")  # what the signature does not cover


def signed_bytes(obj: dict[str, Any]) -> bytes:
    """What a signature covers: the object's canonical JSON without `signature` and `path`."""
    bare = copy.deepcopy(obj)
    ext = bare.get("extensions", {}).get(SHARING_EXTENSION_ID)
    if isinstance(ext, dict):
        for name in _UNSIGNED:
            ext.pop(name, None)
    return rfc8785.dumps(bare)


def sign(obj: dict[str, Any], key: InstanceKey) -> dict[str, Any]:
    """A copy of `obj` carrying this instance's signature in the sharing extension (which is
    added, as a property extension, when the object has none)."""
    out = copy.deepcopy(obj)
    extensions = out.setdefault("extensions", {})
    ext = extensions.setdefault(SHARING_EXTENSION_ID, {"extension_type": "property-extension"})
    ext.pop("signature", None)
    value = key.sign(signed_bytes(out))
    ext["signature"] = {"alg": ALG, "key_id": key.key_id,
                        "value": base64.b64encode(value).decode()}  # fmt: skip
    return out


def signature_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    ext = obj.get("extensions", {}).get(SHARING_EXTENSION_ID)
    signature = ext.get("signature") if isinstance(ext, dict) else None
    return signature if isinstance(signature, dict) else None


def verify(obj: dict[str, Any], keys: dict[str, PublicKey]) -> str | None:
    """Why `obj`'s signature does not hold against the known `keys` (key id -> key), or None
    when it does."""
    signature = signature_of(obj)
    if signature is None:
        return "the object is not signed"
    if signature.get("alg") != ALG:
        return f"unknown signature algorithm {signature.get('alg')!r}"
    key = keys.get(str(signature.get("key_id")))
    if key is None:
        return f"no known key has the id {signature.get('key_id')!r}"
    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
    except ValueError:
        return "the signature is not valid base64"
    if not key.verifies(value, signed_bytes(obj)):
        return "the signature does not match the object: it was altered or signed by another key"
    return None
