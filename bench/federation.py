"""Federation benchmark: how fast one instance takes N objects from a peer, signed and verified.

Two instances, each its own SQLite database and `shieldwall serve` process on loopback, are made
and paired through the command line as two admins would (a member of kind peer with an account
on each side, each side's public key, `shieldwall peer add`). The source gets N TLP:GREEN
`all` indicators (default 100,000) through POST /api/v1/bundles. Then the sink runs
`shieldwall sync --peer source` and the wall time of that command is the figure: the source's
server reads each page through the policy with each object's signature (Ed25519 over RFC 8785
JSON, made once per version and kept) and adds itself to its path; the sink verifies every
signature against the source's key, applies the arrival rules and stores each page whole. A
second round, with nothing new, shows what a sync costs when there is nothing to fetch. Prints
objects per second against the target and writes bench/out/federation.json. A measurement, not
a test: it exits 0 even when a target is missed.

For comparison (not measured here): a MISP user reports a sync with a public community taking
2 h 45 min with nothing new to fetch (MISP issue #6196).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from ingest import SHIELDWALL, TLP_GREEN, BenchError, cli, free_port, request, wait_until_responds

OUT = Path(__file__).resolve().parent / "out" / "federation.json"
TARGET = 5000  # objects per second, with signing and verifying on
BUNDLE = 50_000
SHARING = "extension-definition--c56d41b5-3fe7-441e-af12-498adb577219"


def indicators(count: int, start: int) -> list[dict[str, Any]]:
    at = "2026-01-15T10:00:00.000Z"
    return [
        {
            "type": "indicator", "spec_version": "2.1",
            "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, f'federation-bench-{n}')}",
            "created": at, "modified": at, "name": f"bench {n}",
            "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
            "pattern_type": "stix", "valid_from": at, "object_marking_refs": [TLP_GREEN],
            "extensions": {SHARING: {"extension_type": "property-extension",
                                     "distribution": "all"}},
        }
        for n in range(start, start + count)
    ]  # fmt: skip


class Instance:
    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self.url = f"sqlite:///{tmp}/{name}.db"
        self.port = free_port()
        self.log = tmp / f"{name}.log"
        self.server: subprocess.Popen[bytes] | None = None
        cli("init", "--database", self.url)
        cli("member", "add", name, "--kind", "national-cert", "--database", self.url)
        self.key = self.user(f"analyst@{name}.example", name)
        self.public_key = cli("instance", "key", "--database", self.url).strip()

    def user(self, email: str, member: str) -> str:
        out = cli("user", "add", email, "--member", member, "--role", "analyst",
                  "--database", self.url)  # fmt: skip
        return re.search(r"API key: (sw_\S+)", out).group(1)  # type: ignore[union-attr]

    def start(self) -> None:
        env_args = ["--host", "127.0.0.1", "--port", str(self.port), "--database", self.url]
        with self.log.open("wb") as log:
            self.server = subprocess.Popen(
                [SHIELDWALL, "serve", *env_args], stdout=log, stderr=subprocess.STDOUT,
                env={**_env(), "SHIELDWALL_FEDERATION_SYNC_SECONDS": "86400"},
            )  # fmt: skip
        wait_until_responds(self.server, self.port, self.log)

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()


def _env() -> dict[str, str]:
    return {**os.environ, "SHIELDWALL_WARNINGLISTS": "none"}


def pair(source: Instance, sink: Instance) -> None:
    """Each side makes the other a member of kind peer with an account; the sink pulls."""
    cli("member", "add", "sink", "--kind", "peer", "--database", source.url)
    key_for_sink = source.user("sync@sink.peer", "sink")
    cli("member", "add", "source", "--kind", "peer", "--database", sink.url)
    key_for_source = sink.user("sync@source.peer", "source")
    cli("peer", "add", "source", "--url", f"http://127.0.0.1:{source.port}", "--public-key",
        source.public_key, "--user", "sync@sink.peer", "--key", key_for_sink,
        "--database", sink.url)  # fmt: skip
    cli("peer", "add", "sink", "--url", f"http://127.0.0.1:{sink.port}", "--public-key",
        sink.public_key, "--user", "sync@source.peer", "--key", key_for_source,
        "--database", source.url)  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(instance: Instance, seconds: float = 60) -> None:
    """Wait until the instance's server is idle (under 5% of a core for a second)."""
    assert instance.server is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        before = cpu_seconds(instance.server.pid)
        time.sleep(1)
        if cpu_seconds(instance.server.pid) - before < 0.05:
            return


def timed_sync(sink: Instance, source: Instance) -> dict[str, Any]:
    """Wall time of one `shieldwall sync`, and the CPU time the syncing command and the
    source's server spent on it: on a machine shared with other work the wall time stretches,
    the CPU time much less."""
    assert source.server is not None
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    served = cpu_seconds(source.server.pid)
    spy = None
    if os.environ.get("FEDERATION_BENCH_PROFILE"):  # py-spy record of the source's server
        spy = subprocess.Popen(["py-spy", "record", "-o", os.environ["FEDERATION_BENCH_PROFILE"],
                                "-f", "raw", "-p", str(source.server.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(1)
    start = time.perf_counter()
    command = [str(SHIELDWALL), "sync", "--peer", "source", "--database", sink.url]
    if os.environ.get("FEDERATION_BENCH_PROFILE_SINK"):  # py-spy record of the syncing command
        profile = os.environ["FEDERATION_BENCH_PROFILE_SINK"] + f".{time.time_ns()}"
        command = ["py-spy", "record", "--threads", "-o", profile, "-f", "raw", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=_env())
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if spy is not None:
        spy.send_signal(2)
        spy.wait()
    if done.returncode != 0:
        raise BenchError(f"shieldwall sync failed: {done.stdout} {done.stderr[-2000:]}")
    return {
        "seconds": seconds,
        "said": done.stdout.strip(),
        "sink_cpu": after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime,
        "source_cpu": cpu_seconds(source.server.pid) - served,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="objects the sink takes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="shieldwall-federation-") as tmp:
        source, sink = Instance("source", Path(tmp)), Instance("sink", Path(tmp))
        pair(source, sink)
        try:
            source.start()
            sink.start()
            for start in range(0, args.n, BUNDLE):
                count = min(BUNDLE, args.n - start)
                body = orjson.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                     "objects": indicators(count, start)})  # fmt: skip
                status, reply = request(source.port, "POST", "/api/v1/bundles", body, source.key)
                if status != 201:
                    raise BenchError(f"POST /bundles answered {status}: {reply[:500]!r}")
            settle(source)  # what the server does after a large write is not the sync's
            full = timed_sync(sink, source)
            quiet = timed_sync(sink, source)
        finally:
            source.stop()
            sink.stop()
    if f"stored {args.n}" not in full["said"]:
        raise BenchError(f"the sink did not store every object: {full['said']}")
    rate = args.n / full["seconds"]
    # The two sides run at once, each on its own core: the busier one sets the pace.
    cpu_rate = args.n / max(full["sink_cpu"], full["source_cpu"])
    result = {
        "objects": args.n,
        "seconds": round(full["seconds"], 2),
        "objects_per_second": round(rate),
        "sink_cpu_seconds": round(full["sink_cpu"], 2),
        "source_cpu_seconds": round(full["source_cpu"], 2),
        "objects_per_cpu_second_of_the_busier_side": round(cpu_rate),
        "target_objects_per_second": TARGET,
        "meets_target": rate >= TARGET,
        "nothing_new_seconds": round(quiet["seconds"], 2),
        "load_average": os.getloadavg()[0],
        "sync_said": full["said"],
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"federation, SQLite to SQLite, {args.n:,} signed objects pulled and verified "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")  # fmt: skip
    print(f"  {full['seconds']:8.2f} s  {rate:10,.0f} objects/s  (target >= {TARGET:,}: "
          f"{'met' if rate >= TARGET else 'MISSED'})")  # fmt: skip
    print(f"  CPU: sink {full['sink_cpu']:.2f} s, source {full['source_cpu']:.2f} s: "
          f"{cpu_rate:,.0f} objects per CPU second of the busier side")  # fmt: skip
    print(f"  {quiet['seconds']:8.2f} s  for a round with nothing new, process start included "
          "(a MISP user reports 2 h 45 min)")  # fmt: skip
    print(f"  written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
