"""Online backups and restores: a consistent copy while the server keeps serving and writing.

SQLite: the database's own backup API (sqlite3's `Connection.backup`), copying every page in
one step under one read transaction, so the copy is the database as one commit left it, however
many writes go on meanwhile (WAL: readers never block the writer, nor it them). The backup file
is an SQLite database; it is written beside FILE and renamed into place, so FILE is never half a
backup. PostgreSQL: `pg_dump --format=custom`, which reads in one repeatable-read snapshot, and
`pg_restore --single-transaction`, which restores all or nothing; both are found on PATH (install
the PostgreSQL client of the server's major version), and the password travels in the
environment, never on a command line others can read.

A restore goes into an empty database (a fresh one) unless told to replace what is there, and
then migrates it to the newest schema, so a backup from an older release restores into a newer
one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from shieldwall.db import Database, migrate
from shieldwall.errors import Conflict, Invalid, ShieldwallError

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_DUMP_MAGIC = b"PGDMP"


class BackupFailed(ShieldwallError):
    """A backup or restore could not be made; nothing was changed."""

    status = 500


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    kind: str  # "sqlite" or "pg_dump"


def backup(url: str, file: Path, *, replace: bool = False) -> BackupResult:
    """A consistent copy of the database at `url` in `file`, taken while it is in use."""
    if file.exists() and not replace:
        raise Conflict(f"{file} exists: choose another file, or pass --replace to overwrite it")
    if file.is_dir():
        raise Invalid(f"{file} is a folder: give a file name")
    if not file.parent.is_dir():
        raise Invalid(f"{file.parent} does not exist")
    partial = file.with_name(f".{file.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if _is_sqlite(url):
            _sqlite_copy(_sqlite_path(url), partial, backup_file=True)
            kind = "sqlite"
        else:
            _run("pg_dump", ["--format=custom", "--no-owner", f"--file={partial}"], url)
            kind = "pg_dump"
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(file, file.stat().st_size, kind)


def restore(url: str, file: Path, *, replace: bool = False) -> None:
    """Put the backup `file` into the database at `url`, then migrate it to the newest schema.
    Refused when that database holds Shieldwall's tables already, unless `replace`."""
    if not file.is_file():
        raise Invalid(f"{file}: no such backup file")
    with file.open("rb") as handle:
        head = handle.read(16)
    sqlite = _is_sqlite(url)
    if sqlite and not head.startswith(_SQLITE_MAGIC):
        raise Invalid(f"{file} is not an SQLite backup (`shieldwall backup` of an SQLite database)")
    if not sqlite and not head.startswith(_PG_DUMP_MAGIC):
        raise Invalid(f"{file} is not a pg_dump backup (`shieldwall backup` of a PostgreSQL one)")
    if _holds_tables(url) and not replace:
        raise Conflict(
            "the database is not empty: restore into a fresh one, or pass --replace to "
            "overwrite it (stop every server using it first)"
        )
    if sqlite:
        target = Path(_sqlite_path(url))
        if not target.parent.is_dir():
            raise Invalid(f"{target.parent} does not exist")
        _sqlite_copy(str(file), target, source_read_only=True)
    else:
        options = ["--no-owner", "--single-transaction", "--exit-on-error"]
        if replace:
            options += ["--clean", "--if-exists"]
        _run("pg_restore", [*options, str(file)], url, database_option="--dbname")
    migrate(url)


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> str:
    path = make_url(url).database
    if not path or path == ":memory:":
        raise Invalid("an in-memory database cannot be backed up or restored")
    return path


def _sqlite_copy(
    source: str, target: str | Path, *, source_read_only: bool = False, backup_file: bool = False
) -> None:
    """Every page of `source` into `target` in one step (pages=-1): one read transaction on the
    source, so the copy is one commit's state; the target is written in one transaction. A
    `backup_file` is then made one self-contained file (a rollback journal, not a WAL beside
    it), which can be copied, archived or opened read-only as it is."""
    if not Path(source).is_file():
        raise Invalid(f"no SQLite database at {source}")
    uri = f"{Path(source).resolve().as_uri()}{'?mode=ro' if source_read_only else ''}"
    try:
        with (
            closing(sqlite3.connect(uri, uri=True)) as src,
            closing(sqlite3.connect(target)) as dst,
        ):
            src.execute("PRAGMA busy_timeout=30000")
            dst.execute("PRAGMA busy_timeout=30000")
            src.backup(dst, pages=-1)
            if backup_file:
                dst.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise BackupFailed(f"SQLite could not copy {source} to {target}: {exc}") from None


def _holds_tables(url: str) -> bool:
    """Whether the database holds anything a restore would overwrite (any table at all: a file
    that is not an SQLite database counts as holding something)."""
    if _is_sqlite(url):
        path = Path(_sqlite_path(url))
        if not path.is_file() or path.stat().st_size == 0:
            return False
        with path.open("rb") as handle:
            if not handle.read(16).startswith(_SQLITE_MAGIC):
                return True
    db = Database(url)
    try:
        with db.read() as conn:
            return bool(inspect(conn).get_table_names())
    finally:
        db.dispose()


def _run(program: str, options: list[str], url: str, *, database_option: str = "") -> None:
    """Run a PostgreSQL client program against the database at `url`; BackupFailed with its
    own message when it fails, and a clear one when it is not installed."""
    found = shutil.which(program)
    if found is None:
        raise BackupFailed(
            f"{program} is not on PATH: install the PostgreSQL client tools of the server's "
            "major version (e.g. `apt install postgresql-client`)"
        )
    parsed = make_url(url)
    name = parsed.database or ""
    target = [f"{database_option}={name}"] if database_option else [name]
    result = subprocess.run(
        [found, *options, *target], env=_libpq_environment(parsed), capture_output=True, text=True
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise BackupFailed(f"{program} failed: {lines[-1] if lines else result.returncode}")


def _libpq_environment(url: URL) -> dict[str, str]:
    """libpq's variables for `url` (PGHOST, PGPORT, PGUSER, PGPASSWORD), on top of ours."""
    environment = dict(os.environ)
    for variable, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
    ):
        if value:
            environment[variable] = value
    for key, value in url.query.items():  # sslmode=require and friends
        if key == "sslmode":
            environment["PGSSLMODE"] = value if isinstance(value, str) else value[0]
    return environment
