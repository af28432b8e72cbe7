"""What every value in an object must be for both databases to store it and the server to write
it back: no NUL character in any string or key, and no deeper nesting than MAX_NESTING.

PostgreSQL cannot store a NUL (U+0000) in text or read one out of JSON; SQLite can. Rather than
two backends that disagree, a NUL is refused everywhere with a 422 naming where it is (STIX has no
use for it). Nesting: the JSON reader accepts 1,024 levels but the writer stops at 254, so an
object nested 254 levels deep was accepted and then could not be written (a 500, a traceback
from `shieldwall import`). MAX_NESTING sits well below the writer's limit, leaving room for what
wraps stored objects when they are written (bundles, envelopes, lists), and far above anything
STIX needs (an extension's list of dictionaries of hashes is five levels).

Every object is checked, so it is written for the ingest path: properties whose values are
plain strings are looked at once, and only containers are walked; where something is found it
is walked again to name the property.
"""

from __future__ import annotations

from typing import Any

from shieldwall.intel.validate_properties import Problems

MAX_NESTING = 64  # levels of JSON objects and lists inside an object's property
NUL = "\x00"


def storable(obj: dict[str, Any], out: Problems) -> None:
    """Append (property, message) for each NUL and each property nested too deep in `obj`.
    Top-level property names are checked by name elsewhere (a NUL is not a valid name)."""
    for name, value in obj.items():
        kind = type(value)
        if kind is str:
            if NUL in value:
                out.append((name, _nul_message(name)))
        elif (kind is dict or kind is list) and not _fine(value, MAX_NESTING):
            _problems(name, value, MAX_NESTING, out)


def _fine(value: Any, levels: int) -> bool:
    """Whether a container holds no NUL and nests at most `levels` deep (itself included)."""
    if levels <= 0:
        return False
    if type(value) is dict:
        for key, item in value.items():
            if NUL in key:
                return False
            kind = type(item)
            if kind is str:
                if NUL in item:
                    return False
            elif (kind is dict or kind is list) and not _fine(item, levels - 1):
                return False
        return True
    for item in value:
        kind = type(item)
        if kind is str:
            if NUL in item:
                return False
        elif (kind is dict or kind is list) and not _fine(item, levels - 1):
            return False
    return True


def nul_problems(path: str, value: Any, out: Problems) -> None:
    """(where, message) for each NUL in any JSON value (a request's body), keys included."""
    if type(value) is str:
        if NUL in value:
            out.append((path, _nul_message(path)))
    elif (type(value) is dict or type(value) is list) and not _fine(value, MAX_NESTING):
        _problems(path, value, MAX_NESTING, out)


def _problems(path: str, value: Any, levels: int, out: Problems) -> None:
    """The slow walk of a container `_fine` refused: where each problem is."""
    if levels <= 0:
        top = path.split(".")[0].split("[")[0]
        message = (
            f"{top} nests JSON objects and lists more than {MAX_NESTING} levels deep, which "
            "this platform does not store"
        )
        if (top, message) not in out:
            out.append((top, message))
        return
    if type(value) is dict:
        items = [(f"{path}.{_shown(key)}", key, item) for key, item in value.items()]
    else:
        items = [(f"{path}[{i}]", None, item) for i, item in enumerate(value)]
    for where, key, item in items:
        if key is not None and NUL in key:
            out.append((path, f"{path} has a key holding a NUL character (U+0000), not allowed"))
        kind = type(item)
        if kind is str:
            if NUL in item:
                out.append((where, _nul_message(where)))
        elif kind is dict or kind is list:
            _problems(where, item, levels - 1, out)


def _shown(key: str) -> str:
    """A key as a path shows it: a NUL written as JSON would, not as the character itself."""
    return key.replace(NUL, "\\u0000")


def _nul_message(where: str) -> str:
    return f"{where} holds a NUL character (U+0000), which no string here may hold"
