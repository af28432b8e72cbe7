"""The command line's side of lookups: a SOC's values in, what it may know about them out.

Three ways to ask, one answer. A server is asked with the values themselves (`plain_lookup`) or,
in a private lookup, with only the first hex digits of each value's SHA-256, whose full digests
the server returns and this side compares (`private_lookup`: the values never leave here). Or
the database is asked directly, through the same service and policy as the server, as a named
user (`local_lookup`). Every way reads the values alike (`asked.read_entries`): an unreadable one
is skipped and reported by its line, and the answer is the same `LookupReport`, which the
command shows as a table or as JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import orjson
from rich.table import Table

from shieldwall.correlate import service
from shieldwall.correlate.asked import read_entries
from shieldwall.correlate.helper import Options
from shieldwall.correlate.index import PRIVATE_PREFIX_LENGTH, key_digest
from shieldwall.correlate.observables import lookup_key
from shieldwall.db import Database
from shieldwall.policy import Viewer
from shieldwall.settings import Settings
from shieldwall.sightings.benign import warning_lists
from shieldwall.sightings.score import parse_half_lives

MAX_VALUES_PER_REQUEST = 10_000
_NOTHING = {"matches": [], "seen_in_reports": 0, "seen_by_members": 0, "noisy_values": []}


class HttpClient(Protocol):
    def post(self, url: str, *, json: Any, headers: dict[str, str]) -> Any: ...


@dataclass(frozen=True, slots=True)
class ValueAnswer:
    """What was found about one value of the file."""

    line: int
    given: str  # as the file has it
    kind: str
    value: str  # normalised
    warnings: list[dict[str, Any]]  # the warning lists it is on (empty in a private lookup)
    matches: list[dict[str, Any]]
    seen_in_reports: int = 0
    seen_by_members: int = 0
    noisy: bool = False  # held by too many objects to list them (SHIELDWALL_NOISY_THRESHOLD)

    @classmethod
    def of(
        cls, line: int, given: str, kind: str, value: str, answer: dict[str, Any]
    ) -> ValueAnswer:
        """From the API's answer about the value (a result, or a private lookup's entry)."""
        return cls(
            line,
            given,
            kind,
            value,
            answer.get("warnings", []),
            answer["matches"],
            answer["seen_in_reports"],
            answer["seen_by_members"],
            bool(answer["noisy_values"]),
        )


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A line whose value no rule reads, and why."""

    line: int
    value: str
    message: str


@dataclass(frozen=True, slots=True)
class LookupReport:
    """The answer about a file of values: one ValueAnswer per readable value, in file order."""

    answers: list[ValueAnswer]
    unreadable: list[Unreadable]
    reports: dict[str, dict[str, Any]]  # id -> {"type", "name"} of the reports matches are in

    def as_json(self) -> bytes:
        """The machine-readable form `shieldwall lookup --json` prints: keys sorted, fields as
        the README lists them."""
        document = {
            "results": [asdict(a) for a in self.answers],
            "unreadable": [asdict(u) for u in self.unreadable],
            "reports": self.reports,
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    def table(self) -> Table:
        """A row per match (and per warned value without one); values with neither are
        counted in `summary`, not listed: most of a SOC's values match nothing."""
        table = Table("line", "value", "kind", "match", "reports", "TLP", "score", "warning",
                      "revoked", title="Lookup", title_justify="left")  # fmt: skip
        for answer in self.answers:
            listed = ", ".join(w["name"] for w in answer.warnings)
            if not answer.matches and (listed or answer.noisy):
                held = "too common to list" if answer.noisy else "-"
                table.add_row(str(answer.line), answer.given, answer.kind, held, "", "", "",
                              listed, "")  # fmt: skip
            for match in answer.matches:
                score = match.get("score")
                warning = listed or ("warning-listed" if match.get("warninglisted") else "")
                table.add_row(
                    str(answer.line),
                    answer.given,
                    answer.kind,
                    match["id"],
                    "; ".join(self._title(r) for r in match["reports"]),
                    match["tlp"],
                    "-" if score is None else f"{score:.1f}",
                    warning,
                    "revoked" if match.get("revoked") else "",
                )
        return table

    def summary(self) -> str:
        matched = sum(1 for a in self.answers if a.matches)
        text = (
            f"{len(self.answers)} value(s) looked up: {matched} matched, "
            f"{len(self.answers) - matched} without a match"
        )
        if self.unreadable:
            text += f"; {len(self.unreadable)} line(s) could not be read"
        return text

    def _title(self, report_id: str) -> str:
        return (self.reports.get(report_id) or {}).get("name") or report_id


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


def _options(options: Options) -> dict[str, Any]:
    body: dict[str, Any] = {"exclude_warninglisted": options.exclude_warninglisted}
    if options.min_score is not None:
        body["min_score"] = options.min_score
    return body


def _in_chunks(
    lines: Sequence[tuple[int, str]], ask: Callable[[list[str]], dict[str, Any]]
) -> LookupReport:
    """Ask about (line, value) pairs a request's worth at a time; `ask` answers a list of raw
    values as the API does ({"results", "unreadable", "reports"})."""
    answers: list[ValueAnswer] = []
    unreadable: list[Unreadable] = []
    reports: dict[str, dict[str, Any]] = {}
    for start in range(0, len(lines), MAX_VALUES_PER_REQUEST):
        chunk = lines[start : start + MAX_VALUES_PER_REQUEST]
        result = ask([value for _, value in chunk])
        bad = {u["index"]: u for u in result["unreadable"]}
        unreadable += [Unreadable(chunk[i][0], u["value"], u["message"]) for i, u in bad.items()]
        readable = [pair for i, pair in enumerate(chunk) if i not in bad]
        answers += [
            ValueAnswer.of(line, given, r["kind"], r["value"], r)
            for (line, given), r in zip(readable, result["results"], strict=True)
        ]
        reports.update(result["reports"])
    return LookupReport(answers, unreadable, reports)


def plain_lookup(
    http: HttpClient,
    base_url: str,
    api_key: str,
    lines: Sequence[tuple[int, str]],
    options: Options = Options(),
) -> LookupReport:
    """Look (line, value) pairs up on a server by sending the values as they are (the server
    reads them)."""
    url = f"{base_url}/api/v1/lookup"
    return _in_chunks(
        lines, lambda values: _post(http, url, {"values": values, **_options(options)}, api_key)
    )


def private_lookup(
    http: HttpClient,
    base_url: str,
    api_key: str,
    lines: Sequence[tuple[int, str]],
    options: Options = Options(),
) -> LookupReport:
    """Look (line, value) pairs up disclosing only a 5-hex-digit prefix of each value's digest.

    The server knows no value, so it cannot say which warning lists one is on: its matches say
    only whether they are warning-listed.
    """
    read = read_entries([(value, "auto") for _, value in lines])
    bad = {u["index"] for u in read.unreadable}
    readable = [pair for i, pair in enumerate(lines) if i not in bad]
    digests = [key_digest(lookup_key(o)) for o in read.items]
    found: dict[str, dict[str, Any]] = {}
    reports: dict[str, dict[str, Any]] = {}
    prefixes = sorted({d[:PRIVATE_PREFIX_LENGTH] for d in digests})
    url = f"{base_url}/api/v1/lookup/private"
    for start in range(0, len(prefixes), MAX_VALUES_PER_REQUEST):
        chunk = prefixes[start : start + MAX_VALUES_PER_REQUEST]
        answer = _post(http, url, {"prefixes": chunk, **_options(options)}, api_key)
        for entries in answer["results"].values():
            for entry in entries:
                found[entry["digest"]] = entry
        reports.update(answer["reports"])
    answers = [
        ValueAnswer.of(line, given, o.kind, o.value, found.get(digest, _NOTHING))
        for (line, given), o, digest in zip(readable, read.items, digests, strict=True)
    ]
    # Only the reports the matches that came back name: other digests under the same prefixes
    # brought their own.
    named = {r for a in answers for m in a.matches for r in m["reports"]}
    return LookupReport(
        answers,
        [Unreadable(lines[u["index"]][0], u["value"], u["message"]) for u in read.unreadable],
        {r: title for r, title in reports.items() if r in named},
    )


def local_lookup(
    db: Database,
    viewer: Viewer,
    settings: Settings,
    lines: Sequence[tuple[int, str]],
    options: Options = Options(),
) -> LookupReport:
    """Look (line, value) pairs up without a server, through the lookup service as the API
    calls it, as `viewer` would see them."""
    half_lives = parse_half_lives(settings.decay_half_lives)
    lists = warning_lists(settings.warninglists, settings.cache_dir)

    def ask(values: list[str]) -> dict[str, Any]:
        read = read_entries([(value, "auto") for value in values])
        found = service.lookup(
            db,
            viewer,
            read.items,
            noisy_threshold=settings.noisy_threshold,
            half_lives=half_lives,
            min_score=options.min_score,
            lists=lists,
            exclude_warninglisted=options.exclude_warninglisted,
        )
        return {"results": found.results, "unreadable": read.unreadable, "reports": found.reports}

    return _in_chunks(lines, ask)
