"""The `shieldwall` command, run as a user would run it: a real process, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import bundle, indicator


def run(*args: str, database_url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # Test data uses documentation address ranges, which a warning list names (see conftest).
    env = {**os.environ, "SHIELDWALL_DATABASE_URL": database_url, "SHIELDWALL_WARNINGLISTS": "none"}
    result = subprocess.run(
        [sys.executable, "-m", "shieldwall.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_a_whole_session(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    member_id = run(
        "member",
        "add",
        "CERT-Test",
        "--kind",
        "national-cert",
        "--country",
        "EE",
        "--sector",
        "Government",
        database_url=database_url,
    ).stdout.strip()
    assert len(member_id) == 36
    run("member", "add", "Grid Co", "--kind", "industry", database_url=database_url)
    out = run(
        "user",
        "add",
        "ana@cert.example",
        "--member",
        "CERT-Test",
        "--role",
        "analyst",
        database_url=database_url,
    ).stdout
    assert "API key: sw_" in out
    group_id = run(
        "group",
        "add",
        "Alliance-EU",
        "--member",
        "CERT-Test",
        "--member",
        "Grid Co",
        database_url=database_url,
    ).stdout.strip()
    assert len(group_id) == 36
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(indicator(), indicator("198.51.100.99"))))
    imported = run("import", str(path), "--user", "ana@cert.example", database_url=database_url)
    assert "stored 2 objects" in imported.stdout
    assert "intact" in run("audit", "verify", database_url=database_url).stdout


def test_errors_are_one_line_and_a_non_zero_exit(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    bad_kind = run("member", "add", "X", "--kind", "pirate", database_url=database_url, check=False)
    assert bad_kind.returncode != 0 and "unknown member kind" in bad_kind.stderr
    assert "Traceback" not in bad_kind.stderr
    missing = run(
        "import",
        str(tmp_path / "nope.json"),
        "--user",
        "a@b.c",
        database_url=database_url,
        check=False,
    )
    assert missing.returncode != 0 and "no such file" in missing.stderr
    run("member", "add", "M", "--kind", "industry", database_url=database_url)
    run(
        "user",
        "add",
        "u@m.example",
        "--member",
        "M",
        "--role",
        "analyst",
        database_url=database_url,
    )
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{oops")
    not_json = run(
        "import", str(garbage), "--user", "u@m.example", database_url=database_url, check=False
    )
    assert not_json.returncode != 0 and "not JSON" in not_json.stderr
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(bundle({**indicator(), "pattern": "[nope"})))
    rejected = run(
        "import", str(invalid), "--user", "u@m.example", database_url=database_url, check=False
    )
    assert rejected.returncode != 0 and "bundle rejected" in rejected.stderr
    assert "Traceback" not in rejected.stderr


def test_a_large_file_is_validated_by_the_worker_and_stored_whole(
    database_url: str, tmp_path: Path
) -> None:
    """2,500 objects: the command's validation worker checks them (a spawned process, which
    must start cleanly from `python -m shieldwall.cli`) while the command writes."""
    run("init", database_url=database_url)
    run("member", "add", "M", "--kind", "industry", database_url=database_url)
    run("user", "add", "u@m.example", "--member", "M", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    objects = [indicator(f"10.0.{i // 256}.{i % 256}") for i in range(2500)]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(bundle(*objects[:-1], {**objects[-1], "pattern": "[nope"})))
    rejected = run(
        "import", str(broken), "--user", "u@m.example", database_url=database_url, check=False
    )
    assert rejected.returncode != 0 and "bundle rejected" in rejected.stderr
    assert "Traceback" not in rejected.stderr
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle(*objects)))
    stored = run("import", str(good), "--user", "u@m.example", database_url=database_url)
    assert "stored 2500 objects, 0 already present" in stored.stdout
    assert "Traceback" not in stored.stderr and "Error" not in stored.stderr


@pytest.mark.sqlite_only
def test_audit_verify_names_the_tampered_entry(database_url: str, tmp_path: Path) -> None:
    import sqlite3

    run("init", database_url=database_url)
    run("member", "add", "M", "--kind", "industry", database_url=database_url)
    run(
        "user",
        "add",
        "u@m.example",
        "--member",
        "M",
        "--role",
        "analyst",
        database_url=database_url,
    )
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle(indicator())))
    run("import", str(path), "--user", "u@m.example", database_url=database_url)
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE audit_log SET action = 'nothing' WHERE seq = 2")
    result = run("audit", "verify", database_url=database_url, check=False)
    assert result.returncode != 0
    assert "entry 2" in result.stderr
