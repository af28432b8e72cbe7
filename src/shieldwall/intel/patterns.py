"""STIX 2.1 indicator patterns checked at ingest: a fast path for the common forms, stix2patterns
for the rest.

stix2patterns (the OASIS reference validator, an ANTLR parser) manages a few thousand patterns
a second, well short of the ingest target of 20,000 objects/s. Most patterns in real feeds have
one shape: one observation expression holding comparisons of a property with a quoted string,
joined by AND/OR, e.g. ``[file:hashes.'SHA-256' = '...' OR domain-name:value = 'evil.example']``.
The fast path recognises exactly that shape with one regular expression that mirrors the ANTLR
lexer token by token, and hands everything else, valid or not, to stix2patterns. A wider one
also takes integer literals (`network-traffic:dst_port = 443`) and list steps in paths
(`domain-name:resolves_to_refs[*].value`), as MISP's `ip-dst|port` and `domain|ip` become, when
no `hashes` is in the pattern: stix2patterns checks nothing else of a comparison once it parses
(its object validator looks only at hashes, and chokes on a list step after one). It only ever
decides what stix2patterns would decide; the property test in tests/intel/test_patterns.py holds
it to that.
"""

from __future__ import annotations

import functools
import re
from types import SimpleNamespace

from stix2patterns.v21 import object_validator
from stix2patterns.validator import run_validator

# Exactly the characters the STIX 2.1 lexer's WS rule skips (checked over every code point
# against stix2patterns 2.1.2). All of them are str.isspace(), so the validator's separate
# "starts with [" check passes too; 0x1c-0x1f are isspace() but lex as InvalidCharacter, and
# are deliberately absent.
WS = "[ \t\n\r\x0b\x0c\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"

# Keywords are case-sensitive in 2.1 and win over identifiers of the same length, so a property
# called `IN` or an object type called `true` is a syntax error while `in` is fine.
_KEYWORDS = (
    "AND|OR|NOT|FOLLOWEDBY|LIKE|MATCHES|ISSUPERSET|ISSUBSET|EXISTS|LAST|IN|START|STOP|SECONDS"
    "|true|false|WITHIN|REPEATS|TIMES"
)
# The lexer takes the longest match: `ANDa` is one identifier, not AND followed by `a`.
WORD_END = "(?![a-zA-Z0-9_-])"
_NOT_KEYWORD = f"(?!(?:{_KEYWORDS}){WORD_END})"
# objectType: IdentifierWithoutHyphen | IdentifierWithHyphen.
OBJECT_TYPE = f"{_NOT_KEYWORD}[a-zA-Z_][a-zA-Z0-9_-]*{WORD_END}"
# Path keys: IdentifierWithoutHyphen | StringLiteral (`hashes.SHA-256` is a syntax error).
KEY = f"{_NOT_KEYWORD}[a-zA-Z_][a-zA-Z0-9_]*{WORD_END}"
# StringLiteral: only \' and \\ are escapes; any other character, newline included, stands.
_STRING = r"'(?:[^'\\]|\\['\\])*'"
# Every one of these takes a StringLiteral on its right (propTestEqual/Order/Like/Regex).
_OPERATOR = f"==|=|!=|<>|<=|>=|<|>|(?:LIKE|MATCHES){WORD_END}"

_COMPARISON = (
    f"{OBJECT_TYPE}{WS}:{WS}(?:{KEY}|{_STRING})"
    f"(?:{WS}\\.{WS}(?:{KEY}|{_STRING}))*"
    f"{WS}(?:{_OPERATOR}){WS}{_STRING}"
)
_FAST_PATTERN = re.compile(
    f"{WS}\\[{WS}{_COMPARISON}(?:{WS}(?:AND|OR){WORD_END}{WS}{_COMPARISON})*{WS}\\]{WS}"
)
# IntPosLiteral and IntNegLiteral; they compare with the equality and order operators only.
_INT = "[+-]?(?:0|[1-9][0-9]*)"
_INT_OPERATOR = "==|=|!=|<>|<=|>=|<|>"
# objectPathComponent: `. key`, `. 'string'` or `[ index ]`, `[ * ]` (STIX 2.1 §9.5). A
# negative index is valid too, but stix2patterns 2.1.2 crashes on it: not here.
_STEP = f"(?:{WS}\\.{WS}(?:{KEY}|{_STRING})|{WS}\\[{WS}(?:\\*|\\+?(?:0|[1-9][0-9]*)){WS}\\])"
_WIDE_COMPARISON = (
    f"{OBJECT_TYPE}{WS}:{WS}(?:{KEY}|{_STRING}){_STEP}*"
    f"{WS}(?:(?:{_OPERATOR}){WS}{_STRING}|(?:{_INT_OPERATOR}){WS}{_INT})"
)
_WIDE_PATTERN = re.compile(
    f"{WS}\\[{WS}{_WIDE_COMPARISON}(?:{WS}(?:AND|OR){WORD_END}{WS}{_WIDE_COMPARISON})*{WS}\\]{WS}"
)
# Splits a pattern already matched by _FAST_PATTERN into its tokens, in order.
_TOKEN = re.compile(
    f"{WS}(?:(?P<string>{_STRING})|(?P<word>[a-zA-Z_][a-zA-Z0-9_-]*)"
    f"|(?P<punct>==|!=|<>|<=|>=|[=<>:.\\[\\]]))"
)

# The commonest patterns: one comparison written the plain way, a hash (`[file:hashes.'SHA-256'
# = '<hex>']`, `[file:hashes.MD5 = '<hex>']`) or a value (`[domain-name:value = 'x']`). Every
# pattern this matches _FAST_PATTERN matches too, and _comparisons would read it as these groups
# say: read from them, a hash pattern costs ~2 µs instead of ~11 (the token scan walked the hex
# digits through _STRING), a value pattern ~0.5 instead of ~1.
_PLAIN = re.compile(
    f"\\[({OBJECT_TYPE}):(?:hashes\\.(?:'([A-Za-z0-9-]+)'|({KEY}))|({KEY})) = ('[^'\\\\]*')\\]"
)

# The slow-path cache is bounded in size as well as entries: 1,024 patterns of at most 4 KiB.
_SLOW_CACHE_MAX_LENGTH = 4096


def pattern_errors(pattern: str) -> list[str]:
    """[] when the STIX 2.1 pattern is valid, else human-readable messages."""
    verdict = _fast_verdict(pattern)
    if verdict is None:
        return _slow_pattern_errors(pattern)
    return verdict


def _fast_verdict(pattern: str) -> list[str] | None:
    """The verdict for the common forms, or None when only stix2patterns can tell."""
    plain = _PLAIN.fullmatch(pattern)
    if plain is not None:
        object_type, quoted, bare, key, value = plain.groups()
        if key is None:
            path = ["hashes", quoted if quoted is not None else bare]
            return _hash_verdict({object_type: [(path, "=", value)]})
        if key != "hashes":  # verify_object looks at nothing else
            return []
    if _FAST_PATTERN.fullmatch(pattern) is None:
        if "hashes" not in pattern and _WIDE_PATTERN.fullmatch(pattern) is not None:
            return []
        return None
    # A path component can only unquote to "hashes" if its text holds it: escapes yield ' or \.
    if "hashes" not in pattern:
        return []
    # Same hash check as stix2patterns, fed the same (type, path, op, value) data its
    # InspectionListener would collect, so verdict and messages both match.
    return _hash_verdict(_comparisons(pattern))


def _hash_verdict(comparisons: dict[str, list[tuple[list[str], str, str]]]) -> list[str]:
    """stix2patterns' hash check of the comparisons its inspector would have collected."""
    data = SimpleNamespace(comparisons=comparisons)
    return [_readable(message) for message in object_validator.verify_object(data)]


def _slow_pattern_errors(pattern: str) -> list[str]:
    """stix2patterns' verdict; a fresh list every call, the cache keeps tuples."""
    if len(pattern) > _SLOW_CACHE_MAX_LENGTH:
        return list(_slow_uncached(pattern))
    return list(_slow_cached(pattern))


def _slow_uncached(pattern: str) -> tuple[str, ...]:
    try:
        errors = run_validator(pattern, stix_version="2.1")
    except Exception as exc:
        # stix2patterns 2.1.2 crashes on some inputs ('' gives UnboundLocalError, an index step
        # after `hashes` an AttributeError); a pattern it cannot check is not accepted.
        return (f"stix2patterns could not check this pattern ({type(exc).__name__}: {exc})",)
    return tuple(_readable(message) for message in errors)


_slow_cached = functools.lru_cache(maxsize=1024)(_slow_uncached)


def _readable(message: str) -> str:
    return message.removeprefix("FAIL: ")


def _comparisons(pattern: str) -> dict[str, list[tuple[list[str], str, str]]]:
    """Object type -> [(path, operator, value literal)], as stix2patterns' inspector builds it.

    Only for patterns _FAST_PATTERN has matched: their tokens run
    `[ type : key (. key)* op value ((AND|OR) type : key (. key)* op value)* ]`.
    """
    tokens = [match[match.lastgroup] for match in _TOKEN.finditer(pattern)]
    comparisons: dict[str, list[tuple[list[str], str, str]]] = {}
    index = 1  # past "["
    while tokens[index] != "]":
        object_type = tokens[index]
        path = [_unquote(tokens[index + 2])]
        index += 3
        while tokens[index] == ".":
            path.append(_unquote(tokens[index + 1]))
            index += 2
        operator, value = tokens[index], tokens[index + 1]
        comparisons.setdefault(object_type, []).append((path, operator, value))
        index += 2
        if tokens[index] in ("AND", "OR"):
            index += 1
    return comparisons


def _unquote(component: str) -> str:
    """A path component as stix2patterns' inspector reads it (its unescape order included)."""
    if component.startswith("'"):
        return component[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    return component
