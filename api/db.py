"""Engine and session dependency. SQLite by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from api.settings import get_settings


def normalise_url(url: str) -> str:
    # psycopg 3 is our driver; accept the common postgres:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# A request holds its session's connection from its first query until its session
# dependency exits, also while it waits for a handler thread between stages (user lookup,
# handler, response validation). With a bounded pool, requests holding every connection
# while waiting for a thread, and threads waiting for a connection, stall each other until
# pool_timeout (seen with 4 threads and 50 users: 500s after 30 s). So SQLite's pool never
# blocks (connections are file handles); PostgreSQL's allows 60, below its default
# max_connections of 100.
POOL_SIZE = 20
MAX_OVERFLOW_SQLITE = -1  # unbounded
MAX_OVERFLOW_POSTGRES = 40


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **({} if ":memory:" in url or url in ("sqlite://", "sqlite:///")
                                  else {"pool_size": POOL_SIZE,
                                        "max_overflow": MAX_OVERFLOW_SQLITE}))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            # WAL lets readers go on during an import; foreign keys on for integrity.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # FULL: every commit is on disk before it is acknowledged, so a connector's
            # decision that the page confirmed survives even a power cut (NORMAL would
            # only survive a crash of the process). Writes here are few; reads pay nothing.
            cur.execute("PRAGMA synchronous=FULL")
            # Reads: a larger page cache per connection (16 MB), so scans (the change
            # tokens) do not re-read the table page by page. No mmap_size: a file
            # truncated or replaced under a mapping (tests, restore) kills the process
            # with SIGBUS.
            cur.execute("PRAGMA cache_size=-16384")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE,
                         max_overflow=MAX_OVERFLOW_POSTGRES)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    return make_engine(url)


def get_engine() -> Engine:
    # Read settings at each call so a changed DATABASE_URL (tests, CLI) takes effect.
    return engine_for(get_settings().database_url)


def get_session() -> Iterator[Session]:
    with Session(get_engine()) as session:
        yield session
