"""What an object looks like when it leaves towards a peer (DESIGN.md, sharing metadata on the
wire): signed by its origin, with this instance added to its path.

An object first shared here leaves as this instance's: `origin` is our key id, an anonymous
contribution leaves as the broker's and no longer says it was anonymous (who stood behind it
never leaves; the receiving instance sees the broker as its creator), and we sign it. An object
that arrived from another instance leaves exactly as it arrived, its origin's signature intact.
Either way our key id is appended to `path`, which the signature does not cover.
"""

from __future__ import annotations

from typing import Any

import orjson

from shieldwall.federation.keys import InstanceKey
from shieldwall.federation.signing import sign
from shieldwall.markings import SHARING_EXTENSION_ID


def signed_here(obj: dict[str, Any]) -> bool:
    """Whether `obj` (as stored) leaves signed by this instance: it carries no origin's
    signature (it was first shared here, or came unsigned from a plain TAXII server)."""
    extensions = obj.get("extensions")
    ext = extensions.get(SHARING_EXTENSION_ID) if isinstance(extensions, dict) else None
    return not (isinstance(ext, dict) and "signature" in ext and "origin" in ext)


def leaving(obj: dict[str, Any], key: InstanceKey, signature: str | None = None) -> dict[str, Any]:
    """`obj` (as stored) as it leaves towards a peer. `signature`: the one this key made
    earlier over the same stored version as it leaves (federation/signatures.py), when it is
    signed here; it is then put in as it is, not made again."""
    extensions = obj.get("extensions")
    ext = extensions.get(SHARING_EXTENSION_ID) if isinstance(extensions, dict) else None
    if signed_here(obj):
        ext = dict(ext) if isinstance(ext, dict) else {"extension_type": "property-extension"}
        ext.pop("path", None)
        ext["anonymous"] = False
        ext["origin"] = key.key_id
        unsigned = {**obj, "extensions": {**(extensions or {}), SHARING_EXTENSION_ID: ext}}
        obj = sign(unsigned, key, signature)
        extensions = obj["extensions"]
        ext = extensions[SHARING_EXTENSION_ID]
    path = ext.get("path") if isinstance(ext.get("path"), list) else []
    ext = {**ext, "path": [*path, key.key_id]}
    return {**obj, "extensions": {**extensions, SHARING_EXTENSION_ID: ext}}


def leaving_json(body: str, key: InstanceKey, signature: str | None = None) -> bytes:
    """The same for a stored body in its JSON text, as a TAXII envelope splices it in."""
    return orjson.dumps(leaving(orjson.loads(body), key, signature))
