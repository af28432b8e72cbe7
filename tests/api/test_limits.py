"""Every route stops reading a request body at its limit, whether the body declares its length or
comes in chunks; JSON routes other than /bundles have a limit too."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from shieldwall.api.limits import MAX_REQUEST_BYTES
from tests.api.serving import serving
from tests.factories import ApiUser, World, bundle, indicator

MB = 1024 * 1024


def _lookup_body(size: int) -> bytes:
    """A /lookup body of about `size` bytes: valid JSON, as a client would send."""
    value = "198.51.100.7"
    count = size // (len(value) + 3)
    return orjson.dumps({"values": [value] * count})


def _json(user: ApiUser) -> dict[str, str]:
    return {**user.headers, "Content-Type": "application/json"}


def test_a_json_route_refuses_a_declared_body_past_its_limit(world: World) -> None:
    reader = world.user(world.member(), "reader")
    body = _lookup_body(MAX_REQUEST_BYTES + MB)
    response = reader.client.post("/api/v1/lookup", content=body, headers=_json(reader))
    assert response.status_code == 413
    assert str(MAX_REQUEST_BYTES) in response.json()["error"]["message"]


def test_a_json_route_refuses_a_chunked_body_past_its_limit(world: World) -> None:
    reader = world.user(world.member(), "reader")
    body = _lookup_body(MAX_REQUEST_BYTES + MB)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), MB):
            yield body[start : start + MB]

    response = reader.client.post("/api/v1/lookup", content=chunks(), headers=_json(reader))
    assert response.status_code == 413
    assert response.json()["error"]["status"] == 413


def test_a_body_within_the_limit_is_read(world: World) -> None:
    reader = world.user(world.member(), "reader")
    response = reader.client.post(
        "/api/v1/lookup", content=_lookup_body(100_000), headers=_json(reader)
    )
    assert response.status_code == 200


@pytest.fixture
def small_bundles(database_url: str) -> Iterator[TestClient]:
    from shieldwall.app import create_app
    from shieldwall.settings import Settings

    settings = Settings(database_url=database_url, warninglists="none", validation_workers=0,
                        max_bundle_bytes=64 * 1024)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_chunked_bundle_past_the_bundle_limit_is_refused(small_bundles: TestClient) -> None:
    from tests.factories import World as Factory

    world = Factory(small_bundles.app.state.db, small_bundles)
    analyst = world.user(world.member())
    raw = orjson.dumps(bundle(*(indicator(f"198.51.100.{i % 250}") for i in range(400))))
    assert len(raw) > 64 * 1024

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(raw), 4096):
            yield raw[start : start + 4096]

    response = analyst.post("/api/v1/bundles", content=chunks())
    assert response.status_code == 413
    assert analyst.object_ids() == set()


def test_the_server_stops_reading_a_chunked_body_at_the_limit(world: World) -> None:
    """Over a real socket: the client is answered 413 long before it could send it all."""
    reader = world.user(world.member(), "reader")
    sent = 0
    total = 8 * MAX_REQUEST_BYTES

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        piece = b'{"values": [' + b'"198.51.100.7",' * (MB // 16)
        while sent < total:
            sent += len(piece)
            yield piece

    with serving(world.client.app) as url:
        try:
            response = httpx.post(
                f"{url}/api/v1/lookup", content=chunks(), headers=_json(reader), timeout=30
            )
            assert response.status_code == 413
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server answered and closed while the client was still sending
    assert sent < total / 2
