"""Global allocation: share every enterprise's capacity among all open obligations at once.

Planning obligations one by one hands the best enterprises to whichever obligation comes
first; when capacity binds (the real case) that leaves later obligations short although a
different split would have served both. This module solves the split jointly.

Model (arrays in, arrays out)
-----------------------------
Edges ``e = (i, j)`` join obligation ``i`` to candidate enterprise ``j`` with a fit
``fit[e]`` in [0, 1] and a credit share ``share[e]`` (credited euros per invoiced euro under
the obligation's policy and the enterprise's certifications). Choose invoiced euros
``x[e] >= 0`` to

    maximise   sum_e w[e] * share[e] * x[e]          (w = fit + base_weight)
    subject to sum_{e in j} x[e]            <= capacity_eur[j]   (no enterprise over-booked)
               sum_{e in i} share[e] * x[e] <= demand_eur[i]     (no obligation over-served)

i.e. the fit-weighted credited euros. Unmet demand is ``demand - credit`` per obligation.

Solvers
-------
* ``"mincostflow"`` — OR-Tools ``SimpleMinCostFlow``. The LP above is a transportation
  problem *with gains* (share != 1). It is an ordinary flow whenever the share is constant
  per enterprise (measure flow in credited euros: enterprise capacity becomes
  ``capacity * share``) or constant per obligation (measure flow in invoiced euros: demand
  becomes ``demand / share``); that holds whenever all obligations follow one policy, and
  usually otherwise too. Network: source -> enterprise (capacity) -> obligation (per edge,
  cost ``-w``) -> sink (demand), plus a zero-cost source -> sink bypass so that sending
  nothing is allowed. Flows are integers in ``unit_eur`` (capacities rounded *down*, so the
  result is always feasible) and costs are ``w`` scaled to integers by ``cost_scale``.
  Integer data on a bipartite network gives an integral LP optimum (total unimodularity), so
  the only gaps to the LP are those two roundings. ≈ 2 s on 500k edges with binding
  capacity (bench/README.md).
* ``"highs"`` — SciPy ``linprog`` (HiGHS) on the LP itself: the reference, and the fallback
  when shares vary along both sides (a generalised flow). Interior point by default: when
  capacity binds, dual simplex took 272 s on the benchmark where IPM took 18 s.
* ``"auto"`` — min-cost flow when exact, else HiGHS.

:func:`greedy_allocate` is the baseline: edges by weight, each filled as far as it goes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

SOLVERS = ("auto", "mincostflow", "highs")


@dataclass(frozen=True)
class AllocationResult:
    """Per-edge and per-node results, aligned with the input arrays."""

    amount_eur: NDArray[np.float64]  # invoiced euros per edge
    credit_eur: NDArray[np.float64]  # credited euros per edge (= amount x share)
    unmet_eur: NDArray[np.float64]  # per obligation: demand minus credit, >= 0
    used_eur: NDArray[np.float64]  # per enterprise: invoiced euros booked
    objective: float  # sum of weight x credit
    solver: str
    seconds: float

    @property
    def total_credit_eur(self) -> float:
        return float(self.credit_eur.sum())

    @property
    def total_unmet_eur(self) -> float:
        return float(self.unmet_eur.sum())


@dataclass(frozen=True)
class _Problem:
    obl: NDArray[np.int64]
    ent: NDArray[np.int64]
    weight: NDArray[np.float64]
    share: NDArray[np.float64]
    capacity: NDArray[np.float64]
    demand: NDArray[np.float64]


def _validate(
    edge_obligation: ArrayLike,
    edge_enterprise: ArrayLike,
    fit: ArrayLike,
    share: ArrayLike,
    capacity_eur: ArrayLike,
    demand_eur: ArrayLike,
    base_weight: float,
) -> _Problem:
    obl = np.asarray(edge_obligation, dtype=np.int64).ravel()
    ent = np.asarray(edge_enterprise, dtype=np.int64).ravel()
    f = np.asarray(fit, dtype=np.float64).ravel()
    s = np.broadcast_to(np.asarray(share, dtype=np.float64), obl.shape).astype(np.float64)
    cap = np.asarray(capacity_eur, dtype=np.float64).ravel()
    dem = np.asarray(demand_eur, dtype=np.float64).ravel()
    if not (obl.shape == ent.shape == f.shape == s.shape):
        raise ValueError(
            f"edge arrays differ in length: obligation {obl.shape}, enterprise {ent.shape}, "
            f"fit {f.shape}, share {s.shape}"
        )
    if obl.size and (obl.min() < 0 or obl.max() >= dem.size):
        raise ValueError(f"edge obligation index out of range 0..{dem.size - 1}")
    if ent.size and (ent.min() < 0 or ent.max() >= cap.size):
        raise ValueError(f"edge enterprise index out of range 0..{cap.size - 1}")
    for name, arr in (("fit", f), ("share", s)):
        if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1):
            raise ValueError(f"{name} must lie in [0, 1]")
    for name, arr in (("capacity_eur", cap), ("demand_eur", dem)):
        if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0):
            raise ValueError(f"{name} must be finite and >= 0")
    if base_weight < 0:
        raise ValueError("base_weight must be >= 0")
    return _Problem(obl, ent, f + base_weight, s, cap, dem)


def _finish(p: _Problem, amount: NDArray[np.float64], solver: str, t0: float) -> AllocationResult:
    amount = np.maximum(amount, 0.0)
    credit = amount * p.share
    got = np.bincount(p.obl, weights=credit, minlength=p.demand.size).astype(np.float64)
    used = np.bincount(p.ent, weights=amount, minlength=p.capacity.size).astype(np.float64)
    return AllocationResult(
        amount_eur=amount,
        credit_eur=credit,
        unmet_eur=np.maximum(p.demand - got, 0.0),
        used_eur=used,
        objective=float(np.dot(p.weight, credit)),
        solver=solver,
        seconds=time.perf_counter() - t0,
    )


def _constant_per(group: NDArray[np.int64], values: NDArray[np.float64], n: int) -> bool:
    """Whether ``values`` is the same on every edge of each group."""
    if values.size == 0:
        return True
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    np.minimum.at(lo, group, values)
    np.maximum.at(hi, group, values)
    used = np.isfinite(lo)
    return bool(np.all(hi[used] - lo[used] <= 1e-12))


class Allocator:
    """Global allocator; configuration in the constructor, data in :meth:`solve`.

    Parameters
    ----------
    solver: ``"auto"`` (min-cost flow when exact, else HiGHS), ``"mincostflow"`` or ``"highs"``.
    unit_eur: flow unit of the min-cost flow (capacities are rounded down to it).
    cost_scale: integer resolution of the weights in the min-cost flow (1e4: fit to 0.0001).
    base_weight: added to every fit. 0 maximises fit-weighted credit as such; a positive value
        also rewards meeting demand, so low-fit edges are used rather than left idle.
    highs_method: ``linprog`` method for the HiGHS path (``"highs-ipm"``, ``"highs-ds"``,
        ``"highs"``).
    time_limit: seconds for HiGHS (None: no limit).
    """

    def __init__(
        self,
        solver: str = "auto",
        *,
        unit_eur: float = 1.0,
        cost_scale: int = 10_000,
        base_weight: float = 0.0,
        highs_method: str = "highs-ipm",
        time_limit: float | None = None,
    ) -> None:
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        if unit_eur <= 0 or cost_scale <= 0:
            raise ValueError("unit_eur and cost_scale must be > 0")
        self.solver = solver
        self.unit_eur = unit_eur
        self.cost_scale = cost_scale
        self.base_weight = base_weight
        self.highs_method = highs_method
        self.time_limit = time_limit

    def solve(
        self,
        edge_obligation: ArrayLike,
        edge_enterprise: ArrayLike,
        fit: ArrayLike,
        share: ArrayLike,
        capacity_eur: ArrayLike,
        demand_eur: ArrayLike,
    ) -> AllocationResult:
        t0 = time.perf_counter()
        p = _validate(edge_obligation, edge_enterprise, fit, share, capacity_eur, demand_eur,
                      self.base_weight)
        per_ent = _constant_per(p.ent, p.share, p.capacity.size)
        per_obl = per_ent or _constant_per(p.obl, p.share, p.demand.size)
        if self.solver == "mincostflow" and not per_obl:
            raise ValueError(
                "min-cost flow needs the credit share constant per enterprise or per "
                "obligation; use solver='highs' (or 'auto') for mixed shares"
            )
        if self.solver == "highs" or (self.solver == "auto" and not per_obl):
            return _finish(p, self._highs(p), f"highs ({self.highs_method})", t0)
        return _finish(p, self._mincostflow(p, credit_units=per_ent), "mincostflow", t0)

    # -- min-cost flow ------------------------------------------------------------------

    def _mincostflow(self, p: _Problem, *, credit_units: bool) -> NDArray[np.float64]:
        from ortools.graph.python import min_cost_flow

        n_ent, n_obl = p.capacity.size, p.demand.size
        # Edges that cannot carry credit or weight only waste capacity: leave them out.
        keep = (p.share > 0) & (p.weight > 0)
        obl, ent, share, weight = p.obl[keep], p.ent[keep], p.share[keep], p.weight[keep]
        if credit_units:
            # Flow = credited euros. Per-enterprise share s_j: capacity_j x s_j credited euros.
            s_ent = np.zeros(n_ent)
            s_ent[ent] = share
            ent_cap = np.floor(p.capacity * s_ent / self.unit_eur + 1e-9)
            obl_cap = np.floor(p.demand / self.unit_eur + 1e-9)
            unit_cost = weight
        else:
            # Flow = invoiced euros. Per-obligation share s_i: demand_i / s_i invoiced euros.
            s_obl = np.ones(n_obl)
            s_obl[obl] = share
            ent_cap = np.floor(p.capacity / self.unit_eur + 1e-9)
            obl_cap = np.floor(p.demand / s_obl / self.unit_eur + 1e-9)
            unit_cost = weight * share
        ent_cap = ent_cap.astype(np.int64)
        obl_cap = obl_cap.astype(np.int64)
        src, sink = 0, n_ent + n_obl + 1
        total = int(min(ent_cap.sum(), obl_cap.sum()))
        edge_cap = np.minimum(ent_cap[ent], obl_cap[obl])
        tails = np.concatenate([
            np.zeros(n_ent, np.int64), 1 + ent, 1 + n_ent + np.arange(n_obl), [src],
        ])
        heads = np.concatenate([
            1 + np.arange(n_ent), 1 + n_ent + obl, np.full(n_obl, sink), [sink],
        ])
        caps = np.concatenate([ent_cap, edge_cap, obl_cap, [total]])
        # Maximise weight => minimise -weight; the bypass arc (cost 0) lets flow stay unused.
        costs = np.concatenate([
            np.zeros(n_ent, np.int64),
            -np.rint(unit_cost * self.cost_scale).astype(np.int64),
            np.zeros(n_obl, np.int64),
            [0],
        ])
        smcf = min_cost_flow.SimpleMinCostFlow()
        arcs = smcf.add_arcs_with_capacity_and_unit_cost(
            tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs
        )
        smcf.set_nodes_supplies(np.array([src, sink], np.int32), np.array([total, -total]))
        status = smcf.solve()
        if status != smcf.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed with status {status}")
        flow = smcf.flows(arcs[n_ent:n_ent + obl.size]).astype(np.float64) * self.unit_eur
        amount = np.zeros(p.obl.size)
        amount[keep] = flow / share if credit_units else flow
        if credit_units:
            # Credit units were whole euros; the invoice is credit / share. Rounding the
            # division could push an enterprise a cent over capacity: clip per enterprise.
            amount = _clip_to_capacity(amount, p.ent, p.capacity)
        return amount

    # -- HiGHS ----------------------------------------------------------------------------

    def _highs(self, p: _Problem) -> NDArray[np.float64]:
        from scipy.optimize import linprog
        from scipy.sparse import csr_array, vstack

        m = p.obl.size
        cols = np.arange(m)
        a_ent = csr_array((np.ones(m), (p.ent, cols)), shape=(p.capacity.size, m))
        a_obl = csr_array((p.share, (p.obl, cols)), shape=(p.demand.size, m))
        options: dict[str, object] = {"presolve": True}
        if self.time_limit is not None:
            options["time_limit"] = float(self.time_limit)
        res = linprog(
            c=-(p.weight * p.share),
            A_ub=vstack([a_ent, a_obl]).tocsr(),
            b_ub=np.concatenate([p.capacity, p.demand]),
            bounds=(0, None),
            method=self.highs_method,
            options=options,
        )
        if res.x is None:
            raise RuntimeError(f"HiGHS found no solution: {res.message}")
        x = np.maximum(res.x, 0.0)
        # Interior point ends within a tolerance of the bounds; clip so the reported
        # allocation never over-books an enterprise or over-serves an obligation.
        x = _clip_to_capacity(x, p.ent, p.capacity)
        x = _clip_to_capacity(x * p.share, p.obl, p.demand) / np.where(p.share > 0, p.share, 1)
        return x


def _clip_to_capacity(
    values: NDArray[np.float64], group: NDArray[np.int64], cap: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Scale each group's values down so its sum does not exceed ``cap``."""
    tot = np.bincount(group, weights=values, minlength=cap.size)
    scale = np.ones(cap.size)
    over = tot > cap
    scale[over] = cap[over] / tot[over]
    return values * scale[group] if over.any() else values


def allocate(
    edge_obligation: ArrayLike,
    edge_enterprise: ArrayLike,
    fit: ArrayLike,
    share: ArrayLike,
    capacity_eur: ArrayLike,
    demand_eur: ArrayLike,
    *,
    solver: str = "auto",
    base_weight: float = 0.0,
) -> AllocationResult:
    """Functional shorthand for ``Allocator(solver, base_weight=...).solve(...)``."""
    return Allocator(solver, base_weight=base_weight).solve(
        edge_obligation, edge_enterprise, fit, share, capacity_eur, demand_eur
    )


def greedy_allocate(
    edge_obligation: ArrayLike,
    edge_enterprise: ArrayLike,
    fit: ArrayLike,
    share: ArrayLike,
    capacity_eur: ArrayLike,
    demand_eur: ArrayLike,
    *,
    base_weight: float = 0.0,
) -> AllocationResult:
    """Baseline: take edges by descending weight, each as far as capacity and demand allow.

    Feasible by construction, not optimal: a high-fit edge may use up an enterprise that was
    another obligation's only candidate.
    """
    t0 = time.perf_counter()
    p = _validate(edge_obligation, edge_enterprise, fit, share, capacity_eur, demand_eur,
                  base_weight)
    order = np.argsort(-p.weight, kind="stable")
    cap = p.capacity.copy()
    dem = p.demand.copy()
    amount = np.zeros(p.obl.size)
    # Plain loop: each step depends on what the previous ones used.
    obl_l, ent_l, share_l, w_l = p.obl.tolist(), p.ent.tolist(), p.share.tolist(), p.weight.tolist()
    for e in order.tolist():
        s = share_l[e]
        if s <= 0 or w_l[e] <= 0:
            continue
        i, j = obl_l[e], ent_l[e]
        credit = min(cap[j] * s, dem[i])
        if credit <= 0:
            continue
        x = credit / s
        amount[e] = x
        cap[j] -= x
        dem[i] -= credit
    return _finish(p, amount, "greedy", t0)


def whole_placements(
    edge_obligation: ArrayLike,
    edge_supply: ArrayLike,
    fit: ArrayLike,
    share: ArrayLike,
    amount_eur: ArrayLike,
    supply_capacity_eur: ArrayLike,
    per_place_eur: ArrayLike,
    demand_eur: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Settle a fractional allocation into whole placements without over-crediting.

    Supplies with ``per_place_eur > 0`` are placement nodes (capacity and flow in places
    valued at ``per_place_eur``; an edge's ``share`` is what one such euro credits that
    obligation, below 1 where its policy values a place lower than the node's value); the
    others are purchase nodes (invoice euros at ``share``). Steps:
    placements are floored; each obligation's shortfall is topped up from its purchase
    edges with capacity left (best fit first); a place is added only while an obligation is
    still short (largest fractional part first), so no obligation ends more than one
    placement's value over; an obligation that does end over gives back purchases first
    (lowest fit first), down to exactly its demand where its purchases allow.

    Returns per edge the invoiced euros (placements: their credited value), the credited
    euros and the number of places."""
    obl = np.asarray(edge_obligation, dtype=np.int64).ravel()
    sup = np.asarray(edge_supply, dtype=np.int64).ravel()
    f = np.asarray(fit, dtype=np.float64).ravel()
    s = np.asarray(share, dtype=np.float64).ravel()
    amount = np.maximum(np.asarray(amount_eur, dtype=np.float64).ravel(), 0.0).copy()
    cap = np.asarray(supply_capacity_eur, dtype=np.float64).ravel()
    per = np.asarray(per_place_eur, dtype=np.float64).ravel()
    demand = np.asarray(demand_eur, dtype=np.float64).ravel()
    is_place = per[sup] > 0
    places = np.zeros(obl.size, dtype=np.int64)
    want = np.where(is_place, amount / np.where(is_place, per[sup], 1.0), 0.0)
    places[is_place] = np.floor(want[is_place] + 1e-9).astype(np.int64)
    amount[is_place] = places[is_place] * per[sup[is_place]]
    credit = amount * s
    short = demand - np.bincount(obl, weights=credit, minlength=demand.size)
    used = np.bincount(sup, weights=amount, minlength=cap.size)
    free_places = np.where(per > 0, np.rint(cap / np.where(per > 0, per, 1.0)), 0.0)
    free_places -= np.bincount(sup[is_place], weights=places[is_place], minlength=cap.size)
    # Plain loops (each step depends on what the previous ones took), over the edges of
    # obligations still short or over only: after the solve those are few.
    order = np.argsort(-f, kind="stable")
    buy_mask = (~is_place) & (s > 0)
    # Supplies with capacity left and obligations short only decrease in the loops.
    todo = (buy_mask & (short[obl] >= _HALF_CENT) & (cap[sup] - used[sup] > _HALF_CENT))[order]
    for e in order[todo].tolist():
        i, j = int(obl[e]), int(sup[e])
        if short[i] < _HALF_CENT:
            continue
        x = min(cap[j] - used[j], short[i] / s[e])
        if x <= 0:
            continue
        amount[e] += x
        credit[e] = amount[e] * s[e]
        used[j] += x
        short[i] -= x * s[e]
    ups = np.flatnonzero(is_place & (short[obl] >= _HALF_CENT) & (free_places[sup] >= 1)).tolist()
    ups.sort(key=lambda e: (-(want[e] - places[e]), -f[e], e))
    for e in ups:
        i, j = int(obl[e]), int(sup[e])
        if short[i] < _HALF_CENT or free_places[j] < 1:
            continue
        places[e] += 1
        free_places[j] -= 1
        amount[e] = places[e] * per[j]
        credit[e] = amount[e] * s[e]
        short[i] -= per[j] * s[e]
    back = buy_mask[order] & (short[obl[order]] <= -_HALF_CENT)
    for e in order[back][::-1].tolist():  # lowest fit gives back first
        i = int(obl[e])
        if short[i] > -_HALF_CENT or credit[e] <= 0:
            continue
        give = min(credit[e], -short[i])
        credit[e] -= give
        amount[e] = credit[e] / s[e]
        short[i] += give
    return amount, credit, places


_HALF_CENT = 0.005


__all__ = [
    "SOLVERS", "AllocationResult", "Allocator", "allocate", "greedy_allocate", "whole_placements",
]
