"""Evaluate ranking quality on relevance labels against the store's data.

Store -> engine records (``api.convert``), then ``matcher.evaluate`` runs the engine
(with the active weight set, or one given) and both baselines over the same
labelled queries, the same enterprises and the same reference date.

The engine is evaluated as the product ranks: tenders with ``matcher.rank.rank_query``
(``api.services.matching.match_tender``), Challenges with
``matcher.challenge.ChallengeMatcher`` (``match_challenge``: the Challenge weight
profile, theme fit, then MMR diversification). Two rows:

* ``engine`` scores a Challenge's **relevance order** (``ChallengeMatcher.ranked_``,
  before MMR). NDCG, precision and recall measure graded relevance; MMR deliberately
  trades some of it for different approaches, which single-enterprise labels cannot
  reward, so this is the row that says whether the engine finds the right enterprises
  (and the one the learning and the baseline comparisons use).
* ``engine-diversified`` scores the list a connector actually sees (``results_``, MMR
  order; its first 10 are exactly the product's top 10, MMR being greedy). The gap
  between the two rows is the relevance price of diversification. Tenders are the
  same in both rows.

A tender's engine list is what the product shows as ``results``: the suitable
candidates only (relevance at or above ``matcher.rank.SUITABLE_FLOOR``). The engine's
judgement of every candidate (``matcher.evaluate.Judged``) is kept on the engine's
report, for the honest-cut figures (no-fit tenders returning nothing, good answers cut)
and for ``calibrate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from api.clock import today, utcnow
from api.convert import challenge_from_row, enterprise_from_row, tender_from_row
from api.services.capacity import commitments
from api.tables import ChallengeRow, EnterpriseRow, LabelSetRow, TenderRow
from matcher.capacity import Commitment
from matcher.evaluate import (
    Judged,
    LabelError,
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
ENGINE_DIVERSIFIED = "engine-diversified"
EVAL_TOP_K = 50


@dataclass
class Store:
    enterprises: dict[str, Enterprise]
    queries: dict[tuple[str, str], Query]
    committed: dict[str, Commitment]  # what each enterprise has promised (by ref)


def load_store(session: Session) -> Store:
    enterprises = {r.ref: enterprise_from_row(r) for r in session.exec(select(EnterpriseRow))}
    queries: dict[tuple[str, str], Query] = {}
    for t in session.exec(select(TenderRow)):
        queries[("tender", t.ref)] = tender_from_row(t)
    for c in session.exec(select(ChallengeRow)):
        queries[("challenge", c.ref)] = challenge_from_row(c)
    return Store(enterprises, queries, commitments(session).by_enterprise)


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
    committed: Mapping[str, Commitment],
    weights: WeightSet,
    top_k: int = EVAL_TOP_K,
    diversified: bool = False,
) -> Ranker:
    """The engine as one ranker: ``rank_query`` for a tender; for a Challenge the
    ``ChallengeMatcher`` the product uses, in relevance order, or (``diversified``) in
    the MMR order the product shows."""
    rankers = engine_rankers(enterprises, on, committed, weights, top_k)
    return rankers[ENGINE_DIVERSIFIED if diversified else ENGINE]


def engine_rankers(
    enterprises: Mapping[str, Enterprise],
    on: date,
    committed: Mapping[str, Commitment],
    weights: WeightSet,
    top_k: int = EVAL_TOP_K,
    judged: dict[tuple[str, str], Judged] | None = None,
    floor: float | None = None,
) -> dict[str, Ranker]:
    """``engine`` (relevance order) and ``engine-diversified`` (what is shown), sharing
    one index; a query is ranked once and both orders are kept. A tender's list holds
    its suitable candidates only (relevance >= ``floor``, default ``SUITABLE_FLOOR``);
    ``judged`` (when given) receives every tender's judged candidates."""
    from matcher.challenge import ChallengeMatcher
    from matcher.index import EnterpriseIndex
    from matcher.model import Challenge
    from matcher.query import as_query
    from matcher.rank import SUITABLE_FLOOR, rank_query

    cut = SUITABLE_FLOOR if floor is None else floor

    index = EnterpriseIndex.build(list(enterprises.values()), reference_date=on,
                                  committed=dict(committed))
    memo: dict[tuple[str, str], tuple[list[str], list[str]]] = {}

    def both(q: Query) -> tuple[list[str], list[str]]:
        key = (type(q).__name__, q.ref)
        hit = memo.get(key)
        if hit is not None:
            return hit
        if isinstance(q, Challenge):
            # As api.services.matching.match_challenge: active weights, default config.
            m = ChallengeMatcher(weights=weights, top_k=top_k, n_coalitions=0).fit(index, q)
            out = ([index.refs_[i] for i in m.ranked_.rows[:top_k].tolist()],
                   [r.ref for r in m.results_])
        else:
            r = rank_query(index, as_query(q), weights, top_k=None)
            rel = r.relevance if r.relevance is not None else [1.0] * len(r.rows)
            j = Judged(tuple(index.refs_[i] for i in r.rows.tolist()),
                       tuple(float(v) for v in rel))
            if judged is not None:
                judged[("tender", q.ref)] = j
            refs = j.results(cut, top_k)
            out = (refs, refs)
        memo[key] = out
        return out

    return {ENGINE: lambda q: both(q)[0], ENGINE_DIVERSIFIED: lambda q: both(q)[1]}


def run_evaluation(
    session: Session,
    labels_doc: Any,
    *,
    on: date | None = None,
    weights: WeightSet | None = None,
    top_k: int = EVAL_TOP_K,
    floor: float | None = None,
) -> dict[str, RankerReport]:
    """Engine (active weights unless given) vs BM25 vs CPV-overlap on the labelled queries.
    The engine's tender lists are cut at ``floor`` (default ``SUITABLE_FLOOR``; 0: nothing
    cut, the whole candidate order, e.g. to compare weight sets on it)."""
    from api.services.weights import active_weights

    store = load_store(session)
    labelled = validate_labels(labels_doc, store)
    on = on or today()
    ws = weights or active_weights(session)
    from matcher.rank import SUITABLE_FLOOR

    judged: dict[tuple[str, str], Judged] = {}
    cut = SUITABLE_FLOOR if floor is None else floor
    rankers: dict[str, Ranker] = engine_rankers(store.enterprises, on, store.committed,
                                                ws, top_k, judged, cut)
    rankers.update(baseline_rankers(list(store.enterprises.values()), top_k))
    reports = evaluate(rankers, labelled, store.queries, store.enterprises, on,
                       store.committed)
    for name in (ENGINE, ENGINE_DIVERSIFIED):
        reports[name].judged, reports[name].floor = judged, cut
    return reports


# --------------------------------------------------------------- the labelled set


def save_label_set(session: Session, labels_doc: Any, name: str, loaded_by: str = ""
                   ) -> LabelSetRow:
    """Store a labelled evaluation set (checked against the store first, raises
    LabelError); the latest stored one is "the labelled set" learning must not spoil."""
    if not isinstance(labels_doc, dict):
        raise LabelError("labels must be a JSON object")
    validate_labels(labels_doc, load_store(session))
    row = LabelSetRow(name=name[:200], document=labels_doc, loaded_at=utcnow(),
                      loaded_by=loaded_by[:200])
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def latest_label_set(session: Session) -> LabelSetRow | None:
    return session.exec(select(LabelSetRow).order_by(
        col(LabelSetRow.loaded_at).desc(), col(LabelSetRow.id).desc())).first()


def labelled_ndcg(session: Session, labels_doc: Any, weights: WeightSet, *,
                  on: date | None = None, k: int = 10) -> float | None:
    """Mean NDCG@k of the engine ranker alone (no baselines) with ``weights`` on a
    labelled set; None when the set no longer fits the store or rates no query. Over the
    whole candidate order (nothing cut): the suitable floor does not depend on the
    weights, and a cut list would hide how a weight set orders the rest."""
    store = load_store(session)
    try:
        labelled = validate_labels(labels_doc, store)
    except LabelError:
        return None
    on = on or today()
    ranker = engine_rankers(store.enterprises, on, store.committed, weights,
                            floor=0.0)[ENGINE]
    report = evaluate({ENGINE: ranker}, labelled, store.queries, store.enterprises, on,
                      store.committed)[ENGINE]
    value = report.aggregate().get(f"ndcg@{k}")
    return None if value is None else float(value)
