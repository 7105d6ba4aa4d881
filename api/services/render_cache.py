"""What every reader of a page shares, rendered once per data version (issue #17 item 3).

The tender page's match tables, verdict and map, the match API's answer and the search
page's results are the same for everyone who may see them, in one language, until the
data changes; building them (the engine, the verdict, the templates) was most of a
request's CPU. This module keeps them in one process-local LRU, bounded in entries and
bytes, under a key of

* the resource and its parameters (tender ref, query string, page, ...),
* the language, and whatever else of the reader the fragment depends on (the caller
  says so in ``params``: e.g. whether the search shows vetting states),
* the database, the reference date (``today()``), the shared data version
  (``api.shared_state.data_version``: every writing ORM commit of every process bumps
  it, read at most every 0.5 s, so a change made through another process is seen
  within a second) and the matching change tokens (``matching.change_tokens``: writes
  that bypass the ORM, within their memo's time-to-live).

Only shared parts go in: navigation, the CSRF token, flashes and what a role may do
(edit/delete buttons) are rendered per request around the cached fragment; fragments
are rendered from a context without the user (``fragment``), so one cannot pick up
anything of the user who happened to fill the entry.

Consistency: a value is stored under the data version that the building session itself
reads (its own snapshot on SQLite; on PostgreSQL at least that new), not the memo's
number, and not at all when a commit happened in this process while it was built, so an
entry never holds data older than its key says. A session holding its own unflushed or
flushed writes neither reads nor fills the cache.

Two levels: the process-local LRU first, then the level the web processes share
(``api.services.shared_cache``: Redis when configured, else a table on PostgreSQL, none
on SQLite), under the same key and filled under the same rules. A value one worker built
is then a hit for the others (a tender page built: ~35 ms of CPU; from the shared level:
a read and a decode). Values kept there must be plain (strings, ``Markup``, bytes,
numbers, lists, tuples, dicts) or dataclasses marked :func:`shareable`; anything else
stays in its process.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from markupsafe import Markup
from sqlalchemy import select
from sqlmodel import Session, col

from api.clock import today
from api.services import matching, shared_cache
from api.services.change_tokens import generation, sees_only_committed
from api.services.lru import LRU, Stats
from api.services.single_flight import SingleFlight
from api.shared_state import TOPIC_DATA, data_version
from api.tables import AppStateVersion

T = TypeVar("T")

MAX_ENTRIES = 4096
# A tender page's fragments are 20-60 KB; 1,000 tenders in two languages fit.
MAX_BYTES = 128 * 1024 * 1024


_CACHE: LRU[Any] = LRU(MAX_ENTRIES, MAX_BYTES)

# 50 users opening the same cold search page at once each computed it (p95 of 15-18 s):
# one build per key, the others wait for it (at most FOLLOWER_WAIT_S).
FOLLOWER_WAIT_S = 15.0
_FLIGHT = SingleFlight(FOLLOWER_WAIT_S)


def clear() -> None:
    """Forget every entry of this process (tests): as a process that has not built
    anything yet, which still finds what others shared."""
    _CACHE.clear()


def shared_level() -> str:
    """Which level the processes share for the app's database: redis, database or none
    (``/health``)."""
    from api.db import get_engine

    return shared_cache.status(get_engine())


def shareable(cls: type[T]) -> type[T]:
    """Class decorator: this dataclass's values may go in the shared level (their fields
    must be plain values or such dataclasses)."""
    shared_cache.register(cls)
    return cls


def stats() -> Stats:
    return _CACHE.stats


def size_of(value: Any) -> int:
    """Bytes a value holds, roughly: strings and bytes by length, containers summed."""
    if isinstance(value, str | bytes):
        return len(value) + 50
    if isinstance(value, dict):
        return sum(size_of(k) + size_of(v) for k, v in value.items()) + 64
    if isinstance(value, list | tuple):
        return sum(size_of(v) for v in value) + 56
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return sum(size_of(getattr(value, f)) for f in fields) + 56
    return 32


def _url(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _session_version(session: Session) -> int | None:
    """The data version as ``session`` sees it (its own snapshot on SQLite)."""
    try:
        with session.no_autoflush:
            value = session.execute(select(col(AppStateVersion.version)).where(
                col(AppStateVersion.topic) == TOPIC_DATA)).scalar()
    except Exception:  # a database not migrated yet: no counter, as data_version says
        return None
    return None if value is None else int(value)


def shared(session: Session, resource: str, params: tuple[Hashable, ...], lang: str,
           build: Callable[[], T], size: Callable[[T], int] = size_of) -> T:
    """``build()``'s value for (resource, params, lang) at the current data version,
    from the cache when another request built it already. ``params`` must hold every
    input the value depends on besides the data and the language."""
    if not sees_only_committed(session):
        return build()
    engine = session.get_bind().engine
    base = (resource, params, lang, _url(session), today())
    tokens = matching.change_tokens(session)
    key = (*base, data_version(engine), tokens)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]

    def lead() -> T:
        # The leader asks the shared level (its followers get what it finds from the LRU).
        hit = shared_cache.get(engine, key) if key[-2] is not None else None
        if hit is not None:
            _CACHE.put(key, hit, size(hit))
            return hit  # type: ignore[no-any-return]
        return _build_and_store(session, base, tokens, build, size)

    return _FLIGHT.run(key, lead, lambda: _CACHE.get(key))


def _build_and_store(session: Session, base: tuple[Hashable, ...], tokens: Hashable,
                     build: Callable[[], T], size: Callable[[T], int]) -> T:
    gen = generation()
    version = _session_version(session)
    value = build()
    if generation() == gen and sees_only_committed(session):
        key = (*base, version, tokens)
        _CACHE.put(key, value, size(value))
        if version is not None:  # a database without the counter shares nothing
            shared_cache.put(session.get_bind().engine, key, version, value)
    return value


class _UrlOnly:
    """A request as a fragment may see it: its URL (for ``url_with`` links), nothing of
    the session. The cache key must then hold the URL's query."""

    def __init__(self, request: Any) -> None:
        self.url = request.url
        self.query_params = request.query_params


def fragment(template: str, context: dict[str, Any], lang: str,
             url_of: Any | None = None) -> Markup:
    """Render ``template`` (a fragment meant for the cache) with only ``context`` and the
    language's translators: no user, no CSRF token, no session, and of the request at
    most the URL of ``url_of`` (for pagination and facet links). What it shows is then
    the same for every reader of that URL by construction."""
    from api import i18n
    from api.templating import current_csrf, current_lang, current_request, env

    request = _UrlOnly(url_of) if url_of is not None else None
    tokens = (current_lang.set(lang), current_csrf.set(""), current_request.set(request))
    try:
        html = env.get_template(template).render({
            **context, "request": request, "lang": lang, "t": i18n.translator(lang),
            "tn": i18n.plural_translator(lang)})
    finally:
        current_lang.reset(tokens[0])
        current_csrf.reset(tokens[1])
        current_request.reset(tokens[2])
    return Markup(html)
