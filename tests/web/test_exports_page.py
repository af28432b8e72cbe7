"""The exports page (web/exports.py): a download holds only what the signed-in user may see
(the "may not" first), in every format the registry exports, audited as the API's exports are;
a filter the chosen format does not take is refused on the page, not silently dropped."""

from __future__ import annotations

import re

from tests.factories import World, indicator, report
from tests.web.signing_in import signed_in

SECRET, PUBLIC = "203.0.113.66", "198.51.100.44"


def test_a_download_holds_only_what_the_user_may_see_in_every_format(world: World, app) -> None:  # type: ignore[no-untyped-def]
    a_user, b_user = world.user(world.member()), world.user(world.member())
    secret = indicator(SECRET, tlp="red", distribution="org")
    public = indicator(PUBLIC, tlp="green", distribution="community")
    shared = a_user.share(
        secret, public, report([secret["id"], public["id"]], name="Mixed", tlp="green")
    )
    assert shared.status_code == 201, shared.text
    b_web, a_web = signed_in(world, app, b_user), signed_in(world, app, a_user)

    page = b_web.get("/exports")
    assert page.status_code == 200 and 'href="/exports"' in page.text
    names = re.findall(r'<option value="([a-z]+)"[^>]*>\1:', page.text)
    assert {"stix", "misp", "csv", "text", "blocklist", "suricata", "snort", "rpz"} <= set(names)
    for name in names:
        got = b_web.get("/exports/download", params={"format": name})
        assert got.status_code == 200, (name, got.text)
        assert got.headers["content-disposition"].startswith("attachment; filename=")
        # (The report's own body, as its author wrote it, names the secret's id among its
        # object_refs: reports/service.py. What the id stands for never shows.)
        assert SECRET not in got.text, name
    assert PUBLIC in b_web.get("/exports/download", params={"format": "blocklist"}).text
    # The member that shared it gets it, filtered as asked.
    mine = a_web.get("/exports/download", params={"format": "blocklist", "kind": "ipv4", "pap": ""})
    assert set(mine.text.split()) == {SECRET, PUBLIC}
    green = a_web.get("/exports/download", params={"format": "text", "tlp": "green"})
    assert "198[.]51[.]100[.]44" in green.text and "203[.]0[.]113[.]66" not in green.text
    audit = world.admin().get("/api/v1/audit", params={"action": "export.blocklist"}).json()
    assert {e["user_id"] for e in audit["entries"]} == {a_user.user_id, b_user.user_id}


def test_a_filter_the_format_does_not_take_is_refused_on_the_page(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.user(world.member()))
    refused = web.get("/exports/download", params={"format": "misp", "tlp": "green"})
    assert refused.status_code == 422
    assert "misp does not take tlp" in refused.text and 'role="alert"' in refused.text
    bad = web.get("/exports/download", params={"format": "blocklist", "min_score": "high"})
    assert bad.status_code == 422 and "min_score" in bad.text
    unknown = web.get("/exports/download", params={"format": "nosuch"})
    assert unknown.status_code == 422 and "unknown format" in unknown.text
    assert world.client.get("/exports/download", params={"format": "stix"},
                            follow_redirects=False).status_code == 303  # fmt: skip
