"""The job queue: Huey, on the storage the deployment already has.

Why Huey: one small, well-kept library (since 2011, one dependency-free core) whose
queue can live in a SQLite file (the embedded default: no extra service), in the
PostgreSQL database the app already uses, or in Redis — the three deployments this app
has. Dramatiq and RQ need Redis or RabbitMQ even on a laptop; procrastinate needs
PostgreSQL. Which storage:

* ``REDIS_URL`` set: Redis (``RedisHuey``), shared by every host.
* else a PostgreSQL ``DATABASE_URL``: the same database (``PostgresHuey``, tables
  ``huey_*`` beside ours; LISTEN/NOTIFY wakes the workers), shared by every host.
* else (SQLite): a SQLite file next to the database (``<db>.queue``), for one machine.

The queue carries only job ids; what a job is and how far it got lives in our own table
(``api.services.jobs``, ``JobRow``), so a lost message loses no work: a worker starting
up queues every job still marked queued again (a job runs once: it is claimed by one
conditional UPDATE).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from api.db import normalise_url
from api.errors import Unavailable
from api.settings import Settings, get_settings

log = logging.getLogger("sroi.job_queue")

QUEUE_NAME = "sroi-jobs"
CONNECT_TIMEOUT_S = 3

_lock = threading.Lock()
# What a consumer does with a job id: api.services.jobs.run, registered by that module
# (which imports this one), so the queue knows nothing of what a job is.
_runner: Callable[[str], None] | None = None
_queues: dict[str, tuple[Huey, Any]] = {}  # config key -> (huey, the registered task)


def describe(settings: Settings | None = None) -> str:
    """Where the queue is, for messages (no password)."""
    settings = settings or get_settings()
    if settings.redis_url:
        return f"Redis {_hide_password(settings.redis_url)}"
    url = normalise_url(settings.database_url)
    if url.startswith("postgresql"):
        return "PostgreSQL (" + _hide_password(url.split("?")[0]) + ")"
    return f"SQLite {_sqlite_file(settings)}"


def _hide_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':')[0]}:***@{host}"


def _sqlite_file(settings: Settings) -> str:
    url = settings.database_url
    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        return str(Path(url[len("sqlite:///"):])) + ".queue"
    return settings.job_queue_file


def _key(settings: Settings) -> str:
    return f"{settings.redis_url}|{settings.database_url}|{settings.job_queue_file}"


def _build(settings: Settings) -> Huey:
    common: dict[str, Any] = {"results": False, "utc": True}
    if settings.redis_url:
        import redis

        # Huey takes a URL or connection parameters, not both ("over-determined"): the
        # timeouts go on a pool made from the URL. Under REDIS_PREFIX, like our other keys,
        # so deployments (and test runs) sharing one Redis keep their queues apart.
        pool = redis.ConnectionPool.from_url(
            settings.redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=CONNECT_TIMEOUT_S * 5)
        return RedisHuey(f"{settings.redis_prefix}{QUEUE_NAME}", connection_pool=pool,
                         **common)
    url = normalise_url(settings.database_url)
    if url.startswith("postgresql"):
        dsn = "postgresql://" + url.split("://", 1)[1]  # libpq's spelling, options kept
        return PostgresHuey(QUEUE_NAME, dsn=dsn, connect_timeout=CONNECT_TIMEOUT_S, **common)
    return SqliteHuey(QUEUE_NAME, filename=_sqlite_file(settings), timeout=CONNECT_TIMEOUT_S,
                      **common)


def queue() -> tuple[Huey, Any]:
    """The queue of the current settings and its one task, ``run_job(job_id)``."""
    settings = get_settings()
    key = _key(settings)
    with _lock:
        hit = _queues.get(key)
        if hit is None:
            huey = _build(settings)

            def run_job(job_id: str) -> None:
                if _runner is None:
                    raise RuntimeError("no job runner registered (import api.services.jobs)")
                _runner(job_id)

            # Retries are ours (api.services.jobs.recover), so Huey never re-runs a job.
            task = huey.task(retries=0, name="run_job")(run_job)
            hit = _queues[key] = (huey, task)
    return hit


def set_runner(runner: Callable[[str], None]) -> None:
    global _runner
    _runner = runner


def reset() -> None:
    """Forget the queues built so far (tests change the settings)."""
    with _lock:
        _queues.clear()


def unreachable() -> str | None:
    """Why the queue cannot be used now, or None when it answers."""
    try:
        huey, _ = queue()
        huey.pending_count()
    except Exception as exc:  # any failure to reach it is the same for the user
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"{describe()}: {exc.__class__.__name__} {first}".strip()[:300]
    return None


def enqueue(job_id: str) -> None:
    """Put a job's id on the queue; :class:`~api.errors.Unavailable` when the queue
    cannot take it (the caller refuses the job: nothing is accepted and then lost)."""
    try:
        _, task = queue()
        task(job_id)
    except Exception as exc:
        log.warning("job queue unreachable (%s): %s", describe(), exc)
        raise Unavailable(None, "De takenwachtrij ({queue}) is niet bereikbaar; de taak is "
                          "niet gestart. Probeer het later opnieuw of vraag de beheerder "
                          "de wachtrij te starten.", queue=describe()) from None


class InlineConsumer:
    """Huey's consumer as threads inside this process (one machine: SQLite demos, tests):
    Huey's own worker and scheduler threads, started without its signal handlers (those
    are for a consumer that owns its process, ``sroi worker``)."""

    def __init__(self, workers: int = 1) -> None:
        huey, _ = queue()
        # shutdown_timeout: stop() waits at most this long for a job in hand, then leaves
        # its (daemon) thread; an unbounded join hung a test run on a job that could not end.
        self.consumer = Consumer(huey, workers=workers, worker_type="thread", periodic=False,
                                 initial_delay=0.05, max_delay=0.5, check_worker_health=False,
                                 shutdown_timeout=60)

    def start(self) -> InlineConsumer:
        self.consumer.scheduler.start()
        for _, worker in self.consumer.worker_threads:
            worker.start()
        return self

    def stop(self) -> None:
        self.consumer.stop(graceful=True)


def run_consumer(workers: int = 1) -> None:
    """Consume the queue in this process until SIGINT/SIGTERM (``sroi worker``)."""
    huey, _ = queue()
    consumer = Consumer(huey, workers=workers, worker_type="thread", periodic=False,
                        initial_delay=0.1, max_delay=2.0)
    consumer.run()
