"""Values as STIX 2.1 indicators: the pattern each kind of value becomes, and the bundle a
report with its indicators is shared in. The share page (web/share.py), the CSV import and the
free-text import all build their indicators here, so a value is written as the same pattern
whichever way it came in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from shieldwall.markings import SHARING_EXTENSION_ID, TLP

# The STIX pattern path each kind of value becomes (STIX 2.1 §9: object path per SCO type).
PATTERNS = {
    "ipv4": "ipv4-addr:value",
    "ipv4-cidr": "ipv4-addr:value",
    "ipv6": "ipv6-addr:value",
    "ipv6-cidr": "ipv6-addr:value",
    "domain": "domain-name:value",
    "url": "url:value",
    "email": "email-addr:value",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
    "sha512": "file:hashes.'SHA-512'",
}


def quoted(value: str) -> str:
    """A STIX pattern string literal (STIX 2.1 §9.2: `\\` and `'` escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern_of(kind: str, value: str) -> str:
    """`[ipv4-addr:value = '203.0.113.9']` for a normalised value of a kind in PATTERNS."""
    return f"[{PATTERNS[kind]} = {quoted(value)}]"


def stix_now() -> str:
    """Now as a STIX timestamp, to the microsecond."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def marking(
    tlp: TLP | str,
    distribution: str,
    *,
    sharing_group: str | None = None,
    anonymous: bool = False,
) -> dict[str, Any]:
    """The TLP marking and the sharing extension (DESIGN.md) an object is shared under."""
    level = tlp if isinstance(tlp, TLP) else TLP.parse(tlp)
    ext: dict[str, Any] = {
        "extension_type": "property-extension",
        "distribution": distribution,
        "anonymous": anonymous,
    }
    if sharing_group is not None:
        ext["sharing_group"] = sharing_group
    return {"object_marking_refs": [level.marking_id], "extensions": {SHARING_EXTENSION_ID: ext}}


def indicator(value: str, pattern: str, shared: dict[str, Any], now: str) -> dict[str, Any]:
    """A new indicator named by its value, valid from `now`, under `shared` (see marking)."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "name": value,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": now,
        **shared,
    }


def bundle(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}


def report_bundle(form: dict[str, str], indicators: list[dict[str, str]]) -> dict[str, Any]:
    """A report (form: name, description, tlp, distribution, sharing_group, anonymous "on") and
    its indicators (each with value and pattern) as one bundle, all under the report's marking."""
    now = stix_now()
    shared = marking(
        form["tlp"],
        form["distribution"],
        sharing_group=form["sharing_group"] if form["distribution"] == "group" else None,
        anonymous=form.get("anonymous") == "on",
    )
    objects = [indicator(i["value"], i["pattern"], shared, now) for i in indicators]
    report: dict[str, Any] = {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uuid.uuid4()}",
        "created": now,
        "modified": now,
        "name": form["name"],
        "published": now,
        "object_refs": [o["id"] for o in objects],
        **shared,
    }
    if form.get("description"):
        report["description"] = form["description"]
    return bundle([report, *objects])
