"""Single flight: while one thread computes a key's value, the others asking for the same
key wait for it instead of computing it too.

Why: a cache that misses for many readers at once (a cold page that 50 users open, a
count whose expiry every worker thread passes in the same second) otherwise computes the
same thing once per reader, and the queue behind them is what the p95 shows (#17: the
search page's p95 was 15-18 s; the header's notification count, 100-160 ms per
computation, stalled the tender page for a second every 30 s).

A follower waits at most ``follower_wait_s``, then computes on its own: a slow or failed
leader never blocks anyone for good.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class SingleFlight:
    def __init__(self, follower_wait_s: float = 15.0) -> None:
        self.follower_wait_s = follower_wait_s
        self._inflight: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def running(self, key: Hashable) -> bool:
        """Whether some thread is computing ``key`` now (a reader holding a stale value
        may then answer with it rather than wait)."""
        with self._lock:
            return key in self._inflight

    def run(self, key: Hashable, compute: Callable[[], T], recheck: Callable[[], T | None]
            ) -> T:
        """``compute()`` if no other thread is computing ``key``; else wait for that one
        and return ``recheck()`` (the cache it filled), or compute after all when that
        finds nothing (the leader failed, or stored nothing) or the wait ran out."""
        with self._lock:
            running = self._inflight.get(key)
            if running is None:
                self._inflight[key] = done = threading.Event()
        if running is not None:
            running.wait(self.follower_wait_s)
            hit = recheck()
            return hit if hit is not None else compute()
        try:
            return compute()
        finally:
            with self._lock:
                self._inflight.pop(key, None)
            done.set()
