"""`shieldwall feed ...`: MISP feeds from the command line (thin: misp_feed.py does the work)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from shieldwall.members import service as members
from shieldwall.terminal import (
    DatabaseOption,
    errors_as_messages,
    existing_database,
    fail,
    print_json,
    settings_for,
)

feed_app = typer.Typer(
    help="MISP feeds: pull one (served by MISP, by another Shieldwall, or a folder on disk).",
    no_args_is_help=True, rich_markup_mode=None,
)  # fmt: skip


@feed_app.command("pull")
def feed_pull(
    source: Annotated[
        str, typer.Argument(help="the feed's URL (where manifest.json is) or folder")
    ],
    user: Annotated[str, typer.Option(help="e-mail of the local user who shares what arrives")],
    token: Annotated[
        str | None, typer.Option(help="a bearer token (API key) for the feed", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    database: DatabaseOption = None,
) -> None:
    """Import the events of a MISP feed that are new or changed since the last pull, as USER
    (each event whole or not at all; a refused event is listed and the others still come in)."""
    from shieldwall.exchange.misp_feed import HttpFeed, folder_fetch, pull_feed
    from shieldwall.intel.ingest import ingestor_for

    if source.startswith(("http://", "https://")):
        headers = {"Authorization": f"Bearer {token}"} if token else None
        fetch: Callable[[str], bytes] = HttpFeed(source, headers)
    elif Path(source).is_dir():
        fetch = folder_fetch(Path(source))
    else:
        raise fail(f"{source!r} is neither an http(s) URL nor a folder")
    settings = settings_for(database)
    with existing_database(database) as db, errors_as_messages(db.url):
        with db.read() as conn:
            viewer = members.viewer_for_user(conn, members.user_by_email(conn, user)["id"])
        ingestor = ingestor_for(db, settings)
        try:
            result = pull_feed(ingestor, viewer, fetch)
        finally:
            ingestor.close()
            if isinstance(fetch, HttpFeed):
                fetch.close()
    if as_json:
        print_json(result.as_dict())
    else:
        typer.echo(
            f"{result.listed} events listed: {result.fetched} fetched, {result.skipped} "
            f"unchanged since the last pull, {result.stored} objects stored, "
            f"{len(result.failed)} refused"
        )
        for event_uuid, why in result.failed.items():
            typer.echo(f"  {event_uuid}: {why}", err=True)
    if result.failed:
        raise typer.Exit(1)
