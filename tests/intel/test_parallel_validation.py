"""Large bundles are validated in a worker process while ingest writes: still all or nothing.

Negative cases first: a bundle with errors anywhere, including ones that would break ingest's
own reading of the objects, is rejected with every error and stores nothing.
"""

from __future__ import annotations

import copy
import os
import signal
from typing import Any

import pytest
from sqlalchemy import func, select

from shieldwall.intel.tables import objects
from shieldwall.intel.validate import validate_bundle
from shieldwall.intel.validate_parallel import (
    CHUNK_OBJECTS,
    PARALLEL_MIN_OBJECTS,
    BundleValidator,
)
from tests.factories import World, bundle, indicator


@pytest.fixture
def app(database_url: str):  # type: ignore[no-untyped-def]
    """The app as served: one validation worker (conftest's apps validate in-process)."""
    from shieldwall.app import create_app
    from shieldwall.settings import Settings

    return create_app(Settings(database_url=database_url, warninglists="none"))


def indicators(n: int) -> list[dict[str, Any]]:
    return [indicator(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}") for i in range(n)]


def stored(world: World) -> int:
    with world.db.read() as conn:
        return conn.scalar(
            select(func.count()).select_from(objects).where(objects.c.type != "identity")
        )


def test_a_large_bundle_with_errors_stores_nothing_and_names_every_error(world: World) -> None:
    alice = world.user(world.member())
    objs = indicators(PARALLEL_MIN_OBJECTS + 500)
    objs[7]["pattern"] = "[ipv4-addr:value = "  # not a pattern
    del objs[-3]["valid_from"]  # a required property
    response = alice.share(*objs)
    assert response.status_code == 422, response.text
    errors = response.json()["error"]["details"]
    assert [(e["index"], e["property"]) for e in errors] == [
        (7, "pattern"),
        (len(objs) - 3, "valid_from"),
    ]
    assert stored(world) == 0


def test_objects_ingest_cannot_even_read_are_reported_as_validation_errors(world: World) -> None:
    """While the worker checks, ingest reads the objects; one without an id or not an object at
    all makes that reading fail, and the client is told what the validator says, not a 500."""
    alice = world.user(world.member())
    objs: list[Any] = indicators(PARALLEL_MIN_OBJECTS)
    del objs[100]["id"]
    objs[200] = ["not", "an", "object"]
    response = alice.share(*objs)
    assert response.status_code == 422, response.text
    indexes = {e["index"] for e in response.json()["error"]["details"]}
    assert indexes == {100, 200}
    assert stored(world) == 0


def test_duplicates_across_chunks_are_found(world: World) -> None:
    alice = world.user(world.member())
    objs = indicators(CHUNK_OBJECTS + 50)
    objs[CHUNK_OBJECTS + 20] = copy.deepcopy(objs[3])
    response = alice.share(*objs)
    assert response.status_code == 422, response.text
    [error] = response.json()["error"]["details"]
    assert error["index"] == CHUNK_OBJECTS + 20
    assert "object 3 has the same id and modified" in error["message"]
    assert stored(world) == 0


def test_a_valid_large_bundle_is_stored_whole(world: World) -> None:
    alice = world.user(world.member())
    objs = indicators(PARALLEL_MIN_OBJECTS + 10)
    response = alice.share(*objs)
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == len(objs)
    assert alice.object_ids(type="indicator") == {o["id"] for o in objs}


def test_the_worker_finds_what_in_process_validation_finds() -> None:
    objs: list[Any] = indicators(CHUNK_OBJECTS + 10)
    objs[0]["created"] = "yesterday"
    objs[5] = copy.deepcopy(objs[4])
    objs[CHUNK_OBJECTS + 3]["spec_version"] = "2.0"
    objs[CHUNK_OBJECTS + 4] = 42
    sent = bundle(*objs)
    validator = BundleValidator(workers=1)
    try:
        check = validator.start(sent)
        assert not check.done
        assert check() == validate_bundle(sent) != []
    finally:
        validator.close()


def test_a_dead_worker_does_not_lose_the_answer() -> None:
    objs: list[Any] = indicators(PARALLEL_MIN_OBJECTS)
    objs[9]["pattern_type"] = 3
    sent = bundle(*objs)
    validator = BundleValidator(workers=1)
    try:
        validator.warm_up()
        for pid in list(validator._pool._processes):  # type: ignore[union-attr]
            os.kill(pid, signal.SIGKILL)
        check = validator.start(sent)
        assert check() == validate_bundle(sent) != []
        assert validator.start(sent)() == validate_bundle(sent)  # and the next bundle too
    finally:
        validator.close()
