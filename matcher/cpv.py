"""Hierarchy-aware CPV similarity with an inverted index by code prefix.

Similarity of a tender code ``t`` and an enterprise code ``e`` is
``decay ** (up(t) + down(e))`` where ``up``/``down`` count levels from each code to
their lowest common ancestor in the CPV tree: exact code 1, parent/child
``decay``, siblings ``decay**2``, and so on up to a shared division (level 1);
codes in different divisions score 0. This expands the tender's codes both up
the tree (an enterprise offering the broader class) and down it (an enterprise
offering a more specific item of the requested class).

A tender with several codes scores an enterprise by the IDF-weighted mean over
the tender's codes of the best match for each: rarer codes (held by fewer
enterprises, counting their subtree) weigh more, so matching the specific
"sheltered-workshop services" code counts for more than matching "services".

Fast path: for every tree node the index keeps the enterprises with a code in
that node's subtree and how many levels below the node their nearest code sits.
A query visits only its codes' ancestor chains (≈ 5–7 nodes per code) instead of
multiplying against the whole registry.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from matcher.refdata import cpv_ancestors, cpv_label, cpv_vocabulary


@lru_cache(maxsize=16384)
def _cpv_path(code: str) -> tuple[str, ...]:
    return tuple(_cpv_path_uncached(code))


def cpv_path(code: str) -> tuple[str, ...]:
    """The code then its ancestors, nearest first (cached)."""
    return _cpv_path(code)


def _cpv_path_uncached(code: str) -> list[str]:
    """The code then its ancestors, nearest first. Unknown codes fall back to
    their digit prefixes (division "45" -> "45000000"), so a code missing from
    the vocabulary still meets its division."""
    if code in cpv_vocabulary():
        return [code, *cpv_ancestors(code)]
    out = [code]
    vocab = cpv_vocabulary()
    for k in (5, 4, 3, 2):
        p = code[:k].ljust(8, "0")
        if p in vocab and p not in out:
            out.append(p)
    return out


class CpvIndex:
    """Inverted index node -> (enterprise rows, levels below node), with df per node.

    ``decay`` is the factor per level between two codes through their common
    ancestor; ``min_level`` is the shallowest ancestor that still counts
    (1 = division).
    """

    def __init__(self, decay: float = 0.6, min_level: int = 1) -> None:
        self.decay = decay
        self.min_level = min_level

    def fit(self, codes: Sequence[Sequence[str]]) -> CpvIndex:
        self.n_rows_ = len(codes)
        self.alive_n_ = len(codes)
        self._rows: dict[str, list[int]] = defaultdict(list)
        self._depth: dict[str, list[int]] = defaultdict(list)
        memo: dict[tuple[str, ...], list[tuple[str, int]]] = {}  # code sets repeat
        for i, cs in enumerate(codes):
            key = tuple(cs)
            nodes = memo.get(key)
            if nodes is None:
                nodes = memo[key] = list(self._nodes_of(key).items())
            for node, d in nodes:
                self._rows[node].append(i)
                self._depth[node].append(d)
        self.rows_: dict[str, NDArray[np.int64]] = {
            k: np.asarray(v, dtype=np.int64) for k, v in self._rows.items()
        }
        self.depth_: dict[str, NDArray[np.int64]] = {
            k: np.asarray(v, dtype=np.int64) for k, v in self._depth.items()
        }
        # decay ** depth, precomputed: pow over long posting lists is the costly part.
        self.value_: dict[str, NDArray[np.float64]] = {
            k: self.decay ** v.astype(np.float64) for k, v in self.depth_.items()
        }
        del self._rows, self._depth
        self.codes_: list[tuple[str, ...]] = [tuple(c) for c in codes]
        return self

    def _level(self, node: str) -> int:
        c = cpv_vocabulary().get(node)
        if c is not None:
            return c.level
        return 1 if node.endswith("000000") else 2

    def _nodes_of(self, codes: Iterable[str]) -> dict[str, int]:
        """Every node an enterprise's codes sit under, with the minimum depth below it."""
        out: dict[str, int] = {}
        for c in codes:
            for d, node in enumerate(cpv_path(c)):
                if self._level(node) < self.min_level:
                    break
                if d < out.get(node, 1 << 30):
                    out[node] = d
        return out

    def idf(self, node: str) -> float:
        df = len(self.rows_.get(node, ()))
        return math.log((1 + self.alive_n_) / (1 + df)) + 1.0

    # -- queries ---------------------------------------------------------------

    def _best_into(self, code: str, out: NDArray[np.float64]) -> None:
        """Write into ``out`` (dense, zeros) each row's best similarity to ``code``."""
        for up, node in enumerate(cpv_path(code)):
            if self._level(node) < self.min_level:
                break
            r = self.rows_.get(node)
            if r is None or len(r) == 0:
                continue
            # Rows are unique within one node's list, so fancy assignment is exact.
            vals = self.value_[node] if up == 0 else self.value_[node] * self.decay**up
            out[r] = np.maximum(out[r], vals)

    def score(self, codes: Sequence[str], n_rows: int | None = None) -> NDArray[np.float64]:
        """Dense CPV score in [0, 1] of every row against a query's codes."""
        n = self.n_rows_ if n_rows is None else n_rows
        out = np.zeros(n, dtype=np.float64)
        codes = list(dict.fromkeys(codes))
        if not codes:
            return out
        if len(codes) == 1:
            self._best_into(codes[0], out)
            return out
        weights = np.array([self.idf(c) for c in codes])
        weights = weights / weights.sum()
        tmp = np.empty(n, dtype=np.float64)
        for c, w in zip(codes, weights, strict=True):
            tmp.fill(0.0)
            self._best_into(c, tmp)
            out += w * tmp
        return out

    def pair(self, query_codes: Sequence[str], ent_codes: Sequence[str]) -> float:
        """The same score for one enterprise, computed directly (explanations, tests)."""
        codes = list(dict.fromkeys(query_codes))
        if not codes or not ent_codes:
            return 0.0
        weights = np.array([self.idf(c) for c in codes])
        weights = weights / weights.sum()
        return float(sum(w * best_match(c, ent_codes, self.decay, self.min_level)[1]
                         for c, w in zip(codes, weights, strict=True)))

    # -- maintenance -------------------------------------------------------------

    def set_row(self, i: int, codes: Sequence[str]) -> None:
        """Replace (or append) one row's codes: touches only the affected nodes."""
        if i < len(self.codes_):
            self._drop(i)
        else:
            self.alive_n_ += 1
            self.codes_.extend([()] * (i + 1 - len(self.codes_)))
        for node, d in self._nodes_of(codes).items():
            self.rows_[node] = np.append(self.rows_.get(node, np.zeros(0, np.int64)), i)
            self.depth_[node] = np.append(self.depth_.get(node, np.zeros(0, np.int64)), d)
            self.value_[node] = np.append(self.value_.get(node, np.zeros(0)), self.decay**d)
        self.codes_[i] = tuple(codes)
        self.n_rows_ = max(self.n_rows_, i + 1)

    def remove_row(self, i: int) -> None:
        if i < len(self.codes_) and self.codes_[i]:
            self._drop(i)
            self.codes_[i] = ()
            self.alive_n_ -= 1

    def _drop(self, i: int) -> None:
        for node in self._nodes_of(self.codes_[i]):
            r = self.rows_.get(node)
            if r is None:
                continue
            keep = r != i
            self.rows_[node] = r[keep]
            self.depth_[node] = self.depth_[node][keep]
            self.value_[node] = self.value_[node][keep]


def best_match(
    query_code: str, ent_codes: Sequence[str], decay: float = 0.6, min_level: int = 1
) -> tuple[str | None, float, str | None]:
    """(enterprise code, similarity, common ancestor) of the best match for one code."""
    qpath = cpv_path(query_code)
    best: tuple[str | None, float, str | None] = (None, 0.0, None)
    vocab = cpv_vocabulary()
    for e in ent_codes:
        epath = cpv_path(e)
        epos = {n: d for d, n in enumerate(epath)}
        for up, node in enumerate(qpath):
            lvl = vocab[node].level if node in vocab else 1
            if lvl < min_level:
                break
            if node in epos:
                s = decay ** (up + epos[node])
                if s > best[1]:
                    best = (e, s, node)
                break
    return best


def explain_cpv(
    query_codes: Sequence[str], ent_codes: Sequence[str], decay: float = 0.6, lang: str = "en"
) -> list[str]:
    """Human-readable lines: which codes matched, how (exact / shared class), with labels."""
    out: list[str] = []
    for q in dict.fromkeys(query_codes):
        e, s, anc = best_match(q, ent_codes, decay)
        if e is None or anc is None:
            continue
        if e == q:
            out.append(f"CPV {q} ({cpv_label(q, lang)}) offered exactly")
        elif anc == q:
            out.append(f"CPV {e} ({cpv_label(e, lang)}) lies within requested {q} "
                       f"({cpv_label(q, lang)})")
        elif anc == e:
            out.append(f"CPV {e} ({cpv_label(e, lang)}) covers requested {q} "
                       f"({cpv_label(q, lang)})")
        else:
            out.append(f"CPV {e} shares class {anc} ({cpv_label(anc, lang)}) with requested {q}"
                       f" (similarity {s:.2f})")
    return out
