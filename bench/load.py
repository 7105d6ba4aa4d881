"""Load test: 50 concurrent users against a real server on loopback.

    .venv/bin/python -m bench.load                       # SQLite and PostgreSQL
    .venv/bin/python -m bench.load --db sqlite --duration 20
    make load

For each database it builds a store of 10,000 enterprises and 1,000 tenders (the
seeded synthetic registry of ``bench/synthetic.py``, written as an interchange
document and imported through the real import service), starts uvicorn on
127.0.0.1 on a free port, logs in one session per virtual user and lets 50 users
browse pages, search and ask for matches for a bounded time and request count.
It prints throughput, p50/p95/p99 latency and errors (any status >= 400 or
transport failure), overall and per action. PostgreSQL runs in a fresh schema
of the ``test`` database at 127.0.0.1:5432, dropped afterwards.

Nothing leaves the machine: the server binds 127.0.0.1 and clients connect there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_BASE = os.environ.get("POSTGRES_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "load-test-password-1"
SERVER_TIMING_RE = re.compile(r"\bapp;dur=([0-9.]+)")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


# --------------------------------------------------------------------- data

def interchange_document(n_enterprises: int, n_tenders: int, seed: int = 0) -> dict[str, Any]:
    """The synthetic registry and tenders as one interchange document."""
    from bench.synthetic import make_enterprises, make_tenders

    ents = []
    for e in make_enterprises(n_enterprises, seed=seed, words=40):
        doc: dict[str, Any] = {
            "ref": e.ref, "name": e.name, "description": e.description, "cpv": list(e.cpv),
            "municipality": e.municipality, "lat": round(e.lat, 6), "lon": round(e.lon, 6),
            "service_radius_km": e.service_radius_km, "target_groups": list(e.target_groups),
            "themes": list(e.themes),
            "capacity": {"placements_per_year": e.capacity.placements_per_year,
                         "purchasing_eur_per_year": e.capacity.purchasing_eur_per_year},
            "target_group_share": round(e.target_group_share or 0.0, 3),
            "trade_income_share": round(e.trade_income_share or 0.0, 3),
            "certifications": [{"scheme": c.scheme, "level": c.level,
                                "valid_until": c.valid_until.isoformat() if c.valid_until
                                else None} for c in e.certifications],
        }
        v = e.vetting
        vet: dict[str, Any] = {"status": v.status}
        if v.by:
            vet["by"] = v.by
        if v.on:
            vet["on"] = v.on.isoformat()
        if v.valid_until:
            vet["valid_until"] = v.valid_until.isoformat()
        doc["vetting"] = vet
        ents.append(doc)
    tenders = []
    for t in make_tenders(n_tenders, seed=seed + 1, words=30):
        s = t.sroi
        sroi: dict[str, Any] = {"percentage": s.percentage} if s else {}
        if s and s.target_groups:
            sroi["target_groups"] = list(s.target_groups)
        if s and s.region_km:
            sroi["region_km"] = s.region_km
        tenders.append({
            "ref": t.ref, "buyer": t.buyer, "title": t.title, "description": t.description,
            "cpv": list(t.cpv), "contract_value_eur": t.contract_value_eur,
            "municipality": t.municipality, "sroi": sroi,
            "start": "2026-03-01", "end": "2029-12-31",
            "extra": {"reserved": bool(s and s.reserved)},
        })
    return {"enterprises": ents, "tenders": tenders}


def populate(url: str, n_enterprises: int, n_tenders: int) -> dict[str, Any]:
    """Migrate, import the synthetic document through the import service, add users."""
    from sqlmodel import Session, select

    from api.db import make_engine
    from api.migrate import upgrade
    from api.security import hash_password
    from api.services.importing import import_files
    from api.tables import TenderRow, User

    upgrade(url)
    doc = interchange_document(n_enterprises, n_tenders)
    engine = make_engine(url)
    t0 = time.perf_counter()
    # One file per 2,000 enterprises: each file is one transaction and within the size limit.
    files = [("tenders.json", json.dumps({"tenders": doc["tenders"]}).encode())]
    ents = doc["enterprises"]
    for i in range(0, len(ents), 2000):
        files.append((f"enterprises-{i // 2000}.json",
                      json.dumps({"enterprises": ents[i:i + 2000]}).encode()))
    with Session(engine) as session:
        report = import_files(session, files, on_duplicate="keep-both")
        if not report.ok:
            raise SystemExit(f"import failed: {json.dumps(report.to_dict())[:2000]}")
        seconds = time.perf_counter() - t0
        buyer = session.exec(select(TenderRow.buyer).where(TenderRow.ref == "T-000000")).one()
        pw = hash_password(PASSWORD)
        users = [("connector@load.test", "connector", None), ("admin@load.test", "admin", None),
                 ("officer@load.test", "officer", buyer)]
        for email, role, org in users:
            session.add(User(email=email, name=role, role=role, organisation=org,
                             password_hash=pw))
        session.commit()
    engine.dispose()
    return {"import_seconds": seconds, "buyer": buyer, "users": [u[0] for u in users]}


# --------------------------------------------------------------------- server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, port: int, log_path: Path, workers: int = 1, threads: int | None = None
           ) -> Iterator[subprocess.Popen[bytes]]:
    """uvicorn on 127.0.0.1:port (one process, the deployment default) until the block ends.
    Keep-alive 30 s as `make run`: users idle while the others log in, and uvicorn's 5 s
    default closed such connections just as a request went out (a transport error)."""
    env = {**os.environ, "DATABASE_URL": url, "TODAY": "2026-01-15",
           "LOGIN_RATE_LIMIT_PER_MINUTE": "1000", "SECRET_KEY": uuid.uuid4().hex}
    if threads:
        env["WEB_THREADS"] = str(threads)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log",
             "--workers", str(workers), "--timeout-keep-alive", "30"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_up(port, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 240.0) -> None:
    # Generous: on the shared machine at load 12 the start-up (and the index build in its
    # warm-up thread) took over a minute.
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not come up")


# --------------------------------------------------------------------- users

@dataclass
class Sample:
    action: str
    ms: float
    status: int  # 0: transport error
    error: str = ""  # the transport error's class name
    server_ms: float | None = None  # the app's own Server-Timing: handler, not the queue
    at: float = 0.0  # when it was sent (time.perf_counter())


@dataclass
class Workload:
    enterprise_refs: list[str]
    tender_refs: list[str]
    words: list[str]
    municipalities: list[str]
    samples: list[Sample] = field(default_factory=list)


ACTIONS = (  # (name, weight)
    ("page: enterprise list", 10), ("page: enterprise", 10), ("page: tender list", 6),
    ("page: tender", 6), ("api: tender list", 6), ("search: api", 20), ("search: page", 10),
    ("matches: tender", 20), ("page: dashboard", 4), ("api: enterprise", 8),
)


def _request_for(action: str, w: Workload, rng: random.Random) -> tuple[str, dict[str, Any]]:
    e = rng.choice(w.enterprise_refs)
    t = rng.choice(w.tender_refs)
    word = rng.choice(w.words)
    if action == "page: enterprise list":
        return "/enterprises", {"page": rng.randint(1, 20)}
    if action == "page: enterprise":
        return f"/enterprises/{e}", {}
    if action == "page: tender list":
        return "/tenders", {}
    if action == "page: tender":
        return f"/tenders/{t}", {}
    if action == "api: tender list":
        return "/api/v1/tenders", {"page": rng.randint(1, 10), "per_page": 50}
    if action == "search: api":
        params: dict[str, Any] = {"q": word}
        if rng.random() < 0.5:
            params.update(municipality=rng.choice(w.municipalities), km=30)
        return "/api/v1/search", params
    if action == "search: page":
        return "/enterprises", {"q": word}
    if action == "matches: tender":
        return f"/api/v1/tenders/{t}/matches", {"top": 10}
    if action == "page: dashboard":
        return "/dashboard", {}
    return f"/api/v1/enterprises/{e}", {}


async def _login(client: Any, email: str) -> None:
    page = await client.get("/login")
    m = CSRF_RE.search(page.text)
    if not m:
        raise RuntimeError("no csrf token on /login")
    r = await client.post("/login", data={"email": email, "password": PASSWORD,
                                          "csrf_token": m.group(1), "next": "/"})
    if r.status_code != 303:
        raise RuntimeError(f"login of {email} failed: {r.status_code}")


async def _user(i: int, client: Any, w: Workload, deadline: float, budget: list[int],
                mounted: set[str]) -> None:
    import httpx

    rng = random.Random(i)
    names = [a for a, _ in ACTIONS if a in mounted]
    weights = [wt for a, wt in ACTIONS if a in mounted]
    if not names:
        raise RuntimeError("none of the chosen actions is mounted in this checkout")
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        action = rng.choices(names, weights)[0]
        path, params = _request_for(action, w, rng)
        t0 = time.perf_counter()
        error, server = "", None
        try:
            r = await client.get(path, params=params)
            status = r.status_code
            server = server_ms(r.headers.get("server-timing", ""))
        except httpx.HTTPError as exc:
            status, error = 0, type(exc).__name__
        w.samples.append(Sample(action, (time.perf_counter() - t0) * 1000, status, error,
                                server, t0))


def server_ms(header: str) -> float | None:
    """The ``app;dur=`` of a Server-Timing header: from the app's middleware to its response
    (the handler, and its wait for a handler thread), without the time before the worker's
    event loop got to the request. Total minus this is queueing outside the app."""
    m = SERVER_TIMING_RE.search(header)
    return float(m.group(1)) if m else None


async def run_users(base: str, emails: list[str], w: Workload, users: int, duration: float,
                    max_requests: int, mounted: set[str]) -> float:
    """Log every user in first (argon2 is slow on purpose), then start the clock."""
    import httpx

    clients = [httpx.AsyncClient(base_url=base, timeout=120.0, follow_redirects=False)
               for _ in range(users)]
    try:
        gate = asyncio.Semaphore(4)

        async def login(i: int) -> None:
            async with gate:
                await _login(clients[i], emails[i % len(emails)])

        await asyncio.gather(*(login(i) for i in range(users)))
        budget = [max_requests]
        t0 = time.perf_counter()
        deadline = time.monotonic() + duration
        await asyncio.gather(*(_user(i, clients[i], w, deadline, budget, mounted)
                               for i in range(users)))
        return time.perf_counter() - t0
    finally:
        for c in clients:
            await c.aclose()


def _warm_paths(action: str, w: Workload) -> list[tuple[str, dict[str, Any]]]:
    """Every distinct request of ``action`` the run may make (its whole key space)."""
    if action == "page: tender":
        return [(f"/tenders/{t}", {}) for t in w.tender_refs]
    if action == "matches: tender":
        return [(f"/api/v1/tenders/{t}/matches", {"top": 10}) for t in w.tender_refs]
    if action == "search: page":
        return [("/enterprises", {"q": word}) for word in w.words]
    return []


async def warm_up(base: str, emails: list[str], w: Workload, users: int, passes: int,
                  actions: set[str]) -> tuple[int, float]:
    """``passes`` times, every distinct request of ``actions`` once, spread over the
    users; each pass on new connections, so that with several worker processes each one
    gets a share (a worker's cache is its own). Returns (requests, seconds)."""
    import httpx

    paths = [p for a in sorted(actions) for p in _warm_paths(a, w)]
    t0, n = time.perf_counter(), 0
    for k in range(passes):
        clients = [httpx.AsyncClient(base_url=base, timeout=120.0, follow_redirects=False)
                   for _ in range(users)]
        try:
            gate = asyncio.Semaphore(4)

            async def login(i: int, clients: list[Any] = clients,
                            gate: asyncio.Semaphore = gate) -> None:
                async with gate:
                    await _login(clients[i], emails[i % len(emails)])

            await asyncio.gather(*(login(i) for i in range(users)))
            order = paths[:]
            random.Random(k).shuffle(order)

            async def walk(i: int, clients: list[Any] = clients, order: list[Any] = order
                           ) -> None:
                for path, params in order[i::users]:
                    r = await clients[i].get(path, params=params)
                    if r.status_code >= 400:
                        raise RuntimeError(f"warm-up {path}: {r.status_code}")

            await asyncio.gather(*(walk(i) for i in range(users)))
            n += len(order)
        finally:
            for c in clients:
                await c.aclose()
    return n, time.perf_counter() - t0


def mounted_actions(base: str, cookies_email: str) -> set[str]:
    """Actions whose pages exist in this checkout (a page not written yet is left out)."""
    import httpx

    out = set()
    with httpx.Client(base_url=base, timeout=120) as c:
        page = c.get("/login")
        token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
        c.post("/login", data={"email": cookies_email, "password": PASSWORD,
                               "csrf_token": token, "next": "/"})
        probes = {a: _request_for(a, Workload(["E-000001"], ["T-000001"], ["schoonmaak"],
                                              ["GM0344"]), random.Random(0)) for a, _ in ACTIONS}
        for action, (path, params) in probes.items():
            # Also warms caches (the first matches request builds the engine's index).
            if c.get(path, params=params).status_code != 404:
                out.add(action)
    return out


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# --------------------------------------------------------------------- databases

@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        d = tempfile.mkdtemp(prefix="sroi-load-")
        try:
            yield f"sqlite:///{d}/load.db"
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return
    from sqlalchemy import text

    from api.db import make_engine

    schema = f"load_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_one(kind: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    with database(kind) as url:
        t0 = time.perf_counter()
        info = populate(url, args.enterprises, args.tenders)
        print(f"[{kind}] imported {args.enterprises} enterprises + {args.tenders} tenders in "
              f"{info['import_seconds']:.1f} s (setup {time.perf_counter() - t0:.1f} s)",
              file=sys.stderr)
        from bench.synthetic import WORDS

        rng = random.Random(3)
        w = Workload(enterprise_refs=[f"E-{i:06d}" for i in range(args.enterprises)],
                     tender_refs=[f"T-{i:06d}" for i in range(args.tenders)],
                     words=rng.sample(WORDS, 60),
                     municipalities=["GM0344", "GM0363", "GM0599", "GM0518", "GM0014"])
        port = args.port or free_port()
        log_path = Path(tempfile.gettempdir()) / f"sroi-load-{kind}-{port}.log"
        runs: list[tuple[str, Workload, float]] = []
        with server(url, port, log_path, args.workers, args.threads):
            base = f"http://127.0.0.1:{port}"
            mounted = mounted_actions(base, "connector@load.test")
            emails = ["connector@load.test", "admin@load.test"]
            chosen: list[str] = []
            if args.actions:
                unknown = set(args.actions) - {a for a, _ in ACTIONS}
                if unknown:
                    raise SystemExit(f"unknown action(s): {sorted(unknown)}")
                chosen = [a for a in args.actions if a in mounted]
            # --each: one run per action (its own throughput), else one mixed run.
            groups = [[a] for a in chosen] if args.actions and args.each else \
                [chosen if args.actions else sorted(mounted)]
            # --rounds 2: each group again on the same server; the second round finds what
            # the first one cached (the steady state of a server that has run for a while).
            if args.warm_passes:
                n, secs = asyncio.run(warm_up(base, emails, w, args.users, args.warm_passes,
                                              set(chosen or mounted)))
                print(f"[{kind}] warm-up: {n:,} requests in {secs:.1f} s "
                      f"({args.warm_passes} pass(es) over every tender / search word)",
                      file=sys.stderr)
            for rnd in range(1, args.rounds + 1):
                for group in groups:
                    wg = replace(w, samples=[])
                    elapsed = asyncio.run(run_users(base, emails, wg, args.users,
                                                    args.duration, args.max_requests,
                                                    set(group)))
                    label = kind if len(groups) == 1 else f"{kind}: {group[0]}"
                    if args.rounds > 1:
                        label += f" (round {rnd})"
                    runs.append((label, wg, elapsed))
        log_text = log_path.read_text(errors="replace")
    if args.samples:
        write_samples(args.samples, runs)
    return [_result(label, wg, elapsed, info, log_text) for label, wg, elapsed in runs]


def write_samples(path: Path, runs: list[tuple[str, Workload, float]]) -> None:
    """Every request of every run as CSV (seconds since its run's first request), to see
    when the slow ones happened."""
    import csv

    new = not path.exists()
    with path.open("a", newline="") as f:
        out = csv.writer(f)
        if new:
            out.writerow(["run", "action", "sent_s", "ms", "server_ms", "status"])
        for label, wg, _ in runs:
            start = min((s.at for s in wg.samples), default=0.0)
            for s in wg.samples:
                out.writerow([label, s.action, f"{s.at - start:.3f}", f"{s.ms:.1f}",
                              "" if s.server_ms is None else f"{s.server_ms:.1f}", s.status])


def _result(kind: str, w: Workload, elapsed: float, info: dict[str, Any], log_text: str
            ) -> dict[str, Any]:
    samples = w.samples
    errors = [s for s in samples if s.status == 0 or s.status >= 400]
    by_action: dict[str, list[float]] = defaultdict(list)
    server_by_action: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        by_action[s.action].append(s.ms)
        if s.server_ms is not None:
            server_by_action[s.action].append(s.server_ms)
    ms = [s.ms for s in samples]
    return {
        "db": kind, "requests": len(samples), "seconds": elapsed,
        "throughput": len(samples) / elapsed if elapsed else 0.0,
        "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
        "errors": len(errors), "error_statuses": sorted({e.status for e in errors}),
        "transport_errors": sorted({e.error for e in errors if e.error}),
        "by_action": {a: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95),
                          "p99": pct(v, 99),
                          "server_p50": pct(server_by_action[a], 50),
                          "server_p95": pct(server_by_action[a], 95),
                          "server_p99": pct(server_by_action[a], 99)}
                      for a, v in sorted(by_action.items())},
        "import_seconds": info["import_seconds"],
        "server_errors_logged": log_text.count("Traceback"),
    }


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\n{args.users} users, {args.enterprises:,} enterprises, {args.tenders:,} tenders, "
          f"{args.duration:.0f} s or {args.max_requests:,} requests, {args.workers} worker(s)\n")
    print("| database | requests | seconds | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['db']} | {r['requests']:,} | {r['seconds']:.1f} | {r['throughput']:.1f} | "
              f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {r['errors']} |")
    for r in results:
        print(f"\n{r['db']}: per action (import took {r['import_seconds']:.1f} s)\n")
        print("| action | requests | p50 ms | p95 ms | p99 ms "
              "| in the app: p50 ms | p95 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for action, a in r["by_action"].items():
            print(f"| {action} | {a['n']:,} | {a['p50']:.0f} | {a['p95']:.0f} | {a['p99']:.0f} "
                  f"| {a['server_p50']:.0f} | {a['server_p95']:.0f} | {a['server_p99']:.0f} |")
        if r["errors"]:
            print(f"\nerror statuses: {r['error_statuses']} {r['transport_errors']}; tracebacks "
                  f"in the server log: {r['server_errors_logged']}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--enterprises", type=int, default=10_000)
    p.add_argument("--tenders", type=int, default=1_000)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load per database")
    p.add_argument("--max-requests", type=int, default=20_000)
    p.add_argument("--workers", type=int, default=1,
                   help="uvicorn worker processes (1: the `make run` deployment)")
    p.add_argument("--threads", type=int, default=None,
                   help="handler threads per worker (WEB_THREADS; default: the app's)")
    p.add_argument("--actions", nargs="+", metavar="ACTION",
                   help="only these actions (names as in the per-action table, quoted)")
    p.add_argument("--each", action="store_true",
                   help="with --actions: one run per action against the same server")
    p.add_argument("--rounds", type=int, default=1,
                   help="run the actions this many times against the same server "
                        "(round 2 and later: caches warm)")
    p.add_argument("--warm-passes", type=int, default=0,
                   help="before measuring, request every tender page / match list / search "
                        "word of the chosen actions this many times (a server that has run "
                        "for a while; with --workers N, more passes reach every worker)")
    p.add_argument("--port", type=int, default=0, help="serve on this port (default: a free one)")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--samples", type=Path,
                   help="append every request (run, action, when sent, ms, server ms, status) "
                        "to this CSV file")
    args = p.parse_args(argv)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = [r for kind in kinds for r in run_one(kind, args)]
    print_table(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(r["errors"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
