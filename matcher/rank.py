"""Ranking: per-feature scores, hard constraints, weighted sum, explanations.

Flow for one query (a Tender, an Obligation or a Challenge, see ``query.py``):

1. hard constraints (``constraints.feasible_mask``) select the candidates;
2. per-feature scores in [0, 1] for every candidate: word TF-IDF, CPV, distance,
   target groups, recognition, capacity (``FEATURES`` order). The word TF-IDF of
   this registry-wide pass uses the query vector without its commonest terms
   (``text.prune_common_terms``: at most ``index.query_drop`` of its squared
   norm, a large share of the posting entries);
3. relevance to the work (``relevance``: CPV and word text, nothing else) and
   the stage-1 score = weighted mean over the features that apply to this query
   (a query without target groups does not dilute everyone's score with a
   constant), where the context features (distance, target groups, recognition,
   capacity) count only in proportion to relevance (``GATE``): they reorder
   enterprises that do the work, they never lift one that does not;
4. the best ``shortlist`` candidates get the exact word cosine and the char
   n-gram feature (too costly for the whole registry) and are re-ordered by the
   full score, so every reported score and feature is exact;
5. the top ``top_k`` come back as ``Match`` records with contributions and reasons,
   each marked ``suitable`` when its relevance reaches ``SUITABLE_FLOOR``; callers
   show the suitable ones as results and the others apart ("mogelijk passend",
   reason ``below_floor``).

``feature_matrix`` exposes step 2 for learning weights; ``rank_many`` runs many
queries with the text part as one blocked sparse product.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from matcher.bilingual import word_vector
from matcher.capacity import capacity_fit
from matcher.certification import recognition
from matcher.constraints import base_mask, exclusions, feasible_mask, query_dot
from matcher.cpv import explain_cpv
from matcher.geo import distance_score, km_of_dot
from matcher.groups import explain_groups
from matcher.index import EnterpriseIndex
from matcher.model import Challenge, Obligation, Tender
from matcher.query import Query, as_query
from matcher.reasons import Reason, as_dicts, eur, reason
from matcher.text import Analyzer, prune_common_terms
from matcher.weights import DEFAULT, FEATURES, WeightSet

F_TEXT, F_CHAR, F_CPV, F_GEO, F_GROUPS, F_CERT, F_CAP = range(len(FEATURES))
DEFAULT_SHORTLIST = 100
WORK_FEATURES = (F_TEXT, F_CHAR, F_CPV)  # what the enterprise does
CONTEXT_FEATURES = (F_GEO, F_GROUPS, F_CERT, F_CAP)  # where, for whom, how recognised, how much

# Text evidence that the enterprise does the work: the word cosine mapped linearly from
# TEXT_MIN (nothing: descriptions sharing a common word or two) to TEXT_FULL (full: they
# share the request's distinctive words). Fixtures: matching trades 0.1-0.35, unrelated
# ones mostly below 0.08, some up to 0.18 on shared phrases such as "openbare ruimte".
TEXT_MIN = 0.03
TEXT_FULL = 0.25
# An enterprise whose registered codes are all far from the request (CPV score below
# CODE_AGREES: not even a shared group) says by its codes that it does other work; its
# description then counts for this share only (a furniture workshop mentioning "openbare
# ruimte" is not a street-lighting contractor).
CODE_AGREES = 0.01
OTHER_TRADE = 0.3
# Relevance to the work at or above which an enterprise is "suitable" (in ``results``);
# below it is "mogelijk passend" at best. Calibrated on the labelled fixtures with
# ``sroi evaluate fixtures/labels.json --calibrate --on 2026-11-30`` (matcher.evaluate.calibrate,
# README "Matching quality"): the lowest floor at which every no-fit tender of the set
# returns an empty list; it cuts about a fifth of the labelled good answers (grade 2-3),
# half of them trades the label rule counts as adjacent (facility services for cleaning)
# that share neither a code class nor words with the request.
SUITABLE_FLOOR = 0.275
# Context features count in full from this relevance up, proportionally below it.
GATE = SUITABLE_FLOOR


def text_evidence(text: NDArray[np.float64]) -> NDArray[np.float64]:
    """Word cosine -> textual evidence in [0, 1] (``TEXT_MIN`` .. ``TEXT_FULL``)."""
    return np.clip((text - TEXT_MIN) / (TEXT_FULL - TEXT_MIN), 0.0, 1.0)


def relevance(X: NDArray[np.float64], has_codes: NDArray[np.bool_] | None,
              a: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Relevance to the work in [0, 1] of feature rows ``X``: the noisy-or of the CPV
    evidence (already discounted for broad codes, ``matcher.cpv.specificity``) and the
    text evidence (``text_evidence``), so a weak code and a description that agrees add
    up, and either alone counts for what it is. An enterprise whose codes are all far from
    the request gets ``OTHER_TRADE`` of its text evidence; a text-only enterprise
    (``has_codes`` False) is judged by its text alone. ``a``: ``applicable(query)``; a
    query with neither codes nor text cannot be judged: everyone is relevant."""
    n = X.shape[0]
    if not (a[F_CPV] or a[F_TEXT]):
        return np.ones(n)
    t = text_evidence(X[:, F_TEXT]) if a[F_TEXT] else np.zeros(n)
    if not a[F_CPV]:
        return t
    codes = np.ones(n, dtype=bool) if has_codes is None else has_codes
    c = np.where(codes, X[:, F_CPV], 0.0)
    t = np.where(codes & (c < CODE_AGREES), OTHER_TRADE * t, t)
    return 1.0 - (1.0 - c) * (1.0 - t)


def why_above(a: Mapping[str, float], b: Mapping[str, float]) -> list[tuple[str, float]]:
    """Why one match ranks above another: per feature, ``a``'s weighted contribution minus
    ``b``'s, largest first. The differences add up to the difference of the two scores,
    so the first few say what decided the order."""
    diffs = {f: float(a.get(f, 0.0)) - float(b.get(f, 0.0)) for f in set(a) | set(b)}
    return sorted(((f, d) for f, d in diffs.items() if abs(d) > 1e-9),
                  key=lambda fd: (-fd[1], fd[0]))


@dataclass(frozen=True)
class Match:
    ref: str
    name: str
    score: float
    rank: int
    contributions: dict[str, float] = field(default_factory=dict)  # feature -> weighted value
    features: dict[str, float] = field(default_factory=dict)  # feature -> raw score in [0, 1]
    reasons: list[Reason] = field(default_factory=list)
    relevance: float = 1.0  # to the work, see ``relevance``
    suitable: bool = True  # relevance >= SUITABLE_FLOOR

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "score": round(self.score, 6),
                "rank": self.rank, "relevance": round(self.relevance, 6),
                "suitable": self.suitable,
                "contributions": {k: round(v, 6) for k, v in self.contributions.items()},
                "features": {k: round(v, 6) for k, v in self.features.items()},
                "reasons": as_dicts(self.reasons)}


@dataclass
class Ranked:
    """Candidates of one query in final order, with their feature rows."""

    query: Query
    rows: NDArray[np.int64]
    X: NDArray[np.float64]  # len(rows) x len(FEATURES)
    score: NDArray[np.float64]
    weights: NDArray[np.float64]  # effective weights (zero where a feature does not apply)
    n_candidates: int
    relevance: NDArray[np.float64] | None = None  # per row, see ``relevance``
    n_suitable: int | None = None  # candidates at or above SUITABLE_FLOOR (all rows)

    def suitable(self) -> NDArray[np.bool_]:
        if self.relevance is None:
            return np.ones(len(self.rows), dtype=bool)
        return self.relevance >= SUITABLE_FLOOR - 1e-12


def applicable(query: Query) -> NDArray[np.bool_]:
    """Which features carry information for this query."""
    a = np.ones(len(FEATURES), dtype=bool)
    has_text = bool(query.text.strip())
    a[F_TEXT] = a[F_CHAR] = has_text
    a[F_CPV] = bool(query.cpv)
    a[F_GEO] = query.has_location
    a[F_GROUPS] = bool(query.target_groups)
    a[F_CAP] = query.amount_eur is not None
    return a


def effective_weights(query: Query, weights: WeightSet) -> NDArray[np.float64]:
    w = np.asarray(weights.vector(), dtype=np.float64) * applicable(query)
    total = w.sum()
    return w / total if total > 0 else w


def query_text_vector(index: EnterpriseIndex, query: Query, prune: bool = True
                      ) -> sp.csr_matrix:
    """The query's word TF-IDF vector; with ``prune``, its commonest terms dropped
    (``index.query_drop``, see ``text.prune_common_terms``) — for the registry-wide
    stage-1 pass only: shortlisted rows get the exact cosine (``rank_query``)."""
    q = word_vector(index.word_, query)
    if prune:
        q = prune_common_terms(q, index.postings_, index.query_drop)
    return q


def _base_features(
    index: EnterpriseIndex,
    query: Query,
    rows: NDArray[np.int64],
    text_all: NDArray[np.floating[Any]],
    dot: NDArray[np.float64] | None,
    has_codes: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """Every feature except char n-grams (filled with 0) for the given rows
    (``has_codes``: which rows offer CPV codes, see text-only enterprises below).
    Each is computed on ``rows`` only (CPV: only the posting lists of the query's
    code chains, read back at ``rows``)."""
    X = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    if len(rows) == 0:
        return X
    X[:, F_TEXT] = np.clip(text_all[rows], 0.0, 1.0)
    if query.cpv:
        X[:, F_CPV] = index.cpv_.score_rows(query.cpv, rows)
        if has_codes is not None and not has_codes.all():
            # A text-only enterprise (no codes) cannot share a code: its description
            # stands in for the CPV evidence instead of counting as a mismatch.
            X[~has_codes, F_CPV] = text_evidence(X[~has_codes, F_TEXT])
    if dot is not None:
        X[:, F_GEO] = distance_score(km_of_dot(dot[rows]), index.radius_km_[rows])
    if query.target_groups:
        X[:, F_GROUPS] = index.groups_.score(query.target_groups, rows)
    else:
        X[:, F_GROUPS] = 1.0
    X[:, F_CERT] = index.recognition_[rows]
    X[:, F_CAP] = capacity_fit(index.remaining_eur_[rows], query.amount_eur)
    return X


def _wsum(X: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """``X @ w`` without BLAS: for these skinny products OpenBLAS wakes its thread
    pool on every call, and the hand-offs cost more than the arithmetic (rank_many
    at 100k: 6.9 s -> 5.0 s per 1,000 tenders)."""
    return np.einsum("ij,j->i", X, w)


_W_WORK = np.zeros(len(FEATURES), dtype=bool)
_W_WORK[list(WORK_FEATURES)] = True


def gate(rel: NDArray[np.float64]) -> NDArray[np.float64]:
    """Share of the context features' weight an enterprise of relevance ``rel`` gets."""
    return np.clip(rel / GATE, 0.0, 1.0)


def _score(X: NDArray[np.float64], w: NDArray[np.float64], rel: NDArray[np.float64]
           ) -> NDArray[np.float64]:
    """The work features' weighted sum plus the context features' weighted sum scaled
    by ``gate(relevance)``."""
    work = _wsum(X, np.where(_W_WORK, w, 0.0))
    ctx = _wsum(X, np.where(_W_WORK, 0.0, w))
    return work + gate(rel) * ctx


def _exact_text(W: sp.csr_matrix, q: sp.csr_matrix) -> NDArray[np.float64]:
    """Word cosine of each row of ``W`` with the (unpruned) query row ``q``, in [0, 1]."""
    out = np.zeros(W.shape[0])
    if q.nnz == 0 or W.nnz == 0:
        return out
    qd = np.zeros(W.shape[1], dtype=np.float64)
    qd[q.indices] = q.data
    row = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
    out = np.bincount(row, weights=W.data * qd[W.indices], minlength=W.shape[0])
    return np.clip(out, 0.0, 1.0)


def _char_feature(index: EnterpriseIndex, query: Query, rows: NDArray[np.int64],
                  word_rows: sp.csr_matrix | None = None) -> NDArray[np.float64]:
    if len(rows) == 0 or not query.text.strip():
        return np.zeros(len(rows))
    W = index.text_.rows(rows) if word_rows is None else word_rows
    return index.char_.similarity(query.text, W, index.char_norms(rows))


def _top(score: NDArray[np.float64], rows: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """Positions of the k best scores, best first; ties broken by row for determinism."""
    n = len(score)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        part = np.argpartition(-score, k - 1)[:k]
    else:
        part = np.arange(n)
    order = np.lexsort((rows[part], -score[part]))
    return part[order]


@dataclass
class _Stage1:
    """One query after the registry-wide pass: candidates, features, shortlist."""

    query: Query
    w: NDArray[np.float64]
    rows: NDArray[np.int64]
    X: NDArray[np.float64]
    s1: NDArray[np.float64]
    short: NDArray[np.int64]  # positions in rows, best stage-1 score first
    q_full: sp.csr_matrix | None  # exact word vector (None without text)
    has_codes: NDArray[np.bool_]  # per candidate: offers CPV codes
    rel: NDArray[np.float64]  # per candidate: relevance (stage-1 text, exact after stage 2)

    @property
    def stage2(self) -> bool:
        return bool(self.w[F_TEXT] > 0 or self.w[F_CHAR] > 0)


def _stage1(
    index: EnterpriseIndex,
    query: Query,
    weights: WeightSet,
    k_short: int | None,
    text_all: NDArray[np.floating[Any]] | None = None,
    dot: NDArray[np.float64] | None = None,
    base: NDArray[np.bool_] | None = None,
) -> _Stage1:
    """Hard constraints, stage-1 features and score, and the shortlist
    (``k_short=None``: every candidate). ``dot``: the query place's dot products
    with every enterprise (computed when None and the query has a place)."""
    if dot is None:
        dot = query_dot(index, query)
    mask = feasible_mask(index, query, dot, base)
    rows = np.flatnonzero(mask).astype(np.int64)
    w = effective_weights(query, weights)
    q_full = word_vector(index.word_, query) if query.text.strip() else None
    if text_all is None:
        if q_full is None or len(rows) == 0:
            text_all = np.zeros(index.n_rows)
        else:
            text_all = index.text_.dot(
                prune_common_terms(q_full, index.postings_, index.query_drop))
    has_codes = index.cpv_.has_codes(rows) if query.cpv else np.ones(len(rows), dtype=bool)
    X = _base_features(index, query, rows, text_all, dot, has_codes)
    a = applicable(query)
    rel = relevance(X, has_codes, a)
    s1 = _score(X, w, rel)
    k = len(rows) if k_short is None else min(k_short, len(rows))
    return _Stage1(query, w, rows, X, s1, _top(s1, rows, k), q_full, has_codes, rel)


def _stage2(index: EnterpriseIndex, st: _Stage1, todo: NDArray[np.int64],
            W: sp.csr_matrix | None = None) -> NDArray[np.float64]:
    """Exact word cosine and char n-grams for the candidates at positions ``todo``
    (word rows ``W``, sliced when not given); returns the final scores."""
    score = st.s1
    if not st.stage2 or len(todo) == 0:
        return score
    rows = st.rows[todo]
    if W is None:
        W = index.text_.rows(rows)
    q = st.q_full
    if q is None:
        q = sp.csr_matrix((1, W.shape[1]), dtype=np.float32)
    X = st.X
    X[todo, F_TEXT] = _exact_text(W, q)
    if st.query.cpv:
        no_codes = todo[~st.has_codes[todo]]
        X[no_codes, F_CPV] = text_evidence(X[no_codes, F_TEXT])
    if st.w[F_CHAR] > 0:
        X[todo, F_CHAR] = _char_feature(index, st.query, rows, W)
    st.rel[todo] = relevance(X[todo], st.has_codes[todo], applicable(st.query))
    score = st.s1.copy()
    score[todo] = _score(X[todo], st.w, st.rel[todo])
    return score


def rank_query(
    index: EnterpriseIndex,
    query: Query,
    weights: WeightSet = DEFAULT,
    top_k: int | None = 20,
    shortlist: int = DEFAULT_SHORTLIST,
    text_all: NDArray[np.floating[Any]] | None = None,
    extra_rows: Sequence[int] = (),
) -> Ranked:
    """Candidates in final order. ``top_k=None`` orders all candidates (shortlist
    re-ranked by the full score, the rest by the stage-1 score after them).
    ``extra_rows`` get the stage-2 text features (exact word cosine, char
    n-grams) even outside the shortlist (why_not). ``text_all``: precomputed
    stage-1 word scores for every row."""
    k_short: int | None = max(shortlist, top_k or 0)
    if top_k is None and shortlist <= 0:
        k_short = None
    st = _stage1(index, query, weights, k_short, text_all)
    rows, short = st.rows, st.short
    todo = short
    if len(extra_rows):
        pos = np.flatnonzero(np.isin(rows, np.asarray(extra_rows)))
        todo = np.union1d(short, pos)
    # Stage 2 on the shortlist: the exact word cosine (stage 1 used a pruned query
    # vector) and the char n-gram feature, from one row slice.
    score = _stage2(index, st, todo)
    return _order(st, score, top_k)


def _order(st: _Stage1, score: NDArray[np.float64], top_k: int | None) -> Ranked:
    rows, short = st.rows, st.short
    head = short[np.lexsort((rows[short], -score[short]))]
    if top_k is None:
        rest_mask = np.ones(len(rows), dtype=bool)
        rest_mask[head] = False
        rest = np.flatnonzero(rest_mask)
        rest = rest[np.lexsort((rows[rest], -score[rest]))]
        order = np.concatenate([head, rest])
    else:
        order = head[:top_k]
    n_suitable = int((st.rel >= SUITABLE_FLOOR - 1e-12).sum())
    return Ranked(st.query, rows[order], st.X[order], score[order], st.w, len(rows),
                  st.rel[order], n_suitable)


# -- explanations ---------------------------------------------------------------------


def _text_reason(index: EnterpriseIndex, qvec: sp.csr_matrix, row: int,
                 surface: Mapping[str, str], n: int = 4) -> Reason | None:
    """The (at most ``n``) terms that weigh most in the word cosine, as the query wrote
    them (``surface``: term -> words, from ``query_surface``)."""
    cols, vals = index.text_.row_arrays(row)
    common, qi, ri = np.intersect1d(qvec.indices, cols, assume_unique=True, return_indices=True)
    if len(common) == 0:
        return None
    contrib = qvec.data[qi] * vals[ri]
    top = common[np.argsort(-contrib, kind="stable")[:n]]
    terms = [index.terms_[j] for j in top.tolist()]
    return reason("shared_terms", words=[surface.get(t, t) for t in terms])


def query_surface(index: EnterpriseIndex, query: Query) -> dict[str, str]:
    """The query's terms -> the words it wrote for them (see ``Analyzer.surface_forms``)."""
    an = getattr(index.word_, "analyzer_", None)
    if not isinstance(an, Analyzer):
        return {}
    # Translated terms (matcher.bilingual) as the term map writes them, after the query's own.
    return {**an.surface_forms(query.translated), **an.surface_forms(query.text)}


def explain(index: EnterpriseIndex, query: Query, row: int,
            qvec: sp.csr_matrix | None = None,
            surface: Mapping[str, str] | None = None) -> list[Reason]:
    """Reasons for one enterprise against one query (``matcher/reasons.py``)."""
    e = index.enterprise(row)
    out: list[Reason] = []
    if query.cpv:
        out.extend(explain_cpv(query.cpv, e.cpv, index.cpv_decay))
    if query.text.strip():
        if qvec is None:
            qvec = query_text_vector(index, query, prune=False)
        if surface is None:
            surface = query_surface(index, query)
        t = _text_reason(index, qvec, row, surface)
        if t:
            out.append(t)
    qu = query.unit()
    if qu is not None:
        dot = float(index.unit_[row] @ qu)
        out.append(reason("distance", km=round(float(km_of_dot(dot)), 1),
                          radius_km=float(index.radius_km_[row])))
    else:
        # No Dutch place of work (a foreign tender, or none given): distance, service
        # radius and region are not judged, and the list says so rather than look local.
        out.append(reason("place_not_judged"))
    if query.target_groups:
        out.extend(explain_groups(query.target_groups, e.target_groups))
    out.extend(recognition(e, index.date_)[1])
    free = {"free_purchase_eur": eur(float(index.free_purchase_eur_[row])),
            "free_placements": int(index.free_placements_[row])}
    if query.amount_eur:
        rem = float(index.remaining_eur_[row])
        out.append(reason("capacity_share", **free,
                          share=round(min(1.0, rem / query.amount_eur), 4),
                          due_eur=eur(query.amount_eur)))
    else:
        out.append(reason("capacity", **free))
    return out


def what_lacks(query: Query, x: NDArray[np.float64], has_codes: bool) -> list[str]:
    """What an enterprise below the floor misses: ``code`` (no specific CPV code of the
    request: none shared, or only a division or group) and/or ``words`` (its description
    shares few of the request's distinctive words)."""
    out: list[str] = []
    if query.cpv and (not has_codes or x[F_CPV] < STRONG_CPV):
        out.append("code")
    if query.text.strip() and x[F_TEXT] < TEXT_FULL / 2:
        out.append("words")
    return out


# A CPV score from this up is a specific code match (a sibling within one class, 0.6 ** 2).
STRONG_CPV = 0.36


def to_matches(index: EnterpriseIndex, ranked: Ranked, with_reasons: bool = True
               ) -> list[Match]:
    """``Match`` records in ranked order; a candidate below ``SUITABLE_FLOOR`` is marked
    ``suitable=False`` and (with reasons) carries ``below_floor`` with what it lacks."""
    qvec = query_text_vector(index, ranked.query, prune=False) if with_reasons else None
    surface = query_surface(index, ranked.query) if with_reasons else None
    out: list[Match] = []
    w = ranked.weights
    names = [f for f, wf in zip(FEATURES, w, strict=True) if wf > 0]
    cols = [FEATURES.index(f) for f in names]
    rel = ranked.relevance if ranked.relevance is not None else np.ones(len(ranked.rows))
    g = gate(rel)
    ok = ranked.suitable()
    for pos, row in enumerate(ranked.rows.tolist()):
        x = ranked.X[pos]
        e = index.enterprise(row)
        reasons = explain(index, ranked.query, row, qvec, surface) if with_reasons else []
        if with_reasons and not ok[pos]:
            lacks = what_lacks(ranked.query, x, bool(e.cpv))
            reasons.insert(0, reason("below_floor", relevance=round(float(rel[pos]), 4),
                                     floor=SUITABLE_FLOOR, lacks=lacks))
        out.append(Match(
            ref=e.ref, name=e.name, score=float(ranked.score[pos]), rank=pos + 1,
            contributions={f: float(w[j] * x[j] * (1.0 if _W_WORK[j] else g[pos]))
                           for f, j in zip(names, cols, strict=True)},
            features={f: float(x[j]) for f, j in zip(names, cols, strict=True)},
            reasons=reasons, relevance=float(rel[pos]), suitable=bool(ok[pos]),
        ))
    return out


# -- public API ----------------------------------------------------------------------


def rank_tender(index: EnterpriseIndex, tender: Tender | Query, weights: WeightSet = DEFAULT,
                top_k: int = 20) -> list[Match]:
    """Best ``top_k`` feasible enterprises for a tender, best first, with reasons."""
    return to_matches(index, rank_query(index, as_query(tender), weights, top_k))


def candidates_for_obligation(
    index: EnterpriseIndex, obligation: Obligation | Query, weights: WeightSet = DEFAULT,
    top_k: int = 50, with_reasons: bool = False,
) -> list[Match]:
    """Best ``top_k`` feasible enterprises for an obligation (its codes and what the
    firm buys, place, target groups, euros due). Reasons are off by default: the
    planner asks for many obligations and explains only what it shows."""
    return to_matches(index, rank_query(index, as_query(obligation), weights, top_k),
                      with_reasons)


def why_not(index: EnterpriseIndex, item: Tender | Obligation | Challenge | Query,
            enterprise_ref: str, weights: WeightSet = DEFAULT) -> dict[str, Any]:
    """Why an enterprise is or is not proposed: its hard-constraint failures, or its
    rank and score among the candidates.

    ``{"ref", "excluded": bool, "exclusions": [{code, params}], "rank": int | None,
    "score": float | None, "n_candidates": int}`` (a candidate adds "contributions",
    "features" and "reasons": [{code, params}]).
    """
    query = as_query(item)
    m, exc, n_candidates = match_of(index, query, enterprise_ref, weights)
    if m is None:
        return {"ref": enterprise_ref, "excluded": True,
                "exclusions": as_dicts(exc), "rank": None, "score": None,
                "n_candidates": n_candidates}
    return {"ref": enterprise_ref, "excluded": False, "exclusions": [],
            "rank": m.rank, "score": m.score, "n_candidates": n_candidates,
            "relevance": m.relevance, "suitable": m.suitable,
            "contributions": m.contributions, "features": m.features,
            "reasons": as_dicts(m.reasons)}


def match_of(index: EnterpriseIndex, item: Tender | Obligation | Challenge | Query,
             enterprise_ref: str, weights: WeightSet = DEFAULT
             ) -> tuple[Match | None, list[Reason], int]:
    """One enterprise scored against a query wherever it ranks: (its match with its rank
    among all candidates, or None when a hard constraint excludes it; the constraints it
    fails; the number of candidates). Raises KeyError for an unknown enterprise."""
    query = as_query(item)
    row = index.row_of_.get(enterprise_ref)
    if row is None:
        raise KeyError(f"unknown enterprise {enterprise_ref!r}")
    exc = exclusions(index, query, row)
    if exc:
        return None, exc, int(feasible_mask(index, query).sum())
    ranked = rank_query(index, query, weights, top_k=None, extra_rows=[row])
    pos = int(np.flatnonzero(ranked.rows == row)[0])
    rel = None if ranked.relevance is None else ranked.relevance[pos:pos + 1]
    m = to_matches(index, Ranked(query, ranked.rows[pos:pos + 1], ranked.X[pos:pos + 1],
                                 ranked.score[pos:pos + 1], ranked.weights, ranked.n_candidates,
                                 rel, ranked.n_suitable))[0]
    return replace(m, rank=pos + 1), [], ranked.n_candidates


def feature_matrix(
    index: EnterpriseIndex, query: Tender | Obligation | Challenge | Query,
    refs: Sequence[str] | None = None,
) -> tuple[list[str], NDArray[np.float64], tuple[str, ...]]:
    """(refs, X[n, len(FEATURES)], FEATURES) of per-feature raw scores in [0, 1].

    Rows are the query's feasible candidates (hard constraints applied), or the
    given ``refs`` (known ones, constraints not applied: e.g. to re-score
    enterprises a connector once judged). Every feature is computed for every
    row, char n-grams included. Features that do not apply to this query
    (``applicable(query)`` False) are constant columns: groups 1, capacity
    1 (0 without capacity), others 0 — they carry no within-query information.
    """
    q = as_query(query)
    dot = query_dot(index, q)
    if refs is None:
        rows = np.flatnonzero(feasible_mask(index, q, dot)).astype(np.int64)
    else:
        rows = np.array([index.row_of_[r] for r in refs if r in index.row_of_], dtype=np.int64)
    text_all = index.text_.dot(query_text_vector(index, q, prune=False))  # exact, every row
    has_codes = index.cpv_.has_codes(rows) if q.cpv else None
    X = _base_features(index, q, rows, text_all, dot, has_codes)
    X[:, F_CHAR] = _char_feature(index, q, rows)
    return [index.refs_[i] for i in rows.tolist()], X, FEATURES


def final_score(index: EnterpriseIndex, query: Tender | Obligation | Challenge | Query,
                X: NDArray[np.float64], refs: Sequence[str],
                weights: WeightSet = DEFAULT) -> NDArray[np.float64]:
    """The ranking's score of ``feature_matrix`` rows (``refs``): work features in full,
    context features scaled by ``gate(relevance)`` (benchmarks' exhaustive reference)."""
    q = as_query(query)
    rows = np.array([index.row_of_[r] for r in refs], dtype=np.int64)
    has_codes = index.cpv_.has_codes(rows) if q.cpv else None
    return _score(X, effective_weights(q, weights), relevance(X, has_codes, applicable(q)))


def rank_many(
    index: EnterpriseIndex,
    items: Sequence[Tender | Obligation | Challenge | Query],
    weights: WeightSet = DEFAULT,
    top_k: int = 50,
    block: int = 64,
    shortlist: int = DEFAULT_SHORTLIST,
    workers: int = 1,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Top-``top_k`` rows and scores for many queries: (rows[m, k], scores[m, k]),
    padded with -1 / NaN where a query has fewer candidates. Same scores as
    ``rank_query``. Work shared: the query-independent constraints once, and per
    block of queries stage 2 (exact word cosine, char n-grams) on one row slice
    of every shortlist in the block, with the char norms of new rows in one
    product. Map rows to refs with ``index.refs_``.

    ``workers`` > 1 splits the queries over that many forked processes (Linux;
    the index is shared copy-on-write, nothing is pickled but the queries'
    results). Meant for batch jobs (CLI, benchmarks): forking a process that runs
    other threads (a web server) is unsafe, so the default is 1. Results are the
    same as with one process."""
    queries = [as_query(x) for x in items]
    m = len(queries)
    if workers > 1 and m > block and _fork_context() is not None:
        return _rank_many_forked(index, queries, weights, top_k, block, shortlist, workers)
    return _rank_many_serial(index, queries, weights, top_k, block, shortlist)


def _rank_many_serial(index: EnterpriseIndex, queries: Sequence[Query], weights: WeightSet,
                      top_k: int, block: int, shortlist: int
                      ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    m = len(queries)
    out_rows = np.full((m, top_k), -1, dtype=np.int64)
    out_score = np.full((m, top_k), np.nan)
    if m == 0:
        return out_rows, out_score
    base = base_mask(index)
    k_short = max(shortlist, top_k)
    for b0 in range(0, m, block):
        qs = queries[b0:b0 + block]
        sts = [_stage1(index, q, weights, k_short, base=base) for q in qs]
        todo_rows = [st.rows[st.short] if st.stage2 else np.zeros(0, np.int64) for st in sts]
        bounds = np.cumsum([0] + [len(r) for r in todo_rows])
        all_rows = np.concatenate(todo_rows)
        Wb: sp.csr_matrix | None = None
        if len(all_rows):
            Wb = index.text_.rows(all_rows)
            index.char_norms(np.unique(all_rows))  # fills the cache for the whole block
        for j, st in enumerate(sts):
            a, b = int(bounds[j]), int(bounds[j + 1])
            score = _stage2(index, st, st.short, Wb[a:b] if Wb is not None and b > a else None)
            r = _order(st, score, top_k)
            k = len(r.rows)
            out_rows[b0 + j, :k] = r.rows
            out_score[b0 + j, :k] = r.score
    return out_rows, out_score


# One forked run at a time: the children read their job from this module global,
# inherited at fork (the index is never pickled).
_FORK_LOCK = threading.Lock()
_FORK_JOB: tuple[Any, ...] | None = None


def _fork_context() -> Any:
    try:
        return multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - platforms without fork
        return None


def _fork_part(bounds: tuple[int, int]
               ) -> tuple[int, NDArray[np.int64], NDArray[np.float64]]:
    assert _FORK_JOB is not None
    index, queries, weights, top_k, block, shortlist = _FORK_JOB
    a, b = bounds
    rows, score = _rank_many_serial(index, queries[a:b], weights, top_k, block, shortlist)
    return a, rows, score


def _rank_many_forked(index: EnterpriseIndex, queries: Sequence[Query], weights: WeightSet,
                      top_k: int, block: int, shortlist: int, workers: int
                      ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    global _FORK_JOB
    m = len(queries)
    out_rows = np.full((m, top_k), -1, dtype=np.int64)
    out_score = np.full((m, top_k), np.nan)
    # Several parts per worker (whole blocks), so a slow part does not idle the others.
    step = max(block, -(-m // (4 * workers)) // block * block)
    parts = [(a, min(a + step, m)) for a in range(0, m, step)]
    with _FORK_LOCK:
        _FORK_JOB = (index, queries, weights, top_k, block, shortlist)
        try:
            with _fork_context().Pool(workers) as pool:
                for a, rows, score in pool.imap_unordered(_fork_part, parts):
                    out_rows[a:a + len(rows)] = rows
                    out_score[a:a + len(rows)] = score
        finally:
            _FORK_JOB = None
    return out_rows, out_score
