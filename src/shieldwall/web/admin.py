"""The instance admin's page (/admin): members, users, sharing groups, TAXII collections and the
audit log with its verification, through the services GET /api/v1/members, /users, /groups,
/taxii2/.../collections/, /api/v1/audit and /api/v1/audit/verify call. Instance admins only:
anyone else gets the same refusal, and no figure of the instance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shieldwall.audit import service as audit_service
from shieldwall.members import service as members_service
from shieldwall.members.service import MEMBER_KINDS
from shieldwall.members.sessions import Session
from shieldwall.policy import Role
from shieldwall.taxii import service as taxii_service
from shieldwall.web.pages import TLP_NAMES, render, signed_in, to_login

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 50  # the newest entries shown; the API pages through all of them


def forbidden(request: Request, session: Session) -> Response:
    return render(
        "error.html", request, session, status=403, title="Forbidden",
        message="This page is for instance admins only.",
    )  # fmt: skip


@router.get("/admin")
async def admin(
    request: Request,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The instance at a glance, for its admins; `before` pages back through the audit log."""
    session = await signed_in(request)
    if session is None:
        return to_login()
    if not session.viewer.is_admin:
        return forbidden(request, session)
    done = request.query_params.get("done", "")
    return await admin_page(request, session, before=before, done=DONE.get(done, ""))


# What the page says after one of its forms did its work (`?done=`).
DONE = {
    "member": "Member added.",
    "user": "User changed.",
    "group": "Sharing group created.",
    "group-member": "Member added to the sharing group.",
}


async def admin_page(
    request: Request,
    session: Session,
    *,
    status: int = 200,
    before: int | None = None,
    **extra: Any,
) -> Response:
    """The page, with `extra` for its template (a form's mistakes, a new user's API key)."""
    viewer = session.viewer
    db = request.app.state.db

    def read() -> dict[str, Any]:
        verified = audit_service.verify(db)
        with db.read() as conn:
            everyone = members_service.list_members(conn)
            users = members_service.list_users(conn)
            groups = members_service.list_groups(conn)
            newest = audit_service.newest_seq(conn)
            end = min(before or newest + 1, newest + 1)
            entries = audit_service.list_entries(conn, after=max(0, end - 1 - AUDIT_PAGE),
                                                 limit=AUDIT_PAGE)  # fmt: skip
        entries = [e for e in entries if e["seq"] < end]
        entries.reverse()  # newest first
        collections = taxii_service.get_collections(db, viewer)["collections"]
        return {
            "members": everyone,
            "users": users,
            "groups": groups,
            "collections": collections,
            "entries": entries,
            "verified": verified,
            "older": entries[-1]["seq"] if entries and entries[-1]["seq"] > 1 else None,
        }

    data = await run_in_threadpool(read)
    names = {m["id"]: m["name"] for m in data["members"]}
    for user in data["users"]:
        user["member_name"] = names.get(user["member_id"], user["member_id"])
    for group in data["groups"]:
        group["member_names"] = sorted(names.get(i, i) for i in group["member_ids"])
    values = {"errors": {}, "form": {}, "new_user": None, "done": "", **extra}
    return render(
        "admin.html",
        request,
        session,
        status=status,
        kinds=MEMBER_KINDS,
        roles=[r.value for r in Role],
        tlps=TLP_NAMES,
        **data,
        **values,
    )
