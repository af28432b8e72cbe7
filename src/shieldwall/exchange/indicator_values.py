"""The values of the indicators a viewer may see, a page at a time: what blocklists, IDS rules and
RPZ zones are written from (exchange/blocklist.py reads through here).

One query a page: a keyset page of PAGE indicator versions by pk (the latest, not revoked,
visible through policy.visible_filter, in the export's selection, which leaves out the expired
by objects.valid_until), joined to their normalised values in the correlation index's value
table (search's `observable_values`, written by ingest in the same transaction as the object),
of the kinds asked for only. So no STIX body is parsed for the common indicator: the pattern is
read only of an indicator with a URL whose body could name a domain (`domain-name`, or a `_ref`
that is not a property's name), when the caller must tell a domain shared as one from the host
of a shared URL. Memory holds one page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Text,
    and_,
    case,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from shieldwall.db import Database
from shieldwall.intel.tables import objects
from shieldwall.policy import Viewer, visible_filter
from shieldwall.search.tables import observable_values

PAGE = 5_000  # indicators a query reads (and an export scores and audits) together


class ValueRow(NamedTuple):
    """One value of a visible indicator version, as a page holds it (rows are the database
    driver's own tuples, in this order, read by index: SQLAlchemy's rows took ~2 s to make for a
    million values): an indicator with no value of the kinds asked for has one row with `kind`
    and `value` None. Its fields repeat on each of its values' rows."""

    pk: int
    object_id: str
    modified: str  # normalised STIX timestamp
    tlp: int
    confidence: int | None
    kind: str | None
    value: str | None
    # Only on the row of a URL, and only when asked for: '' when the body cannot name a domain.
    pattern: str | None


class body_property(FunctionElement[str]):
    """A top-level property of a stored body as text, NULL when the body does not name it; the
    database parses the JSON only of a body whose text names it."""

    type = Text()
    inherit_cache = True
    name = "body_property"


@compiles(body_property, "sqlite")
def _body_property_sqlite(element: body_property, compiler: Any, **kw: Any) -> str:
    body, name = (compiler.process(c, **kw) for c in element.clauses)
    quoted = name.replace("'", "")
    return f"CASE WHEN instr({body}, '\"{quoted}\"') THEN json_extract({body}, '$.{quoted}') END"


@compiles(body_property, "postgresql")
def _body_property_postgresql(element: body_property, compiler: Any, **kw: Any) -> str:
    # As sightings.service.indicator_facts: PostgreSQL reads no JSON holding a NUL escape.
    body, name = (compiler.process(c, **kw) for c in element.clauses)
    quoted = name.replace("'", "")
    return (
        f"CASE WHEN strpos({body}, '\"{quoted}\"') > 0 THEN "
        f"CAST(replace({body}, '\\u0000', '\\ufffd') AS json) ->> '{quoted}' END"
    )


class body_mentions(FunctionElement[bool]):
    """Whether a stored body's text holds a fixed string (a marking's id): a substring search,
    no JSON parsed."""

    type = Boolean()
    inherit_cache = True
    name = "body_mentions"


@compiles(body_mentions, "sqlite")
def _body_mentions_sqlite(element: body_mentions, compiler: Any, **kw: Any) -> str:
    body, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(instr({body}, {needle}) > 0)"


@compiles(body_mentions, "postgresql")
def _body_mentions_postgresql(element: body_mentions, compiler: Any, **kw: Any) -> str:
    body, needle = (compiler.process(c, **kw) for c in element.clauses)
    return f"(strpos({body}, {needle}) > 0)"


class may_name_domains(FunctionElement[bool]):
    """Whether a stored indicator's pattern may name a domain, read from the body's text
    without parsing it: it holds `domain-name`, or a `_ref` that is not a property's name (in
    the body's JSON, as ingest writes it, a name is followed by `":`, which no string value
    holds: its quotes are escaped). A superset of value_export.may_name_domains over the
    pattern: when false, the pattern names no domain."""

    type = Boolean()
    inherit_cache = True
    name = "may_name_domains"


@compiles(may_name_domains, "sqlite")
def _may_name_domains_sqlite(element: may_name_domains, compiler: Any, **kw: Any) -> str:
    (body,) = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(instr({body}, 'domain-name') > 0 OR "
        f"instr(replace(replace({body}, '_refs\":', ''), '_ref\":', ''), '_ref') > 0)"
    )


@compiles(may_name_domains, "postgresql")
def _may_name_domains_postgresql(element: may_name_domains, compiler: Any, **kw: Any) -> str:
    (body,) = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(strpos({body}, 'domain-name') > 0 OR "
        f"strpos(replace(replace({body}, '_refs\":', ''), '_ref\":', ''), '_ref') > 0)"
    )


def mentions(column: Any, text: str) -> body_mentions:
    return body_mentions(column, literal(text, Text()))


def _property(column: Any, name: str) -> body_property:
    assert name.isidentifier()  # a fixed property name, written into the SQL
    return body_property(column, literal_column(f"'{name}'"))


def pages(
    db: Database,
    viewer: Viewer,
    kinds: Sequence[str],
    chosen: ColumnElement[bool],
    *,
    url_patterns: bool = False,
) -> Iterator[list[ValueRow]]:
    """Every page (read_page), each read in a transaction of its own by a helper thread while
    the caller writes out the one before: the database works (SQLite and psycopg let go of the
    interpreter meanwhile) while Python formats. One page ahead, never more."""

    def read(after: int) -> tuple[list[ValueRow], int | None]:
        with db.read() as conn:
            return read_page(conn, viewer, kinds, chosen, after, url_patterns=url_patterns)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shieldwall-export") as reader:
        ahead = reader.submit(read, 0)
        while True:
            rows, after = ahead.result()
            if after is None:
                return
            ahead = reader.submit(read, after)
            yield rows


def read_page(
    conn: Connection,
    viewer: Viewer,
    kinds: Sequence[str],
    chosen: ColumnElement[bool],
    after: int,
    *,
    url_patterns: bool = False,
    size: int | None = None,
    last: int | None = None,
) -> tuple[list[ValueRow], int | None]:
    """The next page of visible indicators after pk `after` with their values of `kinds`, as
    rows ordered by (pk, kind, value): the order sids count a value's place in, whatever order
    the pattern named them in. Then the pk to read on from; None when there is no page.
    `chosen`: the export's selection over `objects`. `url_patterns`: read the pattern of each
    indicator with a URL value. `last`: the highest pk to read (a worker's range)."""
    o = objects.c
    page = (
        select(o.pk, o.object_id, o.modified, o.tlp, o.confidence,
               *([o.body] if url_patterns else []))
        .where(
            o.type == "indicator",
            o.is_latest.is_(True),
            o.revoked.is_(False),
            o.pk > after,
            *([o.pk <= last] if last is not None else []),
            visible_filter(viewer, objects),
            chosen,
        )
        .order_by(o.pk)
        .limit(size or PAGE)
        .subquery("page")
    )  # fmt: skip
    v = observable_values.c
    pattern = (
        case(
            (
                v.kind == "url",
                case(
                    (may_name_domains(page.c.body), _property(page.c.body, "pattern")),
                    else_=literal(""),
                ),
            ),
            else_=None,
        )
        if url_patterns
        else literal_column("NULL")
    )
    query = select(
        page.c.pk, page.c.object_id, page.c.modified, page.c.tlp, page.c.confidence,
        v.kind, v.value, pattern.label("pattern"),
    ).select_from(
        page.outerjoin(observable_values, and_(v.object_pk == page.c.pk, v.kind.in_(kinds)))
    )  # fmt: skip
    if conn.dialect.name == "postgresql":
        # A page's values by key, whatever the planner guesses: it would rather hash the whole
        # value table against a page, which costs a scan of the table per page (transaction-local).
        conn.execute(text("SELECT set_config('enable_hashjoin', 'off', true), "
                          "set_config('enable_mergejoin', 'off', true)"))  # fmt: skip
    result = conn.execute(query)
    try:  # the driver's tuples (ValueRow): no SQLAlchemy row made, no type converted
        rows: list[Any] = result.cursor.fetchall()
    finally:
        result.close()
    if not rows:
        return [], None
    # Sorted here, not by an ORDER BY: the rows come nearly in order, which Python's sort takes
    # in one pass, where the database sorts the whole page. As whole tuples, in (pk, kind, value)
    # order all the same: the fields between pk and kind are the pk's own, equal on its rows,
    # and a pk with a None kind has one row (no key tuple made per row, a third of the sort).
    rows.sort()
    return rows, rows[-1][0]
