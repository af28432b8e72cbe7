"""New correlations: which objects a new version shares a value with, as the stream tells each
subscriber (a `correlation` event after the version's own).

new_correlations asks the index for one viewer. The stream's one reader per process asks it for
every subscriber at once instead: correlation_candidates reads every latest version holding one
of the values, with what the policy looks at, and correlations_seen_by keeps, per subscriber and
in memory, what `may_see` lets it see; the answers are the same
(tests/stream/test_shared_reader.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection

from shieldwall.correlate.index import address_bounds, key_hash
from shieldwall.correlate.matches import HIT_COLUMNS, exact_rows, range_rows
from shieldwall.correlate.observables import Observable, lookup_key, observables_of
from shieldwall.policy import Viewer, may_see


def new_correlations(
    conn: Connection,
    viewer: Viewer,
    versions: Sequence[tuple[int, str, str]],
    *,
    noisy_threshold: int,
    most: int = 20,
) -> dict[int, list[dict[str, str]]]:
    """For new object versions, (pk, object_id, body): the other objects whose latest version
    the viewer may see that share a value with it (what the stream calls a new correlation):
    the same value, or an address inside a range (either way round), at most `most` each, by
    id; values on a warning list, values held by more than `noisy_threshold` visible objects and
    ranges too wide to list link nothing, as in `correlations`."""
    own = _Own.of(versions)
    rows = exact_rows(conn, viewer, own.hashes())
    ranged = range_rows(conn, viewer, own.observables)[0]
    return _new_links(own, rows, ranged, noisy_threshold, most)


class _Own(NamedTuple):
    """New versions' own values, as new_correlations looks them up."""

    ids: dict[int, str]  # pk -> object_id
    # pk -> for each value: its key hash, and for an address or a range what range_rows
    # answers it by (None for other values)
    asked: dict[int, list[tuple[int, Any]]]
    observables: list[Observable]

    @classmethod
    def of(cls, versions: Sequence[tuple[int, str, str]]) -> _Own:
        ids, asked, observables = {}, {}, []
        for pk, object_id, body in versions:
            own = observables_of(orjson.loads(body))
            ids[pk] = object_id
            observables += own
            asked[pk] = [
                (key_hash(lookup_key(o)),
                 ("address", address_bounds(o)[0]) if o.kind in ("ipv4", "ipv6")
                 else ("range", lookup_key(o)) if o.kind.endswith("-cidr") else None)
                for o in own
            ]  # fmt: skip
        return cls(ids, asked, observables)

    def hashes(self) -> set[int]:
        return {h for values in self.asked.values() for h, _ in values}


@dataclass(frozen=True, slots=True)
class Candidates:
    """What new versions may correlate with, read once for any number of viewers: every latest
    version sharing a value with one, each row with the columns `may_see` needs, for
    `correlations_seen_by` to filter per viewer in memory (the stream's readers, who would
    otherwise run new_correlations' queries once each)."""

    own: _Own
    exact: Sequence[Any]  # HIT_COLUMNS + _POLICY_COLUMNS
    ranged: list[tuple[Any, Any]]  # (asked, row) as range_rows gives them


def correlation_candidates(
    conn: Connection, versions: Sequence[tuple[int, str, str]], *, most_rows: int = 20_000
) -> Candidates | None:
    """Candidates for new_correlations' answer to any viewer; None when more than `most_rows`
    index rows (or a range too wide to list) hold their values: then which of them a viewer may
    see decides what links, and new_correlations must ask per viewer."""
    own = _Own.of(versions)
    exact = exact_rows(conn, None, own.hashes(), limit=most_rows + 1)
    if len(exact) > most_rows:
        return None
    ranged, too_wide = range_rows(conn, None, own.observables)
    if too_wide or len(exact) + len(ranged) > most_rows:
        return None
    return Candidates(own, exact, ranged)


def correlations_seen_by(
    viewer: Viewer, candidates: Candidates, *, noisy_threshold: int, most: int = 20
) -> dict[int, list[dict[str, str]]]:
    """new_correlations' answer for `viewer`, from candidates read once for every viewer: the
    same rows its queries would find, as `may_see` (which the property test holds equal to
    visible_filter) keeps them."""
    n = len(HIT_COLUMNS)
    answers: dict[tuple[Any, ...], bool] = {}  # a marking's answer, asked once

    def seen(r: Any) -> bool:
        marking = (r[9], r[8], r[n], r[n + 1])
        answer = answers.get(marking)
        if answer is None:
            answer = answers[marking] = may_see(viewer, {
                "member_id": r[9], "tlp": r[8], "distribution": r[n], "sharing_group_id": r[n + 1]
            })  # fmt: skip
        return answer

    exact = [r for r in candidates.exact if seen(r)]
    ranged = [(asked, r) for asked, r in candidates.ranged if seen(r)]
    return _new_links(candidates.own, exact, ranged, noisy_threshold, most)


def _new_links(
    own: _Own,
    rows: Sequence[Any],
    ranged: Sequence[tuple[Any, Any]],
    noisy_threshold: int,
    most: int,
) -> dict[int, list[dict[str, str]]]:
    """new_correlations' answer from the index rows one viewer may see: exact ones
    (HIT_COLUMNS order) and (asked, row) from range_rows."""
    benign = {r[0] for r in rows if r[1]}  # key_hash, benign
    # What each new version is linked by -> object_id -> type: its exact values by key hash,
    # and, for addresses and ranges, what range_rows answers them by.
    holders: dict[Any, dict[str, str]] = defaultdict(dict)
    for r in rows:
        if r[0] not in benign:
            holders[r[0]][r[6]] = r[7]
    for asked, r in ranged:
        if not r.benign:
            holders[asked][r.object_id] = r.type
    found: dict[int, list[dict[str, str]]] = {}
    for pk, values in own.asked.items():
        object_id = own.ids[pk]
        linked: dict[str, str] = {}
        for hashed, by_range in values:
            if hashed in benign:
                continue
            for key in (hashed, by_range):
                held = holders.get(key)
                if not held or (len(held) == 1 and object_id in held):
                    continue
                others = {i: t for i, t in held.items() if i != object_id}
                if len(others) <= noisy_threshold:
                    linked.update(others)
        if linked:
            found[pk] = [{"id": i, "type": linked[i]} for i in sorted(linked)[:most]]
    return found
