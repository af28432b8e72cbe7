"""Webhooks: a member's receiver gets the stream's events it may see, signed, in order, and
none is lost when the receiver fails or the server restarts. Negative cases first: what the
member may not see is never sent, other members' webhooks are out of reach, and a receiver on
a private address is refused unless an admin allowed its network."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.policy import Role
from shieldwall.settings import Settings
from shieldwall.stream import webhooks
from tests.factories import World, indicator


class Receiver:
    """A webhook receiver on a loopback port: records each POST, answers `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [e for _, body in self.posts for e in orjson.loads(body)["events"]]

    def wait_for(self, count: int, seconds: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.events()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _app(database_url: str, networks: str = "127.0.0.0/8") -> Any:
    return create_app(Settings(database_url=database_url, warninglists="none",
                               validation_workers=0, webhook_networks=networks))  # fmt: skip


@pytest.fixture
def hub(database_url: str) -> Iterator[dict[str, Any]]:
    app = _app(database_url)
    with TestClient(app) as client:
        world = World(app.state.db, client)
        a, b = world.member("A"), world.member("B")
        yield {"app": app, "world": world, "alice": world.user(a),
               "b_admin": world.user(b, Role.MEMBER_ADMIN), "b_analyst": world.user(b),
               "a_admin": world.user(a, Role.MEMBER_ADMIN)}  # fmt: skip


def _hook(user: Any, url: str, **fields: Any) -> dict[str, Any]:
    answer = user.post("/api/v1/webhooks", json={"url": url, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_receiver_on_a_private_address_is_refused_unless_allowed(database_url: str) -> None:
    app = _app(database_url, networks="")
    with TestClient(app) as client:
        world = World(app.state.db, client)
        admin = world.user(world.member("A"), Role.MEMBER_ADMIN)
        for url in ("http://127.0.0.1:9/hook", "http://10.0.0.1/hook", "http://[::1]/hook",
                    "http://169.254.169.254/latest", "file:///etc/passwd", "ftp://example.org/",
                    "http://user:pw@198.51.100.1/"):  # fmt: skip
            answer = admin.post("/api/v1/webhooks", json={"url": url})
            assert answer.status_code in (400, 422), (url, answer.status_code)
            assert "error" in answer.json()


def test_only_member_admins_manage_and_only_their_own(hub: dict[str, Any], receiver: Receiver):
    assert hub["b_analyst"].post("/api/v1/webhooks", json={"url": receiver.url}).status_code == 403
    made = _hook(hub["b_admin"], receiver.url)
    assert len(made["secret"]) >= 32
    assert hub["a_admin"].get(f"/api/v1/webhooks/{made['id']}").status_code == 404
    assert hub["a_admin"].delete(f"/api/v1/webhooks/{made['id']}").status_code == 404
    assert hub["a_admin"].get("/api/v1/webhooks").json()["webhooks"] == []
    listed = hub["b_admin"].get("/api/v1/webhooks").json()["webhooks"]
    assert [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
    assert hub["b_admin"].delete(f"/api/v1/webhooks/{made['id']}").status_code == 204
    assert hub["b_admin"].get("/api/v1/webhooks").json()["webhooks"] == []


def test_deliveries_are_signed_and_hold_only_what_the_member_may_see(
    hub: dict[str, Any], receiver: Receiver
) -> None:
    made = _hook(hub["b_admin"], receiver.url, type=["indicator"])
    secret = indicator("198.51.100.20", tlp="amber", distribution="org")
    red = indicator("198.51.100.21", tlp="red", distribution="community")
    shared = indicator("198.51.100.22", tlp="green", distribution="community")
    for obj in (secret, shared):
        assert hub["alice"].share(obj).status_code == 201
    assert hub["alice"].share(red).status_code in (201, 422)  # RED cannot go community
    got = receiver.wait_for(1)
    time.sleep(1.5)  # a later run would have sent anything else by now
    assert [e["data"]["id"] for e in receiver.events()] == [shared["id"]]
    assert got[0]["event"] == "object"
    headers, body = receiver.posts[0]
    expected = "sha256=" + hmac.new(made["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Shieldwall-Signature"] == expected
    state = hub["b_admin"].get(f"/api/v1/webhooks/{made['id']}").json()
    # Delivered through the entry of the last event (the rest of it was not the member's).
    assert state["delivered"] == 1 and state["position"] == got[-1]["id"].partition(".")[0]


def test_a_failing_receiver_loses_nothing_and_its_admins_see_why(
    hub: dict[str, Any], receiver: Receiver
) -> None:
    made = _hook(hub["b_admin"], receiver.url, type=["indicator"])
    receiver.status = 503
    first = indicator("198.51.100.30", tlp="green", distribution="community")
    assert hub["alice"].share(first).status_code == 201
    deadline = time.monotonic() + 15
    state = hub["b_admin"].get(f"/api/v1/webhooks/{made['id']}").json()
    # The receiver answers before the deliverer records the failure: wait for the record.
    while state["failures"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        state = hub["b_admin"].get(f"/api/v1/webhooks/{made['id']}").json()
    assert receiver.posts
    assert state["failures"] >= 1 and "503" in state["last_error"]
    assert state["next_attempt_at"] is not None and state["delivered"] == 0
    receiver.status = 200
    second = indicator("198.51.100.31", tlp="green", distribution="community")
    assert hub["alice"].share(second).status_code == 201
    deadline = time.monotonic() + 15  # the backoff's first wait is 2 s
    while hub["b_admin"].get(f"/api/v1/webhooks/{made['id']}").json()["delivered"] < 2:
        assert time.monotonic() < deadline, "not delivered after the receiver came back"
        time.sleep(0.1)
    delivered = orjson.loads(receiver.posts[-1][1])["events"]
    assert [e["data"]["id"] for e in delivered] == [first["id"], second["id"]]
    state = hub["b_admin"].get(f"/api/v1/webhooks/{made['id']}").json()
    assert state["failures"] == 0 and state["last_error"] is None


def test_a_restarted_server_goes_on_from_the_persisted_position(
    database_url: str, receiver: Receiver
) -> None:
    app = _app(database_url)
    with TestClient(app) as client:
        world = World(app.state.db, client)
        a, b = world.member("A"), world.member("B")
        alice, b_admin = world.user(a), world.user(b, Role.MEMBER_ADMIN)
        _hook(b_admin, receiver.url, type=["indicator"])
        before = indicator("198.51.100.40", tlp="green", distribution="community")
        assert alice.share(before).status_code == 201
        receiver.wait_for(1)
    # Shared while no server delivers: the next one sends it, and only it.
    app = _app(database_url)
    with TestClient(app) as client:
        world = World(app.state.db, client)
        after = indicator("198.51.100.41", tlp="green", distribution="community")
        assert world.user(a).share(after).status_code == 201
        got = receiver.wait_for(2)
    assert [e["data"]["id"] for e in got] == [before["id"], after["id"]]


def test_the_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"events":[]}'
    assert webhooks.signature("k", body) == (
        "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    )
