"""The `shieldwall` command: thin wrappers over library functions.

Every command finds its database by the one rule in settings.py (--database, else
$SHIELDWALL_DATABASE_URL, else the per-user default). `init`, `serve` and `demo` create it; every
other command opens only a database that exists and holds Shieldwall's tables, and otherwise says
which database it looked for, and where that came from, instead of creating an empty one.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from shieldwall.dataprotection.cli import privacy_app, retention_app
from shieldwall.db import Database, migrate
from shieldwall.errors import NotFound
from shieldwall.federation.keys import instance_key
from shieldwall.intel.identities import platform_identities
from shieldwall.markings import TLP, Distribution
from shieldwall.members import service as members
from shieldwall.policy import Role
from shieldwall.settings import Settings
from shieldwall.terminal import (
    DatabaseOption,
    JsonOption,
    err,
    errors_as_messages,
    existing_database,
    fail,
    in_write,
    out,
    print_json,
    print_rows,
    settings_for,
    shown,
)

if TYPE_CHECKING:  # imported where used: most commands never look anything up
    from shieldwall.correlate.client import LookupReport
    from shieldwall.correlate.helper import Options
    from shieldwall.exchange.formats import Format

# rich_markup_mode=None: a usage error is click's one "Error: ..." line, not a drawn box.
app = typer.Typer(
    help="Shieldwall: threat-intel sharing for a cyber-defence partnership.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
member_app = typer.Typer(
    help="Members of the partnership.", no_args_is_help=True, rich_markup_mode=None
)
user_app = typer.Typer(
    help="Users and their API keys.", no_args_is_help=True, rich_markup_mode=None
)
group_app = typer.Typer(help="Sharing groups.", no_args_is_help=True, rich_markup_mode=None)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(member_app, name="member")
app.add_typer(user_app, name="user")
app.add_typer(group_app, name="group")
app.add_typer(audit_app, name="audit")

PortOption = Annotated[
    int | None, typer.Option(help="port to listen on (1-65535)", min=1, max=65535)
]


def _version(show: bool) -> None:
    if show:
        typer.echo(f"shieldwall {importlib.metadata.version('shieldwall')}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Shieldwall: threat-intel sharing for a cyber-defence partnership."""


@app.command()
def init(database: DatabaseOption = None) -> None:
    """Create the database, or migrate it to the newest schema."""
    url = settings_for(database).database_url
    with errors_as_messages(url):
        migrate(url)
        db = Database(url)
        try:
            removed = platform_identities(db, settings_for(database))
            instance_key(db)  # who this instance is to its peers (federation)
        finally:
            db.dispose()
    if removed:
        typer.echo(f"removed {removed} version(s) of identities only the platform may write")
    typer.echo(f"database ready: {shown(url)}")


@member_app.command("add")
def member_add(
    name: str,
    kind: Annotated[
        str,
        typer.Option(
            help="alliance, national-cert, industry, academia, partner, or peer (another instance)"
        ),
    ],
    country: Annotated[str | None, typer.Option(help="ISO 3166 two-letter code")] = None,
    sector: Annotated[list[str] | None, typer.Option(help="a sector; repeat for several")] = None,
    capability: Annotated[
        list[str] | None, typer.Option(help="a capability; repeat for several")
    ] = None,
    default_tlp: Annotated[str, typer.Option(help="TLP of objects shared without one")] = "amber",
    default_distribution: Annotated[
        str, typer.Option(help="distribution of objects shared without one")
    ] = "community",
    database: DatabaseOption = None,
) -> None:
    """Add a member; prints its id."""
    try:
        tlp, distribution = TLP.parse(default_tlp), Distribution(default_distribution)
    except ValueError as exc:
        raise fail(str(exc)) from None
    member_id = in_write(
        database,
        "member.create",
        {"name": name},
        lambda conn: members.create_member(
            conn,
            name,
            kind,
            country=country,
            sectors=sector or [],
            capabilities=capability or [],
            default_tlp=tlp,
            default_distribution=distribution,
        ),
    )
    typer.echo(member_id)


@member_app.command("list")
def member_list(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List the members."""
    with existing_database(database) as db, db.read() as conn:
        rows = members.list_members(conn)
    if as_json:
        return print_json(rows)
    print_rows(
        rows,
        {
            "name": lambda m: m["name"],
            "kind": lambda m: m["kind"],
            "country": lambda m: m["country"],
            "sectors": lambda m: m["sectors"],
            "capabilities": lambda m: m["capabilities"],
            "default TLP": lambda m: m["default_tlp"],
            "id": lambda m: m["id"],
        },
        f"{len(rows)} member(s)",
    )


@user_app.command("add")
def user_add(
    email: str,
    member: Annotated[str, typer.Option(help="the member's name")],
    role: Annotated[Role, typer.Option(help="admin, member-admin, analyst or reader")],
    database: DatabaseOption = None,
) -> None:
    """Add a user; prints its id and a new API key (shown once, stored only as a hash)."""

    def create(conn: object) -> members.NewApiKey:
        return members.create_user(conn, email, members.member_id_by_name(conn, member), role)  # type: ignore[arg-type]

    new = in_write(database, "user.create", {"email": email, "member": member}, create)
    typer.echo(f"user id: {new.user_id}")
    typer.echo(f"API key: {new.key}")


@user_app.command("password")
def user_password(email: str, database: DatabaseOption = None) -> None:
    """Set the password the user signs in to the web application with: read from standard
    input (its first line), or prompted for twice on a terminal. Stored as an argon2 hash."""
    from shieldwall.members import passwords

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")

    def store(conn: object) -> str:
        user_id = members.user_by_email(conn, email)["id"]  # type: ignore[arg-type]
        passwords.set_password(conn, user_id, password)  # type: ignore[arg-type]
        return user_id

    in_write(database, "user.password", {"email": email}, store)
    typer.echo(f"password set for {email}")


@user_app.command("list")
def user_list(
    member: Annotated[
        str | None, typer.Option(help="only this member's users (its name)", show_default=False)
    ] = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the users, of every member or of one."""
    with existing_database(database) as db, db.read() as conn:
        member_id = members.member_id_by_name(conn, member) if member is not None else None
        rows = members.list_users(conn, member_id)
        names = {m["id"]: m["name"] for m in members.list_members(conn)}
    rows = [{**u, "member": names.get(u["member_id"])} for u in rows]
    if as_json:
        return print_json(rows)
    print_rows(
        rows,
        {
            "e-mail": lambda u: u["email"],
            "member": lambda u: u["member"],
            "role": lambda u: u["role"],
            "disabled": lambda u: "disabled" if u["disabled"] else "",
            "id": lambda u: u["id"],
        },
        f"{len(rows)} user(s)",
    )


@group_app.command("add")
def group_add(
    name: str,
    member: Annotated[list[str], typer.Option(help="a member's name; repeat for each member")],
    database: DatabaseOption = None,
) -> None:
    """Create a sharing group of the named members; prints its id. The first member owns it."""

    def create(conn: object) -> str:
        ids = [members.member_id_by_name(conn, m) for m in member]  # type: ignore[arg-type]
        return members.create_group(conn, name, ids[0], ids)  # type: ignore[arg-type]

    typer.echo(in_write(database, "group.create", {"name": name, "members": member}, create))


@group_app.command("join")
def group_join(
    group: Annotated[str, typer.Argument(help="the group's id or name")],
    member: Annotated[str, typer.Option(help="the member's name")],
    database: DatabaseOption = None,
) -> None:
    """Add a member to a sharing group (for instance, this instance's members to a group that
    arrived from a peer)."""

    def join(conn: object) -> str:
        groups = {g["id"]: g for g in members.list_groups(conn)}  # type: ignore[arg-type]
        found = groups.get(group) or next((g for g in groups.values() if g["name"] == group), None)
        if found is None:
            raise NotFound(f"no sharing group {group!r}")
        member_id = members.member_id_by_name(conn, member)  # type: ignore[arg-type]
        members.add_group_member(conn, found["id"], member_id)  # type: ignore[arg-type]
        return str(found["id"])

    in_write(database, "group.join", {"group": group, "member": member}, join)
    typer.echo(f"{member} is in the group {group}")


@group_app.command("list")
def group_list(database: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List the sharing groups and their members."""
    with existing_database(database) as db, db.read() as conn:
        rows = members.list_groups(conn)
        names = {m["id"]: m["name"] for m in members.list_members(conn)}
    rows = [
        {
            **g,
            "owner": names.get(g["owner_member_id"]),
            "members": sorted(names.get(m, m) for m in g["member_ids"]),
        }
        for g in rows
    ]
    if as_json:
        return print_json(rows)
    print_rows(
        rows,
        {
            "name": lambda g: g["name"],
            "owner": lambda g: g["owner"],
            "members": lambda g: g["members"],
            "id": lambda g: g["id"],
        },
        f"{len(rows)} sharing group(s)",
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: PortOption = None,
    database: DatabaseOption = None,
) -> None:
    """Serve the API (the database is created or migrated first)."""
    settings = settings_for(database, host=host, port=port)
    with errors_as_messages(settings.database_url):
        migrate(settings.database_url)
    _serve(settings)


def _serve(settings: Settings) -> None:
    import uvicorn

    from shieldwall.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command("import")
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
    given = {"name": name, "tlp": tlp, "distribution": distribution}
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
            viewer = members.viewer_for_user(conn, members.user_by_email(conn, user)["id"])
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
            viewer = members.viewer_for_user(conn, members.user_by_email(conn, user)["id"])
        ingestor = ingestor_for(db, settings)
        try:
            result = fmt.importer(ingestor, viewer, file.read_bytes(), f"cli:{file.name}", options)
        finally:
            ingestor.close()
    for report in [i for i in result.stored_ids if i.startswith("report--")][:5]:
        typer.echo(f"report {report}")
    typer.echo(f"stored {result.stored} objects, {result.unchanged} already present")


@app.command("export")
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
            viewer = members.viewer_for_user(conn, members.user_by_email(conn, user)["id"])
        out = output.open("wb") if output else sys.stdout.buffer
        try:
            for piece in fmt.exporter(db, viewer, settings, options):
                out.write(piece.encode() if isinstance(piece, str) else piece)
        finally:
            if output:
                out.close()
            else:
                out.flush()


@app.command("formats")
def list_formats() -> None:
    """The exchange formats and whether each imports and/or exports."""
    from shieldwall.exchange.formats import formats

    for fmt in formats():
        able = "/".join(d for d, f in (("import", fmt.importer), ("export", fmt.exporter)) if f)
        typer.echo(f"{fmt.name:12} {able:14} {fmt.description}")


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: PortOption = None,
    database: DatabaseOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="seed only")] = False,
) -> None:
    """Seed the SYNTHETIC demo data set into the database (once) and serve it; each start
    prints a new admin API key and web password, replacing the ones printed before."""
    from shieldwall.demo import DEMO_WARNINGLISTS, seed

    settings = settings_for(database, host=host, port=port, warninglists=DEMO_WARNINGLISTS)
    with errors_as_messages(settings.database_url):
        migrate(settings.database_url)
        db = Database(settings.database_url)
        try:
            login = seed(db, settings)
        finally:
            db.dispose()
    url = f"http://{settings.host}:{settings.port}"
    typer.echo("Shieldwall demo — every member, user and report in it is SYNTHETIC.")
    typer.echo(f"  database: {shown(settings.database_url)}")
    typer.echo(f"  web:      {url}/  (sign in: {login.email} / {login.password})")
    typer.echo(f"  URL:      {url}/api/v1/docs")
    typer.echo(f"  login:    {login.email} (instance admin)")
    typer.echo(f"  API key:  {login.key} (the key printed before this one no longer works)")
    typer.echo(
        f"  try:      curl -H 'Authorization: Bearer {login.key}' {url}/api/v1/objects?type=report"
    )
    if not no_serve:
        _serve(settings)


@app.command()
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
            viewer = members.viewer_for_user(conn, members.user_by_email(conn, user)["id"])
        return local_lookup(db, viewer, settings, lines, options)


@audit_app.command("verify")
def audit_verify(database: DatabaseOption = None) -> None:
    """Check the audit chain; exits non-zero naming the first bad entry."""
    from shieldwall.audit.service import verify

    with existing_database(database) as db:
        result = verify(db)
    if not result.ok:
        raise fail(
            f"audit chain broken at entry {result.first_bad_seq}: {result.reason} "
            f"({result.checked} entries before it are intact)"
        )
    typer.echo(f"audit chain intact: {result.checked} entries")


def _add_capability_commands() -> None:
    """Commands that live with their capability; imported last, as they build on the helpers
    above."""

    from shieldwall.members.cli import key_app
    from shieldwall.operations.cli import operations_app

    user_app.add_typer(key_app, name="key")
    app.add_typer(operations_app)  # backup, restore, check
    app.add_typer(privacy_app, name="privacy")
    app.add_typer(retention_app, name="retention")
    from shieldwall.taxii.cli import collection_app, taxii_app

    app.add_typer(collection_app, name="collection")
    app.add_typer(taxii_app, name="taxii")
    from shieldwall.federation.cli import instance_app, peer_app, sync

    app.add_typer(instance_app, name="instance")
    app.add_typer(peer_app, name="peer")
    app.command("sync")(sync)

    from shieldwall.exchange.misp_cli import feed_app

    app.add_typer(feed_app, name="feed")


_add_capability_commands()


def main() -> None:
    app(prog_name="shieldwall")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
