"""What every page needs to be safe in a browser: secure headers, the session cookie, and the
CSRF token every form carries."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "sw_session"
LOGIN_CSRF_COOKIE = "sw_login_csrf"  # the sign-in form's token, before there is a session

# No inline script or style anywhere: the pages use the one stylesheet and the scripts under
# /static (htmx, vendored, and our own), which talk only to this server (connect-src).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    # Pages show TLP:AMBER and TLP:RED content: no copy kept by the browser or a proxy.
    "cache-control": "no-store",
}
# The REST API, its documentation and TAXII keep their own rules.
_NOT_PAGES = ("/api/", "/taxii2")


class SecureHeaders:
    """Adds PAGE_HEADERS to every response outside the API (pages, static files, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_NOT_PAGES):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    if name == "cache-control" and scope["path"].startswith("/static/"):
                        continue  # the stylesheet and scripts hold nothing secret
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(sent: object, expected: str | None) -> bool:
    """Whether a form's token is the one expected, compared in constant time."""
    return (
        isinstance(sent, str)
        and bool(expected)
        and hmac.compare_digest(sent.encode(), str(expected).encode())
    )


def cookie_options(request: Request) -> dict[str, object]:
    """HTTP-only, SameSite=Lax, and Secure whenever the page came over HTTPS."""
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
        "path": "/",
    }
