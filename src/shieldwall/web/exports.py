"""The exports page: what the signed-in user may see, downloaded in any format the registry
exports (exchange/formats.py), with the filters GET /api/v1/exports/{format} takes. The file is
made by the same exporter as the API's and the CLI's, as this user: the same policy, the same
audit entry (`export.<format>`), nothing more."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from shieldwall.api.streaming import stream_checked
from shieldwall.errors import ShieldwallError
from shieldwall.exchange.blocklist import BLOCKABLE
from shieldwall.exchange.formats import Format, format_for, formats
from shieldwall.markings import TLP
from shieldwall.web.pages import render, signed_in, to_login

router = APIRouter(include_in_schema=False)

# What the form asks, each an option of the formats that take it (a format is sent only those).
FIELDS = ("tlp", "label", "max_age_days", "kind", "min_score", "include_benign", "type")
_SUFFIXES = {"stix": "json", "misp": "json", "csv": "csv", "rpz": "zone", "suricata": "rules",
             "snort": "rules"}  # fmt: skip


def _exporting() -> list[Format]:
    return [f for f in formats() if f.exporter is not None]


def _page(request: Request, session, status: int = 200, error: str | None = None, **form):  # type: ignore[no-untyped-def]
    return render(
        "exports.html", request, session, status=status, error=error, formats=_exporting(),
        tlps=[t.label for t in TLP], kinds=BLOCKABLE, form=form,
    )  # fmt: skip


@router.get("/exports")
async def exports_page(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return to_login()
    return _page(request, session)


@router.get("/exports/download")
async def export_download(request: Request) -> Response:
    """The chosen format as a file. The form shows every filter: an empty one means "no
    filter", one the chosen format does not take is refused beside the form (never dropped)."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    query = request.query_params
    form = {k: ",".join(v for v in query.getlist(k) if v) for k in (*FIELDS, "format")}
    try:
        fmt = format_for(form["format"] or "", direction="export")
        ignored = [k for k in FIELDS if form[k] and k not in fmt.options]
        if ignored:
            raise ShieldwallError(
                f"{fmt.name} does not take {', '.join(ignored)}; it takes "
                f"{', '.join(fmt.options) or 'no filter'}"
            )
        options = {k: form[k] for k in FIELDS if form[k]}
        if fmt.name == "blocklist" and not form["kind"]:
            # The API's blocklist wants its kinds named (a device's list says what it holds);
            # here, as for the rule formats, none chosen means every kind.
            options["kind"] = ",".join(BLOCKABLE)
        assert fmt.exporter is not None
        pieces = fmt.exporter(request.app.state.db, session.viewer,
                              request.app.state.settings, options)  # fmt: skip
        name = f"shieldwall-{fmt.name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        disposition = f'attachment; filename="{name}.{_SUFFIXES.get(fmt.name, "txt")}"'
        return await stream_checked(
            pieces, media_type=fmt.media_type, headers={"Content-Disposition": disposition}
        )
    except ShieldwallError as exc:
        return _page(request, session, status=422, error=exc.message, **form)
