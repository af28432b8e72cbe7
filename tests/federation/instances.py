"""Real Shieldwall instances for federation tests: each its own database and `shieldwall serve`
process on loopback, made and paired through the command line as an admin would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.factories import bundle
from tests.operations.server import Server
from tests.test_cli import run

from shieldwall.markings import SHARING_EXTENSION_ID


@dataclass
class Instance:
    """One instance: its database, its server, its analyst's key and its peers' accounts."""

    name: str
    database_url: str
    server: Server
    analyst_key: str = ""
    admin_key: str = ""
    public_key: str = ""
    # peer -> (email, API key) of the account that peer made for this instance
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def cli(self, *args: str, check: bool = True) -> str:
        return run(*args, database_url=self.database_url, check=check).stdout

    def share(self, *objects: dict[str, Any]) -> None:
        answer = httpx.post(f"{self.url}/api/v1/bundles", json=bundle(*objects),
                            headers=self.auth(), timeout=60)  # fmt: skip
        assert answer.status_code == 201, answer.text

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.analyst_key}"}

    def seen(self, object_id: str) -> dict[str, Any] | None:
        """The object as this instance's analyst reads it, or None when it may not."""
        answer = httpx.get(f"{self.url}/api/v1/objects/{object_id}", headers=self.auth(),
                           timeout=30)  # fmt: skip
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        found = answer.json()
        return found["objects"][0] if "objects" in found else found

    def audit_actions(self) -> list[str]:
        """The actions of the newest audit entries (an admin's read)."""
        answer = httpx.get(f"{self.url}/api/v1/audit", params={"limit": 1000},
                           headers=self.auth(self.admin_key), timeout=30)  # fmt: skip
        assert answer.status_code == 200, answer.text
        found = answer.json()
        entries = found["entries"] if isinstance(found, dict) else found
        return [e["action"] for e in entries]

    def sync(self, peer: str | None = None, check: bool = True) -> str:
        return self.cli("sync", *(["--peer", peer] if peer else []), check=check)


def sharing_of(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["extensions"][SHARING_EXTENSION_ID]


def make_instance(tmp: Path, name: str, kind: str, **settings: str) -> Instance:
    """A new instance with one member of `kind` and its analyst, serving on loopback."""
    url = f"sqlite:///{tmp / name}.db"
    instance = Instance(name, url, Server(url, tmp / f"{name}.log", validation_workers="0",
                                          federation_sync_seconds="3600", **settings))  # fmt: skip
    instance.cli("init")
    instance.cli("member", "add", name, "--kind", kind)
    added = instance.cli("user", "add", f"analyst@{name}.example", "--member", name,
                         "--role", "analyst")  # fmt: skip
    instance.analyst_key = _key(added)
    admin = instance.cli("user", "add", f"admin@{name}.example", "--member", name,
                         "--role", "admin")  # fmt: skip
    instance.admin_key = _key(admin)
    instance.public_key = instance.cli("instance", "key").strip()
    instance.server.start()
    return instance


def _key(printed: str) -> str:
    found = re.search(r"API key: (\S+)", printed)
    assert found, printed
    return found.group(1)


def pair(one: Instance, two: Instance, direction: str = "pull") -> None:
    """Make each instance a peer of the other, as their admins would: each makes the other a
    member of kind peer with an account, hands over its key, then adds the other as a peer."""
    for here, there in ((one, two), (two, one)):
        here.cli("member", "add", there.name, "--kind", "peer")
        added = here.cli("user", "add", f"sync@{there.name}.peer", "--member", there.name,
                         "--role", "analyst")  # fmt: skip
        there.accounts[here.name] = (f"sync@{there.name}.peer", _key(added))
    for here, there in ((one, two), (two, one)):
        email, key = here.accounts[there.name]
        here.cli("peer", "add", there.name, "--url", there.url, "--public-key", there.public_key,
                 "--user", email, "--key", key, "--direction", direction)  # fmt: skip
