"""Batch ranking on a Dask cluster (#17 item 4): a LocalCluster of worker processes gives
exactly the single-process result of ``rank_many`` on a generated store — the same
enterprise rows and the same scores to the bit — whatever the parts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from bench.synthetic import REFERENCE_DATE, make_enterprises, make_tenders
from matcher.cluster import part_bounds, rank_many_cluster
from matcher.index import EnterpriseIndex
from matcher.rank import rank_many


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    # Processes, not threads: the index really crosses a process boundary (pickled),
    # as it does to a remote scheduler's workers.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:8162") as cluster, \
            Client(cluster) as c:
        yield c


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    # NaN pads compare equal, and -0.0 differs from 0.0: the bits, not the values.
    return a.shape == b.shape and a.dtype == b.dtype and bytes(a.data) == bytes(b.data)


def test_cluster_ranking_is_the_single_process_ranking(client: Any) -> None:
    ix = EnterpriseIndex.build(make_enterprises(1500, seed=3), REFERENCE_DATE)
    tenders = make_tenders(150, seed=4)
    one_rows, one_scores = rank_many(ix, tenders, top_k=20)
    assert (one_rows >= 0).sum() > 150 * 5  # a real ranking, not empty rows
    seen: list[tuple[int, int]] = []
    for part in (None, 64):  # the default split (whole blocks), and the smallest parts
        rows, scores = rank_many_cluster(client, ix, tenders, top_k=20, part=part,
                                         on_part=lambda d, t: seen.append((d, t)))
        assert np.array_equal(rows, one_rows)
        assert _same_bits(np.ascontiguousarray(scores), np.ascontiguousarray(one_scores))
    assert seen[-1] == (150, 150)


def test_parts_are_whole_blocks_covering_every_query() -> None:
    for m, workers in ((1, 1), (63, 2), (64, 2), (1000, 2), (10_000, 8)):
        bounds = part_bounds(m, workers)
        assert bounds[0][0] == 0 and bounds[-1][1] == m
        assert all(b == a2 for (_, b), (a2, _) in zip(bounds, bounds[1:], strict=False))
        assert all(a % 64 == 0 for a, _ in bounds)


def test_an_empty_batch_needs_no_cluster(client: Any) -> None:
    ix = EnterpriseIndex.build(make_enterprises(50, seed=1), REFERENCE_DATE)
    rows, scores = rank_many_cluster(client, ix, [], top_k=5)
    assert rows.shape == (0, 5) and scores.shape == (0, 5)


def test_the_batch_job_reaches_a_scheduler_by_its_address(client: Any) -> None:
    # DASK_SCHEDULER: api.services.batch connects a Client to the address (a remote
    # scheduler in a deployment; this LocalCluster's here) and gets the same arrays.
    from api.services.batch import rank_queries
    from matcher.query import from_tender
    from matcher.weights import DEFAULT

    ix = EnterpriseIndex.build(make_enterprises(400, seed=5), REFERENCE_DATE)
    queries = [from_tender(t) for t in make_tenders(70, seed=6)]
    progress: list[tuple[str, int, int]] = []
    rows, scores = rank_queries(ix, queries, DEFAULT, 10,
                                lambda s, d, t: progress.append((s, d, t)),
                                scheduler=client.scheduler.address)
    one_rows, one_scores = rank_queries(ix, queries, DEFAULT, 10)
    assert np.array_equal(rows, one_rows) and _same_bits(scores, one_scores)
    assert progress and progress[-1] == ("rank", 70, 70)
