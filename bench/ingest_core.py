"""Ingest core benchmark: the CPU one object costs the thread that runs Ingestor.ingest.

Every write path (POST /api/v1/bundles, TAXII POST, MISP import, federation) ends in
Ingestor.ingest; validation of a large bundle runs in a worker process and the inserts in a
writer thread, so the thread that calls ingest is where the rest is spent: sharing rules,
version checks, the objects' rows, the correlation and search index rows. This measures that
thread's CPU time (time.thread_time) per object, the whole process's beside it (the writer
thread's inserts and commit included) and the validation workers' (child processes, read from
/proc where there is one), in process (no HTTP), with the indexes an app builds (ingestor_for:
the warning lists the settings name, all by default, read from --cache-dir), on a fresh SQLite
file. CPU time, not wall time: on a shared machine the wall time of one run follows the load of
the moment, the CPU time much less (still some: caches are shared too, so compare runs made side
by side).

Data: bench/correlate.py's indicators (ipv4, domain, url and SHA-256 patterns, 20% of values
repeated, TLP:GREEN), --n of them in bundles of --batch, after a warm-up bundle. Prints, per
bundle and overall, microseconds per object; the smallest bundle figure is the least disturbed.
A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from correlate import Corpus, add_members
from shieldwall.db import Database, migrate
from shieldwall.intel.ingest import ingestor_for
from shieldwall.settings import Settings


def children_cpu() -> float:
    """CPU seconds of this process's children (the validation workers) so far; 0 without /proc."""
    total, me = 0.0, str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if fields[1] == me:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30_000, help="indicators measured")
    parser.add_argument("--batch", type=int, default=10_000, help="indicators per bundle")
    parser.add_argument("--workers", type=int, default=1, help="validation worker processes")
    parser.add_argument("--warninglists", default="all", help="as SHIELDWALL_WARNINGLISTS")
    parser.add_argument("--cache-dir", default="var/cache", help="as SHIELDWALL_CACHE_DIR")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sw-ingest-core-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate(url)
        db = Database(url)
        settings = Settings(
            database_url=url,
            validation_workers=args.workers,
            warninglists=args.warninglists,
            cache_dir=args.cache_dir,
        )
        ingestor = ingestor_for(db, settings)
        try:
            viewers = add_members(db)
            corpus = Corpus()
            bundles = [
                corpus.bundle(min(args.batch, args.n - start))
                for start in range(0, args.n, args.batch)
            ]
            warm = Corpus(seed=9).bundle(min(args.batch, 2_500))
            for obj in warm["objects"]:  # ids of their own, by another member
                obj["id"] = f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, obj['id'])}"
            ingestor.ingest(viewers[1], warm)
            thread_total = process_total = 0.0
            per_bundle = []
            workers_before = children_cpu()
            for bundle in bundles:
                t0, p0 = time.thread_time(), time.process_time()
                result = ingestor.ingest(viewers[0], bundle)
                thread, process = time.thread_time() - t0, time.process_time() - p0
                count = len(bundle["objects"])
                if result.stored != count:
                    raise RuntimeError(f"stored {result.stored} of {count}")
                per_bundle.append(thread / count * 1e6)
                thread_total += thread
                process_total += process
            workers_total = children_cpu() - workers_before
        finally:
            ingestor.close()
            db.dispose()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"ingest core, {args.n:,} indicators in bundles of {args.batch:,} (load {load}): "
        f"calling thread {thread_total / args.n * 1e6:.1f} us/object "
        f"(bundles: {', '.join(f'{x:.1f}' for x in per_bundle)}; least {min(per_bundle):.1f}), "
        f"process {process_total / args.n * 1e6:.1f}, validation workers "
        f"{workers_total / args.n * 1e6:.1f}, "
        f"all {(process_total + workers_total) / args.n * 1e6:.1f} us/object"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
