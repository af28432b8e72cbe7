"""Seed the SYNTHETIC demo data set through the same services every client uses."""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.db import Database
from shieldwall.demo_data import build_demo_dataset, member_identity_id
from shieldwall.intel.ingest import ingestor_for
from shieldwall.members import service as members
from shieldwall.policy import Role
from shieldwall.settings import Settings

# The demo's addresses are documentation ranges, which two warning lists name: left out of the
# demo's lists so that its correlations show.
DEMO_WARNINGLISTS = "all,-rfc5735,-rfc3849"


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    key: str


def seed(db: Database, settings: Settings) -> Login:
    """Create the demo members, users, groups and reports once; always return a fresh admin key."""
    dataset = build_demo_dataset()
    admin = next(u for u in dataset.users if u.role == Role.ADMIN.value)
    with db.write() as conn:
        if members.list_members(conn):
            user_id = members.user_by_email(conn, admin.email)["id"]
            return Login(admin.email, members.issue_api_key(conn, user_id).key)
        member_ids = {
            m.name: members.create_member(
                conn,
                m.name,
                m.kind,
                country=m.country,
                sectors=m.sectors,
                capabilities=m.capabilities,
                identity_id=member_identity_id(m.name),
            )
            for m in dataset.members
        }
        group_ids = {
            g.name: members.create_group(
                conn, g.name, member_ids[g.members[0]], [member_ids[n] for n in g.members]
            )
            for g in dataset.groups
        }
        user_ids = {
            u.email: members.create_user(conn, u.email, member_ids[u.member], Role(u.role)).user_id
            for u in dataset.users
        }
    dataset = build_demo_dataset(group_ids=group_ids)
    ingestor = ingestor_for(db, settings)
    try:
        for demo_bundle in dataset.bundles:
            with db.read() as conn:
                viewer = members.viewer_for_user(conn, user_ids[demo_bundle.user])
            ingestor.ingest(viewer, demo_bundle.bundle, source="demo")
    finally:
        ingestor.close()
    with db.write() as conn:
        return Login(admin.email, members.issue_api_key(conn, user_ids[admin.email]).key)
