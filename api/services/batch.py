"""The work of the background jobs (``api.services.jobs.KINDS``): each gets the job's
session (its writes and the job's end state are one transaction), its parameters and a
progress callback, and returns a small JSON result shown with the job.

* ``allocate``: the global allocation of every open obligation
  (``planning.allocate_all``), saved as planned rows (``save_allocation``).
* ``learn``: learning weights from the curation log (``learning.learn_from_log``).
* ``rank_tenders``: every open tender ranked against the whole registry, its top
  enterprises stored in ``tender_ranking`` (the previous run's rows replaced). With
  ``DASK_SCHEDULER`` set the ranking runs on that Dask cluster
  (``matcher.cluster.rank_many_cluster``): the same rows and scores.

The stored ranking is the engine's (the active weights, no curation): the tender page
applies the connectors' decisions on top when it shows one tender.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from api.convert import tender_from_row
from api.errors import Invalid
from api.importers.common import CLOSED_STATUSES
from api.settings import get_settings
from api.tables import TenderRankingRow, TenderRow
from matcher.cluster import rank_many_on
from matcher.index import EnterpriseIndex
from matcher.query import Query, from_tender
from matcher.weights import WeightSet

Progress = Callable[[str, int, int], None]

RANK_TOP_K = 50
RANK_CHUNK = 256  # tenders per progress step: a whole number of rank_many's blocks (64)
WRITE_CHUNK = 5000


def _int_param(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(name, "{name} moet een geheel getal van {low} tot en met {high} zijn.",
                      name=name, low=low, high=high)
    return value


def check_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a job of this kind accepts, checked before it is queued."""
    allowed = {"allocate": {"top_k", "save"}, "learn": {"min_decisions"},
               "rank_tenders": {"top_k"}}.get(kind, set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise Invalid(unknown[0], "Onbekende parameter {name} voor deze taak.", name=unknown[0])
    if "top_k" in params:
        _int_param(params, "top_k", 50, 1, 200)
    if "min_decisions" in params:
        _int_param(params, "min_decisions", 30, 1, 100_000)
    if "save" in params and not isinstance(params["save"], bool):
        raise Invalid("save", "save moet true of false zijn.")
    return params


# ------------------------------------------------------------------ allocate


def allocate_job(session: Session, params: dict[str, Any], progress: Progress
                 ) -> dict[str, Any]:
    from api.services.planning import TOP_K, allocate_all, save_allocation

    progress("allocate", 0, 2)
    result = allocate_all(session, top_k=_int_param(params, "top_k", TOP_K, 1, 200))
    progress("write", 1, 2)
    saved = save_allocation(session, result) if params.get("save", True) else 0
    progress("write", 2, 2)
    return {"obligations": len(result.due_eur), "rows": len(result.rows), "saved": saved,
            "due_eur": round(sum(result.due_eur.values()), 2),
            "credit_eur": result.total_credit_eur, "unmet_eur": result.total_unmet_eur,
            "solver": result.solver, "seconds": round(result.seconds, 3)}


# ------------------------------------------------------------------ learn


def learn_job(session: Session, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from api.services.learning import engine_shown_candidates, learn_from_log

    result = learn_from_log(session, _int_param(params, "min_decisions", 30, 1, 100_000),
                            shown=engine_shown_candidates(session), progress=progress)
    return result.as_dict()


# ------------------------------------------------------------------ rank every open tender


def open_tenders(session: Session) -> list[TenderRow]:
    return list(session.exec(select(TenderRow)
                             .where(col(TenderRow.status).not_in(CLOSED_STATUSES))
                             .order_by(col(TenderRow.ref))))


def rank_queries(index: EnterpriseIndex, queries: Sequence[Query], weights: WeightSet,
                 top_k: int, progress: Progress | None = None,
                 scheduler: str | None = None
                 ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """``rank_many`` over all ``queries``: in this process, or on the Dask cluster at
    ``scheduler`` (same arrays; ``matcher.cluster.rank_many_on``)."""
    return rank_many_on(scheduler, index, queries, weights, top_k=top_k, chunk=RANK_CHUNK,
                        progress=(lambda d, t: progress("rank", d, t)) if progress else None)


def rank_tenders_job(session: Session, params: dict[str, Any], progress: Progress
                     ) -> dict[str, Any]:
    from api.services.matching import get_index
    from api.services.weights import active_weights

    top_k = _int_param(params, "top_k", RANK_TOP_K, 1, 200)
    progress("load", 0, 0)
    tenders = open_tenders(session)
    queries = [from_tender(tender_from_row(t)) for t in tenders]
    index = get_index(session)
    weights = active_weights(session)
    scheduler = get_settings().dask_scheduler
    rows, score = rank_queries(index, queries, weights, top_k, progress, scheduler)
    job_id = session.info.get("job_id", "")
    records = [{"job_id": job_id, "tender_ref": t.ref, "position": j + 1,
                "enterprise_ref": index.refs_[r], "score": s}
               for i, t in enumerate(tenders)
               for j, (r, s) in enumerate(zip(rows[i].tolist(), score[i].tolist(),
                                              strict=True))
               if r >= 0 and math.isfinite(s)]
    progress("write", 0, len(records))
    session.execute(delete(TenderRankingRow))
    for a in range(0, len(records), WRITE_CHUNK):
        session.execute(insert(TenderRankingRow), records[a:a + WRITE_CHUNK])
        progress("write", min(a + WRITE_CHUNK, len(records)), len(records))
    return {"tenders": len(tenders), "rows": len(records), "top_k": top_k,
            "weights": f"{weights.name} v{weights.version}",
            "cluster": bool(scheduler)}


def stored_ranking(session: Session, tender_ref: str) -> list[TenderRankingRow]:
    return list(session.exec(select(TenderRankingRow)
                             .where(TenderRankingRow.tender_ref == tender_ref)
                             .order_by(col(TenderRankingRow.position))))
