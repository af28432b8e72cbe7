"""Seed the SYNTHETIC demo data set through the same services every client uses.

Every start prints an admin API key. Keys are stored only as hashes, so the one printed last time
cannot be printed again: each start mints a new one and revokes the demo admin's earlier keys,
so that restarting the demo leaves exactly one admin key that works, the one on the screen. The
same goes for the admin's web password: a new one each start, printed, stored only as a hash.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, update

from shieldwall.audit import service as audit
from shieldwall.db import Database, utc_now
from shieldwall.demo_data import DemoDataset, build_demo_dataset, member_identity_id
from shieldwall.incidents.demo import seed_demo_incidents
from shieldwall.intel.ingest import ingestor_for
from shieldwall.markings import TLP
from shieldwall.members import passwords
from shieldwall.members import service as members
from shieldwall.members.tables import api_keys
from shieldwall.policy import Role
from shieldwall.selections.service import Selection
from shieldwall.settings import Settings
from shieldwall.sightings import service as sightings
from shieldwall.taxii.collections import create_collection, defined_collections

# What a TAXII client or a MISP instance reads from the demo: an admin's collection (and so a MISP
# feed) of everything shared up to TLP:AMBER, each reader still seeing only what the policy lets.
DEMO_COLLECTION = "SYNTHETIC demo: shared intel up to TLP:AMBER"

# The demo's addresses are documentation ranges, which two warning lists name: left out of the
# demo's lists so that its correlations show.
DEMO_WARNINGLISTS = "all,-rfc5735,-rfc3849"


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    key: str
    password: str  # for the web application's sign-in page
    collection_id: str  # DEMO_COLLECTION's: a TAXII collection and a MISP feed


def _demo_collection(conn: Connection) -> str:
    """DEMO_COLLECTION's id, made when missing (a demo seeded before it existed gets it too)."""
    for collection in defined_collections(conn):
        if collection["title"] == DEMO_COLLECTION:
            return str(collection["id"])
    return create_collection(
        conn,
        DEMO_COLLECTION,
        Selection(max_tlp=TLP.AMBER),
        "Every SYNTHETIC report and indicator shared up to TLP:AMBER; each reader sees what "
        "the policy lets it see.",
    )


def _new_admin_key(conn: Connection, email: str, user_id: str) -> Login:
    """A new key for the demo admin, its earlier ones revoked, all in the caller's transaction
    and audited. (members/service.py has no key revocation of its own yet; it belongs there.)"""
    revoked = conn.execute(
        update(api_keys)
        .where(api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    ).rowcount
    new = members.issue_api_key(conn, user_id)
    audit.append(conn, None, "api_key.rotate", {"user": email, "revoked": revoked, "via": "demo"})
    password = secrets.token_urlsafe(12)  # 16 characters, 96 random bits
    passwords.set_password(conn, user_id, password)
    audit.append(conn, None, "user.password", {"email": email, "via": "demo"})
    return Login(email, new.key, password, _demo_collection(conn))


def seed(db: Database, settings: Settings) -> Login:
    """Create the demo members, users, groups and reports once; every call returns a new admin
    key and revokes the admin's earlier ones."""
    dataset = build_demo_dataset()
    admin = next(u for u in dataset.users if u.role == Role.ADMIN.value)
    with db.write() as conn:
        if members.list_members(conn):
            user_id = members.user_by_email(conn, admin.email)["id"]
            return _new_admin_key(conn, admin.email, user_id)
        member_ids = {
            m.name: members.create_member(
                conn,
                m.name,
                m.kind,
                country=m.country,
                sectors=m.sectors,
                capabilities=m.capabilities,
                contacts=m.contacts,
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
    _record_sightings(db, dataset, user_ids)
    seed_demo_incidents(db, settings, dataset, user_ids, datetime.now(UTC))
    with db.write() as conn:
        return _new_admin_key(conn, admin.email, user_ids[admin.email])


def _record_sightings(db: Database, dataset: DemoDataset, user_ids: dict[str, str]) -> None:
    """Each member's sightings through the sightings service, as POST /api/v1/sightings would."""
    by_user: dict[str, list[sightings.SightingIn]] = {}
    for s in dataset.sightings:
        by_user.setdefault(s.user, []).append(
            sightings.SightingIn(
                value=s.value,
                kind=s.kind,
                count=s.count,
                seen_at=s.seen_at,
                tlp=s.tlp,
                distribution="community",
            )
        )
    for email, entries in by_user.items():
        with db.read() as conn:
            viewer = members.viewer_for_user(conn, user_ids[email])
        sightings.record(db, viewer, entries)
