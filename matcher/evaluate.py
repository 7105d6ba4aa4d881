"""Ranking quality: graded metrics, labelled queries, text and CPV baselines, constraint audit.

Pure: no database or web knowledge. A *ranker* is any callable that takes a query
(a :class:`~matcher.model.Tender` or :class:`~matcher.model.Challenge`) and returns
enterprise refs best first. :func:`evaluate` runs several rankers over the same
labelled queries and reports NDCG@k, precision@k, recall@k, overall and per query
kind, plus how many of each ranker's top 10 break a hard constraint (the engine
must have none; the baselines know nothing of constraints).

Labels follow the interchange format's "Relevance labels" section::

    {"queries": [{"tender": "T-001", "relevant": {"E-014": 3, "E-077": 2}},
                 {"challenge": "C-002", "relevant": {"E-120": 3}}]}

Grades: 3 ideal, 2 good, 1 acceptable; unlisted enterprises count as 0. A query may
name its ``"case"`` (e.g. ``broad_code``, ``no_fit``, ``place_trap``, ``text_only``,
``synonym``; default ``regular``): every figure is also reported per case. A query with
no relevant enterprise (``"relevant": {}``) is a *no-fit* query: the right answer is an
empty ``results`` list.

Beside NDCG, the honest cut (``matcher.rank.SUITABLE_FLOOR``) is measured from the
engine's judgement of every candidate (:class:`Judged`): how often a no-fit query
returns no results, and how often a labelled good answer (grade >= 2) is cut below the
floor. :func:`calibrate` sweeps the floor over the same figures.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from scipy import sparse

from matcher.capacity import CapacityState, Commitment
from matcher.geo import haversine_km
from matcher.model import RESERVED_MIN_TARGET_GROUP_SHARE, Challenge, Enterprise, Tender

Query = Tender | Challenge
Ranker = Callable[[Query], Sequence[str]]

QUERY_KINDS: tuple[str, ...] = ("tender", "challenge")
MAX_GRADE = 3
VIOLATION_DEPTH = 10


# --------------------------------------------------------------------------- metrics


def _gain(grade: float) -> float:
    return float(2.0**grade - 1.0)


def dcg_at_k(grades: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of grades in ranked order, gains 2^g - 1."""
    return float(sum(_gain(g) / math.log2(i + 2) for i, g in enumerate(grades[:k])))


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float | None:
    """NDCG@k; the ideal ranking is built from *all* labelled grades.

    None when no enterprise has a positive grade (NDCG is undefined there).
    """
    if k <= 0:
        raise ValueError("k must be positive")
    ideal = dcg_at_k(sorted((g for g in relevant.values() if g > 0), reverse=True), k)
    if ideal == 0.0:
        return None
    return dcg_at_k([relevant.get(ref, 0) for ref in ranked], k) / ideal


def precision_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    """Share of the k positions holding a relevant (grade >= 1) enterprise.

    The denominator is k even when fewer than k results came back: an empty slot
    is not a relevant answer.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    return sum(1 for ref in ranked[:k] if relevant.get(ref, 0) >= 1) / k


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float | None:
    """Share of the relevant (grade >= 1) enterprises found in the top k; None if none exist."""
    if k <= 0:
        raise ValueError("k must be positive")
    wanted = {ref for ref, g in relevant.items() if g >= 1}
    if not wanted:
        return None
    return len(wanted.intersection(ranked[:k])) / len(wanted)


# --------------------------------------------------------------------------- labels


class LabelError(ValueError):
    """A relevance-labels document that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class LabelledQuery:
    kind: str  # tender | challenge
    ref: str
    relevant: Mapping[str, int]
    case: str = "regular"

    @property
    def no_fit(self) -> bool:
        return not any(g > 0 for g in self.relevant.values())


def parse_labels(
    doc: Any,
    *,
    enterprises: Iterable[str] | None = None,
    tenders: Iterable[str] | None = None,
    challenges: Iterable[str] | None = None,
) -> list[LabelledQuery]:
    """Validate a labels document and return its queries.

    When ``enterprises``/``tenders``/``challenges`` are given, every ref must be
    among them. Raises :class:`LabelError` naming the JSON path of the first
    problem found (all problems are listed, one per line).
    """
    problems: list[str] = []
    known_e = set(enterprises) if enterprises is not None else None
    known = {
        "tender": set(tenders) if tenders is not None else None,
        "challenge": set(challenges) if challenges is not None else None,
    }
    if not isinstance(doc, dict):
        raise LabelError('labels must be a JSON object {"queries": [...]}')
    unknown_keys = sorted(set(doc) - {"queries", "extra"})
    if unknown_keys:
        problems.append(f"unknown top-level key(s) {', '.join(unknown_keys)}")
    queries = doc.get("queries")
    if not isinstance(queries, list):
        raise LabelError('labels must have "queries": a list of {"tender"|"challenge", "relevant"}')
    out: list[LabelledQuery] = []
    seen: set[tuple[str, str]] = set()
    for i, q in enumerate(queries):
        where = f"queries[{i}]"
        if not isinstance(q, dict):
            problems.append(f"{where}: must be an object")
            continue
        kinds = [k for k in QUERY_KINDS if k in q]
        extra = sorted(set(q) - set(QUERY_KINDS) - {"relevant", "note", "extra", "case"})
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(extra)}")
        if len(kinds) != 1:
            problems.append(f'{where}: needs exactly one of "tender" or "challenge"')
            continue
        kind = kinds[0]
        ref = q[kind]
        if not isinstance(ref, str) or not ref.strip():
            problems.append(f"{where}.{kind}: must be a non-empty string")
            continue
        known_refs = known[kind]
        if known_refs is not None and ref not in known_refs:
            problems.append(f"{where}.{kind}: unknown {kind} ref {ref!r}")
        if (kind, ref) in seen:
            problems.append(f"{where}: {kind} {ref!r} is labelled twice")
        seen.add((kind, ref))
        rel = q.get("relevant")
        if not isinstance(rel, dict):
            problems.append(f'{where}.relevant: must be an object {{"E-ref": grade}}')
            continue
        grades: dict[str, int] = {}
        for e_ref, grade in rel.items():
            if isinstance(grade, bool) or not isinstance(grade, int | float) or (
                isinstance(grade, float) and not grade.is_integer()
            ):
                problems.append(
                    f"{where}.relevant.{e_ref}: grade must be a whole number 0-3, got {grade!r}"
                )
                continue
            if not 0 <= grade <= MAX_GRADE:
                problems.append(f"{where}.relevant.{e_ref}: grade must be 0-3, got {grade!r}")
                continue
            if known_e is not None and e_ref not in known_e:
                problems.append(f"{where}.relevant: unknown enterprise ref {e_ref!r}")
                continue
            grades[e_ref] = int(grade)
        case = q.get("case", "regular")
        if not isinstance(case, str) or not case.strip():
            problems.append(f"{where}.case: must be a non-empty string")
            continue
        out.append(LabelledQuery(kind=kind, ref=ref, relevant=grades, case=case.strip()))
    if problems:
        raise LabelError("\n".join(problems))
    if not out:
        raise LabelError('labels have no queries: "queries" is empty')
    return out


# --------------------------------------------------------------------------- tokeniser

_STOPWORDS = frozenset(
    """
    de het een en of van in op te voor met aan door bij als om tot uit over naar dat die dit
    deze er is zijn was wordt worden werd hun hen haar hij zij ze we wij ons onze u uw je jouw
    ook niet geen maar dan nog wel al meer zo zoals per na onder tegen tussen via waar wat wie
    welke hoe heeft hebben kan kunnen zal zullen moet moeten mag mogen wil willen
    the a an and or of in on to for with at by as from into over about that this these those
    is are was were be been being it its their them they we our you your he she his her not no
    but than then also more such per via which who what how has have had can could will would
    shall should may must
    """.split()
)
_TOKEN_RE = re.compile(r"[a-z0-9]+")
# Longest first: plural and inflection endings common to Dutch and English nouns.
_SUFFIXES = ("heden", "ingen", "eren", "tjes", "ies", "en", "es", "s", "e")


def _strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _light_stem(token: str) -> str:
    """Strip one inflection ending so 'fietsen'/'fiets', 'gardens'/'garden' meet.

    Deliberately crude (a baseline, not the engine's text model): stems keep at
    least four letters, and doubled final consonants are undone ('bakken' -> 'bak').
    """
    changed = True
    while changed:  # to a fixpoint, so 'gardens' -> 'garden' -> 'gard' meets 'garden' -> 'gard'
        changed = False
        for suf in _SUFFIXES:
            if token.endswith(suf) and len(token) - len(suf) >= 4:
                token = token[: -len(suf)]
                if token[-1] == token[-2] and token[-1] not in "aeiou":
                    token = token[:-1]
                changed = True
                break
    return token


def tokenize(text: str) -> list[str]:
    """Lower-case, accent-free, stop words dropped, lightly stemmed Dutch/English tokens."""
    tokens = _TOKEN_RE.findall(_strip_accents(text).lower())
    return [_light_stem(t) for t in tokens if t not in _STOPWORDS and len(t) > 1]


# --------------------------------------------------------------------------- BM25


class BM25Ranker:
    """Okapi BM25 over a fixed corpus, scikit-learn style.

    ``fit(documents, ids)`` builds a sparse term-frequency matrix; ``score(query)``
    returns one BM25 score per document; ``rank(query, top_k)`` returns the ids of
    the documents with a positive score, best first (ties keep corpus order).

    Uses the non-negative IDF ``log(1 + (N - df + 0.5) / (df + 0.5))`` (as Lucene does)
    so a term in most documents never counts against a match.
    """

    def __init__(
        self,
        k1: float = 1.2,
        b: float = 0.75,
        tokenizer: Callable[[str], list[str]] = tokenize,
    ) -> None:
        if k1 < 0 or not 0.0 <= b <= 1.0:
            raise ValueError("need k1 >= 0 and 0 <= b <= 1")
        self.k1 = k1
        self.b = b
        self.tokenizer = tokenizer

    def fit(self, documents: Sequence[str], ids: Sequence[str] | None = None) -> BM25Ranker:
        if ids is not None and len(ids) != len(documents):
            raise ValueError("ids and documents differ in length")
        self.ids_: list[str] = (
            list(ids) if ids is not None else [str(i) for i in range(len(documents))]
        )
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        for d, doc in enumerate(documents):
            for term, count in Counter(self.tokenizer(doc)).items():
                rows.append(d)
                cols.append(vocab.setdefault(term, len(vocab)))
                vals.append(count)
        n_docs = len(documents)
        tf = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float64), (rows, cols)), shape=(n_docs, len(vocab))
        )
        self.vocabulary_ = vocab
        self.doc_len_ = np.asarray(tf.sum(axis=1)).ravel()
        self.avgdl_ = float(self.doc_len_.mean()) if n_docs and self.doc_len_.mean() > 0 else 1.0
        df = np.bincount(tf.indices, minlength=len(vocab)).astype(np.float64)
        self.idf_ = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        # Precompute the saturated term weights: tf * (k1 + 1) / (tf + k1 * norm_d).
        norm = self.k1 * (1.0 - self.b + self.b * self.doc_len_ / self.avgdl_)
        coo = tf.tocoo()
        weighted = coo.data * (self.k1 + 1.0) / (coo.data + norm[coo.row])
        # Stored column-major: scoring slices the query's terms.
        self.weights_ = sparse.csc_matrix((weighted, (coo.row, coo.col)), shape=tf.shape)
        return self

    def score(self, query: str) -> np.ndarray:
        n_docs = len(self.ids_)
        terms = [self.vocabulary_[t] for t in self.tokenizer(query) if t in self.vocabulary_]
        if not terms or n_docs == 0:
            return np.zeros(n_docs)
        q = np.zeros(len(self.vocabulary_))
        for t, count in Counter(terms).items():
            q[t] = count * self.idf_[t]  # repeated query terms count again, as in plain BM25
        return np.asarray(self.weights_ @ q).ravel()

    def rank(self, query: str, top_k: int | None = None) -> list[str]:
        scores = self.score(query)
        order = np.argsort(-scores, kind="stable")
        out = [self.ids_[i] for i in order if scores[i] > 0]
        return out if top_k is None else out[:top_k]


# --------------------------------------------------------------------------- CPV overlap


def _significant(code: str) -> str:
    """A CPV code's meaningful digits: the hierarchy is the code with trailing zeros cut."""
    code = code.strip()[:8]
    stripped = code.rstrip("0")
    return stripped if len(stripped) >= 2 else code[:2]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class CpvOverlapRanker:
    """Rank by CPV codes alone: shared exact codes first, then the longest shared prefix.

    Score = (number of exact shared codes) + (longest shared significant prefix,
    in digits, between any pair, over 9): any exact match outranks any prefix match,
    and among prefix matches a shared class (4 digits) beats a shared division (2).
    Prefixes shorter than the division (2 digits) do not count.
    """

    def fit(self, codes: Sequence[Sequence[str]], ids: Sequence[str]) -> CpvOverlapRanker:
        if len(codes) != len(ids):
            raise ValueError("ids and codes differ in length")
        self.ids_ = list(ids)
        self.codes_ = [frozenset(c[:8] for c in cs) for cs in codes]
        self.significant_ = [[_significant(c) for c in cs] for cs in self.codes_]
        return self

    def score(self, query_codes: Sequence[str]) -> np.ndarray:
        q = frozenset(c[:8] for c in query_codes)
        q_sig = [_significant(c) for c in q]
        out = np.zeros(len(self.ids_))
        for i, (codes, sig) in enumerate(zip(self.codes_, self.significant_, strict=True)):
            exact = len(q & codes)
            prefix = max((_common_prefix(a, b) for a in q_sig for b in sig), default=0)
            out[i] = exact + (prefix / 9.0 if prefix >= 2 else 0.0)
        return out

    def rank(self, query_codes: Sequence[str], top_k: int | None = None) -> list[str]:
        scores = self.score(query_codes)
        order = np.argsort(-scores, kind="stable")
        out = [self.ids_[i] for i in order if scores[i] > 0]
        return out if top_k is None else out[:top_k]


# --------------------------------------------------------------------------- documents


def enterprise_document(e: Enterprise) -> str:
    return " ".join([e.name, e.description, " ".join(e.themes)])


def query_text(q: Query) -> str:
    if isinstance(q, Tender):
        return " ".join([q.title, q.description])
    return " ".join([q.title, q.question, " ".join(q.themes)])


def query_cpv(q: Query) -> tuple[str, ...]:
    return q.cpv if isinstance(q, Tender) else ()


def query_kind(q: Query) -> str:
    return "tender" if isinstance(q, Tender) else "challenge"


def baseline_rankers(enterprises: Sequence[Enterprise], top_k: int = 50) -> dict[str, Ranker]:
    """The two baselines, fitted on the same enterprises the engine sees."""
    ordered = sorted(enterprises, key=lambda e: e.ref)
    ids = [e.ref for e in ordered]
    bm25 = BM25Ranker().fit([enterprise_document(e) for e in ordered], ids)
    cpv = CpvOverlapRanker().fit([e.cpv for e in ordered], ids)
    return {
        "BM25": lambda q: bm25.rank(query_text(q), top_k),
        "CPV-overlap": lambda q: cpv.rank(query_cpv(q), top_k),
    }


# --------------------------------------------------------------------------- constraints


def constraint_violations(
    e: Enterprise,
    q: Query,
    on: date,
    committed: Mapping[str, Commitment] | None = None,
) -> list[str]:
    """Hard constraints a proposed enterprise breaks for this query (empty: none).

    Checked independently of the engine, as an audit: vetting (vetted and
    unexpired on ``on``), distance to the place of performance within the
    enterprise's service radius and within the clause's ``region_km``, some
    capacity left (free purchasing euros or free placements, ``matcher.capacity``,
    beyond what is committed), and for a reserved
    (article 20) contract at least 30 % target-group staff.
    """
    out: list[str] = []
    if e.vetting.status != "vetted":
        out.append("unvetted")
    elif not e.vetting.is_valid(on):
        out.append("vetting expired")
    if q.lat is not None and q.lon is not None:
        dist = haversine_km(e.lat, e.lon, q.lat, q.lon)
        if dist > e.service_radius_km + 1e-9:
            out.append("outside service radius")
        if isinstance(q, Tender) and q.sroi is not None and q.sroi.region_km is not None:
            if dist > q.sroi.region_km + 1e-9:
                out.append("outside region_km")
    if not CapacityState.of(e.capacity, (committed or {}).get(e.ref)).has_free:
        out.append("no capacity left")
    if isinstance(q, Tender) and q.sroi is not None and q.sroi.reserved:
        share = e.target_group_share
        if share is None or share < RESERVED_MIN_TARGET_GROUP_SHARE:
            out.append("reserved share too low")
    return out


# --------------------------------------------------------------------------- evaluation

METRIC_KEYS: tuple[tuple[str, str, int], ...] = (
    ("ndcg@5", "ndcg", 5),
    ("ndcg@10", "ndcg", 10),
    ("p@5", "precision", 5),
    ("r@20", "recall", 20),
)


@dataclass
class QueryResult:
    kind: str
    ref: str
    metrics: dict[str, float | None]
    violations: dict[str, int]  # reason -> count among the top 10
    ranked: list[str] = field(default_factory=list)
    case: str = "regular"
    relevant: Mapping[str, int] = field(default_factory=dict)

    @property
    def no_fit(self) -> bool:
        return not any(g > 0 for g in self.relevant.values())

    @property
    def violation_count(self) -> int:
        """Enterprises in the top 10 breaking at least one constraint."""
        return self.violations.get("_enterprises", 0)


@dataclass(frozen=True)
class Judged:
    """The engine's judgement of every candidate of one query, in its final order:
    refs and their relevance to the work (``matcher.rank.relevance``)."""

    order: tuple[str, ...]
    relevance: tuple[float, ...]

    def results(self, floor: float, k: int | None = None) -> list[str]:
        out = [r for r, v in zip(self.order, self.relevance, strict=True) if v >= floor - 1e-12]
        return out if k is None else out[:k]


GOOD_GRADE = 2  # "a relevant enterprise" for the cut rate: good or ideal


def cut_figures(queries: Sequence[QueryResult], judged: Mapping[tuple[str, str], Judged],
                floor: float) -> dict[str, Any]:
    """The honest cut at ``floor`` over queries the engine judged: ``no_fit`` queries and
    the share of them with no result (``no_fit_empty``); labelled good answers (grade >=
    2) among the candidates and the share cut below the floor (``relevant_cut``), the
    same for acceptable ones (grade 1, ``acceptable_cut``), and the mean number of
    suitable results per query that has a fit (``mean_results``)."""
    no_fit = empty = good = cut = ok1 = cut1 = 0
    sizes: list[int] = []
    for r in queries:
        j = judged.get((r.kind, r.ref))
        if j is None:
            continue
        rel = dict(zip(j.order, j.relevance, strict=True))
        n_res = sum(v >= floor - 1e-12 for v in j.relevance)
        if r.no_fit:
            no_fit += 1
            empty += n_res == 0
            continue
        sizes.append(n_res)
        for ref, g in r.relevant.items():
            if ref not in rel:
                continue
            below = rel[ref] < floor - 1e-12
            if g >= GOOD_GRADE:
                good += 1
                cut += below
            elif g > 0:
                ok1 += 1
                cut1 += below
    return {"no_fit": no_fit, "no_fit_empty": empty / no_fit if no_fit else None,
            "relevant": good, "relevant_cut": cut / good if good else None,
            "acceptable": ok1, "acceptable_cut": cut1 / ok1 if ok1 else None,
            "mean_results": float(np.mean(sizes)) if sizes else None}


def calibrate(queries: Sequence[QueryResult], judged: Mapping[tuple[str, str], Judged],
              floors: Sequence[float] | None = None, k: int = 10) -> list[dict[str, Any]]:
    """``cut_figures`` and the mean NDCG@k of the suitable results, per candidate floor."""
    if floors is None:
        floors = [round(0.025 * i, 3) for i in range(0, 25)]
    out = []
    for f in floors:
        row: dict[str, Any] = {"floor": f, **cut_figures(queries, judged, f)}
        vals = [v for r in queries if (j := judged.get((r.kind, r.ref))) is not None
                and (v := ndcg_at_k(j.results(f), r.relevant, k)) is not None]
        row[f"ndcg@{k}"] = float(np.mean(vals)) if vals else None
        out.append(row)
    return out


@dataclass
class RankerReport:
    name: str
    queries: list[QueryResult]
    # The engine's judgement per (kind, ref), when this ranker is the engine; with the
    # floor its results were cut at.
    judged: dict[tuple[str, str], Judged] = field(default_factory=dict)
    floor: float | None = None

    def cases(self) -> list[str]:
        return sorted({r.case for r in self.queries}, key=lambda c: (c != "regular", c))

    def aggregate(self, kind: str | None = None, case: str | None = None) -> dict[str, Any]:
        """Mean of each metric over the queries where it is defined; violations summed;
        for the engine the honest-cut figures (``cut_figures``)."""
        rows = [r for r in self.queries if (kind is None or r.kind == kind)
                and (case is None or r.case == case)]
        out: dict[str, Any] = {"queries": len(rows)}
        if self.judged and self.floor is not None:
            out.update(cut_figures(rows, self.judged, self.floor))
        for key, _, _ in METRIC_KEYS:
            vals = [v for r in rows if (v := r.metrics.get(key)) is not None]
            out[key] = float(np.mean(vals)) if vals else None
        out["violations@10"] = sum(r.violation_count for r in rows)
        reasons: Counter[str] = Counter()
        for r in rows:
            reasons.update({k: v for k, v in r.violations.items() if not k.startswith("_")})
        out["violation_reasons"] = dict(sorted(reasons.items()))
        return out

    def summary(self) -> dict[str, Any]:
        out = {"overall": self.aggregate()}
        for kind in QUERY_KINDS:
            if any(r.kind == kind for r in self.queries):
                out[kind] = self.aggregate(kind)
        cases = self.cases()
        if cases != ["regular"]:
            out["cases"] = {c: self.aggregate(case=c) for c in cases}
        return out


def evaluate_query(
    ranked: Sequence[str],
    lq: LabelledQuery,
    query: Query,
    enterprises: Mapping[str, Enterprise],
    on: date,
    committed: Mapping[str, Commitment] | None = None,
) -> QueryResult:
    ranked = list(ranked)
    metrics: dict[str, float | None] = {}
    for key, metric, k in METRIC_KEYS:
        if metric == "ndcg":
            metrics[key] = ndcg_at_k(ranked, lq.relevant, k)
        elif metric == "precision":
            metrics[key] = precision_at_k(ranked, lq.relevant, k)
        else:
            metrics[key] = recall_at_k(ranked, lq.relevant, k)
    violations: Counter[str] = Counter()
    for ref in ranked[:VIOLATION_DEPTH]:
        e = enterprises.get(ref)
        if e is None:
            violations["unknown enterprise"] += 1
            violations["_enterprises"] += 1
            continue
        reasons = constraint_violations(e, query, on, committed)
        violations.update(reasons)
        if reasons:
            violations["_enterprises"] += 1
    return QueryResult(lq.kind, lq.ref, metrics, dict(violations), ranked, lq.case,
                       dict(lq.relevant))


def evaluate(
    rankers: Mapping[str, Ranker],
    labelled: Sequence[LabelledQuery],
    queries: Mapping[tuple[str, str], Query],
    enterprises: Mapping[str, Enterprise],
    on: date,
    committed: Mapping[str, Commitment] | None = None,
) -> dict[str, RankerReport]:
    """Run every ranker on every labelled query; ``queries`` maps (kind, ref) to the record."""
    reports: dict[str, RankerReport] = {}
    for name, ranker in rankers.items():
        results = []
        for lq in labelled:
            query = queries[(lq.kind, lq.ref)]
            results.append(
                evaluate_query(ranker(query), lq, query, enterprises, on, committed)
            )
        reports[name] = RankerReport(name, results)
    return reports


TABLE_COLUMNS: tuple[str, ...] = ("ndcg@5", "ndcg@10", "p@5", "r@20", "violations@10")
_HEADERS = {"ndcg@5": "NDCG@5", "ndcg@10": "NDCG@10", "p@5": "P@5", "r@20": "R@20",
            "violations@10": "violations@10"}


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f} %"


# The words of the tables below, by their English text (the default). A caller that shows
# them in another language passes ``words``: English text -> that language's template
# (the CLI takes them from ``api.labels.EVALUATE_WORDS_NL``); placeholders are filled here.
TABLE_WORDS: tuple[str, ...] = (
    "honest cut of {name} (suitable floor {floor})", "case", "queries", "no-fit", "empty",
    "good", "cut", "acc.", "results", "all", "floor", "no-fit empty", "good cut",
    "acc. cut", "case {case}", "overall", "tender", "challenge", "{title} ({n} queries)",
    "ranker", "violations@10",
)
Words = Mapping[str, str] | None


def _w(words: Words, text: str, **params: Any) -> str:
    out = (words or {}).get(text, text)
    return out.format(**params) if params else out


def _col(words: Words, text: str, width: int) -> str:
    """A right-aligned header: at least ``width`` wide, wider for a longer word."""
    word = _w(words, text)
    return word.rjust(max(width, len(word) + 1))


def format_cut(rep: RankerReport, words: Words = None) -> str:
    """The engine's honest cut, overall and per case: no-fit queries returning nothing,
    good answers (grade >= 2) and acceptable ones (grade 1) cut below the floor."""
    if not rep.judged or rep.floor is None:
        return ""
    cols = [("queries", 9), ("NDCG@10", 9), ("no-fit", 8), ("empty", 8), ("good", 7),
            ("cut", 7), ("acc.", 7), ("cut", 7), ("results", 9)]
    heads = [_col(words, text, width) for text, width in cols]
    widths = [len(h) for h in heads]
    lines = [_w(words, "honest cut of {name} (suitable floor {floor})", name=rep.name,
                floor=f"{rep.floor:g}"),
             _w(words, "case").ljust(14) + "".join(heads)]
    for case in [None, *rep.cases()]:
        a = rep.aggregate(case=case)
        nd = a.get("ndcg@10")
        cells = [str(a["queries"]), "-" if nd is None else f"{nd:.3f}", str(a["no_fit"]),
                 _pct(a["no_fit_empty"]), str(a["relevant"]), _pct(a["relevant_cut"]),
                 str(a["acceptable"]), _pct(a["acceptable_cut"]),
                 "-" if a["mean_results"] is None else f"{a['mean_results']:.1f}"]
        lines.append((case or _w(words, "all")).ljust(14)
                     + "".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines) + "\n"


def format_calibration(rows: Sequence[Mapping[str, Any]], chosen: float,
                       words: Words = None) -> str:
    cols = [("floor", 7), ("no-fit empty", 14), ("good cut", 10), ("acc. cut", 10),
            ("NDCG@10", 9), ("results", 9)]
    heads = [_col(words, text, width) for text, width in cols]
    widths = [len(h) for h in heads]
    lines = ["".join(heads)]
    for r in rows:
        nd = r.get("ndcg@10")
        cells = [f"{r['floor']:.3f}", _pct(r["no_fit_empty"]), _pct(r["relevant_cut"]),
                 _pct(r["acceptable_cut"]), "-" if nd is None else f"{nd:.3f}",
                 "-" if r["mean_results"] is None else f"{r['mean_results']:.1f}"]
        lines.append("".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
                     + ("   <- SUITABLE_FLOOR" if abs(r["floor"] - chosen) < 1e-9 else ""))
    return "\n".join(lines) + "\n"


def format_table(reports: Mapping[str, RankerReport], words: Words = None) -> str:
    """A plain-text table: one block per scope (overall, tender, challenge, each case
    other than ``regular``), one row per ranker."""
    scopes: list[tuple[str | None, str | None]] = [(None, None)]
    kinds_present = {r.kind for rep in reports.values() for r in rep.queries}
    scopes += [(k, None) for k in QUERY_KINDS if k in kinds_present]
    first = next(iter(reports.values())) if reports else None
    if first is not None and first.cases() != ["regular"]:
        scopes += [(None, c) for c in first.cases()]
    name_w = max([len(_w(words, "ranker"))] + [len(n) for n in reports]) + 2
    lines: list[str] = []
    for scope, case in scopes:
        n = first.aggregate(scope, case)["queries"] if first is not None else 0
        title = (_w(words, "case {case}", case=case) if case
                 else _w(words, scope or "overall"))
        lines.append(_w(words, "{title} ({n} queries)", title=title, n=n))
        lines.append(_w(words, "ranker").ljust(name_w)
                     + "".join(_col(words, _HEADERS[c], 15) for c in TABLE_COLUMNS))
        widths = [len(_col(words, _HEADERS[c], 15)) for c in TABLE_COLUMNS]
        for name, rep in reports.items():
            agg = rep.aggregate(scope, case)
            cells = []
            for c, width in zip(TABLE_COLUMNS, widths, strict=True):
                v = agg[c]
                if v is None:
                    cells.append("-".rjust(width))
                elif c == "violations@10":
                    cells.append(str(v).rjust(width))
                else:
                    cells.append(f"{v:.3f}".rjust(width))
            lines.append(name.ljust(name_w) + "".join(cells))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
