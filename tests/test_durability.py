"""Nothing is lost: backups, migrations, a killed server, concurrent curation, audit logs.

Every test runs on SQLite and PostgreSQL (``db_url`` / ``use_db`` fixtures).

- a backup of a populated store restores to exactly the same contents (all tables);
- migrations run forward on a copy of a populated database without losing a row;
- SIGKILL to a server in the middle of a large import leaves the database exactly
  as it was before the import (each file is one transaction);
- two connectors deciding on the same match at the same moment: both decisions kept;
- the curation and vetting logs are append-only: no route deletes or changes them,
  and the ORM refuses to (``api.tables.APPEND_ONLY``); ``sroi audit-export`` writes them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, Table, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from api.append_only import APPEND_ONLY_TABLES
from api.cli import main
from api.db import make_engine
from api.migrate import head_revision, upgrade
from api.tables import (
    APPEND_ONLY,
    AppendOnlyError,
    ChallengeEvent,
    CurationDecision,
    DeliveryEvidence,
    PlanEvent,
    VettingEvent,
)
from tests.web.conftest import api_token, app  # noqa: F401  (fixtures, used by name)
from tests.web.seed import USERS, seed

ROOT = Path(__file__).resolve().parents[1]


def dump_columns(engine: Engine) -> dict[str, list[str]]:
    """Per table of the models that the database has: the columns it has, in model order."""
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        insp = inspect(conn)
        names = set(insp.get_table_names())
        for name, table in SQLModel.metadata.tables.items():
            if name in names:
                have = {c["name"] for c in insp.get_columns(name)}
                out[name] = [c.name for c in table.columns if c.name in have]
    return out


def full_dump(engine: Engine, columns: dict[str, list[str]] | None = None
              ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order (values as strings, so both
    backends compare alike); ``columns``: only these columns (default: all it has)."""
    cols = columns if columns is not None else dump_columns(engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, wanted in cols.items():
            table = SQLModel.metadata.tables[name]
            stmt = select(*[table.c[c] for c in wanted]).order_by(*table.primary_key.columns)
            rows = conn.execute(stmt).all()
            out[name] = [tuple(_norm(v) for v in r) for r in rows]
    return out


def seed_old_schema(engine: Engine, tmp_path: Path) -> None:
    """The seed, into a database at an older revision: seeded with today's models into a
    scratch database, then copied column by column where the older schema has them."""
    scratch = make_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    SQLModel.metadata.create_all(scratch)
    with Session(scratch) as s:
        seed(s)
    old = dump_columns(engine)
    with scratch.connect() as src, engine.begin() as dst:
        for name, table in SQLModel.metadata.tables.items():
            if name not in old:
                continue
            rows = src.execute(select(*[table.c[c] for c in old[name]])).mappings().all()
            if rows:  # into the reflected table: today's column defaults must not apply
                there = Table(name, MetaData(), autoload_with=dst)
                dst.execute(there.insert(), [dict(r) for r in rows])
    scratch.dispose()


def _norm(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    if hasattr(v, "isoformat"):
        # SQLite gives back naive datetimes for aware ones written: compare wall time.
        return v.replace(tzinfo=None).isoformat() if hasattr(v, "tzinfo") else v.isoformat()
    return v


def _populated(url: str) -> Engine:
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        seed(s)
    return engine


# ------------------------------------------------------------------- backup / restore

def test_backup_restores_every_table_exactly(use_db: str, db_engine: Engine,
                                             tmp_path: Path) -> None:
    with Session(db_engine) as s:
        seed(s)
    before = full_dump(db_engine)
    assert before["curation_decision"] and before["vetting_event"]
    target = tmp_path / "full.backup"
    assert main(["backup", str(target)]) == 0
    with Session(db_engine) as s:  # damage: new rows and a wiped table (bulk, not the ORM)
        s.add(CurationDecision(query_kind="tender", query_ref="T-UTR-1", enterprise_ref="E-001",
                               decision="reject", reason="na backup", decided_by="x@y.nl"))
        s.execute(text("DELETE FROM allocation"))
        s.commit()
    db_engine.dispose()
    assert main(["restore", str(target), "--yes"]) == 0
    assert full_dump(db_engine) == before


# ------------------------------------------------------------------- migrations

def test_migrations_forward_on_a_copy_of_a_populated_database(db_url: str,
                                                              tmp_path: Path) -> None:
    """Walk every revision from the first on a populated database; no row changes."""
    from alembic.script import ScriptDirectory

    from api.migrate import alembic_config

    revisions = [r.revision for r in
                 reversed(list(ScriptDirectory.from_config(alembic_config(db_url))
                               .walk_revisions()))]
    assert revisions[-1] == head_revision()
    upgrade(db_url, revisions[0])  # the oldest schema
    engine = make_engine(db_url)
    seed_old_schema(engine, tmp_path)
    old_columns = dump_columns(engine)
    before = full_dump(engine)
    engine.dispose()
    assert sum(len(v) for v in before.values()) > 100
    # Migrate a copy, as an operator would: the backup of the live database. On SQLite the
    # backup file is itself a database; on PostgreSQL the dump is kept as the way back and
    # the database is migrated in place.
    from api.commands.ops import backup

    copy_path = tmp_path / "copy.db"
    backup(db_url, copy_path)
    target = f"sqlite:///{copy_path}" if db_url.startswith("sqlite") else db_url
    for rev in [*revisions[1:], "head"]:
        assert upgrade(target, rev).after is not None
    migrated = make_engine(target)
    # Later revisions may add columns; the rows (by id) and their old values stay.
    after = full_dump(migrated, old_columns)
    migrated.dispose()
    for table, rows in before.items():
        assert len(after[table]) == len(rows), table
        assert after[table] == rows, table


def test_adopting_a_populated_create_all_database_keeps_everything(db_url: str) -> None:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        seed(s)
    before = full_dump(engine)
    result = upgrade(db_url)
    assert result.after == head_revision()
    assert full_dump(engine) == before
    engine.dispose()


# ------------------------------------------------------------------- killed server

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _job_running(url: str) -> bool:
    """Has the import job started (its file stored, the import under way)? On PostgreSQL
    the job's row also says when it reaches the write step."""
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            step = conn.execute(text(
                "select step from import_job where state = 'running'")).scalar()
        return step is not None and (url.startswith("sqlite") or step == "write")
    finally:
        eng.dispose()


def _writing_started(url: str, app_name: str, wal: Path | None, wal_before: int) -> bool:
    """Has the import's transaction started writing rows?"""
    if wal is not None:
        return wal.exists() and wal.stat().st_size > wal_before + 256 * 1024
    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            n = conn.execute(text(
                "select count(*) from pg_stat_activity where application_name = :a "
                "and state = 'active' and query ilike 'insert%'"), {"a": app_name}).scalar()
        return bool(n)
    finally:
        eng.dispose()


def test_sigkill_during_a_large_import_leaves_the_database_as_before(
        db_url: str, tmp_path: Path) -> None:
    from bench.load import interchange_document

    engine = _populated(db_url)
    with Session(engine) as s:
        from api.security import new_api_token
        from api.tables import User

        token, digest = new_api_token()
        admin = s.exec(select(User).where(User.email == USERS["admin"][0])).one()
        admin.api_token_hash = digest
        s.add(admin)
        s.commit()
    before = full_dump(engine)
    doc = interchange_document(12_000, 0)
    body = json.dumps({"enterprises": doc["enterprises"]}).encode()

    app_name = f"sroi_kill_{uuid.uuid4().hex[:8]}"
    server_url = db_url
    wal: Path | None = None
    wal_before = 0
    if db_url.startswith("sqlite"):
        wal = Path(db_url.removeprefix("sqlite:///") + "-wal")
        wal_before = wal.stat().st_size if wal.exists() else 0
    else:
        server_url = f"{db_url}&application_name={app_name}"
    port = _free_port()
    # The import runs on the job queue; JOBS_INLINE: its consumer is this server's, so the
    # kill below kills the worker in the middle of the import.
    env = {**os.environ, "DATABASE_URL": server_url, "TODAY": "2026-06-01",
           "SECRET_KEY": uuid.uuid4().hex, "JOBS_INLINE": "true"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    outcome: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.2)

        def post() -> None:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/api/v1/import",
                               headers={"Authorization": f"Bearer {token}"},
                               files={"files": ("big.json", body, "application/json")},
                               data={"on_duplicate": "keep-both", "confirm": "true",
                                     "wait": "300"},
                               timeout=240)
                outcome["status"] = r.status_code
            except httpx.HTTPError as exc:
                outcome["error"] = exc.__class__.__name__

        sender = threading.Thread(target=post, daemon=True)
        sender.start()
        deadline = time.monotonic() + 200
        # The upload is stored with its job first (that write is not the import's): wait
        # for the job to run, then for the import's own writes.
        # On a fast machine the import can finish between two polls; then there is nothing
        # to kill, and what is checked below is that the whole file is in (all or nothing).
        while sender.is_alive() and not _job_running(db_url):
            assert time.monotonic() < deadline, "the import job never started"
            time.sleep(0.01)
        if wal is not None:
            wal_before = wal.stat().st_size if wal.exists() else 0
        while sender.is_alive() and not _writing_started(db_url, app_name, wal, wal_before):
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        sender.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert outcome.get("status") in (None, 200), outcome
    engine.dispose()
    engine = make_engine(db_url)
    if db_url.startswith("sqlite"):
        with engine.connect() as conn:
            assert conn.execute(text("pragma integrity_check")).scalar() == "ok"
    # The data is as before; the import's job (kept with its file in the job tables) is
    # marked failed by the next start-up, never left running.
    after = full_dump(engine)
    jobs = after.pop("import_job"), after.pop("import_job_file")
    # The shared data version (api.shared_state) counts commits, the job's own included;
    # it is not data, so it is left out of "as before".
    after.pop("app_state_version", None)
    before = {k: v for k, v in before.items()
              if not k.startswith("import_job") and k != "app_state_version"}
    assert len(jobs[0]) == 1
    from api.services import import_jobs
    from api.tables import ImportJob

    if after != before or outcome.get("status") == 200:
        # The kill landed after the import's commit (or the import had finished): then the
        # whole file is in and nothing else changed — all or nothing, never part of it.
        grown = len(after["enterprise"]) - len(before["enterprise"])
        assert grown == len(doc["enterprises"]), f"{grown} of {len(doc['enterprises'])} written"
        assert {k: v for k, v in after.items() if k not in ("enterprise", "vetting_event")} == {
            k: v for k, v in before.items() if k not in ("enterprise", "vetting_event")}
        return
    assert len(jobs[1]) == 1  # the killed job's file is kept with it
    assert import_jobs.recover(engine) == 1
    with Session(engine) as s:
        (job,) = s.exec(select(ImportJob)).all()
        assert job.state == "failed" and "niets uit het bestand" in job.error
    # And the store still works: the same import now succeeds.
    from api.services.importing import import_files

    with Session(engine) as s:
        report = import_files(s, [("again.json", json.dumps(
            {"enterprises": doc["enterprises"][:50]}).encode())], on_duplicate="keep-both")
        assert report.ok
    engine.dispose()


# ------------------------------------------------------------------- concurrent curation

def test_two_connectors_deciding_the_same_match_at_once_both_kept(
        use_db: str, db_engine: Engine) -> None:
    from api.services.curation_log import DecisionInput, history, record

    with Session(db_engine) as s:
        seed(s)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def decide(who: str, decision: str, n: int) -> None:
        try:
            for i in range(n):
                with Session(db_engine) as s:
                    barrier.wait(timeout=30)
                    record(s, DecisionInput("tender", "T-UTR-2", "E-007", decision,
                                            reason=f"{who} {i}"), decided_by=who)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    n = 15
    threads = [threading.Thread(target=decide, args=("a@test.nl", "accept", n)),
               threading.Thread(target=decide, args=("b@test.nl", "reject", n))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with Session(db_engine) as s:
        rows = history(s, "tender", "T-UTR-2", "E-007")
    assert len(rows) == 2 * n
    assert sorted(r.reason for r in rows) == sorted(
        [f"a@test.nl {i}" for i in range(n)] + [f"b@test.nl {i}" for i in range(n)])
    assert {r.decided_by for r in rows} == {"a@test.nl", "b@test.nl"}


def test_concurrent_curation_through_the_api_loses_nothing(  # noqa: F811
        app, api_token) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Two connectors posting to the decisions endpoint at the same time, many times."""
    from fastapi.testclient import TestClient

    paths = app.openapi()["paths"]
    if "/api/v1/curation/decisions" not in paths:
        pytest.skip("the curation API is not in this checkout")
    admin_headers = api_token("admin")
    conn_headers = api_token("connector")
    n = 10
    results: list[int] = []

    def post(headers: dict[str, str], decision: str) -> None:
        with TestClient(app) as c:
            for i in range(n):
                r = c.post("/api/v1/curation/decisions", headers=headers, json={
                    "query_kind": "tender", "query_ref": "T-UTR-2", "enterprise_ref": "E-007",
                    "decision": decision, "reason": f"{decision} {i}",
                    # E-007 fails a hard constraint of T-UTR-2: accepting it is an override.
                    "override": decision == "accept"})
                results.append(r.status_code)

    threads = [threading.Thread(target=post, args=(admin_headers, "accept")),
               threading.Thread(target=post, args=(conn_headers, "reject"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 2 * n and all(s in (200, 201) for s in results), results
    from api.db import get_engine

    with Session(get_engine()) as s:
        rows = s.exec(select(CurationDecision).where(
            CurationDecision.query_ref == "T-UTR-2",
            CurationDecision.enterprise_ref == "E-007")).all()
    assert sorted(r.reason for r in rows) == sorted(
        [f"accept {i}" for i in range(n)] + [f"reject {i}" for i in range(n)])


# ------------------------------------------------------------------- audit logs

def test_orm_refuses_to_change_or_delete_audit_rows(session: Session) -> None:
    seed(session)
    session.add(ChallengeEvent(challenge_ref="C-1", to_status="call", decided_by="c@test.nl"))
    session.add(DeliveryEvidence(delivery_id=1, filename="f.pdf", media_type="application/pdf",
                                 size=8, sha256="0" * 64, data=b"%PDF-1.4",
                                 uploaded_by="c@test.nl"))
    session.add(PlanEvent(obligation_ref="O-1", action="commit", decided_by="f@test.nl"))
    session.commit()
    # A text column of each audit table to try to change.
    text_field = {"curation_decision": "reason", "vetting_event": "reason", "delivery": "note",
                  "challenge_event": "reason", "delivery_evidence": "filename",
                  "plan_event": "reason"}
    for cls in APPEND_ONLY:
        row = session.exec(select(cls).order_by(col(cls.id))).first()  # type: ignore[attr-defined]
        assert row is not None, cls
        setattr(row, text_field[cls.__tablename__], "changed")  # type: ignore[attr-defined]
        session.add(row)
        with pytest.raises(AppendOnlyError, match="append-only"):
            session.commit()
        session.rollback()
        session.delete(row)
        with pytest.raises(AppendOnlyError, match="append-only"):
            session.commit()
        session.rollback()
    # Appending still works.
    session.add(VettingEvent(enterprise_ref="E-001", status="vetted", decided_by="c@test.nl"))
    session.commit()


AUDIT_TABLES = set(APPEND_ONLY_TABLES)


def _route_list(application: Any) -> list[tuple[str, str, Any]]:
    from fastapi.routing import _IncludedRouter

    out = []
    for r in application.routes:
        if isinstance(r, _IncludedRouter):
            for c in r.effective_route_contexts():
                for m in c.methods or ():
                    out.append((m, c.path, c.endpoint))
        elif getattr(r, "methods", None):
            for m in r.methods:
                out.append((m, r.path, getattr(r, "endpoint", None)))
    return out


def test_no_route_can_delete_or_change_the_audit_logs(  # noqa: F811
        app) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """No DELETE/PUT/PATCH route is about the logs, and every one that exists, run by an
    admin on everything it can reach, leaves the logs' rows as they were."""
    import inspect as pyinspect

    from fastapi.testclient import TestClient

    routes = _route_list(app)
    for method, path, endpoint in routes:
        if method not in ("DELETE", "PUT", "PATCH"):
            continue
        assert not any(w in path for w in ("curation", "vetting", "log", "audit")), (method, path)
        source = pyinspect.getsource(endpoint) if endpoint else ""
        assert "CurationDecision" not in source and "VettingEvent" not in source, (method, path)
    from api.db import get_engine

    engine = get_engine()
    audit_before = {t: v for t, v in full_dump(engine).items() if t in AUDIT_TABLES}
    from api.security import new_api_token
    from api.tables import User

    token, digest = new_api_token()
    with Session(engine) as s:
        admin = s.exec(select(User).where(User.email == USERS["admin"][0])).one()
        admin.api_token_hash = digest
        s.add(admin)
        s.commit()
    with TestClient(app, raise_server_exceptions=False) as c:
        for method, path, _ in routes:
            if method not in ("DELETE", "PUT", "PATCH") or not path.startswith("/api/"):
                continue
            for ref in ("E-001", "E-005", "T-UTR-1", "O-1", "C-1"):
                concrete = path.replace("{ref:path}", ref).replace("{ref}", ref)
                concrete = concrete.replace("{enterprise_ref:path}", ref).replace(
                    "{enterprise_ref}", ref)
                c.request(method, concrete, headers={"Authorization": f"Bearer {token}"},
                          json={} if method != "DELETE" else None)
    after = {t: v for t, v in full_dump(engine).items() if t in AUDIT_TABLES}
    for table, rows in audit_before.items():
        assert after[table][:len(rows)] == rows, f"{table} lost or changed rows"


def test_audit_export_cli_writes_both_logs(use_db: str, db_engine: Engine, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with Session(db_engine) as s:
        seed(s)
        n_cur = len(s.exec(select(CurationDecision)).all())
        n_vet = len(s.exec(select(VettingEvent)).all())
    out = tmp_path / "audit" / "curation.csv"
    assert main(["audit-export", "curation", "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == n_cur and rows[0]["decision"] == "accept"
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    assert not list(out.parent.glob("*.partial"))
    capsys.readouterr()
    assert main(["audit-export", "vetting"]) == 0
    text_out = capsys.readouterr().out
    vet = list(csv.DictReader(io.StringIO(text_out)))
    assert len(vet) == n_vet
    assert set(vet[0]) == {"id", "decided_at", "decided_by", "enterprise_ref", "status",
                           "valid_until", "reason"}
    assert {r["decided_by"] for r in vet} == {"connector@test.nl"}


def test_audit_export_to_an_unwritable_place_is_a_clean_error(
        use_db: str, db_engine: Engine, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["audit-export", "vetting", "-o", str(blocker / "sub" / "v.csv")]) == 1
    err = capsys.readouterr().err
    assert "niet schrijven" in err and "Traceback" not in err
