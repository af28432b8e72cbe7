"""Which object ids every member may hold a copy of, rather than the first member to share them.

Most STIX objects belong to their creator: only the member that first shared an id may send new
versions of it. But some ids are not anyone's: an observable's id is derived from its value, and
public reference objects (ATT&CK techniques, the MISP galaxies' threat actors and malware
families, marking definitions) carry the same published id in every member's bundles. If those
belonged to the first sharer, one member storing `attack-pattern--<T1566>` at TLP:RED would stop
every other member from sharing the technique at all. So each member keeps its own copy of such
an object, with its own marking, as it does of observables.

What counts as public reference data is decided by id alone, so that every version of one object
is kept the same way: the types that are public by nature, and the UUIDs of the clusters in the
MISP galaxies that `pymispgalaxies` ships (ATT&CK among them), read offline once per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import orjson

from shieldwall.intel import stix_types

# STIX 2.1 §6: cyber-observable types. Their ids are usually derived from their values, so several
# members legitimately send the same id.
SCO_TYPES = frozenset(stix_types.SCO_TYPES)
# Types whose objects are public reference data whatever their id: marking definitions, attack
# patterns (ATT&CK, CAPEC) and the objects ATT&CK's own STIX adds.
_REFERENCE_TYPES = frozenset({"marking-definition", "attack-pattern"})
_REFERENCE_TYPE_PREFIXES = ("x-mitre-",)


@functools.cache
def galaxy_cluster_uuids() -> frozenset[str]:
    """The UUIDs of every cluster in the installed MISP galaxies (~45,000; ~0.3 s to read).

    Read from the JSON files directly: `pymispgalaxies.Clusters()` builds an object per cluster
    and takes ten times as long for the same set of ids.
    """
    import pymispgalaxies

    root = Path(pymispgalaxies.__file__).parent / "data" / "misp-galaxy" / "clusters"
    found: set[str] = set()
    for path in root.glob("*.json"):
        for value in orjson.loads(path.read_bytes()).get("values", ()):
            uuid = value.get("uuid")
            if isinstance(uuid, str):
                found.add(uuid.lower())
    return frozenset(found)


def kept_per_member(object_id: str) -> bool:
    """Does each member keep its own copy of the object with this id?"""
    type_, _, uuid = object_id.partition("--")
    if type_ in SCO_TYPES or type_ in _REFERENCE_TYPES:
        return True
    if type_.startswith(_REFERENCE_TYPE_PREFIXES):
        return True
    return uuid.lower() in galaxy_cluster_uuids()
