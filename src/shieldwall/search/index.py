"""The full-text document of each object version, and the words it and a query are made of.

Both databases are handed words already cut, folded and joined by spaces, and a query is cut by
the same function: FTS5's unicode61 tokenizer and PostgreSQL's text-search parser cut text
differently ("h1.evil.example" is one "host" token to PostgreSQL, three words to FTS5), and this
way both see the same words and answer the same searches.

Identifiers analysts type whole (CVE-2021-44228, ATT&CK sub-technique T1071.001, CWE-79,
CAPEC-66) would be cut into pieces that unrelated numbers elsewhere in a long text could also
supply, so each is one more word of the document, its pieces joined (`cve202144228`,
`t1071001`), and a query asks for that word instead of the pieces. The pieces stay words of the
document: "T1071", the parent technique, finds what names any of its sub-techniques too, as
ATT&CK itself lists sub-techniques under their parent; "T1071.001" finds only that
sub-technique.

The same word rule says, for a hit in hand, which of its fields matched (`matched_fields`), so
that answer can never disagree with the index.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

from shieldwall.db import Database
from shieldwall.search.tables import relationship_ends, search_docs

# What the document holds: the prose of an object, never its pattern (values are searched
# through the observables index, normalised) nor a custom property (a MISP attachment's or
# sample's base64 payload, x_misp_data, is no prose). Notes, opinions and reports add their own
# text, whatever its script (a MISP note's Japanese text is searched word by word).
TEXT_PROPERTIES = (
    "name", "description", "aliases", "labels",  # most SDOs
    "abstract", "content", "explanation",  # note (abstract, content), opinion (explanation)
)  # fmt: skip
# ... and the ids of what it cites: ATT&CK (`mitre-attack`, `mitre-mobile-attack`...), CVE,
# CAPEC and any other source name its references by their external_id.
EXTERNAL_ID = "external_references.external_id"
FIELDS = (*TEXT_PROPERTIES, EXTERNAL_ID)
MAX_DOCUMENT_CHARS = 100_000  # of text read from one object; the rest is not searchable
MAX_WORD_CHARS = 256  # longer runs (encoded blobs) are dropped; a SHA-512 in hex is 128
_WORD = re.compile(r"[^\W_]+")  # letters and digits: "_", punctuation and symbols separate
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")  # _WORD in ASCII text
# On folded text. Dashes: the ASCII hyphen and U+2010-U+2015, which word processors put in
# prose (a non-breaking hyphen folds to U+2010). One group per piece; the others stay None.
_DASH = "[-\u2010-\u2015]"
_IDENTIFIER = re.compile(
    rf"\b(?:(cve){_DASH}(\d{{4}}){_DASH}(\d{{4,12}})"  # CVE-2021-44228
    rf"|(cwe|capec){_DASH}(\d{{1,9}})"  # CWE-79, CAPEC-66
    r"|(t\d{4})\.(\d{3}))\b"  # T1071.001; T1071, TA0011, G0032, S0154 are one word already
)
# Every identifier holds a dot or a dash: text without one (most names) skips the scan.
_OTHER_DASHES = re.compile("[\u2010-\u2015]")


def _fold(text: str) -> str:
    """Case-folded, compatibility-decomposed, without marks: 'Café' and 'CAFE' are one word."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKD", text.casefold())
    if _ASTRAL.search(folded) is None:  # nearly all text: its marks are in one BMP class
        return _bmp_marks().sub("", folded)
    return folded.translate(_marks())


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@functools.cache
def _bmp_marks() -> re.Pattern[str]:
    """Runs of the Basic Multilingual Plane's mark characters (categories Mn, Mc, Me), for
    _fold to take out: the regular expression engine tests a class of BMP characters with one
    bitmap, ~4x faster than str.translate's lookup of each character in a table (a quarter of
    importing real MISP events' CPU went to folding a few notes of Japanese text). Made on the
    first text that is not ASCII (~10 ms, once a process)."""
    ranges: list[list[int]] = []
    for code in range(0x300, 0x10000):  # no mark comes before U+0300
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return re.compile("[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in ranges) + "]+")


@functools.cache
def _marks() -> dict[int, None]:
    """Every character of a mark category (Mn, Mc, Me), for str.translate to take out of text
    holding a character beyond the BMP (_fold; ~0.1 s, once a process, on the first such
    text)."""
    return {
        code: None
        for code in range(0x300, sys.maxunicode + 1)  # no mark comes before U+0300
        if unicodedata.category(chr(code))[0] == "M"
    }


def _words_of_folded(folded: str) -> list[str]:
    # In ASCII text the words are the runs of ASCII letters and digits, which a plain class
    # finds in half the time of the Unicode one: this runs for every object ingested.
    if folded.isascii():
        found = _ASCII_WORD.findall(folded)
    else:
        # Whitespace separates words and each piece between that is all letters and digits
        # (str.isalnum is _WORD's class) is one word: in other text, CJK for one, most pieces
        # are, and splitting finds them in ~60% of the time _WORD takes character by character.
        found = []
        for piece in folded.split():
            if piece.isalnum():
                found.append(piece)
            else:
                found += _WORD.findall(piece)
    # The common cases: no word can be too long, or none is (asked of the list in C).
    if len(folded) <= MAX_WORD_CHARS or max(map(len, found), default=0) <= MAX_WORD_CHARS:
        return found
    return [w for w in found if len(w) <= MAX_WORD_CHARS]


def _identifiers_of_folded(folded: str) -> list[str]:
    """Each identifier in `folded` text as one word, its pieces joined."""
    if (
        "-" not in folded
        and "." not in folded
        and (folded.isascii() or _OTHER_DASHES.search(folded) is None)
    ):
        return []
    return ["".join(p for p in m.groups() if p) for m in _IDENTIFIER.finditer(folded)]


def words(text: str) -> list[str]:
    """The searchable words of `text`, folded, in order."""
    return _words_of_folded(_fold(text))


def terms(text: str) -> list[str]:
    """What a document is made of: the words of `text`, then each identifier in it as one word."""
    folded = _fold(text)
    return _words_of_folded(folded) + _identifiers_of_folded(folded)


def query_terms(q: str) -> list[str]:
    """The words a query asks for, each once, in order: an identifier as its one joined word in
    place of its pieces, so "CVE-2021-44228" is not "cve 2021 44228" found anywhere in a text."""
    folded = _fold(q)
    out: list[str] = []
    end = 0
    for m in _IDENTIFIER.finditer(folded):
        out += _words_of_folded(folded[end : m.start()])
        out.append("".join(p for p in m.groups() if p))
        end = m.end()
    out += _words_of_folded(folded[end:])
    return list(dict.fromkeys(out))


def fields_of(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, text) for every piece of searchable text an object holds, in FIELDS order."""
    for name in TEXT_PROPERTIES:
        value = obj.get(name)
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, str):
                    yield name, item
    if references := obj.get("external_references"):
        for external_id in _external_ids(references):
            yield EXTERNAL_ID, external_id


def _external_ids(references: Any) -> list[str]:
    if not isinstance(references, list):
        return []
    return [
        r["external_id"]
        for r in references
        if isinstance(r, dict) and isinstance(r.get("external_id"), str)
    ]


def document_of(obj: dict[str, Any]) -> str | None:
    """The words of an object's prose joined by spaces, or None when it has none."""
    # fields_of and terms, unrolled: this runs for every object ingested.
    parts: list[str] = []
    for name in TEXT_PROPERTIES:
        value = obj.get(name)
        if value is None:  # most of them, on most objects
            continue
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [v for v in value if isinstance(v, str)]
    if references := obj.get("external_references"):
        parts += _external_ids(references)
    if not parts:
        return None
    folded = _fold(" ".join(parts)[:MAX_DOCUMENT_CHARS])
    found = _words_of_folded(folded)
    if "-" in folded or "." in folded or not folded.isascii():
        found += _identifiers_of_folded(folded)
    return " ".join(found) or None


def matched_fields(obj: dict[str, Any], wanted: Sequence[str], *, prefix: bool) -> list[str]:
    """The fields of `obj` holding any of the query's words (`query_terms`); with `prefix`, the
    last is a prefix. In FIELDS order, each once."""
    exact = set(wanted[:-1] if prefix else wanted)
    start = wanted[-1] if prefix and wanted else None
    found: dict[str, None] = {}
    for name, text in fields_of(obj):
        if name in found:
            continue
        held = terms(text)
        if not exact.isdisjoint(held) or (start and any(w.startswith(start) for w in held)):
            found[name] = None
    return list(found)


def relationship_ends_of(obj: dict[str, Any]) -> list[str]:
    """The ids a relationship joins (source_ref, target_ref); nothing for any other object."""
    if obj.get("type") != "relationship":
        return []
    ends = [obj.get("source_ref"), obj.get("target_ref")]
    return list(dict.fromkeys(e for e in ends if isinstance(e, str)))


class SearchIndex:
    """The `search_docs` row of each stored object version, and the ends of each relationship
    (an ObjectIndex).

    The same layout on both databases; the scoped index a search reads (search_words) is kept
    from these rows by the database's own triggers, under the scope of the object's row (see
    tables.py). Relationship ends are kept here because search is the index this capability
    writes at ingest; the report view reads them (tables.py says why).
    """

    layouts = (
        (search_docs, ("object_pk", "doc")),
        (relationship_ends, ("object_pk", "ref_id")),
    )

    @classmethod
    def for_database(cls, db: Database) -> SearchIndex:
        """The index for `db`: one shape on both databases since migration 0019."""
        return cls()

    def rows(
        self, pk: int, obj: dict[str, Any]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        doc = document_of(obj)
        docs = [(pk, doc)] if doc else []
        if obj.get("type") != "relationship":
            return docs, []
        return docs, [(pk, end) for end in relationship_ends_of(obj)]
