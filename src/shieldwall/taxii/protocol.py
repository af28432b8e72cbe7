"""TAXII 2.1's media types, error messages and content negotiation, free of any web framework.

Where the other Python TAXII servers stray from the standard this follows the standard:
an unversioned `application/taxii+json` means the newest version and is served (§1.6.8.1);
an Accept naming only other versions is a 406 (§3.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
VERSION = "2.1"


@dataclass
class TaxiiError(Exception):
    """An error as TAXII 2.1 §3.6.1 describes it; `http_status` is sent as a string."""

    status: int
    title: str
    description: str
    headers: dict[str, str] | None = None
    details: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "http_status": str(self.status),
        }
        if self.details:
            error["details"] = self.details
        return error


def bad_request(description: str) -> TaxiiError:
    return TaxiiError(400, "Bad Request", description)


def not_found(description: str) -> TaxiiError:
    return TaxiiError(404, "Not Found", description)


def forbidden(description: str) -> TaxiiError:
    return TaxiiError(403, "Forbidden", description)


def _media_range(item: str) -> tuple[str, dict[str, str]]:
    """'application/taxii+json; version=2.1;q=0.5' -> ('application/taxii+json', {...})."""
    kind, *params = (part.strip() for part in item.split(";"))
    parsed = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"')
    return kind.lower(), parsed


def _taxii_version_ok(kind: str, params: dict[str, str]) -> bool:
    return kind == "application/taxii+json" and params.get("version", VERSION) == VERSION


def check_accept(header: str | None) -> None:
    """406 unless the Accept header admits TAXII 2.1 (no header, */* and application/* do)."""
    if header is None or not header.strip():
        return
    for item in header.split(","):
        if not item.strip():
            continue
        kind, params = _media_range(item)
        try:
            if float(params.get("q", "1")) <= 0:
                continue
        except ValueError:
            continue
        if kind in ("*/*", "application/*") or _taxii_version_ok(kind, params):
            return
    raise TaxiiError(
        406,
        "Not Acceptable",
        f"this server answers in {TAXII_MEDIA_TYPE} (TAXII 2.1) only; the Accept header "
        f"{header[:200]!r} does not admit it",
    )


def check_content_type(header: str | None) -> None:
    """415 unless a request body is declared as TAXII 2.1 (§3.2: application/taxii+json)."""
    kind, params = _media_range(header or "")
    if not _taxii_version_ok(kind, params):
        raise TaxiiError(
            415,
            "Unsupported Media Type",
            f"objects are POSTed as {TAXII_MEDIA_TYPE} (a TAXII envelope), not "
            f"{(header or 'a body without a Content-Type')[:200]!r}",
        )


def too_large(limit: int) -> TaxiiError:
    return TaxiiError(
        413,
        "Payload Too Large",
        f"a request body may be at most {limit} bytes (max_content_length of the API root)",
    )
