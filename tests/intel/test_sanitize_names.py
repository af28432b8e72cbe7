# ruff: noqa: RUF001 -- names are written in their own scripts (Turkish, Greek, Cyrillic)
"""Personal names without a context word (intel/sanitize_names.py), and the preview endpoint.

The names here are not the ones bench/sanitize_names.py measures recall on: that set stays
held out.
"""

from __future__ import annotations

import orjson
import pytest

from shieldwall.intel.sanitize import sanitize_text
from shieldwall.intel.sanitize_names import lexicon, names_in_prose
from tests.factories import World


def persons(text: str) -> list[str]:
    return [f.original for f in sanitize_text(text).findings if f.kind == "person-name"]


# --- what must NOT be masked (written first) -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Cobalt Strike beacons and Windows Defender alerts on the same host.",
        "Raspberry Robin dropped Agent Tesla; Poison Ivy and Ragnar Locker are older.",
        "The operators used the Tor Browser and Isaac Wiper against the targets.",
        "Midnight Blizzard, Charming Kitten, Ember Bear and Mustang Panda were active.",
        "Luna Moth called victims while Moses Staff leaked data.",
        "Yesterday Anna's team patched the Exchange Server in Paris.",
        "Will Microsoft fix it? May Update broke Patch Tuesday, Mark of the Web too.",
        "Santa Clara and São Paulo relays; East Africa and North Macedonia victims.",
        "File Execution Options were changed; Alfa Electronics routers were abused.",
        "Operation Aurora hit Google; Victoria Station screens showed the ransom note.",
        "Mayor Bernard spoke.",
        "Anna alone is not a full name, nor is Kowalski.",
        "the lower-case jan kowalski is not treated as a name either",
        "mail jan.kowalski@victim.example or see evil.Maria.Garcia.example",
    ],
)
def test_threat_intel_and_prose_are_not_persons(text: str) -> None:
    assert persons(text) == []


# --- names of the partnership's languages, no context needed -------------------------------------


@pytest.mark.parametrize(
    "text, name",
    [
        ("Jan Kowalski opened the attachment.", "Jan Kowalski"),
        ("The invoice went to Maria Garcia on Monday.", "Maria Garcia"),
        ("Then Jean-Baptiste Lefèvre reset his password.", "Jean-Baptiste Lefèvre"),
        ("Logs of Hans-Peter Müller were wiped.", "Hans-Peter Müller"),
        ("We met Maria da Conceição Silva in Lisbon.", "Maria da Conceição Silva"),
        ("Ask Pieter van den Broek about it.", "Pieter van den Broek"),
        ("Hlásil to Jiří Novotný z IT.", "Jiří Novotný"),
        ("Raportul a fost trimis de Ioana Ionescu ieri.", "Ioana Ionescu"),
        ("Phoned by Sigríður Björnsdóttir at noon.", "Sigríður Björnsdóttir"),
        ("Phoned by Kęstutis Jonaitis at noon.", "Kęstutis Jonaitis"),
        ("Phoned by Çağlar Yıldız at noon.", "Çağlar Yıldız"),
        ("Phoned by Mark Kowalczyk at noon.", "Mark Kowalczyk"),  # a given name that is a word
        ("Το άνοιξε η Ελένη Παπαδοπούλου.", "Ελένη Παπαδοπούλου"),
        ("Файлът е отворен от Иван Петров.", "Иван Петров"),
        ("Nagy Zoltán szerint a naplókat törölték.", "Nagy Zoltán"),  # family name first
        ("Signed: Jean DUPONT.", "Jean DUPONT"),
    ],
)
def test_names_without_context(text: str, name: str) -> None:
    assert persons(text) == [name]


def test_a_name_found_without_context_is_masked_where_it_appears_again() -> None:
    result = sanitize_text("Anna Nowak clicked. Later the helpdesk called Anna  Nowak back.")
    assert result.text == "[PERSON-1] clicked. Later the helpdesk called [PERSON-1] back."


def test_the_kinds_before_it_still_win_and_keep_still_keeps() -> None:
    text = "Anna Nowak <anna.nowak@victim.example> on 10.0.0.5 wrote to Jan Kowalski."
    assert sanitize_text(text).text == (
        "[PERSON-1] <[EMAIL-1]> on [PRIVATE-IP-1] wrote to [PERSON-2]."
    )
    kept = sanitize_text(text, keep=frozenset({"person-name"}))
    assert kept.text == "Anna Nowak <[EMAIL-1]> on [PRIVATE-IP-1] wrote to Jan Kowalski."


def test_names_in_prose_gives_spans_into_the_text() -> None:
    text = "Cobalt Strike on the laptop of Maria Garcia, then Jan Kowalski."
    assert [text[s:e] for s, e in names_in_prose(text)] == ["Maria Garcia", "Jan Kowalski"]


def test_the_dictionaries_are_read_once() -> None:
    first = lexicon()
    assert lexicon() is first
    assert first.given_frequency("Maria") >= 10  # "extremely common" on the dictionary's scale
    assert first.given_frequency("Kowalski") == 0
    assert first.given_frequency("Γιάννης") > 0  # transliterated: Giannis
    assert "cobalt strike" in first.threats


# --- the endpoint ------------------------------------------------------------------------------


def test_the_preview_needs_an_api_key(world: World) -> None:
    answer = world.client.post("/api/v1/sanitize", json={"text": "Jan Kowalski"})
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == 401


def test_the_preview_masks_names_of_the_partnership(world: World) -> None:
    analyst = world.user(world.member())
    text = "Jan Kowalski forwarded the lure to Maria Garcia; Cobalt Strike followed."
    answer = analyst.post("/api/v1/sanitize", json={"text": text})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["text"] == "[PERSON-1] forwarded the lure to [PERSON-2]; Cobalt Strike followed."
    assert [(f["kind"], f["original"]) for f in body["findings"]] == [
        ("person-name", "Jan Kowalski"),
        ("person-name", "Maria Garcia"),
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"text": "Jan Kowalski", "keep": ["emails"]}, "keep"),
        ({"text": "x", "internal_domains": ["acme corp"]}, "internal_domains"),
        ({"text": ["not", "a", "string"]}, "body.text"),
        ({"keep": ["email"]}, "body.text"),
        ({"text": "x" * 1_000_001}, "body.text"),
    ],
)
def test_bad_requests_get_a_422_that_names_the_field(world: World, body: dict, field: str) -> None:
    analyst = world.user(world.member())
    answer = analyst.post("/api/v1/sanitize", json=body)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["status"] == 422 and error["message"]
    assert field in [d["property"] for d in error["details"]]


def test_a_body_that_is_not_json_gets_a_4xx(world: World) -> None:
    analyst = world.user(world.member())
    answer = world.client.post(
        "/api/v1/sanitize",
        content=b"Jan Kowalski",
        headers={**analyst.headers, "Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500
    assert answer.json()["error"]["status"] == answer.status_code


def test_threat_names_are_read_as_a_full_parse_would_read_them() -> None:
    """The cluster files are read with a pattern, not parsed whole (to keep the memory peak
    small): every value and synonym a JSON parser finds must be found by it too."""
    from shieldwall.intel.sanitize_names import _THREAT_CLUSTERS, _galaxy_clusters, cluster_names

    for cluster in _THREAT_CLUSTERS:
        raw = (_galaxy_clusters() / f"{cluster}.json").read_bytes()
        parsed = {
            name
            for value in orjson.loads(raw)["values"]
            for name in (value["value"], *value.get("meta", {}).get("synonyms", ()))
        }
        assert parsed <= set(cluster_names(raw)), cluster
