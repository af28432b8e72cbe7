"""The account page: the signed-in user's own API keys, listed (never the keys themselves),
issued (shown once) and revoked, through the same key service and audit entries as
POST /api/v1/users/{id}/api-keys and DELETE /api/v1/api-keys/{key}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from shieldwall.audit import service as audit
from shieldwall.errors import Conflict, Invalid, NotFound
from shieldwall.members import keys
from shieldwall.members.sessions import Session
from shieldwall.web.pages import expired_form, render, signed_in, to_login
from shieldwall.web.security import same_token

router = APIRouter(include_in_schema=False)


async def _page(request: Request, session: Session, status: int = 200, **shown: Any) -> Response:
    viewer = session.viewer

    def listing() -> list[dict[str, Any]]:
        with request.app.state.db.read() as conn:
            return keys.list_keys(conn, viewer, user_id=viewer.user_id)

    own = await run_in_threadpool(listing)
    return render(
        "account.html", request, session, status=status, keys=own, default_name=keys.DEFAULT_NAME,
        **{"new_key": None, "error": None, "revoked": None, **shown},
    )  # fmt: skip


async def _checked_form(request: Request) -> tuple[Session | None, dict[str, str], Response | None]:
    """The session and the form, or the answer to give instead (sign in; 403 without the
    session's CSRF token)."""
    session = await signed_in(request)
    if session is None:
        return None, {}, to_login()
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not same_token(form.get("csrf"), session.csrf):
        return session, form, expired_form(request, session)
    return session, form, None


@router.get("/account")
async def account(request: Request) -> Response:
    session = await signed_in(request)
    if session is None:
        return to_login()
    return await _page(request, session)


@router.post("/account/keys")
async def issue_key(request: Request) -> Response:
    """A new key for the signed-in user, shown on this answer only; it replaces the user's
    active key of the same name."""
    session, form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    assert session is not None
    viewer, name = session.viewer, form.get("name", "").strip() or keys.DEFAULT_NAME

    def issue() -> keys.NewApiKey:
        with request.app.state.db.write() as conn:
            new = keys.issue(conn, viewer.user_id, name=name, by=viewer)
            audit.append(conn, viewer, "api-key.create", {
                "user_id": viewer.user_id, "prefix": new.prefix, "name": name,
                "replaced": list(new.replaced), "via": "web",
            })  # fmt: skip
            return new

    try:
        new = await run_in_threadpool(issue)
    except Invalid as exc:
        return await _page(request, session, 422, error=exc.message)
    return await _page(request, session, 201, new_key=new)


@router.post("/account/keys/revoke")
async def revoke_key(request: Request) -> Response:
    """Revoke one of the signed-in user's own keys (a key of anyone else: the same 404 as no
    key; a member-admin manages others' keys through the API)."""
    session, form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    assert session is not None
    viewer, ref = session.viewer, form.get("key", "")

    def revoke() -> dict[str, Any]:
        with request.app.state.db.write() as conn:
            key = keys.get_key(conn, viewer, ref)
            if key["user_id"] != viewer.user_id:
                raise NotFound("no such API key")
            revoked = keys.revoke(conn, viewer, key["id"])
            audit.append(conn, viewer, "api-key.revoke", {
                "key_id": revoked["id"], "prefix": revoked["prefix"],
                "user_id": revoked["user_id"], "via": "web",
            })  # fmt: skip
            return revoked

    try:
        revoked = await run_in_threadpool(revoke)
    except (NotFound, Conflict, Invalid):
        return await _page(request, session, 404, error="No such API key of yours.")
    return await _page(request, session, revoked=revoked)
