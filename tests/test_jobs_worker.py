"""A worker killed mid-job (#17 item 2): `sroi worker` processes on PostgreSQL (queue and
state in the same database), SIGKILLed while the job writes. Nothing of the job is
written; the next worker runs it again from scratch, and after MAX_ATTEMPTS kills it is
failed with the reason, still with nothing written.

The kill lands at a known point: the test holds a lock on ``tender_ranking`` so the
job's first write waits there (its progress, in the ``job`` table, says "write"), as a
long write would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, func, select

from api.db import engine_for
from api.messages import parse_stored, render_text
from api.tables import ImportJob, JobRow, TenderRankingRow, User
from tests.web.seed import USERS, seed

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    from api import settings as api_settings
    from api.services import job_queue

    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("TODAY", "2026-06-01")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("JOBS_INLINE", raising=False)
    api_settings.get_settings.cache_clear()
    job_queue.reset()
    engine = engine_for(pg_url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        seed(s)
    try:
        yield engine
    finally:
        job_queue.reset()
        engine.dispose()
        engine_for.cache_clear()
        api_settings.get_settings.cache_clear()


def _worker(tmp_path: Path, n: int) -> subprocess.Popen[bytes]:
    log = open(tmp_path / f"worker{n}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], cwd=ROOT,
                            env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)


def _job(engine: Engine, job_id: str, table: Any = JobRow) -> Any:
    with Session(engine) as s:
        job = s.get(table, job_id)
        assert job is not None
        return job


def _until(engine: Engine, job_id: str, ok: Any, what: str, tmp_path: Path,
           timeout_s: float = 90.0, table: Any = JobRow, poll_s: float = 0.1) -> Any:
    """The job (of ``table``) once ``ok(job)``; else fail with the workers' logs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = _job(engine, job_id, table)
        if ok(job):
            return job
        time.sleep(poll_s)
    logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*.log"))
    raise AssertionError(f"job never {what}: {_job(engine, job_id, table)}\n{logs}")


def _kill_while_writing(engine: Engine, job_id: str, tmp_path: Path, n: int) -> None:
    worker = _worker(tmp_path, n)
    try:
        _until(engine, job_id, lambda j: j.state == "running" and j.step == "write"
               and j.attempts == n, f"writing (attempt {n})", tmp_path)
        time.sleep(0.3)  # its DELETE is waiting for the lock now
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)


def _rows(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(TenderRankingRow)).one())


def _lock(engine: Engine) -> Connection:
    conn = engine.connect()
    conn.begin()
    conn.exec_driver_sql("LOCK TABLE tender_ranking IN EXCLUSIVE MODE")  # reads still pass
    return conn


def _connector(engine: Engine) -> User:
    with Session(engine) as s:
        return s.exec(select(User).where(User.email == USERS["connector"][0])).one()


def test_a_killed_worker_writes_nothing_and_the_next_one_runs_the_job(
        store: Engine, tmp_path: Path) -> None:
    from api.services import jobs

    job = jobs.submit(store, _connector(store), "rank_tenders")
    lock = _lock(store)
    try:
        _kill_while_writing(store, job.id, tmp_path, 1)
        dead = _job(store, job.id)
        assert dead.state == "running"  # what the killed worker left
        assert _rows(store) == 0  # nothing of it written
    finally:
        lock.rollback()
        lock.close()
    worker = _worker(tmp_path, 2)
    try:
        done = _until(store, job.id, lambda j: j.state == "done", "done", tmp_path)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(30)
    assert done.attempts == 2 and done.error == ""
    assert done.result["rows"] == _rows(store) > 0  # written once, whole
    assert "1 onderbroken taak opnieuw in de wachtrij" in (tmp_path / "worker2.log").read_text()


def test_a_job_whose_worker_dies_every_time_fails_with_the_reason(
        store: Engine, tmp_path: Path) -> None:
    from api.services import jobs

    job = jobs.submit(store, _connector(store), "rank_tenders")
    lock = _lock(store)
    try:
        for n in range(1, jobs.MAX_ATTEMPTS + 1):
            _kill_while_writing(store, job.id, tmp_path, n)
            assert _rows(store) == 0
        # The next worker to start gives the job up, with the reason.
        worker = _worker(tmp_path, 9)
        try:
            failed = _until(store, job.id, lambda j: j.state == "failed", "failed", tmp_path)
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(30)
    finally:
        lock.rollback()
        lock.close()
    # Stored as a message, said in the reader's language.
    said = parse_stored(failed.error)
    assert render_text(said, "nl") == (f"de worker stopte {jobs.MAX_ATTEMPTS} keer tijdens "
                                       "deze taak; er is niets van opgeslagen")
    assert render_text(said, "en") == (f"the worker stopped {jobs.MAX_ATTEMPTS} times during "
                                       "this job; nothing of it was saved")
    assert _rows(store) == 0


def test_worker_refuses_to_start_without_its_queue(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "REDIS_URL": "redis://127.0.0.1:1/0", "SROI_LANG": "en"}
    r = subprocess.run([sys.executable, "-m", "api.cli", "worker"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3
    assert "the job queue cannot be reached (Redis redis://127.0.0.1:1/0" in r.stderr


def test_a_running_job_cancelled_writes_nothing(store: Engine, tmp_path: Path) -> None:
    from api.services import jobs

    user = _connector(store)
    job = jobs.submit(store, user, "rank_tenders")
    lock = _lock(store)
    worker = _worker(tmp_path, 1)
    try:
        try:
            _until(store, job.id, lambda j: j.state == "running" and j.step == "write",
                   "writing", tmp_path)
            assert jobs.cancel(store, job.id, user).cancel_requested
        finally:
            lock.rollback()  # its writes go through now, then it sees the cancel
            lock.close()
        stopped = _until(store, job.id, lambda j: j.state == "cancelled", "cancelled",
                         tmp_path)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(30)
    assert stopped.result == {} and _rows(store) == 0  # rolled back whole


def test_a_worker_process_takes_jobs_off_a_redis_queue(
        store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With REDIS_URL the web process queues on Redis and a separate ``sroi worker`` takes
    the job from there and runs it (the production layout with Redis)."""
    import uuid

    from api import settings as api_settings
    from api.services import job_queue, jobs
    from tests.web.conftest import redis_url_or_skip

    monkeypatch.setenv("REDIS_URL", redis_url_or_skip())
    monkeypatch.setenv("REDIS_PREFIX", f"sroi-test-{uuid.uuid4().hex[:8]}:")
    api_settings.get_settings.cache_clear()
    job_queue.reset()
    job = jobs.submit(store, _connector(store), "rank_tenders")
    huey, _ = job_queue.queue()
    assert type(huey).__name__ == "RedisHuey" and huey.pending_count() == 1
    worker = _worker(tmp_path, 1)
    try:
        ended = _until(store, job.id, lambda j: j.state in ("done", "failed"), "ended",
                       tmp_path)
        assert ended.state == "done", ended.error
        assert _rows(store) == ended.result["rows"] > 0
        assert huey.pending_count() == 0
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(30)
        huey.storage.flush_all()


# ------------------------------------------------------------------ imports on a worker


def _until_import(engine: Engine, job_id: str, ok: Any, what: str, tmp_path: Path,
                  timeout_s: float = 90.0) -> Any:
    return _until(engine, job_id, ok, f"(import) {what}", tmp_path, timeout_s,
                  table=ImportJob, poll_s=0.05)


def _import_file(n: int, tag: str) -> list[tuple[str, bytes]]:
    import json

    doc = {"enterprises": [{"ref": f"E-W{tag}-{i:04d}", "name": f"Werkbedrijf {tag} {i}",
                            "kvk": f"{60000000 + i}", "description": "Leerwerkbedrijf.",
                            "cpv": ["90911200"], "municipality": "Utrecht"}
                           for i in range(n)]}
    return [(f"{tag}.json", json.dumps(doc).encode())]


def _enterprises(engine: Engine, tag: str) -> int:
    from api.tables import EnterpriseRow

    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(EnterpriseRow).where(
            EnterpriseRow.ref.startswith(f"E-W{tag}-"))).one())  # type: ignore[attr-defined]


def test_an_import_runs_on_a_worker_shows_progress_and_a_killed_one_is_failed(
        store: Engine, tmp_path: Path) -> None:
    """An import job goes to `sroi worker` (another process): its progress reaches the
    row (every process sees it); killed in the middle of the file's write, the file is not
    written and the job is marked failed, never left running; the next one runs whole."""
    from api.services import import_jobs

    job_id = import_jobs.submit(store, _connector(store), _import_file(300, "K"),
                                on_duplicate="keep-both", write=True)
    lock = store.connect()
    lock.begin()
    lock.exec_driver_sql("LOCK TABLE enterprise IN EXCLUSIVE MODE")  # its write waits here
    worker = _worker(tmp_path, 1)
    try:
        running = _until_import(store, job_id, lambda j: j.state == "running"
                                and j.step == "write", "writing", tmp_path)
        assert running.rows_total == 300 and running.runner.endswith(f":{worker.pid}")
        time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        lock.rollback()
        lock.close()
    assert _job(store, job_id, ImportJob).state == "running"  # what the killed worker left
    assert import_jobs.recover(store) == 1
    failed = _job(store, job_id, ImportJob)
    assert failed.state == "failed" and "niets uit het bestand" in failed.error
    assert _enterprises(store, "K") == 0  # nothing of the file written
    # The next job runs whole on the next worker (started after the job was queued).
    again = import_jobs.submit(store, _connector(store), _import_file(300, "K"),
                               on_duplicate="keep-both", write=True)
    worker = _worker(tmp_path, 2)
    try:
        done = _until_import(store, again, lambda j: j.state in ("done", "failed"), "done",
                             tmp_path)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(30)
    assert done.state == "done" and (done.rows_done, done.rows_total) == (300, 300)
    assert _enterprises(store, "K") == 300


def test_an_import_on_a_worker_cancelled_from_another_process_writes_nothing(
        store: Engine, tmp_path: Path) -> None:
    from api.services import import_jobs

    user = _connector(store)
    job_id = import_jobs.submit(store, user, _import_file(300, "C"),
                                on_duplicate="keep-both", write=True)
    lock = store.connect()
    lock.begin()
    # Not even read: the job waits at its first look at the registry (running, "read").
    lock.exec_driver_sql("LOCK TABLE enterprise IN ACCESS EXCLUSIVE MODE")
    worker = _worker(tmp_path, 1)
    try:
        _until_import(store, job_id, lambda j: j.state == "running", "running", tmp_path)
        time.sleep(0.3)
        stopping = import_jobs.cancel(store, job_id, user)  # this process: the row's flag
        assert stopping.state == "running" and stopping.cancel_requested
        lock.rollback()  # the job goes on, reaches its next step, reads the flag
        ended = _until_import(store, job_id, lambda j: j.state not in ("queued", "running"),
                              "ended", tmp_path)
    finally:
        if lock.in_transaction():
            lock.rollback()
        lock.close()
        worker.send_signal(signal.SIGINT)
        worker.wait(30)
    assert ended.state == "cancelled", ended
    assert _enterprises(store, "C") == 0
