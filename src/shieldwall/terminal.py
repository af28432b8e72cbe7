"""What every `shieldwall` command shares: the database options, errors as one line and a
non-zero exit, the database a command may open, tables and JSON on standard output. Capability
packages define their own commands (taxii/cli.py, dataprotection/cli.py...) on these, and
cli.py gathers them into the one `shieldwall` command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from shieldwall.audit import service as audit
from shieldwall.db import Database
from shieldwall.errors import ShieldwallError
from shieldwall.settings import Settings, database_source

T = TypeVar("T")
err = Console(stderr=True, soft_wrap=True)  # an error stays on one line, whatever the width

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Database URL (default: $SHIELDWALL_DATABASE_URL, else the per-user default; "
        "see the README's settings).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="print JSON for scripts instead of a table")
]


def settings_for(database: str | None, **overrides: object) -> Settings:
    """The settings for a command; a bad setting (an unsupported URL, a port out of range, a
    variable of the wrong type) is a one-line error."""
    try:
        return Settings.from_env(database_url=database, **overrides)
    except ValueError as exc:
        raise fail(str(exc)) from None


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, markup=True)
    return typer.Exit(1)


def shown(url: str) -> str:
    """A database URL fit to print: without its password."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def errors_as_messages(database: str | None = None) -> Iterator[None]:
    """One line and a non-zero exit for every expected failure, never a traceback; a database
    error names the database (`database`: its URL)."""
    try:
        yield
    except ShieldwallError as exc:
        for detail in exc.details[:20]:
            where = " ".join(
                f"{k}={detail[k]}" for k in ("index", "id", "property") if detail.get(k) is not None
            )
            err.print(f"  {where}: {detail.get('message')}", highlight=False, markup=False)
        if len(exc.details) > 20:
            err.print(f"  ... and {len(exc.details) - 20} more", highlight=False)
        raise fail(exc.message) from None
    except SQLAlchemyError as exc:
        first_line = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        on = f" on {shown(database)}" if database else ""
        raise fail(f"database error{on}: {first_line}") from None


@contextmanager
def existing_database(database: str | None) -> Iterator[Database]:
    """The database a command reads or adds to, which must exist already: a clear error naming
    it when it does not, and a file that is not one is left as it was (opening it as a database
    would turn it into one)."""
    url = settings_for(database).database_url
    where = f"{shown(url)} ({database_source(database)})"
    path = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite" and path and path != ":memory:":
        if not Path(path).is_file():
            raise fail(
                f"no database at {where}: create it with `shieldwall init`, or seed the demo "
                "with `shieldwall demo`"
            )
        if not _sqlite_has_schema(Path(path)):
            raise fail(f"{where} holds no Shieldwall database: run `shieldwall init`")
    with errors_as_messages(url):
        db = Database(url)
        try:
            with db.read() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    raise fail(f"{where} holds no Shieldwall database: run `shieldwall init`")
            yield db
        finally:
            db.dispose()


def _sqlite_has_schema(path: Path) -> bool:
    """Whether an SQLite file holds our migrations' table, read without writing to it."""
    import sqlite3

    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
    except sqlite3.DatabaseError:  # not an SQLite file at all
        return False
    return found is not None


def in_write(database: str | None, action: str, detail: dict, fn: Callable[..., T]) -> T:
    """Run `fn` and its audit entry (actor: the command line) in one write transaction."""
    with existing_database(database) as db, errors_as_messages(db.url), db.write() as conn:
        result = fn(conn)
        audit.append(
            conn, None, action, {**detail, "via": "cli", "result": audit.subject_of(result)}
        )
        return result


def print_rows(
    rows: Sequence[dict[str, Any]], columns: dict[str, Callable[[dict[str, Any]], Any]], title: str
) -> None:
    """Rows as a table: `columns` maps each heading to what it shows of a row."""
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(_cell(show(row)) for show in columns.values()))
    out().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def out() -> Console:
    """Standard output for tables: as wide as the terminal, or wide enough not to fold ids and
    values when it is a file or a pipe (scripts should use --json)."""
    return Console(width=None if sys.stdout.isatty() else 250, highlight=False)


def print_json(document: Any) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
