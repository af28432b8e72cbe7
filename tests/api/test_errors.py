"""Every failure answers in the one JSON error shape; a server error carries an opaque id that
the server log holds beside the traceback, and shows the client nothing of its cause; a streamed
answer that fails never passes for a complete one."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from sqlalchemy import update

from shieldwall.exchange import indicator_values
from shieldwall.intel.tables import objects
from tests.api.serving import serving
from tests.factories import World, indicator

SECRET = "secret-detail-of-the-failure"


def _failing_routes(app: FastAPI) -> None:
    """Routes that fail as no real route should any more: the handler itself is under test."""

    async def fails() -> None:
        raise RuntimeError(SECRET)

    async def fails_streaming() -> StreamingResponse:
        def pieces() -> Iterator[bytes]:
            yield b'{"a": 1,'
            raise RuntimeError(SECRET)

        return StreamingResponse(pieces(), media_type="application/json")

    app.add_api_route("/api/v1/test-fails", fails)
    app.add_api_route("/api/v1/test-fails-streaming", fails_streaming)


def test_a_server_error_is_json_with_an_id_that_the_log_holds(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    _failing_routes(app)
    with TestClient(app) as client, caplog.at_level(logging.ERROR, "shieldwall.errors"):
        response = client.get("/api/v1/test-fails")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"status", "title", "message", "details", "id"}
    assert re.fullmatch(r"[0-9a-f]{16}", error["id"])
    assert error["id"] in error["message"]
    assert SECRET not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if error["id"] in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert SECRET in str(logged[0].exc_info[1])


def test_each_server_error_gets_its_own_id(app: FastAPI) -> None:
    _failing_routes(app)
    with TestClient(app) as client:
        ids = {client.get("/api/v1/test-fails").json()["error"]["id"] for _ in range(3)}
    assert len(ids) == 3


def test_unknown_paths_and_methods_answer_in_the_json_shape(client: TestClient) -> None:
    for response in (client.get("/api/v1/no-such-route"), client.delete("/api/v1/objects")):
        assert response.status_code in (404, 405)
        assert response.json()["error"]["status"] == response.status_code


def _break_stored_body(world: World, object_id: str) -> None:
    """What a row stored before today's rules might hold: a body no JSON reader takes (naming
    a pattern and `domain-name`, so that a domain blocklist reads the pattern out of it, and the
    read fails: exchange/indicator_values.py reads no other body)."""
    broken = '{"pattern": "[domain-name:value = broken'
    with world.db.write() as conn:
        conn.execute(update(objects).where(objects.c.object_id == object_id).values(body=broken))


def _url_and_domain(n: int) -> dict[str, Any]:
    """An indicator of a URL and its host shared as a domain: its pattern names a domain."""
    pattern = f"[url:value = 'http://h{n}.example/'] OR [domain-name:value = 'h{n}.example']"
    return {**indicator(), "pattern": pattern}


def test_a_blocklist_whose_first_batch_fails_is_an_error_not_an_empty_list(
    world: World,
) -> None:
    analyst = world.user(world.member())
    broken = _url_and_domain(7)
    assert analyst.share(broken).status_code == 201
    _break_stored_body(world, broken["id"])
    with TestClient(world.client.app, raise_server_exceptions=False) as client:
        response = client.get(
            "/api/v1/exports/blocklist", params={"kind": "domain"}, headers=analyst.headers
        )
    assert response.status_code == 500
    assert response.json()["error"]["id"]


def test_a_stream_failing_after_its_first_byte_breaks_the_connection(app: FastAPI) -> None:
    _failing_routes(app)
    with TestClient(app), serving(app) as url:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{url}/api/v1/test-fails-streaming", timeout=10)
        before = httpx.get(f"{url}/api/v1/test-fails", timeout=10)
    assert before.status_code == 500 and before.json()["error"]["id"]


def test_a_blocklist_failing_in_a_later_batch_breaks_the_connection(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indicator_values, "PAGE", 2)  # so that the third indicator is a later page
    analyst = world.user(world.member())
    shared = [_url_and_domain(i) for i in range(1, 6)]
    assert analyst.share(*shared).status_code == 201
    url_params = {"kind": "domain"}
    with serving(world.client.app) as url:
        whole = httpx.get(f"{url}/api/v1/exports/blocklist", params=url_params,
                          headers=analyst.headers, timeout=10)  # fmt: skip
        assert whole.status_code == 200 and len(whole.text.splitlines()) == 5
        _break_stored_body(world, shared[3]["id"])
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{url}/api/v1/exports/blocklist", params=url_params,
                      headers=analyst.headers, timeout=10)  # fmt: skip
