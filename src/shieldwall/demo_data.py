"""The synthetic data set `make demo` loads: members, users, sharing groups and STIX 2.1 bundles.

Pure values: no database, no HTTP. The seeding code feeds them through the real services.

Everything invented here is labelled SYNTHETIC and uses reserved values only (RFC 5737 addresses,
RFC 2606 / RFC 6761 domains). Threat actors, intrusion sets, ATT&CK techniques, sectors and
countries are real public reference data read offline from the MISP galaxy clusters that the
`pymispgalaxies` package ships, so the demo shows names an analyst recognises without inventing
attributions.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from shieldwall.demo_reference import Reference, actor_props, attack_props, galaxy_reference
from shieldwall.markings import SHARING_EXTENSION_ID, TLP, Distribution

# Namespace of every id this module derives (member identities, objects, bundles, groups).
DEMO_NAMESPACE = uuid.UUID("6c93f849-60d9-4e61-abe3-209a50c48077")
# STIX 2.1 §2.9: namespace for the deterministic ids of cyber-observable objects.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

ALLIANCE = "SYNTHETIC Alliance IRC"
CERT_EE = "SYNTHETIC CERT-EE"
CERT_PL = "SYNTHETIC CERT-PL"
EU_CERT = "SYNTHETIC EU Institutions CERT"
GRID = "SYNTHETIC Grid Operator"
CLOUD = "SYNTHETIC Cloud Provider"
DEFENCE = "SYNTHETIC Defence Supplier"
UNIVERSITY = "SYNTHETIC Technical University"
# The en dash is the group's name as DESIGN.md and the brief spell it.
ALLIANCE_EU_GROUP = "SYNTHETIC Alliance–EU technical arrangement"  # noqa: RUF001
SECTOR_GROUP = "SYNTHETIC Critical infrastructure sector group"
ADMIN_EMAIL = "admin@synthetic.shieldwall.invalid"


@dataclass(frozen=True)
class DemoMember:
    name: str
    kind: str
    country: str
    sectors: tuple[str, ...]
    capabilities: tuple[str, ...]

    @property
    def contacts(self) -> tuple[str, ...]:
        """Where the partnership reaches the member's response team: an address on the
        reserved .invalid domain, as every demo user's is."""
        return (f"soc@{_domain(self.name)} (SYNTHETIC, 24/7)",)


@dataclass(frozen=True)
class DemoUser:
    email: str
    member: str
    role: str  # admin, member-admin, analyst, reader


@dataclass(frozen=True)
class DemoGroup:
    name: str
    members: tuple[str, ...]  # member names


@dataclass(frozen=True)
class DemoBundle:
    member: str
    user: str
    bundle: dict
    sharing_group: str | None  # a DemoGroup name when its objects use distribution "group"


@dataclass(frozen=True)
class DemoSighting:
    """A member saying it saw a value of a report it may read, at that report's TLP."""

    user: str  # the e-mail of the analyst who reports it
    value: str
    kind: str  # seen, false-positive
    count: int
    seen_at: str
    tlp: str


@dataclass(frozen=True)
class DemoDataset:
    members: tuple[DemoMember, ...]
    users: tuple[DemoUser, ...]
    groups: tuple[DemoGroup, ...]
    bundles: tuple[DemoBundle, ...]
    sightings: tuple[DemoSighting, ...] = ()


# name, kind, ISO 3166 code (checked against the country cluster), sectors (the sector cluster)
_MEMBERS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (ALLIANCE, "alliance", "BE", ("Defense", "Military"),
     ("incident-response", "malware-analysis", "forensics", "threat-hunting")),
    (CERT_EE, "national-cert", "EE", ("Government, Administration",),
     ("incident-response", "vulnerability-coordination")),
    (CERT_PL, "national-cert", "PL", ("Government, Administration", "Telecoms"),
     ("incident-response", "malware-analysis", "vulnerability-coordination")),
    (EU_CERT, "partner", "BE", ("Government, Administration", "Diplomacy"),
     ("incident-response", "threat-hunting")),
    (GRID, "industry", "DE", ("Energy", "Electric"), ("incident-response",)),
    (CLOUD, "industry", "IE", ("Digital infrastructure", "Digital services"),
     ("incident-response", "threat-hunting")),
    (DEFENCE, "industry", "FR", ("Defense", "Aerospace", "Manufacturing"),
     ("incident-response", "forensics")),
    (UNIVERSITY, "academia", "NL", ("Academia - University", "Research - Innovation"),
     ("malware-analysis", "forensics")),
)  # fmt: skip

_MEMBER_SECTORS = {name: sectors for name, _, _, sectors, _ in _MEMBERS}

_GROUPS: tuple[DemoGroup, ...] = (
    DemoGroup(ALLIANCE_EU_GROUP, (ALLIANCE, EU_CERT)),
    DemoGroup(SECTOR_GROUP, (GRID, CLOUD, DEFENCE, CERT_PL)),
)


@dataclass(frozen=True)
class _Theme:
    title: str
    targets: tuple[str, ...]  # sector cluster values
    actors: tuple[str, ...]  # threat-actor cluster values, spelt exactly as there
    techniques: tuple[str, ...]  # ATT&CK external ids
    first_kinds: tuple[str, ...]  # indicator kinds every report of this theme has
    malware: tuple[str, ...] = ()  # ATT&CK software ids of the families such reports name


_THEMES: dict[str, _Theme] = {
    "phishing": _Theme(
        "Spear-phishing wave",
        ("Government, Administration", "Diplomacy", "Defense"),
        ("APT28", "APT29", "Gamaredon Group", "Kimsuky", "Callisto", "Ghostwriter"),
        ("T1566", "T1566.001", "T1566.002", "T1204.002", "T1059.001", "T1071.001"),
        ("url", "sha256"),
        ("S0367", "S0650", "S0251", "S0483"),
    ),
    "edge": _Theme(
        "Exploitation of internet-facing appliances",
        ("Government, Administration", "Telecoms", "Digital infrastructure"),
        ("Volt Typhoon", "APT41", "Sandworm", "APT29"),
        ("T1190", "T1133", "T1505.003", "T1078", "T1003.001", "T1090"),
        ("ipv4", "url"),
        ("S0596", "S0013", "S0588"),
    ),
    "c2": _Theme(
        "Command-and-control infrastructure",
        ("Defense", "Military", "Aerospace"),
        ("Turla", "Lazarus Group", "MuddyWater", "APT28"),
        ("T1071.001", "T1071.004", "T1573", "T1568", "T1105", "T1027"),
        ("ipv4", "domain"),
        ("S0154", "S0265", "S0126"),
    ),
    "credentials": _Theme(
        "Password spraying against cloud tenants",
        ("Digital services", "Government, Administration", "Finance"),
        ("APT29", "Scattered Spider", "APT33", "Charming Kitten"),
        ("T1110.003", "T1078.004", "T1528", "T1098", "T1567.002"),
        ("ipv4", "domain"),
        ("S0046", "S0588", "S1039"),
    ),
    "ransomware": _Theme(
        "Ransomware precursor activity",
        ("Health", "Manufacturing", "Energy"),
        ("WIZARD SPIDER", "FIN7", "Scattered Spider"),
        ("T1486", "T1490", "T1021.002", "T1047", "T1562.001", "T1567.002"),
        ("sha256", "ipv4"),
        ("S0575", "S0446", "S1202", "S1068", "S0266"),
    ),
    "ot": _Theme(
        "Wiper staging in operational networks",
        ("Energy", "Electric", "Water"),
        ("Sandworm", "ENERGETIC BEAR", "TEMP.Veles", "Volt Typhoon"),
        ("T1595", "T1078", "T1021.001", "T1485", "T1561.002"),
        ("ipv4", "sha256"),
        ("S0604", "S0607", "S1125", "S0089"),
    ),
}

# The MITRE ATT&CK group each threat actor maps to (mitre-intrusion-set cluster), where one does.
_INTRUSION_SETS: dict[str, str] = {
    "APT28": "G0007", "APT29": "G0016", "Sandworm": "G0034", "Turla": "G0010",
    "Lazarus Group": "G0032", "Gamaredon Group": "G0047", "Kimsuky": "G0094",
    "MuddyWater": "G0069", "FIN7": "G0046", "WIZARD SPIDER": "G0102", "Scattered Spider": "G1015",
    "Volt Typhoon": "G1017", "Callisto": "G1033", "ENERGETIC BEAR": "G0035",
    "TEMP.Veles": "G0088", "APT33": "G0064", "Charming Kitten": "G0058", "APT41": "G0096",
}  # fmt: skip


@dataclass(frozen=True)
class _Plan:
    """One report: who shares it, what about, and under which rules."""

    member: str
    theme: str
    tlp: TLP
    distribution: Distribution
    group: str | None = None
    anonymous: bool = False
    strict_hashes: bool = False  # hash indicators carry a stricter TLP than the report
    echo: int | None = None  # index of an earlier report one of whose values this one also saw


# Fixed so that every seed covers every TLP level, distribution, a group-only report and an
# anonymous industry contribution; the seed chooses actors, techniques, values and dates.
_PLANS: tuple[_Plan, ...] = (
    _Plan(ALLIANCE, "phishing", TLP.AMBER, Distribution.COMMUNITY),
    _Plan(ALLIANCE, "edge", TLP.RED, Distribution.ORG),
    _Plan(ALLIANCE, "c2", TLP.AMBER, Distribution.GROUP, group=ALLIANCE_EU_GROUP),
    _Plan(ALLIANCE, "credentials", TLP.GREEN, Distribution.FEDERATION),
    _Plan(CERT_EE, "phishing", TLP.GREEN, Distribution.ALL, echo=0),
    _Plan(CERT_EE, "ot", TLP.CLEAR, Distribution.ALL),
    _Plan(CERT_EE, "edge", TLP.AMBER_STRICT, Distribution.COMMUNITY),
    _Plan(EU_CERT, "credentials", TLP.AMBER_STRICT, Distribution.GROUP, group=ALLIANCE_EU_GROUP),
    _Plan(CERT_PL, "ransomware", TLP.AMBER, Distribution.FEDERATION),
    _Plan(CERT_PL, "phishing", TLP.GREEN, Distribution.COMMUNITY, strict_hashes=True),
    _Plan(GRID, "ot", TLP.AMBER, Distribution.GROUP, group=SECTOR_GROUP),
    _Plan(GRID, "ransomware", TLP.GREEN, Distribution.COMMUNITY, anonymous=True, echo=8),
    _Plan(CLOUD, "credentials", TLP.RED, Distribution.GROUP, group=SECTOR_GROUP),
    _Plan(DEFENCE, "phishing", TLP.AMBER, Distribution.ORG),
    _Plan(UNIVERSITY, "c2", TLP.CLEAR, Distribution.COMMUNITY, echo=2),
)

# Word lists read best as words (hence the noqa).
_WORDS = "update secure portal cdn mail login docs sync files auth office vpn news static".split()  # noqa: SIM905
_TLDS = ("example", "test", "invalid")
_NETS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737 documentation ranges
_FILE_NAMES = "invoice.pdf.exe agenda.docm update.dll setup.msi report.lnk readme.hta".split()  # noqa: SIM905
_SYNTHETIC_NOTE = (
    "SYNTHETIC demonstration data generated by Shieldwall for `make demo`; not real intelligence. "
    "Actor and technique names are public reference data used only to make the demo readable."
)


def member_identity_id(name: str) -> str:
    """The STIX identity id the demo uses as creator for the member called `name`."""
    return f"identity--{uuid.uuid5(DEMO_NAMESPACE, name)}"


def group_placeholder_id(name: str) -> str:
    """The sharing-group id used when the caller has not created the group yet."""
    return str(uuid.uuid5(DEMO_NAMESPACE, f"sharing-group:{name}"))


def build_demo_dataset(
    *, seed: int = 7, now: datetime | None = None, group_ids: Mapping[str, str] | None = None
) -> DemoDataset:
    """The demo data set; the same `seed` and `now` always give the same data set.

    Members, users and groups depend on neither, so a caller may build once to create the
    groups, then again with `group_ids` to get bundles that name the real group ids.
    """
    now = _utc(now or datetime.now(UTC))
    names = {g.name for g in _GROUPS}
    ids = {name: group_placeholder_id(name) for name in names}
    if group_ids is not None:
        if missing := names - set(group_ids):
            raise ValueError(f"group_ids lacks an id for: {', '.join(sorted(missing))}")
        ids = {name: group_ids[name] for name in names}
    members = _members()
    builder = _BundleBuilder(seed, now, ids)
    bundles = tuple(builder.build(index, plan) for index, plan in enumerate(_PLANS))
    return DemoDataset(
        members=members,
        users=_users(members),
        groups=_GROUPS,
        bundles=bundles,
        sightings=builder.sightings(),
    )


def _utc(moment: datetime) -> datetime:
    # A naive `now` is read as UTC, not local time, so the data set does not depend on the host.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _timestamp(moment: datetime) -> str:
    """STIX 2.1 §3.2 timestamp at millisecond precision."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _members() -> tuple[DemoMember, ...]:
    ref = _reference()
    for name, _, country, sectors, _ in _MEMBERS:
        if country not in ref.countries:
            raise LookupError(f"{name}: country {country} is not in the MISP country cluster")
        if missing := set(sectors) - ref.sectors:
            raise LookupError(f"{name}: sectors {sorted(missing)} are not in the sector cluster")
    return tuple(DemoMember(*row) for row in _MEMBERS)


def _users(members: tuple[DemoMember, ...]) -> tuple[DemoUser, ...]:
    users = [DemoUser(ADMIN_EMAIL, ALLIANCE, "admin")]
    for m in members:
        users.append(DemoUser(f"member-admin@{_domain(m.name)}", m.name, "member-admin"))
        users.append(DemoUser(f"analyst@{_domain(m.name)}", m.name, "analyst"))
    return tuple(users)


def _domain(member: str) -> str:
    slug = member.removeprefix("SYNTHETIC ").lower().replace(" ", "-")
    return f"{slug}.synthetic.invalid"


@cache
def _reference() -> Reference:
    """The actors, groups, techniques, countries and sectors the themes name, from the clusters."""
    return galaxy_reference(
        actors=frozenset(a for t in _THEMES.values() for a in t.actors),
        techniques=frozenset(x for t in _THEMES.values() for x in t.techniques),
        malware=frozenset(x for t in _THEMES.values() for x in t.malware),
        groups=frozenset(_INTRUSION_SETS.values()),
    )


# --- bundles -----------------------------------------------------------------------------------


class _BundleBuilder:
    """Builds the bundles in plan order; remembers used values so no observable repeats."""

    def __init__(self, seed: int, now: datetime, group_ids: Mapping[str, str]) -> None:
        self.seed = seed
        self.now = now
        self.group_ids = group_ids
        self.rng = random.Random(seed)
        self.used: set[str] = set()
        self.seen: list[list[tuple[str, str]]] = []  # per report, its (kind, value) indicators
        self.published: list[datetime] = []  # per report

    def _id(self, type_: str, *key: object) -> str:
        name = ":".join(map(str, (self.seed, type_, *key)))
        return f"{type_}--{uuid.uuid5(DEMO_NAMESPACE, name)}"

    def build(self, index: int, plan: _Plan) -> DemoBundle:
        rng, ref, theme = self.rng, _reference(), _THEMES[plan.theme]
        # Every other day over four weeks: all of it within the dashboard's default 30 days.
        published = self.now - timedelta(days=2 * (len(_PLANS) - index), minutes=rng.randrange(600))
        group_id = self.group_ids[plan.group] if plan.group else None
        # An anonymous contribution must not say who made it, not even through its ids: ids
        # derived from the member's name could be recomputed from this public module, so they
        # come from the plan's position alone; no created_by_ref, so the server names the broker.
        creator = None if plan.anonymous else member_identity_id(plan.member)
        owner = "anonymous" if plan.anonymous else plan.member
        objects: list[dict[str, Any]] = []
        counter = iter(range(1_000_000))

        def common(tlp: TLP, created: datetime) -> dict[str, Any]:
            ext: dict[str, Any] = {
                "extension_type": "property-extension",
                "distribution": plan.distribution.value,
            }
            if group_id is not None:
                ext["sharing_group"] = group_id
            ext["anonymous"] = plan.anonymous
            props: dict[str, Any] = {
                "spec_version": "2.1",
                "created": _timestamp(created),
                "modified": _timestamp(created),
                "object_marking_refs": [tlp.marking_id],
                "labels": ["synthetic"],
                "extensions": {SHARING_EXTENSION_ID: ext},
            }
            if creator is not None:
                props["created_by_ref"] = creator
            return props

        def sdo(type_: str, tlp: TLP = plan.tlp, **props: Any) -> str:
            created = published - timedelta(minutes=rng.randrange(30, 360))
            obj = {"type": type_, "id": self._id(type_, owner, index, next(counter))}
            obj |= common(tlp, created) | props
            objects.append(obj)
            return obj["id"]

        def sco(type_: str, tlp: TLP, **props: Any) -> str:
            obj = {"type": type_, "spec_version": "2.1", "id": _sco_id(type_, props)} | props
            obj |= {k: v for k, v in common(tlp, published).items() if k in _SCO_COMMON}
            objects.append(obj)
            return obj["id"]

        def relate(kind: str, source: str, target: str, tlp: TLP = plan.tlp) -> None:
            sdo("relationship", tlp, relationship_type=kind, source_ref=source, target_ref=target)

        actor = ref.actors[rng.choice(theme.actors)]
        # Nor through the sector it reports on, when that is the contributor's own.
        sectors = _MEMBER_SECTORS[plan.member] if plan.anonymous else ()
        target = rng.choice([t for t in theme.targets if t not in sectors])
        actor_id = sdo("threat-actor", **actor_props(actor))
        attributed = actor_id
        if group := _INTRUSION_SETS.get(actor.name):
            attributed = sdo("intrusion-set", **attack_props(ref.intrusion_sets[group]))
            relate("attributed-to", attributed, actor_id)
        techniques = rng.sample(theme.techniques, k=min(len(theme.techniques), rng.randint(2, 4)))
        for technique_id in techniques:
            pattern_id = sdo("attack-pattern", **attack_props(ref.techniques[technique_id]))
            relate("uses", attributed, pattern_id)
        for software_id in rng.sample(theme.malware, k=rng.randint(1, 2)):
            family = sdo("malware", is_family=True, **attack_props(ref.malware[software_id]))
            relate("uses", attributed, family)

        kinds = list(theme.first_kinds)
        kinds += rng.choices(("ipv4", "domain", "url", "sha256"), k=rng.randint(1, 4))
        seen: list[tuple[str, str]] = []
        observables: dict[str, list[str]] = {"ipv4": [], "domain": []}
        for kind in kinds:
            tlp = TLP.AMBER if plan.strict_hashes and kind == "sha256" else plan.tlp
            value, observable = self._observable(kind, tlp, sco)
            seen.append((kind, value))
            if kind in observables:
                observables[kind].append(observable)
            indicator = sdo("indicator", tlp, **_indicator_props(kind, value, published))
            relate("indicates", indicator, attributed, tlp)
            relate("related-to", indicator, observable, tlp)
        for domain_id, address_id in zip(observables["domain"], observables["ipv4"], strict=False):
            relate("resolves-to", domain_id, address_id)
        echoes = [plan.echo] if plan.echo is not None else []
        # And now and then a value of an earlier report no stricter than this one, so that the
        # dashboard has a few values several members saw.
        earlier = [i for i, p in enumerate(_PLANS[:index]) if p.tlp <= plan.tlp]
        if earlier and rng.random() < 0.6:
            echoes.append(rng.choice(earlier))
        for echo in echoes:
            # The same value in two members' reports: what the correlation view is for.
            kind, value = rng.choice(self.seen[echo])
            indicator = sdo("indicator", **_indicator_props(kind, value, published))
            relate("indicates", indicator, attributed)
        self.seen.append(seen)
        self.published.append(published)

        title = f"SYNTHETIC {theme.title}: {target} sector, linked to {actor.name}"
        shared_by = "via the community broker" if plan.anonymous else f"by {plan.member}"
        report = {"type": "report", "id": self._id("report", owner, index)}
        report |= common(plan.tlp, published) | {
            "name": title,
            "description": f"{_SYNTHETIC_NOTE} Sector: {target}. Shared {shared_by}.",
            "report_types": ["threat-report"],
            "published": _timestamp(published),
            "object_refs": [o["id"] for o in objects],
        }
        bundle = {
            "type": "bundle",
            "id": self._id("bundle", owner, index),
            "objects": [report, *objects],
        }
        user = f"analyst@{_domain(plan.member)}"
        return DemoBundle(member=plan.member, user=user, bundle=bundle, sharing_group=plan.group)

    def sightings(self) -> tuple[DemoSighting, ...]:
        """Other members seeing values of the reports every member reads, in the days after
        each was published, at the report's TLP; now and then a false positive."""
        rng = random.Random(f"{self.seed}:sightings")
        out = []
        for index, plan in enumerate(_PLANS):
            if plan.distribution is Distribution.ORG or plan.distribution is Distribution.GROUP:
                continue
            published = self.published[index]
            minutes = max(61, int((self.now - published).total_seconds() // 60))
            others = [m for m in _MEMBER_SECTORS if m != plan.member]
            for member in rng.sample(others, k=rng.randint(2, 4)):
                for _kind, value in rng.sample(self.seen[index], k=rng.randint(1, 2)):
                    seen_at = published + timedelta(minutes=rng.randrange(60, minutes))
                    out.append(DemoSighting(
                        user=f"analyst@{_domain(member)}",
                        value=value,
                        kind="false-positive" if rng.random() < 0.1 else "seen",
                        count=rng.randint(1, 40),
                        seen_at=_timestamp(seen_at),
                        tlp=plan.tlp.label,
                    ))  # fmt: skip
        return tuple(out)

    def _observable(self, kind: str, tlp: TLP, sco: Any) -> tuple[str, str]:
        """A fresh reserved value of `kind` and the id of the SCO made for it."""
        rng = self.rng
        while True:
            if kind == "ipv4":
                value = f"{rng.choice(_NETS)}.{rng.randint(1, 254)}"
            elif kind == "domain":
                value = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}.{rng.choice(_TLDS)}"
            elif kind == "url":
                host = f"{rng.choice(_WORDS)}{rng.randint(1, 99)}.{rng.choice(_TLDS)}"
                value = f"https://{host}/{rng.choice(_WORDS)}/{rng.getrandbits(32):08x}.php"
            else:
                value = f"{rng.getrandbits(256):064x}"
            if value not in self.used:
                self.used.add(value)
                break
        if kind == "ipv4":
            return value, sco("ipv4-addr", tlp, value=value)
        if kind == "domain":
            return value, sco("domain-name", tlp, value=value)
        if kind == "url":
            return value, sco("url", tlp, value=value)
        return value, sco("file", tlp, hashes={"SHA-256": value}, name=rng.choice(_FILE_NAMES))


# STIX 2.1 §6: observables carry no created/modified/created_by_ref, but do carry markings.
_SCO_COMMON = frozenset({"object_marking_refs", "extensions"})
_PATTERNS = {
    "ipv4": ("[ipv4-addr:value = '{}']", "address"),
    "domain": ("[domain-name:value = '{}']", "domain"),
    "url": ("[url:value = '{}']", "URL"),
    "sha256": ("[file:hashes.'SHA-256' = '{}']", "file hash"),
}


def _sco_id(type_: str, props: dict[str, Any]) -> str:
    """STIX 2.1 §2.9 deterministic id from the id-contributing properties.

    For `file` those are hashes and name (and extensions, but the sharing extension is metadata
    about who may see the object, not part of what it is: changing it must not change the id).
    """
    keys = ("hashes", "name") if type_ == "file" else ("value",)
    contributing = {k: props[k] for k in keys if k in props}
    # RFC 8785 canonical JSON; equal to sorted compact JSON for these plain string values.
    canonical = json.dumps(contributing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{type_}--{uuid.uuid5(SCO_NAMESPACE, canonical)}"


def _indicator_props(kind: str, value: str, published: datetime) -> dict[str, Any]:
    template, what = _PATTERNS[kind]
    valid_from = published - timedelta(days=1)
    props: dict[str, Any] = {
        "name": f"SYNTHETIC {what} {value[:16] + '...' if kind == 'sha256' else value}",
        "indicator_types": ["malicious-activity"],
        "pattern": template.format(value),
        "pattern_type": "stix",
        "valid_from": _timestamp(valid_from),
    }
    if kind == "ipv4":  # addresses change hands; stop matching after a quarter
        props["valid_until"] = _timestamp(valid_from + timedelta(days=90))
    return props
