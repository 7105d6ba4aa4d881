"""Target-group fit: does the enterprise employ the people the clause asks for?

Groups form a small hierarchy: the Banenafspraak register covers Wajong, (former)
Wsw and beschut werk; beschut werk is also a Participatiewet provision. A clause
asking for a broad group is fully met by an enterprise working with one of its
members (a Wajong employee counts as a Banenafspraak placement). A clause asking
for a specific group is only partly met by an enterprise that names only the broad
group: it may or may not employ that particular kind of person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from matcher.model import TARGET_GROUPS
from matcher.reasons import Reason, reason

# child -> broader groups it belongs to (data, not logic: extend here).
GROUP_PARENTS: Mapping[str, tuple[str, ...]] = {
    "wajong": ("banenafspraak",),
    "wsw": ("banenafspraak",),
    "beschut_werk": ("banenafspraak", "participatiewet"),
}
# Credit when the enterprise names only a broader group than the clause asks for.
PARTIAL_CREDIT = 0.5


def credit(
    asked: str, served: str, parents: Mapping[str, tuple[str, ...]] = GROUP_PARENTS
) -> float:
    """How well an enterprise serving ``served`` meets a clause asking ``asked``."""
    if asked == served or asked in parents.get(served, ()):
        return 1.0
    if served in parents.get(asked, ()):
        return PARTIAL_CREDIT
    return 0.0


class GroupFit:
    """Precomputes, per enterprise, its credit for every vocabulary group (n x G),
    so a query's fit is a column gather and a mean."""

    def __init__(self, vocabulary: Sequence[str] = TARGET_GROUPS,
                 parents: Mapping[str, tuple[str, ...]] = GROUP_PARENTS) -> None:
        self.vocabulary = tuple(vocabulary)
        self.parents = parents

    def fit(self, groups: Sequence[Sequence[str]]) -> GroupFit:
        self.col_ = {g: j for j, g in enumerate(self.vocabulary)}
        memo: dict[tuple[str, ...], NDArray[np.float32]] = {}  # few distinct group sets
        rows = []
        for gs in groups:
            key = tuple(gs)
            r = memo.get(key)
            if r is None:
                r = memo[key] = self.row(key)
            rows.append(r)
        self.M_ = np.vstack(rows) if rows else np.zeros((0, len(self.vocabulary)),
                                                        dtype=np.float32)
        return self

    def row(self, served: Sequence[str]) -> NDArray[np.float32]:
        r = np.zeros(len(self.vocabulary), dtype=np.float32)
        for j, asked in enumerate(self.vocabulary):
            r[j] = max((credit(asked, s, self.parents) for s in served), default=0.0)
        return r

    def score(self, asked: Sequence[str],
              rows: NDArray[np.int64] | None = None) -> NDArray[np.float64]:
        """Mean over the asked groups of each enterprise's credit, in [0, 1]
        (for ``rows`` only, when given). Unknown group names count as unmet
        (they cannot be verified)."""
        n = self.M_.shape[0] if rows is None else len(rows)
        cols = [self.col_[g] for g in dict.fromkeys(asked) if g in self.col_]
        n_asked = len(dict.fromkeys(asked))
        if n_asked == 0:
            return np.ones(n)
        if not cols:
            return np.zeros(n)
        # Column by column (credits are 0, 0.5 or 1: the float64 sum is exact);
        # gathering whole rows first costs more than the few columns asked.
        out = np.zeros(n, dtype=np.float64)
        for c in cols:
            col = self.M_[:, c]
            out += col if rows is None else col[rows]
        return out / n_asked


def explain_groups(asked: Sequence[str], served: Sequence[str]) -> list[Reason]:
    out: list[Reason] = []
    for a in dict.fromkeys(asked):
        best = max(served, key=lambda s: credit(a, s), default=None)
        if best is None or credit(a, best) == 0:
            continue
        if best == a:
            out.append(reason("target_group", group=a))
        elif credit(a, best) == 1.0:
            out.append(reason("target_group_counts_as", served=best, asked=a))
        else:
            out.append(reason("target_group_may_include", served=best, asked=a))
    return out
