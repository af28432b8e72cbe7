"""Errors the services raise; the web layer maps each to one HTTP status, the CLI to a message."""

from __future__ import annotations

from typing import Any


class ShieldwallError(Exception):
    status = 400

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class Invalid(ShieldwallError):
    """The request is well-formed but its content breaks a rule."""

    status = 422


class NotFound(ShieldwallError):
    """Unknown, or invisible to this viewer: the two are never told apart."""

    status = 404


class Forbidden(ShieldwallError):
    status = 403


class Conflict(ShieldwallError):
    status = 409


class Unauthorized(ShieldwallError):
    """No API key, or one this instance does not know."""

    status = 401


class TooManyRequests(ShieldwallError):
    """Too many attempts (failed authentications...): try again in `retry_after` seconds."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooLong(ShieldwallError):
    """The request's work ran past the time one request may take (SHIELDWALL_STATEMENT_SECONDS)."""

    status = 503
