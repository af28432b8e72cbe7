"""Rules that tie several properties of one STIX 2.1 type together ("a location needs region,
country, or latitude and longitude"), beyond what each property's own kind says."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shieldwall.intel import stix_types as st
from shieldwall.intel.patterns import pattern_errors
from shieldwall.intel.validate_properties import (
    Problems,
    each_dictionary,
    ref,
    show,
    string,
    with_article,
)
from shieldwall.intel.validate_values import observable_value_problems, pattern_value_problems

Rule = Callable[[dict[str, Any], Problems], None]

_RELATIONSHIP_TYPE = re.compile(r"[a-z0-9-]+")  # §5.1
_TLP1 = frozenset({"white", "green", "amber", "red"})
_SCO_COMMON = frozenset(
    {"type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"}
)


def _indicator(obj: dict[str, Any], out: Problems) -> None:
    pattern = obj.get("pattern")
    if obj.get("pattern_type") == "stix" and type(pattern) is str:
        errors = pattern_errors(pattern)
        for message in errors:
            out.append(("pattern", f"pattern is not a valid STIX 2.1 pattern: {message}"))
        if not errors:
            pattern_value_problems(pattern, out)


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
    embedded = obj.get("objects")
    if type(embedded) is dict:  # deprecated since 2.1 (§4.14), still sent by older tools
        for key, sco in embedded.items():
            if type(sco) is dict:
                observable_value_problems(sco, out, prefix=f"objects.{key}.")
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
                f"not {show(kind)}",
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
        out.append(("definition_type", f"definition_type must be a string, not {show(kind)}"))
    if "definition" not in obj:
        out.append(("definition", "definition is required with definition_type"))
    elif type(definition) is not dict:
        out.append(("definition", f"definition must be a JSON object, not {show(definition)}"))
    elif kind == "tlp":
        level = definition.get("tlp")
        if type(level) is not str or level not in _TLP1 or len(definition) != 1:
            out.append(
                (
                    "definition.tlp",
                    'a tlp definition must be exactly {"tlp": level} with level one of white, '
                    f"green, amber and red, not {show(level)}",
                )
            )
    elif kind == "statement" and type(definition.get("statement")) is not str:
        out.append(("definition.statement", "a statement definition needs a string statement"))


def _language_content(obj: dict[str, Any], out: Problems) -> None:
    contents = obj.get("contents")
    if "contents" not in obj:
        return
    if type(contents) is not dict or not contents:
        out.append(("contents", f"contents must be a non-empty JSON object, not {show(contents)}"))
        return
    for language, translated in contents.items():
        if type(translated) is not dict or not translated:
            path = f"contents.{language}"
            out.append((path, f"{path} must be a non-empty JSON object, not {show(translated)}"))


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
            out.append((path, f"{path} must be one of {listed}, not {show(kind)}"))


_body_raw_ref = ref(("artifact", "file"), False, frozenset())


def _email_message(obj: dict[str, Any], out: Problems) -> None:
    multipart = obj.get("is_multipart")
    if "body" in obj and multipart is True:
        out.append(("body", "body is only allowed when is_multipart is false"))
    if "body_multipart" not in obj:
        return
    if multipart is False:
        out.append(("body_multipart", "body_multipart is only allowed when is_multipart is true"))
    for path, part in each_dictionary("body_multipart", obj["body_multipart"], out):
        if "body" in part:
            string(f"{path}.body", part["body"], out)
        if "body_raw_ref" in part:
            _body_raw_ref(f"{path}.body_raw_ref", part["body_raw_ref"], out)
        if ("body" in part) == ("body_raw_ref" in part):
            out.append((path, f"{path} must have exactly one of body and body_raw_ref"))


def _artifact(obj: dict[str, Any], out: Problems) -> None:
    observable_value_problems(obj, out)
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
        out.append((None, f"{with_article(obj['type'])} needs at least one property of its own"))


# type name -> its rule, for the types that have one.
TYPE_RULES: dict[str, Rule] = {
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
    "domain-name": observable_value_problems,
    "email-addr": observable_value_problems,
    "url": observable_value_problems,
    "file": _file,
    "network-traffic": _network_traffic,
    "process": _own_property,
    "x509-certificate": _own_property,
}
