"""`shieldwall lookup`: values from a file looked up on a server, privately, or in the database
as a user sees them (thin: correlate/client.py does the work)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shieldwall.members import service as members
from shieldwall.terminal import (
    DatabaseOption,
    JsonOption,
    err,
    existing_database,
    fail,
    out,
    settings_for,
)

if TYPE_CHECKING:  # imported where used: most commands never look anything up
    from shieldwall.correlate.client import LookupReport
    from shieldwall.correlate.helper import Options


def lookup(
    file: Annotated[
        Path,
        typer.Argument(
            help="values to look up, one a line; blank lines and lines starting with # are skipped"
        ),
    ],
    private: Annotated[
        bool, typer.Option("--private", help="disclose only a 5-hex-digit hash prefix per value")
    ] = False,
    url: Annotated[str, typer.Option(help="the Shieldwall server")] = "http://127.0.0.1:8000",
    key: Annotated[
        str | None, typer.Option(help="API key (default: $SHIELDWALL_API_KEY)", show_default=False)
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="look up in the database, without a server, as this user (e-mail) sees it",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
    min_score: Annotated[
        float | None,
        typer.Option(help="leave out indicators scoring less, and revoked objects", min=0, max=100),
    ] = None,
    exclude_warninglisted: Annotated[
        bool,
        typer.Option(
            "--exclude-warninglisted", help="leave out matches by values on a warning list"
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Look the values in FILE up: on a server (--url, --key), privately on a server (--private:
    the values themselves never leave here), or in the database as a user (--user)."""
    from shieldwall.correlate.asked import lines_to_look_up
    from shieldwall.correlate.helper import Options

    if not file.is_file():
        raise fail(f"{file}: no such file")
    try:
        lines = lines_to_look_up(file.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: cannot be read as text ({exc})") from None
    options = Options(min_score, exclude_warninglisted)
    if user is not None:
        if private:
            raise fail("--private asks a server; a lookup with --user asks the database here")
        report = _local_lookup(database, user, lines, options)
    elif database is not None:
        raise fail("a lookup in the database needs --user EMAIL: whose view of the intel to show")
    else:
        report = _server_lookup(url, key, private, lines, options)
    for bad in report.unreadable:
        err.print(
            f"line {bad.line}: {bad.value[:80]!r} could not be read: {bad.message}",
            highlight=False,
            markup=False,
        )
    if as_json:
        typer.echo(report.as_json())
        return
    console = out()
    if any(a.matches or a.warnings for a in report.answers):
        console.print(report.table())
    console.print(report.summary())


def _server_lookup(
    url: str, key: str | None, private: bool, lines: Sequence[tuple[int, str]], options: Options
) -> LookupReport:
    """The answer of the server at `url`: to the values, or to their hash prefixes only."""
    import os

    import httpx

    from shieldwall.correlate.client import LookupFailed, plain_lookup, private_lookup

    api_key = key or os.environ.get("SHIELDWALL_API_KEY")
    if not api_key:
        raise fail("an API key is needed: --key or $SHIELDWALL_API_KEY (or --user, to look up "
                   "in the database here)")  # fmt: skip
    try:
        with httpx.Client(timeout=120) as http:
            ask = private_lookup if private else plain_lookup
            return ask(http, url.rstrip("/"), api_key, lines, options)
    except (LookupFailed, httpx.HTTPError) as exc:
        raise fail(str(exc)) from None


def _local_lookup(
    database: str | None, user: str, lines: Sequence[tuple[int, str]], options: Options
) -> LookupReport:
    """The answer of the database, through the lookup service, as `user` sees it."""
    from shieldwall.correlate.client import local_lookup

    settings = settings_for(database)
    with existing_database(database) as db:
        with db.read() as conn:
            viewer = members.viewer_for_email(conn, user)
        return local_lookup(db, viewer, settings, lines, options)
