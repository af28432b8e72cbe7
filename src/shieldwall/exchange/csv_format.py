"""CSV in and out: a spreadsheet of indicators becomes STIX indicators through intel's ingest, and
the indicators a viewer may see come back out as CSV, read through intel's query (the policy).

Import: a header row naming the columns `type` and `value`, and optionally `tlp`, `labels`
(separated by `;` or `|`) and `comment`; each further row one indicator. Or, for a spreadsheet
whose header says something else or that has none, the columns mapped by number
(`kind=1,value=3`), every row data but a first one skipped on request. The file is stored
whole or not at all: a bad row refuses it with its line number. Export: one row per value of
each visible indicator neither revoked nor past its valid_until (id, type, value, tlp, labels,
the viewer's score and sightings of it: seen, false_positives, first_seen, last_seen;
valid_from, valid_until, modified), streamed and audited in batches; a cell a spreadsheet
would run as a formula (starting with = + - @ tab or CR) is prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson

from shieldwall.correlate.observables import observables_of, pattern_comparisons
from shieldwall.correlate.values import KINDS, normalise
from shieldwall.db import Database
from shieldwall.errors import Invalid, ShieldwallError
from shieldwall.exchange.indicators import (
    PATTERNS,
    bundle,
    indicator,
    marking,
    pattern_of,
    stix_now,
)
from shieldwall.intel.ingest import BundleRejected, Ingestor, IngestResult
from shieldwall.intel.query import ObjectFilter, iter_objects
from shieldwall.markings import TLP
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

MAX_ROWS = 100_000
COLUMNS = ("type", "value", "tlp", "labels", "comment")
EXPORT_COLUMNS = ("id", "type", "value", "tlp", "labels", "score", "seen", "false_positives",
                  "first_seen", "last_seen", "valid_from", "valid_until", "modified")  # fmt: skip
DISTRIBUTIONS = ("org", "community", "federation", "all")
_ALIASES = {"ip": "auto", "ip-dst": "auto", "ip-src": "auto", "hostname": "domain",
            "email-addr": "email", "sha-1": "sha1", "sha-256": "sha256", "sha-512": "sha512",
            "ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain"}  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class BadCsv(ShieldwallError):
    """The CSV file is not one we read; the message names the line. Status 400."""


def _tlp(raw: str, line: int) -> TLP:
    try:
        return TLP.parse(raw.strip().lower().removeprefix("tlp:"))
    except (ValueError, KeyError):
        raise BadCsv(f"line {line}: unknown TLP {raw!r}") from None


def bundle_of_csv(
    data: bytes | str, *, tlp: str = "amber", distribution: str = "org"
) -> dict[str, Any]:
    """The rows as one STIX bundle of indicators; BadCsv naming the line of the first bad row."""
    return _bundle_and_lines(data, tlp=tlp, distribution=distribution)[0]


def column_map(given: str) -> dict[str, int]:
    """`NAME=N,NAME=N...` (`--column value=2 --column kind=1`: N counts a row's cells from 1,
    as a spreadsheet's columns are counted) as name -> position from 0; `kind` is `type`."""
    columns: dict[str, int] = {}
    for pair in filter(None, (p.strip() for p in given.split(","))):
        name, _, number = pair.partition("=")
        name = "type" if name.strip().lower() == "kind" else name.strip().lower()
        if name not in COLUMNS or not number.strip().isdecimal() or int(number) < 1:
            raise Invalid(
                f"column {pair!r}: NAME=N with NAME one of kind (or type), value, tlp, labels, "
                "comment and N a column's number from 1"
            )
        if name in columns or int(number) - 1 in columns.values():
            raise Invalid(f"column {pair!r}: each name and each column once")
        columns[name] = int(number) - 1
    if "type" not in columns or "value" not in columns:
        raise Invalid("columns: map kind (or type) and value at least, e.g. kind=1 and value=2")
    return columns


def has_header(first_line: str) -> bool:
    """Whether a file's first line is a header row this import reads (for format detection)."""
    try:
        cells = next(csv.reader([first_line]), [])
    except csv.Error:
        return False
    names = [c.strip().lower() for c in cells]
    return {"type", "value"} <= set(names) and all(n in COLUMNS for n in names)


def _bundle_and_lines(
    data: bytes | str,
    *,
    tlp: str,
    distribution: str,
    columns: dict[str, int] | None = None,
    skip_header: bool = False,
) -> tuple[dict[str, Any], list[int]]:
    """The bundle, and the line each of its objects came from. Without `columns` the header row
    names the columns; with them (column_map) every row is data, the first one too unless
    `skip_header`, and cells past the mapped ones are not read."""
    if distribution not in DISTRIBUTIONS:
        raise BadCsv(f"distribution: one of {', '.join(DISTRIBUTIONS)}, not {distribution!r}")
    default_tlp = _tlp(tlp, 0)
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise BadCsv(f"the file is not UTF-8: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None) if columns is None or skip_header else None
    except csv.Error as exc:
        raise BadCsv(f"line 1: {exc}") from None
    if columns is None:
        if not header:
            raise BadCsv("line 1: no header row (type,value and optionally tlp,labels,comment)")
        names = [h.strip().lower() for h in header]
        unknown = [n for n in names if n not in COLUMNS]
        if unknown or "type" not in names or "value" not in names or len(set(names)) != len(names):
            raise BadCsv(
                f"line 1: the header must name type and value, and may name tlp, labels, "
                f"comment once each; got {','.join(header)!r}; or map the columns by number "
                "(--column kind=1 --column value=2)"
            )
        columns = {name: i for i, name in enumerate(names)}
        width, exact = len(names), True
    else:
        width, exact = max(columns.values()) + 1, False
    now = stix_now()
    objects: list[dict[str, Any]] = []
    lines: list[int] = []
    seen: set[tuple[str, str]] = set()
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if exact and len(row) != width:
                raise BadCsv(f"line {line}: {len(row)} cells, the header names {width}")
            if len(row) < width:
                raise BadCsv(f"line {line}: {len(row)} cells, column {width} is mapped")
            cells = {name: row[i].strip() for name, i in columns.items()}
            kind = cells["type"].lower()
            kind = _ALIASES.get(kind, kind)
            if kind != "auto" and kind not in KINDS:
                raise BadCsv(f"line {line}: unknown type {cells['type']!r}")
            observable = normalise(kind, cells["value"]) if cells["value"] else None
            if observable is None or observable.kind not in PATTERNS:
                raise BadCsv(f"line {line}: {cells['value']!r} is not a valid {cells['type']}")
            level = _tlp(cells["tlp"], line) if cells.get("tlp") else default_tlp
            key = (observable.kind, observable.value)
            if key in seen:
                continue
            seen.add(key)
            if len(objects) >= MAX_ROWS:
                raise BadCsv(f"line {line}: at most {MAX_ROWS} indicators a file")
            labels = [x.strip() for x in cells.get("labels", "").replace("|", ";").split(";")]
            pattern = pattern_of(observable.kind, observable.value)
            obj = indicator(observable.value, pattern, marking(level, distribution), now)
            if any(labels):
                obj["labels"] = [x for x in labels if x]
            if cells.get("comment"):
                obj["description"] = cells["comment"]
            objects.append(obj)
            lines.append(line)
    except csv.Error as exc:
        raise BadCsv(f"line {reader.line_num}: {exc}") from None
    if not objects:
        raise BadCsv("no indicator rows" + (" after the header" if header else ""))
    return bundle(objects), lines


def import_csv(
    ingestor: Ingestor,
    viewer: Viewer,
    data: bytes | str,
    source: str = "csv",
    *,
    tlp: str = "amber",
    distribution: str = "org",
    columns: dict[str, int] | None = None,
    skip_header: bool = False,
) -> IngestResult:
    """Store the file's indicators as one bundle through intel's ingest: all or nothing."""
    bundle, lines = _bundle_and_lines(
        data, tlp=tlp, distribution=distribution, columns=columns, skip_header=skip_header
    )
    try:
        return ingestor.ingest(viewer, bundle, source=source)
    except BundleRejected as exc:  # ingest's rules (TLP and distribution...): name the lines
        found = [
            {**d, "line": lines[d["index"]]} if isinstance(d.get("index"), int) else d
            for d in exc.details or ()
        ]
        first = found[0] if found else {}
        where = f"line {first['line']}: " if "line" in first else ""
        message = f"{where}{first.get('message', exc)}; nothing was stored"
        raise BadCsv(message, details=found) from None


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return out.getvalue()


def export_csv(
    db: Database,
    viewer: Viewer,
    settings: Settings,
    options: Mapping[str, str],
    batch: int = 1000,
) -> Iterator[str]:
    """The header, then a row per value of each indicator the viewer may see (latest versions,
    neither revoked nor expired, read through intel's query and so through the policy), in the
    selection the options give (`tlp`, `label`, `max_age_days`) and scoring at least
    `min_score`. Each row carries the indicator's score and what the viewer may see of its
    sightings (seen, false positives, first and last seen), as a lookup answers. A batch at a
    time, each read in a transaction of its own and audited (`export.csv`) before its rows are
    given out."""
    from shieldwall.audit import service as audit
    from shieldwall.exchange import filters
    from shieldwall.sightings.score import parse_half_lives
    from shieldwall.sightings.service import IndicatorRow, scores_of

    try:
        min_score = float(options["min_score"]) if options.get("min_score") else None
    except ValueError:
        raise Invalid(f"min_score: a number, not {options['min_score']!r}") from None
    selection = filters.selection_of(options)
    now = datetime.now(UTC)
    # Expired indicators are in no export a tool acts on (as the value exports: chosen_of).
    valid_at = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    f = ObjectFilter(types=("indicator",), selection=selection, valid_at=valid_at)
    half_lives = parse_half_lives(settings.decay_half_lives)
    yield _line(list(EXPORT_COLUMNS))
    after = 0
    while True:
        with db.read() as conn:
            found = list(islice(iter_objects(conn, viewer, f, batch=batch, after=after), batch))
            bodies = [(row, orjson.loads(row.body)) for row in found]
            current = [(row, body) for row, body in bodies if not body.get("revoked")]
            wanted = [
                IndicatorRow(row.pk, row.object_id, str(body.get("modified", "")),
                             body.get("confidence"))
                for row, body in current
            ]  # fmt: skip
            scores = scores_of(conn, viewer, wanted, half_lives, now=now) if wanted else {}
        rows, ids = [], []
        for row, body in current:
            scored = scores[row.pk]
            if min_score is not None and scored["score"] < min_score:
                continue
            ids.append(row.object_id)
            rows += _rows_of(row, body, scored)
        if ids:
            audit.record(db, viewer, "export.csv", {
                "count": len(ids), "min_score": min_score,
                **({"selection": selection.as_dict()} if selection else {}),
                "objects": ids[:100], "objects_digest": audit.digest_of(ids),
            })  # fmt: skip
        if rows:
            yield "".join(rows)
        if len(found) < batch:
            return
        after = found[-1].pk


def _rows_of(row: Any, body: dict[str, Any], scored: dict[str, Any]) -> list[str]:
    """An indicator's rows: one a value compared in its pattern (not the hosts correlation adds
    for its URLs)."""
    labels = ";".join(str(x) for x in body.get("labels", ()))
    kinds = {rule for rule, _, _ in pattern_comparisons(str(body.get("pattern", "")))}
    seen = scored["sightings"]
    common = [
        TLP(row.tlp).label, labels, f"{scored['score']:g}", str(seen["seen"]),
        str(seen["false_positives"]), seen.get("first_seen") or "", seen["last_seen"] or "",
        str(body.get("valid_from", "")), str(body.get("valid_until", "")),
        str(body.get("modified", "")),
    ]  # fmt: skip
    return [
        _line([row.object_id, observable.kind, observable.value, *common])
        for observable in observables_of(body)
        if observable.kind != "domain" or "domain" in kinds
    ]
