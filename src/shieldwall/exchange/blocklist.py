"""Blocklists: the values of the indicators a viewer may see, one per line, for a firewall, a
DNS filter or an IDS to load.

Only what an analyst would block: the latest version of each visible indicator that is neither
revoked nor past its `valid_until`, scoring at least `min_score` when asked, and never a value
on a false-positive warning list (a resolver, a top site, a private range) unless asked for.
Read a page of indicators at a time with their values as ingest normalised them
(exchange/indicator_values.py: the policy's SQL filter, no STIX body parsed) and written by
value_export.py (on several cores when large), so a blocklist of any size streams in flat
memory but for ~16 bytes a value written; each page is a bulk read in the audit log, with the
indicators it came from. The rule exports (rules.py, rpz.py) take their requests from here.

A domain blocklist holds the domains shared as domains: the host of a shared URL is one
compromised page's server, often a shared host, and blocking it would block far more than was
shared (`include_url_hosts` asks for them too). Every line is one value: a value that could break
a line (a control or white-space character, from before ingest refused them) is never written as
it is — a URL's is percent-encoded, any other value is left out.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from shieldwall.correlate.values import KINDS, UNSAFE
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.exchange.indicator_values import ValueRow
from shieldwall.exchange.value_export import Job, Rendered, Renderer, merged
from shieldwall.markings import PAP
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

# filters (with selections and members) and scores are imported where used: the worker
# processes of a large export (value_export.py) import this module to read their job, and need
# neither (a job with a selection brings its module along).
if TYPE_CHECKING:
    from shieldwall.selections.service import Selection
    from shieldwall.sightings.warninglists import WarningLists

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
    from shieldwall.exchange import filters

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


def job_for(
    db: Database, viewer: Viewer, settings: Settings, request: Blocklist, renderer: Renderer
) -> Job:
    """An export of `request` for `viewer` with the instance's score half-lives and warning
    lists, written by `renderer` (value_export.py)."""
    from shieldwall.sightings.score import parse_half_lives

    return Job(
        db.url,
        viewer,
        request,
        datetime.now(UTC),
        parse_half_lives(settings.decay_half_lives),
        (settings.warninglists, settings.cache_dir),
        renderer,
    )


@dataclass(frozen=True, slots=True)
class Lines:
    """A blocklist's Renderer: each value on a line of its own."""

    sid_span: int = 0

    def render(self, rows: list[ValueRow]) -> Rendered:
        page = Rendered()
        keys, texts = page.keys, page.texts
        for row in rows:
            kind, value = row[5], row[6]
            line = safe_value(kind, value)
            if line is not None:  # (one that is not never is: its later indicators' neither)
                keys.append(hash((kind, value)))  # value_key
                texts.append(line + "\n")
        return page

    def resid(self, text: str, line: int, old: int, new: int) -> str:
        raise AssertionError("a blocklist has no sids")


def export_blocklist(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterator[str]:
    """The registry's blocklist export (exchange/formats.py)."""
    job = job_for(db, viewer, settings, request_of(options), Lines())
    return merged(db, job, "export.blocklist")


def blocklist_lines(
    db: Database,
    viewer: Viewer,
    request: Blocklist,
    *,
    half_lives: dict[str, float],
    lists: WarningLists | None,
) -> Iterator[str]:
    """Each value once, in the order its first indicator was added, with a newline; a page's
    lines joined. With `lists` given, made in this process."""
    job = Job(db.url, viewer, request, datetime.now(UTC), half_lives, None, Lines(), lists)
    return merged(db, job, "export.blocklist")


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

    def add_each(self, values: Sequence[int]) -> bytearray:
        """add() of each value in turn, in one call (a merge adds a page of keys at once):
        1 for each value that was new, 0 for one there already."""
        new = bytearray(len(values))
        span, slots, mask, room = self._span, self._slots, self._mask, self._room
        for n, value in enumerate(values):
            key = value % span + 1
            i = key & mask
            while (held := slots[i]) != 0:
                if held == key:
                    break
                i = (i + 1) & mask
            else:
                slots[i] = key
                new[n] = 1
                room -= 1
                if not room:
                    self._room = 0
                    self._grow()
                    slots, mask, room = self._slots, self._mask, self._room
        self._room = room
        return new

    def add_until_taken(self, values: Sequence[int], start: int = 0) -> int:
        """add() of values[start], values[start + 1]... until one is there already: its index,
        or len(values) when none is (that one is left for the caller to place elsewhere)."""
        span, slots, mask, room = self._span, self._slots, self._mask, self._room
        for n in range(start, len(values)):
            key = values[n] % span + 1
            i = key & mask
            while (held := slots[i]) != 0:
                if held == key:
                    self._room = room
                    return n
                i = (i + 1) & mask
            slots[i] = key
            room -= 1
            if not room:
                self._room = 0
                self._grow()
                slots, mask, room = self._slots, self._mask, self._room
        self._room = room
        return len(values)

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


def safe_value(kind: str, value: str) -> str | None:
    """A value as one line of text (a blocklist's line, a rule's content), or None for one that
    would not stay one line (a URL's unsafe characters are percent-encoded instead)."""
    if UNSAFE.search(value) is None:
        return value
    if kind == "url":
        return UNSAFE.sub(lambda m: quote(m[0], safe=""), value)
    return None
