"""Migrations create the whole schema on both backends and match the models exactly."""

from __future__ import annotations

import re

import pytest
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import api.tables  # noqa: F401
from api.db import make_engine
from api.migrate import head_revision, schema_diff, upgrade


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_on_empty_database_creates_every_table(db_url: str) -> None:
    assert _tables(db_url) == set()
    result = upgrade(db_url)
    assert result.before is None and result.after == head_revision()
    assert "created the schema" in result.describe().render("en")
    assert "schema aangemaakt" in result.describe().render("nl")
    assert _tables(db_url) == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    upgrade(db_url)
    again = upgrade(db_url)
    assert again.before == again.after == head_revision()
    assert "nothing to do" in again.describe().render("en")


def test_migrations_match_the_models(db_url: str) -> None:
    """A change to api/tables.py must come with a migration (see api/migrate.py)."""
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = schema_diff(conn)
    finally:
        engine.dispose()
    assert diff == [], (
        "api/tables.py and api/migrations differ; add a revision with "
        "`python -c \"from api.migrate import revision; revision('what changed')\"`: "
        f"{diff}"
    )


def test_database_made_by_create_all_is_adopted(db_url: str) -> None:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    result = upgrade(db_url)
    assert result.stamped and result.after == head_revision()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    engine.dispose()


def test_tables_differing_from_the_models_are_refused_in_the_readers_language(
        db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Tables without a migration history that differ from the models: refused with what
    to do, in Dutch or English (`sroi --lang`), never the upgrade's English."""
    from api import settings as api_settings
    from api.cli import main
    from api.migrate import MigrationError

    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE login_attempt")
    engine.dispose()
    with pytest.raises(MigrationError) as refused:
        upgrade(db_url)
    assert refused.value.render("nl").startswith("de database heeft tabellen maar geen "
                                                 "migratiegeschiedenis")
    assert re.search(r"\(\d+ verschillen, het eerste: ", refused.value.render("nl"))
    assert refused.value.render("en").startswith("the database has tables but no migration "
                                                 "history")
    monkeypatch.setenv("DATABASE_URL", db_url)
    api_settings.get_settings.cache_clear()
    try:
        for lang, said in (("en", "back it up with `sroi export`"),
                           ("nl", "maak een reservekopie met `sroi export`")):
            assert main(["--lang", lang, "init-db"]) == 1
            err = capsys.readouterr().err
            assert said in err and "Traceback" not in err, err
    finally:
        api_settings.get_settings.cache_clear()


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/sub/missing-dir/x.db"])
def test_unreachable_database_is_a_clean_cli_error(
    url: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api import settings as api_settings
    from api.cli import main

    monkeypatch.setenv("DATABASE_URL", url.format(tmp=tmp_path))
    api_settings.get_settings.cache_clear()
    try:
        status = main(["init-db"])
    finally:
        api_settings.get_settings.cache_clear()
    err = capsys.readouterr().err
    assert status == 1
    assert "database niet bereikbaar" in err and "Traceback" not in err


def test_json_stage_history_moves_into_events(db_url: str) -> None:
    """0003_challenge_workflow copies a Challenge's old ``extra["status_history"]`` into
    challenge_event rows (oldest first) and drops the JSON key."""
    import json

    from sqlalchemy import text
    from sqlmodel import Session

    from api.services.challenge_board import status_history

    upgrade(db_url, "0002_append_only")
    engine = make_engine(db_url)
    history = [{"from": "intake", "to": "call", "by": "a@test.nl",
                "at": "2026-03-01T09:00:00+00:00", "reason": "open"},
               {"from": "call", "to": "pitch", "by": "b@test.nl",
                "at": "2026-04-01T09:00:00", "reason": ""}]
    extra = json.dumps({"status": "pitch", "status_history": history, "note": "kept"})
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO challenge (ref, municipality_code, title, question, themes, "
                "max_partners, status, extra, created_at, updated_at) VALUES ('C-OLD', "
                "'GM0344', 'Oud', '', '[]', 3, 'pitch', :extra, :now, :now)"),
                {"extra": extra, "now": "2026-01-01 00:00:00"})
        upgrade(db_url)
        with Session(engine) as session:
            got = status_history(session, "C-OLD")
            stored = session.exec(text(  # type: ignore[call-overload]
                "SELECT extra FROM challenge WHERE ref = 'C-OLD'")).one()[0]
    finally:
        engine.dispose()
    assert [(h["from"], h["to"], h["by"], h["reason"]) for h in got] == [
        ("intake", "call", "a@test.nl", "open"), ("call", "pitch", "b@test.nl", "")]
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored == {"status": "pitch", "note": "kept"}
