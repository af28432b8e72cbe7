"""MISP feeds, served and pulled.

Served: a MISP feed is an admin's TAXII collection read as MISP (one selection, defined once,
serving both protocols): `manifest.json` (each event's uuid -> its info, date, timestamp, tags),
`hashes.csv` (the MD5 of each attribute value, with its event's uuid) and `{uuid}.json` (the
event), all read through misp_export for the API key's user, the collection's selection on top
of the policy, for the reports and for every object inside them.

Pulled: `pull_feed` reads a feed's manifest (over HTTP or from a folder on disk) and fetches only
the events that are new or changed. The cursor is the store itself: an imported event's report id
is derived from the member and the event's uuid (misp_document.py) and its `modified` is the
event's timestamp, so an event whose manifest timestamp is not newer than the member's stored
copy is skipped, and a pull that stopped half-way resumes exactly where it was. Each event is
imported all or nothing; one that is refused is reported and the others still come in. Many
events share one transaction (misp_batch.py): a pull that stopped half-way has stored whole
batches only.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from shieldwall.db import Database
from shieldwall.errors import Invalid, NotFound, ShieldwallError
from shieldwall.exchange.misp_batch import import_misp_batched
from shieldwall.exchange.misp_document import report_id_for, stix_time
from shieldwall.exchange.misp_export import misp_events_of_reports
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.query import ObjectFilter, iter_objects
from shieldwall.members.tables import members
from shieldwall.policy import Viewer
from shieldwall.taxii.collections import Collection

_MANIFEST_KEYS = ("info", "date", "timestamp", "publish_timestamp", "analysis",
                  "threat_level_id", "Orgc", "Tag")  # fmt: skip


def _feed_filter(collection: Collection) -> ObjectFilter:
    # A feed serves events: the selection's types name what goes inside them, not the reports.
    selection = collection.selection
    if selection is not None and selection.types:
        selection = replace(selection, types=())
    return ObjectFilter(types=("report",), selection=selection, member_id=collection.member_id)


def feed_events(db: Database, viewer: Viewer, collection: Collection) -> Iterator[dict[str, Any]]:
    """The feed's events for `viewer`, each uuid once (a second report carrying an event uuid
    already served, e.g. two members' copies of one OSINT event, goes by its own)."""
    seen: set[str] = set()
    for report_id, wrapped in misp_events_of_reports(db, viewer, _feed_filter(collection)):
        event = wrapped["Event"]
        if event["uuid"] in seen:
            event["uuid"] = report_id.partition("--")[2]
        seen.add(event["uuid"])
        yield wrapped


def manifest(db: Database, viewer: Viewer, collection: Collection) -> dict[str, Any]:
    """manifest.json: each event's uuid -> what MISP lists of it before fetching it."""
    return {
        w["Event"]["uuid"]: {k: w["Event"][k] for k in _MANIFEST_KEYS if k in w["Event"]}
        for w in feed_events(db, viewer, collection)
    }


def hashes_csv(db: Database, viewer: Viewer, collection: Collection) -> Iterator[str]:
    """hashes.csv: `md5(value),event uuid` for every attribute value of the feed."""
    for wrapped in feed_events(db, viewer, collection):
        event = wrapped["Event"]
        inside = [a for o in event.get("Object") or [] for a in o["Attribute"]]
        for attribute in [*event.get("Attribute", []), *inside]:
            digest = hashlib.md5(attribute["value"].encode(), usedforsecurity=False).hexdigest()
            yield f"{digest},{event['uuid']}\n"


def feed_event(
    db: Database, viewer: Viewer, collection: Collection, event_uuid: str
) -> dict[str, Any]:
    """{uuid}.json: one event of the feed; NotFound for one the viewer may not see.

    Read by id, not by walking the feed: the event's report is the one with that uuid, or one
    member's import of the MISP event with that uuid (misp_document.report_id_for), and members
    are few. Of several visible, the first added wins, as in the manifest.
    """
    try:
        uuid.UUID(event_uuid)
    except ValueError:
        raise NotFound("no such event in this feed") from None
    with db.read() as conn:
        member_ids = list(conn.scalars(select(members.c.id)))
    own = f"report--{event_uuid}"
    candidates = (own, *(report_id_for(m, event_uuid) for m in member_ids))
    f = replace(_feed_filter(collection), ids=candidates)
    for report_id, wrapped in misp_events_of_reports(db, viewer, f):
        if wrapped["Event"]["uuid"] == event_uuid or report_id == own:
            wrapped["Event"]["uuid"] = event_uuid
            return wrapped
    raise NotFound("no such event in this feed")


class FeedUnreadable(ShieldwallError):
    """The feed's manifest could not be read."""

    status = 502


@dataclass(slots=True)
class PullResult:
    listed: int = 0
    fetched: int = 0
    skipped: int = 0  # not newer than the stored copy
    stored: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # event uuid -> why

    def as_dict(self) -> dict[str, Any]:
        return {"listed": self.listed, "fetched": self.fetched, "skipped": self.skipped,
                "stored": self.stored, "failed": self.failed}  # fmt: skip


Fetch = Callable[[str], bytes]  # a feed file's name -> its bytes


def folder_fetch(folder: Path) -> Fetch:
    """Files of a feed kept in a folder (as MISP's feed generator writes them)."""

    def fetch(name: str) -> bytes:
        return (folder / name).read_bytes()

    return fetch


class HttpFeed:
    """Files of a feed served over HTTP(S) at `url` (a Fetch); close it, or use it in `with`."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 60):
        import httpx

        self.base = url.rstrip("/")
        self.client = httpx.Client(headers=headers or {}, timeout=timeout)

    def __call__(self, name: str) -> bytes:
        response = self.client.get(f"{self.base}/{name}")
        response.raise_for_status()
        return response.content

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpFeed:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _stored_modified(db: Database, viewer: Viewer, report_ids: list[str]) -> dict[str, str]:
    """The member's own stored reports among these ids, with their `modified`."""
    found: dict[str, str] = {}
    with db.read() as conn:
        for start in range(0, len(report_ids), 2000):
            f = ObjectFilter(ids=tuple(report_ids[start : start + 2000]),
                             member_id=viewer.member_id)  # fmt: skip
            for row in iter_objects(conn, viewer, f):
                found[row.object_id] = orjson.loads(row.body).get("modified", "")
    return found


def pull_feed(ingestor: Ingestor, viewer: Viewer, fetch: Fetch) -> PullResult:
    """Import the feed's new and changed events as `viewer` (see the module's docstring)."""
    try:
        listed = orjson.loads(fetch("manifest.json"))
    except Exception as exc:  # any failure to read it: network, file, JSON
        raise FeedUnreadable(f"the feed's manifest.json could not be read: {exc}") from None
    if type(listed) is not dict:
        raise Invalid("the feed's manifest.json is not a JSON object of events")
    result = PullResult(listed=len(listed))
    wanted = {event_uuid: report_id_for(viewer.member_id, event_uuid) for event_uuid in listed}
    stored = _stored_modified(ingestor.db, viewer, list(wanted.values()))

    def fetched() -> Iterator[tuple[str, Any]]:
        """Each new or changed event's document; one that cannot be fetched or parsed is
        refused here, that event only."""
        for event_uuid, entry in listed.items():
            timestamp = (entry or {}).get("timestamp") if type(entry) is dict else None
            have = stored.get(wanted[event_uuid])
            if have is not None and stix_time(timestamp, "") <= have:
                result.skipped += 1
                continue
            try:
                document = orjson.loads(fetch(f"{event_uuid}.json"))
            except Exception as exc:  # network, file, JSON: that event only
                result.failed[event_uuid] = f"{type(exc).__name__}: {exc}"
                continue
            result.fetched += 1
            yield event_uuid, document

    imported = import_misp_batched(ingestor, viewer, fetched(), source="misp-feed")
    result.stored = imported.stored
    result.failed.update(imported.failed)
    return result
