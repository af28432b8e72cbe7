"""MISP events out: each report the viewer may see, as MISP event JSON that MISP and pymisp
load, holding only what the viewer may see of it.

Read through intel's query, always for the viewer: reports a batch at a time (policy filter and
selection in SQL), then the latest visible versions of the objects each batch's reports name.
An object the viewer may not see is never read, so it cannot reach an event: not as an
attribute, a MISP object member, a reference's end or a sighting. Objects that came from MISP
give back what their `x_misp_*` properties kept (type, category, value, comment, uuid...); other
STIX objects are mapped by type (misp_types.py), and a pattern with no MISP type travels as a
`stix2-pattern` attribute. Each batch is a bulk read in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from shieldwall.audit import service as audit
from shieldwall.db import Database
from shieldwall.exchange.misp_convert import ANALYSIS, THREAT_LEVELS
from shieldwall.exchange.misp_types import (
    default_category,
    misp_type_of_observable,
    misp_type_of_pattern,
)
from shieldwall.intel.query import ObjectFilter, iter_objects, list_objects
from shieldwall.markings import SHARING_EXTENSION_ID, TLP_BY_MARKING_ID, pap_tag_of
from shieldwall.members.service import groups_with_members
from shieldwall.policy import Viewer
from shieldwall.selections.service import Selection

BATCH = 200  # reports read, converted and audited together
_IDS_CHUNK = 2000
_DISTRIBUTION = {"org": "0", "community": "1", "federation": "2", "all": "3", "group": "4"}
_BY_NAME = {
    **{name: key for key, name in THREAT_LEVELS.items()},
    **{"a_" + name: key for key, name in ANALYSIS.items()},
}
_TAG_OF_TYPE = {
    "threat-actor": "threat-actor", "intrusion-set": "mitre-intrusion-set",
    "malware": "malpedia", "tool": "tool", "attack-pattern": "mitre-attack-pattern",
    "course-of-action": "mitre-course-of-action",
}  # fmt: skip


def _epoch(stix_time: Any) -> str:
    if type(stix_time) is not str or not stix_time:
        return str(int(datetime.now(UTC).timestamp()))
    moment = datetime.fromisoformat(stix_time.replace("Z", "+00:00"))
    return str(int(moment.timestamp()))


def _uuid(obj: dict[str, Any]) -> str:
    return str(obj.get("x_misp_uuid") or obj["id"].partition("--")[2])


def _tlp_tag(obj: dict[str, Any]) -> str | None:
    levels = [TLP_BY_MARKING_ID[r] for r in obj.get("object_marking_refs") or ()
              if r in TLP_BY_MARKING_ID]  # fmt: skip
    return f"tlp:{max(levels).label}" if levels else None


def _tags(names: Iterable[str]) -> list[dict[str, Any]]:
    return [{"name": name} for name in dict.fromkeys(names)]


Sharing = tuple[str | None, str | None]  # MISP distribution level, and our group's id for 4


def _sharing(obj: dict[str, Any], inherited: Sharing = (None, None)) -> Sharing:
    """MISP's distribution level of an object and, for 4, the id of our sharing group. What the
    object is here decides (its sharing extension), not what MISP once said: an amber event MISP
    gave to all communities is `federation` here and goes out as 2; a MISP sharing group that
    is none of ours was stored as `org` and goes out as 0. An object that came with 5 (inherit
    the event's) goes out with 5 while it still has its report's sharing, `inherited`."""
    ext = (obj.get("extensions") or {}).get(SHARING_EXTENSION_ID) or {}
    level = _DISTRIBUTION.get(ext.get("distribution"))
    group = str(ext.get("sharing_group") or "") if level == "4" else None
    if str(obj.get("x_misp_distribution")) == "5" and (
        level is None or (level, group) == inherited
    ):
        return "5", None
    return level, group


def _group_number(group_id: str) -> str:
    """A MISP sharing_group_id for one of our groups: MISP's ids are local numbers and pymisp
    wants one for distribution 4; MISP itself finds the group by the SharingGroup's uuid."""
    return str(int(group_id.replace("-", "")[:7], 16) + 1) if group_id else "1"


def _shared(
    misp: dict[str, Any],
    obj: dict[str, Any],
    default: str,
    groups: dict[str, dict[str, Any]],
    inherited: Sharing = (None, None),
) -> None:
    """Set the distribution (and sharing group) of the MISP event, attribute or object `misp`
    made from `obj`; `groups`: the SharingGroup of each of our groups the export may name."""
    level, group = _sharing(obj, inherited)
    if level == "4" and group in groups:
        misp["distribution"] = "4"
        misp["sharing_group_id"] = _group_number(group)
        misp["SharingGroup"] = groups[group]
    else:  # a group it cannot name goes out as the organisation only: never wider
        misp["distribution"] = "0" if level == "4" else (level or default)


def _sharing_group_of(
    group_id: str, name: str, member_rows: list[tuple[str, str]]
) -> dict[str, Any]:
    """The MISP SharingGroup one of our groups is: its id as the uuid, its members as the
    organisations, so that a MISP instance importing the event captures the group."""
    return {
        "uuid": group_id, "name": name, "releasability": "", "description": "",
        "active": True, "roaming": True,
        "SharingGroupOrg": [{"extend": False, "Organisation": {"uuid": member_id, "name": member}}
                            for member_id, member in member_rows],
    }  # fmt: skip


def attribute_of(
    obj: dict[str, Any],
    report_tlp: str | None,
    groups: dict[str, dict[str, Any]] | None = None,
    inherited: Sharing = (None, None),
    report_pap: str | None = None,
) -> dict[str, Any] | None:
    """The MISP attribute a STIX object is, or None for one that is not an attribute."""
    kind = obj.get("type")
    if "x_misp_galaxy_tag" in obj or kind in ("report", "grouping", "relationship", "sighting"):
        return None
    if "x_misp_type" in obj and "x_misp_value" in obj:
        misp_type, value = str(obj["x_misp_type"]), str(obj["x_misp_value"])
        to_ids = bool(obj.get("x_misp_to_ids", kind == "indicator"))
    elif kind == "indicator":
        found = None
        if obj.get("pattern_type") in (None, "stix"):
            found = misp_type_of_pattern(str(obj.get("pattern", "")))
        elif obj.get("pattern_type") in ("yara", "snort", "sigma", "suricata"):
            found = (obj["pattern_type"], str(obj.get("pattern", "")))
        misp_type, value = found or ("stix2-pattern", str(obj.get("pattern", "")))
        to_ids = True
    elif kind == "vulnerability":
        misp_type, value, to_ids = "vulnerability", str(obj.get("name", "")), False
    elif kind == "note":
        misp_type, value, to_ids = "text", str(obj.get("content", "")), False
    elif (found := misp_type_of_observable(obj)) is not None:
        (misp_type, value), to_ids = found, False
    else:
        return None
    attribute: dict[str, Any] = {
        "uuid": _uuid(obj), "type": misp_type, "value": value, "to_ids": to_ids,
        "category": str(obj.get("x_misp_category") or default_category(misp_type)),
        "comment": str(obj.get("x_misp_comment") or obj.get("description") or ""),
        "timestamp": _epoch(obj.get("modified") or obj.get("created")),
        "disable_correlation": obj.get("x_misp_disable_correlation") is True, "deleted": False,
    }  # fmt: skip
    _shared(attribute, obj, "5", groups or {}, inherited)
    for key in ("first_seen", "last_seen", "object_relation", "data"):
        if obj.get(f"x_misp_{key}"):
            attribute[key] = str(obj[f"x_misp_{key}"])
    names = [str(t) for t in (obj.get("labels") or obj.get("x_misp_tags") or [])]
    tlp = _tlp_tag(obj)
    if tlp is not None and tlp != report_tlp:
        names.append(tlp)
    pap = pap_tag_of(obj.get("object_marking_refs"))
    if pap is not None and pap != report_pap:
        names.append(pap)
    if names:
        attribute["Tag"] = _tags(names)
    if type(obj.get("x_misp_sightings")) is list:  # an observable's, kept as they came
        attribute["Sighting"] = [s for s in obj["x_misp_sightings"] if type(s) is dict]
    return attribute


def _sighting(obj: dict[str, Any]) -> dict[str, Any]:
    sighting: dict[str, Any] = {
        "uuid": _uuid(obj), "type": str(obj.get("x_misp_sighting_type") or "0"),
        "date_sighting": _epoch(obj.get("last_seen") or obj.get("created")),
        "source": str(obj.get("x_misp_source") or ""),
    }  # fmt: skip
    if obj.get("x_misp_organisation"):
        sighting["Organisation"] = {"name": str(obj["x_misp_organisation"])}
    return sighting


def event_of(
    report: dict[str, Any],
    visible: dict[str, dict[str, Any]],
    groups: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The MISP event of a report, from the objects it names that the viewer may see
    (`groups`: the SharingGroup of each of our sharing groups they may be in)."""
    groups = groups or {}
    inherited = _sharing(report)
    tlp = _tlp_tag(report)
    pap = pap_tag_of(report.get("object_marking_refs"))
    refs = [visible[r] for r in report.get("object_refs") or () if r in visible]
    attributes: dict[str, dict[str, Any]] = {}  # STIX id -> attribute
    for obj in refs:
        attribute = attribute_of(obj, tlp, groups, inherited, pap)
        if attribute is not None:
            attributes[obj["id"]] = attribute
    for obj in refs:
        if obj.get("type") == "sighting" and obj.get("sighting_of_ref") in attributes:
            attributes[obj["sighting_of_ref"]].setdefault("Sighting", []).append(_sighting(obj))
    misp_objects: dict[str, dict[str, Any]] = {}
    in_object: set[str] = set()
    for obj in refs:
        if obj.get("type") != "grouping" or "x_misp_uuid" not in obj:
            continue
        members = [attributes[r] for r in obj.get("object_refs") or () if r in attributes]
        if not members:
            continue
        in_object.update(r for r in obj.get("object_refs") or () if r in attributes)
        misp_object: dict[str, Any] = {
            "uuid": _uuid(obj), "name": str(obj.get("name") or "misp-object"),
            "meta-category": str(obj.get("x_misp_meta_category") or "misc"),
            "template_uuid": str(obj.get("x_misp_template_uuid") or ""),
            "template_version": str(obj.get("x_misp_template_version") or "1"),
            "description": str(obj.get("x_misp_description") or ""),
            "comment": str(obj.get("x_misp_comment") or ""),
            "timestamp": _epoch(obj.get("modified")),
            "deleted": False, "Attribute": members, "ObjectReference": [],
        }  # fmt: skip
        _shared(misp_object, obj, "5", groups, inherited)
        misp_objects[obj["id"]] = misp_object
    uuids = {**{k: v["uuid"] for k, v in attributes.items()},
             **{k: v["uuid"] for k, v in misp_objects.items()}}  # fmt: skip
    for obj in refs:
        if obj.get("type") != "relationship" or obj.get("source_ref") not in misp_objects:
            continue
        target = uuids.get(obj.get("target_ref"))
        if target is None:
            continue  # its target is not in the event, or not for this viewer
        source = misp_objects[obj["source_ref"]]
        source["ObjectReference"].append({
            "uuid": _uuid(obj), "object_uuid": source["uuid"], "referenced_uuid": target,
            "relationship_type": str(obj.get("x_misp_relationship_type")
                                     or obj["relationship_type"]),
            "comment": str(obj.get("x_misp_comment") or ""),
            "timestamp": _epoch(obj.get("modified")),
        })  # fmt: skip
    names = [str(label) for label in report.get("labels") or ()]
    for obj in refs:
        kind = obj.get("type")
        if "x_misp_galaxy_tag" not in obj and kind in _TAG_OF_TYPE and obj.get("name"):
            names.append(f'misp-galaxy:{_TAG_OF_TYPE[kind]}="{obj["name"]}"')
    if pap is not None:
        names.insert(0, pap)
    if tlp is not None:
        names.insert(0, tlp)
    published = report.get("published")
    event: dict[str, Any] = {
        "uuid": _uuid(report), "info": str(report.get("name") or ""),
        "date": str(report.get("x_misp_date") or str(report.get("created", ""))[:10]),
        "timestamp": _epoch(report.get("modified")),
        "publish_timestamp": _epoch(published) if published else "0",
        "published": bool(published),
        "threat_level_id": _BY_NAME.get(str(report.get("x_misp_threat_level")), "4"),
        "analysis": _BY_NAME.get("a_" + str(report.get("x_misp_analysis")), "0"),
        "Attribute": [a for k, a in attributes.items() if k not in in_object],
        "Object": list(misp_objects.values()),
    }  # fmt: skip
    _shared(event, report, "1", groups)
    if report.get("x_misp_extends_uuid"):
        event["extends_uuid"] = str(report["x_misp_extends_uuid"])
    if report.get("x_misp_orgc"):
        event["Orgc"] = {"name": str(report["x_misp_orgc"])}
    if names:
        event["Tag"] = _tags(names)
    return event


def _visible_objects(
    db: Database, viewer: Viewer, ids: list[str], selection: Selection | None
) -> dict[str, dict[str, Any]]:
    """The latest visible version of each id, the viewer's own copy of an observable first."""
    found: dict[str, tuple[bool, dict[str, Any]]] = {}
    with db.read() as conn:
        for start in range(0, len(ids), _IDS_CHUNK):
            f = ObjectFilter(ids=tuple(ids[start : start + _IDS_CHUNK]), selection=selection)
            for row in iter_objects(conn, viewer, f):
                own = row.member_id == viewer.member_id
                if row.object_id not in found or (own and not found[row.object_id][0]):
                    found[row.object_id] = (own, orjson.loads(row.body))
    return {object_id: body for object_id, (_, body) in found.items()}


def misp_events(
    db: Database, viewer: Viewer, f: ObjectFilter | None = None
) -> Iterator[dict[str, Any]]:
    """`{"Event": ...}` for each report the viewer may see (see misp_events_of_reports)."""
    for _, wrapped in misp_events_of_reports(db, viewer, f):
        yield wrapped


def misp_events_of_reports(
    db: Database, viewer: Viewer, f: ObjectFilter | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """`{"Event": ...}` for each report the viewer may see (narrowed by `f`), in the order they
    were added; each batch of reports is audited as a bulk read with the objects it held. A
    selection in `f` (a feed's) narrows the objects in the events as well as the reports."""
    f = ObjectFilter(types=("report",)) if f is None else f
    cursor: str | None = None
    while True:
        # A read per batch: a slow reader of a long export holds no transaction open.
        page = list_objects(db, viewer, f, cursor=cursor, limit=BATCH)
        reports = [orjson.loads(body) for body in page.bodies]
        reports = [r for r in reports if r.get("type") == "report"]
        yield from _events_of(db, viewer, reports, f.selection)
        cursor = page.next_cursor
        if cursor is None:
            return


def _events_of(
    db: Database, viewer: Viewer, reports: list[dict[str, Any]], selection: Selection | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    ids = list(dict.fromkeys(ref for r in reports for ref in r.get("object_refs") or ()))
    visible = _visible_objects(db, viewer, ids, selection)
    # A grouping's members may be named only by the grouping (a report from elsewhere).
    inner = [ref for o in visible.values() if o.get("type") == "grouping"
             for ref in o.get("object_refs") or () if ref not in visible]  # fmt: skip
    if inner:
        visible.update(_visible_objects(db, viewer, list(dict.fromkeys(inner)), selection))
    group_ids = [
        str(ext["sharing_group"]) for o in [*reports, *visible.values()]
        if (ext := (o.get("extensions") or {}).get(SHARING_EXTENSION_ID) or {}).get("sharing_group")
    ]  # fmt: skip
    groups: dict[str, dict[str, Any]] = {}
    if group_ids:
        with db.read() as conn:
            for gid, (name, rows) in groups_with_members(conn, group_ids).items():
                groups[gid] = _sharing_group_of(gid, name, rows)
    read = [r["id"] for r in reports] + list(visible)
    if read:
        audit.record(db, viewer, "export.misp", {
            "reports": len(reports), "count": len(read), "objects": read[:100],
            "objects_digest": audit.digest_of(read),
        })  # fmt: skip
    for report in reports:
        named = dict.fromkeys(report.get("object_refs") or ())
        for ref in list(named):
            obj = visible.get(ref)
            if obj is not None and obj.get("type") == "grouping":
                named.update(dict.fromkeys(obj.get("object_refs") or ()))
        event = event_of({**report, "object_refs": list(named)}, visible, groups)
        yield report["id"], {"Event": event}


def misp_response_json(events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """`{"response": [...]}` as MISP's search answers, one event at a time."""
    yield b'{"response": ['
    for index, event in enumerate(events):
        yield (b"," if index else b"") + orjson.dumps(event)
    yield b"]}"
