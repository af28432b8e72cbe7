"""Pausing the cyclic garbage collector around work that makes many objects and no cycles."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pausers = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while any caller is inside.

    A large bundle or a 10,000-value lookup is millions of small objects that all live until the
    work ends, and the collector would walk them again and again: 10-30% of the time. Neither
    makes cycles. The collector is process-wide, so concurrent callers share one pause.
    """
    global _pausers
    with _lock:
        _pausers += 1
        if _pausers == 1:
            gc.disable()
    try:
        yield
    finally:
        with _lock:
            _pausers -= 1
            if _pausers == 0:
                gc.enable()
