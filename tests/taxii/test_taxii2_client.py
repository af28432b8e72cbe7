"""The official taxii2-client (OASIS cti-taxii-client) reads and writes Shieldwall unchanged:
Server, ApiRoot, Collection, as_pages, get_objects, add_objects with status polling,
get_manifest, object_versions, get_object and delete_object, with Basic and Bearer credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from taxii2client.exceptions import AccessError
from taxii2client.v21 import Server, as_pages

from shieldwall.policy import Role
from tests.factories import World, indicator
from tests.taxii.helpers import Taxii, create_collection, serving


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


@pytest.fixture
def url(app: Any, client: Any) -> Iterator[str]:
    with serving(app) as served:
        yield served


def _server(url: str, user: Taxii, *, bearer: bool = False) -> Server:
    """taxii2-client's Server, as a user would make it."""
    if bearer:
        return Server(f"{url}/taxii2/", auth=BearerAuth(user.user.key))
    return Server(f"{url}/taxii2/", user=user.email, password=user.user.key)


@pytest.mark.parametrize("bearer", [False, True], ids=["basic", "bearer"])
def test_a_whole_session_through_taxii2_client(world: World, url: str, bearer: bool) -> None:
    alice = Taxii(world, world.user(world.member("A")))
    server = _server(url, alice, bearer=bearer)
    assert server.title == "Shieldwall"
    api_root = server.default
    assert api_root is not None and api_root.url == server.api_roots[0].url
    assert api_root.versions == ["application/taxii+json;version=2.1"]
    inbox = next(c for c in api_root.collections if c.can_write)
    assert inbox.id == alice.inbox()

    objects = [indicator(f"198.51.100.{i}") for i in range(7)]
    status = inbox.add_objects({"objects": objects}, wait_for_completion=True, poll_interval=0.1)
    assert status.status == "complete" and status.success_count == 7
    polled = api_root.get_status(status.id)  # the status resource, read back by its id
    assert polled.success_count == 7 and polled.failure_count == 0
    status.refresh()
    assert status.total_count == 7

    seen: list[str] = []
    for envelope in as_pages(inbox.get_objects, per_request=3, type="indicator"):
        assert len(envelope["objects"]) <= 3
        seen += [o["id"] for o in envelope["objects"]]
    assert seen == [o["id"] for o in objects]
    manifest = [r["id"] for page in as_pages(inbox.get_manifest, per_request=2, type="indicator")
                for r in page["objects"]]  # fmt: skip
    assert manifest == seen

    first = objects[0]
    newer = {**first, "modified": "2026-02-01T10:00:00.000Z"}
    inbox.add_objects({"objects": [newer]})
    assert inbox.object_versions(first["id"])["versions"] == [
        "2026-01-15T10:00:00.000000Z",
        "2026-02-01T10:00:00.000000Z",
    ]
    assert inbox.get_object(first["id"])["objects"][0]["modified"] == newer["modified"]
    assert len(inbox.get_object(first["id"], version="all")["objects"]) == 2
    assert inbox.get_objects(added_after="2100-01-01T00:00:00Z") == {}

    inbox.delete_object(first["id"])
    with pytest.raises(requests.HTTPError) as gone:
        inbox.get_object(first["id"])
    assert gone.value.response.status_code == 404


def test_a_reader_cannot_add_objects_and_another_member_cannot_find_the_inbox(
    world: World, url: str
) -> None:
    member = world.member("A")
    alice = Taxii(world, world.user(member))
    reader = Taxii(world, world.user(member, Role.READER))
    carol = Taxii(world, world.user(world.member("C")))
    collection = next(c for c in _server(url, reader).default.collections
                      if c.id == alice.inbox())  # fmt: skip
    assert collection.can_read and not collection.can_write
    with pytest.raises(AccessError):
        collection.add_objects({"objects": [indicator()]})
    assert alice.inbox() not in {c.id for c in _server(url, carol).default.collections}


def test_an_admins_collection_pages_through_taxii2_client(world: World, url: str) -> None:
    admin = world.admin()
    alice = Taxii(world, world.user(world.member("A")))
    alice.add(alice.inbox(), *[indicator(f"198.51.100.{i}", tlp="green") for i in range(5)])
    curated = create_collection(admin, "Indicators", types=["indicator"], max_tlp="green")
    bob = Taxii(world, world.user(world.member("B")))
    collection = next(c for c in _server(url, bob).default.collections if c.id == curated)
    assert collection.title == "Indicators" and not collection.can_write
    pages: list[Any] = list(as_pages(collection.get_objects, per_request=2))
    assert [len(p["objects"]) for p in pages] == [2, 2, 1]
    assert {o["type"] for p in pages for o in p["objects"]} == {"indicator"}
