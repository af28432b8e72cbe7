"""One accepted write about incidents: its timeline entries, their change-log announcement and
its audit entry, all in one transaction.

Every incident service function that changes something opens an IncidentWrite, adds timeline
entries as things happen, and leaves; on the way out the entries are announced by one
change-log entry (action "incident", with an `incident_changes` row per timeline entry carrying
the policy's columns) and the write is audited, or, on any exception, none of it is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from shieldwall.audit import service as audit
from shieldwall.db import Database
from shieldwall.incidents.tables import incident_changes, incident_timeline
from shieldwall.incidents.times import stamp
from shieldwall.intel.tables import change_log
from shieldwall.policy import Viewer


class IncidentWrite:
    """The write in progress: its connection, who is writing (None: the platform) and when."""

    def __init__(self, conn: Connection, viewer: Viewer | None, now: datetime, action: str) -> None:
        self.conn = conn
        self.viewer = viewer
        self.now = now
        self.at = stamp(now)
        self.action = action
        self.detail: dict[str, Any] = {}
        self._entries: list[tuple[int, str, str, int]] = []  # (timeline id, incident, kind, tlp)
        self._next_id: int | None = None
        # A job's pass that found nothing to do writes nothing, not even an audit entry.
        self.quiet_if_nothing = False

    def entry(
        self,
        incident_id: str,
        tlp: int,
        kind: str,
        text: str,
        detail: dict[str, Any] | None = None,
        *,
        by_platform: bool = False,
    ) -> int:
        """Add a timeline entry; by the writing user unless `by_platform`. Its id."""
        if self._next_id is None:
            last = self.conn.scalar(select(func.max(incident_timeline.c.id)))
            self._next_id = (last or 0) + 1
        entry_id = self._next_id
        self._next_id += 1
        person = None if by_platform else self.viewer
        self.conn.execute(
            incident_timeline.insert().values(
                id=entry_id,
                incident_id=incident_id,
                at=self.at,
                kind=kind,
                member_id=person.member_id if person else None,
                user_id=person.user_id if person else None,
                text=text,
                detail=orjson.dumps(detail or {}).decode(),
            )
        )
        self._entries.append((entry_id, incident_id, kind, tlp))
        return entry_id

    def finish(self) -> None:
        """Announce the entries on the change log and audit the write."""
        if self.quiet_if_nothing and not self._entries:
            return
        seq = None
        if self._entries:
            seq = (self.conn.scalar(select(func.max(change_log.c.seq))) or 0) + 1
            self.conn.execute(
                change_log.insert().values(
                    seq=seq,
                    at=self.at,
                    action="incident",
                    member_id=self.viewer.member_id if self.viewer else None,
                    user_id=self.viewer.user_id if self.viewer else None,
                    count=len(self._entries),
                )
            )
            self.conn.execute(
                incident_changes.insert(),
                [
                    {"seq": seq, "timeline_id": e, "incident_id": i, "kind": k, "tlp": t}
                    for e, i, k, t in self._entries
                ],
            )
        incident_ids = sorted({i for _, i, _, _ in self._entries})
        audit.append(
            self.conn,
            self.viewer,
            self.action,
            {
                **self.detail,
                "incidents": incident_ids,
                "change_seq": seq,
                "timeline": [e for e, _, _, _ in self._entries],
            },
        )


@contextmanager
def incident_write(
    db: Database, viewer: Viewer | None, now: datetime, action: str, *, quiet: bool = False
) -> Iterator[IncidentWrite]:
    """A write transaction for incidents: kept whole with its announcement and audit entry, or
    not at all. `quiet`: nothing is audited when no timeline entry was written."""
    with db.write() as conn:
        write = IncidentWrite(conn, viewer, now, action)
        write.quiet_if_nothing = quiet
        yield write
        write.finish()
