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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

# Galaxy types (a cluster's `type`) -> the STIX SDO type it becomes.
GALAXY_SDO = {
    "threat-actor": "threat-actor", "mitre-intrusion-set": "intrusion-set",
    "mitre-attack-pattern": "attack-pattern", "mitre-enterprise-attack-attack-pattern":
    "attack-pattern", "mitre-malware": "malware", "malpedia": "malware", "ransomware": "malware",
    "banker": "malware", "botnet": "malware", "rat": "malware", "stealer": "malware",
    "android": "malware", "mitre-tool": "tool", "tool": "tool", "backdoor": "malware",
    "exploit-kit": "tool", "mitre-course-of-action": "course-of-action",
}  # fmt: skip
_GALAXY_TAG = re.compile(r'misp-galaxy:([^=]+)="(.+)"')
_WITH_ALIASES = frozenset({"threat-actor", "intrusion-set", "malware", "tool", "attack-pattern"})


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


def clusters_of(
    galaxies: Any, tags: list[str]
) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    """(galaxy, cluster, its tag) of every cluster with a value in a Galaxy list, then of every
    `misp-galaxy:` tag among `tags` that names no cluster of the list."""
    named = set()
    for galaxy, cluster, tag in listed_clusters(galaxies):
        named.add(tag)
        yield galaxy, cluster, tag
    for tag in tags:
        found = _GALAXY_TAG.fullmatch(tag)
        if found is not None and tag not in named:
            named.add(tag)
            yield {"type": found[1]}, {"type": found[1], "value": found[2]}, tag


def listed_clusters(galaxies: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    """(galaxy, cluster, its tag) of every cluster with a value in a Galaxy list."""
    for galaxy in galaxies if type(galaxies) is list else ():
        if type(galaxy) is not dict:
            continue
        for cluster in galaxy.get("GalaxyCluster") or []:
            if type(cluster) is not dict or not cluster.get("value"):
                continue
            tag = cluster.get("tag_name") or (
                f'misp-galaxy:{cluster.get("type") or galaxy.get("type")}="{cluster["value"]}"'
            )
            yield galaxy, cluster, str(tag)


def cluster_object(
    kind: str,
    obj_id: str,
    cluster: dict[str, Any],
    tag: str,
    published: PublishedCluster | None,
    now: str,
) -> dict[str, Any]:
    """The SDO of a galaxy cluster (`kind`, GALAXY_SDO), filled in from the published one."""
    obj: dict[str, Any] = {
        "type": kind, "spec_version": "2.1", "id": obj_id,
        "created": now, "modified": now, "name": str(cluster["value"]),
        "x_misp_galaxy_tag": tag,
    }  # fmt: skip
    if cluster.get("uuid"):
        obj["x_misp_uuid"] = str(cluster["uuid"])
    description = cluster.get("description") or (published and published.description)
    if description:
        obj["description"] = str(description)
    if published is not None and published.synonyms and kind in _WITH_ALIASES:
        obj["aliases"] = list(published.synonyms)
    if kind == "malware":
        obj["is_family"] = True
    meta = cluster.get("meta") or {}
    external = meta.get("external_id") if type(meta) is dict else None
    external = external or (published and list(published.external_ids))
    if external:
        ids = external if type(external) is list else [external]
        obj["external_references"] = [
            {"source_name": "mitre-attack", "external_id": str(i)} for i in ids
        ]
    return obj
