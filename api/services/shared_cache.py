"""The render cache's second level, shared by every web process (issue #17 item 3).

``api.services.render_cache`` keeps rendered fragments in a process-local LRU; with
several web workers a fragment one worker rendered cost every other worker a full build
(~35 ms of CPU for a tender page against ~4.5 ms for a hit). This module is that cache's
level behind the LRU, and only ``render_cache`` calls it:

* **Redis** when ``REDIS_URL`` is set and answered at start-up (the one client of
  ``api.shared_state.redis_client``): ``SET`` with an expiry of :data:`TTL_S`, keys under
  ``REDIS_PREFIX`` + ``render:``.
* else the **``render_cache_entry`` table** on PostgreSQL (UNLOGGED: no write-ahead log
  for a cache), read and written in autocommit on a connection of the app's pool, never
  in the request's transaction. Bounded by its writers: now and then (every
  :data:`CLEAN_EVERY` writes of a process) entries of older data versions and older than
  :data:`TTL_S` go, and beyond :data:`MAX_ROWS` the oldest.
* else (SQLite) **none**: one process serves a SQLite database (README, "Running on
  several processes"), so there is nobody to share with; a second level would only cost.
  The table exists there too (one schema) and the tests run it on both backends.

Keys: a SHA-256 of a canonical text of the render cache's whole key (resource,
parameters, language, database, reference date, data version, change tokens) and of
this code's fingerprint (:func:`code_fingerprint`: the app, engine and templates), so a
deployment of other templates never serves fragments rendered by the old ones. A key
part of a type without a canonical text (an object's ``repr`` may hold its address) is
not shared. Values are tagged JSON (``Markup``, bytes, tuples, registered dataclasses
keep their types: :func:`register`), zlib-compressed; a value holding anything else is
simply not shared. Nothing is unpickled.

Failures never break a page: an error of Redis or the table is logged once, and the
level is skipped for :data:`RETRY_S` seconds (the caller builds, as without it); a
value that does not decode is a miss.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
import time
import zlib
from collections.abc import Hashable
from pathlib import Path
from typing import Any, Protocol

from markupsafe import Markup
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import col

from api.tables import RenderCacheEntry

log = logging.getLogger("sroi.shared_cache")

TTL_S = 900  # an entry is worth sharing for a quarter of an hour
MAX_ROWS = 4096  # as many as one process's LRU holds (render_cache.MAX_ENTRIES)
MAX_VALUE_BYTES = 2 * 1024 * 1024  # compressed; larger values stay process-local
CLEAN_EVERY = 64
RETRY_S = 10.0
FORMAT = "1"  # bump when the encoding changes

ROOT = Path(__file__).resolve().parents[2]
_FINGERPRINTED = ("api", "matcher", "templates")


class Unshareable(TypeError):
    """A key or value this level cannot hold faithfully (it stays process-local)."""


# ------------------------------------------------------------------ keys

def _canonical(part: Any) -> Any:
    t = type(part)
    if part is None or t in (str, int, float, bool):
        return part
    if t in (tuple, list):
        return [_canonical(p) for p in part]
    if t is dt.date:
        return {"~date": part.isoformat()}
    raise Unshareable(f"key part of type {t.__name__}")


_fingerprint: str | None = None


def code_fingerprint() -> str:
    """A hash of the code and templates that render fragments (once per process)."""
    global _fingerprint
    if _fingerprint is None:
        h = hashlib.sha256(FORMAT.encode())
        for top in _FINGERPRINTED:
            for path in sorted((ROOT / top).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts \
                        and path.suffix not in (".pyc", ".pyo"):
                    h.update(str(path.relative_to(ROOT)).encode() + b"\0")
                    h.update(hashlib.sha256(path.read_bytes()).digest())
        _fingerprint = h.hexdigest()
    return _fingerprint


def key_of(key: tuple[Hashable, ...]) -> str:
    """The level's key for one of the render cache's keys (raises :class:`Unshareable`)."""
    text = json.dumps([code_fingerprint(), _canonical(key)], separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------ values

_classes: dict[str, type] = {}


def register(cls: type) -> type:
    """Let instances of the dataclass ``cls`` be shared (decoded as ``cls`` again)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    if any(not f.init for f in dataclasses.fields(cls)):
        raise TypeError(f"{cls.__name__} has fields its constructor does not take")
    _classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


def _to_json(v: Any) -> Any:
    t = type(v)
    if v is None or t in (str, int, bool):
        return v
    if t is float:
        return v
    if t is Markup:
        return {"~m": str(v)}
    if t is list:
        return [_to_json(x) for x in v]
    if t is tuple:
        return {"~t": [_to_json(x) for x in v]}
    if t is dict:
        if all(type(k) is str and not k.startswith("~") for k in v):
            return {k: _to_json(x) for k, x in v.items()}
        return {"~d": [[_to_json(k), _to_json(x)] for k, x in v.items()]}
    if t is bytes:
        return {"~b": base64.b64encode(v).decode()}
    if t is dt.date:
        return {"~date": v.isoformat()}
    if t is dt.datetime:
        return {"~dt": v.isoformat()}
    name = f"{t.__module__}.{t.__qualname__}"
    if _classes.get(name) is t:
        return {"~c": name, "~f": {f.name: _to_json(getattr(v, f.name))
                                  for f in dataclasses.fields(v)}}
    raise Unshareable(f"value of type {t.__name__}")


def _from_json(v: Any) -> Any:
    if type(v) is list:
        return [_from_json(x) for x in v]
    if type(v) is not dict:
        return v
    if "~m" in v:
        return Markup(v["~m"])
    if "~t" in v:
        return tuple(_from_json(x) for x in v["~t"])
    if "~d" in v:
        return {_hashable(_from_json(k)): _from_json(x) for k, x in v["~d"]}
    if "~b" in v:
        return base64.b64decode(v["~b"])
    if "~date" in v:
        return dt.date.fromisoformat(v["~date"])
    if "~dt" in v:
        return dt.datetime.fromisoformat(v["~dt"])
    if "~c" in v:
        cls = _classes.get(v["~c"])
        if cls is None:
            raise ValueError(f"unregistered class {v['~c']}")
        return cls(**{k: _from_json(x) for k, x in v["~f"].items()})
    return {k: _from_json(x) for k, x in v.items()}


def _hashable(k: Any) -> Any:
    return tuple(_hashable(x) for x in k) if type(k) is list else k


def encode(value: Any) -> bytes:
    """``value`` as bytes (raises :class:`Unshareable`): a kind byte, then zlib."""
    t = type(value)
    if t is bytes:
        kind, raw = b"B", value
    elif t is Markup:
        kind, raw = b"M", str(value).encode()
    elif t is str:
        kind, raw = b"S", value.encode()
    else:
        kind = b"J"
        raw = json.dumps(_to_json(value), separators=(",", ":"), ensure_ascii=False).encode()
    return kind + zlib.compress(raw, 1)


def decode(data: bytes) -> Any:
    kind, raw = data[:1], zlib.decompress(data[1:])
    if kind == b"B":
        return raw
    if kind == b"M":
        return Markup(raw.decode())
    if kind == b"S":
        return raw.decode()
    if kind == b"J":
        return _from_json(json.loads(raw))
    raise ValueError(f"unknown kind {kind!r}")


# ------------------------------------------------------------------ backends

class Backend(Protocol):
    name: str

    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, version: int, value: bytes) -> None: ...


def redis_memory_advice(client: Any) -> str | None:
    """What is wrong with how Redis bounds its memory for this level, or None.

    Our entries expire after :data:`TTL_S`, but within that time nothing bounds their
    number: Redis must have a ``maxmemory`` and evict only keys with an expiry
    (``volatile-lru``/``volatile-lfu``/``volatile-ttl``). An ``allkeys-*`` policy could
    evict the job queue's keys (no expiry) when the queue lives in the same Redis.
    A Redis that does not let us read its configuration (managed services may refuse
    ``CONFIG``) gets no advice."""
    try:
        config = client.config_get("maxmemory*")
    except Exception:  # noqa: BLE001  (CONFIG refused or failing: nothing to say)
        return None
    maxmemory = int(config.get("maxmemory", 0) or 0)
    policy = str(config.get("maxmemory-policy", "noeviction"))
    if maxmemory == 0:
        return ("Redis has no maxmemory: the render cache's entries are bounded only by "
                f"their {TTL_S // 60}-minute expiry. Set maxmemory and maxmemory-policy "
                "volatile-lru.")
    if policy.startswith("allkeys"):
        return (f"Redis evicts with {policy}: it may evict the job queue's keys. Use "
                "maxmemory-policy volatile-lru (only keys with an expiry, as the render "
                "cache's are).")
    if policy == "noeviction":
        return ("Redis has maxmemory-policy noeviction: once it reaches maxmemory, every "
                "write fails, the job queue's too. Use maxmemory-policy volatile-lru.")
    return None


class RedisBackend:
    """Entries as Redis strings that expire after ``ttl_s``."""

    name = "redis"

    def __init__(self, client: Any, prefix: str, ttl_s: int = TTL_S) -> None:
        self.client = client
        self.prefix = f"{prefix}render:"
        self.ttl_s = ttl_s

    def get(self, key: str) -> bytes | None:
        value = self.client.get(self.prefix + key)
        return None if value is None else bytes(value)

    def put(self, key: str, version: int, value: bytes) -> None:
        self.client.set(self.prefix + key, value, ex=self.ttl_s)


class TableBackend:
    """Entries in ``render_cache_entry``, in autocommit on a connection of ``engine``'s
    pool: no transaction of the request's, and no commit that the change tokens would
    take for a data change (``api.services.change_tokens`` counts every commit)."""

    name = "database"

    def __init__(self, engine: Engine, max_rows: int = MAX_ROWS, ttl_s: float = TTL_S,
                 clean_every: int = CLEAN_EVERY) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self.ttl_s = ttl_s
        self.clean_every = clean_every
        self._writes = 0
        self._lock = threading.Lock()
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._insert = insert

    def _conn(self) -> Any:
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def get(self, key: str) -> bytes | None:
        with self._conn() as conn:
            value = conn.execute(select(col(RenderCacheEntry.value))
                                 .where(col(RenderCacheEntry.key) == key)).scalar()
        return None if value is None else bytes(value)

    def put(self, key: str, version: int, value: bytes) -> None:
        now = time.time()
        with self._lock:
            self._writes += 1
            clean = self._writes % self.clean_every == 1 or self.clean_every == 1
        with self._conn() as conn:
            conn.execute(self._insert(RenderCacheEntry.__table__)  # type: ignore[attr-defined]
                         .values(key=key, version=version, stored_at=now, value=value)
                         .on_conflict_do_nothing(index_elements=["key"]))
            if clean:
                self._clean(conn, version, now)

    def _clean(self, conn: Any, version: int, now: float) -> None:
        # Another process cleaning at the same moment may deadlock with this one: a
        # cache's housekeeping, so that is no failure of the level.
        try:
            conn.execute(delete(RenderCacheEntry).where(
                (col(RenderCacheEntry.version) < version)
                | (col(RenderCacheEntry.stored_at) < now - self.ttl_s)))
            n = conn.execute(select(func.count()).select_from(RenderCacheEntry)).scalar()
            if n is not None and n > self.max_rows:
                oldest = (select(col(RenderCacheEntry.key))
                          .order_by(col(RenderCacheEntry.stored_at).desc())
                          .offset(self.max_rows))
                conn.execute(delete(RenderCacheEntry)
                             .where(col(RenderCacheEntry.key).in_(oldest)))
        except Exception as exc:  # noqa: BLE001  (housekeeping: next time, then)
            log.debug("render cache table clean-up failed: %s: %s", type(exc).__name__, exc)


# ------------------------------------------------------------------ the level

_lock = threading.Lock()
# (REDIS_URL, prefix, id(engine)) -> (the engine, kept so its id is not reused; level)
_chosen: dict[tuple[str | None, str, int], tuple[Engine, Backend | None]] = {}
_override: list[Backend | None] = []
_down_until = 0.0
_warned = False
_unshareable_said: set[str] = set()


def choose(engine: Engine) -> Backend | None:
    """The level for ``engine`` in this process (see the module's docstring)."""
    if _override:
        return _override[-1]
    from api.settings import get_settings

    settings = get_settings()
    ident = (settings.redis_url, settings.redis_prefix, id(engine))
    with _lock:
        if ident in _chosen:
            return _chosen[ident][1]
    backend: Backend | None = None
    if settings.redis_url:
        from api.shared_state import redis_client

        client = redis_client(settings.redis_url)
        if client is not None:
            backend = RedisBackend(client, settings.redis_prefix)
            advice = redis_memory_advice(client)
            if advice:
                log.warning("%s", advice)
    if backend is None and engine.dialect.name == "postgresql":
        backend = TableBackend(engine)
    with _lock:
        _chosen[ident] = (engine, backend)
    return backend


def override(backend: Backend | None) -> None:
    """Use ``backend`` (None: no level) whatever the settings, until :func:`reset`."""
    _override.append(backend)


def reset() -> None:
    """Forget the choices, overrides and failures (tests)."""
    global _down_until, _warned
    with _lock:
        _chosen.clear()
        _override.clear()
        _down_until = 0.0
        _warned = False


def _available() -> bool:
    return time.monotonic() >= _down_until


def _failed(backend: Backend, exc: Exception) -> None:
    global _down_until, _warned
    with _lock:
        _down_until = time.monotonic() + RETRY_S
        said, _warned = _warned, True
    if not said:
        log.warning("The render cache's shared level (%s) failed (%s: %s): pages are built "
                    "in each process until it answers again (tried every %.0f s)",
                    backend.name, type(exc).__name__, exc, RETRY_S)


def _worked(backend: Backend) -> None:
    global _warned
    if _warned:
        with _lock:
            said, _warned = _warned, False
        if said:
            log.warning("The render cache's shared level (%s) answers again", backend.name)


def _unshareable(exc: Unshareable) -> None:
    if str(exc) not in _unshareable_said:
        _unshareable_said.add(str(exc))
        log.info("render cache: a %s stays in its process", exc)


def get(engine: Engine, key: tuple[Hashable, ...]) -> Any | None:
    """The value stored under the render cache's ``key``, or None (missing, no level, the
    level failing, a value that does not decode)."""
    backend = choose(engine)
    if backend is None or not _available():
        return None
    try:
        k = key_of(key)
    except Unshareable as exc:
        _unshareable(exc)
        return None
    try:
        data = backend.get(k)
    except Exception as exc:  # noqa: BLE001  (any failure of the level: build instead)
        _failed(backend, exc)
        return None
    _worked(backend)
    if data is None:
        return None
    try:
        return decode(data)
    except Exception as exc:  # noqa: BLE001  (an entry of other code, corrupt: a miss)
        log.warning("render cache: an entry did not decode (%s: %s)", type(exc).__name__, exc)
        return None


def put(engine: Engine, key: tuple[Hashable, ...], version: int, value: Any) -> None:
    """Store ``value`` under the render cache's ``key``, built at data ``version`` (the
    caller's consistency rules decide that it may be stored at all)."""
    backend = choose(engine)
    if backend is None or not _available():
        return
    try:
        k, data = key_of(key), encode(value)
    except Unshareable as exc:
        _unshareable(exc)
        return
    if len(data) > MAX_VALUE_BYTES:
        return
    try:
        backend.put(k, version, data)
    except Exception as exc:  # noqa: BLE001  (any failure of the level: it stays local)
        _failed(backend, exc)
        return
    _worked(backend)


def status(engine: Engine) -> str:
    """Which shared level serves ``engine`` in this process: redis, database or none."""
    backend = choose(engine)
    return "none" if backend is None else backend.name
