"""Eight clients of four members post overlapping bundles (the same ids and versions) and read, all
at once, against two real server processes on one database: no server error, no duplicated
version, no lost write, and SQLite's "database is locked" never reaches a client.

The while is bounded by work, not time: each client makes ROUNDS rounds (a bundle of versions
drawn from one shared pool, then reads), then posts the whole pool once. Every member's copies
are its own (indicators at `org`, which no other member sees, and attack patterns, which every
member keeps a copy of), so every POST must be accepted, and at the end every member holds every
version of the pool exactly once, the newest one latest.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from shieldwall.db import Database
from shieldwall.intel.ingest import ingestor_for
from shieldwall.intel.tables import objects
from shieldwall.members import service
from shieldwall.operations.consistency import check
from shieldwall.policy import Role
from shieldwall.settings import Settings
from tests.operations.bundles import object_id
from tests.operations.server import Server, analyst_key

ROUNDS = int(os.environ.get("SHIELDWALL_CONCURRENCY_ROUNDS", "12"))
CLIENTS_PER_MEMBER, MEMBERS = 2, 4
INDICATORS, ATTACK_PATTERNS = 30, 20
VERSIONS = {"indicator": 3, "attack-pattern": 2}


def _version(type_: str, index: int, version: int) -> dict[str, Any]:
    modified = f"2026-03-01T00:00:0{version}.000Z"
    common = {"spec_version": "2.1", "created": "2026-03-01T00:00:00.000Z", "modified": modified}
    if type_ == "indicator":
        return {
            **common, "type": "indicator", "id": object_id("indicator", 7, index),
            "name": f"concurrency indicator {index} v{version}", "pattern_type": "stix",
            "pattern": f"[domain-name:value = 'c{index}.concurrency.example']",
            "valid_from": "2026-03-01T00:00:00.000Z",
            "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
            "extensions": {"extension-definition--c56d41b5-3fe7-441e-af12-498adb577219": {
                "extension_type": "property-extension", "distribution": "org"}},
        }  # fmt: skip
    return {
        **common, "type": "attack-pattern", "id": object_id("attack-pattern", 7, index),
        "name": f"concurrency technique {index} v{version}",
    }  # fmt: skip


POOL = [
    _version(type_, index, version)
    for type_, count in (("indicator", INDICATORS), ("attack-pattern", ATTACK_PATTERNS))
    for index in range(count)
    for version in range(1, VERSIONS[type_] + 1)
]


class Client(threading.Thread):
    """One client: rounds of a POST then three reads, then the whole pool."""

    def __init__(self, url: str, key: str, seed: int) -> None:
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.random = random.Random(seed)
        self.seen: Counter[str] = Counter()  # "POST 201", "GET /objects 200", ...
        self.failures: list[str] = []
        self.identity = ""  # the member's STIX identity: the creator of what it shares

    def _call(self, http: httpx.Client, label: str, method: str, path: str, **kw: Any) -> Any:
        try:
            response = http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            self.failures.append(f"{label}: {exc!r}")
            return None
        self.seen[f"{label} {response.status_code}"] += 1
        if response.status_code >= 500 or "locked" in response.text:
            self.failures.append(f"{label}: {response.status_code} {response.text[:300]}")
        return response

    def _post(self, http: httpx.Client, versions: list[dict[str, Any]]) -> None:
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": versions}
        response = self._call(http, "POST /bundles", "POST", "/api/v1/bundles", json=bundle)
        if response is None or response.status_code != 201:
            if response is not None:
                self.failures.append(f"POST: {response.status_code} {response.text[:300]}")
            return
        # Read your writes: a version the server accepted is there at once, from any process.
        sample = self.random.choice(versions)
        listed = self._call(http, "GET /objects/{id}", "GET", f"/api/v1/objects/{sample['id']}",
                            params={"versions": "all"})  # fmt: skip
        if listed is not None and listed.status_code == 200:
            # Every member keeps its own copy of an attack pattern, and others may see it.
            held = [o["modified"] for o in listed.json()["objects"]
                    if o.get("created_by_ref") == self.identity]  # fmt: skip
            if sample["modified"] not in held:
                self.failures.append(f"lost: {sample['id']}@{sample['modified']} not in {held}")
            if len(held) != len(set(held)):
                self.failures.append(f"duplicated: {sample['id']} has versions {held}")

    def _read(self, http: httpx.Client) -> None:
        choice = self.random.randrange(4)
        if choice == 0:
            self._call(http, "GET /objects", "GET", "/api/v1/objects", params={"limit": 100})
        elif choice == 1:
            self._call(http, "GET /search", "GET", "/api/v1/search",
                       params={"q": "concurrency technique"})  # fmt: skip
        elif choice == 2:
            values = [f"c{self.random.randrange(INDICATORS)}.concurrency.example"]
            self._call(http, "POST /lookup", "POST", "/api/v1/lookup", json={"values": values})
        else:
            query = {"type": "attack-pattern", "versions": "all", "limit": 100}
            self._call(http, "GET /objects?type", "GET", "/api/v1/objects", params=query)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=120) as http:
            self.identity = http.get("/api/v1/me").json()["member"]["identity_id"]
            for _ in range(ROUNDS):
                versions = self.random.sample(POOL, self.random.randint(5, 40))
                self._post(http, versions)
                for _ in range(3):
                    self._read(http)
            self._post(http, self.random.sample(POOL, len(POOL)))


def test_eight_clients_write_the_same_versions_and_read_at_once(
    database_url: str, tmp_path: Path
) -> None:
    keys = [analyst_key(database_url, f"Member-{m}") for m in range(MEMBERS)]
    db = Database(database_url)
    try:
        with db.write() as conn:  # a second analyst for every member
            for m in range(MEMBERS):
                member_id = service.member_id_by_name(conn, f"Member-{m}")
                second = service.create_user(
                    conn, f"second{m}@example.org", member_id, Role.ANALYST
                )
                keys.append(second.key)
    finally:
        db.dispose()
    logs = [tmp_path / "server-a.log", tmp_path / "server-b.log"]
    servers = [Server(database_url, log).start() for log in logs]
    try:
        clients = [Client(servers[i % 2].url, key, seed=i) for i, key in enumerate(keys)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=900)
        assert not any(client.is_alive() for client in clients), "a client hung"
    finally:
        for server in servers:
            server.stop()
    seen = sum((client.seen for client in clients), Counter())
    failures = [f for client in clients for f in client.failures]
    print(f"\nconcurrency: {sum(seen.values())} requests from {len(clients)} clients on 2 "
          f"processes, {len(failures)} errors: {dict(sorted(seen.items()))}")  # fmt: skip
    assert failures == []
    assert all(label.endswith(" 200") or label == "POST /bundles 201" for label in seen), seen
    for log in logs:
        text = log.read_text()
        assert "database is locked" not in text and "Traceback" not in text, text[-3000:]
    db = Database(database_url)
    try:
        with db.read() as conn:
            c = objects.c
            duplicated = conn.execute(
                select(c.member_id, c.object_id, c.modified)
                .group_by(c.member_id, c.object_id, c.modified)
                .having(func.count() > 1)
            ).all()
            assert duplicated == []
            held = conn.execute(
                select(c.member_id, c.object_id, c.modified, c.is_latest).where(
                    c.type != "identity"
                )
            ).all()
        expected = {(v["id"], v["modified"]) for v in POOL}
        by_member: dict[str, set[tuple[str, str]]] = {}
        for row in held:
            by_member.setdefault(row.member_id, set()).add((row.object_id, row.modified))
            if row.is_latest:
                assert row.modified.startswith(
                    f"2026-03-01T00:00:0{VERSIONS[row.object_id.split('--')[0]]}"
                ), row
        assert len(by_member) == MEMBERS
        assert all(
            {(i, m[:23] + "Z") for i, m in versions} == expected for versions in by_member.values()
        )
        ingestor = ingestor_for(db, Settings(database_url=database_url, warninglists="none",
                                             validation_workers=0))  # fmt: skip
        report = check(db, ingestor.indexes)
        ingestor.close()
        assert report.ok, report.problems
    finally:
        db.dispose()
