"""Backup and restore timings: how long `shieldwall backup`, `restore` and `check` take on a
store of N objects, on each database, run as an operator runs them (processes, wall time).

For each backend: a fresh database (SQLite in a temp folder; PostgreSQL a throwaway `bench_<hex>`
database on $SHIELDWALL_TEST_POSTGRES_URL or the local server), `shieldwall import` of N
generated indicators, then `shieldwall backup FILE`, `shieldwall restore FILE` into another fresh
database, and `shieldwall check` on the restored one. Each figure is the work itself, timed in
this process through the library functions the commands call (a command adds the start of a
Python process, about a second on an idle machine: the backup command's own time is shown
beside). Prints one line per backend. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shieldwall.db import Database
from shieldwall.intel.ingest import ingestor_for
from shieldwall.operations import backup as backups
from shieldwall.operations.consistency import check
from shieldwall.settings import Settings

SHIELDWALL = Path(sys.executable).parent / "shieldwall"
POSTGRES_URL = os.environ.get(
    "SHIELDWALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STIX_TIME = "2026-02-01T10:00:00.000Z"


def write_bundle(path: Path, n: int) -> None:
    """N indicators (domain, address and hash patterns), one bundle file."""
    with path.open("wb") as out:
        out.write(
            b'{"type": "bundle", "id": "bundle--%s", "objects": [' % str(uuid.uuid4()).encode()
        )
        for i in range(n):
            kind = i % 3
            if kind == 0:
                pattern = f"[domain-name:value = 'b{i}.backup.example']"
            elif kind == 1:
                a = 0x64400000 + i
                pattern = (
                    f"[ipv4-addr:value = '{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}']"
                )
            else:
                pattern = f"[file:hashes.MD5 = '{uuid.UUID(int=i).hex}']"
            obj = {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                "created": STIX_TIME, "modified": STIX_TIME, "name": f"Backup bench {i}",
                "pattern": pattern, "pattern_type": "stix", "valid_from": STIX_TIME,
            }  # fmt: skip
            out.write((b"," if i else b"") + orjson.dumps(obj))
        out.write(b"]}")


def shieldwall(url: str, *args: str) -> tuple[float, str]:
    """Run a command against `url`; its wall time and output."""
    env = {**os.environ, "SHIELDWALL_DATABASE_URL": url, "SHIELDWALL_WARNINGLISTS": "none"}
    started = time.perf_counter()
    done = subprocess.run([str(SHIELDWALL), *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"shieldwall {' '.join(args)} failed: {done.stderr}")
    return seconds, done.stdout.strip()


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def databases(backend: str, folder: Path) -> tuple[str, str, list[str]]:
    """The source and restore-target URLs, and the PostgreSQL databases to drop afterwards."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'source.db'}", f"sqlite:///{folder / 'restored.db'}", []
    names = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    urls = [make_url(POSTGRES_URL).set(database=n).render_as_string(hide_password=False)
            for n in names]  # fmt: skip
    return urls[0], urls[1], names


def drop(names: list[str]) -> None:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def measure(backend: str, n: int, bundle: Path, folder: Path) -> None:
    source, target, names = databases(backend, folder)
    try:
        shieldwall(source, "init")
        shieldwall(source, "member", "add", "Bench", "--kind", "industry")
        shieldwall(source, "user", "add", "bench@example.org", "--member", "Bench",
                   "--role", "analyst")  # fmt: skip
        imported, _ = shieldwall(source, "import", str(bundle), "--user", "bench@example.org")
        backup = folder / f"{backend}.backup"
        command, _ = shieldwall(source, "backup", str(backup))  # the whole command, as run
        backup.unlink()
        backed = timed(lambda: backups.backup(source, backup))  # the work alone, in process
        restored = timed(lambda: backups.restore(target, backup))
        db = Database(target)
        settings = Settings(database_url=target, warninglists="none", validation_workers=0)
        ingestor = ingestor_for(db, settings)
        report = None

        def checking() -> None:
            nonlocal report
            report = check(db, ingestor.indexes)

        checked = timed(checking)
        ingestor.close()
        db.dispose()
        assert report is not None and report.ok, report
        size = backup.stat().st_size / 1e6
        print(
            f"{backend:10} {n:>9,} objects ({size:,.0f} MB backup): import {imported:.1f} s | "
            f"backup {backed:.1f} s (the command: {command:.1f} s) | restore {restored:.1f} s | "
            f"check {checked:.1f} s: {report.objects:,} versions whole"
        )
    finally:
        if names:
            drop(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="objects in the store")
    parser.add_argument("--backends", default="sqlite,postgresql")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bundle = folder / "bundle.json"
        write_bundle(bundle, options.n)
        for backend in options.backends.split(","):
            measure(backend, options.n, bundle, folder)


if __name__ == "__main__":
    main()
