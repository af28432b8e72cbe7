"""exchange/indicator_values.py: a URL indicator's pattern is read only when its body could name
a domain, and what is read tells a domain shared as one from the host of a shared URL."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select

from shieldwall.exchange import value_export
from shieldwall.exchange.indicator_values import may_name_domains
from tests.exchange.test_rules import exported, with_pattern
from tests.factories import World, indicator


def test_a_urls_host_is_a_domain_only_when_the_pattern_names_it_as_one(world: World) -> None:
    alice = world.user(world.member())
    only_url = with_pattern("[url:value = 'http://host-only.example/a']", tlp="green")
    by_ref = with_pattern(
        "[url:value = 'http://by-ref.example/a' AND network-traffic:dst_ref.value = "
        "'shared-by-ref.example']",
        tlp="green",
    )
    named = with_pattern(
        "[url:value = 'http://named.example/a'] OR [domain-name:value = 'named.example']",
        tlp="green",
    )
    # Its text says domain-name, its pattern does not: the pattern is read, and names none.
    described = {
        **with_pattern("[url:value = 'http://described.example/a']", tlp="green"),
        "description": "no domain-name here, nor a dst_ref",
    }
    assert alice.share(only_url, by_ref, named, described).status_code == 201
    lines = alice.get("/api/v1/exports/blocklist", params={"kind": "domain"}).text.split()
    assert lines == ["shared-by-ref.example", "named.example"]
    every = alice.get(
        "/api/v1/exports/blocklist", params={"kind": "domain", "include_url_hosts": "yes"}
    ).text.split()
    assert every == ["host-only.example", "by-ref.example", "shared-by-ref.example",
                     "named.example", "described.example"]  # fmt: skip
    zone = exported(alice, "rpz")
    assert "host-only" not in zone and "\nnamed.example CNAME" in zone


_PIECES = st.sampled_from([
    "[", "]", " AND ", " OR ", "url:value = ", "domain-name:value = ", "network-traffic:",
    "dst_ref", "src_refs", "_ref", "_refs", ".value", "[*]", "'", '"', "\\", "x", "=", "_re",
    "f", "s",
])  # fmt: skip


# The database is only read: one for every example is enough.
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(pattern=st.lists(_PIECES, max_size=12).map("".join), name=st.lists(_PIECES).map("".join))
def test_the_database_reads_the_pattern_whenever_it_may_name_a_domain(
    world: World, pattern: str, name: str
) -> None:
    body: dict[str, Any] = {**indicator(), "pattern": pattern, "name": name}
    text = orjson.dumps(body).decode()
    with world.db.read() as conn:
        maybe = conn.execute(select(may_name_domains(literal(text)))).scalar_one()
    if value_export.may_name_domains(pattern):
        assert maybe
