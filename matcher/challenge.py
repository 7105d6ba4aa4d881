"""Challenges: diverse answers and coalitions of complementary enterprises.

A municipal Challenge asks an open question ("fewer lonely elderly people in the
village centres") under a few themes. Municipalities are advised to let several
providers try *different* approaches at once, so the answer is not the ten best
near-copies of one idea but:

1. **a diversified ranking**: candidates are ranked by fit to the question
   (``matcher.query.from_challenge`` + ``matcher.rank.rank_query``, hard constraints
   included, so an unvetted enterprise never appears) with the Challenge weight
   profile ``matcher.weights.CHALLENGE`` (question text first, place and recognition
   light: a Challenge has no CPV codes or euros, and under the tender weights distance
   alone would carry ~30 % of the score), blended with theme fit, the rarity-weighted
   share of the Challenge's themes they cover::

       theme_fit(i) = sum_t w_t * coverage(i, t),  w = theme_weights (sum 1)
       rel(i) = (1 - theme_weight) * rank_score(i) + theme_weight * theme_fit(i)

   The ``relevance_pool`` best by fit get a relevance; the ``pool`` most relevant are
   then re-ordered by maximal marginal relevance (MMR)::

       pick argmax_i  lambda * rel(i) - (1 - lambda) * max_{j picked} sim(i, j)

   where ``sim`` compares two enterprises by their description (word TF-IDF
   cosine), their CPV codes (the index's hierarchy-aware similarity, symmetrised)
   and their target groups (cosine of the group-credit rows). ``ranked_`` keeps the
   pure relevance order (what ``sroi evaluate`` scores), ``results_`` the
   diversified one (what a connector sees);
   Only candidates whose relevance reaches ``relevance_floor`` (``PORTFOLIO_FLOOR``)
   are proposed, so the portfolio may hold fewer than ``top_k``: an unrelated
   enterprise is not an answer because the list has room;
2. **coalitions** of 2..``max_partners`` enterprises that together cover more of
   the Challenge's themes than any one of them alone: every member *brings* a theme
   (covers it, coverage >= ``COVERED``) that no other member covers, so a partner that
   only repeats what the best member already covers is never proposed, and a Challenge
   without themes gets no coalitions. ``Coalition.brings`` says which member brings
   which theme. Among those, coalitions that work differently (low mutual similarity),
   fit the question and bring enough capacity score higher. A beam search over the
   best ``coalition_pool`` candidates above the floor keeps it bounded: at most
   ``beam_width * coalition_pool`` extensions per size.

Theme coverage of one enterprise for one theme is in [0, 1]. It is 1 when the theme
is one of its own themes (folded, or the same word stems: "vluchteling" meets
"vluchtelingen"); when it employs a target group the theme names
(``THEME_TARGET_GROUPS``: "statushouders", "jongeren", ...); when its name, themes or
description hold the theme as a word, as two adjacent words ("groen onderhoud" meets
"groenonderhoud") or as part of a Dutch compound ("taalcoach" covers "taal",
"energiearmoede" covers "armoede"). A compound theme whose two parts the text names
apart ("verspilling van voedsel" for "voedselverspilling") gets
``COMPOUND_PARTS_CREDIT``; otherwise it is the share of the theme's word stems the
text contains. Themes count by rarity (``theme_weights``): "werkgelegenheid", which
nearly every social enterprise names, counts little.

Configuration lives in the constructor; ``fit(index, challenge)`` leaves its
results in attributes ending in ``_``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.index import EnterpriseIndex
from matcher.model import Challenge, Enterprise
from matcher.query import Query, from_challenge
from matcher.rank import Match, Ranked, rank_query, to_matches
from matcher.reasons import Reason, as_dicts, eur, reason
from matcher.refdata import fold
from matcher.text import Analyzer, fold_tokens
from matcher.weights import CHALLENGE, DEFAULT, WeightSet

# How the enterprise-to-enterprise similarity is made (weights sum to 1).
SIMILARITY_WEIGHTS: Mapping[str, float] = {"text": 0.5, "cpv": 0.3, "groups": 0.2}
# How a coalition is scored (renormalised over the parts that apply).
_ANALYZER = Analyzer(ngram_max=1)  # stems are cached per word: keep one
COALITION_WEIGHTS: Mapping[str, float] = {
    "coverage": 0.4, "fit": 0.3, "complementarity": 0.2, "capacity": 0.1,
}
# An enterprise covers a theme from this coverage up (what "covers" means in the reasons).
COVERED = 0.5
# Relevance (the blend of fit to the question and theme fit) a candidate needs to be in
# the portfolio or a coalition. Calibrated on the fixtures' nine labelled Challenges as
# the tenders' floor is: the highest floor that cuts at most 5 % of the labelled good
# answers (grade >= 2) among each Challenge's 50 most relevant (0.14 cuts 3 of 72; 0.15
# cuts 4). It drops the unrelated tail (cleaning firms at 0.10-0.13 under a housing
# insulation Challenge whose answers score 0.50 and more).
PORTFOLIO_FLOOR = 0.14


@dataclass(frozen=True)
class Coalition:
    """A proposed group of enterprises answering a Challenge together."""

    refs: tuple[str, ...]
    names: tuple[str, ...]
    score: float
    coverage: float  # (rarity-weighted) share of the themes covered together, in [0, 1]
    fit: float  # mean fit of the members to the question
    complementarity: float  # 1 - mean pairwise similarity
    capacity_eur: float  # combined remaining capacity per year
    parts: dict[str, float] = field(default_factory=dict)  # score part -> weighted value
    reasons: list[Reason] = field(default_factory=list)
    # Member ref -> the themes it brings (each covered theme once, to the member covering
    # it best; every member brings at least one no other member covers).
    brings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.refs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "refs": list(self.refs), "names": list(self.names), "score": round(self.score, 6),
            "coverage": round(self.coverage, 6), "fit": round(self.fit, 6),
            "complementarity": round(self.complementarity, 6),
            "capacity_eur": round(self.capacity_eur, 2),
            "parts": {k: round(v, 6) for k, v in self.parts.items()},
            "reasons": as_dicts(self.reasons),
            "brings": {k: list(v) for k, v in self.brings.items()},
        }


# -- pairwise similarity and theme coverage (pure helpers, tested directly) ------------


def similarity_matrix(
    index: EnterpriseIndex,
    rows: Sequence[int] | NDArray[np.int64],
    weights: Mapping[str, float] = SIMILARITY_WEIGHTS,
) -> NDArray[np.float64]:
    """Similarity in [0, 1] between the enterprises at ``rows`` (symmetric, 1 on the
    diagonal): weighted text cosine, CPV similarity and target-group cosine."""
    rows = np.asarray(rows, dtype=np.int64)
    n = len(rows)
    if n == 0:
        return np.zeros((0, 0))
    total = sum(weights.values()) or 1.0
    S = np.zeros((n, n))
    if weights.get("text", 0) > 0:
        T = index.text_.rows(rows)
        S += weights["text"] * np.clip((T @ T.T).toarray(), 0.0, 1.0)
    if weights.get("cpv", 0) > 0:
        # One inverted-index pass per pool member (not a Python loop over pairs), then
        # symmetrised: CpvIndex.score is "how well do these codes answer the query's".
        C = np.zeros((n, n))
        for i, r in enumerate(rows.tolist()):
            codes = index.enterprise(int(r)).cpv
            if codes:
                C[i] = index.cpv_.score(codes, index.n_rows)[rows]
        S += weights["cpv"] * 0.5 * (C + C.T)
    if weights.get("groups", 0) > 0:
        G = np.asarray(index.groups_.M_[rows], dtype=np.float64)
        norm = np.linalg.norm(G, axis=1)
        nz = norm > 0
        Gn = np.zeros_like(G)
        Gn[nz] = G[nz] / norm[nz, None]
        S += weights["groups"] * np.clip(Gn @ Gn.T, 0.0, 1.0)
    S /= total
    np.fill_diagonal(S, 1.0)
    return np.clip(S, 0.0, 1.0)


# Themes that name the people a Challenge is for: an enterprise employing such a target
# group covers the theme ("for whom"), whatever words its description uses. Data: extend here.
THEME_TARGET_GROUPS: Mapping[str, tuple[str, ...]] = {
    "jongeren": ("jongeren_zonder_startkwalificatie", "bbl", "bol", "vso_pro"),
    "jeugdwerkloosheid": ("jongeren_zonder_startkwalificatie", "bbl", "vso_pro"),
    # learners on a work-based or school-based vocational route, or from practical and
    # special secondary education: the enterprise is a place of learning
    "onderwijs": ("bbl", "bol", "vso_pro"),
    "statushouders": ("statushouders",),
    "vluchtelingen": ("statushouders",),
    "nieuwkomers": ("statushouders",),
    "inburgering": ("statushouders",),
    "50plussers": ("50plus",),
}
# Credit for a single-word compound theme whose two parts the text names apart
# ("voedselverspilling" against "verspilling van voedsel").
COMPOUND_PARTS_CREDIT = 0.75
# A compound theme splits into parts of at least this many letters.
_MIN_PART = 4


@dataclass(frozen=True)
class _Doc:
    """What theme coverage reads of one enterprise (cached: the registry's texts are
    analysed once, not once per Challenge)."""

    own: frozenset[str]  # its own themes, folded
    own_stems: frozenset[frozenset[str]]  # ... as stem sets
    words: frozenset[str]  # folded words, and each two adjacent words written together
    joined: str  # " " + the folded words, space-separated
    joined_rev: str  # " " + the same reversed (a word ending in X: X reversed starts one)
    stems: frozenset[str]


@lru_cache(maxsize=8192)
def _doc(analyzer: Analyzer, name: str, themes: tuple[str, ...], description: str) -> _Doc:
    toks = fold_tokens(" ".join([name, " ".join(themes), description]))
    joined = " ".join(toks)
    return _Doc(
        own=frozenset(fold(t) for t in themes),
        own_stems=frozenset(frozenset(analyzer.stems(t)) for t in themes),
        words=frozenset(toks) | {a + b for a, b in zip(toks, toks[1:], strict=False)},
        joined=" " + joined, joined_rev=" " + joined[::-1],
        stems=frozenset(analyzer.stems(joined)),
    )


def _starts_longer_word(text: str, part: str, min_rest: int) -> bool:
    """Does a word of ``text`` (" "-separated, leading space) start with ``part`` and
    go on for at least ``min_rest`` more letters? (str.find: a regex is ~10x slower.)"""
    needle = " " + part
    k = text.find(needle)
    while k >= 0:
        end = text.find(" ", k + 1)
        if (len(text) if end < 0 else end) - (k + len(needle)) >= min_rest:
            return True
        k = text.find(needle, k + 1)
    return False


@dataclass(frozen=True)
class _Theme:
    folded: str
    flat: str  # folded, without spaces
    stems: frozenset[str]
    splits: tuple[tuple[str, str], ...]  # a one-word compound's possible parts, as stems
    head: bool  # look for a word starting with the theme ("taal" -> "taalcoach")
    tail: bool  # ... and for one ending in it ("armoede" -> "energiearmoede")
    groups: tuple[str, ...]  # target groups that cover it


class _ThemeCoverage:
    """Coverage of themes by enterprises (see the module docstring)."""

    def __init__(self, analyzer: Analyzer | None = None) -> None:
        # The index's own analyzer has every registry word's stem cached already.
        self._an = analyzer or _ANALYZER

    def _theme(self, theme: str) -> _Theme:
        folded = fold(theme)
        toks = fold_tokens(theme)
        flat = "".join(toks)
        splits: list[tuple[str, str]] = []
        if len(toks) == 1:
            for i in range(_MIN_PART, len(flat) - _MIN_PART + 1):
                left, right = flat[:i], flat[i:]
                for lft in {left, left[:-1] if left.endswith("s") else left}:
                    a, b = self._an.stem(lft), self._an.stem(right)
                    if a and b and len(lft) >= _MIN_PART:
                        splits.append((a, b))
        # Head of a longer word when the rest is a word of its own (>= 4 letters: not
        # "groenten" for "groen"); last part after >= 3 letters ("be-wonen" is not).
        return _Theme(folded, flat, frozenset(self._an.stems(theme)), tuple(splits),
                      len(flat) >= 4, len(flat) >= 5, THEME_TARGET_GROUPS.get(folded, ()))

    def matrix(self, enterprises: Sequence[Enterprise], themes: Sequence[str]
               ) -> NDArray[np.float64]:
        M = np.zeros((len(enterprises), len(themes)))
        info = [self._theme(t) for t in themes]
        for i, e in enumerate(enterprises):
            d = _doc(self._an, e.name, tuple(e.themes), e.description)
            for j, t in enumerate(info):
                if not t.flat:
                    continue
                if (t.folded in d.own or (t.stems and t.stems in d.own_stems)
                        or t.flat in d.words
                        or any(g in e.target_groups for g in t.groups)
                        or (t.head and _starts_longer_word(d.joined, t.flat, 4))
                        or (t.tail and _starts_longer_word(d.joined_rev, t.flat[::-1], 3))):
                    M[i, j] = 1.0
                    continue
                c = len(t.stems & d.stems) / len(t.stems) if t.stems else 0.0
                if any(a in d.stems and b in d.stems for a, b in t.splits):
                    c = max(c, COMPOUND_PARTS_CREDIT)
                M[i, j] = c
        return M


def theme_coverage(enterprises: Sequence[Enterprise], themes: Sequence[str],
                   analyzer: Analyzer | None = None) -> NDArray[np.float64]:
    """len(enterprises) x len(themes) coverage in [0, 1]."""
    return _ThemeCoverage(analyzer).matrix(enterprises, themes)


# A theme every enterprise names still counts a little.
MIN_THEME_WEIGHT = 0.1


def theme_weights(index: EnterpriseIndex, themes: Sequence[str]) -> NDArray[np.float64]:
    """How much each theme counts in theme fit: its rarity in the registry, the mean
    inverse document frequency ``ln((1 + n) / (1 + df))`` of its word stems in the
    index's TF-IDF vocabulary (at least ``MIN_THEME_WEIGHT``). "werkgelegenheid", which
    nearly every social enterprise names, says little about who answers a Challenge;
    "energiearmoede" says a lot. A stem outside the vocabulary (no enterprise uses it,
    or so many that the vocabulary's ``max_df`` dropped it: the two cannot be told
    apart) gets the mean weight of the Challenge's known stems, 1 if none is known.
    Equal weights when the index has no word vocabulary."""
    word = getattr(index, "word_", None)
    vocab = getattr(word, "vocabulary_", None)
    idf = getattr(word, "idf_", None)
    an = getattr(word, "analyzer_", None)
    if not themes:
        return np.zeros(0)
    if vocab is None or idf is None or not isinstance(an, Analyzer):
        return np.ones(len(themes))
    per_theme = [[float(idf[vocab[st]]) - 1.0 if st in vocab else None for st in an.stems(t)]
                 for t in themes]
    known = [v for vals in per_theme for v in vals if v is not None]
    neutral = float(np.mean(known)) if known else 1.0
    out = np.array([float(np.mean([neutral if v is None else v for v in vals]))
                    if vals else neutral for vals in per_theme])
    return np.maximum(out, MIN_THEME_WEIGHT)


def mmr_order(relevance: NDArray[np.float64], sim: NDArray[np.float64], k: int,
              lambda_: float, floor: float = 0.0) -> list[int]:
    """Positions picked by maximal marginal relevance, best first (ties: lower position).

    Only candidates whose relevance is at least ``floor`` x the best one's take part in
    the diversification; the others follow in relevance order once those are used up.
    Diversity is a reason to show a *different relevant* approach, never an unrelated
    one: without the floor a near-copy of the best answer loses its place to any
    dissimilar enterprise, however poor its fit.
    """
    n = len(relevance)
    k = min(k, n)
    picked: list[int] = []
    if k <= 0:
        return picked
    top = float(np.max(relevance)) if n else 0.0
    eligible = relevance >= floor * top if top > 0 else np.ones(n, dtype=bool)
    max_sim = np.zeros(n)
    free = eligible.copy()
    while len(picked) < k and free.any():
        val = lambda_ * relevance - (1.0 - lambda_) * max_sim
        val = np.where(free, val, -np.inf)
        i = int(np.argmax(val))  # first maximum: the better-ranked one wins ties
        picked.append(i)
        free[i] = False
        max_sim = np.maximum(max_sim, sim[i])
    rest = np.flatnonzero(~eligible)
    rest = rest[np.lexsort((rest, -relevance[rest]))]
    picked.extend(int(i) for i in rest[:k - len(picked)])
    return picked


# -- the estimator ---------------------------------------------------------------------


class ChallengeMatcher:
    """Diversified ranking and coalitions for one Challenge.

    Parameters
    ----------
    weights: the active feature weight set (tenders' and obligations'; possibly learnt).
        Used for fit to the question only when ``profile`` is None.
    profile: the weight set for fit to the question (``rank_query``), by default
        ``matcher.weights.CHALLENGE``: a Challenge has no CPV codes and no euros, so the
        tender weights, renormalised over what applies, would give distance ~30 % of
        the score. None: use ``weights``.
    top_k: how many diversified results to return.
    pool: how many most relevant candidates MMR chooses from (and similarity covers).
    relevance_pool: how many best-fitting candidates (by the weighted features) get
        theme coverage and relevance; the ``pool`` most relevant of them go on to MMR.
    lambda_mmr: 1 = pure relevance, 0 = pure diversity.
    min_relative_relevance: only candidates at least this share of the best relevance
        are diversified; the rest follow in relevance order (``mmr_order``'s floor).
    theme_weight: share of relevance that is theme fit (the rest is the weighted
        feature score of ``rank_query``); 0 for a Challenge without themes.
    rarity_weighted_themes: weigh each theme by its rarity in the registry
        (``theme_weights``) in theme fit and coalition coverage; False: all equal.
    max_partners: largest coalition (None: the Challenge's own ``max_partners``).
    n_coalitions: how many coalitions to propose.
    coalition_pool: how many best-fitting candidates coalitions are built from.
    beam_width: coalitions kept per size during the search.
    max_member_similarity: two members more similar than this are near-copies, not
        partners: such a coalition is not proposed.
    relevance_floor: relevance a candidate needs to be proposed at all (portfolio and
        coalitions; ``PORTFOLIO_FLOOR``).
    min_relative_fit: a coalition member must fit the question at least this share of
        the best candidate's fit (an unrelated enterprise is "complementary" to
        everyone, but no answer to the question).
    similarity_weights, coalition_weights: see the module constants.

    Learned state after ``fit``: ``query_``, ``weights_`` (the weight set that scored
    the fit to the question), ``ranked_`` (the relevance pool, best relevance first:
    the pure relevance order), ``relevance_``, ``n_candidates_``, ``similarity_``
    (first ``pool`` x first ``pool``), ``order_`` (positions in diversified order),
    ``results_`` (list of ``Match``, score = relevance, a ``themes`` contribution
    added), ``themes_``, ``theme_weights_`` (summing to 1), ``coverage_`` (relevance
    pool x themes), ``theme_fit_``, ``max_partners_``, ``coalitions_``.
    """

    def __init__(
        self,
        weights: WeightSet = DEFAULT,
        top_k: int = 10,
        pool: int = 50,
        lambda_mmr: float = 0.7,
        min_relative_relevance: float = 0.5,
        theme_weight: float = 0.5,
        profile: WeightSet | None = CHALLENGE,
        relevance_pool: int = 200,
        rarity_weighted_themes: bool = True,
        max_partners: int | None = None,
        n_coalitions: int = 5,
        coalition_pool: int = 12,
        beam_width: int = 10,
        max_member_similarity: float = 0.8,
        min_relative_fit: float = 0.5,
        relevance_floor: float = PORTFOLIO_FLOOR,
        similarity_weights: Mapping[str, float] = SIMILARITY_WEIGHTS,
        coalition_weights: Mapping[str, float] = COALITION_WEIGHTS,
    ) -> None:
        self.weights = weights
        self.top_k = top_k
        self.pool = pool
        self.lambda_mmr = lambda_mmr
        self.min_relative_relevance = min_relative_relevance
        self.theme_weight = theme_weight
        self.profile = profile
        self.relevance_pool = relevance_pool
        self.rarity_weighted_themes = rarity_weighted_themes
        self.max_partners = max_partners
        self.n_coalitions = n_coalitions
        self.coalition_pool = coalition_pool
        self.beam_width = beam_width
        self.max_member_similarity = max_member_similarity
        self.min_relative_fit = min_relative_fit
        self.relevance_floor = relevance_floor
        self.similarity_weights = similarity_weights
        self.coalition_weights = coalition_weights

    def _check(self) -> None:
        if self.top_k < 0 or self.pool < 0 or self.relevance_pool < 0:
            raise ValueError("top_k, pool and relevance_pool must be >= 0")
        if not 0.0 <= self.lambda_mmr <= 1.0:
            raise ValueError(f"lambda_mmr must be in [0, 1], got {self.lambda_mmr}")
        if not 0.0 <= self.min_relative_relevance <= 1.0:
            raise ValueError("min_relative_relevance must be in [0, 1], got "
                             f"{self.min_relative_relevance}")
        if not 0.0 <= self.theme_weight <= 1.0:
            raise ValueError(f"theme_weight must be in [0, 1], got {self.theme_weight}")
        if not 0.0 <= self.relevance_floor <= 1.0:
            raise ValueError(f"relevance_floor must be in [0, 1], got {self.relevance_floor}")
        if self.max_partners is not None and self.max_partners < 1:
            raise ValueError(f"max_partners must be >= 1, got {self.max_partners}")

    def fit(self, index: EnterpriseIndex, challenge: Challenge | Query, *,
            exclude: Iterable[str] = ()) -> ChallengeMatcher:
        """``exclude``: enterprise refs left out of everything this fit proposes (the
        diversified results, the coalitions, and the reasons that name a closest
        alternative), e.g. those a connector rejected for this Challenge."""
        self._check()
        if isinstance(challenge, Query):
            query = challenge
            limit = self.max_partners
        else:
            query = from_challenge(challenge)
            limit = self.max_partners or challenge.max_partners
        self.query_: Query = query
        self.max_partners_: int = max(1, int(limit or 3))
        self.weights_: WeightSet = self.profile if self.profile is not None else self.weights
        pool = max(self.pool, self.top_k, self.coalition_pool)
        self.excluded_: frozenset[str] = frozenset(exclude)
        # Ask for as many more as are left out, so the pools stay as large.
        n_out = sum(1 for r in self.excluded_ if r in index.row_of_)
        ranked = rank_query(index, query, self.weights_,
                            top_k=max(pool, self.relevance_pool) + n_out)
        if n_out:
            keep = np.flatnonzero([index.refs_[int(r)] not in self.excluded_
                                   for r in ranked.rows])[:max(pool, self.relevance_pool)]
            ranked = Ranked(query, ranked.rows[keep], ranked.X[keep], ranked.score[keep],
                            ranked.weights, ranked.n_candidates,
                            None if ranked.relevance is None else ranked.relevance[keep],
                            ranked.n_suitable)
        self.n_candidates_: int = ranked.n_candidates
        self.themes_: tuple[str, ...] = tuple(dict.fromkeys(t for t in query.themes if t.strip()))
        ents = [index.enterprise(int(r)) for r in ranked.rows]
        an = getattr(index.word_, "analyzer_", None)
        coverage = theme_coverage(ents, self.themes_, an if isinstance(an, Analyzer) else None)
        tw = (theme_weights(index, self.themes_) if self.rarity_weighted_themes
              else np.ones(len(self.themes_)))
        self.theme_weights_: NDArray[np.float64] = tw / tw.sum() if len(tw) else tw
        # Relevance: fit to the question (the weighted features), blended with the
        # (rarity-weighted) share of the Challenge's themes covered; re-ordered by it.
        self.theme_weight_: float = self.theme_weight if self.themes_ else 0.0
        theme_fit = coverage @ self.theme_weights_ if self.themes_ else np.zeros(len(ents))
        relevance = (1.0 - self.theme_weight_) * ranked.score + self.theme_weight_ * theme_fit
        perm = np.lexsort((ranked.rows, -relevance))
        self.ranked_: Ranked = Ranked(
            query, ranked.rows[perm], ranked.X[perm], ranked.score[perm], ranked.weights,
            ranked.n_candidates, None if ranked.relevance is None else ranked.relevance[perm],
            ranked.n_suitable)
        self.relevance_: NDArray[np.float64] = relevance[perm]
        self.coverage_: NDArray[np.float64] = coverage[perm]
        self.theme_fit_: NDArray[np.float64] = theme_fit[perm]
        ents = [ents[i] for i in perm.tolist()]
        rows = self.ranked_.rows
        # MMR and coalitions work on the ``pool`` most relevant (similarity is n^2).
        self.similarity_: NDArray[np.float64] = similarity_matrix(
            index, rows[:pool], self.similarity_weights)
        self.remaining_eur_: NDArray[np.float64] = np.asarray(
            index.remaining_eur_[rows], dtype=np.float64)

        # 1. Diversified ranking, of the candidates above the floor only (a prefix:
        # relevance_ is in descending order).
        self.n_suitable_: int = int(np.sum(self.relevance_ >= self.relevance_floor - 1e-12))
        n_pool = min(len(self.similarity_), self.n_suitable_)
        self.order_: list[int] = mmr_order(self.relevance_[:n_pool],
                                           self.similarity_[:n_pool, :n_pool],
                                           self.top_k, self.lambda_mmr,
                                           self.min_relative_relevance)
        base = self._matches(index, np.asarray(self.order_, dtype=np.int64))
        self.results_: list[Match] = [
            self._with_diversity_reason(m, k, ents) for k, m in enumerate(base)]

        # 2. Coalitions.
        budget = getattr(challenge, "budget_eur", None)
        self.coalitions_: list[Coalition] = self._coalitions(ents, budget)
        return self

    def _matches(self, index: EnterpriseIndex, pos: NDArray[np.int64]) -> list[Match]:
        """Pool positions as ``Match`` records: score = relevance, contributions = the
        feature contributions scaled by (1 - theme_weight) plus ``themes``."""
        r = self.ranked_
        ms = to_matches(index, Ranked(r.query, r.rows[pos], r.X[pos], r.score[pos], r.weights,
                                      r.n_candidates,
                                      None if r.relevance is None else r.relevance[pos],
                                      r.n_suitable))
        tw = self.theme_weight_
        out: list[Match] = []
        for m, p in zip(ms, pos.tolist(), strict=True):
            contributions = {k: (1.0 - tw) * v for k, v in m.contributions.items()}
            features = dict(m.features)
            if tw > 0:
                contributions["themes"] = tw * float(self.theme_fit_[p])
                features["themes"] = float(self.theme_fit_[p])
            out.append(Match(ref=m.ref, name=m.name, score=float(self.relevance_[p]),
                             rank=int(p) + 1, contributions=contributions, features=features,
                             reasons=m.reasons))
        return out

    def member_matches(self, index: EnterpriseIndex, coalition: Coalition) -> list[Match]:
        """The members of a coalition as ``Match`` records (fit, contributions, reasons),
        in the coalition's order; ``rank`` is their place in the relevance ranking."""
        pos_of = {index.refs_[int(r)]: p for p, r in enumerate(self.ranked_.rows)}
        return self._matches(index, np.array([pos_of[ref] for ref in coalition.refs],
                                             dtype=np.int64))

    # -- diversified results -------------------------------------------------------

    def _with_diversity_reason(self, m: Match, k: int, ents: Sequence[Enterprise]) -> Match:
        reasons = list(m.reasons)
        pos = self.order_[k]
        if self.themes_:
            got = [t for t, c in zip(self.themes_, self.coverage_[pos], strict=True)
                   if c >= COVERED]
            if got:
                reasons.insert(0, reason("themes_covered", themes=got))
        if k > 0:
            before = self.order_[:k]
            j = before[int(np.argmax(self.similarity_[pos, before]))]
            s = float(self.similarity_[pos, j])
            reasons.append(reason("different_approach", similarity=round(s, 4),
                                  closest=ents[j].name))
        return Match(ref=m.ref, name=m.name, score=m.score, rank=k + 1,
                     contributions=m.contributions, features=m.features, reasons=reasons)

    # -- coalitions ----------------------------------------------------------------

    def _score(self, members: tuple[int, ...], budget: float | None
               ) -> tuple[float, dict[str, float], float, float, float, float]:
        idx = list(members)
        fit = float(np.mean(self.relevance_[idx]))
        if len(idx) > 1:
            sub = self.similarity_[np.ix_(idx, idx)]
            m = len(idx)
            comp = 1.0 - float((sub.sum() - np.trace(sub)) / (m * (m - 1)))
        else:
            comp = 0.0
        cap = float(self.remaining_eur_[idx].sum())
        parts_raw: dict[str, float] = {"fit": fit, "complementarity": comp}
        coverage = 0.0
        if self.themes_:
            coverage = float(self.coverage_[idx].max(axis=0) @ self.theme_weights_)
            parts_raw["coverage"] = coverage
        if budget:
            parts_raw["capacity"] = min(1.0, cap / budget)
        w = {k: float(self.coalition_weights.get(k, 0.0)) for k in parts_raw}
        total = sum(w.values()) or 1.0
        parts = {k: w[k] / total * v for k, v in parts_raw.items()}
        return sum(parts.values()), parts, coverage, fit, comp, cap

    def _admissible(self, members: tuple[int, ...], new: int) -> bool:
        """A new member must not be a near-copy of a member, and the coalition with it
        must still have every member bring a theme no other member covers (so together
        they cover more themes than any one of them alone)."""
        idx = list(members)
        if float(self.similarity_[new, idx].max()) > self.max_member_similarity:
            return False
        return self._each_brings((*members, new))

    def _each_brings(self, members: tuple[int, ...]) -> bool:
        covers = self.coverage_[list(members)] >= COVERED
        if not covers.size:
            return False
        only = covers & (covers.sum(axis=0) == 1)  # themes this member alone covers
        return bool(only.any(axis=1).all())

    def _brings(self, order: tuple[int, ...], ents: Sequence[Enterprise]
                ) -> dict[str, tuple[str, ...]]:
        """Each covered theme to the member covering it best (ties: the better fit)."""
        cov = self.coverage_[list(order)]
        out: dict[str, list[str]] = {ents[i].ref: [] for i in order}
        for j, t in enumerate(self.themes_):
            who = int(np.argmax(cov[:, j]))
            if cov[who, j] >= COVERED:
                out[ents[order[who]].ref].append(t)
        return {k: tuple(v) for k, v in out.items()}

    def _coalitions(self, ents: Sequence[Enterprise], budget: float | None) -> list[Coalition]:
        if not self.themes_:
            return []  # nothing for partners to complement each other on
        n = min(self.coalition_pool, len(ents), self.n_suitable_)
        if n:
            floor = self.min_relative_fit * float(self.relevance_[0])
            # Scores are in descending order: the eligible members are a prefix.
            n = int(np.sum(self.relevance_[:n] >= floor - 1e-12))
        size_max = min(self.max_partners_, n)
        if size_max < 2 or self.n_coalitions <= 0:
            return []
        found: dict[tuple[int, ...], float] = {}
        beam: list[tuple[int, ...]] = [(i,) for i in range(n)]
        for _size in range(2, size_max + 1):
            grown: dict[tuple[int, ...], float] = {}
            for members in beam:
                for new in range(n):
                    if new in members:
                        continue
                    key = tuple(sorted((*members, new)))
                    if key in grown or not self._admissible(members, new):
                        continue
                    grown[key] = self._score(key, budget)[0]
            if not grown:
                break
            best = sorted(grown.items(), key=lambda kv: (-kv[1], kv[0]))
            beam = [k for k, _ in best[: self.beam_width]]
            found.update(best)
        ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
        return [self._coalition(k, ents, budget) for k, _ in ranked[: self.n_coalitions]]

    def _coalition(self, members: tuple[int, ...], ents: Sequence[Enterprise],
                   budget: float | None) -> Coalition:
        # Members in order of fit (best first).
        order = tuple(sorted(members, key=lambda i: (-self.relevance_[i], i)))
        score, parts, coverage, fit, comp, cap = self._score(order, budget)
        reasons: list[Reason] = []
        if self.themes_:
            cov = self.coverage_[list(order)]
            best_single = float((cov @ self.theme_weights_).max())
            covered: list[str] = []
            covered_by: list[str] = []
            partly: list[str] = []
            partly_shares: list[float] = []
            partly_by: list[str] = []
            for j, t in enumerate(self.themes_):
                who = int(np.argmax(cov[:, j]))
                c = float(cov[who, j])
                if c >= COVERED:
                    covered.append(t)
                    covered_by.append(ents[order[who]].name)
                elif c > 0:
                    partly.append(t)
                    partly_shares.append(round(c, 4))
                    partly_by.append(ents[order[who]].name)
            reasons.append(reason(
                "coalition_themes", covered=len(covered), n_themes=len(self.themes_),
                themes=covered, themes_by=covered_by, partly=partly,
                partly_shares=partly_shares, partly_by=partly_by,
                best_single=round(best_single, 4) if coverage > best_single + 1e-9 else None))
        reasons.append(reason("coalition_alike", similarity=round(1 - comp, 4)))
        cpv_div = [sorted({c[:2] for c in ents[i].cpv}) for i in order]
        if any(cpv_div) and len({tuple(d) for d in cpv_div}) > 1:
            reasons.append(reason("coalition_cpv", divisions=[",".join(d) for d in cpv_div]))
        reasons.append(reason("coalition_fit", fit=round(fit, 4)))
        if budget:
            reasons.append(reason("coalition_budget", free_eur=eur(cap), budget_eur=eur(budget),
                                  share=round(min(1.0, cap / budget), 4)))
        else:
            reasons.append(reason("coalition_capacity", free_eur=eur(cap)))
        return Coalition(
            refs=tuple(ents[i].ref for i in order), names=tuple(ents[i].name for i in order),
            score=score, coverage=coverage, fit=fit, complementarity=comp, capacity_eur=cap,
            parts=parts, reasons=reasons, brings=self._brings(order, ents),
        )


def match_challenge(
    index: EnterpriseIndex, challenge: Challenge, weights: WeightSet = DEFAULT,
    top_k: int = 10, **params: Any,
) -> tuple[list[Match], list[Coalition]]:
    """Diversified results and coalitions for one Challenge (see ``ChallengeMatcher``)."""
    m = ChallengeMatcher(weights=weights, top_k=top_k, **params).fit(index, challenge)
    return m.results_, m.coalitions_
