"""The full-text document of each object version, and the words it and a query are made of.

Both databases are handed words already cut, folded and joined by spaces, and a query is cut by
the same function: FTS5's unicode61 tokenizer and PostgreSQL's text-search parser cut text
differently ("h1.evil.example" is one "host" token to PostgreSQL, three words to FTS5), and this
way both see the same words and answer the same searches.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from shieldwall.db import Database
from shieldwall.search.tables import FTS_DOCS, PG_DOCS

# What the document holds: the prose of an object, never its pattern (values are searched
# through the observables index, normalised). Notes, opinions and reports add their own text.
TEXT_PROPERTIES = (
    "name", "description", "aliases", "labels",  # most SDOs
    "abstract", "content", "explanation",  # note (abstract, content), opinion (explanation)
)  # fmt: skip
MAX_DOCUMENT_CHARS = 100_000  # of text read from one object; the rest is not searchable
MAX_WORD_CHARS = 256  # longer runs (encoded blobs) are dropped; a SHA-512 in hex is 128
_WORD = re.compile(r"[^\W_]+")  # letters and digits: "_", punctuation and symbols separate


def _fold(text: str) -> str:
    """Case-folded, compatibility-decomposed, without marks: 'Café' and 'CAFE' are one word."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))


def words(text: str) -> list[str]:
    """The searchable words of `text`, folded, in order."""
    found = _WORD.findall(_fold(text))
    if len(text) <= MAX_WORD_CHARS:  # the common case: no word can be too long
        return found
    return [w for w in found if len(w) <= MAX_WORD_CHARS]


def document_of(obj: dict[str, Any]) -> str | None:
    """The words of an object's prose joined by spaces, or None when it has none."""
    parts: list[str] = []
    for name in TEXT_PROPERTIES:
        value = obj.get(name)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            parts += [v for v in value if isinstance(v, str)]
    if not parts:
        return None
    return " ".join(words(" ".join(parts)[:MAX_DOCUMENT_CHARS])) or None


class SearchIndex:
    """The `search_docs` row of each stored object version (an ObjectIndex).

    The layout differs by database only in the key column's name: on SQLite the pk is the FTS5
    rowid (see tables.py).
    """

    def __init__(self, *, sqlite: bool) -> None:
        self.layouts = (
            ((FTS_DOCS, ("rowid", "doc")),) if sqlite else ((PG_DOCS, ("object_pk", "doc")),)
        )

    @classmethod
    def for_database(cls, db: Database) -> SearchIndex:
        return cls(sqlite=db.is_sqlite)

    def rows(self, pk: int, obj: dict[str, Any]) -> tuple[list[tuple[Any, ...]]]:
        doc = document_of(obj)
        return ([(pk, doc)] if doc else [],)
