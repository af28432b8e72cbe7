"""The instance's Ed25519 key pair: who this instance is to its peers.

One key per instance (per database: every app process of one PostgreSQL signs as the same
instance), made by `shieldwall init` or on first use, kept in `instance_keys`. A key id is the
first 16 hex digits of the SHA-256 of the raw 32-byte public key (DESIGN.md, sharing metadata on
the wire); a public key is written `ed25519:<base64 of the raw 32 bytes>`, one line to hand to
a peer's admin.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError
from sqlalchemy import Column, Connection, String, Table, Text, select

from shieldwall.db import Database, metadata, utc_now
from shieldwall.errors import Invalid

PREFIX = "ed25519:"
SIGNATURE_BYTES = 64
# Keys are made and kept (PKCS#8 PEM) with `cryptography`; every object a peer sends is signed
# and verified with libsodium (PyNaCl), which does both in a fraction of OpenSSL's time here
# (verify 59 against 115 µs, sign 25 against 36: a pull verifies every object it takes).
# Ed25519 signatures are deterministic: the two libraries sign alike.

instance_keys = Table(
    "instance_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("public_key", String(100), nullable=False),  # ed25519:<base64>
    Column("private_key", Text, nullable=False),  # PKCS#8 PEM, unencrypted (as the DB's secrets)
    Column("created_at", String(32), nullable=False),
)


def key_id_of(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """A peer's (or our own) public key, as written on one line."""

    raw: bytes

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        body = text.strip()
        if not body.startswith(PREFIX):
            raise Invalid(f"a public key is written {PREFIX}<base64 of 32 bytes>")
        try:
            raw = base64.b64decode(body[len(PREFIX) :], validate=True)
        except ValueError:
            raise Invalid("the public key is not valid base64") from None
        if len(raw) != 32:
            raise Invalid("an Ed25519 public key is 32 bytes")
        return cls(raw)

    @property
    def key_id(self) -> str:
        return key_id_of(self.raw)

    def __str__(self) -> str:
        return PREFIX + base64.b64encode(self.raw).decode()

    def verifies(self, signature: bytes, message: bytes) -> bool:
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            crypto_sign_open(signature + message, self.raw)
        except BadSignatureError:
            return False
        return True


@dataclass(frozen=True)
class InstanceKey:
    private: Ed25519PrivateKey
    public: PublicKey

    @property
    def key_id(self) -> str:
        return self.public.key_id

    @functools.cached_property
    def _secret(self) -> bytes:
        """libsodium's form of the private key (seed and public key, 64 bytes)."""
        seed = self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )  # fmt: skip
        return crypto_sign_seed_keypair(seed)[1]

    def sign(self, message: bytes) -> bytes:
        return crypto_sign(message, self._secret)[:SIGNATURE_BYTES]


def instance_key(db: Database) -> InstanceKey:
    """This instance's key, made on first use (under the write lock: one per database)."""
    with db.read() as conn:
        found = _load(conn)
    if found is not None:
        return found
    with db.write() as conn:
        found = _load(conn)  # another process may have made it meanwhile
        if found is not None:
            return found
        private = Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = PublicKey(raw)
        conn.execute(instance_keys.insert().values(
            key_id=public.key_id, public_key=str(public), private_key=pem, created_at=utc_now(),
        ))  # fmt: skip
        return InstanceKey(private, public)


def _load(conn: Connection) -> InstanceKey | None:
    row = conn.execute(select(instance_keys).order_by(instance_keys.c.created_at).limit(1)).first()
    if row is None:
        return None
    private = serialization.load_pem_private_key(row.private_key.encode(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    return InstanceKey(private, PublicKey.parse(row.public_key))
