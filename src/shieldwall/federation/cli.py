"""`shieldwall instance ...`: this instance as its peers know it."""

from __future__ import annotations

import typer

from shieldwall.federation.keys import instance_key
from shieldwall.terminal import DatabaseOption, errors_as_messages, existing_database

instance_app = typer.Typer(
    help="This instance, as its peers know it.", no_args_is_help=True, rich_markup_mode=None
)


@instance_app.command("key")
def key(database: DatabaseOption = None) -> None:
    """Print this instance's public key on one line (made on first use): give it to the admin
    of each peer, who adds this instance with it."""
    with existing_database(database) as db, errors_as_messages(db.url):
        typer.echo(str(instance_key(db).public))
