"""`shieldwall privacy ...` and `shieldwall retention ...`: thin wrappers over the services,
acting as the instance's administrator at the command line (audited as such)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from shieldwall import terminal as base
from shieldwall.dataprotection import personal, retention
from shieldwall.members.service import member_id_by_name
from shieldwall.policy import Role, Viewer

privacy_app = typer.Typer(help="Personal data in stored intel.", no_args_is_help=True,
                          rich_markup_mode=None)  # fmt: skip
retention_app = typer.Typer(help="How long intel is kept.", no_args_is_help=True,
                            rich_markup_mode=None)  # fmt: skip
# Who the command line is in the audit log: the instance's administrator at the console.
COMMAND_LINE = Viewer("command-line", "platform", Role.ADMIN, email="shieldwall command line")


@privacy_app.command("find")
def privacy_find(value: str, database: base.DatabaseOption = None,
                 as_json: base.JsonOption = False) -> None:  # fmt: skip
    """Every stored object version holding VALUE (an e-mail address, phone number, name or
    account), and where in it."""
    with base.existing_database(database) as db, base.errors_as_messages(db.url):
        found = personal.find(db, COMMAND_LINE, value)
    rows = [{"id": f.object_id, "modified": f.modified, "owner": f.owner,
             "properties": list(f.properties)} for f in found]  # fmt: skip
    if as_json:
        base.print_json(rows)
        return
    base.print_rows(rows, {"object": lambda r: r["id"], "version": lambda r: r["modified"],
                            "owner": lambda r: r["owner"], "where": lambda r: r["properties"]},
                     f"{len(rows)} version(s) hold it")  # fmt: skip


@privacy_app.command("erase")
def privacy_erase(
    value: str,
    reason: Annotated[str, typer.Option(help="why (audited; the value itself is not)")],
    database: base.DatabaseOption = None,
) -> None:
    """Replace VALUE with a marker in every stored version and sighting, rebuilding indexes."""
    from shieldwall.intel.ingest import ingestor_for

    with base.existing_database(database) as db, base.errors_as_messages(db.url):
        ingestor = ingestor_for(db, base.settings_for(database))
        try:
            result = personal.erase(db, COMMAND_LINE, value, reason, ingestor.indexes)
        finally:
            ingestor.close()
    typer.echo(f"erased from {result['versions']} version(s) and {result['sightings']} "
               "sighting(s)")  # fmt: skip


@retention_app.command("set")
def retention_set(
    days: Annotated[
        int | None, typer.Argument(help="days to keep; omit to remove the rule")
    ] = None,
    member: Annotated[str | None, typer.Option(help="a member's name (default: all)")] = None,
    type_: Annotated[str | None, typer.Option("--type", help="a STIX type (default: all)")] = None,
    database: base.DatabaseOption = None,
) -> None:
    """Keep intel of a member and type for DAYS days (the most specific rule applies)."""

    def write(conn: object) -> None:
        member_id = member_id_by_name(conn, member) if member else None  # type: ignore[arg-type]
        retention.set_rule(conn, member_id, type_, days)  # type: ignore[arg-type]

    base.in_write(database, "retention.set", {"member": member, "type": type_, "days": days},
                   write)  # fmt: skip
    typer.echo("retention rule removed" if days is None else f"kept for {days} day(s)")


@retention_app.command("list")
def retention_list(database: base.DatabaseOption = None, as_json: base.JsonOption = False) -> None:
    """The retention rules, most specific first."""
    with base.existing_database(database) as db, db.read() as conn:
        rules = retention.rules_as_dicts(conn)
    if as_json:
        base.print_json(rules)
        return
    base.print_rows(rules, {"member": lambda r: r["member_id"] or "(all)",
                             "type": lambda r: r["type"] or "(all)", "days": lambda r: r["days"]},
                     "retention rules")  # fmt: skip


@retention_app.command("run")
def retention_run(database: base.DatabaseOption = None) -> None:
    """Remove what has outlived its rule now (the server does it every hour)."""
    with base.existing_database(database) as db, base.errors_as_messages(db.url):
        removed = retention.apply(db, now=datetime.now(UTC))
    typer.echo(f"removed {removed} expired object version(s)")
