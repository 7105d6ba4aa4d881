"""Settings read from the environment (pydantic-settings), as in FastAPI's project template."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

# Signs the session cookies; public in this repository, so only for development.
DEFAULT_SECRET_KEY = "dev-only-change-me"


class InsecureSettings(RuntimeError):
    """Settings a served app must not start with (the message says what to set)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./sroi.db"
    secret_key: str = DEFAULT_SECRET_KEY
    # DEV=true: a development machine, where the default secret key is acceptable.
    dev: bool = False
    # Marks session cookies Secure; set true when served over TLS.
    https: bool = False
    default_language: str = "nl"
    # Reference date override (YYYY-MM-DD) so demos and tests are reproducible.
    today: str | None = None
    login_rate_limit_per_minute: int = 10
    # Prefix of this app's Redis keys (REDIS_URL below; the login rate limit of
    # api/shared_state.py) (several apps or test runs may share one Redis).
    redis_prefix: str = "sroi:"
    # Threads serving the (synchronous) request handlers of the served app (api/app.py).
    web_threads: int = 8
    # Redis (redis://host:6379/0): when set, the job queue lives there (api/services/
    # job_queue.py) and the login rate limit (api/shared_state.py; unreachable: the
    # database keeps it), so web processes and workers on several hosts share them.
    redis_url: str | None = None
    # Without REDIS_URL the job queue is a SQLite file (huey's SqliteHuey): next to a
    # SQLite database ("<db>.queue"), else this path. No extra service to run.
    job_queue_file: str = "./sroi-queue.db"
    # Run the job consumer as threads inside the web process (one machine, e.g. SQLite
    # demos and tests); false when `sroi worker` processes consume the queue (make run).
    jobs_inline: bool = False
    # A Dask scheduler (tcp://host:8786) for the batch work (api/services/batch.py);
    # unset: batch ranking runs in the worker's own process.
    dask_scheduler: str | None = None


def check_serving(settings: Settings) -> None:
    """Refuse to serve with the public default secret key (anyone could forge a session)
    unless DEV=true says this is a development machine (the FastAPI template's guard)."""
    if settings.secret_key == DEFAULT_SECRET_KEY and not settings.dev:
        raise InsecureSettings(
            "SECRET_KEY is the public default: set SECRET_KEY to a random secret (in the "
            "environment or .env; `make run` writes one), or DEV=true on a development machine")


@lru_cache
def get_settings() -> Settings:
    return Settings()
