"""Settings: the one rule for finding the database, and bad settings refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.settings import (
    DEFAULT_DATABASE_URL,
    Settings,
    checked_database_url,
    database_source,
    default_database_url,
)

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_the_default_database_is_in_the_users_data_folder_whatever_the_current_one() -> None:
    environ = {"XDG_DATA_HOME": "/srv/data"}
    assert default_database_url(environ) == "sqlite:////srv/data/shieldwall/shieldwall.db"
    assert Settings.from_env(environ).database_url == default_database_url(environ)
    home = Path("~/.local/share").expanduser()
    for unset_or_relative in ({}, {"XDG_DATA_HOME": ""}, {"XDG_DATA_HOME": "data"}):
        expected = f"sqlite:///{home}/shieldwall/shieldwall.db"
        assert Settings.from_env(unset_or_relative).database_url == expected
    # Built directly, as tests and tools do, the default resolves the same way.
    assert Settings().database_url == default_database_url()
    assert "$" not in Settings().database_url


def test_the_variable_and_the_option_come_before_the_default() -> None:
    environ = {"XDG_DATA_HOME": "/srv/data", "SHIELDWALL_DATABASE_URL": "sqlite:///from-env.db"}
    assert Settings.from_env(environ).database_url == "sqlite:///from-env.db"
    given = Settings.from_env(environ, database_url="sqlite:///given.db")
    assert given.database_url == "sqlite:///given.db"
    assert database_source("sqlite:///given.db", environ) == "given with --database"
    assert database_source(None, environ) == "from $SHIELDWALL_DATABASE_URL"
    assert database_source(None, {}) == "the default database"


def test_only_supported_databases_are_accepted() -> None:
    for unsupported in ("mysql://root@db/shieldwall", "oracle+cx_oracle://x", "nonsense"):
        with pytest.raises(ValueError, match="sqlite:///PATH or postgresql\\+psycopg://"):
            Settings(database_url=unsupported)
    with pytest.raises(ValueError, match="unsupported") as caught:
        checked_database_url("mysql://root:hunter2@db/shieldwall")
    assert "hunter2" not in str(caught.value)
    # PostgreSQL URLs without a driver mean the one Shieldwall ships with.
    assert checked_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert checked_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    for fine in ("sqlite:///a.db", "sqlite://", "postgresql+psycopg://u:p@h:5433/db"):
        assert checked_database_url(fine) == fine


def test_ports_and_typed_variables_are_checked() -> None:
    for port in (0, 65536, 99999):
        with pytest.raises(ValueError, match="not a TCP port"):
            Settings(port=port)
    assert Settings(port=65535).port == 65535
    with pytest.raises(ValueError, match=r"\$SHIELDWALL_PORT: 'eighty' is not int"):
        Settings.from_env({"SHIELDWALL_PORT": "eighty"})


def test_the_readme_gives_the_database_rule() -> None:
    assert f"`{DEFAULT_DATABASE_URL}`" in README
    assert "XDG_DATA_HOME" in README and "docs/DESIGN.md" in README
    assert "../shared/DESIGN.md" not in README
    design = Path(__file__).parents[1] / "docs" / "DESIGN.md"
    assert design.read_text().startswith("# Shieldwall — design")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHIELDWALL_PAGE_SIZE", "abc"),
        ("SHIELDWALL_PAGE_SIZE", "0"),
        ("SHIELDWALL_MAX_PAGE_SIZE", "-5"),
        ("SHIELDWALL_MAX_BUNDLE_BYTES", "0"),
        ("SHIELDWALL_NOISY_THRESHOLD", "-1"),
        ("SHIELDWALL_LOOKUP_HELPERS", "-1"),
    ],
)
def test_settings_out_of_range_are_refused_naming_them(variable: str, value: str) -> None:
    """A page of 0 objects was a server error on every list (issue 12): refused at the start."""
    with pytest.raises(ValueError, match=f"(?i){variable.removeprefix('SHIELDWALL_')}"):
        Settings.from_env({variable: value})
