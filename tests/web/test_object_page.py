"""The object page (/objects/{id}): what another member may not see leaves no trace (the "may
not" first: the object itself, the reports holding it, the objects sharing its values), then what
the user may see is there, and the links that lead to it."""

from __future__ import annotations

import re

from tests.factories import World, indicator, report
from tests.web.signing_in import signed_in

VALUE = "198.51.100.31"


def page(web, url: str) -> str:  # type: ignore[no-untyped-def]
    response = web.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.text


def test_an_object_the_user_may_not_see_is_the_same_404_as_one_that_does_not_exist(
    world: World, app
) -> None:  # type: ignore[no-untyped-def]
    a_user, b_user = world.user(world.member()), world.user(world.member())
    secret = indicator(VALUE, tlp="red", distribution="org")
    assert a_user.share(secret).status_code == 201
    web = signed_in(world, app, b_user)
    hidden = web.get(f"/objects/{secret['id']}")
    unknown = web.get("/objects/indicator--00000000-0000-4000-8000-000000000000")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text == unknown.text
    assert VALUE not in hidden.text
    assert page(signed_in(world, app, a_user), f"/objects/{secret['id']}").count(VALUE) >= 1


def test_the_page_names_only_the_reports_and_matches_the_user_may_see(world: World, app) -> None:  # type: ignore[no-untyped-def]
    a_user, b_user = world.user(world.member()), world.user(world.member())
    ioc = indicator(VALUE, tlp="green", distribution="community")
    open_report = report([ioc["id"]], name="Open wave", tlp="green", distribution="community")
    closed_report = report([ioc["id"]], name="Closed wave", tlp="red", distribution="org")
    twin = indicator(VALUE, tlp="amber", distribution="community")  # the same value, visible
    twin["name"] = "Twin of the value"
    hidden_twin = indicator(VALUE, tlp="red", distribution="org")
    hidden_twin["name"] = "Hidden twin"
    assert a_user.share(ioc, open_report, twin, hidden_twin).status_code == 201
    # Alone: in the same bundle, a red report would make the objects it names red as well.
    assert a_user.share(closed_report).status_code == 201

    html = page(signed_in(world, app, b_user), f"/objects/{ioc['id']}")
    for absent in ("Closed wave", closed_report["id"], "Hidden twin", hidden_twin["id"]):
        assert absent not in html, absent
    assert f'<a href="/reports/{open_report["id"]}">Open wave</a>' in html
    assert f'<a href="/objects/{twin["id"]}">Twin of the value</a>' in html
    assert f"ipv4:{VALUE}" in html  # through which value
    assert "TLP:AMBER" in re.search(r"This page shows up to.*?</", html, re.S).group(0)

    # The sharer sees its own closed report and hidden twin too.
    own = page(signed_in(world, app, a_user), f"/objects/{ioc['id']}")
    assert "Closed wave" in own and "Hidden twin" in own


def test_search_hits_and_report_lines_lead_to_the_object_and_a_report_to_its_own_page(
    world: World, app
) -> None:  # type: ignore[no-untyped-def]
    user = world.user(world.member())
    ioc = indicator(VALUE, tlp="green", distribution="community")
    ioc["name"] = "Quartz beacon"
    rep = report([ioc["id"]], name="Quartz wave", tlp="green", distribution="community")
    assert user.share(ioc, rep).status_code == 201
    web = signed_in(world, app, user)
    link = f'<a href="/objects/{ioc["id"]}">Quartz beacon</a>'
    assert link in page(web, "/search?q=quartz")
    assert link in page(web, f"/reports/{rep['id']}")
    moved = web.get(f"/objects/{rep['id']}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == f"/reports/{rep['id']}"


def test_a_sighting_is_recorded_from_the_object_page_only_with_the_forms_token(
    world: World, app
) -> None:  # type: ignore[no-untyped-def]
    from tests.web.signing_in import csrf_of

    ioc = indicator("198.51.100.124", tlp="green", distribution="community")
    assert world.user(world.member()).share(ioc).status_code == 201
    user = world.user(world.member())
    observer = signed_in(world, app, user)
    html = page(observer, f"/objects/{ioc['id']}")
    assert 'aria-label="Seen 198.51.100.124 here"' in html

    def seen() -> int:
        return user.get("/api/v1/sightings", params={"value": "198.51.100.124"}).json()["seen"]

    url = f"/objects/{ioc['id']}/sightings"
    form = {"csrf": csrf_of(html), "kind": "ipv4", "value": "198.51.100.124"}
    assert observer.post(url, data={**form, "csrf": "x"}).status_code == 403
    assert seen() == 0
    done = observer.post(url, data=form)
    assert done.status_code == 303
    assert done.headers["location"] == f"/objects/{ioc['id']}?seen=198.51.100.124"
    assert "Recorded a sighting of 198.51.100.124." in page(observer, done.headers["location"])
    assert seen() == 1
