"""The report view: one report with what it is about, as a viewer may see it.

GET /reports/{id} answers, in one JSON object streamed a batch at a time:
- `report`: its latest visible version, its body as its author wrote it (so `object_refs` is the
  author's list, which may name objects the viewer cannot see);
- `objects`: the objects it refers to whose latest version the viewer may see, in the author's
  order, relationships apart;
- `relationships`: the visible relationships it lists or that start or end at one of those
  objects, each only when the viewer may see both its ends;
- `correlated_reports`: the other visible reports linked to it through its objects' values (or
  an object both refer to): which report, through which values, from which of its objects;
- `scores` (indicator id -> score and sightings) and `contributors` (as in a page of objects).

Nothing invisible leaves a trace: every list is built from rows the policy's SQL filter let
through, there is no count of what was left out, and an unknown and an invisible report are the
same 404. Memory stays flat in the store's size: objects and relationships are read, scored,
audited and sent a batch at a time; what is held whole is the report itself, the ids of its
visible objects and the links to other reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Row, select

from shieldwall.audit import service as audit
from shieldwall.correlate.observables import Observable, observables_of
from shieldwall.correlate.reports import (
    OBJECT_COLUMNS,
    latest_visible,
    report_correlations,
    report_refs,
    visible_ids,
)
from shieldwall.db import Database
from shieldwall.errors import Invalid, NotFound
from shieldwall.intel.tables import objects
from shieldwall.policy import Viewer, may_know_contributor, may_see, visible_filter
from shieldwall.search.tables import relationship_ends
from shieldwall.sightings.service import indicator_scores

BATCH = 1000  # objects or relationships read, scored, audited and sent together
_REPORT_ID = re.compile(r"report--[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def report_view(
    db: Database,
    viewer: Viewer,
    report_id: str,
    *,
    noisy_threshold: int,
    half_lives: dict[str, float],
) -> Iterator[bytes]:
    """The report view's JSON, in pieces. The report is found (or NotFound raised) before this
    returns: a streamed answer could no longer say 404."""
    if not _REPORT_ID.fullmatch(report_id):
        raise Invalid(f"{report_id[:100]!r} is not a report id: report--<UUID>")
    query = select(*OBJECT_COLUMNS).where(
        objects.c.object_id == report_id, objects.c.is_latest.is_(True)
    )
    with db.read() as conn:
        report = next((r for r in conn.execute(query) if may_see(viewer, r._mapping)), None)
    if report is None:
        raise NotFound("no such report")
    return _view(db, viewer, report, noisy_threshold=noisy_threshold, half_lives=half_lives)


def _view(
    db: Database,
    viewer: Viewer,
    report: Row[Any],
    *,
    noisy_threshold: int,
    half_lives: dict[str, float],
) -> Iterator[bytes]:
    contributors: dict[str, str] = {}
    scores: dict[str, Any] = {}
    _note_contributor(viewer, report, contributors)
    yield b'{"report":' + report.body.encode()
    refs = report_refs(orjson.loads(report.body))
    own: list[tuple[int, str, Sequence[Observable]]] = []  # its objects, for the correlations
    listed: list[str] = []  # the relationships it lists: sent with the others
    yield b',"objects":['
    comma = b""
    for start in range(0, len(refs), BATCH):
        with db.read() as conn:
            (rows,) = latest_visible(conn, viewer, refs[start : start + BATCH], batch=BATCH)
            nodes = [r for r in rows if r.type != "relationship"]
            listed += [r.object_id for r in rows if r.type == "relationship"]
            indicators = [r.pk for r in nodes if r.type == "indicator"]
            by_pk = indicator_scores(conn, viewer, indicators, half_lives)
        for row in nodes:
            own.append((row.pk, row.object_id, observables_of(orjson.loads(row.body))))
            if row.pk in by_pk:
                scores[row.object_id] = by_pk[row.pk]
            _note_contributor(viewer, row, contributors)
        if nodes:
            _audit(db, viewer, report.object_id, "objects", [r.object_id for r in nodes])
            yield comma + ",".join(r.body for r in nodes).encode()
            comma = b","
    yield b'],"relationships":['
    comma = b""
    for batch in _relationships(db, viewer, listed, [object_id for _, object_id, _ in own]):
        for row in batch:
            _note_contributor(viewer, row, contributors)
        _audit(db, viewer, report.object_id, "relationships", [r.object_id for r in batch])
        yield comma + ",".join(r.body for r in batch).encode()
        comma = b","
    with db.read() as conn:
        correlated = report_correlations(
            conn, viewer, report.object_id, own, noisy_threshold=noisy_threshold
        )["reports"]
    if correlated:
        _audit(db, viewer, report.object_id, "correlated_reports", [c["id"] for c in correlated])
    yield b'],"correlated_reports":' + orjson.dumps(correlated)
    yield b',"scores":' + orjson.dumps(scores)
    yield b',"contributors":' + orjson.dumps(contributors) + b"}"


def _relationships(
    db: Database, viewer: Viewer, listed: list[str], node_ids: list[str]
) -> Iterator[list[Row[Any]]]:
    """Batches of the visible relationships the report lists or that start or end at one of its
    objects, each once, each only when both its ends are visible."""
    nodes = set(node_ids)
    sent: set[int] = set()
    for start in range(0, len(listed), BATCH):
        with db.read() as conn:
            (rows,) = latest_visible(conn, viewer, listed[start : start + BATCH], batch=BATCH)
            sent.update(r.pk for r in rows)
            kept = _both_ends_visible(conn, viewer, rows, nodes)
        if kept:
            yield kept
    for start in range(0, len(node_ids), BATCH):
        chunk = node_ids[start : start + BATCH]
        # The index first, then the rows by pk: a plan that cannot turn into a walk of objects.
        with db.read() as conn:
            around = conn.scalars(
                select(relationship_ends.c.object_pk).where(relationship_ends.c.ref_id.in_(chunk))
            )
            pks = sorted(set(around) - sent)
        sent.update(pks)
        for first in range(0, len(pks), BATCH):
            with db.read() as conn:
                rows = conn.execute(
                    select(*OBJECT_COLUMNS)
                    .where(
                        objects.c.pk.in_(pks[first : first + BATCH]),
                        objects.c.type == "relationship",
                        objects.c.is_latest.is_(True),
                        visible_filter(viewer, objects),
                    )
                    .order_by(objects.c.pk)
                ).all()
                # One end must be one of the objects: a stale index row never adds a stranger.
                rows = [r for r in rows if not nodes.isdisjoint(_ends(r.body))]
                kept = _both_ends_visible(conn, viewer, rows, nodes)
            if kept:
                yield kept


def _both_ends_visible(
    conn: Connection, viewer: Viewer, rows: list[Row[Any]], nodes: set[str]
) -> list[Row[Any]]:
    """The relationships whose source and target the viewer may both see: a relationship is
    never the way an invisible object's id gets out."""
    ends = {r.pk: _ends(r.body) for r in rows}
    unknown = {e for pair in ends.values() for e in pair if e not in nodes}
    also = visible_ids(conn, viewer, unknown) if unknown else set()
    return [r for r in rows if ends[r.pk] and all(e in nodes or e in also for e in ends[r.pk])]


def _ends(body: str) -> tuple[str, ...]:
    """A relationship's source_ref and target_ref; () when it lacks either (never valid)."""
    obj = orjson.loads(body)
    ends = (obj.get("source_ref"), obj.get("target_ref"))
    return ends if all(isinstance(e, str) for e in ends) else ()  # type: ignore[return-value]


def _note_contributor(viewer: Viewer, row: Row[Any], contributors: dict[str, str]) -> None:
    """Who really contributed an anonymous object, where the viewer may know (as in pages)."""
    if row.anonymous and may_know_contributor(viewer, row._mapping):
        contributors[row.object_id] = row.member_id


def _audit(db: Database, viewer: Viewer, report_id: str, part: str, ids: list[str]) -> None:
    """Each batch is recorded as a bulk read before it is sent, as exports are."""
    audit.record(db, viewer, "intel.report", {
        "report": report_id, "part": part, "count": len(ids), "objects": ids[:100],
        "objects_digest": audit.digest_of(ids),
    })  # fmt: skip
