"""Many MISP events stored many to a transaction (exchange/misp_batch.py, as a feed pull does),
each still whole or not at all.

Negative cases first: an event that ingest refuses (an id another member already holds) stores
nothing of itself and is reported, while the others of its batch are stored; an event that is not
MISP at all is refused alone; a reader stores nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text

from shieldwall.exchange.misp_batch import import_misp_batched
from shieldwall.exchange.misp_document import _uuid5, events_in
from shieldwall.exchange.misp_feed import folder_fetch, pull_feed
from shieldwall.members import service
from shieldwall.policy import Role, Viewer
from tests.exchange.test_misp_import import shared
from tests.exchange.test_misp_real_events import FILES, real
from tests.factories import ApiUser, World, indicator, marked


def event(n: int, attributes: int = 3) -> dict[str, Any]:
    """A small SYNTHETIC event, its uuids its own."""
    return {"Event": {
        "uuid": f"e0000000-0000-4000-8000-{n:012d}", "info": f"SYNTHETIC event {n}",
        "timestamp": "1770790000", "Tag": [{"name": "tlp:green"}], "distribution": "1",
        "Attribute": [{
            "uuid": attribute_uuid(n, i), "type": "domain", "value": f"e{n}-{i}.bad.example",
            "to_ids": True, "category": "Network activity", "timestamp": "1770790000",
        } for i in range(attributes)],
    }}  # fmt: skip


def attribute_uuid(n: int, i: int) -> str:
    return f"a{n:07d}-0000-4000-8000-{i:012d}"


def viewer_of(world: World, user: ApiUser) -> Viewer:
    with world.db.read() as conn:
        return service.viewer_for_user(conn, user.user_id)


def keyed(*documents: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(d["Event"]["uuid"], d) for d in documents]


def reports_of(user: ApiUser) -> set[str]:
    return {r["x_misp_uuid"] for r in shared(user, type="report")}


def test_an_event_ingest_refuses_is_reported_and_the_rest_of_its_batch_is_stored(
    app: Any, world: World
) -> None:
    alice, mallory = world.user(world.member()), world.user(world.member())
    events = [event(n) for n in range(4)]
    # Mallory already shares an object under the id alice's copy of event 1's attribute gets.
    claimed = f"indicator--{_uuid5(f'{alice.member_id}/{attribute_uuid(1, 0)}')}"
    taken = marked({**indicator("198.51.100.9"), "id": claimed}, tlp="green",
                   distribution="community")  # fmt: skip
    assert mallory.share(taken).status_code == 201, "mallory's object"
    done = import_misp_batched(app.state.ingestor, viewer_of(world, alice), keyed(*events))
    assert list(done.failed) == [events[1]["Event"]["uuid"]]
    assert "nothing was stored" in done.failed[events[1]["Event"]["uuid"]]
    stored = {events[n]["Event"]["uuid"] for n in (0, 2, 3)}
    assert reports_of(alice) == stored
    assert not [o for o in shared(alice) if o.get("x_misp_uuid", "").startswith("a0000001")]
    # The three others in one transaction, after the refused one was taken out.
    assert set(done.imported) == stored and len(set(done.imported.values())) == 1
    assert done.stored == 3 * 4  # three indicators and the report, each event


def test_what_is_not_a_misp_event_is_refused_alone(app: Any, world: World) -> None:
    alice = world.user(world.member())
    documents = [*keyed(event(0)), ("broken", {"nothing": "here"}), *keyed(event(1))]
    done = import_misp_batched(app.state.ingestor, viewer_of(world, alice), documents)
    assert list(done.failed) == ["broken"] and "not a MISP event" in done.failed["broken"]
    assert reports_of(alice) == {event(n)["Event"]["uuid"] for n in (0, 1)}


def test_a_reader_stores_nothing(app: Any, world: World) -> None:
    reader = world.user(world.member(), Role.READER)
    events = keyed(event(0), event(1))
    done = import_misp_batched(app.state.ingestor, viewer_of(world, reader), events)
    assert set(done.failed) == {key for key, _ in events} and done.stored == 0
    assert all("may not share intel" in why for why in done.failed.values())
    assert shared(world.user(reader.member_id)) == []


def test_a_value_stix_will_not_take_is_a_note_and_its_batch_stays_one_transaction(
    app: Any, world: World
) -> None:
    alice = world.user(world.member())
    odd = event(1)
    odd["Event"]["Attribute"][0].update(type="md5", value="not-an-md5")
    done = import_misp_batched(app.state.ingestor, viewer_of(world, alice),
                               keyed(event(0), odd, event(2)))  # fmt: skip
    assert done.failed == {} and len(set(done.imported.values())) == 1
    (note,) = [o for o in shared(alice, type="note") if o.get("x_misp_value") == "not-an-md5"]
    assert note["x_misp_type"] == "md5" and note["content"] == "not-an-md5"


def test_batches_are_split_by_size_and_each_audited_by_event(app: Any, world: World) -> None:
    alice = world.user(world.member())
    events = [event(n) for n in range(5)]
    done = import_misp_batched(app.state.ingestor, viewer_of(world, alice), keyed(*events),
                               source="test", batch_objects=8)  # fmt: skip
    seqs = [done.imported[e["Event"]["uuid"]] for e in events]
    # 4 objects an event (3 indicators and the report): a batch closes at 8 or more.
    assert seqs[0] == seqs[1] != seqs[2] == seqs[3] != seqs[4]
    entries = world.admin().get("/api/v1/audit", params={"action": "misp.import"}).json()
    by_seq = {e["detail"]["change_seq"]: e for e in entries["entries"]}
    assert set(by_seq) == set(seqs)
    first = by_seq[seqs[0]]
    assert first["user_id"] == alice.user_id and first["detail"]["source"] == "test"
    reports = {r["x_misp_uuid"]: r["id"] for r in shared(alice, type="report")}
    assert first["detail"]["events"] == {
        e["Event"]["uuid"]: reports[e["Event"]["uuid"]] for e in events[:2]
    }
    again = import_misp_batched(app.state.ingestor, viewer_of(world, alice), keyed(*events))
    assert again.stored == 0 and set(again.imported.values()) == {None}
    after = world.admin().get("/api/v1/audit", params={"action": "misp.import"}).json()
    assert len(after["entries"]) == len(entries["entries"])  # nothing new, nothing audited


def test_an_import_whose_audit_entry_cannot_be_written_stores_nothing(
    app: Any, world: World
) -> None:
    """The `misp.import` entry is written in the batch's own transaction: a database that
    refuses it (a trigger, standing in for a crash between the two) stores nothing of the
    events, where an entry written after the commit left them stored without it."""
    alice = world.user(world.member())
    refuse = (
        [
            "CREATE TRIGGER refuse_misp_import BEFORE INSERT ON audit_log "
            "WHEN NEW.action = 'misp.import' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        if world.db.is_sqlite
        else [
            "CREATE FUNCTION refuse_misp_import() RETURNS trigger AS $$ BEGIN "
            "IF NEW.action = 'misp.import' THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_misp_import BEFORE INSERT ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION refuse_misp_import()",
        ]
    )
    with world.db.write() as conn:
        for statement in refuse:
            conn.execute(text(statement))
    events = keyed(event(0), event(1))
    done = import_misp_batched(app.state.ingestor, viewer_of(world, alice), events)
    assert set(done.failed) == {key for key, _ in events} and done.stored == 0
    assert shared(alice) == []
    entries = world.admin().get("/api/v1/audit", params={"action": "intel.ingest"}).json()
    assert entries["entries"] == []


def test_the_import_entry_follows_ingests_own_in_one_transaction(app: Any, world: World) -> None:
    alice = world.user(world.member())
    done = import_misp_batched(app.state.ingestor, viewer_of(world, alice),
                               keyed(event(0), event(1)), source="test")  # fmt: skip
    (seq,) = set(done.imported.values())
    admin = world.admin()
    (ingested,) = admin.get("/api/v1/audit", params={"action": "intel.ingest"}).json()["entries"]
    (misp,) = admin.get("/api/v1/audit", params={"action": "misp.import"}).json()["entries"]
    assert ingested["detail"]["change_seq"] == misp["detail"]["change_seq"] == seq
    assert misp["seq"] == ingested["seq"] + 1 and misp["at"] >= ingested["at"]
    assert set(misp["detail"]["events"]) == {event(n)["Event"]["uuid"] for n in (0, 1)}


def test_batched_real_events_store_what_importing_each_alone_stores(app: Any, world: World) -> None:
    alice, bob = world.user(world.member()), world.user(world.member())
    documents = []
    for name in FILES:
        (one,) = events_in(real(name))
        documents.append((one["uuid"], {"Event": one}))
        response = alice.post("/api/v1/imports/misp", json=real(name))
        assert response.status_code == 201, response.text
    done = import_misp_batched(app.state.ingestor, viewer_of(world, bob), documents)
    assert done.failed == {} and len(set(done.imported.values())) == 1

    def held(user: ApiUser) -> Counter[tuple[Any, ...]]:
        return Counter(
            (o["type"], o.get("x_misp_uuid"), o.get("x_misp_value"), o.get("pattern"),
             o.get("name"), o.get("content"), json.dumps(o.get("labels")))
            for o in shared(user)
        )  # fmt: skip

    assert held(alice) == held(bob) and len(held(bob)) > 300


def test_a_pull_audits_the_events_it_stored(app: Any, world: World, tmp_path: Path) -> None:
    alice = world.user(world.member())
    manifest = {}
    for n in range(3):
        document = event(n)
        (tmp_path / f"{document['Event']['uuid']}.json").write_text(json.dumps(document))
        manifest[document["Event"]["uuid"]] = {"timestamp": "1770790000"}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    pulled = pull_feed(app.state.ingestor, viewer_of(world, alice), folder_fetch(tmp_path))
    assert (pulled.fetched, pulled.failed, pulled.stored) == (3, {}, 12)
    entries = world.admin().get("/api/v1/audit", params={"action": "misp.import"}).json()
    (entry,) = entries["entries"]
    assert entry["detail"]["source"] == "misp-feed"
    assert set(entry["detail"]["events"]) == set(manifest)
