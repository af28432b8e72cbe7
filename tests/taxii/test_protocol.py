"""TAXII 2.1 over HTTP, header by header: authentication, content negotiation, media types,
body limits and the error message every failure carries."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from shieldwall.policy import Role
from tests.factories import World, indicator
from tests.taxii.helpers import ROOT, TAXII, Taxii, create_collection

LIMIT = 4096


@pytest.fixture
def app(database_url: str):  # type: ignore[no-untyped-def]
    """The app with a small body limit, so that 413 needs no large body."""
    from shieldwall.app import create_app
    from shieldwall.settings import Settings

    return create_app(
        Settings(
            database_url=database_url,
            warninglists="none",
            validation_workers=0,
            max_bundle_bytes=LIMIT,
        )
    )


@pytest.fixture
def alice(world: World) -> Taxii:
    return Taxii(world, world.user(world.member("A")))


def _error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    """The TAXII error message (§3.6.1), in TAXII's media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == TAXII
    body = response.json()
    assert body["http_status"] == str(status)
    assert body["title"] and body["description"]
    return body


def _paths(alice: Taxii) -> Iterator[str]:
    inbox = alice.inbox()
    some = indicator()
    alice.add(inbox, some)
    yield from (
        "/taxii2/",
        f"{ROOT}/",
        f"{ROOT}/collections/",
        f"{ROOT}/collections/{inbox}/",
        f"{ROOT}/collections/{inbox}/objects/",
        f"{ROOT}/collections/{inbox}/manifest/",
        f"{ROOT}/collections/{inbox}/objects/{some['id']}/",
        f"{ROOT}/collections/{inbox}/objects/{some['id']}/versions/",
    )


def test_without_valid_credentials_every_endpoint_is_401_with_a_challenge(alice: Taxii) -> None:
    wrong_email = base64.b64encode(f"someone@example.org:{alice.user.key}".encode()).decode()
    for path in _paths(alice):
        for headers in (
            {},
            {"Authorization": "Bearer sw_not-a-key"},
            {"Authorization": "Bearer "},
            {"Authorization": "Basic !!!"},
            {"Authorization": f"Basic {base64.b64encode(b'no-colon').decode()}"},
            {"Authorization": f"Basic {wrong_email}"},
            {"Authorization": f"Token {alice.user.key}"},
        ):
            response = alice.client.get(path, headers={"Accept": TAXII, **headers})
            _error(response, 401)
            assert "Basic" in response.headers["WWW-Authenticate"]
            assert "Bearer" in response.headers["WWW-Authenticate"]


def test_basic_with_the_email_and_bearer_both_work(alice: Taxii) -> None:
    for path in _paths(alice):
        for headers in (alice.headers, alice.basic):
            response = alice.client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.text)
            assert response.headers["content-type"] == TAXII


def test_accept_names_taxii_2_1_or_nothing_else(alice: Taxii) -> None:
    for accept in (
        TAXII,
        "application/taxii+json",
        "application/taxii+json; version=2.1",
        "*/*",
        "application/*",
        "text/html, application/taxii+json;q=0.9",
        "application/taxii+json;version=2.0, application/taxii+json;version=2.1",
    ):
        response = alice.get("/collections/", accept=accept)
        assert response.status_code == 200, accept
        assert response.headers["content-type"] == TAXII
    assert (
        alice.client.get(
            f"{ROOT}/", headers={"Authorization": alice.headers["Authorization"]}
        ).status_code
        == 200
    )  # no Accept at all: anything goes
    for accept in (
        "application/taxii+json;version=2.0",
        "application/json",
        "application/stix+json;version=2.1",
        "application/taxii+json;q=0",
        "application/vnd.oasis.taxii+json; version=2.0",
    ):
        _error(alice.get("/collections/", accept=accept), 406)


def test_posts_must_be_taxii_envelopes_within_the_size_limit(alice: Taxii) -> None:
    inbox = alice.inbox()
    path = f"/collections/{inbox}/objects/"
    envelope = {"objects": [indicator()]}
    for content_type in (
        "application/json",
        "application/stix+json;version=2.1",
        "application/taxii+json;version=2.0",
        "text/plain",
        "",
    ):
        _error(alice.post(path, envelope, content_type=content_type), 415)
    for body in (b"not json", b"[]", b'{"objects": 1}', b'{"type": "bundle"}'):
        _error(alice.post(path, body), 400)
    big = {"objects": [indicator(f"198.51.100.{i}") for i in range(20)]}
    _error(alice.post(path, big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(10):
            yield b" " * 1000

    chunked = alice.client.post(
        f"{ROOT}{path}", content=chunks(), headers={**alice.headers, "Content-Type": TAXII}
    )
    _error(chunked, 413)
    root = alice.get("/").json()
    assert root["max_content_length"] == LIMIT
    # Nothing of the refused bodies was stored.
    assert (
        alice.get(f"/collections/{inbox}/objects/", params={"match[type]": "indicator"}).content
        == b"{}"
    )


def test_writing_without_the_right_is_403(world: World, alice: Taxii) -> None:
    reader = Taxii(world, world.user(alice.user.member_id, Role.READER))
    inbox = alice.inbox()
    collections = reader.get("/collections/").json()["collections"]
    assert next(c for c in collections if c["id"] == inbox)["can_write"] is False
    assert (
        next(c for c in alice.get("/collections/").json()["collections"] if c["id"] == inbox)[
            "can_write"
        ]
        is True
    )
    _error(reader.post(f"/collections/{inbox}/objects/", {"objects": [indicator()]}), 403)
    curated = create_collection(world.admin())
    _error(alice.post(f"/collections/{curated}/objects/", {"objects": [indicator()]}), 403)


def test_unknown_resources_and_methods_answer_in_taxii(alice: Taxii) -> None:
    inbox = alice.inbox()
    for path in (
        "/taxii2/other-root/",
        f"{ROOT}/collections/not-a-collection/objects/",
        f"{ROOT}/collections/{'x' * 5000}/",
        f"{ROOT}/nothing/here/",
        f"{ROOT}/status/00000000-0000-4000-8000-000000000000/",
    ):
        _error(alice.client.get(path, headers=alice.headers), 404)
    # Ids that cannot exist (a NUL, which PostgreSQL cannot even compare) are simply not found.
    for path in (
        f"{ROOT}/collections/%00/",
        f"{ROOT}/collections/{inbox}/objects/indicator--%00/",
        f"{ROOT}/collections/{inbox}/objects/%00/versions/",
        f"{ROOT}/status/%00/",
    ):
        _error(alice.client.get(path, headers=alice.headers), 404)
    _error(
        alice.client.delete(f"{ROOT}/collections/{inbox}/objects/%00/", headers=alice.headers), 404
    )
    for params in (
        {"match[id]": "\x00"},
        {"match[type]": "\x00"},
        {"added_after": "\x00"},
        {"next": "\x00"},
        {"match[version]": "\x00"},
    ):
        _error(alice.get(f"/collections/{inbox}/objects/", params), 400)
    _error(alice.client.put(f"{ROOT}/collections/{inbox}/objects/", headers=alice.headers), 405)
    _error(alice.client.post(f"{ROOT}/collections/", headers=alice.headers), 405)


def test_every_required_property_of_the_discovery_root_and_collection_resources(
    alice: Taxii,
) -> None:
    discovery = alice.client.get("/taxii2/", headers=alice.headers).json()
    assert discovery["title"] and discovery["api_roots"] == ["http://testserver/taxii2/shieldwall/"]
    assert discovery["default"] == "http://testserver/taxii2/shieldwall/"
    root = alice.get("/").json()
    assert root["title"] and root["versions"] == [TAXII]
    assert isinstance(root["max_content_length"], int)
    inbox = alice.get("/collections/").json()["collections"][0]
    assert set(inbox) >= {"id", "title", "can_read", "can_write", "media_types"}
    assert inbox["media_types"] == ["application/stix+json;version=2.1"]
    assert alice.get(f"/collections/{inbox['id']}/").json() == inbox
    # A trailing slash or not, as clients build URLs (taxii2-client's status URL has none).
    assert alice.client.get(f"{ROOT}/collections", headers=alice.headers).status_code == 200


def test_a_server_failure_is_a_taxii_error_naming_the_id_the_log_holds_once(
    alice: Taxii, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """A TAXII client that meets a failure can report an id the operator finds in the log, with
    the traceback, once; the answer says nothing of the cause."""
    secret = "secret-detail-of-the-taxii-failure"

    async def fails() -> None:
        raise RuntimeError(secret)

    server = next(r for r in app.routes if getattr(r, "path", "") == "/taxii2")
    server.app.add_api_route("/shieldwall/test-fails/", fails)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR, "shieldwall.errors"):
        response = alice.client.get(f"{ROOT}/test-fails/", headers=alice.headers)
    body = _error(response, 500)
    found = re.search(r"error id ([0-9a-f]{16})$", body["description"])
    assert found, body
    error_id = found.group(1)
    assert secret not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1 and secret in str(logged[0].exc_info[1])
    assert len([r for r in caplog.records if "server error" in r.getMessage()]) == 1
