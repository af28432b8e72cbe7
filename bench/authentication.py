"""Authentication's fast path: the CPU a request with a known, kept API key costs in
Authenticator.viewer_for (members/authentication.py), in process, on a fresh database.

Every authenticated request pays it: the one statement that reads auth_generation and the
failure counters, the throttle check against them and the pending failures, the viewer kept in
memory. This measures the calling thread's CPU (time.thread_time) per call, so the background
thread and other work on a shared machine count little; the PostgreSQL backend's CPU is not in
it (the statement is the same whatever the throttle check does in memory). Compare two trees by
running this file with each on PYTHONPATH, alternately, in the same minutes:

    PYTHONPATH=/old/src python bench/authentication.py --db sqlite
    PYTHONPATH=/new/src python bench/authentication.py --db sqlite

Prints microseconds per call for each round; the smallest is the least disturbed.
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shieldwall.db import Database, migrate
from shieldwall.members import service
from shieldwall.members.authentication import Authenticator, Limits
from shieldwall.policy import Role

POSTGRES_URL = os.environ.get(
    "SHIELDWALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def measure(url: str, n: int, rounds: int) -> list[float]:
    migrate(url)
    db = Database(url)
    try:
        with db.write() as conn:
            member = service.create_member(conn, "Bench member", "industry")
            key = service.create_user(conn, "bench@example.org", member, Role.ANALYST).key
        authenticator = Authenticator(db, Limits(window=600.0, per_address=50, per_account=20))
        try:
            for _ in range(200):  # warm up: the key kept, statements cached, pool filled
                authenticator.viewer_for(key, "192.0.2.10")
            figures = []
            for _ in range(rounds):
                start = time.thread_time()
                for _ in range(n):
                    authenticator.viewer_for(key, "192.0.2.10")
                figures.append((time.thread_time() - start) / n * 1e6)
            return figures
        finally:
            authenticator.close()
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--n", type=int, default=5000, help="calls a round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            figures = measure(f"sqlite:///{Path(directory) / 'bench.db'}", args.n, args.rounds)
    else:
        name = f"sw_bench_auth_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(POSTGRES_URL).set(database=name)
            figures = measure(url.render_as_string(hide_password=False), args.n, args.rounds)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(
        f"{args.db}: viewer_for with a kept key, us of the calling thread's CPU a call: "
        + " ".join(f"{f:.1f}" for f in figures)
        + f" (min {min(figures):.1f}; load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
