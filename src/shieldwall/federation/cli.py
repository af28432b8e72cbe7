"""`shieldwall instance ...`, `shieldwall peer ...` and `shieldwall sync`: this instance as its
peers know it, the peers it exchanges with, and a sync round now."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from shieldwall.federation import peers as peer_service
from shieldwall.federation.keys import instance_key
from shieldwall.markings import TLP
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

instance_app = typer.Typer(
    help="This instance, as its peers know it.", no_args_is_help=True, rich_markup_mode=None
)
peer_app = typer.Typer(
    help="Peers: other Shieldwall instances (or TAXII 2.1 servers) this one exchanges intel with.",
    no_args_is_help=True, rich_markup_mode=None,
)  # fmt: skip


@instance_app.command("key")
def key(database: DatabaseOption = None) -> None:
    """Print this instance's public key on one line (made on first use): give it to the admin
    of each peer, who adds this instance with it."""
    with existing_database(database) as db, errors_as_messages(db.url):
        typer.echo(str(instance_key(db).public))


@peer_app.command("add")
def peer_add(
    name: Annotated[str, typer.Argument(help="the peer; also its member's name here")],
    url: Annotated[
        str,
        typer.Option(help="a Shieldwall's base URL, or (without --public-key) a TAXII API root"),
    ],
    user: Annotated[str, typer.Option(help="e-mail of the account the other side made for us")],
    key: Annotated[str, typer.Option(help="that account's API key")],
    public_key: Annotated[
        str | None,
        typer.Option(
            help="the peer's `shieldwall instance key` line; without it the peer is any TAXII "
            "2.1 server, pulled from only, unsigned",
            show_default=False,
        ),
    ] = None,
    direction: Annotated[str, typer.Option(help="pull, push or both")] = "pull",
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="exchange only objects of this STIX type; repeat for several"),
    ] = None,
    max_tlp: Annotated[
        str | None, typer.Option(help="exchange nothing above this TLP", show_default=False)
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option(help="exchange only objects with this label; repeat")
    ] = None,
    collection: Annotated[
        str | None,
        typer.Option(
            help="a TAXII server's collection (default: every one we may read)", show_default=False
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Add a peer. It is the member of kind `peer` named NAME here (made when there is none;
    give the other side a user of it and an API key, for its own `peer add`)."""
    try:
        level = TLP.parse(max_tlp) if max_tlp is not None else None
    except ValueError as exc:
        raise fail(str(exc)) from None

    def add(conn: Any) -> dict[str, Any]:
        return peer_service.add_peer(
            conn, name, url=url, user=user, key=key, public_key=public_key, direction=direction,
            types=tuple(type_ or ()), max_tlp=level, labels=tuple(label or ()),
            collection_id=collection,
        ).as_dict()  # fmt: skip

    added = in_write(database, "federation.peer.add", {"name": name, "url": url}, add)
    signed = "signatures required" if added["public_key"] else "a TAXII server, unsigned"
    typer.echo(f"peer {added['name']} added ({added['direction']}, {signed}); "
               f"member {added['member_id']}")  # fmt: skip


@peer_app.command("list")
def peer_list(as_json: JsonOption = False, database: DatabaseOption = None) -> None:
    """Every peer, its rule and how its last round went."""
    with existing_database(database) as db, errors_as_messages(db.url), db.read() as conn:
        rows = [p.as_dict() for p in peer_service.list_peers(conn)]
    if as_json:
        print_json({"peers": rows})
        return
    print_rows(rows, {
        "name": lambda p: p["name"], "url": lambda p: p["url"],
        "direction": lambda p: p["direction"], "key id": lambda p: p["key_id"],
        "last sync": lambda p: p["last_sync_at"], "last error": lambda p: p["last_error"],
    }, f"{len(rows)} peer(s)")  # fmt: skip


@peer_app.command("remove")
def peer_remove(
    name: Annotated[str, typer.Argument(help="the peer")], database: DatabaseOption = None
) -> None:
    """Stop exchanging with a peer; its member and what arrived from it stay."""
    in_write(database, "federation.peer.remove", {"name": name},
             lambda conn: peer_service.remove_peer(conn, name))  # fmt: skip
    typer.echo(f"peer {name} removed")


def sync(
    peer: Annotated[
        str | None, typer.Option(help="only this peer (default: every one)", show_default=False)
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Run one sync round with the peers now: pull what may leave towards us, push what may
    leave towards them; each resumes where the last round stopped."""
    # Loaded for a sync only: the command line imports this module for every command.
    from shieldwall.federation.sync import RoundResult
    from shieldwall.federation.sync import sync as run_round
    from shieldwall.intel.ingest import ingestor_for

    settings = settings_for(database)
    with existing_database(database) as db, errors_as_messages(db.url):
        ingestor = ingestor_for(db, settings)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        try:
            with Progress(*columns, console=err, transient=True) as progress:
                task = progress.add_task("syncing")

                def shown(result: RoundResult) -> None:
                    progress.update(task, description=(
                        f"{result.peer}: {result.received} received, {result.stored} stored, "
                        f"{result.pushed} pushed"
                    ))  # fmt: skip

                results = run_round(
                    db, ingestor, peer_name=peer, page=settings.federation_page_size,
                    on_page=shown,
                )  # fmt: skip
        finally:
            ingestor.close()
    if not results:
        typer.echo("no peers to sync with (add one with `shieldwall peer add`)")
    for result in results:
        typer.echo(
            f"{result.peer}: received {result.received}, stored {result.stored}, "
            f"{result.unchanged} already here or not taken, pushed {result.pushed}"
            + (f"; FAILED: {result.error}" if result.error else "")
        )
    if any(r.error for r in results):
        raise typer.Exit(1)
