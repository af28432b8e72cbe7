"""The STIX 2.1 object types: their category, required properties and the kind of each property.

Data only; intel/validate.py turns each kind into a check. Property kinds follow STIX 2.1 CS02
§4 (SDOs), §5 (SROs), §6 (SCOs) and §7 (meta objects); a property that is not listed here is a
custom property (§11.1) as far as the validator is concerned, apart from the `_ref`/`_refs` rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Simple kinds.
STRING = "string"
TIMESTAMP = "timestamp"
BOOLEAN = "boolean"
DICT = "dict"
STRING_LIST = "string-list"
DICT_LIST = "dict-list"
KILL_CHAIN_PHASES = "kill-chain-phases"
HASHES = "hashes"
# Checked by the object's own rule in validate.py (e.g. marking-definition `definition`).
BY_RULE = "by-rule"


@dataclass(frozen=True, slots=True)
class Integer:
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True)
class Number:
    low: float
    high: float | None = None


@dataclass(frozen=True, slots=True)
class OneOf:
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ref:
    """An identifier (`many`: a non-empty list of them) of an object of one of `targets`
    (any type when empty), never of one of `not_targets`."""

    targets: tuple[str, ...] = ()
    many: bool = False
    not_targets: frozenset[str] = frozenset()


def refs(*targets: str) -> Ref:
    return Ref(targets, many=True)


Kind = str | Integer | Number | OneOf | Ref


@dataclass(frozen=True, slots=True)
class TypeSpec:
    category: str  # "sdo", "sro", "sco" or "meta"
    required: tuple[str, ...]
    properties: Mapping[str, Kind] = field(default_factory=dict)


SDO = "sdo"
SRO = "sro"
SCO = "sco"
META = "meta"

# Properties several types share, with the same meaning everywhere they appear.
_SHARED: dict[str, Kind] = {
    "name": STRING,
    "description": STRING,
    "aliases": STRING_LIST,
    "kill_chain_phases": KILL_CHAIN_PHASES,
    "first_seen": TIMESTAMP,
    "last_seen": TIMESTAMP,
    "goals": STRING_LIST,
    "resource_level": STRING,
    "primary_motivation": STRING,
    "secondary_motivations": STRING_LIST,
    "roles": STRING_LIST,
    "authors": STRING_LIST,
    "object_refs": refs(),
    "hashes": HASHES,
    "value": STRING,
    "ctime": TIMESTAMP,
    "mtime": TIMESTAMP,
    "atime": TIMESTAMP,
    "creator_user_ref": Ref(("user-account",)),
}


def _props(names: str, **specific: Kind) -> dict[str, Kind]:
    """Shared properties by name, plus the type's own."""
    return {**{n: _SHARED[n] for n in names.split()}, **specific}


_SDO_TIMES = ("created", "modified")

SDO_TYPES: dict[str, TypeSpec] = {
    "attack-pattern": TypeSpec(
        SDO,
        ("name", *_SDO_TIMES),
        _props("name description aliases kill_chain_phases"),
    ),
    "campaign": TypeSpec(
        SDO,
        ("name", *_SDO_TIMES),
        _props("name description aliases first_seen last_seen", objective=STRING),
    ),
    "course-of-action": TypeSpec(SDO, ("name", *_SDO_TIMES), _props("name description")),
    "grouping": TypeSpec(
        SDO,
        ("context", "object_refs", *_SDO_TIMES),
        _props("name description object_refs", context=STRING),
    ),
    "identity": TypeSpec(
        SDO,
        ("name", *_SDO_TIMES),
        _props(
            "name description roles",
            identity_class=STRING,
            sectors=STRING_LIST,
            contact_information=STRING,
        ),
    ),
    "incident": TypeSpec(SDO, ("name", *_SDO_TIMES), _props("name description kill_chain_phases")),
    "indicator": TypeSpec(
        SDO,
        ("pattern", "pattern_type", "valid_from", *_SDO_TIMES),
        _props(
            "name description kill_chain_phases",
            indicator_types=STRING_LIST,
            pattern=STRING,
            pattern_type=STRING,
            pattern_version=STRING,
            valid_from=TIMESTAMP,
            valid_until=TIMESTAMP,
        ),
    ),
    "infrastructure": TypeSpec(
        SDO,
        ("name", *_SDO_TIMES),
        _props(
            "name description aliases kill_chain_phases first_seen last_seen",
            infrastructure_types=STRING_LIST,
        ),
    ),
    "intrusion-set": TypeSpec(
        SDO,
        ("name", *_SDO_TIMES),
        _props(
            "name description aliases first_seen last_seen goals resource_level"
            " primary_motivation secondary_motivations"
        ),
    ),
    # At least one of region, country or latitude+longitude: checked by a rule.
    "location": TypeSpec(
        SDO,
        _SDO_TIMES,
        _props(
            "name description",
            latitude=Number(-90.0, 90.0),
            longitude=Number(-180.0, 180.0),
            precision=Number(0.0),
            region=STRING,
            country=STRING,
            administrative_area=STRING,
            city=STRING,
            street_address=STRING,
            postal_code=STRING,
        ),
    ),
    # `name` is required when is_family is true: checked by a rule.
    "malware": TypeSpec(
        SDO,
        ("is_family", *_SDO_TIMES),
        _props(
            "name description aliases kill_chain_phases first_seen last_seen",
            malware_types=STRING_LIST,
            is_family=BOOLEAN,
            operating_system_refs=refs("software"),
            architecture_execution_envs=STRING_LIST,
            implementation_languages=STRING_LIST,
            capabilities=STRING_LIST,
            sample_refs=refs("file", "artifact"),
        ),
    ),
    # One of result or analysis_sco_refs: checked by a rule.
    "malware-analysis": TypeSpec(
        SDO,
        ("product", *_SDO_TIMES),
        _props(
            "",
            product=STRING,
            version=STRING,
            host_vm_ref=Ref(("software",)),
            operating_system_ref=Ref(("software",)),
            installed_software_refs=refs("software"),
            configuration_version=STRING,
            modules=STRING_LIST,
            analysis_engine_version=STRING,
            analysis_definition_version=STRING,
            submitted=TIMESTAMP,
            analysis_started=TIMESTAMP,
            analysis_ended=TIMESTAMP,
            result_name=STRING,
            result=STRING,
            analysis_sco_refs=refs(),
            sample_ref=Ref(("file", "network-traffic", "artifact")),
        ),
    ),
    "note": TypeSpec(
        SDO,
        ("content", "object_refs", *_SDO_TIMES),
        _props("authors object_refs", abstract=STRING, content=STRING),
    ),
    # One of object_refs or (deprecated) objects: checked by a rule.
    "observed-data": TypeSpec(
        SDO,
        ("first_observed", "last_observed", "number_observed", *_SDO_TIMES),
        _props(
            "object_refs",
            first_observed=TIMESTAMP,
            last_observed=TIMESTAMP,
            number_observed=Integer(1, 999_999_999),
            objects=DICT,
        ),
    ),
    "opinion": TypeSpec(
        SDO,
        ("opinion", "object_refs", *_SDO_TIMES),
        _props(
            "authors object_refs",
            explanation=STRING,
            opinion=OneOf(("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")),
        ),
    ),
    "report": TypeSpec(
        SDO,
        ("name", "published", "object_refs", *_SDO_TIMES),
        _props("name description object_refs", report_types=STRING_LIST, published=TIMESTAMP),
    ),
    "threat-actor": TypeSpec(
        SDO,
        ("name", *_SDO_TIMES),
        _props(
            "name description aliases first_seen last_seen roles goals resource_level"
            " primary_motivation secondary_motivations",
            threat_actor_types=STRING_LIST,
            sophistication=STRING,
            personal_motivations=STRING_LIST,
        ),
    ),
    "tool": TypeSpec(
        SDO,
        ("name", *_SDO_TIMES),
        _props(
            "name description aliases kill_chain_phases",
            tool_types=STRING_LIST,
            tool_version=STRING,
        ),
    ),
    "vulnerability": TypeSpec(SDO, ("name", *_SDO_TIMES), _props("name description")),
}

_ADDRESS_TARGETS = ("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name")

SCO_TYPES: dict[str, TypeSpec] = {
    # payload_bin xor url, and hashes with url: checked by a rule.
    "artifact": TypeSpec(
        SCO,
        (),
        _props(
            "hashes",
            mime_type=STRING,
            payload_bin=STRING,
            url=STRING,
            encryption_algorithm=STRING,
            decryption_key=STRING,
        ),
    ),
    "autonomous-system": TypeSpec(SCO, ("number",), _props("name", number=Integer(0), rir=STRING)),
    "directory": TypeSpec(
        SCO,
        ("path",),
        _props(
            "ctime mtime atime",
            path=STRING,
            path_enc=STRING,
            contains_refs=refs("file", "directory"),
        ),
    ),
    "domain-name": TypeSpec(
        SCO,
        ("value",),
        _props("value", resolves_to_refs=refs("ipv4-addr", "ipv6-addr", "domain-name")),
    ),
    "email-addr": TypeSpec(
        SCO,
        ("value",),
        _props("value", display_name=STRING, belongs_to_ref=Ref(("user-account",))),
    ),
    # body only when not multipart, body_multipart only when multipart: checked by a rule.
    "email-message": TypeSpec(
        SCO,
        ("is_multipart",),
        _props(
            "",
            is_multipart=BOOLEAN,
            date=TIMESTAMP,
            content_type=STRING,
            from_ref=Ref(("email-addr",)),
            sender_ref=Ref(("email-addr",)),
            to_refs=refs("email-addr"),
            cc_refs=refs("email-addr"),
            bcc_refs=refs("email-addr"),
            message_id=STRING,
            subject=STRING,
            received_lines=STRING_LIST,
            additional_header_fields=DICT,
            body=STRING,
            body_multipart=BY_RULE,
            raw_email_ref=Ref(("artifact",)),
        ),
    ),
    # name or hashes: checked by a rule.
    "file": TypeSpec(
        SCO,
        (),
        _props(
            "hashes name ctime mtime atime",
            size=Integer(0),
            name_enc=STRING,
            magic_number_hex=STRING,
            mime_type=STRING,
            parent_directory_ref=Ref(("directory",)),
            contains_refs=refs(),
            content_ref=Ref(("artifact",)),
        ),
    ),
    "ipv4-addr": TypeSpec(
        SCO,
        ("value",),
        _props(
            "value",
            resolves_to_refs=refs("mac-addr"),
            belongs_to_refs=refs("autonomous-system"),
        ),
    ),
    "ipv6-addr": TypeSpec(
        SCO,
        ("value",),
        _props(
            "value",
            resolves_to_refs=refs("mac-addr"),
            belongs_to_refs=refs("autonomous-system"),
        ),
    ),
    "mac-addr": TypeSpec(SCO, ("value",), _props("value")),
    "mutex": TypeSpec(SCO, ("name",), _props("name")),
    # src_ref or dst_ref, no end while active: checked by a rule.
    "network-traffic": TypeSpec(
        SCO,
        ("protocols",),
        _props(
            "",
            start=TIMESTAMP,
            end=TIMESTAMP,
            is_active=BOOLEAN,
            src_ref=Ref(_ADDRESS_TARGETS),
            dst_ref=Ref(_ADDRESS_TARGETS),
            src_port=Integer(0, 65535),
            dst_port=Integer(0, 65535),
            protocols=STRING_LIST,
            src_byte_count=Integer(0),
            dst_byte_count=Integer(0),
            src_packets=Integer(0),
            dst_packets=Integer(0),
            ipfix=DICT,
            src_payload_ref=Ref(("artifact",)),
            dst_payload_ref=Ref(("artifact",)),
            encapsulates_refs=refs("network-traffic"),
            encapsulated_by_ref=Ref(("network-traffic",)),
        ),
    ),
    # At least one property of its own: checked by a rule.
    "process": TypeSpec(
        SCO,
        (),
        _props(
            "creator_user_ref",
            is_hidden=BOOLEAN,
            pid=Integer(),
            created_time=TIMESTAMP,
            cwd=STRING,
            command_line=STRING,
            environment_variables=DICT,
            opened_connection_refs=refs("network-traffic"),
            image_ref=Ref(("file",)),
            parent_ref=Ref(("process",)),
            child_refs=refs("process"),
        ),
    ),
    "software": TypeSpec(
        SCO,
        ("name",),
        _props(
            "name", cpe=STRING, swid=STRING, languages=STRING_LIST, vendor=STRING, version=STRING
        ),
    ),
    "url": TypeSpec(SCO, ("value",), _props("value")),
    "user-account": TypeSpec(
        SCO,
        (),
        _props(
            "",
            user_id=STRING,
            credential=STRING,
            account_login=STRING,
            account_type=STRING,
            display_name=STRING,
            is_service_account=BOOLEAN,
            is_privileged=BOOLEAN,
            can_escalate_privs=BOOLEAN,
            is_disabled=BOOLEAN,
            account_created=TIMESTAMP,
            account_expires=TIMESTAMP,
            credential_last_changed=TIMESTAMP,
            account_first_login=TIMESTAMP,
            account_last_login=TIMESTAMP,
        ),
    ),
    "windows-registry-key": TypeSpec(
        SCO,
        (),
        _props(
            "creator_user_ref",
            key=STRING,
            values=DICT_LIST,
            modified_time=TIMESTAMP,
            number_of_subkeys=Integer(0),
        ),
    ),
    # At least one property of its own: checked by a rule.
    "x509-certificate": TypeSpec(
        SCO,
        (),
        _props(
            "hashes",
            is_self_signed=BOOLEAN,
            version=STRING,
            serial_number=STRING,
            signature_algorithm=STRING,
            issuer=STRING,
            validity_not_before=TIMESTAMP,
            validity_not_after=TIMESTAMP,
            subject=STRING,
            subject_public_key_algorithm=STRING,
            subject_public_key_modulus=STRING,
            subject_public_key_exponent=Integer(),
            x509_v3_extensions=DICT,
        ),
    ),
}

META_TYPES: dict[str, TypeSpec] = {
    # §7.2.1: definition_type + definition, or (since 2.1) an extension such as TLP 2.0's.
    # Marking definitions are never versioned, so they have no `modified`.
    "marking-definition": TypeSpec(
        META, ("created",), _props("name", definition_type=BY_RULE, definition=BY_RULE)
    ),
    # §7.1: object_modified is optional.
    "language-content": TypeSpec(
        META,
        ("object_ref", "contents", *_SDO_TIMES),
        _props("", object_ref=Ref(), object_modified=TIMESTAMP, contents=BY_RULE),
    ),
    # §7.3 also makes created_by_ref required; not enforced, so that extension definitions
    # published without one (ours among them, see markings.py) still load.
    "extension-definition": TypeSpec(
        META,
        ("name", "schema", "version", "extension_types", *_SDO_TIMES),
        _props(
            "name description",
            schema=STRING,
            version=STRING,
            extension_types=BY_RULE,
            extension_properties=STRING_LIST,
        ),
    ),
}

EXTENSION_TYPES = frozenset(
    {"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}
)

# Types a sighting may not be "of": everything the spec defines that is not an SDO.
_NOT_SDO = frozenset(SCO_TYPES) | frozenset(META_TYPES) | {"relationship", "sighting", "bundle"}

SRO_TYPES: dict[str, TypeSpec] = {
    "relationship": TypeSpec(
        SRO,
        ("relationship_type", "source_ref", "target_ref", *_SDO_TIMES),
        _props(
            "description",
            relationship_type=BY_RULE,
            source_ref=Ref(),
            target_ref=Ref(),
            start_time=TIMESTAMP,
            stop_time=TIMESTAMP,
        ),
    ),
    "sighting": TypeSpec(
        SRO,
        ("sighting_of_ref", *_SDO_TIMES),
        _props(
            "description first_seen last_seen",
            count=Integer(0, 999_999_999),
            # §5.2: "MUST reference only an SDO" (custom SDOs included).
            sighting_of_ref=Ref(not_targets=_NOT_SDO),
            observed_data_refs=refs("observed-data"),
            where_sighted_refs=refs("identity", "location"),
            summary=BOOLEAN,
        ),
    ),
}

TYPES: dict[str, TypeSpec] = {**SDO_TYPES, **SRO_TYPES, **SCO_TYPES, **META_TYPES}
