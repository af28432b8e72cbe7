"""The one list of exchange formats: what can be imported, what exported, and by which function.

The CLI (`shieldwall import --format F FILE`, `shieldwall export --format F`) and the generic
HTTP routes (`POST /api/v1/imports/{format}`, `GET /api/v1/exports/{format}`, and
`GET /api/v1/formats` listing them) look formats up here, so a new format is one
`register_format` call. Formats convert to and from STIX and go through intel's ingest and the
viewer's policy; they never touch the tables.

A format with its own, richer HTTP route (blocklist, misp) keeps it: that route is mounted
before the generic one and wins; the generic one serves every other registered format and
answers an unknown name with a 404 JSON error naming the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from shieldwall.db import Database
from shieldwall.errors import Invalid, NotFound
from shieldwall.exchange import filters
from shieldwall.intel.ingest import Ingestor, IngestResult, NotJSON
from shieldwall.policy import Viewer
from shieldwall.settings import Settings

Importer = Callable[[Ingestor, Viewer, bytes, str, Mapping[str, str]], IngestResult]
"""(ingestor, viewer, the file's bytes, source label, options such as `tlp=green`) -> what was
stored; all or nothing."""

Exporter = Callable[[Database, Viewer, Settings, Mapping[str, str]], Iterable[str | bytes]]
"""(db, viewer, settings, options such as `kind=ipv4,domain`) -> the export's pieces, streamed;
only what `viewer` may see (read through intel's query / the policy)."""


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    description: str
    media_type: str = "application/json"
    importer: Importer | None = None
    exporter: Exporter | None = None
    options: tuple[str, ...] = ()
    """The export's options (query parameters over HTTP, `-o NAME=VALUE` on the CLI)."""
    import_options: tuple[str, ...] = ()
    """The import's options (query parameters over HTTP; `--tlp`... on the CLI)."""

    def check_options(self, names: Iterable[str], *, direction: str = "export") -> None:
        """Invalid for an option the format does not take: a misspelt one must not be ignored."""
        known = self.options if direction == "export" else self.import_options
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise Invalid(
                f"unknown option(s) {', '.join(unknown)}; format {self.name!r} takes "
                f"{', '.join(known) or 'none'} to {direction}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "media_type": self.media_type,
            "import": self.importer is not None,
            "export": self.exporter is not None,
            "options": list(self.options),
            "import_options": list(self.import_options),
        }


_FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    """Add (or replace, by name) a format. Call it at import time of your module and add the
    module to `_BUILTIN` below, e.g. for MISP:

        register_format(Format("misp", "MISP events", importer=..., exporter=...))

    `importer` and `exporter` follow `Importer` and `Exporter` above; either may be None;
    `options` names the options the exporter reads (any other is refused before it runs)."""
    if not fmt.name or not fmt.name.replace("-", "").isalnum() or fmt.name != fmt.name.lower():
        raise ValueError(f"format names are lower-case words: {fmt.name!r}")
    if fmt.importer is None and fmt.exporter is None:
        raise ValueError(f"format {fmt.name!r} neither imports nor exports")
    _FORMATS[fmt.name] = fmt
    return fmt


def formats() -> list[Format]:
    """Every registered format, by name."""
    _load_builtin()
    return [_FORMATS[name] for name in sorted(_FORMATS)]


def format_for(name: str, *, direction: str) -> Format:
    """The format `name` that can `direction` ("import" or "export"); NotFound naming the known
    ones otherwise."""
    _load_builtin()
    fmt = _FORMATS.get(name)
    able = [
        f.name
        for f in formats()
        if (f.importer if direction == "import" else f.exporter) is not None
    ]
    if fmt is None or (fmt.importer if direction == "import" else fmt.exporter) is None:
        what = "unknown format" if fmt is None else f"format {name!r} cannot {direction}"
        raise NotFound(f"{what}: {direction} formats are {', '.join(able)}")
    return fmt


def detect_format(head: bytes) -> str:
    """The import format a file's first bytes look like: a JSON document holding `"type":
    "bundle"` is stix, one holding `"Event"` or `"response"` misp (any other JSON is given to
    stix, whose checks say what is wrong with it); a first line naming the CSV columns is csv;
    anything else free text."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith(("{", "[")):
        if _BUNDLE.search(text):
            return "stix"
        return "misp" if _MISP.search(text) else "stix"
    from shieldwall.exchange.csv_format import has_header

    return "csv" if has_header(text.split("\n", 1)[0].rstrip("\r")) else "text"


_BUNDLE = re.compile(r'"type"\s*:\s*"bundle"')
_MISP = re.compile(r'"(?:Event|response)"\s*:')


# Built-in formats ---------------------------------------------------------------------------


def _import_stix(
    ingestor: Ingestor, viewer: Viewer, raw: bytes, source: str, options: Mapping[str, str]
) -> IngestResult:
    return ingestor.ingest_json(viewer, raw, source=source)


def _import_misp(
    ingestor: Ingestor, viewer: Viewer, raw: bytes, source: str, options: Mapping[str, str]
) -> IngestResult:
    from shieldwall.exchange.misp_document import NotMispEvents
    from shieldwall.exchange.misp_import import import_misp

    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise NotJSON(f"the MISP document is not JSON: {exc}") from None
    if not document:
        raise NotMispEvents("no MISP event in the document")
    return import_misp(ingestor, viewer, document, source=source)


def _import_csv(
    ingestor: Ingestor, viewer: Viewer, raw: bytes, source: str, options: Mapping[str, str]
) -> IngestResult:
    from shieldwall.exchange.csv_format import column_map, import_csv

    return import_csv(
        ingestor,
        viewer,
        raw,
        source,
        tlp=options.get("tlp") or "amber",
        distribution=options.get("distribution") or "org",
        columns=column_map(options["column"]) if options.get("column") else None,
        skip_header=filters.flag(options.get("skip_header")),
    )


def _import_text(
    ingestor: Ingestor, viewer: Viewer, raw: bytes, source: str, options: Mapping[str, str]
) -> IngestResult:
    from shieldwall.exchange.text import import_text_document

    return import_text_document(ingestor, viewer, raw, source, options)


def _export_stix(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterable[bytes]:
    from shieldwall.exchange.stix_export import stix_bundle
    from shieldwall.intel.query import ObjectFilter

    selection = filters.selection_of(options, types=filters.words(options.get("type")))
    f = ObjectFilter(selection=selection)
    return stix_bundle(db, viewer, f)


def _export_csv(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterable[str]:
    from shieldwall.exchange.csv_format import export_csv

    return export_csv(db, viewer, settings, options)


def _export_misp(
    db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
) -> Iterable[bytes]:
    from shieldwall.exchange.misp_export import misp_events, misp_response_json
    from shieldwall.intel.query import ObjectFilter

    f = ObjectFilter(types=("report",), label=options.get("label") or None)
    return misp_response_json(misp_events(db, viewer, f))


def _lazy(module: str, name: str) -> Exporter:
    """An exporter imported when first called: most commands never export."""

    def export(
        db: Database, viewer: Viewer, settings: Settings, options: Mapping[str, str]
    ) -> Iterable[str | bytes]:
        from importlib import import_module

        function = getattr(import_module(f"shieldwall.exchange.{module}"), name)
        return function(db, viewer, settings, options)  # type: ignore[no-any-return]

    return export


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for fmt in (
        Format(
            "stix",
            "a STIX 2.1 bundle (export options: type=indicator,...; tlp ceiling; label; "
            "max_age_days)",
            importer=_import_stix,
            exporter=_export_stix,
            options=("type", *filters.SELECTION_OPTIONS),
        ),
        Format(
            "misp",
            "MISP events",
            importer=_import_misp,
            exporter=_export_misp,
            options=("label",),
        ),
        Format(
            "csv",
            "indicators, a row each: a header row names type,value[,tlp,labels,comment]; out, "
            "with score and sightings (export options: min_score; tlp ceiling; label; "
            "max_age_days)",
            media_type="text/csv; charset=utf-8",
            importer=_import_csv,
            exporter=_export_csv,
            options=("min_score", *filters.SELECTION_OPTIONS),
            import_options=("tlp", "distribution", "column", "skip_header"),
        ),
        Format(
            "text",
            "free text: every indicator found (re-fanged) shared as one report; out, a value "
            "per line, defanged unless defang=no (options as suricata's)",
            media_type="text/plain; charset=utf-8",
            importer=_import_text,
            exporter=_lazy("text_export", "export_text"),
            options=(*filters.VALUE_OPTIONS, "defang"),
            import_options=("name", "tlp", "distribution", "sharing_group"),
        ),
        Format(
            "blocklist",
            "one value per line (options: kind=ipv4,domain,...; min_score; include_benign; "
            "tlp ceiling; pap ceiling, green unless given; label; max_age_days)",
            media_type="text/plain; charset=utf-8",
            exporter=_lazy("blocklist", "export_blocklist"),
            options=filters.VALUE_OPTIONS,
        ),
        Format(
            "suricata",
            "Suricata rules: IP, DNS query and TLS SNI, HTTP URL, file hash lists (options as "
            "blocklist's, but every PAP unless pap is given; kind defaults to every kind)",
            media_type="text/plain; charset=utf-8",
            exporter=_lazy("rules", "export_suricata"),
            options=filters.VALUE_OPTIONS,
        ),
        Format(
            "snort",
            "Snort 2.9 rules: IP, DNS query and TLS SNI, HTTP URL (options as suricata's)",
            media_type="text/plain; charset=utf-8",
            exporter=_lazy("rules", "export_snort"),
            options=filters.VALUE_OPTIONS,
        ),
        Format(
            "rpz",
            "a BIND response policy zone of the domains (options as blocklist's, kind "
            "excepted; action=nxdomain|nodata|drop; subdomains=yes|no)",
            media_type="text/dns; charset=utf-8",
            exporter=_lazy("rpz", "export_rpz"),
            options=(*filters.VALUE_OPTIONS[1:], "action", "subdomains"),  # all but kind
        ),
    ):
        _FORMATS.setdefault(fmt.name, fmt)
