"""Factories: members, users and STIX objects with sensible defaults, so a test states only what
it is about."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from shieldwall.db import Database
from shieldwall.markings import SHARING_EXTENSION_ID, TLP, Distribution
from shieldwall.members import service
from shieldwall.policy import Role
from shieldwall.settings import Settings

_counter = itertools.count(1)
STIX_TIME = "2026-01-15T10:00:00.000Z"


@dataclass
class ApiUser:
    """A user with an API key, talking to the app as a client would."""

    client: TestClient
    user_id: str
    member_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self.headers, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.headers, **kw)

    def share(self, *objects: dict[str, Any]) -> Any:
        return self.post("/api/v1/bundles", json=bundle(*objects))

    def platform_identity_ids(self) -> set[str]:
        """The identities the platform writes (every member's and the broker's), which every
        user sees beside what members shared."""
        response = self.get("/api/v1/members")
        assert response.status_code == 200, response.text
        return {m["identity_id"] for m in response.json()["members"]} | {
            service.broker_identity(Settings().broker_name)
        }

    def object_ids(self, *, include_platform: bool = False, **params: Any) -> set[str]:
        """Every object id this user can list (follows the cursor to the end), without the
        platform's identities unless asked."""
        ids: set[str] = set()
        cursor = None
        while True:
            query = {**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = self.get("/api/v1/objects", params=query)
            assert response.status_code == 200, response.text
            data = response.json()
            ids |= {o["id"] for o in data["objects"]}
            cursor = data["next"]
            if not cursor:
                return ids if include_platform else ids - self.platform_identity_ids()


class World:
    """Members, groups and users of one test instance."""

    def __init__(self, db: Database, client: TestClient) -> None:
        self.db = db
        self.client = client

    def member(self, name: str | None = None, kind: str = "industry", **kw: Any) -> str:
        with self.db.write() as conn:
            return service.create_member(conn, name or f"Member {next(_counter)}", kind, **kw)

    def user(self, member_id: str, role: Role | str = Role.ANALYST) -> ApiUser:
        with self.db.write() as conn:
            new = service.create_user(
                conn, f"user{next(_counter)}@example.org", member_id, Role(role)
            )
        return ApiUser(self.client, new.user_id, member_id, new.key)

    def group(self, member_ids: list[str], name: str | None = None) -> str:
        with self.db.write() as conn:
            return service.create_group(
                conn, name or f"Group {next(_counter)}", member_ids[0], member_ids
            )

    def admin(self) -> ApiUser:
        return self.user(self.member(kind="alliance"), Role.ADMIN)


def stix_id(type_: str) -> str:
    return f"{type_}--{uuid.uuid4()}"


def sharing(
    distribution: Distribution | str | None = None,
    group: str | None = None,
    anonymous: bool | None = None,
) -> dict[str, Any]:
    ext: dict[str, Any] = {"extension_type": "property-extension"}
    if distribution is not None:
        ext["distribution"] = Distribution(distribution).value
    if group is not None:
        ext["sharing_group"] = group
    if anonymous is not None:
        ext["anonymous"] = anonymous
    return {SHARING_EXTENSION_ID: ext}


def marked(
    obj: dict[str, Any],
    tlp: TLP | str | None = None,
    distribution: Distribution | str | None = None,
    group: str | None = None,
    anonymous: bool | None = None,
) -> dict[str, Any]:
    out = dict(obj)
    if tlp is not None:
        level = tlp if isinstance(tlp, TLP) else TLP.parse(tlp)
        out["object_marking_refs"] = [level.marking_id]
    if distribution is not None or group is not None or anonymous is not None:
        out["extensions"] = sharing(distribution, group, anonymous)
    return out


def indicator(value: str = "198.51.100.7", **marking: Any) -> dict[str, Any]:
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id("indicator"),
        "created": STIX_TIME,
        "modified": STIX_TIME,
        "name": f"Indicator {value}",
        "pattern": f"[ipv4-addr:value = '{value}']",
        "pattern_type": "stix",
        "valid_from": STIX_TIME,
    }
    return marked(obj, **marking)


def report(refs: list[str], name: str = "A report", **marking: Any) -> dict[str, Any]:
    obj = {
        "type": "report",
        "spec_version": "2.1",
        "id": stix_id("report"),
        "created": STIX_TIME,
        "modified": STIX_TIME,
        "name": name,
        "published": STIX_TIME,
        "object_refs": refs,
    }
    return marked(obj, **marking)


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": stix_id("bundle"), "objects": list(objects)}
