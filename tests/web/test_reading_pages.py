"""The reports, report, search and lookup pages: what another member may not see leaves no
trace (the "may not" first), and what the user may see is there."""

from __future__ import annotations

import re

from tests.factories import World, indicator, report
from tests.web.signing_in import csrf_of, signed_in

SECRET_VALUE = "203.0.113.66"


def html(web, url: str, **kw) -> str:  # type: ignore[no-untyped-def]
    response = web.get(url, **kw)
    assert response.status_code == 200, response.text
    return response.text


def looked_up(web, values: str) -> str:  # type: ignore[no-untyped-def]
    form = web.get("/lookup")
    response = web.post("/lookup", data={"values": values, "csrf": csrf_of(form.text)})
    assert response.status_code == 200, response.text
    return response.text


def test_another_members_red_org_only_report_leaves_no_trace_on_any_page(world: World, app) -> None:  # type: ignore[no-untyped-def]
    a_user, b_user = world.user(world.member()), world.user(world.member())
    a_web, b_web = signed_in(world, app, a_user), signed_in(world, app, b_user)
    pages = ("/reports", "/search?q=Crimson", f"/search?q={SECRET_VALUE}&mode=value")
    before = {url: html(b_web, url) for url in pages}
    before_lookup = looked_up(b_web, SECRET_VALUE)

    ioc = indicator(SECRET_VALUE, tlp="red", distribution="org")
    secret = report([ioc["id"]], name="Crimson secret", tlp="red", distribution="org")
    assert a_user.share(secret, ioc).status_code == 201

    for url in pages:
        assert html(b_web, url) == before[url], url
    assert looked_up(b_web, SECRET_VALUE) == before_lookup
    assert "Crimson" not in before_lookup and "TLP:RED" not in before_lookup
    unseen = b_web.get(f"/reports/{secret['id']}")
    unknown = b_web.get("/reports/report--00000000-0000-4000-8000-000000000000")
    assert unseen.status_code == unknown.status_code == 404
    assert unseen.text == unknown.text and "Crimson" not in unseen.text

    # Who may: the member that shared it finds it on every page, marked TLP:RED.
    assert "Crimson secret" in html(a_web, "/reports")
    assert "Crimson secret" in html(a_web, "/reports?q=crimson&tlp=red")
    assert "Crimson secret" not in html(a_web, "/reports?tlp=green")
    assert "Crimson secret" in html(a_web, "/search?q=Crimson")
    assert ioc["id"] not in html(b_web, f"/search?q={SECRET_VALUE}&mode=value")
    page = html(a_web, f"/reports/{secret['id']}")
    assert "Crimson secret" in page and 'class="tlp tlp-red">TLP:RED' in page
    assert SECRET_VALUE in page
    found = looked_up(a_web, SECRET_VALUE)
    assert "Crimson secret" in found and "TLP:RED" in found
    assert f'<a href="/objects/{ioc["id"]}">indicator</a>' in found  # each match leads to its page


def test_a_report_shows_the_reports_it_correlates_with_that_the_user_may_see(
    world: World, app
) -> None:  # type: ignore[no-untyped-def]
    a = world.member()
    b = world.member()
    a_user, b_user = world.user(a), world.user(b)
    shared = indicator("198.51.100.99", tlp="green")
    mine = report([shared["id"]], name="Green one", tlp="green")
    assert a_user.share(mine, shared).status_code == 201
    hidden_ioc = indicator("198.51.100.99", tlp="amber", distribution="org")
    hidden = report([hidden_ioc["id"]], name="Hidden amber twin", tlp="amber", distribution="org")
    assert b_user.share(hidden, hidden_ioc).status_code == 201
    visible_ioc = indicator("198.51.100.99", tlp="green")
    visible = report([visible_ioc["id"]], name="Visible green twin", tlp="green")
    assert b_user.share(visible, visible_ioc).status_code == 201

    page = html(signed_in(world, app, a_user), f"/reports/{mine['id']}")
    assert "Hidden amber twin" not in page and "TLP:AMBER" not in page
    assert "Visible green twin" in page
    assert re.search(r"Also seen in", page)


def test_forms_need_their_token_and_pages_a_session(world: World, app) -> None:  # type: ignore[no-untyped-def]
    from tests.web.signing_in import browser

    anonymous = browser(app)
    for url in ("/reports", "/search?q=x", "/lookup", "/reports/report--x"):
        assert anonymous.get(url).headers["location"] == "/login", url
    assert anonymous.post("/lookup", data={"values": "x"}).headers["location"] == "/login"
    web = signed_in(world, app, world.user(world.member()))
    assert web.post("/lookup", data={"values": SECRET_VALUE}).status_code == 403
    assert web.post("/lookup", data={"values": SECRET_VALUE, "csrf": "x"}).status_code == 403
    bad = web.get("/reports?tlp=purple")
    assert bad.status_code == 200 and "purple" in bad.text  # said, not a server error


def test_a_sighting_is_recorded_in_one_click_only_with_the_forms_token(world: World, app) -> None:  # type: ignore[no-untyped-def]
    sharer = world.member()
    ioc = indicator("198.51.100.123", tlp="green")
    rep = report([ioc["id"]], name="Seen report", tlp="green")
    assert world.user(sharer).share(rep, ioc).status_code == 201
    user = world.user(world.member())
    observer = signed_in(world, app, user)
    page = html(observer, f"/reports/{rep['id']}")

    def seen() -> int:
        answer = user.get("/api/v1/sightings", params={"value": "198.51.100.123"})
        return answer.json()["seen"]

    url = f"/reports/{rep['id']}/sightings"
    form = {"csrf": csrf_of(page), "kind": "ipv4", "value": "198.51.100.123"}
    assert observer.post(url, data={**form, "csrf": "x"}).status_code == 403
    assert observer.post(url, data={"kind": "ipv4", "value": "198.51.100.123"}).status_code == 403
    assert seen() == 0

    done = observer.post(url, data=form)
    assert done.status_code == 303
    after = html(observer, done.headers["location"])
    assert "Recorded a sighting of 198.51.100.123." in after
    assert seen() == 1
    bad = observer.post(url, data={**form, "value": "not a value at all"})
    assert bad.status_code == 422 and seen() == 1


def test_reports_are_listed_newest_first_and_the_next_page_goes_back_in_time(
    world: World, app
) -> None:  # type: ignore[no-untyped-def]
    """An analyst opens the list for what came in last: the newest report heads the first page,
    and "Next page" leads to older ones, each report on exactly one page."""
    a_user, b_user = world.user(world.member()), world.user(world.member())
    ioc = indicator(SECRET_VALUE, tlp="green", distribution="community")
    names = [f"Wave {n:03d}" for n in range(53)]  # shared in this order: Wave 052 is the newest
    shared = [report([ioc["id"]], name=n, tlp="green", distribution="community") for n in names]
    assert a_user.share(ioc, *shared).status_code == 201
    hidden = report([ioc["id"]], name="Wave hidden", tlp="red", distribution="org")
    assert a_user.share(hidden).status_code == 201  # newer still, but not for b

    web = signed_in(world, app, b_user)
    first = html(web, "/reports")
    listed_first = re.findall(r"Wave \w+", first)
    assert "Wave hidden" not in listed_first
    assert listed_first[:3] == ["Wave 052", "Wave 051", "Wave 050"]
    more = re.search(r'href="(/reports\?[^"]*cursor=[^"]+)"', first)
    assert more is not None, "a second page is offered"
    second = html(web, more.group(1).replace("&amp;", "&"))
    listed_second = re.findall(r"Wave \w+", second)
    assert listed_first + listed_second == sorted(names, reverse=True)
    assert "Next page" not in second


def test_a_reports_relationships_read_as_source_verb_target_and_never_name_a_hidden_end(
    world: World, app
) -> None:  # type: ignore[no-untyped-def]
    """A relationship is shown as "Indicator 198.51.100.20 | indicates | Crimson loader", not as
    its own id; one reaching an object the reader may not see is not shown at all."""
    from tests.reports.test_report_view import malware, relationship

    a_user, b_user = world.user(world.member()), world.user(world.member())
    ioc = indicator("198.51.100.20", tlp="green", distribution="community")
    loader = malware("Crimson loader", tlp="green", distribution="community")
    hidden = malware("Secret dropper", tlp="red", distribution="org")
    family = malware("Outside family", tlp="green", distribution="community")  # not in the report
    shown = relationship(ioc["id"], loader["id"], tlp="green", distribution="community")
    to_hidden = relationship(ioc["id"], hidden["id"], tlp="green", distribution="community")
    outward = relationship(loader["id"], family["id"], "variant-of", tlp="green",
                           distribution="community")  # fmt: skip
    assert a_user.share(family).status_code == 201
    rep = report(
        [ioc["id"], loader["id"], shown["id"], to_hidden["id"], outward["id"]],
        name="Crimson wave", tlp="green", distribution="community",
    )  # fmt: skip
    assert a_user.share(rep, ioc, loader, hidden, shown, to_hidden, outward).status_code == 201

    page = html(signed_in(world, app, b_user), f"/reports/{rep['id']}")
    assert "Secret dropper" not in page and hidden["id"] not in page
    assert to_hidden["id"] not in page
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert ("Indicator 198.51.100.20", "indicates", "Crimson loader") in rows
    assert ("Crimson loader", "variant of", "Outside family") in rows  # an end outside it, named
    assert len([r for r in rows if r[1] == "indicates"]) == 1
    assert shown["id"] not in page  # named by what it joins, not by its id
