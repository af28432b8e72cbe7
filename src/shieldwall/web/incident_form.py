"""Filing a request for assistance (/incidents/new), as POST /api/v1/incidents/preview and POST
/api/v1/incidents do: Preview shows the title and description as they will be stored (victim
data masked by the sanitiser, and what was masked) and which member will coordinate, by the
instance's rule; File stores it for the user's member and opens the incident. The form's
mistakes come back beside their field, as on the share page."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.incidents import service
from shieldwall.incidents.config import CAPABILITIES, SEVERITIES, SEVERITY_MEANINGS
from shieldwall.policy import may_act_in_incident
from shieldwall.web.incidents import refused
from shieldwall.web.pages import TLP_NAMES, expired_form, render, signed_in, to_login
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)

# Fields the service names in its refusals (`details[].property`), shown beside their control.
FIELDS = ("title", "description", "severity", "tlp", "countries", "sectors", "services",
          "needs", "languages", "links")  # fmt: skip
_LIST_SPLIT = re.compile(r"[,;\n]")


def _words(text: str) -> tuple[str, ...]:
    """A list typed in one field: comma-, semicolon- or line-separated."""
    return tuple(w.strip() for w in _LIST_SPLIT.split(text) if w.strip())


def draft_of(form: dict[str, Any]) -> service.Draft:
    """The request the form describes, as the service takes it."""
    return service.Draft(
        title=form.get("title", ""),
        description=form.get("description", ""),
        severity=form.get("severity", ""),
        tlp=form.get("tlp", ""),
        countries=_words(form.get("countries", "")),
        sectors=_words(form.get("sectors", "")),
        services=_words(form.get("services", "")),
        needs=tuple(form.get("needs", ())),
        languages=_words(form.get("languages", "")),
        links=tuple(line.strip() for line in form.get("links", "").splitlines() if line.strip()),
        internal_domains=_words(form.get("internal_domains", "")),
    )


def errors_of(exc: Invalid) -> dict[str, str]:
    """A refusal's messages by field (its details name them); the rest under `form`."""
    errors: dict[str, str] = {}
    for detail in exc.details:
        name = detail.get("property")
        key = name if name in FIELDS else "form"
        message = detail.get("message", "")
        if detail.get("id"):
            message = f"{detail['id']}: {message}"
        errors[key] = "; ".join(filter(None, (errors.get(key), message)))
    return errors or {"form": exc.message}


async def _page(request: Request, status: int = 200, **data: Any) -> Response:
    session = await signed_in(request)
    assert session is not None
    values = {"form": {"severity": "medium", "tlp": "amber"}, "errors": {}, "preview": None}
    values.update(data)
    tlp = values["form"].get("tlp")
    return render(
        "incident_new.html",
        request,
        session,
        status=status,
        severities=[(s, SEVERITY_MEANINGS[s]) for s in SEVERITIES],
        tlps=TLP_NAMES,
        capabilities=CAPABILITIES,
        may_file=may_act_in_incident(session.viewer),
        page_tlp=tlp if tlp in TLP_NAMES else None,
        **values,
    )


@router.get("/incidents/new")
async def new_incident(request: Request) -> Response:
    if await signed_in(request) is None:
        return to_login()
    return await _page(request)


@router.post("/incidents/new")
async def file_incident(request: Request) -> Response:
    """Preview (`action=preview`) or file (`action=file`) the request the form describes."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    raw = await request.form()
    form: dict[str, Any] = {k: v for k, v in raw.items() if isinstance(v, str)}
    form["needs"] = [v for v in raw.getlist("needs") if isinstance(v, str)]
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    app, viewer, draft = request.app, session.viewer, draft_of(form)
    config = app.state.incident_config
    try:
        preview = await run_in_threadpool(service.preview, app.state.db, viewer, config, draft)
    except Invalid as exc:
        return await _page(request, 422, form=form, errors=errors_of(exc))
    if form.get("action") != "file":
        return await _page(request, form=form, preview=preview)
    try:
        filed = await run_in_threadpool(
            service.file_incident, app.state.db, viewer, config, draft,
            app.state.incident_clock(),
        )  # fmt: skip
    except Invalid as exc:  # a link to intel the user may not see, found only when filing
        return await _page(request, 422, form=form, errors=errors_of(exc), preview=preview)
    except ShieldwallError as exc:
        return refused(request, session, exc)
    return RedirectResponse(f"/incidents/{filed['id']}", status_code=303)
