"""Selections: the SQL form and the predicate agree on random rows; a selection only ever
narrows what the policy lets a viewer see; a member-kind filter never reveals who stands behind
an anonymous contribution."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from shieldwall.db import Database
from shieldwall.errors import Invalid
from shieldwall.intel import query
from shieldwall.intel.tables import objects
from shieldwall.markings import TLP, Distribution
from shieldwall.members.service import create_member, viewer_for_user
from shieldwall.members.tables import members
from shieldwall.selections.service import Selection, parse
from tests.factories import World, indicator, marked

KINDS = ["alliance", "national-cert", "industry"]
LABELS = ["apt", "crime", "ics"]
TIMES = ["2026-01-01T00:00:00.000000Z", "2026-06-01T00:00:00.000000Z"]

selection_strategy = st.builds(
    Selection,
    types=st.lists(st.sampled_from(["indicator", "malware", "report"]), max_size=2).map(tuple),
    max_tlp=st.one_of(st.none(), st.sampled_from(list(TLP))),
    labels=st.lists(st.sampled_from(LABELS), max_size=2).map(tuple),
    sharing_group_id=st.sampled_from([None, "g0", "g1"]),
    member_kinds=st.lists(st.sampled_from(KINDS), max_size=2).map(tuple),
    max_age_days=st.sampled_from([None, 30]),
)
row_strategy = st.tuples(
    st.sampled_from(["indicator", "malware", "report"]),
    st.sampled_from(list(TLP)),
    st.lists(st.sampled_from(LABELS), max_size=2),
    st.sampled_from([None, "g0", "g1"]),
    st.integers(0, len(KINDS) - 1),
    st.booleans(),
    st.sampled_from(TIMES),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(selections=st.lists(selection_strategy, min_size=1, max_size=4),
       specs=st.lists(row_strategy, min_size=1, max_size=20))  # fmt: skip
def test_sql_form_and_predicate_agree(db: Database, selections: list, specs: list) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 6, 15, tzinfo=UTC)
    with db.write() as conn:
        conn.execute(delete(objects))
        kinds = {}
        for kind in KINDS:
            existing = conn.scalar(select(members.c.id).where(members.c.name == kind))
            kinds[kind] = existing or create_member(conn, kind, kind)
        conn.execute(delete(objects))  # the identities members get
        rows = []
        for pk, (type_, tlp, labels, group, kind, anonymous, added) in enumerate(specs, 1):
            rows.append({
                "pk": pk, "object_id": f"{type_}--{uuid.uuid4()}", "type": type_,
                "created": None, "modified": "", "created_by": None, "tlp": int(tlp),
                "distribution": "group" if group else Distribution.ORG.value,
                "sharing_group_id": group, "member_id": kinds[KINDS[kind]],
                "anonymous": anonymous, "date_added": added, "is_latest": True,
                "revoked": False, "labels": "|" + "|".join(labels) + "|" if labels else None,
                "search_text": None, "body": "{}",
            })  # fmt: skip
        conn.execute(objects.insert(), rows)
    kind_of = {kinds[k]: k for k in KINDS}
    for selection in selections:
        with db.read() as conn:
            by_sql = set(
                conn.scalars(select(objects.c.pk).where(selection.where(objects, now=now)))
            )
        by_predicate = {
            row["pk"] for row in rows if selection.admits(row, kind_of[row["member_id"]], now=now)
        }
        assert by_sql == by_predicate, selection


def test_a_selection_never_shows_what_the_policy_hides(world: World) -> None:
    industry = world.member("Industry SOC", kind="industry")
    cert = world.member("CERT North", kind="national-cert")
    reader = world.user(world.member("Reader"))
    hidden = indicator("198.51.100.60", tlp="amber", distribution="org")
    shown = indicator("198.51.100.61", tlp="green", distribution="community")
    anonymous = marked(indicator("198.51.100.62"), tlp="green", anonymous=True)
    world.user(industry).share(hidden, shown, anonymous)
    world.user(cert).share(from_cert := indicator("198.51.100.63", tlp="green"))
    with world.db.read() as conn:
        viewer = viewer_for_user(conn, reader.user_id)
    everything = Selection()
    industry_only = Selection(member_kinds=("industry",))

    def ids(selection: Selection) -> set[str]:
        f = query.ObjectFilter(types=("indicator",), selection=selection)
        return set(query.list_objects(world.db, viewer, f, cursor=None, limit=100).object_ids)

    # What the reader must NOT see, through any selection: the org-only indicator; and through
    # a member-kind selection, the anonymous one (it would say who stands behind the broker).
    assert hidden["id"] not in ids(everything) | ids(industry_only)
    assert anonymous["id"] not in ids(industry_only)
    assert ids(everything) == {shown["id"], anonymous["id"], from_cert["id"]}
    assert ids(industry_only) == {shown["id"]}
    assert ids(Selection(max_tlp=TLP.CLEAR)) == set()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"types": "indicator"}, "types must be a list"),
        ({"max_tlp": "purple"}, "unknown TLP"),
        ({"member_kinds": ["government"]}, "unknown member kind"),
        ({"min_score": 101}, "min_score"),
        ({"colour": "red"}, "unknown selection field"),
        ({"types": ["Not A Type"]}, "not a STIX type"),
    ],
)
def test_bad_selections_are_refused_with_a_reason(data: dict, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse(data)
