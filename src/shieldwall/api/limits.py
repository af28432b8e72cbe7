"""How much of a request body the server reads: never more than the route's limit.

A limit checked against `Content-Length` alone is no limit: a chunked body has none, and was read
whole before the check (an 8 MB chunked bundle against a 1 MB limit; an 82 MB `/lookup`). This
middleware counts the bytes as they arrive, for every route, and stops at the limit with a 413;
a declared length past it is refused before a byte is read. Routes that take STIX bundles
(`POST /api/v1/bundles`, TAXII's objects) read their own bodies as a stream up to
SHIELDWALL_MAX_BUNDLE_BYTES; every other route takes at most MAX_REQUEST_BYTES, far more than
the largest request any of them needs (10,000 lookup values or sightings, a 1,000,000-character
text to sanitise).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shieldwall.api.errors import error_response

MAX_REQUEST_BYTES = 16 * 1024 * 1024
# Routes whose body is a STIX bundle: their limit is the bundle limit (a setting).
BUNDLE_ROUTES = (("POST", "/api/v1/bundles"), ("POST", "/taxii2/"))


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes its limit: FastAPI lets an HTTPException out
    of its body parsing as it is (any other error there becomes a 400), and the app's handler
    answers it in the JSON error shape."""

    def __init__(self, limit: int) -> None:
        # Connection: close, or the server would go on reading (and dropping) the rest of the
        # body to reach the next request on the connection: the limit would limit nothing.
        super().__init__(
            413, f"a request body here may be at most {limit} bytes", {"Connection": "close"}
        )


def limit_for(method: str, path: str, bundle_limit: int) -> int:
    """The most bytes of body the server reads for a request to `path`."""
    for route_method, prefix in BUNDLE_ROUTES:
        if method == route_method and path.startswith(prefix):
            return bundle_limit
    return MAX_REQUEST_BYTES


class BodyLimit:
    """ASGI middleware: a 413 for a body past its route's limit, declared or counted."""

    def __init__(self, app: ASGIApp, bundle_limit: int) -> None:
        self.app = app
        self.bundle_limit = bundle_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"], self.bundle_limit)
        declared = Headers(scope=scope).get("content-length", "")
        # TAXII answers in its own error shape: its route refuses a declared length itself,
        # before reading a byte (taxii/routes.py); the count below still stops any other.
        taxii = scope["path"].startswith("/taxii2/")
        if declared.isdigit() and int(declared) > limit and not taxii:
            refusal = BodyTooLarge(limit)
            await error_response(413, refusal.detail, headers=refusal.headers)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
