"""Links between incidents and intel: intel already in the store, and indicators found during
the response shared back as intel in one step.

An incident never widens who sees intel. A member links only intel it may see itself (an id it
may not see is refused exactly as an unknown one), and every reader of the incident is shown
each linked object only if the intel policy lets that reader see it: the others are left out,
not counted, not named, and neither are the timeline entries about them. Shared-back
indicators go through intel's own ingest (validation, sharing rules, change log, audit), each
with its own TLP and distribution; they say nothing of the incident, which may be narrower
than the intel.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from shieldwall.correlate.reports import latest_visible, visible_ids
from shieldwall.correlate.values import normalise
from shieldwall.db import Database
from shieldwall.errors import Forbidden, Invalid, NotFound
from shieldwall.exchange.indicators import PATTERNS, pattern_of
from shieldwall.incidents.tables import incident_links
from shieldwall.incidents.timeline import IncidentWrite, incident_write
from shieldwall.incidents.times import stamp
from shieldwall.intel.ingest import Ingestor
from shieldwall.markings import SHARING_EXTENSION_ID, TLP, Distribution
from shieldwall.policy import Viewer, may_coordinate_incident

NO_SUCH_OBJECT = "no such object in the store"

# The kinds an indicator may be shared back as: those exchange/indicators.py writes patterns of.
SHAREABLE_KINDS = tuple(PATTERNS)


def add_links(
    write: IncidentWrite, incident_id: str, tlp: int, object_ids: Sequence[str], *, via: str
) -> list[str]:
    """Link intel the writer may see; Invalid listing every id it may not (as unknown ones).
    The ids newly linked."""
    assert write.viewer is not None
    wanted = list(dict.fromkeys(object_ids))
    seen = visible_ids(write.conn, write.viewer, wanted)
    if missing := [i for i in wanted if i not in seen]:
        raise Invalid(
            f"{len(missing)} of the linked ids: {NO_SUCH_OBJECT}",
            details=[{"property": "links", "id": i, "message": NO_SUCH_OBJECT} for i in missing],
        )
    linked = set(
        write.conn.scalars(
            select(incident_links.c.object_id).where(
                incident_links.c.incident_id == incident_id, incident_links.c.object_id.in_(wanted)
            )
        )
    )
    new = [i for i in wanted if i not in linked]
    if new:
        write.conn.execute(
            incident_links.insert(),
            [
                {
                    "incident_id": incident_id,
                    "object_id": i,
                    "member_id": write.viewer.member_id,
                    "user_id": write.viewer.user_id,
                    "linked_at": write.at,
                    "via": via,
                }
                for i in new
            ],
        )
        kind = "intel" if via == "shared" else "link"
        write.entry(incident_id, tlp, kind, "", {"object_ids": new})
    return new


def link(
    db: Database, viewer: Viewer, incident_id: str, object_ids: Sequence[str], now: datetime
) -> dict[str, Any]:
    """Link intel the viewer may see to the incident; the ids newly linked."""
    from shieldwall.incidents.service import writable_incident

    if not object_ids or len(object_ids) > 500:
        raise Invalid("links: between 1 and 500 object ids")
    with incident_write(db, viewer, now, "incident.link") as write:
        row = writable_incident(write.conn, viewer, incident_id)
        new = add_links(write, incident_id, row.tlp, object_ids, via="link")
        write.detail = {"objects": new}
    return {"linked": new}


def unlink(db: Database, viewer: Viewer, incident_id: str, object_id: str, now: datetime) -> None:
    """Remove a link: its linker's member or the coordinator. A link to intel the viewer may
    not see is not found, as an unknown one."""
    from shieldwall.incidents.service import writable_incident

    with incident_write(db, viewer, now, "incident.unlink") as write:
        row = writable_incident(write.conn, viewer, incident_id)
        found = write.conn.execute(
            select(incident_links).where(
                incident_links.c.incident_id == incident_id, incident_links.c.object_id == object_id
            )
        ).first()
        if found is None or not visible_ids(write.conn, viewer, [object_id]):
            raise NotFound("no such link")
        if found.member_id != viewer.member_id and not may_coordinate_incident(
            viewer, row._mapping
        ):
            raise Forbidden("only the member that linked it and the coordinator remove a link")
        write.conn.execute(
            delete(incident_links).where(
                incident_links.c.incident_id == incident_id, incident_links.c.object_id == object_id
            )
        )
        write.entry(incident_id, row.tlp, "unlink", "", {"object_ids": [object_id]})
        write.detail = {"object": object_id}


def visible_links(conn: Connection, viewer: Viewer, incident_id: str) -> list[dict[str, Any]]:
    """The incident's links the viewer may see, each with the object's type, name and TLP."""
    rows = conn.execute(
        select(incident_links)
        .where(incident_links.c.incident_id == incident_id)
        .order_by(incident_links.c.linked_at, incident_links.c.object_id)
    ).all()
    shown: dict[str, Any] = {}
    for batch in latest_visible(conn, viewer, [r.object_id for r in rows]):
        shown.update({o.object_id: o for o in batch})
    out = []
    for r in rows:
        obj = shown.get(r.object_id)
        if obj is None:
            continue
        body = orjson.loads(obj.body)
        out.append(
            {
                "id": r.object_id,
                "type": obj.type,
                "name": body.get("name"),
                "tlp": TLP(obj.tlp).label,
                "linked_at": r.linked_at,
                "linked_by": r.member_id,
                "via": r.via,
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class Finding:
    """An indicator found during the response, to share back as intel."""

    value: str
    kind: str = "auto"  # one of SHAREABLE_KINDS, or auto to recognise it
    tlp: str | None = None  # None: the incident's TLP
    distribution: str | None = None  # None: the member's default, within the TLP
    sharing_group: str | None = None
    name: str | None = None
    description: str | None = None


def _stix_time(moment: datetime) -> str:
    return stamp(moment)[:23] + "Z"  # STIX 2.1 §3.2, at millisecond precision


def _indicator(item: Finding, index: int, incident_tlp: int, now: datetime) -> dict[str, Any]:
    def bad(message: str) -> Invalid:
        return Invalid(
            f"indicators[{index}]: {message}",
            details=[{"index": index, "property": "value", "message": message}],
        )

    if item.kind != "auto" and item.kind not in PATTERNS:
        raise bad(f"kind {item.kind!r} cannot be shared back; kinds: auto, " + ", ".join(PATTERNS))
    try:
        observable = normalise(item.kind, item.value)
    except ValueError as exc:
        raise bad(str(exc)) from None
    if observable is None or observable.kind not in PATTERNS:
        raise bad(
            f"{item.value!r} is not a value of a kind that can be shared back "
            f"({', '.join(PATTERNS)})"
        )
    try:
        tlp = TLP.parse(item.tlp) if item.tlp is not None else TLP(incident_tlp)
    except ValueError as exc:
        raise bad(str(exc)) from None
    at = _stix_time(now)
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": at,
        "modified": at,
        "name": item.name or f"{observable.kind} {observable.value}",
        "indicator_types": ["malicious-activity"],
        "pattern": pattern_of(observable.kind, observable.value),
        "pattern_type": "stix",
        "valid_from": at,
        "object_marking_refs": [tlp.marking_id],
    }
    if item.description:
        obj["description"] = item.description
    if item.distribution is not None or item.sharing_group is not None:
        sharing: dict[str, Any] = {"extension_type": "property-extension"}
        if item.distribution is not None:
            if item.distribution not in {d.value for d in Distribution}:
                raise bad(f"unknown distribution {item.distribution!r}")
            sharing["distribution"] = item.distribution
        if item.sharing_group is not None:
            sharing["sharing_group"] = item.sharing_group
        obj["extensions"] = {SHARING_EXTENSION_ID: sharing}
    return obj


def share_back(
    db: Database,
    ingestor: Ingestor,
    viewer: Viewer,
    incident_id: str,
    findings: Sequence[Finding],
    now: datetime,
) -> dict[str, Any]:
    """Share indicators found during the response as intel and link them to the incident.

    Ingest stores them all or none (its own transaction, audited, on the change log); the
    links and the timeline entry follow in the next. The incident is checked first, so that
    only a failure of the database itself can come between the two."""
    from shieldwall.incidents.service import writable_incident

    if not findings or len(findings) > 1000:
        raise Invalid("indicators: between 1 and 1000")
    with db.read() as conn:
        row = writable_incident(conn, viewer, incident_id)
    bundle_objects = [_indicator(f, i, row.tlp, now) for i, f in enumerate(findings)]
    result = ingestor.ingest(
        viewer,
        {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": bundle_objects},
        source=f"incident:{incident_id}",
    )
    ids = [o["id"] for o in bundle_objects]
    with incident_write(db, viewer, now, "incident.share-intel") as write:
        current = writable_incident(write.conn, viewer, incident_id)
        add_links(write, incident_id, current.tlp, ids, via="shared")
        write.detail = {"objects": ids, "intel_change_seq": result.change_seq}
    return {"shared": ids, "change_seq": result.change_seq}
