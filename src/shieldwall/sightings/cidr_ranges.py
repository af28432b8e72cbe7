"""The warning lists' CIDR entries of one IP version, for "which entries hold this address or
range" in one `bisect`.

The entries are cut into elementary segments, the spans between consecutive range bounds, and
each segment lists every entry that covers it whole: a query finds its segment, then keeps the
entries that also reach its last address.
"""

from __future__ import annotations

import dataclasses
import socket
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class RangeTable:
    """The CIDR entries of one IP version; segment i is [bounds[i], bounds[i + 1])."""

    bounds: Sequence[int]
    seg_offsets: Sequence[int]  # segment i is covered by seg_entries[off[i]:off[i + 1]]
    seg_entries: Sequence[int]
    entry_hi: Sequence[int]  # the last address of each entry
    entry_prefix: Sequence[int]
    entry_list: Sequence[int]
    entry_text: tuple[str, ...]
    # Derived on loading, never saved: coarse[k] is the number of bounds below k << coarse_shift,
    # so an address's first _COARSE_BITS bits narrow the bisect to a few steps (a fifth of the
    # full one's eighteen over 200,000 bounds: ingest asks this of every address it stores).
    coarse_shift: int = 0
    coarse: Sequence[int] = ()

    @classmethod
    def build(cls, ranges: list[tuple[int, int, int, str]], *, wide: bool) -> RangeTable:
        """Cut (first, last, list index, text) ranges into segments that each know their
        entries; `wide` for IPv6."""
        ranges.sort(key=lambda r: (r[0], -r[1]))
        bounds = sorted({r[0] for r in ranges} | {r[1] + 1 for r in ranges})
        position = {bound: i for i, bound in enumerate(bounds)}
        covers: list[list[int]] = [[] for _ in bounds]
        for entry, (lo, hi, _, _) in enumerate(ranges):
            for segment in range(position[lo], position[hi + 1]):
                covers[segment].append(entry)
        offsets = [0]
        for cover in covers:
            offsets.append(offsets[-1] + len(cover))
        bits = 128 if wide else 32
        return cls.from_state(
            {
                "wide": wide,
                "bounds": bounds,
                "seg_offsets": offsets,
                "seg_entries": [entry for cover in covers for entry in cover],
                "entry_hi": [r[1] for r in ranges],
                "entry_prefix": [bits - (r[1] - r[0]).bit_length() for r in ranges],
                "entry_list": [r[2] for r in ranges],
                "entry_text": [r[3] for r in ranges],
            }
        )

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RangeTable:
        """A table from plain lists (`state`); IPv6 addresses stay Python ints, too wide for
        arrays."""
        wide = state["wide"]

        def addresses(values: list[Any]) -> Sequence[int]:
            if wide:
                return tuple(int(v, 16) if isinstance(v, str) else v for v in values)
            return readonly("Q", values)

        bounds = addresses(state["bounds"])
        shift = (128 if wide else 32) - _COARSE_BITS
        return cls(
            bounds=bounds,
            seg_offsets=readonly("I", state["seg_offsets"]),
            seg_entries=readonly("I", state["seg_entries"]),
            entry_hi=addresses(state["entry_hi"]),
            entry_prefix=readonly("B", state["entry_prefix"]),
            entry_list=readonly("H", state["entry_list"]),
            entry_text=tuple(state["entry_text"]),
            coarse_shift=shift,
            coarse=_coarse(bounds, shift),
        )

    def state(self) -> dict[str, Any]:
        """Plain lists for JSON; IPv6 addresses as hex, as JSON numbers stop at 64 bits."""
        state: dict[str, Any] = {
            f.name: list(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in _DERIVED
        }
        state["wide"] = isinstance(self.bounds, tuple)
        if state["wide"]:
            state["bounds"] = [format(v, "x") for v in self.bounds]
            state["entry_hi"] = [format(v, "x") for v in self.entry_hi]
        return state

    def containing(self, lo: int, hi: int) -> Iterator[int]:
        """Entries whose range holds every address from lo to hi."""
        k = lo >> self.coarse_shift
        i = bisect_right(self.bounds, lo, self.coarse[k], self.coarse[k + 1]) - 1
        if i >= 0:
            for entry in self.seg_entries[self.seg_offsets[i] : self.seg_offsets[i + 1]]:
                if self.entry_hi[entry] >= hi:
                    yield entry


_COARSE_BITS = 16
_DERIVED = frozenset({"coarse_shift", "coarse"})


def _coarse(bounds: Sequence[int], shift: int) -> Sequence[int]:
    """For each k of _COARSE_BITS bits, how many bounds lie below k << shift (see RangeTable)."""
    counts = [0] * ((1 << _COARSE_BITS) + 1)
    below, n = 0, len(bounds)
    for k in range(len(counts)):
        limit = k << shift
        while below < n and bounds[below] < limit:
            below += 1
        counts[k] = below
    return readonly("I", counts)


def parse_range(text: str) -> tuple[int, int, int] | None:
    """(IP version, first address, last address) of an address or a CIDR, host bits ignored."""
    address, _, prefix = text.strip().partition("/")
    family, version, bits = (socket.AF_INET6, 6, 128) if ":" in address else (socket.AF_INET, 4, 32)
    try:
        lo = int.from_bytes(socket.inet_pton(family, address), "big")
    except OSError:
        return None
    if prefix and not (prefix.isdigit() and int(prefix) <= bits):
        return None
    host_bits = (1 << (bits - int(prefix or bits))) - 1
    return version, lo & ~host_bits, lo | host_bits


def readonly(typecode: str, values: Iterable[int]) -> memoryview:
    """An array that cannot be changed, of the given typecode."""
    return memoryview(array(typecode, values)).toreadonly()
