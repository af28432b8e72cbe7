"""TAXII benchmark: Shieldwall's TAXII 2.1 server against OpenTAXII 0.9.3 and medallion 3.0.0.

Each server (bench/taxii_servers.py) is served on loopback, loaded with the same generated
objects over TAXII POST (--batch objects a request), and asked the same queries by one client,
one request at a time, each repeated (--requests; --slow-requests for the other two, without a
warm-up: they cache nothing):

  first page       GET objects/?limit=1000
  type             GET objects/?match[type]=indicator&limit=100
  id               GET objects/?match[id]=<the object in the middle>
  recent           GET objects/?added_after=<just before the last batch>&limit=100
  page everything  GET objects/?limit=1000, then each `next` until `more` is false

Shieldwall grows one collection through --sizes on each database and is measured at each size,
read by a reader of another member through an admin's collection (policy and selection on every
row, as in production); OpenTAXII is measured at --compare-size, medallion at --medallion-size
(its memory backend slows down as it fills). A request that takes longer than --timeout is
recorded as such: the ratio against it is then a lower bound.

Prints requests/s, p50 and p99 per query per server, the ratios against the targets, and
Shieldwall's p99 at each size against its p99 at the smallest; writes bench/out/taxii.json.
A measurement, not a test: it exits 0 even when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from ingest import NAMESPACE, PATTERNS, POSTGRES_URL, TLP_GREEN, BenchError
from taxii_servers import TAXII, Target, database_cpu_seconds, medallion, opentaxii, shieldwall

OUT = Path(__file__).resolve().parent / "out" / "taxii.json"
QUERIES = ("first page", "type", "id", "recent")
EXPECTED = {"first page": 1000, "type": 100, "id": 1, "recent": 100}  # objects per answer
TARGET_QUERY_RATIO = 100  # Shieldwall's requests/s / OpenTAXII's, each query, at --compare-size
TARGET_PAGING_RATIO = 50  # OpenTAXII's time to page through everything / Shieldwall's
TARGET_INGEST_RATIO = 50  # objects/s over TAXII POST
TARGET_GROWTH = 2.0  # each query's p99 at the largest size / at the smallest


def make_objects(start: int, count: int) -> list[dict[str, Any]]:
    """Objects start..start+count-1: nine indicators in ten, a malware in ten (so that a type
    filter has something to leave out), each modified at its own time within 2024 (as real
    objects are: a server may index versions by time); the same for every server and run."""
    rng = random.Random(start)
    made = []
    for i in range(start, start + count):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                              time.gmtime(1_704_067_200 + rng.randrange(31_536_000)))  # fmt: skip
        common = {"id": object_id(i), "spec_version": "2.1", "created": stamp, "modified": stamp,
                  "object_marking_refs": [TLP_GREEN]}  # fmt: skip
        if i % 10 == 9:
            made.append({"type": "malware", **common, "name": f"SYNTHETIC malware {i}",
                         "is_family": False})  # fmt: skip
        else:
            kind = rng.choice(list(PATTERNS))
            made.append({"type": "indicator", **common, "name": f"SYNTHETIC bench {kind} {i}",
                         "pattern": PATTERNS[kind](rng), "pattern_type": "stix",
                         "valid_from": stamp})  # fmt: skip
    return made


def object_id(i: int) -> str:
    prefix = "malware" if i % 10 == 9 else "indicator"
    return f"{prefix}--{uuid.uuid5(NAMESPACE, f'taxii-bench-{i}')}"


class Run:
    """One client of one server: loads it and times its answers."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.target, self.timeout = target, timeout
        self.http = httpx.Client(timeout=timeout)
        self.loaded = 0
        self.recent = ""  # added_after for the "recent" query: just before the last batch

    def load(self, upto: int, batch: int) -> tuple[float, float]:
        """POST objects loaded..upto-1 in batches: objects/s over the requests' wall time, and
        objects per CPU second the server's processes spent on them (which the load other
        programs put on a shared machine changes far less than the wall time)."""
        seconds, cpu, t = 0.0, 0.0, self.target
        for start in range(self.loaded, upto, batch):
            count = min(batch, upto - start)
            body = orjson.dumps({"objects": make_objects(start, count)})
            self.recent = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            time.sleep(0.002)  # the clock moves on before the server stamps the batch
            began, began_cpu = time.perf_counter(), t.cpu_seconds()
            response = httpx.post(t.write_url, content=body, timeout=3600,
                                  headers={**t.write_headers, "Content-Type": TAXII})  # fmt: skip
            seconds += time.perf_counter() - began
            cpu += t.cpu_seconds() - began_cpu
            status = response.json() if response.status_code == 202 else {}
            if status.get("success_count") != count:
                raise BenchError(f"{t.name}: POST answered {response.status_code}: "
                                 f"{response.text[:500]}")  # fmt: skip
        added, self.loaded = upto - self.loaded, upto
        return (added / seconds if seconds else 0.0), (added / cpu if cpu else 0.0)

    def get(self, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        began = time.perf_counter()
        response = self.http.get(self.target.read_url, params=params,
                                 headers=self.target.read_headers)  # fmt: skip
        seconds = time.perf_counter() - began
        if response.status_code != 200:
            raise BenchError(f"{self.target.name}: GET {params} answered "
                             f"{response.status_code}: {response.text[:300]}")  # fmt: skip
        return seconds, response.json()

    def settle(self, seconds: float = 120) -> None:
        """Wait until the server and the database are idle (under 5% of a core for a second,
        PostgreSQL's processes counted with the server's: a VACUUM the server starts half a
        second after its last write runs there): what it does after a large load (SQLite's
        checkpoint, PostgreSQL's VACUUM ANALYZE of a million rows) is not what a query costs,
        and ran under the first size's queries as it did not under the next's."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            before = self.target.cpu_seconds() + database_cpu_seconds()
            time.sleep(1)
            if self.target.cpu_seconds() + database_cpu_seconds() - before < 0.05:
                return

    def measure(self, requests: int, *, warm: bool) -> dict[str, Any]:
        if self.target.pid:
            self.settle()
        middle = object_id(self.loaded // 2 - (self.loaded // 2) % 10)
        asks = {
            "first page": {"limit": 1000},
            "type": {"match[type]": "indicator", "limit": 100},
            "id": {"match[id]": middle},
            "recent": {"added_after": self.recent, "limit": 100},
        }
        figures: dict[str, Any] = {query: self.query(query, params, requests, warm)
                                   for query, params in asks.items()}  # fmt: skip
        figures["page everything"] = self.page_everything()
        return figures

    def query(self, query: str, params: dict[str, Any], requests: int, warm: bool) -> dict:
        """Wall times of the requests, and the server's CPU time for each (its processes, from
        /proc; not a database server's): on a shared machine the wall time of a request of a
        few milliseconds is mostly waiting for a core, and follows the load of the moment."""
        times = []
        try:
            for i in range(requests + warm):
                if i == int(warm):
                    cpu = self.target.cpu_seconds()
                seconds, answer = self.get(params)
                got = len(answer.get("objects", []))
                if got != EXPECTED[query]:
                    raise BenchError(f"{self.target.name}: {query} gave {got} objects")
                times.append(seconds)
        except httpx.TimeoutException:
            return {"timed_out_after_s": self.timeout}
        figures = summary(times[1:] if warm else times)
        if self.target.pid:
            figures["cpu_ms"] = round((self.target.cpu_seconds() - cpu) / requests * 1000, 2)
        figures["load"] = round(os.getloadavg()[0], 1)
        return figures

    def page_everything(self) -> dict[str, Any]:
        began, seen, params = time.perf_counter(), 0, {"limit": 1000}
        try:
            while True:
                _, page = self.get(params)
                seen += len(page.get("objects", []))
                if not page.get("more"):
                    break
                params = {"limit": 1000, "next": page["next"]}
        except httpx.TimeoutException:
            return {"timed_out_after_s": self.timeout, "objects": seen}
        if seen < self.loaded:
            raise BenchError(f"{self.target.name}: paging saw {seen} objects of {self.loaded}")
        return {"seconds": round(time.perf_counter() - began, 3), "objects": seen}


def summary(times: list[float]) -> dict[str, Any]:
    cuts = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else times * 99
    return {"requests": len(times), "rps": round(len(times) / sum(times), 3),
            "p50_ms": round(statistics.median(times) * 1000, 2),
            "p99_ms": round(cuts[98] * 1000, 2)}  # fmt: skip


def rps(figure: dict[str, Any]) -> tuple[float, str]:
    """Requests/s, and '<' when the request timed out (so the rate is an upper bound)."""
    if "timed_out_after_s" in figure:
        return 1 / figure["timed_out_after_s"], "<"
    return figure["rps"], ""


def print_tables(report: dict[str, Any]) -> None:
    runs = report["runs"]
    print("\n## Each server, each query (one client, one request at a time)")
    print(f"{'server':<26}{'objects':>10} {'query':<16}{'req/s':>11}{'p50 ms':>11}{'p99 ms':>11}"
          f"{'CPU ms':>9}{'load':>7}")  # fmt: skip
    for name, sized in runs.items():
        for size, f in sized.items():
            lead = f"{name:<26}{int(size):>10,} "
            for query in QUERIES:
                if "timed_out_after_s" in f[query]:
                    print(f"{lead}{query:<16}  each request > {f[query]['timed_out_after_s']} s")
                    continue
                q = f[query]
                cpu = f"{q['cpu_ms']:>9,.2f}" if "cpu_ms" in q else f"{'':>9}"
                print(f"{lead}{query:<16}{q['rps']:>11,.1f}{q['p50_ms']:>11,.1f}"
                      f"{q['p99_ms']:>11,.1f}{cpu}{q.get('load', 0):>7.1f}")  # fmt: skip
            paging = f["page everything"]
            took = (f"{paging['seconds']:,.2f} s" if "seconds" in paging
                    else f"> {paging['timed_out_after_s']} s (a page)")  # fmt: skip
            print(f"{lead}{'page everything':<16}  {took} for {paging['objects']:,} objects")
            print(f"{lead}{'TAXII POST':<16}  {f['ingest_rate']:,.0f} objects/s, loading to "
                  f"this size; {f.get('ingest_per_cpu_second', 0):,.0f} per CPU second of the "
                  "server's")  # fmt: skip
    for other, size, targets in (
        ("OpenTAXII 0.9.3", report["compare_size"], True),
        ("medallion 3.0.0", report["medallion_size"], False),
    ):
        theirs = runs.get(other, {}).get(str(size))
        if not theirs:
            continue
        bars = (
            (
                f" (targets: each query >= {TARGET_QUERY_RATIO}x, paging >= "
                f"{TARGET_PAGING_RATIO}x, TAXII POST >= {TARGET_INGEST_RATIO}x)"
            )
            if targets
            else ""
        )
        print(f"\n## Shieldwall / {other}, both at {size:,} objects{bars}")
        for name, sized in runs.items():
            ours = sized.get(str(size))
            if not name.startswith("Shieldwall") or not ours:
                continue
            cells = []
            for query in QUERIES:
                (mine, _), (their, bound) = rps(ours[query]), rps(theirs[query])
                ratio = mine / their
                cells.append(f"{query} {'>' if bound else ''}{ratio:,.0f}x"
                             + mark(ratio, TARGET_QUERY_RATIO if targets else None))  # fmt: skip
            mine_s = ours["page everything"].get("seconds")
            their_s = theirs["page everything"].get("seconds")
            if mine_s and their_s:
                ratio = their_s / mine_s
                cells.append(f"paging {ratio:,.0f}x"
                             + mark(ratio, TARGET_PAGING_RATIO if targets else None))  # fmt: skip
            ratio = ours["ingest_rate"] / theirs["ingest_rate"]
            cells.append(f"POST {ratio:,.0f}x" + mark(ratio, TARGET_INGEST_RATIO if targets
                                                      else None))  # fmt: skip
            if ours.get("ingest_per_cpu_second") and theirs.get("ingest_per_cpu_second"):
                ratio = ours["ingest_per_cpu_second"] / theirs["ingest_per_cpu_second"]
                cells.append(f"POST per CPU second {ratio:,.0f}x")
            print(f"  {name:<24}" + "; ".join(cells))
    print(f"\n## Shieldwall's p99 at each size / its p99 at the smallest (target <= "
          f"{TARGET_GROWTH}x)")  # fmt: skip
    for name, sized in runs.items():
        sizes = sorted(sized, key=int)
        if not name.startswith("Shieldwall") or len(sizes) < 2:
            continue
        for size in sizes[1:]:
            cells = []
            for query in QUERIES:
                growth = sized[size][query]["p99_ms"] / sized[sizes[0]][query]["p99_ms"]
                cells.append(f"{query} {growth:.2f}x" + mark(TARGET_GROWTH / growth, 1))
            print(f"  {name:<24}{int(size):>10,}: " + "; ".join(cells))
    print("\n## Shieldwall's server CPU per request at each size / at the smallest (what the "
          "load of a shared machine leaves alone)")  # fmt: skip
    for name, sized in runs.items():
        sizes = sorted(sized, key=int)
        if not name.startswith("Shieldwall") or len(sizes) < 2:
            continue
        for size in sizes[1:]:
            cells = [
                f"{query} {sized[size][query]['cpu_ms'] / sized[sizes[0]][query]['cpu_ms']:.2f}x"
                for query in QUERIES
                if sized[size][query].get("cpu_ms") and sized[sizes[0]][query].get("cpu_ms")
            ]
            print(f"  {name:<24}{int(size):>10,}: " + "; ".join(cells))


def mark(value: float, bar: float | None) -> str:
    return "" if bar is None else (" PASS" if value >= bar else " MISS")


def _sizes(given: str) -> list[int]:
    return sorted(int(size) for size in given.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[10_000, 100_000, 1_000_000],
                        help="Shieldwall's collection sizes, grown in turn")  # fmt: skip
    parser.add_argument("--compare-size", type=int, default=100_000,
                        help="OpenTAXII's size; one of --sizes, for the ratios")  # fmt: skip
    parser.add_argument("--medallion-size", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--servers", default="shieldwall,opentaxii,medallion")
    parser.add_argument("--requests", type=int, default=50, help="per query, Shieldwall")
    parser.add_argument("--slow-requests", type=int, default=3, help="per query, the others")
    parser.add_argument("--batch", type=int, default=10_000, help="objects per TAXII POST")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for one request")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "SHIELDWALL_TEST_POSTGRES_URL", POSTGRES_URL))  # fmt: skip
    args = parser.parse_args(argv)
    servers = args.servers.split(",")
    report: dict[str, Any] = {"compare_size": args.compare_size,
                              "medallion_size": args.medallion_size, "batch": args.batch,
                              "runs": {}}  # fmt: skip

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-taxii-") as tmp_name:
        tmp = Path(tmp_name)
        plan: list[tuple[Callable[[], AbstractContextManager[Target]], list[int], int, bool]] = []
        if "shieldwall" in servers:
            for backend in args.backends.split(","):
                plan.append((lambda b=backend: shieldwall(b, tmp, args.postgres_url),
                             args.sizes, args.requests, True))  # fmt: skip
        if "opentaxii" in servers:
            plan.append((lambda: opentaxii(tmp), [args.compare_size], args.slow_requests, False))
        if "medallion" in servers:
            plan.append((lambda: medallion(tmp), [args.medallion_size], args.slow_requests,
                         False))  # fmt: skip
        for start, sizes, requests, warm in plan:
            try:
                with start() as target:
                    run, results = Run(target, args.timeout), {}
                    for size in sizes:
                        log(f"{target.name}: loading to {size:,} objects")
                        rate, per_cpu = run.load(size, args.batch)
                        log(f"{target.name}: {rate:,.0f} objects/s ({per_cpu:,.0f} per CPU "
                            f"second); querying at {size:,}")  # fmt: skip
                        results[size] = {"ingest_rate": round(rate, 1),
                                         "ingest_per_cpu_second": round(per_cpu, 1),
                                         **run.measure(requests, warm=warm)}  # fmt: skip
                    report["runs"][target.name] = results
            except (BenchError, OSError, subprocess.CalledProcessError) as exc:
                log(f"!!! skipped: {exc}")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    print_tables(orjson.loads(OUT.read_bytes()))
    print(f"\n(all figures in {OUT})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
