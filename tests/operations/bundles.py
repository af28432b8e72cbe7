"""Large STIX bundles written straight to a file, fast enough to make 100,000 objects per test."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from pathlib import Path

import orjson

STIX_TIME = "2026-02-01T10:00:00.000Z"


def object_id(type_: str, tag: int, index: int) -> str:
    """A valid, repeatable STIX id: `tag` keeps one bundle's ids apart from another's."""
    return f"{type_}--{uuid.UUID(int=(tag << 64) | index, version=4)}"


def _indicator(tag: int, index: int) -> dict:
    kind = index % 3
    if kind == 0:
        pattern = f"[domain-name:value = 'h{index}.t{tag:x}.example']"
    elif kind == 1:
        address = 0x64400000 + (tag * 7919 + index) % 0x400000  # 100.64.0.0/10
        pattern = f"[ipv4-addr:value = '{address >> 24}.{address >> 16 & 255}." \
                  f"{address >> 8 & 255}.{address & 255}']"  # fmt: skip
    else:
        digest = hashlib.sha256(f"{tag}:{index}".encode()).hexdigest()
        pattern = f"[file:hashes.'SHA-256' = '{digest}']"
    return {
        "type": "indicator", "spec_version": "2.1", "id": object_id("indicator", tag, index),
        "created": STIX_TIME, "modified": STIX_TIME, "name": f"Crash test indicator {index}",
        "pattern": pattern, "pattern_type": "stix", "valid_from": STIX_TIME,
    }  # fmt: skip


def write_bundle(path: Path, count: int, tag: int | None = None) -> int:
    """A bundle of `count` objects (indicators; every 100th a relationship between two of them,
    every 1,000th a report of the 50 before it), so that every index gets rows. Returns the tag
    its ids were made with."""
    tag = secrets.randbits(32) if tag is None else tag
    with path.open("wb") as out:
        out.write(
            b'{"type": "bundle", "id": "bundle--%s", "objects": [\n' % str(uuid.uuid4()).encode()
        )
        for index in range(count):
            if index % 1000 == 999:
                obj = {
                    "type": "report", "spec_version": "2.1", "id": object_id("report", tag, index),
                    "created": STIX_TIME, "modified": STIX_TIME, "published": STIX_TIME,
                    "name": f"Crash test report {index}",
                    "object_refs": [
                        object_id("indicator", tag, i) for i in range(index - 50, index)
                    ],
                }  # fmt: skip
            elif index % 100 == 99:
                obj = {
                    "type": "relationship", "spec_version": "2.1",
                    "id": object_id("relationship", tag, index), "created": STIX_TIME,
                    "modified": STIX_TIME, "relationship_type": "related-to",
                    "source_ref": object_id("indicator", tag, index - 1),
                    "target_ref": object_id("indicator", tag, index - 2),
                }  # fmt: skip
            else:
                obj = _indicator(tag, index)
            if index:
                out.write(b",\n")
            out.write(orjson.dumps(obj))
        out.write(b"\n]}\n")
    return tag
