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

The job runs on the job queue (``api.services.jobs``, message ``import:<id>``), in any
worker process: ``sroi worker``, or the web process's own consumer (JOBS_INLINE). Its
dispatch, claim (one conditional UPDATE: a message delivered twice runs once), progress,
cancel and liveness are ``api.services.jobs``'s; this module keeps what is the import's:
the files, preview and write, the report. Submitting stores the job with its files and
queues it; a queue that cannot be reached refuses the job (``Unavailable``, nothing kept).

One import runs at a time per process (the others wait, ``queued``): SQLite has one
writer, and two 10,000-row imports at once would double the memory. The write of each
file is one transaction, so a job stopped by a cancel or by its worker dying never leaves
a half-written file: ``recover`` (at a worker's start, at the web process's, and whenever
a job is looked at) marks a running job whose worker is gone as failed (not run again:
the files before the one it was on are written).

Progress: the worker's process shows it at once (``jobs.local_progress``); on PostgreSQL
it is also copied to the row about once a second, so every process sees it. On SQLite the
row is not written while the import holds the database's one write lock (a job's page
shows its progress in the process running it: with JOBS_INLINE, the web process). A
cancel stops the job at its next progress step (``ImportCancelled``): at once when asked
in the process running it, else through the row's flag, read with the progress.

A job of a ``RUNNER_FORMATS`` format (the ledger upload, ``format="ledger"``) runs its
runner instead of ``import_files`` (``api.services.ledgers.run_job``), written at once
(no preview), with its ``params``: the runner's work and the job's end state are one
transaction (``jobs.one_transaction``), so a worker dying in it writes nothing of it.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.clock import utcnow
from api.errors import Conflict, NotFound, Unavailable
from api.i18n import translate
from api.importers import registry
from api.labels import IMPORT_STEP_NL, LEDGER_STEP_NL, step_label
from api.messages import msg, render_tree
from api.services import jobs
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
# Stored with the job in Dutch (the msgid); ``view`` says it in the reader's language.
INTERRUPTED = msg("de server stopte terwijl dit inlezen liep; niets uit het bestand dat werd "
                 "ingelezen is opgeslagen (elk bestand is één transactie); start het opnieuw"
                 ).text
PREVIEW_EXPIRED = msg("de voorvertoning is niet binnen een uur bevestigd; er is niets "
                      "ingelezen; start het inlezen opnieuw").text


FAMILY = "import"  # the queue's message: "import:<id>" (api.services.jobs.FAMILIES)
PROGRESS_COLUMNS = ("step", "rows_done", "rows_total")

_run_lock = threading.Lock()  # one import at a time in this process


def runner_id() -> str:
    return jobs.runner_id()


# ------------------------------------------------------------------ starting


def submit(engine: Engine, user: User, files: Sequence[tuple[str, bytes]], *,
           format: str = registry.DEFAULT, on_duplicate: str = "ask", partial: bool = False,
           only_buyer: str | None = None, write: bool = False,
           expect: Sequence[str] | None = None, params: dict[str, Any] | None = None) -> str:
    """Keep the files with a new job and queue it; its id. ``write``: write straight away
    (with ``expect``: only files whose change set is still the one previewed). ``params``:
    what a runner job (``RUNNER_FORMATS``) needs besides its files. ``Unavailable``
    (nothing kept) when the queue cannot take it."""
    if format not in RUNNER_FORMATS:
        registry.get(format)  # UnknownFormat before anything is stored
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {ON_DUPLICATE}, got {on_duplicate!r}")
    job_id = secrets.token_urlsafe(18)
    with Session(engine) as s:
        _expire_previews(s)
        s.add(ImportJob(id=job_id, created_by=user.id or 0, format=format,
                        on_duplicate=on_duplicate, partial=partial, only_buyer=only_buyer,
                        mode="write" if write else "preview", state="queued",
                        fingerprints=list(expect or []), params=dict(params or {})))
        for i, (name, data) in enumerate(files):
            s.add(ImportJobFile(job_id=job_id, position=i, name=name[:255], data=data))
        s.commit()
    try:
        jobs.enqueue(job_id, FAMILY)
    except Unavailable:
        with Session(engine) as s:  # refused, not kept: nobody will run it
            _drop_files(s, job_id)
            s.execute(delete(ImportJob).where(col(ImportJob.id) == job_id))
            s.commit()
        raise
    return job_id


# ------------------------------------------------------------------ run (in a worker)


def run(job_id: str, engine: Engine) -> None:
    """Run a queued import job (``api.services.jobs.run`` with its message): claim it,
    import its files (or run its runner), end it."""
    with _run_lock:
        if not jobs.claim(engine, ImportJob, job_id, step="read", rows_done=0,
                          rows_total=0):
            return  # cancelled while it waited, or another worker has it
        tracker = jobs.Tracker(engine, job_id, ImportJob, PROGRESS_COLUMNS, ImportCancelled)
        try:
            _run_claimed(engine, job_id, tracker)
        except Exception as exc:  # shown on the job's page; the worker goes on
            log.exception("import job %s failed", job_id)
            try:
                with Session(engine) as s:
                    job = s.get(ImportJob, job_id)
                    if job is not None and job.state not in ENDED:
                        _end(s, job, "failed", jobs.exception_text(exc))
            except Exception:
                log.exception("could not mark import job %s as failed", job_id)
        finally:
            tracker.close()


def _run_claimed(engine: Engine, job_id: str, tracker: jobs.Tracker) -> None:
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        if job is None:
            return
        if job.cancel_requested:
            _end(s, job, "cancelled")
            return
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
    if fmt in RUNNER_FORMATS:
        _run_runner(engine, job_id, tracker, fmt, files, job_params)
        return
    # Each file (a batch of published ones) is its own transaction (import_files).
    with Session(engine) as s:
        report = import_files(s, files, on_duplicate, progress=tracker,  # type: ignore[arg-type]
                              **params)
    del files
    whole = report.to_dict(None)
    _, done, total = tracker.last
    with Session(engine) as s:
        job = s.get(ImportJob, job_id)
        if job is None:
            return
        job.report = whole
        job.rows_done, job.rows_total = done, total
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


def _run_runner(engine: Engine, job_id: str, tracker: jobs.Tracker, fmt: str,
                files: list[tuple[str, bytes]], params: dict[str, Any]) -> None:
    """A runner job (``RUNNER_FORMATS``): the runner's work and the end state (done, or
    failed with the runner's message) in one transaction; a cancel rolls it back."""
    try:
        with jobs.one_transaction(engine, job_id) as s:
            report = _runner(fmt)(s, files, params, tracker)
            if not report.get("error"):
                tracker.final_check()
            job = s.get(ImportJob, job_id)
            if job is None:
                raise ImportCancelled
            s.refresh(job)
            job.report = report
            _, job.rows_done, job.rows_total = tracker.last
            if report.get("error"):
                _end(s, job, "failed", str(report["error"])[:2000])
            else:
                _end(s, job, "done")
    except ImportCancelled:
        with Session(engine) as s:
            job = s.get(ImportJob, job_id)
            if job is not None and job.state not in ENDED:
                _, job.rows_done, job.rows_total = tracker.last
                _end(s, job, "cancelled")


def _drop_files(s: Session, job_id: str) -> None:
    """A job's uploaded files, in ``s``'s transaction (an ended job keeps none)."""
    s.execute(delete(ImportJobFile).where(col(ImportJobFile.job_id) == job_id))


def _end(s: Session, job: ImportJob, state: str, error: str = "") -> None:
    """A job ends: its state, and its files are dropped (a preview keeps them)."""
    job.state, job.step, job.error = state, "", error or job.error
    job.finished_at = utcnow()
    s.add(job)
    _drop_files(s, job.id)
    s.commit()


def _expire_previews(s: Session) -> None:
    cutoff = utcnow() - PREVIEW_MAX_AGE
    stale = list(s.exec(select(ImportJob.id).where(ImportJob.state == "preview_ready",
                                                   col(ImportJob.finished_at) < cutoff)))
    for job_id in stale:
        # Conditional, as confirm's: a preview confirmed at this moment is not cancelled.
        res = s.execute(update(ImportJob).where(col(ImportJob.id) == job_id,
                                                col(ImportJob.state) == "preview_ready")
                        .values(state="cancelled", step="", finished_at=utcnow(),
                                error=PREVIEW_EXPIRED))
        if res.rowcount == 1:  # type: ignore[attr-defined]
            _drop_files(s, job_id)
    s.commit()


# ------------------------------------------------------------------ looking at a job


def _visible(job: ImportJob, user: User) -> bool:
    return job.created_by == user.id or user.role == "admin"


def get(session: Session, job_id: str, user: User) -> ImportJob:
    """The job, if this user may see it (who started it, or an admin); a job whose
    process is gone is marked failed first."""
    job = session.get(ImportJob, job_id)
    if job is None or not _visible(job, user):
        raise NotFound("job", "Deze import bestaat niet (meer).")
    if job.state == "running" and not _alive(job):
        _fail_interrupted(session, job)
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
    step, done, total = job.step, job.rows_done, job.rows_total
    if job.state == "running":
        step, done, total = jobs.local_progress(job.id) or (step, done, total)
    stopping = job.cancel_requested or jobs.local_cancelled(job.id)
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
    """Write a previewed job (exactly the change set previewed): queued again, in mode
    write. ``Unavailable`` (the preview kept) when the queue cannot take it."""
    with Session(engine) as s:
        job = get(s, job_id, user)
        if job.state != "preview_ready":
            raise Conflict(None, "Deze import wacht niet op een bevestiging (status: {state}).",
                           state=job.state)
        if not writable(job.report):
            raise Conflict(None, "Zo kan niets worden ingelezen: los eerst de problemen op.")
        res = s.execute(update(ImportJob).where(col(ImportJob.id) == job_id,
                                                col(ImportJob.state) == "preview_ready")
                        .values(mode="write", state="queued", step="", rows_done=0,
                                finished_at=None, runner=""))
        s.commit()
        if res.rowcount != 1:  # type: ignore[attr-defined]
            s.refresh(job)
            raise Conflict(None, "Deze import wacht niet op een bevestiging (status: {state}).",
                           state=job.state)
    try:
        jobs.enqueue(job_id, FAMILY)
    except Unavailable:
        with Session(engine) as s:  # not queued: the preview waits again
            s.execute(update(ImportJob).where(col(ImportJob.id) == job_id,
                                              col(ImportJob.state) == "queued")
                      .values(mode="preview", state="preview_ready", finished_at=utcnow()))
            s.commit()
        raise
    with Session(engine) as s:
        row = s.get(ImportJob, job_id)
        assert row is not None
        return row


def cancel(engine: Engine, job_id: str, user: User) -> ImportJob:
    """Stop a job: a queued job or a waiting preview ends at once (nothing was written);
    a running one stops at its next progress step and rolls back the file it is on."""
    with Session(engine) as s:
        job = get(s, job_id, user)
        if job.state in ENDED:
            raise Conflict(None, "Deze import is al afgelopen (status: {state}).",
                           state=job.state)
        if job.state in ("queued", "preview_ready"):
            res = s.execute(update(ImportJob).where(
                col(ImportJob.id) == job_id,
                col(ImportJob.state).in_(("queued", "preview_ready")))
                .values(state="cancelled", step="", finished_at=utcnow(),
                        cancel_requested=True))
            if res.rowcount == 1:  # type: ignore[attr-defined]
                _drop_files(s, job_id)
                s.commit()
                s.refresh(job)
                return job
        s.rollback()  # running (or just claimed): its worker stops it
        jobs.request_cancel(engine, ImportJob, job_id)
        s.refresh(job)
        return job


# ------------------------------------------------------------------ restarts, tests


def _alive(job: ImportJob) -> bool:
    return jobs.alive(job.id, job.runner, job.heartbeat_at or job.started_at)


def recover(engine: Engine) -> int:
    """Mark the running jobs whose worker is gone as failed (at a worker's start and the
    web process's: a restart interrupted them). How many. (Queued ones wait on the queue;
    a worker's start queues them again: ``jobs.recover``.)"""
    n = 0
    with Session(engine) as s:
        for job in list(s.exec(select(ImportJob).where(ImportJob.state == "running"))):
            if not _alive(job) and _fail_interrupted(s, job):
                n += 1
    return n


def _fail_interrupted(s: Session, job: ImportJob) -> bool:
    """A job whose worker is gone is failed, and its files dropped, unless its worker
    ended it meanwhile (``jobs.update_if_still_running`` says why that matters)."""
    if not jobs.update_if_still_running(s, ImportJob, job, state="failed", step="",
                                        error=INTERRUPTED, finished_at=utcnow()):
        s.rollback()
        return False
    _drop_files(s, job.id)
    s.commit()
    return True


def recover_at_start(engine: Engine) -> tuple[int, list[str]]:
    """At a worker's start (``jobs.recover``): (running jobs of dead workers marked
    failed, the ids of the queued jobs, to be queued again: a lost message loses no job)."""
    failed = recover(engine)
    with Session(engine) as s:
        return failed, list(s.exec(select(ImportJob.id).where(ImportJob.state == "queued")))


def active(engine: Engine, job_id: str) -> bool:
    """Is the job still queued or running (one primary-key read)?"""
    with engine.connect() as conn:
        state = conn.execute(select(col(ImportJob.state)).where(
            col(ImportJob.id) == job_id)).scalar()
    return state in ACTIVE


def wait_idle(timeout_s: float = 60.0) -> None:
    """Wait until this process's consumer has no job in hand (tests and shutdown: before
    the database under a job is replaced or dropped)."""
    jobs.wait_idle(timeout_s)
