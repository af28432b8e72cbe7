"""Which warning lists an instance uses, and what makes a value benign enough not to correlate."""

from __future__ import annotations

import functools
from collections.abc import Callable

from shieldwall.correlate.observables import Observable
from shieldwall.sightings.warninglists import WarningLists, default_lists_dir


def parse_selection(spec: str) -> tuple[str, ...] | None:
    """'all' | 'none' | 'id,id' | 'all,-id,-id' -> the list ids to load (None: every list)."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if parts == ["none"] or not parts:
        return ()
    available = sorted(p.parent.name for p in default_lists_dir().glob("*/list.json"))
    wanted = set(available) if parts[0] == "all" else set()
    for part in parts[1:] if parts[0] == "all" else parts:
        name = part.removeprefix("-")
        if name not in available:
            raise ValueError(f"unknown warning list {name!r}")
        (wanted.discard if part.startswith("-") else wanted.add)(name)
    return None if wanted == set(available) else tuple(sorted(wanted))


@functools.cache
def warning_lists(spec: str) -> WarningLists | None:
    """The lists a setting names, built once per process (about 4 s for all 119)."""
    only = parse_selection(spec)
    if only == ():
        return None
    return WarningLists.load(only=only)


def benign_lists(lists: WarningLists | None, observable: Observable) -> str | None:
    """The false-positive lists that name this very value ('|'-joined), or None.

    A hostname list's entry covers its subdomains, but only the entry itself is benign here:
    top-site lists hold pages.dev, duckdns.org and the like, whose subdomains are often evil.
    Cloud, CDN and VPN ranges ("known" lists) are shown in lookups but still correlate:
    attackers rent them too.
    """
    if lists is None:
        return None
    names = sorted(
        m.list_id
        for m in lists.exact(observable.kind, observable.value)
        if m.category == "false-positive"
    )
    return "|".join(names) or None


def benign_of(spec: str) -> Callable[[Observable], str | None] | None:
    """The function the correlation index calls on every value it stores, or None for no lists."""
    lists = warning_lists(spec)
    return None if lists is None else functools.partial(benign_lists, lists)
