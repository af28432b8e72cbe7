"""Dashboard benchmark: how long GET /api/v1/dashboard's figures take at N stored objects.

In process, without HTTP (the route adds JSON encoding of a few kilobytes): for each backend it
ingests N objects (reports of indicators, malware, ATT&CK techniques and sightings, from ten
members of every kind over 90 days, at every TLP and reach: community, all, a sharing group,
org-only, anonymous) plus API sightings, then times `dashboard.service.dashboard` for viewers
who see more or less of it, over 30 and 90 days. Prints a table and writes
bench/out/dashboard.json. A measurement, not a test: it exits 0 even when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

from correlate import BackendUnavailable, throwaway_urls
from ingest import NAMESPACE, POSTGRES_URL
from shieldwall.correlate.index import CorrelationIndex
from shieldwall.dashboard import service
from shieldwall.db import Database, migrate
from shieldwall.intel.ingest import Ingestor
from shieldwall.markings import SHARING_EXTENSION_ID, TLP
from shieldwall.members.service import (
    broker_identity,
    create_group,
    create_member,
    create_user,
    viewer_for_user,
)
from shieldwall.policy import Role, Viewer
from shieldwall.settings import Settings
from shieldwall.sightings import service as sightings

OUT = Path(__file__).resolve().parent / "out" / "dashboard.json"
BACKENDS = ("sqlite", "postgresql")
TARGET_MS = 500  # a dashboard answer, at 100,000 objects
RUNS = 5
REPORT_SIZE = 18  # a report, 12 indicators, a malware, 3 techniques, a sighting
REPORTS_PER_BUNDLE = 50
MEMBERS = (  # name, kind, country, sectors
    ("Bench CERT-A (SYNTHETIC)", "national-cert", "EE", ["Government"]),
    ("Bench CERT-B (SYNTHETIC)", "national-cert", "PL", ["Government", "Telecoms"]),
    ("Bench Alliance (SYNTHETIC)", "alliance", "BE", ["Defense"]),
    ("Bench Grid (SYNTHETIC)", "industry", "DE", ["Energy", "Electric"]),
    ("Bench Cloud (SYNTHETIC)", "industry", "IE", ["Digital services"]),
    ("Bench Bank (SYNTHETIC)", "industry", "FR", ["Finance"]),
    ("Bench Water (SYNTHETIC)", "industry", "NL", ["Water"]),
    ("Bench Defence (SYNTHETIC)", "industry", "IT", ["Defense", "Aerospace"]),
    ("Bench University (SYNTHETIC)", "academia", "NL", ["Research"]),
    ("Bench Partner (SYNTHETIC)", "partner", "BE", []),
)
GROUP = (0, 3, 4)  # members of the sharing group
# (tlp, distribution, anonymous) and how often
MARKINGS = (
    (("green", "community", False), 45), (("amber", "community", False), 20),
    (("clear", "all", False), 10), (("red", "group", False), 10), (("amber", "org", False), 5),
    (("amber+strict", "group", False), 5), (("green", "community", True), 5),
)  # fmt: skip
FAMILIES = [f"SYNTHETIC family {i}" for i in range(40)]
TECHNIQUES = [f"T{1000 + i}" for i in range(60)]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def bundle(
    rng: random.Random, number: int, group_id: str | None, now: datetime, pool: list[str]
) -> dict:
    """REPORTS_PER_BUNDLE reports of one marking, as one member shares them in one bundle; a
    member outside the group (`group_id` None) shares with the community instead."""
    (tlp, distribution, anonymous), = rng.choices(*zip(*MARKINGS, strict=True))  # fmt: skip
    if distribution == "group" and group_id is None:
        tlp, distribution = "amber", "community"
    ext = {"extension_type": "property-extension", "distribution": distribution,
           "anonymous": anonymous, **({"sharing_group": group_id} if distribution == "group"
                                      else {})}  # fmt: skip
    marking = {
        "object_marking_refs": [TLP.parse(tlp).marking_id],
        "extensions": {SHARING_EXTENSION_ID: ext},
    }
    out = []
    for r in range(REPORTS_PER_BUNDLE):
        created = stamp(now - timedelta(seconds=rng.randrange(90 * 86400)))
        common = {"spec_version": "2.1", "created": created, "modified": created, **marking}

        def new_id(type_: str, *key: object, r: int = r) -> str:
            return f"{type_}--{uuid.uuid5(NAMESPACE, f'dash-{number}-{r}-{type_}-{key}')}"

        objs = []
        for i in range(12):
            if pool and rng.random() < 0.2:
                value = rng.choice(pool)
            else:
                value = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"  # noqa: E501
                pool.append(value)
            objs.append({"type": "indicator", "id": new_id("indicator", i), **common,
                         "name": f"SYNTHETIC {value}", "pattern": f"[ipv4-addr:value = '{value}']",
                         "pattern_type": "stix", "valid_from": created})  # fmt: skip
        family = rng.choice(FAMILIES)
        objs.append({"type": "malware", "id": new_id("malware", family), **common,
                     "name": family, "is_family": True})  # fmt: skip
        key = f"anonymous {number}" if anonymous else ""
        for technique in rng.sample(TECHNIQUES, 3):
            objs.append({"type": "attack-pattern", **common, "name": f"Technique {technique}",
                         # an anonymous copy is its own object: anonymity never changes
                         "id": f"attack-pattern--{uuid.uuid5(NAMESPACE, technique + key)}",
                         "external_references": [{"source_name": "mitre-attack",
                                                  "external_id": technique}]})  # fmt: skip
        objs.append({"type": "sighting", "id": new_id("sighting"), **common,
                     "sighting_of_ref": objs[0]["id"], "count": rng.randint(1, 20),
                     "last_seen": created})  # fmt: skip
        report = {"type": "report", "id": new_id("report"), **common, "published": created,
                  "name": f"SYNTHETIC bench report {number}-{r}",
                  "object_refs": [o["id"] for o in objs]}  # fmt: skip
        out += [report, *objs]
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": out}


def load(db: Database, n: int, now: datetime) -> dict[str, Viewer]:
    """N objects shared by the members in turn, API sightings beside them; the viewers timed."""
    settings = Settings()
    with db.write() as conn:
        ids = [create_member(conn, name, kind, country=country, sectors=sectors)
               for name, kind, country, sectors in MEMBERS]  # fmt: skip
        group_id = create_group(conn, "Bench group (SYNTHETIC)", ids[0], [ids[i] for i in GROUP])
        users = [create_user(conn, f"a{i}@bench.example.org", m, Role.ANALYST)
                 for i, m in enumerate(ids)]  # fmt: skip
        admin = create_user(conn, "admin@bench.example.org", ids[2], Role.ADMIN)
        viewers = [viewer_for_user(conn, u.user_id) for u in users]
        admin_viewer = viewer_for_user(conn, admin.user_id)
    ingestor = Ingestor(db, broker_identity(settings.broker_name), (CorrelationIndex(values=True),))
    rng, pool, stored, number = random.Random(1), [], 0, 0
    while stored < n:
        member = number % len(viewers)
        in_group = group_id if member in GROUP else None
        result = ingestor.ingest(viewers[member], bundle(rng, number, in_group, now, pool))
        stored += result.stored
        number += 1
    ingestor.close()
    for i, viewer in enumerate(viewers):
        entries = [
            sightings.SightingIn(value=rng.choice(pool), count=rng.randint(1, 5),
                                 seen_at=stamp(now - timedelta(seconds=rng.randrange(90 * 86400))),
                                 tlp="green" if i % 2 else "amber")
            for _ in range(500)
        ]  # fmt: skip
        sightings.record(db, viewer, entries)
    print(f"  {stored:,} objects stored, {5000:,} API sightings", flush=True)
    return {
        "in the group (industry)": viewers[3],
        "outside it (academia)": viewers[8],
        "instance admin": admin_viewer,
    }


def run_backend(backend: str, n: int, postgres_url: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory() as tmp,
        throwaway_urls(backend, postgres_url, Path(tmp)) as urls,
    ):
        url = urls["on"]
        migrate(url)
        db = Database(url)
        try:
            start = time.perf_counter()
            viewers = load(db, n, now)
            loaded = time.perf_counter() - start
            if backend == "postgresql":  # as autovacuum would after a load this size
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            timings = {}
            for who, viewer in viewers.items():
                for days in (30, 90):
                    runs = []
                    for _ in range(RUNS):
                        t0 = time.perf_counter()
                        figures = service.dashboard(
                            db, viewer, days=days, broker_name="broker", noisy_threshold=50
                        )
                        runs.append(time.perf_counter() - t0)
                    timings[f"{who}, {days} days"] = {
                        "median_ms": round(statistics.median(runs) * 1000, 1),
                        "best_ms": round(min(runs) * 1000, 1),
                        "objects_counted": figures["totals"]["objects"],
                    }
        finally:
            db.dispose()
    return {"load_seconds": round(loaded, 1), "timings": timings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="objects stored")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SHIELDWALL_TEST_POSTGRES_URL", POSTGRES_URL)
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for backend in [b for b in args.backends.split(",") if b]:
        print(f"{backend}: loading {args.n:,} objects ...", flush=True)
        try:
            results[backend] = run_backend(backend, args.n, args.postgres_url)
        except BackendUnavailable as exc:
            print(f"!!! PostgreSQL UNAVAILABLE: {exc}; the postgresql backend is SKIPPED",
                  file=sys.stderr)  # fmt: skip
            results[backend] = {"skipped": str(exc)}
    env = {"N": args.n, "Python": platform.python_version(), "SQLite": sqlite3.sqlite_version,
           "CPUs": os.cpu_count()}  # fmt: skip
    print("\nShieldwall dashboard: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    print(f"{'backend':<11} {'viewer, window':<36} {'counted':>8} {'median':>9} {'best':>9}  "
          f"target < {TARGET_MS} ms")  # fmt: skip
    for backend, result in results.items():
        for label, t in result.get("timings", {}).items():
            verdict = "PASS" if t["median_ms"] < TARGET_MS else "MISS"
            print(f"{backend:<11} {label:<36} {t['objects_counted']:>8,} "
                  f"{t['median_ms']:>7.1f}ms {t['best_ms']:>7.1f}ms  {verdict}")  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(orjson.dumps({**env, "backends": results}, option=orjson.OPT_INDENT_2))
    print(f"\nwritten to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
