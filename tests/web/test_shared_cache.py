"""The render cache's shared level (issue #17 item 3, ``api.services.shared_cache``): a
value one process built is served to another without building it again, a data change
misses it, a failing level only costs building, the table stays bounded, Redis works
the same, and a hit is the bytes of a fresh render. "Another process" is this one with
its LRU cleared (``render_cache.clear``); tests/test_multiprocess.py has two servers."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.services import render_cache, shared_cache
from api.services.change_tokens import generation
from api.shared_state import data_version, forget_versions
from api.tables import AppStateVersion, RenderCacheEntry
from tests.web.conftest import redis_url_or_skip

TENDER = "/tenders/T-UTR-1"


@render_cache.shareable
@dataclasses.dataclass(frozen=True)
class Parts:
    html: Markup
    rows: list[dict[str, Any]]
    pair: tuple[int, str]
    flag: bool


VALUE = Parts(html=Markup("<b>Schoon &amp; Groen</b>"),
              rows=[{"ref": "E-1", "score": 0.8125, "contributions": {"cpv": 0.5}},
                    {"ref": "E-2", "score": 1e-9, "contributions": {}}],
              pair=(3, "drie"), flag=True)


@pytest.fixture
def level(db_engine: Engine) -> Iterator[shared_cache.TableBackend]:
    """The table level on the test database (SQLite too: the same SQL), LRU empty."""
    backend = shared_cache.TableBackend(db_engine)
    shared_cache.reset()
    shared_cache.override(backend)
    render_cache.clear()
    forget_versions()
    yield backend
    shared_cache.reset()
    render_cache.clear()


def _ask(engine: Engine, builds: list[str], key: str = "k", value: Any = VALUE) -> Any:
    def build() -> Any:
        builds.append(key)
        return value

    with Session(engine) as s:
        return render_cache.shared(s, "shared-level-test", (key,), "nl", build)


def _bump(engine: Engine) -> None:
    """A data change through the ORM (as every edit): the shared data version moves."""
    with Session(engine) as s:
        row = s.get(AppStateVersion, "data")
        assert row is not None
        s.add(AppStateVersion(topic="probe-" + uuid.uuid4().hex[:8], version=0))
        s.commit()
    forget_versions()


def test_a_value_built_in_one_process_is_served_to_another_without_building(
        db_engine: Engine, level: shared_cache.TableBackend) -> None:
    builds: list[str] = []
    first = _ask(db_engine, builds)
    assert builds == ["k"] and first == VALUE
    render_cache.clear()  # another process: nothing of its own yet
    again = _ask(db_engine, builds)
    assert builds == ["k"]  # not built again
    assert again == VALUE and type(again) is Parts
    assert type(again.html) is Markup and type(again.pair) is tuple
    assert _ask(db_engine, builds) == VALUE and builds == ["k"]  # now from its own LRU
    # Other values keep their type too: the match API's bytes, a search page's Markup.
    for key, value in (("bytes", b'{"items":[]}'), ("markup", Markup("<p>x</p>"))):
        _ask(db_engine, builds, key, value)
        render_cache.clear()
        got = _ask(db_engine, builds, key, value)
        assert got == value and type(got) is type(value)
    assert builds == ["k", "bytes", "markup"]


def test_a_data_change_misses_the_shared_level(
        db_engine: Engine, level: shared_cache.TableBackend) -> None:
    builds: list[str] = []
    _ask(db_engine, builds)
    before = data_version(db_engine)
    _bump(db_engine)
    assert data_version(db_engine) == (before or 0) + 1
    render_cache.clear()
    _ask(db_engine, builds)
    assert builds == ["k", "k"]  # the entry of the old version is not served
    render_cache.clear()
    _ask(db_engine, builds)
    assert builds == ["k", "k"]  # the new version's is


def test_writing_the_shared_level_is_no_data_change(
        db_engine: Engine, level: shared_cache.TableBackend) -> None:
    """The table is written in autocommit: no commit the change tokens would count (that
    would drop every token memo and keep concurrent builds out of the LRU) and no bump of
    the data version."""
    builds: list[str] = []
    _ask(db_engine, builds, "warm")  # the first use reads the tokens, the version
    forget_versions()
    version, gen = data_version(db_engine), generation()
    _ask(db_engine, builds, "k2")
    with Session(db_engine) as s:
        assert s.scalar(select(func.count()).select_from(RenderCacheEntry)) == 2
    assert generation() == gen
    forget_versions()
    assert data_version(db_engine) == version


def test_a_session_with_own_writes_neither_reads_nor_fills_the_shared_level(
        db_engine: Engine, level: shared_cache.TableBackend) -> None:
    builds: list[str] = []
    _ask(db_engine, builds)
    render_cache.clear()
    with Session(db_engine) as s:
        s.add(AppStateVersion(topic="pending", version=0))
        s.flush()
        got = render_cache.shared(s, "shared-level-test", ("k",), "nl",
                                  lambda: builds.append("own") or "own view")
        assert got == "own view"
        s.rollback()
    assert builds == ["k", "own"]


class Failing:
    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    def get(self, key: str) -> bytes | None:
        self.calls += 1
        raise ConnectionError("the level is down")

    def put(self, key: str, version: int, value: bytes) -> None:
        self.calls += 1
        raise ConnectionError("the level is down")


def test_a_failing_shared_level_falls_back_to_building_and_says_so_once(
        db_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    failing = Failing()
    shared_cache.reset()
    shared_cache.override(failing)
    render_cache.clear()
    try:
        builds: list[str] = []
        with caplog.at_level(logging.WARNING, logger="sroi.shared_cache"):
            assert _ask(db_engine, builds) == VALUE
            render_cache.clear()
            assert _ask(db_engine, builds, "k3") == VALUE
        assert builds == ["k", "k3"]
        assert failing.calls == 1  # then left alone for RETRY_S seconds
        said = [r for r in caplog.records if "shared level" in r.getMessage()]
        assert len(said) == 1 and "ConnectionError" in said[0].getMessage()
    finally:
        shared_cache.reset()
        render_cache.clear()


def test_an_entry_that_does_not_decode_is_a_miss(
        db_engine: Engine, level: shared_cache.TableBackend) -> None:
    builds: list[str] = []
    _ask(db_engine, builds)
    with db_engine.begin() as conn:
        conn.execute(RenderCacheEntry.__table__.update().values(  # type: ignore[attr-defined]
            value=b"J" + b"not zlib"))
    render_cache.clear()
    assert _ask(db_engine, builds) == VALUE
    assert builds == ["k", "k"]


def test_the_table_stays_bounded(db_engine: Engine) -> None:
    table = shared_cache.TableBackend(db_engine, max_rows=5, clean_every=4)

    def n() -> int:
        with Session(db_engine) as s:
            return int(s.scalar(select(func.count()).select_from(RenderCacheEntry)) or 0)

    for i in range(40):
        table.put(f"{i:064d}", 7, b"S" + b"x")
    assert n() <= 5 + 4  # at most the writes since the last clean-up beyond the bound
    assert table.get(f"{39:064d}") is not None  # the newest kept
    table.put("a" * 64, 8, b"S")  # a newer data version: the older entries go
    assert n() == 1 and table.get("a" * 64) == b"S"


def test_choosing_the_level(db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """No level on SQLite (one process serves it), the table on PostgreSQL, Redis when
    configured and answering; Redis unreachable: the table on PostgreSQL."""
    from api import settings as api_settings

    shared_cache.reset()
    try:
        monkeypatch.delenv("REDIS_URL", raising=False)
        api_settings.get_settings.cache_clear()
        expected = "database" if db_engine.dialect.name == "postgresql" else "none"
        assert shared_cache.status(db_engine) == expected
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens
        api_settings.get_settings.cache_clear()
        assert shared_cache.status(db_engine) == expected
    finally:
        api_settings.get_settings.cache_clear()
        shared_cache.reset()


def test_the_redis_level(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With REDIS_URL the level is Redis (the client of ``shared_state.redis_client``),
    its entries expire, and a value built once is served without building."""
    import redis
    from sqlmodel import SQLModel

    from api import settings as api_settings
    from api.db import engine_for

    url = redis_url_or_skip()
    prefix = f"sroi-test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("REDIS_PREFIX", prefix)
    api_settings.get_settings.cache_clear()
    engine = engine_for(sqlite_url)
    SQLModel.metadata.create_all(engine)
    shared_cache.reset()
    render_cache.clear()
    client = redis.Redis.from_url(url)
    try:
        assert shared_cache.status(engine) == "redis"
        builds: list[str] = []
        _ask(engine, builds)
        render_cache.clear()
        assert _ask(engine, builds) == VALUE and builds == ["k"]
        keys = list(client.scan_iter(f"{prefix}render:*"))
        assert len(keys) == 1
        assert 0 < client.ttl(keys[0]) <= shared_cache.TTL_S
        _bump(engine)
        render_cache.clear()
        _ask(engine, builds)
        assert builds == ["k", "k"]
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        api_settings.get_settings.cache_clear()
        shared_cache.reset()
        render_cache.clear()
        engine.dispose()
        engine_for.cache_clear()


class _Config:
    def __init__(self, config: dict[str, str] | None) -> None:
        self.config = config

    def config_get(self, pattern: str) -> dict[str, str]:
        assert pattern == "maxmemory*"
        if self.config is None:
            raise PermissionError("CONFIG is disabled")
        return self.config


@pytest.mark.parametrize(("config", "says"), [
    ({"maxmemory": "0", "maxmemory-policy": "noeviction"}, "no maxmemory"),
    ({"maxmemory": "268435456", "maxmemory-policy": "allkeys-lru"}, "job queue's keys"),
    ({"maxmemory": "268435456", "maxmemory-policy": "noeviction"}, "every write fails"),
    ({"maxmemory": "268435456", "maxmemory-policy": "volatile-lru"}, None),
    ({"maxmemory": "268435456", "maxmemory-policy": "volatile-ttl"}, None),
    (None, None),  # a managed Redis that refuses CONFIG: nothing to say
])
def test_redis_memory_advice(config: dict[str, str] | None, says: str | None) -> None:
    """The Redis level's entries are bounded only by their expiry unless Redis has a
    maxmemory and evicts keys with an expiry only (never the job queue's)."""
    advice = shared_cache.redis_memory_advice(_Config(config))
    if says is None:
        assert advice is None
    else:
        assert advice is not None and says in advice and "volatile-lru" in advice


def test_pages_from_the_shared_level_are_fresh_renders(
        client: TestClient, login: Any, db_engine: Engine) -> None:
    """The tender page, the match API and the search page, served to a process that has
    not built them, are the bytes of a fresh render."""
    login("connector")
    client.get("/")  # the login's flash goes here
    urls = [TENDER + "?lang=nl", "/api/v1/tenders/T-UTR-1/matches?top=10&lang=nl",
            "/enterprises?q=schoon&lang=nl", TENDER + "?lang=en"]
    shared_cache.reset()
    shared_cache.override(None)
    render_cache.clear()
    try:
        fresh = [client.get(u).content for u in urls]
        shared_cache.reset()
        shared_cache.override(shared_cache.TableBackend(db_engine))
        render_cache.clear()
        hits = render_cache.stats().hits
        assert [client.get(u).content for u in urls] == fresh  # built, stored
        with Session(db_engine) as s:
            assert s.scalar(select(func.count()).select_from(RenderCacheEntry)) == len(urls)
        render_cache.clear()
        assert [client.get(u).content for u in urls] == fresh  # from the shared level
        assert render_cache.stats().hits == hits  # none of them from the LRU
    finally:
        shared_cache.reset()
        render_cache.clear()


def test_health_says_which_level_the_processes_share(client: TestClient,
                                                     db_engine: Engine) -> None:
    shared_cache.reset()
    expected = "database" if db_engine.dialect.name == "postgresql" else "none"
    assert client.get("/health").json()["shared_state"]["render_cache"] == expected
