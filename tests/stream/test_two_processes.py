"""Two real `shieldwall serve` processes on one database: a share accepted by one reaches a
stream subscriber of the other. On PostgreSQL by NOTIFY: each process's own look at the change
log is set to once a minute here, so only the NOTIFY can bring the event within the test's wait."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from shieldwall.policy import Role
from tests.factories import ApiUser, bundle, indicator
from tests.operations.server import Server, analyst_key
from tests.stream.test_stream import events


def test_a_share_on_one_process_reaches_a_subscriber_on_another(
    database_url: str, tmp_path: Path
) -> None:
    poll = "60" if database_url.startswith("postgresql") else "0.2"
    settings = {"stream_poll_seconds": poll, "stream_keepalive_seconds": "0.3",
                "validation_workers": "0"}  # fmt: skip
    one = Server(database_url, tmp_path / "one.log", **settings).start()
    two = Server(database_url, tmp_path / "two.log", **settings).start()
    try:
        writer = analyst_key(database_url, "CERT-One")
        reader = analyst_key(database_url, "CERT-Two", Role.READER)
        listener = ApiUser(None, "", "", reader)  # type: ignore[arg-type]
        heard: list[dict[str, Any]] = []
        listening = threading.Thread(
            target=lambda: heard.extend(
                events(two.url, listener, want=1, seconds=20, until_quiet=False)
            )
        )
        listening.start()
        time.sleep(1.0)  # subscribed on process two, from now on
        shared = indicator("203.0.113.77", tlp="green", distribution="community")
        secret = indicator("203.0.113.78", tlp="amber", distribution="org")
        for obj in (secret, shared):
            answer = httpx.post(f"{one.url}/api/v1/bundles", json=bundle(obj),
                                headers={"Authorization": f"Bearer {writer}"})  # fmt: skip
            assert answer.status_code == 201, answer.text
        listening.join()
        assert [e["data"]["id"] for e in heard] == [shared["id"]]
    finally:
        one.stop()
        two.stop()
