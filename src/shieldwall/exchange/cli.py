"""`shieldwall import`, `export` and `formats`: files in and out in the exchange formats (thin:
formats.py and the format modules do the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from shieldwall.members import service as members
from shieldwall.settings import Settings
from shieldwall.terminal import (
    DatabaseOption,
    err,
    errors_as_messages,
    existing_database,
    fail,
    settings_for,
)

if TYPE_CHECKING:
    from shieldwall.exchange.formats import Format


def import_bundle(
    file: Annotated[Path, typer.Argument(help="a STIX 2.1 bundle, MISP events, CSV or free text")],
    user: Annotated[str, typer.Option(help="e-mail of the user who shares it")],
    database: DatabaseOption = None,
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="stix (a STIX 2.1 bundle), misp (MISP events), csv or text (free text); "
            "detected from the file's start when not given",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="text: the report's name (default: the file's)")
    ] = None,
    tlp: Annotated[
        str | None, typer.Option(help="text, csv: the TLP (default amber; csv: of rows without)")
    ] = None,
    distribution: Annotated[
        str | None,
        typer.Option(help="text, csv: org, community, federation or all (csv: org by default)"),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            help="csv without a header of known names: NAME=N maps a column by its number "
            "from 1, NAME one of kind, value, tlp, labels, comment (e.g. --column kind=1 "
            "--column value=3); every row is then data",
            show_default=False,
        ),
    ] = None,
    skip_header: Annotated[
        bool, typer.Option("--skip-header", help="csv with --column: skip the first row")
    ] = False,
) -> None:
    """Share a file as USER, all or nothing: a STIX 2.1 bundle (read in two passes, so memory
    holds the objects' ids, not the file), MISP event JSON, a CSV of indicators, or the
    indicators found in free text as one report."""
    from shieldwall.exchange.formats import detect_format, format_for
    from shieldwall.intel.ingest import ingestor_for

    if file.is_dir():
        raise fail(f"{file}: a folder, not a file to import")
    if not file.is_file():
        raise fail(f"{file}: no such file")
    if file_format is None:
        with file.open("rb") as head:
            file_format = detect_format(head.read(65536))
        err.print(f"{file.name}: imported as {file_format}", highlight=False, markup=False)
    if file_format == "text" and name is None:
        name = file.name
    given = {"name": name, "tlp": tlp, "distribution": distribution,
             "column": ",".join(column) if column else None,
             "skip_header": "yes" if skip_header else None}  # fmt: skip
    options = {k: v for k, v in given.items() if v is not None}
    settings = settings_for(database)
    with errors_as_messages(settings.database_url):
        fmt = format_for(file_format, direction="import")
        fmt.check_options(options, direction="import")
    if fmt.name != "stix":  # a STIX bundle is read in two passes below; others whole
        _import_format(fmt, file, user, options, settings, database)
        return
    with existing_database(database) as db:
        with db.read() as conn:
            viewer = members.viewer_for_email(conn, user)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("objects"),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task(f"reading {file.name}", total=None)
            read = 0

            def counted(phase: str, count: int) -> None:
                """Objects read (first pass), then stored of those read (second pass)."""
                nonlocal read
                if phase == "read":
                    read = count
                    progress.update(task, completed=count)
                else:
                    progress.update(
                        task, description="validating and storing", completed=count, total=read
                    )

            ingestor = ingestor_for(db, settings)
            try:
                result = ingestor.ingest_file(
                    viewer, file, source=f"cli:{file.name}", progress=counted
                )
            finally:
                ingestor.close()
    typer.echo(f"stored {result.stored} objects, {result.unchanged} already present")


def _import_format(
    fmt: Format,
    file: Path,
    user: str,
    options: dict[str, str],
    settings: Settings,
    database: str | None,
) -> None:
    from shieldwall.intel.ingest import ingestor_for

    assert fmt.importer is not None
    with existing_database(database) as db, errors_as_messages(db.url):
        with db.read() as conn:
            viewer = members.viewer_for_email(conn, user)
        ingestor = ingestor_for(db, settings)
        try:
            result = fmt.importer(ingestor, viewer, file.read_bytes(), f"cli:{file.name}", options)
        finally:
            ingestor.close()
    for report in [i for i in result.stored_ids if i.startswith("report--")][:5]:
        typer.echo(f"report {report}")
    typer.echo(f"stored {result.stored} objects, {result.unchanged} already present")


def export_format(
    file_format: Annotated[str, typer.Option("--format", help="see `shieldwall formats`")],
    user: Annotated[str, typer.Option(help="e-mail of the user whose view is exported")],
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="NAME=VALUE, e.g. kind=ipv4")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="file to write (default: standard output)")
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Write what USER may see in an export format (exchange/formats.py), streamed."""
    from shieldwall.exchange.formats import format_for

    options: dict[str, str] = {}
    for item in option or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise fail(f"--option: NAME=VALUE, not {item!r}")
        options[key] = value
    settings = settings_for(database)
    with existing_database(database) as db, errors_as_messages(db.url):
        fmt = format_for(file_format, direction="export")
        assert fmt.exporter is not None
        fmt.check_options(options)
        with db.read() as conn:
            viewer = members.viewer_for_email(conn, user)
        out = output.open("wb") if output else sys.stdout.buffer
        try:
            for piece in fmt.exporter(db, viewer, settings, options):
                out.write(piece.encode() if isinstance(piece, str) else piece)
        finally:
            if output:
                out.close()
            else:
                out.flush()


def list_formats() -> None:
    """The exchange formats and whether each imports and/or exports."""
    from shieldwall.exchange.formats import formats

    for fmt in formats():
        able = "/".join(d for d, f in (("import", fmt.importer), ("export", fmt.exporter)) if f)
        typer.echo(f"{fmt.name:12} {able:14} {fmt.description}")
