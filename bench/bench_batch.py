"""Batch ranking in one process and on a Dask LocalCluster (#17 item 4).

    .venv/bin/python -m bench.bench_batch                       # the issue's size: 100k x 10k
    .venv/bin/python -m bench.bench_batch --n 20000 --tenders 2000 --workers 2
    .venv/bin/python -m bench.bench_batch --scheduler tcp://host:8786   # a real cluster

Seeded synthetic registry and tenders (``bench/synthetic.py``). Prints one table: the
index build, ``rank_many`` in this process, and ``matcher.cluster.rank_many_cluster`` on
a LocalCluster of ``--workers`` single-threaded worker processes (or the scheduler
given), the first run including the index's transfer to every worker; and whether the
cluster's rows and scores equal the single process's bit for bit.

On the 2-core machine the cluster cannot beat one process by much: both cores are busy
either way (SciPy's sparse products already use both), and the cluster adds the
index's pickling and transfer. The point of the cluster is more machines: the work
splits by tenders with no merge, so N hosts take about 1/N of the ranking time plus the
transfer of the index once per worker.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from typing import Any

import numpy as np

from bench.synthetic import REFERENCE_DATE, make_enterprises, make_tenders
from matcher.cluster import rank_many_cluster
from matcher.index import EnterpriseIndex
from matcher.rank import rank_many


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


class _Table(list[tuple[str, str, str]]):
    """Rows printed as they are measured (a long run cut short keeps its first rows)."""

    def append(self, row: tuple[str, str, str]) -> None:
        super().append(row)
        name, value, note = row
        print(f"{name:<52}  {value:>16}  {note}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000, help="enterprises")
    p.add_argument("--tenders", type=int, default=10_000)
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    p.add_argument("--scheduler", help="a running Dask scheduler instead of a LocalCluster")
    args = p.parse_args(argv)

    print(f"\nBatch ranking: {args.tenders:,} tenders x {args.n:,} enterprises\n", flush=True)
    rows_out = _Table()
    t_gen, ents = _timed(lambda: make_enterprises(args.n, seed=0))
    tenders = make_tenders(args.tenders, seed=1)
    started = time.perf_counter()
    ix = EnterpriseIndex.build(ents, REFERENCE_DATE)
    t_build = time.perf_counter() - started
    del ents  # only the index from here on (memory)
    rows_out.append(("generate + build index", f"{t_gen:.1f} s + {t_build:.1f} s",
                     f"{args.n:,} enterprises"))
    cpu = time.process_time()
    t_one, (one_rows, one_scores) = _timed(lambda: rank_many(ix, tenders, top_k=args.top_k))
    cpu = time.process_time() - cpu
    rows_out.append(("rank, one process", f"{t_one:.1f} s",
                     f"{args.tenders:,} tenders, top {args.top_k}; "
                     f"{args.tenders / t_one:.0f} tenders/s; {cpu:.1f} s of CPU"))

    from distributed import Client, LocalCluster

    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
        where = args.scheduler
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address="127.0.0.1:8164",
                               memory_limit=0)
        client = Client(cluster)
        where = f"LocalCluster, {args.workers} worker processes x 1 thread"
    try:
        t_c1, (c_rows, c_scores) = _timed(
            lambda: rank_many_cluster(client, ix, tenders, top_k=args.top_k))
        same = bool(np.array_equal(c_rows, one_rows)) and bytes(
            np.ascontiguousarray(c_scores).data) == bytes(np.ascontiguousarray(one_scores).data)
        rows_out.append(("rank, cluster (with the index's transfer)", f"{t_c1:.1f} s", where))
        rows_out.append(("cluster result == one process (rows, score bits)", str(same), ""))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    rows_out.append(("peak memory of this process", f"{_rss_mb():,.0f} MB", ""))

    rows_out.append(("load average at the end (1 min, machine has "
                     f"{os.cpu_count()} cores)", f"{os.getloadavg()[0]:.1f}",
                     "others' work shares the cores: compare runs at a similar load"))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
