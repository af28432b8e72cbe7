"""Signing in and out of the web application: who may not, then who may; CSRF on every form;
secure headers on every page; failed sign-ins slowed down."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from shieldwall.app import create_app
from shieldwall.incidents.times import parse_stamp
from shieldwall.members.tables import web_sessions
from shieldwall.settings import Settings
from shieldwall.web.routes import FAILED_SIGN_IN_DELAY
from tests.factories import World
from tests.web.signing_in import (
    PASSWORD,
    browser,
    csrf_of,
    sign_in,
    signed_in,
    with_password,
)


def test_a_wrong_password_or_unknown_address_does_not_sign_in(world: World, app) -> None:  # type: ignore[no-untyped-def]
    email = with_password(world, world.user(world.member()))
    web = browser(app)
    started = time.monotonic()
    for address, password in ((email, PASSWORD + "x"), ("nobody@example.org", PASSWORD)):
        response = sign_in(web, address, password)
        assert response.status_code == 401
        assert "Wrong e-mail address or password." in response.text
        assert "sw_session" not in web.cookies
    assert time.monotonic() - started >= 2 * FAILED_SIGN_IN_DELAY
    assert web.get("/").headers["location"] == "/login"

    # A user without a password, or a disabled one, cannot sign in either.
    no_password = world.user(world.member())
    with world.db.read() as conn:
        from shieldwall.members.service import get_user

        bare = get_user(conn, no_password.user_id)["email"]
    assert sign_in(web, bare, "").status_code == 401
    disabled = world.user(world.member())
    disabled_email = with_password(world, disabled)
    with world.db.write() as conn:
        from shieldwall.members.service import set_user_disabled

        set_user_disabled(conn, disabled.user_id, True)
    assert sign_in(web, disabled_email).status_code == 401


def test_the_right_password_signs_in_with_a_safe_cookie_and_signs_out(world: World, app) -> None:  # type: ignore[no-untyped-def]
    user = world.user(world.member())
    web = browser(app)
    response = sign_in(web, with_password(world, user))
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("sw_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    page = web.get("/")
    assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
    stolen = dict(web.cookies)

    out = web.post("/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert web.get("/").headers["location"] == "/login"
    # Signing out ends the session on the server: a copy of the cookie no longer works.
    replay = browser(app)
    replay.cookies.update(stolen)
    assert replay.get("/").headers["location"] == "/login"


def test_a_form_without_its_csrf_token_is_refused(world: World, app) -> None:  # type: ignore[no-untyped-def]
    email = with_password(world, world.user(world.member()))
    web = browser(app)
    web.get("/login")
    for data in ({"email": email, "password": PASSWORD}, {"email": email, "password": PASSWORD,
                                                           "csrf": "forged"}):  # fmt: skip
        refused = web.post("/login", data=data)
        assert refused.status_code == 403
        assert "sw_session" not in web.cookies
    other = browser(app)  # no token cookie at all: a cross-site form post
    token = csrf_of(web.get("/login").text)
    cross_site = {"email": email, "password": PASSWORD, "csrf": token}
    assert other.post("/login", data=cross_site).status_code == 403

    assert sign_in(web, email).status_code == 303
    assert web.post("/logout").status_code == 403
    assert web.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert web.get("/").status_code == 200  # still signed in


def test_every_page_has_the_secure_headers(world: World, app) -> None:  # type: ignore[no-untyped-def]
    web = signed_in(world, app, world.user(world.member()))
    anonymous = browser(app)
    for response in (
        web.get("/"),
        anonymous.get("/login"),
        anonymous.get("/"),
        anonymous.post("/login", data={}),
        web.get("/static/shieldwall.css"),
        web.get("/static/shieldwall.js"),
    ):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        # Scripts only from files on this server: never inline, never eval.
        assert "script-src 'self';" in csp and "connect-src 'self';" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert web.get("/").headers["cache-control"] == "no-store"
    page = web.get("/").text
    assert "style=" not in page and "<style" not in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.S)
    assert scripts == ["", ""]  # two, both files, nothing inline
    assert re.findall(r'<script src="([^"]+)"', page) == [
        "/static/htmx-2.0.11.min.js",
        "/static/shieldwall.js",
    ]
    for src in ("/static/htmx-2.0.11.min.js", "/static/shieldwall.js"):
        served = web.get(src)
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]
        assert "http://" not in served.text and "https://" not in served.text  # no other host
    # For a slow link the scripts and stylesheet come compressed; pages never do (BREACH: a
    # page holds the CSRF token beside what the user typed).
    for src in ("/static/htmx-2.0.11.min.js", "/static/shieldwall.js", "/static/shieldwall.css"):
        assert web.get(src, headers={"accept-encoding": "gzip"}).headers["content-encoding"] == (
            "gzip"
        )
    assert "content-encoding" not in web.get("/", headers={"accept-encoding": "gzip"}).headers
    assert 'href="/static/shieldwall.css"' in page
    css = web.get("/static/shieldwall.css").text
    for colour in ("#FF2B2B", "#FFC000", "#33FF00", "#FFFFFF"):  # FIRST TLP 2.0
        assert colour in css


def test_too_many_failures_on_an_account_are_refused_for_a_while(
    world: World, database_url: str
) -> None:
    email = with_password(world, world.user(world.member()))
    settings = Settings(
        database_url=database_url, warninglists="none", validation_workers=0,
        auth_failures_per_account=2,
    )  # fmt: skip
    with TestClient(create_app(settings), follow_redirects=False) as web:
        for _ in range(2):
            assert sign_in(web, email, "wrong password!").status_code == 401
        refused = sign_in(web, email)  # even the right password, until the window ends
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "sw_session" not in web.cookies


def test_failed_sign_ins_on_an_account_never_lock_its_api_keys_nor_keys_its_password(
    world: World, database_url: str
) -> None:
    """Whoever reaches the sign-in page and guesses an e-mail address may fail passwords on that
    account: that must NOT lock out the API keys its machines sync with (a stranger's denial of
    service); nor may failures with a key's visible prefix lock its user out of the web. Each
    credential is throttled on its own."""
    victim = world.user(world.member())
    email = with_password(world, victim)
    bystander = world.user(world.member())
    bystander_email = with_password(world, bystander)
    settings = Settings(
        database_url=database_url, warninglists="none", validation_workers=0,
        auth_failures_per_account=2,
    )  # fmt: skip
    with TestClient(create_app(settings), follow_redirects=False) as web:
        for _ in range(3):  # past the limit
            assert sign_in(web, email, "wrong password!").status_code in (401, 429)
        web.app.state.authenticator.flush()  # as every process would count them
        assert sign_in(web, email).status_code == 429  # the password is locked for the window
        as_victim = {"Authorization": f"Bearer {victim.key}"}
        assert web.get("/api/v1/me", headers=as_victim).status_code == 200  # its key is not

        wrong = bystander.key[:-4] + ("AAAA" if not bystander.key.endswith("AAAA") else "BBBB")
        for _ in range(3):  # a wrong secret behind the bystander's visible key prefix
            got = web.get("/api/v1/me", headers={"Authorization": f"Bearer {wrong}"})
            assert got.status_code in (401, 429)
        web.app.state.authenticator.flush()
        refused = web.get("/api/v1/me", headers={"Authorization": f"Bearer {bystander.key}"})
        assert refused.status_code == 429  # its keys are locked for the window
        assert sign_in(web, bystander_email).status_code == 303  # its password is not


def test_a_session_ends_after_the_configured_lifetime(world: World, database_url: str) -> None:
    email = with_password(world, world.user(world.member()))
    settings = Settings(
        database_url=database_url, warninglists="none", validation_workers=0, session_minutes=30
    )
    with TestClient(create_app(settings), follow_redirects=False) as web:
        signed = sign_in(web, email)
        assert signed.status_code == 303
        assert "Max-Age=1800" in signed.headers["set-cookie"]
        with world.db.read() as conn:
            row = conn.execute(select(web_sessions.c.created_at, web_sessions.c.expires_at)).one()
        lasts = parse_stamp(row.expires_at) - parse_stamp(row.created_at)
        assert lasts.total_seconds() == 1800
        assert web.get("/").status_code == 200
        with world.db.write() as conn:  # as if 30 minutes had passed (no sleeping in tests)
            conn.execute(update(web_sessions).values(expires_at=row.created_at))
        assert web.get("/").headers["location"] == "/login"
    assert Settings(database_url=database_url).session_minutes == 720  # a working day
