"""How much an indicator is worth acting on now: a score from 0 to 100.

    base      = confidence / 100                  (the indicator's STIX `confidence`, else 50)
    support   = 1 - 0.8 ** seen                   (each sighting closes a fifth of the gap to 1)
    belief    = base + (1 - base) * support
    age       = days since the newest of: the indicator's `modified`, its last sighting
    decay     = 0.5 ** (age / half_life[kind])    (addresses decay faster than file hashes)
    score     = 100 * belief * decay * 0.5 ** false_positives
    score     = 0 when a visible "expired" sighting is newer than the indicator's last change

Half-lives (days) are a setting, SHIELDWALL_DECAY_HALF_LIVES, "kind=days" pairs; kinds are the
observable kinds of shieldwall.correlate.observables ("ipv4", "domain", "sha256", ...), and
"default" covers every kind not named.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

DEFAULT_HALF_LIVES = (
    "ipv4=30,ipv6=30,ipv4-cidr=45,ipv6-cidr=45,url=60,domain=90,email=120,ja3=180,"
    "user-agent=180,md5=365,sha1=365,sha256=365,sha512=365,ssdeep=365,tlsh=365,default=180"
)
DEFAULT_CONFIDENCE = 50
_SIGHTING_WEIGHT = 0.8
_FALSE_POSITIVE_WEIGHT = 0.5


def parse_half_lives(text: str) -> dict[str, float]:
    """'ipv4=30,default=180' -> {'ipv4': 30.0, 'default': 180.0}; ValueError on anything else."""
    half_lives: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, days = part.partition("=")
        if not sep or not kind.strip():
            raise ValueError(f"half-life {part!r} is not kind=days")
        value = float(days)
        if value <= 0:
            raise ValueError(f"half-life of {kind.strip()!r} must be positive")
        half_lives[kind.strip()] = value
    half_lives.setdefault("default", 180.0)
    return half_lives


class Evidence(NamedTuple):
    """What the viewer may see about one indicator (a tuple: lookups make thousands)."""

    kind: str  # observable kind of the indicator's first value
    confidence: int | None
    modified: datetime
    seen: int = 0
    false_positives: int = 0
    last_seen: datetime | None = None
    expired_at: datetime | None = None


def score(evidence: Evidence, now: datetime, half_lives: Mapping[str, float]) -> float:
    """The score, rounded to one decimal."""
    kind, confidence, modified, seen, false_positives, last_seen, expired_at = evidence
    if expired_at is not None and expired_at >= modified:
        return 0.0
    if confidence is None:
        confidence = DEFAULT_CONFIDENCE
    base = min(max(confidence, 0), 100) / 100
    belief = base + (1 - base) * (1 - _SIGHTING_WEIGHT**seen) if seen > 0 else base
    newest = last_seen if last_seen is not None and last_seen > modified else modified
    age_days = max((now - newest).total_seconds(), 0) / 86400
    decay = 0.5 ** (age_days / half_lives.get(kind, half_lives["default"]))
    value = 100 * belief * decay
    if false_positives > 0:
        value *= _FALSE_POSITIVE_WEIGHT**false_positives
    return round(value, 1)
