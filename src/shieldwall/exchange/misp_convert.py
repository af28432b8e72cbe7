"""One MISP event as STIX 2.1 objects, for one member (see misp_import.py for the mapping).

Each event becomes a report whose `object_refs` hold everything the event made: attributes as
indicators (`to_ids`) or observables by type (misp_types.py), free text as notes, MISP objects as
groupings of their attributes, object references as relationships, galaxy clusters as threat
actors, malware, tools, attack patterns and intrusion sets (misp_galaxies.py), sightings of
indicators as sightings. Tags become labels; `tlp:` tags the TLP marking, `PAP:` tags the PAP
marking (markings.PAP; an event's covers its attributes).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from shieldwall.exchange.misp_document import MemberIds, NotMispEvents, stix_time
from shieldwall.exchange.misp_galaxies import (
    GALAXY_SDO,
    cluster_object,
    clusters_of,
    listed_clusters,
    published_cluster,
)
from shieldwall.exchange.misp_types import TEXT_TYPES, default_category, observable_of, pattern_of
from shieldwall.intel.validate_properties import UUID_PATTERN
from shieldwall.markings import (
    SHARING_EXTENSION_ID,
    TLP,
    Distribution,
    cap_distribution,
    pap_marking_of_tags,
)

# MISP distribution levels (MISP core format §2.2.1) -> ours. 4 (sharing group) is one of the
# importing member's sharing groups when the MISP sharing group is one (by uuid, else by name;
# EventConverter.sharing_group), else `org`: a MISP sharing group names MISP organisations, not our
# members, and widening it silently would leak. 5 is "inherit".
DISTRIBUTIONS = {
    "0": Distribution.ORG, "1": Distribution.COMMUNITY, "2": Distribution.FEDERATION,
    "3": Distribution.ALL, "4": Distribution.ORG,
}  # fmt: skip
THREAT_LEVELS = {"1": "high", "2": "medium", "3": "low", "4": "undefined"}
ANALYSIS = {"0": "initial", "1": "ongoing", "2": "completed"}
_RELATIONSHIP = re.compile(r"[^a-z0-9]+")
# What a STIX sighting may be of (STIX 2.1 §5.7: an SDO) among what attributes become.
_SIGHTED_SDOS = frozenset({"indicator", "vulnerability", "note"})


def _tags(holder: dict[str, Any]) -> list[str]:
    found = []
    for tag in holder.get("Tag") or []:
        if type(tag) is dict and type(tag.get("name")) is str and tag["name"].strip():
            found.append(tag["name"].strip())
    return found


@functools.lru_cache(maxsize=1024)  # a feed's events share a few tags
def _marking_tag(tag: str) -> bool:
    """A `tlp:` or `PAP:` tag: a marking, not a label."""
    return tag.lower().startswith("tlp:") or pap_marking_of_tags((tag,)) is not None


def _tlp(tags: list[str]) -> TLP | None:
    if not tags:
        return None
    levels = []
    for tag in tags:
        if tag.lower().startswith("tlp:"):
            try:
                levels.append(TLP.parse(tag))
            except ValueError:
                continue
    return max(levels) if levels else None


class EventConverter:
    """One event's STIX objects, for one member."""

    def __init__(
        self,
        member_id: str,
        event: dict[str, Any],
        where: str,
        groups: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self.member_id = member_id
        self.groups = groups  # id -> name of the member's sharing groups, asked for when needed
        self.event = event
        self.where = where
        self.out: list[dict[str, Any]] = []
        self.by_misp_uuid: dict[str, str] = {}  # attribute / object uuid -> STIX id
        self.galaxy_ids: set[str] = set()  # the cluster objects made so far
        # Attribute objects that are no note: (time, report id) for the note each would be.
        self.notes_if_unfit: dict[str, tuple[str, str]] = {}
        self.now = stix_time(event.get("timestamp"), "2000-01-01T00:00:00.000Z")
        self.event_uuid = str(event.get("uuid") or f"{event.get('info')}|{event.get('date')}")
        self.ids = MemberIds(member_id)
        self.report_id = f"report--{self.ids.uuid5(self.event_uuid)}"  # report_id_for's
        # The event's tags and what they mark, which each attribute without its own falls
        # back on: read once, not once an attribute.
        self.event_tags = _tags(event)
        self.event_tlp = _tlp(self.event_tags)
        self.event_pap = pap_marking_of_tags(self.event_tags)

    def stix_id(self, kind: str, misp_uuid: Any, salt: str = "") -> str:
        return f"{kind}--{self.ids.uuid5(f'{misp_uuid}{salt}')}"

    def marking(self, obj: dict[str, Any], tags: list[str], holder: dict[str, Any]) -> None:
        """The TLP and distribution of what `holder` (event, attribute, object) became."""
        tlp = _tlp(tags)
        distribution = holder.get("distribution")
        wanted = DISTRIBUTIONS.get(str(distribution))
        group = self.sharing_group(holder) if str(distribution) == "4" else None
        if group is not None:
            wanted = Distribution.GROUP
        if tlp is None and wanted is not None:
            # An attribute with a distribution of its own and no TLP tag is under the event's
            # TLP: said on the object, as a distribution without a TLP takes the member's.
            tlp = self.event_tlp
        if tlp is not None:
            obj["object_marking_refs"] = [tlp.marking_id]
        # PAP, a marking of its own (markings.PAP): the event's covers what has none.
        pap = (pap_marking_of_tags(tags) if tags else None) or self.event_pap
        if pap is not None:
            obj["object_marking_refs"] = [*obj.get("object_marking_refs", ()), pap]
        if wanted is not None:
            # TLP caps distribution (markings.py); MISP's own value stays in x_misp_distribution.
            level = tlp if tlp is not None else TLP.AMBER
            obj["extensions"] = {SHARING_EXTENSION_ID: {
                "extension_type": "property-extension",
                "distribution": cap_distribution(level, wanted).value,
            }}  # fmt: skip
            if group is not None:
                obj["extensions"][SHARING_EXTENSION_ID]["sharing_group"] = group
        if distribution not in (None, ""):
            obj["x_misp_distribution"] = str(distribution)
        if str(distribution) == "4" and holder.get("sharing_group_id") not in (None, "", "0"):
            obj["x_misp_sharing_group"] = str(holder["sharing_group_id"])

    def sharing_group(self, holder: dict[str, Any]) -> str | None:
        """Our sharing group that the MISP sharing group of `holder` is, among the importing
        member's: the one whose id is the MISP group's uuid (a group exported from here, or
        made to mirror one), else the one of the same name; None when there is none."""
        group = holder.get("SharingGroup")
        if type(group) is not dict and str(holder.get("sharing_group_id")) == str(
            self.event.get("sharing_group_id")
        ):
            group = self.event.get("SharingGroup")  # an attribute names it by the event's id
        if type(group) is not dict:
            return None
        known = self.groups()
        if str(group.get("uuid")) in known:
            return str(group["uuid"])
        by_name = [gid for gid, name in known.items() if name == group.get("name")]
        return by_name[0] if by_name else None

    def convert(self) -> list[dict[str, Any]]:
        event = self.event
        tags = self.event_tags
        refs: list[str] = []
        for attribute in event.get("Attribute") or []:
            refs += self.attribute(attribute, None)
        for misp_object in event.get("Object") or []:
            refs += self.misp_object(misp_object)
        for misp_object in event.get("Object") or []:
            refs += self.references(misp_object)
        labels = [t for t in tags if not _marking_tag(t)]
        for tag in self.cluster_tags(event.get("Galaxy")):
            if tag not in labels:
                labels.append(tag)
        refs += self.galaxies(event.get("Galaxy"), None, tags)
        date = str(event.get("date") or "")
        created = stix_time(f"{date}T00:00:00" if date else None, self.now)
        report: dict[str, Any] = {
            "type": "report", "spec_version": "2.1", "id": self.report_id,
            "created": min(created, self.now), "modified": self.now,
            "name": str(event.get("info") or "MISP event"),
            "published": stix_time(event.get("publish_timestamp"), self.now)
            if str(event.get("publish_timestamp") or "0") != "0" else self.now,
            "report_types": ["threat-report"],
            "object_refs": list(dict.fromkeys(refs)) or [self.note_of_empty()],
            "x_misp_uuid": self.event_uuid,
        }  # fmt: skip
        if labels:
            report["labels"] = labels
        for key, table, prop in (("threat_level_id", THREAT_LEVELS, "x_misp_threat_level"),
                                 ("analysis", ANALYSIS, "x_misp_analysis")):  # fmt: skip
            if str(event.get(key)) in table:
                report[prop] = table[str(event[key])]
        if date:
            report["x_misp_date"] = date
        orgc = event.get("Orgc") or {}
        if type(orgc) is dict and orgc.get("name"):
            report["x_misp_orgc"] = str(orgc["name"])
        if event.get("extends_uuid"):
            report["x_misp_extends_uuid"] = str(event["extends_uuid"])
        self.marking(report, tags, event)
        return [*self.out, report]

    def note_of_empty(self) -> str:
        """An event with nothing in it still needs one object_ref (STIX 2.1 §4.4.1)."""
        note = {
            "type": "note", "spec_version": "2.1", "created": self.now, "modified": self.now,
            "id": self.stix_id("note", self.event.get("uuid"), "/empty"),
            "content": "(the MISP event has no attributes)", "object_refs": [],
        }  # fmt: skip
        note["object_refs"] = [note["id"]]
        self.out.append(note)
        return note["id"]

    def attribute(self, attribute: Any, misp_object: dict[str, Any] | None) -> list[str]:
        if type(attribute) is not dict:
            raise NotMispEvents(f"{self.where}: an attribute is not an object")
        misp_type, value = attribute.get("type"), attribute.get("value")
        attr_uuid = attribute.get("uuid") or f"{misp_type}|{value}"
        # Real events repeat a uuid on different attributes (MISP does not check it on import):
        # each is kept, the repeats under an id of their own; x_misp_uuid keeps the uuid.
        salt = f"/{len(self.out)}" if str(attr_uuid) in self.by_misp_uuid else ""
        if type(misp_type) is not str or not misp_type:
            raise NotMispEvents(f"{self.where}, attribute {attr_uuid}: no type")
        if type(value) is not str or value == "":
            raise NotMispEvents(f"{self.where}, attribute {attr_uuid}: no value")
        tags = _tags(attribute)
        when = stix_time(attribute.get("timestamp"), self.now)
        to_ids = attribute.get("to_ids") in (True, "1", 1, "true")
        pattern = pattern_of(misp_type, value.strip()) if to_ids else None
        common: dict[str, Any] = {"spec_version": "2.1"}
        if pattern is not None:
            obj: dict[str, Any] = {
                "type": "indicator", "id": self.stix_id("indicator", attr_uuid, salt),
                "created": when, "modified": when, "pattern": pattern, "pattern_type": "stix",
                "valid_from": stix_time(attribute.get("first_seen"), when),
                "name": f"{misp_type}: {value}"[:250],
            }  # fmt: skip
            if attribute.get("last_seen"):
                obj["valid_until"] = stix_time(attribute["last_seen"], when)
                if obj["valid_until"] <= obj["valid_from"]:
                    del obj["valid_until"]
        elif to_ids and misp_type in ("yara", "snort", "sigma", "suricata"):
            obj = {
                "type": "indicator", "id": self.stix_id("indicator", attr_uuid, salt),
                "created": when, "modified": when, "pattern": value, "pattern_type": misp_type,
                "valid_from": when, "name": f"{misp_type} rule",
            }  # fmt: skip
        elif misp_type == "vulnerability":
            obj = {
                "type": "vulnerability", "id": self.stix_id("vulnerability", attr_uuid, salt),
                "created": when, "modified": when, "name": value,
                "external_references": [{"source_name": "cve", "external_id": value}],
            }  # fmt: skip
        elif (sco := observable_of(misp_type, value.strip())) is not None and (
            misp_type not in TEXT_TYPES
        ):
            obj = {**sco, "id": self.stix_id(sco["type"], attr_uuid, salt)}
            common = {"spec_version": "2.1"}
        else:
            # No STIX home: a note about the report, the value as its content (kept whole).
            obj = {
                "type": "note", "id": self.stix_id("note", attr_uuid, salt), "created": when,
                "modified": when, "content": value, "abstract": misp_type,
                "object_refs": [self.report_id],
            }  # fmt: skip
        obj.update(common)
        if obj["type"] != "note":
            # Its value may be one STIX will not take as its type (a malformed ssdeep, a hash
            # of the wrong length): then it becomes a note (see import_misp).
            self.notes_if_unfit[obj["id"]] = (when, self.report_id)
        obj["x_misp_type"] = misp_type
        # No category (MISP requires one, but not every tool writing events gives it): the
        # one MISP itself would give the type.
        obj["x_misp_category"] = str(attribute.get("category") or default_category(misp_type))
        obj["x_misp_value"] = value
        obj["x_misp_to_ids"] = to_ids
        obj["x_misp_uuid"] = str(attr_uuid)
        if type(attribute.get("data")) is str and attribute["data"]:
            obj["x_misp_data"] = attribute["data"]  # an attachment or sample, base64
        for key in ("comment", "first_seen", "last_seen", "object_relation"):
            if attribute.get(key):
                obj[f"x_misp_{key}"] = str(attribute[key])
        if attribute.get("disable_correlation") in (True, "1", 1, "true"):
            obj["x_misp_disable_correlation"] = True
        labels = [t for t in tags if not _marking_tag(t)]
        if labels and obj["type"] in ("indicator", "vulnerability", "note"):
            obj["labels"] = labels
        elif labels:
            obj["x_misp_tags"] = labels
        self.marking(obj, tags, attribute)
        refs = [obj["id"]]
        sightings = [s for s in attribute.get("Sighting") or [] if type(s) is dict]
        if sightings and obj["type"] not in _SIGHTED_SDOS:
            # STIX 2.1 §5.7: sighting_of_ref names an SDO; an observable's sightings stay on it.
            obj["x_misp_sightings"] = sightings
            sightings = []
        self.out.append(obj)
        self.by_misp_uuid.setdefault(str(attr_uuid), obj["id"])
        for sighting in sightings:
            refs += self.sighting(sighting, obj)
        if attribute.get("Galaxy") or tags:
            refs += self.galaxies(attribute.get("Galaxy"), obj["id"], tags)
        return refs

    def sighting(self, sighting: dict[str, Any], target: dict[str, Any]) -> list[str]:
        seen = stix_time(sighting.get("date_sighting"), self.now)
        key = sighting.get("uuid") or f"{target['id']}|{seen}|{sighting.get('type')}"
        obj = {
            "type": "sighting", "spec_version": "2.1", "id": self.stix_id("sighting", key),
            "created": seen, "modified": seen, "first_seen": seen, "last_seen": seen,
            "count": 1, "sighting_of_ref": target["id"],
            "x_misp_sighting_type": str(sighting.get("type") or "0"), "x_misp_uuid": str(key),
        }  # fmt: skip
        if sighting.get("source"):
            obj["x_misp_source"] = str(sighting["source"])
        org = sighting.get("Organisation") or {}
        if type(org) is dict and org.get("name"):
            obj["x_misp_organisation"] = str(org["name"])
        self.out.append(obj)
        return [obj["id"]]

    def misp_object(self, misp_object: Any) -> list[str]:
        if type(misp_object) is not dict or not misp_object.get("name"):
            raise NotMispEvents(f"{self.where}: a MISP object without a name")
        object_uuid = str(misp_object.get("uuid") or id(misp_object))
        refs: list[str] = []
        for attribute in misp_object.get("Attribute") or []:
            refs += self.attribute(attribute, misp_object)
        when = stix_time(misp_object.get("timestamp"), self.now)
        grouping: dict[str, Any] = {
            "type": "grouping", "spec_version": "2.1",
            "id": self.stix_id("grouping", object_uuid), "created": when, "modified": when,
            "name": str(misp_object["name"]), "context": "suspicious-activity",
            "object_refs": [r for r in refs if not r.startswith("sighting--")] or refs,
            "x_misp_uuid": object_uuid,
        }  # fmt: skip
        if not grouping["object_refs"]:
            return []  # an object with no attributes: nothing to group
        for key in ("meta-category", "template_uuid", "template_version", "comment",
                    "description", "first_seen", "last_seen"):  # fmt: skip
            if misp_object.get(key):
                grouping["x_misp_" + key.replace("-", "_")] = str(misp_object[key])
        tags = [t for a in misp_object.get("Attribute") or [] if type(a) is dict for t in _tags(a)]
        self.marking(grouping, [t for t in tags if _marking_tag(t)], misp_object)
        self.out.append(grouping)
        self.by_misp_uuid[object_uuid] = grouping["id"]
        return [*refs, grouping["id"]]

    def references(self, misp_object: dict[str, Any]) -> list[str]:
        refs = []
        source = self.by_misp_uuid.get(str(misp_object.get("uuid")))
        for reference in misp_object.get("ObjectReference") or []:
            if type(reference) is not dict:
                continue
            target = self.by_misp_uuid.get(str(reference.get("referenced_uuid")))
            if source is None or target is None:
                continue  # a reference to something outside the event: nothing to link
            kind = str(reference.get("relationship_type") or "related-to")
            stix_kind = _RELATIONSHIP.sub("-", kind.lower()).strip("-") or "related-to"
            when = stix_time(reference.get("timestamp"), self.now)
            key = reference.get("uuid") or f"{source}|{kind}|{target}"
            obj = {
                "type": "relationship", "spec_version": "2.1",
                "id": self.stix_id("relationship", key), "created": when, "modified": when,
                "relationship_type": stix_kind,
                "source_ref": source, "target_ref": target,
                "x_misp_relationship_type": kind, "x_misp_uuid": str(key),
            }  # fmt: skip
            if reference.get("comment"):
                obj["x_misp_comment"] = str(reference["comment"])
            self.out.append(obj)
            refs.append(obj["id"])
        return refs

    @staticmethod
    def cluster_tags(galaxies: Any) -> list[str]:
        """The `misp-galaxy:` tag of every cluster of a Galaxy list."""
        return [tag for _, _, tag in listed_clusters(galaxies)]

    def galaxies(self, galaxies: Any, holder: str | None, tags: list[str]) -> list[str]:
        """The threat actors, malware, tools... a Galaxy list and `misp-galaxy:` tags name (of
        the event, or of an attribute: then each is related to the attribute's object,
        `holder`)."""
        refs = []
        for galaxy, cluster, tag in clusters_of(galaxies, tags):
            kind = GALAXY_SDO.get(str(cluster.get("type") or galaxy.get("type")))
            if kind is None:
                continue  # kept as the tag
            # Keyed by tag, not by the cluster's uuid: older MISP gave every cluster of a
            # galaxy the galaxy's uuid (seven mitre-malware clusters, one uuid), and ids are
            # not always UUIDv4. A published cluster's object has the cluster's published
            # uuid (each member keeps its own copy: intel/reference.py); another one the
            # member's own id, as everything else.
            published = published_cluster(tag)
            if published is not None and UUID_PATTERN.fullmatch(published.uuid):
                obj_id = f"{kind}--{published.uuid}"
            else:
                obj_id = self.stix_id(kind, tag, "/galaxy")
            if obj_id not in self.galaxy_ids:
                self.galaxy_ids.add(obj_id)
                self.out.append(cluster_object(kind, obj_id, cluster, tag, published, self.now))
            refs.append(obj_id)
            if holder is not None:
                relationship = {
                    "type": "relationship", "spec_version": "2.1",
                    "id": self.stix_id("relationship", f"{holder}|{obj_id}", "/galaxy"),
                    "created": self.now, "modified": self.now, "relationship_type": "related-to",
                    "source_ref": holder, "target_ref": obj_id, "x_misp_galaxy_tag": tag,
                }  # fmt: skip
                self.out.append(relationship)
                refs.append(relationship["id"])
        return refs
