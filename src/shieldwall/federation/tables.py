"""Federation's tables: the peers this instance exchanges with, keys they vouch for, and the
signatures of what leaves towards them."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Table, Text

from shieldwall.db import metadata

# One row per peer instance. On this side the peer is a member of kind `peer` (member_id): its
# accounts read what may leave towards it, and what arrives from it is stored as its.
peers = Table(
    "peers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("member_id", String(36), ForeignKey("members.id"), nullable=False, unique=True),
    Column("url", String(1000), nullable=False),  # a Shieldwall's base URL, or a TAXII API root
    Column("protocol", String(20), nullable=False),  # shieldwall | taxii (any TAXII 2.1 server)
    Column("direction", String(10), nullable=False),  # pull | push | both
    Column("public_key", String(100)),  # ed25519:<base64>; none for a plain TAXII server
    Column("key_id", String(16)),
    Column("remote_user", String(320), nullable=False),  # the account the other side made for us
    Column("remote_key", Text, nullable=False),  # its API key (a secret, as the database's own)
    Column("collection_id", String(300)),  # a plain TAXII server's collection; none: every one
    Column("selection_id", String(36), ForeignKey("selections.id")),  # what we exchange
    Column("require_signatures", Boolean, nullable=False),
    Column("push_after_pk", BigInteger, nullable=False),  # what was pushed last (objects.pk)
    Column("last_sync_at", String(32)),
    Column("last_error", Text),  # the last round's failure, shown to admins; none when it worked
    Column("created_at", String(32), nullable=False),
)

# Keys of instances that are not our peers but whose objects reach us through one: a peer
# vouches for the instances it exchanges with, so a third instance can check their signatures.
vouched_keys = Table(
    "vouched_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("public_key", String(100), nullable=False),
    Column("name", String(200), nullable=False),  # as the vouching peer calls it
    Column("vouched_by", String(36), ForeignKey("peers.id", ondelete="CASCADE"), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# This instance's signature of each stored version that may leave towards a peer, made once
# (federation/signatures.py) so that serving a page is a lookup: over the version as it leaves,
# which depends only on the stored body and the key. `body_digest` names the body it was made
# over: a body rewritten since no longer matches and is signed again. Named object_pk, as the
# indexes kept beside the objects are: removal and erasure of personal data delete its rows with
# theirs (intel/removal.index_keys).
object_signatures = Table(
    "object_signatures",
    metadata,
    Column("object_pk", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("key_id", String(16), primary_key=True),
    Column("body_digest", String(32), nullable=False),
    Column("value", String(88), nullable=False),  # base64 of the 64-byte Ed25519 signature
)
