"""Settings read from the environment (pydantic-settings), as in FastAPI's project template."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./sroi.db"
    secret_key: str = "dev-only-change-me"
    # Marks session cookies Secure; set true when served over TLS.
    https: bool = False
    default_language: str = "nl"
    # Reference date override (YYYY-MM-DD) so demos and tests are reproducible.
    today: str | None = None
    login_rate_limit_per_minute: int = 10
    # Threads serving the (synchronous) request handlers of the served app (api/app.py).
    web_threads: int = 8


@lru_cache
def get_settings() -> Settings:
    return Settings()
