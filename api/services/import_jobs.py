"""Imports in the background: the import page, ``POST /api/v1/import`` and
``POST /api/v1/import/{fmt}`` hand their files to a job and answer at once; the job runs
``api.services.importing.import_files`` in a thread, with its progress (step, rows done of
the total) visible on the job's page and in the API while it runs.

A job (``ImportJob`` row, its files in ``ImportJobFile`` until it ends):

    queued -> running -> preview_ready -(confirm)-> queued -> running -> done
                     \\-> failed | cancelled (at any point before done)

``mode`` "preview" computes the change set (the write, rolled back) and stops at
``preview_ready`` with the report and the fingerprints the write must match; confirming
turns it into mode "write". A job created with ``write=True`` (the API's ``confirm=true``)
writes straight away. The whole report is kept with the job and shown a page at a time
(``api.services.import_report.page_of``), so paging never re-runs the import.

One import runs at a time per process (the others wait, ``queued``): SQLite has one
writer, and two 10,000-row imports at once would double the memory. The write of each
file is one transaction, so a job stopped by a cancel or by the process dying never leaves
a half-written file: ``recover`` (at start-up, and whenever a job is looked at) marks a
job whose process is gone as failed.

Progress lives in this process (``_live``) and, on PostgreSQL, is copied to the row about
once a second, so another worker process sees it too. On SQLite the row is not written
while the import holds the database's one write lock (the page reads the process's copy;
with several worker processes a job's page shows its progress only in the one running it).
A cancel sets a flag the import's progress callback checks (``ImportCancelled``).

A job of a ``RUNNER_FORMATS`` format (the ledger page's upload, ``format="ledger"``) runs
its runner instead of ``import_files`` (``api.services.ledgers.run_job``), written at once
(no preview), with its ``params``; everything else above holds for it too.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.clock import utcnow
from api.errors import Conflict, NotFound
from api.i18n import translate
from api.importers import registry
from api.labels import IMPORT_STEP_NL, LEDGER_STEP_NL, step_label
from api.messages import msg, render_tree
from api.services.import_report import page_of
from api.services.importing import ON_DUPLICATE, ImportCancelled, import_files
from api.tables import ImportJob, ImportJobFile, User

log = logging.getLogger("sroi.import_jobs")

# Background work that is not a registry import, by its job ``format``: a runner gets the
# job's files, its ``params`` and the progress callback (which raises ImportCancelled on a
# cancel) and returns the report to keep; a report with an ``error`` fails the job with
# that message (the runner wrote nothing). The same states, progress, cancel and restart
# rules as an import. Resolved when a job runs, so this module imports no runner.
RUNNER_FORMATS = ("ledger",)

ACTIVE = ("queued", "running")
ENDED = ("done", "failed", "cancelled")
# A preview nobody confirms or cancels is dropped (with its files) after this long.
PREVIEW_MAX_AGE = timedelta(hours=1)
SYNC_EVERY_S = 1.0
# Stored with the job in Dutch (the msgid); ``view`` says it in the reader's language.
INTERRUPTED = msg("de server stopte terwijl dit inlezen liep; niets uit het bestand dat werd "
                 "ingelezen is opgeslagen (elk bestand is één transactie); start het opnieuw"
                 ).text


@dataclass
class _Live:
    """A job this process runs: its progress, and the cancel flag."""

    step: str = ""
    done: int = 0
    total: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    synced: float = 0.0


_lock = threading.Lock()
_live: dict[str, _Live] = {}
_run_lock = threading.Lock()  # one import at a time in this process


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------ starting


def submit(engine: Engine, user: User, files: Sequence[tuple[str, bytes]], *,
           format: str = registry.DEFAULT, on_duplicate: str = "ask", partial: bool = False,
           only_buyer: str | None = None, write: bool = False,
           expect: Sequence[str] | None = None, params: dict[str, Any] | None = None) -> str:
    """Keep the files with a new job and start it; its id. ``write``: write straight away
    (with ``expect``: only files whose change set is still the one previewed). ``params``:
    what a runner job (``RUNNER_FORMATS``) needs besides its files."""
    if format not in RUNNER_FORMATS:
        registry.get(format)  # UnknownFormat before anything is stored
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {ON_DUPLICATE}, got {on_duplicate!r}")
    job_id = secrets.token_urlsafe(18)
    live = _register(job_id)  # before the row exists: never taken for an orphan
    with Session(engine) as s:
        _expire_previews(s)
        s.add(ImportJob(id=job_id, created_by=user.id or 0, format=format,
                        on_duplicate=on_duplicate, partial=partial, only_buyer=only_buyer,
                        mode="write" if write else "preview", state="queued",
                        fingerprints=list(expect or []), runner=runner_id(),
                        params=dict(params or {})))
        for i, (name, data) in enumerate(files):
            s.add(ImportJobFile(job_id=job_id, position=i, name=name[:255], data=data))
        try:
            s.commit()
        except Exception:
            _unregister(job_id)
            raise
    _start(engine, job_id, live)
    return job_id


def _register(job_id: str) -> _Live:
    live = _Live()
    with _lock:
        _live[job_id] = live
    return live


def _unregister(job_id: str, live: _Live | None = None) -> None:
    with _lock:
        if live is None or _live.get(job_id) is live:
            _live.pop(job_id, None)


def _start(engine: Engine, job_id: str, live: _Live) -> None:
    live.thread = threading.Thread(target=_run, args=(engine, job_id, live),
                                   name=f"import-{job_id[:8]}", daemon=True)
    live.thread.start()


def _run(engine: Engine, job_id: str, live: _Live) -> None:
    try:
        with _run_lock:
            _run_locked(engine, job_id, live)
    except Exception as exc:  # shown on the job's page; the thread must not die silently
        log.exception("import job %s failed", job_id)
        try:
            with Session(engine) as s:
                job = s.get(ImportJob, job_id)
                if job is not None and job.state not in ENDED:
                    _end(s, job, "failed", f"{exc.__class__.__name__}: "
                                           f"{str(exc).splitlines()[0] if str(exc) else ''}"
                                           [:500])
        except Exception:
            log.exception("could not mark import job %s as failed", job_id)
    finally:
        _unregister(job_id, live)


def _run_locked(engine: Engine, job_id: str, live: _Live) -> None:
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        if job is None or job.state != "queued":
            return  # cancelled while it waited
        if job.cancel_requested or live.cancel.is_set():
            _end(s, job, "cancelled")
            return
        job.state, job.step, job.rows_done, job.rows_total = "running", "read", 0, 0
        job.started_at, job.runner = utcnow(), runner_id()
        s.add(job)
        s.commit()
        files = [(f.name, f.data) for f in s.exec(
            select(ImportJobFile).where(ImportJobFile.job_id == job_id)
            .order_by(col(ImportJobFile.position)))]
        params: dict[str, Any] = {
            "format": job.format, "partial": job.partial, "only_buyer": job.only_buyer,
            "dry_run": job.mode == "preview",
            "expect": list(job.fingerprints) if job.mode == "write" and job.fingerprints
            else None}
        on_duplicate, mode = job.on_duplicate, job.mode
        fmt, job_params = job.format, dict(job.params or {})
    is_sqlite = engine.dialect.name == "sqlite"

    def progress(step: str, done: int, total: int) -> None:
        live.step, live.done, live.total = step, done, total
        if live.cancel.is_set():
            raise ImportCancelled
        now = time.monotonic()
        if now - live.synced >= SYNC_EVERY_S:
            live.synced = now
            _sync(engine, job_id, live, write=not is_sqlite)
            if live.cancel.is_set():
                raise ImportCancelled

    if fmt in RUNNER_FORMATS:
        _run_runner(engine, job_id, live, fmt, files, job_params, progress)
        return
    with Session(engine) as s:
        report = import_files(s, files, on_duplicate, progress=progress,  # type: ignore[arg-type]
                              **params)
    del files
    whole = report.to_dict(None)
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        if job is None:
            return
        job.report = whole
        job.rows_done, job.rows_total = live.done, live.total
        if report.cancelled:
            _end(s, job, "cancelled")
        elif mode == "preview":
            job.state, job.step = "preview_ready", ""
            job.fingerprints = report.fingerprints
            job.finished_at = utcnow()
            s.add(job)
            s.commit()
        else:
            _end(s, job, "done")


def _runner(fmt: str) -> Callable[..., dict[str, Any]]:
    if fmt == "ledger":
        from api.services.ledgers import run_job

        return run_job
    raise ValueError(f"no runner for job format {fmt!r}")


def _run_runner(engine: Engine, job_id: str, live: _Live, fmt: str,
                files: list[tuple[str, bytes]], params: dict[str, Any],
                progress: Callable[[str, int, int], None]) -> None:
    """A runner job (``RUNNER_FORMATS``): one transaction of the runner's, then the end
    state: done, failed with the runner's message, or cancelled."""
    cancelled = False
    try:
        with Session(engine) as s:
            report = _runner(fmt)(s, files, params, progress)
    except ImportCancelled:
        cancelled, report = True, {}
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        if job is None:
            return
        job.report = report
        job.rows_done, job.rows_total = live.done, live.total
        if cancelled:
            _end(s, job, "cancelled")
        elif report.get("error"):
            _end(s, job, "failed", str(report["error"])[:2000])
        else:
            _end(s, job, "done")


def _sync(engine: Engine, job_id: str, live: _Live, write: bool) -> None:
    """Pick up a cancel asked through another process; on PostgreSQL also copy the
    progress to the row (on SQLite that write would wait for the import's own lock)."""
    try:
        with Session(engine) as s:
            job = s.get(ImportJob, job_id)
            if job is None:
                return
            if job.cancel_requested:
                live.cancel.set()
            if write:
                job.step, job.rows_done, job.rows_total = live.step, live.done, live.total
                s.add(job)
                s.commit()
    except Exception:  # progress is informative only; the import goes on
        log.warning("could not update the progress of import job %s", job_id, exc_info=True)


def _end(s: Session, job: ImportJob, state: str, error: str = "") -> None:
    """A job ends: its state, and its files are dropped (a preview keeps them)."""
    job.state, job.step, job.error = state, "", error or job.error
    job.finished_at = utcnow()
    s.add(job)
    s.execute(delete(ImportJobFile).where(col(ImportJobFile.job_id) == job.id))
    s.commit()


def _expire_previews(s: Session) -> None:
    cutoff = utcnow() - PREVIEW_MAX_AGE
    for job in s.exec(select(ImportJob).where(ImportJob.state == "preview_ready",
                                              col(ImportJob.finished_at) < cutoff)):
        _end(s, job, "cancelled", "the preview was not confirmed within an hour")


# ------------------------------------------------------------------ looking at a job


def _visible(job: ImportJob, user: User) -> bool:
    return job.created_by == user.id or user.role == "admin"


def get(session: Session, job_id: str, user: User) -> ImportJob:
    """The job, if this user may see it (who started it, or an admin); a job whose
    process is gone is marked failed first."""
    job = session.get(ImportJob, job_id)
    if job is None or not _visible(job, user):
        raise NotFound("job", "Deze import bestaat niet (meer).")
    if job.state in ACTIVE and not _alive(job):
        _end(session, job, "failed", INTERRUPTED)
        session.refresh(job)
    return job


def recent(session: Session, user: User, limit: int = 10) -> list[ImportJob]:
    stmt = (select(ImportJob).where(col(ImportJob.format).not_in(RUNNER_FORMATS))
            .order_by(col(ImportJob.created_at).desc()).limit(limit))
    if user.role != "admin":
        stmt = stmt.where(ImportJob.created_by == user.id)
    return list(session.exec(stmt))


def writable(report: dict[str, Any]) -> bool:
    """A preview that may be confirmed: no file refused or waiting for a duplicate choice."""
    files = report.get("files", [])
    return bool(files) and not report.get("cancelled") and all(
        f.get("status") in ("imported", "partial") for f in files)


def view(job: ImportJob, page: int = 1, lang: str = "nl") -> dict[str, Any]:
    """The job as the page and the API show it: state, progress, and one page of the
    report once there is one, its messages in ``lang``."""
    with _lock:
        live = _live.get(job.id)
        step, done, total = (live.step, live.done, live.total) if live else (
            job.step, job.rows_done, job.rows_total)
        stopping = job.cancel_requested or (live is not None and live.cancel.is_set())
    if job.state not in ACTIVE:
        step = job.step
    out: dict[str, Any] = {
        "id": job.id, "state": job.state, "mode": job.mode, "format": job.format,
        "on_duplicate": job.on_duplicate, "partial": job.partial,
        "step": step, "rows_done": done, "rows_total": total,
        "step_label": step_label(step, LEDGER_STEP_NL if job.format == "ledger"
                                 else IMPORT_STEP_NL),
        "percent": round(100 * done / total) if total else 0,
        "error": translate(job.error, lang) if job.error else job.error,
        "cancel_requested": stopping,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "report": None, "writable": False,
    }
    if job.format in RUNNER_FORMATS:
        out["report"] = job.report or None  # the runner's own report, not paged
    elif job.report and job.state in ("preview_ready", "done", "cancelled", "failed"):
        out["report"] = page_of(job.report, page)
        out["writable"] = job.state == "preview_ready" and writable(job.report)
    return dict(render_tree(out, lang))


# ------------------------------------------------------------------ confirm, cancel


def confirm(engine: Engine, job_id: str, user: User) -> ImportJob:
    """Write a previewed job (exactly the change set previewed)."""
    with Session(engine) as s:
        job = get(s, job_id, user)
        if job.state != "preview_ready" or running(job_id):
            raise Conflict(None, "Deze import wacht niet op een bevestiging (status: {state}).",
                           state=job.state)
        if not writable(job.report):
            raise Conflict(None, "Zo kan niets worden ingelezen: los eerst de problemen op.")
        job.mode, job.state, job.step = "write", "queued", ""
        job.rows_done, job.finished_at, job.runner = 0, None, runner_id()
        live = _register(job_id)
        s.add(job)
        try:
            s.commit()
        except Exception:
            _unregister(job_id)
            raise
        s.refresh(job)
    _start(engine, job_id, live)
    return job


def cancel(engine: Engine, job_id: str, user: User) -> ImportJob:
    """Stop a job: a queued job or a waiting preview ends at once (nothing was written);
    a running one stops at its next progress step and rolls back the file it is on."""
    with Session(engine) as s:
        job = get(s, job_id, user)
        if job.state in ENDED:
            raise Conflict(None, "Deze import is al afgelopen (status: {state}).",
                           state=job.state)
        with _lock:
            live = _live.get(job_id)
        if live is not None:
            live.cancel.set()
        if job.state in ("queued", "preview_ready"):
            _end(s, job, "cancelled")
        elif live is None or engine.dialect.name != "sqlite":
            # Running in another process: it reads the flag within a second. (On SQLite
            # in this process the flag above is enough, and this write would wait for
            # the import's write lock.)
            job.cancel_requested = True
            s.add(job)
            s.commit()
        s.refresh(job)
        return job


# ------------------------------------------------------------------ restarts, tests


def _alive(job: ImportJob) -> bool:
    host, _, pid_text = job.runner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return bool(job.runner)  # another machine's: it cannot be checked from here
    pid = int(pid_text)
    if pid == os.getpid():
        with _lock:
            return job.id in _live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(engine: Engine) -> int:
    """Mark the queued or running jobs whose process is gone as failed (at start-up:
    a restart interrupted them). How many."""
    n = 0
    with Session(engine) as s:
        for job in s.exec(select(ImportJob).where(col(ImportJob.state).in_(ACTIVE))):
            if not _alive(job):
                _end(s, job, "failed", INTERRUPTED)
                n += 1
    return n


def running(job_id: str) -> bool:
    """Is this process still running (or about to run) the job?"""
    with _lock:
        return job_id in _live


def wait_idle(timeout_s: float = 60.0) -> None:
    """Wait for every import thread (tests and shutdown: before the database under a job
    is replaced or dropped)."""
    with _lock:
        threads = [j.thread for j in _live.values() if j.thread is not None]
    for t in threads:
        t.join(timeout_s)
