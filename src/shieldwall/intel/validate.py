"""Check STIX 2.1 objects (parsed JSON) before ingest: pure, fast, and exhaustive in its errors.

Written by hand because it sits on the hot ingest path (~10 µs per indicator): the `stix2`
library builds a class instance per object and jsonschema walks a schema tree per object, both
one to two orders of magnitude too slow here. Custom objects, custom properties and extensions
are accepted and left alone (STIX 2.1 §11); only their names have to be well-formed.

This module holds the public interface and the checks every object gets (§3.2 common
properties, timestamp order); `validate_properties` checks one property by its kind,
`validate_extensions` the extensions, `validate_type_rules` what ties properties of a type
together, `validate_storable` what every value must be for both databases to store it (no NUL,
bounded nesting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shieldwall.intel import stix_types as st
from shieldwall.intel import validate_properties as prop
from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.intel.validate_extensions import extensions
from shieldwall.intel.validate_properties import (
    Check,
    Problems,
    custom_property,
    id_type,
    is_type_name,
    show,
    with_article,
)
from shieldwall.intel.validate_storable import storable
from shieldwall.intel.validate_type_rules import TYPE_RULES, Rule
from shieldwall.markings import SHARING_EXTENSION_ID

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


_TIMESTAMP_HINT = "an RFC 3339 UTC timestamp such as '2024-05-01T10:00:00.000Z'"
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


# --- the per-type tables, compiled once -----------------------------------------------------


def _timestamp(name: str, value: Any, out: Problems) -> None:
    """Never called: validate_object recognises it and checks timestamps inline."""


_SIMPLE: dict[str, Check | None] = {
    st.STRING: prop.string,
    st.TIMESTAMP: _timestamp,
    st.BOOLEAN: prop.boolean,
    st.DICT: prop.dictionary,
    st.STRING_LIST: prop.string_list,
    st.DICT_LIST: prop.dictionary_list,
    st.KILL_CHAIN_PHASES: prop.kill_chain_phases,
    st.HASHES: prop.hashes,
    st.BY_RULE: None,
}


def _compile(kind: st.Kind) -> Check | None:
    if isinstance(kind, str):
        return _SIMPLE[kind]
    if isinstance(kind, st.Integer):
        return prop.integer(kind.low, kind.high)
    if isinstance(kind, st.Number):
        return prop.number(kind.low, kind.high)
    if isinstance(kind, st.OneOf):
        return prop.one_of(kind.values)
    return prop.ref(kind.targets, kind.many, kind.not_targets)


# §3.2 common properties, valid on every object; None: checked before the property loop.
_COMMON: dict[str, Check | None] = {
    "type": None,
    "id": None,
    "spec_version": None,
    "created": _timestamp,
    "modified": _timestamp,
    "created_by_ref": prop.ref(("identity",), False, frozenset()),
    "object_marking_refs": prop.ref(("marking-definition",), True, frozenset()),
    "granular_markings": prop.granular_markings,
    "external_references": prop.external_references,
    "labels": prop.string_list,
    "confidence": prop.integer(0, 100),
    "revoked": prop.boolean,
    "lang": prop.string,
    "extensions": extensions,
    "defanged": prop.boolean,
}


@dataclass(frozen=True, slots=True)
class _Compiled:
    checks: dict[str, Check | None]
    required: tuple[str, ...]
    needs_spec_version: bool
    orderings: tuple[tuple[str, str, bool], ...]
    rule: Rule | None


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
        rule=TYPE_RULES.get(type_name or ""),
    )


_BY_TYPE = {name: _compiled(name, spec) for name, spec in st.TYPES.items()}
_CUSTOM = _compiled(None, None)


# --- the public interface -------------------------------------------------------------------


def validate_object(obj: Any, index: int) -> list[ObjectError]:
    """Every problem with one STIX 2.1 object, [] when it may be ingested."""
    if type(obj) is not dict:
        return [
            ObjectError(index, None, None, f"each object must be a JSON object, not {show(obj)}")
        ]
    out: Problems = []
    type_name = obj.get("type")
    compiled = _CUSTOM
    if type(type_name) is not str or not is_type_name(type_name):
        message = (
            "type is required"
            if "type" not in obj
            else "type must be 3 to 250 characters of lowercase a-z, 0-9 and single hyphens, "
            f"not {show(type_name)}"
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
    elif (id_prefix := id_type(object_id)) is None:
        out.append(
            (
                "id",
                f"id must be '{type_name or '<type>'}--' and a UUID, not {show(object_id)}",
            )
        )
    elif type_name is not None and id_prefix != type_name:
        out.append(("id", f"id must start with '{type_name}--' to match type, not '{id_prefix}--'"))

    if "spec_version" in obj:
        if obj["spec_version"] != "2.1":
            out.append(
                (
                    "spec_version",
                    f"spec_version must be '2.1' (only STIX 2.1 is accepted), "
                    f"not {show(obj['spec_version'])}",
                )
            )
    elif compiled.needs_spec_version:
        out.append(("spec_version", "spec_version is required and must be '2.1'"))

    for name in compiled.required:
        if name not in obj:
            out.append((name, f"{name} is required on {with_article(type_name or 'object')}"))

    checks = compiled.checks
    bad_times: list[str] = []
    good_time: Any = _NOTHING  # created, modified and valid_from are often one and the same
    for name, value in obj.items():
        check = checks.get(name, custom_property)
        if check is _timestamp:
            if value == good_time:
                continue
            if is_timestamp(value):
                good_time = value
            else:
                bad_times.append(name)
                out.append(
                    (name, f"{name} must be {_TIMESTAMP_HINT} of a real date, not {show(value)}")
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
    storable(obj, out)

    if not out:
        return []
    id_text = object_id if type(object_id) is str else None
    return [ObjectError(index, id_text, prop, message) for prop, message in out]


def validate_bundle(bundle: Any) -> list[ObjectError]:
    """Bundle-level checks (a dict, type == "bundle", id "bundle--<uuid>", objects a non-empty
    list, no duplicate (id, modified) pairs) then validate_object for each object; returns ALL
    errors (never stops at the first)."""
    errors, objects = bundle_errors(bundle)
    if objects is None:
        return errors
    found = [e for index, obj in enumerate(objects) for e in validate_object(obj, index)]
    return errors + with_duplicates(objects, found)


def bundle_errors(bundle: Any) -> tuple[list[ObjectError], list[Any] | None]:
    """The errors of the bundle itself, and its objects when there are any to validate."""
    if type(bundle) is not dict:
        return [
            ObjectError(None, None, None, f"a bundle must be a JSON object, not {show(bundle)}")
        ], None
    errors: list[ObjectError] = []
    bundle_id = bundle.get("id")
    id_text = bundle_id if type(bundle_id) is str else None

    def bundle_error(prop: str, message: str) -> None:
        errors.append(ObjectError(None, id_text, prop, message))

    if bundle.get("type") != "bundle":
        bundle_error("type", f"a bundle's type must be 'bundle', not {show(bundle.get('type'))}")
    if id_type(bundle_id) != "bundle":
        bundle_error(
            "id", f"a bundle's id must be 'bundle--' followed by a UUID, not {show(bundle_id)}"
        )
    objects = bundle.get("objects")
    if type(objects) is not list or not objects:
        bundle_error(
            "objects", f"objects must be a non-empty list of STIX objects, not {show(objects)}"
        )
        return errors, None
    return errors, objects


def with_duplicates(objects: list[Any], found: list[ObjectError]) -> list[ObjectError]:
    """`found` (validate_object's errors, in object order) with an error added after each object
    that repeats an earlier one's (id, modified)."""
    # Only an id sent more than once can repeat a version: in most bundles none is, and then
    # no timestamp needs normalising (this runs on the ingesting thread, after the workers).
    ids = [i for obj in objects if type(obj) is dict and type(i := obj.get("id")) is str]
    if len(set(ids)) == len(ids):
        return list(found)
    seen: set[str] = set()
    repeated = {i for i in ids if i in seen or seen.add(i)}  # type: ignore[func-returns-value]
    errors: list[ObjectError] = []
    bad_modified = {e.index for e in found if e.property == "modified"}
    first_seen: dict[tuple[str, str | None], int] = {}
    position = 0
    for index, obj in enumerate(objects):
        while position < len(found) and found[position].index == index:
            errors.append(found[position])
            position += 1
        if type(obj) is not dict or type(object_id := obj.get("id")) is not str:
            continue
        if object_id not in repeated:
            continue
        version = obj.get("modified")
        if version is not None:
            if index in bad_modified:
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
    return errors + found[position:]
