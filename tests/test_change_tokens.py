"""The process-wide change-token memo: reused while nothing is committed, for a bounded time."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, SQLModel, create_engine

from api.services.change_tokens import TokenMemo, cached_token, generation, sees_only_committed
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
        assert memo.get("u") is None


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
        assert memo.get("u") == "committed view"  # never shared
        s.rollback()
        assert sees_only_committed(s)
