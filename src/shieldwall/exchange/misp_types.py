"""What each MISP attribute type becomes in STIX 2.1, and back: one table both directions read.

A MISP attribute is an indicator when `to_ids` is set and its type has a pattern; otherwise an
observable (SCO) when its type has one; otherwise a note. Every STIX object made from an
attribute keeps the attribute's MISP facts in `x_misp_*` custom properties (STIX 2.1 §11.1), so
an export gives back the type, category, value and comment exactly as they came in.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

# MISP hash attribute types -> the STIX hash algorithm name (STIX 2.1 §10.7 hash-algorithm-ov).
HASHES = {
    "md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224", "sha256": "SHA-256",
    "sha384": "SHA-384", "sha512": "SHA-512", "sha3-256": "SHA3-256", "sha3-512": "SHA3-512",
    "ssdeep": "SSDEEP", "tlsh": "TLSH", "imphash": "x_imphash", "authentihash": "x_authentihash",
}  # fmt: skip
# Rule languages MISP keeps as attributes: STIX 2.1 indicators of that pattern_type (§10.9).
RULE_TYPES = {"yara": "yara", "snort": "snort", "sigma": "sigma", "suricata": "suricata"}
# Attribute types that are free text: a note, with the text as its content.
TEXT_TYPES = frozenset({"text", "comment", "other", "pdb", "whois-registrant-name"})


def default_category(misp_type: str) -> str:
    """The category MISP gives an attribute of this type when none is said (its describeTypes
    `sane_defaults`, as pymisp ships them), `Other` for a type MISP does not know."""
    return _default_categories().get(misp_type, "Other")


@functools.cache
def _default_categories() -> dict[str, str]:
    text = (resources.files("pymisp") / "data" / "describeTypes.json").read_text("utf-8")
    defaults = json.loads(text)["result"]["sane_defaults"]
    return {name: str(facts["default_category"]) for name, facts in defaults.items()}


def quote(value: str) -> str:
    """A STIX pattern string literal (STIX 2.1 §9.2: backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ip_type(value: str) -> str:
    return "ipv6-addr" if ":" in value else "ipv4-addr"


def pattern_of(misp_type: str, value: str) -> str | None:
    """The STIX pattern of an attribute, or None when its type has none."""
    if misp_type in ("ip-src", "ip-dst"):
        return f"[{_ip_type(value)}:value = {quote(value)}]"
    if misp_type in ("domain", "hostname"):
        return f"[domain-name:value = {quote(value)}]"
    if misp_type in ("url", "uri", "link"):
        return f"[url:value = {quote(value)}]"
    if misp_type in ("email", "email-src", "email-dst"):
        return f"[email-addr:value = {quote(value)}]"
    if misp_type == "email-subject":
        return f"[email-message:subject = {quote(value)}]"
    if misp_type in HASHES:
        return f"[file:hashes.{quote(HASHES[misp_type])} = {quote(value)}]"
    if misp_type == "filename":
        return f"[file:name = {quote(value)}]"
    if misp_type == "malware-sample":  # "name|md5", the sample itself in the attribute's data
        return pattern_of("filename|md5", value)
    if misp_type.startswith("filename|") and misp_type[9:] in HASHES:
        name, _, digest = value.partition("|")
        algorithm = quote(HASHES[misp_type[9:]])
        return f"[file:name = {quote(name)} AND file:hashes.{algorithm} = {quote(digest)}]"
    if misp_type in ("ip-src|port", "ip-dst|port"):
        ip, _, port = value.rpartition("|")
        side = "src" if misp_type.startswith("ip-src") else "dst"
        if not port.isdigit():
            return None
        return (
            f"[network-traffic:{side}_ref.type = {quote(_ip_type(ip))} AND "
            f"network-traffic:{side}_ref.value = {quote(ip)} AND "
            f"network-traffic:{side}_port = {int(port)}]"
        )
    if misp_type in ("domain|ip", "hostname|port"):
        host, _, other = value.partition("|")
        if misp_type == "hostname|port":
            return f"[domain-name:value = {quote(host)}]"
        return (
            f"[domain-name:value = {quote(host)} AND "
            f"domain-name:resolves_to_refs[*].value = {quote(other)}]"
        )
    if misp_type == "mutex":
        return f"[mutex:name = {quote(value)}]"
    if misp_type == "regkey":
        return f"[windows-registry-key:key = {quote(value)}]"
    if misp_type == "AS":
        number = value.upper().removeprefix("AS")
        return f"[autonomous-system:number = {int(number)}]" if number.isdigit() else None
    if misp_type == "user-agent":
        header = "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'"
        return f"[{header} = {quote(value)}]"
    return None


def observable_of(misp_type: str, value: str) -> dict[str, Any] | None:
    """The properties of the SCO an attribute is (without type-independent ones), or None."""
    if misp_type in ("ip-src", "ip-dst"):
        return {"type": _ip_type(value), "value": value}
    if misp_type in ("ip-src|port", "ip-dst|port"):
        ip = value.rpartition("|")[0]
        return {"type": _ip_type(ip), "value": ip}
    if misp_type in ("domain", "hostname"):
        return {"type": "domain-name", "value": value}
    if misp_type in ("domain|ip", "hostname|port"):
        return {"type": "domain-name", "value": value.partition("|")[0]}
    if misp_type in ("url", "uri", "link"):
        return {"type": "url", "value": value}
    if misp_type in ("email", "email-src", "email-dst"):
        return {"type": "email-addr", "value": value}
    if misp_type in HASHES:
        return {"type": "file", "hashes": {HASHES[misp_type]: value}}
    if misp_type in ("filename", "attachment"):
        return {"type": "file", "name": value}
    if misp_type == "malware-sample":
        return observable_of("filename|md5", value)
    if misp_type.startswith("filename|") and misp_type[9:] in HASHES:
        name, _, digest = value.partition("|")
        return {"type": "file", "name": name, "hashes": {HASHES[misp_type[9:]]: digest}}
    if misp_type == "mutex":
        return {"type": "mutex", "name": value}
    if misp_type == "regkey":
        return {"type": "windows-registry-key", "key": value}
    if misp_type == "AS":
        number = value.upper().removeprefix("AS")
        return {"type": "autonomous-system", "number": int(number)} if number.isdigit() else None
    if misp_type == "email-subject":
        return {"type": "email-message", "is_multipart": False, "subject": value}
    return None


def misp_type_of_pattern(pattern: str) -> tuple[str, str] | None:
    """The MISP type and value of a simple one-comparison STIX pattern (for STIX objects that
    did not come from MISP), or None."""
    body = pattern.strip()
    if not (body.startswith("[") and body.endswith("]")) or " AND " in body or " OR " in body:
        return None
    path, sep, literal = body[1:-1].partition(" = ")
    literal = literal.strip()
    if not sep or len(literal) < 2 or literal[0] != "'" or literal[-1] != "'":
        return None
    value = literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    path = path.strip()
    simple = {
        "ipv4-addr:value": "ip-dst", "ipv6-addr:value": "ip-dst",
        "domain-name:value": "domain", "url:value": "url", "email-addr:value": "email",
        "file:name": "filename", "mutex:name": "mutex", "windows-registry-key:key": "regkey",
        "email-message:subject": "email-subject",
    }  # fmt: skip
    if path in simple:
        return simple[path], value
    for misp_type, algorithm in HASHES.items():
        if path in (f"file:hashes.'{algorithm}'", f"file:hashes.{algorithm}"):
            return misp_type, value
    return None


def misp_type_of_observable(sco: dict[str, Any]) -> tuple[str, str] | None:
    """The MISP type and value of a simple SCO (for ones that did not come from MISP)."""
    kind = sco.get("type")
    if kind in ("ipv4-addr", "ipv6-addr") and "value" in sco:
        return "ip-dst", str(sco["value"])
    if kind == "domain-name" and "value" in sco:
        return "domain", str(sco["value"])
    if kind == "url" and "value" in sco:
        return "url", str(sco["value"])
    if kind == "email-addr" and "value" in sco:
        return "email", str(sco["value"])
    if kind == "mutex" and "name" in sco:
        return "mutex", str(sco["name"])
    if kind == "file":
        hashes = sco.get("hashes") or {}
        for misp_type, algorithm in HASHES.items():
            if algorithm in hashes:
                return misp_type, str(hashes[algorithm])
        if "name" in sco:
            return "filename", str(sco["name"])
    return None
