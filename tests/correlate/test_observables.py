"""Observable values of indicators and SCOs: each kind, the pattern forms, lookups, robustness."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2patterns.v21.pattern import Pattern

from shieldwall.correlate import observables as observables_module
from shieldwall.correlate import values
from shieldwall.correlate.index import key_digest
from shieldwall.correlate.observables import (
    _STRING_LITERAL,
    KINDS,
    Observable,
    guess_kind,
    lookup_key,
    normalise,
    observables_of,
)
from shieldwall.intel.patterns import _STRING
from shieldwall.markings import SHARING_EXTENSION_ID

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA512 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" + (
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)
SSDEEP = "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"
TLSH = "T1" + "A" * 4 + "1" * 66


def indicator(pattern: str, pattern_type: str = "stix") -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2024-05-01T10:00:00.000Z",
        "modified": "2024-05-01T10:00:00.000Z",
        "pattern": pattern,
        "pattern_type": pattern_type,
        "valid_from": "2024-05-01T10:00:00Z",
    }


def pairs(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(observable.kind, observable.value) for observable in observables_of(obj)]


def of_pattern(pattern: str) -> list[tuple[str, str]]:
    return pairs(indicator(pattern))


# --- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "normalised"),
    [
        ("198.51.100.7", "ipv4", "198.51.100.7"),
        (" 198.51.100.7 ", "ipv4", "198.51.100.7"),
        ("198.51.100.7/32", "ipv4", "198.51.100.7"),
        ("10.0.0.5/8", "ipv4-cidr", "10.0.0.0/8"),
        ("10.0.0.0/255.255.0.0", "ipv4-cidr", "10.0.0.0/16"),
        ("2001:DB8:0:0:0:0:0:1", "ipv6", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "ipv6", "2001:db8::1"),
        ("2001:db8::1/128", "ipv6", "2001:db8::1"),
        ("2001:DB8::5/32", "ipv6-cidr", "2001:db8::/32"),
        ("::", "ipv6", "::"),
        # An IPv4-mapped IPv6 address is the IPv4 host (RFC 4291 §2.5.5.2).
        ("::ffff:198.51.100.7", "ipv4", "198.51.100.7"),
    ],
)
def test_addresses_are_canonical(value: str, kind: str, normalised: str) -> None:
    sco_type = "ipv6-addr" if ":" in value else "ipv4-addr"
    assert of_pattern(f"[{sco_type}:value = '{value}']") == [(kind, normalised)]
    assert pairs({"type": sco_type, "id": f"{sco_type}--1", "value": value}) == [(kind, normalised)]


def test_address_and_range_carry_their_integer_interval() -> None:
    (address,) = observables_of(indicator("[ipv4-addr:value = '10.1.2.3']"))
    assert address.low == address.high == (10 << 24) + (1 << 16) + (2 << 8) + 3
    (network,) = observables_of(indicator("[ipv4-addr:value = '10.0.0.5/8']"))
    assert (network.low, network.high) == (10 << 24, (11 << 24) - 1)
    (v6,) = observables_of(indicator("[ipv6-addr:value = '2001:db8::/32']"))
    assert v6.low == 0x20010DB8 << 96
    assert v6.high == (0x20010DB8 << 96) + (1 << 96) - 1
    assert network.low <= address.low <= network.high


def test_an_address_rule_cannot_read_is_kept_verbatim() -> None:
    # Leading zeros are ambiguous (octal or decimal?): ipaddress refuses them, so do we.
    assert of_pattern("[ipv4-addr:value = '010.0.0.1']") == [("other:ipv4-addr:value", "010.0.0.1")]
    assert normalise("ipv4", "010.0.0.1") is None
    assert normalise("ipv4", "2001:db8::1") is None
    assert normalise("ipv6", "198.51.100.7") is None


# --- domains, URLs, e-mail --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("Evil.Example", "evil.example"),
        ("evil.example.", "evil.example"),
        ("Bücher.Example", "xn--bcher-kva.example"),
        # Fullwidth letters (EXAMPLE) map to ASCII (IDNA nameprep).
        ("\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com", "example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        # A 64-character label cannot be IDNA-encoded: lower-case, verbatim.
        ("Ü" + "a" * 63 + ".example", "ü" + "a" * 63 + ".example"),
    ],
)
def test_domains_are_lower_case_idna(value: str, normalised: str) -> None:
    assert of_pattern(f"[domain-name:value = '{value}']") == [("domain", normalised)]
    assert normalise("domain", value) == Observable("domain", normalised)


@pytest.mark.parametrize(
    ("value", "url", "host"),
    [
        ("HTTP://Evil.Example", "http://evil.example/", ("domain", "evil.example")),
        ("http://evil.example:80/a", "http://evil.example/a", ("domain", "evil.example")),
        ("https://evil.example:443/a", "https://evil.example/a", ("domain", "evil.example")),
        ("https://evil.example:8443/a", "https://evil.example:8443/a", ("domain", "evil.example")),
        ("http://evil.example:443/a", "http://evil.example:443/a", ("domain", "evil.example")),
        ("http://Bücher.example/ä", "http://xn--bcher-kva.example/%C3%A4", None),
        (
            "http://evil.example/%7euser/%2fx%2F?q=%41%3d",
            "http://evil.example/~user/%2Fx%2F?q=A%3D",
            None,
        ),
        ("http://evil.example/a/./b/../c#fragment", "http://evil.example/a/c", None),
        ("http://evil.example/a b", "http://evil.example/a%20b", None),
        ("http://User:Pw@evil.example/", "http://User:Pw@evil.example/", None),
        ("http://198.51.100.7:8080/x", "http://198.51.100.7:8080/x", ("ipv4", "198.51.100.7")),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x", ("ipv6", "2001:db8::1")),
    ],
)
def test_urls_are_normalised_and_yield_their_host(
    value: str, url: str, host: tuple[str, str] | None
) -> None:
    found = of_pattern(f"[url:value = '{value}']")
    assert found[0] == ("url", url)
    assert len(found) == 2
    if host is not None:
        assert found[1] == host
    assert normalise("url", value) == Observable("url", url)


def test_a_url_without_authority_is_kept_as_written() -> None:
    assert of_pattern("[url:value = 'evil.example/login.php']") == [
        ("url", "evil.example/login.php")
    ]


def test_a_domain_and_the_urls_on_it_share_an_observable() -> None:
    domain = set(observables_of(indicator("[domain-name:value = 'Evil.Example.']")))
    url = set(observables_of(indicator("[url:value = 'https://EVIL.example/payload']")))
    assert domain & url == {Observable("domain", "evil.example")}


def test_email_addresses_are_lower_case() -> None:
    assert of_pattern("[email-addr:value = 'Bob.Smith@Bücher.Example']") == [
        ("email", "bob.smith@xn--bcher-kva.example")
    ]
    assert normalise("email", "no-at-sign") is None
    assert of_pattern("[email-addr:value = 'no-at-sign']") == [
        ("other:email-addr:value", "no-at-sign")
    ]


# --- hashes and fingerprints ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "kind"),
    [
        ("hashes.MD5", MD5.upper(), "md5"),
        ("hashes.'MD5'", MD5, "md5"),
        ("hashes.'SHA-1'", SHA1.upper(), "sha1"),
        ("hashes.SHA1", SHA1, "sha1"),
        ("hashes.'SHA-256'", SHA256.upper(), "sha256"),
        ("hashes.SHA256", SHA256, "sha256"),
        ("hashes.'SHA-512'", SHA512, "sha512"),
        ("hashes.'sha-512'", SHA512, "sha512"),
    ],
)
def test_hashes_by_algorithm_name(path: str, value: str, kind: str) -> None:
    assert of_pattern(f"[file:{path} = '{value}']") == [(kind, value.lower())]


def test_fuzzy_hashes_are_kept_as_such() -> None:
    assert of_pattern(f"[file:hashes.SSDEEP = '{SSDEEP}']") == [("ssdeep", SSDEEP)]
    assert of_pattern(f"[file:hashes.TLSH = '{TLSH}']") == [("tlsh", TLSH.lower())]


def test_a_hash_that_does_not_fit_its_algorithm_is_kept_verbatim() -> None:
    assert of_pattern(f"[file:hashes.MD5 = '{SHA1}']") == [("other:file:hashes.MD5", SHA1)]
    assert of_pattern(f"[file:hashes.'SHA3-256' = '{SHA256}']") == [
        ("other:file:hashes.'SHA3-256'", SHA256)
    ]


def test_ja3_on_any_path_that_mentions_it() -> None:
    assert of_pattern(f"[network-traffic:extensions.'x-ja3'.hash = '{MD5.upper()}']") == [
        ("ja3", MD5)
    ]
    assert of_pattern(f"[network-traffic:x_ja3 = '{MD5}']") == [("ja3", MD5)]
    assert of_pattern(f"[x-tls-fingerprint:hashes.JA3 = '{MD5}']") == [("ja3", MD5)]
    # JA3S fingerprints the server: another thing. A JA3 path with no hash on it: verbatim.
    assert of_pattern(f"[network-traffic:x_ja3s = '{MD5}']") == [
        ("other:network-traffic:x_ja3s", MD5)
    ]
    assert of_pattern("[network-traffic:x_ja3 = 'n/a']") == [("other:network-traffic:x_ja3", "n/a")]


# --- ASNs, mutexes, registry keys, user agents, the rest ----------------------------------------


def test_asns() -> None:
    assert of_pattern("[autonomous-system:number = 64500]") == [("asn", "AS64500")]
    assert of_pattern("[autonomous-system:number = '64500']") == [("asn", "AS64500")]
    assert pairs({"type": "autonomous-system", "id": "autonomous-system--1", "number": 64500}) == [
        ("asn", "AS64500")
    ]
    assert normalise("asn", "as 64500") == Observable("asn", "AS64500")
    assert normalise("asn", "1.10") == Observable("asn", "AS65546")  # asdot, RFC 5396
    assert normalise("asn", "AS4294967296") is None
    assert normalise("asn", "ASx") is None


def test_mutex_names_are_verbatim() -> None:
    assert of_pattern("[mutex:name = 'Global\\\\MyMutex 1']") == [("mutex", "Global\\MyMutex 1")]


@pytest.mark.parametrize(
    "key",
    [
        "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
        "hklm:\\software\\microsoft\\windows\\currentversion\\run\\",
        "\\REGISTRY\\MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        "HKLM\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run",
    ],
)
def test_registry_keys_have_one_form(key: str) -> None:
    expected = [
        ("registry-key", "hkey_local_machine\\software\\microsoft\\windows\\currentversion\\run")
    ]
    literal = key.replace("\\", "\\\\")
    assert of_pattern(f"[windows-registry-key:key = '{literal}']") == expected
    sco = {"type": "windows-registry-key", "id": "windows-registry-key--1", "key": key}
    assert pairs(sco) == expected


def test_user_agents_are_verbatim() -> None:
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) it\\'s"
    pattern = (
        f"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '{agent}']"
    )
    assert of_pattern(pattern) == [("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) it's")]


def test_values_no_rule_understands_correlate_exactly() -> None:
    assert of_pattern("[file:name = 'Invoice.exe ']") == [("other:file:name", "Invoice.exe ")]
    assert of_pattern("[x-acme-sensor:'alert name' = 'x']") == [
        ("other:x-acme-sensor:'alert name'", "x")
    ]
    # The same place written differently is the same kind: quoting, and any list index.
    assert of_pattern("[x-acme:'a'.b[0].'c' = 'v']") == of_pattern("[x-acme:a.'b'[*].c = 'v']")
    assert of_pattern("[x-acme:a.b[*].c = 'v']") == [("other:x-acme:a.b[*].c", "v")]


def test_values_through_references_are_guessed() -> None:
    assert of_pattern("[email-message:from_ref.value = 'Bob@Evil.Example']") == [
        ("email", "bob@evil.example")
    ]
    assert of_pattern("[network-traffic:dst_ref.value = '198.51.100.7']") == [
        ("ipv4", "198.51.100.7")
    ]
    assert of_pattern("[email-message:to_refs[*].value = 'a@b.example']") == [
        ("email", "a@b.example")
    ]
    assert of_pattern("[network-traffic:src_ref.value = 'aa:bb:cc:dd:ee:ff']") == [
        ("other:network-traffic:src_ref.value", "aa:bb:cc:dd:ee:ff")
    ]


# --- the pattern forms ------------------------------------------------------------------------


def test_escaped_quotes_and_backslashes_in_strings() -> None:
    assert of_pattern(r"[file:name = 'it\'s']") == [("other:file:name", "it's")]
    assert of_pattern(r"[file:name = 'C:\\dir\\']") == [("other:file:name", "C:\\dir\\")]
    assert of_pattern(r"[file:name = '\\\'']") == [("other:file:name", "\\'")]
    # A comparison written inside a string literal is not one.
    assert of_pattern(r"[file:name = 'x\' OR domain-name:value = \'evil.example']") == [
        ("other:file:name", "x' OR domain-name:value = 'evil.example")
    ]


def test_and_or_parentheses_and_observation_expressions() -> None:
    pattern = (
        f"([file:hashes.MD5 = '{MD5}' AND (file:name = 'a.exe' OR file:size = 10)]"
        " OR [domain-name:value = 'evil.example'])"
        " FOLLOWEDBY [ipv4-addr:value = '198.51.100.7'] WITHIN 600 SECONDS"
        " AND [url:value = 'http://evil.example/x'] REPEATS 2 TIMES"
        " START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'"
    )
    assert of_pattern(pattern) == [
        ("md5", MD5),
        ("other:file:name", "a.exe"),
        ("domain", "evil.example"),
        ("ipv4", "198.51.100.7"),
        ("url", "http://evil.example/x"),
    ]


@pytest.mark.parametrize(
    "comparison",
    [
        "domain-name:value != 'evil.example'",
        "domain-name:value <> 'evil.example'",
        "domain-name:value NOT = 'evil.example'",
        "domain-name:value LIKE '%.evil.example'",
        "domain-name:value MATCHES '^evil\\\\.'",
        "domain-name:value IN ('evil.example', 'worse.example')",
        "domain-name:value > 'evil.example'",
        "ipv4-addr:value ISSUBSET '198.51.100.0/24'",
        "ipv4-addr:value ISSUPERSET '198.51.100.0/24'",
        "EXISTS domain-name:value",
        "network-traffic:dst_port = 443",
        "file:is_encrypted = true",
        "file:created = t'2024-01-01T00:00:00Z'",
        "artifact:payload_bin = b'AAAA'",
        "file:size = 1.5",
    ],
)
def test_other_operators_and_non_values_yield_nothing(comparison: str) -> None:
    assert of_pattern(f"[{comparison}]") == []
    assert of_pattern(f"[{comparison} OR file:name = 'x']") == [("other:file:name", "x")]


def test_double_equals_is_equality() -> None:
    assert of_pattern("[domain-name:value == 'evil.example']") == [("domain", "evil.example")]


def test_whitespace_anywhere_the_grammar_allows() -> None:
    assert of_pattern("\n[ file : hashes . 'SHA-256'\t=\n'" + SHA256 + "' ]\n") == [
        ("sha256", SHA256)
    ]


def test_deduplicated_in_stable_order() -> None:
    pattern = (
        "[domain-name:value = 'Evil.Example' OR domain-name:value = 'evil.example.'"
        " OR url:value = 'http://evil.example' OR domain-name:value = 'other.example']"
    )
    assert of_pattern(pattern) == [
        ("domain", "evil.example"),
        ("url", "http://evil.example/"),
        ("domain", "other.example"),
    ]


def test_only_stix_patterns() -> None:
    assert pairs(indicator('alert tcp any any -> any any (msg:"x";)', "snort")) == []
    no_type = indicator("[domain-name:value = 'evil.example']")
    del no_type["pattern_type"]  # STIX 2.0: every pattern was STIX
    assert pairs(no_type) == [("domain", "evil.example")]


# --- cyber observable objects -----------------------------------------------------------------


def test_file_hashes_name_and_extension_hashes() -> None:
    sco = {
        "type": "file",
        "id": "file--1",
        "name": "a.exe",
        "size": 1024,
        "hashes": {"MD5": MD5.upper(), "SHA-256": SHA256, "SSDEEP": SSDEEP},
        "parent_directory_ref": "directory--1",
        "extensions": {
            "windows-pebinary-ext": {
                "pe_type": "exe",
                "number_of_sections": 4,
                "sections": [{"name": ".text", "hashes": {"SHA-1": SHA1}}],
            },
            SHARING_EXTENSION_ID: {
                "extension_type": "property-extension",
                "distribution": "community",
            },
        },
    }
    assert pairs(sco) == [
        ("md5", MD5),
        ("sha256", SHA256),
        ("ssdeep", SSDEEP),
        ("other:file:name", "a.exe"),
        ("sha1", SHA1),
    ]


def test_network_traffic_user_agent_only() -> None:
    sco = {
        "type": "network-traffic",
        "id": "network-traffic--1",
        "dst_ref": "ipv4-addr--1",
        "dst_port": 443,
        "protocols": ["tcp", "http"],
        "extensions": {
            "http-request-ext": {
                "request_method": "get",
                "request_value": "/",
                "request_header": {"Host": "evil.example", "User-Agent": "curl/8.0"},
            }
        },
    }
    assert pairs(sco) == [("user-agent", "curl/8.0")]


@pytest.mark.parametrize(
    ("sco", "expected"),
    [
        ({"type": "domain-name", "value": "Evil.Example."}, [("domain", "evil.example")]),
        (
            {"type": "url", "value": "http://evil.example:80"},
            [("url", "http://evil.example/"), ("domain", "evil.example")],
        ),
        ({"type": "email-addr", "value": "A@B.example"}, [("email", "a@b.example")]),
        ({"type": "mutex", "name": "Global\\x"}, [("mutex", "Global\\x")]),
        (
            {"type": "x509-certificate", "hashes": {"SHA-1": SHA1}, "serial_number": "01:02"},
            [("sha1", SHA1), ("other:x509-certificate:serial_number", "01:02")],
        ),
        ({"type": "artifact", "hashes": {"MD5": MD5}, "payload_bin": "AAAA"}, [("md5", MD5)]),
        (
            {"type": "x-acme-beacon", "value": "b-1", "sleep": 60, "peer_ref": "ipv4-addr--1"},
            [("other:x-acme-beacon:value", "b-1")],
        ),
        ({"type": "domain-name", "value": ""}, []),
        ({"type": "process", "pid": 4}, []),
    ],
)
def test_sco_forms(sco: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    sco = {"id": f"{sco['type']}--1", "spec_version": "2.1", **sco}
    assert pairs(sco) == expected


def test_the_same_value_from_a_pattern_and_an_sco_correlates() -> None:
    pattern = indicator(f"[file:hashes.'SHA-256' = '{SHA256.upper()}' AND file:name = 'a.exe']")
    sco = {"type": "file", "id": "file--1", "hashes": {"SHA-256": SHA256}, "name": "a.exe"}
    assert set(observables_of(pattern)) == set(observables_of(sco))


def test_observed_data_with_embedded_objects() -> None:
    observed = {
        "type": "observed-data",
        "id": "observed-data--1",
        "created": "2024-05-01T10:00:00.000Z",
        "first_observed": "2024-05-01T10:00:00Z",
        "last_observed": "2024-05-01T10:00:00Z",
        "number_observed": 1,
        "objects": {
            "0": {"type": "ipv4-addr", "value": "198.51.100.7"},
            "1": {"type": "domain-name", "value": "evil.example", "resolves_to_refs": ["0"]},
            "2": {"type": "ipv4-addr", "value": "198.51.100.7"},
        },
    }
    assert pairs(observed) == [("ipv4", "198.51.100.7"), ("domain", "evil.example")]


def test_sdos_yield_nothing() -> None:
    malware = {
        "type": "malware",
        "id": "malware--1",
        "created": "2024-05-01T10:00:00.000Z",
        "name": "evil.example",
        "is_family": True,
    }
    assert pairs(malware) == []
    custom_sdo = {"type": "x-acme-case", "id": "x-acme-case--1", "created": "2024", "value": "x"}
    assert pairs(custom_sdo) == []


# --- lookups ----------------------------------------------------------------------------------


def test_lookup_key_and_the_private_lookup_hash() -> None:
    observable = Observable("domain", "example.com")
    assert lookup_key(observable) == "domain:example.com"
    digest = hashlib.sha256(b"domain:example.com").hexdigest()
    assert key_digest(lookup_key(observable)) == digest
    # The client normalises what it holds and sends 5 hex characters; the index, holding the
    # same value from an SCO, finds the same prefix.
    client = normalise("auto", " EXAMPLE.com. ")
    assert client is not None
    (stored,) = observables_of(
        {"type": "domain-name", "id": "domain-name--1", "value": "Example.COM"}
    )
    assert key_digest(lookup_key(client))[:5] == key_digest(lookup_key(stored))[:5] == digest[:5]


def test_normalise_kinds() -> None:
    assert normalise("ipv4-cidr", "10.1.2.3/8") == Observable(
        "ipv4-cidr", "10.0.0.0/8", 10 << 24, (11 << 24) - 1
    )
    assert normalise("md5", MD5.upper()) == Observable("md5", MD5)
    assert normalise("md5", "xyz") is None
    assert normalise("ja3", MD5) == Observable("ja3", MD5)
    assert normalise("other:file:name", " a.exe") == Observable("other:file:name", " a.exe")
    assert normalise("auto", "") is None
    assert normalise("auto", "not a value") is None
    with pytest.raises(ValueError, match="unknown observable kind"):
        normalise("hostname", "x")


def test_every_kind_normalises_something() -> None:
    samples = {
        "ipv4": "198.51.100.7",
        "ipv6": "2001:db8::1",
        "ipv4-cidr": "10.0.0.0/8",
        "ipv6-cidr": "2001:db8::/32",
        "domain": "evil.example",
        "url": "http://evil.example/",
        "email": "a@evil.example",
        "md5": MD5,
        "sha1": SHA1,
        "sha256": SHA256,
        "sha512": SHA512,
        "ssdeep": SSDEEP,
        "tlsh": TLSH,
        "asn": "AS64500",
        "mutex": "m",
        "registry-key": "HKLM\\Software",
        "user-agent": "curl/8.0",
        "ja3": MD5,
    }
    assert set(samples) == KINDS
    for kind, raw in samples.items():
        observable = normalise(kind, raw)
        assert observable is not None and observable.kind == kind


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("198.51.100.7", "ipv4"),
        ("2001:db8::1", "ipv6"),
        ("10.0.0.0/8", "ipv4-cidr"),
        ("10.0.0.1/32", "ipv4"),
        ("2001:db8::/32", "ipv6-cidr"),
        ("https://evil.example/x", "url"),
        ("Bob@Evil.Example", "email"),
        ("evil.example", "domain"),
        ("Bücher.example.", "domain"),
        ("_dmarc.evil.example", "domain"),
        (MD5.upper(), "md5"),
        (SHA1, "sha1"),
        (SHA256, "sha256"),
        (SHA512, "sha512"),
        (SSDEEP, "ssdeep"),
        (TLSH, "tlsh"),
        ("AS64500", "asn"),
        ("as 64500", "asn"),
        ("HKLM\\Software\\Run", "registry-key"),
        ("HKEY_CURRENT_USER\\Software", "registry-key"),
        ("", None),
        ("   ", None),
        ("hello", None),
        ("1.2.3", None),
        ("abcdef", None),
        ("evil.example/login.php", None),
        ("64500", None),
    ],
)
def test_guess_kind(raw: str, kind: str | None) -> None:
    assert guess_kind(raw) == kind


# --- robustness -------------------------------------------------------------------------------

# Pattern pieces: real places (each rule) and custom ones, every operator, awkward values.
_PLACES = [
    "ipv4-addr:value",
    "ipv6-addr:value",
    "domain-name:value",
    "url:value",
    "email-addr:value",
    "file:hashes.MD5",
    "file:hashes.'SHA-256'",
    "file:hashes.SSDEEP",
    "file:hashes.TLSH",
    "autonomous-system:number",
    "mutex:name",
    "windows-registry-key:key",
    "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
    "network-traffic:extensions.'x-ja3'.ja3",
    "email-message:to_refs[*].value",
    "x-acme:'odd \\' key'.b[0]",
]
_OPERATORS = ["=", "==", "!=", "<", ">=", "LIKE", "MATCHES", "NOT =", "ISSUBSET"]


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_values = st.one_of(
    st.text(max_size=40).map(_literal),
    st.sampled_from(
        ["'198.51.100.7/33'", "'[::1'", "'http://[x]:99999/'", "'http://%zz/'", "'@'", "'..'"]
    ).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["true", "t'2024-01-01T00:00:00Z'", "h'ff'", "b'AA=='", "1.5", "('a', 'b')"]),
)
_comparisons = st.builds(
    lambda place, op, value: f"{place} {op} {value}",
    st.sampled_from(_PLACES),
    st.sampled_from(_OPERATORS),
    _values,
)
_observations = st.lists(_comparisons, min_size=1, max_size=4).map(
    lambda comparisons: "[" + " OR ".join(comparisons) + "]"
)
_patterns = st.lists(_observations, min_size=1, max_size=3).map(" AND ".join)


@settings(max_examples=300, deadline=None)
@given(_patterns)
def test_never_raises_on_patterns_of_random_values(pattern: str) -> None:
    for observable in observables_of(indicator(pattern)):
        assert observable.kind in KINDS or observable.kind.startswith("other:")
        assert observable.value
        key_digest(lookup_key(observable))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_never_raises_on_arbitrary_pattern_text(pattern: str) -> None:
    observables_of(indicator(pattern))
    observables_of(indicator("[" + pattern + "]"))


def test_adversarial_patterns_stay_linear() -> None:
    # Never valid, so never stored; but a scan that backtracked over them would stall ingest.
    unterminated = "[x:a = '" + "\\'" * 50_000 + "]"
    sets = "[" + "x:a IN ('a' " * 10_000 + "]"
    started = time.perf_counter()
    assert observables_of(indicator(unterminated)) == ()
    assert observables_of(indicator(sets)) == ()
    assert time.perf_counter() - started < 1.0  # ~0.03 s; quadratic would be ~9 s


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_sco_types = st.sampled_from(
    [
        "ipv4-addr",
        "ipv6-addr",
        "domain-name",
        "url",
        "email-addr",
        "file",
        "artifact",
        "autonomous-system",
        "mutex",
        "windows-registry-key",
        "network-traffic",
        "x509-certificate",
        "x-acme",
        "observed-data",
        "indicator",
    ]
)
_properties = st.sampled_from(
    ["value", "hashes", "name", "number", "key", "extensions", "objects", "pattern", "url"]
) | st.text(max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sco_types, st.dictionaries(_properties, _json, max_size=6))
def test_never_raises_on_random_sco_dicts(sco_type: str, properties: dict[str, Any]) -> None:
    observables = observables_of({**properties, "type": sco_type})
    assert len(set(observables)) == len(observables)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_normalise_and_guess_never_raise(raw: str) -> None:
    for kind in [*KINDS, "auto"]:
        normalise(kind, raw)
    guess_kind(raw)


# --- agreement with the reference parser --------------------------------------------------------


_hextet = st.sampled_from([0, 0, 0, 1, 0xFFFF]) | st.integers(0, 0xFFFF)


@given(st.lists(_hextet, min_size=8, max_size=8), st.sampled_from(["compressed", "exploded"]))
def test_ipv6_read_through_libc_is_what_ipaddress_reads(hextets: list[int], form: str) -> None:
    address = ipaddress.IPv6Address(b"".join(h.to_bytes(2, "big") for h in hextets))
    text = getattr(address, form)
    expected = address.ipv4_mapped or address
    assert normalise("auto", text) == Observable(
        f"ipv{expected.version}", str(expected), int(expected), int(expected)
    )
    assert normalise("auto", text.upper()) == normalise("auto", text)


@given(st.text(max_size=30))
def test_the_unrolled_string_literal_is_the_lexers(text: str) -> None:
    for candidate in (text, f"'{text}'", _literal(text)):
        assert bool(re.fullmatch(_STRING_LITERAL, candidate, re.DOTALL)) == bool(
            re.fullmatch(_STRING, candidate, re.DOTALL)
        )


# (place in a pattern, the kind it yields, the place as stix2patterns' inspector reports it)
_CUSTOM_PLACES = [
    ("x-acme:a", "other:x-acme:a", ("x-acme", ("a",))),
    ("x-acme:'b c'.d", "other:x-acme:'b c'.d", ("x-acme", ("b c", "d"))),
    ("x-acme:e[0].f", "other:x-acme:e[*].f", ("x-acme", ("e", 0, "f"))),
    ("x-acme:'g\\'h'", "other:x-acme:'g\\'h'", ("x-acme", ("g'h",))),
    ("x-other:'a'", "other:x-other:a", ("x-other", ("a",))),
]
_KIND_OF_PLACE = {inspected: kind for _, kind, inspected in _CUSTOM_PLACES}
_custom_comparisons = st.builds(
    lambda place, op, text: f"{place} {op} {_literal(text)}",
    st.sampled_from([place for place, _, _ in _CUSTOM_PLACES]),
    st.sampled_from(["=", "!=", "LIKE", "NOT ="]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=12),
)
_custom_patterns = st.lists(
    st.lists(_custom_comparisons, min_size=1, max_size=3).map(
        lambda comparisons: "[" + " AND ".join(comparisons) + "]"
    ),
    min_size=1,
    max_size=3,
).map(" OR ".join)


@settings(max_examples=150, deadline=None)
@given(_custom_patterns)
def test_equality_comparisons_match_stix2patterns(pattern: str) -> None:
    """The same `=` comparisons as the ANTLR parser finds, on places kept verbatim."""
    expected = set()
    for object_type, comparisons in Pattern(pattern).inspect().comparisons.items():
        for path, operator, literal in comparisons:
            if operator == "=":
                kind = _KIND_OF_PLACE[(object_type, tuple(path))]
                expected.add((kind, re.sub(r"\\(['\\])", r"\1", literal[1:-1])))
    assert set(pairs(indicator(pattern))) == expected


_url_text = st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@/?#%[] \u00e9", max_size=20)


@settings(max_examples=400)
@given(
    st.sampled_from(["http", "https", "ftp", "ws", "wss", "HTTP", "gopher"]),
    st.text(alphabet="abcxyz019-.", min_size=1, max_size=20),
    st.sampled_from(["", ":80", ":443", ":8080", "user@"]),
    _url_text,
)
def test_the_normal_url_fast_path_agrees_with_full_normalisation(
    scheme: str, host: str, extra: str, rest: str
) -> None:
    """url_and_host returns a URL already in normal form as it is; the answer must be the one
    the full normalisation (urlsplit, ports, percent-encoding, dot segments) gives."""
    authority = f"{extra}{host}" if extra.endswith("@") else f"{host}{extra}"
    raw = f"{scheme}://{authority}/{rest}"
    fast = values.url_and_host(raw)
    values._NORMAL_URL, saved = re.compile(r"(?!)"), values._NORMAL_URL  # never matches
    try:
        slow = values.url_and_host(raw)
    finally:
        values._NORMAL_URL = saved
    assert fast == slow


@settings(max_examples=300)
@given(
    st.sampled_from(["ipv4-addr", "ipv6-addr", "domain-name", "url", "file", "email-addr",
                     "mutex", "x-custom", "true", "autonomous-system"]),
    st.sampled_from(["value", "name", "key", "number", "hashes.'SHA-256'", "hashes.'MD5'",
                     "hashes.'x-y'", "false", "other_prop"]),
    st.text(alphabet="abcAZ019.:/-_@ %\u00e9", max_size=40),
)  # fmt: skip
def test_the_common_pattern_path_agrees_with_the_general_one(
    object_type: str, path: str, value: str
) -> None:
    pattern = f"[{object_type}:{path} = '{value}']"
    obj = {"type": "indicator", "pattern": pattern, "pattern_type": "stix"}
    fast = observables_of(obj)
    observables_module._COMMON, saved = re.compile(r"(?!)"), observables_module._COMMON
    try:
        general = observables_of(obj)
    finally:
        observables_module._COMMON = saved
    assert fast == general


def test_an_ipv4_mapped_address_is_its_ipv4_host_whatever_kind_was_asked() -> None:
    host = Observable("ipv4", "0.0.0.0", 0, 0)
    for kind in ("auto", "ipv4", "ipv6"):
        assert normalise(kind, "::ffff:0.0.0.0") == host
    assert normalise("ipv6", "1.2.3.4") is None
