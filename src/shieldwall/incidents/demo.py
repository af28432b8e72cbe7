"""SYNTHETIC incidents for the demo, in every state, filed and worked through the same services
every client uses, at moments in the past, so that the dashboard, the clocks and the figures
show something: a closed one and a withdrawn one, one resolved, one contained, one waiting on
its requester, one with responders at work, one whose tasking went unanswered, and two just
filed (one already past its acknowledge target, escalated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from shieldwall.db import Database
from shieldwall.demo_data import (
    ALLIANCE,
    CERT_EE,
    CERT_PL,
    CLOUD,
    DEFENCE,
    EU_CERT,
    GRID,
    UNIVERSITY,
    DemoDataset,
)
from shieldwall.incidents import escalation, evidence, responders, service, status, taskings, work
from shieldwall.incidents.config import IncidentConfig, config_from
from shieldwall.incidents.tables import taskings as tasking_rows
from shieldwall.members.service import viewer_for_user
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

# (member, capabilities, countries, sectors, languages, availability)
_PROFILES = (
    (
        ALLIANCE,
        (
            "incident-response",
            "malware-analysis",
            "forensics",
            "threat-hunting",
            "crisis-management",
        ),
        ("BE", "DE", "EE", "FR", "IE", "NL", "PL"),
        (),
        ("en", "fr"),
        "available",
    ),
    (
        CERT_EE,
        ("incident-response", "vulnerability-coordination"),
        ("EE",),
        ("Government, Administration",),
        ("et", "en", "ru"),
        "available",
    ),
    (
        CERT_PL,
        ("incident-response", "malware-analysis"),
        ("PL", "EE"),
        ("Telecoms",),
        ("pl", "en"),
        "limited",
    ),
    (
        UNIVERSITY,
        ("malware-analysis", "forensics"),
        ("NL", "DE", "BE"),
        ("Energy",),
        ("nl", "en", "de"),
        "available",
    ),
    (CLOUD, ("cloud", "incident-response"), ("IE",), ("Digital services",), ("en",), "available"),
    (DEFENCE, ("forensics", "ot-ics"), ("FR",), ("Defense", "Energy"), ("fr", "en"), "limited"),
)


def _draft(
    title: str,
    severity: str,
    tlp: str,
    countries: Sequence[str],
    sectors: Sequence[str],
    needs: Sequence[str],
    links: Sequence[str],
    description: str,
) -> service.Draft:
    return service.Draft(
        title=f"SYNTHETIC {title}",
        description=f"SYNTHETIC demo request. {description}",
        severity=severity,
        tlp=tlp,
        countries=tuple(countries),
        sectors=tuple(sectors),
        services=("SYNTHETIC service",),
        needs=tuple(needs),
        links=tuple(links),
    )


def seed_demo_incidents(
    db: Database,
    settings: Settings,
    dataset: DemoDataset,
    user_ids: Mapping[str, str],
    now: datetime,
) -> list[str]:
    """The demo's responder profiles and incidents, for the seeded `dataset` (`user_ids` by
    e-mail address); the incidents' ids."""
    with db.read() as conn:
        analysts = {
            u.member: viewer_for_user(conn, user_ids[u.email])
            for u in dataset.users
            if u.role == "analyst"
        }
        admin = next(
            viewer_for_user(conn, user_ids[u.email]) for u in dataset.users if u.role == "admin"
        )
    reports: dict[str, list[str]] = {}
    for demo_bundle in dataset.bundles:
        reports.setdefault(demo_bundle.member, []).extend(
            o["id"] for o in demo_bundle.bundle["objects"] if o["type"] == "report"
        )
    return seed_incidents(db, config_from(settings), analysts, admin, reports, now)


def seed_incidents(
    db: Database,
    config: IncidentConfig,
    analysts: Mapping[str, Viewer],
    admin: Viewer,
    reports: Mapping[str, Sequence[str]],
    now: datetime,
) -> list[str]:
    """Declare the demo's responder profiles and file and work the demo incidents; their ids.
    `analysts` and `reports` are by member name; `admin` declares the profiles."""
    for name, capabilities, countries, sectors, languages, availability in _PROFILES:
        profile = responders.Profile(capabilities, countries, sectors, languages, availability)
        responders.declare(db, admin, analysts[name].member_id, profile, now - timedelta(days=30))
    lead = analysts[ALLIANCE]  # the alliance centre coordinates every demo request
    ids: list[str] = []

    def file(by: str, at: datetime, *args: Any) -> str:
        draft = _draft(*args, links=reports.get(by, ())[:1], description=f"Filed by {by}.")
        incident_id = service.file_incident(db, analysts[by], config, draft, at)["id"]
        ids.append(incident_id)
        return incident_id

    def accept_first(incident_id: str, at: datetime) -> str:
        tasking = taskings.task(db, lead, config, incident_id, None, at)
        taskings.answer(
            db,
            analysts[_name(analysts, tasking["member_id"])],
            config,
            incident_id,
            tasking["id"],
            True,
            "SYNTHETIC: on it",
            at + timedelta(minutes=20),
        )
        return tasking["member_id"]

    # Closed as resolved, twelve days ago: the whole life, with evidence and a mandatory task.
    t = now - timedelta(days=12)
    i = file(
        GRID,
        t,
        "Ransomware on substation gateways",
        "critical",
        "amber",
        ("DE", "PL"),
        ("Energy",),
        ("forensics", "incident-response"),
    )
    status.set_status(db, lead, i, "acknowledged", "", t + timedelta(minutes=9))
    helper = accept_first(i, t + timedelta(minutes=14))
    helper_viewer = analysts[_name(analysts, helper)]
    task = work.add_task(
        db,
        lead,
        i,
        work.TaskIn(
            "SYNTHETIC image both gateways", "", helper, None, t + timedelta(hours=6), True
        ),
        t + timedelta(minutes=40),
    )
    status.set_status(db, lead, i, "contained", "gateways isolated", t + timedelta(hours=3))
    evidence.add_evidence(
        db,
        helper_viewer,
        i,
        evidence.EvidenceIn(
            "SYNTHETIC gateway disk image", "sha256", "5" * 64, "SYNTHETIC lab vault"
        ),
        t + timedelta(hours=4),
    )
    work.update_task(
        db, helper_viewer, i, task["id"], work.TaskChange(status="done"), t + timedelta(hours=5)
    )
    status.set_status(db, lead, i, "resolved", "restored", t + timedelta(hours=20))
    status.close(db, lead, i, "resolved", "SYNTHETIC: restored from backups", t + timedelta(days=2))

    # Withdrawn by its requester within the hour.
    t = now - timedelta(days=9)
    i = file(
        CLOUD,
        t,
        "Suspicious admin logins",
        "low",
        "green",
        ("IE",),
        ("Digital services",),
        ("cloud",),
    )
    status.close(
        db,
        analysts[CLOUD],
        i,
        "withdrawn",
        "SYNTHETIC: a red-team exercise",
        t + timedelta(minutes=50),
    )

    # Resolved, after a decline moved the tasking to the next in rank.
    t = now - timedelta(days=6)
    i = file(
        DEFENCE,
        t,
        "Spear-phishing against engineering staff",
        "medium",
        "amber",
        ("FR",),
        ("Defense",),
        ("forensics", "incident-response"),
    )
    first = taskings.task(db, lead, config, i, None, t + timedelta(hours=2))
    taskings.answer(
        db,
        analysts[_name(analysts, first["member_id"])],
        config,
        i,
        first["id"],
        False,
        "SYNTHETIC: no analyst free this week",
        t + timedelta(hours=3),
    )
    moved = _pending(db, i)  # the next in rank, tasked by the platform
    taskings.answer(
        db,
        analysts[_name(analysts, moved.member_id)],
        config,
        i,
        moved.id,
        True,
        "SYNTHETIC: we can take it",
        t + timedelta(hours=4),
    )
    status.set_status(db, lead, i, "contained", "", t + timedelta(days=1))
    status.set_status(db, lead, i, "resolved", "", t + timedelta(days=3))

    # Contained.
    t = now - timedelta(days=2)
    i = file(
        EU_CERT,
        t,
        "Credential phishing of diplomatic staff",
        "high",
        "amber+strict",
        ("BE",),
        ("Diplomacy",),
        ("incident-response", "threat-hunting"),
    )
    accept_first(i, t + timedelta(minutes=30))
    status.set_status(db, lead, i, "contained", "accounts reset", t + timedelta(hours=20))

    # Waiting on its requester: the clocks stand still.
    t = now - timedelta(days=1)
    i = file(
        UNIVERSITY,
        t,
        "Data exfiltration from a research cluster",
        "medium",
        "amber",
        ("NL",),
        ("Academia - University",),
        ("forensics",),
    )
    status.set_status(db, lead, i, "acknowledged", "", t + timedelta(hours=1))
    status.set_status(
        db,
        lead,
        i,
        "waiting-on-requester",
        "which storage nodes were reachable?",
        t + timedelta(hours=3),
    )

    # Responding, across two countries.
    t = now - timedelta(hours=5)
    i = file(
        CERT_PL,
        t,
        "DDoS on national e-services",
        "high",
        "amber",
        ("PL", "EE"),
        ("Government, Administration",),
        ("incident-response",),
    )
    accept_first(i, t + timedelta(minutes=20))
    work.add_note(
        db,
        analysts[CERT_PL],
        i,
        "SYNTHETIC: traffic down to 40% of the peak",
        t + timedelta(hours=2),
    )

    # Acknowledged; its responder did not answer in time (the clock job moves it on).
    t = now - timedelta(hours=2)
    i = file(
        CLOUD,
        t,
        "Cloud tenant takeover",
        "critical",
        "red",
        ("IE", "DE"),
        ("Digital services",),
        ("cloud", "incident-response"),
    )
    taskings.task(db, lead, config, i, None, t + timedelta(minutes=5))

    # Just filed: one already past its acknowledge target, one still within it.
    file(
        GRID,
        now - timedelta(minutes=40),
        "Wiper on HMI workstations",
        "critical",
        "amber",
        ("DE",),
        ("Energy",),
        ("ot-ics", "forensics"),
    )
    file(
        DEFENCE,
        now - timedelta(minutes=10),
        "Malware in a supplier update",
        "low",
        "green",
        ("FR",),
        ("Manufacturing",),
        ("malware-analysis",),
    )
    escalation.run(db, config, now)
    return ids


def _name(analysts: Mapping[str, Viewer], member_id: str) -> str:
    return next(name for name, viewer in analysts.items() if viewer.member_id == member_id)


def _pending(db: Database, incident_id: str) -> Any:
    """The incident's tasking awaiting an answer."""
    with db.read() as conn:
        return conn.execute(
            select(tasking_rows.c.id, tasking_rows.c.member_id).where(
                tasking_rows.c.incident_id == incident_id, tasking_rows.c.state == "tasked"
            )
        ).one()
