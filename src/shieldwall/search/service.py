"""Search through the policy: full text over objects' prose, exact or prefix over their values.

Every answer is a page of latest object versions the viewer may see, in the order they were
added (pk), resumed by the same opaque cursor as GET /api/v1/objects. No ranking: a page boundary
never moves while intel arrives, and nothing about invisible matches (how many, how relevant)
can shape what the viewer gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select

from shieldwall.correlate.observables import KINDS, normalise
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.intel.query import _COLUMNS, Page, decode_cursor, read_page
from shieldwall.intel.tables import objects
from shieldwall.policy import Viewer, visible_filter
from shieldwall.search.index import words
from shieldwall.search.tables import (
    FTS_DOCS,
    PG_DOCS,
    VALUE_KEY_LENGTH,
    observable_values,
    value_key,
)

MIN_PREFIX = 3  # characters before a '*': shorter prefixes would walk most of an index
MAX_WORDS = 32

Mode = Literal["text", "value"]


@dataclass(frozen=True, slots=True)
class Search:
    """One search. `q` in text mode: words, all required, a trailing '*' makes the last one a
    prefix. In value mode: one observable value, exact, or a prefix of it with a trailing '*'."""

    q: str
    mode: Mode = "text"
    kind: str | None = None  # value mode only: an observable kind (KINDS or other:...)
    types: tuple[str, ...] = ()  # STIX types of the objects wanted


_EMPTY = Page(bodies=[], object_ids=[], next_cursor=None, contributors={})


def search(db: Database, viewer: Viewer, s: Search, *, cursor: str | None, limit: int) -> Page:
    """One page of the visible latest versions that match; `next_cursor` resumes after it."""
    _check(s)
    after = decode_cursor(cursor) if cursor else 0
    if s.mode == "text":
        found = _text_matches(s.q, sqlite=db.is_sqlite, after=after)
    else:
        found = _value_matches(s, sqlite=db.is_sqlite, after=after)
    if found is None:
        return _EMPTY
    query, order = found
    query = query.where(objects.c.is_latest.is_(True), visible_filter(viewer, objects))
    if s.types:
        query = query.where(objects.c.type.in_(s.types))
    return read_page(
        db, viewer, query.order_by(order), limit=limit, action="intel.search",
        detail={"mode": s.mode, "q": s.q[:200], "kind": s.kind},
    )  # fmt: skip


def _check(s: Search) -> None:
    if "\x00" in s.q:
        raise Invalid("q must not contain NUL characters")
    try:
        s.q.encode()
    except UnicodeEncodeError:
        raise Invalid("q is not valid Unicode text") from None
    if s.kind is not None:
        if s.mode != "value":
            raise Invalid("kind applies to mode=value only")
        if s.kind not in KINDS and not s.kind.startswith("other:"):
            raise Invalid(f"unknown observable kind {s.kind!r}; one of: {', '.join(sorted(KINDS))}")


# --- full text -------------------------------------------------------------------------------


def _text_matches(q: str, *, sqlite: bool, after: int) -> tuple[Select[Any], Any] | None:
    """Objects whose document holds every word of `q`; None when `q` has no words at all."""
    wanted = list(dict.fromkeys(words(q)))
    if not wanted:
        return None  # only operators and punctuation: nothing can match
    if len(wanted) > MAX_WORDS:
        raise Invalid(f"a search takes at most {MAX_WORDS} words")
    prefix = q.rstrip().endswith("*")
    if prefix and len(wanted[-1]) < MIN_PREFIX:
        raise Invalid(f"a prefix needs at least {MIN_PREFIX} characters before '*'")
    if sqlite:
        # FTS5: each word a quoted string, so AND, OR, NOT, NEAR, '-', '^', ':' are plain words.
        terms = ['"' + w.replace('"', '""') + '"' for w in wanted]
        if prefix:
            terms[-1] += "*"
        match = literal_column(FTS_DOCS.name).op("MATCH")(" ".join(terms))
        key = FTS_DOCS.c.rowid
        source = FTS_DOCS.join(objects, objects.c.pk == key)
    else:
        # tsquery: each word a quoted lexeme ANDed; ':*' marks a prefix.
        terms = ["'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in wanted]
        if prefix:
            terms[-1] += ":*"
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), " & ".join(terms))
        match = PG_DOCS.c.tsv.op("@@")(tsquery)
        key = PG_DOCS.c.object_pk
        source = PG_DOCS.join(objects, objects.c.pk == key)
    # Order by the document's key (= objects.pk): FTS5 then yields matches in that order from
    # the cursor on, and the page stops after limit + 1 visible rows. The cursor bounds both
    # sides of the join, or a PostgreSQL merge join walks objects from the start on deep pages.
    query = select(*_COLUMNS).select_from(source).where(match, key > after, objects.c.pk > after)
    return query, key


# --- observable values -----------------------------------------------------------------------


def _value_matches(s: Search, *, sqlite: bool, after: int) -> tuple[Select[Any], Any] | None:
    """Objects holding the value (exact) or a value starting with it (trailing '*')."""
    raw = s.q.strip()
    if raw.endswith("*"):
        prefix = raw.rstrip("*")
        if len(prefix) < MIN_PREFIX:
            raise Invalid(f"a prefix needs at least {MIN_PREFIX} characters before '*'")
        # Most kinds are stored in lower case (domains, hashes, URL hosts); some verbatim.
        condition = or_(*(_starts_with(p, sqlite) for p in dict.fromkeys((prefix, prefix.lower()))))
    else:
        condition = _equals(raw, s.kind)
    if s.kind:
        condition = and_(condition, observable_values.c.kind == s.kind)
    holders = select(observable_values.c.object_pk).where(condition)
    query = select(*_COLUMNS).where(objects.c.pk.in_(holders), objects.c.pk > after)
    return query, objects.c.pk


def _equals(raw: str, kind: str | None) -> ColumnElement[bool]:
    """The value as normalised, or exactly as given, so a value no rule reads, or one typed in its
    stored form, is found too; both through the value index."""
    as_given = and_(value_key == raw[:VALUE_KEY_LENGTH], observable_values.c.value == raw)
    try:
        observable = normalise(kind or "auto", raw)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if observable is None:
        return as_given
    normalised = and_(
        value_key == observable.value[:VALUE_KEY_LENGTH],
        observable_values.c.value == observable.value,
        observable_values.c.kind == observable.kind,
    )
    return or_(normalised, as_given)


def _starts_with(prefix: str, sqlite: bool) -> ColumnElement[bool]:
    """A range of ix_observable_values_value: every key that starts with `prefix`, and no other."""
    low = prefix[:VALUE_KEY_LENGTH]
    high = _successor(low)
    if sqlite:  # BINARY: UTF-8 byte order, which is code point order
        bounds = [value_key >= low] + ([value_key < high] if high else [])
    else:  # text_pattern_ops: code point order whatever the collation
        bounds = [value_key.op("~>=~")(low)] + ([value_key.op("~<~")(high)] if high else [])
    if len(prefix) > VALUE_KEY_LENGTH:
        bounds.append(func.substr(observable_values.c.value, 1, len(prefix)) == prefix)
    return and_(*bounds)


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound)."""
    while prefix:
        code = ord(prefix[-1]) + 1
        if code == 0xD800:  # surrogates are not text
            code = 0xE000
        if code <= 0x10FFFF:
            return prefix[:-1] + chr(code)
        prefix = prefix[:-1]
    return None
