"""The weights page's "Leer nu": one learning run at a time per database, in a thread.

Job state lives in this process (a dict per database URL), not in a table: a second
uvicorn worker does not see it, and a restart forgets it (the learnt version itself is
stored by ``learn_from_log``). Issue #17 moves jobs to a queue.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.clock import utcnow
from api.errors import Conflict
from api.services.learning import engine_shown_candidates, learn_from_log

STEPS = ("decisions", "candidates", "fitted", "heldout", "labelled", "verdict")


@dataclass
class Job:
    started_by: str
    started_at: str
    state: str = "running"  # running | done | failed
    step: str = "decisions"
    done: int = 0
    total: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    thread: threading.Thread | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "step": self.step, "done": self.done,
                "total": self.total, "steps": list(STEPS), "started_by": self.started_by,
                "started_at": self.started_at, "result": self.result, "error": self.error}


_lock = threading.Lock()
_jobs: dict[str, Job] = {}


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def status(engine: Engine) -> Job | None:
    with _lock:
        return _jobs.get(_key(engine))


def start(engine: Engine, started_by: str, min_decisions: int = 30) -> Job:
    """Start learning in a background thread; Conflict while a run is going."""
    key = _key(engine)
    with _lock:
        current = _jobs.get(key)
        if current is not None and current.state == "running":
            raise Conflict(None, "Er loopt al een leerronde (gestart door {who}).",
                           who=current.started_by)
        job = Job(started_by=started_by, started_at=utcnow().isoformat())
        _jobs[key] = job

    def progress(step: str, done: int, total: int) -> None:
        with _lock:
            job.step, job.done, job.total = step, done, total

    def run() -> None:
        try:
            with Session(engine) as session:
                result = learn_from_log(session, min_decisions,
                                        shown=engine_shown_candidates(session),
                                        progress=progress)
            with _lock:
                job.result = result.as_dict()
                job.state = "done"
        except Exception as exc:  # the page shows it; the thread must not die silently
            with _lock:
                job.state, job.error = "failed", str(exc)[:500]

    job.thread = threading.Thread(target=run, name="learn-weights", daemon=True)
    job.thread.start()
    return job


def wait_idle(timeout_s: float = 30.0) -> None:
    """Wait for every running learning thread (tests and shutdown: before the database
    file under a job is replaced or dropped)."""
    with _lock:
        threads = [j.thread for j in _jobs.values() if j.thread is not None]
    for t in threads:
        t.join(timeout_s)
