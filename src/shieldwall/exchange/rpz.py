"""A DNS response policy zone (RPZ, as BIND, Unbound, PowerDNS and Knot read it) of the domains
a viewer may block: exchange/blocklist.py's query, filters and warning lists, written as zone
file records, streamed a batch at a time.

Each domain is a trigger (draft-vixie-dnsop-dns-rpz §2): `evil.example CNAME .` answers
NXDOMAIN (`action=nodata`: `CNAME *.`, an empty answer; `action=drop`: `CNAME rpz-drop.`, no
answer at all), and with `subdomains` (the default) `*.evil.example` does the same for every
name below it. Names are written relative to the zone's origin, which the server's zone
statement gives (`zone "rpz.shieldwall" { type primary; file "...";}`), so the file serves
under any zone name of at most 20 characters; a name too long for that, or with a character a
zone file would read otherwise than as a label, is left out. The SOA serial is the time of the
export in seconds since 1970, so each new export is newer than the last.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.exchange import filters
from shieldwall.exchange.blocklist import job_for, request_of
from shieldwall.exchange.indicator_values import ValueRow
from shieldwall.exchange.value_export import Rendered, merged
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

ACTIONS = {"nxdomain": ".", "nodata": "*.", "drop": "rpz-drop."}
MAX_ORIGIN = 20  # characters of the zone's name the file leaves room for
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
# Every label as _LABEL, the whole name at once (a label's `$` let a trailing newline through).
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def _record_name(domain: str, subdomains: bool) -> bool:
    """Whether a domain can be written as an owner name (RFC 1035 §5.1, §2.3.4) with room for
    `*.` and the zone's origin."""
    room = 255 - 2 - MAX_ORIGIN - (2 if subdomains else 0)
    return len(domain) <= room and _NAME.fullmatch(domain) is not None


def export_rpz(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterator[str]:
    """The registry's rpz export (exchange/formats.py): the zone file, streamed."""
    action = (options.get("action") or "nxdomain").lower()
    if action not in ACTIONS:
        raise Invalid(f"action: {', '.join(ACTIONS)}, not {options['action']!r}")
    subdomains = filters.flag(options.get("subdomains") or "yes")
    request = request_of({**options, "kind": "domain"}, takes=("domain",))
    job = job_for(db, viewer, settings, request, Records(ACTIONS[action], subdomains))
    return _zone(merged(db, job, "export.rpz"))


@dataclass(frozen=True, slots=True)
class Records:
    """The zone's Renderer (value_export.py): a domain's trigger records."""

    target: str
    subdomains: bool
    sid_span: int = 0

    def render(self, rows: list[ValueRow]) -> Rendered:
        page = Rendered()
        keys, texts = page.keys, page.texts
        target, subdomains = self.target, self.subdomains
        for row in rows:
            domain = row[6].rstrip(".")
            if not _record_name(domain, subdomains):
                continue  # (nor at its later indicators: the name decides)
            keys.append(hash((row[5], row[6])))  # value_key
            record = f"{domain} CNAME {target} ; {row[1]}\n"
            texts.append(f"{record}*.{domain} CNAME {target}\n" if subdomains else record)
        return page

    def resid(self, text: str, line: int, old: int, new: int) -> str:
        raise AssertionError("a zone has no sids")


def _zone(records: Iterable[str]) -> Iterator[str]:
    """The zone: its SOA and NS records, then the triggers (written with the first of them)."""
    serial = int(time.time())
    head = (
        "; Shieldwall response policy zone: the domains to block, written relative to the zone\n"
        "$TTL 300\n"
        f"@ IN SOA localhost. hostmaster.localhost. ({serial} 3600 600 604800 300)\n"
        "@ IN NS localhost.\n"
    )
    for piece in records:
        yield head + piece
        head = ""
    if head:
        yield head
