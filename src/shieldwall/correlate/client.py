"""The client side of lookups: a SOC's values in, the matches the server may show out.

In a private lookup the values never leave the client: it sends the first hex digits of each
value's SHA-256 and compares the full digests the server returns, locally.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from shieldwall.correlate.index import PRIVATE_PREFIX_LENGTH, key_digest
from shieldwall.correlate.observables import lookup_key, normalise

MAX_VALUES_PER_REQUEST = 10_000


class HttpClient(Protocol):
    def post(self, url: str, *, json: Any, headers: dict[str, str]) -> Any: ...


@dataclass(frozen=True, slots=True)
class LookupAnswer:
    value: str  # as the user gave it
    key: str | None  # normalised "kind:value", None when no rule reads the value
    matches: list[dict[str, Any]]


class LookupFailed(RuntimeError):
    """The server refused the lookup; the message says why."""


def _post(http: HttpClient, url: str, body: dict[str, Any], api_key: str) -> dict[str, Any]:
    response = http.post(url, json=body, headers={"Authorization": f"Bearer {api_key}"})
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise LookupFailed(f"{url}: {response.status_code} {message}")
    return response.json()


def private_lookup(
    http: HttpClient, base_url: str, api_key: str, values: Iterable[str]
) -> list[LookupAnswer]:
    """Look values up disclosing only a 5-hex-digit prefix of each value's digest."""
    raw_values = [v.strip() for v in values if v.strip()]
    keys = []
    for raw in raw_values:
        observable = normalise("auto", raw)
        keys.append(lookup_key(observable) if observable else None)
    digests = {key: key_digest(key) for key in keys if key}
    found: dict[str, list[dict[str, Any]]] = {}
    prefixes = sorted({d[:PRIVATE_PREFIX_LENGTH] for d in digests.values()})
    for start in range(0, len(prefixes), MAX_VALUES_PER_REQUEST):
        chunk = prefixes[start : start + MAX_VALUES_PER_REQUEST]
        answer = _post(http, f"{base_url}/api/v1/lookup/private", {"prefixes": chunk}, api_key)
        for entries in answer["results"].values():
            for entry in entries:
                found[entry["digest"]] = entry["matches"]
    return [
        LookupAnswer(raw, key, found.get(digests[key], []) if key else [])
        for raw, key in zip(raw_values, keys, strict=True)
    ]


def plain_lookup(
    http: HttpClient, base_url: str, api_key: str, values: Iterable[str]
) -> list[LookupAnswer]:
    """Look values up by sending them as they are (the server normalises them)."""
    raw_values = [v.strip() for v in values if v.strip()]
    answers = []
    for start in range(0, len(raw_values), MAX_VALUES_PER_REQUEST):
        chunk = raw_values[start : start + MAX_VALUES_PER_REQUEST]
        result = _post(http, f"{base_url}/api/v1/lookup", {"values": chunk}, api_key)
        answers += [
            LookupAnswer(raw, f"{r['kind']}:{r['value']}", r["matches"])
            for raw, r in zip(chunk, result["results"], strict=True)
        ]
    return answers
