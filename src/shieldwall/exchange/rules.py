"""IDS rules: the values a viewer may block (exchange/blocklist.py's query, filters, warning
lists and value escaping) written as Suricata or Snort rules, streamed a batch at a time.

What each engine gets, by kind of value:
- ipv4, ipv6 and their CIDR ranges: `alert ip` in either direction (both engines).
- domain: Suricata matches `dns.query` and `tls.sni` on the domain and its subdomains
  (`dotprefix; endswith`); Snort the DNS query's labels over UDP 53 (the domain and its
  subdomains) and the ClientHello's server name (exactly).
- url (http:// only): Suricata matches `http.host` and the raw URI exactly; Snort the raw URI
  and the host in the headers.
- md5, sha1, sha256: Suricata gets one `filemd5` / `filesha1` / `filesha256` rule per file
  protocol, reading a list file beside the rules (`shieldwall-md5.list`...: the blocklist export
  of that kind); Snort 2 rules match no file hash, so its export leaves them out.

An https URL's path travels encrypted, so it gets no rule; its host is a domain, blocked when it
was shared as one (`include_url_hosts`, as for the domain blocklist).

Each rule's `sid` comes from the indicator's id, the rule's kind and the value's place among the
indicator's values it writes (ordered by kind and value, whatever order its pattern names them
in; a value an earlier indicator wrote is not written again, nor counted), so a
new version of an indicator replaces its rules (`rev` is its `modified`, in seconds since 1970)
rather than adding rules beside them. Sids are in
1,000,000,000-1,999,999,999: above Snort's own (< 1,000,000) and the public rulesets'
(Emerging Threats' 2,000,000-2,999,999 and the sidallocation.org blocks, all below
100,000,000), inside the range both engines leave to local rules. Two rules hashing to one
sid (~1 in 1,000 at a million rules) are kept apart by giving the later one the next free
sid. Memory grows only by the sids given and the values written, kept in ~8 and ~16 bytes
each (blocklist.IntSet); file hashes, which only decide whether a list rule is written, are
not remembered. The rules are made a page of values at a time in one loop
(RuleRenderer.render), in worker processes when the export is large (value_export.py): a
rule costs the making of its text and its sid's hash, little else.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from shieldwall.db import Database
from shieldwall.exchange.blocklist import IntSet, job_for, request_of, safe_value
from shieldwall.exchange.indicator_values import ValueRow
from shieldwall.exchange.value_export import Job, Merge, Rendered, merged
from shieldwall.markings import TLP
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

SID_BASE = 1_000_000_000
SID_SPAN = 1_000_000_000
IP_KINDS = ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr")
HASH_LISTS = {"md5": "filemd5", "sha1": "filesha1", "sha256": "filesha256"}
# Protocols Suricata extracts files from that a hash list rule watches.
FILE_PROTOCOLS = ("http", "smtp", "ftp-data", "smb", "nfs")

# In a rule's quoted content only these stand for themselves; any other byte is written in hex
# (`|3B|`), so no value can end the string, the option (`;`) or start a hex run (`|`).
_PLAIN = re.compile(r"[A-Za-z0-9_.~/%?=&+,@!*()'#$\[\]{}^-]+")
_MSG_UNSAFE = re.compile(r'[\\";]')
# A value safe_value leaves as it is and message need not escape: no white space, control,
# backslash, quote or semicolon (blocklist.UNSAFE and _MSG_UNSAFE, together).
_CLEAN = re.compile(r'[^\s\x00-\x1f\x7f-\x9f\\";]*')


class Sids:
    """Stable sids: from a key's hash, the next free one when two keys share it."""

    def __init__(self, used: IntSet | None = None) -> None:
        self.used = used or IntSet(bits=32)  # offsets below SID_SPAN < 2**32

    def __call__(self, key: str) -> int:
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        offset = int.from_bytes(digest, "big") % SID_SPAN
        while not self.used.add(offset):
            offset = (offset + 1) % SID_SPAN
        return SID_BASE + offset


def content(value: str) -> str:
    """A value as a rule's quoted content: plain where plain, hex bytes elsewhere."""
    if _PLAIN.fullmatch(value):
        return f'"{value}"'
    out: list[str] = []
    position = 0
    for match in _PLAIN.finditer(value):
        out.append(_hex(value[position : match.start()]))
        out.append(match[0])
        position = match.end()
    out.append(_hex(value[position:]))
    return '"' + "".join(out) + '"'


def _hex(text: str) -> str:
    return f"|{text.encode().hex(' ').upper()}|" if text else ""


def dns_labels(domain: str) -> str:
    """`evil.example` as a DNS query carries it: `|04|evil|07|example|00|` (RFC 1035 §3.1)."""
    out = []
    for label in domain.split("."):
        out.append(f"|{len(label.encode()):02X}|" + content(label)[1:-1])
    return '"' + "".join(out) + '|00|"'


def message(text: str) -> str:
    """A rule's msg: backslash before what would end it."""
    text = text[:200]
    if _MSG_UNSAFE.search(text) is None:
        return f'"{text}"'
    return '"' + _MSG_UNSAFE.sub(lambda m: "\\" + m[0], text) + '"'


# One rule of one value, before its msg, sid and rev: (variant, header, options); `variant`
# names it in its sid. A plain tuple, made for every value: a named tuple takes four times as
# long to make, a frozen dataclass twelve.
Rule = tuple[str, str, str]


def suricata_domain(value: str) -> list[Rule]:
    dotted = content("." + value)
    return [
        ("dns", "dns any any -> any any",
         f"dns.query; dotprefix; content:{dotted}; nocase; endswith;"),
        ("tls", "tls any any -> any any",
         f"tls.sni; dotprefix; content:{dotted}; nocase; endswith;"),
    ]  # fmt: skip


def suricata_url(host: str, target: str) -> Rule:
    host_size, target_size = len(host.encode()), len(target.encode())
    return ("http", "http any any -> any any",
            f"http.host; content:{content(host)}; bsize:{host_size}; "
            f"http.uri.raw; content:{content(target)}; bsize:{target_size};")  # fmt: skip


# A DNS label's length byte as dns_labels writes it, for the lengths a label may have.
_LABEL_LENGTHS = [f"|{n:02X}|" for n in range(64)]


def snort_domain(value: str) -> list[Rule]:
    if _PLAIN.fullmatch(value) is not None:  # (nearly always: ASCII, nothing to write in hex)
        try:
            labels = '"' + "".join([_LABEL_LENGTHS[len(x)] + x for x in value.split(".")])
            labels += '|00|"'
        except IndexError:  # a label longer than DNS allows: as dns_labels writes it
            labels = dns_labels(value)
        quoted = f'"{value}"'
    else:
        labels, quoted = dns_labels(value), content(value)
    size = len(value.encode())
    # RFC 6066 §3: a server_name entry is type 0 (host_name), a 2-byte length, the name.
    sni = f'"|00 {size >> 8:02X} {size & 255:02X}|' + quoted[1:]
    return [
        ("dns", "udp any any -> any 53",
         f"content:{labels}; fast_pattern:only; nocase;"),
        ("tls", "tcp any any -> any 443",
         f"flow:to_server,established; ssl_state:client_hello; content:{sni}; nocase;"),
    ]  # fmt: skip


def snort_url(host: str, target: str) -> Rule:
    return ("http", "tcp any any -> any $HTTP_PORTS",
            f"flow:to_server,established; content:{content(target)}; http_raw_uri; "
            f"content:{content(host)}; http_header; nocase;")  # fmt: skip


# An http URL as ingest normalises most of them: lower-case host, no user, no fragment.
_SIMPLE_HTTP = re.compile(r"http://([a-z0-9.-]+)(?::[0-9]*)?(/[^?#\s]*)?(?:\?([^#\s]*))?")


def _http_url(url: str) -> tuple[str, str] | None:
    """(host, path and query) of an http:// URL; None for other schemes or no host."""
    simple = _SIMPLE_HTTP.fullmatch(url)
    if simple is not None:  # urlsplit's answer, in a tenth of its time
        host, path, query = simple.groups()
        if host:
            return host, (path or "/") + (f"?{query}" if query else "")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme != "http" or not host:
        return None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, target


@functools.lru_cache(maxsize=1024)
def _day(date: str) -> int:
    """Seconds since 1970 at the start of the day `YYYY-MM-DD`."""
    return int(datetime.fromisoformat(date).replace(tzinfo=UTC).timestamp())


# "MM:SS" -> seconds, and "YYYY-MM-DDTHH" -> seconds since 1970, looked up: _rev runs once
# an indicator, and three int() calls took longer than the rest of its rule.
_MINUTE_SECOND = {f"{m:02d}:{s:02d}": m * 60 + s for m in range(60) for s in range(61)}
_HOURS: dict[str, int] = {}


def _rev(modified: str) -> int:
    """A version's `modified` (to the second) in seconds since 1970: later versions, higher
    revs."""
    if modified[13:14] == ":" and (seconds := _MINUTE_SECOND.get(modified[14:19])) is not None:
        hour = _HOURS.get(modified[:13])
        if hour is None:
            if len(_HOURS) >= 65_536:  # a few years of hours; then start again
                _HOURS.clear()
            try:
                hour = _HOURS[modified[:13]] = _day(modified[:10]) + int(modified[11:13]) * 3600
            except ValueError:
                return 1
        return hour + seconds
    try:
        if modified[13:14] == modified[16:17] == ":":
            hours, minutes, seconds_ = modified[11:13], modified[14:16], modified[17:19]
            return _day(modified[:10]) + int(hours) * 3600 + int(minutes) * 60 + int(seconds_)
        return int(datetime.fromisoformat(modified[:19]).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return 1


@dataclass(frozen=True, slots=True)
class Engine:
    """An IDS's rules by kind of value (see the module's table)."""

    name: str
    kinds: tuple[str, ...]
    domain: Callable[[str], list[Rule]]
    url: Callable[[str, str], Rule]  # (host, path and query)

    def rules(self, kind: str, value: str) -> list[Rule]:
        if kind in IP_KINDS:
            return [("ip", f"ip any any <> [{value}] any", "")]
        if kind == "domain":
            return self.domain(value)
        if kind == "url" and (parts := _http_url(value)) is not None:
            return [self.url(*parts)]
        return []


SURICATA = Engine("suricata", (*IP_KINDS, "domain", "url", *HASH_LISTS), suricata_domain,
                  suricata_url)  # fmt: skip
SNORT = Engine("snort", (*IP_KINDS, "domain", "url"), snort_domain, snort_url)


_LABELS = {int(tlp): f"Shieldwall TLP:{tlp.label.upper()} " for tlp in TLP}
# A value shorter than this makes a msg (label, kind, value) within message's 200 characters.
_SHORT = 200 - max(map(len, _LABELS.values())) - max(map(len, (*SURICATA.kinds, *SNORT.kinds))) - 1


# The end of the sid key (object id, variant, ordinal) of a variant's first rule of an indicator.
class _Firsts(dict[str, str]):
    def __missing__(self, variant: str) -> str:
        end = self[variant] = f"|{variant}|0"
        return end


_FIRSTS = _Firsts()


@dataclass(frozen=True, slots=True)
class RuleRenderer:
    """An engine's rules as value_export's Renderer: a page's values' rules, each with the sid
    its hash gives it (the merge moves it on a collision)."""

    engine: Engine
    sid_span: int = SID_SPAN

    def render(self, rows: list[ValueRow]) -> Rendered:
        """The rules of each value of `rows`, Suricata's file hashes only noted (they decide
        which hash list rules are written).

        One loop over a page's rows with everything it calls bound to locals: a million rules
        are a million turns of it, so each turn makes only the rule's text, its sid's key and
        hash. A value with nothing to escape (nearly all) skips safe_value and message's
        escaping."""
        page = Rendered()
        keys, texts, counts, groups = page.keys, page.texts, page.counts, page.groups
        add_sid, blake2b, from_bytes = page.sids.append, hashlib.blake2b, int.from_bytes
        clean, rules_of, labels, firsts = _CLEAN.fullmatch, self.engine.rules, _LABELS, _FIRSTS
        # A value's place among its indicator's values, by variant; the indicator's rev.
        last_id, ordinals, rev, tail = "", {}, 0, ""
        first, held = 0, []  # where the indicator's values start, and its rows
        for row in rows:
            object_id, kind, value = row[1], row[5], row[6]
            if kind in HASH_LISTS:
                page.counted.add(kind)
                continue
            key = hash((kind, value))  # value_key, of the value as stored, unescaped
            if clean(value) is not None:  # as safe_value and message would leave it
                if len(value) < _SHORT:  # (message's 200 characters are not reached)
                    about = f'"{labels[row[3]]}{kind} {value}"'
                else:
                    about = f"{labels[row[3]]}{kind} {value}"
                    about = f'"{about[:200]}"'
            else:
                value = safe_value(kind, value)
                if value is None:
                    continue  # (nor at its later indicators: the value decides)
                about = message(f"{labels[row[3]]}{kind} {value}")
            if object_id != last_id:
                if len(held) > 1:
                    groups.append((first, len(keys), held))
                last_id, ordinals, rev, first, held = object_id, {}, _rev(row[2]), len(keys), []
                tail = f" metadata:shieldwall_indicator {object_id}; sid:"
            held.append(row)
            lines = []
            for variant, header, options in rules_of(kind, value):
                if variant in ordinals:
                    ordinal = ordinals[variant] = ordinals[variant] + 1
                    key_text = f"{object_id}|{variant}|{ordinal}".encode()
                else:  # (the first of its variant: nearly every rule)
                    ordinals[variant] = 0
                    key_text = (object_id + firsts[variant]).encode()
                offset = from_bytes(blake2b(key_text, digest_size=8).digest(), "big") % SID_SPAN
                add_sid(offset)
                if options:
                    lines.append(f"alert {header} (msg:{about}; {options}{tail}"
                                 f"{SID_BASE + offset}; rev:{rev};)\n")  # fmt: skip
                else:
                    lines.append(f"alert {header} (msg:{about};{tail}{SID_BASE + offset}; "
                                 f"rev:{rev};)\n")  # fmt: skip
            keys.append(key)
            texts.append(lines[0] if len(lines) == 1 else "".join(lines))
            counts.append(len(lines))
        if len(held) > 1:
            groups.append((first, len(keys), held))
        return page

    def resid(self, text: str, line: int, old: int, new: int) -> str:
        lines = text.split("\n")
        lines[line] = lines[line].replace(
            f" sid:{SID_BASE + old}; rev:", f" sid:{SID_BASE + new}; rev:", 1
        )
        return "\n".join(lines)


def rule_lines(db: Database, job: Job, head: str) -> Iterator[str]:
    """`head`, then the rules of each page (value_export.merged), a page's lines joined at a
    time; Suricata's hash list rules at the end, for the kinds of which a value was found."""
    assert isinstance(job.renderer, RuleRenderer)
    merge = Merge(job.renderer)
    for piece in merged(db, job, f"export.{job.renderer.engine.name}", merge):
        yield head + piece
        head = ""
    sids, tail = Sids(merge.used), [head]
    for kind in sorted(merge.counted):
        keyword = HASH_LISTS[kind]
        for protocol in FILE_PROTOCOLS:
            sid = sids(f"{keyword}|{protocol}")
            tail.append(
                f"alert {protocol} any any -> any any (msg:{message(f'Shieldwall {kind} list')}; "
                f"{keyword}:{list_file(kind)}; sid:{sid}; rev:1;)\n"
            )
    if "".join(tail):
        yield "".join(tail)


def list_file(kind: str) -> str:
    """The hash list a Suricata rule reads, beside the rules: the blocklist export of `kind`."""
    return f"shieldwall-{kind}.list"


def _export(engine: Engine, db: Database, viewer: Viewer, settings: Settings,
            options: Mapping[str, str]) -> Iterator[str]:  # fmt: skip
    """The rules, checked options first (a bad one is refused before anything is read)."""
    # Alert rules are passive detection, which even PAP:RED allows: every PAP unless asked.
    request = request_of(options, takes=engine.kinds, default=True, pap=None)
    job = job_for(db, viewer, settings, request, RuleRenderer(engine))
    # The head goes out with the first rules, after the first read: a failure there is still
    # an error answer (api/streaming.py).
    head = (
        f"# Shieldwall {engine.name} rules for {viewer.email or viewer.user_id}, "
        f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}; sids {SID_BASE}-{SID_BASE + SID_SPAN - 1}\n"
    )
    return rule_lines(db, job, head)


def export_suricata(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterator[str]:
    """The registry's suricata export (exchange/formats.py)."""
    return _export(SURICATA, db, viewer, settings, options)


def export_snort(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterator[str]:
    """The registry's snort export (exchange/formats.py)."""
    return _export(SNORT, db, viewer, settings, options)
