"""`shieldwall user key ...`: issue, list and revoke API keys from the command line, which runs as
the instance's operator (it may manage every key; its actions are audited as the command line's).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from shieldwall.audit import service as audit
from shieldwall.members import keys
from shieldwall.members import service as members
from shieldwall.terminal import (
    DatabaseOption,
    JsonOption,
    errors_as_messages,
    existing_database,
    fail,
    in_write,
    print_json,
    print_rows,
)

key_app = typer.Typer(
    help="API keys: issue, list, revoke.", no_args_is_help=True, rich_markup_mode=None
)
_DAYS = re.compile(r"(\d{1,5})d")


def expiry(text: str | None, now: datetime | None = None) -> datetime | None:
    """`--expires`: a number of days (`90d`), a date (`2027-01-31`, its start in UTC) or a time
    with its zone (`2027-01-31T12:00:00Z`)."""
    if text is None:
        return None
    if days := _DAYS.fullmatch(text.strip()):
        return (now or datetime.now(UTC)) + timedelta(days=int(days[1]))
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"--expires {text!r}: give days (90d), a date (2027-01-31) or a time") from None
    if moment.tzinfo is None:
        if "T" in text:
            raise fail(f"--expires {text!r}: a time needs its zone (Z or +01:00)")
        moment = moment.replace(tzinfo=UTC)
    return moment


@key_app.command("add")
def key_add(
    email: str,
    name: Annotated[
        str, typer.Option(help="the key's name; the user's active key of this name is revoked")
    ] = keys.DEFAULT_NAME,
    expires: Annotated[
        str | None,
        typer.Option(help="when it stops working: 90d, 2027-01-31 or a time with its zone"),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Issue a key for the user with this e-mail; prints it (shown once, stored as a hash)."""
    until = expiry(expires)

    def issue(conn: object) -> keys.NewApiKey:
        user_id = members.user_by_email(conn, email)["id"]  # type: ignore[arg-type]
        return keys.issue(conn, user_id, name=name, expires_at=until)  # type: ignore[arg-type]

    new = in_write(database, "api-key.create", {"email": email, "name": name}, issue)
    typer.echo(f"API key: {new.key}")
    typer.echo(f"prefix:  {new.prefix}")
    for prefix in new.replaced:
        typer.echo(f"revoked: {prefix} (the user's earlier key named {name!r})")


@key_app.command("list")
def key_list(
    user: Annotated[
        str | None, typer.Option(help="only this user's keys (e-mail)", show_default=False)
    ] = None,
    database: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """List keys (never the keys themselves): prefix, name, state, created, last used, expiry."""
    with existing_database(database) as db, db.read() as conn:
        user_id = members.user_by_email(conn, user)["id"] if user is not None else None
        rows = keys.list_keys(conn, None, user_id=user_id)
    if as_json:
        return print_json(rows)
    print_rows(
        rows,
        {
            "prefix": lambda k: k["prefix"],
            "user": lambda k: k["email"],
            "name": lambda k: k["name"],
            "state": lambda k: k["state"],
            "created": lambda k: k["created_at"],
            "last used": lambda k: k["last_used_at"],
            "expires": lambda k: k["expires_at"],
            "revoked": lambda k: k["revoked_at"],
        },
        f"{len(rows)} key(s)",
    )


@key_app.command("revoke")
def key_revoke(
    key: Annotated[str, typer.Argument(help="the key's id, its prefix (sw_xxxxxxxx) or the key")],
    database: DatabaseOption = None,
) -> None:
    """Revoke a key at once: every process serving the database refuses it from now on."""
    with existing_database(database) as db, errors_as_messages(db.url), db.write() as conn:
        revoked = keys.revoke(conn, None, key)
        audit.append(conn, None, "api-key.revoke", {
            "key_id": revoked["id"], "prefix": revoked["prefix"], "user_id": revoked["user_id"],
            "via": "cli",
        })  # fmt: skip
    typer.echo(f"revoked {revoked['prefix']} ({revoked['name']}) of {revoked['email']}")
