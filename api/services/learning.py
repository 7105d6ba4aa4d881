"""Learning weights from the curation log, guarded so it cannot make ranking worse.

:func:`learn_from_log` turns connectors' decisions into preference groups per query
(pinned 2 > accepted 1 > rejected / shown-but-undecided 0), fits
``matcher.learn.PairwiseWeightLearner`` on some queries and measures NDCG@10 on the
others. The learnt set is always saved as a new version with its metrics. It becomes
active only when

* its held-out NDCG@10 beats the active set's, and
* on the labelled evaluation set (the latest ``sroi evaluate LABELS.json --save``, when
  there is one) its NDCG@10 with the engine ranker is at most ``MAX_LABELLED_DROP``
  below the active set's;

otherwise it is stored with ``metrics["status"] == "refused"``, both figures and the
reason (``api.services.weights.rollback`` then needs ``force``). ``progress`` callbacks
name each step, for the weights page's "Leer nu" job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from api.messages import Message, Number, Text, dumps, msg, render_text, to_json
from api.services.evaluation import labelled_ndcg, latest_label_set
from api.services.weights import (
    LEARNED_NAME,
    REFUSED,
    active_weights,
    describe_change,
    save_version,
)
from api.tables import CurationDecision
from matcher.learn import PairwiseWeightLearner, group_ndcg, split_groups
from matcher.weights import FEATURES, WeightSet

DECISION_LABELS: Mapping[str, int] = {"pin": 2, "accept": 1, "reject": 0, "unpin": 0}
DEFAULT_MIN_DECISIONS = 30
MIN_IMPROVEMENT = 1e-6
MAX_LABELLED_DROP = 0.02  # NDCG@10 a learnt set may lose on the labelled set
NDCG_K = 10

# (query_kind, query_ref, the query's decisions) -> candidates shown around them:
# (refs, X[n, len(names)], names), or None when the query cannot be re-run.
ShownCandidates = Callable[[str, str, Sequence[CurationDecision]],
                           tuple[list[str], np.ndarray, Sequence[str]] | None]
# (step, done, total): "decisions", "candidates" (n/N queries re-ranked), "fitted",
# "heldout", "labelled", "verdict".
Progress = Callable[[str, int, int], None]


def _no_progress(_step: str, _done: int, _total: int) -> None:
    return None



@dataclass
class PreferenceGroup:
    kind: str
    ref: str
    refs: list[str]
    X: np.ndarray  # len(refs) x len(FEATURES)
    labels: np.ndarray

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.ref}"

    @property
    def usable(self) -> bool:
        return bool(np.any(self.labels > 0) and np.any(self.labels < self.labels.max()))


@dataclass
class LearnResult:
    status: str  # activated | refused | too_few
    message: Text  # a message (api.messages), said in the reader's language
    decisions: int = 0
    queries: int = 0
    train_queries: int = 0
    heldout_queries: int = 0
    pairs: int = 0
    weights: dict[str, float] = field(default_factory=dict)
    active_before: dict[str, Any] = field(default_factory=dict)
    heldout_ndcg: float | None = None
    heldout_ndcg_active: float | None = None
    labelled_ndcg: float | None = None
    labelled_ndcg_active: float | None = None
    labelled_set: str | None = None
    reason: Text = ""
    version: int | None = None

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """The result as JSON: its messages stored (``to_json``, a job's result, rendered
        at the page), or said in ``lang`` (the command's ``--json``)."""
        out = dict(self.__dict__)
        for key in ("message", "reason"):
            out[key] = to_json(out[key]) if lang is None else render_text(out[key], lang)
        return out


def latest_decisions(session: Session) -> list[CurationDecision]:
    """The current decision per (query_kind, query_ref, enterprise_ref)."""
    rows = session.exec(
        select(CurationDecision)
        .order_by(col(CurationDecision.decided_at), col(CurationDecision.id))
    ).all()
    latest: dict[tuple[str, str, str], CurationDecision] = {}
    for r in rows:
        latest[(r.query_kind, r.query_ref, r.enterprise_ref)] = r
    return list(latest.values())


def preference_groups(
    decisions: Sequence[CurationDecision], shown: ShownCandidates | None = None,
    progress: Progress = _no_progress,
) -> list[PreferenceGroup]:
    """One group per query: decided enterprises with their logged features, plus (when
    ``shown`` can re-run the query) candidates shown but left undecided (label 0).

    A feature some decided rows of a query lack (a weight set that did not show it)
    is zeroed for the whole query, so it cannot fake a difference between rows.
    """
    by_query: dict[tuple[str, str], list[CurationDecision]] = {}
    for d in decisions:
        if d.decision in DECISION_LABELS:
            by_query.setdefault((d.query_kind, d.query_ref), []).append(d)
    out: list[PreferenceGroup] = []
    total = len(by_query)
    for n, ((kind, ref), ds) in enumerate(sorted(by_query.items()), start=1):
        progress("candidates", n, total)
        ds = sorted(ds, key=lambda d: d.enterprise_ref)
        refs = [d.enterprise_ref for d in ds]
        X = np.zeros((len(ds), len(FEATURES)))
        logged = np.zeros(len(FEATURES), dtype=bool)
        for j, f in enumerate(FEATURES):
            if all(f in (d.features or {}) for d in ds):
                X[:, j] = [float(d.features[f]) for d in ds]
                logged[j] = True
        labels = [float(DECISION_LABELS[d.decision]) for d in ds]
        if shown is not None:
            extra = shown(kind, ref, ds)
            if extra is not None:
                e_refs, e_X, names = extra
                cols = [FEATURES.index(n) if n in FEATURES else -1 for n in names]
                for i, r in enumerate(e_refs):
                    if r in refs:
                        continue
                    row = np.zeros(len(FEATURES))
                    for c, j in enumerate(cols):
                        if j >= 0 and logged[j]:  # only features logged for this query
                            row[j] = float(e_X[i, c])
                    refs.append(r)
                    X = np.vstack([X, row])
                    labels.append(0.0)
        out.append(PreferenceGroup(kind, ref, refs, np.clip(X, 0.0, 1.0), np.asarray(labels)))
    return out


def _vector(ws: WeightSet | Mapping[str, float]) -> np.ndarray:
    get = ws.get if isinstance(ws, WeightSet) else (lambda f: float(ws.get(f, 0.0)))
    return np.asarray([get(f) for f in FEATURES], dtype=np.float64)


def learn_from_log(
    session: Session,
    min_decisions: int = DEFAULT_MIN_DECISIONS,
    *,
    shown: ShownCandidates | None = None,
    C: float = 1.0,
    test_size: float = 0.3,
    random_state: int = 0,
    on: date | None = None,
    progress: Progress = _no_progress,
) -> LearnResult:
    """Fit weights on the curation log; save them as a new version; activate only if
    better on the held-out decisions and not worse on the labelled set (module doc)."""
    decisions = [d for d in latest_decisions(session) if d.decision in DECISION_LABELS]
    active = active_weights(session)
    active_info = {"name": active.name, "version": active.version,
                   "weights": {f: active.get(f) for f in FEATURES}}
    n_dec = sum(1 for d in decisions if d.decision != "unpin")
    progress("decisions", n_dec, n_dec)
    if n_dec < min_decisions:
        return LearnResult("too_few", msg("slechts {n} besluiten in het curatielogboek; nodig "
                                          "zijn er minstens {min} (--min-decisions)",
                                          n=n_dec, min=min_decisions), decisions=n_dec,
                           active_before=active_info)
    groups = [g for g in preference_groups(decisions, shown, progress) if g.usable]
    if len(groups) < 2:
        return LearnResult(
            "too_few", msg("{n} zoekvragen hebben zowel een gekozen als een gepasseerde "
                           "onderneming; nodig zijn er minstens 2 (om van te leren en om op "
                           "te toetsen)", n=len(groups)),
            decisions=n_dec, queries=len(groups), active_before=active_info)
    train, test = split_groups([g.key for g in groups], test_size, random_state)
    learner = PairwiseWeightLearner(C=C, random_state=random_state).fit(
        [groups[i].X for i in train], [groups[i].labels for i in train])
    learnt = {f: round(float(w), 6) for f, w in zip(FEATURES, learner.weights_, strict=True)}
    progress("fitted", 1, 1)
    held_X = [groups[i].X for i in test]
    held_y = [groups[i].labels for i in test]
    ndcg_new = group_ndcg(held_X, held_y, learner.weights_, NDCG_K)
    ndcg_old = group_ndcg(held_X, held_y, _vector(active), NDCG_K)
    better = (ndcg_new is not None and ndcg_old is not None
              and ndcg_new > ndcg_old + MIN_IMPROVEMENT)
    progress("heldout", 1, 1)
    # The note and the refusal are messages, stored as JSON (``api.messages.dumps``), so the
    # weights page says them in the reader's language (``weights.note_text``).
    compared = f"{active.name} v{active.version}"
    verdict: Message = msg("NDCG@{k} op de achtergehouden besluiten {new} tegen {old} voor "
                          "{compared}", k=str(NDCG_K), new=Number(ndcg_new, 3),
                          old=Number(ndcg_old, 3), compared=compared)
    reason: Message | None = None if better else \
        msg("geen verbetering op de achtergehouden besluiten")
    lab_new = lab_old = None
    label_set = latest_label_set(session)
    if label_set is not None:
        candidate = WeightSet(name=LEARNED_NAME, weights=learnt)
        lab_new = labelled_ndcg(session, label_set.document, candidate, on=on)
        lab_old = labelled_ndcg(session, label_set.document, active, on=on)
        if lab_new is not None and lab_old is not None:
            verdict = msg("{verdict}; gelabelde set '{set}' NDCG@{k} {new} tegen {old}",
                         verdict=verdict, set=label_set.name, k=str(NDCG_K),
                         new=Number(lab_new, 3), old=Number(lab_old, 3))
            if better and lab_new < lab_old - MAX_LABELLED_DROP:
                better = False
                reason = msg("verliest {drop} NDCG@{k} op de gelabelde set (hoogstens {max} "
                            "toegestaan)", drop=Number(lab_old - lab_new, 3), k=str(NDCG_K),
                            max=MAX_LABELLED_DROP)
    progress("labelled", 1 if label_set is not None else 0, 1)
    change = describe_change(active.weights, learnt)
    outcome = msg("geactiveerd") if better or reason is None else \
        msg("geweigerd: {reason}", reason=reason)
    note = dumps(msg("geleerd uit {decisions} besluiten op {queries} zoekvragen; {change}; "
                    "{verdict}; {outcome}", decisions=n_dec, queries=len(train),
                    change=change, verdict=verdict, outcome=outcome))
    metrics: dict[str, Any] = {
        "status": "activated" if better else REFUSED,
        f"heldout_ndcg@{NDCG_K}": ndcg_new, f"heldout_ndcg@{NDCG_K}_active": ndcg_old,
        f"labelled_ndcg@{NDCG_K}": lab_new, f"labelled_ndcg@{NDCG_K}_active": lab_old,
        "labelled_set": label_set.name if label_set is not None else None,
        "compared_with": compared,
        "decisions": n_dec, "queries": len(groups), "train_queries": len(train),
        "heldout_queries": len(test), "pairs": learner.n_pairs_,
    }
    if not better and reason is not None:
        metrics["reason"] = reason.to_json()
    row = save_version(session, learnt, name=LEARNED_NAME, metrics=metrics, note=note,
                       activate=better)
    progress("verdict", 1, 1)
    return LearnResult(
        "activated" if better else REFUSED,
        # The command's and the job's summary, said in the reader's language.
        (msg("nieuwe gewichtenset v{version} is actief: {verdict}", version=str(row.version),
             verdict=verdict) if better else
         msg("v{version} opgeslagen als geweigerd ({reason}); {name} v{active} blijft actief: "
             "{verdict}", version=str(row.version), reason=reason or "", name=active.name,
             active=str(active.version), verdict=verdict)),
        decisions=n_dec, queries=len(groups), train_queries=len(train), heldout_queries=len(test),
        pairs=learner.n_pairs_, weights=learnt, active_before=active_info,
        heldout_ndcg=ndcg_new, heldout_ndcg_active=ndcg_old,
        labelled_ndcg=lab_new, labelled_ndcg_active=lab_old,
        labelled_set=label_set.name if label_set is not None else None,
        reason=reason or "",
        version=row.version,
    )


def engine_shown_candidates(session: Session, on: date | None = None) -> ShownCandidates:
    """Re-run each judged query through the engine to find what was shown but not decided.

    The connector saw the list at least down to the deepest rank they decided on
    (the logged ``rank``); enterprises above that depth without a decision were
    passed over. The list is re-ranked with today's store and the active weights,
    an approximation of the list they saw. The index is built once, on first use.
    """
    from api.clock import today
    from api.convert import (
        challenge_from_row,
        enterprise_from_row,
        obligation_from_row,
        tender_from_row,
    )
    from api.services.capacity import commitments
    from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow
    from matcher.index import EnterpriseIndex
    from matcher.query import as_query
    from matcher.rank import feature_matrix, rank_query

    weights = active_weights(session)
    state: dict[str, Any] = {}

    def index() -> EnterpriseIndex:
        if "index" not in state:
            ents = [enterprise_from_row(r) for r in session.exec(select(EnterpriseRow))]
            state["index"] = EnterpriseIndex.build(ents, reference_date=on or today(),
                                                   committed=commitments(session).by_enterprise)
        return state["index"]

    def record(kind: str, ref: str) -> Any:
        if kind == "tender":
            t = session.exec(select(TenderRow).where(TenderRow.ref == ref)).first()
            return tender_from_row(t) if t else None
        if kind == "challenge":
            c = session.exec(select(ChallengeRow).where(ChallengeRow.ref == ref)).first()
            return challenge_from_row(c) if c else None
        if kind == "obligation":
            o = session.exec(select(ObligationRow).where(ObligationRow.ref == ref)).first()
            if o is None:
                return None
            t = (session.exec(select(TenderRow).where(TenderRow.ref == o.tender_ref)).first()
                 if o.tender_ref else None)
            return obligation_from_row(o, t)
        return None

    def shown(kind: str, ref: str, ds: Sequence[CurationDecision]
              ) -> tuple[list[str], np.ndarray, Sequence[str]] | None:
        item = record(kind, ref)
        if item is None:
            return None
        depth = max([d.rank for d in ds if d.rank] or [len(ds)])
        idx = index()
        query = as_query(item)
        ranked = rank_query(idx, query, weights, top_k=depth)
        decided = {d.enterprise_ref for d in ds}
        refs = [idx.refs_[i] for i in ranked.rows.tolist() if idx.refs_[i] not in decided]
        if not refs:
            return None
        out_refs, X, names = feature_matrix(idx, query, refs=refs)
        return out_refs, X, names

    return shown
