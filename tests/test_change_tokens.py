"""The process-wide change-token memo: reused while nothing is committed (in this process or,
through the shared data version, in any other), for a bounded time."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, SQLModel, create_engine

from api.services.change_tokens import TokenMemo, cached_token, generation, sees_only_committed
from api.shared_state import CHECK_EVERY_S, data_version
from api.tables import EnterpriseRow


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    SQLModel.metadata.create_all(engine)
    return engine


def test_memo_is_reused_until_a_commit(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    memo = TokenMemo(ttl_s=60)
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    with Session(engine) as s:
        assert cached_token(memo, s, "u", read) == 1
        assert cached_token(memo, s, "u", read) == 1  # no second read
        assert cached_token(memo, s, "other", read) == 2  # per URL
    before = generation()
    with engine.begin() as conn:  # a raw connection's commit counts too
        conn.execute(text("SELECT 1"))
    assert generation() > before
    with Session(engine) as s:
        assert cached_token(memo, s, "u", read) == 3


def test_memo_expires_after_its_ttl(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    memo = TokenMemo(ttl_s=0.05)
    values = iter(range(10))
    with Session(engine) as s:
        first = cached_token(memo, s, "u", lambda: next(values))
        time.sleep(0.1)
        assert cached_token(memo, s, "u", lambda: next(values)) != first


def test_token_read_during_a_commit_is_not_kept(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    memo = TokenMemo(ttl_s=60)
    with Session(engine) as s, Session(engine) as writer:

        def read_while_another_session_commits() -> str:
            writer.add(EnterpriseRow(ref="E-1", name="n", lat=52.0, lon=5.0))
            writer.commit()
            return "read before the commit landed"

        cached_token(memo, s, "u", read_while_another_session_commits)
        assert memo.get("u", data_version(engine)) is None


def test_a_session_with_its_own_changes_neither_uses_nor_shares_the_memo(tmp_path: Path
                                                                         ) -> None:
    engine = _engine(tmp_path)
    memo = TokenMemo(ttl_s=60)
    with Session(engine) as s:
        assert cached_token(memo, s, "u", lambda: "committed view") == "committed view"
        s.add(EnterpriseRow(ref="E-2", name="n", lat=52.0, lon=5.0))
        assert not sees_only_committed(s)
        assert cached_token(memo, s, "u", lambda: "own view") == "own view"
        s.flush()  # flushed, not committed: still its own view
        assert not sees_only_committed(s)
        assert cached_token(memo, s, "u", lambda: "own view 2") == "own view 2"
        assert memo.get("u", data_version(engine)) == "committed view"  # never shared
        s.rollback()
        assert sees_only_committed(s)


def test_a_commit_by_another_process_ends_the_memo_within_the_check_interval(
        tmp_path: Path) -> None:
    """Another process's ORM commit bumps app_state_version in its transaction; here that
    commit is played by the sqlite3 module (no SQLAlchemy: no event of this process sees
    it), so only the shared version can tell."""
    import sqlite3

    engine = _engine(tmp_path)
    memo = TokenMemo(ttl_s=60)
    values = iter(range(10))
    with Session(engine) as s:
        first = cached_token(memo, s, "u", lambda: next(values))
        assert cached_token(memo, s, "u", lambda: next(values)) == first
    other = sqlite3.connect(tmp_path / "t.db")
    with other:
        other.execute("UPDATE app_state_version SET version = version + 1 WHERE topic = 'data'")
    other.close()
    time.sleep(CHECK_EVERY_S + 0.05)
    with Session(engine) as s:
        assert cached_token(memo, s, "u", lambda: next(values)) != first


def test_an_orm_commit_that_wrote_bumps_the_version_one_that_only_read_does_not(
        tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    def version() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT version FROM app_state_version WHERE topic = 'data'")).scalar_one())

    start = version()
    with Session(engine) as s:
        s.exec(text("SELECT 1"))  # type: ignore[call-overload]
        s.commit()
    assert version() == start
    with Session(engine) as s:
        s.add(EnterpriseRow(ref="E-3", name="n", lat=52.0, lon=5.0))
        s.commit()
    assert version() == start + 1
    with Session(engine) as s:  # flushed early, committed later: still counted
        s.add(EnterpriseRow(ref="E-4", name="n", lat=52.0, lon=5.0))
        s.flush()
        s.commit()
    assert version() == start + 2
    with Session(engine) as s:  # rolled back: no change, no bump
        s.add(EnterpriseRow(ref="E-5", name="n", lat=52.0, lon=5.0))
        s.flush()
        s.rollback()
    assert version() == start + 2
