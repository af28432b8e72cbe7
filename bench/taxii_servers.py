"""The TAXII 2.1 servers bench/taxii.py compares, each started on a free loopback port and
yielded as a Target: Shieldwall (SQLite or PostgreSQL), OpenTAXII 0.9.3 and medallion 3.0.0.

The other two are installed in throw-away virtual environments of their own under var/bench/
(made once and reused; `make clean` removes them), never in Shieldwall's. OpenTAXII 0.9.3
answers 500 to collection listings and POSTs because UUIDs are not JSON-serialisable there (its
issue #243, fixed after the release): its response helper is patched in its environment to
write them as strings. It is read with its bearer token (its Basic auth re-hashes a scrypt
password on every request), TAXII 2.1 switched on in its configuration, one gunicorn worker
(Shieldwall serves from one process). medallion runs its memory backend.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ingest import BenchError, free_port
from shieldwall.taxii.collections import inbox_id

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / "var" / "bench"
SHIELDWALL = Path(sys.executable).parent / "shieldwall"
TAXII = "application/taxii+json;version=2.1"


@dataclass(frozen=True)
class Target:
    """One running TAXII server: where to POST objects and where to read them, and as whom."""

    name: str
    write_url: str  # a collection's objects/ URL
    read_url: str
    write_headers: dict[str, str]
    read_headers: dict[str, str]
    pid: int = 0  # the server's process: its CPU and its children's is what serving cost

    def cpu_seconds(self) -> float:
        """CPU seconds the server's processes (it and its descendants: gunicorn's worker,
        Shieldwall's validation worker) have used so far; 0 where /proc is not there."""
        return sum(_cpu_of(pid) for pid in _tree(self.pid)) if self.pid else 0.0


def _tree(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def database_cpu_seconds() -> float:
    """CPU seconds this machine's PostgreSQL processes have used so far (0 without them): the
    work a server hands its database (a VACUUM it started) shows there, not in its own CPU."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                total += _cpu_of(int(comm.parent.name))
        except OSError:  # gone meanwhile
            continue
    return total


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(1200):  # 120 s
        if process.poll() is not None:
            raise BenchError(f"{url}: the server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer within 120 s")


@contextmanager
def running(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def venv(name: str, *packages: str) -> Path:
    """A virtual environment of its own for a server under comparison, made once and reused
    (delete var/bench/ to start afresh; `make clean` does)."""
    where = VENVS / name
    marker = where / ".installed"
    if not marker.exists():
        shutil.rmtree(where, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
        subprocess.run([where / "bin" / "pip", "install", "--quiet", *packages], check=True)
        marker.touch()
    return where / "bin"


def cli(url: str, *args: str) -> str:
    done = subprocess.run(
        [SHIELDWALL, *args, "--database", url], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise BenchError(f"shieldwall {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def api_key(printed: str) -> str:
    found = re.search(r"API key: (sw_\S+)", printed)
    if found is None:
        raise BenchError(f"no API key in: {printed}")
    return found.group(1)


@contextmanager
def shieldwall(backend: str, tmp: Path, postgres_url: str) -> Iterator[Target]:
    """Shieldwall on `backend`: an analyst POSTs to its member's inbox; a reader of another
    member reads an admin's collection of everything."""
    with database(backend, tmp, postgres_url) as url:
        cli(url, "init")
        writer_id = cli(url, "member", "add", "Bench Sharer (SYNTHETIC)", "--kind", "industry")
        cli(url, "member", "add", "Bench Reader (SYNTHETIC)", "--kind", "national-cert")
        keys = [
            api_key(cli(url, "user", "add", email, "--member", member, "--role", role))
            for email, member, role in (
                ("writer@bench.example", "Bench Sharer (SYNTHETIC)", "analyst"),
                ("reader@bench.example", "Bench Reader (SYNTHETIC)", "reader"),
            )
        ]
        collection = cli(url, "collection", "add", "Everything").strip()
        port = free_port()
        command = [str(SHIELDWALL), "serve", "--port", str(port), "--database", url]
        with running(command, tmp / f"shieldwall-{backend}.log") as process:
            base = f"http://127.0.0.1:{port}/taxii2/shieldwall/collections"
            wait_for(
                f"http://127.0.0.1:{port}/api/v1/openapi.json",
                process,
                tmp / f"shieldwall-{backend}.log",
            )
            yield Target(
                f"Shieldwall ({backend})",
                f"{base}/{inbox_id(writer_id.strip())}/objects/",
                f"{base}/{collection}/objects/",
                {"Authorization": f"Bearer {keys[0]}", "Accept": TAXII},
                {"Authorization": f"Bearer {keys[1]}", "Accept": TAXII},
                process.pid,
            )


@contextmanager
def database(backend: str, tmp: Path, postgres_url: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp}/shieldwall.db"
        return
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"bench_taxii_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@contextmanager
def opentaxii(tmp: Path) -> Iterator[Target]:
    """OpenTAXII 0.9.3 under gunicorn (one worker, as Shieldwall runs one process), SQLite."""
    bin_ = venv("opentaxii-0.9.3", "opentaxii==0.9.3", "gunicorn")
    helper = next((bin_.parent / "lib").glob("python3*/site-packages/opentaxii/taxii2/http.py"))
    source = helper.read_text()
    if "default=str" not in source:  # issue #243: UUIDs in JSON answers
        helper.write_text(source.replace("json.dumps(data)", "json.dumps(data, default=str)"))
    port, home = free_port(), tmp / "opentaxii"
    home.mkdir()
    config = home / "config.yml"
    config.write_text(f"""---
domain: "127.0.0.1:{port}"
support_basic_auth: yes
auth_api:
  class: opentaxii.auth.sqldb.SQLDatabaseAPI
  parameters: {{db_connection: "sqlite:///{home}/auth.db", create_tables: yes,
               secret: "bench-secret-bench-secret-bench-secret", token_ttl_secs: 86400}}
taxii1:
  persistence_api:
    class: opentaxii.persistence.sqldb.SQLDatabaseAPI
    parameters: {{db_connection: "sqlite:///{home}/taxii1.db", create_tables: yes}}
taxii2:
  title: OpenTAXII bench
  description: bench
  contact: bench@example.org
  public_discovery: no
  max_content_length: 209715200
  persistence_api:
    class: opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI
    parameters: {{db_connection: "sqlite:///{home}/taxii2.db", create_tables: yes}}
logging: {{opentaxii: warning, root: warning}}
""")
    env = {"OPENTAXII_CONFIG": str(config)}

    def run(*args: str) -> str:
        done = subprocess.run(
            [bin_ / args[0], *args[1:]],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=300,
        )
        if done.returncode != 0:
            raise BenchError(f"{args[0]} failed: {done.stderr[-1000:]}")
        return done.stdout + done.stderr

    run("opentaxii-add-api-root", "-t", "bench", "--default")
    with closing(sqlite3.connect(home / "taxii2.db")) as conn:
        root_id = str(uuid.UUID(conn.execute("SELECT id FROM opentaxii_api_root").fetchone()[0]))
    run("opentaxii-add-collection", "-r", root_id, "-t", "bench")
    run("opentaxii-create-account", "-u", "bench", "-p", "bench")
    run("opentaxii-update-account", "-u", "bench", "-f", "admin", "-v", "y")
    command = [
        str(bin_ / "gunicorn"),
        "-w",
        "1",
        "--timeout",
        "3600",
        "-b",
        f"127.0.0.1:{port}",
        "opentaxii.http:app",
    ]
    with running(command, home / "server.log", env) as process:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/taxii2/", process, home / "server.log")
        token = httpx.post(
            f"{base}/management/auth", json={"username": "bench", "password": "bench"}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": TAXII}
        listing = httpx.get(f"{base}/taxii2/{root_id}/collections/", headers=headers).json()
        objects = f"{base}/taxii2/{root_id}/collections/{listing['collections'][0]['id']}/objects/"
        yield Target("OpenTAXII 0.9.3", objects, objects, headers, headers, process.pid)


@contextmanager
def medallion(tmp: Path) -> Iterator[Target]:
    """medallion 3.0.0, the OASIS reference server, with its memory backend."""
    bin_ = venv("medallion-3.0.0", "medallion==3.0.0")
    port, home = free_port(), tmp / "medallion"
    home.mkdir()
    collection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    root = f"http://127.0.0.1:{port}/bench/"
    (home / "data.json").write_bytes(
        orjson.dumps(
            {
                "/discovery": {"title": "bench", "default": root, "api_roots": [root]},
                "bench": {
                    "information": {
                        "title": "bench",
                        "versions": [TAXII],
                        "max_content_length": 209715200,
                    },
                    "status": [],
                    "collections": [
                        {
                            "id": collection,
                            "title": "bench",
                            "can_read": True,
                            "can_write": True,
                            "media_types": ["application/stix+json;version=2.1"],
                            "objects": [],
                            "manifest": [],
                        }
                    ],
                },
            }
        )
    )
    (home / "config.json").write_bytes(
        orjson.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(home / "data.json"),
                    "session_timeout": 3600,
                },
                "users": {"bench": "bench"},
                "taxii": {"max_page_size": 1000},
            }
        )
    )
    command = [str(bin_ / "medallion"), "--port", str(port), str(home / "config.json")]
    with running(command, home / "server.log") as process:
        wait_for(root, process, home / "server.log")
        headers = {"Accept": TAXII, "Authorization": "Basic YmVuY2g6YmVuY2g="}  # bench:bench
        objects = f"{root}collections/{collection}/objects/"
        yield Target("medallion 3.0.0", objects, objects, headers, headers, process.pid)
