"""Members, users, API keys and sharing groups through the API: who may, and who may not."""

from __future__ import annotations

from shieldwall.policy import Role
from tests.factories import World


def test_no_key_or_a_wrong_key_is_401_with_a_json_body(world: World, client) -> None:  # type: ignore[no-untyped-def]
    missing = client.get("/api/v1/members")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["status"] == 401
    wrong = client.get("/api/v1/members", headers={"Authorization": "Bearer sw_nope"})
    assert wrong.status_code == 401


def test_a_disabled_user_loses_access(world: World) -> None:
    admin = world.admin()
    analyst = world.user(world.member())
    assert analyst.get("/api/v1/me").status_code == 200
    assert (
        admin.patch(f"/api/v1/users/{analyst.user_id}", json={"disabled": True}).status_code == 200
    )
    assert analyst.get("/api/v1/me").status_code == 401


def test_only_admins_create_members(world: World) -> None:
    member_admin = world.user(world.member(), Role.MEMBER_ADMIN)
    body = {"name": "CERT-XX", "kind": "national-cert", "country": "ee"}
    assert member_admin.post("/api/v1/members", json=body).status_code == 403
    admin = world.admin()
    created = admin.post("/api/v1/members", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["country"] == "EE"
    assert created.json()["default_tlp"] == "amber"
    assert admin.post("/api/v1/members", json=body).status_code == 409
    bad = admin.post("/api/v1/members", json={"name": "X", "kind": "pirate"})
    assert bad.status_code == 422 and "unknown member kind" in bad.json()["error"]["message"]


def test_member_admins_manage_only_their_own_member(world: World) -> None:
    mine, theirs = world.member(), world.member()
    member_admin = world.user(mine, Role.MEMBER_ADMIN)
    other_user = world.user(theirs)
    # may NOT
    assert (
        member_admin.post(
            "/api/v1/users", json={"email": "x@example.org", "member_id": theirs, "role": "analyst"}
        ).status_code
        == 403
    )
    assert (
        member_admin.post(
            "/api/v1/users", json={"email": "y@example.org", "member_id": mine, "role": "admin"}
        ).status_code
        == 403
    )
    assert (
        member_admin.patch(
            f"/api/v1/users/{other_user.user_id}", json={"disabled": True}
        ).status_code
        == 404
    )
    listed = {u["member_id"] for u in member_admin.get("/api/v1/users").json()["users"]}
    assert listed == {mine}
    # may
    created = member_admin.post(
        "/api/v1/users", json={"email": "new@example.org", "member_id": mine, "role": "analyst"}
    )
    assert created.status_code == 201
    key = created.json()["api_key"]
    me = member_admin.client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.json()["member"]["id"] == mine


def test_analysts_and_readers_cannot_manage_users(world: World) -> None:
    member = world.member()
    for role in (Role.ANALYST, Role.READER):
        user = world.user(member, role)
        assert user.get("/api/v1/users").status_code == 403
        assert (
            user.post(
                "/api/v1/users",
                json={"email": f"{role.value}@example.org", "member_id": member, "role": "reader"},
            ).status_code
            == 403
        )


def test_groups_are_visible_only_to_their_members(world: World) -> None:
    a, b, c = world.member(), world.member(), world.member()
    owner = world.user(a, Role.MEMBER_ADMIN)
    outsider = world.user(c, Role.MEMBER_ADMIN)
    created = owner.post("/api/v1/groups", json={"name": "Alliance-EU TA", "member_ids": [b]})
    assert created.status_code == 201, created.text
    group = created.json()
    assert set(group["member_ids"]) == {a, b}
    # may NOT
    assert outsider.get(f"/api/v1/groups/{group['id']}").status_code == 404
    assert outsider.get("/api/v1/groups").json()["groups"] == []
    assert (
        outsider.post(f"/api/v1/groups/{group['id']}/members", json={"member_id": c}).status_code
        == 404
    )
    # may
    assert (
        owner.post(f"/api/v1/groups/{group['id']}/members", json={"member_id": c}).status_code
        == 200
    )
    assert outsider.get(f"/api/v1/groups/{group['id']}").status_code == 200


def test_openapi_document_is_served(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json")
    assert doc.status_code == 200
    assert "/api/v1/bundles" in doc.json()["paths"]


def test_roles_change_only_within_what_the_changer_may_grant(world: World) -> None:
    mine = world.member()
    member_admin = world.user(mine, Role.MEMBER_ADMIN)
    analyst = world.user(mine)
    promoted = member_admin.patch(f"/api/v1/users/{analyst.user_id}", json={"role": "admin"})
    assert promoted.status_code == 403
    demoted = member_admin.patch(f"/api/v1/users/{analyst.user_id}", json={"role": "reader"})
    assert demoted.status_code == 200 and demoted.json()["role"] == "reader"
    assert analyst.share().status_code == 403  # a reader may not share any more


def test_a_member_admin_cannot_touch_an_instance_admin_of_its_member(world: World) -> None:
    mine = world.member()
    instance_admin = world.user(mine, Role.ADMIN)
    member_admin = world.user(mine, Role.MEMBER_ADMIN)
    for body in ({"disabled": True}, {"role": "reader"}):
        response = member_admin.patch(f"/api/v1/users/{instance_admin.user_id}", json=body)
        assert response.status_code == 403
    assert member_admin.post(f"/api/v1/users/{instance_admin.user_id}/api-keys").status_code == 403
    assert instance_admin.get("/api/v1/audit").status_code == 200
