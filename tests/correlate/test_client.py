"""`shieldwall lookup` against a real server on a loopback port, as a SOC would run it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import bundle, indicator
from tests.test_cli import run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    run("init", database_url=database_url)
    port = _free_port()
    env = {**os.environ, "SHIELDWALL_DATABASE_URL": database_url, "SHIELDWALL_WARNINGLISTS": "none"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shieldwall.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to 10 s
            try:
                if httpx.get(f"{url}/api/v1/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _key(output: str) -> str:
    return next(line.split()[-1] for line in output.splitlines() if line.startswith("API key:"))


def test_private_lookup_from_the_command_line(
    server: str, database_url: str, tmp_path: Path
) -> None:
    run("member", "add", "CERT", "--kind", "national-cert", database_url=database_url)
    run("member", "add", "SOC", "--kind", "industry", database_url=database_url)
    cert = _key(
        run(
            "user",
            "add",
            "a@cert.example",
            "--member",
            "CERT",
            "--role",
            "analyst",
            database_url=database_url,
        ).stdout
    )
    soc = _key(
        run(
            "user",
            "add",
            "b@soc.example",
            "--member",
            "SOC",
            "--role",
            "reader",
            database_url=database_url,
        ).stdout
    )
    shared = indicator("198.51.100.66", tlp="green", distribution="community")
    secret = indicator("198.51.100.67", tlp="red", distribution="org")
    response = httpx.post(
        f"{server}/api/v1/bundles",
        json=bundle(shared, secret),
        headers={"Authorization": f"Bearer {cert}"},
    )
    assert response.status_code == 201, response.text
    values = tmp_path / "values.txt"
    values.write_text("198.51.100.66\n198.51.100.67\nnot a value at all\n")
    for mode in (["--private"], []):
        out = run(
            "lookup",
            str(values),
            *mode,
            "--url",
            server,
            "--key",
            soc,
            database_url=database_url,
            check=mode == ["--private"],
        )
        if mode:
            lines = out.stdout.splitlines()
            assert lines[0].startswith("198.51.100.66\t1 match(es)") and shared["id"] in lines[0]
            assert lines[1] == "198.51.100.67\t0 match(es)\t-"  # org-only: not for the SOC
            assert lines[2].endswith("unreadable")
        else:  # the server refuses a value it cannot read, with a clear message
            assert out.returncode != 0 and "could not be read" in out.stderr
    no_key = run(
        "lookup", str(values), "--private", "--url", server, database_url=database_url, check=False
    )
    assert no_key.returncode != 0 and "API key" in no_key.stderr
