"""The policy's SQL filter and its predicate must agree, and each rule must hold on its own."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from shieldwall.db import Database
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP, Distribution
from shieldwall.policy import (
    Role,
    Viewer,
    may_break_glass,
    may_see,
    may_see_group,
    may_see_metadata,
    visible_filter,
)

MEMBERS = [f"m{i}" for i in range(4)]
GROUPS = [f"g{i}" for i in range(3)]


def _row(pk: int, member: str, tlp: TLP, distribution: Distribution, group: str | None) -> dict:
    return {
        "pk": pk,
        "object_id": f"indicator--{uuid.uuid4()}",
        "type": "indicator",
        "created": None,
        "modified": "",
        "created_by": None,
        "tlp": int(tlp),
        "distribution": distribution.value,
        "sharing_group_id": group,
        "member_id": member,
        "anonymous": False,
        "date_added": "2026-01-01T00:00:00.000000Z",
        "is_latest": True,
        "revoked": False,
        "labels": None,
        "search_text": None,
        "body": "{}",
    }


rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(MEMBERS),
        st.sampled_from(list(TLP)),
        st.sampled_from(list(Distribution)),
        st.sampled_from([None, *GROUPS]),
    ),
    min_size=1,
    max_size=30,
)
PEERS = frozenset(MEMBERS[2:])  # members m2 and m3 stand for other instances


def _random_viewer(member: str, role: Role, groups: set[str], peer: bool) -> Viewer:
    peer = peer or member in PEERS
    return Viewer(
        "u", member, role, frozenset(groups), peer=peer,
        peer_member_ids=PEERS | {member} if peer else frozenset(),
    )  # fmt: skip


viewer_strategy = st.builds(
    _random_viewer,
    st.sampled_from(MEMBERS),
    st.sampled_from(list(Role)),
    st.sets(st.sampled_from(GROUPS)),
    st.booleans(),  # an account of a peer instance
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=rows_strategy, viewers=st.lists(viewer_strategy, min_size=1, max_size=4))
def test_sql_filter_and_predicate_agree(db: Database, specs: list, viewers: list[Viewer]) -> None:
    # Rows are written straight to the table, including combinations ingest would refuse (red
    # with community...), so the policy's own defence is tested too.
    rows = [_row(pk, *spec) for pk, spec in enumerate(specs, start=1)]
    with db.write() as conn:
        conn.execute(delete(objects))
        conn.execute(objects.insert(), rows)
    for viewer in viewers:
        with db.read() as conn:
            by_sql = set(conn.scalars(select(objects.c.pk).where(visible_filter(viewer, objects))))
        by_predicate = {row["pk"] for row in rows if may_see(viewer, row)}
        assert by_sql == by_predicate, viewer


def _viewer(
    member: str = "m1", role: Role = Role.ANALYST, groups: frozenset[str] = frozenset()
) -> Viewer:
    return Viewer("u", member, role, groups)


def test_org_distribution_is_invisible_to_other_members() -> None:
    row = _row(1, "m0", TLP.GREEN, Distribution.ORG, None)
    assert not may_see(_viewer("m1"), row)
    assert may_see(_viewer("m0"), row)


def test_group_distribution_is_invisible_outside_the_group() -> None:
    row = _row(1, "m0", TLP.RED, Distribution.GROUP, "g1")
    assert not may_see(_viewer("m1", groups=frozenset({"g2"})), row)
    assert may_see(_viewer("m1", groups=frozenset({"g1"})), row)


def test_red_never_reaches_the_community_even_if_stored_so() -> None:
    row = _row(1, "m0", TLP.RED, Distribution.COMMUNITY, None)
    assert not may_see(_viewer("m1"), row)


def test_amber_with_all_is_not_widened() -> None:
    row = _row(1, "m0", TLP.AMBER, Distribution.ALL, None)
    assert not may_see(_viewer("m1"), row)
    assert may_see(_viewer("m1"), _row(1, "m0", TLP.GREEN, Distribution.ALL, None))


def test_community_and_federation_reach_every_member() -> None:
    for distribution in (Distribution.COMMUNITY, Distribution.FEDERATION):
        assert may_see(_viewer("m3"), _row(1, "m0", TLP.AMBER_STRICT, distribution, None))


def test_an_instance_admin_does_not_read_other_members_org_group_or_red_objects() -> None:
    admin = _viewer("m9", Role.ADMIN)
    assert not may_see(admin, _row(1, "m0", TLP.RED, Distribution.ORG, None))
    assert not may_see(admin, _row(1, "m0", TLP.GREEN, Distribution.ORG, None))
    assert not may_see(admin, _row(1, "m0", TLP.RED, Distribution.GROUP, "g1"))
    assert may_see(admin, _row(1, "m0", TLP.AMBER, Distribution.COMMUNITY, None))
    assert may_see(admin, _row(1, "m9", TLP.RED, Distribution.ORG, None))  # its own member's
    assert may_see_metadata(admin) and may_break_glass(admin)
    for role in (Role.MEMBER_ADMIN, Role.ANALYST, Role.READER):
        assert not may_see_metadata(_viewer("m9", role)) and not may_break_glass(
            _viewer("m9", role)
        )


def test_a_peer_sees_only_what_may_leave_towards_it() -> None:
    peer = Viewer(
        "u", "p1", Role.READER, frozenset({"g1"}), peer=True,
        peer_member_ids=frozenset({"p1", "p2"}),
    )  # fmt: skip
    for hidden in (
        _row(1, "m0", TLP.GREEN, Distribution.COMMUNITY, None),  # community never leaves
        _row(1, "m0", TLP.CLEAR, Distribution.ORG, None),
        _row(1, "m0", TLP.AMBER, Distribution.ALL, None),  # stored so by mistake: still capped
        _row(1, "m0", TLP.RED, Distribution.GROUP, "g2"),
        # what arrived from another peer in a group the peer belongs to goes no further
        _row(1, "p2", TLP.GREEN, Distribution.GROUP, "g1"),
    ):
        assert not may_see(peer, hidden), hidden
    for shown in (
        _row(1, "m0", TLP.AMBER_STRICT, Distribution.FEDERATION, None),
        _row(1, "m0", TLP.GREEN, Distribution.ALL, None),
        _row(1, "m0", TLP.RED, Distribution.GROUP, "g1"),
    ):
        assert may_see(peer, shown), shown


def test_a_peer_never_learns_of_a_group_that_arrived_from_another_peer() -> None:
    peer = Viewer(
        "u", "p1", Role.ANALYST, frozenset({"g1", "g2"}), peer=True,
        peer_member_ids=frozenset({"p1", "p2"}),
    )  # fmt: skip
    outside = {"member_ids": ["m0", "p2"], "owner_member_id": "m0"}
    from_a_peer = {"member_ids": ["p1", "p2", "m0"], "owner_member_id": "p2"}  # wrongly joined
    ours = {"member_ids": ["m0", "p1"], "owner_member_id": "m0"}
    assert not may_see_group(peer, outside) and not may_see_group(peer, from_a_peer)
    assert may_see_group(peer, ours)
    member = Viewer("u", "m0", Role.ANALYST, frozenset({"g2"}))
    assert may_see_group(member, from_a_peer) and not may_see_group(member, {
        "member_ids": ["m1"], "owner_member_id": "m1"})  # fmt: skip
    assert may_see_group(Viewer("u", "m9", Role.ADMIN), outside)
