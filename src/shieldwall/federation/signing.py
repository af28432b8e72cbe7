"""Signed objects: an Ed25519 signature over an object's RFC 8785 canonical JSON.

The signature sits in the Shieldwall sharing extension (DESIGN.md, sharing metadata on the
wire) as {"alg": "ed25519", "key_id", "value": base64}, and covers the object with `signature`
and `path` removed from that extension, so the origin's signature survives forwarding: an
intermediate instance appends itself to `path` and re-serves the object as it arrived, and a
third instance checks the origin's signature against the origin's key.

RFC 8785 (JSON Canonicalization Scheme): sorted keys, no whitespace, ECMAScript number and
string forms, so two implementations sign the same bytes. The `rfc8785` package writes it in pure
Python (~40 µs for an indicator); for the objects that make up nearly all intel (integers within
±2^53, no floats, ASCII keys) orjson's sorted output is byte for byte the same (it escapes
strings exactly as RFC 8785 does), at ~1 µs, so those take that path (tests/federation compare
the two on random objects).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson
import rfc8785

from shieldwall.federation.keys import InstanceKey, PublicKey
from shieldwall.markings import SHARING_EXTENSION_ID

ALG = "ed25519"
_UNSIGNED = ("signature", "path")  # what the signature does not cover


_SAFE_INTEGER = 2**53


def _plain(value: Any) -> bool:
    """Whether orjson's sorted output of `value` is its RFC 8785 form."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INTEGER < value < _SAFE_INTEGER
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is dict:
        return all(k.isascii() and _plain(v) for k, v in value.items())
    return False  # floats, and anything JSON would not hold


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of `value`."""
    if _plain(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return rfc8785.dumps(value)


def signed_bytes(obj: dict[str, Any]) -> bytes:
    """What a signature covers: the object's canonical JSON without `signature` and `path`."""
    extensions = obj.get("extensions")
    ext = extensions.get(SHARING_EXTENSION_ID) if isinstance(extensions, dict) else None
    if isinstance(ext, dict) and any(name in ext for name in _UNSIGNED):
        bare_ext = {k: v for k, v in ext.items() if k not in _UNSIGNED}
        obj = {**obj, "extensions": {**extensions, SHARING_EXTENSION_ID: bare_ext}}
    return canonical(obj)


def sign(obj: dict[str, Any], key: InstanceKey, value: str | None = None) -> dict[str, Any]:
    """A copy of `obj` carrying this instance's signature in the sharing extension (which is
    added, as a property extension, when the object has none). `obj` is left as it was.
    `value`: the signature this key made earlier over the very same object (base64; kept by
    federation/signatures.py), put in without signing again."""
    extensions = obj.get("extensions")
    extensions = dict(extensions) if isinstance(extensions, dict) else {}
    ext = extensions.get(SHARING_EXTENSION_ID)
    ext = dict(ext) if isinstance(ext, dict) else {"extension_type": "property-extension"}
    ext.pop("signature", None)
    extensions[SHARING_EXTENSION_ID] = ext
    out = {**obj, "extensions": extensions}
    if value is None:
        value = base64.b64encode(key.sign(signed_bytes(out))).decode()
    ext["signature"] = {"alg": ALG, "key_id": key.key_id, "value": value}
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
