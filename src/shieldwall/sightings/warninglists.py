"""Known-benign values from the MISP warning lists, indexed for lookups without the network.

The lists ship inside the `pymispwarninglists` package (119 lists, 2.5 million entries). That
package answers only exact matches quickly, so the list files are read once into:

- names: one 64-bit row per (entry, list) of the string and hostname lists, in a sorted array
  searched with `bisect`. A row is 56 bits of a BLAKE2s digest of the normalised entry, 7 bits
  naming the list and 1 bit saying whether the entry also covers subdomains. A domain is looked
  up once per suffix: a.b.example.com, b.example.com, example.com, com. Nearly every lookup
  misses, so a bitmap of the digests' first 26 bits (8 MB) answers most of them before any
  bisecting: a digest whose bit is clear is in no list.
- ranges: per IP version, the CIDR entries cut into elementary segments, each segment listing
  every entry that covers it, so an address or a CIDR value costs one `bisect` (cidr_ranges).
- substrings and regexes: a handful, tried only for the kinds their lists name.

A digest stands in for the text so that 2.4 million names take 19 MB instead of about 250 MB; a
value shares a digest with some entry by chance about once in 3 * 10^10 lookups. `save` writes
the built index to one file, which `load_compiled` reads back without parsing 65 MB of JSON (or
building the bitmap again: ~1 s).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import re
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from hashlib import blake2s
from itertools import repeat
from operator import and_, methodcaller, or_
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

import orjson

from shieldwall.sightings.cidr_ranges import RangeTable, parse_range, readonly

__all__ = ["KNOWN_LISTS", "WarningList", "WarningLists", "WarningMatch", "default_lists_dir"]

IP_KINDS = frozenset({"ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr"})
# MISP attribute types (`matching_attributes`) -> our observable kinds. A composite type such as
# `domain|ip` stands for each of its parts, as MISP checks each part of such a value.
_ATTRIBUTE_KINDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        **dict.fromkeys(("ip-src", "ip-dst", "ip-src|port", "ip-dst|port"), IP_KINDS),
        "domain|ip": IP_KINDS | {"domain"},
        **dict.fromkeys(("domain", "hostname", "hostname|port"), frozenset({"domain"})),
        **dict.fromkeys(("url", "uri", "link"), frozenset({"url"})),
        **dict.fromkeys(("email", "email-src", "email-dst", "target-email"), frozenset({"email"})),
        **dict.fromkeys(("whois-registrant-email", "dns-soa-email"), frozenset({"email"})),
        **{
            prefix + digest: frozenset({digest})
            for digest in ("md5", "sha1", "sha224", "sha256", "sha512", "ssdeep", "tlsh")
            for prefix in ("", "filename|", "x509-fingerprint-")
        },
        "ja3-fingerprint-md5": frozenset({"ja3"}),
        "AS": frozenset({"asn"}),
        "mutex": frozenset({"mutex"}),
        "regkey": frozenset({"registry-key"}),
        "user-agent": frozenset({"user-agent"}),
        "phone-number": frozenset({"phone-number"}),
        "whois-registrant-phone": frozenset({"phone-number"}),
    }
)
_ALL_KINDS = frozenset().union(*_ATTRIBUTE_KINDS.values())

# The shipped lists carry no `category`: MISP keeps one per instance, false_positive by default.
# These lists name infrastructure that anyone can rent or register under (cloud and CDN ranges,
# dynamic DNS, shorteners, VPN exits, parking, sinkholes), so a match is context about a value,
# not a verdict that it is harmless: they are "known"; every other list is "false-positive".
KNOWN_LISTS = frozenset(
    {
        *("akamai", "amazon-aws", "cloudflare", "fastly", "github", "google-gcp", "stackpath"),
        *("microsoft-azure", "microsoft-azure-china", "microsoft-azure-germany"),
        *("microsoft-azure-us-gov", "ovh-cluster", "vpn-ipv4", "vpn-ipv6", "sinkholes"),
        *("dynamic-dns", "url-shortener", "link-in-bio", "lots-project", "public-ipfs-gateways"),
        *("disposable-email", "parking-domain", "parking-domain-ns"),
    }
)

_NAME_TYPES = ("string", "hostname")
_DIGEST_BITS = 0xFFFF_FFFF_FFFF_FF00
_NAME_LISTS_MAX = 0x80  # 7 bits of a row
_CHUNK = 1 << 16  # entries digested at once, to bound the memory a large list takes
_FENCE = 256
# A digest's bit in the presence bitmap: its first 26 bits, 2^26 bits in all. With 2.4 million
# names, 1 in 28 digests of values on no list still finds its bit set and bisects.
_PRESENCE_SHIFT = 64 - 26
_PRESENCE_BYTES = 1 << (64 - _PRESENCE_SHIFT - 3)
_TOKEN = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_SEPARATOR = re.compile(r"[.@/:|?#=&]")
# A URL's host when it has no user, port or brackets, as urlsplit(url).hostname gives it: the
# common case, for a fifth of urlsplit's time.
_PLAIN_HOST = re.compile(r"[a-z][a-z0-9+.-]*://([a-z0-9.-]+)(?=[/?#]|\Z)")
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_FORMAT = b"shieldwall-warninglists/2\n"


@dataclasses.dataclass(frozen=True, slots=True)
class WarningMatch:
    """One warning list that a value is on, and the entry that put it there."""

    list_name: str
    list_id: str  # the folder name, e.g. "public-dns-v4"
    category: str  # "false-positive" or "known"
    matched: str  # the entry that matched: the CIDR, the domain suffix, the string


@dataclasses.dataclass(frozen=True, slots=True)
class WarningList:
    """What is known about one loaded list."""

    list_id: str
    name: str
    type: str  # "string", "substring", "hostname", "cidr" or "regex"
    category: str
    version: int
    kinds: frozenset[str]  # the observable kinds it is consulted for
    size: int  # entries as shipped, including any in `WarningLists.rejected`


@dataclasses.dataclass(frozen=True, slots=True)
class WarningLists:
    """The loaded, immutable index: build it once with `load` or `load_compiled` and keep it."""

    lists: tuple[WarningList, ...]
    rejected: tuple[tuple[str, str], ...]  # (list id, entry) that could not be read
    _name_rows: Sequence[int]
    _v4: RangeTable
    _v6: RangeTable
    _tokens: Mapping[str, tuple[int, ...]]  # domain-like substring entries -> their lists
    _plain_substrings: tuple[tuple[int, str], ...]
    _regexes: tuple[tuple[int, str, re.Pattern[str]], ...]
    # Derived from the fields above by `_assemble`:
    _lists_for: Mapping[str, frozenset[int]]  # kind -> lists consulted for it
    _name_lists: tuple[int, ...]  # the 7-bit list number in a name row -> list index
    _token_set: frozenset[str]  # the keys of `_tokens`, for a quicker test
    _token_heads: frozenset[str]  # each token's first dot-separated part
    _token_max: int
    _name_fences: list[int]  # every _FENCE-th name row: a list bisects faster than an array
    _name_presence: bytes | memoryview  # bit (row >> _PRESENCE_SHIFT) set for every name row
    _substring_lists: frozenset[int]
    _regex_lists: frozenset[int]

    @classmethod
    def load(
        cls, lists_dir: Path | None = None, *, only: Iterable[str] | None = None
    ) -> WarningLists:
        """Read and index the list files: all of them, or the list ids in `only`."""
        lists_dir = lists_dir or default_lists_dir()
        available = sorted(p.parent.name for p in lists_dir.glob("*/list.json"))
        if only is not None:
            wanted = set(only)
            if unknown := wanted.difference(available):
                raise ValueError(f"no such warning lists in {lists_dir}: {sorted(unknown)}")
            available = [list_id for list_id in available if list_id in wanted]
        return _build(lists_dir, available)

    @classmethod
    def load_compiled(cls, path: Path) -> WarningLists:
        """Read an index written by `save`."""
        data = Path(path).read_bytes()
        if not data.startswith(_FORMAT):
            raise ValueError(f"{path} is not a compiled Shieldwall warning-list index")
        start = len(_FORMAT) + 8
        end = start + int.from_bytes(data[len(_FORMAT) : start], "big")
        state = orjson.loads(data[start:end])
        rows_end = end + 8 * state["name_rows"]
        if state["byteorder"] != sys.byteorder:
            raise ValueError(f"{path} was built on a machine of the other byte order")
        if len(data) != rows_end + _PRESENCE_BYTES:
            raise ValueError(
                f"{path} is damaged: {len(data)} bytes, not {rows_end + _PRESENCE_BYTES}"
            )
        return _assemble(
            lists=tuple(
                WarningList(**{**info, "kinds": frozenset(info["kinds"])})
                for info in state["lists"]
            ),
            rejected=tuple((list_id, entry) for list_id, entry in state["rejected"]),
            name_rows=memoryview(data)[end:rows_end].cast("Q"),
            name_presence=memoryview(data)[rows_end:].toreadonly(),
            v4=RangeTable.from_state(state["v4"]),
            v6=RangeTable.from_state(state["v6"]),
            tokens={token: tuple(lists) for token, lists in state["tokens"].items()},
            plain_substrings=tuple((index, entry) for index, entry in state["plain_substrings"]),
            regexes=tuple((index, source, _regex(source)) for index, source in state["regexes"]),
        )

    def save(self, path: Path) -> None:
        """Write the index to one file for `load_compiled`: a JSON header, the name rows, then
        their presence bitmap."""
        state = {
            "byteorder": sys.byteorder,
            "name_rows": len(self._name_rows),
            "lists": [{**dataclasses.asdict(i), "kinds": sorted(i.kinds)} for i in self.lists],
            "rejected": self.rejected,
            "v4": self._v4.state(),
            "v6": self._v6.state(),
            "tokens": dict(self._tokens),
            "plain_substrings": self._plain_substrings,
            "regexes": [(index, source) for index, source, _ in self._regexes],
        }
        header = orjson.dumps(state)
        header += b" " * (-(len(_FORMAT) + 8 + len(header)) % 8)  # rows start 8-aligned
        with Path(path).open("wb") as out:
            out.write(_FORMAT + len(header).to_bytes(8, "big") + header)
            out.write(self._name_rows)
            out.write(self._name_presence)

    def __len__(self) -> int:
        return len(self.lists)

    def match(self, kind: str, value: str) -> tuple[WarningMatch, ...]:
        """Every list that the normalised `value` of observable `kind` is on, one match per list.

        A URL is also looked up by its host, as a domain or an address. An e-mail address is
        also looked up by its domain, but only in the lists meant for e-mail: a mailbox at a
        popular provider is not benign because the provider's domain is.
        """
        allowed = self._lists_for.get(kind, frozenset())
        found: dict[int, tuple[int, str]] = {}
        if kind == "url":
            self._collect(found, "text", value, allowed)
            if (plain := _PLAIN_HOST.match(value)) is not None:
                host = plain[1]
            else:
                try:
                    host = urlsplit(value).hostname
                except ValueError:  # "http://[::1/": no host to speak of
                    host = None
            if host:
                host_kind = "ipv6" if ":" in host else "ipv4" if host[-1].isdigit() else "domain"
                host_lists = self._lists_for.get(host_kind, frozenset())
                # The URL's own substring pass has seen the host already, for the URL lists.
                self._collect(found, host_kind, host, *_host_lists(allowed, host_lists))
        elif kind == "email":
            self._collect(found, "text", value, allowed)
            self._collect(found, "domain", value.rpartition("@")[2], allowed, frozenset())
        else:
            self._collect(found, kind, value, allowed)
        if not found:
            return ()
        return tuple(
            WarningMatch(info.name, info.list_id, info.category, matched)
            for index, (_, matched) in sorted(found.items())
            for info in (self.lists[index],)
        )

    def exact(self, kind: str, value: str) -> tuple[WarningMatch, ...]:
        """The lists that name this very value, or (for an address or range) hold it in a range.

        What ingest asks of every value it stores, so it skips what `match` also does for a
        person reading a lookup: suffix walks, substring and regex lists.
        """
        found = self.exact_in(kind, value, self._lists_for.get(kind, frozenset()))
        if not found:  # nearly every value ingest asks about
            return ()
        return tuple(
            WarningMatch(info.name, info.list_id, info.category, matched)
            for index, matched in sorted(found.items())
            for info in (self.lists[index],)
        )

    def consulted(self, kind: str, category: str) -> frozenset[int]:
        """The lists of `category` consulted for values of `kind`, by index into `lists`."""
        return frozenset(
            i for i in self._lists_for.get(kind, ()) if self.lists[i].category == category
        )

    def exact_in(
        self, kind: str, value: str, allowed: frozenset[int], bounds: tuple[int, int] | None = None
    ) -> dict[int, str]:
        """`exact` among the lists `allowed` only (list index -> the entry that matched), for an
        address or range from its `bounds` when the caller has them already parsed (first and
        last address, host bits cleared, as parse_range gives them)."""
        if not allowed or not value:
            return {}
        found: dict[int, str] = {}
        if kind in IP_KINDS:
            if bounds is not None:
                version = 6 if kind.startswith("ipv6") else 4
                lo, hi = bounds
            elif (parsed := parse_range(value)) is not None:
                version, lo, hi = parsed
            else:
                version = 0
            if version:
                table = self._v4 if version == 4 else self._v6
                for entry in table.containing(lo, hi):
                    if (index := table.entry_list[entry]) in allowed:
                        found.setdefault(index, table.entry_text[entry])
        for index, _ in self._names(value.lower()):
            if index in allowed:
                found.setdefault(index, value)
        return found

    def _collect(
        self,
        found: dict[int, tuple[int, str]],
        shape: str,
        value: str,
        allowed: frozenset[int],
        substring_allowed: frozenset[int] | None = None,
    ) -> None:
        """Add each allowed list that `value` is on to `found`, keeping its most specific entry."""
        if not allowed or not value:
            return
        if substring_allowed is None:
            substring_allowed = allowed
        text = value.lower()
        if shape in IP_KINDS and (parsed := parse_range(value)) is not None:
            version, lo, hi = parsed
            table = self._v4 if version == 4 else self._v6
            for entry in table.containing(lo, hi):
                index = table.entry_list[entry]
                _offer(found, allowed, index, table.entry_prefix[entry], table.entry_text[entry])
        start = 0
        while True:  # a.b.example.com, then b.example.com, example.com, com for a domain
            suffix = text[start:]
            for index, covers_subdomains in self._names(suffix):
                if start == 0 or covers_subdomains:
                    _offer(found, allowed, index, len(suffix), suffix)
            start = text.find(".", start) + 1 if shape == "domain" else 0
            if not start:
                break
        if not self._substring_lists.isdisjoint(substring_allowed):
            for index, entry in self._substrings_in(text):
                if index in substring_allowed:
                    _offer(found, allowed, index, len(entry), entry)
        if not self._regex_lists.isdisjoint(allowed):
            for index, source, pattern in self._regexes:
                if index in allowed and pattern.search(value):
                    _offer(found, allowed, index, 0, source)

    def _names(self, text: str) -> list[tuple[int, int]]:
        """(list index, covers subdomains) for each name-list entry equal to `text`."""
        digest = _digest(text)
        bit = digest >> _PRESENCE_SHIFT
        if not self._name_presence[bit >> 3] >> (bit & 7) & 1:
            return []
        rows = self._name_rows
        # The fences narrow 2.5 million rows to 256 first.
        fence = bisect_left(self._name_fences, digest)
        lo, hi = max(0, (fence - 1) * _FENCE), min(len(rows), fence * _FENCE)
        i = bisect_left(rows, digest, lo, hi)
        found = []
        while i < len(rows) and rows[i] & _DIGEST_BITS == digest:
            found.append((self._name_lists[rows[i] >> 1 & 0x7F], rows[i] & 1))
            i += 1
        return found

    def _substrings_in(self, text: str) -> list[tuple[int, str]]:
        # A domain-like entry must start and end at a separator: as a plain substring, the way
        # MISP matches, "tmail.com" (a disposable-mail domain) would flag every hotmail.com.
        found = [(index, entry) for index, entry in self._plain_substrings if entry in text]
        if self._token_heads.isdisjoint(_SEPARATOR.split(text)):
            return found  # no token can start anywhere in it: most values, quickly
        cuts = [m.start() for m in _SEPARATOR.finditer(text)]
        ends = [*cuts, len(text)]
        for k, start in enumerate((0, *[cut + 1 for cut in cuts])):
            # ends[k] is the first separator at or after start, so a token starting here would
            # begin with text[start : ends[k]] as its first dot-separated part.
            if text[start : ends[k]] not in self._token_heads:
                continue
            for end in ends[k:]:
                if end - start > self._token_max:
                    break
                if end > start and (piece := text[start:end]) in self._token_set:
                    found.extend((index, piece) for index in self._tokens[piece])
                if end < len(text) and text[end] != ".":
                    break  # tokens hold no other separator: no longer piece can be one
        return found


def _offer(
    found: dict[int, tuple[int, str]],
    allowed: frozenset[int],
    index: int,
    specificity: int,
    matched: str,
) -> None:
    """Keep `matched` as list `index`'s entry if the list is allowed and it is the most specific
    one yet (a function, not a closure made on every _collect: most values offer nothing)."""
    if index in allowed and (index not in found or found[index][0] < specificity):
        found[index] = (specificity, matched)


@functools.cache
def _host_lists(
    url_lists: frozenset[int], host_lists: frozenset[int]
) -> tuple[frozenset[int], frozenset[int]]:
    """The lists a URL's host is looked up in, and those of them it is searched for substrings
    in; once per pair of selections, not per URL (two set operations cost more than a match)."""
    return url_lists | host_lists, host_lists - url_lists


def default_lists_dir() -> Path:
    """The folder of lists inside the installed `pymispwarninglists` package."""
    spec = importlib.util.find_spec("pymispwarninglists")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pymispwarninglists is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "data" / "misp-warninglists" / "lists"


def _build(lists_dir: Path, list_ids: Sequence[str]) -> WarningLists:
    infos: list[WarningList] = []
    rejected: list[tuple[str, str]] = []
    rows = array("Q")
    name_lists = 0
    ranges: dict[int, list[tuple[int, int, int, str]]] = {4: [], 6: []}
    tokens: dict[str, list[int]] = {}
    plain: list[tuple[int, str]] = []
    regexes: list[tuple[int, str, re.Pattern[str]]] = []
    for index, list_id in enumerate(list_ids):
        raw = orjson.loads((lists_dir / list_id / "list.json").read_bytes())
        kind, entries = raw["type"], list(raw["list"])  # MISP also takes {entry: comment}
        category = raw.get("category") or ("known" if list_id in KNOWN_LISTS else "false-positive")
        infos.append(
            WarningList(
                list_id=list_id,
                name=raw["name"],
                type=kind,
                category=category.replace("_", "-"),
                version=int(raw.get("version", 1)),
                kinds=_kinds(raw.get("matching_attributes") or ()),
                size=len(entries),
            )
        )
        if kind in _NAME_TYPES:
            if name_lists == _NAME_LISTS_MAX:
                raise ValueError(f"more than {_NAME_LISTS_MAX} string and hostname lists")
            for at in range(0, len(entries), _CHUNK):
                chunk = entries[at : at + _CHUNK]
                rows.extend(_name_rows(chunk, name_lists, all_cover=kind == "hostname"))
            name_lists += 1
            continue
        for entry in entries:
            text = entry.strip().lower()
            if kind == "cidr" and (parsed := parse_range(entry)) is not None:
                ranges[parsed[0]].append((parsed[1], parsed[2], index, entry.strip()))
            elif kind == "substring" and _TOKEN.fullmatch(text):
                tokens.setdefault(text, []).append(index)
            elif kind == "substring" and text:
                plain.append((index, text))
            elif kind == "regex" and (pattern := _regex(entry)) is not None:
                regexes.append((index, entry, pattern))
            else:
                rejected.append((list_id, entry))
    return _assemble(
        lists=tuple(infos),
        rejected=tuple(rejected),
        name_rows=readonly("Q", sorted(rows)),
        v4=RangeTable.build(ranges[4], wide=False),
        v6=RangeTable.build(ranges[6], wide=True),
        tokens={token: tuple(lists) for token, lists in tokens.items()},
        plain_substrings=tuple(plain),
        regexes=tuple(regexes),
    )


def _assemble(
    *,
    lists: tuple[WarningList, ...],
    rejected: tuple[tuple[str, str], ...],
    name_rows: Sequence[int],
    v4: RangeTable,
    v6: RangeTable,
    tokens: dict[str, tuple[int, ...]],
    plain_substrings: tuple[tuple[int, str], ...],
    regexes: tuple[tuple[int, str, re.Pattern[str] | None], ...],
    name_presence: bytes | memoryview | None = None,
) -> WarningLists:
    """The index from what `load` and `load_compiled` read, plus what is derived from it."""
    lists_for: dict[str, set[int]] = {}
    for index, info in enumerate(lists):
        for kind in info.kinds:
            lists_for.setdefault(kind, set()).add(index)
    compiled = tuple((i, source, p) for i, source, p in regexes if p is not None)
    return WarningLists(
        lists=lists,
        rejected=rejected,
        _name_rows=name_rows,
        _v4=v4,
        _v6=v6,
        _tokens=MappingProxyType(tokens),
        _plain_substrings=plain_substrings,
        _regexes=compiled,
        _lists_for=MappingProxyType({kind: frozenset(ids) for kind, ids in lists_for.items()}),
        _name_lists=tuple(i for i, info in enumerate(lists) if info.type in _NAME_TYPES),
        _token_set=frozenset(tokens),
        _token_heads=frozenset(token.partition(".")[0] for token in tokens),
        _token_max=max(map(len, tokens), default=0),
        _name_fences=list(name_rows[::_FENCE]),
        _name_presence=_presence(name_rows) if name_presence is None else name_presence,
        _substring_lists=frozenset(i for i, info in enumerate(lists) if info.type == "substring"),
        _regex_lists=frozenset(i for i, _, _ in compiled),
    )


def _name_rows(entries: Sequence[str], number: int, *, all_cover: bool) -> Iterator[int]:
    """Name-table rows for entries of name list `number`, without a Python call per entry.

    A leading dot means "and its subdomains" in hostname lists (where every entry covers its
    subdomains); the string lists google and microsoft use it the same way, though MISP
    compares string entries verbatim and so never matches those.
    """
    texts = [text for text in map(str.lower, map(str.strip, entries)) if text.strip(".")]
    stripped = map(str.encode, map(str.strip, texts, repeat(".")))
    digests = array("Q")
    digests.frombytes(b"".join(map(methodcaller("digest"), map(blake2s, stripped))))
    code = number << 1
    covers = repeat(code | 1) if all_cover else [code | t.startswith(".") for t in texts]
    # BLAKE2s gives 32 bytes, four array items; `_digest` takes the first of them.
    return map(or_, map(and_, digests[::4], repeat(_DIGEST_BITS)), covers)


def _presence(rows: Iterable[int]) -> bytes:
    """The presence bitmap of name rows (see _PRESENCE_SHIFT)."""
    bitmap = bytearray(_PRESENCE_BYTES)
    for bit in {row >> _PRESENCE_SHIFT for row in rows}:
        bitmap[bit >> 3] |= 1 << (bit & 7)
    return bytes(bitmap)


def _digest(text: str) -> int:
    return int.from_bytes(blake2s(text.encode()).digest()[:8], sys.byteorder) & _DIGEST_BITS


def _regex(source: str) -> re.Pattern[str] | None:
    """Compile a PCRE literal such as `/^abuse@/i`; None when Python's `re` cannot take it."""
    delimiter = source[:1]
    pattern, found, flags = source[1:].rpartition(delimiter)
    if not found or delimiter.isalnum() or delimiter.isspace():
        return None
    value = 0
    for flag in flags.replace("g", ""):  # `g`, a JavaScript habit, changes nothing for a search
        if flag not in _REGEX_FLAGS:
            return None
        value |= _REGEX_FLAGS[flag]
    try:
        return re.compile(pattern, value)
    except re.error:
        return None


def _kinds(attributes: Sequence[str]) -> frozenset[str]:
    if not attributes:  # MISP: a list without matching_attributes applies to every type
        return _ALL_KINDS
    return frozenset().union(*(_ATTRIBUTE_KINDS.get(a, frozenset()) for a in attributes))
