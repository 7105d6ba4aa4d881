"""Batch ranking on a Dask cluster: the same rows and scores as ``matcher.rank.rank_many``
in one process, with the queries split over the cluster's workers.

Partitioned by queries (tenders), never by enterprises: a query's top-k and its scores
depend on the whole registry (its shortlist, the normalisation of its text scores), so
splitting the registry would need a merge that could differ in the last bit. Each part
is a whole number of ``rank_many`` blocks, ranked by the same ``rank_many`` the single
process runs; a query's result depends only on the query and the index, so the parts
put side by side are the single-process result exactly (tests/test_cluster.py checks
every row and every score's bits).

The index is sent once to each worker (``Client.scatter(broadcast=True)``), not once per
part. ``client`` is any ``distributed.Client``: a ``LocalCluster`` in the tests and the
benchmark, a remote scheduler (``Client("tcp://host:8786")``) in a deployment; the code
is the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.index import EnterpriseIndex
from matcher.model import Challenge, Obligation, Tender
from matcher.query import Query, as_query
from matcher.rank import DEFAULT_SHORTLIST, rank_many
from matcher.weights import DEFAULT, WeightSet

BLOCK = 64


def _part(index: EnterpriseIndex, queries: Sequence[Query], weights: WeightSet, top_k: int,
          block: int, shortlist: int, start: int
          ) -> tuple[int, NDArray[np.int64], NDArray[np.float64]]:
    rows, score = rank_many(index, queries, weights, top_k=top_k, block=block,
                            shortlist=shortlist)
    return start, rows, score


def part_bounds(m: int, workers: int, block: int = BLOCK, part: int | None = None
                ) -> list[tuple[int, int]]:
    """Query ranges of whole blocks, about four per worker (a slow part does not idle
    the others)."""
    step = part or max(block, math.ceil(math.ceil(m / (4 * max(workers, 1))) / block) * block)
    return [(a, min(a + step, m)) for a in range(0, m, step)]


def rank_many_cluster(
    client: Any,
    index: EnterpriseIndex,
    items: Sequence[Tender | Obligation | Challenge | Query],
    weights: WeightSet = DEFAULT,
    top_k: int = 50,
    block: int = BLOCK,
    shortlist: int = DEFAULT_SHORTLIST,
    part: int | None = None,
    on_part: Callable[[int, int], None] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """``rank_many`` over a Dask cluster: (rows[m, k], scores[m, k]), the same arrays.
    ``on_part(done, total)`` after each part arrives (progress; it may raise to stop:
    the parts not yet run are cancelled)."""
    from distributed import as_completed

    queries = [as_query(x) for x in items]
    m = len(queries)
    out_rows = np.full((m, top_k), -1, dtype=np.int64)
    out_score = np.full((m, top_k), np.nan)
    if m == 0:
        return out_rows, out_score
    workers = len(client.scheduler_info().get("workers", {})) or 1
    bounds = part_bounds(m, workers, block, part)
    index_f = client.scatter(index, broadcast=True)
    weights_f = client.scatter(weights, broadcast=True)
    futures = [client.submit(_part, index_f, queries[a:b], weights_f, top_k, block,
                             shortlist, a, pure=False) for a, b in bounds]
    done = 0
    try:
        for fut in as_completed(futures):
            a, rows, score = fut.result()
            out_rows[a:a + len(rows)] = rows
            out_score[a:a + len(rows)] = score
            done += len(rows)
            if on_part is not None:
                on_part(done, m)
    finally:
        client.cancel(futures)
        client.cancel([index_f, weights_f])
    return out_rows, out_score


def rank_many_on(
    scheduler: str | None,
    index: EnterpriseIndex,
    items: Sequence[Tender | Obligation | Challenge | Query],
    weights: WeightSet = DEFAULT,
    top_k: int = 50,
    chunk: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """``rank_many`` on the Dask cluster at ``scheduler`` (an address), or in this
    process when it is None, ``chunk`` queries at a time with ``progress(done, total)``
    after each (a whole number of blocks, so the same arrays as one call)."""
    if scheduler:
        from distributed import Client

        with Client(scheduler, timeout="10s") as client:
            return rank_many_cluster(client, index, items, weights, top_k=top_k,
                                     on_part=progress)
    m = len(items)
    rows = np.full((m, top_k), -1, dtype=np.int64)
    score = np.full((m, top_k), np.nan)
    for a in range(0, m, chunk):
        r, s = rank_many(index, items[a:a + chunk], weights, top_k=top_k)
        rows[a:a + len(r)], score[a:a + len(r)] = r, s
        if progress is not None:
            progress(min(a + chunk, m), m)
    return rows, score
