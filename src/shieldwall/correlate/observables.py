"""The observable values a STIX object yields, normalised so that the same thing compares equal.

Pure and on the hot ingest path (~25,000 objects/s): indicator patterns are read with one
regular expression built from the pattern lexer's pieces in intel/patterns.py, never with
stix2patterns' ANTLR parser (~4,000 patterns/s). Objects reach this module already validated, so
the scan only has to find the comparisons, not to check the grammar; on anything unexpected it
yields less, never raises.

Every value goes through one rule chosen by where it sits (object type and property path); a
value its rule cannot read is kept verbatim under kind ``other:<type>:<path>``, so it still
correlates exactly with the same value in the same place.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from shieldwall.intel import stix_types
from shieldwall.intel.patterns import _KEY, _OBJECT_TYPE, _WORD_END, _WS
from shieldwall.markings import SHARING_EXTENSION_ID

__all__ = [
    "KINDS",
    "Observable",
    "guess_kind",
    "lookup_key",
    "normalise",
    "observables_of",
]

KINDS = frozenset(
    {
        "ipv4",
        "ipv6",
        "ipv4-cidr",
        "ipv6-cidr",
        "domain",
        "url",
        "email",
        "md5",
        "sha1",
        "sha256",
        "sha512",
        "ssdeep",
        "tlsh",
        "asn",
        "mutex",
        "registry-key",
        "user-agent",
        "ja3",
    }
)
_OTHER = "other:"


@dataclass(frozen=True, slots=True)
class Observable:
    """One normalised value. `kind` is one of KINDS or ``other:<stix-type>:<path>``."""

    kind: str
    value: str
    # The integer interval an address or CIDR range covers (low == high for an address), so the
    # index can answer "address inside range" without parsing again. None for other kinds.
    low: int | None = None
    high: int | None = None


def lookup_key(observable: Observable) -> str:
    """The text the index stores and matches on, e.g. ``domain:example.com``.

    Unambiguous: no known kind contains ":", and an ``other:`` kind's path ends where its
    components (identifiers, quoted strings, ``[*]``) end.
    """
    return f"{observable.kind}:{observable.value}"


# --- addresses --------------------------------------------------------------------------------

# ipaddress costs ~2.7 µs an IPv4 and ~7 µs an IPv6 address, more than the whole budget for an
# indicator, so the common forms are read without it: a dotted quad already in canonical form
# (no leading zeros), and hex-and-colon IPv6 through libc, which prints the RFC 5952 form that
# ipaddress prints (a test holds the two to the same answers).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def _ipv6_number(text: str) -> int | None:
    """An IPv6 address as an integer by libc (a fifth of ipaddress' time), or None."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return None


def _address(raw: str, version: int | None = None) -> Observable | None:
    """An IPv4/IPv6 address or CIDR range of the given IP version (any when None)."""
    text = raw.strip()
    if version != 6 and _CANONICAL_IPV4.fullmatch(text):
        number = int.from_bytes(socket.inet_aton(text), "big")
        return Observable("ipv4", text, number, number)
    if version != 4 and ":" in text and "." not in text and "/" not in text and "%" not in text:
        number = _ipv6_number(text)
        if number is not None:
            canonical = socket.inet_ntop(socket.AF_INET6, number.to_bytes(16, "big"))
            # libc writes ::ffff:a.b.c.d and ::a.b.c.d in dotted form, ipaddress does not.
            if "." not in canonical:
                return Observable("ipv6", canonical, number, number)
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            if version is not None and network.version != version:
                return None
            if network.prefixlen != network.max_prefixlen:
                return Observable(
                    f"ipv{network.version}-cidr",
                    str(network),
                    int(network.network_address),
                    int(network.broadcast_address),
                )
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = network.network_address
        else:
            address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if version is not None and address.version != version:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is the IPv4 host a.b.c.d (RFC 4291 §2.5.5.2); Python versions also
        # disagree on how to print it.
        address = address.ipv4_mapped
    number = int(address)
    return Observable(f"ipv{address.version}", str(address), number, number)


# --- names ------------------------------------------------------------------------------------


def _domain_name(raw: str) -> str:
    """Lower case, IDNA (punycode) via the stdlib codec, trailing dot gone; '' when empty."""
    name = raw.strip().lower()
    if not name.isascii():
        # A label too long or empty cannot be encoded: it stays lower-case, verbatim.
        with contextlib.suppress(UnicodeError):
            name = name.encode("idna").decode("ascii")
    return name.rstrip(".")


def _domain(raw: str) -> Observable | None:
    name = _domain_name(raw)
    return Observable("domain", name) if name else None


def _email(raw: str) -> Observable | None:
    local, at, domain = raw.strip().rpartition("@")
    domain = _domain_name(domain)
    if not at or not local or not domain:
        return None
    # The local part is case-sensitive by RFC 5321 §2.4, but the providers that matter treat it
    # case-insensitively and analysts expect Bob@ and bob@ to match; a false match costs less
    # than a missed one.
    return Observable("email", f"{local.lower()}@{domain}")


# --- URLs -------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# Printable ASCII stays as written (including "%", already normalised); anything else (spaces,
# controls, non-ASCII) is percent-encoded as UTF-8, as browsers send it (RFC 3987 §3.1).
_URL_SAFE = "".join(chr(code) for code in range(0x21, 0x7F))


def _percent_case(match: re.Match[str]) -> str:
    # RFC 3986 §6.2.2.2: decode escapes of unreserved characters; §6.2.2.1: upper-case the rest.
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else f"%{match[1].upper()}"


def _percent(text: str) -> str:
    if "%" in text:
        text = _PERCENT.sub(_percent_case, text)
    if not text.isascii() or not text.isprintable() or " " in text:
        text = quote(text, safe=_URL_SAFE, errors="surrogatepass")
    return text


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, for an absolute path: /a/./b/../c -> /a/c."""
    segments = path.split("/")
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")
    return "/".join(out)


def _url_and_host(raw: str) -> tuple[Observable, Observable | None] | None:
    """The normalised URL and its host (domain or address) when it has one."""
    text = raw.strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return Observable("url", text), None
    if not parts.netloc:  # no authority (mailto:, relative, scheme-less): nothing to normalise
        return Observable("url", text), None
    userinfo, at, host_port = parts.netloc.rpartition("@")
    host, port = host_port, ""
    if host_port.startswith("["):
        close = host_port.find("]")
        if close != -1:
            host, port = host_port[: close + 1], host_port[close + 1 :].removeprefix(":")
    elif ":" in host_port:
        host, _, port = host_port.rpartition(":")
    host_observable: Observable | None
    if host.startswith("[") and host.endswith("]"):
        host_observable = _address(host[1:-1])
        if host_observable is None:
            host = host.lower()
        elif host_observable.kind == "ipv6":
            host = f"[{host_observable.value}]"
        else:
            host = host_observable.value
    else:
        host_observable = _address(host, 4) if host[-1:].isdigit() else None
        if host_observable is None:
            host = _domain_name(host)
            host_observable = Observable("domain", host) if host else None
        else:
            host = host_observable.value
    if port.isascii() and port.isdigit():
        port = str(int(port))
    if port == _DEFAULT_PORTS.get(parts.scheme):
        port = ""
    netloc = f"{userinfo}{at}{host}:{port}" if port else f"{userinfo}{at}{host}"
    path = _percent(parts.path)
    if "." in path:
        path = _remove_dot_segments(path)
    query = _percent(parts.query)
    url = (
        f"{parts.scheme}://{netloc}{path or '/'}?{query}"
        if query
        else f"{parts.scheme}://{netloc}{path or '/'}"
    )
    return Observable("url", url), host_observable


def _url(raw: str) -> Observable | None:
    pair = _url_and_host(raw)
    return None if pair is None else pair[0]


# --- hashes and fingerprints ------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-f]+")
_SSDEEP = re.compile(r"[0-9]+:[0-9A-Za-z/+]*:[0-9A-Za-z/+]*")
_TLSH = re.compile(r"(?:t1)?[0-9a-f]{70,136}")
# Hash algorithm names as STIX writes them (§10.7: 'MD5', 'SHA-1', 'SHA-256', 'SHA-512',
# 'SSDEEP', 'TLSH'), and as feeds misspell them, with "-" and "_" removed and upper-cased.
_HASH_NAMES = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "SHA512": "sha512",
    "SSDEEP": "ssdeep",
    "TLSH": "tlsh",
}


def _hex_digest(kind: str, length: int) -> Callable[[str], Observable | None]:
    def rule(raw: str) -> Observable | None:
        text = raw.strip().lower()
        if len(text) == length and _HEX.fullmatch(text):
            return Observable(kind, text)
        return None

    return rule


def _ssdeep(raw: str) -> Observable | None:
    text = raw.strip()
    return Observable("ssdeep", text) if _SSDEEP.fullmatch(text) else None


def _tlsh(raw: str) -> Observable | None:
    text = raw.strip().lower()
    return Observable("tlsh", text) if _TLSH.fullmatch(text) else None


# --- the rest ---------------------------------------------------------------------------------


def _asn(raw: str) -> Observable | None:
    """64500, "AS64500", "as 64500" or asdot "0.64500" -> AS64500 (RFC 5396)."""
    text = raw.strip().upper().removeprefix("AS").strip()
    high, dot, low = text.rpartition(".")
    if not (low.isascii() and low.isdigit()):
        return None
    number = int(low)
    if dot:
        if not (high.isascii() and high.isdigit()) or number > 0xFFFF or int(high) > 0xFFFF:
            return None
        number += int(high) << 16
    return Observable("asn", f"AS{number}") if number <= 0xFFFFFFFF else None


_BACKSLASHES = re.compile(r"\\{2,}")
_HIVES = {
    "hklm": "hkey_local_machine",
    "hkcu": "hkey_current_user",
    "hkcr": "hkey_classes_root",
    "hku": "hkey_users",
    "hkcc": "hkey_current_config",
}
# The kernel's names for the same hives (\Registry\Machine\...), as EDR tools report them.
_KERNEL_HIVES = (("registry\\machine", "hkey_local_machine"), ("registry\\user", "hkey_users"))


def _registry_key(raw: str) -> Observable | None:
    key = _BACKSLASHES.sub(r"\\", raw.strip().lower()).strip("\\")
    for kernel, hive in _KERNEL_HIVES:
        if key == kernel or key.startswith(kernel + "\\"):
            key = hive + key[len(kernel) :]
    hive, separator, rest = key.partition("\\")
    hive = hive.rstrip(":")  # PowerShell's HKLM:\Software
    key = _HIVES.get(hive, hive) + separator + rest
    return Observable("registry-key", key) if key else None


def _verbatim(kind: str) -> Callable[[str], Observable | None]:
    def rule(raw: str) -> Observable | None:
        return Observable(kind, raw) if raw else None

    return rule


_NORMALISERS: dict[str, Callable[[str], Observable | None]] = {
    "ipv4": functools.partial(_address, version=4),
    "ipv6": functools.partial(_address, version=6),
    "ipv4-cidr": functools.partial(_address, version=4),
    "ipv6-cidr": functools.partial(_address, version=6),
    "domain": _domain,
    "url": _url,
    "email": _email,
    "md5": _hex_digest("md5", 32),
    "sha1": _hex_digest("sha1", 40),
    "sha256": _hex_digest("sha256", 64),
    "sha512": _hex_digest("sha512", 128),
    "ssdeep": _ssdeep,
    "tlsh": _tlsh,
    "asn": _asn,
    "mutex": _verbatim("mutex"),
    "registry-key": _registry_key,
    "user-agent": _verbatim("user-agent"),
    "ja3": _hex_digest("ja3", 32),
}


# --- guessing ---------------------------------------------------------------------------------

_HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_AS_NUMBER = re.compile(r"AS ?[0-9]{1,10}", re.IGNORECASE)
_REGISTRY = re.compile(r"(?:hkey_[a-z_]+|hklm|hkcu|hkcr|hku|hkcc):?(?:\\|$)", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_HOSTNAME = re.compile(
    r"(?=.{1,253}\.?$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+"
    r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\.?"
)


def guess_kind(raw: str) -> str | None:
    """The kind a raw value submitted without one most likely is, or None.

    A 32-hex value is taken for an MD5 (a JA3 looks the same: ask with kind "ja3").
    """
    text = raw.strip()
    if not text:
        return None
    if "://" in text:
        return "url"
    observable = _address(text)
    if observable is not None:
        return observable.kind
    lowered = text.lower()
    if _HEX.fullmatch(lowered):
        return _HEX_LENGTHS.get(len(text), "tlsh" if len(text) == 70 else None)
    if _AS_NUMBER.fullmatch(text):
        return "asn"
    if _SSDEEP.fullmatch(text):
        return "ssdeep"
    if len(text) == 72 and _TLSH.fullmatch(lowered):
        return "tlsh"
    if _REGISTRY.match(text):
        return "registry-key"
    if _EMAIL.fullmatch(text):
        return "email"
    if _HOSTNAME.fullmatch(_domain_name(text)):
        return "domain"
    return None


def normalise(kind: str, raw: str) -> Observable | None:
    """The observable a raw value submitted to a lookup stands for; None if it is not one.

    `kind` is one of KINDS, an ``other:<type>:<path>`` kind (kept verbatim), or "auto" to have
    guess_kind choose. An unknown kind is the caller's mistake: ValueError.
    """
    if kind == "auto":
        guessed = guess_kind(raw)
        if guessed is None:
            return None
        kind = guessed
    if kind.startswith(_OTHER):
        return Observable(kind, raw) if raw else None
    normaliser = _NORMALISERS.get(kind)
    if normaliser is None:
        raise ValueError(f"unknown observable kind {kind!r}")
    return normaliser(raw)


# --- which rule a value's place calls for -----------------------------------------------------

_ADDRESS = "address"  # ipv4-addr/ipv6-addr values: whichever family the value is
_REFERENCED = "referenced"  # `..._ref.value`: the referenced object's type is not in the path
_BY_PLACE = {
    ("ipv4-addr", "value"): _ADDRESS,
    ("ipv6-addr", "value"): _ADDRESS,
    ("domain-name", "value"): "domain",
    ("url", "value"): "url",
    ("artifact", "url"): "url",
    ("email-addr", "value"): "email",
    ("autonomous-system", "number"): "asn",
    ("mutex", "name"): "mutex",
    ("windows-registry-key", "key"): "registry-key",
}
_REFERENCED_KINDS = frozenset({"ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr", "domain", "email", "url"})
_IDENTIFIER = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _canonical_path(components: tuple[str, ...]) -> str:
    """A property path in pattern syntax, quoted only where needed: hashes.'SHA-256'."""
    out = []
    for index, component in enumerate(components):
        if component == "[*]":
            out.append(component)
            continue
        if not _IDENTIFIER.fullmatch(component):
            component = "'" + component.replace("\\", "\\\\").replace("'", "\\'") + "'"
        out.append(f".{component}" if index else component)
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _rule_for(object_type: str, components: tuple[str, ...]) -> tuple[str, str]:
    """(rule kind, the ``other:`` kind to fall back to) for a value at this place."""
    path = _canonical_path(components)
    fallback = f"{_OTHER}{object_type}:{path}"
    kind = _BY_PLACE.get((object_type, path))
    if kind is not None:
        return kind, fallback
    # Be pragmatic: JA3 lives in custom objects, extensions and hash names nobody agrees on.
    # JA3S fingerprints the server, not the client: a different thing.
    lowered = f"{object_type}:{path}".lower()
    if "ja3" in lowered and "ja3s" not in lowered:
        return "ja3", fallback
    if len(components) >= 2 and components[-2] == "hashes":
        name = components[-1].upper().replace("-", "").replace("_", "")
        kind = _HASH_NAMES.get(name)
        if kind is not None:
            return kind, fallback
    if components[-1].lower() in ("user-agent", "user_agent"):
        return "user-agent", fallback
    if components[-1] == "value" and len(components) >= 2:
        via = components[-3] if components[-2] == "[*]" and len(components) >= 3 else components[-2]
        if via.endswith(("_ref", "_refs")):
            return _REFERENCED, fallback
    return fallback, fallback


def _observe(kind: str, fallback: str, value: str, out: list[Observable]) -> None:
    if not value:
        return
    if kind == fallback:
        out.append(Observable(kind, value))
        return
    observable: Observable | None
    if kind == "url":
        pair = _url_and_host(value)
        if pair is not None:
            out.append(pair[0])
            if pair[1] is not None:
                out.append(pair[1])
            return
        observable = None
    elif kind == _ADDRESS:
        observable = _address(value)
    elif kind == _REFERENCED:
        guessed = guess_kind(value)
        observable = _NORMALISERS[guessed](value) if guessed in _REFERENCED_KINDS else None
    else:
        observable = _NORMALISERS[kind](value)
    out.append(observable if observable is not None else Observable(fallback, value))


# --- indicator patterns -----------------------------------------------------------------------

# patterns._STRING, unrolled: the same literals, matched without an alternation per character,
# which halves the scan of a pattern holding a SHA-256 (a test holds the two to the same answers).
_STRING_LITERAL = r"'[^'\\]*(?:\\['\\][^'\\]*)*'"
_INDEX_STEP = rf"{_WS}\[{_WS}(?:[+-]?[0-9]+|\*){_WS}\]"
_PATH = rf"(?:{_KEY}|{_STRING_LITERAL})(?:{_WS}\.{_WS}(?:{_KEY}|{_STRING_LITERAL})|{_INDEX_STEP})*"
_OPERATOR = rf"==|=|!=|<>|<=|>=|<|>|(?:LIKE|MATCHES|ISSUBSET|ISSUPERSET|IN){_WORD_END}"
# Right-hand sides that are never observables: floats, booleans, t'', h'', b'', IN's sets.
_OTHER_LITERAL = (
    rf"[+-]?[0-9]*\.[0-9]+|(?:true|false){_WORD_END}|[htb]{_STRING_LITERAL}"
    rf"|\((?:[^()']|{_STRING_LITERAL})*\)"
)
# Finds the comparisons left to right. The later alternatives step over everything else a token
# at a time, string literals whole, so a comparison is never found inside a quoted value; a quote
# that opens no literal (never in a valid pattern) ends the scan, which keeps it linear.
_SCAN = re.compile(
    rf"(?P<type>{_OBJECT_TYPE}){_WS}:{_WS}(?P<path>{_PATH}){_WS}"
    rf"(?P<not>NOT{_WORD_END}{_WS})?(?P<op>{_OPERATOR}){_WS}"
    rf"(?:(?P<string>{_STRING_LITERAL})|(?P<integer>[+-]?[0-9]+)(?![.0-9])|{_OTHER_LITERAL})"
    rf"|{_STRING_LITERAL}|'.*|[a-zA-Z_][a-zA-Z0-9_-]*|.",
    re.DOTALL,
)
# Most patterns in feeds are one equality in one observation expression; this takes them in
# a third of the time of the scan.
_SINGLE = re.compile(
    rf"{_WS}\[{_WS}(?P<type>{_OBJECT_TYPE}){_WS}:{_WS}(?P<path>{_PATH}){_WS}={_WS}"
    rf"(?P<string>{_STRING_LITERAL}){_WS}\]{_WS}"
)
_COMPONENT = re.compile(rf"(?P<key>{_KEY})|(?P<string>{_STRING_LITERAL})|\[[^\]]*\]")
_ESCAPE = re.compile(r"\\(['\\])")


def _unescape(literal: str) -> str:
    """A string literal's value: STIX 2.1 §9.2 has exactly two escapes, \\' and \\\\."""
    inner = literal[1:-1]
    return _ESCAPE.sub(r"\1", inner) if "\\" in inner else inner


@functools.lru_cache(maxsize=4096)
def _path_components(path: str) -> tuple[str, ...]:
    components = []
    for match in _COMPONENT.finditer(path):
        if match["key"] is not None:
            components.append(match["key"])
        elif match["string"] is not None:
            components.append(_unescape(match["string"]))
        else:  # [0], [-1] and [*] all say "an item of this list"
            components.append("[*]")
    return tuple(components)


def _pattern_observables(pattern: str, out: list[Observable]) -> None:
    # A cheap guess at "one comparison"; when wrong, the scan below still gives the answer.
    if "AND" not in pattern and "OR" not in pattern:
        single = _SINGLE.fullmatch(pattern)
        if single is not None:
            kind, fallback = _rule_for(single["type"], _path_components(single["path"]))
            _observe(kind, fallback, _unescape(single["string"]), out)
            return
    for object_type, path, negated, operator, literal, integer in _SCAN.findall(pattern):
        # Equality only: a value compared by !=, <, LIKE, MATCHES... is not one the object has.
        if not object_type or negated or operator not in ("=", "=="):
            continue
        kind, fallback = _rule_for(object_type, _path_components(path))
        if literal:
            _observe(kind, fallback, _unescape(literal), out)
        elif integer and kind == "asn":
            # Other numbers (ports, sizes, counts) describe an observation, not an observable;
            # as exact-match keys they would only make noise.
            _observe(kind, fallback, integer, out)


# --- cyber observable objects -----------------------------------------------------------------

# The properties that say which thing an SCO is: mostly its STIX 2.1 ID contributing properties
# (§6), without references, timestamps, numbers and binary payloads.
_SCO_PROPERTIES = {
    "artifact": ("hashes", "url"),
    "autonomous-system": ("number",),
    "directory": ("path",),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "email-message": ("message_id", "subject"),
    "file": ("hashes", "name", "extensions"),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "mutex": ("name",),
    "network-traffic": ("extensions",),
    "process": ("command_line",),
    "software": ("cpe", "swid"),
    "url": ("value",),
    "user-account": ("user_id", "account_login"),
    "windows-registry-key": ("key",),
    "x509-certificate": ("hashes", "serial_number"),
}
# §6.1 common SCO properties; never observables in themselves.
_SCO_COMMON = frozenset(
    {"type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"}
)
_NOT_VALUES = ("_ref", "_refs", "_bin", "_hex")
_MAX_DEPTH = 8


def _leaves(
    path: tuple[str, ...], value: Any, depth: int = 0
) -> Iterator[tuple[tuple[str, ...], str | int]]:
    """(path, value) for every string and integer inside a property's value."""
    if type(value) is str or type(value) is int:
        yield path, value
    elif depth >= _MAX_DEPTH:
        return
    elif type(value) is dict:
        for key, item in value.items():
            # Property extensions (ours carries distribution and sharing group) and references
            # are not values of the observable.
            if (
                type(key) is not str
                or key == SHARING_EXTENSION_ID
                or key == "extension_type"
                or key.endswith(_NOT_VALUES)
            ):
                continue
            yield from _leaves((*path, key), item, depth + 1)
    elif type(value) is list:
        for item in value:
            yield from _leaves((*path, "[*]"), item, depth + 1)


def _sco_observables(obj: dict[str, Any], out: list[Observable]) -> None:
    object_type = obj.get("type")
    if type(object_type) is not str:
        return
    names = _SCO_PROPERTIES.get(object_type)
    if names is None:
        # A custom SCO (SDOs, SROs and meta objects all have `created`, SCOs never do): its
        # own top-level strings, whatever they mean.
        if "created" in obj or object_type in stix_types.TYPES:
            return
        names = tuple(
            name
            for name, value in obj.items()
            if type(value) is str and name not in _SCO_COMMON and not name.endswith(_NOT_VALUES)
        )
    for name in names:
        value = obj.get(name)
        if value is None:
            continue
        for path, leaf in _leaves((name,), value):
            kind, fallback = _rule_for(object_type, path)
            if type(leaf) is int:
                if kind == "asn":
                    _observe(kind, fallback, str(leaf), out)
            # Extensions carry much descriptive detail (request methods, section counts...):
            # only what a rule understands is taken from them.
            elif path[0] != "extensions" or kind != fallback:
                _observe(kind, fallback, leaf, out)


# --- the entry point --------------------------------------------------------------------------


def observables_of(obj: dict[str, Any]) -> tuple[Observable, ...]:
    """Normalised values an indicator pattern (comparison expressions joined by AND/OR, equality
    only — `=`; other operators yield nothing for that comparison) or a cyber observable object
    yields. Deduplicated, stable order."""
    out: list[Observable] = []
    object_type = obj.get("type")
    if object_type == "indicator":
        pattern = obj.get("pattern")
        # pattern_type is required in 2.1 (§4.7); an indicator without one is from 2.0: STIX.
        if obj.get("pattern_type", "stix") == "stix" and type(pattern) is str:
            _pattern_observables(pattern, out)
    elif object_type == "observed-data":
        objects = obj.get("objects")  # deprecated since 2.1 (§4.14), still sent by older tools
        if type(objects) is dict:
            for embedded in objects.values():
                if type(embedded) is dict:
                    _sco_observables(embedded, out)
    else:
        _sco_observables(obj, out)
    if len(out) < 2:
        return tuple(out)
    unique: dict[tuple[str, str], Observable] = {}
    for observable in out:  # kind and value decide low and high; hashing them is cheaper
        unique.setdefault((observable.kind, observable.value), observable)
    return tuple(unique.values())
