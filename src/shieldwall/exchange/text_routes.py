"""REST route for free text in: a preview of the indicators found, then (on confirmation) one
report holding them, stored whole or not at all."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import current_viewer, get_ingestor, get_settings
from shieldwall.api.openapi import errors
from shieldwall.errors import Invalid
from shieldwall.exchange.text import Candidate, extract, import_text, on_warning_lists
from shieldwall.intel.ingest import Ingestor
from shieldwall.intel.routes import PayloadTooLarge
from shieldwall.markings import TLP
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.sightings.benign import warning_lists

router = APIRouter(prefix="/api/v1", tags=["exchange"])


class TextIn(BaseModel):
    """Free text to read indicators from; with `preview: false`, the report to share them in."""

    model_config = ConfigDict(extra="forbid")

    text: str
    preview: bool = True
    values: list[str] | None = Field(
        None, description="only these of the values found (the analyst's confirmed subset)"
    )
    name: str | None = Field(None, max_length=1000)
    description: str | None = None
    tlp: str = "amber"
    distribution: Literal["org", "community", "federation", "all", "group"] = "community"
    sharing_group: str | None = None
    anonymous: bool = False


def _chosen(body: TextIn, found: list[Candidate]) -> list[Candidate]:
    if body.values is None:
        return found
    by_value = {c.value: c for c in found}
    missing = [v for v in body.values if v not in by_value]
    if missing:
        raise Invalid(f"not among the values found in the text: {', '.join(missing[:5])}")
    wanted = set(body.values)
    return [c for c in found if c.value in wanted]


@router.post("/imports/text", responses=errors(403, 413))
async def import_free_text(
    body: TextIn,
    response: Response,
    viewer: Viewer = Depends(current_viewer),
    ingestor: Ingestor = Depends(get_ingestor),
    settings: Settings = Depends(get_settings),
) -> dict:
    """The indicators in a free text (`preview`, the default: nothing is stored), or, with
    `preview: false`, a report with an indicator per value (a vulnerability per CVE id) at the
    TLP and distribution given, stored whole or not at all (201)."""
    if len(body.text) > settings.max_bundle_bytes:
        raise PayloadTooLarge(f"texts are limited to {settings.max_bundle_bytes} characters")
    found = await run_in_threadpool(extract, body.text)
    if body.preview:
        lists = warning_lists(settings.warninglists, settings.cache_dir)
        return {
            "candidates": [
                {
                    "kind": c.kind,
                    "value": c.value,
                    "position": c.position,
                    "warning_lists": on_warning_lists(lists, c),
                }
                for c in found
            ]
        }
    chosen = _chosen(body, found)
    if not chosen:
        raise Invalid("no indicator to share: the text holds no value this import knows")
    if not (body.name or "").strip():
        raise Invalid("a report needs a name")
    try:
        TLP.parse(body.tlp)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if (body.distribution == "group") != (body.sharing_group is not None):
        raise Invalid("a sharing group goes with the distribution 'group', and only with it")
    report = body.model_dump(include={"name", "description", "tlp", "distribution"})
    report["anonymous"] = "on" if body.anonymous else ""
    if body.sharing_group is not None:
        report["sharing_group"] = body.sharing_group
    bundle, result = await run_in_threadpool(
        import_text, ingestor, viewer, report, chosen, source="api:text"
    )
    response.status_code = 201
    head, *rest = bundle["objects"]
    return {
        "report": head["id"],
        "objects": [o["id"] for o in rest],
        **result.as_dict(),
    }


def register(app: FastAPI) -> None:
    app.include_router(router)
