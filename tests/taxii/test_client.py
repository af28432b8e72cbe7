"""`shieldwall taxii pull` against a second Shieldwall instance on a loopback port, as an
operator would run it: page by page, each page whole or not at all, resuming where it stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from shieldwall.db import Database
from shieldwall.intel.tables import objects
from shieldwall.taxii.collections import inbox_id
from tests.correlate.test_client import _free_port, _key
from tests.factories import bundle, indicator
from tests.taxii.helpers import TAXII
from tests.test_cli import run


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Another instance, on its own SQLite database, with one analyst."""
    url = f"sqlite:///{tmp_path / 'remote.db'}"
    run("init", database_url=url)
    member = run("member", "add", "EU CERT", "--kind", "national-cert", database_url=url)
    key = _key(
        run(
            "user",
            "add",
            "analyst@eu-cert.example",
            "--member",
            "EU CERT",
            "--role",
            "analyst",
            database_url=url,
        ).stdout
    )
    port = _free_port()
    env = {**os.environ, "SHIELDWALL_DATABASE_URL": url, "SHIELDWALL_WARNINGLISTS": "none"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shieldwall.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):  # up to 15 s
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the remote instance did not start")
        yield {
            "root": f"{base}/taxii2/shieldwall/",
            "key": key,
            "email": "analyst@eu-cert.example",
            "inbox": inbox_id(member.stdout.strip()),
            "database": url,
        }
    finally:
        process.terminate()
        process.wait(timeout=10)


def _add(remote: dict[str, Any], *stix_objects: dict[str, Any]) -> None:
    response = httpx.post(
        f"{remote['root']}collections/{remote['inbox']}/objects/",
        content=orjson.dumps({"objects": list(stix_objects)}),
        headers={
            "Authorization": f"Bearer {remote['key']}",
            "Accept": TAXII,
            "Content-Type": TAXII,
        },
    )
    assert response.status_code == 202 and response.json()["success_count"] == len(stix_objects)


def _stored(database_url: str, ids: list[str]) -> int:
    db = Database(database_url)
    try:
        with db.read() as conn:
            return conn.scalar(select(func.count()).where(objects.c.object_id.in_(ids))) or 0
    finally:
        db.dispose()


def test_pull_pages_resumes_and_stops_whole_at_a_rejected_page(
    remote: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    run("init", database_url=database_url)
    run("member", "add", "Alliance CERT", "--kind", "alliance", database_url=database_url)
    run("member", "add", "Other", "--kind", "industry", database_url=database_url)
    run(
        "user",
        "add",
        "me@alliance.example",
        "--member",
        "Alliance CERT",
        "--role",
        "analyst",
        database_url=database_url,
    )
    run(
        "user",
        "add",
        "x@other.example",
        "--member",
        "Other",
        "--role",
        "analyst",
        database_url=database_url,
    )
    first = [indicator(f"198.51.100.{i}", tlp="green") for i in range(5)]
    _add(remote, *first)
    pull = (
        "taxii",
        "pull",
        remote["root"],
        "--collection",
        remote["inbox"],
        "--user",
        "me@alliance.example",
        "--limit",
        "2",
    )
    basic = ("--basic", f"{remote['email']}:{remote['key']}")
    done = run(*pull, *basic, database_url=database_url)
    # The remote member's identity and five indicators, two a page.
    assert "pulled 6 objects in 3 page(s): 6 stored" in done.stdout, done.stdout
    assert _stored(database_url, [o["id"] for o in first]) == 5

    second = [indicator(f"198.51.100.{i}", tlp="green") for i in range(10, 13)]
    _add(remote, *second)
    again = run(*pull, "--token", remote["key"], database_url=database_url)  # Bearer, this time
    assert "pulled 3 objects in 2 page(s): 3 stored" in again.stdout, again.stdout
    nothing = run(*pull, *basic, database_url=database_url)
    assert "pulled 0 objects" in nothing.stdout

    everything = run(*pull, *basic, "--since", "2000-01-01T00:00:00Z", database_url=database_url)
    assert "pulled 9 objects" in everything.stdout and "9 already present" in everything.stdout

    # A page that breaks a local rule (an id another local member shared) stops the pull
    # there: the pages before it are kept, nothing of it is, and the next pull starts at it.
    taken = indicator("198.51.100.20", tlp="green")
    shared_first = tmp_path / "taken.json"  # another local member shares the id first
    shared_first.write_bytes(orjson.dumps(bundle(taken)))
    run("import", str(shared_first), "--user", "x@other.example", database_url=database_url)
    fresh = [indicator(f"198.51.100.{i}", tlp="green") for i in range(30, 32)]
    _add(remote, *fresh)
    beside = indicator("198.51.100.33", tlp="green")  # on the same page as the taken id
    _add(remote, taken, beside)
    failed = run(*pull, *basic, database_url=database_url, check=False)
    assert failed.returncode == 1
    assert "belongs to an object shared by another member" in failed.stderr
    assert _stored(database_url, [o["id"] for o in fresh]) == 2
    assert _stored(database_url, [beside["id"]]) == 0
    retried = run(*pull, *basic, database_url=database_url, check=False)
    assert retried.returncode == 1 and "belongs to" in retried.stderr


def test_pull_errors_are_one_line(remote: dict[str, Any], database_url: str) -> None:
    run("init", database_url=database_url)
    run("member", "add", "Alliance CERT", "--kind", "alliance", database_url=database_url)
    run(
        "user",
        "add",
        "me@alliance.example",
        "--member",
        "Alliance CERT",
        "--role",
        "analyst",
        database_url=database_url,
    )
    pull = (
        "taxii",
        "pull",
        remote["root"],
        "--collection",
        remote["inbox"],
        "--user",
        "me@alliance.example",
    )
    for args, message in (
        (("--token", "sw_wrong"), "HTTP 401"),
        (("--basic", f"someone@else.example:{remote['key']}"), "HTTP 401"),
        (("--token", remote["key"], "--basic", "a:b"), "not both"),
        (("--basic", "no-colon"), "USER:PASSWORD"),
        (("--token", remote["key"], "--since", "yesterday"), "--since"),
    ):
        failed = run(*pull, *args, database_url=database_url, check=False)
        assert failed.returncode == 1 and message in failed.stderr, (args, failed.stderr)
        assert len(failed.stderr.strip().splitlines()) == 1
    elsewhere = run(
        "taxii",
        "pull",
        "http://127.0.0.1:9/taxii2/shieldwall/",
        "--collection",
        remote["inbox"],
        "--user",
        "me@alliance.example",
        "--token",
        "x",
        database_url=database_url,
        check=False,
    )
    assert elsewhere.returncode == 1 and "error" in elsewhere.stderr
    unknown = run(
        *pull[:-1],
        "nobody@alliance.example",
        "--token",
        remote["key"],
        database_url=database_url,
        check=False,
    )
    assert unknown.returncode == 1 and "nobody@alliance.example" in unknown.stderr


def test_skip_refused_leaves_out_what_this_instance_refuses_and_stores_the_rest(
    remote: dict[str, Any], database_url: str
) -> None:
    run("init", database_url=database_url)
    run("member", "add", "Alliance CERT", "--kind", "alliance", database_url=database_url)
    run("user", "add", "me@alliance.example", "--member", "Alliance CERT", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    # A sharing group of the remote instance only: this one cannot honour it, so it must never
    # store what is shared with that group, not even beside what it may store.
    group = run("group", "add", "EU arrangement", "--member", "EU CERT",
                database_url=remote["database"]).stdout.strip()  # fmt: skip
    group_only = indicator("198.51.100.60", tlp="amber", distribution="group", group=group)
    plain = [indicator(f"198.51.100.{i}", tlp="green") for i in (61, 62)]
    _add(remote, plain[0], group_only, plain[1])
    pull = ("taxii", "pull", remote["root"], "--collection", remote["inbox"],
            "--user", "me@alliance.example", "--token", remote["key"])  # fmt: skip

    stopped = run(*pull, database_url=database_url, check=False)
    assert stopped.returncode == 1
    assert "sharing group" in stopped.stderr and "--skip-refused" in stopped.stderr
    assert _stored(database_url, [o["id"] for o in [*plain, group_only]]) == 0

    skipped = run(*pull, "--skip-refused", database_url=database_url)
    assert "1 refused and left out" in skipped.stdout, skipped.stdout
    assert f"left out {group_only['id']}" in skipped.stderr
    assert _stored(database_url, [group_only["id"]]) == 0
    assert _stored(database_url, [o["id"] for o in plain]) == 2
    # It resumes after the page it left objects out of: they are not asked for again.
    assert "pulled 0 objects" in run(*pull, database_url=database_url).stdout
