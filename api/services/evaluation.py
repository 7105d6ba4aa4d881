"""Evaluate ranking quality on relevance labels against the store's data.

Store -> engine records (``api.convert``), then ``matcher.evaluate`` runs the engine
(with the active weight set, or one given) and both baselines over the same
labelled queries, the same enterprises and the same reference date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, select

from api.convert import challenge_from_row, enterprise_from_row, tender_from_row
from api.tables import AllocationRow, ChallengeRow, EnterpriseRow, TenderRow
from matcher.evaluate import (
    LabelledQuery,
    Query,
    Ranker,
    RankerReport,
    baseline_rankers,
    evaluate,
    parse_labels,
)
from matcher.model import Enterprise
from matcher.weights import WeightSet

ENGINE = "engine"
EVAL_TOP_K = 50


@dataclass
class Store:
    enterprises: dict[str, Enterprise]
    queries: dict[tuple[str, str], Query]
    committed_eur: dict[str, float]


def reference_date() -> date:
    """Settings' TODAY (reproducible demos and tests) or the real date."""
    from api.settings import get_settings

    today = get_settings().today
    return date.fromisoformat(today) if today else date.today()


def committed_eur(session: Session) -> dict[str, float]:
    """Euros per enterprise already committed to obligations (capacity no longer free)."""
    try:  # the store's own accounting, when that service exists in this checkout
        from api.services import capacity as capacity_service  # type: ignore[attr-defined]

        return dict(capacity_service.committed_eur(session))
    except (ImportError, AttributeError, TypeError):
        pass
    out: dict[str, float] = {}
    for a in session.exec(select(AllocationRow).where(AllocationRow.status == "committed")):
        out[a.enterprise_ref] = out.get(a.enterprise_ref, 0.0) + float(a.amount_eur or 0.0)
    return out


def load_store(session: Session) -> Store:
    enterprises = {r.ref: enterprise_from_row(r) for r in session.exec(select(EnterpriseRow))}
    queries: dict[tuple[str, str], Query] = {}
    for t in session.exec(select(TenderRow)):
        queries[("tender", t.ref)] = tender_from_row(t)
    for c in session.exec(select(ChallengeRow)):
        queries[("challenge", c.ref)] = challenge_from_row(c)
    return Store(enterprises, queries, committed_eur(session))


def validate_labels(doc: Any, store: Store) -> list[LabelledQuery]:
    """Parse labels, checking every ref against the store (raises LabelError)."""
    return parse_labels(
        doc,
        enterprises=store.enterprises,
        tenders=[ref for kind, ref in store.queries if kind == "tender"],
        challenges=[ref for kind, ref in store.queries if kind == "challenge"],
    )


def engine_ranker(
    enterprises: Mapping[str, Enterprise],
    on: date,
    committed: Mapping[str, float],
    weights: WeightSet,
    top_k: int = EVAL_TOP_K,
) -> Ranker:
    """The engine as a ranker: one index over all enterprises, ``rank_query`` per query."""
    from matcher.index import EnterpriseIndex
    from matcher.query import as_query
    from matcher.rank import rank_query

    index = EnterpriseIndex.build(list(enterprises.values()), reference_date=on,
                                  committed_eur=dict(committed))

    def rank(q: Query) -> list[str]:
        r = rank_query(index, as_query(q), weights, top_k=top_k)
        return [index.refs_[i] for i in r.rows.tolist()]

    return rank


def run_evaluation(
    session: Session,
    labels_doc: Any,
    *,
    on: date | None = None,
    weights: WeightSet | None = None,
    top_k: int = EVAL_TOP_K,
) -> dict[str, RankerReport]:
    """Engine (active weights unless given) vs BM25 vs CPV-overlap on the labelled queries."""
    from api.services.weights import active_weights

    store = load_store(session)
    labelled = validate_labels(labels_doc, store)
    on = on or reference_date()
    ws = weights or active_weights(session)
    rankers: dict[str, Ranker] = {
        ENGINE: engine_ranker(store.enterprises, on, store.committed_eur, ws, top_k)
    }
    rankers.update(baseline_rankers(list(store.enterprises.values()), top_k))
    return evaluate(rankers, labelled, store.queries, store.enterprises, on, store.committed_eur)
