"""A MISP document whose values STIX will not take (exchange/misp_unfit.py): the first try is
rejected before ingest writes anything, and what the document is finally told or stored is what
a plain ingest gives.

Negative cases first: a document refused for something no note can answer is told every error
plain ingest finds (sharing's too), and nothing of it is stored.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from shieldwall.exchange.misp_import import ingest_conversion, misp_to_bundle
from shieldwall.exchange.misp_unfit import (
    Conversion,
    RejectedBeforeWriting,
    rejecting_before_writing,
    validating_the_rest,
)
from shieldwall.intel.ingest import BundleRejected
from shieldwall.intel.tables import change_log, objects
from shieldwall.intel.validate import validate_bundle
from shieldwall.markings import SHARING_EXTENSION_ID, TLP
from shieldwall.members import service
from shieldwall.policy import Viewer
from tests.exchange.test_misp_import import osint_event
from tests.factories import ApiUser, World


def viewer_of(world: World, user: ApiUser) -> Viewer:
    with world.db.read() as conn:
        return service.viewer_for_user(conn, user.user_id)


def stored(world: World) -> tuple[int, int]:
    with world.db.read() as conn:
        return (
            conn.scalar(select(func.count()).select_from(objects)) or 0,
            conn.scalar(select(func.count()).select_from(change_log)) or 0,
        )


def with_unfit_md5(event: dict[str, Any]) -> dict[str, Any]:
    event["Event"]["Object"][0]["Attribute"][0].update(type="md5", value="not-an-md5", to_ids=True)
    return event


def broken_report(conversion: Conversion) -> Conversion:
    """The conversion with its report broken in two ways no note answers: a validation error
    (its time) and one of sharing (TLP:RED asking for distribution `all`)."""
    report = next(o for o in conversion.bundle["objects"] if o["type"] == "report")
    report["modified"] = "not a time"
    report["object_marking_refs"] = [TLP.RED.marking_id]
    report["extensions"] = {SHARING_EXTENSION_ID: {
        "extension_type": "property-extension", "distribution": "all",
    }}  # fmt: skip
    return conversion


@pytest.mark.parametrize("unfit", [False, True], ids=["fit values", "an unfit value"])
def test_a_refusal_no_note_answers_is_the_plain_ingest_one_and_stores_nothing(
    app: Any, world: World, unfit: bool
) -> None:
    alice = world.user(world.member())
    viewer = viewer_of(world, alice)
    event = with_unfit_md5(osint_event()) if unfit else osint_event()
    conversion = broken_report(misp_to_bundle(event, viewer.member_id))
    before = stored(world)
    # What ingest_conversion answered before the first try was rejected before writing: plain
    # ingest's rejection, or, when notes answer part of it, plain ingest's of the noted bundle.
    with pytest.raises(BundleRejected) as plain:
        app.state.ingestor.ingest(viewer, conversion.bundle, source="misp")
    noted = conversion.with_unfit_values_as_notes(plain.value)
    assert (noted is not None) == unfit
    if noted is not None:
        with pytest.raises(BundleRejected) as plain:
            app.state.ingestor.ingest(viewer, noted, source="misp")
    with pytest.raises(BundleRejected) as ours:
        ingest_conversion(app.state.ingestor, viewer, conversion, source="misp")
    assert not isinstance(ours.value, RejectedBeforeWriting)
    assert len(ours.value.details) > 1
    assert ours.value.details == plain.value.details
    assert str(ours.value) == str(plain.value)
    assert stored(world) == before


def test_the_first_try_is_rejected_before_anything_is_written(app: Any, world: World) -> None:
    alice = world.user(world.member())
    viewer = viewer_of(world, alice)
    conversion = misp_to_bundle(with_unfit_md5(osint_event()), viewer.member_id)
    statements: list[str] = []

    def heard(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", heard)
    try:
        with pytest.raises(RejectedBeforeWriting) as early:
            rejecting_before_writing(app.state.ingestor).ingest(viewer, conversion.bundle)
        assert statements == []  # not even a read: nothing was asked of the database
        with pytest.raises(BundleRejected) as plain:
            app.state.ingestor.ingest(viewer, conversion.bundle)
        assert any(s.lstrip().upper().startswith("INSERT") for s in statements)
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", heard)
    # The same validation errors (plain ingest would add sharing's; here there are none).
    assert early.value.details == plain.value.details


def test_unfit_values_become_notes_and_a_fit_document_is_stored_whole(
    app: Any, world: World
) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    unfit = misp_to_bundle(with_unfit_md5(osint_event()), viewer_of(world, alice).member_id)
    (bad,) = [o for o in unfit.bundle["objects"] if o.get("x_misp_value") == "not-an-md5"]
    done = ingest_conversion(app.state.ingestor, viewer_of(world, alice), unfit, source="misp")
    assert "note--" + bad["id"].partition("--")[2] in done.stored_ids
    assert bad["id"] not in done.stored_ids
    fit = misp_to_bundle(osint_event(), viewer_of(world, bob).member_id)
    done = ingest_conversion(app.state.ingestor, viewer_of(world, bob), fit, source="misp")
    assert done.stored == len(fit.bundle["objects"])


def test_the_second_try_is_told_what_validating_all_of_it_tells(app: Any) -> None:
    conversion = misp_to_bundle(
        with_unfit_md5(osint_event()), "8d0f3c1e-0c4b-4f7e-9a43-3b1f6f0e2d11"
    )
    rejected = RejectedBeforeWriting(validate_bundle(conversion.bundle))
    noted = conversion.with_unfit_values_as_notes(rejected)
    assert noted is not None
    second = validating_the_rest(app.state.ingestor, conversion.bundle, rejected).validator
    objects = noted["objects"]
    broken = {**objects[0], "created": "yesterday"}  # a new dict: validated again
    for bundle in (
        noted,
        {**noted, "objects": [broken, *objects[1:]]},
        {**noted, "objects": [*objects, objects[3]]},  # a version sent twice
        {**noted, "id": "bundle--nope"},
    ):
        check = second.start(bundle)
        assert check.done and check() == validate_bundle(bundle)
    assert validate_bundle(noted) == []
