"""The member directory page, and no page referring to another host."""

from __future__ import annotations

import re

from tests.factories import World
from tests.web.signing_in import browser, csrf_of, signed_in


def test_a_sharing_group_of_others_is_not_listed_and_the_directory_is(world: World, app) -> None:  # type: ignore[no-untyped-def]
    mine, other, third = (world.member(f"Member {n}", country="DE") for n in "XYZ")
    web = signed_in(world, app, world.user(mine))
    world.group([other, third], name="Quiet circle")
    page = web.get("/members")
    assert page.status_code == 200
    assert "Quiet circle" not in page.text
    assert "Your member is in no sharing group." in page.text
    for name in ("Member X", "Member Y", "Member Z"):
        assert name in page.text
    world.group([mine, other], name="Open circle")
    page = web.get("/members").text
    assert "Open circle" in page and "Quiet circle" not in page
    assert browser(app).get("/members").headers["location"] == "/login"


_REFERENCE = re.compile(r'(?:href|src|action)="([^"]*)"')


def test_no_page_refers_to_another_host(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.user(world.member()))
    pages = [browser(app).get("/login").text]
    pages += [web.get(url).text for url in ("/", "/reports", "/search?q=x", "/lookup", "/members")]
    form = web.get("/lookup").text
    pages.append(web.post("/lookup", data={"values": "x", "csrf": csrf_of(form)}).text)
    for html in pages:
        for ref in _REFERENCE.findall(html):
            assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html
    css = web.get("/static/shieldwall.css").text
    assert "url(" not in css and "@import" not in css
