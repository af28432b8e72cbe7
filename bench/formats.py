"""Formats benchmark: rule exports from a large store, and free-text extraction.

Rule exports: N (default 1,000,000) SYNTHETIC TLP:GREEN indicators (ipv4, domain, http URL and
SHA-256 patterns, drawn at random; deterministic) are stored in process in an SQLite file
through intel's ingest, 50,000 a transaction. Then `shieldwall export --format F` runs as its
own process for suricata, snort, rpz and blocklist (warning lists off, output to a file): the
figures are lines out per second of the process's wall time (its start included), its CPU
time (user and system, with its worker processes': on a shared machine the wall time mostly
says how busy the machine was) and its peak own memory (RssAnon, sampled, with its workers'),
taken once at 100,000 stored and again at N, so
that a memory that grows with the store shows. Free text: MB/s of exchange.text.extract over a
SYNTHETIC write-up of ~2.9 MB. Prints a table and writes bench/out/formats.json. A
measurement, not a test: it exits 0 even when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from ingest import NAMESPACE, make_indicators
from shieldwall.db import Database, migrate
from shieldwall.exchange.text import extract
from shieldwall.intel.ingest import ingestor_for
from shieldwall.markings import TLP, Distribution
from shieldwall.members.service import create_member, create_user, viewer_for_user
from shieldwall.policy import Role
from shieldwall.settings import Settings

OUT = Path(__file__).resolve().parent / "out" / "formats.json"
SHIELDWALL = Path(sys.executable).parent / "shieldwall"
BATCH = 50_000
FIRST_MEASURE = 100_000
EXPORTS = ("suricata", "snort", "rpz", "blocklist")
BLOCKLIST_KINDS = "ipv4,domain,url,sha256"
TARGET_SECONDS = 10.0  # a million rules out in under 10 s
FLAT = 1.5  # peak memory at N within 1.5x of that at 100,000 stored
EMAIL = "analyst@bench.example.org"
WRITE_UP = """Seen hxxps://evil[.]example/gate.php?id=7, then bad(.)example{.}org.
Mail from billing[at]phish.example.com; C2 203.0.113[.]9 and the LAN host 10.0.0.1.
Range 198.51.100.0/24, IPv6 2001:db8::1. Dropper d41d8cd98f00b204e9800998ecf8427e, exploits
cve-2024-3094 through T1059.001.
sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
The actor staged tooling on a compromised host before moving laterally; version 2.4.1 of the
loader read config.json and wrote report.pdf, as earlier campaigns did (SYNTHETIC prose). The
operators favoured living off the land: scheduled tasks, signed binaries and remote management
tools already present on the network, so that little of what they ran would look out of place.
Persistence was renewed weekly, and exfiltration happened in small chunks during office hours,
blending into the traffic of the organisation's own cloud storage; defenders who found the first
host should look for the same scheduled task names on the others and rotate every credential
the compromised accounts could reach, starting with service accounts and backup operators.
"""


def store(url: str, n: int, measure_at: int, on_measure: Any) -> list[dict[str, Any]]:
    """Ingest n indicators as one analyst; call on_measure() once measure_at are stored."""
    db = Database(url)
    settings = Settings(database_url=url, warninglists="none", validation_workers=0)
    with db.write() as conn:
        member = create_member(conn, "Bench Member (SYNTHETIC)", "industry",
                               default_tlp=TLP.GREEN,
                               default_distribution=Distribution.COMMUNITY)  # fmt: skip
        user = create_user(conn, EMAIL, member, Role.ANALYST)
        viewer = viewer_for_user(conn, user.user_id)
    ingestor = ingestor_for(db, settings)
    rng, runs, held = random.Random(1), [], 0
    try:
        for start in range(0, n, BATCH):
            count = min(BATCH, n - start)
            objects = make_indicators(rng, f"formats-{start}", count)
            bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid5(NAMESPACE, str(start))}",
                      "objects": objects}  # fmt: skip
            began = time.perf_counter()
            result = ingestor.ingest(viewer, bundle)
            seconds = time.perf_counter() - began
            if result.stored != count:
                raise RuntimeError(f"stored {result.stored} of {count}")
            held += count
            runs.append({"stored": held, "rate": round(count / seconds)})
            print(f"  {held:,} stored ({count / seconds:,.0f} indicators/s)", flush=True)
            if held == measure_at:
                on_measure(held)
    finally:
        ingestor.close()
        db.dispose()
    return runs


def export_once(url: str, fmt: str, out: Path) -> dict[str, Any]:
    """One `shieldwall export` process: seconds, lines out, peak RSS in MB."""
    args = [str(SHIELDWALL), "export", "--format", fmt, "--user", EMAIL, "--output", str(out)]
    if fmt == "blocklist":
        args += ["-o", f"kind={BLOCKLIST_KINDS}"]
    env = {**os.environ, "SHIELDWALL_DATABASE_URL": url, "SHIELDWALL_WARNINGLISTS": "none"}
    began = time.perf_counter()
    cpu_before = _children_cpu()
    process = subprocess.Popen(args, env=env, stderr=subprocess.PIPE)
    peak_kb = 0
    # The process's own pages (RssAnon), sampled until it ends: wait4's ru_maxrss would count
    # the pages this (large) process had when it forked the child, and VmHWM the database pages
    # SQLite reads through its memory map, which are the kernel's page cache.
    # With its worker processes (exchange/value_export.py), which hold pages too.
    while process.poll() is None:
        peak_kb = max(peak_kb, sum(map(_anon_kb, [process.pid, *_children(process.pid)])))
        time.sleep(0.02)
    seconds = time.perf_counter() - began
    cpu = _children_cpu() - cpu_before  # its own CPU time: what a shared machine's load hides
    status = process.returncode
    error = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise RuntimeError(f"shieldwall export --format {fmt} failed: {error[-500:]}")
    with out.open("rb") as f:
        lines = sum(1 for line in f if line.strip() and not line.startswith((b"#", b";")))
    return {
        "format": fmt,
        "lines": lines,
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "lines_per_s": round(lines / seconds),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def _children_cpu() -> float:
    """User and system CPU seconds of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _children(pid: int) -> list[int]:
    """The child processes of `pid` (its export workers)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except OSError:
        pass
    return found


def _anon_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def text_rate(copies: int = 2_000) -> dict[str, Any]:
    text = WRITE_UP * copies
    size = len(text.encode())
    extract(WRITE_UP)  # the TLD list is read once, outside the timing
    runs = []
    for _ in range(3):
        began = time.perf_counter()
        found = extract(text)
        runs.append(time.perf_counter() - began)
    best = min(runs)
    return {"mb": round(size / 1e6, 2), "seconds": round(best, 3),
            "mb_per_s": round(size / 1e6 / best, 2), "values": len(found)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="indicators stored")
    args = parser.parse_args(argv)
    print(f"free text: extract over {len(WRITE_UP) * 2000 / 1e6:.1f} MB", flush=True)
    text = text_rate()
    print(f"  {text['mb_per_s']} MB/s", flush=True)
    results: dict[str, Any] = {"n": args.n, "text": text, "exports": {}}
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-formats-") as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        migrate(url)

        def measure(held: int) -> None:
            for fmt in EXPORTS:
                figure = export_once(url, fmt, Path(tmp) / f"out.{fmt}")
                results["exports"].setdefault(fmt, []).append({"stored": held, **figure})
                print(f"  {fmt} at {held:,}: {figure}", flush=True)

        print(f"storing {args.n:,} SYNTHETIC indicators in {url}", flush=True)
        first = min(FIRST_MEASURE, args.n)
        results["ingest"] = store(url, args.n, first, measure)
        if args.n != first:
            measure(args.n)
    rows = []
    for fmt, figures in results["exports"].items():
        small, large = figures[0], figures[-1]
        rows.append({
            "format": fmt, "lines": large["lines"], "seconds": large["seconds"],
            "cpu_s": large["cpu_s"], "lines_per_s": large["lines_per_s"],
            "rss_small_mb": small["peak_rss_mb"], "rss_large_mb": large["peak_rss_mb"],
            "fast": large["seconds"] * 1_000_000 / max(large["lines"], 1) < TARGET_SECONDS,
            "flat": large["peak_rss_mb"] <= FLAT * small["peak_rss_mb"],
        })  # fmt: skip
    results["rows"] = rows
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"\nrule exports at {args.n:,} stored indicators (SQLite, an export with its workers):")
    print(f"{'format':10} {'lines':>10} {'s':>7} {'CPU s':>7} {'lines/s':>9} {'RSS 100k':>9} "
          f"{'RSS N':>7}  1M in <10s  flat")  # fmt: skip
    for r in rows:
        fast, flat = ("PASS" if r[k] else "MISS" for k in ("fast", "flat"))
        print(f"{r['format']:10} {r['lines']:>10,} {r['seconds']:>7} {r['cpu_s']:>7} "
              f"{r['lines_per_s']:>9,} {r['rss_small_mb']:>9} {r['rss_large_mb']:>7}  "
              f"{fast:10}  {flat}")  # fmt: skip
    print(f"free text: {text['mb_per_s']} MB/s over {text['mb']} MB ({text['values']} values)")
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
