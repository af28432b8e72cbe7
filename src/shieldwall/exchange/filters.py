"""The options every export reads the same way: a TLP ceiling, an age, a list of words.

Export options arrive as text (HTTP query parameters, `-o NAME=VALUE` on the CLI); a value that
does not parse is refused with the option's name before anything is read, never ignored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from shieldwall.errors import Invalid
from shieldwall.markings import TLP

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw]?)\s*$", re.IGNORECASE)
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7, "": 24}
TRUTHY = ("1", "true", "yes", "on")


def tlp_ceiling(text: str | None) -> TLP | None:
    """`amber` -> TLP.AMBER: the most restricted level an export may hold (None: no ceiling)."""
    if not text:
        return None
    try:
        return TLP.parse(text)
    except (ValueError, KeyError):
        raise Invalid(f"tlp: clear, green, amber, amber+strict or red, not {text!r}") from None


def max_age(text: str | None) -> timedelta | None:
    """`30d`, `12h`, `2w` or a number of days: how old (since its last version) an object may be."""
    if not text:
        return None
    match = _AGE.match(text)
    if match is None or float(match[1]) <= 0:
        raise Invalid(f"max_age: a number of hours, days or weeks (12h, 30d, 2w), not {text!r}")
    return timedelta(hours=float(match[1]) * _UNIT_HOURS[match[2].lower()])


def since(age: timedelta | None, now: datetime | None = None) -> str | None:
    """The STIX timestamp `age` ago, or None for no age limit."""
    if age is None:
        return None
    at = (now or datetime.now(UTC)) - age
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def words(text: str | None) -> tuple[str, ...]:
    """`a,b,,a` -> ("a", "b"): each once, in order."""
    return tuple(dict.fromkeys(w.strip() for w in (text or "").split(",") if w.strip()))


def flag(text: str | None) -> bool:
    return (text or "").strip().lower() in TRUTHY
