"""A TAXII 2.1 client that pulls a collection from any TAXII 2.1 server into this instance.

Pages are read one at a time (memory stays flat) and each is shared through Ingestor.ingest as
one bundle: a page is stored whole or not at all. After each page the pull remembers where it
stands (the page's X-TAXII-Date-Added-Last) in `taxii_pull_cursors`, so the next pull without
`since` resumes there. `added_after` is exclusive (TAXII 2.1 §3.4.2), and one write may add many
objects at the same instant: a pull that stopped before the end resumes a microsecond earlier and
reads the objects of that instant again (storing a version twice is a no-op), one that reached
the end resumes just after it.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from sqlalchemy import Connection, select, update

from shieldwall.db import Database, utc_now
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.policy import Viewer
from shieldwall.taxii.protocol import TAXII_MEDIA_TYPE
from shieldwall.taxii.tables import taxii_pull_cursors

if TYPE_CHECKING:  # the command line loads this module for every command; ingest only to pull
    from shieldwall.intel.ingest import Ingestor


class TaxiiClientError(Exception):
    """The server could not be read: unreachable, an error answer, or not TAXII 2.1."""


@dataclass(frozen=True, slots=True)
class ObjectsPage:
    objects: list[Any]
    more: bool
    date_added_last: str | None  # the page's X-TAXII-Date-Added-Last, normalised


class TaxiiClient:
    """The Get Objects endpoint of one API root (§5.4), page by page."""

    def __init__(
        self, api_root: str, *, basic: tuple[str, str] | None = None, token: str | None = None,
        timeout: float = 120, transport: httpx.BaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.api_root = api_root if api_root.endswith("/") else api_root + "/"
        headers = {"Accept": TAXII_MEDIA_TYPE}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(headers=headers, auth=basic, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TaxiiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def collections(self) -> list[dict[str, Any]]:
        """The API root's collections this account is shown (§5.1)."""
        url = f"{self.api_root}collections/"
        found = self._json(self._request("GET", url), url).get("collections", [])
        return [c for c in found if type(c) is dict] if type(found) is list else []

    def add_objects(self, collection_id: str, stix_objects: list[Any]) -> dict[str, Any]:
        """POST objects to a collection (§5.5); the status resource the server answers with."""
        url = f"{self.api_root}collections/{collection_id}/objects/"
        body = orjson.dumps({"objects": stix_objects})
        headers = {"Content-Type": TAXII_MEDIA_TYPE}
        response = self._request("POST", url, content=body, headers=headers)
        return self._json(response, url, expect=202)

    def _request(self, method: str, url: str, **options: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **options)
        except httpx.HTTPError as exc:
            raise TaxiiClientError(f"{url}: {exc}") from None

    def _json(self, response: httpx.Response, url: str, expect: int = 200) -> dict[str, Any]:
        if response.status_code != expect:
            raise TaxiiClientError(f"{url}: HTTP {response.status_code}{_described(response)}")
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TaxiiClientError(f"{url}: the answer is not JSON") from None
        if type(answer) is not dict:
            raise TaxiiClientError(f"{url}: the answer is not a TAXII resource")
        return answer

    def objects_pages(
        self, collection_id: str, *, added_after: str | None = None, limit: int = 1000,
        versions: str = "all",
    ) -> Iterator[ObjectsPage]:  # fmt: skip
        """Every page of the collection's objects added after `added_after`, following `next`
        (or, from a server that pages without one, the last page's date-added header)."""
        url = f"{self.api_root}collections/{collection_id}/objects/"
        params: dict[str, Any] = {"limit": limit, "match[version]": versions}
        if added_after:
            params["added_after"] = added_after
        while True:
            page, next_token = self._get_page(url, params)
            yield page
            if not page.more:
                return
            if next_token:
                params = {**params, "next": next_token}
            elif page.date_added_last:
                params = {**params, "added_after": page.date_added_last}
            else:
                raise TaxiiClientError(f"{url}: the server says there is more but gives neither "
                                       "next nor X-TAXII-Date-Added-Last")  # fmt: skip

    def _get_page(self, url: str, params: dict[str, Any]) -> tuple[ObjectsPage, str | None]:
        try:
            response = self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise TaxiiClientError(f"{url}: {exc}") from None
        if response.status_code != 200:
            raise TaxiiClientError(f"{url}: HTTP {response.status_code}{_described(response)}")
        try:
            envelope = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TaxiiClientError(f"{url}: the answer is not JSON") from None
        objects = envelope.get("objects", []) if type(envelope) is dict else None
        if type(objects) is not list:
            raise TaxiiClientError(f"{url}: the answer is not a TAXII envelope")
        header = response.headers.get("X-TAXII-Date-Added-Last")
        last = normalize_timestamp(header) if is_timestamp(header) else None
        more = envelope.get("more") is True
        next_token = envelope.get("next") if type(envelope.get("next")) is str else None
        return ObjectsPage(objects, more, last), next_token


def _described(response: httpx.Response) -> str:
    """A TAXII error's title and description, when the answer holds one."""
    try:
        error = orjson.loads(response.content)
        return f": {error.get('title', '')}: {error.get('description', '')}"[:500]
    except (orjson.JSONDecodeError, AttributeError):
        return ""


@dataclass(slots=True)
class PullResult:
    pages: int = 0
    received: int = 0
    stored: int = 0
    unchanged: int = 0
    added_after: str | None = None  # where the next pull starts
    # With skip_refused: each object this instance refused (its id, or None, and why), left out.
    refused: list[tuple[str | None, str]] = field(default_factory=list)


def pull(
    db: Database, ingestor: Ingestor, viewer: Viewer, client: TaxiiClient, collection_id: str,
    *, since: str | None = None, limit: int = 1000, skip_refused: bool = False,
    on_page: Callable[[PullResult], None] | None = None,
) -> PullResult:  # fmt: skip
    """Import the collection's objects added after `since` (else after where the last pull of it
    stopped, else all of them) as `viewer`. Stops at the first page that cannot be read or is
    rejected (BundleRejected), after keeping what the pages before it stored; with
    `skip_refused`, a page's objects that this instance refuses are left out (and listed in the
    result) and the rest of the page is stored whole, so that a server's page holding what this
    instance may not take (another instance's sharing group, a broken object) does not stop
    every later pull."""
    from shieldwall.intel.ingest import BundleRejected  # (see the TYPE_CHECKING import)

    with db.read() as conn:
        start = since if since is not None else _resume_from(conn, client.api_root,
                                                             collection_id, viewer)  # fmt: skip
    result = PullResult(added_after=start)
    pages = client.objects_pages(collection_id, added_after=start, limit=limit)
    for page in _read_ahead(pages, lambda page: ingestor.foresee(viewer, page.objects)):
        kept = page.objects
        while kept:
            bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": kept}
            try:
                stored = ingestor.ingest(viewer, bundle, source=f"taxii-pull:{client.api_root}")
            except BundleRejected as exc:
                refused = {d["index"]: d for d in exc.details if d["index"] is not None}
                if not skip_refused or not refused:  # (a bundle-level error names no object)
                    raise
                # Left out, and the rest tried again: what referred to them may go next.
                result.refused += [(d["id"], d["message"]) for d in refused.values()]
                kept = [o for i, o in enumerate(kept) if i not in refused]
                continue
            result.stored += stored.stored
            result.unchanged += stored.unchanged
            break
        result.pages += 1
        result.received += len(page.objects)
        if page.date_added_last:
            result.added_after = page.date_added_last
        if result.added_after:
            with db.write() as conn:
                _save(conn, client.api_root, collection_id, viewer, result.added_after,
                      complete=not page.more)  # fmt: skip
        if on_page is not None:
            on_page(result)
    return result


def _read_ahead(
    pages: Iterator[ObjectsPage], foresee: Callable[[ObjectsPage], None]
) -> Iterator[ObjectsPage]:
    """The pages, the next one read from the server while this one is stored (one page ahead,
    on a thread of its own), so the two sides work at once rather than in turn; `foresee` hears
    of each page as soon as it is read, so work on it can start early too."""
    handed: queue.Queue[tuple[ObjectsPage | None, BaseException | None]] = queue.Queue(1)
    stopped = threading.Event()

    def hand(item: tuple[ObjectsPage | None, BaseException | None]) -> bool:
        while not stopped.is_set():
            try:
                handed.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                foresee(page)
                if not hand((page, None)):
                    return
            hand((None, None))
        except BaseException as exc:  # handed to the reader, which raises it
            hand((None, exc))

    threading.Thread(target=read, name="shieldwall-taxii-read-ahead", daemon=True).start()
    try:
        while True:
            page, error = handed.get()
            if error is not None:
                raise error
            if page is None:
                return
            yield page
    finally:
        stopped.set()


def _resume_from(conn: Connection, api_root: str, collection_id: str, viewer: Viewer) -> str | None:
    c = taxii_pull_cursors.c
    row = conn.execute(
        select(c.added_after, c.complete).where(
            c.api_root == api_root, c.collection_id == collection_id, c.user_id == viewer.user_id
        )
    ).first()
    if row is None:
        return None
    if row.complete:
        return row.added_after
    stopped = datetime.fromisoformat(row.added_after) - timedelta(microseconds=1)
    return stopped.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _save(
    conn: Connection, api_root: str, collection_id: str, viewer: Viewer, added_after: str,
    *, complete: bool,
) -> None:  # fmt: skip
    c = taxii_pull_cursors.c
    key = (c.api_root == api_root, c.collection_id == collection_id, c.user_id == viewer.user_id)
    values = {"added_after": added_after, "complete": complete, "updated_at": utc_now()}
    if conn.execute(update(taxii_pull_cursors).where(*key).values(**values)).rowcount == 0:
        conn.execute(taxii_pull_cursors.insert().values(
            api_root=api_root, collection_id=collection_id, user_id=viewer.user_id, **values,
        ))  # fmt: skip
