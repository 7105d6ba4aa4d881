"""Learn scoring weights from connectors' decisions. Pure: arrays in, arrays out.

The engine scores a candidate as a weighted sum of per-feature scores in [0, 1].
A connector's decisions on one query say which candidates they preferred: an
accepted or pinned enterprise over a rejected one, or over one shown to them and
left undecided. Each such pair ``(i preferred over j)`` becomes one training row
``x_i - x_j`` (and its mirror ``x_j - x_i`` as the other class), and a logistic
regression without intercept on those differences learns how much each feature
counts (RankNet/RankSVM-style pairwise learning to rank).

The weights must stay readable to the people who curate: non-negative ("more of a
good thing never hurts") and summing to 1. scikit-learn's LogisticRegression gives
the unconstrained fit (``coef_``); when that has negative components the same
objective is re-solved with L-BFGS-B under ``w >= 0`` bounds (scipy), and the
result is normalised (``weights_``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.linear_model import LogisticRegression


def pairwise_differences(
    X_groups: Sequence[np.ndarray],
    labels_groups: Sequence[np.ndarray],
    max_pairs_per_group: int | None = None,
    random_state: int = 0,
) -> np.ndarray:
    """Rows ``x_i - x_j`` for every pair in a group with ``label_i > label_j``.

    Labels are graded preferences within one query (e.g. pinned 2, accepted 1,
    shown/rejected 0); pairs never cross queries, whose feature scales differ.
    """
    rng = np.random.default_rng(random_state)
    rows: list[np.ndarray] = []
    for X, y in zip(X_groups, labels_groups, strict=True):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise ValueError("each group needs X of shape (n, d) and labels of shape (n,)")
        ii, jj = np.nonzero(y[:, None] > y[None, :])
        if max_pairs_per_group is not None and len(ii) > max_pairs_per_group:
            keep = rng.choice(len(ii), size=max_pairs_per_group, replace=False)
            ii, jj = ii[keep], jj[keep]
        if len(ii):
            rows.append(X[ii] - X[jj])
    if not rows:
        d = np.asarray(X_groups[0]).shape[1] if len(X_groups) else 0
        return np.zeros((0, d))
    return np.vstack(rows)


class PairwiseWeightLearner:
    """Pairwise logistic learning to rank with non-negative weights summing to 1.

    Parameters: ``C`` inverse L2 strength (as in scikit-learn), ``max_pairs_per_group``
    caps the pairs one query contributes (a query with many candidates must not
    drown the others), ``random_state`` for that subsampling.

    Attributes after ``fit``: ``coef_`` (unconstrained logistic coefficients, shape
    (d,)), ``weights_`` (non-negative, sum 1), ``n_pairs_``, ``constrained_``
    (whether the bounds were active and the bounded problem was solved).
    """

    def __init__(
        self,
        C: float = 1.0,
        max_pairs_per_group: int | None = 200,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.max_pairs_per_group = max_pairs_per_group
        self.random_state = random_state

    def fit(
        self, X_groups: Sequence[np.ndarray], labels_groups: Sequence[np.ndarray]
    ) -> PairwiseWeightLearner:
        D = pairwise_differences(
            X_groups, labels_groups, self.max_pairs_per_group, self.random_state
        )
        if D.shape[0] == 0:
            raise ValueError(
                "no preference pairs: every query needs one preferred and one other candidate"
            )
        d = D.shape[1]
        # Both orientations, so the two classes are balanced and no intercept is needed.
        Z = np.vstack([D, -D])
        t = np.concatenate([np.ones(len(D)), np.zeros(len(D))])
        clf = LogisticRegression(C=self.C, fit_intercept=False, max_iter=1000)
        clf.fit(Z, t)
        coef = clf.coef_.ravel().astype(np.float64)
        self.coef_ = coef
        self.n_pairs_ = int(D.shape[0])
        self.constrained_ = bool(np.any(coef < 0))
        w = np.clip(coef, 0.0, None)
        if self.constrained_:
            w = self._bounded(D, w)
        total = float(w.sum())
        self.weights_ = w / total if total > 0 else np.full(d, 1.0 / d)
        return self

    def _bounded(self, D: np.ndarray, start: np.ndarray) -> np.ndarray:
        """The same regularised logistic loss as scikit-learn's, solved with w >= 0.

        scikit-learn minimises ``C * sum(log(1 + exp(-s_k z_k.w))) + ||w||^2 / 2``;
        with both orientations of each pair that is ``2C * sum(log(1 + exp(-D w)))``.
        """
        C = self.C

        def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
            m = D @ w
            loss = -2.0 * C * float(np.sum(log_expit(m))) + 0.5 * float(w @ w)
            grad = -2.0 * C * (D.T @ expit(-m)) + w
            return loss, grad

        res = minimize(
            objective, start, jac=True, method="L-BFGS-B",
            bounds=[(0.0, None)] * D.shape[1],
        )
        return np.clip(np.asarray(res.x, dtype=np.float64), 0.0, None)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Scores of candidates under the learnt (normalised, non-negative) weights."""
        return np.asarray(X, dtype=np.float64) @ self.weights_


def group_ndcg(
    X_groups: Sequence[np.ndarray],
    labels_groups: Sequence[np.ndarray],
    weights: np.ndarray,
    k: int = 10,
) -> float | None:
    """Mean NDCG@k over groups of candidates ranked by ``X @ weights``.

    Gains ``2^label - 1``; ties are broken pessimistically (a tied candidate with a
    lower label ranks first), so a weight set that cannot tell candidates apart
    gets no credit for input order. Groups without a positive label are skipped;
    None when no group has one.
    """
    w = np.asarray(weights, dtype=np.float64)
    vals: list[float] = []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for X, y in zip(X_groups, labels_groups, strict=True):
        y = np.asarray(y, dtype=np.float64)
        if not np.any(y > 0):
            continue
        s = np.asarray(X, dtype=np.float64) @ w
        order = np.lexsort((y, -np.round(s, 12)))  # by score desc, then label asc
        gains = 2.0 ** y[order][:k] - 1.0
        ideal = 2.0 ** np.sort(y)[::-1][:k] - 1.0
        idcg = float(ideal @ discounts[: len(ideal)])
        vals.append(float(gains @ discounts[: len(gains)]) / idcg)
    return float(np.mean(vals)) if vals else None


def split_groups(
    keys: Sequence[str], test_size: float = 0.3, random_state: int = 0
) -> tuple[list[int], list[int]]:
    """Indices of training and held-out groups, split by query (never within one).

    Deterministic for a given set of keys and seed; at least one group on each side
    when there are two or more.
    """
    n = len(keys)
    if n < 2:
        raise ValueError("need at least two queries to hold some out")
    order = sorted(range(n), key=lambda i: keys[i])
    rng = np.random.default_rng(random_state)
    perm = [order[i] for i in rng.permutation(n)]
    n_test = min(n - 1, max(1, int(round(test_size * n))))
    test = sorted(perm[:n_test])
    train = sorted(perm[n_test:])
    return train, test
