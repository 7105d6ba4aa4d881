"""A process-wide memo for change tokens (the cheap aggregate queries that decide whether
a cached search table or match index is still good).

Under load every request ran its token query (3-14 ms on 10,000 enterprises, a scan of
the table) although nothing had changed. :class:`TokenMemo` keeps the last token per
database URL and reuses it

* only until any commit on any engine in this process (the app's own writes are seen
  at once: a commit bumps a generation counter and drops every memo), and
* for at most ``ttl`` seconds, so writes by another process (the CLI, a second uvicorn
  worker) are seen within that time.

A token read while a commit happened is not kept (the generation is checked before it
is stored), so a memo never outlives a commit it may not have seen. Commits are counted
both just before they reach the database (``Engine`` "commit") and, for sessions, once
they have (``after_commit``): a token read in between is dropped by the second count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession

T = TypeVar("T")
_lock = threading.Lock()
_generation = 0
_memos: list[TokenMemo] = []


@event.listens_for(Engine, "commit")  # any connection's commit, just before it lands
@event.listens_for(OrmSession, "after_commit")  # and a session's, once it has landed
def _on_commit(*_args: Any) -> None:
    global _generation
    with _lock:
        _generation += 1
        for memo in _memos:
            memo._values.clear()


def generation() -> int:
    with _lock:
        return _generation


class TokenMemo:
    def __init__(self, ttl_s: float = 1.0) -> None:
        self.ttl_s = ttl_s
        self._values: dict[str, tuple[float, Any]] = {}
        with _lock:
            _memos.append(self)

    def get(self, url: str) -> Any | None:
        """The token remembered for ``url`` if still fresh, else None."""
        with _lock:
            hit = self._values.get(url)
        if hit is None or time.monotonic() - hit[0] > self.ttl_s:
            return None
        return hit[1]

    def put(self, url: str, value: Any, read_at_generation: int, read_at: float) -> None:
        """Remember ``value`` (read when :func:`generation` was ``read_at_generation``, at
        ``time.monotonic()`` ``read_at``) unless a commit happened since."""
        with _lock:
            if _generation == read_at_generation:
                self._values[url] = (read_at, value)

    def clear(self) -> None:
        with _lock:
            self._values.clear()


_FLUSHED = "change_tokens.flushed_in"


@event.listens_for(OrmSession, "after_flush")
def _on_flush(session: OrmSession, _context: Any) -> None:
    session.info[_FLUSHED] = session.get_transaction()


def sees_only_committed(session: OrmSession) -> bool:
    """True when ``session`` has no unflushed changes and has flushed none in its current
    transaction: what it reads is what every other session reads, so a token it reads may
    be shared (and a shared one is right for it)."""
    if session.new or session.dirty or session.deleted:
        return False
    flushed_in = session.info.get(_FLUSHED)
    return flushed_in is None or flushed_in is not session.get_transaction()


def cached_token(memo: TokenMemo, session: OrmSession, url: str,
                 read: Callable[[], T]) -> T:
    """``read()`` through ``memo`` when ``session`` sees only committed data."""
    shareable = sees_only_committed(session)
    if shareable:
        hit = memo.get(url)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    gen, started = generation(), time.monotonic()
    value = read()
    if shareable:
        memo.put(url, value, gen, started)
    return value
