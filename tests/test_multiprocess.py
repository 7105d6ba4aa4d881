"""Two app processes over one PostgreSQL (issue #17 item 1): what one process does, the
other knows. Each test starts two real ``uvicorn api.app:app`` servers on loopback (ports
8150-8159), sharing a database schema and the session-signing key, as two workers or two
hosts behind a load balancer would.

* the login rate limit counts failures made through either process;
* a curation decision made through one shows in the other's match list within a second;
* two connectors saving the same enterprise at once through the two processes: one save
  wins, the other is refused with a message (no lost update);
* a tender page rendered through one is served by the other from the render cache's
  shared level.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from api.db import make_engine
from api.migrate import upgrade
from api.security import hash_api_token
from api.tables import User
from tests.web.seed import PASSWORD, USERS, seed

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
PORTS = range(8150, 8160)  # this test's port range on the shared machine
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LIMIT = 5
TOKENS = {"connector": "sroi_multiprocess-connector-token"}


def _free_ports(n: int) -> list[int]:
    # Each pytest-xdist worker has its own two ports: two workers checking the same free
    # ports at once would start their servers on one pair (one would then talk to the
    # other's database).
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = PORTS.start + n * (int(worker) % (len(PORTS) // n)) if worker.isdigit() else 0
    free = []
    for port in range(first or PORTS.start, PORTS.stop):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        free.append(port)
        if len(free) == n:
            return free
    pytest.skip(f"fewer than {n} free ports in {PORTS.start}-{PORTS.stop - 1}")


def _start(url: str, port: int, secret: str, log: Path, extra: dict[str, str]
           ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "TODAY": "2026-06-01", "SECRET_KEY": secret,
           "LOGIN_RATE_LIMIT_PER_MINUTE": str(LIMIT), **extra}
    env.pop("REDIS_URL", None) if "REDIS_URL" not in extra else None
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_up(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    # Generous: importing the app takes 5 s on an idle machine, over 40 s on a loaded one.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server on {port} exited: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server on {port} did not come up")


def _servers(url: str, tmp_path: Path, extra: dict[str, str] | None = None
             ) -> Iterator[tuple[str, str]]:
    secret = uuid.uuid4().hex  # one key: a cookie signed by one process is good at the other
    procs = []
    try:
        for port in _free_ports(2):
            log = tmp_path / f"server-{port}.log"
            proc = _start(url, port, secret, log, extra or {})
            procs.append((port, proc, log))
        for port, proc, log in procs:
            _wait_up(port, proc, log)
        yield tuple(f"http://127.0.0.1:{port}" for port, _, _ in procs)  # type: ignore[misc]
        for _, _, log in procs:
            assert "Traceback" not in log.read_text(errors="replace")
    finally:
        for _, proc, _ in procs:
            proc.terminate()
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """One schema for the module (each pair of servers takes a while to start), dropped
    afterwards; the tests use different accounts and records, so they do not meet."""
    from sqlalchemy import text

    from tests.conftest import POSTGRES_URL, _require_postgres

    _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def store(pg_url: str) -> str:
    """The migrated schema with the web tests' seed and an API token for the connector."""
    upgrade(pg_url)
    engine = make_engine(pg_url)
    with Session(engine) as session:
        seed(session)
        for who, token in TOKENS.items():
            user = session.exec(select(User).where(User.email == USERS[who][0])).one()
            user.api_token_hash = hash_api_token(token)
            session.add(user)
        session.commit()
    engine.dispose()
    return pg_url


@pytest.fixture(scope="module")
def two(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    yield from _servers(store, tmp_path_factory.mktemp("two"))


def _login(base: str, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30) as c:
        token = CSRF_RE.search(c.get("/login").text)
        assert token
        return c.post("/login", data={"email": email, "password": password,
                                      "csrf_token": token.group(1), "next": "/"})


def _limit_holds(a: str, b: str, email: str) -> None:
    for i in range(LIMIT):  # failures split over both processes
        r = _login((a, b)[i % 2], email, "wrong-password")
        assert r.status_code == 401, r.status_code
    for base in (a, b):  # the limit is reached at both, even with the right password
        r = _login(base, email, PASSWORD)
        assert r.status_code == 429, (base, r.status_code)
        assert int(r.headers["Retry-After"]) >= 1
    other = USERS["admin"][0]  # per (IP, e-mail): another account still logs in
    assert _login(b, other, PASSWORD).status_code == 303


def test_login_rate_limit_holds_across_processes(two: tuple[str, str]) -> None:
    a, b = two
    _limit_holds(a, b, USERS["officer"][0])


def test_login_rate_limit_holds_across_processes_with_redis(store: str, tmp_path: Path
                                                            ) -> None:
    import redis

    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {url}: {type(exc).__name__}")
    prefix = f"sroi-test-{uuid.uuid4().hex[:8]}:"
    try:
        for a, b in _servers(store, tmp_path, {"REDIS_URL": url, "REDIS_PREFIX": prefix}):
            shared = httpx.get(f"{a}/health").json()["shared_state"]
            assert shared["backend"] == "redis" and shared["render_cache"] == "redis"
            _limit_holds(a, b, USERS["officer2"][0])
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_unreachable_redis_is_said_at_start_up_and_the_database_keeps_the_limit(
        store: str, tmp_path: Path) -> None:
    # Nothing listens on port 9 (discard) of loopback: connection refused at once.
    for a, b in _servers(store, tmp_path, {"REDIS_URL": "redis://127.0.0.1:9/0"}):
        health = httpx.get(f"{a}/health").json()
        assert health["status"] == "degraded"
        assert health["shared_state"]["backend"] == "database"
        assert health["shared_state"]["render_cache"] == "database"  # the table, then
        assert health["shared_state"]["redis"].startswith("unreachable at start-up")
        _limit_holds(a, b, USERS["firm2"][0])
    logs = "".join(p.read_text() for p in tmp_path.glob("server-*.log"))
    assert "REDIS_URL is set (redis://127.0.0.1:9/0) but Redis does not answer" in logs


def test_a_decision_through_one_process_shows_through_the_other_within_a_second(
        two: tuple[str, str]) -> None:
    a, b = two
    auth = {"Authorization": f"Bearer {TOKENS['connector']}"}
    path = "/api/v1/tenders/T-UTR-1/matches?top=10"
    before = httpx.get(b + path, headers=auth, timeout=60)  # B's caches are warm now
    assert before.status_code == 200, before.text
    target = before.json()["items"][0]["ref"]
    r = httpx.post(f"{a}/api/v1/curation/decisions", headers=auth, timeout=60, json={
        "query_kind": "tender", "query_ref": "T-UTR-1", "enterprise_ref": target,
        "decision": "reject", "reason": "Geen passende werkplekken (test)"})
    assert r.status_code == 201, r.text
    decided = time.monotonic()  # A answered: the decision is committed
    while True:
        # Visible within a second: every request B *receives* a second after the decision
        # shows it (the time B takes to answer on a loaded machine is not staleness).
        asked = time.monotonic() - decided
        body = httpx.get(b + path, headers=auth, timeout=60).json()
        if target in {x["ref"] for x in body["rejected"]}:
            break
        assert asked < 1.0, f"B still ranks {target} when asked {asked:.2f} s after A's decision"
        time.sleep(0.05)
    assert target not in {x["ref"] for x in body["items"]}


def _edit_form(base: str, cookies: httpx.Cookies, ref: str) -> tuple[dict[str, Any], str]:
    with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c:
        page = c.get(f"/enterprises/{ref}/edit")
        assert page.status_code == 200, page.status_code
        html = page.text
    fields: dict[str, Any] = {}
    for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields.setdefault(m.group(1), _unescape(m.group(2)))
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields.setdefault(m.group(1), _unescape(m.group(2)))
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', m.group(2))
        fields.setdefault(m.group(1), _unescape(chosen.group(1)) if chosen else "")
    return fields, html


def _unescape(s: str) -> str:
    import html

    return html.unescape(s)


def test_two_saves_of_one_enterprise_at_once_lose_no_update(two: tuple[str, str]) -> None:
    """Both connectors load the edit form, then save different changes through different
    processes at the same moment: one is saved, the other is told the record changed
    meanwhile (its form comes back with its input), and the stored record is exactly the
    saved one — never a mix, never a silently overwritten save."""
    a, b = two
    jar = httpx.Client(base_url=a, timeout=30)
    token = CSRF_RE.search(jar.get("/login").text)
    assert token
    assert jar.post("/login", data={"email": USERS["connector"][0], "password": PASSWORD,
                                    "csrf_token": token.group(1), "next": "/"}
                    ).status_code == 303
    cookies = jar.cookies
    form_a, _ = _edit_form(a, cookies, "E-001")
    form_b, _ = _edit_form(b, cookies, "E-001")
    assert form_a.get("version") and form_a["version"] == form_b["version"]
    form_a["name"] = "Naam gewijzigd via A"
    form_b["description"] = "Omschrijving gewijzigd via B, met mensen met afstand tot werk."
    results: dict[str, int] = {}
    go = threading.Barrier(2)

    def save(base: str, form: dict[str, Any]) -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c:
            go.wait()
            results[base] = c.post("/enterprises/E-001/edit", data=form).status_code

    threads = [threading.Thread(target=save, args=(base, form))
               for base, form in ((a, form_a), (b, form_b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results.values()) == [303, 409], results
    winner = a if results[a] == 303 else b
    stored = httpx.get(f"{b}/api/v1/enterprises/E-001",
                       headers={"Authorization": f"Bearer {TOKENS['connector']}"}).json()
    if winner == a:
        assert stored["name"] == "Naam gewijzigd via A"
        assert not stored["description"].startswith("Omschrijving gewijzigd via B")
    else:
        assert stored["description"].startswith("Omschrijving gewijzigd via B")
        assert stored["name"] != "Naam gewijzigd via A"
    jar.close()


def test_a_page_built_through_one_process_is_served_by_the_other_from_the_shared_level(
        two: tuple[str, str], store: str) -> None:
    """The render cache's shared level (``api.services.shared_cache``, the table on
    PostgreSQL): B serves the tender page A built, from the table, without building it.
    Seen by a mark the test puts into the stored entry: B's page shows it."""
    import dataclasses

    from markupsafe import Markup

    import api.routes.tenders  # noqa: F401  (registers the tender page's value)
    from api.services import shared_cache
    from api.tables import RenderCacheEntry

    a, b = two
    jar = httpx.Client(base_url=a, timeout=60)
    token = CSRF_RE.search(jar.get("/login").text)
    assert token
    assert jar.post("/login", data={"email": USERS["connector"][0], "password": PASSWORD,
                                    "csrf_token": token.group(1), "next": "/"}
                    ).status_code == 303
    time.sleep(1.0)  # both processes see the data version the login left
    path = "/tenders/T-UTR-2?lang=nl"
    assert jar.get(path).status_code == 200  # A builds it and shares it
    mark = Markup('<p id="from-the-shared-level">gedeeld</p>')
    engine = make_engine(store)
    try:
        with engine.begin() as conn:
            rows = conn.execute(select(RenderCacheEntry.key, RenderCacheEntry.value)).all()
            marked = 0
            for key, value in rows:
                shared = shared_cache.decode(value)
                if type(shared).__name__ == "SharedTender":  # the only tender page asked
                    marked += 1
                    conn.execute(RenderCacheEntry.__table__.update()  # type: ignore[attr-defined]
                                 .where(RenderCacheEntry.key == key).values(
                                     value=shared_cache.encode(dataclasses.replace(
                                         shared, summary=shared.summary + mark))))
        assert marked == 1
    finally:
        engine.dispose()
    with httpx.Client(base_url=b, cookies=jar.cookies, timeout=60) as c:
        page = c.get(path)
    assert page.status_code == 200
    assert 'id="from-the-shared-level"' in page.text  # B did not build it
    jar.close()
