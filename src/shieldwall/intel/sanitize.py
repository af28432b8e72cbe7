"""Mask victim data in free text before it is shared: the preview behind POST /api/v1/sanitize.

Members may share "via the community broker" (DESIGN.md, Anonymous contribution); this module
finds victim e-mail addresses, phone numbers, personal names, internal host names and private
addresses and replaces each with a numbered placeholder. Attacker data (public addresses, public
domains, hashes, CVE ids) is the point of sharing and is left alone.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import NamedTuple

from shieldwall.errors import Invalid
from shieldwall.intel.sanitize_names import (
    NOT_PERSON_WORDS,
    PARTICLES,
    STOP_WORDS,
    names_in_prose,
)

EMAIL = "email"
PHONE = "phone"
PERSON_NAME = "person-name"
INTERNAL_HOSTNAME = "internal-hostname"
PRIVATE_IP = "private-ip"

#: Every kind, most specific first: between two overlapping findings of the same length the
#: earlier kind wins.
KINDS: tuple[str, ...] = (PRIVATE_IP, EMAIL, INTERNAL_HOSTNAME, PHONE, PERSON_NAME)
_LABELS = {
    PRIVATE_IP: "PRIVATE-IP",
    EMAIL: "EMAIL",
    INTERNAL_HOSTNAME: "INTERNAL-HOST",
    PHONE: "PHONE",
    PERSON_NAME: "PERSON",
}


class SanitizeRequestError(Invalid, ValueError):
    """What the caller asked for cannot be done (a kind to keep that does not exist, a suffix
    that is no DNS name): a ValueError to library callers, a 422 naming the field to the API."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details=[{"property": field, "message": message}])


@dataclass(frozen=True, slots=True)
class Finding:
    """One masked value; `start`/`end` are code-point offsets in the original text."""

    kind: str
    start: int
    end: int
    original: str
    replacement: str


@dataclass(frozen=True, slots=True)
class SanitizeResult:
    """The masked text and what was masked in it, in order of position."""

    text: str
    findings: tuple[Finding, ...]

    def as_dict(self) -> dict:
        return {"text": self.text, "findings": [asdict(f) for f in self.findings]}


class _Candidate(NamedTuple):
    kind: str
    start: int
    end: int
    key: str  # the normalised value: one placeholder per distinct key and kind


# Everything below is hand-written regular expressions and the stdlib `ipaddress`, plus, for
# names written without a context word, the first-name dictionary of sanitize_names.py (nothing
# may be downloaded at run time, so no NER model). Precision beats recall here; the preview lets
# the human catch the rest.

# A dot, or a defanged one as analysts write it: 1[.]2[.]3[.]4, evil(.)corp[dot]local.
_DOT = r"(?:\.|[\[({](?:\.|(?i:dot))[\])}])"
_UNDEFANG_RE = re.compile(r"[\[({](?:\.|(?i:dot))[\])}]")
_IPV4_LIKE = rf"\d{{1,3}}(?:{_DOT}\d{{1,3}}){{3}}"


# --- e-mail -----------------------------------------------------------------------------------
_OBF_AT = r"(?:@|[ \t]*[\[({][ \t]*(?:@|(?i:at))[ \t]*[\])}][ \t]*)"
_OBF_DOT = r"(?:\.|[ \t]*[\[({][ \t]*(?:\.|(?i:dot))[ \t]*[\])}][ \t]*)"
_EMAIL_RE = re.compile(
    r"(?<![\w.%+\-])"
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*"
    + _OBF_AT
    + r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    + _OBF_DOT
    + r")+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9\-]{1,59})"
    r"(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"
)
_EMAIL_OBF_RE = re.compile(r"\s*[\[({]\s*(@|(?i:at)|\.|(?i:dot))\s*[\])}]\s*")


def _emails(text: str) -> list[_Candidate]:
    found = []
    for m in _EMAIL_RE.finditer(text):
        key = _EMAIL_OBF_RE.sub(lambda o: "@" if o[1].lower() in ("@", "at") else ".", m[0])
        found.append(_Candidate(EMAIL, m.start(), m.end(), key.lower()))
    return found


# --- private addresses ------------------------------------------------------------------------
_PRIVATE_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, RFC 3927
        "100.64.0.0/10",  # carrier-grade NAT, RFC 6598
        "fc00::/7",  # unique local, RFC 4193
        "fe80::/10",  # link-local
        "::1/128",
    )
)
_IPV4_RE = re.compile(rf"(?<![\w.\])}}])({_IPV4_LIKE})(?:/(\d{{1,2}}))?(?!\w|{_DOT}\d|/\d)")
_IPV6_RE = re.compile(
    r"(?<![\w:.])([0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,45})(%[\w.\-]{1,16})?(?:/(\d{1,3}))?(?![\w:])"
)


def _private_network(address: str, prefix: str | None) -> str | None:
    """The canonical form of a private address or network, None for anything else."""
    try:
        net = ipaddress.ip_network(f"{address}/{prefix}" if prefix else address, strict=False)
    except ValueError:
        return None
    if net.version == 6 and net.prefixlen == 128 and net.network_address.ipv4_mapped:
        net = ipaddress.ip_network(net.network_address.ipv4_mapped)
    if not any(net.version == p.version and net.subnet_of(p) for p in _PRIVATE_NETS):
        return None
    return str(net) if prefix else str(net.network_address)


def _private_ips(text: str) -> list[_Candidate]:
    found = []
    for m in _IPV4_RE.finditer(text):
        key = _private_network(_UNDEFANG_RE.sub(".", m[1]), m[2])
        if key:
            found.append(_Candidate(PRIVATE_IP, m.start(), m.end(), key))
    for m in _IPV6_RE.finditer(text):
        address, end = m[1], m.end()
        if address.endswith("."):  # "... fe80::1." at the end of a sentence
            if m[2] or m[3]:
                continue
            address = address.rstrip(".")
            end = m.start() + len(address)
        key = _private_network(address, m[3])  # the zone (%eth0) is masked but not part of it
        if key:
            found.append(_Candidate(PRIVATE_IP, m.start(), end, key))
    return found


# --- internal host names ----------------------------------------------------------------------
# RFC 6762 (.local), RFC 8375 (home.arpa) and the suffixes internal networks commonly use.
# `.ad` is also Andorra's TLD; on balance an AD domain is the likelier meaning in incident text.
_INTERNAL_SUFFIXES = (
    "home.arpa", "localdomain", "intranet", "internal", "local", "corp", "home", "lan", "ad",
)  # fmt: skip
_LABEL = r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,62}"


def _normalise_domain(domain: str) -> str:
    name = domain.strip().lower().removeprefix("*").strip(".")
    if not re.fullmatch(r"[\w\-]+(?:\.[\w\-]+)*", name):
        raise SanitizeRequestError("internal_domains", f"not a DNS suffix: {domain!r}")
    return name


@lru_cache(maxsize=32)
def _internal_host_re(extra: tuple[str, ...]) -> re.Pattern[str]:
    def alternation(domains: Iterable[str]) -> str:
        ordered = sorted(domains, key=len, reverse=True)  # "home.arpa" before "home"
        return "|".join(_DOT.join(re.escape(p) for p in d.split(".")) for d in ordered)

    names = rf"(?:{_LABEL}{_DOT})+(?i:{alternation(_INTERNAL_SUFFIXES)})"
    if extra:  # a member's own suffix names the member even on its own: mask "corp.example" too
        names += rf"|(?:{_LABEL}{_DOT})*(?i:{alternation(extra)})"
    return re.compile(rf"(?<![\w.@\-\])}}])(?:{names})(?![\w\-@]|{_DOT}[A-Za-z0-9])")


# Bare NetBIOS-style names, recognised only after a word that says "this is a machine".
_MACHINE_CONTEXT_RE = re.compile(
    r"(?i:\b(?:host(?:name)?s?|servers?|workstations?|machines?|computers?|endpoints?|devices?"
    r"|laptops?|desktops?|domain[ \t]+controllers?|nodes?|vms?|assets?)\b)"
    r"[ \t]*(?:[:=][ \t]*)?[\"'`]?"
)
_MACHINE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{1,14}(?![\w\-]|\.\w)")
_NOT_UNC_HOSTS = frozenset({"localhost", "tsclient", "wsl"})  # not a machine of the victim's
_UNC_RE = re.compile(r"(?<![\\\w])\\\\([A-Za-z0-9][A-Za-z0-9_\-]{0,14})(?=[\\/\s,;:)\]\"']|$)")
# Identifiers that look like machine names but are not: actor and technique ids, standards,
# algorithms, products ("host APT28", "server SHA-256", "device WIN10").
_NOT_MACHINE_RE = re.compile(
    r"(?i)(?:apt|fin|ta|unc|dev|storm|uat|temp|g|s|t|m|cve|cwe|ms|kb|rfc|iso|sha|md|aes|rc|tls"
    r"|ssl|ssh|smb|http|https|ipv|utf|x|arm|win|windows|rsa|crc|base|tcp|udp|vlan|port|dns|usb"
    r"|pe|elf|jdk|jre|php|py|python|net|server|linux|ubuntu|rhel|esxi|ios|android|covid)"
    r"[\-_]?\d+(?:[.\-]\d+)*"
)


def _is_machine_name(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    if len(name) < 3 or not name[0].isalpha() or name.endswith("-"):
        return False
    if _NOT_MACHINE_RE.fullmatch(name):
        return False
    if len(name) >= 8 and re.fullmatch(r"[0-9A-Fa-f]+", name):  # a hash fragment
        return False
    has_digit_or_dash = any(c.isdigit() or c == "-" for c in name)
    if all(c.isupper() for c in letters):  # WKS-FIN-042, DC01: how Windows prints them
        return has_digit_or_dash
    # lower case only with both a dash and a digit (wks-fin-042), never "the" or "nginx"
    return all(c.islower() for c in letters) and "-" in name and has_digit_or_dash


def _take_machine(text: str, pos: int) -> tuple[int, int] | None:
    m = _MACHINE_RE.match(text, pos)
    return (m.start(), m.end()) if m and _is_machine_name(m[0]) else None


def _internal_hosts(text: str, extra: tuple[str, ...]) -> list[_Candidate]:
    found = [
        _Candidate(INTERNAL_HOSTNAME, m.start(), m.end(), _UNDEFANG_RE.sub(".", m[0]).lower())
        for m in _internal_host_re(extra).finditer(text)
    ]
    bare = [m.span(1) for m in _UNC_RE.finditer(text) if m[1].lower() not in _NOT_UNC_HOSTS]
    for m in _MACHINE_CONTEXT_RE.finditer(text):
        bare.extend(_take_list(text, m.end(), _take_machine))
    # Once known to be a machine, a name is masked wherever else it appears; only names with
    # a machine's shape, or the "files" of \\files\share would go from every sentence.
    names = {text[s:e].lower() for s, e in bare if _is_machine_name(text[s:e])}
    bare.extend(_elsewhere(text, names, re.IGNORECASE))
    found.extend(_Candidate(INTERNAL_HOSTNAME, s, e, text[s:e].lower()) for s, e in bare)
    return found


# --- phone numbers ----------------------------------------------------------------------------
_PHONE_RUN_RE = re.compile(r"(?<![\w.+\-/\\:#@%$&=])\+?\(?\d[\d \t.\-()/]{0,40}\d")
_NANP_RE = re.compile(r"(?:1[ .\-])?(?:\(\d{3}\)[ .\-]?|\d{3}[ .\-])\d{3}[ .\-]\d{4}")
_PHONE_CONTEXT_RE = re.compile(
    r"(?i)\b(?:tel(?:ephone)?|phone|mobile|mob|cell(?:phone)?|fax|call(?:ed)?|ph|whats[ \-]?app"
    r"|sms)\b(?:[ \t]*(?:no|nr|number|num)\b)?[ \t.:#,=\-]*$"
)
_NOT_PHONE_CONTEXT_RE = re.compile(
    r"(?i)\b(?:ports?|version|ver|v|build|release|rev|revision|pid|tid|ids?|uid|gid|serial|sn"
    r"|asn|event|ticket|case|invoice|order|account|acct|iban|size|bytes|count|total|ttl|seq"
    r"|timestamp|epoch)\b[ \t.:#=\-]*(?:no\.?|nr\.?|number)?[ \t.:#=]*$"
)
# Numbers that a loose run of digits and separators could swallow but that are not phones.
_NOT_PHONE_RE = re.compile(
    r"(?<![\d.\-/])(?:\d{4}[\-./]\d{1,2}[\-./]\d{1,2}"  # 2024-05-01
    r"|\d{1,2}[\-./]\d{1,2}[\-./](?:\d{4}|\d{2}))(?![\-./]?\d)"  # 01.05.2024, 01/05/24
    rf"|(?<![\d.]){_IPV4_LIKE}(?!\d|{_DOT}\d)"  # IPv4, valid or not, defanged or not
    r"|(?i:CVE)-\d{4}-\d+"
)


def _is_phone(text: str, start: int, end: int) -> bool:
    run = text[start:end]
    if not 7 <= sum(c.isdigit() for c in run) <= 15 or run.count("(") != run.count(")"):
        return False
    before, after = text[max(0, start - 2) : start], text[end : end + 2]
    if after[:1].isalnum() or after[:1] == "_" or (after[:1] in ".-/:" and after[1:].isdigit()):
        return False
    if before[-1:] in (" ", "\t", "(", ")") and before[:1].isdigit():  # inside a longer list
        return False
    context = text[max(0, start - 30) : start]
    if _NOT_PHONE_CONTEXT_RE.search(context):
        return False
    if run.startswith("+") or _PHONE_CONTEXT_RE.search(context):
        return True
    if re.fullmatch(r"\d+\.\d+", run):  # a decimal: 0.00123456
        return False
    groups = re.findall(r"\d+", run)
    if run.startswith(("0", "(")):  # national trunk prefix or an area code in parentheses
        return len(groups) > 1 and all(len(g) > 1 for g in groups[1:])
    return bool(_NANP_RE.fullmatch(run))


def _phones(text: str) -> list[_Candidate]:
    runs = [m.span() for m in _PHONE_RUN_RE.finditer(text)]
    runs = [(s, e) for s, e in runs if _is_phone(text, s, e)]
    if not runs:
        return []
    protected = _merged(m.span() for m in _NOT_PHONE_RE.finditer(text))
    return [
        _Candidate(PHONE, s, e, re.sub(r"[^\d+]", "", text[s:e]))
        for s, e in runs
        if not _overlaps_any(protected, s, e)
    ]


# --- personal names ---------------------------------------------------------------------------
_HONORIFIC_RE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Madame|Monsieur|Sr|Sra|Srta)"
    r"\.?[ \t]+"
)
_NAME_CONTEXT_RE = re.compile(
    r"(?i:\b(?:contact(?:[ \t]+person)?|(?:reported|submitted|sent|signed|written|raised|opened"
    r"|filed|requested|forwarded|prepared|approved|authored)[ \t]+by|victims?|users?|employees?"
    r"|staff(?:[ \t]+member)?|customers?|clients?|patients?|colleagues?|account[ \t]+holder"
    r"|ceo|cfo|cto|cio|ciso|coo|attn|attention)\b)[ \t]*(?:[:=\-\u2013\u2014][ \t]*)?"
    r"|(?im:^[ \t]*(?:from|to|cc|bcc|reply-to|sender|full[ \t]+name|reporter|author|owner|analyst"
    r"|requester|submitter|assignee)[ \t]*:[ \t]*)"
)
_SIGNOFF_RE = re.compile(
    r"(?im)^[ \t]*(?:(?:best|kind|warm|warmest)[ \t]+regards|regards|best|cheers|thanks"
    r"|thank[ \t]+you|many[ \t]+thanks|sincerely|yours(?:[ \t]+(?:sincerely|truly|faithfully))?"
    r"|respectfully|mit[ \t]+freundlichen[ \t]+grü(?:ß|ss)en|viele[ \t]+grü(?:ß|ss)e|cordialement"
    r"|saludos|met[ \t]+vriendelijke[ \t]+groet(?:en)?|--)[ \t]*[,.!]?[ \t]*(?:\r?\n[ \t]*){1,2}"
)
_NAME_WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*")
_GAP_RE = re.compile(r"[ \t]{1,2}")
_LIST_SEP_RE = re.compile(r"[ \t]*(?:,|&|/|\band\b|\bor\b)[ \t]*")


class _Word(NamedTuple):
    start: int
    end: int
    is_name: bool  # False for particles ("van", "de") and initials ("J.")


def _word(text: str, pos: int) -> _Word | str | None:
    """The name word at `pos`; "stop" or "org" for a word that ends or voids a name."""
    m = _NAME_WORD_RE.match(text, pos)
    if not m:
        return None
    word, end = m[0], m.end()
    if word[-2:] in ("'s", "\u2019s") and len(word) > 3:  # possessive: Jane Doe's laptop
        word, end = word[:-2], end - 2
    nxt, after = text[end : end + 1], text[end + 1 : end + 2]
    if nxt.isalnum() or nxt in ("_", "@") or (nxt == "." and after.isalnum()):  # jane.doe
        return None
    folded = word.casefold()
    if folded in NOT_PERSON_WORDS:
        return "org"
    if folded in STOP_WORDS:
        return "stop"
    if folded in PARTICLES:
        return _Word(m.start(), end, is_name=False)
    if len(word) == 1 and word.isupper() and nxt == ".":
        return _Word(m.start(), end + 1, is_name=False)
    head = re.split(r"['\u2019\-]", word, maxsplit=1)
    capitalised = word[0].isupper() or (
        len(head) > 1 and head[0] in PARTICLES and head[1][:1].isupper()  # al-Hassan, d'Arcy
    )
    if capitalised and any(c.islower() for c in word) and not word[1:2].isupper():
        return _Word(m.start(), end, is_name=True)
    return None


def _take_name(
    text: str, pos: int, *, min_names: int = 2, max_words: int = 5
) -> tuple[int, int] | None:
    """The name that starts at `pos`: up to `max_words` words, at least `min_names` real ones."""
    words: list[_Word] = []
    while len(words) < max_words:
        word = _word(text, pos)
        if word == "org":
            return None
        if not isinstance(word, _Word):
            break
        words.append(word)
        gap = _GAP_RE.match(text, word.end)
        if not gap:
            break
        pos = gap.end()
    while words and not words[-1].is_name:
        words.pop()
    if sum(w.is_name for w in words) < min_names:
        return None
    return words[0].start, words[-1].end


def _take_list(
    text: str, pos: int, take_one: Callable[[str, int], tuple[int, int] | None]
) -> Iterator[tuple[int, int]]:
    """`take_one` at `pos`, then again after each ", " / " and " / " & " that follows."""
    for _ in range(50):
        span = take_one(text, pos)
        if span is None:
            return
        yield span
        sep = _LIST_SEP_RE.match(text, span[1])
        if not sep:
            return
        pos = sep.end()


_HEADER_CLOSE_RE = re.compile(r"[ \t]*>")


def _display_name(text: str, email: _Candidate) -> tuple[int, int] | None:
    """The display name of an e-mail header: `Jane Doe <jane@x.com>`, `"Doe, Jane" <...>`."""
    lt = text.rfind("<", max(0, email.start - 8), email.start)
    if (
        lt < 0
        or text[lt + 1 : email.start].strip(" \t")
        or not _HEADER_CLOSE_RE.match(text, email.end)
    ):
        return None
    line_start = max(text.rfind("\n", 0, lt) + 1, lt - 120)
    head = text[line_start:lt].rstrip(" \t")
    head_end = line_start + len(head)
    if head.endswith('"'):
        opening = head.rfind('"', 0, len(head) - 1)
        inner = head[opening + 1 : -1]
        words = [w.casefold() for w in _NAME_WORD_RE.findall(inner)]
        if opening < 0 or "@" in inner or not words or NOT_PERSON_WORDS.intersection(words):
            return None
        start = line_start + opening + 1 + len(inner) - len(inner.lstrip())
        return start, start + len(inner.strip())
    for m in re.finditer(r"(?<!\S)\S", head):  # the longest run of name words before the "<"
        span = _take_name(text, line_start + m.start())
        if span and span[1] == head_end:
            return span
    return None


def _person_names(text: str, emails: list[_Candidate]) -> list[_Candidate]:
    spans: list[tuple[int, int]] = []
    for m in _HONORIFIC_RE.finditer(text):
        span = _take_name(text, m.end(), min_names=1, max_words=4)
        if span:
            spans.append(span)
    for m in _NAME_CONTEXT_RE.finditer(text):
        spans.extend(_take_list(text, m.end(), _take_name))
    for m in _SIGNOFF_RE.finditer(text):
        span = _take_name(text, m.end())
        if span and re.match(r"[ \t]*(?:[,|(\-\u2013]|\r?\n|$)", text[span[1] :]):
            spans.append(span)
    spans.extend(s for s in (_display_name(text, e) for e in emails) if s)
    spans.extend(names_in_prose(text))
    full_names = {text[s:e] for s, e in spans if re.search(r"\s", text[s:e])}
    spans.extend(_elsewhere(text, full_names, 0))
    return [_Candidate(PERSON_NAME, s, e, " ".join(text[s:e].split()).casefold()) for s, e in spans]


# --- putting it together ----------------------------------------------------------------------
def _elsewhere(text: str, values: set[str], flags: int) -> list[tuple[int, int]]:
    """Every other whole-word occurrence of values already known to be victim data."""
    if not values:
        return []
    alternatives = (
        r"\s+".join(map(re.escape, v.split())) for v in sorted(values, key=len, reverse=True)
    )
    pattern = re.compile(r"(?<![\w.\-])(?:" + "|".join(alternatives) + r")(?![\w\-]|\.\w)", flags)
    return [m.span() for m in pattern.finditer(text)]


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans as sorted, disjoint intervals."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def _overlaps_any(merged: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) meets any of the sorted, disjoint `merged` intervals."""
    i = bisect_right(merged, (end,))  # the last interval starting before `end` is merged[i-1]
    return i > 0 and merged[i - 1][1] > start


def _resolve(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """Keep the longest (then the most specific) of overlapping candidates; sorted by start."""
    rank = {kind: i for i, kind in enumerate(KINDS)}
    chosen: list[_Candidate] = []
    starts: list[int] = []
    for c in sorted(set(candidates), key=lambda c: (c.start - c.end, rank[c.kind], c.start, c.key)):
        i = bisect_right(starts, c.start)
        if (i and chosen[i - 1].end > c.start) or (i < len(chosen) and chosen[i].start < c.end):
            continue
        chosen.insert(i, c)
        starts.insert(i, c.start)
    return chosen


_PLACEHOLDER_RE = re.compile(r"\[(EMAIL|PHONE|PERSON|INTERNAL-HOST|PRIVATE-IP)-(\d{1,9})\]")


def sanitize_text(
    text: str,
    *,
    keep: frozenset[str] = frozenset(),
    internal_domains: tuple[str, ...] = (),
) -> SanitizeResult:
    """Mask victim data in `text`; kinds in `keep` stay as they are.

    `internal_domains` are the member's own DNS suffixes ("corp.example"), masked as internal
    host names alongside the built-in ones (.local, .corp, ...). A kept finding still claims its
    span: with `keep={"email"}`, `jane@dc01.corp.local` stays whole.
    """
    unknown = set(keep) - set(KINDS)
    if unknown:
        message = f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}"
        raise SanitizeRequestError("keep", message)
    if isinstance(internal_domains, str):  # a lone "corp.example" would be read letter by letter
        raise TypeError("internal_domains is a tuple of DNS suffixes, not one string")
    extra = tuple(sorted({_normalise_domain(d) for d in internal_domains if d.strip(" .*")}))

    emails = _emails(text)
    candidates = [
        *emails,
        *_private_ips(text),
        *_internal_hosts(text, extra),
        *_phones(text),
        *_person_names(text, emails),
    ]
    chosen = [c for c in _resolve(candidates) if c.kind not in keep]

    # Number after any placeholder already in the text, so re-sanitising an edited preview
    # never gives two different values the same placeholder.
    counters = dict.fromkeys(_LABELS.values(), 0)
    for m in _PLACEHOLDER_RE.finditer(text):
        counters[m[1]] = max(counters[m[1]], int(m[2]))
    placeholders: dict[tuple[str, str], str] = {}
    findings = []
    for c in chosen:
        replacement = placeholders.get((c.kind, c.key))
        if replacement is None:
            label = _LABELS[c.kind]
            counters[label] += 1
            replacement = placeholders[c.kind, c.key] = f"[{label}-{counters[label]}]"
        findings.append(Finding(c.kind, c.start, c.end, text[c.start : c.end], replacement))

    # One pass over non-overlapping findings in order: the same as replacing right to left,
    # and every offset stays an offset in the original text.
    pieces, last = [], 0
    for f in findings:
        pieces += [text[last : f.start], f.replacement]
        last = f.end
    pieces.append(text[last:])
    return SanitizeResult("".join(pieces), tuple(findings))
