"""STIX timestamps in the one sortable form every table stores."""

from __future__ import annotations

import re
from datetime import datetime


def normalize_timestamp(value: str) -> str:
    """'2024-05-01T10:00:00Z' and '2024-05-01T10:00:00.000Z' -> '2024-05-01T10:00:00.000000Z'.

    STIX 2.1 §3.2 allows any sub-second precision; stored at microseconds, versions of an object
    sort as text on both databases. Assumes a timestamp the validator has accepted.
    """
    whole, _, fraction = value.rstrip("Z").partition(".")
    return f"{whole}.{(fraction + '000000')[:6]}Z"


_TIMESTAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$")


def is_timestamp(value: object) -> bool:
    """An RFC 3339 UTC timestamp with a 'Z', as STIX 2.1 §3.2 requires, naming a real instant."""
    if not isinstance(value, str) or (m := _TIMESTAMP.match(value)) is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # 60 is a leap second
    except ValueError:
        return False
    return second <= 60
