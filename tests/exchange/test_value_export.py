"""exchange/value_export.py: a large value export made by worker processes is byte for byte
the export one process makes, audited the same, and its merge gives each value once and each
sid once, in order.

Negative cases first: what the viewer may not see, expired and revoked indicators, and values
already written are in neither way's output.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from shieldwall.exchange import rules, value_export
from shieldwall.exchange.indicator_values import ValueRow
from shieldwall.exchange.rules import SID_BASE, SURICATA, RuleRenderer
from shieldwall.exchange.value_export import Merge
from shieldwall.policy import Role
from tests.exchange.test_rules import domain, with_pattern
from tests.factories import ApiUser, World, indicator

PAST = "2026-02-01T00:00:00Z"


def export(user: ApiUser, fmt: str, **params: Any) -> str:
    response = user.get(f"/api/v1/exports/{fmt}", params=params)
    assert response.status_code == 200, response.text
    # Everything but the head's time of export (rules) and the zone's serial (rpz).
    return "".join(
        line
        for line in response.text.splitlines(keepends=True)
        if not line.startswith(("# Shieldwall", "@ IN SOA"))
    )


def audited(world: World, action: str) -> list[str]:
    entries = world.admin().get("/api/v1/audit", params={"action": action, "limit": 500}).json()
    return sorted(i for e in entries["entries"] for i in e["detail"]["objects"])


def test_workers_write_what_one_process_writes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = world.member(), world.member()
    alice, bob = world.user(a), world.user(b, Role.READER)
    shared: list[dict[str, Any]] = []
    for n in range(12):
        shared += [
            indicator(f"198.51.100.{n}", tlp="green"),
            indicator(f"203.0.113.{n}", tlp="amber", distribution="org"),  # bob may not see
            domain(f"d{n}.example", tlp="green"),
            with_pattern(f"[url:value = 'http://u{n}.example/p?q={n}']", tlp="green"),
            with_pattern(f"[file:hashes.'SHA-256' = '{n:064x}']", tlp="green"),
            {**indicator(f"192.0.2.{n}", tlp="green"), "valid_until": PAST},
            {**domain(f"r{n}.example", tlp="green"), "revoked": True},
            # several values, one of them written by an earlier indicator: its rules' places
            # among its values change, and the merge makes them again
            with_pattern(
                f"[domain-name:value = 'd{n}.example'] OR [domain-name:value = 'm{n}.example']"
                f" OR [ipv4-addr:value = '198.51.100.{n}'] OR [url:value = 'http://m{n}.example/']",
                tlp="green",
            ),
        ]
    assert alice.share(*shared).status_code == 201
    formats = {
        "suricata": {},
        "snort": {},
        "rpz": {},
        "blocklist": {"kind": ["ipv4", "domain", "url", "sha256"]},
    }
    alone = {}
    monkeypatch.setattr(value_export, "WORKERS", 1)
    for fmt, params in formats.items():
        alone[fmt] = export(bob, fmt, **params)
        assert "203.0.113." not in alone[fmt] and "192.0.2." not in alone[fmt]
        assert "r1.example" not in alone[fmt]
    seen = audited(world, "export.suricata")
    assert len(seen) == len(set(seen)) == 12 * 5
    # Pages of 5 indicator versions, from 2 pages on in workers.
    monkeypatch.setattr(value_export, "PAGE", 5)
    monkeypatch.setattr(value_export, "PARALLEL_PAGES", 2)
    monkeypatch.setattr(value_export, "WORKERS", 2)
    in_workers, started = value_export._in_workers, []

    def watched(*args: Any) -> Any:
        started.append(args[1])
        return in_workers(*args)

    monkeypatch.setattr(value_export, "_in_workers", watched)
    for fmt, params in formats.items():
        assert export(bob, fmt, **params) == alone[fmt], fmt
    assert started == [2, 2, 2, 2]
    # While another export of this process has the worker processes, one renders in its thread.
    with value_export._WORKERS_FREE:
        assert export(bob, "suricata") == alone["suricata"]
    assert started == [2, 2, 2, 2]
    assert audited(world, "export.suricata") == sorted(seen * 3)
    assert alone["suricata"].count("\n") == 12 * 7 + 5  # and the five hash list rules
    assert "m1.example" in alone["rpz"] and "u1.example" not in alone["rpz"]


def _key_sid(object_id: str, variant: str, ordinal: int, span: int) -> int:
    digest = hashlib.blake2b(f"{object_id}|{variant}|{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % span


def _expected_sids(pages: list[list[ValueRow]], span: int) -> list[int]:
    """The rules' sids as the module docstring says: each value once (its first indicator's),
    a rule's hash from its indicator's id, its variant and its place among what its indicator
    writes of that variant, the next free sid when taken."""
    written: set[tuple[str, str]] = set()
    used: set[int] = set()
    sids = []
    for rows in pages:
        ordinals: dict[tuple[str, str], int] = {}
        for row in rows:
            object_id, kind, value = row[1], row[5], row[6]
            if (kind, value) in written:
                continue
            written.add((kind, value))
            for variant, _, _ in SURICATA.rules(kind, value):
                ordinal = ordinals[object_id, variant] = ordinals.get((object_id, variant), -1) + 1
                offset = _key_sid(object_id, variant, ordinal, span)
                while offset in used:
                    offset = (offset + 1) % span
                used.add(offset)
                sids.append(SID_BASE + offset)
    return sids


def test_the_merge_gives_each_value_once_and_each_sid_once(monkeypatch: pytest.MonkeyPatch) -> None:
    span = 11  # few sids: rules collide, and take the next free ones
    monkeypatch.setattr(rules, "SID_SPAN", span)
    renderer = RuleRenderer(SURICATA, sid_span=span)

    def row(pk: int, kind: str, value: str) -> ValueRow:
        return ValueRow(pk, f"indicator--{pk:08d}-0000-4000-8000-000000000000",
                        "2026-01-15T10:00:00.000000Z", 2, None, kind, value, None)  # fmt: skip

    first = [row(1, "domain", "a.example"), row(2, "ipv4", "192.0.2.1"),
             row(3, "ipv4", "192.0.2.2")]  # fmt: skip
    # Page two: a value written already, and an indicator that loses one of its values to it.
    second = [row(4, "ipv4", "192.0.2.1"), row(5, "domain", "a.example"),
              row(5, "domain", "b.example"), row(5, "ipv4", "192.0.2.3")]  # fmt: skip
    merge = Merge(renderer)
    text = merge.text(renderer.render(first)) + merge.text(renderer.render(second))
    sids = [int(s) for s in text.split("sid:")[1:] for s in [s.split(";")[0]]]
    assert sids == _expected_sids([first, second], span)
    assert len(sids) == len(set(sids)) == 2 + 1 + 1 + 2 + 1
    assert text.count("a.example") == 2 * 2  # its two rules, once: msg and content each
    assert "indicator--00000005" in text and "indicator--00000004" not in text
