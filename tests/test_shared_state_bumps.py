"""The shared data version is bumped by the outermost commit only (api.shared_state).

A bump takes the counter row's lock until the real COMMIT. Bumped at a savepoint, the lock
stayed for the rest of the outer transaction, and the job's own progress write, on another
connection of the same thread, waited for it forever (a hung CI run on PostgreSQL). Here
another connection must be able to bump while the outer transaction is still open.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from api import shared_state
from api.tables import EnterpriseRow


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT version FROM app_state_version WHERE topic = 'data'")).scalar_one())


def _other_bumps_without_waiting(engine: Engine) -> None:
    """Another connection bumps and commits at once (it would wait on a held row lock)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET lock_timeout = '3s'")
        else:
            conn.exec_driver_sql("PRAGMA busy_timeout=3000")
        conn.commit()
        with conn.begin():
            conn.execute(text(
                "UPDATE app_state_version SET version = version + 1 WHERE topic = 'data'"))


def _enterprise(ref: str) -> EnterpriseRow:
    return EnterpriseRow(ref=ref, name=f"Werkbedrijf {ref}", lat=52.09, lon=5.12)


@pytest.fixture
def engine(db_engine: Engine) -> Iterator[Engine]:
    with db_engine.begin() as conn:  # create_all seeded the counter row
        assert conn.execute(text("SELECT count(*) FROM app_state_version")).scalar_one() == 1
    yield db_engine


def test_a_savepoint_leaves_the_bump_to_the_outer_commit(engine: Engine) -> None:
    start = _version(engine)
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite locks the whole file for the writing transaction anyway: "
                    "only PostgreSQL has row locks another connection can pass")
    with Session(engine) as s:
        with s.begin_nested():
            s.add(_enterprise("E-SP-1"))
        _other_bumps_without_waiting(engine)  # the savepoint took no lock on the counter
        s.commit()
    assert _version(engine) == start + 2  # the other connection's and the outer commit's


def test_a_deferred_session_bumps_once_at_its_callers_commit(engine: Engine) -> None:
    start = _version(engine)
    conn: Connection
    with engine.connect() as conn:
        outer = conn.begin()
        shared_state.defer_bumps(conn)
        try:
            with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
                s.add(_enterprise("E-DEF-1"))
                s.commit()  # a savepoint
                s.add(_enterprise("E-DEF-2"))
                s.commit()
            if engine.dialect.name == "postgresql":
                _other_bumps_without_waiting(engine)
                start += 1
            assert _version(engine) == start  # nothing committed yet
            shared_state.bump_owed(conn)
            outer.commit()
        finally:
            shared_state.end_deferral(conn)
        assert shared_state._DEFER not in conn.info  # the pooled connection is clean again
    assert _version(engine) == start + 1


def test_a_deferred_session_that_only_read_owes_no_bump(engine: Engine) -> None:
    start = _version(engine)
    with engine.connect() as conn:
        outer = conn.begin()
        shared_state.defer_bumps(conn)
        try:
            with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
                s.exec(text("SELECT 1"))  # type: ignore[call-overload]
                s.commit()
            shared_state.bump_owed(conn)
            outer.commit()
        finally:
            shared_state.end_deferral(conn)
    assert _version(engine) == start
