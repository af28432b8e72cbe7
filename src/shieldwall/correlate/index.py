"""Rows of the correlation index for one object, and the keys they are found by."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table

from shieldwall.correlate.observables import Observable, lookup_key, observables_of
from shieldwall.correlate.tables import object_refs, observable_keys
from shieldwall.search.tables import observable_values

# Types whose object_refs say "these objects belong to me".
CONTAINER_TYPES = frozenset({"report", "grouping", "note", "opinion", "observed-data"})
# A version digit, then the address in fixed-width hex: IPv4 and IPv6 never compare equal and
# each sorts numerically within its version.
_ADDRESS_FORM = {
    "ipv4": "4{:08x}", "ipv6": "6{:032x}", "ipv4-cidr": "4{:08x}", "ipv6-cidr": "6{:032x}"
}  # fmt: skip
PRIVATE_PREFIX_LENGTH = 5  # hex digits of sha256(lookup key) a private lookup discloses
_sha256 = hashlib.sha256
_HALF = 1 << 63


def key_digest(key: str) -> str:
    """The full SHA-256 (hex) of a lookup key: what a private lookup matches on."""
    # surrogatepass: a lone surrogate (JSON allows "\ud800") must not stop an ingest or a lookup.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_hash(key: str) -> int:
    """The first 8 bytes of the key's SHA-256 as a signed 64-bit integer that sorts like them."""
    # From the digest's bytes, not its hex: the same number for a third of the time, on a path
    # that runs for every value ingested.
    try:
        data = key.encode()
    except UnicodeEncodeError:  # a lone surrogate, as key_digest encodes it
        data = key.encode("utf-8", "surrogatepass")
    return int.from_bytes(_sha256(data).digest()[:8], "big") - _HALF


def prefix_range(prefix: str) -> tuple[int, int]:
    """The key_hash interval of every key whose SHA-256 starts with `prefix` (hex)."""
    bits = 4 * len(prefix)
    low = int(prefix, 16) << (64 - bits)
    high = low | ((1 << (64 - bits)) - 1)
    return low - (1 << 63), high - (1 << 63)


def address_bounds(observable: Observable) -> tuple[str | None, str | None]:
    """The bounds of an address or range as sortable text (low == high for an address); None,
    None for any other kind."""
    form = _ADDRESS_FORM.get(observable.kind)
    if form is None:
        return None, None
    if observable.low is not None and observable.high is not None:
        return form.format(observable.low), form.format(observable.high)
    number = int(ipaddress.ip_address(observable.value.partition("/")[0]))
    return form.format(number), form.format(number)


def key_row(pk: int, observable: Observable, benign: str | None, first: bool) -> tuple[Any, ...]:
    """One `observable_keys` row, in KEY_COLUMNS order: `high` only for a range."""
    low, high = address_bounds(observable)
    high = high if observable.kind.endswith("-cidr") else None
    return pk, key_hash(lookup_key(observable)), benign, low, high, None if first else True


KEY_COLUMNS = ("object_pk", "key_hash", "benign", "low", "high", "not_first")
REF_COLUMNS = ("object_pk", "ref_id")
VALUE_COLUMNS = ("object_pk", "kind", "value")


class CorrelationIndex:
    """The observable keys and report references of each stored object version (an ObjectIndex).

    `benign_of(observable) -> str | None` names the warning lists a value is on. With
    `values=True` it also fills search's observable_values table: finding an object's values is
    most of the work, and this way it is done once for both.
    """

    def __init__(
        self, benign_of: Callable[[Observable], str | None] | None = None, *, values: bool = False
    ) -> None:
        self._benign_of = benign_of
        self._values = values
        self.layouts: tuple[tuple[Table, tuple[str, ...]], ...] = (
            (observable_keys, KEY_COLUMNS),
            (object_refs, REF_COLUMNS),
        )
        if values:
            self.layouts += ((observable_values, VALUE_COLUMNS),)

    def rows(self, pk: int, obj: dict[str, Any]) -> tuple[list[tuple[Any, ...]], ...]:
        benign_of = self._benign_of
        observables = observables_of(obj)
        # key_row, unrolled: this runs for every value ingested.
        key_rows: list[tuple[Any, ...]] = []
        not_first = None
        for observable in observables:
            kind, value, low, high = observable
            form = _ADDRESS_FORM.get(kind)
            if form is None:
                low_text = high_text = None
            elif low is not None and high is not None:
                low_text = form.format(low)
                high_text = form.format(high) if kind.endswith("-cidr") else None
            else:
                low_text, high_text = address_bounds(observable)
                if not kind.endswith("-cidr"):
                    high_text = None
            key_rows.append((
                pk, key_hash(f"{kind}:{value}"), benign_of(observable) if benign_of else None,
                low_text, high_text, not_first,
            ))  # fmt: skip
            not_first = True
        object_type = obj.get("type")
        if object_type in CONTAINER_TYPES:
            refs = obj.get("object_refs") or []
            ref_rows = [(pk, ref) for ref in dict.fromkeys(refs)] if refs else []
        elif object_type == "sighting":  # what it sights, so its indicator's score can count it
            ref_rows = [(pk, obj["sighting_of_ref"])]
        else:
            ref_rows = []
        if not self._values:
            return key_rows, ref_rows
        return key_rows, ref_rows, [(pk, o[0], o[1]) for o in observables]
