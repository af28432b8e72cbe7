"""MISP event documents: their shapes, and the ids and times their STIX objects get.

Ids: MISP uuids are global (every MISP instance holding an OSINT event has the same ones), while
a STIX id here belongs to the member that first shared it. So each id is a UUIDv5 of the member
and the MISP uuid: the same member importing the same event again gets the same ids (stored as
unchanged, or as new versions when MISP's timestamps moved), and two members importing one feed
each keep their own copy. The MISP uuid itself travels in `x_misp_uuid` and comes back on export.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from shieldwall.errors import Invalid

_NAMESPACE = uuid.UUID("6b2a9a1e-2f0c-5f4b-9d63-7a3f1c9e5d21")  # Shieldwall's MISP id namespace
_NAMESPACE_BYTES = _NAMESPACE.bytes


# RFC 4122 §4.1.1: the variant's two high bits are 10, so the 17th hex digit is one of 8, 9, a, b.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def report_id_for(member_id: str, event_uuid: str) -> str:
    """The id of the report a member's import of the event with this uuid is stored as."""
    return f"report--{_uuid5(f'{member_id}/{event_uuid}')}"


def _uuid5(name: str) -> str:
    """str(uuid.uuid5(_NAMESPACE, name)) (RFC 4122 §4.3), without building UUID objects: an
    event makes one per attribute, and uuid.UUID's checks cost more than the hash."""
    return _uuid_text(hashlib.sha1(_NAMESPACE_BYTES + name.encode()))


def _uuid_text(sha1: Any) -> str:
    """The version-5 UUID of a name's SHA-1 (RFC 4122 §4.3), set by hand in its hex digits: the
    version digit replaced by 5 and the variant's bits put in the 17th digit."""
    h = sha1.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT_DIGIT[h[16]]}{h[17:20]}-{h[20:32]}"


class MemberIds:
    """One member's ids, `_uuid5(f"{member_id}/{rest}")`, with the hash of the namespace and
    the member's prefix taken once: an event makes one id per attribute."""

    __slots__ = ("_prefix",)

    def __init__(self, member_id: str) -> None:
        self._prefix = hashlib.sha1(_NAMESPACE_BYTES + f"{member_id}/".encode())

    def uuid5(self, rest: str) -> str:
        sha1 = self._prefix.copy()
        sha1.update(rest.encode())
        return _uuid_text(sha1)


class NotMispEvents(Invalid):
    """The file is not MISP event JSON, or an event in it cannot be converted."""


def events_in(document: Any) -> list[dict[str, Any]]:
    """The events of a MISP JSON document, in every shape MISP and pymisp write them."""
    if type(document) is dict and type(document.get("response")) is list:
        document = document["response"]
    items = document if type(document) is list else [document]
    events = []
    for index, item in enumerate(items):
        event = item.get("Event", item) if type(item) is dict else None
        if type(event) is not dict or not ("info" in event or "Attribute" in event):
            where = f"item {index}" if type(document) is list else "the document"
            raise NotMispEvents(f"{where} is not a MISP event (no Event with info or Attribute)")
        events.append(event)
    if not events:
        raise NotMispEvents("no MISP event in the document")
    return events


def iter_event_uuids(document: Any) -> Iterator[str]:
    """The MISP uuids of a document's events (for feed cursors)."""
    for event in events_in(document):
        yield str(event.get("uuid"))


def stix_time(value: Any, fallback: str) -> str:
    """A STIX timestamp from MISP's epoch seconds, ISO time or date, else `fallback`."""
    if value in (None, ""):
        return fallback
    return _stix_time(str(value)) or fallback


@functools.lru_cache(maxsize=4096)  # an event's attributes share a few timestamps
def _stix_time(text: str) -> str | None:
    try:
        if text.isdigit():
            moment = datetime.fromtimestamp(int(text), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
