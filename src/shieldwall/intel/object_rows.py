"""The rows one accepted write stores: each new object version's row and its indexes' rows,
the superseded flags, the change-log entry and the audit entry, in the caller's transaction.

Rows are built in batches while the previous batch is written (bulk_insert.py), and the objects
come whole from a stream, so a bundle read from a file is never held whole in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, Table, func, select, update

from shieldwall.audit import service as audit
from shieldwall.bulk_insert import bulk_insert
from shieldwall.intel import sharing
from shieldwall.intel.stored_versions import Version
from shieldwall.intel.tables import change_log, objects
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.markings import check_stored_pair
from shieldwall.policy import Viewer

_INSERT_BATCH = 5000  # rows built while the previous batch is written
_SEARCHED = ("name", "description", "pattern")
_SEARCH_TEXT_LIMIT = 4000
_IN_CHUNK = 5000  # ids per IN (...) probe: few round trips, well under any bind limit


# objects' columns in the order row fills them after pk and is_latest.
COLUMNS = (
    "object_id", "type", "created", "modified", "created_by", "tlp", "distribution",
    "sharing_group_id", "member_id", "anonymous", "date_added", "revoked", "labels",
    "search_text", "body", "confidence", "valid_until",
)  # fmt: skip


class ObjectIndex(Protocol):
    """Something kept beside each stored object version and written in the same transaction
    (the correlation index, full-text search...)."""

    layouts: Sequence[tuple[Table, Sequence[str]]]

    def rows(self, pk: int, obj: dict[str, Any]) -> Sequence[list[tuple[Any, ...]]]:
        """Rows for each layout, in order, for the object version stored as `pk`."""
        ...


def row(
    pk: int, is_latest: bool, obj: dict[str, Any], s: sharing.Sharing, viewer: Viewer,
    creator: str, broker: str, now: str, modified: str,
) -> tuple[Any, ...]:  # fmt: skip
    """The object's row: pk, is_latest, then COLUMNS in order; `modified` already normalised."""
    tlp, distribution, group, anonymous = _stored_sharing(s)
    body = obj if obj["type"] == "marking-definition" else sharing.apply(obj, s, creator, broker)
    created = body.get("created")
    labels = body.get("labels")
    text = " ".join([str(body[k]) for k in _SEARCHED if k in body]).lower()[:_SEARCH_TEXT_LIMIT]
    return (
        pk,
        is_latest,
        body["id"],
        body["type"],
        # Most objects are created and modified at once: that one is normalised already.
        (modified if created == body.get("modified") else normalize_timestamp(created))
        if created
        else None,
        modified,
        body.get("created_by_ref"),
        tlp,
        distribution,
        group,
        viewer.member_id,
        anonymous,
        now,
        bool(body.get("revoked", False)),
        "|" + "|".join(labels) + "|" if labels else None,
        text or None,
        orjson.dumps(body).decode(),
        confidence if type(confidence := body.get("confidence")) is int else None,
        # Normalised, so that exports leave expired indicators out in SQL, no body read.
        normalize_timestamp(end) if is_timestamp(end := body.get("valid_until")) else None,
    )


@functools.lru_cache(maxsize=1024)
def _stored_sharing(s: sharing.Sharing) -> tuple[int, str, str | None, bool]:
    """A sharing's columns (tlp, distribution, sharing_group_id, anonymous), checked with
    check_stored_pair, once per distinct sharing (a bundle's objects mostly share a few): the
    answer for a sharing never changes, and one that fails raises every time (never cached)."""
    check_stored_pair(s.tlp, s.distribution, s.sharing_group_id)
    return int(s.tlp), s.distribution.value, s.sharing_group_id, s.anonymous


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def store(
    conn: Connection,
    viewer: Viewer,
    new_rows: list[Version],
    prepared: Callable[[int], Iterator[tuple[tuple[Any, ...], dict[str, Any]]]],
    indexes: Sequence[ObjectIndex],
    superseded: list[int],
    now: str,
    source: str,
) -> int:
    """Write the new versions (`prepared(first_pk)` yields each one's row and object, in
    order), the superseded flags, the change-log entry and the audit entry; the change-log seq."""
    first_pk = (conn.scalar(select(func.max(objects.c.pk))) or 0) + 1
    seq = (conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1
    index_layouts = [layout for index in indexes for layout in index.layouts]

    def batches() -> Iterator[list[list[tuple[Any, ...]]]]:
        pk = first_pk
        rows_of = [index.rows for index in indexes]
        stream = prepared(first_pk)
        while chunk := list(islice(stream, _INSERT_BATCH)):
            object_rows = [row for row, _ in chunk]
            index_rows: list[list[tuple[Any, ...]]] = [[] for _ in index_layouts]
            for _, original in chunk:
                slot = 0
                for index_rows_of in rows_of:
                    for rows in index_rows_of(pk, original):
                        if rows:
                            index_rows[slot] += rows
                        slot += 1
                pk += 1
            yield [object_rows, *index_rows]
        if pk != first_pk + len(new_rows):  # the second read must give what the first did
            raise RuntimeError("the bundle changed while it was being read")

    bulk_insert(
        conn,
        [(objects, ("pk", "is_latest", *COLUMNS)), *index_layouts],
        batches(),
    )
    for chunk in _chunks(superseded):  # type: ignore[arg-type]
        conn.execute(update(objects).where(objects.c.pk.in_(chunk)).values(is_latest=False))
    last_pk = first_pk + len(new_rows) - 1
    conn.execute(
        change_log.insert().values(
            seq=seq,
            at=now,
            action="ingest",
            member_id=viewer.member_id,
            user_id=viewer.user_id,
            first_pk=first_pk,
            last_pk=last_pk,
            count=len(new_rows),
        )
    )
    ids = [f"{r.object_id}@{r.modified}" for r in new_rows]
    audit.append(
        conn,
        viewer,
        "intel.ingest",
        {
            "source": source,
            "change_seq": seq,
            "count": len(new_rows),
            "first_pk": first_pk,
            "last_pk": last_pk,
            "objects": ids if len(ids) <= 100 else ids[:100],
            "objects_digest": audit.digest_of(ids),
        },
    )
    return seq
