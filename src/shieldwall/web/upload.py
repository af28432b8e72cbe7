"""The share page's file upload (/share/file): a STIX 2.1 bundle or MISP events (JSON, their own
markings applying) or a CSV of indicators, stored whole or refused whole, as POST
/api/v1/objects, /api/v1/imports/misp and /api/v1/imports/csv store them.

The file is copied from the form to a temporary file, never held whole in memory: a bundle goes
through intel's two-pass reader (`Ingestor.ingest_file`), MISP and CSV are converted whole as
their API routes convert them.

Long imports show progress. The page's script (static/shieldwall.js) sends the form asking for
`application/x-ndjson` and counts the bytes as they leave; the answer is then one JSON line per
second or per step while the import runs (objects read, then stored of those read, for a bundle;
seconds spent for MISP and CSV) and a last line with the outcome. Progress travels on the
request's own answer, so nothing is kept between requests and any node may serve it. Without
the script the form posts as any form does and the page comes back when the import is done.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.exchange.csv_format import import_csv
from shieldwall.exchange.formats import detect_format
from shieldwall.exchange.misp_import import import_misp
from shieldwall.intel.bundle_file import Progress
from shieldwall.intel.ingest import Ingestor
from shieldwall.members.sessions import Session
from shieldwall.policy import Viewer
from shieldwall.web.pages import expired_form, signed_in, to_login
from shieldwall.web.security import same_token
from shieldwall.web.share import DEFAULTS, page

router = APIRouter(include_in_schema=False)

NDJSON = "application/x-ndjson"
_HEAD = 65536  # bytes read to tell MISP events from a STIX bundle (exchange/formats.py)
_BEAT = 1.0  # seconds between progress lines when the import has nothing new to say


@dataclass(frozen=True, slots=True)
class Upload:
    """A file received, copied to `path` (removed once stored or refused), and how to read it."""

    path: Path
    kind: str  # "stix", "misp" or "csv"
    csv_tlp: str
    csv_distribution: str


def _is_csv(filename: str | None, content_type: str | None) -> bool:
    """A CSV upload, by its name or type; anything else is read as JSON (STIX or MISP)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return (filename or "").lower().endswith(".csv") or kind in ("text/csv", "application/csv")


def _kind(path: Path, is_csv: bool) -> str:
    if is_csv:
        return "csv"
    with path.open("rb") as stream:
        head = stream.read(_HEAD)
    # Any JSON that is not MISP events goes to STIX, whose checks say what is wrong with it.
    return "misp" if detect_format(head) == "misp" else "stix"


def _refusal(exc: ShieldwallError) -> str:
    """A refusal as one line beside the file field: the reason and the first few details."""
    details = sorted({str(d.get("message", "")) for d in exc.details} - {""})[:5]
    return "; ".join([exc.message, *details])


def store(ingestor: Ingestor, viewer: Viewer, upload: Upload, progress: Progress) -> str:
    """Store the upload as `viewer`, all or nothing, and say what was stored; the temporary
    file is removed whatever happens (even when the browser left before the end)."""
    try:
        if upload.kind == "stix":
            result = ingestor.ingest_file(viewer, upload.path, source="web", progress=progress)
        elif upload.kind == "misp":
            try:
                document = orjson.loads(upload.path.read_bytes())
            except orjson.JSONDecodeError:
                raise Invalid("The file is not JSON (a STIX 2.1 bundle or MISP events).") from None
            if not document:
                raise Invalid("The file holds no MISP event.")
            result = import_misp(ingestor, viewer, document, source="web:misp")
        else:
            data = upload.path.read_bytes()
            result = import_csv(
                ingestor, viewer, data, "web:csv",
                tlp=upload.csv_tlp, distribution=upload.csv_distribution,
            )  # fmt: skip
    finally:
        upload.path.unlink(missing_ok=True)
    return f"Stored {result.stored} objects ({result.unchanged} already here)."


async def _received(request: Request, session: Session) -> Upload | str | None:
    """The upload copied to a temporary file; a mistake to show beside the file field; or None
    when the form's token is not the session's."""
    limit = request.app.state.settings.max_bundle_bytes
    async with request.form(max_part_size=limit) as raw:  # closes the spooled upload
        if not same_token(raw.get("csrf"), session.csrf):
            return None
        upload = raw.get("file")
        if upload is None or isinstance(upload, str):
            return "Choose a file to upload."
        with tempfile.NamedTemporaryFile(prefix="sw-upload-", delete=False) as copy:
            await run_in_threadpool(shutil.copyfileobj, upload.file, copy, 1 << 20)
            size = copy.tell()
        path = Path(copy.name)
        options = (str(raw.get("csv_tlp") or "amber"), str(raw.get("csv_distribution") or "org"))
        is_csv = _is_csv(upload.filename, upload.content_type)
    if not size or size > limit:
        path.unlink(missing_ok=True)
        return "Choose a file to upload." if not size else f"Files are limited to {limit} bytes."
    kind = await run_in_threadpool(_kind, path, is_csv)
    return Upload(path, kind, *options)


def _line(item: dict[str, Any]) -> bytes:
    return orjson.dumps(item) + b"\n"


async def progress_lines(run: Callable[[Progress], str]) -> AsyncIterator[bytes]:
    """Run `run(progress)` off the loop and say, a line at a time, how far it got: the newest
    step heard of (or the seconds spent, every `_BEAT`), then the outcome."""
    loop = asyncio.get_running_loop()
    heard: list[dict[str, Any]] = []

    def progress(phase: str, count: int) -> None:  # called from the worker thread
        loop.call_soon_threadsafe(heard.append, {"phase": phase, "objects": count})

    task = asyncio.ensure_future(run_in_threadpool(run, progress))
    # A browser that leaves does not stop the import (all or nothing, it ends on its own); its
    # outcome is then read here, so that a refusal nobody waits for is not logged as lost.
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    started = monotonic()
    yield _line({"phase": "received"})
    while not task.done():
        await asyncio.wait([task], timeout=_BEAT)
        step = heard[-1] if heard else {"phase": "working"}
        yield _line({**step, "seconds": round(monotonic() - started)})
    try:
        message = task.result()
    except ShieldwallError as exc:
        yield _line({"outcome": "refused", "message": _refusal(exc)})
    else:
        yield _line({"outcome": "stored", "message": message})


@router.post("/share/file")
async def share_file(request: Request) -> Response:
    """Store an uploaded file (see the module docstring), answering with the share page, or,
    to the page's script, with progress lines and the outcome."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    received = await _received(request, session)
    if received is None:
        return expired_form(request, session)
    streamed = NDJSON in request.headers.get("accept", "")
    if isinstance(received, str):
        if streamed:
            return Response(_line({"outcome": "refused", "message": received}), 200, None, NDJSON)
        return await page(request, 422, form={}, errors={"file": received})
    ingestor, viewer = request.app.state.ingestor, session.viewer
    if streamed:
        lines = progress_lines(lambda progress: store(ingestor, viewer, received, progress))
        return StreamingResponse(lines, media_type=NDJSON)
    try:
        done = await run_in_threadpool(store, ingestor, viewer, received, lambda *_: None)
    except ShieldwallError as exc:
        return await page(request, 422, form={}, errors={"file": _refusal(exc)})
    return await page(request, form=DEFAULTS, uploaded=done)
