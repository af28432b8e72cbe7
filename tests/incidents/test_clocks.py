"""Clocks and escalation with a controllable clock: no sleeping, no wall-clock assertions.

The job (escalation.run) is called with the moment the test chooses; so is every request,
through the app's incident clock. Targets are the defaults: a critical incident is to be
acknowledged within 15 minutes (warning at 75%: 11m15s), a tasked responder answers within 30.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from shieldwall.incidents import escalation
from shieldwall.incidents.clocks import describe_seconds, read_clock
from shieldwall.incidents.tables import incident_changes
from shieldwall.intel.tables import change_log
from tests.incidents.conftest import T0, Cast, FakeClock


def _run(app: Any, clock: FakeClock) -> escalation.Run:
    return escalation.run(app.state.db, app.state.incident_config, clock())


def _clock(view: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in view["clocks"] if c["clock"] == name)


def _kinds(user: Any, url: str) -> list[str]:
    return [e["kind"] for e in user.get(f"{url}/timeline").json()["entries"]]


def test_a_clock_warns_once_then_breaches_and_escalates_once(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    incident = cast.file(severity="critical")
    url = f"/api/v1/incidents/{incident['id']}"
    coordinator = cast.cert.analyst
    clock.at(minutes=11)
    assert _run(app, clock).warnings == 0
    assert _clock(coordinator.get(url).json(), "acknowledge")["state"] == "running"

    clock.at(minutes=11, seconds=15)
    view = coordinator.get(url).json()
    acknowledge = _clock(view, "acknowledge")
    assert acknowledge["state"] == "warning" and acknowledge["remaining_seconds"] == 225
    assert acknowledge["due_at"] == "2026-03-02T09:15:00.000000Z"
    assert _run(app, clock).warnings == 1
    assert _run(app, clock).warnings == 0  # announced once, however often the job runs
    assert _kinds(coordinator, url).count("clock-warning") == 1
    board = cast.requester.reader.get("/api/v1/incidents/dashboard").json()
    assert [(m["clock"], m["state"]) for m in board["marks"]] == [("acknowledge", "warning")]

    clock.at(minutes=15, seconds=1)
    done = _run(app, clock)
    assert (done.breaches, done.warnings) == (1, 0)
    assert _run(app, clock).breaches == 0
    entries = coordinator.get(f"{url}/timeline").json()["entries"]
    breach = entries[-1]
    assert breach["kind"] == "clock-breach" and breach["by"] == "platform"
    assert breach["text"] == "ESCALATED: the acknowledge clock breached its 15m target (critical)"
    listed = cast.requester.analyst.get("/api/v1/incidents").json()["incidents"][0]
    assert listed["escalated"] is True and listed["clocks"]["acknowledge"] == "breached"
    board = cast.cert.reader.get("/api/v1/incidents/dashboard").json()
    assert board["marks"][0]["state"] == "breached"
    assert board["marks"][0]["escalated_at"] == "2026-03-02T09:15:01.000000Z"
    assert board["escalations"][0]["incident_id"] == incident["id"]
    # The escalation is a stream event: on the change log, with the incident to filter by.
    with app.state.db.read() as conn:
        seqs = list(
            conn.scalars(
                select(incident_changes.c.seq).where(incident_changes.c.kind == "clock-breach")
            )
        )
        action = conn.scalar(select(change_log.c.action).where(change_log.c.seq == seqs[0]))
    assert len(seqs) == 1 and action == "incident"
    # Acknowledging late stops the clock breached, for good.
    clock.at(minutes=20)
    assert coordinator.post(f"{url}/acknowledge").status_code == 200
    clock.at(days=1)
    final = _clock(coordinator.get(url).json(), "acknowledge")
    assert final["state"] == "breached" and final["elapsed_seconds"] == 1200


def test_waiting_on_the_requester_pauses_every_running_clock(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    incident = cast.file(severity="critical")
    url = f"/api/v1/incidents/{incident['id']}"
    clock.at(minutes=5)
    wait = cast.cert.analyst.post(
        f"{url}/status", json={"status": "waiting-on-requester", "reason": "which firmware?"}
    )
    assert wait.status_code == 200, wait.text
    clock.at(hours=3)
    view = cast.requester.analyst.get(url).json()
    accept = _clock(view, "accept")
    assert accept["paused"] is True and accept["elapsed_seconds"] == 300
    assert accept["state"] == "running" and accept["due_at"] is None
    assert _clock(view, "acknowledge")["state"] == "met"  # moving the status acknowledged it
    assert _run(app, clock).warnings == 0  # a paused clock neither warns nor breaches
    assert cast.cert.analyst.post(f"{url}/status", json={"status": "contained"}).status_code == 409
    assert cast.requester.analyst.post(f"{url}/resume", json={"note": "v2.1"}).status_code == 200
    clock.at(hours=3, minutes=45)
    view = cast.requester.analyst.get(url).json()
    assert view["status"] == "acknowledged"
    accept = _clock(view, "accept")
    assert accept["paused"] is False and accept["elapsed_seconds"] == 300 + 45 * 60
    assert accept["state"] == "warning"  # 50 of 60 minutes


def test_a_new_severity_retargets_the_running_clocks(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    incident = cast.file(severity="low")
    url = f"/api/v1/incidents/{incident['id']}"
    clock.at(minutes=20)
    assert _run(app, clock).warnings == 0  # a day to acknowledge a low
    patch = cast.cert.analyst.patch(url, json={"severity": "critical"})
    assert patch.status_code == 200, patch.text
    view = cast.cert.analyst.get(url).json()
    assert _clock(view, "acknowledge")["target_seconds"] == 900
    assert _clock(view, "acknowledge")["state"] == "breached"
    done = _run(app, clock)
    assert (done.breaches, done.warnings) == (1, 0)  # acknowledge (15m); accept (1h) not yet
    assert "severity" in _kinds(cast.cert.analyst, url)


def test_silence_past_the_deadline_moves_to_the_next_in_rank(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    incident = cast.file(severity="critical")
    url = f"/api/v1/incidents/{incident['id']}"
    first = cast.cert.analyst.post(f"{url}/taskings", json={}).json()
    assert first["member_id"] == cast.lab.member_id
    view = cast.cert.analyst.get(url).json()
    assert view["responders"][0]["answer_by"] == "2026-03-02T09:30:00.000000Z"
    clock.at(minutes=30)
    assert _run(app, clock).expired == 0  # at the deadline, not yet past it
    clock.at(minutes=30, seconds=1)
    assert _run(app, clock).expired == 1
    assert _run(app, clock).expired == 0
    responders = cast.cert.analyst.get(url).json()["responders"]
    assert [(r["member"]["id"], r["state"], r["tasked_by"]) for r in responders] == [
        (cast.lab.member_id, "expired", "coordinator"),
        (cast.malware.member_id, "tasked", "platform"),
    ]
    assert responders[1]["replaces"] == first["id"]
    assert responders[1]["answer_by"] == "2026-03-02T10:00:01.000000Z"
    entries = cast.cert.analyst.get(f"{url}/timeline").json()["entries"]
    assert entries[-1]["text"].startswith("Malware Co tasked, next in rank (rank 1: ")
    assert entries[-1]["text"].endswith("as Forensics Lab did not answer in time")


def test_an_answer_past_the_deadline_is_too_late_and_moves_on(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    incident = cast.file(severity="critical")
    url = f"/api/v1/incidents/{incident['id']}"
    first = cast.cert.analyst.post(f"{url}/taskings", json={}).json()
    clock.at(minutes=45)  # the job has not run yet
    late = cast.lab.analyst.post(f"{url}/taskings/{first['id']}/accept", json={})
    assert late.status_code == 409
    assert "expired and moved to the next responder" in late.json()["error"]["message"]
    assert cast.lab.analyst.get(url).status_code == 404
    states = [r["state"] for r in cast.cert.analyst.get(url).json()["responders"]]
    assert states == ["expired", "tasked"]
    assert _run(app, clock).expired == 0


def test_a_decline_moves_at_once_until_nobody_fits(cast: Cast, clock: FakeClock) -> None:
    incident = cast.file(severity="medium")
    url = f"/api/v1/incidents/{incident['id']}"
    tasking = cast.cert.analyst.post(f"{url}/taskings", json={}).json()
    for party in (cast.lab, cast.malware, cast.outsider):
        assert tasking["member_id"] == party.member_id
        no_reason = party.analyst.post(f"{url}/taskings/{tasking['id']}/decline", json={})
        assert no_reason.status_code == 422
        declined = party.analyst.post(
            f"{url}/taskings/{tasking['id']}/decline", json={"reason": "no staff this week"}
        )
        assert declined.status_code == 200, declined.text
        standing = [
            r for r in cast.cert.analyst.get(url).json()["responders"] if r["state"] == "tasked"
        ]
        tasking = (
            {"id": standing[0]["id"], "member_id": standing[0]["member"]["id"]} if standing else {}
        )
    assert tasking == {}
    entries = cast.cert.analyst.get(f"{url}/timeline").json()["entries"]
    assert entries[-1]["kind"] == "tasking-unfilled"
    assert "declined (no staff this week)" in entries[-1]["text"]
    nobody = cast.cert.analyst.post(f"{url}/taskings", json={})
    assert nobody.status_code == 409
    # By name, a member that declined may be asked again.
    again = cast.cert.analyst.post(f"{url}/taskings", json={"member_id": cast.lab.member_id})
    assert again.status_code == 201


def test_a_task_past_due_is_announced_once(cast: Cast, clock: FakeClock, app: Any) -> None:
    incident = cast.file()
    url = f"/api/v1/incidents/{incident['id']}"
    task = cast.cert.analyst.post(
        f"{url}/tasks",
        json={
            "title": "Send the logs",
            "owner_member_id": cast.requester.member_id,
            "due_at": "2026-03-02T10:00:00+00:00",
            "mandatory": True,
        },
    )
    assert task.status_code == 201, task.text
    clock.at(minutes=59)
    assert _run(app, clock).overdue == 0
    clock.at(minutes=61)
    assert _run(app, clock).overdue == 1
    assert _run(app, clock).overdue == 0
    tasks = cast.requester.analyst.get(url).json()["tasks"]
    assert tasks[0]["overdue"] is True
    board = cast.requester.analyst.get("/api/v1/incidents/dashboard").json()
    assert board["your_tasks"][0]["title"] == "Send the logs"
    assert "task-overdue" in _kinds(cast.requester.analyst, url)


def test_the_job_runs_under_the_scheduler_with_the_apps_clock(
    cast: Cast, clock: FakeClock, app: Any
) -> None:
    incident = cast.file(severity="critical")
    clock.at(minutes=16)
    assert app.state.scheduler.run_now(escalation.JOB_NAME) in (True, False)
    if not _kinds(cast.cert.analyst, f"/api/v1/incidents/{incident['id']}").count("clock-breach"):
        # The background run held the lock at that instant: it ran the same pass at the same now.
        _run(app, clock)
    kinds = _kinds(cast.cert.analyst, f"/api/v1/incidents/{incident['id']}")
    assert kinds.count("clock-breach") == 1


def _row(stopped: str | None = None, by: str | None = None, target: int = 600) -> Any:
    return SimpleNamespace(
        clock="contain",
        target_seconds=target,
        stopped_at=stopped,
        stopped_by=by,
        warned_at=None,
        breached_at=None,
    )


def test_readings_subtract_only_the_pauses_within_the_running_time() -> None:
    pauses = [
        (T0 + timedelta(minutes=2), T0 + timedelta(minutes=4)),
        (T0 + timedelta(minutes=20), None),
    ]
    running = read_clock(_row(), T0, pauses, T0 + timedelta(minutes=10), 0.75)
    assert (running.elapsed_seconds, running.state, running.paused) == (480, "warning", False)
    assert running.due_at == "2026-03-02T09:12:00.000000Z"
    paused = read_clock(_row(), T0, pauses, T0 + timedelta(hours=5), 0.75)
    assert (paused.elapsed_seconds, paused.state, paused.paused, paused.due_at) == (
        1080,
        "breached",
        True,
        None,
    )
    stopped = read_clock(
        _row("2026-03-02T09:09:00.000000Z", "event"), T0, pauses, T0 + timedelta(hours=5), 0.75
    )
    assert (stopped.elapsed_seconds, stopped.state, stopped.paused) == (420, "met", False)
    cancelled = read_clock(
        _row("2026-03-02T09:09:00.000000Z", "closed"), T0, [], T0 + timedelta(hours=5), 0.75
    )
    assert cancelled.state == "cancelled"
    assert describe_seconds(90061) == "1d 1h" and describe_seconds(45) == "45s"
