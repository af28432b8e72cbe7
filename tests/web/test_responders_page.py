"""The responder directory: analysts and readers may read it but not declare (written first);
a member-admin declares its member's profile, mistakes beside their field, and every member
then reads it, as through the API."""

from __future__ import annotations

from typing import Any

from shieldwall.policy import Role
from tests.factories import World
from tests.web.signing_in import csrf_of, signed_in
from tests.web.test_accessibility import check


def declare(web: Any, **fields: Any) -> Any:
    form = {"capabilities": ["forensics", "incident-response"], "countries": "EE, lv",
            "sectors": "Energy", "languages": "et, en", "availability": "available",
            "note": "Two teams, 24/7", **fields}  # fmt: skip
    token = csrf_of(web.get("/responders").text)
    return web.post("/responders", data={**form, "csrf": token})


def test_analysts_and_readers_read_the_directory_but_do_not_declare(world: World, app) -> None:  # type: ignore[no-untyped-def]
    lab = world.member("Forensics Lab", "academia")
    for role in (Role.ANALYST, Role.READER):
        user = world.user(lab, role)
        web = signed_in(world, app, user)
        page = web.get("/responders")
        assert page.status_code == 200 and 'action="/responders"' not in page.text
        refused = declare(web)
        assert refused.status_code == 403
        assert user.get(f"/api/v1/responders/{lab}").status_code == 404  # nothing declared


def test_a_member_admin_declares_its_profile_and_everyone_reads_it(world: World, app) -> None:  # type: ignore[no-untyped-def]
    lab = world.member("Forensics Lab", "academia")
    web = signed_in(world, app, world.user(lab, Role.MEMBER_ADMIN))
    page = web.get("/responders")
    assert "No member has declared" in page.text and "Declare your member" in page.text
    bad = declare(web, countries="Estonia", availability="whenever")
    assert bad.status_code == 422
    assert 'aria-describedby="availability-error"' in bad.text  # the first mistake found
    bad = declare(web, countries="Estonia")
    assert bad.status_code == 422 and 'aria-describedby="countries-error"' in bad.text
    assert 'value="Estonia"' in bad.text  # the form keeps what was typed
    done = declare(web)
    assert done.status_code == 303
    page = web.get(done.headers["location"])
    assert "profile is saved" in page.text and "Your member&#39;s profile</h2>" in page.text
    check("/responders", page.text)
    other = world.user(world.member("Grid EE"))
    listed = signed_in(world, app, other).get("/responders").text
    assert "Forensics Lab" in listed and "forensics, incident-response" in listed
    assert "EE, LV" in listed and "Two teams, 24/7" in listed
    profile = other.get(f"/api/v1/responders/{lab}").json()
    assert profile["capabilities"] == ["forensics", "incident-response"]
    assert profile["languages"] == ["et", "en"] and profile["availability"] == "available"
