"""Correlation benchmark: what the correlation index costs at ingest and what it buys at lookup.

In process, without HTTP (bench/ingest.py measures the server path): for each backend it ingests
N indicators, 20% of whose values repeat earlier ones, shared by two members, into fresh
databases without and with the correlation index; then it times batch lookups of 10,000 values
in the indexed one, in process and through the API from a new process, measures the index's size
and sets a brute-force scan beside it. Prints a table and writes bench/out/correlate.json. A
measurement, not a test: it exits 0 even when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from ingest import NAMESPACE, POSTGRES_URL, TLP_GREEN, row, server_version
from shieldwall.correlate import matches, service
from shieldwall.correlate.index import CorrelationIndex, key_hash
from shieldwall.correlate.observables import Observable, lookup_key, normalise
from shieldwall.db import Database, migrate, probe_by_probe
from shieldwall.gcpause import gc_paused
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP, Distribution
from shieldwall.members.service import broker_identity, create_member, create_user, viewer_for_user
from shieldwall.policy import Role, Viewer, visible_filter
from shieldwall.search.tables import observable_values
from shieldwall.settings import Settings
from shieldwall.sightings.benign import warning_lists
from shieldwall.sightings.score import DEFAULT_HALF_LIVES, parse_half_lives

OUT = Path(__file__).resolve().parent / "out" / "correlate.json"
BACKENDS = ("sqlite", "postgresql")
BATCH = 50_000  # indicators per bundle; each bundle is one ingest transaction
OVERLAP = 0.2  # share of indicators whose value repeats one used before
LOOKUPS = 10_000
LOOKUP_MIX = {"stored": 0.4, "overlapping": 0.2, "miss": 0.4}  # 60% of the values are held
LOOKUP_RUNS = 3
API_LOOKUP_RUNS = 7  # after a cold first one: the target is judged on their median
BRUTE = 100  # lookups answered by a full scan each, then extrapolated to LOOKUPS
TARGET_OVERHEAD = 1.30  # ingest time with correlation / without
TARGET_LOOKUP_MS = 200
TARGET_SIZE_RATIO = 3.0  # observable_keys and its indexes / bytes of the values it indexes
TARGET_RSS_MB = 1024
# Each bundle goes into a fresh database per mode: no index; the correlation index alone (what
# the 30% target is about); and as the app writes it, with search's table of values filled in
# the same pass ("on": lookups and sizes are measured there).
MODES: dict[str, Callable[[], tuple[Any, ...]]] = {
    "off": lambda: (),
    "keys": lambda: (CorrelationIndex(),),
    "on": lambda: (CorrelationIndex(values=True),),
}
MODE_NAMES = {
    "off": "no index",
    "keys": "correlation index",
    "on": "correlation index + search's values",
}
MEMBERS = ("Bench Member A (SYNTHETIC)", "Bench Member B (SYNTHETIC)")
KEY_INDEXES = (
    "ix_observable_keys_key_hash", "ix_observable_keys_address", "ix_observable_keys_range"
)  # fmt: skip

# The four pattern kinds of bench/ingest.py, the value apart so a later indicator can repeat it.
VALUES: dict[str, Callable[[random.Random], str]] = {
    "ipv4": lambda r: ".".join(str(r.randint(1, 254)) for _ in range(4)),
    "domain": lambda r: f"h{r.getrandbits(40):010x}.example",
    "url": lambda r: f"http://h{r.getrandbits(40):010x}.example/x",
    "sha256": lambda r: f"{r.getrandbits(256):064x}",
}
PATTERNS = {
    "ipv4": "[ipv4-addr:value = '{}']",
    "domain": "[domain-name:value = '{}']",
    "url": "[url:value = '{}']",
    "sha256": "[file:hashes.'SHA-256' = '{}']",
}


class BackendUnavailable(RuntimeError):
    """The backend's server cannot be reached: skipped, loudly."""


class Corpus:
    """The indicators of one run, a bundle at a time, and the values they used.

    `patterns` holds each distinct pattern once, in first-use order (a repeat draws from it);
    `repeated` those drawn again. Dicts, not sets: iteration order must not depend on
    PYTHONHASHSEED, so that every run asks the same lookups.
    """

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.patterns: dict[str, None] = {}
        self.pool: list[str] = []  # the keys of `patterns`, indexable
        self.repeated: dict[str, None] = {}
        self.made = 0

    def bundle(self, n: int) -> dict[str, Any]:
        rng, year_start = self.rng, 1_704_067_200  # 2024-01-01T00:00:00Z
        objects = []
        for i in range(self.made, self.made + n):
            if self.pool and rng.random() < OVERLAP:
                pattern = self.pool[rng.randrange(len(self.pool))]
                self.repeated[pattern] = None
            else:
                kind = rng.choice(list(PATTERNS))
                pattern = PATTERNS[kind].format(VALUES[kind](rng))
                if pattern not in self.patterns:
                    self.patterns[pattern] = None
                    self.pool.append(pattern)
            stamp = time.strftime(
                "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(year_start + rng.randrange(31_536_000))
            )
            objects.append(
                {
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": f"indicator--{uuid.uuid5(NAMESPACE, f'correlate-{i}')}",
                    "created": stamp,
                    "modified": stamp,
                    "name": f"SYNTHETIC correlate bench {i}",
                    "pattern": pattern,
                    "pattern_type": "stix",
                    "valid_from": stamp,
                    "object_marking_refs": [TLP_GREEN],
                }
            )
        label = f"correlate-bundle-{self.made}"
        self.made += n
        return {
            "type": "bundle",
            "id": f"bundle--{uuid.uuid5(NAMESPACE, label)}",
            "objects": objects,
        }

    def lookup_values(self, n: int) -> list[str]:
        """n raw values: stored ones, ones several indicators hold, and ones never stored."""
        rng = random.Random(2)
        counts = {part: round(share * n) for part, share in LOOKUP_MIX.items()}
        repeated = list(self.repeated)
        chosen = rng.sample(self.pool, min(counts["stored"], len(self.pool)))
        chosen += rng.sample(repeated, min(counts["overlapping"], len(repeated)))
        misses: dict[str, None] = {}
        for _ in range(100 * n):  # bounded; a collision with a stored value is very rare
            if len(chosen) + len(misses) >= n:
                break
            kind = rng.choice(list(PATTERNS))
            pattern = PATTERNS[kind].format(VALUES[kind](rng))
            if pattern not in self.patterns:
                misses[pattern] = None
        chosen += misses
        rng.shuffle(chosen)
        return [pattern.split("'")[-2] for pattern in chosen]  # the quoted value is the last one


def machine_reference() -> float:
    """Seconds of a fixed pure-Python loop: taken beside the API lookups, it shows whether the
    machine (2 shared cores here, whose speed varies by a third from run to run) was slow."""
    start, total = time.perf_counter(), 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - start


def timed(fn: Callable[[], object]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


_anon_peak = [0.0]


def sample_memory() -> None:
    """Note the process's own memory (RssAnon): VmHWM also counts the pages of the database files
    SQLite reads through its memory map, which are the page cache's, not the process's."""
    _anon_peak[0] = max(_anon_peak[0], status_mb("RssAnon"))


@contextmanager
def throwaway_urls(backend: str, postgres_url: str, tmp: Path) -> Iterator[dict[str, Any]]:
    """URLs of an empty database for each of MODES, removed afterwards."""
    if backend == "sqlite":
        yield {mode: f"sqlite:///{tmp}/{mode}.db" for mode in MODES}
        return
    admin = create_engine(
        postgres_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    names = {mode: f"bench_{uuid.uuid4().hex[:12]}_{mode}" for mode in MODES}
    created: list[str] = []
    try:
        with admin.connect() as conn:
            version = server_version(conn)
            for name in names.values():
                conn.execute(text(f"CREATE DATABASE {name}"))
                created.append(name)
    except Exception as exc:  # any failure to reach it means: skip, loudly
        _drop(admin, created)
        raise BackendUnavailable(str(exc).splitlines()[0]) from exc
    try:
        base = make_url(postgres_url)
        yield {
            "server_version": version,
            **{
                mode: base.set(database=name).render_as_string(hide_password=False)
                for mode, name in names.items()
            },
        }
    finally:
        _drop(admin, names.values())


def _drop(admin: Any, names: Iterable[str]) -> None:
    """Drop what was created, if the server can still be reached; then let go of it."""
    names = list(names)
    try:
        if not names:
            return
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    except Exception as exc:  # gone since: say what is left behind
        print(f"!!! could not drop {', '.join(names)}: {str(exc).splitlines()[0]}", file=sys.stderr)
    finally:
        admin.dispose()


def add_members(db: Database) -> list[Viewer]:
    """Two members sharing TLP:GREEN with the community, and an analyst of each."""
    with db.write() as conn:
        viewers = []
        for i, name in enumerate(MEMBERS):
            member_id = create_member(
                conn,
                name,
                "industry",
                default_tlp=TLP.GREEN,
                default_distribution=Distribution.COMMUNITY,
            )
            user = create_user(conn, f"analyst{i}@bench.example.org", member_id, Role.ANALYST)
            viewers.append(viewer_for_user(conn, user.user_id))
    return viewers


def ingest_both(
    dbs: dict[str, Database], n: int, batch: int, broker: str
) -> tuple[dict[str, list[dict]], Corpus, dict[str, list[Viewer]]]:
    """Ingest the same bundles in each mode; each bundle by the next member."""
    ingestors = {mode: Ingestor(dbs[mode], broker, indexes()) for mode, indexes in MODES.items()}
    viewers = {mode: add_members(db) for mode, db in dbs.items()}
    corpus, held = Corpus(), 0
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for number, start in enumerate(range(0, n, batch)):
        count = min(batch, n - start)
        bundle = corpus.bundle(count)
        # Alternate who goes first: SQLite checkpoints in a background thread after each write.
        order = list(MODES)
        for mode in order[number % len(order) :] + order[: number % len(order)]:
            viewer = viewers[mode][number % 2]
            seconds, result = timed(lambda m=mode, v=viewer, b=bundle: ingestors[m].ingest(v, b))
            if result.stored != count:
                raise RuntimeError(f"{mode}: stored {result.stored} of {count}")
            runs[mode].append(
                {
                    "objects": count,
                    "seconds": round(seconds, 4),
                    "rate": round(count / seconds, 1),
                    "store_before": held,
                }
            )
        held += count
        sample_memory()
        print(
            f"  bundle {number + 1}: {held:,} stored; objects/s "
            + ", ".join(f"{mode} {runs[mode][-1]['rate']:,.0f}" for mode in MODES),
            flush=True,
        )
    return runs, corpus, viewers


def lookup_phases(
    db: Database, viewer: Viewer, items: list[Observable], half_lives: dict[str, float]
) -> dict[str, float]:
    """Seconds of each step service.lookup takes, run one by one on one connection."""
    kinds = {key_hash(lookup_key(o)): o.kind for item in items for o in service._with_related(item)}
    phases = {}
    with gc_paused(), db.read() as conn:  # as lookup() does: the bench's heap is millions deep
        probe_by_probe(conn)  # as lookup() does
        phases["exact"], exact = timed(lambda: matches.exact_rows(conn, viewer, kinds))
        phases["range"], ranged = timed(lambda: matches.range_rows(conn, viewer, items))
        hits: dict[int, Any] = {}
        for r in exact:
            matches.take_hit(hits, r, kinds[r[0]])
        for _, r in ranged:
            matches.take_hit(hits, r, matches.stored_value(r.low, r.high).partition(":")[0])
        ids = [h.object_id for h in hits.values()]
        phases["reports"], (_, stix) = timed(lambda: matches.holders_of(conn, viewer, ids))
        phases["scores"], _ = timed(
            lambda: service._scores(conn, viewer, hits.values(), half_lives, stix)
        )
    return phases


def brute_force(db: Database, viewer: Viewer, items: list[Observable]) -> tuple[float, bool]:
    """Seconds to answer each item's exact matches by a full scan (SQL, with the policy join,
    `kind = ? AND value = ?` over search's table of values, bypassing its index), and whether
    the answers equal the index's."""
    unindexed = observable_values.alias("unindexed")
    with db.read() as conn:
        start = time.perf_counter()
        scanned = []
        for item in items:
            query = (
                select(objects.c.pk)
                .select_from(unindexed.join(objects, objects.c.pk == unindexed.c.object_pk))
                .where(
                    unindexed.c.kind == item.kind,
                    # `value || ''` is no longer the indexed expression: a real scan
                    (unindexed.c.value + "") == item.value,
                    objects.c.is_latest.is_(True),
                    visible_filter(viewer, objects),
                )
            )
            scanned.append(set(conn.scalars(query)))
        seconds = time.perf_counter() - start
        indexed = [
            {r[5] for r in matches.exact_rows(conn, viewer, [key_hash(lookup_key(item))])}
            for item in items
        ]
    return seconds, scanned == indexed


def one_scan_with_set(db: Database, items: list[Observable]) -> tuple[float, int]:
    """Seconds for one pass over every stored (kind, value) matching a set of all asked keys:
    the best a batch can do without an index (no policy join, no scores)."""
    wanted = {(o.kind, o.value) for o in items}
    start = time.perf_counter()
    with db.read() as conn:
        query = select(
            observable_values.c.kind, observable_values.c.value, observable_values.c.object_pk
        )
        found = sum(1 for kind, value, _ in conn.execute(query) if (kind, value) in wanted)
    return time.perf_counter() - start, found


def index_size(db: Database) -> dict[str, Any]:
    """Bytes of the correlation index (observable_keys and its indexes), of the values it
    indexes, and, beside them, of search's table of values and its index."""
    with db.read() as conn:
        if db.is_sqlite:
            values = conn.scalar(
                text("SELECT SUM(LENGTH(CAST(value AS BLOB))) FROM observable_values")
            )
            names = ("observable_keys", *KEY_INDEXES, "observable_values",
                     "ix_observable_values_value")  # fmt: skip
            sizes = dict(
                conn.execute(
                    text(
                        "SELECT name, SUM(pgsize) FROM dbstat WHERE name IN "
                        f"({', '.join(repr(n) for n in names)}) GROUP BY name"
                    )
                ).all()
            )
            return {
                "method": "dbstat",
                "values": values,
                "table": sizes.get("observable_keys", 0),
                "indexes": sum(sizes.get(n, 0) for n in KEY_INDEXES),
                "search_values": sizes.get("observable_values", 0)
                + sizes.get("ix_observable_values_value", 0),
            }
        values = conn.scalar(text("SELECT SUM(octet_length(value)) FROM observable_values"))
        return {
            "method": "pg_table_size + pg_indexes_size",
            "values": values,
            "table": conn.scalar(text("SELECT pg_table_size('observable_keys')")),
            "indexes": conn.scalar(text("SELECT pg_indexes_size('observable_keys')")),
            "search_values": conn.scalar(
                text("SELECT pg_total_relation_size('observable_values')")
            ),
        }


def measure_lookups(db: Database, viewer: Viewer, corpus: Corpus) -> dict[str, Any]:
    settings = Settings()
    half_lives = parse_half_lives(DEFAULT_HALF_LIVES)
    values = corpus.lookup_values(LOOKUPS)
    normalise_s, items = timed(lambda: [normalise("auto", v) for v in values])
    if any(item is None for item in items):
        raise RuntimeError("a generated value did not normalise")

    lists = warning_lists(settings.warninglists, settings.cache_dir)  # as the API does

    def lookup() -> list[dict]:
        return service.lookup(
            db,
            viewer,
            items,
            noisy_threshold=settings.noisy_threshold,
            half_lives=half_lives,
            lists=lists,
        ).results

    runs = []
    for _ in range(LOOKUP_RUNS):
        seconds, answers = timed(lookup)
        runs.append(seconds)
    sample_memory()
    reference = [machine_reference()]
    fresh = lookups_in_a_fresh_process(db, viewer, values)
    reference.append(machine_reference())
    phases = lookup_phases(db, viewer, items, half_lives)
    phases["warnings"], _ = timed(lambda: [lists.match(i.kind, i.value) for i in items])
    brute_s, brute_same = brute_force(db, viewer, items[:BRUTE])
    scan_s, scan_found = one_scan_with_set(db, items)
    return {
        "values": len(items),
        "normalise_seconds": round(normalise_s, 4),
        "runs": [round(s, 4) for s in runs],
        "best": min(runs),
        "median": statistics.median(runs),
        "matched": sum(1 for a in answers if a["matches"]),
        "matched_by_both_members": sum(1 for a in answers if a["seen_by_members"] == 2),
        "expected_held": round((LOOKUP_MIX["stored"] + LOOKUP_MIX["overlapping"]) * LOOKUPS),
        "fresh_process_runs": fresh,
        "machine_reference_seconds": [round(s, 4) for s in reference],
        "phases": {k: round(v, 4) for k, v in phases.items()},
        "brute_force": {
            "values": BRUTE,
            "seconds": round(brute_s, 3),
            "same_answers": brute_same,
            "extrapolated": round(brute_s * len(items) / BRUTE, 2),
        },
        "one_scan_with_set": {"seconds": round(scan_s, 3), "rows_matched": scan_found},
    }


# The same lookups as a client sees them, from a process that has done nothing else, as a
# server's would be (this one has just built two million objects, and its crowded heap makes
# everything it allocates slower): POST /api/v1/lookup with the raw values, to the app in process
# (no socket), timed from the request to the last byte of the answer.
_FRESH_LOOKUPS = """
import json, sys, time
from fastapi.testclient import TestClient
from shieldwall.app import create_app
from shieldwall.correlate.helper import LookupSettings
from shieldwall.db import Database
from shieldwall.members.service import issue_api_key
from shieldwall.settings import Settings
url, user_id, path, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db = Database(url)
with db.write() as conn:
    key = issue_api_key(conn, user_id).key
db.dispose()
values = json.load(open(path))
seconds = []
settings = Settings(database_url=url, validation_workers=0)
app = create_app(settings)
with TestClient(app) as client:
    for run in range(runs):
        if run == 1:  # the cold first lookup started the helper; a server has it ready by now
            app.state.lookup_helper.warm_up(LookupSettings.of(settings))
        start = time.perf_counter()
        response = client.post(
            "/api/v1/lookup", json={"values": values}, headers={"Authorization": f"Bearer {key}"}
        )
        seconds.append(round(time.perf_counter() - start, 4))
        assert response.status_code == 200, response.text
print(json.dumps(seconds))
"""


def lookups_in_a_fresh_process(db: Database, viewer: Viewer, values: list[str]) -> list[float]:
    """Seconds of each of API_LOOKUP_RUNS + 1 lookups through the API in a new process (the first
    one cold)."""
    with tempfile.NamedTemporaryFile("wb", suffix=".json") as file:
        file.write(orjson.dumps(values))
        file.flush()
        url = db.engine.url.render_as_string(hide_password=False)
        done = subprocess.run(
            [sys.executable, "-c", _FRESH_LOOKUPS, url, viewer.user_id, file.name,
             str(API_LOOKUP_RUNS + 1)],
            capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
    return orjson.loads(done.stdout)


def run_backend(backend: str, n: int, batch: int, postgres_url: str) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp,
        throwaway_urls(backend, postgres_url, Path(tmp)) as urls,
    ):
        dbs = {}
        for mode in MODES:
            migrate(urls[mode])
            dbs[mode] = Database(urls[mode])
        try:
            broker = broker_identity(Settings().broker_name)
            runs, corpus, viewers = ingest_both(dbs, n, batch, broker)
            dbs["off"].dispose()
            dbs["keys"].dispose()
            # As the server's housekeeping and autovacuum would have by now (SQLite has none):
            # fresh statistics, and pages marked all-visible for index-only scans.
            dbs["on"].housekeeping_done(timeout=600)
            if not dbs["on"].is_sqlite:
                with (
                    dbs["on"]
                    .engine.connect()
                    .execution_options(isolation_level="AUTOCOMMIT") as conn
                ):
                    conn.execute(text("VACUUM (ANALYZE)"))
            print(f"{backend}: lookups of {LOOKUPS:,} values ...", flush=True)
            lookups = measure_lookups(dbs["on"], viewers["on"][0], corpus)
            print(f"{backend}: index size ...", flush=True)
            size = index_size(dbs["on"])
        finally:
            for db in dbs.values():
                db.dispose()
        return {
            "server_version": urls.get("server_version", sqlite3.sqlite_version),
            "indicators": n,
            "distinct_values": len(corpus.pool),
            "repeated_values": len(corpus.repeated),
            "ingest": runs,
            "lookups": lookups,
            "size": size,
        }


def _total(runs: list[dict]) -> tuple[int, float]:
    return sum(r["objects"] for r in runs), sum(r["seconds"] for r in runs)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def table_rows(backends: dict[str, dict]) -> list[dict[str, Any]]:
    rows = []
    for backend, result in backends.items():
        if "ingest" not in result:
            why = result.get("skipped") or result.get("error")
            rows.append(row(f"{backend}: NOT MEASURED: {why}"[:100], ok=False))
            continue
        totals = {mode: _total(result["ingest"][mode]) for mode in MODES}
        for mode in MODES:
            count, seconds = totals[mode]
            what = f"{backend}: ingest {count:,}, {MODE_NAMES[mode]}"
            rows.append(row(what, f"{count / seconds:,.0f}/s", seconds=seconds))
        overhead = totals["keys"][1] / totals["off"][1]
        rows.append(
            row(
                f"{backend}: ingest time, correlation index / none",
                f"{overhead:.3f}x",
                f"<= {TARGET_OVERHEAD:.2f}x",
                overhead <= TARGET_OVERHEAD,
            )
        )
        with_values = totals["on"][1] / totals["off"][1]
        rows.append(
            row(f"{backend}: ingest time, with search's values too / none", f"{with_values:.3f}x")
        )
        for mode in ("off", "on"):
            runs = result["ingest"][mode]
            for place, i in (("first", 0), ("middle", len(runs) // 2), ("last", len(runs) - 1)):
                run = runs[i]
                after = run["store_before"] + run["objects"]
                what = (
                    f"{backend}: {mode}, {place} bundle {i + 1}/{len(runs)} "
                    f"(store {run['store_before']:,} -> {after:,})"
                )
                rows.append(row(what, f"{run['rate']:,.0f}/s", seconds=run["seconds"]))
        lk = result["lookups"]
        stored = f"{result['indicators']:,} stored"
        warm = lk["fresh_process_runs"][1:]
        api = statistics.median(warm)
        rows.append(
            row(
                f"{backend}: lookup {lk['values']:,} values, {stored}, API, median of {len(warm)}",
                ms(api),
                f"< {TARGET_LOOKUP_MS} ms",
                api * 1000 < TARGET_LOOKUP_MS,
                seconds=api,
                note=f"cold first: {ms(lk['fresh_process_runs'][0])}",
            )
        )
        rows.append(row(f"{backend}:   the same, best of {len(warm)}", ms(min(warm))))
        before, after = lk["machine_reference_seconds"]
        rows.append(
            row(
                f"{backend}:   machine reference before / after (a Python loop)",
                f"{before * 1000:.0f} / {after * 1000:.0f} ms",
            )
        )
        service = f"{backend}: lookup {lk['values']:,} values, service in the bench process"
        rows.append(row(f"{service}, best of {LOOKUP_RUNS}", ms(lk["best"]), seconds=lk["best"]))
        rows.append(row(f"{backend}:   the same, median", ms(lk["median"]), seconds=lk["median"]))
        phases = lk["phases"]
        for name, label in (
            ("exact", "exact matches (key_hash index)"),
            ("range", "address-in-range matches"),
            ("reports", "containing reports and STIX sightings"),
            ("scores", "indicator scores"),
            ("warnings", "warning lists"),
        ):
            rows.append(
                row(f"{backend}:   of which {label}", ms(phases[name]), seconds=phases[name])
            )
        index_only = phases["exact"] + phases["range"]
        rows.append(
            row(f"{backend}:   index only (exact + range)", ms(index_only), seconds=index_only)
        )
        rows.append(
            row(
                f"{backend}: normalise {lk['values']:,} values (before lookup)",
                ms(lk["normalise_seconds"]),
                seconds=lk["normalise_seconds"],
            )
        )
        rows.append(
            row(
                f"{backend}: values with matches (expected ~{lk['expected_held']:,})",
                f"{lk['matched']:,}",
            )
        )
        rows.append(
            row(
                f"{backend}: values matched in both members' intel",
                f"{lk['matched_by_both_members']:,}",
            )
        )
        bf = lk["brute_force"]
        rows.append(
            row(
                f"{backend}: brute force, {bf['values']} values, a full scan each",
                ms(bf["seconds"] / bf["values"]) + "/v",
                "same answers",
                bf["same_answers"],
                seconds=bf["seconds"],
            )
        )
        rows.append(
            row(
                f"{backend}: brute force extrapolated to {lk['values']:,} values",
                f"{bf['extrapolated']:,.1f} s",
                seconds=bf["extrapolated"],
            )
        )
        ratio = lk["median"] / bf["extrapolated"]
        rows.append(
            row(
                f"{backend}: lookup / brute force",
                f"{ratio:.5f}x",
                note=f"{1 / ratio:,.0f} times faster",
            )
        )
        scan = lk["one_scan_with_set"]
        rows.append(
            row(
                f"{backend}: reference: one full scan, all keys in a set",
                ms(scan["seconds"]),
                seconds=scan["seconds"],
            )
        )
        size = result["size"]
        mb = 1024 * 1024
        rows.append(row(f"{backend}: observable_keys table", f"{size['table'] / mb:,.1f} MB"))
        rows.append(row(f"{backend}: observable_keys indexes", f"{size['indexes'] / mb:,.1f} MB"))
        rows.append(row(f"{backend}: values indexed (bytes)", f"{size['values'] / mb:,.1f} MB"))
        rows.append(
            row(
                f"{backend}: beside it, search's values table + index",
                f"{size['search_values'] / mb:,.1f} MB",
                note=f"{size['search_values'] / size['values']:.2f}x the values",
            )
        )
        size_ratio = (size["table"] + size["indexes"]) / size["values"]
        rows.append(
            row(
                f"{backend}: (table + indexes) / values",
                f"{size_ratio:.2f}x",
                f"< {TARGET_SIZE_RATIO:.2f}x",
                size_ratio < TARGET_SIZE_RATIO,
            )
        )
    rows.append(
        row(
            "bench process peak RSS (VmHWM, with mapped database pages)",
            f"{status_mb('VmHWM'):,.0f} MB",
        )
    )
    anon = _anon_peak[0]
    rows.append(
        row(
            "bench process memory (RssAnon, largest sample)",
            f"{anon:,.0f} MB",
            f"< {TARGET_RSS_MB:,} MB",
            anon < TARGET_RSS_MB,
        )
    )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'figure':<64}{'seconds':>9}{'value':>14}"
    print(f"{head}  {'target':<14}result\n{'-' * (len(head) + 22)}")
    for r in rows:
        seconds = f"{r['seconds']:.3f}" if "seconds" in r else ""
        result = {None: "", True: "PASS", False: "MISS"}[r["ok"]]
        print(f"{r['what']:<64}{seconds:>9}{r['value']:>14}  {r['target']:<14}{result}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="indicators stored in all")
    parser.add_argument("--batch", type=int, default=BATCH, help="indicators per bundle")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SHIELDWALL_TEST_POSTGRES_URL", POSTGRES_URL),
        help="a database on the server where throwaway bench_<random> databases are created",
    )
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    if unknown := set(backends) - set(BACKENDS):
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if args.n < args.batch or args.batch < 1:
        parser.error("--n must be at least --batch")

    print(
        "In process: Ingestor.ingest on parsed bundles and service.lookup on normalised values, "
        "no HTTP\n(bench/ingest.py measures the server; HTTP adds the same cost with correlation "
        "on or off).",
        flush=True,
    )
    results: dict[str, dict] = {}
    for backend in backends:
        print(f"{backend}: ingesting {args.n:,} indicators, correlation on and off ...", flush=True)
        try:
            results[backend] = run_backend(backend, args.n, args.batch, args.postgres_url)
        except BackendUnavailable as exc:
            print(f"\n!!! PostgreSQL UNAVAILABLE at {args.postgres_url}: {exc}", file=sys.stderr)
            print("!!! the postgresql backend is SKIPPED\n", file=sys.stderr)
            results[backend] = {"skipped": str(exc)}

    pg_version = results.get("postgresql", {}).get("server_version", "-")
    env = {
        "N": args.n,
        "batch": args.batch,
        "overlap": OVERLAP,
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": pg_version,
        "CPUs": os.cpu_count(),
    }
    print("\nShieldwall correlation: " + ", ".join(f"{k} {v}" for k, v in env.items()) + "\n")
    rows = table_rows(results)
    print_table(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {**env, "backends": results, "rows": rows}
    OUT.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"\nwritten to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
