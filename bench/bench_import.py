"""Import benchmark: preview and write of a file of look-alike enterprise names.

    .venv/bin/python -m bench.bench_import                 # 3,000 and 10,000 enterprises
    .venv/bin/python -m bench.bench_import --sizes 1000

Seeded generator: every enterprise is in Utrecht and named from a small vocabulary
("Stichting Groene Schoonmaak Overvecht 17"), so thousands of names pair up as likely
duplicates (the case of issue #12: a 3,000-name file took 103 s, a 427 MB page and 3.8 GB).
Each measurement runs in a fresh subprocess on a fresh SQLite database, so the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that step's process alone: "preview"
is ``import_files(dry_run=True)`` with the default ``ask``; "write" is the same file
written with ``keep-both``. "job preview" and "job write" are the same two through the
server's background job (``api.services.import_jobs.submit``, as the import page and the
API do: the file stored with the job, the import in its thread, the whole report stored),
timed from the upload until the job's page shows the preview or "done"; meanwhile another
thread plays a second user, reading a page of enterprises every 0.1 s, and its slowest
answer is printed ("other user, max"). Peak RSS is then the server process's. Also
printed: the likely pairs found, the pairs the report keeps, and the size of the JSON
report's first page (what the API answers; the web page shows the same page).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADJ = ["Groene", "Sociale", "Samen"]
NOUN = ["Schoonmaak", "Fietsenmaker"]
PLACE = ["Overvecht", "Zuilen"]
FORMS = ["Stichting", "", "B.V.", "Coöperatie"]
STEPS = ("preview", "write", "job preview", "job write")


def document(n: int, seed: int = 12) -> bytes:
    rnd = random.Random(seed)
    ents = []
    for i in range(n):
        form = rnd.choice(FORMS)
        name = f"{form} {rnd.choice(ADJ)} {rnd.choice(NOUN)} {rnd.choice(PLACE)} {i % 10}"
        ents.append({"ref": f"B-{i:05d}", "name": name.strip(),
                     "description": "Leerwerkbedrijf met werkplekken.", "cpv": ["90911200"],
                     "municipality": "Utrecht", "kvk": f"{40000000 + i}"})
    return json.dumps({"enterprises": ents}).encode()


def measure_job(n: int, step: str) -> dict[str, float]:
    """One import through the background job, with a second user reading meanwhile."""
    import threading

    from sqlmodel import Session, SQLModel, select

    from api.db import make_engine
    from api.services import import_jobs
    from api.tables import EnterpriseRow, ImportJob, User

    data = document(n)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")  # the server's settings (WAL…)
        SQLModel.metadata.create_all(engine)
        with Session(engine) as s:
            user = User(email="bench@example.nl", password_hash="-", role="connector")
            s.add(user)
            s.commit()
            s.refresh(user)
        waits: list[float] = []
        stop = threading.Event()

        def other_user() -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                with Session(engine) as s:
                    s.exec(select(EnterpriseRow).order_by(EnterpriseRow.name).limit(20)).all()
                waits.append(time.perf_counter() - t0)
                time.sleep(0.1)

        reader = threading.Thread(target=other_user, daemon=True)
        reader.start()
        start = time.perf_counter()
        write = step == "job write"
        job_id = import_jobs.submit(engine, user, [("bench.json", data)],
                                    on_duplicate="keep-both" if write else "ask", write=write)
        import_jobs.wait_idle(3600)
        seconds = time.perf_counter() - start
        stop.set()
        reader.join()
        with Session(engine) as s:
            job = s.get(ImportJob, job_id)
            assert job is not None and job.state in ("preview_ready", "done"), job
            view = import_jobs.view(job, 1)
            kept = len(job.report["files"][0]["duplicates"])
        f = view["report"]["files"][0]
        engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss_mb, "pairs": f["duplicates_total"],
            "kept": kept,
            "page_kb": len(json.dumps(view)) / 1024, "written": f["created"],
            "other_max_ms": max(waits) * 1000 if waits else 0.0, "rows": view["rows_done"]}


def measure(n: int, step: str) -> dict[str, float]:
    """One step in this process (the subprocess side)."""
    if step.startswith("job"):
        return measure_job(n, step)
    from sqlmodel import Session, SQLModel, create_engine

    import api.tables  # noqa: F401  (the tables' metadata)
    from api.services.importing import import_files

    data = document(n)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            start = time.perf_counter()
            if step == "preview":
                report = import_files(session, [("bench.json", data)], "ask", dry_run=True)
            else:
                report = import_files(session, [("bench.json", data)], "keep-both")
            seconds = time.perf_counter() - start
            f = report.files[0]
            page = len(json.dumps(report.to_dict(1)))
        engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss_mb, "pairs": f.duplicates_total,
            "kept": len(f.duplicates), "page_kb": page / 1024,
            "written": f.created}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[3000, 10000])
    ap.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS)
    ap.add_argument("--one", nargs=2, metavar=("N", "STEP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1])))
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| enterprises | step | seconds | peak RSS | other user, max | likely pairs | "
          "pairs kept | report page | new records |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        for step in args.steps:
            out = subprocess.run([sys.executable, "-m", "bench.bench_import", "--one",
                                  str(n), step], check=True, capture_output=True, text=True,
                                 cwd=Path(__file__).resolve().parents[1])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            other = f"{r['other_max_ms']:.0f} ms" if "other_max_ms" in r else "–"
            print(f"| {n:,} | {step} | {r['seconds']:.1f} s | {r['rss_mb']:.0f} MB | {other} | "
                  f"{r['pairs']:,.0f} | {r['kept']:,.0f} | {r['page_kb']:.0f} KB | "
                  f"{r['written']:,.0f} |", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
