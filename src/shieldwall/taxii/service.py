"""The TAXII 2.1 server's logic: one function per endpoint (as medallion's backend has), no HTTP.

Every read goes through intel.query with the collection's selection on top of the policy, so a
manifest, a `more` flag or a date-added header is computed from what the viewer may see and
nothing else. Pages are keyset pages of the objects' pks (the order they were added), their
`next` token bound to the query it came with. Each page is audited as a bulk read through the
`record` the caller passes (the app's background audit writer: a page never waits on a write).
Objects added to an inbox go through the one write path, Ingestor.ingest, whole or not at all.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import orjson
from sqlalchemy import select

from shieldwall.db import Database, utc_now
from shieldwall.errors import Invalid
from shieldwall.federation.keys import InstanceKey, instance_key
from shieldwall.federation.signatures import leaving_bodies
from shieldwall.gcpause import gc_paused
from shieldwall.intel import query
from shieldwall.intel.bundle_file import objects_in
from shieldwall.intel.ingest import BundleRejected, Ingestor, IngestResult
from shieldwall.intel.removal import remove_versions
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.policy import Viewer, may_remove
from shieldwall.settings import Settings
from shieldwall.taxii import collections
from shieldwall.taxii.collections import Collection, Lookup
from shieldwall.taxii.filters import STIX_ID, UUID, TaxiiQuery
from shieldwall.taxii.protocol import (
    STIX_MEDIA_TYPE,
    TAXII_MEDIA_TYPE,
    bad_request,
    forbidden,
    not_found,
)
from shieldwall.taxii.tables import taxii_statuses

API_ROOT = "shieldwall"
_NOT_AN_ENVELOPE = 'the body must be a TAXII envelope: {"objects": [...]}'
EMPTY = b"{}"  # an empty result (TAXII 2.1 §3.4: a resource without objects)


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of a listing endpoint: its JSON body and what its date-added headers say."""

    body: bytes
    date_added_first: str | None = None
    date_added_last: str | None = None


def discovery(base_url: str) -> dict[str, Any]:
    """GET /taxii2/ (§4.1)."""
    root = f"{base_url.rstrip('/')}/{API_ROOT}/"
    return {
        "title": "Shieldwall",
        "description": "Threat intelligence shared in the partnership, under its access rules.",
        "default": root,
        "api_roots": [root],
    }


def api_root(settings: Settings) -> dict[str, Any]:
    """GET {api-root}/ (§4.2)."""
    return {
        "title": "Shieldwall",
        "description": "Collections of what the partnership shares, and each member's inbox.",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": settings.max_bundle_bytes,
    }


def get_status(db: Database, viewer: Viewer, status_id: str) -> bytes:
    """GET {api-root}/status/{id}/ (§4.3): only to users of the member that added the objects."""
    row = None
    if UUID.fullmatch(status_id):
        with db.quick_read() as conn:
            row = conn.execute(
                select(taxii_statuses).where(taxii_statuses.c.id == status_id)
            ).first()
    if row is None or row.member_id != viewer.member_id:
        raise not_found(f"no status {status_id[:100]!r} here")
    return _status_resource(row._mapping)


def get_collections(db: Database, viewer: Viewer) -> dict[str, Any]:
    """GET {api-root}/collections/ (§5.1)."""
    with db.quick_read() as conn:
        shown = collections.visible_collections(conn, viewer)
    return {"collections": [c.as_resource() for c in shown]}


def get_collection(
    db: Database, viewer: Viewer, collection_id: str, lookup: Lookup | None = None
) -> dict[str, Any]:
    """GET {api-root}/collections/{id}/ (§5.2)."""
    return _readable(db, viewer, collection_id, lookup, need_read=False).as_resource()


def get_object_manifest(
    db: Database, viewer: Viewer, collection_id: str, q: TaxiiQuery, record: query.Record,
    lookup: Lookup | None = None,
) -> Listing:  # fmt: skip
    """GET {api-root}/collections/{id}/manifest/ (§5.3): the versions, without their bodies."""
    collection = _readable(db, viewer, collection_id, lookup)
    f = collection.object_filter(
        types=q.types, ids=q.ids, added_after=q.added_after, versions=q.versions
    )
    page = _page(db, viewer, collection, f, q, "manifest", record, bodies=False)
    if page is None:
        return Listing(EMPTY)
    records = [
        {"id": e.object_id, "date_added": e.date_added, "version": e.version,
         "media_type": STIX_MEDIA_TYPE}
        for e in page.entries
    ]  # fmt: skip
    return _listing(page, orjson.dumps({**_paging(page), "objects": records}))


def get_objects(
    db: Database, viewer: Viewer, collection_id: str, q: TaxiiQuery, record: query.Record,
    lookup: Lookup | None = None,
) -> Listing:  # fmt: skip
    """GET {api-root}/collections/{id}/objects/ (§5.4): an envelope."""
    collection = _readable(db, viewer, collection_id, lookup)
    f = collection.object_filter(
        types=q.types, ids=q.ids, added_after=q.added_after, versions=q.versions
    )
    page = _page(db, viewer, collection, f, q, "objects", record, bodies=True)
    return Listing(EMPTY) if page is None else _envelope(db, page, _signer(db, viewer))


def writable_collection(
    db: Database, viewer: Viewer, collection_id: str, lookup: Lookup | None = None
) -> Collection:
    """The collection a POST adds to, checked before its body is read: 404, or 403 unless the
    viewer may write to it (its own member's inbox, as a user who may share intel)."""
    collection = _readable(db, viewer, collection_id, lookup, need_read=False)
    if not collection.can_write:
        raise forbidden(f"you may not add objects to the collection {collection.title!r}")
    return collection


def add_objects(
    db: Database, ingestor: Ingestor, viewer: Viewer, collection: Collection, body: bytes | Path
) -> bytes:
    """POST {api-root}/collections/{id}/objects/ (§5.5), to a writable_collection: shared as
    POST /api/v1/bundles shares a bundle, whole or not at all; the status resource says so per
    object, and is kept so that any process can answer for it later. Its JSON, as answered: the
    lists of details are serialised once, stored and answered as they are. `body` is the
    envelope's bytes, or a large one's file as spill_envelope wrote it (read in two passes by
    Ingestor.ingest_file, so that memory holds the objects' ids and versions, not their bodies)."""
    requested = utc_now()
    ingest: Callable[[], IngestResult]
    if isinstance(body, Path):
        path = body
        details = _spilled_details(path, requested)
        ingest = lambda: ingestor.ingest_file(viewer, path, source="taxii")  # noqa: E731
    else:
        with gc_paused():  # as ingest_json parses: thousands of objects, no cycles
            objects = _envelope_objects(body)
            details = [_status_detail(obj, requested) for obj in objects]
        bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
        ingest = lambda: ingestor.ingest(viewer, bundle, source="taxii")  # noqa: E731
    try:
        result = ingest()
        # What a peer's arrival rules turned away (federation/arrival.py) fails on its own.
        refused = {r["id"]: r["message"] for r in result.refused}
        if refused:
            successes = [d for d in details if d["id"] not in refused]
            failures = [{**d, "message": refused[d["id"]]} for d in details if d["id"] in refused]
        else:
            successes, failures = details, []
    except BundleRejected as exc:
        successes, failures = [], _failures(details, exc.details)
    status = {
        "id": str(uuid.uuid4()), "member_id": viewer.member_id, "user_id": viewer.user_id,
        "collection_id": collection.id, "request_timestamp": requested, "status": "complete",
        "total_count": len(details), "success_count": len(successes),
        "failure_count": len(failures), "pending_count": 0,
        "successes": orjson.dumps(successes).decode(), "failures": orjson.dumps(failures).decode(),
        "pendings": "[]",
    }  # fmt: skip
    with db.write() as conn:
        conn.execute(taxii_statuses.insert().values(**status))
    return _status_resource(status)


def spill_envelope(head: bytes) -> IO[bytes]:
    """A temporary file for a large POSTed envelope, `head` (its first bytes) written: the
    caller writes the rest, closes it, passes its path to add_objects and deletes it.

    The file is written as a bundle: `{"type":"bundle","id":...,` in place of the envelope's
    opening brace, the rest as sent, so `{"objects":[...],"more":false}` becomes a bundle with
    two properties more. Ingestor.ingest_file, the validator's start_file and a peer's fallback
    to ingest_json then read it as any bundle file, unchanged; an `envelope` option threaded
    through bundle_file, the validator and ingest instead would be one more mode in three
    modules for one caller, and rewriting the objects into a second file one more pass and
    copy. The price: an envelope with a `type` or `id` of its own before its objects would
    override the bundle's, which _spilled_details refuses (400)."""
    body = head.lstrip(b" \t\r\n")
    if not body.startswith(b"{"):
        raise bad_request(_NOT_AN_ENVELOPE)
    spill = tempfile.NamedTemporaryFile(  # noqa: SIM115 (the caller closes and deletes it)
        prefix="shieldwall-taxii-", suffix=".json", delete=False
    )
    try:
        spill.write(b'{"type":"bundle","id":"bundle--%s",' % str(uuid.uuid4()).encode())
        spill.write(body[1:])
    except BaseException:
        spill.close()
        Path(spill.name).unlink(missing_ok=True)
        raise
    return spill


def get_object(
    db: Database, viewer: Viewer, collection_id: str, object_id: str, q: TaxiiQuery,
    record: query.Record, lookup: Lookup | None = None,
) -> Listing:  # fmt: skip
    """GET {api-root}/collections/{id}/objects/{object-id}/ (§5.6): an envelope of its versions
    that the filters ask for; 404 when the viewer sees no version of it in the collection."""
    collection = _readable(db, viewer, collection_id, lookup)
    _object_id(object_id)
    f = collection.object_filter(ids=(object_id,), added_after=q.added_after, versions=q.versions)
    page = _page(db, viewer, collection, f, q, "object", record, bodies=True)
    if page is None:
        _must_hold(db, viewer, collection, object_id)
        return Listing(EMPTY)
    return _envelope(db, page, _signer(db, viewer))


def delete_object(
    db: Database, viewer: Viewer, collection_id: str, object_id: str, q: TaxiiQuery,
    lookup: Lookup | None = None,
) -> int:  # fmt: skip
    """DELETE {api-root}/collections/{id}/objects/{object-id}/ (§5.7): the versions the filters
    name (all without match[version]), through intel.removal so indexes and the change log
    follow; only the contributing member's sharers and admins may (policy.may_remove), and then
    only what they may see through the collection. The number of versions removed."""
    collection = _readable(db, viewer, collection_id, lookup)
    _object_id(object_id)
    f = collection.object_filter(ids=(object_id,), versions=q.versions)
    with db.write() as conn:
        rows = query.rows_in_view(conn, viewer, f) if q.spec_version_matches else []
        if not rows:
            raise not_found(f"no object {object_id[:300]!r} in this collection")
        if not all(may_remove(viewer, r._mapping) for r in rows):
            raise forbidden("only the member that shared an object, and admins, may delete it")
        remove_versions(conn, [r.pk for r in rows], reason="taxii.delete", viewer=viewer,
                        detail={"collection": collection.id})  # fmt: skip
    return len(rows)


def get_object_versions(
    db: Database, viewer: Viewer, collection_id: str, object_id: str, q: TaxiiQuery,
    record: query.Record, lookup: Lookup | None = None,
) -> Listing:  # fmt: skip
    """GET {api-root}/collections/{id}/objects/{object-id}/versions/ (§5.8)."""
    collection = _readable(db, viewer, collection_id, lookup)
    _object_id(object_id)
    f = collection.object_filter(
        ids=(object_id,), added_after=q.added_after, versions=query.VersionMatch(all=True)
    )
    page = _page(db, viewer, collection, f, q, "versions", record, bodies=False)
    if page is None:
        _must_hold(db, viewer, collection, object_id)
        return Listing(EMPTY)
    # Copies of an observable kept by several members share their id and may share a version.
    versions = list(dict.fromkeys(e.version for e in page.entries))
    return _listing(page, orjson.dumps({**_paging(page), "versions": versions}))


def _object_id(object_id: str) -> None:
    """404 for what cannot be a STIX id (nothing by that id is stored)."""
    if not STIX_ID.fullmatch(object_id):
        raise not_found(f"no object {object_id[:300]!r} in this collection")


def _readable(
    db: Database, viewer: Viewer, collection_id: str, lookup: Lookup | None, *,
    need_read: bool = True,
) -> Collection:  # fmt: skip
    with db.quick_read() as conn:
        collection = collections.collection_for(conn, viewer, collection_id, lookup)
    if need_read and not collection.can_read:
        raise forbidden(f"you may not read the collection {collection.title!r}")
    return collection


def _page(
    db: Database, viewer: Viewer, collection: Collection, f: query.ObjectFilter, q: TaxiiQuery,
    endpoint: str, record: query.Record, *, bodies: bool,
) -> query.EntryPage | None:  # fmt: skip
    """One page, or None when it is empty."""
    if not q.spec_version_matches:
        return None
    try:
        page = query.list_entries(
            db, viewer, f, cursor=q.next, limit=q.limit, scope=f"taxii|{endpoint}|{collection.id}",
            bodies=bodies, record=record, action="taxii.read",
            detail={"collection": collection.id, "endpoint": endpoint},
        )  # fmt: skip
    except Invalid as exc:  # a `next` this server did not give out for this query
        raise bad_request(f"next: {exc.message}") from None
    return page if page.entries else None


def _must_hold(db: Database, viewer: Viewer, collection: Collection, object_id: str) -> None:
    """404 unless the viewer sees some version of the object through the collection."""
    f = collection.object_filter(ids=(object_id,), versions=query.VersionMatch(all=True))
    with db.quick_read() as conn:
        if not query.rows_in_view(conn, viewer, f, limit=1):
            raise not_found(f"no object {object_id[:300]!r} in this collection")


def _paging(page: query.EntryPage) -> dict[str, Any]:
    more = page.next_cursor is not None
    return {"more": more, "next": page.next_cursor} if more else {"more": False}


def _listing(page: query.EntryPage, body: bytes) -> Listing:
    return Listing(body, page.entries[0].date_added, page.entries[-1].date_added)


def _signer(db: Database, viewer: Viewer) -> InstanceKey | None:
    """This instance's key when `viewer` is a peer's account: what leaves towards another
    instance leaves signed, with this instance on its path (federation/outgoing.py)."""
    return instance_key(db) if viewer.peer else None


def _envelope(db: Database, page: query.EntryPage, signer: InstanceKey | None = None) -> Listing:
    """The envelope (§3.7), the stored JSON of each object spliced in as it is (as it leaves
    towards a peer, for a peer's account: signed, the signature kept for it where there is one)."""
    head = orjson.dumps(_paging(page))[:-1] + b',"objects":['
    if signer is None:
        bodies = ",".join(e.body for e in page.entries if e.body is not None).encode()
    else:
        stored = [(e.pk, e.body) for e in page.entries if e.body is not None]
        bodies = b",".join(leaving_bodies(db, signer, stored))
    return _listing(page, head + bodies + b"]}")


def _envelope_objects(raw: bytes) -> list[Any]:
    """The objects of a POSTed envelope (§3.7); 400 for anything that is not one."""
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"the body is not JSON: {exc}") from None
    if type(envelope) is not dict or type(envelope.get("objects")) is not list:
        raise bad_request(_NOT_AN_ENVELOPE)
    return envelope["objects"]


def _spilled_details(path: Path, requested: str) -> list[dict[str, Any]]:
    """_envelope_objects' checks on a file spill_envelope wrote (400 unless an envelope), and
    each object's status detail: the objects parsed one at a time, only the details kept."""
    try:
        with path.open("rb") as stream:
            events = ijson.parse(stream, use_float=True)
            next(events)  # the bundle's opening brace, spill_envelope's
            keys = 0
            for prefix, event, value in events:
                if prefix == "" and event == "map_key" and value in ("type", "id"):
                    keys += 1
                    if keys > 2:  # the envelope's own, after spill_envelope's two
                        raise bad_request(
                            "a TAXII envelope has objects, more and next; this one has a "
                            f"{value!r} of its own, which a large envelope may not carry"
                        )
                elif prefix == "objects":
                    if event != "start_array":
                        raise bad_request(_NOT_AN_ENVELOPE)
                    break
            else:
                raise bad_request(_NOT_AN_ENVELOPE)
        with gc_paused():
            return [_status_detail(obj, requested) for obj in objects_in(path)]
    except ijson.JSONError as exc:
        raise bad_request(f"the body is not JSON: {exc}") from None


def _status_detail(obj: Any, requested: str) -> dict[str, Any]:
    """A status detail (§4.3.1): the object's id and version as sent (its `modified`, else its
    `created`, else when the request came)."""
    if type(obj) is not dict:
        return {"id": "", "version": requested}
    object_id = obj.get("id")
    object_id = object_id if type(object_id) is str else ""
    for key in ("modified", "created"):
        if is_timestamp(stamp := obj.get(key)):
            return {"id": object_id, "version": normalize_timestamp(stamp)}
    return {"id": object_id, "version": requested}


def _failures(details: list[dict[str, Any]], errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every object failed (nothing was stored): each error on its object, the others told why."""
    messages: dict[int | None, list[str]] = {}
    for error in errors:
        where = f"{error['property']}: " if error.get("property") else ""
        messages.setdefault(error.get("index"), []).append(where + error["message"])
    whole = messages.get(None, [])
    others = "not stored: the objects of one request are stored all together or not at all, "
    others += "and another object in it was rejected"
    return [
        {**detail, "message": "; ".join(whole + messages.get(i, [])) or others}
        for i, detail in enumerate(details)
    ]


def _status_resource(row: Any) -> bytes:
    """The status resource (§4.3.1) as JSON: lists only when they hold something, spliced in
    as stored (a POST of 10,000 objects has 10,000 details: parsing them back and writing them
    out again cost as much as building them)."""
    resource = orjson.dumps({
        "id": row["id"], "status": row["status"], "request_timestamp": row["request_timestamp"],
        "total_count": row["total_count"], "success_count": row["success_count"],
        "failure_count": row["failure_count"], "pending_count": row["pending_count"],
    })  # fmt: skip
    lists = [
        f',"{name}":{row[name]}'.encode() for name in ("successes", "failures", "pendings")
        if row[name] != "[]"
    ]  # fmt: skip
    return resource[:-1] + b"".join(lists) + b"}"
