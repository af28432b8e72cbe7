"""The words of incident assistance and the instance's choices about them, as values.

Severities, statuses, clocks and responder capabilities are fixed vocabularies: a typo in a
capability would quietly never match a responder, so unknown words are refused with the list
of known ones. What an instance chooses (who coordinates, the clock targets, how long a tasked
responder has to answer, when a clock warns) is read once from Settings into an IncidentConfig
when the app is built, so a bad setting stops the start with one line naming it, never a
request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from shieldwall.errors import Invalid
from shieldwall.settings import Settings, env_name

SEVERITIES = ("low", "medium", "high", "critical")
# What each severity means, for the requester choosing one and the responders reading it.
SEVERITY_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "low": "Limited impact on one member, already under control or without urgency: advice or "
        "a second opinion is welcome (a blocked phishing wave, a single cleaned workstation).",
        "medium": "A service or business function of one member is degraded, or data may be at "
        "risk: help is wanted within the working day.",
        "high": "An essential service is significantly disrupted, sensitive data has left, or the "
        "attack is likely to reach other members: help is wanted within hours.",
        "critical": "An essential service is down, lives, national security or the partnership's "
        "operations are at risk, or the attack is spreading across members or countries: help is "
        "wanted now, around the clock.",
    }
)

# The life of an incident. `waiting-on-requester` pauses every running clock.
STATUSES = (
    "filed",
    "acknowledged",
    "responding",
    "waiting-on-requester",
    "contained",
    "resolved",
    "closed",
)
OPEN_STATUSES = STATUSES[:-1]
RESOLUTIONS = ("resolved", "withdrawn", "duplicate", "no-action")

CLOCKS = ("acknowledge", "accept", "contain", "resolve")
CLOCK_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "acknowledge": "from filing until the coordinator acknowledges the request",
        "accept": "from filing until the first responder accepts a tasking",
        "contain": "from filing until the incident is marked contained (or resolved)",
        "resolve": "from filing until the incident is resolved",
    }
)

# What responders declare they can do and what a request may ask for.
CAPABILITIES = (
    "incident-response",
    "malware-analysis",
    "forensics",
    "threat-hunting",
    "ot-ics",
    "cloud",
    "network-monitoring",
    "vulnerability-coordination",
    "legal",
    "media",
    "crisis-management",
)
AVAILABILITIES = ("available", "limited", "unavailable")
# Members of this kind are other instances: incidents never leave this one, so they take no part.
PEER_KIND = "peer"

# Steps of the coordinator rule (SHIELDWALL_INCIDENT_COORDINATOR), tried in order.
NATIONAL_CERT = "national-cert"
ALLIANCE = "alliance"
MEMBER_PREFIX = "member="

_TWO_LETTERS = re.compile(r"[A-Za-z]{2}")
_DURATION = re.compile(r"(\d{1,7})\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class IncidentConfig:
    """What this instance chose: read once from Settings by `config_from`."""

    coordinator_rule: tuple[str, ...]
    targets: Mapping[str, Mapping[str, int]]  # clock -> severity -> seconds
    answer_within: Mapping[str, int]  # severity -> seconds a tasked responder has to answer
    warn_at: float  # the share of a target after which a running clock warns

    def target(self, clock: str, severity: str) -> int:
        """Seconds `clock` may run for an incident of `severity`."""
        return self.targets[clock][severity]


def parse_duration(text: str) -> int:
    """'90s', '15m', '4h', '3d' or '1d12h' -> seconds; ValueError otherwise."""
    compact = text.strip().lower()
    pos, total = 0, 0
    for match in _DURATION.finditer(compact):
        if match.start() != pos:
            break
        total += int(match[1]) * _UNIT_SECONDS[match[2]]
        pos = match.end()
    if not compact or pos != len(compact) or total <= 0:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 4h or 3d")
    return total


def parse_by_severity(text: str, setting: str) -> dict[str, int]:
    """'critical=15m,high=1h,medium=4h,low=1d' -> seconds per severity, every severity named
    once; ValueError naming the setting otherwise."""
    found: dict[str, int] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in SEVERITIES:
            raise ValueError(
                f"${env_name(setting)}: {part.strip()!r} is not SEVERITY=DURATION "
                f"(severities: {', '.join(SEVERITIES)})"
            )
        if name in found:
            raise ValueError(f"${env_name(setting)}: {name} is given twice")
        try:
            found[name] = parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"${env_name(setting)}: {exc}") from None
    if missing := [s for s in SEVERITIES if s not in found]:
        raise ValueError(f"${env_name(setting)}: no target for {', '.join(missing)}")
    return found


def parse_coordinator_rule(text: str) -> tuple[str, ...]:
    """'national-cert,alliance' -> its steps; ValueError naming the setting otherwise."""
    steps = tuple(step.strip() for step in text.split(",") if step.strip())
    for step in steps:
        if step in (NATIONAL_CERT, ALLIANCE):
            continue
        if step.startswith(MEMBER_PREFIX) and step[len(MEMBER_PREFIX) :].strip():
            continue
        raise ValueError(
            f"${env_name('incident_coordinator')}: unknown step {step!r}; steps are "
            f"{NATIONAL_CERT}, {ALLIANCE} and {MEMBER_PREFIX}NAME"
        )
    if not steps:
        raise ValueError(f"${env_name('incident_coordinator')}: give at least one step")
    return steps


def config_from(settings: Settings) -> IncidentConfig:
    """The instance's incident configuration; ValueError naming the bad setting."""
    if not 0 < settings.incident_warn_at < 1:
        raise ValueError(
            f"${env_name('incident_warn_at')}: {settings.incident_warn_at} is not a share "
            "between 0 and 1 (0.75: warn when three quarters of a target have passed)"
        )
    targets = {
        clock: MappingProxyType(
            parse_by_severity(
                getattr(settings, f"incident_{clock}_within"), f"incident_{clock}_within"
            )
        )
        for clock in CLOCKS
    }
    return IncidentConfig(
        coordinator_rule=parse_coordinator_rule(settings.incident_coordinator),
        targets=MappingProxyType(targets),
        answer_within=MappingProxyType(
            parse_by_severity(settings.incident_answer_within, "incident_answer_within")
        ),
        warn_at=settings.incident_warn_at,
    )


def checked_words(
    values: Sequence[str],
    field_name: str,
    *,
    known: Sequence[str] | None = None,
    code: str | None = None,
    max_items: int = 50,
    max_length: int = 100,
) -> list[str]:
    """Words a client sent, each once, in order; Invalid naming the field for a bad one.
    `code` 'upper' or 'lower': two-letter codes (ISO 3166 countries, ISO 639-1 languages)."""
    problems, out = [], []
    if len(values) > max_items:
        problems.append(f"at most {max_items} values")
    for value in values:
        word = value.strip() if isinstance(value, str) else ""
        if code is not None:
            if not _TWO_LETTERS.fullmatch(word):
                problems.append(f"{value!r} is not a two-letter code")
                continue
            word = word.upper() if code == "upper" else word.lower()
        elif not word or len(word) > max_length:
            problems.append(f"{value!r} is not a word of 1 to {max_length} characters")
            continue
        if known is not None and word not in known:
            problems.append(f"unknown {field_name} value {word!r}; known: {', '.join(known)}")
            continue
        if word not in out:
            out.append(word)
    if problems:
        message = f"{field_name}: {'; '.join(problems)}"
        raise Invalid(message, details=[{"property": field_name, "message": p} for p in problems])
    return out
