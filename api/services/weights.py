"""Weight sets in the store: the active set, versions, rollback, learning from the curation log.

Every weight set ever used or proposed is a ``WeightSetRow``; versions are numbered
across all names (``learned`` v7 follows ``default`` v1 ... v6), so ``sroi weights
rollback 3`` names one row. Exactly one row is active; with none, the engine's own
default (``matcher.weights.DEFAULT``) is used and saved as version 1 the first time
a version is written, so the history always starts from it.

Learning (``learn_from_log``) turns connectors' decisions into preference groups
per query (pinned 2 > accepted 1 > rejected / shown-but-undecided 0), fits
``matcher.learn.PairwiseWeightLearner`` on some queries and measures NDCG@10 on the
others. The learnt set is always saved as a new version with its metrics; it only
becomes active when its held-out NDCG beats the active set's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.clock import utcnow
from api.tables import CurationDecision, WeightSetRow
from matcher.learn import PairwiseWeightLearner, group_ndcg, split_groups
from matcher.weights import DEFAULT, FEATURES, WeightSet

log = logging.getLogger(__name__)

LEARNED_NAME = "learned"
DECISION_LABELS: Mapping[str, int] = {"pin": 2, "accept": 1, "reject": 0, "unpin": 0}
DEFAULT_MIN_DECISIONS = 30
MIN_IMPROVEMENT = 1e-6
NDCG_K = 10

# (query_kind, query_ref, the query's decisions) -> candidates shown around them:
# (refs, X[n, len(names)], names), or None when the query cannot be re-run.
ShownCandidates = Callable[[str, str, Sequence[CurationDecision]],
                           tuple[list[str], np.ndarray, Sequence[str]] | None]


class WeightsError(Exception):
    """A weights operation a user asked for that cannot be done (message says why)."""


# --------------------------------------------------------------------------- rows


def row_to_weightset(row: WeightSetRow) -> WeightSet:
    known = {k: float(v) for k, v in (row.weights or {}).items() if k in FEATURES and v >= 0}
    dropped = set(row.weights or {}) - set(known)
    if dropped:
        log.warning("weight set %s v%s: ignoring unknown features %s",
                    row.name, row.version, sorted(dropped))
    return WeightSet(name=row.name, version=int(row.version), weights=known, note=row.note)


def active_row(session: Session) -> WeightSetRow | None:
    return session.exec(
        select(WeightSetRow).where(col(WeightSetRow.active).is_(True))
        .order_by(col(WeightSetRow.version).desc())
    ).first()


def active_weights(session: Session) -> WeightSet:
    """The weight set matching uses now: the active row, else the engine's default."""
    row = active_row(session)
    return DEFAULT if row is None else row_to_weightset(row)


def list_versions(session: Session) -> list[WeightSetRow]:
    """Every saved version, newest first."""
    return list(session.exec(
        select(WeightSetRow).order_by(col(WeightSetRow.version).desc(), col(WeightSetRow.id).desc())
    ).all())


def _next_version(session: Session) -> int:
    current = session.exec(select(func.max(WeightSetRow.version))).one()
    return int(current or 0) + 1


def _set_active(session: Session, row: WeightSetRow) -> None:
    for other in session.exec(select(WeightSetRow).where(col(WeightSetRow.active).is_(True))):
        if other.id != row.id:
            other.active = False
            session.add(other)
    session.flush()
    row.active = True
    session.add(row)


def ensure_default(session: Session) -> WeightSetRow:
    """The stored row of the engine's default set, created (active) when the table is empty."""
    existing = session.exec(select(WeightSetRow).order_by(col(WeightSetRow.version))).first()
    if existing is not None:
        return existing
    row = WeightSetRow(
        name=DEFAULT.name, version=1,
        weights={f: DEFAULT.get(f) for f in FEATURES},
        active=True, metrics={}, note=DEFAULT.note or "engine default weights",
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def describe_change(old: Mapping[str, float], new: Mapping[str, float], top: int = 3) -> str:
    """'geo 0.14 -> 0.52, cpv 0.30 -> 0.12, ...': the largest weight changes first."""
    diffs = sorted(
        ((f, float(old.get(f, 0.0)), float(new.get(f, 0.0))) for f in FEATURES),
        key=lambda t: -abs(t[2] - t[1]),
    )
    parts = [f"{f} {a:.2f} -> {b:.2f}" for f, a, b in diffs[:top] if abs(b - a) >= 0.005]
    return ", ".join(parts) if parts else "no weight changed by 0.005 or more"


def save_version(
    session: Session,
    weights: Mapping[str, float],
    *,
    name: str = LEARNED_NAME,
    metrics: Mapping[str, Any] | None = None,
    note: str = "",
    activate: bool = False,
) -> WeightSetRow:
    """Append a new version (never edits an old one); optionally make it the active set."""
    WeightSet(name=name, weights=dict(weights))  # validates names and signs
    ensure_default(session)
    row = WeightSetRow(
        name=name, version=_next_version(session),
        weights={f: float(weights.get(f, 0.0)) for f in FEATURES},
        active=False, metrics=dict(metrics or {}), note=note, created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if activate:
        _set_active(session, row)
    session.commit()
    session.refresh(row)
    return row


def weights_of_version(session: Session, version: int) -> WeightSet:
    row = session.exec(select(WeightSetRow).where(WeightSetRow.version == version)).first()
    if row is None:
        known = ", ".join(str(r.version) for r in list_versions(session)) or "none"
        raise WeightsError(f"no weight set version {version} (saved versions: {known})")
    return row_to_weightset(row)


def rollback(session: Session, version: int) -> WeightSetRow:
    """Make an earlier (or any saved) version the active set again."""
    ensure_default(session)
    row = session.exec(select(WeightSetRow).where(WeightSetRow.version == version)).first()
    if row is None:
        known = ", ".join(str(r.version) for r in list_versions(session))
        raise WeightsError(f"no weight set version {version} (saved versions: {known})")
    _set_active(session, row)
    session.commit()
    session.refresh(row)
    return row


def version_dict(row: WeightSetRow, previous: WeightSetRow | None = None) -> dict[str, Any]:
    return {
        "name": row.name, "version": row.version, "active": bool(row.active),
        "weights": {f: float((row.weights or {}).get(f, 0.0)) for f in FEATURES},
        "metrics": dict(row.metrics or {}), "note": row.note,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "change": (describe_change(previous.weights or {}, row.weights or {})
                   if previous is not None else None),
    }


def history(session: Session) -> list[dict[str, Any]]:
    """Versions newest first, each with the change from the version before it."""
    rows = list_versions(session)
    return [version_dict(r, rows[i + 1] if i + 1 < len(rows) else None)
            for i, r in enumerate(rows)]


# --------------------------------------------------------------------------- learning


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
    status: str  # activated | kept | too_few
    message: str
    decisions: int = 0
    queries: int = 0
    train_queries: int = 0
    heldout_queries: int = 0
    pairs: int = 0
    weights: dict[str, float] = field(default_factory=dict)
    active_before: dict[str, Any] = field(default_factory=dict)
    heldout_ndcg: float | None = None
    heldout_ndcg_active: float | None = None
    version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
    decisions: Sequence[CurationDecision], shown: ShownCandidates | None = None
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
    for (kind, ref), ds in sorted(by_query.items()):
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
) -> LearnResult:
    """Fit weights on the curation log; save them as a new version; activate only if better."""
    decisions = [d for d in latest_decisions(session) if d.decision in DECISION_LABELS]
    active = active_weights(session)
    active_info = {"name": active.name, "version": active.version,
                   "weights": {f: active.get(f) for f in FEATURES}}
    n_dec = sum(1 for d in decisions if d.decision != "unpin")
    if n_dec < min_decisions:
        return LearnResult("too_few", f"only {n_dec} decisions in the curation log; need at "
                           f"least {min_decisions} (--min-decisions)", decisions=n_dec,
                           active_before=active_info)
    groups = [g for g in preference_groups(decisions, shown) if g.usable]
    if len(groups) < 2:
        return LearnResult(
            "too_few", f"{len(groups)} queries have both a preferred and a passed-over "
            "enterprise; need at least 2 (some to learn from, some to test on)",
            decisions=n_dec, queries=len(groups), active_before=active_info)
    train, test = split_groups([g.key for g in groups], test_size, random_state)
    learner = PairwiseWeightLearner(C=C, random_state=random_state).fit(
        [groups[i].X for i in train], [groups[i].labels for i in train])
    learnt = {f: round(float(w), 6) for f, w in zip(FEATURES, learner.weights_, strict=True)}
    held_X = [groups[i].X for i in test]
    held_y = [groups[i].labels for i in test]
    ndcg_new = group_ndcg(held_X, held_y, learner.weights_, NDCG_K)
    ndcg_old = group_ndcg(held_X, held_y, _vector(active), NDCG_K)
    better = (ndcg_new is not None and ndcg_old is not None
              and ndcg_new > ndcg_old + MIN_IMPROVEMENT)
    change = describe_change(active.weights, learnt)
    verdict = (f"held-out NDCG@{NDCG_K} {ndcg_new:.3f} vs {ndcg_old:.3f} for "
               f"{active.name} v{active.version}")
    note = (f"learnt from {n_dec} decisions on {len(train)} queries; {change}; {verdict}; "
            + ("activated" if better else "not activated (no improvement)"))
    metrics = {
        f"heldout_ndcg@{NDCG_K}": ndcg_new, f"heldout_ndcg@{NDCG_K}_active": ndcg_old,
        "compared_with": f"{active.name} v{active.version}",
        "decisions": n_dec, "queries": len(groups), "train_queries": len(train),
        "heldout_queries": len(test), "pairs": learner.n_pairs_,
    }
    row = save_version(session, learnt, name=LEARNED_NAME, metrics=metrics, note=note,
                       activate=better)
    return LearnResult(
        "activated" if better else "kept",
        (f"new weight set v{row.version} is active: {verdict}" if better else
         f"saved v{row.version} but kept {active.name} v{active.version} active: {verdict}"),
        decisions=n_dec, queries=len(groups), train_queries=len(train), heldout_queries=len(test),
        pairs=learner.n_pairs_, weights=learnt, active_before=active_info,
        heldout_ndcg=ndcg_new, heldout_ndcg_active=ndcg_old, version=row.version,
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
    from api.services.capacity import committed_eur
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
                                                   committed_eur=committed_eur(session))
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
