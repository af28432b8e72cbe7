"""The correlation index's key hash: the number the stored rows and every lookup agree on."""

from __future__ import annotations

from shieldwall.correlate.index import key_digest, key_hash


def test_key_hash_is_the_first_eight_bytes_of_the_digest_shifted_to_signed() -> None:
    for key in ("domain:example.com", "ipv4:198.51.100.7", "other:x:y:\u00e9", "", "url:\ud800"):
        assert key_hash(key) == int(key_digest(key)[:16], 16) - (1 << 63), key
    # As stored since migration 0002: a changed number would orphan every stored key.
    assert key_hash("domain:example.com") == 7860236221349746920
