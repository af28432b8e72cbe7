"""The `shieldwall` command: thin wrappers over library functions.

Every command finds its database by the one rule in settings.py (--database, else
$SHIELDWALL_DATABASE_URL, else the per-user default). `init`, `serve` and `demo` create it; every
other command opens only a database that exists and holds Shieldwall's tables, and otherwise says
which database it looked for, and where that came from, instead of creating an empty one.
"""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Annotated

import typer

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
    errors_as_messages,
    existing_database,
    fail,
    in_write,
    print_json,
    print_rows,
    settings_for,
    shown,
)

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
    typer.echo(
        f"  TAXII:    {url}/taxii2/shieldwall/collections/{login.collection_id}/objects/ "
        "(Basic: the login and the API key, or the key as a Bearer token)"
    )
    typer.echo(f"  MISP feed: {url}/feeds/misp/{login.collection_id}/manifest.json")
    if not no_serve:
        _serve(settings)


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

    from shieldwall.exchange.cli import export_format, import_bundle, list_formats
    from shieldwall.exchange.misp_cli import feed_app

    app.command("import")(import_bundle)
    app.command("export")(export_format)
    app.command("formats")(list_formats)
    app.add_typer(feed_app, name="feed")
    from shieldwall.correlate.cli import lookup

    app.command("lookup")(lookup)


_add_capability_commands()


def main() -> None:
    app(prog_name="shieldwall")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
