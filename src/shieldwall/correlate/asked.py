"""What a lookup was asked: raw values read into observables, the unreadable ones set apart.

Every way a lookup comes in reads its values here: the API, the helper process answering part of
a large one, and `shieldwall lookup`, whether it asks a server, asks with only hash prefixes, or
looks up locally. A value that no rule reads (a `# comment` line, a typo, a kind that does not
fit) is skipped and reported with its position and why; it never costs the other 9,999 values
their answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from shieldwall.correlate.observables import Observable, normalise

MAX_VALUE_LENGTH = 8192  # characters: longer is no value any rule reads, and not worth echoing
_ECHOED = 200  # characters of an unreadable value given back, enough to recognise it
_TOO_LONG = f"longer than {MAX_VALUE_LENGTH:,} characters"


class Read(NamedTuple):
    """Raw (value, kind) entries, read: the observables, in order, and what could not be read."""

    items: list[Observable]
    unreadable: list[dict[str, Any]]  # {"index", "value", "message"}, in order


def read_entries(entries: Sequence[tuple[str, str]], offset: int = 0) -> Read:
    """Read raw (value, kind) entries; `index` in `unreadable` is an entry's position plus
    `offset` (a part of a lookup reports positions in the whole)."""
    items: list[Observable] = []
    unreadable: list[dict[str, Any]] = []
    for index, (value, kind) in enumerate(entries, offset):
        # Most values read: why one did not is worked out only for those that did not.
        observable, reason = None, _TOO_LONG
        if len(value) <= MAX_VALUE_LENGTH:
            try:
                observable = normalise(kind, value)
            except ValueError as exc:  # an unknown kind
                reason = str(exc)
            else:
                if observable is None:
                    reason = (
                        "empty" if not value.strip()
                        else "no rule recognises it; give its kind" if kind == "auto"
                        else f"not a valid {kind}"
                    )  # fmt: skip
        if observable is None:
            unreadable.append({"index": index, "value": value[:_ECHOED], "message": reason})
        else:
            items.append(observable)
    return Read(items, unreadable)


def lines_to_look_up(text: str) -> list[tuple[int, str]]:
    """(line number, value) of each line of a file of values, one a line: blank lines and
    `#` comment lines are no values, and are skipped without a word."""
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
