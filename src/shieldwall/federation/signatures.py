"""Signatures kept with the stored versions they sign: serving a page to a peer is a lookup.

An object first shared here leaves signed by this instance (outgoing.py), over the object as it
leaves: its stored body with our key id as origin and the broker for an anonymous contributor.
That depends on nothing but the stored body and our key, so each version is signed once (an
Ed25519 signature with its canonical JSON costs ~30 µs, which every page served to every peer
paid again): by the signing job soon after a write, for every version whose distribution may
ever leave (federation, all, a group) while the instance has peers; a page served before the job
reached it is signed as it is served. Each signature is kept beside a digest of the body it was
made over and served only with that very body: a body rewritten since (erasure of personal data
rewrites bodies in place, and drops the signatures with the other rows kept beside the version)
is signed again when it leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Insert, Select, and_, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from shieldwall.db import Database, one_of
from shieldwall.federation.keys import InstanceKey, instance_key
from shieldwall.federation.outgoing import leaving, leaving_json, signed_here
from shieldwall.federation.signing import signature_of
from shieldwall.federation.tables import object_signatures
from shieldwall.intel.tables import objects
from shieldwall.markings import Distribution
from shieldwall.members.tables import members

SIGN_JOB = "federation-sign"
# What may ever leave the instance (DESIGN.md, access rules): org and community never do.
MAY_LEAVE = (Distribution.FEDERATION.value, Distribution.ALL.value, Distribution.GROUP.value)
_BATCH = 1000


def body_digest(body: str) -> str:
    """What a kept signature names the body it was made over by."""
    return hashlib.blake2b(body.encode(), digest_size=16).hexdigest()


def leaving_bodies(
    db: Database, key: InstanceKey, versions: Sequence[tuple[int, str]]
) -> list[bytes]:
    """Each stored version, (pk, body), as it leaves towards a peer, in JSON: with the signature
    kept for it when that was made over this very body, signed now otherwise."""
    with db.read() as conn:
        s = object_signatures.c
        kept = {
            row.object_pk: (row.body_digest, row.value)
            for row in conn.execute(
                select(s.object_pk, s.body_digest, s.value).where(
                    s.key_id == key.key_id, one_of(conn, s.object_pk, [pk for pk, _ in versions])
                )
            )
        }
    out = []
    for pk, body in versions:
        found = kept.get(pk)
        value = found[1] if found is not None and found[0] == body_digest(body) else None
        out.append(leaving_json(body, key, value))
    return out


class Signer:
    """The signing job: signs once each version written since its last run that may leave and
    leaves signed by us. Where it stands is kept in memory; a new process starts from the first
    version and skips, by a join, what is signed already."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.after = 0  # the last objects.pk looked at

    def run(self) -> int:
        """Sign what is new; the number of versions signed."""
        with self.db.read() as conn:
            if not conn.scalar(select(exists().where(members.c.kind == "peer"))):
                return 0  # nothing leaves an instance without peers
        key = instance_key(self.db)
        signed = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(self._unsigned(key)).all()
            if not rows:
                return signed
            made = []
            for pk, body in rows:
                obj = orjson.loads(body)
                if signed_here(obj):
                    signature = signature_of(leaving(obj, key))
                    assert signature is not None
                    made.append({"object_pk": pk, "key_id": key.key_id,
                                 "body_digest": body_digest(body),
                                 "value": signature["value"]})  # fmt: skip
            if made:
                with self.db.write() as conn:
                    # A version removed meanwhile has nothing left to sign.
                    pks = [m["object_pk"] for m in made]
                    there = set(
                        conn.scalars(select(objects.c.pk).where(one_of(conn, objects.c.pk, pks)))
                    )
                    made = [m for m in made if m["object_pk"] in there]
                    if made:
                        conn.execute(_insert_new(conn), made)
            self.after = rows[-1].pk
            signed += len(made)

    def _unsigned(self, key: InstanceKey) -> Select[Any]:
        o, s = objects.c, object_signatures.c
        peers = select(members.c.id).where(members.c.kind == "peer")
        return (
            select(o.pk, o.body)
            .select_from(
                objects.outerjoin(
                    object_signatures, and_(s.object_pk == o.pk, s.key_id == key.key_id)
                )
            )
            .where(
                o.pk > self.after,
                o.distribution.in_(MAY_LEAVE),
                o.member_id.not_in(peers),  # what arrived from a peer leaves with its origin's
                s.object_pk.is_(None),
            )
            .order_by(o.pk)
            .limit(_BATCH)
        )


def _insert_new(conn: Connection) -> Insert:
    """Signatures not kept yet: a version signed meanwhile (a job whose lease lapsed, a test's
    own run beside the app's) keeps the one it has, which is the same."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(object_signatures).on_conflict_do_nothing()
