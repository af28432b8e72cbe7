"""The options every export reads the same way: a TLP ceiling, labels, an age, yes-or-no flags,
a PAP ceiling.

Export options arrive as text (HTTP query parameters, `-o NAME=VALUE` on the CLI); a value that
does not parse is refused with the option's name before anything is read, never ignored. The
TLP ceiling, labels and age become a selection (selections/service.py), the one filter feeds,
collections and peer rules are made of, applied on top of the policy filter.
"""

from __future__ import annotations

from collections.abc import Mapping

from shieldwall.errors import Invalid
from shieldwall.markings import PAP, TLP
from shieldwall.selections.service import Selection

SELECTION_OPTIONS = ("tlp", "label", "max_age_days")
# What the value exports (blocklist, rules, RPZ) take: exchange/blocklist.py request_of.
VALUE_OPTIONS = ("kind", "min_score", "include_benign", "include_url_hosts", "pap",
                 *SELECTION_OPTIONS)  # fmt: skip
TRUTHY = ("1", "true", "yes", "on")
MAX_AGE_DAYS = 36_525


def selection_of(options: Mapping[str, str], *, types: tuple[str, ...] = ()) -> Selection | None:
    """`tlp` (the most restricted level to hold), `label` (any of these, comma-separated) and
    `max_age_days` (added at most this many days ago) as a selection; None when none is given."""
    tlp, labels, age = options.get("tlp"), words(options.get("label")), options.get("max_age_days")
    if not (tlp or labels or age or types):
        return None
    try:
        ceiling = TLP.parse(tlp) if tlp else None
    except (ValueError, KeyError):
        raise Invalid(f"tlp: clear, green, amber, amber+strict or red, not {tlp!r}") from None
    try:
        days = int(age) if age else None
    except ValueError:
        raise Invalid(f"max_age_days: a whole number of days, not {age!r}") from None
    if days is not None and days > MAX_AGE_DAYS:
        # Further back than anything was added here; a number past 64 bits would not even
        # go into the audit entry the export writes.
        raise Invalid(f"max_age_days: at most {MAX_AGE_DAYS} (a century), not {age!r}")
    return Selection(types=types, max_tlp=ceiling, labels=labels, max_age_days=days)


def words(text: str | None) -> tuple[str, ...]:
    """`a,b,,a` -> ("a", "b"): each once, in order."""
    return tuple(dict.fromkeys(w.strip() for w in (text or "").split(",") if w.strip()))


def flag(text: str | None) -> bool:
    return (text or "").strip().lower() in TRUTHY


def pap_of(text: str | None, default: PAP | None) -> PAP | None:
    """`pap` (the most restricted PAP level to hold: clear, white, green, amber or red), or
    `default` when none is given."""
    if not text:
        return default
    try:
        return PAP.parse(text)
    except ValueError:
        raise Invalid(f"pap: clear, green, amber or red, not {text!r}") from None
