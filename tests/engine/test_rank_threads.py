"""A web process ranks on one shared index from many request threads at once: every
query must get exactly what it gets alone (rows, scores, features)."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np

from bench.synthetic import make_enterprises, make_tenders
from matcher.index import EnterpriseIndex
from matcher.query import from_tender
from matcher.rank import Ranked, rank_query


def test_ranking_in_eight_threads_equals_ranking_alone() -> None:
    ents = make_enterprises(2000, seed=3)
    tenders = make_tenders(300, seed=5)
    alone = EnterpriseIndex.build(ents, reference_date=date(2026, 1, 15))
    want = [rank_query(alone, from_tender(t), top_k=10) for t in tenders]
    # A second index: its analyzer has not seen the tenders' words (they are stemmed
    # while the threads rank, as a web process meets new text).
    shared = EnterpriseIndex.build(ents, reference_date=date(2026, 1, 15))
    got: list[Ranked | None] = [None] * len(tenders)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        for i in range(k, len(tenders), 8):
            try:
                got[i] = rank_query(shared, from_tender(tenders[i]), top_k=10)
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    differ = [i for i, (w, g) in enumerate(zip(want, got, strict=True))
              if g is None or not (np.array_equal(w.rows, g.rows)
                                   and np.array_equal(w.score, g.score, equal_nan=True)
                                   and np.array_equal(w.X, g.X, equal_nan=True))]
    assert differ == []
