"""Signing in to the web application as a browser does: a client of its own (its own cookies)
per user, and the CSRF token read from the page's form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from shieldwall.members import passwords
from tests.factories import ApiUser, World

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html
    return found.group(1)


def email_of(world: World, user: ApiUser) -> str:
    with world.db.read() as conn:
        from shieldwall.members.service import get_user

        return get_user(conn, user.user_id)["email"]


def with_password(world: World, user: ApiUser, password: str = PASSWORD) -> str:
    """Give the user a password; returns its e-mail address."""
    with world.db.write() as conn:
        passwords.set_password(conn, user.user_id, password)
    return email_of(world, user)


def browser(app: Any) -> TestClient:
    """A client with a cookie jar of its own, on the app the `client` fixture started."""
    return TestClient(app, follow_redirects=False)


def sign_in(web: TestClient, email: str, password: str = PASSWORD) -> Any:
    page = web.get("/login")
    assert page.status_code == 200, page.text
    return web.post(
        "/login", data={"email": email, "password": password, "csrf": csrf_of(page.text)}
    )


def signed_in(world: World, app: Any, user: ApiUser) -> TestClient:
    web = browser(app)
    response = sign_in(web, with_password(world, user))
    assert response.status_code == 303, response.text
    return web
