"""Stream benchmark: how long a shared object takes to reach every connected subscriber.

For each backend it starts `shieldwall serve` on a free loopback port, connects S subscribers
to GET /api/v1/stream (each its own HTTP connection, as S SOC tools would be), then shares R
objects per second for T seconds in bundles of 50, and measures, for every object and every
subscriber, the time from the moment its POST was answered 201 (the write accepted) to the
moment the event arrived. Prints p50, p99 and the largest latency, and writes
bench/out/stream.json. A measurement, not a test: it exits 0 even when a target is missed.

The subscribers run in this process, on one event loop: an arrival is stamped when its chunk
is read, so the figures include this client's own delays on a loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ingest import (
    MEMBER,
    POSTGRES_URL,
    SHIELDWALL,
    TLP_GREEN,
    BenchError,
    cli,
    free_port,
    wait_until_responds,
)

OUT = Path(__file__).resolve().parent / "out" / "stream.json"
BUNDLE = 50
TARGET_P99_MS = 250
_ID = re.compile(rb'"id":"(indicator--[0-9a-f-]{36})"')


def indicators(count: int, start: int) -> list[dict[str, Any]]:
    at = "2026-01-15T10:00:00.000Z"
    return [
        {
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": at, "modified": at, "name": f"bench {start + i}",
            "pattern": f"[ipv4-addr:value = '10.{(start + i) >> 16 & 255}.{(start + i) >> 8 & 255}."
                       f"{(start + i) & 255}']",
            "pattern_type": "stix", "valid_from": at, "object_marking_refs": [TLP_GREEN],
        }
        for i in range(count)
    ]  # fmt: skip


async def subscribe(
    url: str, key: str, arrivals: dict[str, list[float]], ready: asyncio.Event, stop: asyncio.Event
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", f"{url}/api/v1/stream?type=indicator", headers=headers) as r,
    ):
        if r.status_code != 200:
            raise BenchError(f"GET /stream answered {r.status_code}")
        ready.set()
        async for chunk in r.aiter_bytes():
            now = time.perf_counter()
            for found in _ID.findall(chunk):
                arrivals.setdefault(found.decode(), []).append(now)
            if stop.is_set():
                return


def share(url: str, key: str, rate: int, seconds: float, accepted: dict[str, float]) -> None:
    """R objects a second, a bundle of 50 every 50/R s; records when each POST was answered."""
    every = BUNDLE / rate
    with httpx.Client(timeout=120) as client:
        start = time.perf_counter()
        for n in range(int(rate * seconds / BUNDLE)):
            delay = start + n * every - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            objects = indicators(BUNDLE, n * BUNDLE)
            body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                 "objects": objects})  # fmt: skip
            answer = client.post(f"{url}/api/v1/bundles", content=body, headers={
                "Authorization": f"Bearer {key}", "Content-Type": "application/json"})  # fmt: skip
            done = time.perf_counter()
            if answer.status_code != 201:
                raise BenchError(f"POST /bundles answered {answer.status_code}: {answer.text}")
            for obj in objects:
                accepted[obj["id"]] = done


async def measure(
    url: str, writer: str, readers: list[str], args: argparse.Namespace, server_pid: int
) -> dict:
    arrivals: dict[str, list[float]] = {}
    accepted: dict[str, float] = {}
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in range(args.subscribers)]
    tasks = [asyncio.create_task(subscribe(url, readers[i % len(readers)], arrivals, ready, stop))
             for i, ready in enumerate(readies)]  # fmt: skip
    await asyncio.gather(*(ready.wait() for ready in readies))
    writer_thread = threading.Thread(
        target=share, args=(url, writer, args.rate, args.seconds, accepted)
    )
    spy = None
    if os.environ.get("STREAM_BENCH_PROFILE"):  # py-spy record of the server while it serves
        spy = subprocess.Popen(["py-spy", "record", "--threads", "-f", "raw", "-p", str(server_pid),
                                "-o", os.environ["STREAM_BENCH_PROFILE"]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    writer_thread.start()
    while writer_thread.is_alive():
        await asyncio.sleep(0.1)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait()
    await asyncio.sleep(3)  # the last events on their way
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [
        (arrived - accepted[oid]) * 1000 for oid, times in arrivals.items() if oid in accepted
        for arrived in times
    ]  # fmt: skip
    expected = len(accepted) * args.subscribers
    if not latencies:
        raise BenchError("no event arrived")
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "objects": len(accepted), "subscribers": args.subscribers, "deliveries": len(latencies),
        "missing": expected - len(latencies), "p50_ms": round(cuts[49], 1),
        "p99_ms": round(cuts[98], 1), "max_ms": round(max(latencies), 1),
    }  # fmt: skip


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict:
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp}/stream.db", None
    else:
        name = f"sw_bench_stream_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url, drop = make_url(POSTGRES_URL).set(database=name).render_as_string(False), name
    port, log = free_port(), tmp / f"{backend}.log"
    server = subprocess.Popen(
        [SHIELDWALL, "serve", "--host", "127.0.0.1", "--port", str(port), "--database", url],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until_responds(server, port, log)
        cli("member", "add", MEMBER, "--kind", "industry", "--database", url)
        out = cli("user", "add", "w@example.org", "--member", MEMBER, "--role", "analyst",
                  "--database", url)  # fmt: skip
        writer = re.search(r"API key: (sw_\S+)", out).group(1)  # type: ignore[union-attr]
        readers = []
        for m in range(args.members):  # subscribers of different members: nothing shared
            name = f"Bench SOC {m} (SYNTHETIC)"
            cli("member", "add", name, "--kind", "industry", "--database", url)
            out = cli("user", "add", f"r{m}@example.org", "--member", name,
                      "--role", "reader", "--database", url)  # fmt: skip
            readers.append(re.search(r"API key: (sw_\S+)", out).group(1))  # type: ignore[union-attr]
        return asyncio.run(measure(f"http://127.0.0.1:{port}", writer, readers, args, server.pid))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # busy with its subscribers: it must not outlive us
            server.kill()
            server.wait()
        if drop:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=500, help="objects shared per second")
    parser.add_argument(
        "--members", type=int, default=10, help="the subscribers are readers of this many members"
    )
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    # Stopped from outside (`timeout`, ^C from a job runner): still stop the server and drop the
    # database (the finally blocks), which a plain SIGTERM would skip.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            print(f"{backend}: {args.subscribers} subscribers, {args.rate} objects/s for "
                  f"{args.seconds:g} s ...", flush=True)  # fmt: skip
            try:
                results[backend] = run_backend(backend, args, Path(tmp))
            except Exception as exc:  # an unreachable PostgreSQL: say so, go on
                print(f"  {backend} NOT MEASURED: {exc}", file=sys.stderr)
                continue
            r = results[backend]
            verdict = "PASS" if r["p99_ms"] < TARGET_P99_MS else "MISS"
            print(f"  {r['deliveries']:,} deliveries ({r['missing']:,} missing): p50 "
                  f"{r['p50_ms']} ms, p99 {r['p99_ms']} ms (target < {TARGET_P99_MS} ms: "
                  f"{verdict}), max {r['max_ms']} ms")  # fmt: skip
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(
        orjson.dumps({"args": vars(args), "results": results}, option=orjson.OPT_INDENT_2)
    )
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
