"""Peers as admins manage them, what only a peer may send, and the canonical JSON signatures
cover, on both databases (the three-instance tests run each instance on SQLite)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.api.serving import serving
from tests.factories import World, indicator
from tests.test_cli import run

from shieldwall.app import create_app
from shieldwall.db import Database
from shieldwall.errors import Conflict, Invalid
from shieldwall.federation import peers
from shieldwall.federation.keys import instance_key
from shieldwall.federation.outgoing import leaving
from shieldwall.federation.signing import canonical, verify
from shieldwall.federation.sync import sync
from shieldwall.intel.tables import objects
from shieldwall.markings import SHARING_EXTENSION_ID
from shieldwall.members.service import create_member, get_user
from shieldwall.policy import Role
from shieldwall.selections.service import Selection
from shieldwall.settings import Settings
from shieldwall.taxii.collections import create_collection

KEY = "ed25519:" + "A" * 43 + "="


def test_a_member_never_sends_origin_path_or_signature(world: World) -> None:
    member = world.member()
    user = world.user(member)
    forged = leaving(indicator("198.51.100.70", tlp="green", distribution="all"),
                     instance_key(world.db))  # fmt: skip
    answer = user.share(forged)
    assert answer.status_code == 422
    assert "only a peer instance" in answer.text
    bad = indicator("198.51.100.71", tlp="green", distribution="all")
    bad["extensions"][SHARING_EXTENSION_ID]["path"] = ["not a key id"]
    assert user.share(bad).status_code == 422


def test_an_unconfigured_peer_member_has_everything_turned_away(world: World) -> None:
    peer_member = world.member("Unconfigured", kind="peer")
    peer_user = world.user(peer_member, Role.ANALYST)
    sent = indicator("198.51.100.72", tlp="green", distribution="all")
    answer = peer_user.share(sent)
    assert answer.status_code == 201, answer.text
    assert answer.json()["stored"] == 0 and answer.json()["refused"]
    reader = world.user(world.member())
    assert reader.get(f"/api/v1/objects/{sent['id']}").status_code == 404


def test_adding_a_peer_links_or_makes_its_member_and_refuses_what_cannot_work(db: Database) -> None:
    with db.write() as conn:
        made = create_member(conn, "EU-CERT", "peer")
        peer = peers.add_peer(conn, "EU-CERT", url="https://eu.example/", user="us@eu.example",
                              key="sw_x", public_key=KEY, direction="both")  # fmt: skip
        assert peer.member_id == made and peer.require_signatures and peer.pushes
        assert peer.api_root == "https://eu.example/taxii2/shieldwall/"
        taxii = peers.add_peer(conn, "Vendor feed", url="https://feed.example/api1/",
                               user="u", key="k")  # fmt: skip
        assert taxii.protocol == peers.TAXII and not taxii.require_signatures
        create_member(conn, "Industry", "industry")
    for name, options, error in (
        ("Vendor 2", {"url": "https://f.example/", "direction": "push"}, Invalid),
        ("Industry", {"url": "https://i.example/", "public_key": KEY}, Conflict),
        ("EU-CERT", {"url": "https://e.example/", "public_key": KEY}, Conflict),
        ("Bad", {"url": "ftp://x.example/", "public_key": KEY}, Invalid),
        ("Bad", {"url": "https://x.example/", "public_key": "ssh-rsa AAAA"}, Invalid),
    ):
        with pytest.raises(error), db.write() as conn:
            peers.add_peer(conn, name, user="u", key="k", **options)
    with db.read() as conn:
        listed = [p.as_dict() for p in peers.list_peers(conn)]
    assert [p["name"] for p in listed] == ["EU-CERT", "Vendor feed"]
    assert all("key" not in p and "sw_x" not in str(p) for p in listed)  # never the secret


def test_the_peer_commands_and_api(database_url: str, world: World) -> None:
    out = run("peer", "add", "Hub", "--url", "http://127.0.0.1:9/", "--public-key", KEY,
              "--user", "us@hub.example", "--key", "sw_hub", "--type", "indicator",
              "--max-tlp", "green", database_url=database_url).stdout  # fmt: skip
    assert "peer Hub added" in out
    listed = run("peer", "list", "--json", database_url=database_url).stdout
    assert '"Hub"' in listed and "sw_hub" not in listed
    failed = run("sync", "--peer", "Hub", database_url=database_url, check=False)
    assert failed.returncode == 1 and "FAILED" in failed.stdout
    admin = world.admin()
    analyst = world.user(world.member())
    assert analyst.get("/api/v1/peers").status_code == 403
    assert analyst.get("/api/v1/federation/keys").status_code == 403
    shown = admin.get("/api/v1/peers").json()["peers"]
    assert shown[0]["last_error"] and shown[0]["selection"]["types"] == ["indicator"]
    keys = admin.get("/api/v1/federation/keys").json()
    assert keys["instance"]["key_id"] == instance_key(world.db).key_id
    assert keys["peers"][0]["name"] == "Hub"
    added = admin.post("/api/v1/peers", json={"name": "Feed", "url": "https://f.example/t/",
                                              "user": "u", "key": "k"})  # fmt: skip
    assert added.status_code == 201 and added.json()["protocol"] == "taxii"
    assert admin.delete("/api/v1/peers/Feed").status_code == 204
    assert run("peer", "remove", "Hub", database_url=database_url).returncode == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_canonical_json_is_rfc_8785(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError, OverflowError):
        return  # not representable in RFC 8785 (integers beyond 2^53, lone surrogates...)
    assert canonical(value) == expected


def test_a_signature_holds_whatever_the_key_order_and_path(db: Database) -> None:
    key = instance_key(db)
    signed = leaving(indicator("198.51.100.73", tlp="green", distribution="all"), key)
    shuffled = {k: signed[k] for k in reversed(list(signed))}
    forwarded = copy.deepcopy(shuffled)
    forwarded["extensions"][SHARING_EXTENSION_ID]["path"].append("0123456789abcdef")
    assert verify(forwarded, {key.key_id: key.public}) is None
    assert signed["extensions"][SHARING_EXTENSION_ID]["origin"] == key.key_id


def test_any_taxii_server_is_pulled_from_unsigned(
    world: World, sqlite_template: Path, tmp_path: Path
) -> None:
    """A peer without a public key is any TAXII 2.1 server: here another Shieldwall's admin
    collection, read as a plain TAXII client would, its objects stored as the peer's."""
    other_url = f"sqlite:///{tmp_path / 'vendor.db'}"
    shutil.copy(sqlite_template, tmp_path / "vendor.db")
    vendor_app = create_app(Settings(database_url=other_url, warninglists="none",
                                     validation_workers=0))  # fmt: skip
    with TestClient(vendor_app) as vendor_client, serving(vendor_app) as vendor_url:
        vendor = World(vendor_app.state.db, vendor_client)
        reader = vendor.user(vendor.member("Our account there"), Role.READER)
        published = indicator("198.51.100.80", tlp="green", distribution="all")
        plain = indicator("198.51.100.81")  # says nothing of its sharing
        assert vendor.user(vendor.member("Vendor")).share(published, plain).status_code == 201
        with vendor.db.write() as conn:
            collection = create_collection(conn, "Everything", Selection())
            email = get_user(conn, reader.user_id)["email"]
        with world.db.write() as conn:
            peers.add_peer(conn, "Vendor feed", url=f"{vendor_url}/taxii2/shieldwall/",
                           user=email, key=reader.key, collection_id=collection)  # fmt: skip
        ingestor = world.client.app.state.ingestor
        results = sync(world.db, ingestor)
        assert results[0].error is None and results[0].stored >= 2, results[0]
        assert sync(world.db, ingestor)[0].stored == 0  # resumed after what it had
    ours = world.user(world.member())
    assert ours.get(f"/api/v1/objects/{published['id']}").status_code == 200
    assert ours.get(f"/api/v1/objects/{plain['id']}").status_code == 404
    with world.db.read() as conn:
        assert conn.scalar(select(func.count()).where(objects.c.object_id == plain["id"])) == 0
