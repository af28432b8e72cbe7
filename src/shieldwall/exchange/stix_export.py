"""STIX 2.1 out: the latest version of every object a viewer may see, as one bundle, streamed.

The bundle opens with the TLP 2.0 marking definitions and the sharing extension's definition
(DESIGN.md: they travel with every export, so a STIX tool can read the markings), then the
objects in the order they were added, read a page at a time through intel's query (the policy)
and spliced in as stored, never re-parsed. Each page is a bulk read in the audit log
(`export.stix`), so memory holds one page whatever the size of the store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import orjson

from shieldwall.db import Database
from shieldwall.intel.query import ObjectFilter, list_objects
from shieldwall.markings import definitions as platform_definitions
from shieldwall.policy import Viewer

BATCH = 1000  # objects read and audited together


def stix_bundle(
    db: Database, viewer: Viewer, f: ObjectFilter, *, batch: int = BATCH
) -> Iterator[bytes]:
    """The bundle's JSON in pieces: its head with the definitions, a page of objects at a time,
    then its end."""
    definitions = platform_definitions()
    defined = {d["id"] for d in definitions}
    head = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}"}
    yield orjson.dumps(head)[:-1] + b',"objects":[' + b",".join(map(orjson.dumps, definitions))
    detail = {"filter": repr(f)}
    cursor: str | None = None
    while True:
        page = list_objects(
            db, viewer, f, cursor=cursor, limit=batch, action="export.stix", detail=detail
        )
        # A stored copy of a definition the head already holds would name one id twice.
        bodies = [b for b, i in zip(page.bodies, page.object_ids, strict=True) if i not in defined]
        if bodies:
            yield b"," + ",".join(bodies).encode()
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    yield b"]}"
