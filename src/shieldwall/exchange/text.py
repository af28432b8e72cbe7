"""Indicators out of free text (an e-mail body, a vendor write-up, a chat paste), then shared
through intel's ingest as one report, so a text is stored whole or not at all.

The path: the text is re-fanged (`hxxp`, `[.]`, `(.)`, `{.}`, `[dot]`, `[:]`, `[at]` and
friends) with a map back to the original offsets; URLs and e-mail addresses are taken first and
blanked, so the host inside them is not found again as a domain; then addresses (v4, v6,
CIDR), hashes (MD5, SHA-1, SHA-256, SHA-512), CVE ids, ATT&CK technique ids (T1059,
T1059.001) and domains. A domain counts only when its last label is a real TLD, from the IANA
list shipped beside this module (tlds.txt, nothing fetched at run time), so `report.pdf` is not
one. Each value is normalised as correlation normalises it (correlate/values.py) and kept once,
at its first position.

Stored: the report, an indicator per value (patterns and bundle as exchange/indicators.py writes
them for every import), a vulnerability per CVE id and an attack-pattern per ATT&CK technique
(with ATT&CK's own external reference), all under the TLP and distribution asked for.
"""

from __future__ import annotations

import bisect
import functools
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from shieldwall.correlate.values import normalise
from shieldwall.errors import Invalid
from shieldwall.exchange.indicators import PATTERNS, pattern_of, report_bundle
from shieldwall.intel.ingest import Ingestor, IngestResult
from shieldwall.markings import TLP
from shieldwall.policy import Viewer
from shieldwall.sightings.warninglists import WarningLists

KINDS = (*PATTERNS, "cve", "attack-technique")
DISTRIBUTIONS = ("org", "community", "federation", "all", "group")

# Defanged spellings -> what they stand for. Brackets of any kind around a dot, "dot", a colon,
# "at" or "@" (with the spaces around ` (dot) ` too); hxxp/hxxps/fxp schemes. Any case.
_DEFANGED = re.compile(
    r"\s[\[({](?:dot|\.)[\])}]\s|[\[({]\s*(?:\.|dot)\s*[\])}]"
    r"|[\[({]\s*:\s*[\])}]|[\[({]\s*(?:at|@)\s*[\])}]"
    r"|\bhxxp(s?)(?=[:\[])|\bfxp(?=[:\[])|\[://\]",
    re.IGNORECASE,
)


def _fanged(match: re.Match[str]) -> str:
    text = match[0].lower()
    if text.startswith("hxxp"):
        return "http" + (match[1] or "")
    if text == "fxp":
        return "ftp"
    if text == "[://]":
        return "://"
    inner = text.strip().strip("[](){}").strip()
    return {"dot": ".", ".": ".", ":": ":", "at": "@", "@": "@"}[inner]


@dataclass(frozen=True, slots=True)
class Refanged:
    """The re-fanged text, and where each stretch of it starts in the original."""

    text: str
    starts: tuple[int, ...]  # offsets in `text` where a stretch begins
    origins: tuple[int, ...]  # ... and where that stretch began in the original

    def origin(self, position: int) -> int:
        """The offset in the original text of an offset in the re-fanged one."""
        i = bisect.bisect_right(self.starts, position) - 1
        return self.origins[i] + (position - self.starts[i]) if i >= 0 else position


def refang(text: str) -> Refanged:
    """`hxxps://evil[.]example` -> `https://evil.example`, keeping a map to the original."""
    pieces: list[str] = []
    starts, origins = [0], [0]
    new = old = 0
    for match in _DEFANGED.finditer(text):
        kept = text[old : match.start()]
        pieces.append(kept)
        new += len(kept)
        replacement = _fanged(match)
        # A stretch of replaced text maps to the defanged spelling's start.
        starts.append(new)
        origins.append(match.start())
        pieces.append(replacement)
        new += len(replacement)
        old = match.end()
        starts.append(new)
        origins.append(old)
    pieces.append(text[old:])
    return Refanged("".join(pieces), tuple(starts), tuple(origins))


@functools.cache
def tlds() -> frozenset[str]:
    """The IANA top-level domains (lower case, punycode for the internationalised ones)."""
    raw = files("shieldwall.exchange").joinpath("tlds.txt").read_text("utf-8")
    return frozenset(line for line in raw.split() if line and not line.startswith("#"))


# TLDs that are also everyday file extensions: `payload.zip`, `setup.py` and `run.sh` in a
# write-up are files. A name with more labels (`cdn.evil.zip`) still counts as a domain.
_FILE_LIKE_TLDS = frozenset({"zip", "mov", "py", "sh"})

_TRAILING = ".,;:!?'\")]}>*"
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`]+", re.IGNORECASE)
_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"(?:xn--)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = rf"(?:{_LABEL}\.)+(?:xn--[a-z0-9-]{{2,59}}|[a-z]{{2,63}})"
_EMAIL = re.compile(rf"(?<![\w.+-]){_LOCAL}@{_HOSTNAME}(?![\w-])", re.IGNORECASE)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not after a letter, digit, dot or dash (`v1.2.3.4`, `1.1.2.3.4`), nor before more of a dotted
# number (`1.2.3.4.5`).
_IPV4 = re.compile(rf"(?<![\w.-]){_OCTET}(?:\.{_OCTET}){{3}}(?:/(?:3[0-2]|[12]?\d))?(?![\w-]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.-])[0-9a-f]*:[0-9a-f:]*:[0-9a-f.]*(?:/\d{1,3})?(?![\w:-])", re.I)
_HASH = re.compile(r"(?<![\w-])[0-9a-f]{32,128}(?![\w-])", re.IGNORECASE)
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_CVE = re.compile(r"(?<![\w-])CVE-\d{4}-\d{4,7}(?![\w-])", re.IGNORECASE)
# ATT&CK technique ids (T1059) and sub-techniques (T1059.001), upper-case T as MITRE writes them;
# not part of a longer word or dotted number (`T1059.0012`, `AT1059`).
_TECHNIQUE = re.compile(r"(?<![\w.-])T\d{4}(?:\.\d{3})?(?![\w-]|\.\d)")
_DOMAIN = re.compile(rf"(?<![\w.@-]){_HOSTNAME}(?![\w-]|\.\w)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One value found: its kind, normalised value and offset in the original text."""

    kind: str
    value: str
    position: int


def _is_domain(name: str) -> bool:
    labels = name.lower().rstrip(".").split(".")
    if labels[-1] not in tlds():
        return False
    return not (len(labels) == 2 and labels[-1] in _FILE_LIKE_TLDS)


def _blanked(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with these (ordered, disjoint) spans turned to spaces, in one pass."""
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], " " * (end - start)]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _raw_candidates(text: str) -> Iterable[tuple[str, str, int]]:
    """(kind, raw value, offset) in the re-fanged text, URLs and e-mail first."""
    spans = []
    for match in _URL.finditer(text):
        raw = match[0].rstrip(_TRAILING)
        yield "url", raw, match.start()
        spans.append((match.start(), match.start() + len(raw)))
    text = _blanked(text, spans)
    spans = []
    for match in _EMAIL.finditer(text):
        if _is_domain(match[0].rpartition("@")[2]):
            yield "email", match[0], match.start()
        spans.append(match.span())
    text = _blanked(text, spans)
    for match in _IPV4.finditer(text):
        yield ("ipv4-cidr" if "/" in match[0] else "ipv4"), match[0], match.start()
    for match in _IPV6.finditer(text):
        raw = match[0].rstrip(".")  # the end of a sentence
        if raw.count(":") >= 2 and any(c.isalnum() for c in raw):
            yield ("ipv6-cidr" if "/" in raw else "ipv6"), raw, match.start()
    for match in _HASH.finditer(text):
        if (kind := _HASH_KINDS.get(len(match[0]))) is not None:
            yield kind, match[0], match.start()
    for match in _CVE.finditer(text):
        yield "cve", match[0], match.start()
    for match in _TECHNIQUE.finditer(text):
        yield "attack-technique", match[0], match.start()
    for match in _DOMAIN.finditer(text):
        if _is_domain(match[0]):
            yield "domain", match[0], match.start()


def extract(text: str) -> list[Candidate]:
    """The indicators in a free text, each once, in the order they first appear."""
    refanged = refang(text)
    found: dict[tuple[str, str], Candidate] = {}
    for kind, raw, position in _raw_candidates(refanged.text):
        if kind not in PATTERNS:  # an identifier (CVE, ATT&CK), not a value to normalise
            value: str | None = raw.upper()
        else:
            observable = normalise(kind, raw)
            # An address that only looks like one (`::`, a range for a host) is dropped here.
            value = None if observable is None else observable.value
            if observable is not None and observable.kind != kind and kind.startswith("ipv"):
                kind = observable.kind
        if not value:
            continue
        key = (kind, value)
        if key not in found:
            found[key] = Candidate(kind, value, refanged.origin(position))
    return sorted(found.values(), key=lambda c: c.position)


def on_warning_lists(lists: WarningLists | None, candidate: Candidate) -> list[str]:
    """The warning lists (any category) that name this value; [] without lists or for an
    identifier (CVE, ATT&CK)."""
    if lists is None or candidate.kind not in PATTERNS:
        return []
    return sorted({m.list_id for m in lists.exact(candidate.kind, candidate.value)})


def text_bundle(report: dict[str, Any], candidates: list[Candidate]) -> dict[str, Any]:
    """The report (name, tlp, distribution...), an indicator per value, a vulnerability per CVE
    id and an attack-pattern per ATT&CK technique id, as one STIX 2.1 bundle."""
    indicators = [
        {"kind": c.kind, "value": c.value, "pattern": pattern_of(c.kind, c.value)}
        for c in candidates
        if c.kind in PATTERNS
    ]
    bundle = report_bundle(report, indicators)
    head = bundle["objects"][0]
    stamp = {k: head[k] for k in ("spec_version", "created", "modified", "object_marking_refs")}
    stamp["extensions"] = head["extensions"]
    for c in candidates:
        if c.kind in _CITED:
            type_, reference = _CITED[c.kind]
            cited = {
                "type": type_,
                "id": f"{type_}--{uuid.uuid4()}",
                "name": c.value,
                "external_references": [reference(c.value)],
                **stamp,
            }
            bundle["objects"].append(cited)
            head["object_refs"].append(cited["id"])
    return bundle


def _attack_reference(technique: str) -> dict[str, str]:
    # ATT&CK's own form (its STIX data): source mitre-attack, the id, the technique's page.
    url = "https://attack.mitre.org/techniques/" + technique.replace(".", "/") + "/"
    return {"source_name": "mitre-attack", "external_id": technique, "url": url}


# What an identifier found in the text becomes: (STIX type, its external reference).
_CITED = {
    "cve": ("vulnerability", lambda cve: {"source_name": "cve", "external_id": cve}),
    "attack-technique": ("attack-pattern", _attack_reference),
}


def import_text(
    ingestor: Ingestor,
    viewer: Viewer,
    report: dict[str, Any],
    candidates: list[Candidate],
    *,
    source: str = "text",
) -> tuple[dict[str, Any], IngestResult]:
    """Share the values as one report as `viewer`, all or nothing: (bundle, result)."""
    bundle = text_bundle(report, candidates)
    return bundle, ingestor.ingest(viewer, bundle, source=source)


def import_text_document(
    ingestor: Ingestor,
    viewer: Viewer,
    raw: bytes,
    source: str,
    options: Mapping[str, str],
) -> IngestResult:
    """The registry's text import (`shieldwall import --format text`): every value found, shared
    at once as one report (options name, tlp, distribution, sharing_group). The API's own route
    (POST /api/v1/imports/text) previews first and lets the analyst choose."""
    found = extract(raw.decode("utf-8", errors="replace"))
    if not found:
        raise Invalid("no indicator found in the text")
    distribution = options.get("distribution") or "community"
    if distribution not in DISTRIBUTIONS:
        raise Invalid(f"distribution: {', '.join(DISTRIBUTIONS)}, not {distribution!r}")
    if (distribution == "group") != bool(options.get("sharing_group")):
        raise Invalid("a sharing group goes with the distribution 'group', and only with it")
    tlp = options.get("tlp") or "amber"
    try:
        TLP.parse(tlp)
    except ValueError as exc:
        raise Invalid(f"tlp: {exc}") from None
    report = {
        "name": options.get("name") or f"Indicators from {source}",
        "tlp": tlp,
        "distribution": distribution,
    }
    if options.get("sharing_group"):
        report["sharing_group"] = options["sharing_group"]
    return import_text(ingestor, viewer, report, found, source=source)[1]
