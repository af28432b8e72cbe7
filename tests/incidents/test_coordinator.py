"""The coordinator rule the instance configures, and the incident settings refused with one line
naming the variable when they cannot work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shieldwall.app import create_app
from shieldwall.incidents.config import config_from, parse_duration
from shieldwall.policy import Role
from shieldwall.settings import Settings
from tests.factories import World


def _file(world: World, member_id: str) -> dict[str, Any]:
    user = world.user(member_id, Role.ANALYST)
    body = {"title": "help", "description": "phishing wave", "severity": "low", "tlp": "green"}
    response = user.post("/api/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    return response.json()["coordinator"]


def test_the_national_cert_of_the_requesters_country_else_the_alliance_centre(
    world: World,
) -> None:
    alliance = world.member("Alliance IRC", "alliance", country="BE")
    world.member("Second alliance member", "alliance", country="NL")  # newer: not the centre
    cert_ee = world.member("CERT-EE", "national-cert", country="EE")
    world.member("CERT-EE bis", "national-cert", country="EE")  # newer: not chosen
    grid_ee = world.member("Grid EE", "industry", country="EE")
    grid_lv = world.member("Grid LV", "industry", country="LV")  # Latvia has no CERT here
    stateless = world.member("No country", "academia")
    assert _file(world, grid_ee) == {
        "id": cert_ee,
        "name": "CERT-EE",
        "reason": "the requester's national CERT (EE)",
    }
    for member in (grid_lv, stateless):
        assert _file(world, member) == {
            "id": alliance,
            "name": "Alliance IRC",
            "reason": "the alliance centre",
        }
    # A national CERT asking for help is not its own national CERT.
    assert _file(world, cert_ee)["id"] == alliance
    # The alliance centre asking for help coordinates its own request.
    assert _file(world, alliance)["id"] == alliance


def test_without_anyone_the_rule_names_the_requester_coordinates(world: World) -> None:
    lonely = world.member("Lonely", "industry", country="EE")
    assert _file(world, lonely) == {
        "id": lonely,
        "name": "Lonely",
        "reason": "no member the instance's rule names: the requester coordinates",
    }


def test_an_instance_may_choose_its_own_rule(database_url: str) -> None:
    from fastapi.testclient import TestClient

    settings = Settings(
        database_url=database_url,
        warninglists="none",
        validation_workers=0,
        incident_coordinator="member=Sector ISAC,alliance",
    )
    app = create_app(settings)
    with TestClient(app) as client:
        world = World(app.state.db, client)
        world.member("Alliance IRC", "alliance", country="BE")
        isac = world.member("Sector ISAC", "partner", country="DE")
        world.member("CERT-EE", "national-cert", country="EE")
        grid = world.member("Grid EE", "industry", country="EE")
        assert _file(world, grid) == {
            "id": isac,
            "name": "Sector ISAC",
            "reason": "named by the instance's rule (Sector ISAC)",
        }
        meta = world.user(grid).get("/api/v1/incidents/meta").json()
        assert meta["coordinator_rule"] == ["member=Sector ISAC", "alliance"]


def test_bad_incident_settings_stop_the_start_naming_the_variable(tmp_path: Path) -> None:
    quiet = {
        "database_url": f"sqlite:///{tmp_path}/x.db",
        "warninglists": "none",
        "validation_workers": 0,
        "lookup_helpers": 0,
    }
    cases = {
        "incident_coordinator": ("national-cert,regional", "SHIELDWALL_INCIDENT_COORDINATOR"),
        "incident_acknowledge_within": (
            "critical=15m,high=1h",
            "SHIELDWALL_INCIDENT_ACKNOWLEDGE_WITHIN",
        ),
        "incident_resolve_within": (
            "critical=3 weeks,high=1d,medium=1d,low=1d",
            "SHIELDWALL_INCIDENT_RESOLVE_WITHIN",
        ),
        "incident_answer_within": ("urgent=5m", "SHIELDWALL_INCIDENT_ANSWER_WITHIN"),
        "incident_warn_at": (1.5, "SHIELDWALL_INCIDENT_WARN_AT"),
    }
    for name, (value, variable) in cases.items():
        with pytest.raises(ValueError, match=variable):
            config_from(Settings(**{name: value}))
        with pytest.raises(ValueError, match=variable):
            create_app(Settings(**quiet, **{name: value}))
    assert parse_duration("1d12h") == 129600 and parse_duration("90s") == 90
    for bad in ("", "0m", "15", "m", "1h 5", "-5m"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    config = config_from(
        Settings.from_env(
            {"SHIELDWALL_INCIDENT_ACCEPT_WITHIN": "low=2d,medium=1d,high=2h,critical=30m"}
        )
    )
    assert config.target("accept", "critical") == 1800 and config.warn_at == 0.75
