"""The index's answers equal a brute-force computation over random worlds of members, groups,
markings and objects: same matches, nothing the viewer may not see."""

from __future__ import annotations

import ipaddress
import itertools
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text

from shieldwall.audit.tables import audit_log
from shieldwall.correlate import service
from shieldwall.correlate.observables import normalise, observables_of
from shieldwall.correlate.tables import object_refs, observable_keys
from shieldwall.db import Database
from shieldwall.intel.ingest import ingestor_for
from shieldwall.intel.tables import change_log, objects
from shieldwall.markings import TLP, Distribution, allows
from shieldwall.members import service as members
from shieldwall.policy import Role, may_see
from shieldwall.search.tables import observable_values
from shieldwall.settings import Settings
from tests.factories import bundle, indicator, marked

PATTERNS = {
    "198.51.100.1": "[ipv4-addr:value = '198.51.100.1']",
    "198.51.100.2": "[ipv4-addr:value = '198.51.100.2']",
    "198.51.100.0/30": "[ipv4-addr:value = '198.51.100.0/30']",
    "evil.example": "[domain-name:value = 'evil.example']",
    "http://evil.example/x": "[url:value = 'http://evil.example/x']",
}
COMBOS = [(t, d) for t, d in itertools.product(TLP, Distribution) if allows(t, d)]


def _related(a: dict, b: dict) -> bool:
    """Brute force: do two objects share a value, or an address and a range holding it?"""
    for x, y in itertools.product(observables_of(a), observables_of(b)):
        if (x.kind, x.value) == (y.kind, y.value):
            return True
        for addr, net in ((x, y), (y, x)):
            if (
                addr.kind == "ipv4"
                and net.kind == "ipv4-cidr"
                and (ipaddress.ip_address(addr.value) in ipaddress.ip_network(net.value))
            ):
                return True
    return False


world_strategy = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(COMBOS), st.sampled_from(sorted(PATTERNS))),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=world_strategy, viewer_index=st.integers(0, 2), group_members=st.sets(st.integers(0, 2))
)
def test_index_equals_brute_force(
    db: Database, specs: list, viewer_index: int, group_members: set
) -> None:
    with db.write() as conn:
        for table in (
            observable_keys,
            observable_values,
            object_refs,
            objects,
            change_log,
            audit_log,
        ):
            conn.execute(delete(table))
        conn.execute(text("DELETE FROM search_docs"))  # one table name on both databases
        if not members.list_members(conn):
            ids = [members.create_member(conn, f"M{i}", "industry") for i in range(3)]
            for i in ids:
                members.create_user(conn, f"u@{i}.example", i, Role.ANALYST)
    with db.read() as conn:
        member_ids = [m["id"] for m in sorted(members.list_members(conn), key=lambda m: m["name"])]
        viewers = [
            members.viewer_for_user(conn, members.list_users(conn, m)[0]["id"]) for m in member_ids
        ]
    group = None
    if group_members:
        with db.write() as conn:
            group = members.create_group(
                conn,
                f"G-{uuid.uuid4()}",
                member_ids[min(group_members)],
                [member_ids[i] for i in group_members],
            )
        with db.read() as conn:
            viewers = [members.viewer_for_user(conn, v.user_id) for v in viewers]

    ingestor = ingestor_for(db, Settings(warninglists="none"))
    stored = []  # (object, row-like mapping for the policy)
    for owner, (tlp, distribution), value in specs:
        if distribution is Distribution.GROUP and (group is None or owner not in group_members):
            continue
        obj = {
            **marked(
                indicator(),
                tlp=tlp,
                distribution=distribution,
                group=group if distribution is Distribution.GROUP else None,
            ),
            "pattern": PATTERNS[value],
        }
        ingestor.ingest(viewers[owner], bundle(obj))
        stored.append(
            (
                obj,
                {
                    "member_id": member_ids[owner],
                    "tlp": int(tlp),
                    "distribution": distribution.value,
                    "sharing_group_id": group if distribution is Distribution.GROUP else None,
                },
            )
        )

    viewer = viewers[viewer_index]
    visible = [obj for obj, row in stored if may_see(viewer, row)]
    for obj in visible:
        expected = {o["id"] for o in visible if o["id"] != obj["id"] and _related(obj, o)}
        got = service.correlations(db, viewer, obj["id"], noisy_threshold=10_000)
        assert {m["id"] for m in got["matches"]} == expected
    for value in PATTERNS:
        item = normalise("auto", value)
        asked = {"type": "indicator", "pattern": PATTERNS[value], "pattern_type": "stix"}
        expected = {o["id"] for o in visible if _related(asked, o)}
        got = service.lookup(
            db, viewer, [item], noisy_threshold=10_000, half_lives={"default": 180.0}
        ).results[0]
        assert {m["id"] for m in got["matches"]} == expected, value
