"""The admin page: refused to everyone but the instance's admins (written first), then what an
admin sees there: members, users, sharing groups, collections, and the audit log verified."""

from __future__ import annotations

from sqlalchemy import update

from shieldwall.audit.tables import audit_log
from shieldwall.policy import Role
from tests.factories import World, indicator
from tests.web.signing_in import browser, email_of, signed_in
from tests.web.test_members_page import _REFERENCE


def test_only_instance_admins_see_the_admin_page(world: World, app) -> None:  # type: ignore[no-untyped-def]
    other = world.member("Other member")
    hidden = email_of(world, world.user(other))
    world.group([other, world.member()], name="Quiet circle")
    for role in (Role.MEMBER_ADMIN, Role.ANALYST, Role.READER):
        web = signed_in(world, app, world.user(world.member(), role))
        page = web.get("/admin")
        assert page.status_code == 403
        assert "for instance admins only" in page.text
        for secret in (hidden, "Quiet circle", "entries verified", "hash chain"):
            assert secret not in page.text
        assert 'href="/admin"' not in web.get("/").text  # not offered in the navigation
    assert browser(app).get("/admin").headers["location"] == "/login"


def test_an_admin_sees_the_instance_and_the_audit_log_verified(world: World, app) -> None:  # type: ignore[no-untyped-def]
    analyst = world.user(world.member("Grid operator"))
    for _ in range(3):
        assert analyst.share(indicator())
    world.group([world.member("Water board"), world.member("Rail operator")], name="Utilities")
    web = signed_in(world, app, world.admin())
    assert 'href="/admin"' in web.get("/").text
    page = web.get("/admin")
    assert page.status_code == 200, page.text
    text = page.text
    for shown in ("Grid operator", "Water board", email_of(world, analyst), "Utilities"):
        assert shown in text
    assert "The hash chain holds:" in text and "intel.ingest" in text
    with world.db.write() as conn:
        from shieldwall.selections.service import Selection
        from shieldwall.taxii.collections import create_collection

        feed = create_collection(conn, "Energy feed", Selection())
    row = web.get("/admin").text.split("Energy feed")[1].split("</tr>")[0]
    assert f"<code>{feed}</code>" in row and f"/feeds/misp/{feed}/</code>" in row

    with world.db.write() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(detail='{"count":0}'))
    text = web.get("/admin").text
    assert "The hash chain is broken at entry 2" in text
    assert web.get("/admin?before=0").status_code == 422
    for ref in _REFERENCE.findall(text):
        assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref
