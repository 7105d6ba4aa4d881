"""The weights page's "Leer nu": a learning run as a background job on the queue
(``api.services.jobs``, kind ``learn``), so it runs in a worker, any web process shows its
progress, and a restart neither forgets it nor leaves it half-saved.

This module keeps the shape the weights page and ``GET /api/v1/weights/learn`` have
shown since before the queue: ``state`` running | done | failed | cancelled (a queued run
counts as running), ``step``, ``done``/``total``, ``steps``, ``started_by``,
``started_at``, ``result``, ``error``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.messages import parse_stored
from api.services import jobs
from api.tables import JobRow, User

STEPS = ("decisions", "candidates", "fitted", "heldout", "labelled", "verdict")


def as_dict(job: JobRow) -> dict[str, Any]:
    return {"id": job.id, "state": "running" if job.state in jobs.ACTIVE else job.state,
            "step": job.step or STEPS[0], "done": job.done, "total": job.total,
            "steps": list(STEPS), "started_by": job.created_by_email,
            "started_at": (job.started_at or job.created_at).isoformat(),
            "result": job.result, "error": parse_stored(job.error)}


def status(engine: Engine) -> dict[str, Any] | None:
    """The latest learning run, or None when none was started."""
    with Session(engine) as s:
        job = jobs.latest(s, "learn")
        return as_dict(job) if job is not None else None


def start(engine: Engine, user: User, min_decisions: int = 30) -> JobRow:
    """Queue a learning run; Conflict while one is queued or running, Unavailable when
    the queue cannot be reached."""
    return jobs.submit(engine, user, "learn", {"min_decisions": min_decisions})


def wait_idle(timeout_s: float = 30.0) -> None:
    """Wait for the jobs this process's inline consumer runs (tests: before the database
    under a job is replaced). Without an inline consumer there is nothing to wait for."""
    jobs.wait_idle(timeout_s)
