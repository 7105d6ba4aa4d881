"""A process-wide memo for change tokens (the cheap aggregate queries that decide whether
a cached search table or match index is still good).

Under load every request ran its token query (3-14 ms on 10,000 enterprises, a scan of
the table) although nothing had changed. :class:`TokenMemo` keeps the last token per
database URL and reuses it

* only until any commit on any engine in this process (the app's own writes are seen
  at once: a commit bumps a generation counter and drops every memo), and
* only while the shared data version (``api.shared_state.data_version``: a counter every
  ORM commit of every process bumps in its own transaction, read at most every 0.5 s) is
  the one seen when the token was read, so a write by another process (a second uvicorn
  worker, another host, the CLI) is seen within about half a second, and
* for at most ``ttl`` seconds, for writes that bypass the ORM (raw SQL, a restore).

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

from api.shared_state import data_version

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
        # url -> (read at, shared data version when read, token)
        self._values: dict[str, tuple[float, int | None, Any]] = {}
        with _lock:
            _memos.append(self)

    def get(self, url: str, version: int | None = None) -> Any | None:
        """The token remembered for ``url`` if still fresh (younger than ``ttl`` and read
        under the shared data version ``version``), else None."""
        with _lock:
            hit = self._values.get(url)
        if hit is None or time.monotonic() - hit[0] > self.ttl_s or hit[1] != version:
            return None
        return hit[2]

    def put(self, url: str, value: Any, read_at_generation: int, read_at: float,
            version: int | None = None) -> None:
        """Remember ``value`` (read when :func:`generation` was ``read_at_generation``, at
        ``time.monotonic()`` ``read_at``, with the shared data version ``version`` read
        before it) unless a commit happened since."""
        with _lock:
            if _generation == read_at_generation:
                self._values[url] = (read_at, version, value)

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
    version: int | None = None
    if shareable:
        # Read before the token: a change committed in between makes the stored pair
        # look stale (one extra read), never a stale token look fresh.
        version = data_version(session.get_bind().engine)
        hit = memo.get(url, version)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    gen, started = generation(), time.monotonic()
    value = read()
    if shareable:
        memo.put(url, value, gen, started, version)
    return value
