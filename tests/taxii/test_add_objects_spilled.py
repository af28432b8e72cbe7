"""Large POSTed envelopes are written to a temporary file and ingested from it in two passes, as
POST /api/v1/bundles does with large bundles, with the same TAXII answers as a small one parsed
whole: the envelope checks (400), all or nothing, a status detail per object, 413, and the
temporary file gone whatever the outcome."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.intel.ingest import Ingestor
from shieldwall.settings import Settings
from tests.factories import World, indicator
from tests.taxii.helpers import TAXII, Taxii

LIMIT = 200_000


@pytest.fixture
def spill_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the server's temporary files go, to see them made and deleted."""
    where = tmp_path / "spill"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.fixture
def files_read(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, bytes]]:
    """Each file Ingestor.ingest_file reads, with its content while it reads it."""
    seen: list[tuple[Path, bytes]] = []
    real = Ingestor.ingest_file

    def recording(self: Ingestor, viewer: Any, path: Path, **kwargs: Any) -> Any:
        seen.append((path, path.read_bytes()))
        return real(self, viewer, path, **kwargs)

    monkeypatch.setattr(Ingestor, "ingest_file", recording)
    return seen


@pytest.fixture
def spilling(database_url: str, spill_dir: Path):  # type: ignore[no-untyped-def]
    """An app that writes every POSTed body past 1 KB to a temporary file, up to LIMIT bytes."""
    settings = Settings(database_url=database_url, warninglists="none", validation_workers=0,
                        stream_bundle_bytes=1024, max_bundle_bytes=LIMIT)  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as client:
        yield World(app.state.db, client)


def _objects(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [indicator(f"198.51.{n // 250}.{n % 250}") for n in range(start, start + count)]


def test_a_large_envelope_is_stored_whole_from_a_file(
    spilling: World, spill_dir: Path, files_read: list[tuple[Path, bytes]]
) -> None:
    alice = Taxii(spilling, spilling.user(spilling.member("A")))
    inbox = alice.inbox()
    objects = _objects(20)
    v2 = {**objects[0], "modified": "2026-02-01T00:00:00.000Z", "name": "second version"}
    body = orjson.dumps({"more": False, "objects": [*objects, v2]})
    assert len(body) > 1024
    response = alice.post(f"/collections/{inbox}/objects/", body)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"] == TAXII
    status = response.json()
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (21, 21, 0)
    versions = [(d["id"], d["version"]) for d in status["successes"]]
    assert versions == [(o["id"], "2026-01-15T10:00:00.000000Z") for o in objects] + [
        (v2["id"], "2026-02-01T00:00:00.000000Z")
    ]
    assert alice.get(f"/status/{status['id']}/").json() == status
    assert sorted(alice.ids(inbox, **{"match[type]": "indicator"})) == sorted(
        o["id"] for o in objects
    )
    stored = alice.get(f"/collections/{inbox}/objects/{v2['id']}/").json()["objects"]
    assert [o["name"] for o in stored] == ["second version"]
    # Read from a temporary file, written as a bundle around the envelope, then deleted.
    [(path, content)] = files_read
    assert path.parent == spill_dir and not path.exists()
    spilled = orjson.loads(content)
    assert spilled["type"] == "bundle" and spilled["id"].startswith("bundle--")
    assert spilled["objects"] == [*objects, v2] and spilled["more"] is False
    assert list(spill_dir.iterdir()) == []


def test_a_bad_object_in_a_large_envelope_rejects_every_object(
    spilling: World, spill_dir: Path, files_read: list[tuple[Path, bytes]]
) -> None:
    alice = Taxii(spilling, spilling.user(spilling.member("A")))
    inbox = alice.inbox()
    objects = _objects(10)
    bad = {**indicator("198.51.100.200"), "pattern": "[not a pattern"}
    response = alice.post(f"/collections/{inbox}/objects/", {"objects": [*objects, bad]})
    assert response.status_code == 202, response.text
    status = response.json()
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (11, 0, 11)
    assert "successes" not in status
    failures = status["failures"]
    assert [f["id"] for f in failures] == [o["id"] for o in [*objects, bad]]
    assert "pattern" in failures[-1]["message"]
    assert all("not stored" in f["message"] for f in failures[:-1])
    assert {f["version"] for f in failures} == {"2026-01-15T10:00:00.000000Z"}
    assert alice.get(f"/collections/{inbox}/objects/", {"match[type]": "indicator"}).content == (
        b"{}"
    )
    assert len(files_read) == 1 and list(spill_dir.iterdir()) == []


def _padded(body: bytes) -> bytes:
    """`body` past the spill threshold, with whitespace that changes nothing of its meaning."""
    return body + b" " * 2048


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_padded(b"[1, 2]"), "TAXII envelope"),
        (_padded(b'{"objects": {"a": 1}}'), "TAXII envelope"),
        (_padded(b'{"more": false}'), "TAXII envelope"),
        (_padded(b'{"objects": "' + b"x" * 2000 + b'"}'), "TAXII envelope"),
        (b'{"objects": [' + orjson.dumps(_objects(20))[1:], "not JSON"),
        (_padded(b'{"objects": [{"type": "indicator"}]} trailing'), "not JSON"),
        (_padded(b'{"id": "x", "objects": []}'), "'id' of its own"),
    ],
)
def test_a_large_body_that_is_no_envelope_is_a_taxii_400(
    spilling: World, spill_dir: Path, body: bytes, message: str
) -> None:
    alice = Taxii(spilling, spilling.user(spilling.member("A")))
    assert len(body) > 1024
    response = alice.post(f"/collections/{alice.inbox()}/objects/", body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == TAXII
    error = response.json()
    assert error["http_status"] == "400" and message in error["description"], error
    assert list(spill_dir.iterdir()) == []
    assert alice.user.get("/api/v1/objects", params={"type": "indicator"}).json()["objects"] == []


def test_a_body_past_max_content_length_is_413_and_leaves_no_file(
    spilling: World, spill_dir: Path
) -> None:
    alice = Taxii(spilling, spilling.user(spilling.member("A")))
    body = orjson.dumps({"objects": _objects(1000)})
    assert len(body) > LIMIT

    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: sent chunked
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    headers = {**alice.headers, "Content-Type": TAXII}
    response = alice.client.post(
        f"/taxii2/shieldwall/collections/{alice.inbox()}/objects/", content=chunks(),
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 413
    assert response.json()["http_status"] == "413"
    assert list(spill_dir.iterdir()) == []
    assert alice.user.get("/api/v1/objects", params={"type": "indicator"}).json()["objects"] == []


def test_a_small_envelope_is_still_parsed_whole(
    spilling: World, spill_dir: Path, files_read: list[tuple[Path, bytes]]
) -> None:
    alice = Taxii(spilling, spilling.user(spilling.member("A")))
    small = indicator("198.51.100.201")
    assert len(orjson.dumps({"objects": [small]})) < 1024
    status = alice.add(alice.inbox(), small)
    assert status["successes"] == [{"id": small["id"], "version": "2026-01-15T10:00:00.000000Z"}]
    assert files_read == []
