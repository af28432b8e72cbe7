"""What an instance admin does on /admin: refused to everyone else, whatever the form says
(written first), then adding members, users (the key shown once), disabling, enabling and
re-roling users, creating sharing groups and adding members to them, each audited as through
the API."""

from __future__ import annotations

import re
from typing import Any

from shieldwall.policy import Role
from tests.factories import World
from tests.web.signing_in import csrf_of, signed_in
from tests.web.test_accessibility import check


def post_admin(web: Any, target: str, **fields: Any) -> Any:
    token = csrf_of(web.get("/account").text)  # every page carries the session's token
    return web.post(target, data={**fields, "csrf": token})


def audit_actions(world: World) -> list[str]:
    admin = world.admin()
    entries = admin.get("/api/v1/audit", params={"limit": 1000}).json()["entries"]
    return [e["action"] for e in entries]


def test_only_instance_admins_may_act(world: World, app) -> None:  # type: ignore[no-untyped-def]
    mine, other = world.member("Own member"), world.member("Other member")
    victim = world.user(other)
    group = world.group([mine, other], name="Quiet circle")
    before = audit_actions(world)
    for role in (Role.MEMBER_ADMIN, Role.ANALYST, Role.READER):
        web = signed_in(world, app, world.user(mine, role))
        for target, fields in (
            ("/admin/members", {"name": "Sneaky", "kind": "industry"}),
            ("/admin/users", {"email": "sneak@example.org", "member_id": mine, "role": "admin"}),
            (f"/admin/users/{victim.user_id}", {"state": "disabled"}),
            (f"/admin/users/{victim.user_id}", {"role": "admin"}),
            ("/admin/groups", {"name": "Sneaky group", "owner_member_id": mine}),
            (f"/admin/groups/{group}/members", {"member_id": mine}),
        ):
            page = post_admin(web, target, **fields)
            assert page.status_code == 403 and "for instance admins only" in page.text, target
    assert victim.get("/api/v1/me").status_code == 200  # still enabled, still an analyst
    assert victim.get("/api/v1/me").json()["role"] == "analyst"
    names = [m["name"] for m in victim.get("/api/v1/members").json()["members"]]
    assert "Sneaky" not in names
    after = [a for a in audit_actions(world) if a not in ("audit.read",)]
    assert [a for a in after if a.startswith(("member.", "user.", "group."))] == [
        a for a in before if a.startswith(("member.", "user.", "group."))
    ]


def test_an_admin_adds_members_users_and_groups(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.admin())
    bad = post_admin(web, "/admin/members", name="Odd one", kind="pirate")
    assert bad.status_code == 422 and 'aria-describedby="member-error"' in bad.text
    assert "pirate" in bad.text.split('id="member-error">')[1].split("</p>")[0]
    done = post_admin(web, "/admin/members", name="Water board", kind="industry", country="ee",
                      sectors="Water, Energy", default_tlp="green")  # fmt: skip
    assert done.status_code == 303 and "done=member" in done.headers["location"]
    assert "Member added." in web.get(done.headers["location"]).text
    taken = post_admin(web, "/admin/members", name="Water board", kind="industry")
    assert taken.status_code == 409 and 'id="member-error"' in taken.text
    directory = web.get("/members").text
    assert "Water board" in directory and "EE" in directory
    water = next(m["id"] for m in world.admin().get("/api/v1/members").json()["members"]
                 if m["name"] == "Water board")  # fmt: skip

    page = post_admin(web, "/admin/users", email="Ops@Water.example", member_id=water,
                      role="member-admin")  # fmt: skip
    assert page.status_code == 200 and "shown this once" in page.text
    key = re.search(r'<code id="new-key">([^<]+)</code>', page.text).group(1)  # type: ignore[union-attr]
    me = app_client_get(web, key)
    assert me["email"] == "ops@water.example" and me["role"] == "member-admin"
    assert key not in web.get("/admin").text  # shown once
    again = post_admin(web, "/admin/users", email="ops@water.example", member_id=water,
                       role="analyst")  # fmt: skip
    assert again.status_code == 409 and 'id="user-error"' in again.text

    user_id = me["user_id"]
    assert post_admin(web, f"/admin/users/{user_id}", role="analyst").status_code == 303
    assert app_client_get(web, key)["role"] == "analyst"
    assert post_admin(web, f"/admin/users/{user_id}", state="disabled").status_code == 303
    assert web.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert post_admin(web, f"/admin/users/{user_id}", state="active").status_code == 303
    assert app_client_get(web, key)["role"] == "analyst"
    bad_role = post_admin(web, f"/admin/users/{user_id}", role="overlord")
    assert bad_role.status_code == 422 and f'id="user-{user_id}-error"' in bad_role.text

    rail = world.member("Rail operator")
    done = post_admin(web, "/admin/groups", name="Utilities", owner_member_id=water,
                      member_ids=[rail], description="water and rail")  # fmt: skip
    assert done.status_code == 303, done.text
    group = next(g for g in world.admin().get("/api/v1/groups").json()["groups"]
                 if g["name"] == "Utilities")  # fmt: skip
    assert set(group["member_ids"]) == {water, rail}
    grid = world.member("Grid operator")
    done = post_admin(web, f"/admin/groups/{group['id']}/members", member_id=grid)
    assert done.status_code == 303
    members = world.admin().get(f"/api/v1/groups/{group['id']}").json()["member_ids"]
    assert grid in members
    taken = post_admin(web, "/admin/groups", name="Utilities", owner_member_id=water)
    assert taken.status_code == 409 and 'id="group-error"' in taken.text

    actions = audit_actions(world)
    for action in ("member.create", "user.create", "user.role:analyst", "user.disable",
                   "user.enable", "group.create", "group.add-member"):  # fmt: skip
        assert action in actions, action
    check("/admin", web.get("/admin").text)


def app_client_get(web: Any, key: str) -> dict[str, Any]:
    me = web.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200, me.text
    return me.json()
