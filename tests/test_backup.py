"""`sroi backup` / `sroi restore` round trip on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.cli import main
from api.tables import CurationDecision, EnterpriseRow


def _add(engine: Engine, ref: str) -> None:
    with Session(engine) as s:
        s.add(EnterpriseRow(ref=ref, name=f"Onderneming {ref}", description="schoonmaak",
                            cpv=["90910000"], lat=52.09, lon=5.11))
        s.add(CurationDecision(query_kind="tender", query_ref="T-1", enterprise_ref=ref,
                               decision="accept", reason="past goed", decided_by="c@x.nl"))
        s.commit()


def _refs(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return sorted(r.ref for r in s.exec(select(EnterpriseRow)))


def test_backup_restore_round_trip(use_db: str, db_engine: Engine, tmp_path: Path) -> None:
    _add(db_engine, "E-1")
    _add(db_engine, "E-2")
    backup_path = tmp_path / "backup.dump"
    assert main(["backup", str(backup_path)]) == 0
    assert backup_path.stat().st_size > 0

    with Session(db_engine) as s:  # lose data after the backup
        for row in s.exec(select(EnterpriseRow)):
            s.delete(row)
        s.commit()
    _add(db_engine, "E-3")
    assert _refs(db_engine) == ["E-3"]

    db_engine.dispose()  # restore must not fight our pooled connections
    assert main(["restore", str(backup_path), "--yes"]) == 0
    assert _refs(db_engine) == ["E-1", "E-2"]
    with Session(db_engine) as s:
        assert len(s.exec(select(CurationDecision)).all()) == 4 - 2  # the two from before backup


def test_backup_refuses_to_overwrite(use_db: str, db_engine: Engine, tmp_path: Path,
                                     capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "exists.dump"
    target.write_text("keep me")
    assert main(["backup", str(target)]) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_restore_of_missing_or_garbage_file_changes_nothing(
    use_db: str, db_engine: Engine, tmp_path: Path, capsys  # type: ignore[no-untyped-def]
) -> None:
    _add(db_engine, "E-9")
    assert main(["restore", str(tmp_path / "nope.dump"), "--yes"]) == 2
    assert "bestaat niet" in capsys.readouterr().err
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"\x00not a backup at all" * 10)
    assert main(["restore", str(garbage), "--yes"]) != 0
    assert _refs(db_engine) == ["E-9"]
