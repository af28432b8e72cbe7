"""MISP benchmark: events imported and exported per second, beside misp-stix converting the same
events to STIX 2.1 in the same run.

In process, no HTTP, SQLite in a temp file: N deterministic SYNTHETIC events shaped like MISP's
OSINT feed events (tags, galaxy tags, ~40 attributes of the common types, a file and a
domain-ip object with references, a sighting) are imported as a feed pull imports them
(`import_misp_batched`: each event whole or not at all, many events to a transaction:
conversion, validation, sharing, the write, change log and audit), then exported (`misp_events`,
policy-filtered, as GET /api/v1/exports/misp does). Beside it, into a database of its own, the
same events one transaction each (`import_misp`), as a pull stored them before batching.
misp-stix (the MISP project's MISP-to-STIX 2.1 converter) is installed from PyPI into its own
environment under bench/out/ and converts the same events (conversion only, no storage); when it
cannot be installed or run, the table says so. With --real, the real published events vendored
for the tests (tests/exchange/data/misp_real, see its README) instead: whether each imports, and
how many misp-stix refuses. Wall and CPU seconds of each (this process's, and misp-stix's own
process's): on a shared machine the CPU ratio moves less. --repeat R runs each side R times
(ours into a new database each time) and takes each side's median run, the first run (which pays
the process's first uses) one of them. Writes bench/out/formats_misp.json.
A measurement, not a test: it exits 0.
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
from pathlib import Path
from typing import Any

import orjson

from shieldwall.db import Database, migrate
from shieldwall.exchange.misp_batch import import_misp_batched
from shieldwall.exchange.misp_document import events_in
from shieldwall.exchange.misp_export import misp_events
from shieldwall.exchange.misp_galaxies import published_cluster
from shieldwall.exchange.misp_import import import_misp
from shieldwall.intel.ingest import ingestor_for
from shieldwall.markings import TLP, Distribution
from shieldwall.members.service import create_member, create_user, viewer_for_user
from shieldwall.policy import Role
from shieldwall.settings import Settings

OUT = Path(__file__).parent / "out"
REAL = Path(__file__).parent.parent / "tests" / "exchange" / "data" / "misp_real"
NAMESPACE = uuid.UUID("0f1d0a5e-5b8c-4b8e-9c55-2d6f3b1a7e42")
MISP_STIX_VENV = OUT / "misp-stix-venv"

_MISP_STIX_RUN = r"""
import json, sys, time
from misp_stix_converter import MISPtoSTIX21Parser
events = json.load(open(sys.argv[1]))
runs = []
for _ in range(int(sys.argv[2])):
    errors, attributes, start, cpu = 0, 0, time.perf_counter(), time.process_time()
    for event in events:
        try:
            parser = MISPtoSTIX21Parser()
            parser.parse_misp_event(event)
            attributes += len(event["Event"].get("Attribute") or []) + sum(
                len(o["Attribute"]) for o in event["Event"].get("Object") or [])
        except Exception as exc:
            errors += 1
    runs.append({"seconds": time.perf_counter() - start, "errors": errors,
                 "cpu_s": time.process_time() - cpu, "attributes": attributes})
print(json.dumps(runs))
"""


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(map(str, parts))))


def synthetic_events(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """N events like MISP's OSINT feed events, deterministic."""
    rng = random.Random(seed)
    events = []
    for e in range(n):
        ts = str(1767225600 + e * 3600)
        attributes = []
        for a in range(40):
            kind = rng.choice(["ip-dst", "domain", "url", "sha256", "md5", "filename|sha1",
                               "hostname", "email-src", "text", "ip-dst|port"])  # fmt: skip
            value = {
                "ip-dst": f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
                "domain": f"bad{rng.randrange(10**6)}.example",
                "url": f"https://bad{rng.randrange(10**6)}.example/p/{rng.randrange(10**6)}",
                "sha256": f"{rng.getrandbits(256):064x}",
                "md5": f"{rng.getrandbits(128):032x}",
                "filename|sha1": f"drop{rng.randrange(1000)}.exe|{rng.getrandbits(160):040x}",
                "hostname": f"h{rng.randrange(10**6)}.bad.example",
                "email-src": f"x{rng.randrange(10**6)}@bad.example",
                "text": "SYNTHETIC analyst text",
                "ip-dst|port": f"203.0.113.{rng.randrange(256)}|{rng.randrange(1, 65536)}",
            }[kind]
            attribute = {"uuid": _uuid(e, a), "type": kind, "value": value,
                         "category": "Network activity", "to_ids": kind != "text",
                         "comment": "", "timestamp": ts, "distribution": "5"}  # fmt: skip
            if a == 0:
                attribute["Sighting"] = [{"uuid": _uuid(e, "s"), "type": "0",
                                          "date_sighting": ts, "source": "bench"}]  # fmt: skip
            attributes.append(attribute)
        file_uuid, net_uuid = _uuid(e, "file"), _uuid(e, "domain-ip")
        objects = [
            {"name": "file", "meta-category": "file", "uuid": file_uuid, "timestamp": ts,
             "template_uuid": "688c46fb-5edb-40a3-8273-1af7923e2215", "template_version": "24",
             "distribution": "5", "sharing_group_id": "0", "comment": "",
             "Attribute": [
                 {"uuid": _uuid(e, "f1"), "type": "filename", "object_relation": "filename",
                  "value": f"payload{e}.dll", "category": "Payload delivery", "to_ids": False,
                  "timestamp": ts, "distribution": "5"},
                 {"uuid": _uuid(e, "f2"), "type": "sha256", "object_relation": "sha256",
                  "value": f"{rng.getrandbits(256):064x}", "category": "Payload delivery",
                  "to_ids": True, "timestamp": ts, "distribution": "5"}],
             "ObjectReference": [{"uuid": _uuid(e, "r"), "object_uuid": file_uuid,
                                  "referenced_uuid": net_uuid, "timestamp": ts,
                                  "relationship_type": "communicates-with"}]},
            {"name": "domain-ip", "meta-category": "network", "uuid": net_uuid, "timestamp": ts,
             "template_uuid": "43b3b146-77eb-4931-b4cc-b66c60f28734", "template_version": "10",
             "distribution": "5", "sharing_group_id": "0", "comment": "",
             "Attribute": [
                 {"uuid": _uuid(e, "d1"), "type": "domain", "object_relation": "domain",
                  "value": f"c2-{e}.bad.example", "category": "Network activity",
                  "to_ids": True, "timestamp": ts, "distribution": "5"},
                 {"uuid": _uuid(e, "d2"), "type": "ip-dst", "object_relation": "ip",
                  "value": f"192.0.2.{e % 256}", "category": "Network activity",
                  "to_ids": True, "timestamp": ts, "distribution": "5"}],
             "ObjectReference": []},
        ]  # fmt: skip
        events.append({"Event": {
            "uuid": _uuid(e), "info": f"SYNTHETIC OSINT event {e}", "date": "2026-01-01",
            "timestamp": ts, "publish_timestamp": ts, "published": True, "analysis": "2",
            "threat_level_id": "2", "distribution": "3", "sharing_group_id": "0",
            "Orgc": {"name": "SYNTHETIC", "uuid": _uuid("org")},
            "Tag": [{"name": "tlp:clear"}, {"name": "type:OSINT"},
                    {"name": 'misp-galaxy:threat-actor="Sofacy"'}],
            "Attribute": attributes, "Object": objects,
        }})  # fmt: skip
    return events


def real_events() -> list[dict[str, Any]]:
    """The real published events the tests use, each as {"Event": ...}."""
    return [{"Event": event} for path in sorted(REAL.glob("*.json"))
            for event in events_in(orjson.loads(path.read_bytes()))]  # fmt: skip


def attributes_in(events: list[dict[str, Any]]) -> int:
    return sum(len(e["Event"].get("Attribute") or []) + sum(
        len(o["Attribute"]) for o in e["Event"].get("Object") or []) for e in events)  # fmt: skip


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' median of each figure (the first run's otherwise), and every run's figures."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        if type(value) is float:
            out[key] = statistics.median(run[key] for run in runs)
    return {**out, "runs": runs}


def ours(events: list[dict[str, Any]], tmp: Path, *, batched: bool) -> dict[str, Any]:
    tmp.mkdir(exist_ok=True)
    url = f"sqlite:///{tmp / ('batched.db' if batched else 'alone.db')}"
    migrate(url)
    db = Database(url)
    settings = Settings(database_url=url, validation_workers=0, warninglists="none")
    with db.write() as conn:
        member = create_member(conn, "Bench CERT", "national-cert", default_tlp=TLP.GREEN,
                               default_distribution=Distribution.COMMUNITY)  # fmt: skip
        viewer = viewer_for_user(
            conn, create_user(conn, "a@bench.example.org", member, Role.ANALYST).user_id
        )
    ingestor = ingestor_for(db, settings)
    # Read once per process (~1 s) before the clock starts, as misp-stix's own imports are.
    published_cluster('misp-galaxy:threat-actor="Sofacy"')
    try:
        start, cpu = time.perf_counter(), time.process_time()
        if batched:
            keyed = [(event["Event"]["uuid"], event) for event in events]
            done = import_misp_batched(ingestor, viewer, keyed, source="misp-feed")
            stored, failed = done.stored, len(done.failed)
        else:
            stored = sum(import_misp(ingestor, viewer, event).stored for event in events)
            failed = 0
        import_s, import_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        exported = sum(1 for _ in misp_events(db, viewer))
        export_s, export_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    finally:
        ingestor.close()
        db.dispose()
    return {"import_s": import_s, "import_cpu_s": import_cpu_s, "stored_objects": stored,
            "failed_events": failed, "export_s": export_s, "export_cpu_s": export_cpu_s,
            "exported_events": exported}  # fmt: skip


def misp_stix(
    events: list[dict[str, Any]], tmp: Path, python: Path | None, repeat: int = 1
) -> dict[str, Any]:
    if python is None:
        python = MISP_STIX_VENV / "bin" / "python"
    if not python.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(MISP_STIX_VENV)],
                              capture_output=True, text=True)  # fmt: skip
        if made.returncode == 0:
            made = subprocess.run([str(python), "-m", "pip", "install", "-q", "misp-stix"],
                                  capture_output=True, text=True)  # fmt: skip
        if made.returncode != 0:
            return {"unavailable": f"misp-stix could not be installed: {made.stderr[-300:]}"}
    path = tmp / "events.json"
    path.write_bytes(orjson.dumps(events))
    done = subprocess.run([str(python), "-c", _MISP_STIX_RUN, str(path), str(repeat)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        return {"unavailable": f"misp-stix failed: {done.stderr[-300:]}"}
    return median_run(orjson.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="events (default 500)")
    parser.add_argument(
        "--misp-stix-python",
        type=Path,
        default=None,
        help="a Python with misp-stix installed (default: bench/out's own)",
    )
    parser.add_argument(
        "--real", action="store_true", help="the real events of tests/exchange/data/misp_real"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each side, each import into a database of its own; the figures are each "
        "side's median run (default 1: one run, first uses in it)",
    )
    args = parser.parse_args(argv)
    events = real_events() if args.real else synthetic_events(args.n)
    args.n = len(events)
    attributes = attributes_in(events)
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-misp-") as name:
        tmp = Path(name)
        theirs = misp_stix(events, tmp, args.misp_stix_python, args.repeat)
        # Batched, then one per event, then again: the runs of each side spread over the same
        # minutes, and the batched import's first run pays this process's first uses.
        mine_runs: list[dict[str, Any]] = []
        alone_runs: list[dict[str, Any]] = []
        for run in range(args.repeat):
            mine_runs.append(ours(events, tmp / f"run{run}", batched=True))
            alone_runs.append(ours(events, tmp / f"run{run}", batched=False))
        mine, alone = median_run(mine_runs), median_run(alone_runs)
        mine["failed_events"] = max(run["failed_events"] for run in mine_runs)
    rows = [
        ("ours: import (convert + store, batched as a feed pull)",
         mine["import_s"], mine["import_cpu_s"]),
        ("ours: import, one transaction per event", alone["import_s"], alone["import_cpu_s"]),
        ("ours: export (policy-filtered, as MISP JSON)", mine["export_s"], mine["export_cpu_s"]),
    ]  # fmt: skip
    if "seconds" in theirs:
        rows.append((f"misp-stix: MISP -> STIX 2.1 only ({theirs['errors']} errors)",
                     theirs["seconds"], theirs.get("cpu_s", float("nan"))))  # fmt: skip
    print(f"{args.n} events, {attributes} attributes (Python {sys.version.split()[0]}), "
          f"{'median of ' + str(args.repeat) + ' runs' if args.repeat > 1 else 'one run'} a side, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'':58} {'events/s':>9} {'attributes/s':>13} {'attrs/CPU s':>12}")
    for label, seconds, cpu_s in rows:
        print(f"{label:58} {args.n / seconds:9.0f} {attributes / seconds:13.0f}"
              f" {attributes / cpu_s:12.0f}")  # fmt: skip
    if "seconds" in theirs:
        their_cpu = theirs.get("cpu_s", float("nan"))
        for label, run in (("batched", mine), ("one per event", alone)):
            print(f"import rate / misp-stix's ({label}): "
                  f"{theirs['seconds'] / run['import_s']:.2f}x wall, "
                  f"{their_cpu / run['import_cpu_s']:.2f}x CPU")  # fmt: skip
    else:
        print(f"misp-stix: {theirs['unavailable']}")
    if mine["failed_events"]:
        print(f"ours: {mine['failed_events']} events refused")
    OUT.mkdir(exist_ok=True)
    (OUT / "formats_misp.json").write_bytes(orjson.dumps(
        {"events": args.n, "attributes": attributes, "repeat": args.repeat, "ours": mine,
         "ours_one_per_event": alone,
         "misp_stix": theirs},
        option=orjson.OPT_INDENT_2,
    ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
