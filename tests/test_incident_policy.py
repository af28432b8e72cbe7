"""The incident rule's SQL filter and its predicate must agree, and the rule must hold on its
own: only the requester, the coordinator and members whose tasking stands see an incident,
whatever their role and whatever the incident's TLP."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from shieldwall.db import Database
from shieldwall.incidents.tables import incidents, taskings
from shieldwall.markings import TLP
from shieldwall.policy import (
    STANDING_TASKINGS,
    Role,
    Viewer,
    incident_visible_filter,
    may_answer_tasking,
    may_coordinate_incident,
    may_see_incident,
)

MEMBERS = [f"m{i}" for i in range(5)]
INCIDENTS = [f"i{i}" for i in range(6)]
STATES = ["tasked", "accepted", "declined", "expired", "released"]


def _incident(incident_id: str, requester: str, coordinator: str, tlp: TLP) -> dict:
    return {
        "id": incident_id,
        "seq": int(incident_id[1:]) + 1,
        "title": "t",
        "description": "d",
        "severity": "high",
        "tlp": int(tlp),
        "status": "filed",
        "status_before_wait": None,
        "requester_member_id": requester,
        "coordinator_member_id": coordinator,
        "coordinator_reason": "r",
        "countries": "[]",
        "sectors": "[]",
        "services": "[]",
        "needs": "[]",
        "languages": "[]",
        "filed_by_user_id": "u",
        "filed_at": "2026-01-01T00:00:00.000000Z",
        "updated_at": "2026-01-01T00:00:00.000000Z",
    }


def _tasking(incident_id: str, member: str, state: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "incident_id": incident_id,
        "member_id": member,
        "state": state,
        "reasons": "[]",
        "tasked_at": "2026-01-01T00:00:00.000000Z",
    }


incidents_strategy = st.lists(
    st.tuples(st.sampled_from(MEMBERS), st.sampled_from(MEMBERS), st.sampled_from(list(TLP))),
    min_size=1,
    max_size=len(INCIDENTS),
)
# Several taskings of one member on one incident, in any states, are generated too (a member
# declined, then was tasked again by name).
taskings_strategy = st.lists(
    st.tuples(st.sampled_from(INCIDENTS), st.sampled_from(MEMBERS), st.sampled_from(STATES)),
    max_size=20,
)
viewer_strategy = st.builds(
    lambda member, role, peer: Viewer("u", member, role, peer=peer),
    st.sampled_from(MEMBERS),
    st.sampled_from(list(Role)),
    st.booleans(),  # an account of a peer instance: incidents never leave the instance
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=incidents_strategy,
    tasking_specs=taskings_strategy,
    viewers=st.lists(viewer_strategy, min_size=1, max_size=4),
)
def test_sql_filter_and_predicate_agree(
    db: Database, specs: list, tasking_specs: list, viewers: list[Viewer]
) -> None:
    rows = [_incident(INCIDENTS[n], *spec) for n, spec in enumerate(specs)]
    tasking_rows = [_tasking(*spec) for spec in tasking_specs]
    with db.write() as conn:
        conn.execute(delete(taskings))
        conn.execute(delete(incidents))
        conn.execute(incidents.insert(), rows)
        if tasking_rows:
            conn.execute(taskings.insert(), tasking_rows)
    for viewer in viewers:
        with db.read() as conn:
            by_sql = set(
                conn.scalars(
                    select(incidents.c.id).where(
                        incident_visible_filter(viewer, incidents, taskings)
                    )
                )
            )
        by_predicate = {r["id"] for r in rows if may_see_incident(viewer, r, tasking_rows)}
        assert by_sql == by_predicate, viewer
        # ...and both say what the rule says, spelled out once more.
        expected = (
            set()
            if viewer.peer
            else {
                r["id"]
                for r in rows
                if viewer.member_id in (r["requester_member_id"], r["coordinator_member_id"])
                or any(
                    t["incident_id"] == r["id"]
                    and t["member_id"] == viewer.member_id
                    and t["state"] in STANDING_TASKINGS
                    for t in tasking_rows
                )
            }
        )
        assert by_sql == expected


def test_no_role_and_no_tlp_lets_a_member_outside_see() -> None:
    for tlp in TLP:
        incident = _incident("i0", "m0", "m1", tlp)
        history = [_tasking("i0", "m2", s) for s in ("declined", "expired", "released")]
        history += [_tasking("i1", "m3", "accepted")]  # another incident's tasking
        for role in Role:
            for member in ("m2", "m3", "m4"):
                assert not may_see_incident(Viewer("u", member, role), incident, history)
            for member in ("m0", "m1"):
                assert may_see_incident(Viewer("u", member, role), incident, [])
        assert may_see_incident(
            Viewer("u", "m2", Role.READER), incident, [_tasking("i0", "m2", "tasked")]
        )
        # A peer's account sees none, even were its member to take part.
        assert not may_see_incident(Viewer("u", "m0", Role.ANALYST, peer=True), incident, [])


def test_only_the_coordinators_acting_users_coordinate_and_only_the_tasked_answer() -> None:
    incident = _incident("i0", "m0", "m1", TLP.AMBER)
    tasking = _tasking("i0", "m2", "tasked")
    for role in Role:
        acting = role is not Role.READER
        assert may_coordinate_incident(Viewer("u", "m1", role), incident) is acting
        assert may_answer_tasking(Viewer("u", "m2", role), tasking) is acting
        for member in ("m0", "m2", "m3"):
            assert not may_coordinate_incident(Viewer("u", member, role), incident)
        assert not may_answer_tasking(Viewer("u", "m1", role), tasking)
        assert not may_coordinate_incident(Viewer("u", "m1", role, peer=True), incident)
