"""The `shieldwall` command: thin wrappers over library functions."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn
from sqlalchemy.exc import SQLAlchemyError

from shieldwall.audit import service as audit
from shieldwall.db import Database, migrate
from shieldwall.errors import ShieldwallError
from shieldwall.markings import TLP, Distribution
from shieldwall.members import service as members
from shieldwall.policy import Role
from shieldwall.settings import Settings

app = typer.Typer(
    help="Shieldwall: threat-intel sharing for a cyber-defence partnership.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
member_app = typer.Typer(help="Members of the partnership.", no_args_is_help=True)
user_app = typer.Typer(help="Users and their API keys.", no_args_is_help=True)
group_app = typer.Typer(help="Sharing groups.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(member_app, name="member")
app.add_typer(user_app, name="user")
app.add_typer(group_app, name="group")
app.add_typer(audit_app, name="audit")

err = Console(stderr=True, soft_wrap=True)  # an error stays on one line, whatever the width
T = TypeVar("T")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database", help="Database URL (default: $SHIELDWALL_DATABASE_URL, else ./var)."
    ),
]


def _settings(database: str | None, **overrides: object) -> Settings:
    return Settings.from_env(database_url=database, **overrides)


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


@contextmanager
def _errors_as_messages() -> Iterator[None]:
    """One line and a non-zero exit for every expected failure, never a traceback."""
    try:
        yield
    except ShieldwallError as exc:
        for detail in exc.details[:20]:
            where = " ".join(
                f"{k}={detail[k]}" for k in ("index", "id", "property") if detail.get(k) is not None
            )
            err.print(f"  {where}: {detail.get('message')}", highlight=False)
        if len(exc.details) > 20:
            err.print(f"  ... and {len(exc.details) - 20} more", highlight=False)
        raise fail(exc.message) from None
    except SQLAlchemyError as exc:
        first_line = str(exc.orig if getattr(exc, "orig", None) else exc).splitlines()[0]
        raise fail(f"database error: {first_line} (did you run `shieldwall init`?)") from None


def _in_write(database: str | None, action: str, detail: dict, fn: Callable[..., T]) -> T:
    """Run `fn` and its audit entry (actor: the command line) in one write transaction."""
    with _errors_as_messages():
        db = Database(_settings(database).database_url)
        try:
            with db.write() as conn:
                result = fn(conn)
                audit.append(
                    conn, None, action, {**detail, "via": "cli", "result": audit.subject_of(result)}
                )
                return result
        finally:
            db.dispose()


@app.command()
def init(database: DatabaseOption = None) -> None:
    """Create the database, or migrate it to the newest schema."""
    url = _settings(database).database_url
    with _errors_as_messages():
        migrate(url)
    typer.echo(f"database ready: {url}")


@member_app.command("add")
def member_add(
    name: str,
    kind: Annotated[
        str, typer.Option(help="alliance, national-cert, industry, academia or partner")
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
    member_id = _in_write(
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

    new = _in_write(database, "user.create", {"email": email, "member": member}, create)
    typer.echo(f"user id: {new.user_id}")
    typer.echo(f"API key: {new.key}")


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

    typer.echo(_in_write(database, "group.create", {"name": name, "members": member}, create))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    database: DatabaseOption = None,
) -> None:
    """Serve the API (the database is migrated first)."""
    settings = _settings(database, host=host, port=port)
    with _errors_as_messages():
        migrate(settings.database_url)
    _serve(settings)


def _serve(settings: Settings) -> None:
    import uvicorn

    from shieldwall.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command("import")
def import_bundle(
    file: Annotated[Path, typer.Argument(help="a STIX 2.1 bundle (JSON)")],
    user: Annotated[str, typer.Option(help="e-mail of the user who shares it")],
    database: DatabaseOption = None,
) -> None:
    """Share a STIX 2.1 bundle file as USER, all or nothing."""
    from shieldwall.intel.ingest import ingestor_for

    if not file.is_file():
        raise fail(f"{file}: no such file")
    settings = _settings(database)
    with _errors_as_messages():
        db = Database(settings.database_url)
        try:
            with db.read() as conn:
                viewer = members.viewer_for_user(conn, members.user_by_email(conn, user)["id"])
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                console=err,
                transient=True,
            ) as progress:
                task = progress.add_task(f"reading {file.name}", total=file.stat().st_size)
                chunks = []
                with file.open("rb") as fh:
                    while chunk := fh.read(1 << 20):
                        chunks.append(chunk)
                        progress.advance(task, len(chunk))
                progress.update(task, description="validating and storing", total=None)
                ingestor = ingestor_for(db, settings)
                try:
                    result = ingestor.ingest_json(
                        viewer, b"".join(chunks), source=f"cli:{file.name}"
                    )
                finally:
                    ingestor.close()
        finally:
            db.dispose()
    typer.echo(f"stored {result.stored} objects, {result.unchanged} already present")


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    database: Annotated[
        str, typer.Option("--database", help="database URL")
    ] = "sqlite:///var/demo.db",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="seed only")] = False,
) -> None:
    """Seed the SYNTHETIC demo data set (once) and serve it."""
    from shieldwall.demo import DEMO_WARNINGLISTS, seed

    settings = Settings.from_env(
        database_url=database, host=host, port=port, warninglists=DEMO_WARNINGLISTS
    )
    with _errors_as_messages():
        migrate(settings.database_url)
        db = Database(settings.database_url)
        try:
            login = seed(db, settings)
        finally:
            db.dispose()
    url = f"http://{settings.host}:{settings.port}"
    typer.echo("Shieldwall demo — every member, user and report in it is SYNTHETIC.")
    typer.echo(f"  URL:      {url}/api/v1/docs")
    typer.echo(f"  login:    {login.email} (instance admin)")
    typer.echo(f"  API key:  {login.key}")
    typer.echo(
        f"  try:      curl -H 'Authorization: Bearer {login.key}' {url}/api/v1/objects?type=report"
    )
    if not no_serve:
        _serve(settings)


@app.command()
def lookup(
    file: Annotated[Path, typer.Argument(help="values to look up, one per line")],
    private: Annotated[
        bool, typer.Option("--private", help="disclose only a 5-hex-digit hash prefix per value")
    ] = False,
    url: Annotated[str, typer.Option(help="the Shieldwall server")] = "http://127.0.0.1:8000",
    key: Annotated[
        str | None, typer.Option(help="API key (default: $SHIELDWALL_API_KEY)", show_default=False)
    ] = None,
) -> None:
    """Look values up on a server; with --private the values themselves never leave here."""
    import os

    import httpx

    from shieldwall.correlate.client import LookupFailed, plain_lookup, private_lookup

    api_key = key or os.environ.get("SHIELDWALL_API_KEY")
    if not api_key:
        raise fail("an API key is needed: --key or $SHIELDWALL_API_KEY")
    if not file.is_file():
        raise fail(f"{file}: no such file")
    try:
        with httpx.Client(timeout=120) as http:
            ask = private_lookup if private else plain_lookup
            answers = ask(http, url.rstrip("/"), api_key, file.read_text().splitlines())
    except (LookupFailed, httpx.HTTPError) as exc:
        raise fail(str(exc)) from None
    for answer in answers:
        if answer.key is None:
            typer.echo(f"{answer.value}\tunreadable")
            continue
        ids = ",".join(m["id"] for m in answer.matches) or "-"
        typer.echo(f"{answer.value}\t{len(answer.matches)} match(es)\t{ids}")


@audit_app.command("verify")
def audit_verify(database: DatabaseOption = None) -> None:
    """Check the audit chain; exits non-zero naming the first bad entry."""
    from shieldwall.audit.service import verify

    with _errors_as_messages():
        db = Database(_settings(database).database_url)
        try:
            result = verify(db)
        finally:
            db.dispose()
    if not result.ok:
        raise fail(
            f"audit chain broken at entry {result.first_bad_seq}: {result.reason} "
            f"({result.checked} entries before it are intact)"
        )
    typer.echo(f"audit chain intact: {result.checked} entries")


def main() -> None:
    app(prog_name="shieldwall")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
