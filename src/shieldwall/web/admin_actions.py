"""What an instance admin does on /admin: add a member, add a user (its first API key shown
once), disable, enable or re-role a user, create a sharing group and add a member to one. Each
calls the members service the API's route calls (POST /api/v1/members, /users, PATCH
/api/v1/users/{id}, POST /api/v1/groups, /groups/{id}/members), with its audit entry in the same
transaction (audit.audited), so the audit log reads the same whichever door was used.

Instance admins only: anyone else gets the page's one refusal, whatever the form says. A
mistake (an unknown kind, a name taken) comes back beside the form it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.audit.service import audited
from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.markings import TLP, Distribution
from shieldwall.members import service
from shieldwall.policy import Role
from shieldwall.web.admin import admin_page, forbidden
from shieldwall.web.pages import expired_form, signed_in, to_login
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise Invalid(f"role: one of {', '.join(r.value for r in Role)}") from None


def _tlp(text: str) -> TLP:
    try:
        return TLP.parse(text or "amber")
    except ValueError:
        raise Invalid(f"default TLP: one of {', '.join(t.label for t in TLP)}") from None


Action = tuple[str, Callable[..., Any], tuple[Any, ...]]  # audit action, service call, arguments


async def _act(
    request: Request, form_name: str, done: str, call: Callable[[dict[str, Any]], Action]
) -> Response:
    """Check the admin and the form's token; `call(form)` names the audit action, the service
    call and its arguments, run with the audit entry in one transaction. Back to the page
    saying `done`, or the page with the mistake beside `form_name`; with `done` empty, the page
    itself showing what was created (a new user's key, shown once)."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    if not session.viewer.is_admin:
        return forbidden(request, session)
    raw = await request.form()
    form: dict[str, Any] = {k: v for k, v in raw.items() if isinstance(v, str)}
    form["member_ids"] = [v for v in raw.getlist("member_ids") if isinstance(v, str)]
    if not same_token(form.get("csrf"), session.csrf):
        return expired_form(request, session)
    db = request.app.state.db
    try:
        action, fn, args = call(form)
        result = await run_in_threadpool(audited, db, session.viewer, action, fn, *args)
    except ShieldwallError as exc:
        status = exc.status if exc.status in (404, 409, 422) else 422
        return await admin_page(
            request, session, status=status, errors={form_name: exc.message}, form=form
        )
    if not done:
        return await admin_page(request, session, new_user=result, done="User added.")
    return RedirectResponse(f"/admin?done={done}#{form_name}-form", status_code=303)


@router.post("/admin/members")
async def add_member(request: Request) -> Response:
    def call(f: dict[str, Any]) -> Action:
        tlp = _tlp(f.get("default_tlp", ""))

        def create(conn: Any, name: str) -> str:
            return service.create_member(
                conn, name, f.get("kind", ""), country=f.get("country") or None,
                sectors=_words(f.get("sectors", "")),
                capabilities=_words(f.get("capabilities", "")),
                contacts=_words(f.get("contacts", "")),
                default_tlp=tlp, default_distribution=Distribution.COMMUNITY,
            )  # fmt: skip

        return "member.create", create, (f.get("name", ""),)

    return await _act(request, "member", "member", call)


@router.post("/admin/users")
async def add_user(request: Request) -> Response:
    def call(f: dict[str, Any]) -> Action:
        role = _role(f.get("role", ""))

        def create(conn: Any, email: str, member_id: str) -> service.NewApiKey:
            return service.create_user(conn, email, member_id, role)

        return "user.create", create, (f.get("email", ""), f.get("member_id", ""))

    return await _act(request, "user", "", call)


@router.post("/admin/users/{user_id}")
async def change_user(request: Request, user_id: str) -> Response:
    """Disable or enable a user (`state`), or give it a role (`role`), as PATCH
    /api/v1/users/{id} does: one change a form."""

    def call(f: dict[str, Any]) -> Action:
        if f.get("state") in ("disabled", "active"):
            disabled = f["state"] == "disabled"

            def set_state(conn: Any, uid: str) -> None:
                service.get_user(conn, uid)  # NotFound for an unknown id
                service.set_user_disabled(conn, uid, disabled)

            return ("user.disable" if disabled else "user.enable"), set_state, (user_id,)
        role = _role(f.get("role", ""))

        def set_role(conn: Any, uid: str) -> None:
            service.get_user(conn, uid)
            service.set_user_role(conn, uid, role)

        return f"user.role:{role.value}", set_role, (user_id,)

    return await _act(request, f"user-{user_id}", "user", call)


@router.post("/admin/groups")
async def add_group(request: Request) -> Response:
    def call(f: dict[str, Any]) -> Action:
        owner, members = f.get("owner_member_id", ""), f["member_ids"]

        def create(conn: Any, name: str) -> str:
            return service.create_group(conn, name, owner, members, f.get("description", ""))

        return "group.create", create, (f.get("name", ""),)

    return await _act(request, "group", "group", call)


@router.post("/admin/groups/{group_id}/members")
async def add_group_member(request: Request, group_id: str) -> Response:
    def call(f: dict[str, Any]) -> Action:
        return "group.add-member", service.add_group_member, (group_id, f.get("member_id", ""))

    return await _act(request, f"group-{group_id}", "group-member", call)
