"""Every database test runs twice: on a fresh SQLite file and on a fresh PostgreSQL database.

PostgreSQL comes from $SHIELDWALL_TEST_POSTGRES_URL (default: the local server, database `test`).
Without one, the PostgreSQL half is skipped and the run says so loudly; under CI (CI=true) an
unreachable PostgreSQL is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shieldwall.db import Database, migrate

POSTGRES_URL = os.environ.get(
    "SHIELDWALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_postgres_skip_reason: list[str] = []


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; every test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as CREATE DATABASE ... TEMPLATE for every test."""
    name = f"sw_template_{uuid.uuid4().hex[:10]}"
    try:
        engine = _admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        reason = f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(exc).splitlines()[0]}"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the PostgreSQL half must run)", pytrace=False)
        _postgres_skip_reason.append(reason)
        pytest.skip(reason)
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    yield name
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "shieldwall.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite-only test")
    template = request.getfixturevalue("postgres_template")
    name = f"sw_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be reached, or None. The main process of a parallel run (xdist)
    asks itself: the skips happened in its workers, whose module state it does not share."""
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(exc).splitlines()[0]}"
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if not _postgres_skip_reason and getattr(config.option, "numprocesses", None):
        reason = _postgres_unreachable()
        if reason:
            _postgres_skip_reason.append(reason)
    if _postgres_skip_reason:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(
            "THE POSTGRESQL HALF OF THE SUITE WAS SKIPPED: " + _postgres_skip_reason[0],
            red=True,
            bold=True,
        )
        terminalreporter.write_line(
            "Set SHIELDWALL_TEST_POSTGRES_URL or start PostgreSQL to run it.", red=True, bold=True
        )
        terminalreporter.write_line(bar, red=True, bold=True)


@pytest.fixture
def app(database_url: str):  # type: ignore[no-untyped-def]
    from shieldwall.app import create_app
    from shieldwall.settings import Settings

    # Test data uses the documentation address ranges, which a warning list names: tests of the
    # warning lists choose theirs. Test bundles are small, which the server validates in-process
    # anyway: no worker process per test (tests/intel/test_parallel_validation.py has them).
    settings = Settings(database_url=database_url, warninglists="none", validation_workers=0)
    return create_app(settings)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def world(app, client):  # type: ignore[no-untyped-def]
    from tests.factories import World

    return World(app.state.db, client)
