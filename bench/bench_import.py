"""Import benchmark: preview and write of a file of look-alike enterprise names.

    .venv/bin/python -m bench.bench_import                 # 3,000 and 10,000 enterprises
    .venv/bin/python -m bench.bench_import --sizes 1000

Seeded generator: every enterprise is in Utrecht and named from a small vocabulary
("Stichting Groene Schoonmaak Overvecht 17"), so thousands of names pair up as likely
duplicates (the case of issue #12: a 3,000-name file took 103 s, a 427 MB page and 3.8 GB).
Each measurement runs in a fresh subprocess on a fresh SQLite database, so the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that step's process alone: "preview"
is ``import_files(dry_run=True)`` with the default ``ask``; "write" is the same file
written with ``keep-both``. Also printed: the likely pairs found, the pairs the report
keeps, and the size of the JSON report's first page (what the API answers; the web page
shows the same page).
"""

from __future__ import annotations

import argparse
import json
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


def measure(n: int, step: str) -> dict[str, float]:
    """One step in this process (the subprocess side)."""
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
    ap.add_argument("--one", nargs=2, metavar=("N", "STEP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1])))
        return
    print("| enterprises | step | seconds | peak RSS | likely pairs | pairs kept | "
          "report page | new records |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        for step in ("preview", "write"):
            out = subprocess.run([sys.executable, "-m", "bench.bench_import", "--one",
                                  str(n), step], check=True, capture_output=True, text=True,
                                 cwd=Path(__file__).resolve().parents[1])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {n:,} | {step} | {r['seconds']:.1f} s | {r['rss_mb']:.0f} MB | "
                  f"{r['pairs']:,.0f} | {r['kept']:,.0f} | {r['page_kb']:.0f} KB | "
                  f"{r['written']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
