"""State shared by every web process (issue #17 item 1): the app may run as several uvicorn
workers or on several hosts, so nothing two requests must agree on lives in one process.

* **Data version** (cache invalidation). ``app_state_version`` holds a counter per topic;
  every ORM commit that wrote something bumps ``data`` *in the same transaction* (a
  ``before_commit`` hook), so the new number becomes visible exactly when the change does,
  and a process that died between the change and a notification cannot leave others stale.
  :func:`data_version` reads the counter at most every :data:`CHECK_EVERY_S` seconds per
  process (one primary-key read), so another process's change is noticed within that time;
  ``api.services.change_tokens`` drops its shared tokens when the number moves, and the
  caches keyed by those tokens (search table, match index, results) follow.
  The counter stays in the database even with Redis configured: a Redis key bumped after
  the commit would be lost if the process died in between (a stale cache until the next
  change), and one read every half second per process costs the database nothing.
* **Login rate limit**: failed logins per (client IP, e-mail) within a minute, counted in
  Redis when ``REDIS_URL`` is set and reachable (INCR with an expiry: one round trip), else
  in the ``login_attempt`` table. Redis unreachable at start-up: one clear log line and
  the database limiter (degraded, still correct); Redis failing later: each call falls back
  to the database. :func:`status` says which backend serves (``/health``).
* **Rendered fragments** every reader shares: ``api.services.render_cache`` in each
  process, behind it ``api.services.shared_cache`` (Redis through :func:`redis_client`,
  else a table on PostgreSQL).
* **Sessions** are signed cookies (``api.security``): nothing server-side to share.
  **Job state** lives in the database (``api.services.import_jobs``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any, Protocol

from sqlalchemy import delete, event, func, inspect, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import col

from api.tables import AppStateVersion, LoginAttempt

log = logging.getLogger("sroi.shared_state")

TOPIC_DATA = "data"
TOPICS = (TOPIC_DATA,)
# How stale a process's idea of the data version may be; a change made through one
# process shows in every other within this plus one token query (< 1 s).
CHECK_EVERY_S = 0.5

# ------------------------------------------------------------------ data version

_WROTE = "shared_state.wrote_in"
_DEFER = "shared_state.defer_bump"  # Connection.info: see defer_bumps
_OWED = "shared_state.bump_owed"
_has_table: set[int] = set()  # ids of engines whose database has app_state_version
_lock = threading.Lock()
# engine id -> (version, time.monotonic() when read)
_seen: dict[int, tuple[int | None, float]] = {}


def _seed(table: Any, connection: Any, **_: Any) -> None:
    # A database made by create_all (tests, `sroi` on an empty file) gets the rows the
    # migration inserts: bumps only update, so two first bumps cannot race to insert.
    connection.execute(table.insert(), [{"topic": t, "version": 0} for t in TOPICS])


event.listen(AppStateVersion.__table__, "after_create", _seed)  # type: ignore[attr-defined]


@event.listens_for(OrmSession, "after_flush")
def _on_flush(session: OrmSession, _context: Any) -> None:
    session.info[_WROTE] = session.get_transaction()


def _table_present(engine: Engine) -> bool:
    if id(engine) in _has_table:
        return True
    # A database not migrated to 0012 yet (the upgrade itself, old backups): no counter,
    # no bump; checked again until it exists (only such databases pay for the check).
    with engine.connect() as conn:
        present = inspect(conn).has_table(AppStateVersion.__tablename__)
    if present:
        _has_table.add(id(engine))
    return present


@event.listens_for(OrmSession, "before_commit")
def _bump_on_commit(session: OrmSession) -> None:
    """Bump ``data`` in the committing transaction when the session wrote anything.

    Only the outermost commit bumps. The bump takes the counter row's lock until the real
    COMMIT; done inside a savepoint, that lock would be held for the rest of the outer
    transaction, and any other connection of the same thread that commits meanwhile (a
    job's progress row, say) would wait for it forever: a deadlock PostgreSQL cannot see.
    A session's savepoints leave the bump to its own outer commit; a session joined to a
    connection whose outer transaction its caller owns (:func:`defer_bumps`) leaves it to
    that caller (:func:`bump_owed`)."""
    pending = bool(session.new or session.dirty or session.deleted)
    tx = session.get_transaction()
    if tx is None or not (pending or session.info.get(_WROTE) is tx):
        return
    if session.get_nested_transaction() is not None:
        return  # a savepoint: the root transaction's commit bumps (_WROTE is the root)
    conn = session.connection()
    if conn.info.get(_DEFER):
        conn.info[_OWED] = True
        return
    engine = session.get_bind().engine
    if not _table_present(engine):
        return
    _bump(conn)


def _bump(conn: Connection) -> None:
    conn.execute(update(AppStateVersion).where(col(AppStateVersion.topic) == TOPIC_DATA)
                 .values(version=AppStateVersion.version + 1))


def defer_bumps(conn: Connection) -> None:
    """The ORM sessions bound to ``conn`` commit savepoints of an outer transaction that
    the caller commits itself (a job's work and its end state, ``api.services.jobs``):
    their bump is owed to that commit; the caller calls :func:`bump_owed` just before it
    and :func:`end_deferral` after it (pooled connections keep their ``info``)."""
    conn.info[_DEFER] = True
    conn.info.pop(_OWED, None)


def bump_owed(conn: Connection) -> None:
    """Bump in ``conn``'s outer transaction if a deferred session wrote anything."""
    if conn.info.pop(_OWED, False) and _table_present(conn.engine):
        _bump(conn)


def end_deferral(conn: Connection) -> None:
    conn.info.pop(_DEFER, None)
    conn.info.pop(_OWED, None)


@event.listens_for(OrmSession, "after_commit")
def _expire_own(session: OrmSession) -> None:
    # This process's own commit: read the counter afresh at the next check.
    try:
        engine = session.get_bind().engine
    except Exception:  # an unbound session: nothing to expire
        return
    with _lock:
        _seen.pop(id(engine), None)


def data_version(engine: Engine) -> int | None:
    """The ``data`` counter as this process last read it (at most :data:`CHECK_EVERY_S`
    old); None when the database has no counter (not migrated yet)."""
    now = time.monotonic()
    key = id(engine)
    with _lock:
        hit = _seen.get(key)
    if hit is not None and now - hit[1] < CHECK_EVERY_S:
        return hit[0]
    version: int | None = None
    try:
        with engine.connect() as conn:
            version = conn.execute(select(col(AppStateVersion.version)).where(
                col(AppStateVersion.topic) == TOPIC_DATA)).scalar()
    except Exception:  # no table yet: callers fall back to their time-to-live
        version = None
    with _lock:
        _seen[key] = (version, now)
    return version


def forget_versions() -> None:
    """Read every counter afresh at the next check (tests)."""
    with _lock:
        _seen.clear()


# ------------------------------------------------------------------ login rate limit


class LoginLimiter(Protocol):
    per_minute: int

    def retry_after(self, ip: str, email: str) -> int | None: ...
    def failed(self, ip: str, email: str) -> None: ...
    def succeeded(self, ip: str, email: str) -> None: ...


def _key(ip: str, email: str) -> str:
    # A hash: the store holds no e-mail addresses nor IPs of failed logins.
    return hashlib.sha256(f"{ip}\x00{email.strip().lower()}".encode()).hexdigest()


class DatabaseLoginLimiter:
    """Failed logins in ``login_attempt``: a sliding window of ``window_s`` seconds per
    key, in short transactions of their own on the app's engine."""

    def __init__(self, per_minute: int, window_s: float = 60.0,
                 engine: Engine | None = None) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._engine = engine
        self._calls = 0

    def _eng(self) -> Engine:
        if self._engine is not None:
            return self._engine
        from api.db import get_engine  # the URL of the settings now (tests change it)

        return get_engine()

    def retry_after(self, ip: str, email: str) -> int | None:
        now = time.time()
        with self._eng().connect() as conn:
            n, first = conn.execute(
                select(func.count(), func.min(col(LoginAttempt.at)))
                .where(col(LoginAttempt.key) == _key(ip, email),
                       col(LoginAttempt.at) > now - self.window_s)).one()
        if n >= self.per_minute and first is not None:
            return max(1, int(self.window_s - (now - first)) + 1)
        return None

    def failed(self, ip: str, email: str) -> None:
        now = time.time()
        key = _key(ip, email)
        self._calls += 1
        with self._eng().begin() as conn:
            conn.execute(LoginAttempt.__table__.insert().values(key=key, at=now))  # type: ignore[attr-defined]
            # Forget old attempts: this key's always, everyone's now and then.
            old = col(LoginAttempt.at) <= now - self.window_s
            mine = col(LoginAttempt.key) == key
            conn.execute(delete(LoginAttempt).where(old) if self._calls % 100 == 0
                         else delete(LoginAttempt).where(old, mine))

    def succeeded(self, ip: str, email: str) -> None:
        with self._eng().begin() as conn:
            conn.execute(delete(LoginAttempt).where(col(LoginAttempt.key) == _key(ip, email)))


class RedisLoginLimiter:
    """Failed logins counted in Redis: INCR of one key per (IP, e-mail) that expires
    ``window_s`` after the first failure (a fixed window from that failure). Any Redis
    error falls back to ``fallback`` for that call (logged at most once a minute)."""

    def __init__(self, client: Any, per_minute: int, fallback: LoginLimiter,
                 prefix: str = "sroi:", window_s: int = 60) -> None:
        self.client = client
        self.per_minute = per_minute
        self.fallback = fallback
        self.prefix = prefix
        self.window_s = window_s
        self._warned = 0.0

    def _k(self, ip: str, email: str) -> str:
        return f"{self.prefix}login:{_key(ip, email)}"

    def _degraded(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning("Redis failed (%s: %s): the login rate limit uses the database "
                        "until Redis answers again", type(exc).__name__, exc)

    def retry_after(self, ip: str, email: str) -> int | None:
        import redis

        try:
            pipe = self.client.pipeline()
            pipe.get(self._k(ip, email))
            pipe.ttl(self._k(ip, email))
            count, ttl = pipe.execute()
        except redis.RedisError as exc:
            self._degraded(exc)
            return self.fallback.retry_after(ip, email)
        if count is not None and int(count) >= self.per_minute:
            return max(1, int(ttl) if ttl and ttl > 0 else self.window_s)
        return self.fallback.retry_after(ip, email) if self._warned else None

    def failed(self, ip: str, email: str) -> None:
        import redis

        try:
            pipe = self.client.pipeline()  # MULTI/EXEC: both or neither
            pipe.incr(self._k(ip, email))
            pipe.expire(self._k(ip, email), self.window_s, nx=True)
            pipe.execute()
        except redis.RedisError as exc:
            self._degraded(exc)
            self.fallback.failed(ip, email)

    def succeeded(self, ip: str, email: str) -> None:
        import redis

        try:
            self.client.delete(self._k(ip, email))
        except redis.RedisError as exc:
            self._degraded(exc)
        if self._warned:
            self.fallback.succeeded(ip, email)


# ------------------------------------------------------------------ configuration

_status: dict[str, Any] = {"backend": "database", "redis": "not configured"}


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: say only its scheme
        return url.split("://", 1)[0] + "://…"


_redis: dict[str, tuple[Any | None, str]] = {}  # REDIS_URL -> (client or None, status)
_redis_lock = threading.Lock()


def redis_client(redis_url: str) -> Any | None:
    """This process's one Redis client for ``redis_url`` (a thread-safe connection pool,
    shared by the login rate limit and the render cache's shared level), or None when
    Redis did not answer a PING at its first use: said once, clearly; the callers keep
    their state in the database until a restart."""
    with _redis_lock:
        known = _redis.get(redis_url)
        if known is not None:
            return known[0]
        import redis

        try:
            client = redis.Redis.from_url(redis_url, socket_connect_timeout=1.0,
                                          socket_timeout=1.0)
            client.ping()
        except (redis.RedisError, ValueError) as exc:
            log.error("REDIS_URL is set (%s) but Redis does not answer (%s: %s): the login "
                      "rate limit is kept in the database instead (correct, one more query "
                      "per login), and the render cache's shared level too on PostgreSQL. "
                      "Start Redis or fix REDIS_URL, then restart.",
                      _redacted(redis_url), type(exc).__name__, exc)
            _redis[redis_url] = (None, f"unreachable at start-up ({type(exc).__name__})")
            return None
        _redis[redis_url] = (client, "ok")
        return client


def login_limiter(per_minute: int, redis_url: str | None, prefix: str = "sroi:"
                  ) -> LoginLimiter:
    """The limiter for this process: Redis when ``redis_url`` is set and answers a PING,
    else the database. An unreachable Redis is said once, clearly, at start-up."""
    db = DatabaseLoginLimiter(per_minute)
    if not redis_url:
        _status.update(backend="database", redis="not configured")
        return db
    client = redis_client(redis_url)
    if client is None:
        _status.update(backend="database", redis=_redis[redis_url][1])
        return db
    _status.update(backend="redis", redis="ok")
    return RedisLoginLimiter(client, per_minute, db, prefix=prefix)


def status() -> dict[str, Any]:
    """Which backend keeps the shared state, for ``/health``."""
    return dict(_status)
