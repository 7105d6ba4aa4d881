"""Fulfilment plan for one obligation: which enterprises, how many euros, how many places.

A firm owes ``due_eur`` credited euros. Each candidate enterprise offers up to two ways to
earn credit:

* **purchase** — the firm buys from it what it buys anyway (only where the enterprise
  supplies a CPV code the firm ``buys``), credited at the policy's share of the invoice,
  up to the enterprise's remaining purchasing capacity in euros;
* **placement** — a person from the enterprise's target groups placed in the firm's work,
  credited under the matching building block, up to its remaining placements.

Model (a small mixed-integer program, solved with SciPy's HiGHS ``milp``)::

    variables  x_j >= 0 invoiced euros, n_j in {0, 1, ...} placements, u >= 0 unmet
    cover      sum_j share_j x_j + value_j n_j + u >= due
    phase 1    minimise u                                     -> the least shortfall u*
    phase 2    minimise sum_j (2 - fit_j) credit_j + eps x_j  subject to u <= u*

Phase 2 is equivalent to maximising the fit-weighted credit among plans with the least
shortfall, while every credited euro costs at least 1, so it does not over-deliver when
it need not (placements are whole, so a plan may overshoot by part of one place). The
two phases keep "meet the obligation" strictly ahead of "use the best fits": a single
weighted objective would trade one against the other at an arbitrary rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.capacity import CapacityState, Commitment
from matcher.model import Enterprise, Obligation
from matcher.reasons import Param, Reason, eur, reason
from matcher.valuation import (
    PLACEMENT_HOURS_PER_WEEK,
    PLACEMENT_MONTHS,
    Policy,
    credit_rate,
    placement_block,
)

# Tie-break per invoiced euro: among equally good plans prefer the one that costs the firm
# the fewest invoice euros (a 100 % share over a 50 % one). Far below any fit difference.
_EPS_PER_EUR = 1e-6
_CENT = 0.01
# A few dozen variables: solve to (near) proven optimality rather than HiGHS's default
# 0.01 % gap, so ties and small fit differences are decided the same way every time.
_MILP_OPTIONS = {"mip_rel_gap": 1e-9, "time_limit": 10.0}


@dataclass(frozen=True)
class Candidate:
    """One enterprise as a supplier for one obligation."""

    enterprise: str
    fit: float
    capacity_eur: float = 0.0  # remaining purchasing capacity (invoice euros)
    purchase_share: float = 0.0  # credited euros per invoiced euro; 0: no purchase option
    can_supply: bool = False  # supplies a CPV code the firm buys
    capacity_placements: int = 0
    placement_credit_eur: float = 0.0  # credit for one placement under ``block``
    block: str | None = None
    years: float = 1.0  # the capacities above cover this many years (the obligation's term)

    @property
    def reach_eur(self) -> float:
        """The most credit it can earn the obligation: its free purchasing (only where the
        firm buys what it supplies) at its share plus its free places at their credit.
        What the obligation's match list says it carries, as the plan sees it."""
        buy = self.capacity_eur * self.purchase_share if self.can_supply else 0.0
        return round(buy + self.capacity_placements * self.placement_credit_eur, 2)

    def carries(self, due_eur: float) -> Reason:
        """The ``credit_share`` reason: its free capacity over ``years`` that earns credit,
        that credit (:attr:`reach_eur`) and the share of ``due_eur`` it carries."""
        buys = self.can_supply and self.purchase_share > 0
        places = self.capacity_placements if self.placement_credit_eur > 0 else 0
        reach = self.reach_eur
        return reason("credit_share", free_purchase_eur=eur(self.capacity_eur if buys else 0.0),
                      free_placements=places, years=self.years, credit_eur=eur(reach),
                      share=round(min(1.0, reach / due_eur), 4) if due_eur > 0 else 0.0,
                      due_eur=eur(due_eur))


@dataclass(frozen=True)
class PlanRow:
    obligation: str
    enterprise: str
    kind: str  # "purchase" | "placement"
    # Purchases: invoiced euros. Placements: their notional value (= credit_eur; there is
    # no invoice), so capacity bookkeeping in euros counts a place like the ranking's
    # capacity feature does.
    amount_eur: float
    credit_eur: float
    placements: int
    block: str | None
    fit: float


@dataclass(frozen=True)
class Plan:
    obligation: str
    due_eur: float
    rows: tuple[PlanRow, ...]
    credit_eur: float
    unmet_eur: float
    # Why: the verdict and the plan's parts (``plan_*`` codes of matcher/reasons.py);
    # callers may append notes (api/services/planning.py: what is already committed).
    explanation: tuple[Reason, ...]

    @property
    def met(self) -> bool:
        return self.unmet_eur <= 0


@dataclass(frozen=True)
class _Option:
    cand: int
    kind: str
    credit_per_unit: float
    upper: float
    integer: bool


class FulfilmentPlanner:
    """Plans one obligation at a time; configuration in the constructor.

    Parameters
    ----------
    max_partners: at most this many enterprises in one plan (None: no limit). Firms and
        coordinators follow each partner up, so fewer partners can be worth a lower fit.
    allow_purchases, allow_placements: switch a kind of option off entirely.
    """

    def __init__(
        self,
        *,
        max_partners: int | None = None,
        allow_purchases: bool = True,
        allow_placements: bool = True,
    ) -> None:
        if max_partners is not None and max_partners < 1:
            raise ValueError("max_partners must be >= 1 or None")
        self.max_partners = max_partners
        self.allow_purchases = allow_purchases
        self.allow_placements = allow_placements

    def _options(self, cands: list[Candidate]) -> list[_Option]:
        out: list[_Option] = []
        for k, c in enumerate(cands):
            if not 0.0 <= c.fit <= 1.0 or not math.isfinite(c.fit):
                raise ValueError(f"fit of {c.enterprise} must lie in [0, 1], got {c.fit}")
            if not 0.0 <= c.purchase_share <= 1.0:
                raise ValueError(f"purchase_share of {c.enterprise} must lie in [0, 1]")
            if c.capacity_eur < 0 or c.capacity_placements < 0 or c.placement_credit_eur < 0:
                raise ValueError(f"capacities and credits of {c.enterprise} must be >= 0")
            if (self.allow_purchases and c.can_supply and c.purchase_share > 0
                    and c.capacity_eur > 0):
                out.append(_Option(k, "purchase", c.purchase_share, c.capacity_eur, False))
            if (self.allow_placements and c.capacity_placements > 0
                    and c.placement_credit_eur > 0):
                out.append(_Option(k, "placement", c.placement_credit_eur,
                                   float(c.capacity_placements), True))
        return out

    def plan(self, obligation: str, due_eur: float, candidates: Iterable[Candidate]) -> Plan:
        cands = list(candidates)
        if not math.isfinite(due_eur) or due_eur < 0:
            raise ValueError(f"due_eur must be a finite number >= 0, got {due_eur}")
        if due_eur <= 0:
            return Plan(obligation, 0.0, (), 0.0, 0.0, (reason("plan_nothing_due"),))
        opts = self._options(cands)
        if not opts:
            code = "plan_no_candidates" if not cands else "plan_no_options"
            return Plan(obligation, due_eur, (), 0.0, due_eur,
                        (reason(code, due_eur=eur(due_eur)),))
        values = self._solve(opts, cands, due_eur)
        return self._assemble(obligation, due_eur, cands, opts, values)

    # -- the MILP ---------------------------------------------------------------------

    def _solve(self, opts: list[_Option], cands: list[Candidate], due: float) -> np.ndarray:
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import lil_array

        n_opt = len(opts)
        partners = sorted({o.cand for o in opts})
        use_y = self.max_partners is not None and self.max_partners < len(partners)
        n_y = len(partners) if use_y else 0
        n = n_opt + n_y + 1  # options, partner switches, unmet
        iu = n - 1
        lower = np.zeros(n)
        upper = np.array([o.upper for o in opts] + [1.0] * n_y + [due])
        integrality = np.array([1 if o.integer else 0 for o in opts] + [1] * n_y + [0])

        rows: list[tuple[np.ndarray, float, float]] = []
        cover = np.zeros(n)
        cover[:n_opt] = [o.credit_per_unit for o in opts]
        cover[iu] = 1.0
        rows.append((cover, due, np.inf))
        if use_y:
            pos = {c: n_opt + k for k, c in enumerate(partners)}
            for k, o in enumerate(opts):
                r = np.zeros(n)
                r[k] = 1.0
                r[pos[o.cand]] = -o.upper  # an option is usable only if its partner is on
                rows.append((r, -np.inf, 0.0))
            r = np.zeros(n)
            r[n_opt:n_opt + n_y] = 1.0
            rows.append((r, -np.inf, float(self.max_partners)))  # type: ignore[arg-type]
        a = lil_array((len(rows), n))
        for k, (r, _, _) in enumerate(rows):
            a[k, np.flatnonzero(r)] = r[np.flatnonzero(r)]
        lb = np.array([lo for _, lo, _ in rows])
        ub = np.array([hi for _, _, hi in rows])
        cons = LinearConstraint(a.tocsr(), lb, ub)

        # Phase 1: the least shortfall.
        c1 = np.zeros(n)
        c1[iu] = 1.0
        r1 = milp(c1, constraints=cons, integrality=integrality, bounds=Bounds(lower, upper),
                  options=_MILP_OPTIONS)
        if r1.x is None:
            raise RuntimeError(f"plan MILP (phase 1) failed: {r1.message}")
        u_star = float(r1.x[iu])

        # Phase 2: best fit at that shortfall (plus a cent of slack for rounding).
        c2 = np.zeros(n)
        for k, o in enumerate(opts):
            c2[k] = (2.0 - cands[o.cand].fit) * o.credit_per_unit
            if o.kind == "purchase":
                c2[k] += _EPS_PER_EUR
        upper2 = upper.copy()
        upper2[iu] = min(due, u_star + _CENT)
        r2 = milp(c2, constraints=cons, integrality=integrality, bounds=Bounds(lower, upper2),
                  options=_MILP_OPTIONS)
        x = r2.x if r2.x is not None else r1.x
        return np.asarray(x[:n_opt])

    def _assemble(
        self, obligation: str, due: float, cands: list[Candidate], opts: list[_Option],
        values: np.ndarray,
    ) -> Plan:
        rows: list[PlanRow] = []
        placed_credit = 0.0
        for o, v in zip(opts, values, strict=True):
            c = cands[o.cand]
            count = int(round(v)) if o.integer else 0
            if count > 0:
                credit = round(count * o.credit_per_unit, 2)
                placed_credit += credit
                rows.append(PlanRow(obligation, c.enterprise, "placement", credit, credit, count,
                                    c.block, c.fit))
        # Purchases are re-derived exactly rather than read off the solver, whose values
        # sit within a feasibility tolerance (cents) of the truth. With placements fixed,
        # the purchase part is a fractional knapsack — cover the remaining credit at least
        # cost — which filling by ascending cost per credited euro solves optimally.
        chosen = {o.cand for o, v in zip(opts, values, strict=True) if v > 1e-6}
        buy = [o for o in opts if o.kind == "purchase"
               and (self.max_partners is None or o.cand in chosen)]
        buy.sort(key=lambda o: ((2.0 - cands[o.cand].fit) + _EPS_PER_EUR / o.credit_per_unit,
                                cands[o.cand].enterprise))
        remaining = round(max(due - placed_credit, 0.0), 2)
        for o in buy:
            if remaining < _CENT:
                break
            c = cands[o.cand]
            # Cents, rounded up so the credit is not a cent short; never above capacity.
            amount = min(math.ceil(remaining / o.credit_per_unit / _CENT - 1e-9) * _CENT,
                         math.floor(o.upper / _CENT + 1e-9) * _CENT)
            if amount < _CENT:
                continue
            credit = round(amount * o.credit_per_unit, 2)
            remaining = round(remaining - credit, 2)
            rows.append(PlanRow(obligation, c.enterprise, "purchase", round(amount, 2), credit,
                                0, None, c.fit))
        rows.sort(key=lambda r: (-r.credit_eur, r.enterprise, r.kind))
        credit = round(sum(r.credit_eur for r in rows), 2)
        unmet = round(max(due - credit, 0.0), 2)
        if unmet < _CENT:
            unmet = 0.0
        return Plan(obligation, due, tuple(rows), credit, unmet,
                    self._explain(due, rows, credit, unmet, cands, opts))

    @staticmethod
    def _explain(
        due: float, rows: list[PlanRow], credit: float, unmet: float,
        cands: list[Candidate], opts: list[_Option],
    ) -> tuple[Reason, ...]:
        bought = [r for r in rows if r.kind == "purchase"]
        placed = [r for r in rows if r.kind == "placement"]
        parts: dict[str, Param] = {
            "bought_eur": eur(sum(r.amount_eur for r in bought)), "bought_n": len(bought),
            "bought_credit_eur": eur(sum(r.credit_eur for r in bought)),
            "placements": sum(r.placements for r in placed), "placed_n": len(placed),
            "placed_credit_eur": eur(sum(r.credit_eur for r in placed)),
        }
        partners = {r.enterprise for r in rows}
        avg_fit = (sum(r.fit * r.credit_eur for r in rows) / credit) if credit > 0 else 0.0
        if unmet <= 0:
            over = credit - due
            return (reason("plan_met", due_eur=eur(due), over_eur=eur(over) if over >= 1 else 0.0,
                           partners=len(partners), fit=round(avg_fit, 4), **parts),)
        reach = sum(o.credit_per_unit * o.upper for o in opts)
        return (reason("plan_unmet", due_eur=eur(due), short_eur=eur(unmet),
                       short_share=round(unmet / due, 4),
                       limit="capacity" if reach < due else "partners",
                       reach_eur=eur(reach) if reach < due else None, **parts),)


def plan_obligation(
    obligation: str, due_eur: float, candidates: Iterable[Candidate], *,
    max_partners: int | None = None,
) -> Plan:
    """Functional shorthand for ``FulfilmentPlanner(max_partners=...).plan(...)``."""
    return FulfilmentPlanner(max_partners=max_partners).plan(obligation, due_eur, candidates)


# ---------------------------------------------------------------- building candidates


def _cpv_prefix(code: str) -> str:
    # CPV is hierarchical by trailing zeros (45000000 division, 45200000 group, ...); the
    # division has two significant digits at least.
    stripped = code[:8].rstrip("0")
    return stripped if len(stripped) >= 2 else code[:2]


def supplies(enterprise_cpv: Iterable[str], buys: Iterable[str]) -> bool:
    """Whether any code the enterprise delivers lies within, or contains, one the firm buys."""
    ent = [_cpv_prefix(c) for c in enterprise_cpv]
    for b in buys:
        pb = _cpv_prefix(b)
        if any(pe.startswith(pb) or pb.startswith(pe) for pe in ent):
            return True
    return False


def build_candidates(
    obligation: Obligation,
    matches: Iterable[tuple[Enterprise, float]],
    policy: Policy,
    on: date,
    *,
    committed: Mapping[str, Commitment] | None = None,
    hours_per_week: float = PLACEMENT_HOURS_PER_WEEK,
    months: float = PLACEMENT_MONTHS,
    years: float = 1.0,
    booked: Mapping[str, Mapping[int, Commitment]] | None = None,
    shares: Mapping[int, float] | None = None,
) -> list[Candidate]:
    """Turn ranked enterprises (with fit) into plan candidates under ``policy``.

    Remaining capacity is the free purchasing and free placements of each enterprise's
    ``CapacityState`` (``matcher.capacity``) after ``committed`` (what it has already promised
    elsewhere, per ref). A placement is valued as
    one place of ``hours_per_week`` for ``months`` under the most conservative block that
    fits the enterprise's target groups (the obligation's groups first).

    Capacity is per year; ``years`` is the obligation's term (``matcher.capacity.term_years``)
    and each enterprise's free capacity is converted to it here, once
    (``CapacityState.for_term``). With ``shares`` (the term's share per calendar year,
    ``matcher.capacity.year_shares``) and ``booked`` (what each enterprise has promised per
    calendar year) instead, the free capacity is what fits in every one of those years
    (``CapacityState.over_years``). Credit per unit comes from
    ``matcher.valuation.credit_rate``.
    """
    committed = committed or {}
    out: list[Candidate] = []
    for ent, fit in matches:
        share = credit_rate(policy, "purchase", on, enterprise=ent)
        block = placement_block(policy, ent.target_groups, prefer=obligation.target_groups)
        credit = (credit_rate(policy, "placement", on, block=block,
                              hours_per_week=hours_per_week, months=months)
                  if block is not None else 0.0)
        if shares is not None:
            state = CapacityState.over_years(ent.capacity, (booked or {}).get(ent.ref, {}),
                                             shares, years)
        else:
            state = CapacityState.of(ent.capacity, committed.get(ent.ref)).for_term(years)
        out.append(Candidate(
            enterprise=ent.ref,
            fit=float(min(max(fit, 0.0), 1.0)),
            capacity_eur=math.floor(state.free_purchase_eur * 100 + 1e-6) / 100,
            purchase_share=share,
            can_supply=bool(obligation.buys) and supplies(ent.cpv, obligation.buys),
            capacity_placements=int(state.free_placements + 1e-9),
            placement_credit_eur=credit,
            block=block.key if block is not None else None,
            years=state.years,
        ))
    return out


__all__ = [
    "Candidate", "FulfilmentPlanner", "Plan", "PlanRow", "build_candidates",
    "plan_obligation", "supplies",
]
