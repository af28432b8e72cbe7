"""The one Settings object: every setting declared once, read from SHIELDWALL_* variables."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shieldwall.sightings.score import DEFAULT_HALF_LIVES


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class Settings:
    """Immutable settings of one app; build with `Settings.from_env()` or directly in tests."""

    database_url: str = _setting(
        "sqlite:///var/shieldwall.db",
        "SQLAlchemy URL of the database (sqlite:///PATH or postgresql+psycopg://...).",
    )
    host: str = _setting("127.0.0.1", "Address `shieldwall serve` binds to.")
    port: int = _setting(8000, "Port `shieldwall serve` listens on.")
    broker_name: str = _setting(
        "Shieldwall community broker",
        "Name of the identity shown as creator of anonymous contributions.",
    )
    page_size: int = _setting(100, "Default number of objects in one page of a list.")
    max_page_size: int = _setting(1000, "Largest page a client may ask for.")
    max_bundle_bytes: int = _setting(
        100 * 1024 * 1024,
        "Largest body POST /api/v1/bundles accepts, in bytes (a parsed bundle takes about ten "
        "times its size in memory).",
    )
    validation_workers: int = _setting(
        1,
        "Worker processes that validate a large bundle while ingest writes it (0: validate in "
        "the server process first).",
    )
    lookup_helpers: int = _setting(
        1,
        "Helper processes that answer part of a large lookup's values while the server "
        "answers the rest (0: answer all of it in the server process).",
    )
    cache_dir: str = _setting(
        "var/cache",
        "Folder for what is rebuilt when missing: the compiled warning-list index (~37 MB).",
    )

    noisy_threshold: int = _setting(
        50,
        "A value held by more visible objects than this is shown as noisy, not as correlations.",
    )

    decay_half_lives: str = _setting(
        DEFAULT_HALF_LIVES,
        "Days for an indicator's score to halve, by observable kind (see sightings/score.py).",
    )

    warninglists: str = _setting(
        "all",
        "MISP warning lists whose values never correlate: all, none, list ids (a,b), or all "
        "minus some (all,-rfc5735).",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read SHIELDWALL_<NAME> variables; explicit overrides win (None means 'not given')."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in dataclasses.fields(cls):
            raw = environ.get(env_name(setting.name))
            if raw is not None:
                values[setting.name] = type(setting.default)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def env_name(name: str) -> str:
    return f"SHIELDWALL_{name.upper()}"


def documented_settings() -> list[tuple[str, Any, str]]:
    """(environment variable, default, help) for every setting: the README table comes from this."""
    return [(env_name(f.name), f.default, f.metadata["help"]) for f in dataclasses.fields(Settings)]
