"""Ingest benchmark: how fast a real Shieldwall server stores large STIX 2.1 bundles.

For each backend it starts `shieldwall serve` on a free loopback port, shares generated bundles of
indicators over HTTP and sets the rates beside reference figures (stix2.parse, orjson.loads, a
bare SQLite insert). Prints a table and writes bench/out/ingest.json. A measurement, not a test:
it exits 0 even when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

OUT = Path(__file__).resolve().parent / "out" / "ingest.json"
SHIELDWALL = Path(sys.executable).parent / "shieldwall"  # the console script of this venv
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
NAMESPACE = uuid.UUID("0c6f7a52-53a1-4d0c-8a8e-5b1e2f3d4c5b")  # fixed, so ids are the same per run
SMALL = 10_000
STIX2_SLICE = 10_000
TARGET_RATE = {"sqlite": 20_000, "postgresql": 10_000}  # objects/s for the large bundle
TARGET_RSS_MB = 1024
SETTLE_SECONDS = 3
GROWTH_FLOOR = 0.9  # ours, not a product target: the run on a 110k store may be 10% slower
MEMBER = "Bench Member (SYNTHETIC)"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

PATTERNS: dict[str, Callable[[random.Random], str]] = {
    "ipv4": lambda r: f"[ipv4-addr:value = '{'.'.join(str(r.randint(1, 254)) for _ in range(4))}']",
    "domain": lambda r: f"[domain-name:value = 'h{r.getrandbits(40):010x}.example']",
    "url": lambda r: f"[url:value = 'http://h{r.getrandbits(40):010x}.example/x']",
    "sha256": lambda r: f"[file:hashes.'SHA-256' = '{r.getrandbits(256):064x}']",
}


class BenchError(RuntimeError):
    """A backend could not be measured (server did not start, bundle refused, ...)."""


def make_indicators(rng: random.Random, label: str, n: int) -> list[dict[str, Any]]:
    """n TLP:GREEN indicators of four pattern kinds; ids are uuid5 of (label, index)."""
    year_start = 1_704_067_200  # 2024-01-01T00:00:00Z
    objects = []
    for i in range(n):
        kind = rng.choice(list(PATTERNS))
        when = time.gmtime(year_start + rng.randrange(31_536_000))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", when)
        objects.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.uuid5(NAMESPACE, f'{label}-{i}')}",
                "created": stamp,
                "modified": stamp,
                "name": f"SYNTHETIC bench {kind} {label} {i}",
                "pattern": PATTERNS[kind](rng),
                "pattern_type": "stix",
                "valid_from": stamp,
                "object_marking_refs": [TLP_GREEN],
            }
        )
    return objects


def bundle_bytes(label: str, objects: list[dict[str, Any]]) -> bytes:
    bundle_id = f"bundle--{uuid.uuid5(NAMESPACE, label)}"
    return orjson.dumps({"type": "bundle", "id": bundle_id, "objects": objects})


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def figure(objects: int, seconds: float, label: str = "") -> dict[str, Any]:
    rate = round(objects / seconds, 1)
    return {"label": label, "objects": objects, "seconds": round(seconds, 4), "rate": rate}


def reference_figures(objects: list[dict[str, Any]], payload: bytes) -> dict[str, dict]:
    import stix2  # a dev dependency: only the reference figure needs it

    sample = objects[:STIX2_SLICE]
    stix2_s = timed(lambda: [stix2.parse(obj, allow_custom=True) for obj in sample])
    orjson_s = min(timed(lambda: orjson.loads(payload)) for _ in range(3))
    n, bare_s = len(objects), bare_sqlite_insert(objects)
    return {
        "stix2": figure(len(sample), stix2_s, f"stix2.parse, {len(sample):,} objects"),
        "orjson": figure(n, orjson_s, f"orjson.loads, {n:,}-object bundle"),
        "bare-sqlite": figure(n, bare_s, f"bare SQLite insert, {n:,} rows"),
    }


def bare_sqlite_insert(objects: list[dict[str, Any]]) -> float:
    """Seconds to insert one row per object, pre-built, in one transaction: SQLite's own floor."""
    now = "2025-01-01T00:00:00.000000Z"
    rows = [
        (o["id"], o["type"], o["modified"], 2, "community", "m", now, orjson.dumps(o).decode())
        for o in objects
    ]
    columns = "id, type, modified, tlp, distribution, member, date_added, body"
    with (
        tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp,
        closing(sqlite3.connect(Path(tmp) / "bare.db")) as db,
    ):
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # as the server sets it
        db.execute(f"CREATE TABLE objects (pk INTEGER PRIMARY KEY, {columns})")
        for i, cols in enumerate(("id, modified", "type, pk", "member, date_added", "tlp")):
            db.execute(f"CREATE INDEX ix_{i} ON objects ({cols})")
        start = time.perf_counter()
        with db:  # one transaction, committed on leaving the block
            db.executemany(f"INSERT INTO objects ({columns}) VALUES ({'?, ' * 7}?)", rows)
        return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, key: str = "") -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_responds(server: subprocess.Popen, port: int, log: Path) -> None:
    for _ in range(600):  # 60 s
        if server.poll() is not None:
            tail = log.read_text(errors="replace").strip()[-3000:]
            last = tail.splitlines()[-1] if tail else ""
            raise BenchError(f"the server exited with {server.returncode}: {last}\n{tail}")
        try:
            if request(port, "GET", "/api/v1/openapi.json")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError("the server did not answer within 60 s")


def cli(*args: str) -> str:
    done = subprocess.run([SHIELDWALL, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"shieldwall {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchError("no VmHWM in /proc/<pid>/status")


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:  # the process has ended
        pass
    return 0


class PrivateMemoryPeak(threading.Thread):
    """Samples the server's and its workers' own memory (RssAnon) every 50 ms and keeps the
    largest sum. VmHWM also counts the database pages SQLite reads through its memory map,
    which belong to the page cache, not to the server."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            self.peak_kb = max(self.peak_kb, private_kb(self.pid))


def private_kb(pid: int) -> int:
    """The server's and its workers' own memory (RssAnon) now."""
    return sum(status_kb(p, "RssAnon") for p in [pid, *children(pid)])


def children(pid: int) -> list[int]:
    """The processes `pid` started (the validation worker and its helpers), recursively."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in map(int, (task / "children").read_text().split()):
            found += [child, *children(child)]
    return found


def serve_and_share(url: str, payloads: list[tuple[int, bytes]], tmp: Path) -> dict[str, Any]:
    """Start `shieldwall serve` on `url`, share each payload in turn, time each POST."""
    port, log = free_port(), tmp / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [SHIELDWALL, "serve", "--host", "127.0.0.1", "--port", str(port), "--database", url],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_responds(server, port, log)
            cli("member", "add", MEMBER, "--kind", "industry", "--database", url)
            user = ["bench@example.org", "--member", MEMBER, "--role", "analyst"]
            out = cli("user", "add", *user, "--database", url)
            key = re.search(r"API key: (sw_\S+)", out).group(1)  # type: ignore[union-attr]
            runs, held = [], 0
            at_start = private_kb(server.pid)
            sampler = PrivateMemoryPeak(server.pid)
            sampler.start()
            for count, body in payloads:
                start = time.perf_counter()  # wall time of the request, as a client sees it
                status, reply = request(port, "POST", "/api/v1/bundles", body, key)
                seconds = time.perf_counter() - start
                if status != 201 or orjson.loads(reply).get("stored") != count:
                    raise BenchError(f"POST /bundles answered {status}: {reply[:800]!r}")
                runs.append({**figure(count, seconds), "store_before": held})
                held += count
            # The server's own peak, and its worker processes' peaks added: an upper bound on
            # what it took at once.
            workers = sum(peak_rss_mb(child) for child in children(server.pid))
            sampler.stopped.set()
            sampler.join()
            time.sleep(SETTLE_SECONDS)  # the server's housekeeping runs after each write
            settled = private_kb(server.pid)
            return {
                "runs": runs,
                "peak_rss_mb": round(peak_rss_mb(server.pid) + workers, 1),
                "workers_peak_rss_mb": round(workers, 1),
                "peak_private_mb": round(sampler.peak_kb / 1024, 1),
                "private_at_start_mb": round(at_start / 1024, 1),
                "private_settled_mb": round(settled / 1024, 1),
            }
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def server_version(conn: Any) -> str:
    """The server's version and its buffer cache, which decides how many reads a lookup makes."""
    buffers = conn.scalar(text("SHOW shared_buffers"))
    return f"{conn.scalar(text('SHOW server_version'))}, shared_buffers {buffers}"


def run_backend(backend: str, payloads: list, postgres_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp:
        if backend == "sqlite":
            return serve_and_share(f"sqlite:///{tmp}/bench.db", payloads, Path(tmp))
        admin = create_engine(
            postgres_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )
        name = f"bench_{uuid.uuid4().hex[:12]}"
        try:
            with admin.connect() as conn:
                version = server_version(conn)
                conn.execute(text(f"CREATE DATABASE {name}"))
        except Exception as exc:  # any failure to reach it means: skip, loudly
            admin.dispose()
            reason = str(exc).splitlines()[0]
            print(f"\n!!! PostgreSQL UNAVAILABLE at {postgres_url}: {reason}", file=sys.stderr)
            print("!!! the postgresql backend is SKIPPED\n", file=sys.stderr)
            return {"skipped": reason}
        try:
            url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
            return {"server_version": version, **serve_and_share(url, payloads, Path(tmp))}
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()


def row(what: str, value: str = "", target: str = "", ok: bool | None = None, **more: Any) -> dict:
    return {"what": what, "value": value, "target": target, "ok": ok, **more}


def table_rows(refs: dict[str, dict], backends: dict[str, dict]) -> list[dict[str, Any]]:
    """One row per figure: what, shown value, target, pass, and seconds and ratios for rates."""
    rows = []
    for backend, result in backends.items():
        if "runs" not in result:
            why = result.get("skipped") or result.get("error")
            rows.append(row(f"{backend}: NOT MEASURED: {why}"[:100], ok=False))
            continue
        first, large, on_top = result["runs"]
        targets = [
            ("", None),
            (f">= {TARGET_RATE[backend]:,}/s", large["rate"] >= TARGET_RATE[backend]),
            (f">= {GROWTH_FLOOR:.0%} of prev", on_top["rate"] >= GROWTH_FLOOR * large["rate"]),
        ]
        for run, (target, ok) in zip(result["runs"], targets, strict=True):
            before, after = run["store_before"], run["store_before"] + run["objects"]
            ratios = {f"/{r}": run["rate"] / refs[r]["rate"] for r in refs}
            what = f"{backend}: POST {run['objects']:,} (store {before:,} -> {after:,})"
            rows.append(
                row(what, f"{run['rate']:,.0f}/s", target, ok, seconds=run["seconds"], **ratios)
            )
        growth = large["rate"] / first["rate"]
        rows.append(
            row(f"{backend}: large rate / small rate", f"{growth:.3f}x", ">= 1.000x", growth >= 1)
        )
        rss = result["peak_rss_mb"]
        rows.append(row(f"{backend}: server + workers VmHWM, summed", f"{rss:,.0f} MB"))
        private = result["peak_private_mb"]
        what = f"{backend}: server + workers peak own memory (RssAnon)"
        limit = f"< {TARGET_RSS_MB:,} MB"
        rows.append(row(what, f"{private:,.0f} MB", limit, private < TARGET_RSS_MB))
        start, settled = result["private_at_start_mb"], result["private_settled_mb"]
        what = f"{backend}: own memory {SETTLE_SECONDS} s after the last POST (at start)"
        rows.append(row(what, f"{settled:,.0f} MB ({start:,.0f} MB)"))
    for ref in refs.values():
        rows.append(
            row(f"reference: {ref['label']}", f"{ref['rate']:,.0f}/s", seconds=ref["seconds"])
        )
    return rows


def print_table(rows: list[dict[str, Any]], refs: dict[str, dict]) -> None:
    ratio_cols = [f"/{r}" for r in refs]
    head = f"{'figure':<56}{'seconds':>8}{'rate':>13}" + "".join(f"{c:>13}" for c in ratio_cols)
    print(f"{head}  {'target':<19}result\n{'-' * (len(head) + 27)}")
    for r in rows:
        seconds = f"{r['seconds']:.3f}" if "seconds" in r else ""
        ratios = "".join(f"{r[c]:>12.3g}x" if c in r else " " * 13 for c in ratio_cols)
        result = {None: "", True: "PASS", False: "MISS"}[r["ok"]]
        print(f"{r['what']:<56}{seconds:>8}{r['value']:>13}{ratios}  {r['target']:<19}{result}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="objects in the large bundles")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SHIELDWALL_TEST_POSTGRES_URL", POSTGRES_URL),
        help="a database on the server where a throwaway bench_<random> database is created",
    )
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    if unknown := set(backends) - set(TARGET_RATE):
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")

    print(f"generating bundles: {SMALL:,} + {args.n:,} + {args.n:,} indicators ...", flush=True)
    rng = random.Random(1)
    large = make_indicators(rng, "large", args.n)
    payloads = [
        (SMALL, bundle_bytes("small", make_indicators(rng, "small", SMALL))),
        (args.n, bundle_bytes("large", large)),
        (args.n, bundle_bytes("on-top", make_indicators(rng, "on-top", args.n))),
    ]
    print("reference figures ...", flush=True)
    refs = reference_figures(large, payloads[1][1])
    del large
    results: dict[str, dict] = {}
    for backend in backends:
        print(f"{backend}: serving and sharing ...", flush=True)
        try:
            results[backend] = run_backend(backend, payloads, args.postgres_url)
        except (BenchError, OSError) as exc:  # OSError: a request timed out or was cut
            print(f"!!! {backend}: {exc}", file=sys.stderr)
            results[backend] = {"error": str(exc).splitlines()[0]}

    pg_version = results.get("postgresql", {}).get("server_version", "-")
    env = {"N": args.n, "Python": platform.python_version(), "SQLite": sqlite3.sqlite_version,
           "PostgreSQL": pg_version, "CPUs": os.cpu_count()}  # fmt: skip
    print("\nShieldwall ingest: " + ", ".join(f"{k} {v}" for k, v in env.items()) + "\n")
    rows = table_rows(refs, results)
    print_table(rows, refs)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {**env, "references": refs, "backends": results, "rows": rows}
    OUT.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"\nwritten to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
