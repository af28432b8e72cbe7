"""Resolve each object's marking, distribution, sharing group and anonymity before it is stored.

The rules (README, "Sharing rules"), in the order they apply:
1. What an object says of itself. Its TLP is the strictest found anywhere on it: object markings
   and granular markings, whether the marking is TLP 2.0's, STIX 2.1's TLP 1.0 definitions, or a
   definition in the bundle or already shared that says it is TLP. A marking reference that
   cannot be read is rejected, never ignored: we never read less strictly than was written.
2. What a new version does not say, it keeps from its member's version before it: the marking,
   the distribution with its sharing group, and anonymity. Widening takes an explicit marking and
   distribution; anonymity never changes from one version to the next.
3. What is still unsaid comes from the member's defaults, the distribution narrowed to what the
   TLP allows.
4. The objects a report refers to in the same bundle inherit its marking, distribution and
   anonymity unless they carry stricter ones, the distribution narrowed to what each object's
   TLP allows.
An explicit request that the TLP does not allow is rejected; what was inherited is narrowed.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from shieldwall.intel.timestamps import is_timestamp, normalize_timestamp
from shieldwall.intel.validate import ObjectError
from shieldwall.intel.validate_extensions import FEDERATION_PROPERTIES
from shieldwall.markings import (
    DISTRIBUTION_REACH,
    PAP_BY_MARKING_ID,
    SHARING_EXTENSION_ID,
    TLP,
    TLP_BY_MARKING_ID,
    Distribution,
    allows,
    cap_distribution,
    tlp_of,
    tlp_of_definition,
)
from shieldwall.policy import Viewer, may_share_with_group


@dataclass(frozen=True, slots=True)
class MemberDefaults:
    member_id: str
    identity_id: str
    tlp: TLP
    distribution: Distribution


class Sharing(NamedTuple):
    """Who may see one thing shared. A named tuple, not a frozen dataclass: ingest hashes and
    compares one per object, and a tuple does both in C."""

    tlp: TLP
    distribution: Distribution
    sharing_group_id: str | None
    anonymous: bool

    def extension(self) -> dict[str, Any]:
        ext: dict[str, Any] = {
            "extension_type": "property-extension",
            "distribution": self.distribution.value,
        }
        if self.sharing_group_id:
            ext["sharing_group"] = self.sharing_group_id
        ext["anonymous"] = self.anonymous
        return ext


class Asked(NamedTuple):
    """What one thing shared says of its own sharing; None where it says nothing. (A named tuple
    for the same reason as Sharing.)"""

    tlp: TLP | None = None
    distribution: Distribution | None = None
    group_id: str | None = None
    anonymous: bool | None = None


# --- markings: what TLP each marking reference stands for --------------------------------------

# A marking-definition id mapped to its TLP, or to None for a marking that is not TLP (a
# statement, PAP...). An id missing from the map is one nobody could tell us about.
MarkingLevels = Mapping[str, "TLP | None"]
_UNKNOWN = object()


def marking_references(objects: Iterable[Any]) -> set[str]:
    """Every marking-definition id the objects name, in object or granular markings."""
    found: set[str] = set()
    add = found.add
    for obj in objects:
        if type(obj) is not dict:
            continue
        refs = obj.get("object_marking_refs")
        if type(refs) is list:
            for ref in refs:  # a loop, not a generator: most objects name one marking
                if type(ref) is str:
                    add(ref)
        granular = obj.get("granular_markings")
        if type(granular) is list:
            found.update(
                g["marking_ref"]
                for g in granular
                if type(g) is dict and type(g.get("marking_ref")) is str
            )
    return found


def marking_levels(
    objects: Sequence[Any], stored: Callable[[set[str]], Mapping[str, TLP | None]]
) -> tuple[dict[str, TLP | None], list[ObjectError]]:
    """The TLP of every marking the objects name: the well-known ones, the definitions in the
    bundle, and `stored(ids)` for the rest (the definitions already shared that the sharer may
    see). Errors for definitions in the bundle that say they are TLP but name no readable level."""
    # The well-known markings: TLP's, and PAP's (not TLP, known without a definition).
    levels: dict[str, TLP | None] = {**TLP_BY_MARKING_ID, **dict.fromkeys(PAP_BY_MARKING_ID)}
    errors: list[ObjectError] = []
    for index, obj in enumerate(objects):
        if type(obj) is not dict or obj.get("type") != "marking-definition":
            continue
        marking_id = obj.get("id")
        if type(marking_id) is not str or marking_id in TLP_BY_MARKING_ID:
            continue
        try:
            level = tlp_of_definition(obj)
        except ValueError as exc:
            errors.append(ObjectError(index, marking_id, "definition", str(exc)))
            level = TLP.RED  # unreadable: taken at its strictest until the sender fixes it
        keep_strictest(levels, marking_id, level)
    wanted = marking_references(objects) - levels.keys()
    if wanted:
        levels.update(stored(wanted))
    return levels, errors


def keep_strictest(levels: dict[str, TLP | None], marking_id: str, level: TLP | None) -> None:
    """Record `level` for a marking of which several definitions were found: the strictest TLP
    wins, and a TLP one wins over one that is not TLP."""
    previous = levels.get(marking_id)
    if level is None:
        levels.setdefault(marking_id, None)
    else:
        levels[marking_id] = level if previous is None else max(previous, level)


def _tlp_asked(obj: dict[str, Any], levels: MarkingLevels) -> tuple[TLP | None, list[tuple]]:
    """The strictest TLP anywhere on `obj`, with a problem per marking reference nobody defined."""
    refs = obj.get("object_marking_refs")
    granular = obj.get("granular_markings")
    if granular is None and type(refs) is list and len(refs) == 1:  # the hot path
        level = TLP_BY_MARKING_ID.get(refs[0])
        if level is not None:
            return level, []
    found: list[TLP] = []
    problems: list[tuple[str, str]] = []
    named: list[tuple[str, Any]] = []
    if type(refs) is list:
        named += [(f"object_marking_refs[{i}]", ref) for i, ref in enumerate(refs)]
    if type(granular) is list:
        named += [
            (f"granular_markings[{i}].marking_ref", g.get("marking_ref"))
            for i, g in enumerate(granular)
            if type(g) is dict and "marking_ref" in g
        ]
    for where, ref in named:
        if type(ref) is not str:
            continue  # the validator reports it
        level = levels.get(ref, _UNKNOWN)
        if level is _UNKNOWN:
            problems.append((
                where,
                f"{ref} is neither a TLP marking nor a marking definition in this bundle or "
                "already shared: send its definition in the bundle, so that its TLP (if it is "
                "one) is not missed",
            ))  # fmt: skip
        elif level is not None:
            found.append(level)  # type: ignore[arg-type]
    return (max(found) if found else None), problems


def asked_of(obj: dict[str, Any], levels: MarkingLevels) -> tuple[Asked, list[tuple[str, str]]]:
    """What `obj` asks for itself, and (property, message) for markings that cannot be read."""
    tlp, problems = _tlp_asked(obj, levels)
    extensions = obj.get("extensions")
    ext = extensions.get(SHARING_EXTENSION_ID) if extensions else None
    if type(ext) is not dict:
        return _ASKS_TLP_ONLY[tlp], problems
    raw = ext.get("distribution")
    distribution = Distribution(raw) if raw in _DISTRIBUTIONS else None
    group = ext.get("sharing_group")
    anonymous = ext.get("anonymous")
    return Asked(
        tlp=tlp,
        distribution=distribution,
        group_id=group if type(group) is str and distribution is Distribution.GROUP else None,
        anonymous=anonymous if type(anonymous) is bool else None,
    ), problems


_DISTRIBUTIONS = frozenset(d.value for d in Distribution)
# What an object without the sharing extension asks, by its TLP: one value each (a named tuple
# is made in Python; most objects ask only this).
_ASKS_TLP_ONLY: dict[TLP | None, Asked] = {level: Asked(level) for level in (None, *TLP)}


# --- one thing shared --------------------------------------------------------------------------


def _describe(tlp: TLP, distribution: Distribution) -> str:
    broadest = [d.value for d in Distribution if allows(tlp, d)]
    return (
        f"TLP:{tlp.label.upper()} does not allow distribution {distribution.value!r}; "
        f"it allows {', '.join(broadest)}"
    )


def _narrowed(
    tlp: TLP, distribution: Distribution, group: str | None
) -> tuple[Distribution, str | None]:
    capped = cap_distribution(tlp, distribution)
    return capped, (group if capped is Distribution.GROUP else None)


def resolve_one(
    asked: Asked,
    viewer: Viewer,
    defaults: MemberDefaults,
    prior: Sharing | None = None,
) -> tuple[Sharing, list[tuple[str, str]]]:
    """The sharing of one thing a member shares (an object, a sighting): what it asks, else what
    `prior` (its version before) had, else the member's defaults; with (`marking` |
    `sharing_group` | `anonymous`, message) problems when it asks for what is not allowed."""
    problems: list[tuple[str, str]] = []
    tlp = asked.tlp if asked.tlp is not None else prior.tlp if prior is not None else defaults.tlp
    if asked.distribution is not None:
        distribution, group = asked.distribution, asked.group_id
        if not allows(tlp, distribution):
            if asked.tlp is not None:
                hint = ""
            elif prior is not None:
                hint = " (no TLP was given, so the previous version's applies)"
            else:
                hint = " (no TLP was given, so the member's default applies)"
            problems.append(("marking", _describe(tlp, distribution) + hint))
        if group is not None and not may_share_with_group(viewer, group):
            problems.append((
                "sharing_group",
                f"sharing group {group} does not exist or this member is not in it",
            ))  # fmt: skip
    elif prior is not None:
        distribution, group = _narrowed(tlp, prior.distribution, prior.sharing_group_id)
    else:
        distribution, group = _narrowed(tlp, defaults.distribution, None)
    if prior is None:
        anonymous = bool(asked.anonymous)
    else:
        anonymous = prior.anonymous
        if asked.anonymous is not None and asked.anonymous is not prior.anonymous:
            problems.append(("anonymous", _ANONYMITY_FIXED))
    return Sharing(tlp, distribution, group, anonymous), problems


_ANONYMITY_FIXED = (
    "an object's anonymity is set by its first version and kept by every later one: earlier "
    "versions would otherwise name (or contradict) its contributor; share a new object instead"
)


# --- a whole bundle ----------------------------------------------------------------------------

# A member's stored versions of one object: (normalised modified, sharing), oldest first.
History = Mapping[str, Sequence[tuple[str, Sharing]]]

_PROPERTY_OF = {
    "marking": "object_marking_refs",
    "sharing_group": f"extensions.{SHARING_EXTENSION_ID}.sharing_group",
    "anonymous": f"extensions.{SHARING_EXTENSION_ID}.anonymous",
}


def version_of(obj: Any) -> tuple[str, str] | None:
    """(id, normalised modified, '' without one) of an object, None when it has no usable id."""
    if type(obj) is not dict or type(obj.get("id")) is not str:
        return None
    modified = obj.get("modified")
    if modified is None:
        return obj["id"], ""
    return (obj["id"], normalize_timestamp(modified)) if is_timestamp(modified) else None


def _prior(chain: list[tuple[str, Sharing]], modified: str) -> Sharing | None:
    """The version a new one inherits from: the same version when re-sent, else the nearest
    before it, else (a version older than all stored ones, arriving late) the nearest after."""
    if not chain:
        return None
    if len(chain) == 1:  # the common case: one stored version
        return chain[0][1]
    at = bisect.bisect_left(chain, modified, key=_modified)
    if at < len(chain) and chain[at][0] == modified:
        return chain[at][1]
    return chain[at - 1][1] if at > 0 else chain[0][1]


def resolve(
    objects: Sequence[Any],
    viewer: Viewer,
    defaults: MemberDefaults,
    levels: MarkingLevels,
    history: History | None = None,
) -> tuple[list[Sharing], list[ObjectError]]:
    """One Sharing per object, in order, and the errors that reject the bundle.

    `history` holds the member's stored versions of the objects the bundle sends again. Objects
    that are not even JSON objects get a placeholder: the validator rejects them.
    """
    history = history or {}
    n = len(objects)
    asked: list[Asked] = []
    errors: list[ObjectError] = []
    for index, obj in enumerate(objects):
        if type(obj) is not dict:
            asked.append(Asked())
            continue
        own, problems = asked_of(obj, levels)
        asked.append(own)
        if problems:
            errors += [ObjectError(index, obj.get("id"), where, m) for where, m in problems]

    ids = [obj.get("id") if type(obj) is dict else None for obj in objects]
    referrers = _referrers(objects)
    seen: set[Any] = set()
    repeated = {i for i in ids if i is not None and (i in seen or seen.add(i))}  # type: ignore[func-returns-value]
    chained = [
        i for i in range(n) if ids[i] is not None and (ids[i] in history or ids[i] in repeated)
    ]
    one = _Resolver(viewer, defaults)
    if not chained and not referrers:  # the common bundle: new objects, each once, no report
        resolved = []
        outcomes: dict[Asked, tuple[Sharing, list[tuple[str, str]]]] = {}
        for index, own in enumerate(asked):
            outcome = outcomes.get(own)
            if outcome is None:
                outcome = outcomes[own] = resolve_one(own, viewer, defaults)
            resolved.append(outcome[0])
            if outcome[1]:
                errors += [
                    ObjectError(index, ids[index], _PROPERTY_OF[w], m) for w, m in outcome[1]
                ]
        return resolved, errors
    final: list[Sharing] = []
    problems_of: list[list[tuple[str, str]]] = []
    # Usually one round. Only when a report tightens an object of which the bundle holds later
    # versions too does a second see what those inherit (each round can only make a sharing
    # stricter, so this ends).
    for _ in range(n + 2):
        base, problems_of, priors = _bases(
            repeated, asked, ids, objects, chained, history, final, one
        )
        previous, final = final, list(base)
        _tighten_reports(objects, referrers, base, final, problems_of, asked, priors)
        if not (repeated and referrers) or final == previous:
            break
    for i, problems in enumerate(problems_of):
        errors += [
            ObjectError(i, ids[i], _PROPERTY_OF[what], message) for what, message in problems
        ]
    return final, errors


class _Resolver:
    """resolve_one for one member, remembered: the objects of a bundle mostly ask alike."""

    def __init__(self, viewer: Viewer, defaults: MemberDefaults) -> None:
        self._viewer, self._defaults = viewer, defaults
        self._memo: dict[tuple[Asked, Sharing | None], tuple[Sharing, list[tuple[str, str]]]] = {}

    def __call__(
        self, asked: Asked, prior: Sharing | None
    ) -> tuple[Sharing, list[tuple[str, str]]]:
        key = (asked, prior)
        outcome = self._memo.get(key)
        if outcome is None:
            outcome = self._memo[key] = resolve_one(asked, self._viewer, self._defaults, prior)
        return outcome[0], list(outcome[1]) if outcome[1] else []


def _bases(
    repeated: set[str],
    asked: list[Asked],
    ids: list[Any],
    objects: Sequence[Any],
    chained: list[int],
    history: History,
    final: list[Sharing],
    one: _Resolver,
) -> tuple[list[Sharing], list[list[tuple[str, str]]], list[Sharing | None]]:
    """Each object's own sharing, before reports: what it asks, else its version before (stored,
    or earlier in the bundle with what it was finally given last round), else the defaults."""
    n = len(asked)
    base: list[Sharing] = [None] * n  # type: ignore[list-item]
    problems: list[list[tuple[str, str]]] = [[] for _ in range(n)]
    priors: list[Sharing | None] = [None] * n
    chained_set = set(chained)
    for i in range(n):
        if i not in chained_set:
            base[i], problems[i] = one(asked[i], None)
    versions = {i: version_of(objects[i]) for i in chained}
    chains: dict[str, list[tuple[str, Sharing]]] = {}
    # Versions of one id in the bundle are taken oldest first, so that each finds the one
    # before it; the others need no order.
    in_order = [i for i in chained if ids[i] not in repeated]
    in_order += sorted(
        (i for i in chained if ids[i] in repeated), key=lambda i: versions[i] or (ids[i], "")
    )
    for i in in_order:
        version = versions[i]
        if version is None:  # an unreadable modified: the validator rejects it
            base[i], problems[i] = one(asked[i], None)
            continue
        object_id, modified = version
        if object_id not in repeated:
            priors[i] = prior = _prior(history[object_id], modified)
            base[i], problems[i] = one(asked[i], prior)
            continue
        chain = chains.get(object_id)
        if chain is None:
            chain = chains[object_id] = list(history.get(object_id, ()))
        priors[i] = prior = _prior(chain, modified)
        base[i], problems[i] = one(asked[i], prior)
        at = bisect.bisect_left(chain, modified, key=_modified)  # a later version inherits this
        if not (at < len(chain) and chain[at][0] == modified):
            chain.insert(at, (modified, final[i] if final else base[i]))
    return base, problems, priors


def _modified(entry: tuple[str, Sharing]) -> str:
    return entry[0]


def _tighten_reports(
    objects: Sequence[Any],
    referrers: dict[int, list[int]],
    base: list[Sharing],
    final: list[Sharing],
    problems: list[list[tuple[str, str]]],
    asked: list[Asked],
    priors: list[Sharing | None],
) -> None:
    """`final` (a copy of `base`) tightened by the reports of the bundle that refer to each
    object: reports first, among themselves until they stop changing, then everything else."""

    def within(i: int) -> tuple[Sharing, list[tuple[str, str]]]:
        prior = priors[i]
        given = (asked[i].tlp is not None or prior is not None,
                 asked[i].distribution is not None or prior is not None)  # fmt: skip
        sharing, found = base[i], []
        for report in referrers[i]:
            sharing, problem = _within_report(sharing, final[report], given, prior)
            given = (True, True)  # what one report gave is the floor for the next
            if problem:
                found.append(problem)
        return sharing, found

    is_report = {
        i for i in referrers if type(objects[i]) is dict and objects[i].get("type") == "report"
    }
    for _ in range(len(is_report) + 1):
        changed = False
        for i in is_report:
            sharing, _found = within(i)
            if sharing != final[i]:
                final[i], changed = sharing, True
        if not changed:
            break
    memo: dict[tuple[Any, ...], tuple[Sharing, list[tuple[str, str]]]] = {}
    for i in referrers:
        key = (base[i], asked[i], priors[i], *(final[r] for r in referrers[i]))
        outcome = memo.get(key)
        if outcome is None:
            outcome = memo[key] = within(i)
        final[i] = outcome[0]
        problems[i] += outcome[1]


def _referrers(objects: Sequence[Any]) -> dict[int, list[int]]:
    """For each object a report in the bundle refers to (every version of it in the bundle), the
    reports that refer to it."""
    reports = [
        i for i, obj in enumerate(objects) if type(obj) is dict and obj.get("type") == "report"
    ]
    if not reports:
        return {}
    indexes_of: dict[str, list[int]] = {}
    for index, obj in enumerate(objects):
        if type(obj) is dict and type(obj.get("id")) is str:
            indexes_of.setdefault(obj["id"], []).append(index)
    referrers: dict[int, list[int]] = {}
    for report_index in reports:
        refs = objects[report_index].get("object_refs")
        for ref in refs if type(refs) is list else ():
            for i in indexes_of.get(ref, ()) if type(ref) is str else ():
                if i != report_index:
                    referrers.setdefault(i, []).append(report_index)
    return referrers


def _within_report(
    own: Sharing, report: Sharing, given: tuple[bool, bool], prior: Sharing | None
) -> tuple[Sharing, tuple[str, str] | None]:
    """`own` (an object's sharing) tightened by a report in the same bundle that refers to it."""
    tlp_given, distribution_given = given
    tlp = max(own.tlp, report.tlp) if tlp_given else report.tlp
    reach = DISTRIBUTION_REACH
    if distribution_given and reach[own.distribution] <= reach[report.distribution]:
        distribution, group = own.distribution, own.sharing_group_id
    else:
        distribution, group = report.distribution, report.sharing_group_id
    distribution, group = _narrowed(tlp, distribution, group)
    problem = None
    anonymous = own.anonymous or report.anonymous
    if prior is not None and anonymous is not prior.anonymous:
        anonymous = prior.anonymous
        problem = (
            "anonymous",
            "an anonymous report refers to this object, which was shared under its member's "
            "name: " + _ANONYMITY_FIXED,
        )
    return Sharing(tlp, distribution, group, anonymous), problem


def apply(
    obj: dict[str, Any], sharing: Sharing, creator_identity: str, broker_identity: str
) -> dict[str, Any]:
    """The object as it will be stored and served: marking and sharing extension made explicit,
    and its creator named (the member's identity when it named none, the broker's when the
    contribution is anonymous).

    Runs for every object stored: what it copies is only what it changes, and the sharing
    extension of each distinct sharing is built once (_extension), so the object it returns
    shares it with others; like every value here, nobody changes it afterwards."""
    out = dict(obj)
    refs = obj.get("object_marking_refs")
    if tlp_of(refs) is not sharing.tlp:
        kept = [r for r in refs if r not in TLP_BY_MARKING_ID] if refs else []
        out["object_marking_refs"] = [*kept, sharing.tlp.marking_id]
    ext = _extension(sharing)
    extensions = obj.get("extensions")
    if extensions:
        sent = extensions.get(SHARING_EXTENSION_ID)
        if type(sent) is dict:  # what federation wrote travels on (ingest admits it from peers)
            carried = [(k, sent[k]) for k in FEDERATION_PROPERTIES if k in sent]
            if carried:
                ext = {**ext, **dict(carried)}
        out["extensions"] = {**extensions, SHARING_EXTENSION_ID: ext}
    else:
        out["extensions"] = {SHARING_EXTENSION_ID: ext}
    if "created" in obj:  # SDOs and SROs; observables (STIX 2.1 §6) name no creator
        if sharing.anonymous:
            out["created_by_ref"] = broker_identity
        elif "created_by_ref" not in obj:
            out["created_by_ref"] = creator_identity
    return out


@functools.lru_cache(maxsize=256)
def _extension(sharing: Sharing) -> dict[str, Any]:
    """Sharing.extension, once per distinct sharing (a bundle's objects mostly share one)."""
    return sharing.extension()
