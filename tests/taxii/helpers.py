"""Talking TAXII to the test app: raw requests with each header spelled out, and the app on a
loopback port for the official `taxii2-client`."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import uvicorn
from fastapi.testclient import TestClient

from shieldwall.members import service as members
from shieldwall.taxii.collections import inbox_id
from tests.factories import ApiUser, World

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/shieldwall"
TIMESTAMP_6 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class Taxii:
    """One user's requests to /taxii2/, with Bearer credentials unless told otherwise."""

    def __init__(self, world: World, user: ApiUser) -> None:
        self.client: TestClient = world.client
        self.user = user
        with world.db.read() as conn:
            self.email = members.get_user(conn, user.user_id)["email"]
        self.headers = {"Authorization": f"Bearer {user.key}", "Accept": TAXII}

    @property
    def basic(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.email}:{self.user.key}".encode()).decode()
        return {"Authorization": f"Basic {token}", "Accept": TAXII}

    def get(self, path: str, params: Any = None, accept: str = TAXII) -> Any:
        return self.client.get(
            ROOT + path, params=params, headers={**self.headers, "Accept": accept}
        )

    def delete(self, path: str, params: Any = None) -> Any:
        return self.client.delete(ROOT + path, params=params, headers=self.headers)

    def post(self, path: str, body: Any, content_type: str = TAXII) -> Any:
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = {**self.headers, "Content-Type": content_type}
        return self.client.post(ROOT + path, content=content, headers=headers)

    def inbox(self) -> str:
        return inbox_id(self.user.member_id)

    def add(self, collection: str, *objects: dict[str, Any]) -> dict[str, Any]:
        response = self.post(f"/collections/{collection}/objects/", {"objects": list(objects)})
        assert response.status_code == 202, response.text
        status = response.json()
        assert status["failure_count"] == 0, status
        return status

    def ids(self, collection: str, endpoint: str = "objects", **params: Any) -> list[str]:
        """Every id this user reads from a collection's objects or manifest, page by page."""
        ids: list[str] = []
        query = {"limit": 1000, **params}
        while True:
            response = self.get(f"/collections/{collection}/{endpoint}/", params=query)
            assert response.status_code == 200, response.text
            page = response.json()
            ids += [o["id"] for o in page.get("objects", [])]
            if not page.get("more"):
                return ids
            query = {**query, "next": page["next"]}


def create_collection(admin: ApiUser, title: str = "Everything", **selection: Any) -> str:
    response = admin.post(
        "/api/v1/taxii/collections", json={"title": title, "selection": selection}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app (already started by the test's TestClient) served by uvicorn on a free loopback
    port, for clients that open their own connections (taxii2-client's requests sessions)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", ws="none", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):  # up to 10 s
            if server.started:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
