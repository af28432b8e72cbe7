"""Members' routes and hostile input (issue 12): clashes that say nothing of other members, user
e-mail addresses that are addresses, and booleans that are booleans."""

from __future__ import annotations

import pytest

from shieldwall.policy import Role
from tests.factories import World


def _new_user(admin, member_id: str, email: str):  # type: ignore[no-untyped-def]
    body = {"email": email, "member_id": member_id, "role": "analyst"}
    return admin.post("/api/v1/users", json=body)


def test_an_email_taken_in_another_member_is_not_named_nor_told_apart(world: World) -> None:
    """May NOT: a member-admin learns nothing more from a clash with another member's user
    than from one with its own: the same answer, without the address or the member."""
    mine, theirs = world.member(), world.member()
    member_admin = world.user(mine, Role.MEMBER_ADMIN)
    admin = world.admin()
    assert _new_user(admin, theirs, "alice@theirs.example").status_code == 201
    assert _new_user(member_admin, mine, "bob@mine.example").status_code == 201
    elsewhere = _new_user(member_admin, mine, "alice@theirs.example")
    at_home = _new_user(member_admin, mine, "bob@mine.example")
    assert elsewhere.status_code == at_home.status_code == 409
    assert elsewhere.json() == at_home.json()
    assert "alice" not in elsewhere.text and "theirs" not in elsewhere.text


def test_a_group_name_taken_by_an_invisible_group_is_not_confirmed(world: World) -> None:
    mine, theirs, third = world.member(), world.member(), world.member()
    member_admin = world.user(mine, Role.MEMBER_ADMIN)
    world.group([theirs, third], name="Operation Nightjar cell")
    world.group([mine], name="Our own cell")
    hidden = member_admin.post("/api/v1/groups", json={"name": "Operation Nightjar cell"})
    own = member_admin.post("/api/v1/groups", json={"name": "Our own cell"})
    assert hidden.status_code == own.status_code == 409
    assert hidden.json() == own.json()
    assert "Nightjar" not in hidden.text
    assert member_admin.post("/api/v1/groups", json={"name": "A new cell"}).status_code == 201


@pytest.mark.parametrize(
    "email",
    [
        "<script>@x",
        "<script>alert(1)</script>@example.org",
        "a\u0000b@example.org",
        "alice@exa\u0000mple.org",
        "alice@",
        "@example.org",
        "alice@@example.org",
        "alice example@example.org",
        "alice@example",
        "alice@-example.org",
        "alice..b@example.org",
        ".alice@example.org",
        "a" * 65 + "@example.org",
        "alice@" + "a" * 250 + ".org",
        'alice"@example.org',
        "alice\n@example.org",
    ],
)
def test_user_emails_must_be_addresses(world: World, email: str) -> None:
    admin = world.admin()
    response = _new_user(admin, world.member(), email)
    assert response.status_code == 422, response.text
    users = admin.get("/api/v1/users").json()["users"]
    assert all(u["email"] != email.strip().lower() for u in users)


@pytest.mark.parametrize(
    "email", ["alice@example.org", "Alice.B+soc@CERT.example.ee", "ops_1@xn--bcher-kva.example"]
)
def test_ordinary_addresses_are_taken(world: World, email: str) -> None:
    admin = world.admin()
    response = _new_user(admin, world.member(), email)
    assert response.status_code == 201, response.text
    assert response.json()["user"]["email"] == email.lower()


@pytest.mark.parametrize("disabled", ["yes", "true", 1, 0, "no", None])
def test_disabled_must_be_a_json_boolean(world: World, disabled: object) -> None:
    admin = world.admin()
    analyst = world.user(world.member())
    if disabled is None:
        response = admin.patch(f"/api/v1/users/{analyst.user_id}", json={"disabled": None})
        assert response.status_code == 200  # null: leave it as it is
    else:
        response = admin.patch(f"/api/v1/users/{analyst.user_id}", json={"disabled": disabled})
        assert response.status_code == 422, response.text
    assert analyst.get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("field", ["name", "description"])
def test_a_nul_in_a_group_is_refused(world: World, field: str) -> None:
    admin = world.admin()
    body = {"name": "Cell", field: "a\u0000b"}
    response = admin.post("/api/v1/groups", json=body)
    assert response.status_code == 422, response.text
    assert field in response.text
