"""Rows of the correlation index for one object, and the keys they are found by."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

from shieldwall.correlate.observables import Observable, lookup_key, observables_of
from shieldwall.correlate.tables import object_refs, observables

# Types whose object_refs say "these objects belong to me".
CONTAINER_TYPES = frozenset({"report", "grouping", "note", "opinion", "observed-data"})
_ADDRESS_WIDTH = {"ipv4": 8, "ipv6": 32, "ipv4-cidr": 8, "ipv6-cidr": 32}
PRIVATE_PREFIX_LENGTH = 5  # hex digits of sha256(lookup key) a private lookup discloses


def key_digest(key: str) -> str:
    """The full SHA-256 (hex) of a lookup key: what a private lookup matches on."""
    # surrogatepass: a lone surrogate (JSON allows "\ud800") must not stop an ingest or a lookup.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_hash(key: str) -> int:
    """The first 8 bytes of the key's SHA-256 as a signed 64-bit integer that sorts like them."""
    return int(key_digest(key)[:16], 16) - (1 << 63)


def prefix_range(prefix: str) -> tuple[int, int]:
    """The key_hash interval of every key whose SHA-256 starts with `prefix` (hex)."""
    bits = 4 * len(prefix)
    low = int(prefix, 16) << (64 - bits)
    high = low | ((1 << (64 - bits)) - 1)
    return low - (1 << 63), high - (1 << 63)


def _hex(number: int, kind: str) -> str:
    return format(number, f"0{_ADDRESS_WIDTH[kind]}x")


def address_bounds(observable: Observable) -> tuple[str | None, str | None]:
    """Fixed-width hex bounds of an address or range, so containment is a text range query."""
    if observable.kind not in _ADDRESS_WIDTH:
        return None, None
    if observable.low is not None and observable.high is not None:
        return _hex(observable.low, observable.kind), _hex(observable.high, observable.kind)
    number = int(ipaddress.ip_address(observable.value.partition("/")[0]))
    return _hex(number, observable.kind), _hex(number, observable.kind)


def observable_row(pk: int, observable: Observable, benign: str | None) -> tuple[Any, ...]:
    """One `observables` row, in OBSERVABLE_COLUMNS order."""
    low, high = address_bounds(observable)
    return (pk, key_hash(lookup_key(observable)), observable.kind, observable.value, low, high,
            benign)  # fmt: skip


OBSERVABLE_COLUMNS = ("object_pk", "key_hash", "kind", "value", "low", "high", "benign")
REF_COLUMNS = ("object_pk", "ref_id")


class CorrelationIndex:
    """The observables and report references of each stored object version (an ObjectIndex).

    `benign_of(observable) -> str | None` names the warning lists a value is on.
    """

    layouts = ((observables, OBSERVABLE_COLUMNS), (object_refs, REF_COLUMNS))

    def __init__(self, benign_of: Callable[[Observable], str | None] | None = None) -> None:
        self._benign_of = benign_of

    def rows(self, pk: int, obj: dict[str, Any]) -> tuple[list[tuple[Any, ...]], ...]:
        benign_of = self._benign_of
        observable_rows = [
            observable_row(pk, o, benign_of(o) if benign_of else None) for o in observables_of(obj)
        ]
        refs: list[str] = []
        if obj.get("type") in CONTAINER_TYPES:
            refs = obj.get("object_refs") or []
        elif obj.get("type") == "sighting":  # what it sights, so its indicator's score can count it
            refs = [obj["sighting_of_ref"]]
        ref_rows = [(pk, ref) for ref in dict.fromkeys(refs)]
        return observable_rows, ref_rows
