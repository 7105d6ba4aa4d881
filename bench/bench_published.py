"""Published-notice import benchmark: N eForms notices, one file each, through the one
import pipeline (``api.services.importing.import_files(format="eforms")``).

    .venv/bin/python -m bench.bench_published                  # 1,000 and 10,000 notices
    .venv/bin/python -m bench.bench_published --sizes 2000 --postgres

Notices: the eForms SDK's open-procedure contract notice (tests/data/eforms/cn_24_open.xml)
with a seeded procedure identifier, notice identifier, title, CPV code and Dutch NUTS3 region
per copy, so every notice is a new tender with a Dutch place. Each size runs in a fresh
subprocess on a fresh database: an SQLite file with the app's settings (``api.db``: WAL,
``synchronous=FULL``), or a fresh schema on PostgreSQL with ``--postgres``. So the peak RSS
(``ru_maxrss``) is that import's process alone; CPU is the process's user + system time,
the figure to read when the machine is shared (wall time then includes waiting for the
cores). "parse" is the parser alone, "import" parses and writes.
Target (issue #13 item 9): 10,000 notices imported in under 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "tests" / "data" / "eforms" / "cn_24_open.xml"
CPV = ["90911200", "77310000", "55321000", "85311300", "79710000", "90600000", "45233141"]
NUTS = ["NL329", "NL414", "NL310", "NL333", "NL226", "NL212", "NL327"]
TARGET_S = 60.0


def notices(n: int, seed: int = 13) -> list[tuple[str, bytes]]:
    rnd = random.Random(seed)
    base = TEMPLATE.read_bytes()
    folder = re.search(rb"<cbc:ContractFolderID>([^<]+)<", base)
    notice = re.search(rb'<cbc:ID schemeName="notice-id">([^<]+)<', base)
    assert folder and notice, "template notice changed"
    cpv = re.search(rb'listName="cpv">(\d{8})<', base)
    nuts = re.search(rb'<cbc:CountrySubentityCode listName="nuts">([^<]+)<', base)
    out = []
    for i in range(n):
        data = base.replace(folder.group(1), str(uuid.UUID(int=rnd.getrandbits(128))).encode())
        data = data.replace(notice.group(1), str(uuid.UUID(int=rnd.getrandbits(128))).encode())
        if cpv:
            data = data.replace(cpv.group(0), b'listName="cpv">' + rnd.choice(CPV).encode()
                                + b"<", 1)
        if nuts:
            data = data.replace(nuts.group(1), rnd.choice(NUTS).encode())
        data = data.replace(b"<cbc:Name languageID=\"ENG\">",
                            f"<cbc:Name languageID=\"ENG\">Notice {i:05d} ".encode(), 1)
        out.append((f"notice-{i:05d}.xml", data))
    return out


def measure(n: int, step: str, url: str | None) -> dict[str, float]:
    """One measurement in this process (the subprocess side)."""
    from sqlalchemy import text
    from sqlmodel import Session, SQLModel, create_engine

    import api.tables  # noqa: F401  (the tables' metadata)
    from api.db import make_engine
    from api.importers.eforms import parse_eforms
    from api.services.importing import import_files

    files = notices(n)
    with tempfile.TemporaryDirectory() as tmp:
        # The app's own engine: WAL and synchronous=FULL on SQLite, as served.
        engine = make_engine(url or f"sqlite:///{tmp}/bench.db")
        if url:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS bench_published CASCADE"))
                conn.execute(text("CREATE SCHEMA bench_published"))
            engine = create_engine(url, connect_args={
                "options": "-csearch_path=bench_published"})
        SQLModel.metadata.create_all(engine)
        cpu0 = time.process_time()
        start = time.perf_counter()
        written = 0
        if step == "parse":
            written = sum(len(parse_eforms(data, name).tenders) for name, data in files)
        else:
            with Session(engine) as session:
                report = import_files(session, files, format="eforms")
                written = sum(f.created for f in report.files)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        if url:
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS bench_published CASCADE"))
        engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "cpu": cpu, "rss_mb": rss_mb, "written": written}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--postgres", action="store_true",
                    help="also on PostgreSQL (POSTGRES_TEST_URL, default "
                    "postgresql://postgres@127.0.0.1:5432/test)")
    ap.add_argument("--one", nargs=3, metavar=("N", "STEP", "URL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        n, step, url = args.one
        print(json.dumps(measure(int(n), step, None if url == "-" else url)))
        return
    databases = [("SQLite", "-")]
    if args.postgres:
        databases.append(("PostgreSQL", os.environ.get(
            "POSTGRES_TEST_URL", "postgresql://postgres@127.0.0.1:5432/test")))
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| notices | database | step | wall s | CPU s | notices/s | peak MB | written | "
          "target |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---|")
    for n in args.sizes:
        for db, url in databases:
            for step in ("parse", "import"):
                if step == "parse" and db != "SQLite":
                    continue
                out = subprocess.run([sys.executable, "-m", "bench.bench_published", "--one",
                                      str(n), step, url], check=True, capture_output=True,
                                     text=True, cwd=ROOT)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                target = ""
                if n >= 10000 and step == "import":
                    scaled = r["seconds"] * 10000 / n
                    target = f"< {TARGET_S:.0f} s: {'ok' if scaled < TARGET_S else 'MISSED'}"
                print(f"| {n:,} | {db} | {step} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
                      f"{n / r['seconds']:,.0f} | {r['rss_mb']:.0f} | {r['written']:,.0f} | "
                      f"{target} |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
