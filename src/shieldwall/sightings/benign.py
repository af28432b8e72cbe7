"""Which warning lists an instance uses, and what makes a value benign enough not to correlate."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import os
from collections.abc import Callable
from pathlib import Path

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
def warning_lists(spec: str, cache_dir: str | None = None) -> WarningLists | None:
    """The lists a setting names, once per process.

    Building the index from the list files takes about 5 s for all 119; with `cache_dir`, the
    built index is kept there (one file per package version and selection, ~37 MB) and read
    back in a fraction of that by every later process: server, worker or command.
    """
    only = parse_selection(spec)
    if only == ():
        return None
    if cache_dir is None:
        return WarningLists.load(only=only)
    selection = ",".join(only) if only is not None else "all"
    version = importlib.metadata.version("pymispwarninglists")
    digest = hashlib.sha256(f"{version}|{selection}".encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"warninglists-{version}-{digest}.idx"
    try:
        return WarningLists.load_compiled(path)
    except (OSError, ValueError):  # not built yet, or unreadable: build it (again)
        pass
    lists = WarningLists.load(only=only)
    with contextlib.suppress(OSError):  # a read-only folder costs only the rebuild next time
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        lists.save(partial)
        os.replace(partial, path)  # whole or not at all, whoever else builds it meanwhile
    return lists


class BenignCheck:
    """The false-positive lists that name this very value ('|'-joined), or None.

    A hostname list's entry covers its subdomains, but only the entry itself is benign here:
    top-site lists hold pages.dev, duckdns.org and the like, whose subdomains are often evil.
    Cloud, CDN and VPN ranges ("known" lists) are shown in lookups but still correlate:
    attackers rent them too.

    Made once per set of lists: ingest asks it of every value it stores. Only the
    false-positive lists are looked in (a fifth of random IPv4 addresses are on a "known" list,
    whose matches were built and dropped), and an address's bounds are the observable's own,
    not parsed again."""

    def __init__(self, lists: WarningLists) -> None:
        self._lists = lists
        self._allowed: dict[str, frozenset[int]] = {}

    def __call__(self, observable: Observable) -> str | None:
        kind, value, low, high = observable
        allowed = self._allowed.get(kind)
        if allowed is None:
            allowed = self._allowed[kind] = self._lists.consulted(kind, "false-positive")
        bounds = (low, high) if low is not None and high is not None else None
        found = self._lists.exact_in(kind, value, allowed, bounds)
        if not found:  # nearly every value: ingest asks this of each one it stores
            return None
        return "|".join(sorted(self._lists.lists[i].list_id for i in found))


def benign_of(spec: str, cache_dir: str | None = None) -> Callable[[Observable], str | None] | None:
    """The function the correlation index calls on every value it stores, or None for no lists."""
    lists = warning_lists(spec, cache_dir)
    return None if lists is None else BenignCheck(lists)
