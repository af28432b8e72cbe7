"""Blocklists: the values of the indicators a viewer may see, one per line, for a firewall, a
DNS filter or an IDS to load.

Only what an analyst would block: the latest version of each visible indicator that is neither
revoked nor past its `valid_until`, scoring at least `min_score` when asked, and never a value
on a false-positive warning list (a resolver, a top site, a private range) unless asked for.
Read a batch of indicators at a time, so a blocklist of any size streams in flat memory; each
batch is a bulk read in the audit log, with the indicators it came from.

A domain blocklist holds the domains shared as domains: the host of a shared URL is one
compromised page's server, often a shared host, and blocking it would block far more than was
shared (`include_url_hosts` asks for them too). Every line is one value: a value that could break
a line (a control or white-space character, from before ingest refused them) is never written as
it is — a URL's is percent-encoded, any other value is left out.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote

import orjson
from sqlalchemy import select, true

from shieldwall.audit import service as audit
from shieldwall.correlate.observables import (
    KINDS,
    Observable,
    guess_kind,
    normalise,
    pattern_comparisons,
)
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.exchange import filters
from shieldwall.intel.tables import objects
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.intel.validate_values import UNSAFE
from shieldwall.markings import TLP
from shieldwall.policy import Viewer, visible_filter
from shieldwall.selections.service import Selection
from shieldwall.settings import Settings
from shieldwall.sightings.benign import benign_lists, warning_lists
from shieldwall.sightings.score import parse_half_lives
from shieldwall.sightings.service import IndicatorRow, indicator_facts, scores_of, values_of
from shieldwall.sightings.warninglists import WarningLists

BATCH = 2_000  # indicators read, scored and audited together
# What blocking devices take; the other kinds (mutexes, registry keys...) are not blocked by value.
BLOCKABLE = ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr", "domain", "url", "email",
             "md5", "sha1", "sha256", "sha512", "ja3")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Blocklist:
    """What a blocklist (or a rule export) holds. A request for no kind, or for one not blocked
    by value, is refused when it is made: a streamed answer could no longer say so. `selection`
    (a TLP ceiling, labels, an age...) narrows it further, as it narrows a feed."""

    kinds: tuple[str, ...]
    min_score: float | None = None
    include_benign: bool = False
    include_url_hosts: bool = False
    selection: Selection | None = None

    def __post_init__(self) -> None:
        if not self.kinds:
            raise Invalid(f"name at least one kind: {', '.join(BLOCKABLE)}")
        for kind in self.kinds:
            if kind not in BLOCKABLE:
                known = "" if kind in KINDS else "unknown kind; "
                raise Invalid(f"{known}a blocklist holds {', '.join(BLOCKABLE)}, not {kind!r}")


class Blocked(NamedTuple):
    """A value to block, and the visible indicator version it was first shared in."""

    object_id: str
    modified: str  # normalised STIX timestamp
    tlp: TLP
    observable: Observable


def request_of(
    options: Mapping[str, str], *, takes: tuple[str, ...] = BLOCKABLE, default: bool = False
) -> Blocklist:
    """A request from an export's options (filters.VALUE_OPTIONS; `kind` comma-separated) for
    the kinds `takes` names, every one of them when `default` and no kind is given."""
    kinds = filters.words(options.get("kind")) or (takes if default else ())
    if not kinds:
        raise Invalid(f"kind: name at least one of {', '.join(takes)}")
    if other := [k for k in kinds if k not in takes]:
        raise Invalid(f"kind: this export holds {', '.join(takes)}, not {', '.join(other)}")
    try:
        min_score = float(options["min_score"]) if options.get("min_score") else None
    except ValueError:
        raise Invalid(f"min_score: a number, not {options['min_score']!r}") from None
    return Blocklist(
        kinds,
        min_score,
        filters.flag(options.get("include_benign")),
        filters.flag(options.get("include_url_hosts")),
        filters.selection_of(options),
    )


def values_for(
    db: Database, viewer: Viewer, settings: Settings, request: Blocklist, *, action: str
) -> Iterator[Blocked]:
    """blocked_values with the instance's score half-lives and warning lists."""
    return blocked_values(
        db,
        viewer,
        request,
        half_lives=parse_half_lives(settings.decay_half_lives),
        lists=warning_lists(settings.warninglists, settings.cache_dir),
        action=action,
    )


def export_blocklist(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterator[str]:
    """The registry's blocklist export (exchange/formats.py)."""
    found = values_for(db, viewer, settings, request_of(options), action="export.blocklist")
    return _lines(found)


def blocklist_lines(
    db: Database,
    viewer: Viewer,
    request: Blocklist,
    *,
    half_lives: dict[str, float],
    lists: WarningLists | None,
) -> Iterator[str]:
    """Each value once, in the order its first indicator was added, with a newline."""
    return _lines(blocked_values(db, viewer, request, half_lives=half_lives, lists=lists))


def _lines(found: Iterator[Blocked]) -> Iterator[str]:
    for blocked in found:
        line = safe_value(blocked.observable)
        if line is not None:
            yield line + "\n"


def blocked_values(
    db: Database,
    viewer: Viewer,
    request: Blocklist,
    *,
    half_lives: dict[str, float],
    lists: WarningLists | None,
    action: str = "export.blocklist",
) -> Iterator[Blocked]:
    """Each value of the kinds asked for once, in the order its first indicator was added; each
    batch of indicators is audited as `action` before any of its values is given out."""
    now = datetime.now(UTC)
    today = normalize_timestamp(now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    # Each value once: its 64-bit hash is remembered, not the value, in 16 bytes or so, so a
    # blocklist of a million values keeps ~16 MB, not the list (any two colliding: ~3e-8).
    written = IntSet()
    after = 0
    chosen = request.selection.where(objects, now=now) if request.selection else true()
    only_shared_domains = "domain" in request.kinds and not request.include_url_hosts
    while True:
        with db.read() as conn:
            rows = conn.execute(
                select(
                    objects.c.pk,
                    objects.c.object_id,
                    objects.c.modified,
                    objects.c.tlp,
                    indicator_facts(objects.c.body).label("facts"),
                )
                .where(
                    objects.c.type == "indicator",
                    objects.c.is_latest.is_(True),
                    objects.c.revoked.is_(False),
                    objects.c.pk > after,
                    visible_filter(viewer, objects),
                    chosen,
                )
                .order_by(objects.c.pk)
                .limit(BATCH)
            ).all()
            if not rows:
                return
            after = rows[-1].pk
            facts = {r.pk: orjson.loads(r.facts) for r in rows}
            current = [r for r in rows if _still_valid(facts[r.pk], today)]
            values = {r.pk: values_of(facts[r.pk]) for r in current}
            if request.min_score is not None and current:
                indicators = [
                    IndicatorRow(r.pk, r.object_id, r.modified, facts[r.pk][0], values=values[r.pk])
                    for r in current
                ]
                scores = scores_of(conn, viewer, indicators, half_lives, now=now)
                current = [r for r in current if scores[r.pk]["score"] >= request.min_score]
        if current:
            audit.record(db, viewer, action, {
                "kinds": list(request.kinds), "min_score": request.min_score,
                "include_benign": request.include_benign, "count": len(current),
                **({"selection": request.selection.as_dict()} if request.selection else {}),
                "objects": [r.object_id for r in current][:100],
                "objects_digest": audit.digest_of([r.object_id for r in current]),
            })  # fmt: skip
        for row in current:
            # Only an indicator with a URL has a domain that was not shared as one (its host).
            with_url = only_shared_domains and any(o.kind == "url" for o in values[row.pk])
            domains = _shared_as_domains(facts[row.pk]) if with_url else None
            tlp = TLP(row.tlp)
            for observable in values[row.pk]:
                if observable.kind not in request.kinds:
                    continue
                if (
                    domains is not None
                    and observable.kind == "domain"
                    and (observable.value not in domains)
                ):
                    continue  # the host of a URL, not a domain that was shared
                if not written.add(hash((observable.kind, observable.value))):
                    continue
                if not request.include_benign and benign_lists(lists, observable):
                    continue
                yield Blocked(row.object_id, row.modified, tlp, observable)


class IntSet:
    """A set of 64-bit integers in one flat array (open addressing, at most half full): ~16
    bytes a member where a Python set of ints takes ~70, for exports that remember what they
    wrote."""

    def __init__(self, capacity: int = 1 << 12) -> None:
        self._slots = array("Q", bytes(8 * capacity))
        self._count = 0

    def add(self, value: int) -> bool:
        """Add `value`; False when it was there already."""
        key = value % 0xFFFFFFFFFFFFFFFF + 1  # 1..2**64-1: 0 marks an empty slot
        slots = self._slots
        mask = len(slots) - 1
        i = key & mask
        while (held := slots[i]) != 0:
            if held == key:
                return False
            i = (i + 1) & mask
        slots[i] = key
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old, self._slots = self._slots, array("Q", bytes(16 * len(self._slots)))
        mask = len(self._slots) - 1
        for key in old:
            if key:
                i = key & mask
                while self._slots[i] != 0:
                    i = (i + 1) & mask
                self._slots[i] = key


def _shared_as_domains(facts: list[Any]) -> set[str]:
    """The domains an indicator's pattern compares a domain to (not the hosts of its URLs)."""
    _, pattern, pattern_type, _ = facts
    if pattern_type not in (None, "stix") or type(pattern) is not str:
        return set()
    found = set()
    for rule, _, value in pattern_comparisons(pattern):
        if rule == "domain" or (rule == "referenced" and guess_kind(value) == "domain"):
            domain = normalise("domain", value)
            if domain is not None:
                found.add(domain.value)
    return found


def safe_value(observable: Observable) -> str | None:
    """A value as one line of text (a blocklist's line, a rule's content), or None for one that
    would not stay one line (a URL's unsafe characters are percent-encoded instead)."""
    value = observable.value
    if UNSAFE.search(value) is None:
        return value
    if observable.kind == "url":
        return UNSAFE.sub(lambda m: quote(m[0], safe=""), value)
    return None


def _still_valid(facts: list[Any], today: str) -> bool:
    valid_until = facts[3]
    if not is_timestamp(valid_until):
        return True
    return normalize_timestamp(valid_until) > today
