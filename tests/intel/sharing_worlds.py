"""Random sharing worlds shared through the real API, and an oracle written from what each sharer
*said*: the generator and oracle that the sharing property tests (test_sharing_property.py: the
stored rows and /api/v1/objects; test_read_paths_property.py: every other bulk read path) share.

Each share is a run of bundles from members with different defaults: new objects and new
versions of earlier ones (with and without markings of their own), TLP said on the object, in a
granular marking or through a STIX 2.0-style definition, every distribution, named and anonymous
contributions (and switches between them), and reports referring to objects with other markings.
The oracle is independent of how ingest resolves them: an object may reach a viewer only if every
constraint said on it, inherited from its earlier versions, or said by a report of the same bundle
that refers to it, lets the viewer in.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from shieldwall.markings import (
    DISTRIBUTION_REACH as REACH,
)
from shieldwall.markings import SHARING_EXTENSION_ID, TLP, Distribution, allows
from shieldwall.members.service import get_member
from shieldwall.policy import Role
from tests.factories import ApiUser, World, stix_id

_clock = itertools.count(1)
MEMBERS = 4
# (default TLP, default distribution) of each member: the oracle never uses them.
DEFAULTS = [
    (TLP.AMBER, Distribution.COMMUNITY),
    (TLP.RED, Distribution.COMMUNITY),
    (TLP.GREEN, Distribution.ALL),
    (TLP.CLEAR, Distribution.ORG),
]
GROUPS = [(0, 1), (1, 2)]  # member indexes of each sharing group
PEER_GROUP = 1  # the group the peer instance's member is in besides its members


@dataclass(frozen=True)
class Said:
    """What one object (or report) says of its sharing; None where it says nothing."""

    tlp: TLP | None
    where: str  # "object", "granular" or "definition": where the TLP is written
    distribution: Distribution | None
    group: int | None
    anonymous: bool | None


said_strategy = st.builds(
    Said,
    tlp=st.sampled_from([None, None, None, *TLP]),  # often unsaid: then it is inherited
    where=st.sampled_from(["object", "granular", "definition"]),
    distribution=st.sampled_from([None, None, None, *Distribution]),
    group=st.sampled_from([0, 1]),
    anonymous=st.sampled_from([None, None, True, False]),
)
share_strategy = st.tuples(
    st.integers(0, MEMBERS - 1),  # sharer
    st.lists(st.tuples(st.integers(-1, 5), said_strategy), min_size=1, max_size=4),
    st.one_of(st.none(), st.tuples(said_strategy, st.sets(st.integers(0, 3)))),  # a report
)


@dataclass
class Sent:
    """An accepted version: who sent it, what it said, what reports of its bundle said."""

    sharer: int
    said: Said
    reports: list[Said] = field(default_factory=list)


@dataclass
class Run:
    world: World
    users: list[ApiUser]
    member_ids: list[str]
    identities: list[str]
    group_ids: list[str]
    peer: ApiUser  # an account of a member of kind peer: another instance reading us
    # Users of other roles, each with the index of its member: a reader and a member-admin.
    others: list[tuple[int, ApiUser]]
    admin: ApiUser  # the instance's admin, of a member of its own
    collection: str  # an admin's TAXII collection (and so MISP feed) of everything
    versions: dict[str, list[Sent]] = field(default_factory=dict)  # object id -> accepted

    def group_members(self, group: int) -> set[int]:
        return set(GROUPS[group])


def _timestamp() -> str:
    """A new, later timestamp each time: versions are sent in the order they were made."""
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(_clock))
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def domain_of(object_id: str) -> str:
    """The domain only this object's pattern names."""
    return f"o{object_id.partition('--')[2].replace('-', '')}.example.org"


def stix_object(run: Run, said: Said, object_id: str, sharer: int, extra: list[dict]) -> dict:
    """An indicator as `sharer` sends it, saying `said`; a definition it needs goes in `extra`."""
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id,
        "created": "2026-01-01T00:00:00Z",
        "modified": _timestamp(),
        "name": "generated",
        "description": "what the sharer saw",
        # A value every object carries, and one of its own (for paths that serve values).
        "pattern": f"[ipv4-addr:value = '203.0.113.1'] OR [domain-name:value = "
        f"'{domain_of(object_id)}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    if said.tlp is not None:
        if said.where == "object":
            obj["object_marking_refs"] = [said.tlp.marking_id]
        elif said.where == "granular":
            obj["granular_markings"] = [
                {"marking_ref": said.tlp.marking_id, "selectors": ["description"]}
            ]
        else:  # a STIX 2.0-style TLP definition of its own id, in the bundle
            definition_id = stix_id("marking-definition")
            level = {TLP.CLEAR: "white", TLP.AMBER_STRICT: "amber"}.get(said.tlp, said.tlp.label)
            # amber+strict has no 2.0 name: written as amber, and said as amber
            extra.append({
                "type": "marking-definition", "spec_version": "2.1", "id": definition_id,
                "created": "2026-01-01T00:00:00Z", "definition_type": "tlp",
                "definition": {"tlp": level},
            })  # fmt: skip
            obj["object_marking_refs"] = [definition_id]
    ext: dict[str, Any] = {"extension_type": "property-extension"}
    if said.distribution is not None:
        ext["distribution"] = said.distribution.value
        if said.distribution is Distribution.GROUP:
            ext["sharing_group"] = run.group_ids[said.group]
    if said.anonymous is not None:
        ext["anonymous"] = said.anonymous
        if not said.anonymous:
            obj["created_by_ref"] = run.identities[sharer]
    if len(ext) > 1:
        obj["extensions"] = {SHARING_EXTENSION_ID: ext}
    return obj


def effective_said(said: Said) -> Said:
    """What the oracle reads a Said as: a 2.0-style definition has no amber+strict."""
    if said.where == "definition" and said.tlp is TLP.AMBER_STRICT:
        return Said(TLP.AMBER, said.where, said.distribution, said.group, said.anonymous)
    return said


def audience_of(run: Run, sharer: int, tlp: TLP | None, distribution: Distribution | None,
              group: int | None) -> set[int]:  # fmt: skip
    """Who a constraint lets see an object: its sharer always."""
    everyone = set(range(MEMBERS))
    if distribution is None:
        reach = everyone if tlp is None or tlp is not TLP.RED else set()
    elif tlp is not None and not allows(tlp, distribution):
        # Said explicitly, the bundle is refused; arising from inheritance, it is narrowed.
        reach = everyone if allows(tlp, Distribution.FEDERATION) else set()
    elif distribution is Distribution.ORG:
        reach = set()
    elif distribution is Distribution.GROUP:
        reach = run.group_members(group or 0)
    else:
        reach = everyone
    return reach | {sharer}


def inherited(run: Run, object_id: str, index: int) -> tuple[TLP | None, Any, int | None]:
    """(TLP, distribution, group) version `index` said, each taken from the versions before it
    where it said nothing."""
    tlp = distribution = group = None
    for earlier in reversed(run.versions[object_id][: index + 1]):
        said = effective_said(earlier.said)
        if tlp is None and said.tlp is not None:
            tlp = said.tlp
        if distribution is None and said.distribution is not None:
            distribution, group = said.distribution, said.group
    return tlp, distribution, group


def allowed(run: Run, object_id: str, index: int) -> set[int]:
    """The members the oracle lets see version `index` of an object: what it said (or inherited)
    of itself, and for each report of its bundle that refers to it, the report's TLP and
    distribution, which fill in what the object left unsaid and narrow what it said."""
    sent = run.versions[object_id][index]
    tlp, distribution, group = inherited(run, object_id, index)
    reports = [effective_said(r) for r in sent.reports]
    allowed = audience_of(run, sent.sharer, None, None, None)
    if distribution is not None or not any(r.distribution for r in reports):
        allowed &= audience_of(run, sent.sharer, tlp, distribution, group)
    for report in reports:
        combined = max(t for t in (tlp, report.tlp, TLP.CLEAR) if t is not None)
        # The narrower of the two distributions; two groups are not one narrower than the
        # other, and the object's own group stands.
        narrower, narrower_group = distribution, group
        if report.distribution is not None and (
            distribution is None or REACH[report.distribution] < REACH[distribution]
        ):
            narrower, narrower_group = report.distribution, report.group
        allowed &= audience_of(run, sent.sharer, combined, narrower, narrower_group)
    return allowed


def share(run: Run, sharer: int, specs: list, report_spec: Any) -> None:
    user = run.users[sharer]
    own = [
        object_id
        for object_id, chain in run.versions.items()
        if chain[0].sharer == sharer and object_id.startswith("indicator--")
    ]
    extra: list[dict] = []
    sent: list[tuple[str, Said]] = []
    for pick, said in specs:
        object_id = own[pick % len(own)] if pick >= 0 and own else stix_id("indicator")
        if any(object_id == s[0] for s in sent):
            object_id = stix_id("indicator")
        sent.append((object_id, said))
    objs = [stix_object(run, said, object_id, sharer, extra) for object_id, said in sent]
    report_said = None
    if report_spec is not None:
        report_said, picks = report_spec
        refs = [objs[i]["id"] for i in sorted(picks) if i < len(objs)]
        story = stix_object(run, report_said, stix_id("report"), sharer, extra)
        for key in ("pattern", "pattern_type", "valid_from"):
            del story[key]
        story.update(type="report", published="2026-01-01T00:00:00Z", object_refs=refs or
                     [objs[0]["id"]])  # fmt: skip
        objs.append(story)
    response = user.share(*objs, *extra)
    assert response.status_code in (201, 422), response.text
    if response.status_code != 201:
        return
    referred = set(objs[-1]["object_refs"]) if report_said is not None else set()
    for (object_id, said), obj in zip(sent, objs, strict=False):
        reports = [report_said] if report_said is not None and obj["id"] in referred else []
        run.versions.setdefault(object_id, []).append(Sent(sharer, said, reports))
    if report_said is not None:
        run.versions[objs[-1]["id"]] = [Sent(sharer, report_said)]


_RUNS: dict[int, Run] = {}


def run_for(world: World) -> Run:
    """The members, users and groups of the world, made once per test (hypothesis examples
    share the function-scoped world; each example's objects have ids of their own)."""
    key = id(world)
    if key not in _RUNS:
        _RUNS.clear()
        member_ids = [
            world.member(f"Generated {i}", default_tlp=tlp, default_distribution=d)
            for i, (tlp, d) in enumerate(DEFAULTS)
        ]
        users = [world.user(m) for m in member_ids]
        peer_member = world.member("Generated peer", kind="peer")
        group_ids = [
            world.group([member_ids[i] for i in g] + ([peer_member] if n == PEER_GROUP else []))
            for n, g in enumerate(GROUPS)
        ]
        with world.db.read() as conn:
            identities = [get_member(conn, m)["identity_id"] for m in member_ids]
        peer = world.user(peer_member, Role.READER)
        others = [(0, world.user(member_ids[0], Role.READER)),
                  (1, world.user(member_ids[1], Role.MEMBER_ADMIN))]  # fmt: skip
        admin = world.admin()
        response = admin.post("/api/v1/taxii/collections",
                              json={"title": "Everything", "selection": {}})  # fmt: skip
        assert response.status_code == 201, response.text
        collection = response.json()["id"]
        _RUNS[key] = Run(world, users, member_ids, identities, group_ids, peer, others, admin,
                         collection)  # fmt: skip
    run = _RUNS[key]
    run.versions = {}
    return run
