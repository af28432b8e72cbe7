"""The clusters of the MISP galaxies that `pymispgalaxies` ships, by their `misp-galaxy:` tag.

A MISP event often names a threat actor or an ATT&CK technique by its tag alone (feeds and
pymisp-built events carry the tags, not the galaxies), and an event that does carry the cluster
may say little of it. The import fills in what the published galaxies know: the cluster's uuid
(its STIX object's id: intel/reference.py lets every member keep its own copy of a published
cluster), description, synonyms and ATT&CK ids. Read offline, once per process, and only when an
event names a cluster.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import orjson


@dataclass(frozen=True, slots=True)
class PublishedCluster:
    """What the published galaxy says of one cluster."""

    uuid: str
    description: str
    synonyms: tuple[str, ...]
    external_ids: tuple[str, ...]


def published_cluster(tag: str) -> PublishedCluster | None:
    """The published cluster a `misp-galaxy:TYPE="VALUE"` tag names, or None."""
    return _clusters_by_tag().get(tag)


@functools.cache
def _clusters_by_tag() -> dict[str, PublishedCluster]:
    import pymispgalaxies

    root = Path(pymispgalaxies.__file__).parent / "data" / "misp-galaxy" / "clusters"
    found: dict[str, PublishedCluster] = {}
    by_synonym: dict[str, PublishedCluster] = {}  # `threat-actor="Sofacy"` is APT28's synonym
    for path in sorted(root.glob("*.json")):
        galaxy = orjson.loads(path.read_bytes())
        for value in galaxy.get("values") or ():
            if not isinstance(value.get("value"), str) or not isinstance(value.get("uuid"), str):
                continue
            meta = value.get("meta") if isinstance(value.get("meta"), dict) else {}
            external = meta.get("external_id")
            externals = external if isinstance(external, list) else [external] if external else []
            cluster = PublishedCluster(
                uuid=value["uuid"].lower(),
                description=str(value.get("description") or ""),
                synonyms=tuple(str(s) for s in meta.get("synonyms") or () if s),
                external_ids=tuple(str(e) for e in externals if e),
            )
            found[f'misp-galaxy:{galaxy.get("type")}="{value["value"]}"'] = cluster
            for synonym in cluster.synonyms:
                by_synonym.setdefault(f'misp-galaxy:{galaxy.get("type")}="{synonym}"', cluster)
    return {**by_synonym, **found}  # a cluster's own value wins over another's synonym
