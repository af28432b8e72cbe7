"""`shieldwall lookup` against a real server on a loopback port, as a SOC would run it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.factories import bundle, indicator, report
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


def test_lookups_from_the_command_line(server: str, database_url: str, tmp_path: Path) -> None:
    run("member", "add", "CERT", "--kind", "national-cert", database_url=database_url)
    run("member", "add", "SOC", "--kind", "industry", database_url=database_url)
    cert = _key(run("user", "add", "a@cert.example", "--member", "CERT", "--role", "analyst",
                    database_url=database_url).stdout)  # fmt: skip
    soc = _key(run("user", "add", "b@soc.example", "--member", "SOC", "--role", "reader",
                   database_url=database_url).stdout)  # fmt: skip
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # scores decay with age
    shared = {**indicator("198.51.100.66", tlp="green", distribution="community"),
              "created": now, "modified": now}  # fmt: skip
    secret = indicator("198.51.100.67", tlp="red", distribution="org")
    withdrawn = indicator("198.51.100.68", tlp="green", distribution="community")
    campaign = report([shared["id"]], name="SYNTHETIC Campaign Tern", tlp="green")
    hidden = report([shared["id"]], name="SYNTHETIC CERT internal", tlp="red", distribution="org")
    for objects in (
        [shared, secret, withdrawn],
        [campaign],
        [hidden],
        [{**withdrawn, "modified": "2026-01-16T10:00:00.000Z", "revoked": True}],
    ):
        response = httpx.post(f"{server}/api/v1/bundles", json=bundle(*objects),
                              headers={"Authorization": f"Bearer {cert}"})  # fmt: skip
        assert response.status_code == 201, response.text
    values = tmp_path / "values.txt"
    values.write_text(
        "# from the proxy logs\n198.51.100.66\n\n198.51.100.67\nnot a value at all\n198.51.100.68\n"
    )
    answers = {}
    for mode in (["--private"], []):
        name = "private" if mode else "plain"
        args = ("lookup", str(values), *mode, "--url", server, "--key", soc)
        table = run(*args, database_url=database_url)
        as_json = run(*args, "--json", database_url=database_url)
        # What the SOC must NOT see first: the CERT's organisation-only indicator and report.
        for out in (table, as_json):
            for never in (secret["id"], hidden["id"], "CERT internal"):
                assert never not in out.stdout + out.stderr, (name, never)
        # The unreadable line is named by its number, in either mode, and the rest answered.
        assert "line 5: 'not a value at all' could not be read" in table.stderr, name
        assert "3 value(s) looked up: 2 matched, 1 without a match; 1 line(s)" in table.stdout
        row = next(line for line in table.stdout.splitlines() if shared["id"] in line)
        assert "198.51.100.66" in row and "SYNTHETIC Campaign Tern" in row and "green" in row
        gone = next(line for line in table.stdout.splitlines() if withdrawn["id"] in line)
        assert "revoked" in gone and " 0.0 " in gone
        answers[name] = json.loads(as_json.stdout)
    for name, answer in answers.items():
        assert [(r["line"], [m["id"] for m in r["matches"]]) for r in answer["results"]] == [
            (2, [shared["id"]]), (4, []), (6, [withdrawn["id"]]),
        ], name  # fmt: skip
        assert [u["line"] for u in answer["unreadable"]] == [5]
        assert answer["reports"] == {
            campaign["id"]: {"type": "report", "name": "SYNTHETIC Campaign Tern"}
        }
        assert answer["results"][2]["matches"][0]["revoked"] is True
    assert answers["private"]["results"] == answers["plain"]["results"]  # warnings apart: none

    # Scripts may leave out what they will not act on.
    strong = run("lookup", str(values), "--url", server, "--key", soc, "--json", "--min-score",
                 "1", database_url=database_url)  # fmt: skip
    assert withdrawn["id"] not in strong.stdout and shared["id"] in strong.stdout

    no_key = run(
        "lookup", str(values), "--private", "--url", server, database_url=database_url, check=False
    )
    assert no_key.returncode != 0 and "API key" in no_key.stderr
