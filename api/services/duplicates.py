"""Likely duplicate enterprises: same KvK number under another ref, or nearly the same
name (legal forms and filler words removed) in the same municipality or within a few km.

Names are compared with rapidfuzz after normalising: ``token_set_ratio`` alone scores 100
whenever one name's words are a subset of the other's ("Groen" vs "Groen Werkt Utrecht"),
so the score is the mean of ``token_set_ratio`` and ``token_sort_ratio``.

Candidate pairs are blocked on each name's two rarest tokens (``shared/performance.md``:
a 100k-name scan in seconds instead of all pairs in minutes, ~99.7 % recall).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from matcher.geo import haversine_km
from matcher.refdata import fold

NAME_THRESHOLD = 90.0
# Newcomers between two progress calls: a look-alike block costs ~5 ms a newcomer at 10k.
PROGRESS_EVERY = 50
NEAR_KM = 10.0

# Legal forms and filler words, as folded text (see matcher.refdata.fold).
_LEGAL = re.compile(
    r"\b(?:b ?v|n ?v|u ?a|w ?a|v ?o ?f|c ?v|bv i ?o|i ?o|stichting|stg|cooperatie(?:ve)?|"
    r"vereniging|holding|eenmanszaak|de|het|een|en|van|voor|the|and|of)\b"
)


def normalise_name(name: str) -> str:
    """'Stichting De Groene Fietsenmaker B.V.' -> 'groene fietsenmaker'."""
    folded = fold(name)
    stripped = re.sub(r"\s+", " ", _LEGAL.sub(" ", folded)).strip()
    return stripped or folded


_SCORERS = (fuzz.token_set_ratio, fuzz.token_sort_ratio)  # averaged: see module docstring


def name_score(a: str, b: str) -> float:
    """Similarity of two *normalised* names, 0–100."""
    return float(name_scores(a, [b])[0])


def name_scores(name: str, others: Sequence[str]) -> NDArray[np.float64]:
    """``name_score`` of one normalised name against many, in one vectorised call each."""
    out = np.zeros(len(others))
    for scorer in _SCORERS:
        out += process.cdist([name], others, scorer=scorer, dtype=np.float64)[0]
    return out / len(_SCORERS)


@dataclass(frozen=True)
class Candidate:
    """An enterprise as far as duplicate detection is concerned."""

    ref: str
    name: str
    kvk: str | None
    municipality: str | None
    lat: float | None
    lon: float | None
    where: str = "database"  # or the place in the file: "row 7", "enterprises[2]"


@dataclass(frozen=True)
class Match:
    new: Candidate
    other: Candidate
    reason: str  # "kvk" | "name"
    score: float

    def describe(self) -> str:
        if self.reason == "kvk":
            why = f"same KvK number {self.new.kvk}"
        else:
            why = f"names {self.score:.0f}% alike, same area"
        other_where = "in the database" if self.other.where == "database" else \
            f"at {self.other.where}"
        return (f"{self.new.where} {self.new.ref!r} ({self.new.name}) looks like "
                f"{self.other.ref!r} ({self.other.name}) {other_where}: {why}")


def _near(a: Candidate, b: Candidate) -> bool:
    if a.municipality and a.municipality == b.municipality:
        return True
    if None in (a.lat, a.lon, b.lat, b.lon):
        return False
    return haversine_km(a.lat, a.lon, b.lat, b.lon) <= NEAR_KM  # type: ignore[arg-type]


class NameIndex:
    """Inverted index over normalised names, for blocking on rare tokens."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        self.candidates = list(candidates)
        self.norm = [normalise_name(c.name) for c in self.candidates]
        self.tokens = [sorted(set(n.split())) for n in self.norm]
        self.df: Counter[str] = Counter()
        for toks in self.tokens:
            self.df.update(toks)
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, toks in enumerate(self.tokens):
            for t in toks:
                self.postings[t].append(i)

    def rare_tokens(self, tokens: Iterable[str], k: int = 2) -> list[str]:
        return sorted(tokens, key=lambda t: (self.df.get(t, 0), t))[:k]

    def block(self, i: int) -> set[int]:
        """Indices sharing one of name i's two rarest tokens."""
        out: set[int] = set()
        for t in self.rare_tokens(self.tokens[i]):
            out.update(self.postings.get(t, ()))
        out.discard(i)
        return out


@dataclass
class DuplicateScan:
    """The likely duplicates of a batch: every pair counted, at most ``keep`` of them held
    (memory stays bounded when thousands of look-alike names pair up), and each newcomer's
    best match (what a merge folds it into)."""

    total: int = 0
    kept: list[Match] = field(default_factory=list)
    best: dict[str, Match] = field(default_factory=dict)


def scan_duplicates(new: Sequence[Candidate], existing: Sequence[Candidate],
                    threshold: float = NAME_THRESHOLD, keep: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> DuplicateScan:
    """Likely duplicates of each ``new`` enterprise among ``existing`` and the ``new`` ones
    before it (in order). One Match per pair, best reason first (KvK, then name score).
    ``progress(checked, len(new))`` is called every ``PROGRESS_EVERY`` newcomers and at
    the end (it may raise to stop the scan)."""
    allc = list(existing) + list(new)
    n_existing = len(existing)
    index = NameIndex(allc)
    by_kvk: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(allc):
        if c.kvk:
            by_kvk[c.kvk].append(i)
    scan = DuplicateScan()
    for j in range(len(new)):
        if progress is not None and j and j % PROGRESS_EVERY == 0:
            progress(j, len(new))
        i = n_existing + j
        me = allc[i]
        by_kvk_hits = [Match(me, allc[o], "kvk", 100.0) for o in by_kvk.get(me.kvk or "", ())
                       if me.kvk and o < i and allc[o].ref != me.ref]
        seen = {m.other.ref for m in by_kvk_hits}
        near = [o for o in index.block(i)
                if o < i and allc[o].ref != me.ref and allc[o].ref not in seen
                and _near(me, allc[o])]
        names: list[int] = []
        scores = np.empty(0)
        if near:
            # Score each distinct normalised name once, in one vectorised call: look-alike
            # files repeat names, and a Python call per pair is what made them slow.
            distinct = list(dict.fromkeys(index.norm[o] for o in near))
            by_name = dict(zip(distinct, name_scores(index.norm[i], distinct), strict=True))
            all_scores = np.array([by_name[index.norm[o]] for o in near])
            hit = np.nonzero(all_scores >= threshold)[0]
            # Best first; ties keep the block's order.
            hit = hit[np.argsort(-all_scores[hit], kind="stable")]
            names = [near[k] for k in hit]
            scores = all_scores[hit]
        total = len(by_kvk_hits) + len(names)
        if not total:
            continue
        scan.total += total
        room = total if keep is None else max(0, keep - len(scan.kept))
        # Match objects only for what is kept: millions of pairs are counted, not held.
        ranked = by_kvk_hits[:room] + [
            Match(me, allc[o], "name", float(sc))
            for o, sc in zip(names[:max(0, room - len(by_kvk_hits))], scores, strict=False)]
        scan.kept.extend(ranked)
        scan.best[me.ref] = by_kvk_hits[0] if by_kvk_hits else \
            Match(me, allc[names[0]], "name", float(scores[0]))
    if progress is not None:
        progress(len(new), len(new))
    return scan


def find_duplicates(new: Sequence[Candidate], existing: Sequence[Candidate],
                    threshold: float = NAME_THRESHOLD) -> list[Match]:
    """Every likely duplicate pair (see ``scan_duplicates``)."""
    return scan_duplicates(new, existing, threshold).kept


def scan_registry(candidates: Sequence[Candidate],
                  threshold: float = NAME_THRESHOLD) -> list[Match]:
    """Every likely duplicate pair within one list (e.g. the whole registry)."""
    return find_duplicates(candidates, [], threshold)
