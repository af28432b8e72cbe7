"""The pattern fast path must never disagree with stix2patterns, and must take the common forms."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldwall.intel.patterns import _fast_verdict, _slow_pattern_errors, pattern_errors

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"

# Shapes seen in real feeds; every one must be decided without stix2patterns.
COMMON = [
    "[ipv4-addr:value = '198.51.100.7']",
    "[ipv6-addr:value = '2001:db8::1']",
    "[domain-name:value = 'evil.example']",
    "[url:value = 'http://evil.example/a?b=c&d=%27e%27']",
    "[email-addr:value = 'phish@evil.example']",
    f"[file:hashes.'SHA-256' = '{SHA256}']",
    f"[file:hashes.MD5 = '{MD5}']",
    f"[file:hashes.'SHA-1' = '{SHA1}']",
    f"[file:hashes.'SHA-256' = '{SHA256}' OR file:hashes.MD5 = '{MD5}']",
    f"[file:name = 'invoice.exe' AND file:hashes.'SHA-1' = '{SHA1}']",
    "[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '203.0.113.9']",
    "[url:value = 'http://x.example/it\\'s']",
    "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software\\\\Run']",
    "[domain-name:value LIKE '%.evil.example']",
    "[domain-name:value MATCHES '^evil\\\\.']",
    "[x-acme-sensor:'alert name' != 'noise']",
    "[ipv4-addr:value = '198.51.100.7']\n",
    # Integer literals and list steps, without hashes (MISP's ip-dst|port, domain|ip, AS).
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = "
    "'203.0.113.5' AND network-traffic:dst_port = 4444]",
    "[domain-name:value = 'c2.example' AND domain-name:resolves_to_refs[*].value = '192.0.2.6']",
    "[autonomous-system:number = 64500]",
    "[file:size > 1024]",
    "[network-traffic:extensions.'http-request-ext'.request_header[*] = 'x']",
    "[a:b[0].c = -1 OR a:b[ +2 ] != +3]",
]

# Valid, but outside the fast path's shape: stix2patterns decides them.
VALID_SLOW = [
    "[ipv4-addr:value IN ('198.51.100.7', '203.0.113.9')]",
    "[file:size >= 1.5]",
    "[file:name NOT = 'a.exe']",
    "[ipv4-addr:value = '198.51.100.7'] FOLLOWEDBY [domain-name:value = 'evil.example']",
    "[network-traffic:dst_port = 443] WITHIN 300 SECONDS",
    "([domain-name:value = 'evil.example'])",
    "[(domain-name:value = 'evil.example')]",
    f"[file:hashes.MD5 = '{MD5}' AND file:size = 1]",
    "[file:created = t'2024-01-01T00:00:00Z']",
]

INVALID = [
    ("ipv4-addr:value = '198.51.100.7'", "missing square brackets"),
    (f"[file:hashes.'SHA-256' = '{MD5}']", f"'{MD5}' is not a valid SHA-256 hash"),
    ("[file:hashes.MD5 = 'not-a-hash']", "'not-a-hash' is not a valid MD5 hash"),
    (f"[file:hashes.SHA-256 = '{SHA256}']", "no viable alternative"),
    ("[domain-name:value = evil.example]", "Error found"),
    ("[url:value = 'it's']", "Error found"),
    ("[1pv4-addr:value = '198.51.100.7']", "Error found"),
    ("[ipv4-addr:val$ue = '198.51.100.7']", "Error found"),
    ("[ipv4-addr:value = '1.2.3.4' and ipv4-addr:value = '5.6.7.8']", "Error found"),
    ("[ipv4-addr:value = '198.51.100.7'] junk", "Error found"),
    ("[ipv4-addr:value = '198.51.100.7'", "Error found"),
    ("[IN:value = 'x']", "mismatched input 'IN'"),
    ("", "could not check"),
    ("[file:hashes[0] = 'x']", "could not check"),
]

# Where a naive regex and the ANTLR lexer part ways.
TRICKY = [
    "[a:b = 'x'ANDa:c = 'y']",  # ANDa is one identifier
    "[a:b = 'x'AND a:c = 'y']",  # ...but AND straight after a string is a keyword
    "[a:bLIKE 'x']",
    "[a:b LIKE'x']",
    "[in:b = 'x']",  # keywords are case-sensitive
    "[true:b = 'x']",
    "[a:b.true = 'x']",
    "[a:b.c-d = 'x']",
    "[a-:b = 'x']",
    "/* comment */[a:b = 'x']",
    "[a:b = 'x'] /* comment */",
    "\u3000[a:b = 'x']\x85",  # STIX whitespace
    "\x1c[a:b = 'x']",  # isspace(), but not STIX whitespace
    "[a:b = 'x\\y']",
    "[a:b = '\x00\ud800\n']",
    "[file : hashes . 'SHA-256' = 'aa']",
    "[file:'hashes'.'S\\'HA-256' = 'aa']",
    f"[file:hashes.MD5 = '{MD5}\n']",  # stix2patterns' `$` lets one trailing newline through
    f"[file:hashes.MD5 = '{MD5}' OR x:hashes.'sha-1' = 'zz' AND y:hashes.'SHA-256' = 'q']",
    "[a:b = 'x'] [a:b = 'y']",
    "[a:b == 'x']",
    "[a:b = = 'x']",
    "[a:b =< 'x']",
    "[a:b <> 'x']",
    "[a:b ! = 'x']",
    "[a:b = h'00']",
    "[a:t'x' = 'y']",
    "[a:b = 0443]",
    "[a:b = -0]",
    "[a:b = +1]",
    "[a:b = - 1]",
    "[a:b = 1AND a:c = 2]",
    "[a:b = 1ANDa:c = 2]",
    "[a:b = 1x]",
    "[a:b = 1.5]",
    "[a:b LIKE 5]",
    "[a:b[ * ] = 1]",
    "[a:b[01] = 'x']",
    "[a:b[+1] = 'x']",
    "[a:b[-1] = 'x']",
    "[a:[0] = 'x']",
    "[a:b[*] = 'x']]",
    "[file:hashes[*] = 'x']",
    "[a:b.IN[0] = 1]",
]


@pytest.mark.parametrize("pattern", COMMON)
def test_common_forms_are_valid_and_decided_by_the_fast_path(pattern: str) -> None:
    assert _fast_verdict(pattern) == []
    assert _slow_pattern_errors(pattern) == []
    assert pattern_errors(pattern) == []


@pytest.mark.parametrize("pattern", VALID_SLOW)
def test_other_valid_forms_go_to_stix2patterns(pattern: str) -> None:
    assert _fast_verdict(pattern) is None
    assert pattern_errors(pattern) == []


@pytest.mark.parametrize(("pattern", "message"), INVALID)
def test_invalid_patterns_are_rejected_with_a_message(pattern: str, message: str) -> None:
    errors = pattern_errors(pattern)
    assert errors
    assert message in " ".join(errors)
    assert not any(error.startswith("FAIL") for error in errors)


def test_a_bad_hash_in_a_common_form_is_rejected_on_the_fast_path() -> None:
    pattern = f"[file:hashes.'SHA-256' = '{MD5}' OR file:hashes.MD5 = '{SHA256}']"
    assert _fast_verdict(pattern) == [
        f"'{MD5}' is not a valid SHA-256 hash",
        f"'{SHA256}' is not a valid MD5 hash",
    ]


@pytest.mark.parametrize("pattern", TRICKY)
def test_tricky_patterns_get_the_stix2patterns_verdict(pattern: str) -> None:
    expected = _slow_pattern_errors(pattern)
    assert pattern_errors(pattern) == expected
    verdict = _fast_verdict(pattern)
    assert verdict is None or verdict == expected


def test_callers_cannot_corrupt_the_cached_verdict() -> None:
    errors = pattern_errors("[ipv4-addr:value = 1]]")
    errors.clear()
    assert pattern_errors("[ipv4-addr:value = 1]]")


# --- the property: a grammar of common forms and their near misses ---------------------------

# STIX whitespace, plus two characters that are str.isspace() but not STIX whitespace.
WHITESPACE = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u2003", "\u3000"]
NOT_WHITESPACE = ["\x1c", "\x1f"]
IDENTIFIER = r"[a-zA-Z_][a-zA-Z0-9_-]{0,8}"
OBJECT_TYPES = ["ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "x-acme"]
BAD_OBJECT_TYPES = ["1pv4-addr", "-file", "IN", "AND", "true", "t", "h", "ipv4 addr", "fïle", ""]
HASH_NAMES = ["'SHA-256'", "MD5", "'SHA-1'", "'sha-256'", "SHA256", "'SHA3-512'", "SSDEEP", "'MD6'"]
KEYS = ["value", "name", "hashes", "x_y", "in", "IN", "true", "NOT", "SHA-256", "1st", "'a b'"]
OPERATORS = ["=", "==", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "MATCHES"]
BAD_OPERATORS = ["like", "IN", "NOT =", "=<", "! =", "===", "= =", ""]
JOINS = [" AND ", " OR ", "AND", "OR ", "\tOR\n", " and ", " or ", " ", " XOR "]
OBSERVATION_JOINS = ["] AND [", "] OR [", "] FOLLOWEDBY [", "] ["]
MUTATION_CHARS = list("'\\[]():.-_=!<>*/ ANDORtfhb09aé\x00\n") + NOT_WHITESPACE


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _spaces(often: str) -> st.SearchStrategy[str]:
    rare = st.text(st.sampled_from(WHITESPACE + NOT_WHITESPACE), max_size=3)
    return st.one_of(st.just(often), st.just(often), st.just(often), rare)


def _hex(length: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789abcdefABCDEF"), min_size=length, max_size=length)


object_types = st.one_of(
    st.sampled_from(OBJECT_TYPES),
    st.sampled_from(OBJECT_TYPES),
    st.sampled_from(BAD_OBJECT_TYPES),
    st.from_regex(IDENTIFIER, fullmatch=True),
)
keys = st.one_of(
    st.sampled_from(KEYS),
    st.from_regex(IDENTIFIER, fullmatch=True),
    st.text(max_size=6).map(_quote),
)
paths = st.one_of(
    st.just("value"),
    st.sampled_from(HASH_NAMES).map("hashes.".__add__),
    st.builds(
        "".join,
        st.lists(
            st.one_of(keys.map(".".__add__), st.sampled_from(["[0]", "[*]", "[-1]"])),
            min_size=1,
            max_size=3,
        ),
    ).map(lambda steps: "a" + steps if steps[0] == "[" else steps[1:]),
)
values = st.one_of(
    st.sampled_from(["'198.51.100.7'", "'evil.example'", "'http://evil.example/x'"]),
    st.sampled_from([32, 40, 64, 63, 128]).flatmap(_hex).map(_quote),
    st.text(max_size=12).map(_quote),
    st.text(max_size=8).map(lambda text: f"'{text}'"),  # unescaped ' and \
    st.sampled_from(["42", "-1", "1.5", "true", "t'2024-01-01T00:00:00Z'", "h'ab'", "b'AA=='"]),
    st.sampled_from(["evil.example", '"quoted"', "''", "'a'b'", "'\\'"]),
)
operators = st.one_of(
    st.sampled_from(OPERATORS), st.sampled_from(OPERATORS), st.sampled_from(BAD_OPERATORS)
)
common_comparisons = st.builds(
    "{}:{} {} {}".format,
    st.sampled_from(OBJECT_TYPES),
    st.one_of(st.just("value"), st.sampled_from(HASH_NAMES).map("hashes.".__add__)),
    st.sampled_from(OPERATORS),
    st.one_of(
        st.sampled_from([32, 40, 64]).flatmap(_hex).map(_quote), st.text(max_size=12).map(_quote)
    ),
)
any_comparisons = st.builds(
    "{}{}:{}{}{}{}{}{}".format,
    object_types,
    _spaces(""),
    _spaces(""),
    paths,
    _spaces(" "),
    operators,
    _spaces(" "),
    values,
)
comparisons = st.one_of(common_comparisons, any_comparisons)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = draw(st.lists(comparisons, min_size=1, max_size=3))
    text = parts[0]
    for part in parts[1:]:
        join = draw(st.sampled_from([" AND ", " OR "]) | st.sampled_from(JOINS + OBSERVATION_JOINS))
        text += join + part
    lead = draw(st.just("") | st.sampled_from([" ", "(", "/*c*/", "\x1c", "\u3000"]))
    trail = draw(st.just("") | st.sampled_from(["\n", " WITHIN 5 SECONDS", " ~", "]", "'"]))
    return f"{lead}[{draw(_spaces(''))}{text}{draw(_spaces(''))}]{trail}"


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(MUTATION_CHARS))
        change = draw(st.sampled_from(["insert", "delete", "replace"]))
        if change == "insert":
            text = text[:at] + char + text[at:]
        elif change == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + char + text[at + 1 :]
    return text


# Near misses of another kind: the right vocabulary in arbitrary order and spacing.
TOKENS = [
    "[",
    "]",
    "(",
    ")",
    ":",
    ".",
    "'",
    "=",
    "!=",
    "<",
    ">",
    "AND",
    "OR",
    "LIKE",
    "file",
    "value",
    "hashes",
    "'SHA-256'",
    "MD5",
    "ipv4-addr",
    "'x'",
    f"'{MD5}'",
    "-",
    "t",
    "/*",
    "*/",
    "\\",
]
token_soup = st.lists(
    st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " "])), max_size=12
).map(lambda pairs: "".join(token + space for token, space in pairs))

any_pattern = st.one_of(
    token_soup,
    patterns(),
    mutated(patterns()),
    patterns(),
    mutated(patterns()),
    st.text(max_size=30),
    st.text(max_size=30).map(lambda text: f"[{text}]"),
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_pattern)
def test_fast_path_never_disagrees_with_stix2patterns(pattern: str) -> None:
    expected = _slow_pattern_errors(pattern)
    verdict = _fast_verdict(pattern)
    assert verdict is None or verdict == expected
    assert bool(pattern_errors(pattern)) == bool(expected)
