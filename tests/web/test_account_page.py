"""The account page: a user lists, issues and revokes its own API keys, and no one else's."""

from __future__ import annotations

import re

from tests.factories import World
from tests.web.signing_in import csrf_of, signed_in


def key_ids(html: str) -> list[str]:
    return re.findall(r'name="key" value="([^"]+)"', html)


def test_a_user_cannot_revoke_or_see_another_users_key(world: World, app) -> None:  # type: ignore[no-untyped-def]
    member = world.member()
    victim = world.user(member)
    admin_of_member = world.user(member, "member-admin")  # manages keys through the API only
    web = signed_in(world, app, admin_of_member)
    page = web.get("/account").text
    with world.db.read() as conn:
        from shieldwall.members import keys

        victims = keys.list_keys(conn, None, user_id=victim.user_id)
    assert victims[0]["prefix"] not in page and victims[0]["id"] not in page
    for ref in (victims[0]["id"], victims[0]["prefix"], victim.key):
        refused = web.post("/account/keys/revoke", data={"key": ref, "csrf": csrf_of(page)})
        assert refused.status_code == 404
    assert victim.get("/api/v1/objects").status_code == 200  # still works
    # Without the session's token, nothing is issued or revoked.
    own = key_ids(page)
    assert web.post("/account/keys", data={"name": "x"}).status_code == 403
    assert web.post("/account/keys/revoke", data={"key": own[0]}).status_code == 403
    assert key_ids(web.get("/account").text) == own


def test_a_user_issues_and_revokes_its_own_keys(world: World, app) -> None:  # type: ignore[no-untyped-def]
    user = world.user(world.member())
    web = signed_in(world, app, user)
    page = web.get("/account").text
    assert len(key_ids(page)) == 1
    issued = web.post("/account/keys", data={"name": "laptop", "csrf": csrf_of(page)})
    assert issued.status_code == 201
    new_key = re.search(r'<code id="new-key">([^<]+)</code>', issued.text).group(1)
    headers = {"Authorization": f"Bearer {new_key}"}
    assert web.get("/api/v1/objects", headers=headers).status_code == 200
    assert new_key not in web.get("/account").text  # shown once
    listed = web.get("/account").text
    assert "laptop" in listed and len(key_ids(listed)) == 2
    with world.db.read() as conn:
        from shieldwall.members import keys

        laptop = next(k for k in keys.list_keys(conn, None, user_id=user.user_id)
                      if k["name"] == "laptop")  # fmt: skip
    revoked = web.post("/account/keys/revoke", data={"key": laptop["id"], "csrf": csrf_of(listed)})
    assert revoked.status_code == 200 and f"Revoked {laptop['prefix']}" in revoked.text
    assert web.get("/api/v1/objects", headers=headers).status_code == 401
    assert user.get("/api/v1/objects").status_code == 200  # the other key still works
