"""Shared fixtures: a fresh database per test, on SQLite and (when reachable) PostgreSQL.

`db_engine` is parametrised over both backends. PostgreSQL tests skip with a clear
reason when no server answers at POSTGRES_TEST_URL (default 127.0.0.1:5432, database
`test`); with REQUIRE_POSTGRES=1 (set by .ci/run) an unreachable server fails instead.
Each PostgreSQL test gets its own schema so tests can run in parallel workers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import api.tables  # noqa: F401  (registers the tables)
from api.db import engine_for, make_engine

if TYPE_CHECKING:
    from api.services.import_report import FileReport

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = ROOT / "fixtures"
POSTGRES_URL = os.environ.get(
    "POSTGRES_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# The sroi command speaks the locale's language when it is English (api/commands/lang.py):
# the tests read its Dutch default whatever the machine's LANG (tests that want English
# set SROI_LANG or --lang themselves). Inherited by the servers and workers they start.
os.environ["SROI_LANG"] = "nl"

_pg_status: tuple[bool, str] | None = None


def postgres_available() -> tuple[bool, str]:
    global _pg_status
    if _pg_status is None:
        try:
            eng = make_engine(POSTGRES_URL)
            with eng.connect() as conn:
                conn.execute(text("select 1"))
            eng.dispose()
            _pg_status = (True, "")
        except Exception as exc:  # any failure to connect means: skip
            _pg_status = (False, f"PostgreSQL not reachable at {POSTGRES_URL}: "
                                 f"{exc.__class__.__name__}")
    return _pg_status


def _require_postgres() -> None:
    ok, reason = postgres_available()
    if not ok:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Database URL on each backend; the schema is NOT created (for migration tests)."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh, fully created schema, on SQLite and on PostgreSQL."""
    engine = engine_for(db_url)
    SQLModel.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        engine_for.cache_clear()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with Session(db_engine) as s:
        yield s


@pytest.fixture
def use_db(db_url: str, db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point DATABASE_URL (settings, api.db.get_engine) at the test database."""
    from api import settings as api_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    api_settings.get_settings.cache_clear()
    try:
        yield db_url
    finally:
        api_settings.get_settings.cache_clear()


def import_one(session: Session, fmt: str, data: bytes, name: str,
               partial: bool = False) -> FileReport:
    """One file of ``fmt`` through the one import pipeline; its file report."""
    from api.services.importing import import_files

    (report,) = import_files(session, [(name, data)], format=fmt, partial=partial).files
    return report
