"""Search through the policy: full text over objects' prose, exact or prefix over their values.

Every answer is a page of latest object versions the viewer may see, in the order they were
added (pk), resumed by the same opaque cursor as GET /api/v1/objects. No ranking: a page boundary
never moves while intel arrives, and nothing about invisible matches (how many, how relevant)
can shape what the viewer gets.

Each hit says which of its fields matched. The index cannot say (a document is all of an
object's text in one), so the page's objects, already in hand, are read again by the same rule
that made the index: a page's worth of work, never a query more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Select, and_, cast, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import TSQUERY

from shieldwall.correlate.observables import KINDS, Observable, normalise, observables_of
from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.intel.query import _COLUMNS, Page, decode_cursor, read_page
from shieldwall.intel.tables import objects
from shieldwall.policy import Viewer, visible_filter
from shieldwall.search.index import matched_fields, query_terms
from shieldwall.search.tables import (
    FTS_WORDS,
    PG_WORDS,
    VALUE_KEY_LENGTH,
    observable_values,
    scoped_word,
    search_scopes,
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


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of hits, and for each hit's id the fields that matched (FIELDS names in text mode;
    in value mode `pattern` for an indicator, else the top-level properties holding the value)."""

    page: Page
    matched: dict[str, list[str]]


_EMPTY = SearchPage(Page(bodies=[], object_ids=[], next_cursor=None, contributors={}), {})


def search(
    db: Database, viewer: Viewer, s: Search, *, cursor: str | None, limit: int
) -> SearchPage:
    """One page of the visible latest versions that match; `next_cursor` resumes after it."""
    _check(s)
    after = decode_cursor(cursor) if cursor else 0
    prepare = None
    if s.mode == "text":
        found = _text_matches(db, viewer, s.q, after=after)
        if found is not None and found[2] is not None:  # PostgreSQL: choose the plan
            prepare = _pg_plan(found[2], after, limit)
    else:
        found = _value_matches(s, sqlite=db.is_sqlite, after=after)
    if found is None:
        return _EMPTY
    query, order = found[:2]
    query = query.where(objects.c.is_latest.is_(True), visible_filter(viewer, objects))
    if s.types:
        query = query.where(objects.c.type.in_(s.types))
    page = read_page(
        db, viewer, query.order_by(order), limit=limit, action="intel.search",
        detail={"mode": s.mode, "q": s.q[:200], "kind": s.kind}, prepare=prepare,
    )  # fmt: skip
    return SearchPage(page, _matched(s, page))


def _matched(s: Search, page: Page) -> dict[str, list[str]]:
    """Object id -> the fields that matched, for each hit of the page. Copies of one observable
    kept by several members share an id: their fields are merged."""
    if s.mode == "text":
        wanted, prefix = query_terms(s.q), s.q.rstrip().endswith("*")

        def fields(obj: dict[str, Any]) -> list[str]:
            return matched_fields(obj, wanted, prefix=prefix)
    else:
        holds = _value_test(s)

        def fields(obj: dict[str, Any]) -> list[str]:
            return _value_fields(obj, holds)

    matched: dict[str, list[str]] = {}
    for object_id, body in zip(page.object_ids, page.bodies, strict=True):
        found = fields(orjson.loads(body))
        if object_id in matched:
            found = list(dict.fromkeys(matched[object_id] + found))
        matched[object_id] = found
    return matched


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


def _text_matches(
    db: Database, viewer: Viewer, q: str, *, after: int
) -> tuple[Select[Any], Any, Callable[[Any], ColumnElement[bool]] | None] | None:
    """Objects whose document holds every word of `q`, looked for only among the documents of
    the scopes the viewer may see; None when `q` has no words at all, or the viewer no scope.

    Each document is indexed under its scope (tables.py), so the engine reads the postings of
    the viewer's scopes and nothing else: how long a search takes says nothing of the objects
    the viewer may not see. The scopes are chosen by the policy's own SQL filter. Returns the
    query, its order and, on PostgreSQL, the full-text condition on a given tsvector column."""
    wanted = query_terms(q)
    if not wanted:
        return None  # only operators and punctuation: nothing can match
    if len(wanted) > MAX_WORDS:
        raise Invalid(f"a search takes at most {MAX_WORDS} words")
    prefix = q.rstrip().endswith("*")
    if prefix and len(wanted[-1]) < MIN_PREFIX:
        raise Invalid(f"a prefix needs at least {MIN_PREFIX} characters before '*'")
    scopes = visible_scopes(db, viewer)
    if not scopes:
        return None
    last = len(wanted) - 1
    # A document has one scope: "every word, in one of the scopes" is, for FTS5, "for every word,
    # that word in one of the scopes", an AND of ORs.
    if db.is_sqlite:
        # FTS5: each word a quoted string, so AND, OR, NOT, NEAR, '-', '^', ':' are plain words.
        def fts5(word: str, star: bool) -> str:
            return "(" + " OR ".join(
                '"' + scoped_word(scope, word).replace('"', '""') + '"' + ("*" if star else "")
                for scope in scopes
            ) + ")"  # fmt: skip

        expression = " AND ".join(fts5(w, prefix and i == last) for i, w in enumerate(wanted))
        match = literal_column(FTS_WORDS.name).op("MATCH")(expression)
        key = FTS_WORDS.c.rowid
        source = FTS_WORDS.join(objects, objects.c.pk == key)
    else:
        # tsquery: each word a quoted lexeme, ANDed; ':*' marks a prefix. The index holds our
        # words as they are (migration 0026), so the query is cast, not parsed by to_tsquery.
        # One tsquery per scope, ORed as conditions: GIN answers each by its own entries and
        # PostgreSQL ORs the bitmaps, where one tsquery ORing every scope made GIN test that
        # whole tree against each match (270 ms for a word in 98,000 documents over 82 scopes).
        per_scope = [
            " & ".join(tsquery_lexeme(scoped_word(scope, w), prefix and i == last)
                       for i, w in enumerate(wanted))
            for scope in scopes
        ]  # fmt: skip

        def holds(tsv: Any) -> ColumnElement[bool]:
            return or_(*(tsv.op("@@")(cast(literal(q), TSQUERY)) for q in per_scope))

        match = holds(PG_WORDS.c.tsv)
        key = PG_WORDS.c.object_pk
        source = PG_WORDS.join(objects, objects.c.pk == key)
    # Order by the document's key (= objects.pk): FTS5 then yields matches in that order from
    # the cursor on, and the page stops after limit + 1 visible rows. The cursor bounds both
    # sides of the join, or a PostgreSQL merge join walks objects from the start on deep pages.
    query = select(*_COLUMNS).select_from(source).where(match, key > after, objects.c.pk > after)
    return query, key, None if db.is_sqlite else holds


def tsquery_lexeme(word: str, prefix: bool = False) -> str:
    """`word` as one lexeme of tsquery input, whatever characters it holds: quoted, its quotes
    doubled and its backslashes escaped, so none of it is read as an operator; ':*' makes it a
    prefix."""
    escaped = word.replace("\\", "\\\\").replace("'", "''")
    return "'" + escaped + "'" + (":*" if prefix else "")


# PostgreSQL's planner cannot estimate a tsquery of scoped words (each scope's word is rare to
# it): it walked every document in pk order to find a rare word (1.3 s at 120,000), or scanned
# the table for a bitmap. The plan is chosen here instead, by looking for the page's matches in
# the next PLAN_WINDOW documents after the cursor: when they hold a page, the documents are
# walked in pk order, which stops at the page's end; when not, the matches are collected through
# the GIN index alone and sorted. The window is the same size whatever the word, and only the
# viewer's scopes are asked for in it, so the choice says nothing of other objects. (Counting
# matches through GIN instead built the bitmap of every match: 20 ms for a common word.)
PLAN_WINDOW = 2000


def _pg_plan(
    holds: Callable[[Any], ColumnElement[bool]], after: int, limit: int
) -> Callable[[Any], object]:
    """Set, in the page's transaction, the plan PostgreSQL takes for a full-text page."""
    key = PG_WORDS.c.object_pk
    window = (
        select(PG_WORDS.c.tsv)
        .where(key > after)
        .order_by(key)
        .limit(max(PLAN_WINDOW, 10 * (limit + 1)))
        .subquery()
    )
    probe = select(func.count()).select_from(window).where(holds(window.c.tsv))

    def prepare(conn: Any) -> None:
        conn.exec_driver_sql(  # no table scan, and no workers to start
            "SELECT set_config('enable_seqscan', 'off', true), "
            "set_config('enable_bitmapscan', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)"
        )
        if conn.scalar(probe) <= limit:  # rare here: the index alone, each object by its key
            conn.exec_driver_sql(
                "SELECT set_config('enable_bitmapscan', 'on', true), "
                "set_config('enable_indexscan', 'off', true), "
                "set_config('enable_hashjoin', 'off', true), "
                "set_config('enable_mergejoin', 'off', true)"
            )

    return prepare


def visible_scopes(db: Database, viewer: Viewer) -> list[int]:
    """The ids of the search scopes whose documents `viewer` may see: policy.visible_filter over
    the scopes' visibility columns, the very filter every list applies to objects."""
    with db.read() as conn:
        return list(
            conn.scalars(
                select(search_scopes.c.id)
                .where(visible_filter(viewer, search_scopes))
                .order_by(search_scopes.c.id)
            )
        )


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


def _value_test(s: Search) -> Callable[[Observable], bool]:
    """In Python, the condition `_value_matches` puts to the value index, for one observable."""
    raw = s.q.strip()
    if raw.endswith("*"):
        starts = tuple(dict.fromkeys((raw.rstrip("*"), raw.rstrip("*").lower())))

        def test(o: Observable) -> bool:
            return o.value.startswith(starts)
    else:
        wanted = normalise(s.kind or "auto", raw)  # read once already: it does not raise here
        pair = (wanted.kind, wanted.value) if wanted is not None else None

        def test(o: Observable) -> bool:
            return o.value == raw or (o.kind, o.value) == pair

    if s.kind is None:
        return test
    return lambda o: o.kind == s.kind and test(o)


# Properties every object has that never hold an observable's value.
_NOT_VALUE_PROPERTIES = frozenset({"type", "id", "spec_version", "object_marking_refs", "defanged"})


def _value_fields(obj: dict[str, Any], holds: Callable[[Observable], bool]) -> list[str]:
    """Where an object holds a value that `holds`: an indicator in its pattern; an observable (or
    observed-data) in the top-level properties each value comes from."""
    if obj.get("type") == "indicator":
        return ["pattern"] if any(holds(o) for o in observables_of(obj)) else []
    return [
        name
        for name, value in obj.items()
        if name not in _NOT_VALUE_PROPERTIES
        and any(holds(o) for o in observables_of({"type": obj.get("type"), name: value}))
    ]


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
