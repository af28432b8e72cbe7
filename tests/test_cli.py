"""The `shieldwall` command, run as a user would run it: a real process, real files."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import bundle, indicator


def run(
    *args: str,
    database_url: str | None,
    check: bool = True,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it; without `database_url`, it finds the default database."""
    # Test data uses documentation address ranges, which a warning list names (see conftest).
    environ = {**os.environ, "SHIELDWALL_WARNINGLISTS": "none", **(env or {})}
    environ.pop("SHIELDWALL_DATABASE_URL", None)
    if database_url is not None:
        environ["SHIELDWALL_DATABASE_URL"] = database_url
    result = subprocess.run(
        [sys.executable, "-m", "shieldwall.cli", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    if check:
        assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
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


def _user(email: str, member: str, database_url: str, role: str = "analyst") -> str:
    """Add a user; its API key."""
    out = run("user", "add", email, "--member", member, "--role", role,
              database_url=database_url).stdout  # fmt: skip
    return next(line.split()[-1] for line in out.splitlines() if line.startswith("API key:"))


@pytest.mark.sqlite_only
def test_every_command_finds_the_one_default_database_from_any_folder(tmp_path: Path) -> None:
    data, here, there = tmp_path / "data", tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    env = {"XDG_DATA_HOME": str(data)}
    expected = data / "shieldwall" / "shieldwall.db"

    # Before `init`: a command that reads says which database it looked for, and creates none.
    for command in (["audit", "verify"], ["member", "list"], ["import", __file__, "--user", "x"]):
        missing = run(*command, database_url=None, env=env, cwd=here, check=False)
        assert missing.returncode == 1, command
        assert f"no database at sqlite:///{expected} (the default database)" in missing.stderr
        assert "shieldwall init" in missing.stderr
    assert not expected.exists() and list(here.iterdir()) == [] and not data.exists()

    assert str(expected) in run("init", database_url=None, env=env, cwd=here).stdout
    run("member", "add", "CERT", "--kind", "national-cert", database_url=None, env=env, cwd=there)
    listed = run("member", "list", "--json", database_url=None, env=env, cwd=tmp_path)
    assert [m["name"] for m in json.loads(listed.stdout)] == ["CERT"]
    assert "intact" in run("audit", "verify", database_url=None, env=env, cwd=there).stdout
    assert list(here.iterdir()) == [] and list(there.iterdir()) == []  # no var/ anywhere


@pytest.mark.sqlite_only
def test_the_demo_seeds_the_default_database_every_command_uses(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = str(tmp_path_factory.getbasetemp() / "cache")  # the session's warning-list index
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "SHIELDWALL_CACHE_DIR": cache}
    shown = run("demo", "--no-serve", database_url=None, env=env, cwd=tmp_path).stdout
    assert "API key:  sw_" in shown and str(tmp_path / "data" / "shieldwall") in shown
    assert "web:      http://127.0.0.1:8000/  (sign in: " in shown
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    members = run("member", "list", "--json", database_url=None, env=env, cwd=elsewhere)
    assert all("SYNTHETIC" in m["name"] for m in json.loads(members.stdout))
    assert "intact" in run("audit", "verify", database_url=None, env=env, cwd=elsewhere).stdout


def test_a_database_without_shieldwall_in_it_is_named_and_left_alone(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        empty = tmp_path / "empty.db"
        empty.write_bytes(b"")
        url = f"sqlite:///{empty}"
        verify = run("audit", "verify", "--database", url, database_url=database_url, check=False)
        assert verify.returncode == 1
        assert f"sqlite:///{empty} (given with --database) holds no Shieldwall database" in (
            verify.stderr
        )
        assert empty.read_bytes() == b""
    else:  # a PostgreSQL database that does not exist is named, its password hidden
        url = database_url.rsplit("/", 1)[0].replace("postgres@", "postgres:secret@")
        url += "/sw_no_such_database"
        verify = run("audit", "verify", database_url=url, check=False)
        assert verify.returncode == 1
        assert "database error on postgresql+psycopg://postgres:***@" in verify.stderr
        assert "sw_no_such_database" in verify.stderr and "secret" not in verify.stderr


def test_bad_settings_are_one_line_errors(database_url: str) -> None:
    for url in ("mysql://root@db.example/shieldwall", "not a url"):
        bad = run("init", "--database", url, database_url=database_url, check=False)
        assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr
        assert "sqlite:///PATH or postgresql+psycopg://" in bad.stderr
    for port in ("99999", "0"):
        bad_port = run("serve", "--port", port, database_url=database_url, check=False)
        assert bad_port.returncode == 2 and "Invalid value for '--port'" in bad_port.stderr
    from_env = run("serve", database_url=database_url, env={"SHIELDWALL_PORT": "99999"},
                   check=False)  # fmt: skip
    assert from_env.returncode == 1 and "port 99999 is not a TCP port" in from_env.stderr
    typed = run("serve", database_url=database_url, env={"SHIELDWALL_PORT": "http"}, check=False)
    assert typed.returncode == 1 and "$SHIELDWALL_PORT: 'http' is not int" in typed.stderr


def test_version() -> None:
    out = run("--version", database_url=None).stdout
    assert out.strip() == f"shieldwall {importlib.metadata.version('shieldwall')}"


def test_members_users_and_groups_are_listed(database_url: str) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT-EE", "--kind", "national-cert", "--country", "EE",
        database_url=database_url)  # fmt: skip
    run("member", "add", "Grid Co", "--kind", "industry", database_url=database_url)
    _user("ana@cert.example", "CERT-EE", database_url)
    _user("bo@grid.example", "Grid Co", database_url, role="reader")
    run("group", "add", "Energy", "--member", "CERT-EE", "--member", "Grid Co",
        database_url=database_url)  # fmt: skip

    table = run("member", "list", database_url=database_url).stdout
    assert "CERT-EE" in table and "national-cert" in table and "Grid Co" in table
    members = json.loads(run("member", "list", "--json", database_url=database_url).stdout)
    assert [(m["name"], m["kind"], m["country"]) for m in members] == [
        ("CERT-EE", "national-cert", "EE"), ("Grid Co", "industry", None),
    ]  # fmt: skip

    users = json.loads(run("user", "list", "--json", database_url=database_url).stdout)
    assert [(u["email"], u["member"], u["role"]) for u in users] == [
        ("ana@cert.example", "CERT-EE", "analyst"), ("bo@grid.example", "Grid Co", "reader"),
    ]  # fmt: skip
    assert "key" not in str(users).lower()  # keys are shown once, when made
    only = run("user", "list", "--member", "Grid Co", database_url=database_url).stdout
    assert "bo@grid.example" in only and "ana@cert.example" not in only
    unknown = run("user", "list", "--member", "Nobody", database_url=database_url, check=False)
    assert unknown.returncode == 1 and "no member named 'Nobody'" in unknown.stderr

    groups = json.loads(run("group", "list", "--json", database_url=database_url).stdout)
    assert [(g["name"], g["owner"], g["members"]) for g in groups] == [
        ("Energy", "CERT-EE", ["CERT-EE", "Grid Co"])
    ]
    assert "Energy" in run("group", "list", database_url=database_url).stdout


def test_lookup_in_the_database_as_a_user(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT", "--kind", "national-cert", database_url=database_url)
    run("member", "add", "SOC", "--kind", "industry", database_url=database_url)
    _user("a@cert.example", "CERT", database_url)
    _user("b@soc.example", "SOC", database_url, role="reader")
    shared = indicator("198.51.100.66", tlp="green", distribution="community")
    secret = indicator("198.51.100.67", tlp="red", distribution="org")
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(shared, secret)))
    run("import", str(path), "--user", "a@cert.example", database_url=database_url)
    values = tmp_path / "values.txt"
    values.write_text("# today's list\n198.51.100.66\n\n198.51.100.67\nnot a value at all\n")

    # What the SOC must NOT see first: the CERT's organisation-only indicator, in any form.
    soc = run("lookup", str(values), "--user", "b@soc.example", "--json",
              database_url=database_url)  # fmt: skip
    answer = json.loads(soc.stdout)
    assert secret["id"] not in soc.stdout and secret["id"] not in soc.stderr
    assert [(r["line"], r["given"], [m["id"] for m in r["matches"]], r["seen_by_members"])
            for r in answer["results"]] == [
        (2, "198.51.100.66", [shared["id"]], 1), (4, "198.51.100.67", [], 0),
    ]  # fmt: skip
    assert answer["unreadable"] == [
        {"line": 5, "value": "not a value at all",
         "message": "no rule recognises it; give its kind"}
    ]  # fmt: skip
    assert "line 5: 'not a value at all' could not be read" in soc.stderr

    cert = run("lookup", str(values), "--user", "a@cert.example", database_url=database_url)
    assert shared["id"] in cert.stdout and secret["id"] in cert.stdout
    assert "2 value(s) looked up: 2 matched, 0 without a match; 1 line(s)" in cert.stdout

    for wrong, message in (
        (["--database", database_url], "needs --user EMAIL"),
        (["--user", "a@cert.example", "--private"], "--private asks a server"),
        (["--user", "nobody@example.org"], "no user with e-mail"),
    ):
        refused = run("lookup", str(values), *wrong, database_url=database_url, check=False)
        assert refused.returncode == 1 and message in refused.stderr, wrong


def test_hostile_files_are_one_line_errors(database_url: str, tmp_path: Path) -> None:
    """Issue 12: a folder, and a custom property nested deeper than the platform stores (a
    traceback before), are refused in one line each, nothing stored."""
    run("init", database_url=database_url)
    run("member", "add", "M", "--kind", "industry", database_url=database_url)
    run("user", "add", "u@m.example", "--member", "M", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    folder = run("import", str(tmp_path), "--user", "u@m.example", database_url=database_url,
                 check=False)  # fmt: skip
    assert folder.returncode != 0 and "a folder" in folder.stderr
    deep: object = "bottom"
    for _ in range(300):
        deep = {"level": deep}
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps(bundle({**indicator(), "x_deep": deep})))
    refused = run("import", str(nested), "--user", "u@m.example", database_url=database_url,
                  check=False)  # fmt: skip
    assert refused.returncode != 0 and "bundle rejected" in refused.stderr
    assert "x_deep" in refused.stderr and "nests" in refused.stderr


def test_commands_that_read_a_database_create_no_folders(tmp_path: Path) -> None:
    """Only init, serve and demo create a database (and its folder); the others say there is
    none where they looked, and leave the file system as it was."""
    absent = tmp_path / "nowhere" / "dir"
    url = f"sqlite:///{absent / 'x.db'}"
    for command in (("member", "list"), ("audit", "verify"), ("user", "list")):
        result = run(*command, "--database", url, database_url=None, check=False)
        assert result.returncode != 0 and "no database at" in result.stderr, command
    assert not (tmp_path / "nowhere").exists()
