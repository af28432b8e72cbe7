"""REST routes for members, users, API keys and sharing groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import AwareDatetime, BaseModel, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from shieldwall.api.deps import admin_viewer, current_viewer, get_db
from shieldwall.api.openapi import errors
from shieldwall.audit import service as audit
from shieldwall.db import Database
from shieldwall.errors import Forbidden, Invalid, NotFound
from shieldwall.markings import TLP, Distribution
from shieldwall.members import keys, service
from shieldwall.policy import Role, Viewer, may_grant_role, may_manage_member, may_see_group

router = APIRouter(prefix="/api/v1", tags=["members"])


class MemberIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str
    country: str | None = None
    sectors: list[str] = []
    capabilities: list[str] = []
    contacts: list[str] = []
    default_tlp: str = "amber"
    default_distribution: Distribution = Distribution.COMMUNITY


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    member_id: str
    role: Role


class UserPatch(BaseModel):
    # Strict: "yes", 1 or "false" must not be read as a decision to disable (or not) a user.
    disabled: StrictBool | None = None
    role: Role | None = None


class GroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    member_ids: list[str] = []
    description: str = ""
    owner_member_id: str | None = None  # admins may create a group on behalf of a member


class GroupMemberIn(BaseModel):
    member_id: str


def _tlp(text: str) -> TLP:
    try:
        return TLP.parse(text)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


async def _write(db: Database, viewer: Viewer, action: str, fn: Any, *args: Any) -> Any:
    """Run a service call and its audit entry in one write transaction, off the event loop."""

    return await run_in_threadpool(audit.audited, db, viewer, action, fn, *args)


async def _read(db: Database, fn: Any, *args: Any) -> Any:
    def run() -> Any:
        with db.read() as conn:
            return fn(conn, *args)

    return await run_in_threadpool(run)


@router.get("/me")
async def me(viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)) -> dict:
    member = await _read(db, service.get_member, viewer.member_id)
    return {
        "user_id": viewer.user_id,
        "email": viewer.email,
        "role": viewer.role.value,
        "member": member,
        "sharing_group_ids": sorted(viewer.group_ids),
    }


@router.get("/members")
async def list_members(_: Viewer = Depends(current_viewer), db: Database = Depends(get_db)) -> dict:
    """The partnership's directory: every member sees who the members are."""
    return {"members": await _read(db, service.list_members)}


@router.get("/members/{member_id}")
async def get_member(
    member_id: str, _: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    return await _read(db, service.get_member, member_id)


@router.post("/members", status_code=201, responses=errors(409))
async def create_member(
    body: MemberIn, viewer: Viewer = Depends(admin_viewer), db: Database = Depends(get_db)
) -> dict:
    tlp = _tlp(body.default_tlp)

    def create(conn: Any, name: str) -> str:
        return service.create_member(
            conn,
            name,
            body.kind,
            country=body.country,
            sectors=body.sectors,
            capabilities=body.capabilities,
            contacts=body.contacts,
            default_tlp=tlp,
            default_distribution=body.default_distribution,
        )

    member_id = await _write(db, viewer, "member.create", create, body.name)
    return await _read(db, service.get_member, member_id)


@router.get("/users", responses=errors(403))
async def list_users(
    viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    if viewer.is_admin:
        return {"users": await _read(db, service.list_users, None)}
    if viewer.role is Role.MEMBER_ADMIN:
        return {"users": await _read(db, service.list_users, viewer.member_id)}
    raise Forbidden("only admins and member-admins may list users")


@router.post("/users", status_code=201, responses=errors(403, 404, 409))
async def create_user(
    body: UserIn, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    if not may_manage_member(viewer, body.member_id):
        raise Forbidden("you may only add users to your own member")
    if not may_grant_role(viewer, body.role):
        raise Forbidden(f"you may not grant the role {body.role.value!r}")

    def create(conn: Any, email: str, member_id: str) -> service.NewApiKey:
        return service.create_user(conn, email, member_id, body.role)

    new = await _write(db, viewer, "user.create", create, body.email, body.member_id)
    user = await _read(db, service.get_user, new.user_id)
    return {"user": user, "api_key": new.key}


async def _managed_user(db: Database, viewer: Viewer, user_id: str) -> dict:
    user = await _read(db, service.get_user, user_id)
    if not may_manage_member(viewer, user["member_id"]):
        raise NotFound("no such user")  # a user of another member is not even confirmed to exist
    if user["role"] == Role.ADMIN.value and not viewer.is_admin:
        raise Forbidden("only an instance admin may change an instance admin")
    return user


@router.patch("/users/{user_id}", responses=errors(403))
async def patch_user(
    user_id: str,
    body: UserPatch,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> dict:
    await _managed_user(db, viewer, user_id)
    if body.role is not None and not may_grant_role(viewer, body.role):
        raise Forbidden(f"you may not grant the role {body.role.value!r}")
    if body.disabled is not None:
        action = "user.disable" if body.disabled else "user.enable"
        await _write(db, viewer, action, _set_disabled(body.disabled), user_id)
    if body.role is not None:
        await _write(db, viewer, f"user.role:{body.role.value}", _set_role(body.role), user_id)
    return await _read(db, service.get_user, user_id)


def _set_disabled(disabled: bool) -> Any:
    return lambda conn, uid: service.set_user_disabled(conn, uid, disabled)


def _set_role(role: Role) -> Any:
    return lambda conn, uid: service.set_user_role(conn, uid, role)


class ApiKeyIn(BaseModel):
    name: str = Field(
        keys.DEFAULT_NAME,
        min_length=1,
        max_length=keys.MAX_NAME_LENGTH,
        description="the key's name; the user's active key of this name is revoked",
    )
    expires_at: AwareDatetime | None = Field(
        None, description="when the key stops working (none: when it is revoked)"
    )


@router.post("/users/{user_id}/api-keys", status_code=201, responses=errors(403))
async def new_api_key(
    user_id: str,
    body: ApiKeyIn | None = None,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> dict:
    """A new key for the user (yourself, or a user you manage), shown once. It replaces the
    user's active key of the same name, and `replaced` lists the prefixes of those revoked; a
    key under a new name works beside the others."""
    if user_id != viewer.user_id:
        await _managed_user(db, viewer, user_id)
    body = body or ApiKeyIn()

    def issue() -> service.NewApiKey:
        with db.write() as conn:
            new = keys.issue(conn, user_id, name=body.name, expires_at=body.expires_at, by=viewer)
            audit.append(conn, viewer, "api-key.create", {
                "user_id": user_id, "prefix": new.prefix, "name": body.name,
                "replaced": list(new.replaced),
            })  # fmt: skip
            return new

    new = await run_in_threadpool(issue)
    listed = await _read(db, keys.get_key, viewer, new.key_id)
    return {"user_id": new.user_id, "api_key": new.key, "key": listed,
            "replaced": list(new.replaced)}  # fmt: skip


@router.get("/api-keys")
async def list_api_keys(
    user_id: str | None = None,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> dict:
    """The keys you manage: your own; a member-admin, its member's users'; an admin, all. Each
    with its visible prefix, name, state and created, last-used (to the minute), expiry and
    revocation times; never the key."""

    def listing(conn: Any) -> list[dict[str, Any]]:
        return keys.list_keys(conn, viewer, user_id=user_id)

    return {"api_keys": await _read(db, listing)}


@router.delete("/api-keys/{key}")
async def revoke_api_key(
    key: str, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """Revoke a key, named by its id or its visible prefix (`sw_xxxxxxxx`): its user,
    the member-admins of its member, and admins may. A key you may not manage is a 404."""

    def revoke() -> dict[str, Any]:
        with db.write() as conn:
            revoked = keys.revoke(conn, viewer, key)
            audit.append(conn, viewer, "api-key.revoke", {
                "key_id": revoked["id"], "prefix": revoked["prefix"],
                "user_id": revoked["user_id"],
            })  # fmt: skip
            return revoked

    return await run_in_threadpool(revoke)


@router.get("/groups")
async def list_groups(
    viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    """Admins see every group; everyone else only the groups their member belongs to (a peer
    instance's account: not those that arrived from a peer)."""
    member_filter = None if viewer.is_admin else viewer.member_id
    groups = await _read(db, service.list_groups, member_filter)
    return {"groups": [g for g in groups if may_see_group(viewer, g)]}


async def _visible_group(db: Database, viewer: Viewer, group_id: str) -> dict:
    group = await _read(db, service.get_group, group_id)
    if not may_see_group(viewer, group):
        raise NotFound("no such sharing group")
    return group


@router.get("/groups/{group_id}")
async def get_group(
    group_id: str, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    return await _visible_group(db, viewer, group_id)


@router.post("/groups", status_code=201, responses=errors(403, 404, 409))
async def create_group(
    body: GroupIn, viewer: Viewer = Depends(current_viewer), db: Database = Depends(get_db)
) -> dict:
    owner = body.owner_member_id or viewer.member_id
    if not viewer.is_admin and (viewer.role is not Role.MEMBER_ADMIN or owner != viewer.member_id):
        raise Forbidden(
            "only admins, and member-admins for their own member, create sharing groups"
        )

    def create(conn: Any, name: str) -> str:
        return service.create_group(conn, name, owner, body.member_ids, body.description)

    group_id = await _write(db, viewer, "group.create", create, body.name)
    return await _read(db, service.get_group, group_id)


@router.post("/groups/{group_id}/members", responses=errors(403))
async def add_group_member(
    group_id: str,
    body: GroupMemberIn,
    viewer: Viewer = Depends(current_viewer),
    db: Database = Depends(get_db),
) -> dict:
    group = await _visible_group(db, viewer, group_id)
    if not may_manage_member(viewer, group["owner_member_id"]):
        raise Forbidden("only admins and the owning member's admins change a sharing group")
    await _write(db, viewer, "group.add-member", service.add_group_member, group_id, body.member_id)
    return await _read(db, service.get_group, group_id)


def register(app: FastAPI) -> None:
    app.include_router(router)
