"""Schema-driven fuzzing: schemathesis calls every operation of the OpenAPI document with input
generated from it, as an admin and as a reader, on both databases, and fails on a server error,
a status code or a content type the document does not list, or a body that does not match its
schema.

One served app per database for the whole module (a fresh database per operation cost more
than the fuzzing), on a loopback port; the number of examples per operation is bounded so that
the suite stays fast: raise SHIELDWALL_FUZZ_EXAMPLES to search longer.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shieldwall.app import create_app
from shieldwall.policy import Role
from shieldwall.settings import Settings
from tests.api.serving import serving
from tests.conftest import POSTGRES_URL, _admin_engine
from tests.factories import World, indicator, report

EXAMPLES = int(os.environ.get("SHIELDWALL_FUZZ_EXAMPLES", "10"))
# schemathesis's coverage phase (boundary values for every parameter, sent besides the examples)
# doubles the run: on with SHIELDWALL_FUZZ_COVERAGE=1, as for the figures in the issue 12 note.
PHASES = (
    [Phase.explicit, Phase.generate]
    if os.environ.get("SHIELDWALL_FUZZ_COVERAGE")
    else [Phase.generate]
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, warninglists="none", validation_workers=0,
                    lookup_helpers=0)  # fmt: skip


def _document() -> dict[str, Any]:
    """The OpenAPI document, from an app that is never started: schemathesis makes its tests
    from it when this module is collected, before any database exists."""
    app = create_app(_settings("sqlite:///:memory:"))
    try:
        return app.openapi()
    finally:
        app.state.db.dispose()


# The stream never ends while its client listens, so a call that reads the whole answer would
# wait for ever: tests/stream/ test its errors and its events.
schema = schemathesis.openapi.from_dict(_document()).exclude(path="/api/v1/stream")


class Served(NamedTuple):
    url: str
    keys: dict[str, dict[str, str]]  # role -> headers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The app on a fresh database of each kind, served on a loopback port, with an admin's and
    a reader's key and a little of everything to find."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "shieldwall.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database_url, name = f"sqlite:///{path}", None
    else:
        template = request.getfixturevalue("postgres_template")
        name = f"sw_fuzz_{uuid.uuid4().hex[:12]}"
        _on_server(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        database_url = make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    app = create_app(_settings(database_url))
    with TestClient(app) as client, serving(app) as url:
        world = World(app.state.db, client)
        member = world.member()
        shared = indicator("198.51.100.7", tlp="green")
        analyst = world.user(member)
        assert analyst.share(shared, report([shared["id"]], tlp="green")).status_code == 201
        world.group([member, world.member()])
        keys = {"admin": world.admin().headers, "reader": world.user(member, Role.READER).headers}
        yield Served(url, keys)
    if name is not None:
        _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _on_server(statement: str) -> None:
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


_FUZZ = settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,  # every run searches afresh; a failure prints the example to reproduce it
)


@schema.parametrize()
@_FUZZ
def test_every_operation_answers_an_admin_as_documented(case: Any, served: Served) -> None:
    _call_and_validate(case, served.url, served.keys["admin"])


@schema.parametrize()
@_FUZZ
def test_every_operation_answers_a_reader_as_documented(case: Any, served: Served) -> None:
    _call_and_validate(case, served.url, served.keys["reader"])


# uvicorn's HTTP parser refuses a request line of more than ~64 KiB with a plain-text 400
# before any of our code runs (hypothesis sometimes writes a query that long).
_SERVER_REFUSAL = b"Invalid HTTP request received."


def _call_and_validate(case: Any, url: str, headers: dict[str, str]) -> None:
    response = case.call(base_url=url, headers=headers)
    if response.status_code == 400 and response.content == _SERVER_REFUSAL:
        return  # the HTTP server's own refusal (our errors are JSON), not an answer of ours
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_the_document_declares_the_bearer_scheme_and_the_error_shape(tmp_path: Path) -> None:
    document = _document()
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": "an API key: `Authorization: Bearer <API key>`",
    }  # fmt: skip
    assert "HTTPValidationError" not in document["components"]["schemas"]
    objects = document["paths"]["/api/v1/objects"]["get"]
    assert objects["security"] == [{"apiKey": []}]
    assert {"401", "422", "500"} <= objects["responses"].keys()
    bundles = document["paths"]["/api/v1/bundles"]["post"]
    assert "application/json" in bundles["requestBody"]["content"]
    assert "security" not in document["paths"]["/api/v1/definitions"]["get"]
