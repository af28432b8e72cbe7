"""`shieldwall backup` and `shieldwall restore`, run as processes on both databases: refusals
first, then a restore into a fresh database equal to the original in every table (objects, audit
chain, indexes, keys...), and a backup taken while a server writes that restores whole."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from shieldwall.db import Database
from tests.conftest import POSTGRES_URL
from tests.factories import World, indicator, report
from tests.operations.bundles import write_bundle
from tests.operations.server import Server, analyst_key
from tests.test_cli import run


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as `database_url`, to restore into."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"sw_restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def everything(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the full-text index's own tables too), sorted; not the job
    leases, which the test's running app takes and gives back whenever its jobs run."""
    db = Database(url)
    try:
        with db.read() as conn:
            names = sorted(set(inspect(conn).get_table_names()) - {"job_leases"})
            return {
                name: sorted(
                    (tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr
                )
                for name in names
            }
    finally:
        db.dispose()


def _a_store(world: World) -> str:
    """Members, users, keys, groups, shared and revised intel, sightings: an instance's day."""
    admin = world.admin()
    member, other = world.member(), world.member()
    analyst = world.user(member)
    world.group([member, other], name="Nordic cell")
    first, second = indicator("198.51.100.30"), indicator("198.51.100.31", tlp="red")
    assert analyst.share(first, second, report([first["id"]], name="SYNTHETIC")).status_code == 201
    newer = {**first, "modified": "2026-01-16T10:00:00.000Z", "name": "Renamed"}
    assert analyst.share(newer).status_code == 201
    sighting = {"sightings": [{"value": "198.51.100.30", "value_kind": "ipv4"}]}
    assert analyst.post("/api/v1/sightings", json=sighting).status_code in (200, 201)
    key = analyst.post(f"/api/v1/users/{analyst.user_id}/api-keys", json={"name": "backup"})
    assert key.status_code == 201
    assert admin.get("/api/v1/audit").status_code == 200
    state = world.client.app.state  # type: ignore[attr-defined]
    state.authenticator.flush()  # last uses and queued audit entries, written now rather than
    state.audit_writer.flush()  # by the background threads while the test compares tables
    return key.json()["api_key"]


# --- may NOT ---------------------------------------------------------------------------------


def test_restore_refuses_a_database_in_use_and_a_backup_of_the_other_kind(
    world: World, database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    _a_store(world)
    backup = tmp_path / "store.backup"
    run("backup", str(backup), database_url=database_url)
    before = everything(database_url)
    onto = run("restore", str(backup), database_url=database_url, check=False)
    assert onto.returncode == 1 and "the database is not empty" in onto.stderr
    assert everything(database_url) == before
    again = run("backup", str(backup), database_url=database_url, check=False)
    assert again.returncode == 1 and "exists" in again.stderr
    stray = tmp_path / "notes.txt"
    stray.write_text("not a backup")
    wrong = run("restore", str(stray), database_url=fresh_url, check=False)
    assert wrong.returncode == 1 and "is not a" in wrong.stderr
    missing = run("restore", str(tmp_path / "nothing"), database_url=fresh_url, check=False)
    assert missing.returncode == 1 and "no such backup file" in missing.stderr


def test_without_the_postgresql_client_tools_the_error_says_so(
    database_url: str, tmp_path: Path
) -> None:
    if make_url(database_url).get_backend_name() == "sqlite":
        pytest.skip("SQLite backups need no outside program")
    bare = tmp_path / "bin"  # a PATH without pg_dump (the command runs by its full path)
    bare.mkdir()
    result = run("backup", str(tmp_path / "x.dump"), database_url=database_url, check=False,
                 env={"PATH": str(bare)})  # fmt: skip
    assert result.returncode == 1
    assert "pg_dump is not on PATH" in result.stderr and "postgresql-client" in result.stderr
    assert not (tmp_path / "x.dump").exists()


# --- may -------------------------------------------------------------------------------------


def test_a_restore_into_a_fresh_database_equals_the_original(
    world: World, database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    key = _a_store(world)
    backup = tmp_path / "store.backup"
    made = run("backup", str(backup), database_url=database_url)
    assert "backed up" in made.stdout and backup.stat().st_size > 0
    restored = run("restore", str(backup), database_url=fresh_url)
    assert "restored" in restored.stdout
    original, copy = everything(database_url), everything(fresh_url)
    assert set(copy) == set(original)
    for table, rows in original.items():
        assert copy[table] == rows, table
    assert original["objects"] and original["audit_log"] and original["api_keys"]
    assert "audit chain intact" in run("audit", "verify", database_url=fresh_url).stdout
    assert run("check", database_url=fresh_url).stdout.startswith("whole:")
    # A server on the restored database knows the same keys and serves the same objects.
    server = Server(fresh_url, tmp_path / "server.log", validation_workers="0").start()
    try:
        listed = httpx.get(f"{server.url}/api/v1/objects", params={"type": "indicator"},
                           headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        assert listed.status_code == 200
        assert len(listed.json()["objects"]) == 2
    finally:
        server.stop()


def test_a_backup_taken_while_a_server_writes_restores_whole(
    database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    key = analyst_key(database_url)
    bundles = []
    for number in range(12):
        path = tmp_path / f"bundle-{number}.json"
        write_bundle(path, 1000)
        bundles.append(path)
    server = Server(database_url, tmp_path / "server.log", validation_workers="0").start()
    statuses: list[int] = []

    def share() -> None:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        for path in bundles:
            response = httpx.post(f"{server.url}/api/v1/bundles", content=path.read_bytes(),
                                  headers=headers, timeout=300)  # fmt: skip
            statuses.append(response.status_code)

    writer = threading.Thread(target=share)
    try:
        writer.start()
        while len(statuses) < 3 and writer.is_alive():  # some writes in, more to come
            writer.join(timeout=0.05)
        run("backup", str(tmp_path / "online.backup"), database_url=database_url)
        writer.join(timeout=600)
    finally:
        server.stop()
    assert statuses == [201] * len(bundles)
    run("restore", str(tmp_path / "online.backup"), database_url=fresh_url)
    assert run("check", database_url=fresh_url).stdout.startswith("whole:")
    assert "audit chain intact" in run("audit", "verify", database_url=fresh_url).stdout
    original, copy = everything(database_url), everything(fresh_url)
    taken = {row[0] for row in copy["change_log"]}
    assert len([r for r in copy["change_log"] if r[2] == "ingest"]) >= 3
    # The copy is the original as one commit left it: the same changes, up to a point.
    assert [r for r in original["change_log"] if r[0] in taken] == copy["change_log"]
    assert {r[0] for r in original["change_log"]} >= taken
