"""STIX 2.1 validation: every spec type passes, every rule fails with a message naming its
property, custom content is left alone, and junk never raises."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
import stix2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from shieldwall.intel import stix_types
from shieldwall.intel.validate import (
    SHARING_EXTENSION_ID,
    ObjectError,
    validate_bundle,
    validate_object,
)
from shieldwall.markings import (
    TLP,
    TLP2_EXTENSION_ID,
    sharing_extension_definition,
    shieldwall_project_identity,
    tlp_marking_definitions,
)

T0 = "2026-01-15T10:00:00.000Z"
T1 = "2026-02-01T08:30:00Z"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
GROUP = "0b5f8c1e-2d4a-4e6f-9a1b-3c5d7e9f1a2b"


def sid(type_: str) -> str:
    return f"{type_}--{uuid.uuid4()}"


# --- factory: one minimal valid object per STIX 2.1 type -------------------------------------

_SPECIFIC: dict[str, dict[str, Any]] = {
    "attack-pattern": {"name": "Spearphishing Attachment"},
    "campaign": {"name": "Operation Frostbite", "first_seen": T0, "last_seen": T1},
    "course-of-action": {"name": "Block the C2 address"},
    "grouping": {"context": "suspicious-activity", "object_refs": [sid("indicator")]},
    "identity": {"name": "CERT-EXAMPLE", "identity_class": "organization"},
    "incident": {"name": "Ransomware at a water utility"},
    "indicator": {
        "name": "C2 address",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": T0,
        "valid_until": T1,
    },
    "infrastructure": {"name": "Botnet C2 tier"},
    "intrusion-set": {"name": "Grey Heron", "aliases": ["GH"]},
    "location": {"region": "northern-europe"},
    "malware": {"name": "Emotet", "is_family": True},
    "malware-analysis": {"product": "sandbox-x", "result": "malicious"},
    "note": {"content": "Seen again this week.", "object_refs": [sid("indicator")]},
    "observed-data": {
        "first_observed": T0,
        "last_observed": T1,
        "number_observed": 3,
        "object_refs": [sid("ipv4-addr")],
    },
    "opinion": {"opinion": "agree", "object_refs": [sid("report")]},
    "report": {"name": "Weekly summary", "published": T1, "object_refs": [sid("indicator")]},
    "threat-actor": {"name": "Grey Heron operators"},
    "tool": {"name": "Cobalt Strike"},
    "vulnerability": {"name": "CVE-2024-3400"},
    "relationship": {
        "relationship_type": "indicates",
        "source_ref": sid("indicator"),
        "target_ref": sid("malware"),
        "start_time": T0,
        "stop_time": T1,
    },
    "sighting": {
        "sighting_of_ref": sid("indicator"),
        "count": 2,
        "where_sighted_refs": [sid("identity")],
        "observed_data_refs": [sid("observed-data")],
    },
    "artifact": {"payload_bin": "aGVsbG8=", "mime_type": "text/plain"},
    "autonomous-system": {"number": 64496, "name": "Example AS"},
    "directory": {"path": "C:\\Windows\\Temp"},
    "domain-name": {"value": "evil.example"},
    "email-addr": {"value": "phish@evil.example"},
    "email-message": {"is_multipart": False, "subject": "Invoice", "body": "see attachment"},
    "file": {"name": "invoice.exe", "hashes": {"SHA-256": SHA256, "MD5": MD5}},
    "ipv4-addr": {"value": "198.51.100.7"},
    "ipv6-addr": {"value": "2001:db8::1"},
    "mac-addr": {"value": "00:00:5e:00:53:01"},
    "mutex": {"name": "Global\\evil"},
    "network-traffic": {"protocols": ["ipv4", "tcp"], "dst_ref": sid("ipv4-addr"), "dst_port": 443},
    "process": {"pid": 4242, "command_line": "evil.exe -q"},
    "software": {"name": "Acme Reader", "version": "1.0"},
    "url": {"value": "http://evil.example/a"},
    "user-account": {"user_id": "1001", "account_login": "jdoe"},
    "windows-registry-key": {"key": "HKEY_LOCAL_MACHINE\\Software\\Run"},
    "x509-certificate": {"serial_number": "36:f7:d4:32:f4:ab:70:ea"},
    "marking-definition": {"definition_type": "statement", "definition": {"statement": "(c) Us"}},
    "language-content": {
        "object_ref": sid("report"),
        "object_modified": T0,
        "contents": {"de": {"name": "Wochenbericht"}},
    },
    "extension-definition": {
        "created_by_ref": sid("identity"),
        "name": "Acme extension",
        "schema": "https://acme.example/schema.json",
        "version": "1.0.0",
        "extension_types": ["property-extension"],
    },
}


def make(type_: str, **overrides: Any) -> dict[str, Any]:
    """A valid STIX 2.1 object of `type_`; an override of None drops that property."""
    spec = stix_types.TYPES[type_]
    obj: dict[str, Any] = {"type": type_, "id": sid(type_)}
    if spec.category != stix_types.SCO:
        obj["spec_version"] = "2.1"
        obj["created"] = T0
        if type_ != "marking-definition":
            obj["modified"] = T0
    obj.update(copy.deepcopy(_SPECIFIC[type_]))
    for key, value in overrides.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


def custom(type_: str, **props: Any) -> dict[str, Any]:
    """A custom object (STIX 2.1 §11.2) of `type_`."""
    return {"type": type_, "id": sid(type_), "spec_version": "2.1", "created": T0, "modified": T0,
            **props}  # fmt: skip


def errors(obj: Any) -> list[ObjectError]:
    return validate_object(obj, 7)


def assert_error(obj: Any, prop: str | None, *fragments: str) -> ObjectError:
    """Exactly the errors of `obj` include one on `prop` whose message has every fragment and,
    as every message must, names the property."""
    found = errors(obj)
    matching = [e for e in found if e.property == prop]
    assert matching, f"no error on {prop!r}; got {found}"
    error = matching[0]
    assert error.index == 7
    for fragment in fragments:
        assert fragment in error.message, error.message
    if prop is not None:
        assert prop.split("[")[0].split(".")[0][:40] in error.message, error.message
    return error


def test_the_factory_covers_every_stix_type() -> None:
    assert set(_SPECIFIC) == set(stix_types.TYPES)


@pytest.mark.parametrize("type_", sorted(stix_types.TYPES))
def test_a_valid_object_of_every_type_passes(type_: str) -> None:
    assert errors(make(type_)) == []


# --- objects the stix2 library produces -------------------------------------------------------


def _stix2_objects() -> list[Any]:
    identity = stix2.Identity(name="CERT-EXAMPLE", identity_class="organization")
    indicator = stix2.Indicator(
        name="C2",
        pattern=f"[file:hashes.'SHA-256' = '{SHA256}']",
        pattern_type="stix",
        valid_from="2026-01-15T10:00:00Z",
        created_by_ref=identity.id,
        object_marking_refs=[stix2.TLP_AMBER],
        labels=["malicious-activity"],
        confidence=80,
        kill_chain_phases=[{"kill_chain_name": "mandiant", "phase_name": "c2"}],
        external_references=[{"source_name": "acme", "url": "https://acme.example/r/1"}],
    )
    malware = stix2.Malware(name="Emotet", is_family=True, malware_types=["trojan"])
    ip = stix2.IPv4Address(value="198.51.100.7")
    file = stix2.File(name="a.exe", hashes={"SHA-256": SHA256})
    observed = stix2.ObservedData(
        first_observed=T0, last_observed=T1, number_observed=1, object_refs=[ip.id]
    )
    return [
        identity,
        indicator,
        malware,
        ip,
        file,
        observed,
        stix2.TLP_WHITE,
        stix2.TLP_RED,
        stix2.Relationship(indicator, "indicates", malware),
        stix2.Sighting(sighting_of_ref=indicator.id, where_sighted_refs=[identity.id], count=3),
        stix2.Report(name="R", published=T1, object_refs=[indicator.id, malware.id]),
        stix2.Location(latitude=52.1, longitude=4.3, precision=1000.0),
        stix2.Note(content="n", object_refs=[indicator.id]),
        stix2.Opinion(opinion="strongly-agree", object_refs=[indicator.id]),
        stix2.Grouping(context="unspecified", object_refs=[malware.id]),
        stix2.AttackPattern(name="Phishing", aliases=["T1566"]),
        stix2.Campaign(name="Op", first_seen=T0, last_seen=T1),
        stix2.ThreatActor(name="TA", threat_actor_types=["crime-syndicate"]),
        stix2.MalwareAnalysis(product="sandbox", analysis_sco_refs=[file.id]),
        stix2.Infrastructure(name="C2"),
        stix2.Vulnerability(name="CVE-2024-3400"),
        stix2.DomainName(value="evil.example", resolves_to_refs=[ip.id]),
        stix2.NetworkTraffic(protocols=["tcp"], src_ref=ip.id, start=T0, end=T1, is_active=False),
        stix2.EmailMessage(is_multipart=False, subject="Invoice", body="x"),
        stix2.LanguageContent(object_ref=indicator.id, contents={"fr": {"name": "C2"}}),
        stix2.ExtensionDefinition(
            created_by_ref=identity.id,
            name="Acme",
            schema="https://acme.example/s.json",
            version="1.0",
            extension_types=["property-extension"],
        ),
    ]


@pytest.mark.parametrize("obj", _stix2_objects(), ids=lambda o: o["type"])
def test_objects_made_by_the_stix2_library_pass(obj: Any) -> None:
    assert errors(json.loads(obj.serialize())) == []


def test_a_stix2_bundle_passes_as_a_whole() -> None:
    bundle = stix2.Bundle(objects=_stix2_objects())
    assert validate_bundle(json.loads(bundle.serialize())) == []


# --- common properties -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("Indicator", "lowercase"),
        ("ab", "3 to 250"),
        ("x--acme", "single hyphens"),
        ("-acme", "lowercase"),
        ("x" * 251, "3 to 250"),
        (42, "not 42"),
    ],
)
def test_type_must_be_a_stix_type_name(value: Any, fragment: str) -> None:
    assert_error(make("indicator", type=value), "type", fragment)


def test_type_is_required_and_a_bundle_is_not_an_object() -> None:
    assert_error(make("indicator", type=None), "type", "required")
    assert_error({**make("indicator"), "type": "bundle", "id": sid("bundle")}, "type", "bundle")


@pytest.mark.parametrize(
    "value",
    [
        "indicator--not-a-uuid",
        "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f",  # not the RFC 4122 variant
        "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f ",
        17,
    ],
)
def test_id_must_be_type_and_uuid(value: Any) -> None:
    assert_error(make("indicator", id=value), "id", "UUID")


def test_id_must_match_type_and_is_required() -> None:
    assert_error(make("indicator", id=sid("malware")), "id", "'indicator--'", "'malware--'")
    assert_error(make("indicator", id=None), "id", "required")


def test_an_error_carries_the_object_id_only_when_it_is_a_string() -> None:
    obj = make("indicator", name=5)
    assert errors(obj)[0].id == obj["id"]
    assert {e.id for e in errors(make("indicator", id=["x"], name=5))} == {None}


@pytest.mark.parametrize("type_", ["indicator", "relationship", "marking-definition"])
def test_spec_version_is_required_except_on_observables(type_: str) -> None:
    assert_error(make(type_, spec_version=None), "spec_version", "required", "2.1")
    assert_error(make(type_, spec_version="2.0"), "spec_version", "'2.1'", '"2.0"')
    assert errors(make("ipv4-addr")) == []
    assert errors(make("ipv4-addr", spec_version="2.1")) == []
    assert_error(make("ipv4-addr", spec_version="2.0"), "spec_version", "2.1")


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-01-15 10:00:00Z",
        "2026-01-15T10:00:00",
        "2026-01-15T10:00:00+00:00",
        "2026-01-15T10:00Z",
        "2026-02-30T10:00:00Z",
        "2025-02-29T10:00:00Z",
        "1900-02-29T10:00:00Z",
        "2026-04-31T10:00:00Z",
        "2026-13-01T10:00:00Z",
        "2026-01-15T24:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-01-15T10:00:00.Z",
        "2026-01-15T10:00:00.000z",
        "\uff12\uff10\uff12\uff16-01-15T10:00:00Z",  # fullwidth digits
        "2026-01-15T10:00:00Z\n",
        1768471200,
        None,
        "",
    ],
)
def test_timestamps_must_be_rfc3339_utc_and_real(value: Any) -> None:
    obj = make("indicator")
    obj["valid_from"] = value  # make() would drop a None
    assert_error(obj, "valid_from", "RFC 3339", "real date")


@pytest.mark.parametrize(
    "value",
    ["2024-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "2026-12-31T23:59:60.123456789Z"],
)
def test_leap_days_and_leap_seconds_are_timestamps(value: Any) -> None:
    obj = make("indicator", created=value, modified=value, valid_from=value, valid_until=None)
    assert errors(obj) == []


def test_timestamps_are_checked_on_every_type_that_has_them() -> None:
    assert_error(make("report", published="soon"), "published", "RFC 3339")
    assert_error(make("network-traffic", start="soon"), "start", "RFC 3339")
    assert_error(make("user-account", account_created="soon"), "account_created", "RFC 3339")
    assert_error(custom("x-acme", created="soon"), "created", "RFC 3339")


def test_modified_may_equal_but_not_precede_created() -> None:
    assert_error(
        make("indicator", modified="2026-01-15T09:59:59.999Z"),
        "modified",
        "later than or equal to created",
    )
    same_instant = make("indicator", created="2026-01-15T10:00:00Z", modified=T0)
    assert errors(same_instant) == []
    finer = make("indicator", created="2026-01-15T10:00:00.5Z", modified="2026-01-15T10:00:00.49Z")
    assert_error(finer, "modified", "created")


@pytest.mark.parametrize(
    ("type_", "earlier", "later", "equal_ok"),
    [
        ("indicator", "valid_from", "valid_until", False),
        ("campaign", "first_seen", "last_seen", True),
        ("sighting", "first_seen", "last_seen", True),
        ("observed-data", "first_observed", "last_observed", True),
        ("relationship", "start_time", "stop_time", False),
        ("network-traffic", "start", "end", True),
    ],
)
def test_time_ranges_must_not_run_backwards(
    type_: str, earlier: str, later: str, equal_ok: bool
) -> None:
    assert_error(make(type_, **{earlier: T1, later: T0}), later, earlier, "later than")
    equal = make(type_, **{earlier: T0, later: "2026-01-15T10:00:00Z"})
    if equal_ok:
        assert errors(equal) == []
    else:
        assert_error(equal, later, f"later than {earlier}")


def test_a_bad_timestamp_is_reported_once_not_also_as_out_of_order() -> None:
    found = errors(make("indicator", valid_from="2026-99-01T00:00:00Z"))
    assert [e.property for e in found] == ["valid_from"]


def test_created_by_ref_must_be_an_identity() -> None:
    assert_error(make("indicator", created_by_ref=sid("malware")), "created_by_ref", "identity")
    assert_error(make("indicator", created_by_ref="CERT-EXAMPLE"), "created_by_ref", "identity--")


def test_object_marking_refs_must_be_marking_definition_ids() -> None:
    good = make("indicator", object_marking_refs=[TLP.RED.marking_id])
    assert errors(good) == []
    assert_error(make("indicator", object_marking_refs=TLP.RED.marking_id), "object_marking_refs")
    assert_error(make("indicator", object_marking_refs=[]), "object_marking_refs", "non-empty")
    assert_error(
        make("indicator", object_marking_refs=[TLP.RED.marking_id, sid("identity")]),
        "object_marking_refs[1]",
        "marking-definition",
    )


def test_granular_markings() -> None:
    ok = [
        {"marking_ref": TLP.GREEN.marking_id, "selectors": ["description", "labels.[0]"]},
        {"lang": "de", "selectors": ["name"]},
    ]
    assert errors(make("indicator", granular_markings=ok)) == []
    assert_error(make("indicator", granular_markings={}), "granular_markings", "list")
    assert_error(
        make("indicator", granular_markings=[{"selectors": ["name"]}]),
        "granular_markings[0]",
        "marking_ref",
        "lang",
    )
    both = {"marking_ref": TLP.GREEN.marking_id, "lang": "de", "selectors": ["name"]}
    assert_error(make("indicator", granular_markings=[both]), "granular_markings[0]", "exactly")
    no_selectors = {"marking_ref": TLP.GREEN.marking_id, "selectors": []}
    assert_error(
        make("indicator", granular_markings=[no_selectors]),
        "granular_markings[0].selectors",
        "non-empty",
    )
    bad_selector = {"marking_ref": TLP.GREEN.marking_id, "selectors": ["Name!"]}
    assert_error(
        make("indicator", granular_markings=[bad_selector]),
        "granular_markings[0].selectors[0]",
        '"Name!"',
    )
    bad_ref = {"marking_ref": sid("identity"), "selectors": ["name"]}
    assert_error(
        make("indicator", granular_markings=[bad_ref]),
        "granular_markings[0].marking_ref",
        "marking-definition",
    )


def test_external_references() -> None:
    ok = [{"source_name": "cve", "external_id": "CVE-2024-3400"}]
    assert errors(make("vulnerability", external_references=ok)) == []
    assert_error(
        make("indicator", external_references=[{"url": "https://x.example"}]),
        "external_references[0].source_name",
        "required",
    )
    assert_error(
        make("indicator", external_references=[{"source_name": "acme"}]),
        "external_references[0]",
        "description, url and external_id",
    )
    assert_error(make("indicator", external_references=["acme"]), "external_references[0]")
    assert_error(
        make("indicator", external_references=[{"source_name": "a", "url": 5}]),
        "external_references[0].url",
        "string",
    )
    bad_hash = {"source_name": "a", "url": "https://x.example", "hashes": {"MD5": "zz"}}
    assert_error(
        make("indicator", external_references=[bad_hash]),
        "external_references[0].hashes.MD5",
        "32 hexadecimal",
    )


@pytest.mark.parametrize(
    ("prop", "value", "fragment"),
    [
        ("labels", "malicious", "list of strings"),
        ("labels", [], "non-empty"),
        ("labels[1]", ["ok", 3], "string"),
        ("confidence", 101, "0 to 100"),
        ("confidence", -1, "0 to 100"),
        ("confidence", True, "0 to 100"),
        ("confidence", "50", "0 to 100"),
        ("confidence", 50.0, "0 to 100"),
        ("revoked", "yes", "true or false"),
        ("lang", 5, "string"),
        ("name", ["x"], "string"),
        ("kill_chain_phases", [{"kill_chain_name": "lm"}], "phase_name"),
    ],
)
def test_common_property_types(prop: str, value: Any, fragment: str) -> None:
    base = prop.split("[")[0]
    obj = make("indicator", **{base: value})
    if prop == "kill_chain_phases":
        prop = "kill_chain_phases[0].phase_name"
    assert_error(obj, prop, fragment)


def test_confidence_bounds_are_inclusive() -> None:
    assert errors(make("indicator", confidence=0)) == []
    assert errors(make("indicator", confidence=100)) == []


def test_every_ref_property_holds_ids() -> None:
    assert_error(make("indicator", x_acme_ref="nope"), "x_acme_ref", "id")
    assert_error(make("indicator", x_acme_refs=[sid("file"), "nope"]), "x_acme_refs[1]", "id")
    assert_error(make("indicator", x_acme_refs=sid("file")), "x_acme_refs", "list")
    assert_error(custom("x-acme", owner_ref=5), "owner_ref", "id")
    assert errors(make("indicator", x_acme_ref=sid("x-acme-thing"))) == []
    assert_error(make("report", object_refs=[]), "object_refs", "non-empty")
    assert_error(make("report", object_refs=["report"]), "object_refs[0]", "id")


@pytest.mark.parametrize(
    ("type_", "prop", "value", "fragment"),
    [
        ("sighting", "sighting_of_ref", sid("ipv4-addr"), "not an ipv4-addr"),
        ("sighting", "sighting_of_ref", sid("relationship"), "not a relationship"),
        ("sighting", "where_sighted_refs", [sid("malware")], "identity or a location"),
        ("sighting", "observed_data_refs", [sid("indicator")], "observed-data"),
        ("malware", "sample_refs", [sid("url")], "file or an artifact"),
        ("malware", "operating_system_refs", [sid("tool")], "software"),
        ("network-traffic", "dst_ref", sid("url"), "ipv4-addr"),
        ("email-addr", "belongs_to_ref", sid("identity"), "user-account"),
        ("domain-name", "resolves_to_refs", [sid("url")], "ipv4-addr"),
        ("file", "parent_directory_ref", sid("file"), "directory"),
        ("process", "parent_ref", sid("file"), "process"),
    ],
    ids=lambda v: v.split("--")[0] if isinstance(v, str) and "--" in v else None,  # stable ids
)
def test_refs_point_at_the_types_the_spec_fixes(
    type_: str, prop: str, value: Any, fragment: str
) -> None:
    path = f"{prop}[0]" if isinstance(value, list) else prop
    assert_error(make(type_, **{prop: value}), path, fragment)


def test_a_sighting_may_be_of_a_custom_object() -> None:
    assert errors(make("sighting", sighting_of_ref=sid("x-acme-alert"))) == []


# --- required properties -----------------------------------------------------------------------

_REQUIRED = [(t, p) for t, spec in sorted(stix_types.TYPES.items()) for p in spec.required]


@pytest.mark.parametrize(("type_", "prop"), _REQUIRED)
def test_each_required_property_is_required(type_: str, prop: str) -> None:
    assert_error(make(type_, **{prop: None}), prop, "is required", type_)


def test_sdos_need_created_and_modified_but_observables_do_not() -> None:
    assert_error(make("tool", created=None), "created", "required")
    assert errors(make("url")) == []


@pytest.mark.parametrize(
    ("type_", "overrides", "prop", "fragment"),
    [
        ("location", {"region": None}, "region", "region, country, or latitude"),
        ("location", {"latitude": 10.0}, "longitude", "required with latitude"),
        ("location", {"latitude": 91, "longitude": 0}, "latitude", "-90 to 90"),
        ("location", {"latitude": 0, "longitude": -181.5}, "longitude", "-180 to 180"),
        ("location", {"precision": 10.0}, "precision", "latitude and longitude"),
        ("malware", {"name": None}, "name", "is_family"),
        ("malware", {"is_family": "yes"}, "is_family", "true or false"),
        ("malware-analysis", {"result": None}, "result", "analysis_sco_refs"),
        ("observed-data", {"number_observed": 0}, "number_observed", "1 to 999999999"),
        ("observed-data", {"number_observed": 10**9}, "number_observed", "1 to 999999999"),
        ("observed-data", {"object_refs": None}, "object_refs", "required"),
        ("observed-data", {"objects": {"0": {"type": "url"}}}, "objects", "object_refs"),
        ("opinion", {"opinion": "meh"}, "opinion", "strongly-disagree"),
        ("relationship", {"relationship_type": "Indicates"}, "relationship_type", "lowercase"),
        ("sighting", {"count": -1}, "count", "0 to 999999999"),
        ("sighting", {"count": 1_000_000_000}, "count", "0 to 999999999"),
        ("sighting", {"summary": 1}, "summary", "true or false"),
        ("file", {"name": None, "hashes": None}, "name", "name or hashes"),
        ("file", {"hashes": {"SHA-256": "abc"}}, "hashes.SHA-256", "64 hexadecimal"),
        ("file", {"hashes": {"MD5": "g" * 32}}, "hashes.MD5", "32 hexadecimal"),
        ("file", {"hashes": {"SSDEEP": ""}}, "hashes.SSDEEP", "non-empty string"),
        ("file", {"hashes": {}}, "hashes", "non-empty"),
        ("file", {"size": -1}, "size", "at least 0"),
        ("artifact", {"url": "https://x.example/a"}, "url", "payload_bin"),
        ("artifact", {"payload_bin": None, "url": "https://x.example/a"}, "hashes", "url"),
        ("autonomous-system", {"number": "AS64496"}, "number", "integer"),
        ("email-message", {"is_multipart": True}, "body", "is_multipart is false"),
        ("network-traffic", {"dst_ref": None}, "src_ref", "src_ref or dst_ref"),
        ("network-traffic", {"dst_port": 70000}, "dst_port", "0 to 65535"),
        ("network-traffic", {"protocols": []}, "protocols", "non-empty"),
        ("network-traffic", {"is_active": True, "end": T1}, "end", "is_active"),
        ("language-content", {"contents": {"de": "x"}}, "contents.de", "JSON object"),
        (
            "extension-definition",
            {"extension_types": ["new-thing"]},
            "extension_types[0]",
            "new-sdo",
        ),
        ("extension-definition", {"extension_types": []}, "extension_types", "non-empty"),
        ("windows-registry-key", {"values": [1]}, "values[0]", "JSON object"),
    ],
)
def test_type_rules(type_: str, overrides: dict[str, Any], prop: str, fragment: str) -> None:
    assert_error(make(type_, **overrides), prop, fragment)


def test_hash_names_are_matched_loosely_and_other_hashes_pass() -> None:
    hashes = {"sha256": SHA256, "SHA-1": "da39a3ee5e6b4b0d3255bfef95601890afd80709", "TLSH": "T1x"}
    assert errors(make("file", hashes=hashes)) == []
    assert_error(make("file", hashes={"SHA256": MD5}), "hashes.SHA256", "64 hexadecimal")


def test_location_by_coordinates_and_malware_instances() -> None:
    assert errors(make("location", region=None, latitude=-90, longitude=180.0)) == []
    assert errors(make("malware", is_family=False, name=None)) == []


def test_email_message_parts() -> None:
    parts = [{"body": "hi", "content_type": "text/plain"}, {"body_raw_ref": sid("artifact")}]
    assert errors(make("email-message", is_multipart=True, body=None, body_multipart=parts)) == []
    assert_error(
        make("email-message", body_multipart=parts), "body_multipart", "is_multipart is true"
    )
    bad = [{"body_raw_ref": sid("url")}, {}]
    obj = make("email-message", is_multipart=True, body=None, body_multipart=bad)
    assert_error(obj, "body_multipart[0].body_raw_ref", "artifact or a file")
    assert_error(obj, "body_multipart[1]", "exactly one of body and body_raw_ref")


@pytest.mark.parametrize("type_", ["process", "x509-certificate"])
def test_process_and_certificate_need_a_property_of_their_own(type_: str) -> None:
    bare = {"type": type_, "id": sid(type_), "spec_version": "2.1"}
    error = assert_error(bare, None, "at least one property")
    assert type_ in error.message
    assert errors({**bare, "extensions": {"windows-process-ext": {"aslr_enabled": True}}}) == []


# --- marking definitions -------------------------------------------------------------------


def test_tlp_marking_definitions() -> None:
    tlp = make("marking-definition", definition_type="tlp", definition={"tlp": "white"})
    assert errors(tlp) == []
    assert_error(
        make("marking-definition", definition_type="tlp", definition={"tlp": "clear"}),
        "definition.tlp",
        "white",
    )
    assert_error(
        make("marking-definition", definition={"text": "x"}), "definition.statement", "statement"
    )
    assert_error(make("marking-definition", definition="x"), "definition", "JSON object")
    custom = make("marking-definition", definition_type="acme-pap", definition={"pap": "amber"})
    assert errors(custom) == []


def test_tlp_2_marking_definitions_by_extension() -> None:
    for level in ("clear", "green", "amber", "amber+strict", "red"):
        ext = {TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level}}
        marking = make("marking-definition", definition_type=None, definition=None, extensions=ext)
        assert errors(marking) == [], level
    bad = {TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": "white"}}
    assert_error(
        make("marking-definition", definition_type=None, definition=None, extensions=bad),
        f"extensions.{TLP2_EXTENSION_ID}.tlp_2_0",
        "amber+strict",
    )


def test_the_definitions_this_instance_serves_pass() -> None:
    for marking in tlp_marking_definitions():
        assert errors(marking) == [], marking["name"]
    assert errors(sharing_extension_definition()) == []
    assert errors(shieldwall_project_identity()) == []


def test_a_marking_definition_needs_a_definition_or_an_extension() -> None:
    bare = make("marking-definition", definition_type=None, definition=None)
    assert_error(bare, "definition_type", "definition", "extension")
    assert_error(make("marking-definition", definition=None), "definition", "required")


# --- custom content -------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["x-acme-ticket", "acme-ticket", "x-acme2"])
def test_custom_objects_are_accepted(type_: str) -> None:
    obj = custom(
        type_, x_queue={"name": "soc", "n": [1, 2]}, priority=3, anything_goes=[None, {"a": [1]}]
    )
    assert errors(obj) == []
    assert errors({"type": type_, "id": sid(type_), "value": "custom observable"}) == []


@pytest.mark.parametrize("name", ["x_acme_score", "acme_score", "x_a", "abc", "x_" + "a" * 248])
def test_custom_properties_are_accepted(name: str) -> None:
    assert errors(make("indicator", **{name: {"any": ["thing"]}})) == []


@pytest.mark.parametrize("name", ["X_Acme", "ab", "x-acme", "has space", "x_é", "x" * 251, ""])
def test_badly_named_properties_are_errors(name: str) -> None:
    obj = make("indicator")
    obj[name] = 1
    error = assert_error(obj, name, "property name", "3 to 250")
    assert json.dumps(name[:60], ensure_ascii=False)[:20] in error.message


def test_a_custom_name_found_fine_once_is_not_a_pass_for_what_it_holds() -> None:
    """custom_property keeps the names it found fine: a reference's name never, so its ids are
    checked each time; a bad name is refused each time."""
    for _ in range(3):
        assert errors(make("indicator", x_acme_kept=1, x_acme_owner_ref=sid("identity"))) == []
        assert_error(make("indicator", x_acme_owner_ref="nope"), "x_acme_owner_ref", "id")
        assert_error(make("indicator", x_acme_kept_refs=["nope"]), "x_acme_kept_refs[0]", "id")
        assert_error(make("indicator", **{"X_Acme": 1}), "X_Acme", "property name")


def test_custom_extensions_are_accepted() -> None:
    extensions = {
        "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {
            "extension_type": "property-extension",
            "rank": 5,
        },
        "extension-definition--a932fcc6-e032-476c-826f-cb970a5a1ade": {
            "extension_type": "toplevel-property-extension"
        },
        "x-acme-ext": {"anything": True},
    }
    obj = make("indicator", extensions=extensions, toplevel_rank=5)
    assert errors(obj) == []
    assert errors(make("file", extensions={"archive-ext": {"contains_refs": [sid("file")]}})) == []


@pytest.mark.parametrize(
    ("extensions", "prop", "fragment"),
    [
        ("x", "extensions", "JSON object"),
        ({}, "extensions", "non-empty"),
        ({"acme": {}}, "extensions.acme", "-ext"),
        ({"extension-definition--nope": {}}, "extensions.extension-definition--nope", "UUID"),
        ({"archive-ext": ["x"]}, "extensions.archive-ext", "JSON object"),
        (
            {"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": {"extension_type": "x"}},
            "extensions.extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e.extension_type",
            "property-extension",
        ),
    ],
)
def test_extensions_must_be_well_formed(extensions: Any, prop: str, fragment: str) -> None:
    assert_error(make("indicator", extensions=extensions), prop, fragment)


# --- our sharing extension --------------------------------------------------------------------

SHARING = f"extensions.{SHARING_EXTENSION_ID}"


def shared(**ext: Any) -> dict[str, Any]:
    return make("indicator", extensions={SHARING_EXTENSION_ID: ext})


def test_the_sharing_extension_id_is_the_one_on_the_wire() -> None:
    assert SHARING_EXTENSION_ID == "extension-definition--c56d41b5-3fe7-441e-af12-498adb577219"


@pytest.mark.parametrize(
    "ext",
    [
        {"extension_type": "property-extension", "distribution": "community"},
        {"distribution": "org", "anonymous": True},
        {"distribution": "group", "sharing_group": GROUP, "anonymous": False},
        {"extension_type": "property-extension"},
        {},
    ]
    + [{"distribution": d} for d in ("org", "community", "federation", "all")],
)
def test_valid_sharing_metadata_passes(ext: dict[str, Any]) -> None:
    assert errors(shared(**ext)) == []


@pytest.mark.parametrize(
    ("ext", "prop", "fragment"),
    [
        ({"extension_type": "new-sdo"}, "extension_type", "'property-extension'"),
        ({"distribution": "everyone"}, "distribution", "org, community, federation, all"),
        ({"distribution": ["org"]}, "distribution", "a list"),
        ({"distribution": "group"}, "sharing_group", "required with distribution 'group'"),
        ({"distribution": "community", "sharing_group": GROUP}, "sharing_group", "only allowed"),
        ({"sharing_group": GROUP}, "sharing_group", "only allowed"),
        ({"distribution": "group", "sharing_group": "staff"}, "sharing_group", "UUID"),
        ({"distribution": "group", "sharing_group": GROUP.upper()}, "sharing_group", "lowercase"),
        ({"anonymous": "no"}, "anonymous", "true or false"),
        ({"hops": 2}, "hops", "only extension_type, distribution"),
        ({"origin": "peer-1"}, "origin", "16 hex digits"),
        ({"path": ["0123456789abcdef", 7]}, "path", "instance key ids"),
        (
            {"signature": {"alg": "rsa", "key_id": "0123456789abcdef", "value": "AA=="}},
            "signature",
            "ed25519",
        ),
    ],
)
def test_bad_sharing_metadata_is_an_error(ext: dict[str, Any], prop: str, fragment: str) -> None:
    error = assert_error(shared(**ext), f"{SHARING}.{prop}", fragment)
    assert prop in error.message


def test_the_sharing_extension_must_be_an_object() -> None:
    obj = make("indicator", extensions={SHARING_EXTENSION_ID: "group"})
    assert_error(obj, SHARING, "JSON object")


# --- objects that are not objects, and collecting everything ----------------------------------


@pytest.mark.parametrize("junk", [None, "indicator", 5, [make("indicator")], True])
def test_a_non_object_is_one_error_at_its_index(junk: Any) -> None:
    found = validate_object(junk, 3)
    assert len(found) == 1
    assert found[0].index == 3 and found[0].id is None and found[0].property is None
    assert "JSON object" in found[0].message


def test_every_error_of_an_object_is_reported() -> None:
    obj = make(
        "indicator",
        spec_version="2.0",
        valid_from="soon",
        confidence=500,
        labels="x",
        created_by_ref="me",
        pattern="[ipv4-addr:value = ",
        Bad=1,
    )
    props = {e.property for e in errors(obj)}
    expected = {"spec_version", "valid_from", "confidence", "labels", "created_by_ref", "pattern"}
    assert props == expected | {"Bad"}


def test_stix_patterns_are_checked_and_other_pattern_languages_are_not() -> None:
    assert_error(make("indicator", pattern="[ipv4-addr:value = "), "pattern", "STIX 2.1 pattern")
    assert_error(make("indicator", pattern=5), "pattern", "string")
    snort = make("indicator", pattern_type="snort", pattern="alert tcp any any -> any 80")
    assert errors(snort) == []


def test_as_dict() -> None:
    error = ObjectError(2, "indicator--x", "name", "name must be a string, not 5")
    assert error.as_dict() == {
        "index": 2,
        "id": "indicator--x",
        "property": "name",
        "message": "name must be a string, not 5",
    }


# --- bundles -------------------------------------------------------------------------------


def bundle(*objects: Any, **overrides: Any) -> dict[str, Any]:
    return {"type": "bundle", "id": sid("bundle"), "objects": list(objects), **overrides}


def test_a_valid_bundle_of_every_type_passes() -> None:
    assert validate_bundle(bundle(*(make(t) for t in stix_types.TYPES))) == []


@pytest.mark.parametrize("junk", [None, [], "bundle", 3])
def test_a_bundle_must_be_an_object(junk: Any) -> None:
    found = validate_bundle(junk)
    assert len(found) == 1 and found[0].index is None and "JSON object" in found[0].message


@pytest.mark.parametrize(
    ("overrides", "prop", "fragment"),
    [
        ({"type": "report"}, "type", "'bundle'"),
        ({"type": None}, "type", "'bundle'"),
        ({"id": sid("report")}, "id", "bundle--"),
        ({"id": "bundle--1"}, "id", "UUID"),
        ({"objects": []}, "objects", "non-empty list"),
        ({"objects": {"a": 1}}, "objects", "non-empty list"),
        ({"objects": None}, "objects", "non-empty list"),
    ],
)
def test_bundle_level_errors(overrides: dict[str, Any], prop: str, fragment: str) -> None:
    found = validate_bundle(bundle(**overrides))
    error = next(e for e in found if e.property == prop)
    assert error.index is None and fragment in error.message and prop in error.message


def test_a_bundle_without_objects_is_an_error() -> None:
    raw = {"type": "bundle", "id": sid("bundle")}
    assert [e.property for e in validate_bundle(raw)] == ["objects"]


def test_bundle_errors_come_from_every_object_with_their_index() -> None:
    good, bad1, bad2 = make("indicator"), make("indicator", name=1), make("tool", name=None)
    found = validate_bundle(bundle(good, bad1, "junk", bad2, type="Bundle"))
    assert [(e.index, e.property) for e in found] == [
        (None, "type"),
        (1, "name"),
        (2, None),
        (3, "name"),
    ]
    assert found[1].id == bad1["id"] and found[3].id == bad2["id"]


def test_the_same_version_twice_in_a_bundle_is_an_error() -> None:
    ind = make("indicator")
    same_instant = {**ind, "modified": "2026-01-15T10:00:00Z"}
    newer = {**ind, "modified": T1}
    found = validate_bundle(bundle(ind, newer, same_instant))
    assert [(e.index, e.property) for e in found] == [(2, "id")]
    assert "object 0" in found[0].message and "id" in found[0].message
    # Stored to the microsecond, these two are one version too.
    a = {**ind, "modified": "2026-03-01T00:00:00.1234561Z"}
    b = {**ind, "modified": "2026-03-01T00:00:00.12345600Z"}
    assert [e.index for e in validate_bundle(bundle(a, b))] == [1]
    ip = make("ipv4-addr")
    assert [e.index for e in validate_bundle(bundle(ip, make("url"), ip))] == [2]


# --- junk never raises ----------------------------------------------------------------------

_json = hs.recursive(
    hs.none()
    | hs.booleans()
    | hs.integers()
    | hs.floats()
    | hs.text(max_size=30)
    | hs.sampled_from([T0, "indicator", sid("indicator"), SHARING_EXTENSION_ID, "2.1", "group"]),
    lambda children: (
        hs.lists(children, max_size=4) | hs.dictionaries(hs.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_COMMON_NAMES = ["type", "id", "spec_version", "extensions", "granular_markings", "labels"]
_names = hs.sampled_from(
    [
        *sorted({p for spec in stix_types.TYPES.values() for p in spec.properties}),
        *_COMMON_NAMES,
        *["external_references", "object_marking_refs", "created_by_ref", "confidence"],
        *["x_ref", "bad name"],
    ]
)
_sharing_junk = hs.dictionaries(
    hs.sampled_from(["extension_type", "distribution", "sharing_group", "anonymous", "x"]),
    _json | hs.sampled_from(["group", "org", GROUP, "property-extension"]),
    max_size=4,
)


@hs.composite
def _mangled_objects(draw: hs.DrawFn) -> Any:
    """A valid object of some type with some properties replaced by junk."""
    obj = make(draw(hs.sampled_from(sorted(stix_types.TYPES))))
    for name, value in draw(
        hs.dictionaries(_names | hs.text(max_size=8), _json, max_size=4)
    ).items():
        obj[name] = value
    if draw(hs.booleans()):
        obj["extensions"] = {SHARING_EXTENSION_ID: draw(_sharing_junk)}
    for name in draw(hs.lists(hs.sampled_from(sorted(obj)), max_size=2)):
        obj.pop(name, None)
    return obj


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=_mangled_objects() | _json | hs.dictionaries(_names, _json, max_size=6))
def test_junk_gives_errors_never_exceptions(obj: Any) -> None:
    found = validate_object(obj, 0)
    assert all(isinstance(e, ObjectError) and e.message for e in found)
    for error in validate_bundle(bundle(obj, obj)):
        assert isinstance(error.message, str) and error.message
        error.as_dict()


@settings(max_examples=200, deadline=None)
@given(raw=_json | hs.dictionaries(hs.sampled_from(["type", "id", "objects"]), _json))
def test_junk_bundles_give_errors_never_exceptions(raw: Any) -> None:
    assert all(isinstance(e, ObjectError) for e in validate_bundle(raw))
