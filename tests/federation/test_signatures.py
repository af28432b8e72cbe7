"""Signatures kept with the stored versions (federation/signatures.py): made once, served as they
were made, and never served for a body that changed since; on both databases."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from sqlalchemy import select, update
from tests.factories import World, indicator

from shieldwall.federation.keys import instance_key
from shieldwall.federation.signatures import Signer, body_digest
from shieldwall.federation.signing import verify
from shieldwall.federation.tables import object_signatures
from shieldwall.intel.tables import objects
from shieldwall.markings import SHARING_EXTENSION_ID
from shieldwall.policy import Role
from shieldwall.taxii.collections import FEDERATION_COLLECTION_ID
from shieldwall.taxii.protocol import TAXII_MEDIA_TYPE

FEDERATION = f"/taxii2/shieldwall/collections/{FEDERATION_COLLECTION_ID}/objects/"
VICTIM = "jan.kowalski@victim.example"


def _served(peer: Any) -> dict[str, dict[str, Any]]:
    """What the peer's account reads from the federation collection, by id."""
    answer = peer.client.get(
        FEDERATION,
        headers={**peer.headers, "Accept": TAXII_MEDIA_TYPE},
        params={"match[version]": "all"},
    )
    assert answer.status_code == 200, answer.text
    return {o["id"]: o for o in answer.json().get("objects", [])}


def _kept(world: World) -> dict[str, str]:
    """The signatures kept, by the id of the object they sign."""
    s, o = object_signatures.c, objects.c
    with world.db.read() as conn:
        rows = conn.execute(
            select(o.object_id, s.value).select_from(
                object_signatures.join(objects, o.pk == s.object_pk)
            )
        )
        return {r.object_id: r.value for r in rows}


def test_what_may_leave_is_signed_once_and_served_as_signed(world: World) -> None:
    sharer = world.user(world.member())
    leaves = indicator("198.51.100.80", tlp="green", distribution="all")
    stays = indicator("198.51.100.81", tlp="green", distribution="community")
    assert sharer.share(leaves, stays).status_code == 201
    signer = Signer(world.db)
    assert signer.run() == 0  # no peer: nothing leaves, nothing is signed
    peer = world.user(world.member("Peer instance", kind="peer"), Role.ANALYST)
    signer.run()
    kept = _kept(world)
    assert leaves["id"] in kept and stays["id"] not in kept  # community never leaves
    assert Signer(world.db).run() == 0  # a new process signs nothing twice
    key = instance_key(world.db)
    served = _served(peer)
    assert leaves["id"] in served and stays["id"] not in served
    ext = served[leaves["id"]]["extensions"][SHARING_EXTENSION_ID]
    assert ext["signature"] == {"alg": "ed25519", "key_id": key.key_id, "value": kept[leaves["id"]]}
    assert ext["origin"] == key.key_id and ext["path"] == [key.key_id]
    assert verify(served[leaves["id"]], {key.key_id: key.public}) is None


def test_a_kept_signature_is_never_served_for_a_body_that_changed(world: World) -> None:
    admin = world.admin()
    sharer = world.user(world.member())
    peer = world.user(world.member("Peer instance", kind="peer"), Role.ANALYST)
    sent = indicator("198.51.100.82", tlp="green", distribution="all")
    sent["description"] = f"Phishing from {VICTIM}"
    assert sharer.share(sent).status_code == 201
    Signer(world.db).run()
    before = _kept(world)[sent["id"]]
    key = instance_key(world.db)
    # Erasure of personal data rewrites the body in place, and drops the signature with the
    # version's other rows kept beside it: what leaves is signed over the new body.
    reason = "erasure request, ticket DP-77"
    erased = admin.post("/api/v1/admin/privacy/erase", json={"value": VICTIM, "reason": reason})
    assert erased.status_code == 200, erased.text
    assert _kept(world).get(sent["id"]) != before
    served = _served(peer)[sent["id"]]
    assert VICTIM not in orjson.dumps(served).decode()
    assert verify(served, {key.key_id: key.public}) is None
    assert served["extensions"][SHARING_EXTENSION_ID]["signature"]["value"] != before
    Signer(world.db).run()  # a new process signs the rewritten body
    assert (
        _kept(world)[sent["id"]] == served["extensions"][SHARING_EXTENSION_ID]["signature"]["value"]
    )
    # A body changed by any other way than erasure, its signature left behind: the digest
    # tells, and the object is signed again as it is served rather than served with it.
    with world.db.write() as conn:
        stored = conn.scalar(select(objects.c.body).where(objects.c.object_id == sent["id"]))
        body = orjson.loads(stored)
        changed = copy.deepcopy(body)
        changed["name"] = "Renamed in place"
        conn.execute(update(objects).where(objects.c.object_id == sent["id"])
                     .values(body=orjson.dumps(changed).decode()))  # fmt: skip
    served = _served(peer)[sent["id"]]
    assert served["name"] == "Renamed in place"
    assert verify(served, {key.key_id: key.public}) is None
    s, o = object_signatures.c, objects.c
    with world.db.read() as conn:
        stale = conn.scalar(
            select(s.body_digest)
            .select_from(object_signatures.join(objects, o.pk == s.object_pk))
            .where(o.object_id == sent["id"])
        )
    assert stale == body_digest(stored)  # still there, and not served
