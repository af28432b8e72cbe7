"""Value exports (blocklists, IDS rules, RPZ zones) made a page of indicators at a time, on
several cores when the export is large.

Each page goes through three steps:
1. read and keep (`kept`): the page's visible, current indicators (indicator_values.read_page:
   the policy's SQL filter, the selection, not revoked, not past `valid_until`), less those
   scoring below `min_score`, with their values of the kinds asked for that may be blocked
   (not a URL's host unless asked for, not on a false-positive warning list);
2. render (a format's Renderer): each value's lines, with the 64-bit key that tells a value
   written before, and for rules the sid each line's hash gives it;
3. merge, in pk order (`Merge`): the page audited with its indicators, each value written once
   (by its first indicator), each sid given once (the next free one on a collision), and an
   indicator's rules made again when de-duplication took one of its values away (a rule's
   sid counts its place among what its indicator writes).
Steps 1 and 2 need only their page; step 3 needs every page before it. So from
PARALLEL_PAGES pages on, with two cores or more, worker processes (value_worker.py, a Python
of their own) take steps 1 and 2 for ranges of pk of a page each, while this process merges
their answers in order, which is all the order there is: the output is byte for byte what one
process makes (tests/exchange/test_value_export.py). Memory stays flat but for the merge's
two IntSets (~16 bytes a value written, ~8 a rule) and a few pages waiting in pipes.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
import threading
import traceback
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate, chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select, true

from shieldwall.db import Database
from shieldwall.exchange.indicator_values import PAGE, ValueRow, mentions, pages, read_page
from shieldwall.intel.tables import objects
from shieldwall.markings import PAP_BY_MARKING_ID
from shieldwall.policy import Viewer

# Imported where used, not here: a worker process (value_worker.py) imports this module at its
# start, and needs neither the audit (the merge's) nor, for most exports, pattern parsing
# (stix2patterns' ANTLR parser), scores or warning lists; each export starts 2-4 of them.
if TYPE_CHECKING:
    from shieldwall.exchange.blocklist import Blocklist
    from shieldwall.sightings.benign import BenignCheck
    from shieldwall.sightings.warninglists import WarningLists

PARALLEL_PAGES = 16  # pages of indicators from which an export is worth its worker processes
MAX_WORKERS = 4
WORKERS: int | None = None  # None: one a core, at most MAX_WORKERS (tests choose)
AHEAD = 2  # pages each worker may have rendered before the merge takes them
# One export at a time per process has worker processes: others render in their own thread, so
# many exports asked for at once (through the API) never start more processes than there are
# cores to run them.
_WORKERS_FREE = threading.Lock()
_PK, _OBJECT_ID = itemgetter(0), itemgetter(1)  # of a ValueRow


@dataclass(slots=True)
class Rendered:
    """A page's values as a Renderer writes them, before de-duplication."""

    keys: list[int] = field(default_factory=list)  # a value's key (value_key), one a value
    texts: list[str] = field(default_factory=list)  # its lines ('' when it makes none)
    # Rules only: each line's sid offset in order ('I'), and how many lines each value has.
    sids: array[int] = field(default_factory=lambda: array("I"))
    counts: bytearray = field(default_factory=bytearray)
    # Rules only: (first, end, rows) of each indicator with several values, made again when
    # the merge takes one of them away.
    groups: list[tuple[int, int, list[ValueRow]]] = field(default_factory=list)
    counted: set[str] = field(default_factory=set)  # the counted kinds (hash lists) found
    ids: list[str] = field(default_factory=list)  # the page's indicators, for its audit entry
    # As a worker sends it (__reduce__): `texts` joined, and each one's length: one string to
    # pickle and unpickle, not thousands with a memo entry each, and the merge nearly always
    # wants the page whole (a moved sid cuts it around that value only: whole_with).
    joined: str | None = None
    lengths: array[int] | None = None

    def whole(self) -> str:
        """Every value's lines, in order."""
        return "".join(self.texts) if self.joined is None else self.joined

    def each(self) -> list[str]:
        """Each value's lines (`texts`), split out of `joined` when the page came through a pipe."""
        if self.joined is not None and self.lengths and not self.texts:
            joined, ends = self.joined, list(accumulate(self.lengths))
            self.texts = [joined[a:b] for a, b in zip([0, *ends], ends, strict=False)]
        return self.texts

    def _span(self, i: int) -> tuple[int, int]:
        assert self.lengths is not None
        start = sum(self.lengths[:i])
        return start, start + self.lengths[i]

    def text_of(self, i: int) -> str:
        """Value i's lines."""
        if self.joined is None or self.texts:
            return self.texts[i]
        start, end = self._span(i)
        return self.joined[start:end]

    def whole_with(self, changed: dict[int, str]) -> str:
        """whole(), with the lines of the values `changed` names changed (a few: the joined
        text is cut around them, not split a value at a time)."""
        if self.joined is None or self.texts:
            texts = list(self.texts)
            for i, text in changed.items():
                texts[i] = text
            return "".join(texts)
        pieces, at = [], 0
        for i in sorted(changed):
            start, end = self._span(i)
            pieces += [self.joined[at:start], changed[i]]
            at = end
        pieces.append(self.joined[at:])
        return "".join(pieces)

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.keys, [], self.sids, self.counts, self.groups, self.counted, self.ids,
                  self.whole(), array("I", map(len, self.each())))  # fmt: skip
        return Rendered, fields


class Renderer(Protocol):
    """A format's lines for a page of kept values (step 2). Picklable: workers get a copy."""

    sid_span: int  # the sids' offsets are below this; 0: the format has no sids

    def render(self, rows: list[ValueRow]) -> Rendered:
        """Every value of `rows` (each row a value `kept` let through) in order."""
        ...

    def resid(self, text: str, line: int, old: int, new: int) -> str:
        """`text` with the sid offset of its `line`-th line moved from `old` to `new`."""
        ...


def value_key(kind: str, value: str) -> int:
    """A value's 64-bit key: the built-in hash, the same in every process of one export (its
    workers are started with one PYTHONHASHSEED); two values of a million share one with a
    chance of ~3e-8. The renderers write it inline: a call costs as much as the hash."""
    return hash((kind, value))


@dataclass(frozen=True, slots=True)
class Job:
    """What every page of one export is read and rendered with; a copy goes to each worker."""

    url: str
    viewer: Viewer
    request: Blocklist
    now: datetime
    half_lives: dict[str, float]
    warninglists: tuple[str, str | None] | None  # (setting, cache_dir); None: no lists
    renderer: Renderer
    # Lists already loaded (blocklist_lines): the export is then made in this process only.
    lists: WarningLists | None = None

    @property
    def only_shared_domains(self) -> bool:
        return "domain" in self.request.kinds and not self.request.include_url_hosts

    @property
    def kinds(self) -> tuple[str, ...]:
        # An indicator's URLs are read too when its domains may be only their hosts.
        kinds = self.request.kinds
        return (*kinds, "url") if self.only_shared_domains and "url" not in kinds else kinds


def chosen_of(request: Blocklist, now: datetime) -> ColumnElement[bool]:
    """The request's selection over `objects` (on top of the policy): its TLP, labels and age,
    its PAP ceiling, and no indicator past its `valid_until` (the column ingest fills,
    normalised: compared as text)."""
    chosen = request.selection.where(objects, now=now) if request.selection else true()
    if request.max_pap is not None:
        stricter = [m for m, level in PAP_BY_MARKING_ID.items() if level > request.max_pap]
        chosen = and_(chosen, *(~mentions(objects.c.body, m) for m in stricter))
    until = objects.c.valid_until
    return and_(chosen, or_(until.is_(None), until > now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))


def kept(
    db: Database, job: Job, rows: list[ValueRow], benign: BenignCheck | None
) -> tuple[list[str], list[ValueRow]]:
    """Step 1 past the read: the ids of the page's indicators that score enough, and their
    values of the kinds asked for that may be blocked, as rows in the page's order."""
    request = job.request
    found = rows
    if request.min_score is not None:
        left_out = _scored_below(db, job, rows)
        found = [r for r in rows if r[0] not in left_out]
    ids = list(dict(zip(map(_PK, found), map(_OBJECT_ID, found), strict=True)).values())
    # Only an indicator with a URL has a domain that was not shared as one (its host); its
    # pattern is read ('' when its body names no domain: indicator_values.may_name_domains).
    hosts_only = (
        {r[0]: _shared_as_domains(r[7]) for r in found if r[7] is not None}
        if job.only_shared_domains
        else {}
    )
    wanted = frozenset(request.kinds)
    # Comprehensions, not a loop with appends: a million values pass here. Left out: a row
    # with no value, a URL read only for its pattern, the host of a URL not shared as a domain.
    if hosts_only:
        out = [
            r
            for r in found
            if r[5] in wanted
            and not (r[5] == "domain" and r[0] in hosts_only and r[6] not in hosts_only[r[0]])
        ]
    else:
        out = [r for r in found if r[5] in wanted]
    if benign is not None:  # (a value's own property: its later indicators are left out too)
        from shieldwall.correlate.observables import Observable

        out = [r for r in out if not benign(Observable(r[5], r[6]))]
    return ids, out


def _scored_below(db: Database, job: Job, rows: list[ValueRow]) -> set[int]:
    """The pks of the page's indicators scoring below `min_score` for the viewer (scores read
    each indicator's values themselves: its sightings are by value, of every kind)."""
    from shieldwall.sightings.service import IndicatorRow, scores_of

    heads = {r[0]: r for r in rows}
    indicators = [IndicatorRow(r[0], r[1], r[2], r[4]) for r in heads.values()]
    with db.read() as conn:
        scores = scores_of(conn, job.viewer, indicators, job.half_lives, now=job.now)
    assert job.request.min_score is not None
    return {pk for pk in heads if scores[pk]["score"] < job.request.min_score}


def may_name_domains(pattern: str) -> bool:
    """Whether a pattern may compare a domain: only `domain-name:value` and `..._ref.value`
    comparisons name one (observables.py); indicator_values.may_name_domains asks it of a
    stored body in SQL."""
    return "domain-name" in pattern or "_ref" in pattern


def _shared_as_domains(pattern: str) -> frozenset[str]:
    """The domains an indicator's pattern compares a domain to (not the hosts of its URLs)."""
    if not may_name_domains(pattern):
        return frozenset()
    from shieldwall.correlate.observables import guess_kind, normalise, pattern_comparisons

    found = set()
    for rule, _, value in pattern_comparisons(pattern):
        if rule == "domain" or (rule == "referenced" and guess_kind(value) == "domain"):
            domain = normalise("domain", value)
            if domain is not None:
                found.add(domain.value)
    return frozenset(found)


class Merge:
    """Step 3: what a page adds to the export, given every page before it."""

    def __init__(self, renderer: Renderer) -> None:
        from shieldwall.exchange.blocklist import IntSet

        self.renderer = renderer
        self.written = IntSet()  # the values' keys
        self.used = IntSet(bits=32)  # the sids' offsets (below 2**32)
        self.counted: set[str] = set()

    def text(self, page: Rendered) -> str:
        """The page's lines, value by value, of the values not written before, joined."""
        self.counted |= page.counted
        new = self.written.add_each(page.keys)
        if not self.renderer.sid_span:
            return page.whole() if 0 not in new else "".join(self._unwritten(page, new))
        if 0 in new:
            return "".join(self._some(page, new))
        # Every value is new (nearly always): each sid as hashed, in order, but where taken.
        at = self.used.add_until_taken(page.sids)
        return page.whole() if at == len(page.sids) else page.whole_with(self._moved_on(page, at))

    def _unwritten(self, page: Rendered, new: bytearray) -> list[str]:
        return [text for text, n in zip(page.each(), new, strict=True) if n]

    def _moved_on(self, page: Rendered, at: int) -> dict[int, str]:
        """A page of new values whose `at`-th sid was taken: it and each later one taken moved
        on to the next free one; the changed texts by value."""
        sids, changed = page.sids, {}
        lines = [0, *accumulate(page.counts)]  # where each value's lines start among the sids
        while at < len(sids):
            i = bisect_right(lines, at) - 1
            text = changed.get(i)
            changed[i] = self._moved(text or page.text_of(i), at - lines[i], sids[at])
            at = self.used.add_until_taken(sids, at + 1)
        return changed

    def _some(self, page: Rendered, new: bytearray) -> list[str]:
        """The lines, value by value, of a page some of whose values were written before (`new`:
        0 for those)."""
        place = self._place
        texts, sids, counts = page.each(), page.sids, page.counts
        groups = iter(page.groups)
        group = next(groups, None)
        out: list[str] = []
        line = 0  # the first line of value i in sids
        i, n = 0, len(texts)
        while i < n:
            if group is not None and group[0] == i:
                first, end, rows = group
                if all(new[first:end]):
                    for k in range(first, end):
                        out.append(place(texts[k], sids, line, counts[k]))
                        line += counts[k]
                else:  # its rules' places among its values changed: made again
                    line += sum(counts[first:end])
                    left = [r for r, w in zip(rows, new[first:end], strict=True) if w]
                    again = self.renderer.render(left)
                    at = 0
                    for text, count in zip(again.texts, again.counts, strict=True):
                        out.append(place(text, again.sids, at, count))
                        at += count
                group = next(groups, None)
                i = end
                continue
            if new[i]:
                out.append(place(texts[i], sids, line, counts[i]))
            line += counts[i]
            i += 1
        return out

    def _place(self, text: str, sids: array[int], line: int, count: int) -> str:
        """`text` with each of its `count` lines' sids given, moved on where taken."""
        used = self.used.add
        for j in range(count):
            if not used(sids[line + j]):
                text = self._moved(text, j, sids[line + j])
        return text

    def _moved(self, text: str, j: int, offset: int) -> str:
        """Two rules hashing to one sid: the later one takes the next free sid."""
        span, used = self.renderer.sid_span, self.used.add
        new = (offset + 1) % span
        while not used(new):
            new = (new + 1) % span
        return self.renderer.resid(text, j, offset, new)


def merged(db: Database, job: Job, action: str, merge: Merge | None = None) -> Iterator[str]:
    """Each page's lines joined, each page audited as `action` with its indicators before any
    of its lines is given out; pages with nothing to write give nothing."""
    from shieldwall.audit import service as audit

    merge = merge or Merge(job.renderer)
    request = job.request
    for page in rendered_pages(db, job):
        if page.ids:
            ids = page.ids
            audit.record(db, job.viewer, action, {
                "kinds": list(request.kinds), "min_score": request.min_score,
                "include_benign": request.include_benign, "count": len(ids),
                **({"selection": request.selection.as_dict()} if request.selection else {}),
                "objects": ids[:100], "objects_digest": audit.digest_of(ids),
            })  # fmt: skip
        text = merge.text(page)
        if text:
            yield text


def rendered_pages(db: Database, job: Job) -> Iterator[Rendered]:
    """Steps 1 and 2 for every page, in order: here, or in worker processes when the export
    is large and there are cores for them."""
    workers = WORKERS or min(os.cpu_count() or 1, MAX_WORKERS)
    if workers > 1 and job.lists is None and _WORKERS_FREE.acquire(blocking=False):
        try:
            bounds = _bounds(db)
            first = [next(bounds) for _ in range(PARALLEL_PAGES)]
            if first[-1][1] is not None:  # PARALLEL_PAGES pages at least
                yield from _in_workers(job, workers, first, bounds)
                return
        finally:
            _WORKERS_FREE.release()
    benign = _benign(job)
    chosen = chosen_of(job.request, job.now)
    url_patterns = job.only_shared_domains
    for rows in pages(db, job.viewer, job.kinds, chosen, url_patterns=url_patterns):
        ids, values = kept(db, job, rows, benign)
        page = job.renderer.render(values)
        page.ids = ids
        yield page


def _benign(job: Job) -> BenignCheck | None:
    """What tells a value on a false-positive warning list; None when none is to be left out."""
    if job.request.include_benign or (job.lists is None and job.warninglists is None):
        return None
    from shieldwall.sightings.benign import BenignCheck, warning_lists

    lists = job.lists or warning_lists(*job.warninglists)  # type: ignore[misc]
    return None if lists is None else BenignCheck(lists)


def _bounds(db: Database) -> Iterator[tuple[int, int | None]]:
    """(after, last) pk ranges holding at most PAGE indicator versions each, hence at most a
    page of visible ones (the index on (type, pk) answers); the last one open (last None),
    repeated for ever."""
    o = objects.c
    after = 0
    while True:
        with db.read() as conn:
            last = conn.execute(
                select(o.pk)
                .where(o.type == "indicator", o.pk > after)
                .order_by(o.pk)
                .offset(PAGE - 1)
                .limit(1)
            ).scalar()
        yield after, last
        if last is None:
            while True:
                yield after, None
        after = last


def _in_workers(
    job: Job,
    workers: int,
    first: list[tuple[int, int | None]],
    bounds: Iterator[tuple[int, int | None]],
) -> Iterator[Rendered]:
    """Pages rendered by `workers` processes, given back in pk order: page k by worker k mod
    `workers`, each of which answers its pages in the order asked. A worker is asked for at
    most AHEAD pages more than have been taken from it, and its answer waits in its pipe until
    the merge reads it, so memory holds a few pages whatever the export's size."""
    ranges = chain(first, bounds)
    # Its own interpreter, not multiprocessing's: spawn and forkserver run the caller's
    # __main__ again in each child (a script without a main guard would run twice), and fork
    # is unsafe in a threaded server. sys.path as here, so the package resolves as it does.
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PYTHONHASHSEED": str(random.SystemRandom().randrange(1, 2**32)),  # one for all of them
        # glibc's malloc: a page's large buffers (its text, its pickle: a few MB each) from the
        # heap, kept for the next page, not mapped and unmapped each time (page faults: ~0.2
        # system CPU s a worker at 1,000,000 rules). Other C libraries ignore these.
        "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
        "MALLOC_TRIM_THRESHOLD_": str(128 << 20),
    }
    command = [sys.executable, "-m", "shieldwall.exchange.value_worker"]
    processes = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment)
        for _ in range(workers)
    ]
    try:
        for process in processes:
            _send(process, job)
        asked = taken = 0
        done = False
        while True:
            while not done and asked < taken + workers * AHEAD:
                after, last = next(ranges)
                _send(processes[asked % workers], (after, last))
                asked += 1
                done = last is None
            if taken == asked:
                return
            yield _answer(processes[taken % workers])
            taken += 1
    finally:
        for process in processes:
            assert process.stdin is not None and process.stdout is not None
            with suppress(OSError):
                process.stdin.close()  # a worker ends at the end of its input
            if process.poll() is None:
                process.kill()  # (an export given up: what it was making is not wanted)
            process.wait()
            process.stdout.close()


def _send(process: subprocess.Popen[bytes], message: Any) -> None:
    assert process.stdin is not None
    pickle.dump(message, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
    process.stdin.flush()


def _answer(process: subprocess.Popen[bytes]) -> Rendered:
    assert process.stdout is not None
    try:
        status, answer = pickle.load(process.stdout)
    except EOFError:
        raise RuntimeError(f"an export worker ended early (status {process.wait()})") from None
    if status != "ok":
        raise RuntimeError(f"an export worker failed:\n{answer}")
    return answer  # type: ignore[no-any-return]


def serve() -> None:
    """A worker process (value_worker.py): a Job, then (after, last) ranges on standard input,
    each answered on standard output with ("ok", its Rendered page) or ("error", traceback),
    until its input ends."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # the pipe carries answers only
    job: Job = pickle.load(source)
    db = Database(job.url)
    benign = _benign(job)
    chosen = chosen_of(job.request, job.now)
    try:
        while True:
            try:
                after, last = pickle.load(source)
            except EOFError:
                return
            try:
                with db.read() as conn:
                    rows, _ = read_page(conn, job.viewer, job.kinds, chosen, after,
                                        url_patterns=job.only_shared_domains,
                                        last=last)  # fmt: skip
                ids, values = kept(db, job, rows, benign)
                answer: tuple[str, Any] = ("ok", job.renderer.render(values))
                answer[1].ids = ids
            except Exception:
                answer = ("error", traceback.format_exc())
            pickle.dump(answer, sink, protocol=pickle.HIGHEST_PROTOCOL)
            sink.flush()
    finally:
        db.dispose()
