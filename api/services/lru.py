"""The one bounded in-process cache: entries by key, the least recently used dropped first
beyond a number of entries or of bytes. Thread-safe. Every process-local cache of the app
(rendered fragments, engine results and verdicts, search columns) is one of these, so the
eviction rule and its statistics live here only."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    evicted: int = 0


class LRU(Generic[V]):
    """Entries by key, least recently used dropped first beyond ``max_entries`` or
    ``max_bytes`` (sizes as the caller measures them; a cache bounded by count alone
    stores every entry at size 0)."""

    def __init__(self, max_entries: int, max_bytes: int | None = None) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[int, V]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = Stats()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                self.stats.misses += 1
                return None
            self._data.move_to_end(key)
            self.stats.hits += 1
            return hit[1]

    def put(self, key: Hashable, value: V, size: int = 0) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[0]
            self._data[key] = (size, value)
            self._bytes += size
            self.stats.stored += 1
            while len(self._data) > self.max_entries or (
                    self.max_bytes is not None and self._bytes > self.max_bytes):
                _, (n, _) = self._data.popitem(last=False)
                self._bytes -= n
                self.stats.evicted += 1

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        return self._bytes


__all__ = ["LRU", "Stats"]
