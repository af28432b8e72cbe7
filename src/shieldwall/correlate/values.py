"""What each kind of observable value looks like normalised, so that the same thing compares equal.

The rules per kind (addresses and ranges, domains, URLs, e-mail, hashes, ASNs, registry keys...),
`normalise` for a raw value a client sends, and `guess_kind` for one that comes without a kind.
Pure and on the hot ingest path: see observables.py for how values are found in objects.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
import string
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import quote, urlsplit

# Control characters (C0, DEL, C1) and every Unicode white space, line and paragraph separators
# included: none of them belongs in a domain, an address or a URL.
UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


__all__ = ["KINDS", "Observable", "guess_kind", "lookup_key", "normalise"]

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
OTHER_PREFIX = "other:"


class Observable(NamedTuple):
    """One normalised value. `kind` is one of KINDS or ``other:<stix-type>:<path>``.

    A named tuple, not a frozen dataclass: ingest makes one or two per object, and a tuple is
    made in half the time.
    """

    kind: str
    value: str
    # The integer interval an address or CIDR range covers (low == high for an address), so the
    # index can answer "address inside range" without parsing again. None for other kinds.
    low: int | None = None
    high: int | None = None


# Observable(kind, value) costs twice `_tuple_new(Observable, (kind, value, None, None))`: a
# NamedTuple's __new__ is Python. The hot paths below (ingest and lookups) write the latter.
_tuple_new = tuple.__new__


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


def parse_address(raw: str, version: int | None = None) -> Observable | None:
    """An IPv4/IPv6 address or CIDR range of the given IP version (any when None)."""
    text = raw.strip()
    if version != 6 and _CANONICAL_IPV4.fullmatch(text):
        number = int.from_bytes(socket.inet_aton(text), "big")
        return _tuple_new(Observable, ("ipv4", text, number, number))
    if version != 4 and ":" in text and "." not in text and "/" not in text and "%" not in text:
        number = _ipv6_number(text)
        if number is not None:
            canonical = socket.inet_ntop(socket.AF_INET6, number.to_bytes(16, "big"))
            # libc writes ::ffff:a.b.c.d and ::a.b.c.d in dotted form, ipaddress does not.
            if "." not in canonical:
                return _tuple_new(Observable, ("ipv6", canonical, number, number))
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
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if version is not None and address.version != version and not (mapped and version == 4):
        return None
    if mapped is not None:
        # ::ffff:a.b.c.d is the IPv4 host a.b.c.d (RFC 4291 §2.5.5.2), whichever version was
        # asked for; Python versions also disagree on how to print it.
        address = mapped
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
    return _tuple_new(Observable, ("domain", name, None, None)) if name else None


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


# A URL already in normal form, by far the most common: lower-case scheme and host name (not an
# address), no port, user or fragment, a path without "%" or dot segments. It is returned as it
# is, sparing urlsplit and the rest (~8 µs) on the hot ingest and lookup paths.
_NORMAL_URL = re.compile(
    r"(?:https?|ftp|wss?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z][a-z0-9-]*)"
    r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?"
)


def url_and_host(raw: str) -> tuple[Observable, Observable | None] | None:
    """The normalised URL and its host (domain or address) when it has one."""
    text = raw.strip()
    if not text:
        return None
    normal = _NORMAL_URL.fullmatch(text)
    if normal is not None and "/." not in text[normal.end(1) :]:
        return (
            _tuple_new(Observable, ("url", text, None, None)),
            _tuple_new(Observable, ("domain", normal[1], None, None)),
        )
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
        host_observable = parse_address(host[1:-1])
        if host_observable is None:
            host = host.lower()
        elif host_observable.kind == "ipv6":
            host = f"[{host_observable.value}]"
        else:
            host = host_observable.value
    else:
        host_observable = parse_address(host, 4) if host[-1:].isdigit() else None
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
    pair = url_and_host(raw)
    return None if pair is None else pair[0]


# --- hashes and fingerprints ------------------------------------------------------------------

_HEX = re.compile(r"[0-9a-f]+")
_SSDEEP = re.compile(r"[0-9]+:[0-9A-Za-z/+]*:[0-9A-Za-z/+]*")
_TLSH = re.compile(r"(?:t1)?[0-9a-f]{70,136}")
# Hash algorithm names as STIX writes them (§10.7: 'MD5', 'SHA-1', 'SHA-256', 'SHA-512',
# 'SSDEEP', 'TLSH'), and as feeds misspell them, with "-" and "_" removed and upper-cased.
HASH_NAMES = {
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
            return _tuple_new(Observable, (kind, text, None, None))
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


NORMALISERS: dict[str, Callable[[str], Observable | None]] = {
    "ipv4": functools.partial(parse_address, version=4),
    "ipv6": functools.partial(parse_address, version=6),
    "ipv4-cidr": functools.partial(parse_address, version=4),
    "ipv6-cidr": functools.partial(parse_address, version=6),
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
    # An address has a colon (IPv6) or starts with a digit and has a dot (IPv4): the rest need
    # not pay for ipaddress raising on them.
    if ":" in text or ("." in text and text[0].isdigit()):
        observable = parse_address(text)
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
    if kind.startswith(OTHER_PREFIX):
        return Observable(kind, raw) if raw else None
    normaliser = NORMALISERS.get(kind)
    if normaliser is None:
        raise ValueError(f"unknown observable kind {kind!r}")
    return normaliser(raw)
