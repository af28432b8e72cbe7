"""The README documents every setting and every CLI command."""

from __future__ import annotations

from pathlib import Path

from shieldwall.settings import documented_settings

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for variable, default, _help in documented_settings():
        assert f"`{variable}`" in README, variable
        assert f"`{default}`" in README, (variable, default)


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:400]
    assert "make demo" in head and "make test" in head
