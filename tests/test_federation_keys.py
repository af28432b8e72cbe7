"""The instance key and signed objects (federation, DESIGN.md: sharing metadata on the wire)."""

from __future__ import annotations

import copy

from shieldwall.db import Database
from shieldwall.federation.keys import PublicKey, instance_key
from shieldwall.federation.signing import sign, signature_of, verify
from shieldwall.markings import SHARING_EXTENSION_ID
from tests.factories import indicator
from tests.test_cli import run


def test_a_tampered_or_foreign_signature_is_refused(db: Database) -> None:
    key = instance_key(db)
    obj = indicator("198.51.100.9", tlp="green", distribution="federation")
    signed = sign(obj, key)
    keys = {key.key_id: key.public}
    for change in (
        lambda o: o.update(pattern="[ipv4-addr:value = '198.51.100.10']"),
        lambda o: o["extensions"][SHARING_EXTENSION_ID].update(distribution="all"),
        lambda o: o.update(object_marking_refs=[]),
        lambda o: o["extensions"][SHARING_EXTENSION_ID]["signature"].update(value="AAAA"),
    ):
        altered = copy.deepcopy(signed)
        change(altered)
        assert verify(altered, keys) is not None
    assert verify(obj, keys) == "the object is not signed"
    assert verify(signed, {}) is not None  # a key nobody configured
    assert verify(signed, keys) is None


def test_the_signature_survives_forwarding_and_key_order(db: Database) -> None:
    key = instance_key(db)
    signed = sign(indicator("198.51.100.11", tlp="green", distribution="all"), key)
    forwarded = copy.deepcopy(signed)
    forwarded["extensions"][SHARING_EXTENSION_ID]["path"] = [key.key_id, "0123456789abcdef"]
    reordered = dict(reversed(list(forwarded.items())))
    assert verify(reordered, {key.key_id: key.public}) is None
    assert signature_of(signed)["key_id"] == key.key_id  # type: ignore[index]
    assert len(key.key_id) == 16


def test_one_key_per_instance_and_its_line_parses_back(db: Database) -> None:
    first, again = instance_key(db), instance_key(db)
    assert first.key_id == again.key_id
    line = str(first.public)
    assert line.startswith("ed25519:") and PublicKey.parse(line) == first.public


def test_instance_key_prints_the_public_key(database_url: str) -> None:
    printed = run("instance", "key", database_url=database_url)
    again = run("instance", "key", database_url=database_url)
    line = printed.stdout.strip()
    assert line == again.stdout.strip() and PublicKey.parse(line).key_id


def test_libsodium_signs_as_openssl_does_and_checks_what_openssl_signed(db: Database) -> None:
    """Signatures are made and checked with libsodium; a peer on OpenSSL (or any RFC 8032
    Ed25519) reads and writes the same bytes, since Ed25519 signatures are deterministic."""
    key = instance_key(db)
    message = b'{"id":"indicator--1","type":"indicator"}'
    assert key.sign(message) == key.private.sign(message)
    assert key.public.verifies(key.private.sign(message), message)
    for wrong in (b"", b"\0" * 64, key.sign(message)[:63], key.sign(message) + b"\0"):
        assert not key.public.verifies(wrong, message)
    assert not key.public.verifies(key.sign(message), message + b" ")
