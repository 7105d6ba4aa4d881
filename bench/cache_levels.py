"""CPU per request at each level of the render cache (issue #17 item 3).

    .venv/bin/python -m bench.cache_levels [--n 30]

On the 10,000-enterprise / 1,000-tender PostgreSQL store of ``bench.load``, the handlers
run inline in this process (the test client: the whole ASGI stack, logged in as a
connector). For the tender page, the match API and the search page, ``--n`` requests
each: first built (and stored in both levels), then again with the process-local LRU
cleared (what a web worker that has not seen them pays: read from the shared level,
``api.services.shared_cache``), then again (from the LRU). ``time.process_time`` per
request, median and mean in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=30, help="requests per page and level")
    args = p.parse_args(argv)
    from bench.load import PASSWORD, database, populate

    os.environ["TODAY"] = "2026-01-15"
    os.environ["LOGIN_RATE_LIMIT_PER_MINUTE"] = "1000"
    os.environ.pop("REDIS_URL", None)
    with database("postgres") as url:
        os.environ["DATABASE_URL"] = url
        populate(url, 10_000, 1_000)
        from api import settings as api_settings

        api_settings.get_settings.cache_clear()
        from fastapi.testclient import TestClient

        from api.app import create_app
        from api.db import get_engine
        from api.services import render_cache, shared_cache
        from bench.bench_pages import _login

        n = args.n
        words = ["schoon", "groen", "catering", "beveiliging", "drukwerk", "post", "zorg",
                 "bouw", "transport", "ict"]
        pages = (
            ("tender page", [f"/tenders/T-{i:06d}?lang=nl" for i in range(n)]),
            ("match API", [f"/api/v1/tenders/T-{i:06d}/matches?top=10&lang=nl"
                           for i in range(100, 100 + n)]),
            ("search page", [f"/enterprises?q={w}&page={k}&lang=nl"
                             for w in words for k in range(1, 1 + -(-n // len(words)))][:n]),
        )
        with TestClient(create_app(), follow_redirects=False) as c:
            _login(c, "connector@load.test", PASSWORD)
            # The match index and the search table: built once per process, not measured.
            for warm in ("/tenders/T-000999?lang=nl", "/enterprises?q=zorg&lang=nl",
                         "/api/v1/tenders/T-000999/matches?top=10&lang=nl"):
                c.get(warm)
            print(f"shared level: {shared_cache.status(get_engine())}")
            print("| request | built | from the shared level | from the process's LRU |")
            print("|---|---:|---:|---:|")
            for name, paths in pages:
                cells = []
                for level in ("built", "shared", "lru"):
                    if level == "shared":
                        render_cache.clear()
                    ms = []
                    for path in paths:
                        t0 = time.process_time()
                        r = c.get(path)
                        ms.append((time.process_time() - t0) * 1000)
                        if r.status_code != 200:
                            raise SystemExit(f"GET {path}: {r.status_code}")
                    cells.append(f"{statistics.median(ms):.1f} ({statistics.mean(ms):.1f})")
                print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
