"""Request bodies read as they arrive (chunked or not), never past a limit, whatever
Content-Length says; a large one written to a temporary file on the way, so that an import of
any size holds its objects' ids and never their bodies (intel/bundle_file.py reads it back)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from fastapi import Request


def temporary_file(head: bytes) -> IO[bytes]:
    """A temporary file holding `head`, for read_spooled to write the rest of a body to."""
    spill = tempfile.NamedTemporaryFile(  # noqa: SIM115 (read_spooled's caller deletes it)
        prefix="shieldwall-body-", suffix=".json", delete=False
    )
    spill.write(head)
    return spill


async def read_body(request: Request, limit: int, too_large: Callable[[], Exception]) -> bytes:
    """The body, or `too_large()` raised once it passes `limit` bytes."""
    body = await read_spooled(request, limit, too_large)
    assert isinstance(body, bytes)  # nothing spills without spill_above
    return body


async def read_spooled(
    request: Request,
    limit: int,
    too_large: Callable[[], Exception],
    *,
    spill_above: int | None = None,
    open_spill: Callable[[bytes], IO[bytes]] = temporary_file,
) -> bytes | Path:
    """The body, or `too_large()` raised once it passes `limit` bytes. Past `spill_above` bytes
    it goes to a file that `open_spill(the bytes so far)` opens, and its path is returned: the
    caller deletes it (here it is deleted only when reading fails)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large()
    chunks: list[bytes] = []
    size = 0
    spill: IO[bytes] | None = None
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large()
            if spill is not None:
                spill.write(chunk)
            elif spill_above is not None and size > spill_above:
                spill = open_spill(b"".join(chunks) + chunk)
                chunks = []
            else:
                chunks.append(chunk)
    except BaseException:
        if spill is not None:
            spill.close()
            Path(spill.name).unlink(missing_ok=True)
        raise
    if spill is None:
        return b"".join(chunks)
    spill.close()
    return Path(spill.name)
