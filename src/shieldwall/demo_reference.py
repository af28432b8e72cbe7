"""Real public reference data for the demo, read offline from the MISP galaxy clusters that the
`pymispgalaxies` package ships: threat actors, ATT&CK techniques, software and groups, countries
and sectors, and the STIX properties the demo's objects take from them (`demo_data` builds the
synthetic rest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymispgalaxies import Cluster


@dataclass(frozen=True)
class Actor:
    name: str
    description: str
    aliases: tuple[str, ...]
    galaxy_uuid: str


@dataclass(frozen=True)
class AttackEntry:
    """An ATT&CK technique or group."""

    name: str
    external_id: str
    description: str
    url: str
    phases: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    actors: dict[str, Actor]
    intrusion_sets: dict[str, AttackEntry]  # by ATT&CK group id
    techniques: dict[str, AttackEntry]  # by ATT&CK technique id
    malware: dict[str, AttackEntry]  # by ATT&CK software id
    countries: frozenset[str]  # ISO 3166 alpha-2 codes
    sectors: frozenset[str]


def galaxy_reference(
    *,
    actors: frozenset[str],
    techniques: frozenset[str],
    malware: frozenset[str],
    groups: frozenset[str],
) -> Reference:
    """The named threat actors, ATT&CK techniques, software and groups (by ATT&CK id), and every
    country and sector, from the clusters; LookupError naming what the installed data lacks."""
    found_actors = {}
    for value in Cluster("threat-actor").values():
        if value.value in actors:  # exact spelling: the cluster's own lookup ignores case
            # meta keeps synonyms in a set; to_dict() sorts them, so the order is stable.
            meta = value.meta.to_dict() if value.meta else {}
            found_actors[value.value] = Actor(
                value.value, value.description or "", tuple(meta.get("synonyms", ())), value.uuid
            )
    found_techniques = _by_external_id("mitre-attack-pattern", techniques, "techniques")
    found_groups = _by_external_id("mitre-intrusion-set", groups, "groups")
    found_malware = _by_external_id("mitre-malware", malware, "software")
    countries = frozenset(
        v.meta.to_dict().get("ISO") for v in Cluster("country").values() if v.meta
    )
    sectors = frozenset(v.value for v in Cluster("sector").values())
    missing = (actors - set(found_actors)) | (techniques - set(found_techniques))
    missing |= (groups - set(found_groups)) | (malware - set(found_malware))
    if missing:
        raise LookupError(f"not in the installed pymispgalaxies data: {', '.join(sorted(missing))}")
    return Reference(
        found_actors, found_groups, found_techniques, found_malware, countries, sectors
    )


def _by_external_id(cluster: str, wanted: frozenset[str], url_kind: str) -> dict[str, AttackEntry]:
    """ATT&CK entries by external id; cluster values read 'Phishing - T1566'."""
    found = {}
    for value in Cluster(cluster).values():
        meta = value.meta.to_dict() if value.meta else {}
        external_id = meta.get("external_id")
        if external_id not in wanted:
            continue
        path = external_id.replace(".", "/")
        urls = [u for u in meta.get("refs", ()) if u.rstrip("/").endswith(f"/{url_kind}/{path}")]
        phases = sorted({p.partition(":")[2] for p in meta.get("kill_chain", ()) if ":" in p})
        found[external_id] = AttackEntry(
            name=value.value.removesuffix(f" - {external_id}"),
            external_id=external_id,
            description=value.description or "",
            url=urls[0] if urls else f"https://attack.mitre.org/{url_kind}/{path}",
            phases=tuple(phases),
        )
    return found


def actor_props(actor: Actor) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": actor.name,
        "external_references": [
            {
                "source_name": "misp-galaxy",
                "external_id": actor.galaxy_uuid,
                "description": f"MISP galaxy threat-actor cluster: {actor.name}",
            }
        ],
    }
    if actor.description:
        props["description"] = actor.description
    if actor.aliases:
        props["aliases"] = list(actor.aliases)
    return props


def attack_props(entry: AttackEntry) -> dict[str, Any]:
    """An attack-pattern or intrusion-set as MITRE names it, with its ATT&CK id."""
    ref = {"source_name": "mitre-attack", "external_id": entry.external_id, "url": entry.url}
    props: dict[str, Any] = {"name": entry.name, "external_references": [ref]}
    if entry.description:
        props["description"] = entry.description
    if entry.phases:
        props["kill_chain_phases"] = [
            {"kill_chain_name": "mitre-attack", "phase_name": p} for p in entry.phases
        ]
    return props
