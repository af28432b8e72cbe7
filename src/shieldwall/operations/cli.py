"""`shieldwall backup`, `shieldwall restore` and `shieldwall check`: running the instance's data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from shieldwall.errors import ShieldwallError
from shieldwall.operations import backup as backups
from shieldwall.terminal import (
    DatabaseOption,
    JsonOption,
    errors_as_messages,
    existing_database,
    fail,
    print_json,
    settings_for,
    shown,
)

operations_app = typer.Typer(rich_markup_mode=None)
ReplaceOption = Annotated[
    bool, typer.Option("--replace", help="overwrite what is there (see the README first)")
]


@operations_app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(help="where to write the backup")],
    replace: ReplaceOption = False,
    database: DatabaseOption = None,
) -> None:
    """Write a consistent backup of the database to FILE while it is in use (SQLite's backup
    API; pg_dump for PostgreSQL)."""
    with existing_database(database) as db:
        url = db.url
    started = time.perf_counter()
    with errors_as_messages(url):
        try:
            result = backups.backup(url, file, replace=replace)
        except ShieldwallError as exc:
            raise fail(exc.message) from None
    seconds = time.perf_counter() - started
    typer.echo(f"backed up {shown(url)} to {file} ({result.kind}, {result.bytes:,} bytes, "
               f"{seconds:.1f} s)")  # fmt: skip


@operations_app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="a file `shieldwall backup` wrote")],
    replace: ReplaceOption = False,
    database: DatabaseOption = None,
) -> None:
    """Restore FILE into the database (a fresh one unless --replace), then migrate it to the
    newest schema. Stop the servers using that database first."""
    url = settings_for(database).database_url
    started = time.perf_counter()
    with errors_as_messages(url):
        try:
            backups.restore(url, file, replace=replace)
        except ShieldwallError as exc:
            raise fail(exc.message) from None
    seconds = time.perf_counter() - started
    typer.echo(f"restored {file} into {shown(url)} ({seconds:.1f} s); check it with "
               "`shieldwall check` and `shieldwall audit verify`")  # fmt: skip


@operations_app.command("check")
def check_command(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Check the store is whole: a change log without gaps, every write whole, indexes that
    agree with the objects, one latest version each, and the audit chain; non-zero exit and
    every problem listed otherwise."""
    from shieldwall.intel.ingest import ingestor_for
    from shieldwall.operations.consistency import check

    # Warning-list flags are not compared (consistency.py says why): no lists to load.
    settings = settings_for(database, warninglists="none", validation_workers=0)
    with existing_database(database) as db:
        ingestor = ingestor_for(db, settings)
        try:
            report = check(db, ingestor.indexes)
        finally:
            ingestor.close()
    if as_json:
        print_json({
            "ok": report.ok, "objects": report.objects, "changes": report.changes,
            "audit_entries": report.audit_entries, "problems": list(report.problems),
        })  # fmt: skip
    else:
        for problem in report.problems:
            typer.echo(problem, err=True)
        typer.echo(f"{'whole' if report.ok else 'NOT WHOLE'}: {report.objects:,} object versions, "
                   f"{report.changes:,} changes, {report.audit_entries:,} audit entries, "
                   f"{len(report.problems)} problem(s)")  # fmt: skip
    if not report.ok:
        raise typer.Exit(1)
