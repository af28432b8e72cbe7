"""The dashboard page: the signed-in user's figures and nothing another member may not see."""

from __future__ import annotations

from tests.dashboard.test_figures import dated
from tests.factories import World, indicator, report
from tests.web.signing_in import signed_in


def page(web) -> str:  # type: ignore[no-untyped-def]
    """The dashboard's HTML: rendered alike each time (its charts' ids come from their names)."""
    response = web.get("/")
    assert response.status_code == 200, response.text
    again = web.get("/").text
    assert again == response.text
    assert 'id="chart-by-tlp-title"' in again
    return response.text


def test_a_red_org_only_report_does_not_change_another_members_page(world: World, app) -> None:  # type: ignore[no-untyped-def]
    a_user, b_user = world.user(world.member()), world.user(world.member())
    a_web, b_web = signed_in(world, app, a_user), signed_in(world, app, b_user)
    before = page(b_web)

    ioc = dated(indicator("203.0.113.77", tlp="red", distribution="org"), 1)
    secret = dated(report([ioc["id"]], name="Secret red report", tlp="red", distribution="org"), 1)
    assert a_user.share(secret, ioc).status_code == 201

    assert page(b_web) == before
    assert "Secret red report" not in before and "TLP:RED" not in before
    # Who may: the member who shared it sees it, drawn and listed, marked TLP:RED.
    mine = page(a_web)
    assert "Secret red report" in mine
    assert 'class="tlp tlp-red">TLP:RED' in mine


def test_the_dashboard_draws_every_chart_with_its_table(world: World, app) -> None:  # type: ignore[no-untyped-def]
    user = world.user(world.member())
    ioc = dated(indicator("198.51.100.23", tlp="green"), 2)
    green = dated(report([ioc["id"]], name="Green report", tlp="green"), 2)
    assert user.share(green, ioc).status_code == 201
    html = page(signed_in(world, app, user))
    assert html.count("<svg") == 10 and html.count("<table") >= 10
    assert "Green report" in html and "TLP:GREEN" in html
    assert "Intel shared over time" in html and "Sightings over time" in html


def test_the_window_is_chosen_among_a_few_and_anything_else_is_30_days(world: World, app) -> None:  # type: ignore[no-untyped-def]
    user = world.user(world.member())
    ioc = dated(indicator("198.51.100.24", tlp="green"), 20)
    shared = dated(report([ioc["id"]], name="Older report", tlp="green"), 20)
    assert user.share(shared, ioc).status_code == 201
    web = signed_in(world, app, user)
    assert "Older report" not in web.get("/", params={"days": "7"}).text
    week = web.get("/", params={"days": "7"}).text
    assert '<option value="7" selected>' in week and "Last 7 days" in week
    for odd in ("3660", "-1", "x", "30"):
        page = web.get("/", params={"days": odd}).text
        assert "Last 30 days" in page and "Older report" in page, odd
