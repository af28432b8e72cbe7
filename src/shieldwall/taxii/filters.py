"""TAXII 2.1 §3.4 URL parameters, read into one value per request; anything malformed is a 400.

Each endpoint takes the parameters its section lists and no others: a misspelt filter must not
quietly mean "no filter". Values of a match field are comma-separated and may be repeated; any
of them matches (§3.4.2). Without `match[version]` reads return the latest version; a DELETE
removes every version (as OpenTAXII does: "delete an object" leaves none of it behind).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shieldwall.intel.query import VersionMatch
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.taxii.protocol import VERSION, bad_request

STIX_ID = re.compile(
    r"[a-z0-9][a-z0-9-]{0,248}[a-z0-9]--"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_STIX_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")
_SPEC_VERSION = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}")
# Ids of collections and status resources: what this server gives out.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# The parameters each endpoint takes (§5.3-5.8).
_LATEST = VersionMatch(last=True)
_PAGING = ("added_after", "limit", "next")
ENDPOINT_PARAMETERS = {
    "objects": (*_PAGING, "match[id]", "match[type]", "match[version]", "match[spec_version]"),
    "manifest": (*_PAGING, "match[id]", "match[type]", "match[version]", "match[spec_version]"),
    "object": (*_PAGING, "match[version]", "match[spec_version]"),
    "versions": (*_PAGING, "match[spec_version]"),
    "delete": ("match[version]", "match[spec_version]"),
    "none": (),
}


@dataclass(frozen=True, slots=True)
class TaxiiQuery:
    added_after: str | None = None  # normalised
    limit: int = 100
    next: str | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: VersionMatch = _LATEST
    spec_version_matches: bool = True  # False: match[spec_version] names only versions not kept


def parse(
    params: Iterable[tuple[str, str]], endpoint: str, *, default_limit: int, max_limit: int
) -> TaxiiQuery:
    """The query of one request to `endpoint` (a key of ENDPOINT_PARAMETERS)."""
    allowed = ENDPOINT_PARAMETERS[endpoint]
    single: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for name, value in params:
        if name not in allowed:
            takes = ", ".join(allowed) or "no parameters"
            raise bad_request(f"unknown or unsupported URL parameter {name[:100]!r}: this "
                              f"endpoint takes {takes}")  # fmt: skip
        if name.startswith("match["):
            lists.setdefault(name, []).extend(_values(name, value))
        elif name in single:
            raise bad_request(f"{name} may be given once")
        else:
            single[name] = value
    return TaxiiQuery(
        added_after=_added_after(single.get("added_after")),
        limit=_limit(single.get("limit"), default_limit, max_limit),
        next=_next(single.get("next")),
        ids=tuple(_checked(lists.get("match[id]", []), STIX_ID, "match[id]", "a STIX id")),
        types=tuple(
            _checked(lists.get("match[type]", []), _STIX_TYPE, "match[type]", "a STIX type name")
        ),
        versions=_versions(lists.get("match[version]"), all_by_default=endpoint == "delete"),
        spec_version_matches=_spec_versions(lists.get("match[spec_version]")),
    )


def _values(name: str, value: str) -> list[str]:
    values = [v.strip() for v in value.split(",")]
    if not all(values):
        raise bad_request(f"{name} needs comma-separated values, none of them empty")
    return values


def _checked(values: list[str], pattern: re.Pattern[str], name: str, what: str) -> list[str]:
    for value in values:
        if not pattern.fullmatch(value):
            raise bad_request(f"{name}: {value[:100]!r} is not {what}")
    return values


def _added_after(value: str | None) -> str | None:
    if value is None:
        return None
    if not is_timestamp(value):
        raise bad_request("added_after must be an RFC 3339 UTC timestamp such as "
                          "2026-01-31T00:00:00.000000Z")  # fmt: skip
    return normalize_timestamp(value)


def _limit(value: str | None, default: int, largest: int) -> int:
    if value is None:
        return min(default, largest)
    if not value.isdigit() or int(value) < 1:
        raise bad_request(f"limit must be a positive integer, not {value[:50]!r}")
    return min(int(value), largest)  # §3.5: the server may give fewer than asked


def _next(value: str | None) -> str | None:
    if value is not None and not value:
        raise bad_request("next must be a value this server gave out")
    return value


def _versions(values: list[str] | None, *, all_by_default: bool) -> VersionMatch:
    if not values:
        return VersionMatch(all=True) if all_by_default else _LATEST
    at = []
    for value in values:
        if value not in ("first", "last", "all"):
            if not is_timestamp(value):
                raise bad_request(f"match[version]: {value[:100]!r} is not first, last, all or "
                                  "an RFC 3339 UTC timestamp")  # fmt: skip
            at.append(normalize_timestamp(value))
    return VersionMatch(
        first="first" in values, last="last" in values, all="all" in values, at=tuple(at)
    )


def _spec_versions(values: list[str] | None) -> bool:
    """Everything here is STIX 2.1 (ingest takes nothing else): a filter for 2.1 lets all
    through, one for other versions nothing."""
    if not values:
        return True
    for value in values:
        if not _SPEC_VERSION.fullmatch(value):
            raise bad_request(f"match[spec_version]: {value[:100]!r} is not a version such as "
                              f"{VERSION}")  # fmt: skip
    return VERSION in values
