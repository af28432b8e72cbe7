"""Bundles read from a file in two passes (the CLI's import, and large POSTs): the same answers
as a bundle parsed whole, every error, nothing stored of a rejected one, and a body never read
past its limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.intel.bundle_file import BundleFile, head_errors, validate_file
from shieldwall.settings import Settings
from tests.factories import World, bundle, indicator, marked, report, stix_id


@pytest.fixture
def streaming(database_url: str):  # type: ignore[no-untyped-def]
    """An app that reads every POSTed bundle through a temporary file, and a tiny body limit."""
    settings = Settings(database_url=database_url, warninglists="none", validation_workers=0,
                        stream_bundle_bytes=1, max_bundle_bytes=200_000)  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as client:
        yield World(app.state.db, client)


def _sharing_seen(user, object_id: str) -> tuple:  # type: ignore[no-untyped-def]
    response = user.get(f"/api/v1/objects/{object_id}", params={"versions": "all"})
    if response.status_code == 404:
        return ()
    return tuple((o["object_marking_refs"], o["extensions"]) for o in response.json()["objects"])


def test_a_bundle_read_through_a_file_is_stored_as_one_parsed_whole(streaming: World) -> None:
    world = streaming
    north, south = world.user(world.member("North")), world.user(world.member("South"))
    red = indicator("198.51.100.130", tlp="red")
    amber = indicator("198.51.100.131", tlp="amber")
    story = report([red["id"], amber["id"]], tlp="clear", distribution="all")
    v1 = marked(indicator("198.51.100.132"), tlp="red", distribution="org")
    v2 = {k: v for k, v in v1.items() if k not in ("object_marking_refs", "extensions")}
    v2["modified"] = "2026-02-01T00:00:00.000Z"
    response = north.share(story, red, amber, v1, v2)
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 5
    # The rules that need the whole bundle held, read in two passes: nothing leaks to South.
    assert _sharing_seen(south, red["id"]) == () and _sharing_seen(south, v1["id"]) == ()
    assert (
        _sharing_seen(south, amber["id"])[0][1][
            "extension-definition--c56d41b5-3fe7-441e-af12-498adb577219"
        ]["distribution"]
        == "federation"
    )
    assert len(_sharing_seen(north, v1["id"])) == 2


def test_every_error_comes_back_and_nothing_is_stored(streaming: World) -> None:
    world = streaming
    north = world.user(world.member("North"))
    good = indicator("198.51.100.133")
    broken = {**indicator(), "valid_from": "yesterday"}
    too_wide = marked(indicator("198.51.100.134"), tlp="red", distribution="community")
    response = north.share(good, broken, too_wide, good)
    assert response.status_code == 422
    details = {(d["index"], d["property"]) for d in response.json()["error"]["details"]}
    assert details == {(1, "valid_from"), (2, "object_marking_refs"), (3, "id")}
    assert north.get(f"/api/v1/objects/{good['id']}").status_code == 404


def test_a_body_is_never_read_past_its_limit(streaming: World) -> None:
    world = streaming
    north = world.user(world.member("North"))
    big = bundle(*(indicator(f"198.51.{n // 250}.{n % 250}") for n in range(1000)))
    body = json.dumps(big).encode()
    assert len(body) > 200_000

    def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: sent chunked
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    response = north.client.post("/api/v1/bundles", content=chunks(), headers=north.headers)
    assert response.status_code == 413
    assert north.object_ids() == set()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"type": "bundle", "id": "bundle--x", "objects": []}', "non-empty list"),
        (b'{"objects": {"a": 1}, "type": "bundle"}', "non-empty list"),
    ],
)
def test_files_that_are_no_bundles_are_told_so(tmp_path: Path, text: bytes, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(text)
    errors = head_errors(path) or validate_file(path)
    assert any(message in e.message for e in errors), errors


def test_the_head_is_found_wherever_it_is_written(tmp_path: Path) -> None:
    objects = [indicator("198.51.100.135"), indicator("198.51.100.136")]
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"objects": objects, "type": "bundle", "id": stix_id("bundle")}))
    assert head_errors(path) == [] and validate_file(path) == []
    seen: list[tuple[str, int]] = []
    reader = BundleFile(path, progress=lambda phase, n: seen.append((phase, n)))
    reader.read_skeletons()
    assert [s["id"] for s in reader.skeletons] == [o["id"] for o in objects]
    assert "pattern" not in reader.skeletons[0]  # a skeleton, not the object
    assert [o["pattern"] for o in reader.stream()] == [o["pattern"] for o in objects]
    assert seen == [("read", 2), ("stored", 2)]


def test_a_worker_validates_the_file_while_ingest_reads_it(world: World, tmp_path: Path) -> None:
    from shieldwall.intel.ingest import BundleRejected, ingestor_for
    from shieldwall.members.service import viewer_for_user

    north = world.user(world.member("North"))
    with world.db.read() as conn:
        viewer = viewer_for_user(conn, north.user_id)
    settings = Settings(database_url=world.db.url, warninglists="none", validation_workers=1)
    ingestor = ingestor_for(world.db, settings)
    try:
        objects = [indicator(f"198.51.{n // 250}.{n % 250}") for n in range(3000)]
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(bundle(*objects, {**indicator(), "pattern": "[nonsense"})))
        with pytest.raises(BundleRejected) as rejected:
            ingestor.ingest_file(viewer, path)
        assert [d["index"] for d in rejected.value.details] == [3000]
        assert north.object_ids() == set()
        path.write_text(json.dumps(bundle(*objects)))
        assert ingestor.ingest_file(viewer, path).stored == 3000
    finally:
        ingestor.close()
