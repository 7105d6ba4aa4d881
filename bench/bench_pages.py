"""Page render times on the fixtures: the issue's "pages render in under 150 ms".

    .venv/bin/python -m bench.bench_pages              # SQLite, and PostgreSQL when reachable
    .venv/bin/python -m bench.bench_pages --db sqlite --runs 30

Loads ``fixtures/sroi_fixtures.json`` (with the demo activity and accounts, as
``make run`` does) into a fresh database, logs in as each role through the real login
form and requests each main page ``--runs`` times after one warm-up request (the first
request after start builds the engine's index: that cost is shown separately). It
prints the server's own time (``Server-Timing``, the handler and template, without the
test client) and the wall time per request: median, p95 and max, beside the target.

The reference date is pinned to the fixtures' date (``TODAY=2026-11-30``) so the same
enterprises are vetted whenever this runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass

from bench.load import PG_BASE, database

TARGET_MS = 150.0
FIXTURES_DATE = "2026-11-30"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Row:
    db: str
    role: str
    path: str
    first_ms: float
    server_ms: list[float]
    wall_ms: list[float]

    @staticmethod
    def _p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    def cells(self) -> list[str]:
        med = statistics.median(self.server_ms)
        p95 = self._p(self.server_ms, 0.95)
        ok = "ok" if p95 < TARGET_MS else "MISSED"
        return [self.db, self.role, self.path, f"{self.first_ms:.0f}", f"{med:.1f}",
                f"{p95:.1f}", f"{max(self.server_ms):.1f}",
                f"{statistics.median(self.wall_ms):.1f}", f"< {TARGET_MS:.0f}", ok]


def postgres_reachable() -> bool:
    try:
        from sqlalchemy import create_engine, text

        eng = create_engine(PG_BASE)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return True
    except Exception:
        return False


def _reset_caches() -> None:
    from api import settings as api_settings
    from api.db import engine_for

    api_settings.get_settings.cache_clear()
    engine_for.cache_clear()
    with contextlib.suppress(ImportError):
        from api.services import matching

        matching.invalidate()


def _load(url: str) -> None:
    from api.cli import main

    os.environ["DATABASE_URL"] = url
    os.environ["TODAY"] = FIXTURES_DATE
    _reset_caches()
    with contextlib.redirect_stdout(io.StringIO()):
        for argv in (["load-fixtures"], ["demo-users"]):
            status = main(argv)
            if status != 0:
                raise SystemExit(f"`sroi {' '.join(argv)}` failed on {url} (status {status})")


def _pages(url: str) -> dict[str, list[str]]:
    """The main pages per role, with real refs from the loaded fixtures."""
    from sqlmodel import Session, select

    from api.db import get_engine
    from api.tables import ChallengeRow, ObligationRow, TenderRow, User

    with Session(get_engine()) as s:
        officer = s.exec(select(User).where(User.role == "officer")).first()
        firm = s.exec(select(User).where(User.role == "firm")).first()
        tender = s.exec(select(TenderRow.ref).where(
            TenderRow.buyer == (officer.organisation if officer else "")).order_by(
            TenderRow.ref)).first()
        obligation = s.exec(select(ObligationRow.ref).where(
            ObligationRow.firm == (firm.organisation if firm else "")).order_by(
            ObligationRow.ref)).first()
        challenge = s.exec(select(ChallengeRow.ref).order_by(ChallengeRow.ref)).first()
    return {
        "officer": ["/", "/tenders", "/tenders/new", f"/tenders/{tender}",
                    "/enterprises?q=schoonmaak", "/dashboard"],
        "firm": ["/obligations", f"/obligations/{obligation}"],
        "connector": ["/curation", "/curation/log", "/vetting", "/challenges",
                      f"/challenges/{challenge}", "/enterprises", "/import", "/weights"],
    }


def _login(client: object, email: str, password: str) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    m = CSRF_RE.search(client.get("/login").text)
    if not m:
        raise SystemExit("no CSRF token on /login")
    r = client.post("/login", data={"email": email, "password": password,
                                    "csrf_token": m.group(1), "next": "/"})
    if r.status_code != 303:
        raise SystemExit(f"login as {email} failed: {r.status_code}")


def measure(kind: str, runs: int) -> list[Row]:
    from fastapi.testclient import TestClient

    from api.commands.users import DEMO_PASSWORD, demo_accounts

    rows: list[Row] = []
    with database(kind) as url:
        _load(url)
        from sqlmodel import Session

        from api.app import create_app
        from api.db import get_engine

        with Session(get_engine()) as s:
            emails = {role: email for email, role, _org, _name in demo_accounts(s)}
        app = create_app()
        for role, paths in _pages(url).items():
            with TestClient(app, follow_redirects=False) as client:
                _login(client, emails[role], DEMO_PASSWORD)
                for path in paths:
                    t0 = time.perf_counter()
                    first = client.get(path)
                    first_ms = (time.perf_counter() - t0) * 1000
                    if first.status_code != 200:
                        raise SystemExit(f"{role} GET {path}: {first.status_code}")
                    server, wall = [], []
                    for _ in range(runs):
                        t0 = time.perf_counter()
                        r = client.get(path)
                        wall.append((time.perf_counter() - t0) * 1000)
                        server.append(float(r.headers["server-timing"].split("dur=")[1]))
                    rows.append(Row(kind, role, path, first_ms, server, wall))
        _reset_caches()
    return rows


def print_table(rows: list[Row]) -> None:
    head = ["db", "role", "page", "first ms", "median ms", "p95 ms", "max ms", "wall median",
            "target", ""]
    cells = [head, *(r.cells() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for n, c in enumerate(cells):
        print("  ".join(v.ljust(w) if i < 3 else v.rjust(w)
                        for i, (v, w) in enumerate(zip(c, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--runs", type=int, default=20, help="timed requests per page (default 20)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not postgres_reachable():
        if args.db == "postgres":
            print(f"PostgreSQL not reachable at {PG_BASE}", file=sys.stderr)
            return 1
        print(f"(PostgreSQL not reachable at {PG_BASE}: SQLite only)")
        kinds = ["sqlite"]
    rows: list[Row] = []
    for kind in kinds:
        rows.extend(measure(kind, args.runs))
    print(f"Page render times on the fixtures ({args.runs} warm requests per page; "
          f"server = Server-Timing; first = first request, incl. building the index)")
    print_table(rows)
    missed = [r for r in rows if r.cells()[-1] != "ok"]
    print(f"{len(rows) - len(missed)} of {len(rows)} pages under {TARGET_MS:.0f} ms at p95")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
