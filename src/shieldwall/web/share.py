"""The share page (/share): a report with indicators pasted as values, one a line, or found in a
pasted free text (an e-mail, a write-up: exchange/text.py, CVE and ATT&CK ids too), at a chosen
TLP and distribution (a sharing group, anonymously if asked), through a preview that shows the
indicators found, each with the warning lists naming it, for the analyst to confirm a subset
(those on a list start unticked), and the description with victim data masked (POST
/api/v1/sanitize's service), then stored by intel's ingest as POST /api/v1/objects stores a
bundle. Only what the preview showed and the analyst kept is shared: a text edited after its
preview is previewed again. The form's
mistakes come back beside their field; ingest's own refusals (a TLP asking for more than its
distribution allows) come back as they are, never widened or narrowed. Files uploaded from the
same page are upload.py's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.correlate.values import normalise
from shieldwall.errors import ShieldwallError
from shieldwall.exchange.csv_format import DISTRIBUTIONS as CSV_DISTRIBUTIONS
from shieldwall.exchange.indicators import PATTERNS, pattern_of, report_bundle
from shieldwall.exchange.text import Candidate, extract, on_warning_lists, text_bundle
from shieldwall.intel.sanitize import sanitize_text
from shieldwall.members import service as members_service
from shieldwall.sightings.benign import warning_lists
from shieldwall.web.pages import TLP_NAMES, expired_form, render, signed_in, to_login
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)

MAX_VALUES = 1000
DISTRIBUTIONS = ("org", "community", "federation", "all", "group")
DEFAULTS = {"tlp": "amber", "distribution": "community"}


def indicators_of(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """The values pasted, one a line, as (kind, value, pattern); and the lines that are none."""
    found: list[dict[str, str]] = []
    bad: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        raw = line.strip()
        if not raw or raw.startswith("#"):
            continue
        observable = normalise("auto", raw)
        if observable is None or observable.kind not in PATTERNS:
            bad.append(raw)
            continue
        pattern = pattern_of(observable.kind, observable.value)
        if pattern not in seen:
            seen.add(pattern)
            found.append({"kind": observable.kind, "value": observable.value, "pattern": pattern})
    return found, bad


def _check(form: dict[str, str], group_ids: set[str]) -> dict[str, str]:
    """The form's mistakes, by field."""
    errors: dict[str, str] = {}
    if not form.get("name", "").strip():
        errors["name"] = "Give the report a title."
    if form.get("tlp") not in TLP_NAMES:
        errors["tlp"] = "Choose a TLP."
    if form.get("distribution") not in DISTRIBUTIONS:
        errors["distribution"] = "Choose who may see it."
    elif form["distribution"] == "group" and form.get("sharing_group") not in group_ids:
        errors["sharing_group"] = "Choose one of your member's sharing groups."
    elif form["distribution"] != "group" and form.get("sharing_group"):
        errors["sharing_group"] = "A sharing group goes only with the distribution 'group'."
    return errors


async def page(request: Request, status: int = 200, **data: Any) -> Response:
    session = await signed_in(request)
    assert session is not None
    viewer = session.viewer

    def groups() -> list[dict[str, Any]]:
        with request.app.state.db.read() as conn:
            return members_service.list_groups(conn, viewer.member_id)

    values = {"form": {}, "errors": {}, "preview": None, "uploaded": None, **data}
    values["groups"] = await run_in_threadpool(groups)
    values["tlps"], values["distributions"] = TLP_NAMES, DISTRIBUTIONS
    values["csv_distributions"] = CSV_DISTRIBUTIONS
    tlp = values["form"].get("tlp")
    return render(
        "share.html",
        request,
        session,
        status=status,
        page_tlp=tlp if tlp in TLP_NAMES else None,
        **values,
    )


@router.get("/share")
async def share_form(request: Request) -> Response:
    if await signed_in(request) is None:
        return to_login()
    return await page(request, form=DEFAULTS)


@router.post("/share")
async def share(request: Request) -> Response:
    """Preview (`action=preview`) or store (`action=share`) the report the form describes."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    raw = await request.form()
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    errors = _check(form, set(session.viewer.group_ids))
    free_text, found = form.get("reading") == "text", []
    if free_text:  # an e-mail, a write-up: exchange/text.py finds what it holds
        found = await run_in_threadpool(extract, form.get("values", ""))
        indicators = [{"kind": c.kind, "value": c.value} for c in found]
        if not found:
            errors["values"] = "No indicator found in the text."
    else:
        indicators, bad = indicators_of(form.get("values", ""))
        if bad:
            listed = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
            errors["values"] = f"Not an IP address, domain, URL, e-mail address or hash: {listed}"
        elif not indicators:
            errors["values"] = "Paste at least one value, one a line."
    if len(indicators) > MAX_VALUES:
        errors["values"] = f"At most {MAX_VALUES} values at a time here."
    settings = request.app.state.settings
    lists = await run_in_threadpool(warning_lists, settings.warninglists, settings.cache_dir)
    for i in indicators:
        i["key"] = f"{i['kind']}:{i['value']}"
        i["warning_lists"] = on_warning_lists(lists, Candidate(i["kind"], i["value"], 0))
    sharing = form.get("action") == "share"
    shown, kept = set(raw.getlist("shown")), set(raw.getlist("keep"))
    for i in indicators:  # a value not previewed yet starts kept, unless a list names it
        new = i["key"] not in shown
        i["kept"] = i["key"] in kept or (new and (sharing or not i["warning_lists"]))
    sanitized = sanitize_text(form.get("description", ""))
    preview = {"indicators": indicators, "description": sanitized.as_dict()}
    if sharing and not errors and shown:
        if any(i["key"] not in shown for i in indicators):
            errors["values"] = "The text changed after its preview: check the indicators again."
        elif not any(i["kept"] for i in indicators):
            errors["values"] = "Keep at least one indicator to share."
    if errors or not sharing:
        return await page(
            request, 422 if errors else 200, form=form, errors=errors, preview=preview
        )
    kept = {i["key"] for i in indicators if i["kept"]}
    found = [c for c in found if f"{c.kind}:{c.value}" in kept]
    indicators = [
        {k: v for k, v in i.items() if k in ("kind", "value", "pattern")}
        for i in indicators
        if i["kept"]
    ]
    if form.get("use_sanitized") == "on":
        form["description"] = preview["description"]["text"]
    bundle = text_bundle(form, found) if free_text else report_bundle(form, indicators)
    try:
        await run_in_threadpool(request.app.state.ingestor.ingest, session.viewer, bundle)
    except ShieldwallError as exc:
        messages = sorted({d.get("message", "") for d in exc.details} - {""}) or [exc.message]
        text = "; ".join(messages)
        # Most refusals are a TLP asking for more than the distribution allows: say so there.
        errors["distribution" if "distribution" in text.lower() else "form"] = text
        return await page(request, 422, form=form, errors=errors, preview=preview)
    return RedirectResponse(f"/reports/{bundle['objects'][0]['id']}", status_code=303)
