"""Background jobs: allocation, learning and batch ranking, run by a worker off the queue
(``api.services.job_queue``); their state is a ``JobRow`` (this module owns it).

    queued -> running -> done | failed | cancelled
                  \\-> queued again (its worker died; at most MAX_ATTEMPTS runs)

* **Submit** (:func:`submit`): the row is stored, then the id is put on the queue; when
  the queue cannot be reached the row is removed again and the job is refused with the
  reason (``Unavailable``, HTTP 503): a job is accepted only once it is queued.
* **Run** (:func:`run`, in a worker): one conditional UPDATE claims a queued job (so a
  message delivered twice runs it once). The job's work and its end state are one
  database transaction: the kind's function writes through a session joined to an outer
  transaction (its own ``commit()`` calls become savepoints), and the outer transaction
  commits together with ``state = done``. A worker killed mid-job therefore leaves
  nothing of it written.
* **Progress** (step, done of total): written to the row at most once a second from the
  job's own progress callback, which also reads the cancel flag; so the page and the API
  of any process see it. On SQLite only the cancel flag is read (see Tracker._sync).
* **Cancel** (:func:`cancel`): a queued job ends at once; a running one stops at its next
  progress step or, at the latest, just before its commit (rolled back: nothing written).
* **Recover** (:func:`recover`, at a worker's start and whenever a job is looked at): a
  running job whose worker is gone (same host: its pid; another host: no heartbeat for
  STALE) is queued again from scratch, or failed with the reason after MAX_ATTEMPTS.

Imports and ledger uploads (``api.services.import_jobs``, table ``ImportJob``) go on the
same queue as ``import:<id>`` (:data:`FAMILIES`) and use this module's claim
(:func:`claim`), progress and cancel flag (:class:`Tracker`), cancel
(:func:`request_cancel`) and liveness (:func:`alive`); what differs is theirs: an import
commits each file on its own, so a dead worker's import is failed, not run again.

While a job runs in this process its progress and cancel flag also live here
(:func:`local_progress`): the page and the API of this process show its progress at once,
also on SQLite, where the row is not written while the job runs.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api import shared_state
from api.clock import utcnow
from api.errors import Conflict, Invalid, NotFound, Unavailable
from api.labels import JOB_STEP_NL, step_label
from api.messages import Message, dumps, msg, msgn, parse_stored
from api.services import job_queue
from api.settings import get_settings
from api.tables import JobRow, User

log = logging.getLogger("sroi.jobs")

ACTIVE = ("queued", "running")
ENDED = ("done", "failed", "cancelled")
MAX_ATTEMPTS = 2
SYNC_EVERY_S = 1.0
# A job on another host counts as dead after this long without a heartbeat (written
# with its progress; the longest step without one is the allocation's solve).
STALE = timedelta(minutes=15)

# kind -> "module:function" (imported in the worker only). The function gets
# (session, params, progress) and returns the job's result (a small JSON dict); it may
# call session.commit() (a savepoint: see run) but must not open sessions of its own.
KINDS: dict[str, str] = {
    "allocate": "api.services.batch:allocate_job",
    "learn": "api.services.batch:learn_job",
    "rank_tenders": "api.services.batch:rank_tenders_job",
}
# At most one job of each of these kinds at a time (they replace what they write).
SINGLE = frozenset(KINDS)
# Jobs of other tables on the same queue: the message is "<family>:<id>" (ids have no
# ":"), run by "module:function" (job_id, engine).
FAMILIES: dict[str, str] = {"import": "api.services.import_jobs:run"}
# At a worker's start, each family's "module:function" (engine) -> (failed, ids to queue
# again): its dead workers' jobs failed or queued again, its queued ones.
FAMILY_RECOVER: dict[str, str] = {"import": "api.services.import_jobs:recover_at_start"}


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)

# Why a job failed or was started again: messages, stored as JSON in ``error``
# (``api.messages.dumps``) and said in the reader's language by ``view``.
INTERRUPTED = msg("de worker stopte tijdens deze taak; er is niets van opgeslagen "
                  "(alles of niets)")


def gave_up(n: int) -> Message:
    return msgn("de worker stopte {n} keer tijdens deze taak; er is niets van opgeslagen",
                "de worker stopte {n} keer tijdens deze taak; er is niets van opgeslagen", n)


class JobCancelled(Exception):
    """Raised by the progress callback when the job was asked to stop."""


Progress = Callable[[str, int, int], None]


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------ submit


def message(job_id: str, family: str = "") -> str:
    """What the queue carries for a job: its id, prefixed by its family if not a JobRow."""
    return f"{family}:{job_id}" if family else job_id


def enqueue(job_id: str, family: str = "") -> None:
    """Put a stored job on the queue (and start this process's consumer when
    JOBS_INLINE); ``Unavailable`` when the queue cannot take it."""
    if family and family not in FAMILIES:
        raise ValueError(f"unknown job family {family!r}")
    msg_ = message(job_id, family)
    inline = get_settings().jobs_inline
    if inline:
        try:
            which = id(job_queue.queue()[0])
        except Exception:  # not even built: enqueue below says why
            which = 0
        with _running_lock:
            _sent[job_id] = which
    try:
        job_queue.enqueue(msg_)
    except Unavailable:
        with _running_lock:
            _sent.pop(job_id, None)
        raise
    if inline:
        start_inline()


def submit(engine: Engine, user: User, kind: str, params: dict[str, Any] | None = None
           ) -> JobRow:
    """Store a job and queue it; the job. Conflict while one of that kind is active;
    Unavailable (nothing stored) when the queue cannot be reached."""
    if kind not in KINDS:
        raise Invalid("kind", "Onbekende taak {kind}: kies uit {kinds}.", kind=kind,
                      kinds=", ".join(sorted(KINDS)))
    from api.services.batch import check_params

    params = check_params(kind, dict(params or {}))
    job_id = secrets.token_urlsafe(18)
    with Session(engine) as s:
        recover_session(s)
        if kind in SINGLE:
            busy = s.exec(select(JobRow).where(JobRow.kind == kind,
                                               col(JobRow.state).in_(ACTIVE))).first()
            if busy is not None:
                raise Conflict(None, "Deze taak loopt al (gestart door {who}).",
                               who=busy.created_by_email or "?")
        s.add(JobRow(id=job_id, kind=kind, params=params, created_by=user.id or 0,
                     created_by_email=user.email, state="queued"))
        s.commit()
    try:
        enqueue(job_id)
    except Unavailable:
        with Session(engine) as s:  # refused, not kept: nobody will run it
            row = s.get(JobRow, job_id)
            if row is not None:
                s.delete(row)
                s.commit()
        raise
    with Session(engine) as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        return row


# ------------------------------------------------------------------ run (in a worker)


def _handler(kind: str) -> Callable[[Session, dict[str, Any], Progress], dict[str, Any]]:
    return _resolve(KINDS[kind])  # type: ignore[no-any-return]


def claim(engine: Engine, table: Any, job_id: str, **values: Any) -> bool:
    """Take a queued job of ``table`` (JobRow, ImportJob): one conditional UPDATE to
    running with this worker as its runner (and ``values``); False when it is not queued
    (ended, cancelled, or another worker has it: a message delivered twice runs once)."""
    now = utcnow()
    if "heartbeat_at" in table.__table__.c:  # the first beat: alive from the start
        values.setdefault("heartbeat_at", now)
    with engine.connect() as conn:
        res = conn.execute(update(table).where(table.id == job_id, table.state == "queued")
                           .values(state="running", runner=runner_id(),
                                   started_at=now, **values))
        conn.commit()
        return bool(res.rowcount == 1)


def _claim(engine: Engine, job_id: str) -> JobRow | None:
    if not claim(engine, JobRow, job_id,
                 attempts=JobRow.attempts + 1, step="", done=0, total=0):
        return None
    with Session(engine) as s:
        return s.get(JobRow, job_id)


class _Local:
    """A job this process runs: its progress as last reported, and its cancel flag."""

    def __init__(self) -> None:
        self.progress: tuple[str, int, int] = ("", 0, 0)
        self.cancel = threading.Event()


_local_lock = threading.Lock()
_local: dict[str, _Local] = {}


def local_progress(job_id: str) -> tuple[str, int, int] | None:
    """(step, done, total) of a job this process runs now, else None."""
    with _local_lock:
        hit = _local.get(job_id)
        return hit.progress if hit is not None else None


def local_cancelled(job_id: str) -> bool:
    """Was a job this process runs asked to stop here?"""
    with _local_lock:
        hit = _local.get(job_id)
    return hit is not None and hit.cancel.is_set()


def local_cancel(job_id: str) -> bool:
    """Ask a job this process runs to stop (at its next progress step); False when this
    process does not run it."""
    with _local_lock:
        hit = _local.get(job_id)
    if hit is None:
        return False
    hit.cancel.set()
    return True


class Tracker:
    """A job's progress callback: the progress in this process at once (``_local``), and
    at most once a second the row's step/done/total (and heartbeat) with the cancel flag
    read at the same time. ``table``: JobRow or ImportJob; ``columns``: its (step, done,
    total) columns; ``stop``: the exception a cancel raises."""

    def __init__(self, engine: Engine, job_id: str, table: Any = JobRow,
                 columns: tuple[str, str, str] = ("step", "done", "total"),
                 stop: type[Exception] = JobCancelled) -> None:
        self.engine, self.job_id, self.table = engine, job_id, table
        self.columns, self.stop = columns, stop
        self.step_len = table.__table__.c[columns[0]].type.length or 40
        self.heartbeat = "heartbeat_at" in table.__table__.c
        self.synced = 0.0
        self.last: tuple[str, int, int] = ("", 0, 0)
        self.cancelled = False
        self.sqlite = engine.dialect.name == "sqlite"
        self.local = _Local()
        with _local_lock:
            _local[job_id] = self.local

    def close(self) -> None:
        with _local_lock:
            if _local.get(self.job_id) is self.local:
                del _local[self.job_id]

    def __call__(self, step: str, done: int, total: int) -> None:
        new_step = step != self.last[0]
        # A step's end is always synced too: a cancel asked since still stops what the
        # step did before it is committed (an import's file).
        end = 0 < total == done and self.last != (step, done, total)
        self.last = self.local.progress = (step, done, total)
        now = time.monotonic()
        if new_step or end or now - self.synced >= SYNC_EVERY_S:  # a new step is shown
            self.synced = now
            self._sync(step, done, total)
        if self.cancelled or self.local.cancel.is_set():
            raise self.stop

    def final_check(self) -> None:
        """Just before the commit: a cancel asked now still rolls everything back."""
        self.synced = time.monotonic()
        self._sync(*self.last)
        if self.cancelled or self.local.cancel.is_set():
            raise self.stop

    def _sync(self, step: str, done: int, total: int) -> None:
        table = self.table
        try:
            with self.engine.connect() as conn:
                asked = conn.execute(select(table.cancel_requested).where(
                    table.id == self.job_id)).first()
                if asked is None:
                    return
                self.cancelled = self.cancelled or bool(asked[0])
                if self.sqlite:
                    # No progress row on SQLite: a commit by another connection while the
                    # job's transaction has read but not yet written ends its snapshot
                    # (SQLITE_BUSY_SNAPSHOT) and the job would fail. The cancel flag,
                    # read above, still works; this process shows the progress (_local).
                    conn.rollback()
                    return
                # Core statements, not an ORM session: a progress row is not data the
                # caches depend on, so it does not bump the shared data version. Never
                # a row the job's own open transaction has written (it would wait on it).
                values: dict[str, Any] = dict(zip(
                    self.columns, (step[:self.step_len], done, total), strict=True))
                if self.heartbeat:
                    values["heartbeat_at"] = utcnow()
                conn.execute(update(table).where(table.id == self.job_id).values(**values))
                conn.commit()
        except Exception as exc:  # informative only: the job goes on
            log.debug("progress of job %s not written: %s", self.job_id, exc)


_running_lock = threading.Lock()
_running: set[str] = set()  # jobs this process is running (wait_idle)
# Jobs this process queued for its own inline consumer and that have not run yet: the
# queue's count misses a message taken off the queue but not yet run (wait_idle).
_sent: dict[str, int] = {}  # job id -> id() of the queue it was put on


def run(message: str, engine: Engine | None = None) -> None:
    """Run a queued job (the queue's task, ``message`` as :func:`message` made it): a
    JobRow is claimed and its kind's function run in one transaction with its end state;
    a job of another family is run by that family's function."""
    family, _, job_id = message.rpartition(":")
    with _running_lock:
        _running.add(job_id)
    try:
        if family:
            if engine is None:
                from api.db import get_engine

                engine = get_engine()
            _resolve(FAMILIES[family])(job_id, engine)
        else:
            _run(job_id, engine)
    finally:
        with _running_lock:
            _running.discard(job_id)
            _sent.pop(job_id, None)


def running_here(job_id: str) -> bool:
    """Is this process running the job now?"""
    with _running_lock:
        return job_id in _running


job_queue.set_runner(run)


def _run(job_id: str, engine: Engine | None) -> None:
    if engine is None:
        from api.db import get_engine

        engine = get_engine()
    job = _claim(engine, job_id)
    if job is None:
        return
    tracker = Tracker(engine, job_id)
    if job.cancel_requested:
        tracker.close()
        _finish(engine, job_id, "cancelled")
        return
    try:
        handler = _handler(job.kind)
        with one_transaction(engine, job_id) as s:
            result = handler(s, dict(job.params), tracker)
            tracker.final_check()
            row = s.get(JobRow, job_id)
            if row is None:
                raise JobCancelled
            s.refresh(row)
            row.state, row.result = "done", result
            row.step, row.done, row.total = tracker.last
            row.error, row.finished_at = "", utcnow()
            s.add(row)
            s.commit()
    except JobCancelled:
        _finish(engine, job_id, "cancelled")
    except Exception as exc:  # shown on the job's page and in the API
        log.exception("job %s (%s) failed", job_id, job.kind)
        _finish(engine, job_id, "failed", _reason(exc))
    finally:
        tracker.close()
    _after_write(engine)


@contextmanager
def one_transaction(engine: Engine, job_id: str) -> Iterator[Session]:
    """A session whose ``commit()`` calls are savepoints of one outer transaction,
    committed when the block ends without an exception (rolled back with one): a job's
    work and its end state written together. The data version is bumped once, just
    before the outer commit: bumped at a savepoint, its row lock would block this job's
    own progress writes on their other connection."""
    with engine.connect() as conn:
        outer = conn.begin()
        if engine.dialect.name == "sqlite":
            # pysqlite opens a transaction only at the first write; without this
            # BEGIN each savepoint's release would commit on its own.
            conn.exec_driver_sql("BEGIN")
        shared_state.defer_bumps(conn)
        try:
            with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
                s.info["job_id"] = job_id
                yield s
            shared_state.bump_owed(conn)
            outer.commit()
        except BaseException:
            outer.rollback()
            raise
        finally:
            shared_state.end_deferral(conn)


def _reason(exc: Exception) -> str:
    """Why the job failed, a message stored as JSON: a service's refusal as its message,
    anything else as the exception's own words (a program's error, not translated)."""
    from api.errors import DomainError

    if isinstance(exc, DomainError):
        return dumps(exc.as_message())
    return dumps(msg("onverwachte fout: {error}", error=exception_text(exc)))


def exception_text(exc: BaseException) -> str:
    """An unexpected error in a line: its class and the first line of its words."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {text}"[:500]


def _after_write(engine: Engine) -> None:
    # The worker's own caches (match index, results) follow the change tokens anyway;
    # nothing else to do here today.
    return None


def _finish(engine: Engine, job_id: str, state: str, error: str = "") -> None:
    with Session(engine) as s:
        row = s.get(JobRow, job_id)
        if row is None or row.state in ENDED:
            return
        row.state, row.step, row.error = state, "", error
        row.finished_at = utcnow()
        s.add(row)
        s.commit()


# ------------------------------------------------------------------ looking, cancelling


def _visible(job: JobRow, user: User) -> bool:
    return job.created_by == user.id or user.role in ("admin", "connector")


def get(session: Session, job_id: str, user: User) -> JobRow:
    job = session.get(JobRow, job_id)
    if job is None or not _visible(job, user):
        raise NotFound("job", "Deze taak bestaat niet (meer).")
    if job.state == "running" and not _alive(job):
        recover_session(session)
        session.refresh(job)
    return job


def latest(session: Session, kind: str) -> JobRow | None:
    job = session.exec(select(JobRow).where(JobRow.kind == kind)
                       .order_by(col(JobRow.created_at).desc())).first()
    if job is not None and job.state == "running" and not _alive(job):
        recover_session(session)
        session.refresh(job)
    return job


def recent(session: Session, user: User, limit: int = 20) -> list[JobRow]:
    stmt = select(JobRow).order_by(col(JobRow.created_at).desc()).limit(limit)
    if user.role not in ("admin", "connector"):
        stmt = stmt.where(JobRow.created_by == user.id)
    return list(session.exec(stmt))


def view(job: JobRow) -> dict[str, Any]:
    """The job as the page and the API show it (a job this process runs: its progress
    now)."""
    step, done, total = job.step, job.done, job.total
    if job.state == "running":
        step, done, total = local_progress(job.id) or (step, done, total)
    return {
        "id": job.id, "kind": job.kind, "state": job.state, "step": step,
        # The step for people: a message (render_tree renders it for the API).
        "step_label": step_label(step, JOB_STEP_NL.get(job.kind, {})),
        "done": done, "total": total,
        "percent": round(100 * done / total) if total else 0,
        # A message (older rows: the Dutch text as stored); render_tree says it.
        "params": job.params, "result": job.result, "error": parse_stored(job.error),
        "cancel_requested": job.cancel_requested, "attempts": job.attempts,
        "created_by": job.created_by_email,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def cancel(engine: Engine, job_id: str, user: User) -> JobRow:
    """Stop a job: a queued one ends now; a running one at its next progress step (its
    work rolled back)."""
    with Session(engine) as s:
        job = get(s, job_id, user)
        if job.state in ENDED:
            raise Conflict(None, "Deze taak is al afgelopen (status: {state}).",
                           state=job.state)
        if job.state == "queued":
            res = s.execute(update(JobRow).where(col(JobRow.id) == job_id,
                                                 col(JobRow.state) == "queued")
                            .values(state="cancelled", finished_at=utcnow(),
                                    cancel_requested=True))
            s.commit()
            if res.rowcount == 1:  # type: ignore[attr-defined]
                s.refresh(job)
                return job
        s.rollback()
        request_cancel(engine, JobRow, job_id)
        s.refresh(job)
        return job


def request_cancel(engine: Engine, table: Any, job_id: str) -> None:
    """Ask a running job of ``table`` to stop: at once when this process runs it (its
    flag here), and through the row's ``cancel_requested``, which its worker reads with
    its progress. (On SQLite a job run here is not sent the row's flag: that write would
    wait for the job's own write lock.)"""
    here = local_cancel(job_id)
    if here and engine.dialect.name == "sqlite":
        return
    with engine.connect() as conn:
        conn.execute(update(table).where(table.id == job_id).values(cancel_requested=True))
        conn.commit()


# ------------------------------------------------------------------ restarts


def _alive(job: JobRow) -> bool:
    return alive(job.id, job.runner, job.heartbeat_at or job.started_at)


def alive(job_id: str, runner: str, beat: datetime | None) -> bool:
    """Is the worker that runs this job still there? Same host: its pid (this process:
    does it run the job now); another host: a heartbeat (``beat``) within STALE, or,
    for a table without one (``beat`` None), assumed alive."""
    host, _, pid_text = runner.rpartition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return running_here(job_id)  # this process ends the jobs it runs itself
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _not_zombie(pid)
    if beat is None:
        return bool(runner)
    if beat.tzinfo is None:
        from datetime import UTC

        beat = beat.replace(tzinfo=UTC)
    return bool(utcnow() - beat < STALE)


def _not_zombie(pid: int) -> bool:
    # A killed child not yet reaped by its parent still answers kill(pid, 0).
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def update_if_still_running(s: Session, table: Any, job: Any, **values: Any) -> bool:
    """Change a job judged dead (its worker gone) only if it is still as judged: running,
    by the same runner. One conditional UPDATE in ``s``'s transaction (the caller commits);
    False when it no longer is.

    Why: between reading a job as running and writing it, its worker may end it (commit
    done or cancelled, then leave :func:`running_here`). Written back through the ORM,
    the stale row overwrote that end state: a cancelled import was shown failed, a
    finished job could be queued and run again."""
    res = s.execute(update(table).where(table.id == job.id, table.state == "running",
                                        table.runner == job.runner).values(**values))
    return bool(getattr(res, "rowcount", 0) == 1)  # a CursorResult for an UPDATE


def recover_session(s: Session) -> tuple[list[str], int]:
    """Running jobs whose worker is gone: queued again (to be put on the queue by the
    caller) or failed after MAX_ATTEMPTS. (ids to queue, number failed)"""
    again: list[str] = []
    failed = 0
    for job in list(s.exec(select(JobRow).where(JobRow.state == "running"))):
        if _alive(job):
            continue
        if job.attempts >= MAX_ATTEMPTS:
            if update_if_still_running(s, JobRow, job, state="failed", step="",
                                       error=dumps(gave_up(job.attempts)),
                                       finished_at=utcnow()):
                failed += 1
        elif job.cancel_requested:
            update_if_still_running(s, JobRow, job, state="cancelled", step="",
                                    finished_at=utcnow())
        elif update_if_still_running(s, JobRow, job, state="queued", step="",
                                     error=dumps(INTERRUPTED)):
            again.append(job.id)
    s.commit()
    for job_id in again:
        try:
            job_queue.enqueue(job_id)
        except Unavailable:  # stays queued: the next worker start queues it
            log.warning("job %s could not be queued again now", job_id)
    return again, failed


def recover(engine: Engine) -> tuple[int, int]:
    """At a worker's start: jobs interrupted by a dead worker are queued again (or
    failed), and every job still marked queued is put on the queue again (its message
    may have been lost with the worker; a job runs once). (queued again, failed)"""
    with Session(engine) as s:
        again, failed = recover_session(s)
        queued = [j.id for j in s.exec(select(JobRow).where(JobRow.state == "queued"))]
    for job_id in queued:
        if job_id not in again:
            job_queue.enqueue(job_id)
    # Other families (imports: a dead worker's is failed, the files before the one it
    # was on being written); their queued ones are queued again like the others.
    for family, path in FAMILY_RECOVER.items():
        n, ids = _resolve(path)(engine)
        failed += n
        for job_id in ids:
            job_queue.enqueue(message(job_id, family))
    return len(again), failed


_inline_lock = threading.Lock()
_inline: job_queue.InlineConsumer | None = None


def start_inline(workers: int = 1) -> job_queue.InlineConsumer:
    """A consumer in this process (JOBS_INLINE=true, tests): see job_queue.InlineConsumer."""
    global _inline
    with _inline_lock:
        huey, _ = job_queue.queue()
        if _inline is not None and _inline.consumer.huey is not huey:
            # The settings changed (tests switch databases): consume the queue they name.
            _inline.stop()
            _inline = None
        if _inline is None:
            _inline = job_queue.InlineConsumer(workers).start()
        return _inline


def stop_inline() -> None:
    global _inline
    with _inline_lock:
        if _inline is not None:
            _inline.stop()
            _inline = None
        with _running_lock:
            _sent.clear()


def wait_idle(timeout_s: float = 30.0) -> None:
    """Wait until this process's inline consumer has no job in hand (tests and shutdown:
    before the database under a job is replaced or dropped)."""
    if _inline is None:
        return
    huey, _ = job_queue.queue()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with _running_lock:
            busy = bool(_running) or id(huey) in _sent.values()
        if not busy and huey.pending_count() == 0:
            with _running_lock:  # a message taken but its run not yet registered
                if not _running and id(huey) not in _sent.values():
                    return
        time.sleep(0.05)
