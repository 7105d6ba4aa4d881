"""Hierarchy-aware CPV similarity with an inverted index by code prefix.

Similarity of a tender code ``t`` and an enterprise code ``e`` is
``decay ** (up(t) + down(e))`` where ``up``/``down`` count levels from each code to
their lowest common ancestor in the CPV tree: exact code 1, parent/child
``decay``, siblings ``decay**2``, and so on up to a shared division (level 1);
codes in different divisions score 0. This expands the tender's codes both up
the tree (an enterprise offering the broader class) and down it (an enterprise
offering a more specific item of the requested class).

Specificity: a match through a common ancestor *above* the requested code counts in
proportion to how specific that ancestor is (``BROAD_FACTOR``): sharing only the
division ("50000000 Reparatie- en onderhoudsdiensten" for a street-lighting request
50232100) is weak evidence, sharing only the group somewhat weak, a class or deeper
full. A bicycle repair shop registered under the division code thus no longer
"covers" street-lighting maintenance; the ranking (``matcher.rank.relevance``) only
trusts such a weak code where the description agrees. An offered code that lies
within the requested one (``up == 0``) is never discounted: the request itself was
that broad.

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

from matcher.reasons import Reason, reason
from matcher.refdata import cpv_ancestors, cpv_vocabulary


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


# Factor on a match whose common ancestor lies above the requested code, by the
# ancestor's CPV level (1 division, 2 group, 3 class and deeper: full weight).
BROAD_FACTOR: dict[int, float] = {1: 0.2, 2: 0.5}


def specificity(level: int, up: int) -> float:
    """Weight of a match whose common ancestor sits at CPV ``level``, ``up`` levels above
    the requested code (0: the requested code itself, never discounted)."""
    return 1.0 if up == 0 else BROAD_FACTOR.get(level, 1.0)


class CpvIndex:
    """CPV similarity of registry rows to a query's codes, through the distinct codes.

    A registry of 100k enterprises uses a few thousand distinct codes. For each
    tree node the index keeps the distinct codes in its subtree and how many
    levels below the node each sits; for each row, the ids of its codes (CSR
    arrays). A query code's tree distance to every distinct code is a walk up its
    ancestor chain over those short lists; a row's similarity is then
    ``decay ** (min distance over its codes)``, read only for the rows asked for.
    ``df_`` counts the rows under each node (for the IDF weights of query codes).

    ``decay`` is the factor per level between two codes through their common
    ancestor; ``min_level`` is the shallowest ancestor that still counts
    (1 = division).
    """

    _FAR = 63  # distance meaning "no common ancestor" (similarity 0)
    PAD_WIDTH = 8  # codes per row held in the dense id table (more: kept aside)

    def __init__(self, decay: float = 0.6, min_level: int = 1) -> None:
        self.decay = decay
        self.min_level = min_level

    def fit(self, codes: Sequence[Sequence[str]]) -> CpvIndex:
        self.n_rows_ = len(codes)
        self.alive_n_ = len(codes)
        self.codes_: list[tuple[str, ...]] = [tuple(c) for c in codes]
        self.code_id_: dict[str, int] = {}
        self._node_codes: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self._node_arrays: dict[str, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}
        self.df_: dict[str, int] = defaultdict(int)
        # decay ** distance, from Python floats; the last entry (_FAR) is 0.
        self.pow_ = np.array([self.decay**k for k in range(self._FAR)] + [0.0])
        lens = np.fromiter((len(cs) for cs in self.codes_), dtype=np.int64, count=len(codes))
        cid = self._code_ids
        ids = np.fromiter((cid(c) for cs in self.codes_ for c in cs), dtype=np.int64,
                          count=int(lens.sum()))
        # Rows' code ids padded to a fixed width (-1: the trailing "far" entry of a
        # distance table); rows with more codes than that are kept aside.
        width = max(1, min(int(lens.max()) if len(lens) else 1, self.PAD_WIDTH))
        self.pad_ = np.full((width, len(codes)), -1, dtype=np.int32)  # column per slot
        row = np.repeat(np.arange(len(codes), dtype=np.int64), lens)
        col = np.arange(len(ids), dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
        fits = col < width
        self.pad_[col[fits], row[fits]] = ids[fits]
        self.n_bulk_ = len(codes)
        self._special = np.zeros(len(codes), dtype=bool)
        self._patched: dict[int, NDArray[np.int64]] = {}
        for i in np.flatnonzero(lens > width).tolist():
            self._set_special(i, np.array([cid(c) for c in self.codes_[i]], dtype=np.int64))
        self._count_df(row, ids)
        return self

    def _set_special(self, i: int, ids: NDArray[np.int64]) -> None:
        """Row ``i`` read from ``_patched`` instead of ``pad_`` (updated, appended,
        removed or with many codes)."""
        if i >= len(self._special):
            self._special = np.concatenate(
                [self._special, np.zeros(i + 1 - len(self._special), dtype=bool)])
        self._special[i] = True
        self._patched[i] = ids

    def _count_df(self, row: NDArray[np.int64], ids: NDArray[np.int64]) -> None:
        """Rows under each node, in bulk: (row, code) pairs expanded to (row, node)
        pairs through each distinct code's chain, deduplicated, counted."""
        nodes = list(self._node_codes)
        if not nodes or len(ids) == 0:
            return
        code_node = [(j, k) for k, node in enumerate(nodes) for j, _ in self._node_codes[node]]
        cn = np.asarray(code_node, dtype=np.int64)
        cn = cn[np.argsort(cn[:, 0], kind="stable")]
        cptr = np.zeros(len(self.code_id_) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cn[:, 0], minlength=len(self.code_id_)), out=cptr[1:])
        starts, per = cptr[ids], cptr[ids + 1] - cptr[ids]
        first = np.cumsum(per) - per
        pos = np.arange(int(per.sum()), dtype=np.int64) + np.repeat(starts - first, per)
        key = np.repeat(row, per) * len(nodes) + cn[pos, 1]
        key.sort()  # distinct (row, node) pairs: sort and drop repeats (np.unique hashes: slow)
        first_of = np.ones(len(key), dtype=bool)
        np.not_equal(key[1:], key[:-1], out=first_of[1:])
        counts = np.bincount(key[first_of] % len(nodes), minlength=len(nodes))
        for k, node in enumerate(nodes):
            if counts[k]:
                self.df_[node] = int(counts[k])

    def _code_ids(self, code: str) -> int:
        """Id of a distinct code, registering it (and its ancestor chain) if new."""
        j = self.code_id_.get(code)
        if j is None:
            j = self.code_id_[code] = len(self.code_id_)
            for d, node in enumerate(cpv_path(code)):
                if self._level(node) < self.min_level:
                    break
                self._node_codes[node].append((j, d))
                self._node_arrays.pop(node, None)
        return j

    def _node(self, node: str) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
        arr = self._node_arrays.get(node)
        if arr is None:
            pairs = self._node_codes.get(node)
            if not pairs:
                return None
            a = np.asarray(pairs, dtype=np.int64)
            arr = self._node_arrays[node] = (a[:, 0].copy(), a[:, 1].copy())
        return arr

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
        df = self.df_.get(node, 0)
        return math.log((1 + self.alive_n_) / (1 + df)) + 1.0

    # -- queries ---------------------------------------------------------------

    def _sims(self, code: str) -> NDArray[np.float64]:
        """Similarity of ``code`` to every distinct code (``decay ** (up + down)`` times
        the common ancestor's ``specificity``), 0 where none; one extra trailing entry
        (0) for padding."""
        sim = np.zeros(len(self.code_id_) + 1, dtype=np.float64)
        for up, node in enumerate(cpv_path(code)):
            level = self._level(node)
            if level < self.min_level:
                break
            arr = self._node(node)
            if arr is None:
                continue
            ids, depth = arr
            f = specificity(level, up)
            val = self.pow_[np.minimum(up + depth, self._FAR)] * f
            np.maximum(sim[ids], val, out=val)
            sim[ids] = val
        return sim

    def _slots(self, rows: NDArray[np.int64]) -> list[NDArray[np.int32]]:
        """The rows' code ids, one array per slot of ``pad_`` (shared by the query's codes)."""
        if not self.n_bulk_:
            return []
        rc = rows if self.n_rows_ <= self.n_bulk_ else np.minimum(rows, self.n_bulk_ - 1)
        return [slot[rc] for slot in self.pad_]

    def _row_best(self, sim: NDArray[np.float64], rows: NDArray[np.int64],
                  slots: list[NDArray[np.int32]]) -> NDArray[np.float64]:
        """Each row's similarity to one query code: the best over its codes."""
        if slots:
            best = sim[slots[0]]
            for ids in slots[1:]:
                np.maximum(best, sim[ids], out=best)
        else:
            best = np.zeros(len(rows), dtype=np.float64)
        if self._patched:
            for k in np.flatnonzero(self._special[np.minimum(rows, len(self._special) - 1)]
                                    | (rows >= len(self._special))).tolist():
                own = self._patched.get(int(rows[k]))
                best[k] = float(sim[own].max()) if own is not None and len(own) else 0.0
        return best

    def has_codes(self, rows: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether each row offers any CPV code (text-only enterprises offer none)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=bool)
        if self.n_bulk_ and len(rows):
            rc = np.minimum(rows, self.n_bulk_ - 1)
            out = self.pad_[0][rc] >= 0
        if self._patched and len(rows):
            for k in np.flatnonzero(self._special[np.minimum(rows, len(self._special) - 1)]
                                    | (rows >= len(self._special))).tolist():
                own = self._patched.get(int(rows[k]))
                out[k] = own is not None and len(own) > 0
        return out

    def score_rows(self, codes: Sequence[str], rows: NDArray[np.int64]) -> NDArray[np.float64]:
        """``score(codes)`` for the given rows only: the work is the query codes'
        ancestor chains over distinct codes plus a gather of the rows' code ids."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(rows), dtype=np.float64)
        codes = list(dict.fromkeys(codes))
        if not codes or len(rows) == 0:
            return out
        slots = self._slots(rows)
        if len(codes) == 1:
            return self._row_best(self._sims(codes[0]), rows, slots)
        weights = np.array([self.idf(c) for c in codes])
        weights = weights / weights.sum()
        for c, w in zip(codes, weights, strict=True):
            out += w * self._row_best(self._sims(c), rows, slots)
        return out

    def score(self, codes: Sequence[str], n_rows: int | None = None) -> NDArray[np.float64]:
        """Dense CPV score in [0, 1] of every row against a query's codes."""
        n = self.n_rows_ if n_rows is None else n_rows
        out = np.zeros(n, dtype=np.float64)
        m = min(n, self.n_rows_)
        out[:m] = self.score_rows(codes, np.arange(m, dtype=np.int64))
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
            for gap in range(len(self.codes_), i):  # rows skipped over hold no codes
                self._set_special(gap, np.zeros(0, dtype=np.int64))
            self.codes_.extend([()] * (i + 1 - len(self.codes_)))
        for node in self._nodes_of(codes):
            self.df_[node] += 1
        self.codes_[i] = tuple(codes)
        self._set_special(i, np.array([self._code_ids(c) for c in codes], dtype=np.int64))
        self.n_rows_ = max(self.n_rows_, i + 1)

    def remove_row(self, i: int) -> None:
        if i < len(self.codes_) and self.codes_[i]:
            self._drop(i)
            self.codes_[i] = ()
            self._set_special(i, np.zeros(0, dtype=np.int64))
            self.alive_n_ -= 1

    def _drop(self, i: int) -> None:
        for node in self._nodes_of(self.codes_[i]):
            self.df_[node] -= 1


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
                s = decay ** (up + epos[node]) * specificity(lvl, up)
                if s > best[1]:
                    best = (e, s, node)
                break
    return best


def explain_cpv(
    query_codes: Sequence[str], ent_codes: Sequence[str], decay: float = 0.6
) -> list[Reason]:
    """Which requested codes matched and how (exact, within, covers, shared class), one
    reason per requested code that matched at all."""
    out: list[Reason] = []
    for q in dict.fromkeys(query_codes):
        e, s, anc = best_match(q, ent_codes, decay)
        if e is None or anc is None:
            continue
        sim = round(float(s), 4)
        if e == q:
            out.append(reason("cpv_exact", code=q))
        elif anc == q:
            out.append(reason("cpv_within", offered=e, requested=q, similarity=sim))
        elif anc == e:
            out.append(reason("cpv_covers", offered=e, requested=q, similarity=sim))
        else:
            out.append(reason("cpv_related", offered=e, requested=q, shared=anc,
                              similarity=sim))
    return out
