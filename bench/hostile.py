"""Hostile requests against a store of 20,000 indicators (issue 12), through the real app in
process, on SQLite and PostgreSQL: how long a lookup of one wide range asked many times takes and
how much memory it costs, and how long full-text search takes for a word found only in objects
the viewer may not see, beside one found nowhere. A measurement, not a test: it prints a table
and writes bench/out/hostile.json.

    .venv/bin/python bench/hostile.py [--objects 20000] [--backend sqlite --backend postgresql]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.factories import World, bundle, indicator

from shieldwall.app import create_app
from shieldwall.db import migrate
from shieldwall.settings import Settings

OUT = Path(__file__).resolve().parent / "out" / "hostile.json"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BATCH = 5_000
SEARCH_RUNS = 21


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            migrate(url)
            yield url
        return
    name = f"sw_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def run(backend: str, count: int) -> dict[str, Any]:
    with database(backend) as url:
        settings = Settings(database_url=url, warninglists="none", lookup_helpers=0)
        with TestClient(create_app(settings)) as client:
            world = World(client.app.state.db, client)
            owner, outsider = world.user(world.member()), world.user(world.member(), "reader")
            # What the outsider may see: a third member's community intel, so that a search
            # has somewhere to look and is not answered before it starts.
            bystander = world.user(world.member())
            shared = [indicator(f"172.16.{i // 256}.{i % 256}", tlp="green") for i in range(BATCH)]
            for obj in shared:
                obj["description"] = "seen with other tooling"
            response = bystander.post("/api/v1/bundles", content=orjson.dumps(bundle(*shared)))
            assert response.status_code == 201, response.text[:300]
            for start in range(0, count, BATCH):
                objects = []
                for i in range(start, min(start + BATCH, count)):
                    obj = indicator(f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                                    tlp="amber", distribution="org")  # fmt: skip
                    obj["description"] = "seen with quillwort tooling"
                    objects.append(obj)
                response = owner.post("/api/v1/bundles", content=orjson.dumps(bundle(*objects)))
                assert response.status_code == 201, response.text[:300]
            figures: dict[str, Any] = {"backend": backend, "objects": count}
            wide = {"kind": "ipv4-cidr", "value": "0.0.0.0/1"}
            for repeats in (1, 100, 1000):
                seconds, response = _timed(
                    lambda r=repeats: owner.post("/api/v1/lookup", json={"values": [wide] * r})
                )
                assert response.status_code == 200, response.text[:300]
                figures[f"lookup_0.0.0.0/1_x{repeats}_s"] = round(seconds, 3)
            figures["peak_rss_mb"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            )
            # The two words take turns, so that neither is measured alone while the server's
            # housekeeping (PostgreSQL's VACUUM ANALYZE after a large write) still runs.
            words = {"invisible": "quillwort", "nowhere": "zzyzxnowhere"}
            times: dict[str, list[float]] = {label: [] for label in words}
            for run in range(SEARCH_RUNS):
                for label, word in sorted(words.items(), reverse=run % 2 == 1):
                    seconds, response = _timed(
                        lambda w=word: outsider.get("/api/v1/search", params={"q": w})
                    )
                    assert response.status_code == 200 and not response.json()["objects"]
                    times[label].append(seconds)
            for label, taken in times.items():
                figures[f"search_{label}_median_ms"] = round(statistics.median(taken) * 1000, 2)
            return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    results = [run(backend, args.objects) for backend in args.backend or ("sqlite", "postgresql")]
    for figures in results:
        print(" ".join(f"{k}={v}" for k, v in figures.items()))
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
