"""Streamed answers that cannot pass for a success when they fail.

A streamed answer sends its status and headers before its body. If the first batch of a
blocklist fails after that, the client got "200" and an empty body: an empty blocklist, as far as
a firewall can tell. So the first piece is made before the answer starts (a failure there is an
ordinary error answer), and a failure after that is raised on, which makes the server break the
connection off (api/errors.py ServerErrors): a client reading a chunked body then sees it end
without its final chunk, never a short answer ending cleanly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

_END = object()


async def stream_checked(
    pieces: Iterable[str | bytes], media_type: str, headers: dict[str, str] | None = None
) -> StreamingResponse:
    """A StreamingResponse of `pieces` (made in a worker thread: they read the database), whose
    first piece has been made before it is returned."""
    iterator = iter(pieces)
    first = await run_in_threadpool(next, iterator, _END)

    async def body() -> AsyncIterator[str | bytes]:
        if first is _END:
            return
        yield first  # type: ignore[misc]
        async for piece in iterate_in_threadpool(iterator):
            yield piece

    return StreamingResponse(body(), media_type=media_type, headers=headers)
