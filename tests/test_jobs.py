"""Scheduled jobs run on exactly one process at a time, on both databases, and a failing job
does not stop the others."""

from __future__ import annotations

import threading
import time

from shieldwall.db import Database
from shieldwall.jobs import Job, Scheduler


def test_a_job_never_runs_twice_at_once_across_schedulers(db: Database) -> None:
    """Two schedulers stand for two app nodes on one database."""
    running, most, finished = 0, 0, []
    guard = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.3)
        with guard:
            running -= 1
        finished.append(1)

    databases = [Database(db.url) for _ in range(2)]
    try:
        _two_nodes(databases, work, finished, lambda: most)
    finally:
        for database in databases:
            database.dispose()


def _two_nodes(databases: list[Database], work, finished: list, most) -> None:  # type: ignore[no-untyped-def]
    nodes = [Scheduler(database) for database in databases]
    for node in nodes:
        node.add(Job("pull", 3600, work))
    results: list[bool] = []
    threads = [threading.Thread(target=lambda n=n: results.append(n.run_now("pull"))) for n in
               nodes for _ in range(2)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most() == 1
    assert results.count(True) == len(finished) >= 1
    assert False in results or len(finished) == 4  # a node that found it held skipped the run
    # Once released, the other node may run it.
    assert nodes[1].run_now("pull") and nodes[0].run_now("pull")


def test_the_loop_runs_due_and_woken_jobs_and_survives_a_failing_one(db: Database) -> None:
    scheduler = Scheduler(db)
    ran = threading.Event()

    def broken() -> None:
        raise RuntimeError("a peer is down")

    scheduler.add(Job("broken", 0.05, broken))
    scheduler.add(Job("woken", 3600, ran.set))
    scheduler.start()
    try:
        assert ran.wait(5)  # due at once when added
        ran.clear()
        scheduler.wake("woken")
        assert ran.wait(5)
        time.sleep(0.3)
        assert scheduler.runs.get("broken", 0) == 0 and scheduler.runs["woken"] >= 2
    finally:
        scheduler.close()
