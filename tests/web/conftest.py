"""Web fixtures: an app on the test database (SQLite and PostgreSQL), seeded, and clients."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.web.seed import PASSWORD, USERS, seed

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(use_db: str, db_engine: Engine, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from api import settings as api_settings

    monkeypatch.setenv("LOGIN_RATE_LIMIT_PER_MINUTE", "5")
    monkeypatch.setenv("TODAY", "2026-06-01")
    # Background jobs run on a consumer in the test process (api.services.jobs).
    monkeypatch.setenv("JOBS_INLINE", "true")
    api_settings.get_settings.cache_clear()
    with Session(db_engine) as session:
        seed(session)
    from api.app import create_app

    return create_app()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from api.services import import_jobs, job_queue, jobs

    with TestClient(app, follow_redirects=False) as c:
        yield c
    import_jobs.wait_idle()  # imports run in threads: done before the database goes
    jobs.wait_idle()  # and the jobs of the inline consumer
    jobs.stop_inline()
    job_queue.reset()


def upload_ledger(c: TestClient, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    """POST /api/v1/ledgers answers 202 with its job at Location: polled until it ends;
    the ended job (``ledger``, ``lines``… once done)."""
    r = c.post("/api/v1/ledgers", headers=headers, **kw)
    assert r.status_code == 202, r.text[:300]
    location = r.headers["location"]
    assert location == f"/api/v1/ledgers/jobs/{r.json()['id']}", location
    deadline = time.monotonic() + 120
    while True:
        job = c.get(location, headers=headers)
        assert job.status_code == 200, job.text[:300]
        if job.json()["state"] not in ("queued", "running"):
            return dict(job.json())
        assert time.monotonic() < deadline, job.json()
        time.sleep(0.05)


def redis_url_or_skip() -> str:
    """A Redis for tests (REDIS_TEST_URL, else the local default), or skip saying why."""
    import redis

    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {url}: {type(exc).__name__}")
    return url


def csrf_of(client: TestClient, path: str = "/login") -> str:
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def do_login(client: TestClient, who: str, password: str = PASSWORD, next: str = "/"):  # type: ignore[no-untyped-def]
    email = USERS[who][0] if who in USERS else who
    token = csrf_of(client)
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token, "next": next})


@pytest.fixture
def login(client: TestClient) -> Callable[[str], TestClient]:
    def _login(who: str) -> TestClient:
        r = do_login(client, who)
        assert r.status_code == 303, r.text[:500]
        return client

    return _login


@pytest.fixture
def api_token(app) -> Callable[[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """Authorization headers with a fresh API token for a seeded user (written directly)."""
    from sqlmodel import select

    from api.db import get_engine
    from api.security import new_api_token
    from api.tables import User

    def _headers(who: str) -> dict[str, str]:
        token, digest = new_api_token()
        with Session(get_engine()) as session:
            user = session.exec(select(User).where(User.email == USERS[who][0])).one()
            user.api_token_hash = digest
            session.add(user)
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    return _headers
