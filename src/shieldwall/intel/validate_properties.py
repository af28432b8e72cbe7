"""Checkers for one STIX 2.1 property each, by kind: strings, lists, ids, hashes, markings, ....

Every checker has the shape `check(name, value, out)` and appends (property, message) to `out` for
each thing wrong with `value`; the validator in `validate.py` picks one per property.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from shieldwall.intel import stix_types as st

Problems = list[tuple[str | None, str]]
Check = Callable[[str, Any, Problems], None]

# §2.9 / OASIS identifier.json: RFC 4122 UUID (version 1-5, variant 10xx).
UUID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
)
_TYPE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")  # §3.1, and no "--"
_PROPERTY_NAME = re.compile(r"[a-z0-9_]{3,250}")  # §11.1 custom property names
_DICT_KEY = re.compile(r"[A-Za-z0-9_-]{1,250}")  # §2.8 dictionary keys
_SELECTOR = re.compile(r"(?:[a-z0-9_-]{3,250}(?:\.(?:\[[0-9]+\]|[a-z0-9_-]{1,250}))*|id)")
# hash-algorithm-ov names (and their common spellings) whose value is hex of a fixed length.
_HEX = re.compile(r"[0-9a-fA-F]+")
_HASH_HEX_LENGTH = {"MD5": 32, "SHA1": 40, "SHA256": 64, "SHA512": 128, "SHA3256": 64,
                    "SHA3512": 128}  # fmt: skip


def show(value: Any) -> str:
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


def with_article(type_name: str) -> str:
    """'an indicator', 'a file': a type name for a message."""
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def is_type_name(value: str) -> bool:
    """A spec type, or a well-formed custom type name (§3.1)."""
    return value in st.TYPES or (_TYPE_NAME.fullmatch(value) is not None and "--" not in value)


# Valid ids seen lately -> their type. The same ids recur all through a bundle (creator,
# markings, refs to objects sent alongside), and a lookup costs a tenth of the regex.
_ID_MEMO: dict[str, str] = {}
_ID_MEMO_SIZE = 16_384


def id_type(value: Any) -> str | None:
    """The type part of a well-formed identifier '<type>--<UUID>' (§2.9), else None."""
    if type(value) is not str:
        return None
    type_name = _ID_MEMO.get(value)
    if type_name is not None:
        return type_name
    type_name, _, uuid = value.rpartition("--")
    if UUID_PATTERN.fullmatch(uuid) is None or not is_type_name(type_name):
        return None
    if len(_ID_MEMO) >= _ID_MEMO_SIZE:
        _ID_MEMO.clear()
    _ID_MEMO[value] = type_name
    return type_name


# --- checks for one property kind: each appends (property, message) for what is wrong ---------


def string(name: str, value: Any, out: Problems) -> None:
    if type(value) is not str:
        out.append((name, f"{name} must be a string, not {show(value)}"))


def boolean(name: str, value: Any, out: Problems) -> None:
    if type(value) is not bool:
        out.append((name, f"{name} must be true or false, not {show(value)}"))


def dictionary(name: str, value: Any, out: Problems) -> None:
    if type(value) is not dict or not value:
        out.append((name, f"{name} must be a non-empty JSON object, not {show(value)}"))


def string_list(name: str, value: Any, out: Problems) -> None:
    if type(value) is not list or not value:
        out.append((name, f"{name} must be a non-empty list of strings, not {show(value)}"))
        return
    for i, item in enumerate(value):
        if type(item) is not str:
            out.append((f"{name}[{i}]", f"{name}[{i}] must be a string, not {show(item)}"))


def dictionary_list(name: str, value: Any, out: Problems) -> None:
    if type(value) is not list or not value:
        out.append((name, f"{name} must be a non-empty list of JSON objects, not {show(value)}"))
        return
    for i, item in enumerate(value):
        if type(item) is not dict:
            out.append((f"{name}[{i}]", f"{name}[{i}] must be a JSON object, not {show(item)}"))


def each_dictionary(name: str, value: Any, out: Problems) -> list[tuple[str, dict[str, Any]]]:
    """(path, item) for each JSON object in a non-empty list; problems for everything else."""
    dictionary_list(name, value, out)
    if type(value) is not list:
        return []
    return [(f"{name}[{i}]", item) for i, item in enumerate(value) if type(item) is dict]


def kill_chain_phases(name: str, value: Any, out: Problems) -> None:
    for path, phase in each_dictionary(name, value, out):
        for key in ("kill_chain_name", "phase_name"):
            if type(phase.get(key)) is not str:
                out.append((f"{path}.{key}", f"{path}.{key} is required and must be a string"))


def hashes(name: str, value: Any, out: Problems) -> None:
    if type(value) is not dict or not value:
        out.append((name, f"{name} must be a non-empty JSON object, not {show(value)}"))
        return
    for algorithm, digest in value.items():
        path = f"{name}.{algorithm}"
        if type(algorithm) is not str or _DICT_KEY.fullmatch(algorithm) is None:
            out.append((name, f"{name} has a key {show(algorithm)} that is not a hash name"))
        elif type(digest) is not str or not digest:
            out.append((path, f"{path} must be a non-empty string, not {show(digest)}"))
        elif (length := _HASH_HEX_LENGTH.get(algorithm.upper().replace("-", ""))) and (
            len(digest) != length or _HEX.fullmatch(digest) is None
        ):
            out.append((path, f"{path} must be {length} hexadecimal digits, not {show(digest)}"))


def integer(low: int | None, high: int | None) -> Check:
    """The checker for an integer within [low, high] (either bound may be open)."""
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
            out.append((name, f"{name} must be {wanted}, not {show(value)}"))

    return check


def number(low: float, high: float | None) -> Check:
    """The checker for a number within [low, high] (high may be open)."""
    wanted = (
        f"a number of at least {low:g}" if high is None else f"a number from {low:g} to {high:g}"
    )

    def check(name: str, value: Any, out: Problems) -> None:
        if (
            type(value) not in (int, float)
            or not value >= low  # also false for NaN
            or (high is not None and value > high)
        ):
            out.append((name, f"{name} must be {wanted}, not {show(value)}"))

    return check


def one_of(values: tuple[str, ...]) -> Check:
    """The checker for a string from a closed vocabulary (an enum)."""
    allowed = frozenset(values)
    listed = ", ".join(values)

    def check(name: str, value: Any, out: Problems) -> None:
        if type(value) is not str or value not in allowed:
            out.append((name, f"{name} must be one of {listed}, not {show(value)}"))

    return check


def ref(targets: tuple[str, ...], many: bool, not_targets: frozenset[str]) -> Check:
    """The checker for an id (or a list of ids) of an object of one of `targets` (any if empty)
    and of none of `not_targets`."""
    allowed = frozenset(targets)
    if targets:
        wanted = " or ".join(with_article(t) for t in targets)
        example = f"{targets[0]}--<UUID>"
    else:
        wanted = "a STIX domain object (SDO)" if not_targets else "a STIX object"
        example = "<type>--<UUID>"

    def one(path: str, value: Any, out: Problems) -> None:
        target = id_type(value)
        if target is None:
            out.append((path, f"{path} must be the id of {wanted} ({example}), not {show(value)}"))
        elif (allowed and target not in allowed) or target in not_targets:
            out.append((path, f"{path} must refer to {wanted}, not {with_article(target)}"))

    if not many:
        return one

    def check(name: str, value: Any, out: Problems) -> None:
        if type(value) is not list or not value:
            out.append((name, f"{name} must be a non-empty list of ids, not {show(value)}"))
            return
        for i, item in enumerate(value):
            target = id_type(item)
            if target is None or (allowed and target not in allowed) or target in not_targets:
                one(f"{name}[{i}]", item, out)

    return check


_any_ref = ref((), False, frozenset())
_any_refs = ref((), True, frozenset())
_marking_ref = ref(("marking-definition",), False, frozenset())


def granular_markings(name: str, value: Any, out: Problems) -> None:
    for path, marking in each_dictionary(name, value, out):
        has_ref, has_lang = "marking_ref" in marking, "lang" in marking
        if has_ref == has_lang:
            out.append((path, f"{path} must have exactly one of marking_ref and lang"))
        elif has_ref:
            _marking_ref(f"{path}.marking_ref", marking["marking_ref"], out)
        else:
            string(f"{path}.lang", marking["lang"], out)
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
                        f"{where} must name a property such as {example}, not {show(selector)}",
                    )
                )


def external_references(name: str, value: Any, out: Problems) -> None:
    for path, reference in each_dictionary(name, value, out):
        if type(reference.get("source_name")) is not str:
            out.append((f"{path}.source_name", f"{path}.source_name is required (a string)"))
        for key in ("description", "url", "external_id"):
            if key in reference:
                string(f"{path}.{key}", reference[key], out)
        if not ("description" in reference or "url" in reference or "external_id" in reference):
            out.append((path, f"{path} needs at least one of description, url and external_id"))
        if "hashes" in reference:
            hashes(f"{path}.hashes", reference["hashes"], out)


# Custom property names found fine that are no reference: a converter's dozen names (x_misp_*,
# x_opencti_*...) come back on every object, and a set answers before the checks below.
_FINE_CUSTOM_NAMES: set[str] = set()
_FINE_CUSTOM_NAMES_KEPT = 10_000  # bounded: names are the senders' to choose


def custom_property(name: Any, value: Any, out: Problems) -> None:
    """A property the spec does not define for this type: §11.1 names; `_ref(s)` are ids."""
    if name in _FINE_CUSTOM_NAMES:  # a dictionary's key: hashable
        return
    if type(name) is not str:
        out.append((None, f"property names must be strings, not {show(name)}"))
        return
    if name.endswith("_ref"):
        _any_ref(name, value, out)
    elif name.endswith("_refs"):
        _any_refs(name, value, out)
    if _PROPERTY_NAME.fullmatch(name) is None:
        out.append(
            (
                name,
                f"property name {show(name)} is not allowed: custom property names are 3 to 250 "
                "characters of lowercase a-z, 0-9 and _ (STIX 2.1 §11.1)",
            )
        )
    elif not name.endswith(("_ref", "_refs")) and len(_FINE_CUSTOM_NAMES) < _FINE_CUSTOM_NAMES_KEPT:
        _FINE_CUSTOM_NAMES.add(name)
