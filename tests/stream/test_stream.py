"""GET /api/v1/stream over a real socket: a subscriber hears of every change it may see, and of
nothing else, not even an id; it resumes exactly where it left off; filters narrow it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from shieldwall.app import create_app
from shieldwall.settings import Settings
from shieldwall.stream.events import Position
from tests.api.serving import serving
from tests.factories import ApiUser, World, indicator, marked

NEWER = "2026-02-01T10:00:00.000Z"


@pytest.fixture
def live(database_url: str) -> Iterator[tuple[World, str]]:
    settings = Settings(
        database_url=database_url,
        warninglists="none",
        validation_workers=0,
        stream_keepalive_seconds=0.3,
        stream_poll_seconds=0.2,
    )
    app = create_app(settings)
    with TestClient(app) as client, serving(app) as base:
        yield World(app.state.db, client), base


def events(
    base: str,
    user: ApiUser,
    want: int = 10_000,
    seconds: float = 20.0,
    until_quiet: bool = True,
    ready: threading.Event | None = None,
    **kw: Any,
) -> list[dict[str, Any]]:
    """The events of one subscription, until `want` of them, or the first keep-alive (the
    server sends one only once it has sent everything there is) when `until_quiet`, or after
    `seconds` at most."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    headers = {**user.headers, **kw.pop("headers", {})}
    params = kw.pop("params", {})
    if "last_event_id" in kw:
        params["last_event_id"] = kw.pop("last_event_id")
    url = f"{base}/api/v1/stream"
    with httpx.stream("GET", url, headers=headers, params=params, timeout=10, **kw) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        event: dict[str, Any] = {}
        for line in r.iter_lines():
            if line.startswith(": stream from") and ready is not None:
                ready.set()  # subscribed: changes from here on reach this subscriber
            if line.startswith("id: "):
                event["id"] = line[4:]
            elif line.startswith("event: "):
                event["event"] = line[7:]
            elif line.startswith("data: "):
                event["data"] = orjson.loads(line[6:])
            elif line == "" and event:
                found.append(event)
                event = {}
            elif line == ": keep-alive" and until_quiet:
                break
            if len(found) >= want or time.monotonic() > deadline:
                break
    return found


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["id"] for e in found]


@pytest.fixture
def shared(live: tuple[World, str]) -> dict[str, Any]:
    world, base = live
    a, b, c = world.member("A"), world.member("B"), world.member("C")
    group = world.group([a, b])
    alice, bob, carol = world.user(a), world.user(b), world.user(c)
    objs = {
        "community": indicator("198.51.100.1", tlp="green", distribution="community"),
        "org": indicator("198.51.100.2", tlp="red", distribution="org"),
        "group": indicator("198.51.100.3", tlp="amber", distribution="group", group=group),
        "red_group": indicator("198.51.100.4", tlp="red", distribution="group", group=group),
        "clear": marked(
            {**indicator("198.51.100.5"), "labels": ["phishing"]}, tlp="clear", distribution="all"
        ),
    }
    for obj in objs.values():
        assert alice.share(obj).status_code == 201
    return {"base": base, "alice": alice, "bob": bob, "carol": carol, "objs": objs, "world": world}


def test_a_member_hears_nothing_of_what_it_may_not_see(shared: dict[str, Any]) -> None:
    base, objs = shared["base"], shared["objs"]
    heard = ids(events(base, shared["carol"], last_event_id="0"))
    for hidden in ("org", "group", "red_group"):
        assert objs[hidden]["id"] not in heard, hidden
    assert objs["community"]["id"] in heard and objs["clear"]["id"] in heard
    bob_heard = ids(events(base, shared["bob"], last_event_id="0"))
    assert objs["org"]["id"] not in bob_heard
    assert {objs[k]["id"] for k in ("group", "red_group", "community", "clear")} <= set(bob_heard)
    # The sharer hears of everything it shared.
    alice_heard = ids(events(base, shared["alice"], last_event_id="0"))
    assert {o["id"] for o in objs.values()} <= set(alice_heard)


def test_a_narrowed_version_is_not_heard_by_those_it_no_longer_reaches(
    shared: dict[str, Any],
) -> None:
    base, alice, carol = shared["base"], shared["alice"], shared["carol"]
    community = shared["objs"]["community"]
    start = events(base, carol, last_event_id="0")[-1]["id"]
    narrowed = marked({**community, "modified": NEWER}, tlp="red", distribution="org")
    assert alice.share(narrowed).status_code == 201
    assert events(base, carol, last_event_id=start) == []
    mine = events(base, alice, last_event_id=start, want=1, until_quiet=False)
    assert [(e["event"], e["data"]["id"]) for e in mine] == [("version", community["id"])]


def test_events_carry_their_position_and_resume_exactly_after_it(shared: dict[str, Any]) -> None:
    base, bob = shared["base"], shared["bob"]
    everything = events(base, bob, last_event_id="0")
    assert len(everything) >= 4
    positions = [e["id"] for e in everything]
    assert len(set(positions)) == len(positions)
    for e in everything:
        assert {"id", "type", "tlp", "change"} <= set(e["data"])
    middle = positions[len(positions) // 2]
    rest = everything[len(positions) // 2 + 1 :]
    by_header = events(base, bob, headers={"Last-Event-ID": middle})
    assert by_header == rest
    assert events(base, bob, last_event_id=middle) == rest


def test_a_live_subscriber_hears_a_new_share_at_once(shared: dict[str, Any]) -> None:
    base, alice, carol = shared["base"], shared["alice"], shared["carol"]
    secret = indicator("203.0.113.9", tlp="amber", distribution="org")
    public = indicator("203.0.113.10", tlp="green", distribution="community")
    heard: list[dict[str, Any]] = []
    subscribed = threading.Event()
    listening = threading.Thread(
        target=lambda: heard.extend(
            events(base, carol, want=1, until_quiet=False, ready=subscribed)
        )
    )
    listening.start()
    assert subscribed.wait(20)  # no position given means from now on
    assert alice.share(secret).status_code == 201
    assert alice.share(public).status_code == 201
    listening.join()
    assert ids(heard) == [public["id"]]
    assert heard[0]["event"] == "object" and heard[0]["data"]["type"] == "indicator"


def test_filters_narrow_the_stream(shared: dict[str, Any]) -> None:
    base, bob, objs = shared["base"], shared["bob"], shared["objs"]
    clear = {"max_tlp": "clear", "type": "indicator"}
    clear_only = ids(events(base, bob, last_event_id="0", params=clear))
    assert clear_only == [objs["clear"]["id"]]
    labelled = ids(events(base, bob, last_event_id="0", params={"label": "phishing"}))
    assert labelled == [objs["clear"]["id"]]
    identities = events(base, bob, last_event_id="0", params={"type": "identity"})
    assert identities and {e["data"]["type"] for e in identities} == {"identity"}


def test_revocation_is_an_event(shared: dict[str, Any]) -> None:
    base, alice, bob = shared["base"], shared["alice"], shared["bob"]
    community = shared["objs"]["community"]
    start = events(base, bob, last_event_id="0")[-1]["id"]
    assert alice.share({**community, "modified": NEWER, "revoked": True}).status_code == 201
    heard = events(base, bob, last_event_id=start, want=1, until_quiet=False)
    assert [(e["event"], e["data"]["id"]) for e in heard] == [("revoked", community["id"])]


def test_bad_requests_get_clear_errors(shared: dict[str, Any]) -> None:
    base, bob = shared["base"], shared["bob"]
    assert httpx.get(f"{base}/api/v1/stream").status_code == 401
    for params in ({"last_event_id": "x"}, {"last_event_id": "-1"}, {"type": "Not A Type"},
                   {"max_tlp": "purple"}):  # fmt: skip
        r = httpx.get(f"{base}/api/v1/stream", params=params, headers=bob.headers)
        assert r.status_code in (400, 422), (params, r.status_code)
        assert r.headers["content-type"].startswith("application/json")


def test_a_revoked_key_ends_an_open_stream(shared: dict[str, Any]) -> None:
    base, bob = shared["base"], shared["bob"]
    closed: list[str] = []

    def listen() -> None:
        with httpx.stream("GET", f"{base}/api/v1/stream", headers=bob.headers, timeout=10) as r:
            for line in r.iter_lines():
                if line.startswith("event: closed"):
                    closed.append(line)
                    return

    listening = threading.Thread(target=listen)
    listening.start()
    time.sleep(0.5)
    keys = bob.get("/api/v1/api-keys").json()
    prefix = (keys.get("api_keys") or keys.get("keys"))[0]["prefix"]
    assert bob.delete(f"/api/v1/api-keys/{prefix}").status_code in (200, 204)
    listening.join(timeout=10)
    assert closed == ["event: closed"]


def correlations(found: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {
        e["data"]["id"]: [c["id"] for c in e["data"]["correlated_with"]]
        for e in found
        if e["event"] == "correlation"
    }


def test_a_new_correlation_names_only_what_the_subscriber_may_see(
    shared: dict[str, Any],
) -> None:
    base, alice, bob, carol = shared["base"], shared["alice"], shared["bob"], shared["carol"]
    objs = shared["objs"]
    start = {u: events(base, shared[u], last_event_id="0")[-1]["id"] for u in ("alice", "carol")}
    start["bob"] = events(base, bob, last_event_id="0")[-1]["id"]
    # Bob shares, for the whole community, the values of each of Alice's indicators.
    echoes = {
        k: indicator(objs[k]["pattern"].split("'")[1], tlp="green", distribution="community")
        for k in ("community", "org", "group", "red_group")
    }
    for echo in echoes.values():
        assert bob.share(echo).status_code == 201
    hidden = [objs[k]["id"] for k in ("org", "group", "red_group")]
    carol_heard = events(base, carol, last_event_id=start["carol"])
    assert {e["data"]["id"] for e in carol_heard} == {e["id"] for e in echoes.values()}
    for hidden_id in hidden:  # not even its id, anywhere in any event
        assert hidden_id not in orjson.dumps(carol_heard).decode()
    assert correlations(carol_heard) == {echoes["community"]["id"]: [objs["community"]["id"]]}
    # A correlation follows its object's event under the same id.
    ids_of = [
        (e["id"], e["event"]) for e in carol_heard if e["data"]["id"] == echoes["community"]["id"]
    ]
    assert [k for _, k in ids_of] == ["object", "correlation"] and len({i for i, _ in ids_of}) == 1
    # Bob may see the group's objects, not Alice's org-only one; Alice sees all four.
    bob_heard = correlations(events(base, bob, last_event_id=start["bob"]))
    assert bob_heard == {
        echoes[k]["id"]: [objs[k]["id"]] for k in ("community", "group", "red_group")
    }
    alice_heard = correlations(events(base, alice, last_event_id=start["alice"]))
    assert alice_heard == {echoes[k]["id"]: [objs[k]["id"]] for k in echoes}


def test_an_address_inside_a_range_is_a_new_correlation_for_those_who_see_both(
    shared: dict[str, Any],
) -> None:
    base, alice, bob, carol = shared["base"], shared["alice"], shared["bob"], shared["carol"]
    start = events(base, carol, last_event_id="0")[-1]["id"]
    wide = indicator("203.0.113.0/24", tlp="green", distribution="community")
    secret = indicator("203.0.0.0/16", tlp="red", distribution="org")
    assert alice.share(wide, secret).status_code == 201
    address = indicator("203.0.113.9", tlp="green", distribution="community")
    assert bob.share(address).status_code == 201
    narrow = indicator("203.0.113.8/29", tlp="green", distribution="community")
    assert bob.share(narrow).status_code == 201
    carol_heard = events(base, carol, last_event_id=start)
    assert secret["id"] not in orjson.dumps(carol_heard).decode()  # not even its id
    linked = correlations(carol_heard)
    # The address is inside two ranges Carol may see (as the events are read), the new range
    # holds an address she may see; ranges inside ranges link nothing, as in lookups.
    assert sorted(linked[address["id"]]) == sorted([wide["id"], narrow["id"]])
    assert linked[narrow["id"]] == [address["id"]]
    alice_heard = correlations(events(base, alice, last_event_id=start))
    assert sorted(alice_heard[address["id"]]) == sorted([wide["id"], narrow["id"], secret["id"]])


def test_what_a_subscriber_was_sent_is_audited(shared: dict[str, Any]) -> None:
    base, carol, world = shared["base"], shared["carol"], shared["world"]
    heard = events(base, carol, last_event_id="0")  # reads until quiet: then it is recorded
    admin = world.admin()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        entries = admin.get("/api/v1/audit", params={"action": "stream.read"}).json()["entries"]
        mine = [e for e in entries if e["user_id"] == carol.user_id]
        if mine:
            break
        time.sleep(0.1)
    # One entry for the whole read (it went quiet once, at the end), naming the positions it
    # covers: the change log and the policy give back every event sent from them.
    assert len(mine) == 1
    detail = mine[0]["detail"]
    assert detail["count"] == len(heard)
    assert detail["from"] == "0"
    assert Position.parse(detail["through"]) >= Position.parse(heard[-1]["id"])
    assert detail["objects"] == ids(heard)[:100]
