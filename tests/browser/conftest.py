"""Browser-test harness: a live uvicorn server on a temp SQLite database, driven by
Debian's Chromium through Playwright.

- ``live_server``: base URL of the app (session-scoped) on a free loopback port, with
  the fixtures loaded (``fixtures/sroi_fixtures.json`` through the importer when both
  exist; else the web tests' seed) and one browser account per role.
- ``page``: a fresh Playwright page (new context, so no cookies carry over).
- ``login_as(role)``: logs ``page`` in as officer | firm | connector | admin.

Skips with a clear reason when /usr/bin/chromium is absent (CI installs it). The
networking flags keep Chromium from calling out on this closed network (see
../shared/README.md); Playwright's own browser download is not used.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic"]
PASSWORD = "browser-test-42"
TODAY = "2026-06-01"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load_data(db_url: str) -> dict[str, str]:
    """Fill the database; returns the organisation per role for the browser accounts."""
    from sqlmodel import Session, SQLModel

    import api.tables  # noqa: F401
    from api.commands.users import demo_firm, upsert_user
    from api.db import make_engine

    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    fixtures = ROOT / "fixtures" / "sroi_fixtures.json"
    with Session(engine) as session:
        loaded = False
        if fixtures.exists():
            try:
                from api.services.importing import import_files  # type: ignore[import-not-found]
            except ModuleNotFoundError:
                import_files = None
            if import_files is not None:
                import_files(session, [(fixtures.name, fixtures.read_bytes())], "keep-both")
                session.commit()
                # The interchange data has no activity; the dashboard charts need some.
                from fixtures.activity import add_demo_activity

                add_demo_activity(session, until=date.fromisoformat(TODAY))
                loaded = True
        if not loaded:
            from tests.web.seed import seed

            seed(session)
        orgs = {"officer": "Gemeente Utrecht", "firm": demo_firm(session),
                "connector": "", "admin": ""}
        for role, org in orgs.items():
            upsert_user(session, f"browser-{role}@test.nl", role, org or None, PASSWORD,
                        name=f"Browser {role}")
    engine.dispose()
    return orgs


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Chromium (apt-get install chromium) "
                    "to run the browser tests")
    tmp = Path(tempfile.mkdtemp(prefix="sroi-browser-"))
    db_url = f"sqlite:///{tmp / 'browser.db'}"
    _load_data(db_url)
    # BROWSER_TEST_PORT: a fixed port (a shared machine gives each developer a range).
    port = int(os.environ.get("BROWSER_TEST_PORT") or 0) or _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "TODAY": TODAY,
           "SECRET_KEY": "browser-tests-only", "LOGIN_RATE_LIMIT_PER_MINUTE": "100",
           "PYTHONPATH": str(ROOT)}
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError("server exited: " + (tmp / "server.log").read_text()[-2000:])
            try:
                if httpx.get(base + "/login", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 90 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(live_server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    # Plain launch: Playwright gives every launch a fresh temporary user-data-dir.
    b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="nl-NL",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.js_errors = errors  # type: ignore[attr-defined]
    try:
        yield p
    finally:
        context.close()


@pytest.fixture
def login_as(page: Any) -> Callable[[str], Any]:
    def _login(role: str) -> Any:
        page.goto("/login")
        page.fill("input[name=email]", f"browser-{role}@test.nl")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    return _login


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
