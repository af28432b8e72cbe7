"""The one Settings object: every setting declared once, read from SHIELDWALL_* variables.

The database has one rule, the same for the demo, the server and every command, from any folder:
`--database`, else $SHIELDWALL_DATABASE_URL, else the default, a file in the per-user data folder
(XDG Base Directory: $XDG_DATA_HOME, else ~/.local/share). A relative default such as
`var/shieldwall.db` was a different database in every folder a command ran from.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shieldwall.sightings.score import DEFAULT_HALF_LIVES

# The default as the documentation writes it; `default_database_url` says where it is here.
DEFAULT_DATABASE_URL = "sqlite:///${XDG_DATA_HOME:-~/.local/share}/shieldwall/shieldwall.db"
SUPPORTED_DATABASES = "sqlite:///PATH or postgresql+psycopg://USER[:PASSWORD]@HOST[:PORT]/NAME"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """The default database's URL on this machine, for this user."""
    environ = os.environ if environ is None else environ
    data_home = environ.get("XDG_DATA_HOME", "")
    if not Path(data_home).is_absolute():  # the XDG spec: a relative value is to be ignored
        data_home = str(Path("~/.local/share").expanduser())
    return f"sqlite:///{Path(data_home) / 'shieldwall' / 'shieldwall.db'}"


def checked_database_url(url: str) -> str:
    """`url` if Shieldwall can use it (`postgresql://` means our driver, psycopg); ValueError
    naming the supported URLs otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{url!r} is not a database URL: use {SUPPORTED_DATABASES}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        if driver:
            return url
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    shown = parsed.render_as_string(hide_password=True)
    raise ValueError(f"unsupported database URL {shown!r}: use {SUPPORTED_DATABASES}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Immutable settings of one app; build with `Settings.from_env()` or directly in tests."""

    database_url: str = _setting(
        DEFAULT_DATABASE_URL,
        "SQLAlchemy URL of the database: sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME. "
        "The default is one file per user, the same from any folder, which `shieldwall demo` "
        "seeds. Only `init`, `serve` and `demo` create a database; every other command that "
        "finds none says which one it looked for.",
    )
    host: str = _setting("127.0.0.1", "Address `shieldwall serve` binds to.")
    port: int = _setting(8000, "Port `shieldwall serve` listens on (1-65535).")
    broker_name: str = _setting(
        "Shieldwall community broker",
        "Name of the identity shown as creator of anonymous contributions.",
    )
    page_size: int = _setting(100, "Default number of objects in one page of a list.")
    max_page_size: int = _setting(1000, "Largest page a client may ask for.")
    max_bundle_bytes: int = _setting(
        100 * 1024 * 1024,
        "Largest body POST /api/v1/bundles accepts, in bytes; the server stops reading there.",
    )
    stream_bundle_bytes: int = _setting(
        8 * 1024 * 1024,
        "Bundles POSTed (and TAXII envelopes) larger than this many bytes are written to a "
        "temporary file and read "
        "from it in two passes, holding the objects' ids and never their bodies (a bundle parsed "
        "whole takes about ten times its size in memory; smaller ones are, which is faster).",
    )
    statement_seconds: float = _setting(
        60.0,
        "Longest one database statement of the server may run (a read; writes and housekeeping "
        "are not bounded): past it the request is answered 503, so no request can hold the "
        "database for ever. 0: no bound.",
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
    auth_failure_window: int = _setting(
        300,
        "Seconds over which failed authentications are counted, per client address and per "
        "account; past a limit, attempts are refused with 429 and Retry-After until the window "
        "ends.",
    )
    auth_failures_per_address: int = _setting(
        50, "Failed authentications one client address may make per window (0: no limit)."
    )
    auth_failures_per_account: int = _setting(
        10,
        "Failed authentications on one account (the user a presented key or a sign-in's "
        "e-mail names) per window, its API keys' and its password's counted apart (0: no "
        "limit).",
    )
    session_minutes: int = _setting(
        720,
        "How long a web sign-in lasts, in minutes (720: a working day), whatever is done in "
        "it; then the user signs in again. Signing out, or the user being disabled, ends it "
        "sooner.",
    )

    incident_coordinator: str = _setting(
        "national-cert,alliance",
        "Who coordinates a new incident: steps tried in order until one names a member other "
        "than the requester. national-cert: the requester's national CERT (a member of kind "
        "national-cert in the requester's country, the oldest if several; skipped when the "
        "requester is a national CERT itself); alliance: the alliance centre (the oldest member "
        "of kind alliance; the requester itself if it is that centre); member=NAME: that member. "
        "When no step names one, the requester coordinates its own incident.",
    )
    incident_acknowledge_within: str = _setting(
        "critical=15m,high=1h,medium=4h,low=1d",
        "Clock target per severity: from filing until the coordinator acknowledges.",
    )
    incident_accept_within: str = _setting(
        "critical=1h,high=4h,medium=1d,low=3d",
        "Clock target per severity: from filing until the first responder accepts.",
    )
    incident_contain_within: str = _setting(
        "critical=4h,high=1d,medium=3d,low=7d",
        "Clock target per severity: from filing until the incident is contained.",
    )
    incident_resolve_within: str = _setting(
        "critical=3d,high=7d,medium=14d,low=30d",
        "Clock target per severity: from filing until the incident is resolved.",
    )
    incident_answer_within: str = _setting(
        "critical=30m,high=1h,medium=4h,low=1d",
        "How long a tasked responder has to accept or decline, per severity; silence past it "
        "moves the tasking to the next responder in rank.",
    )
    incident_warn_at: float = _setting(
        0.75,
        "Share of a clock's target after which a running clock warns (0.75: with a quarter "
        "left); past the whole target it breaches and escalates.",
    )

    stream_keepalive_seconds: float = _setting(
        15.0,
        "Seconds between keep-alive comments on a quiet GET /api/v1/stream, so proxies and "
        "clients do not take a quiet stream for a dead one.",
    )
    webhook_networks: str = _setting(
        "",
        "Comma-separated networks (CIDR) that webhooks may deliver to although they are not "
        "public (loopback, private, link-local): e.g. a SOC's receiver at 10.1.2.0/24. By "
        "default only public addresses, against server-side request forgery.",
    )
    federation_sync_seconds: float = _setting(
        30.0,
        "Seconds between sync rounds with peers when nothing wakes them sooner (a write here "
        "wakes the push at once).",
    )
    federation_page_size: int = _setting(
        1000,
        "Objects per page pulled from a peer and per batch pushed to one: smaller on a slow "
        "or unreliable link (each page is stored whole, and a sync resumes after the last).",
    )
    stream_poll_seconds: float = _setting(
        1.0,
        "How often each server process looks for changes written by other processes, in "
        "seconds, when nothing wakes it sooner (its own writes and, on PostgreSQL, "
        "NOTIFY from other processes wake it at once).",
    )

    def __post_init__(self) -> None:
        """Resolve the default database for this user, and refuse what cannot work: a bad
        setting stops a start or a command with one clear line (ValueError), not a request."""
        url = self.database_url
        if url == DEFAULT_DATABASE_URL:  # built directly, not by from_env, which resolves it
            url = default_database_url()
        object.__setattr__(self, "database_url", checked_database_url(url))
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not a TCP port (1-65535)")
        # A page of 0 objects answered every list with a server error; none of the counts,
        # sizes and durations means anything below 0.
        for setting in dataclasses.fields(self):
            value = getattr(self, setting.name)
            least = 1 if setting.name in _AT_LEAST_ONE else 0
            if type(value) in (int, float) and not value >= least:
                raise ValueError(
                    f"{setting.name} (${env_name(setting.name)}) must be at least {least}, "
                    f"not {value}"
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read SHIELDWALL_<NAME> variables; explicit overrides win (None means 'not given').
        ValueError, naming the variable, for a value of the wrong type."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {"database_url": default_database_url(environ)}
        for setting in dataclasses.fields(cls):
            variable = env_name(setting.name)
            raw = environ.get(variable)
            if raw is not None:
                kind = type(setting.default)
                try:
                    values[setting.name] = kind(raw)
                except ValueError:
                    raise ValueError(f"${variable}: {raw!r} is not {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_AT_LEAST_ONE = frozenset({"page_size", "max_page_size", "max_bundle_bytes", "session_minutes"})


def env_name(name: str) -> str:
    return f"SHIELDWALL_{name.upper()}"


def database_source(given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Where the database URL a command uses came from, for messages about it."""
    environ = os.environ if environ is None else environ
    if given is not None:
        return "given with --database"
    if environ.get(env_name("database_url")):
        return f"from ${env_name('database_url')}"
    return "the default database"


def documented_settings() -> list[tuple[str, Any, str]]:
    """(environment variable, default, help) for every setting: the README table comes from this."""
    return [(env_name(f.name), f.default, f.metadata["help"]) for f in dataclasses.fields(Settings)]
