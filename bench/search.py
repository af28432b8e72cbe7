"""Full-text search at 100,000 objects (issue 12), through the real app in process, on SQLite and
PostgreSQL: how long a reader waits for the first page of common, rare, several-word and prefix
searches, for a word found only in objects the reader may not see and for a word found nowhere.
A measurement, not a test: it prints one line per backend and writes bench/out/search.json.

The store: `--members` members (default 20) take turns sharing bundles of indicators, each with a
description drawn from a fixed vocabulary and a TLP and distribution cycling through the pairs the
rules allow (a sharing group of the first two members for `group`). The first member also holds
`--hidden` (default 20,000) org-only indicators with the word "quillwort". The reader belongs to
the last member, in no group.

    PYTHONPATH=$PWD/src .venv/bin/python bench/search.py [--objects 100000] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.factories import World, bundle, indicator

from hostile import database  # the same throwaway databases
from shieldwall.app import create_app
from shieldwall.settings import Settings

OUT = Path(__file__).resolve().parent / "out" / "search.json"
BATCH = 5_000
RUNS = 15
VOCABULARY = [f"{a}{b}" for a in ("lum", "kor", "zet", "vash", "tril", "mon", "bex", "fal")
              for b in ("ar", "eth", "ion", "ox", "ush", "ine", "ol", "ux")]  # fmt: skip
PAIRS = [("clear", "all"), ("green", "community"), ("amber", "community"), ("amber", "org"),
         ("amber+strict", "federation"), ("red", "group"), ("green", "group")]  # fmt: skip
SEARCHES = {
    "common": "campaign",  # in every shared indicator: a full first page
    "rare": "ziggurat",  # in one shared indicator of 5,000
    "two_words": "lumar korox",
    "prefix": "vash*",
    "invisible_only": "quillwort",
    "nowhere": "zzyzxnowhere",
}


def _address(i: int) -> str:
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"


def run(backend: str, count: int, members: int, hidden: int) -> dict[str, Any]:
    rng = random.Random(1)
    with database(backend) as url:
        settings = Settings(database_url=url, warninglists="none", lookup_helpers=0)
        with TestClient(create_app(settings)) as client:
            world = World(client.app.state.db, client)
            ids = [world.member() for _ in range(members)]
            group = world.group(ids[:2])
            sharers = [world.user(m) for m in ids]
            reader = world.user(ids[-1], "reader")
            start = time.perf_counter()
            for batch, first in enumerate(range(0, count, BATCH)):
                sharer = sharers[batch % members]
                objects = []
                for i in range(first, min(first + BATCH, count)):
                    tlp, distribution = PAIRS[i % len(PAIRS)]
                    if distribution == "group" and sharer.member_id not in ids[:2]:
                        tlp, distribution = "amber", "community"  # only members address a group
                    obj = indicator(_address(i), tlp=tlp, distribution=distribution,
                                    group=group if distribution == "group" else None)  # fmt: skip
                    words = rng.sample(VOCABULARY, 6)
                    if i % BATCH == 7:
                        words.append("ziggurat")
                    obj["description"] = "campaign " + " ".join(words)
                    objects.append(obj)
                response = sharer.post("/api/v1/bundles", content=orjson.dumps(bundle(*objects)))
                assert response.status_code == 201, response.text[:300]
            for first in range(0, hidden, BATCH):
                objects = []
                for i in range(first, min(first + BATCH, hidden)):
                    obj = indicator(_address(count + i), tlp="amber", distribution="org")
                    obj["description"] = "seen with quillwort tooling"
                    objects.append(obj)
                response = sharers[0].post(
                    "/api/v1/bundles", content=orjson.dumps(bundle(*objects))
                )
                assert response.status_code == 201, response.text[:300]
            figures: dict[str, Any] = {
                "backend": backend, "objects": count + hidden, "members": members,
                "load_s": round(time.perf_counter() - start, 1),
            }  # fmt: skip
            for label, q in SEARCHES.items():
                reader.get("/api/v1/search", params={"q": q})  # warm
                times, found = [], 0
                for _ in range(RUNS):
                    began = time.perf_counter()
                    response = reader.get("/api/v1/search", params={"q": q})
                    times.append(time.perf_counter() - began)
                    assert response.status_code == 200, response.text[:300]
                    found = len(response.json()["objects"])
                if label in ("invisible_only", "nowhere"):
                    assert found == 0, (label, found)
                figures[f"{label}_ms"] = round(statistics.median(times) * 1000, 2)
                figures[f"{label}_hits"] = found
            return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=20_000)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    results = []
    for backend in args.backend or ("sqlite", "postgresql"):
        figures = run(backend, args.objects, args.members, args.hidden)
        print(" ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
        results.append(figures)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
