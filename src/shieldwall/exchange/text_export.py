"""The `text` export: indicators' values as an analyst pastes them into an e-mail, a ticket or a
chat, a value per line and defanged (`hxxps://evil[.]example/x`, `198[.]51[.]100[.]7`,
`ops[@]evil[.]example`), so that no mail client turns them into links and nobody opens one by
a click. The free-text import (exchange/text.py) re-fangs exactly these spellings, so what this
writes goes back in as it came out.

It holds what a blocklist holds (exchange/blocklist.py: the visible, current indicators, each
value once, none on a false-positive warning list unless asked, each page audited), of every
kind a value export takes unless `kind` narrows it and of any PAP unless `pap` is given: a
text is read by people, who decide what to do with it, not loaded into a blocking device.
`defang=no` writes the values as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from shieldwall.db import Database
from shieldwall.exchange import filters
from shieldwall.exchange.blocklist import job_for, request_of, safe_value
from shieldwall.exchange.indicator_values import ValueRow
from shieldwall.exchange.value_export import Rendered, merged
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}


def defanged(kind: str, value: str) -> str:
    """A value as it is written to be read, not followed: the dots of a host (a domain, an
    address, a URL's or an e-mail address's host) as `[.]`, an e-mail's `@` as `[@]`, a URL's
    scheme as `hxxp`/`hxxps`/`fxp`. Hashes, and IPv6 addresses and ranges, stay as they are."""
    if kind in ("domain", "ipv4", "ipv4-cidr"):
        return value.replace(".", "[.]")
    if kind == "email":
        local, _, host = value.rpartition("@")
        return f"{local}[@]{host.replace('.', '[.]')}" if local else value
    if kind == "url":
        scheme, separator, rest = value.partition("://")
        if not separator:
            return value
        end = len(rest)
        for stop in "/?#":
            found = rest.find(stop)
            if found != -1:
                end = min(end, found)
        host = rest[:end]  # an IPv6 literal ([2001:db8::1]) has no dots
        return f"{_SCHEMES.get(scheme.lower(), scheme)}://{host.replace('.', '[.]')}{rest[end:]}"
    return value


@dataclass(frozen=True, slots=True)
class TextLines:
    """The text export's Renderer (value_export.py): a value a line, defanged unless not."""

    defang: bool = True
    sid_span: int = 0

    def render(self, rows: list[ValueRow]) -> Rendered:
        page = Rendered()
        keys, texts, defang = page.keys, page.texts, self.defang
        for row in rows:
            kind, value = row[5], row[6]
            line = safe_value(kind, value)
            if line is not None:
                keys.append(hash((kind, value)))  # value_key
                texts.append((defanged(kind, line) if defang else line) + "\n")
        return page

    def resid(self, text: str, line: int, old: int, new: int) -> str:
        raise AssertionError("a text export has no sids")


def export_text(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterator[str]:
    """The registry's text export (exchange/formats.py): a comment line, then the values."""
    defang = filters.flag(options.get("defang") or "yes")
    request = request_of(options, default=True, pap=None)
    job = job_for(db, viewer, settings, request, TextLines(defang))
    # No address, host or viewer's e-mail in the head: a re-import would find it as a value.
    note = ", defanged: re-fang them before use" if defang else ""
    head = f"# Shieldwall indicators, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{note}\n"
    for piece in merged(db, job, "export.text"):
        yield head + piece
        head = ""
    if head:
        yield head
