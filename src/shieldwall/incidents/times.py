"""Times as incidents store and compute them, and the clock everything reads `now` from.

Every incident function takes `now` from its caller instead of reading the wall clock, so that
clocks, deadlines and escalation can be tested at any moment without sleeping: the app reads
`now` from `app.state.incident_clock` (the wall clock unless a test replaces it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from shieldwall.errors import Invalid

Clock = Callable[[], datetime]
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # db.utc_now's: sortable as text


def wall_clock() -> datetime:
    """The real time: the app's incident clock unless a test replaces it."""
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """The stored, sortable text of an aware datetime."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_stamp(text: str) -> datetime:
    """A stored time back as an aware datetime."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)


def parse_given(text: str, field: str) -> datetime:
    """An RFC 3339 time a client sent (a due time...); Invalid naming the field otherwise. A
    time without an offset is refused: it would mean a different moment on every server."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        message = f"{text!r} is not an RFC 3339 time with an offset (2026-01-15T10:00:00Z)"
        raise Invalid(f"{field}: {message}", details=[{"property": field, "message": message}])
    return moment.astimezone(UTC)
