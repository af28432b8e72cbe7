"""The index rows that hold asked values, joined to the visible latest objects holding them.

The reading half of correlations and lookups (`service`, `reports`, `new_links`): exact keys,
addresses inside stored ranges and ranges holding asked addresses, and the reports and sightings
that refer to what was found, each query through the policy (or, for viewer None, every latest
version with what `may_see` needs of it, for the stream's shared reader).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, and_, case, select

from shieldwall.correlate.index import CONTAINER_TYPES, address_bounds
from shieldwall.correlate.observables import Observable, lookup_key
from shieldwall.correlate.tables import object_refs, observable_keys
from shieldwall.db import one_of, plain_rows, value_list
from shieldwall.intel.tables import objects
from shieldwall.policy import Viewer, visible_filter
from shieldwall.sightings.service import Tally, add_stix_sighting

_keys = observable_keys
# Index rows an asked range may read: past it, the range is answered as too common to list, as a
# value held by more objects than the noisy threshold is. Well above any range worth listing.
MAX_RANGE_ROWS = 5_000
_holders = objects.alias("holders")  # the objects that refer to a hit: reports and sightings


@dataclass(slots=True)
class Hit:
    """A visible object version that holds a value being asked about."""

    pk: int
    object_id: str
    type: str
    tlp: int
    member_id: str
    anonymous: bool
    modified: str
    confidence: int | None
    revoked: bool  # 0 or 1 as SQLite's driver gives it
    kind: str | None = None  # the kind of its first value, once an index row says which it is


HIT_COLUMNS = (
    _keys.c.key_hash, _keys.c.benign, _keys.c.low, _keys.c.high, _keys.c.not_first,
    objects.c.pk, objects.c.object_id, objects.c.type, objects.c.tlp, objects.c.member_id,
    objects.c.anonymous, objects.c.modified, objects.c.confidence, objects.c.revoked,
)  # fmt: skip


def take_hit(
    hits: dict[int, Hit],
    row: Any,
    kind: str,
    exclude_id: str | None = None,
    *,
    benign_too: bool = False,
) -> int | None:
    """Record the object of an index row (HIT_COLUMNS order) that holds a value of `kind`, once
    per object, and return its pk; None when the object is excluded, or when the value is on a
    false-positive list there and `benign_too` is not set."""
    if (row[1] and not benign_too) or row[6] == exclude_id:  # benign, object_id
        return None
    pk = row[5]
    hit = hits.get(pk)
    if hit is None:
        hit = hits[pk] = Hit(*row[5:14])
    if row[4] is None:  # not_first: NULL on the object's first value
        hit.kind = kind
    return pk


# Read for every viewer at once (viewer None), a row also carries what `may_see` needs of its
# object: HIT_COLUMNS, then these.
_POLICY_COLUMNS = (objects.c.distribution, objects.c.sharing_group_id)


def _columns(viewer: Viewer | None) -> tuple[Any, ...]:
    return HIT_COLUMNS if viewer is not None else HIT_COLUMNS + _POLICY_COLUMNS


def visible_latest(query: Any, viewer: Viewer | None) -> Any:
    """The latest versions `viewer` may see; every latest version for None (the caller then
    filters each row through `may_see`, as correlations_seen_by does)."""
    query = query.where(objects.c.is_latest.is_(True))
    return query if viewer is None else query.where(visible_filter(viewer, objects))


def exact_rows(
    conn: Connection, viewer: Viewer | None, hashes: Iterable[int], limit: int | None = None
) -> Sequence[Any]:
    """Index rows (joined to their visible latest object; HIT_COLUMNS, as the driver returns
    them) whose key is one of `hashes`, at most `limit`."""
    asked = sorted(set(hashes))
    if not asked:
        return []
    joined = _keys.join(objects, objects.c.pk == _keys.c.object_pk)
    columns = _columns(viewer)
    if conn.dialect.name == "sqlite":  # it probes per key either way, ~10% faster from a join
        wanted = value_list(conn, asked)
        query = select(*columns).select_from(
            wanted.join(joined, _keys.c.key_hash == wanted.c.value)
        )
    else:
        query = select(*columns).select_from(joined).where(one_of(conn, _keys.c.key_hash, asked))
    return plain_rows(conn, visible_latest(query, viewer).limit(limit))


def _stores_ranges(conn: Connection) -> bool:
    """Most stores hold few ranges or none: asking first spares the range queries."""
    return conn.scalar(select(_keys.c.low).where(_keys.c.high.isnot(None)).limit(1)) is not None


def range_rows(
    conn: Connection, viewer: Viewer | None, items: Sequence[Observable]
) -> tuple[list[Any], set[str]]:
    """(asked, row) for ranges holding an asked address and for addresses inside an asked range;
    `asked` is ("address", the address's low bound) or ("range", the range's lookup key). And
    the lookup keys of the asked ranges holding more than MAX_RANGE_ROWS visible index rows,
    whose rows are left out: too common to list (`0.0.0.0/1` held every stored address)."""
    rows: list[Any] = []
    too_wide: set[str] = set()
    if any(i.kind in ("ipv4", "ipv6") for i in items) and _stores_ranges(conn):
        addresses = sorted({address_bounds(i)[0] for i in items if i.kind in ("ipv4", "ipv6")})
        wanted = value_list(conn, addresses, String())
        query = select(*_columns(viewer), wanted.c.value.label("asked_low")).select_from(
            wanted.join(
                _keys,
                and_(
                    _keys.c.high.isnot(None),
                    _keys.c.low <= wanted.c.value,
                    _keys.c.high >= wanted.c.value,
                ),
            ).join(objects, objects.c.pk == _keys.c.object_pk)
        )
        rows += [(("address", r.asked_low), r) for r in conn.execute(visible_latest(query, viewer))]
    for item in dict.fromkeys(items):  # ranges asked about are few: a query each, once
        if item.kind.endswith("-cidr"):
            low, high = address_bounds(item)
            query = (
                select(*_columns(viewer))
                .select_from(_keys.join(objects, objects.c.pk == _keys.c.object_pk))
                .where(
                    _keys.c.low.isnot(None), _keys.c.high.is_(None), _keys.c.low.between(low, high)
                )
            )
            found = conn.execute(visible_latest(query, viewer).limit(MAX_RANGE_ROWS + 1)).all()
            if len(found) > MAX_RANGE_ROWS:
                too_wide.add(lookup_key(item))
                continue
            asked = ("range", lookup_key(item))
            rows += [(asked, r) for r in found]
    return rows, too_wide


def stored_value(low: str, high: str | None) -> str:
    """The lookup key of a stored address (high None) or range, from its bounds."""
    version, number = low[0], int(low[1:], 16)
    if high is None:
        return f"ipv{version}:{ipaddress.ip_address(number)}"
    width = 32 if version == "4" else 128
    size = int(high[1:], 16) - number + 1
    return f"ipv{version}-cidr:{ipaddress.ip_network((number, width - size.bit_length() + 1))}"


def holders_of(
    conn: Connection, viewer: Viewer, ids: Iterable[str]
) -> tuple[dict[str, set[str]], dict[str, Tally]]:
    """For each object id: the visible reports (and other containers) that refer to it, and the
    visible STIX sightings of it — both found through object_refs in one query."""
    reports: dict[str, set[str]] = defaultdict(set)
    sightings: dict[str, Tally] = defaultdict(Tally)
    asked = sorted(set(ids))
    if not asked:
        return reports, sightings
    wanted = value_list(conn, asked, String())
    query = (
        select(
            object_refs.c.ref_id,
            _holders.c.object_id,
            _holders.c.type,
            _holders.c.anonymous,
            _holders.c.member_id,
            case((_holders.c.type == "sighting", _holders.c.body)).label("body"),
        )
        .select_from(
            wanted.join(object_refs, object_refs.c.ref_id == wanted.c.value).join(
                _holders, _holders.c.pk == object_refs.c.object_pk
            )
        )
        .where(
            _holders.c.type.in_(sorted(CONTAINER_TYPES | {"sighting"})),
            _holders.c.is_latest.is_(True),
            visible_filter(viewer, _holders),
        )
    )
    for ref_id, holder_id, holder_type, anonymous, member_id, body in conn.execute(query):
        if holder_type == "sighting":
            add_stix_sighting(sightings, ref_id, body, anonymous, member_id)
        else:
            reports[ref_id].add(holder_id)
    return reports, sightings
