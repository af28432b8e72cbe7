"""`shieldwall user password EMAIL`: the password read from standard input, stored as an
argon2id hash only, and then the one the user signs in with."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from shieldwall.members import passwords
from shieldwall.members.tables import users
from tests.factories import World
from tests.web.signing_in import browser, email_of, sign_in


def set_by_command(database_url: str, email: str, password: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "SHIELDWALL_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "shieldwall.cli", "user", "password", email],
        input=password + "\n",
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_short_password_or_unknown_user_is_refused(world: World, database_url: str) -> None:
    email = email_of(world, world.user(world.member()))
    short = set_by_command(database_url, email, "too short")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr + short.stdout
    unknown = set_by_command(database_url, "nobody@example.org", "long enough password")
    assert unknown.returncode != 0
    assert "Traceback" not in short.stderr + unknown.stderr
    with world.db.read() as conn:
        assert conn.scalar(select(users.c.password_hash).where(users.c.email == email)) is None


def test_the_command_sets_the_password_the_user_signs_in_with(world: World, app) -> None:  # type: ignore[no-untyped-def]
    email = email_of(world, world.user(world.member()))
    done = set_by_command(app.state.settings.database_url, email, "a long enough password")
    assert done.returncode == 0, done.stderr
    assert f"password set for {email}" in done.stdout
    with world.db.read() as conn:
        stored = conn.scalar(select(users.c.password_hash).where(users.c.email == email))
        assert stored.startswith("$argon2id$") and "a long enough password" not in stored
        assert passwords.user_for_password(conn, email, "a long enough password") is not None
        assert passwords.user_for_password(conn, email, "a long enough passwor") is None
    assert sign_in(browser(app), email, "a long enough password").status_code == 303
