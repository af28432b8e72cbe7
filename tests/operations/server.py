"""A real `shieldwall serve` process on a free loopback port, which a test may kill like a
crash would (SIGKILL to its whole process group: the server and its helper processes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shieldwall.db import Database
from shieldwall.members import service
from shieldwall.policy import Role


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`shieldwall serve` on the database at `database_url`, its output in `log`."""

    def __init__(self, database_url: str, log: Path, **settings: str) -> None:
        self.database_url = database_url
        self.log = log
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Server:
        env = {
            **os.environ,
            "SHIELDWALL_DATABASE_URL": self.database_url,
            "SHIELDWALL_WARNINGLISTS": "none",
            **{f"SHIELDWALL_{k.upper()}": v for k, v in self.settings.items()},
        }
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shieldwall.cli", "serve", "--port", str(self.port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/openapi.json", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a power cut would end it: nothing runs after."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def analyst_key(database_url: str, member: str = "CERT-Crash", role: Role = Role.ANALYST) -> str:
    """A new member with one user; the user's API key."""
    db = Database(database_url)
    try:
        with db.write() as conn:
            member_id = service.create_member(conn, member, "national-cert")
            return service.create_user(conn, f"{member.lower()}@example.org", member_id, role).key
    finally:
        db.dispose()
