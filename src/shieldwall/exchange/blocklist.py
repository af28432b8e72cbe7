"""Blocklists: the values of the indicators a viewer may see, one per line, for a firewall, a
DNS filter or an IDS to load.

Only what an analyst would block: the latest version of each visible indicator that is neither
revoked nor past its `valid_until`, scoring at least `min_score` when asked, and never a value
on a false-positive warning list (a resolver, a top site, a private range) unless asked for.
Read a page of indicators at a time with their values as ingest normalised them
(exchange/indicator_values.py: the policy's SQL filter, no STIX body parsed), so a blocklist of
any size streams in flat memory but for ~16 bytes a value written; each page is a bulk read in
the audit log, with the indicators it came from. The rule exports (rules.py, rpz.py) read here.

A domain blocklist holds the domains shared as domains: the host of a shared URL is one
compromised page's server, often a shared host, and blocking it would block far more than was
shared (`include_url_hosts` asks for them too). Every line is one value: a value that could break
a line (a control or white-space character, from before ingest refused them) is never written as
it is — a URL's is percent-encoded, any other value is left out.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from urllib.parse import quote

from sqlalchemy import Connection, and_, or_, true

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
from shieldwall.exchange.indicator_values import ValueRow, mentions, pages
from shieldwall.intel.tables import objects
from shieldwall.intel.validate_values import UNSAFE
from shieldwall.markings import PAP, PAP_BY_MARKING_ID
from shieldwall.policy import Viewer
from shieldwall.selections.service import Selection
from shieldwall.settings import Settings
from shieldwall.sightings.benign import BenignCheck, warning_lists
from shieldwall.sightings.score import parse_half_lives
from shieldwall.sightings.service import IndicatorRow, scores_of
from shieldwall.sightings.warninglists import WarningLists

_PK, _OBJECT_ID = itemgetter(0), itemgetter(1)  # of a ValueRow
# PAP 1.0: blocking traffic is an active action, which PAP:GREEN allows and PAP:AMBER and RED
# do not; blocklists and DNS firewalls hold no value marked above GREEN unless asked to.
BLOCKING_PAP = PAP.GREEN
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
    max_pap: PAP | None = None  # the most restricted PAP marking held; None: any or none

    def __post_init__(self) -> None:
        if not self.kinds:
            raise Invalid(f"name at least one kind: {', '.join(BLOCKABLE)}")
        for kind in self.kinds:
            if kind not in BLOCKABLE:
                known = "" if kind in KINDS else "unknown kind; "
                raise Invalid(f"{known}a blocklist holds {', '.join(BLOCKABLE)}, not {kind!r}")


def request_of(
    options: Mapping[str, str],
    *,
    takes: tuple[str, ...] = BLOCKABLE,
    default: bool = False,
    pap: PAP | None = BLOCKING_PAP,
) -> Blocklist:
    """A request from an export's options (filters.VALUE_OPTIONS; `kind` comma-separated) for
    the kinds `takes` names, every one of them when `default` and no kind is given; `pap` the
    PAP ceiling when the options name none."""
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
        filters.pap_of(options.get("pap"), pap),
    )


def values_for(
    db: Database,
    viewer: Viewer,
    settings: Settings,
    request: Blocklist,
    *,
    action: str,
    counted: frozenset[str] = frozenset(),
) -> Iterator[list[ValueRow]]:
    """blocked_pages with the instance's score half-lives and warning lists."""
    return blocked_pages(
        db,
        viewer,
        request,
        half_lives=parse_half_lives(settings.decay_half_lives),
        lists=warning_lists(settings.warninglists, settings.cache_dir),
        action=action,
        counted=counted,
    )


def export_blocklist(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterator[str]:
    """The registry's blocklist export (exchange/formats.py)."""
    return _lines(values_for(db, viewer, settings, request_of(options), action="export.blocklist"))


def blocklist_lines(
    db: Database,
    viewer: Viewer,
    request: Blocklist,
    *,
    half_lives: dict[str, float],
    lists: WarningLists | None,
) -> Iterator[str]:
    """Each value once, in the order its first indicator was added, with a newline; a page's
    lines joined."""
    return _lines(blocked_pages(db, viewer, request, half_lives=half_lives, lists=lists))


def _lines(found: Iterable[list[ValueRow]]) -> Iterator[str]:
    for rows in found:
        lines = [line for row in rows if (line := safe_value(row[5], row[6])) is not None]
        if lines:
            yield "\n".join(lines) + "\n"


def blocked_pages(
    db: Database,
    viewer: Viewer,
    request: Blocklist,
    *,
    half_lives: dict[str, float],
    lists: WarningLists | None,
    action: str = "export.blocklist",
    counted: frozenset[str] = frozenset(),
) -> Iterator[list[ValueRow]]:
    """Each value of the kinds asked for once, in the order its first indicator was added, a
    page at a time, as the rows read (indicator_values.ValueRow, `tlp` the level's number: the
    exports write a page in one loop, with no object made per value). Each page of indicators
    is audited as `action` before any of its values is given out.
    Values of the `counted` kinds are not de-duplicated: the caller only asks whether one of
    them is there (Suricata's hash lists), and remembering them would cost ~16 bytes each."""
    now = datetime.now(UTC)
    # Each value once: its 64-bit hash is remembered, not the value, in 16 bytes or so, so a
    # blocklist of a million values keeps ~16 MB, not the list (any two colliding: ~3e-8).
    written = IntSet()
    chosen = request.selection.where(objects, now=now) if request.selection else true()
    # Expired ones are left out by the column ingest fills (normalised: compared as text).
    until = objects.c.valid_until
    chosen = and_(chosen, or_(until.is_(None), until > now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
    if request.max_pap is not None:
        stricter = [m for m, level in PAP_BY_MARKING_ID.items() if level > request.max_pap]
        chosen = and_(chosen, *(~mentions(objects.c.body, m) for m in stricter))
    wanted = frozenset(request.kinds)
    only_shared_domains = "domain" in wanted and not request.include_url_hosts
    # An indicator's URLs are read too when its domains may be only their hosts.
    kinds = (*request.kinds, "url") if only_shared_domains else request.kinds
    benign = None if request.include_benign or lists is None else BenignCheck(lists)
    for rows in pages(db, viewer, kinds, chosen, url_patterns=only_shared_domains):
        # Rows are tuples in ValueRow's order: pk 0, object_id 1, kind 5, value 6, pattern 7.
        left_out: set[int] = set()
        if request.min_score is not None:
            with db.read() as conn:
                left_out |= _scored_below(conn, viewer, rows, left_out, request.min_score,
                                          half_lives, now)  # fmt: skip
        found = rows if not left_out else [r for r in rows if r[0] not in left_out]
        ids = list(dict(zip(map(_PK, found), map(_OBJECT_ID, found), strict=True)).values())
        if ids:
            audit.record(db, viewer, action, {
                "kinds": list(request.kinds), "min_score": request.min_score,
                "include_benign": request.include_benign, "count": len(ids),
                **({"selection": request.selection.as_dict()} if request.selection else {}),
                "objects": ids[:100], "objects_digest": audit.digest_of(ids),
            })  # fmt: skip
        # Only an indicator with a URL has a domain that was not shared as one (its host).
        hosts_only = (
            {r[0]: _shared_as_domains(r[7]) if _NAMES_DOMAINS(r[7]) else _NONE
             for r in rows if r[7] is not None}
            if only_shared_domains
            else {}
        )  # fmt: skip
        page: list[ValueRow] = []
        keep, add = page.append, written.add
        for row in found:
            pk, kind, value = row[0], row[5], row[6]
            if kind not in wanted:
                continue  # no value, or a URL read only for the line above
            if kind == "domain" and pk in hosts_only and value not in hosts_only[pk]:
                continue  # the host of a URL, not a domain that was shared
            if kind not in counted and not add(hash((kind, value))):
                continue
            if benign is not None and benign(Observable(kind, value)):
                continue
            keep(row)
        if page:
            yield page


def _scored_below(
    conn: Connection,
    viewer: Viewer,
    rows: list[ValueRow],
    left_out: set[int],
    min_score: float,
    half_lives: dict[str, float],
    now: datetime,
) -> set[int]:
    """The pks of the page's indicators scoring below `min_score` for `viewer` (scores read
    each indicator's values themselves: its sightings are by value, of every kind)."""
    heads = {r[0]: r for r in rows if r[0] not in left_out}
    indicators = [IndicatorRow(r[0], r[1], r[2], r[4]) for r in heads.values()]
    scores = scores_of(conn, viewer, indicators, half_lives, now=now)
    return {pk for pk in heads if scores[pk]["score"] < min_score}


class IntSet:
    """A set of 64-bit (or, with `bits=32`, 32-bit) integers in one flat array (open addressing,
    at most half full): ~16 (or ~8) bytes a member where a Python set of ints takes ~70, for
    exports that remember what they wrote."""

    __slots__ = ("_code", "_mask", "_room", "_slots", "_span")

    def __init__(self, capacity: int = 1 << 12, *, bits: int = 64) -> None:
        self._code = "Q" if bits == 64 else "I"
        self._span = (1 << bits) - 1  # keys are 1..2**bits-1: 0 marks an empty slot
        self._slots = array(self._code, bytes(bits // 8 * capacity))
        self._mask = capacity - 1
        self._room = capacity // 2  # adds before it grows

    def add(self, value: int) -> bool:
        """Add `value`; False when it was there already."""
        key = value % self._span + 1
        slots, mask = self._slots, self._mask
        i = key & mask
        while (held := slots[i]) != 0:
            if held == key:
                return False
            i = (i + 1) & mask
        slots[i] = key
        self._room -= 1
        if not self._room:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = slots = array(self._code, bytes(2 * len(old) * old.itemsize))
        self._mask = mask = len(slots) - 1
        self._room = len(old) // 2
        for key in filter(None, old):  # the members, skipping empty slots in C
            i = key & mask
            while slots[i] != 0:
                i = (i + 1) & mask
            slots[i] = key


# Only `domain-name:value` and `..._ref.value` comparisons name a domain (observables.py): a
# pattern naming neither (a URL's, nearly always) is not parsed.
_NAMES_DOMAINS = re.compile("domain-name|_ref").search
_NONE: frozenset[str] = frozenset()


def _shared_as_domains(pattern: str) -> set[str]:
    """The domains an indicator's pattern compares a domain to (not the hosts of its URLs)."""
    if _NAMES_DOMAINS(pattern) is None:
        return set()
    found = set()
    for rule, _, value in pattern_comparisons(pattern):
        if rule == "domain" or (rule == "referenced" and guess_kind(value) == "domain"):
            domain = normalise("domain", value)
            if domain is not None:
                found.add(domain.value)
    return found


def safe_value(kind: str, value: str) -> str | None:
    """A value as one line of text (a blocklist's line, a rule's content), or None for one that
    would not stay one line (a URL's unsafe characters are percent-encoded instead)."""
    if UNSAFE.search(value) is None:
        return value
    if kind == "url":
        return UNSAFE.sub(lambda m: quote(m[0], safe=""), value)
    return None
