"""Check STIX 2.1 objects (parsed JSON) before ingest: pure, fast, and exhaustive in its errors.

Written by hand because it sits on the hot ingest path (~10 µs per indicator): the `stix2`
library builds a class instance per object and jsonschema walks a schema tree per object, both
one to two orders of magnitude too slow here. Custom objects, custom properties and extensions
are accepted and left alone (STIX 2.1 §11); only their names have to be well-formed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shieldwall.intel import stix_types as st
from shieldwall.intel.patterns import pattern_errors
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.markings import SHARING_EXTENSION_ID, TLP2_EXTENSION_ID, Distribution

__all__ = ["SHARING_EXTENSION_ID", "ObjectError", "validate_bundle", "validate_object"]


@dataclass(frozen=True, slots=True)
class ObjectError:
    index: int | None  # position in the bundle's "objects" list; None for bundle-level errors
    id: str | None  # the object's id if it had a string one
    property: str | None  # offending property (dotted path when nested), or None
    message: str  # one clear human sentence

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "property": self.property,
            "message": self.message,
        }


Problems = list[tuple[str | None, str]]
Check = Callable[[str, Any, Problems], None]

# §2.9 / OASIS identifier.json: RFC 4122 UUID (version 1-5, variant 10xx).
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
_TYPE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")  # §3.1, and no "--"
_PROPERTY_NAME = re.compile(r"[a-z0-9_]{3,250}")  # §11.1 custom property names
_DICT_KEY = re.compile(r"[A-Za-z0-9_-]{1,250}")  # §2.8 dictionary keys
_RELATIONSHIP_TYPE = re.compile(r"[a-z0-9-]+")  # §5.1
_SELECTOR = re.compile(r"(?:[a-z0-9_-]{3,250}(?:\.(?:\[[0-9]+\]|[a-z0-9_-]{1,250}))*|id)")
_TIMESTAMP_HINT = "an RFC 3339 UTC timestamp such as '2024-05-01T10:00:00.000Z'"
_SHARING_GROUP = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# hash-algorithm-ov names (and their common spellings) whose value is hex of a fixed length.
_HEX = re.compile(r"[0-9a-fA-F]+")
_HASH_HEX_LENGTH = {"MD5": 32, "SHA1": 40, "SHA256": 64, "SHA512": 128, "SHA3256": 64,
                    "SHA3512": 128}  # fmt: skip
_SHARING_PATH = f"extensions.{SHARING_EXTENSION_ID}"
_SHARING_PROPERTIES = frozenset({"extension_type", "distribution", "sharing_group", "anonymous"})
_DISTRIBUTIONS = frozenset(d.value for d in Distribution)
_TLP1 = frozenset({"white", "green", "amber", "red"})
_TLP2 = frozenset({"clear", "green", "amber", "amber+strict", "red"})
# (earlier, later, may they be equal): §3.2 modified, §4.7 valid_until, §4.x last_seen,
# §4.14 last_observed, §5.1 stop_time, §6.12 end.
_ORDERINGS = (
    ("created", "modified", True),
    ("valid_from", "valid_until", False),
    ("first_seen", "last_seen", True),
    ("first_observed", "last_observed", True),
    ("start_time", "stop_time", False),
    ("start", "end", True),
)
_NOTHING = object()
_SCO_COMMON = frozenset(
    {"type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"}
)


def _show(value: Any) -> str:
    """A value as the sender wrote it, short enough for a message."""
    if isinstance(value, str):
        return json.dumps(value[:60] + "…" if len(value) > 60 else value, ensure_ascii=False)
    if value is None or isinstance(value, bool | float):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value) if -(10**18) < value < 10**18 else "a very large integer"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a JSON object"
    return f"a {type(value).__name__}"


def _a(type_name: str) -> str:
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _instant(timestamp: str) -> str:
    """A valid timestamp as text that sorts by the instant it names (any fraction length)."""
    if len(timestamp) == 20:
        return timestamp[:19]
    return timestamp[:-1].rstrip("0").rstrip(".")


def _order(first: str, last: str) -> int:
    """Negative, zero or positive as valid timestamp `last` is before, at or after `first`."""
    if len(first) != len(last):  # with the same precision, the text sorts as the instant
        first, last = _instant(first), _instant(last)
    return (last > first) - (last < first)


def _is_type_name(value: str) -> bool:
    return value in st.TYPES or (_TYPE_NAME.fullmatch(value) is not None and "--" not in value)


# Valid ids seen lately -> their type. The same ids recur all through a bundle (creator,
# markings, refs to objects sent alongside), and a lookup costs a tenth of the regex.
_ID_MEMO: dict[str, str] = {}
_ID_MEMO_SIZE = 16_384


def _id_type(value: Any) -> str | None:
    """The type part of a well-formed identifier '<type>--<UUID>' (§2.9), else None."""
    if type(value) is not str:
        return None
    type_name = _ID_MEMO.get(value)
    if type_name is not None:
        return type_name
    type_name, _, uuid = value.rpartition("--")
    if _UUID.fullmatch(uuid) is None or not _is_type_name(type_name):
        return None
    if len(_ID_MEMO) >= _ID_MEMO_SIZE:
        _ID_MEMO.clear()
    _ID_MEMO[value] = type_name
    return type_name


# --- checks for one property kind: each appends (property, message) for what is wrong ---------


def _string(name: str, value: Any, out: Problems) -> None:
    if type(value) is not str:
        out.append((name, f"{name} must be a string, not {_show(value)}"))


def _boolean(name: str, value: Any, out: Problems) -> None:
    if type(value) is not bool:
        out.append((name, f"{name} must be true or false, not {_show(value)}"))


def _dict(name: str, value: Any, out: Problems) -> None:
    if type(value) is not dict or not value:
        out.append((name, f"{name} must be a non-empty JSON object, not {_show(value)}"))


def _string_list(name: str, value: Any, out: Problems) -> None:
    if type(value) is not list or not value:
        out.append((name, f"{name} must be a non-empty list of strings, not {_show(value)}"))
        return
    for i, item in enumerate(value):
        if type(item) is not str:
            out.append((f"{name}[{i}]", f"{name}[{i}] must be a string, not {_show(item)}"))


def _dict_list(name: str, value: Any, out: Problems) -> None:
    if type(value) is not list or not value:
        out.append((name, f"{name} must be a non-empty list of JSON objects, not {_show(value)}"))
        return
    for i, item in enumerate(value):
        if type(item) is not dict:
            out.append((f"{name}[{i}]", f"{name}[{i}] must be a JSON object, not {_show(item)}"))


def _list_of_dicts(name: str, value: Any, out: Problems) -> list[tuple[str, dict[str, Any]]]:
    """(path, item) for each JSON object in a non-empty list; problems for everything else."""
    _dict_list(name, value, out)
    if type(value) is not list:
        return []
    return [(f"{name}[{i}]", item) for i, item in enumerate(value) if type(item) is dict]


def _kill_chain_phases(name: str, value: Any, out: Problems) -> None:
    for path, phase in _list_of_dicts(name, value, out):
        for key in ("kill_chain_name", "phase_name"):
            if type(phase.get(key)) is not str:
                out.append((f"{path}.{key}", f"{path}.{key} is required and must be a string"))


def _hashes(name: str, value: Any, out: Problems) -> None:
    if type(value) is not dict or not value:
        out.append((name, f"{name} must be a non-empty JSON object, not {_show(value)}"))
        return
    for algorithm, digest in value.items():
        path = f"{name}.{algorithm}"
        if type(algorithm) is not str or _DICT_KEY.fullmatch(algorithm) is None:
            out.append((name, f"{name} has a key {_show(algorithm)} that is not a hash name"))
        elif type(digest) is not str or not digest:
            out.append((path, f"{path} must be a non-empty string, not {_show(digest)}"))
        elif (length := _HASH_HEX_LENGTH.get(algorithm.upper().replace("-", ""))) and (
            len(digest) != length or _HEX.fullmatch(digest) is None
        ):
            out.append((path, f"{path} must be {length} hexadecimal digits, not {_show(digest)}"))


def _integer(low: int | None, high: int | None) -> Check:
    if low is None:
        wanted = "an integer"
    elif high is None:
        wanted = f"an integer of at least {low}"
    else:
        wanted = f"an integer from {low} to {high}"

    def check(name: str, value: Any, out: Problems) -> None:
        if (
            type(value) is not int
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            out.append((name, f"{name} must be {wanted}, not {_show(value)}"))

    return check


def _number(low: float, high: float | None) -> Check:
    wanted = (
        f"a number of at least {low:g}" if high is None else f"a number from {low:g} to {high:g}"
    )

    def check(name: str, value: Any, out: Problems) -> None:
        if (
            type(value) not in (int, float)
            or not value >= low  # also false for NaN
            or (high is not None and value > high)
        ):
            out.append((name, f"{name} must be {wanted}, not {_show(value)}"))

    return check


def _one_of(values: tuple[str, ...]) -> Check:
    allowed = frozenset(values)
    listed = ", ".join(values)

    def check(name: str, value: Any, out: Problems) -> None:
        if type(value) is not str or value not in allowed:
            out.append((name, f"{name} must be one of {listed}, not {_show(value)}"))

    return check


def _ref(targets: tuple[str, ...], many: bool, not_targets: frozenset[str]) -> Check:
    allowed = frozenset(targets)
    if targets:
        wanted = " or ".join(_a(t) for t in targets)
        example = f"{targets[0]}--<UUID>"
    else:
        wanted = "a STIX domain object (SDO)" if not_targets else "a STIX object"
        example = "<type>--<UUID>"

    def one(path: str, value: Any, out: Problems) -> None:
        target = _id_type(value)
        if target is None:
            out.append((path, f"{path} must be the id of {wanted} ({example}), not {_show(value)}"))
        elif (allowed and target not in allowed) or target in not_targets:
            out.append((path, f"{path} must refer to {wanted}, not {_a(target)}"))

    if not many:
        return one

    def check(name: str, value: Any, out: Problems) -> None:
        if type(value) is not list or not value:
            out.append((name, f"{name} must be a non-empty list of ids, not {_show(value)}"))
            return
        for i, item in enumerate(value):
            target = _id_type(item)
            if target is None or (allowed and target not in allowed) or target in not_targets:
                one(f"{name}[{i}]", item, out)

    return check


_any_ref = _ref((), False, frozenset())
_any_refs = _ref((), True, frozenset())
_marking_ref = _ref(("marking-definition",), False, frozenset())


def _granular_markings(name: str, value: Any, out: Problems) -> None:
    for path, marking in _list_of_dicts(name, value, out):
        has_ref, has_lang = "marking_ref" in marking, "lang" in marking
        if has_ref == has_lang:
            out.append((path, f"{path} must have exactly one of marking_ref and lang"))
        elif has_ref:
            _marking_ref(f"{path}.marking_ref", marking["marking_ref"], out)
        else:
            _string(f"{path}.lang", marking["lang"], out)
        selectors = marking.get("selectors")
        if type(selectors) is not list or not selectors:
            out.append((f"{path}.selectors", f"{path}.selectors must be a non-empty list"))
            continue
        for i, selector in enumerate(selectors):
            if type(selector) is not str or _SELECTOR.fullmatch(selector) is None:
                where = f"{path}.selectors[{i}]"
                example = "'description' or 'external_references.[0].url'"
                out.append(
                    (
                        where,
                        f"{where} must name a property such as {example}, not {_show(selector)}",
                    )
                )


def _external_references(name: str, value: Any, out: Problems) -> None:
    for path, ref in _list_of_dicts(name, value, out):
        if type(ref.get("source_name")) is not str:
            out.append((f"{path}.source_name", f"{path}.source_name is required (a string)"))
        for key in ("description", "url", "external_id"):
            if key in ref:
                _string(f"{path}.{key}", ref[key], out)
        if not ("description" in ref or "url" in ref or "external_id" in ref):
            out.append((path, f"{path} needs at least one of description, url and external_id"))
        if "hashes" in ref:
            _hashes(f"{path}.hashes", ref["hashes"], out)


def _sharing_extension(path: str, ext: dict[str, Any], out: Problems) -> None:
    """Our own property extension (DESIGN.md, sharing metadata on the wire)."""
    for key in ext:
        if key not in _SHARING_PROPERTIES:
            out.append(
                (
                    f"{path}.{key}",
                    f"{path}.{key} is not a property of the Shieldwall sharing extension; it "
                    "allows only extension_type, distribution, sharing_group and anonymous",
                )
            )
    if "extension_type" in ext and ext["extension_type"] != "property-extension":
        out.append(
            (
                f"{path}.extension_type",
                f"{path}.extension_type must be 'property-extension', "
                f"not {_show(ext['extension_type'])}",
            )
        )
    distribution = ext.get("distribution")
    bad_distribution = "distribution" in ext and (
        type(distribution) is not str or distribution not in _DISTRIBUTIONS
    )
    if bad_distribution:
        out.append(
            (
                f"{path}.distribution",
                f"{path}.distribution must be one of org, community, federation, all and group, "
                f"not {_show(distribution)}",
            )
        )
    group_path = f"{path}.sharing_group"
    if "sharing_group" in ext:
        group = ext["sharing_group"]
        if type(group) is not str or _SHARING_GROUP.fullmatch(group) is None:
            out.append(
                (
                    group_path,
                    f"{group_path} must be a sharing group's id (a lowercase UUID, as "
                    f"`shieldwall group add` prints it), not {_show(group)}",
                )
            )
        if distribution != "group" and not bad_distribution:
            out.append((group_path, f"{group_path} is only allowed with distribution 'group'"))
    elif distribution == "group":
        out.append((group_path, f"{group_path} is required with distribution 'group'"))
    if "anonymous" in ext:
        _boolean(f"{path}.anonymous", ext["anonymous"], out)


def _tlp2_extension(path: str, ext: dict[str, Any], out: Problems) -> None:
    """TLP 2.0 as the OASIS CTI TC publishes it for STIX 2.1 markings."""
    level = ext.get("tlp_2_0")
    if type(level) is not str or level not in _TLP2:
        out.append(
            (
                f"{path}.tlp_2_0",
                f"{path}.tlp_2_0 must be one of clear, green, amber, amber+strict and red, "
                f"not {_show(level)}",
            )
        )


def _extensions(name: str, value: Any, out: Problems) -> None:
    if type(value) is not dict or not value:
        out.append((name, f"{name} must be a non-empty JSON object, not {_show(value)}"))
        return
    for key, ext in value.items():
        path = f"{name}.{key}"
        if key == SHARING_EXTENSION_ID:
            if type(ext) is dict:
                _sharing_extension(_SHARING_PATH, ext, out)
            else:
                out.append((path, f"{path} must be a JSON object, not {_show(ext)}"))
            continue
        if type(key) is not str:
            out.append((name, f"{name} has a key {_show(key)} that is not a string"))
            continue
        is_definition = key.startswith("extension-definition--")
        if is_definition:
            if _UUID.fullmatch(key, 22) is None:
                out.append((path, f"{path}: 'extension-definition--' must be followed by a UUID"))
        elif not (key.endswith("-ext") and _is_type_name(key)):
            out.append(
                (
                    path,
                    f"{path}: an extension is keyed by its extension-definition id or, for a "
                    "predefined extension, by a name ending in '-ext'",
                )
            )
        if type(ext) is not dict:
            out.append((path, f"{path} must be a JSON object, not {_show(ext)}"))
        elif is_definition:
            kind = ext.get("extension_type", "property-extension")
            if type(kind) is not str or kind not in st.EXTENSION_TYPES:
                out.append(
                    (
                        f"{path}.extension_type",
                        f"{path}.extension_type must be one of "
                        f"{', '.join(sorted(st.EXTENSION_TYPES))}, not {_show(kind)}",
                    )
                )
            if key == TLP2_EXTENSION_ID:
                _tlp2_extension(path, ext, out)


def _custom_property(name: Any, value: Any, out: Problems) -> None:
    """A property the spec does not define for this type: §11.1 names; `_ref(s)` are ids."""
    if type(name) is not str:
        out.append((None, f"property names must be strings, not {_show(name)}"))
        return
    if name.endswith("_ref"):
        _any_ref(name, value, out)
    elif name.endswith("_refs"):
        _any_refs(name, value, out)
    if _PROPERTY_NAME.fullmatch(name) is None:
        out.append(
            (
                name,
                f"property name {_show(name)} is not allowed: custom property names are 3 to 250 "
                "characters of lowercase a-z, 0-9 and _ (STIX 2.1 §11.1)",
            )
        )


# --- rules that tie several properties of one type together --------------------------------


def _indicator(obj: dict[str, Any], out: Problems) -> None:
    pattern = obj.get("pattern")
    if obj.get("pattern_type") == "stix" and type(pattern) is str:
        for message in pattern_errors(pattern):
            out.append(("pattern", f"pattern is not a valid STIX 2.1 pattern: {message}"))


def _location(obj: dict[str, Any], out: Problems) -> None:
    has_latitude, has_longitude = "latitude" in obj, "longitude" in obj
    if not ("region" in obj or "country" in obj or (has_latitude and has_longitude)):
        out.append(("region", "a location needs region, country, or latitude and longitude"))
    if has_latitude != has_longitude:
        missing = "longitude" if has_latitude else "latitude"
        other = "latitude" if has_latitude else "longitude"
        out.append((missing, f"{missing} is required with {other}"))
    if "precision" in obj and not (has_latitude and has_longitude):
        out.append(("precision", "precision is only allowed with latitude and longitude"))


def _malware(obj: dict[str, Any], out: Problems) -> None:
    if obj.get("is_family") is True and "name" not in obj:
        out.append(("name", "name is required on a malware family (is_family is true)"))


def _malware_analysis(obj: dict[str, Any], out: Problems) -> None:
    if "result" not in obj and "analysis_sco_refs" not in obj:
        out.append(("result", "a malware-analysis needs result or analysis_sco_refs"))


def _observed_data(obj: dict[str, Any], out: Problems) -> None:
    if "object_refs" in obj and "objects" in obj:
        out.append(("objects", "objects (deprecated) must not be used together with object_refs"))
    elif "object_refs" not in obj and "objects" not in obj:
        out.append(("object_refs", "object_refs is required on an observed-data"))


def _relationship(obj: dict[str, Any], out: Problems) -> None:
    kind = obj.get("relationship_type")
    if "relationship_type" in obj and (
        type(kind) is not str or _RELATIONSHIP_TYPE.fullmatch(kind) is None
    ):
        out.append(
            (
                "relationship_type",
                "relationship_type must be lowercase a-z, 0-9 and hyphens, such as 'indicates', "
                f"not {_show(kind)}",
            )
        )


def _marking_definition(obj: dict[str, Any], out: Problems) -> None:
    if "definition_type" not in obj and "definition" not in obj:
        if "extensions" not in obj:
            out.append(
                (
                    "definition_type",
                    "a marking-definition needs definition_type and definition, or an extension "
                    "that defines the marking (such as TLP 2.0's)",
                )
            )
        return
    kind, definition = obj.get("definition_type"), obj.get("definition")
    if "definition_type" not in obj:
        out.append(("definition_type", "definition_type is required with definition"))
    elif type(kind) is not str:
        out.append(("definition_type", f"definition_type must be a string, not {_show(kind)}"))
    if "definition" not in obj:
        out.append(("definition", "definition is required with definition_type"))
    elif type(definition) is not dict:
        out.append(("definition", f"definition must be a JSON object, not {_show(definition)}"))
    elif kind == "tlp":
        level = definition.get("tlp")
        if type(level) is not str or level not in _TLP1 or len(definition) != 1:
            out.append(
                (
                    "definition.tlp",
                    'a tlp definition must be exactly {"tlp": level} with level one of white, '
                    f"green, amber and red, not {_show(level)}",
                )
            )
    elif kind == "statement" and type(definition.get("statement")) is not str:
        out.append(("definition.statement", "a statement definition needs a string statement"))


def _language_content(obj: dict[str, Any], out: Problems) -> None:
    contents = obj.get("contents")
    if "contents" not in obj:
        return
    if type(contents) is not dict or not contents:
        out.append(("contents", f"contents must be a non-empty JSON object, not {_show(contents)}"))
        return
    for language, translated in contents.items():
        if type(translated) is not dict or not translated:
            path = f"contents.{language}"
            out.append((path, f"{path} must be a non-empty JSON object, not {_show(translated)}"))


def _extension_definition(obj: dict[str, Any], out: Problems) -> None:
    kinds = obj.get("extension_types")
    if "extension_types" not in obj:
        return
    listed = ", ".join(sorted(st.EXTENSION_TYPES))
    if type(kinds) is not list or not kinds:
        out.append(("extension_types", f"extension_types must be a non-empty list of {listed}"))
        return
    for i, kind in enumerate(kinds):
        if type(kind) is not str or kind not in st.EXTENSION_TYPES:
            path = f"extension_types[{i}]"
            out.append((path, f"{path} must be one of {listed}, not {_show(kind)}"))


_body_raw_ref = _ref(("artifact", "file"), False, frozenset())


def _email_message(obj: dict[str, Any], out: Problems) -> None:
    multipart = obj.get("is_multipart")
    if "body" in obj and multipart is True:
        out.append(("body", "body is only allowed when is_multipart is false"))
    if "body_multipart" not in obj:
        return
    if multipart is False:
        out.append(("body_multipart", "body_multipart is only allowed when is_multipart is true"))
    for path, part in _list_of_dicts("body_multipart", obj["body_multipart"], out):
        if "body" in part:
            _string(f"{path}.body", part["body"], out)
        if "body_raw_ref" in part:
            _body_raw_ref(f"{path}.body_raw_ref", part["body_raw_ref"], out)
        if ("body" in part) == ("body_raw_ref" in part):
            out.append((path, f"{path} must have exactly one of body and body_raw_ref"))


def _artifact(obj: dict[str, Any], out: Problems) -> None:
    if "payload_bin" in obj and "url" in obj:
        out.append(("url", "url must not be given together with payload_bin"))
    if "url" in obj and "hashes" not in obj:
        out.append(("hashes", "hashes is required on an artifact given by url"))


def _file(obj: dict[str, Any], out: Problems) -> None:
    if "name" not in obj and "hashes" not in obj:
        out.append(("name", "a file needs name or hashes"))


def _network_traffic(obj: dict[str, Any], out: Problems) -> None:
    if "src_ref" not in obj and "dst_ref" not in obj:
        out.append(("src_ref", "a network-traffic needs src_ref or dst_ref"))
    if obj.get("is_active") is True and "end" in obj:
        out.append(("end", "end is not allowed while is_active is true"))


def _own_property(obj: dict[str, Any], out: Problems) -> None:
    """process and x509-certificate (§6.11, §6.18): at least one property of their own."""
    if all(key in _SCO_COMMON for key in obj):
        out.append((None, f"{_a(obj['type'])} needs at least one property of its own"))


_RULES: dict[str, Callable[[dict[str, Any], Problems], None]] = {
    "indicator": _indicator,
    "location": _location,
    "malware": _malware,
    "malware-analysis": _malware_analysis,
    "observed-data": _observed_data,
    "relationship": _relationship,
    "marking-definition": _marking_definition,
    "language-content": _language_content,
    "extension-definition": _extension_definition,
    "email-message": _email_message,
    "artifact": _artifact,
    "file": _file,
    "network-traffic": _network_traffic,
    "process": _own_property,
    "x509-certificate": _own_property,
}


# --- the per-type tables, compiled once -----------------------------------------------------


def _timestamp(name: str, value: Any, out: Problems) -> None:
    """Never called: validate_object recognises it and checks timestamps inline."""


_SIMPLE: dict[str, Check | None] = {
    st.STRING: _string,
    st.TIMESTAMP: _timestamp,
    st.BOOLEAN: _boolean,
    st.DICT: _dict,
    st.STRING_LIST: _string_list,
    st.DICT_LIST: _dict_list,
    st.KILL_CHAIN_PHASES: _kill_chain_phases,
    st.HASHES: _hashes,
    st.BY_RULE: None,
}


def _compile(kind: st.Kind) -> Check | None:
    if isinstance(kind, str):
        return _SIMPLE[kind]
    if isinstance(kind, st.Integer):
        return _integer(kind.low, kind.high)
    if isinstance(kind, st.Number):
        return _number(kind.low, kind.high)
    if isinstance(kind, st.OneOf):
        return _one_of(kind.values)
    return _ref(kind.targets, kind.many, kind.not_targets)


# §3.2 common properties, valid on every object; None: checked before the property loop.
_COMMON: dict[str, Check | None] = {
    "type": None,
    "id": None,
    "spec_version": None,
    "created": _timestamp,
    "modified": _timestamp,
    "created_by_ref": _ref(("identity",), False, frozenset()),
    "object_marking_refs": _ref(("marking-definition",), True, frozenset()),
    "granular_markings": _granular_markings,
    "external_references": _external_references,
    "labels": _string_list,
    "confidence": _integer(0, 100),
    "revoked": _boolean,
    "lang": _string,
    "extensions": _extensions,
    "defanged": _boolean,
}


@dataclass(frozen=True, slots=True)
class _Compiled:
    checks: dict[str, Check | None]
    required: tuple[str, ...]
    needs_spec_version: bool
    orderings: tuple[tuple[str, str, bool], ...]
    rule: Callable[[dict[str, Any], Problems], None] | None


def _compiled(type_name: str | None, spec: st.TypeSpec | None) -> _Compiled:
    checks = dict(_COMMON)
    if spec is not None:
        checks.update({name: _compile(kind) for name, kind in spec.properties.items()})
    orderings = tuple(
        o for o in _ORDERINGS if checks.get(o[0]) is _timestamp and checks.get(o[1]) is _timestamp
    )
    return _Compiled(
        checks=checks,
        required=spec.required if spec else (),
        needs_spec_version=spec is not None and spec.category != st.SCO,
        orderings=orderings,
        rule=_RULES.get(type_name or ""),
    )


_BY_TYPE = {name: _compiled(name, spec) for name, spec in st.TYPES.items()}
_CUSTOM = _compiled(None, None)


# --- the public interface -------------------------------------------------------------------


def validate_object(obj: Any, index: int) -> list[ObjectError]:
    """Every problem with one STIX 2.1 object, [] when it may be ingested."""
    if type(obj) is not dict:
        return [
            ObjectError(index, None, None, f"each object must be a JSON object, not {_show(obj)}")
        ]
    out: Problems = []
    type_name = obj.get("type")
    compiled = _CUSTOM
    if type(type_name) is not str or not _is_type_name(type_name):
        message = (
            "type is required"
            if "type" not in obj
            else "type must be 3 to 250 characters of lowercase a-z, 0-9 and single hyphens, "
            f"not {_show(type_name)}"
        )
        out.append(("type", message))
        type_name = None
    elif type_name == "bundle":
        out.append(("type", "type 'bundle' is not allowed for an object: bundles do not nest"))
    else:
        compiled = _BY_TYPE.get(type_name, _CUSTOM)

    object_id = obj.get("id")
    if "id" not in obj:
        out.append(("id", "id is required"))
    elif (id_type := _id_type(object_id)) is None:
        out.append(
            (
                "id",
                f"id must be '{type_name or '<type>'}--' and a UUID, not {_show(object_id)}",
            )
        )
    elif type_name is not None and id_type != type_name:
        out.append(("id", f"id must start with '{type_name}--' to match type, not '{id_type}--'"))

    if "spec_version" in obj:
        if obj["spec_version"] != "2.1":
            out.append(
                (
                    "spec_version",
                    f"spec_version must be '2.1' (only STIX 2.1 is accepted), "
                    f"not {_show(obj['spec_version'])}",
                )
            )
    elif compiled.needs_spec_version:
        out.append(("spec_version", "spec_version is required and must be '2.1'"))

    for name in compiled.required:
        if name not in obj:
            out.append((name, f"{name} is required on {_a(type_name or 'object')}"))

    checks = compiled.checks
    bad_times: list[str] = []
    good_time: Any = _NOTHING  # created, modified and valid_from are often one and the same
    for name, value in obj.items():
        check = checks.get(name, _custom_property)
        if check is _timestamp:
            if value == good_time:
                continue
            if is_timestamp(value):
                good_time = value
            else:
                bad_times.append(name)
                out.append(
                    (name, f"{name} must be {_TIMESTAMP_HINT} of a real date, not {_show(value)}")
                )
        elif check is not None:
            check(name, value, out)

    for earlier, later, equal_ok in compiled.orderings:
        if earlier in obj and later in obj and earlier not in bad_times and later not in bad_times:
            first, last = obj[earlier], obj[later]
            order = _order(first, last)
            if order < 0 or (order == 0 and not equal_ok):
                relation = "later than or equal to" if equal_ok else "later than"
                out.append(
                    (later, f"{later} ({obj[later]}) must be {relation} {earlier} ({obj[earlier]})")
                )
    if compiled.rule is not None:
        compiled.rule(obj, out)

    if not out:
        return []
    id_text = object_id if type(object_id) is str else None
    return [ObjectError(index, id_text, prop, message) for prop, message in out]


def validate_bundle(bundle: Any) -> list[ObjectError]:
    """Bundle-level checks (a dict, type == "bundle", id "bundle--<uuid>", objects a non-empty
    list, no duplicate (id, modified) pairs) then validate_object for each object; returns ALL
    errors (never stops at the first)."""
    if type(bundle) is not dict:
        return [
            ObjectError(None, None, None, f"a bundle must be a JSON object, not {_show(bundle)}")
        ]
    errors: list[ObjectError] = []
    bundle_id = bundle.get("id")
    id_text = bundle_id if type(bundle_id) is str else None

    def bundle_error(prop: str, message: str) -> None:
        errors.append(ObjectError(None, id_text, prop, message))

    if bundle.get("type") != "bundle":
        bundle_error("type", f"a bundle's type must be 'bundle', not {_show(bundle.get('type'))}")
    if _id_type(bundle_id) != "bundle":
        bundle_error(
            "id", f"a bundle's id must be 'bundle--' followed by a UUID, not {_show(bundle_id)}"
        )
    objects = bundle.get("objects")
    if type(objects) is not list or not objects:
        bundle_error(
            "objects", f"objects must be a non-empty list of STIX objects, not {_show(objects)}"
        )
        return errors

    first_seen: dict[tuple[str, str | None], int] = {}
    for index, obj in enumerate(objects):
        found = validate_object(obj, index)
        if found:
            errors += found
        if type(obj) is not dict or type(object_id := obj.get("id")) is not str:
            continue
        version = obj.get("modified")
        if version is not None:
            if found and any(e.property == "modified" for e in found):
                continue
            # Versions are told apart as ingest stores them (to the microsecond), not as spelled.
            version = normalize_timestamp(version)
        first = first_seen.setdefault((object_id, version), index)
        if first != index:
            errors.append(
                ObjectError(
                    index,
                    object_id,
                    "id",
                    f"object {first} has the same id and modified; send each version once",
                )
            )
    return errors
