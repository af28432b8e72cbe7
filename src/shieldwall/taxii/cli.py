"""`shieldwall collection ...` and `shieldwall taxii ...`: thin wrappers over taxii's library,
on the plumbing every command shares (terminal.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from shieldwall.errors import ShieldwallError
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.markings import TLP
from shieldwall.members import service as members
from shieldwall.selections.service import Selection
from shieldwall.taxii.collections import (
    create_collection,
    defined_collections,
    group_id_by_name,
)
from shieldwall.terminal import (
    DatabaseOption,
    JsonOption,
    err,
    errors_as_messages,
    existing_database,
    fail,
    in_write,
    print_json,
    print_rows,
    settings_for,
)

collection_app = typer.Typer(
    help="TAXII collections (admins define them; every member also has an inbox).",
    no_args_is_help=True, rich_markup_mode=None,
)  # fmt: skip
taxii_app = typer.Typer(
    help="TAXII 2.1 client: pull from any TAXII 2.1 server.", no_args_is_help=True,
    rich_markup_mode=None,
)  # fmt: skip


@collection_app.command("add")
def collection_add(
    name: Annotated[str, typer.Argument(help="the collection's title")],
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="a STIX type it serves; repeat for several")
    ] = None,
    max_tlp: Annotated[
        str | None, typer.Option(help="the most restrictive TLP it serves", show_default=False)
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option(help="serve objects with this label; repeat for any of")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            help="only what was shared with this sharing group (its name)", show_default=False
        ),
    ] = None,
    member_kind: Annotated[
        list[str] | None,
        typer.Option(help="only what members of this kind shared; repeat for several"),
    ] = None,
    description: Annotated[str, typer.Option(help="what the collection is for")] = "",
    database: DatabaseOption = None,
) -> None:
    """Define a TAXII collection over the store; prints its id."""
    try:
        level = TLP.parse(max_tlp) if max_tlp is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from None

    def create(conn: Any) -> str:
        selection = Selection(
            types=tuple(type_ or ()), max_tlp=level, labels=tuple(label or ()),
            sharing_group_id=group_id_by_name(conn, group) if group is not None else None,
            member_kinds=tuple(member_kind or ()),
        )  # fmt: skip
        return create_collection(conn, name, selection, description)

    try:
        collection_id = in_write(database, "taxii.collection.create", {"title": name}, create)
    except ShieldwallError as exc:  # raised before the write (the Selection's own checks)
        raise fail(exc.message) from None
    typer.echo(collection_id)


@collection_app.command("list")
def collection_list(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """The collections admins defined and what each serves (inboxes are not listed)."""
    with existing_database(database) as db, db.read() as conn:
        rows = defined_collections(conn)
    if as_json:
        return print_json(rows)
    s = "selection"
    print_rows(rows, {
        "title": lambda c: c["title"], "types": lambda c: c[s]["types"],
        "max TLP": lambda c: c[s]["max_tlp"], "labels": lambda c: c[s]["labels"],
        "group": lambda c: c[s]["sharing_group"], "member kinds": lambda c: c[s]["member_kinds"],
        "id": lambda c: c["id"],
    }, f"{len(rows)} collection(s)")  # fmt: skip


@taxii_app.command("pull")
def taxii_pull(
    api_root_url: Annotated[
        str, typer.Argument(help="the server's API root, e.g. https://host/taxii2/shieldwall/")
    ],
    collection: Annotated[str, typer.Option(help="the collection's id on that server")],
    user: Annotated[str, typer.Option(help="e-mail of the local user who shares what arrives")],
    since: Annotated[
        str | None,
        typer.Option(
            help="only objects added after this RFC 3339 timestamp (default: where the "
            "last pull of this collection stopped, else everything)",
            show_default=False,
        ),
    ] = None,
    basic: Annotated[
        str | None,
        typer.Option(help="HTTP Basic credentials, USER:PASSWORD", show_default=False),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="a bearer token (API key)", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(help="objects asked for per page", min=1)] = 1000,
    skip_refused: Annotated[
        bool,
        typer.Option(
            "--skip-refused",
            help="leave out (and list) each object this instance refuses, e.g. another "
            "instance's sharing group, and store the rest of its page, instead of stopping",
        ),
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Import a collection from any TAXII 2.1 server as USER, page by page (each page whole or
    not at all, or with --skip-refused all but what this instance refuses); the next pull
    without --since resumes where this one stopped."""
    if basic is not None and token is not None:
        raise fail("give --basic or --token, not both")
    if basic is not None and ":" not in basic:
        raise fail("--basic takes USER:PASSWORD")
    if since is not None and not is_timestamp(since):
        raise fail(f"--since {since!r} is not an RFC 3339 UTC timestamp such as "
                   "2026-01-31T00:00:00Z")  # fmt: skip
    if not api_root_url.startswith(("http://", "https://")):
        raise fail(f"{api_root_url!r} is not an http(s) URL of a TAXII API root")
    user_name, _, password = (basic or "").partition(":")
    # Loaded for a pull only: the command line imports this module for every command.
    from shieldwall.intel.ingest import BundleRejected, ingestor_for
    from shieldwall.taxii.client import PullResult, TaxiiClient, TaxiiClientError, pull

    settings = settings_for(database)
    with existing_database(database) as db, errors_as_messages(db.url):
        with db.read() as conn:
            viewer = members.viewer_for_email(conn, user)
        ingestor = ingestor_for(db, settings)
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
        )
        try:
            with (
                TaxiiClient(api_root_url, basic=(user_name, password) if basic else None,
                            token=token) as client,
                Progress(*columns, console=err, transient=True) as progress,
            ):  # fmt: skip
                task = progress.add_task(f"pulling {collection}")

                def shown(result: PullResult) -> None:
                    progress.update(task, description=(
                        f"pulling {collection}: {result.pages} page(s), {result.received} "
                        f"object(s), {result.stored} new"
                    ))  # fmt: skip

                result = pull(
                    db, ingestor, viewer, client, collection, limit=limit, on_page=shown,
                    since=normalize_timestamp(since) if since else None,
                    skip_refused=skip_refused,
                )  # fmt: skip
        except TaxiiClientError as exc:
            raise fail(str(exc)) from None
        except BundleRejected as exc:  # errors_as_messages prints it, with each object's error
            exc.message += " of this page; the pages before it were kept"
            if not skip_refused:
                exc.message += "; --skip-refused stores the rest and lists what it leaves out"
            raise
        finally:
            ingestor.close()
    for object_id, reason in result.refused:
        err.print(f"left out {object_id or 'an object without an id'}: {reason}",
                  markup=False, highlight=False)  # fmt: skip
    left_out = f", {len(result.refused)} refused and left out" if result.refused else ""
    typer.echo(
        f"pulled {result.received} objects in {result.pages} page(s): {result.stored} stored, "
        f"{result.unchanged} already present{left_out}; the next pull starts after "
        f"{result.added_after or 'the beginning'}"
    )
