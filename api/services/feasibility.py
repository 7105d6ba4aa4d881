"""Feasibility verdict: can the region bear a tender's social-return demand?

The question an officer asks before publishing: *if I ask 5 % social return on
this contract, are there enough vetted social enterprises near enough, doing the
right work, with capacity left, to deliver it?*

**The model** (as a social-return coordinator reasons). The winning supplier delivers
social return in two ways, and only capacity that can serve one of them counts:

1. *Social purchasing*: it subcontracts the tender's kind of work, or buys related
   supplies, from social enterprises. Counted: the yearly purchasing capacity of the
   candidates whose **work fits the tender** — the engine's CPV-hierarchy score at least
   :data:`CPV_FIT_MIN` (the same code, its parent, a sibling two steps away) or its word
   TF-IDF text score at least :data:`TEXT_FIT_MIN`. A bicycle repairer's capacity does
   not count for an office-cleaning tender. (Calibrated on the fixtures' hidden trades:
   95 % of the enterprises this admits do the tender's own, second or a strongly
   adjacent trade, and it admits 88 % of those.)
2. *Placements*: it hires people from the target groups, which social enterprises
   support as training companies or detacheerders. Counted: the yearly placements of
   the candidates that **serve the clause's target groups** (the engine's target-group
   score above 0; every candidate when the clause names none), each placement-year valued
   at the clause's valuation policy's value (``matcher.valuation.placement_year_eur``).

The candidates are the enterprises passing the tender's hard constraints (vetted, within
reach and region, reserved-contract share) other than remaining capacity: a fully booked
enterprise still shows, as committed capacity. What an enterprise has committed to other
obligations (``api.services.capacity``) is taken from the part it was committed from:
purchase euros from its purchasing, placements from its placements (its
``matcher.capacity.CapacityState``). Free = usable − committed; the verdict
(:func:`verdict_for`, the one place for the thresholds): *infeasible* when free is below
what is due, *tight* when it covers less than :data:`TIGHT_MARGIN` times the due amount,
else *feasible*.

Capacity is counted over the contract period (``CapacityState.for_term``): an enterprise
that can absorb € 50.000 of purchasing a year offers € 100.000 over a two-year contract.
Periods shorter than a year count as one year (the obligation is usually settled yearly).

Two layers:

* :func:`assess` is pure: given the euros due and the candidates (each with its yearly
  purchasing and placement capacity, whether each part counts, and the euros already
  committed elsewhere) it returns a :class:`Feasibility`. Known-answer tests in
  ``tests/test_feasibility.py``.
* :func:`tender_candidates` reads the candidates and their feature scores off the engine
  (``matcher.rank.rank_query``); ``api.services.matching.tender_feasibility`` gathers the
  due amount (``matcher.valuation``) and the commitments from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.capacity import CapacityState, Commitment
from matcher.geo import haversine_km_many
from matcher.index import EnterpriseIndex
from matcher.query import Query
from matcher.rank import F_CPV, F_GROUPS, F_TEXT, rank_query
from matcher.valuation import DueResult
from matcher.weights import DEFAULT, WeightSet

# Work fit for social purchasing: the engine's CPV score (decay 0.6 per step in the CPV
# tree: 1 exact, 0.6 parent or child, 0.36 two steps) or its word TF-IDF cosine.
CPV_FIT_MIN = 0.3
TEXT_FIT_MIN = 0.2
# Placement support: the engine's target-group score (mean credit over the asked groups)
# above this.
GROUP_FIT_MIN = 0.0
# A region is "tight" when free capacity covers the demand by less than this factor:
# feasible on paper, but one withdrawal away from a shortfall.
TIGHT_MARGIN = 1.5

VERDICTS = ("feasible", "tight", "infeasible", "no_clause", "not_applicable")
# Why a clause is "not applicable": it owes nothing, or what it owes cannot be computed.
# Never "feasible" then: an officer would read it as "the region can deliver it".
NOT_APPLICABLE_REASONS = ("nothing_due", "below_threshold", "no_contract_value",
                          "no_labour_cost", "no_policy")


def not_applicable_reason(due: DueResult | None) -> str | None:
    """Why ``due`` (``matcher.valuation.tender_due``) leaves nothing to assess, or None
    when something is due (or there is no clause: ``no_clause``)."""
    if due is None or due.state == "due":
        return None
    if due.state == "no_policy":
        return "no_policy"
    if due.state == "not_computable":
        return "no_labour_cost" if due.missing == "labour_cost" else "no_contract_value"
    if not due.applies and due.percentage is not None:
        return "below_threshold"
    return "nothing_due"


def verdict_for(due_eur: float | None, free_eur: float,
                not_applicable: str | None = None) -> str:
    """The verdict for ``due_eur`` credited euros against ``free_eur`` usable free
    capacity (both over the contract period); None: the tender asks no social return;
    ``not_applicable``: a reason from :data:`NOT_APPLICABLE_REASONS`."""
    if due_eur is None:
        return "no_clause"
    if not_applicable is not None:
        return "not_applicable"
    due = max(0.0, float(due_eur))
    if free_eur < due:
        return "infeasible"
    if free_eur < due * TIGHT_MARGIN:
        return "tight"
    return "feasible"


@dataclass(frozen=True)
class CandidateCapacity:
    """One enterprise that passes the tender's hard constraints: its capacity state (per
    year, or over the term after :meth:`for_term`) and which of its parts count."""

    ref: str
    name: str
    capacity: CapacityState
    placement_eur: float  # euros one placement-year counts for (the clause's policy)
    distance_km: float | None = None
    work_fit: bool = True  # its work fits the tender: its purchasing counts
    serves_groups: bool = True  # it serves the clause's target groups: its placements count

    def for_term(self, years: float) -> CandidateCapacity:
        return replace(self, capacity=self.capacity.for_term(years))

    @property
    def capacity_eur(self) -> float:
        """All of it in euros, whatever its work (context)."""
        return self.capacity.total_eur(self.placement_eur)

    @property
    def usable_purchasing_eur(self) -> float:
        return self.capacity.purchase_eur if self.work_fit else 0.0

    @property
    def usable_placement_eur(self) -> float:
        return self.capacity.placements_eur(self.placement_eur) if self.serves_groups else 0.0

    @property
    def usable_eur(self) -> float:
        return self.usable_purchasing_eur + self.usable_placement_eur

    @property
    def committed_usable_eur(self) -> float:
        """Of the usable parts, what is committed elsewhere (each part at most itself)."""
        c = self.capacity
        purchase = min(c.committed_purchase_eur, c.purchase_eur) if self.work_fit else 0.0
        places = min(c.committed_placements, c.placements) if self.serves_groups else 0.0
        return purchase + places * self.placement_eur

    @property
    def free_eur(self) -> float:
        """Usable capacity not committed elsewhere."""
        return max(0.0, self.usable_eur - self.committed_usable_eur)


@dataclass(frozen=True, eq=False)
class CandidateTable:
    """The candidates as columns, one row per enterprise, in ``refs`` order.

    Why columns: a tender in a 10,000-enterprise registry has thousands of candidates, and
    an object per candidate (its capacity state, then that state over the term) was a third
    of the CPU of a tender page's first visit. :func:`assess` sums columns and makes a
    :class:`CandidateCapacity` only for the rows it shows. Iterating gives the rows as
    :class:`CandidateCapacity` (the same values)."""

    refs: list[str]
    names: list[str]
    purchase_eur: NDArray[np.float64]  # capacity over ``years`` years
    placements: NDArray[np.float64]
    committed_purchase_eur: NDArray[np.float64]
    committed_placements: NDArray[np.float64]
    years: NDArray[np.float64]  # the period the four columns above are counted over
    placement_eur: NDArray[np.float64]  # euros one placement-year counts for
    distance_km: NDArray[np.float64]  # NaN: not known
    work_fit: NDArray[np.bool_]
    serves_groups: NDArray[np.bool_]

    @classmethod
    def of(cls, candidates: Iterable[CandidateCapacity]) -> CandidateTable:
        cands = list(candidates)

        def col(get: Any) -> NDArray[np.float64]:
            return np.array([get(c) for c in cands], dtype=np.float64).reshape(len(cands))

        return cls(
            refs=[c.ref for c in cands], names=[c.name for c in cands],
            purchase_eur=col(lambda c: c.capacity.purchase_eur),
            placements=col(lambda c: c.capacity.placements),
            committed_purchase_eur=col(lambda c: c.capacity.committed_purchase_eur),
            committed_placements=col(lambda c: c.capacity.committed_placements),
            years=col(lambda c: c.capacity.years),
            placement_eur=col(lambda c: c.placement_eur),
            distance_km=col(lambda c: np.nan if c.distance_km is None else c.distance_km),
            work_fit=np.array([c.work_fit for c in cands], dtype=bool).reshape(len(cands)),
            serves_groups=np.array([c.serves_groups for c in cands],
                                   dtype=bool).reshape(len(cands)),
        )

    def __len__(self) -> int:
        return len(self.refs)

    def row(self, i: int) -> CandidateCapacity:
        km = float(self.distance_km[i])
        return CandidateCapacity(
            ref=self.refs[i], name=self.names[i],
            capacity=CapacityState(float(self.purchase_eur[i]), float(self.placements[i]),
                                   float(self.committed_purchase_eur[i]),
                                   float(self.committed_placements[i]), float(self.years[i])),
            placement_eur=float(self.placement_eur[i]),
            distance_km=None if np.isnan(km) else km,
            work_fit=bool(self.work_fit[i]), serves_groups=bool(self.serves_groups[i]))

    def __iter__(self) -> Iterator[CandidateCapacity]:
        return (self.row(i) for i in range(len(self.refs)))


@dataclass(frozen=True)
class Feasibility:
    verdict: str  # one of VERDICTS
    due_eur: float
    years: float
    capacity_eur: float  # over the period, every candidate, whatever its work (context)
    committed_eur: float  # over the period, of the usable capacity, committed elsewhere
    free_eur: float  # over the period, usable minus committed
    shortfall_eur: float
    n_enterprises: int  # every candidate in reach
    region_km: float | None
    top: tuple[CandidateCapacity, ...] = field(default=())  # over the period, largest free first
    purchasing_eur: float = 0.0  # over the period, of enterprises whose work fits
    placement_eur: float = 0.0  # over the period, of enterprises serving the target groups
    n_purchasing: int = 0
    n_placement: int = 0
    placement_value_eur: float = 0.0  # euros one placement-year counts for (the policy's)
    reason: str | None = None  # why "not_applicable" (NOT_APPLICABLE_REASONS)

    @property
    def usable_eur(self) -> float:
        return self.purchasing_eur + self.placement_eur

    @property
    def feasible(self) -> bool:
        return self.verdict in ("feasible", "tight")

    @property
    def committed_share(self) -> float:
        """Share of the usable capacity already committed elsewhere."""
        return self.committed_eur / self.usable_eur if self.usable_eur > 0 else 0.0

    @property
    def coverage(self) -> float:
        """Free capacity over demand (1.0 = exactly enough)."""
        if self.due_eur <= 0:
            return float("inf") if self.free_eur > 0 else 0.0
        return self.free_eur / self.due_eur

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "feasible": self.feasible,
            "due_eur": round(self.due_eur, 2),
            "years": self.years,
            "capacity_eur": round(self.capacity_eur, 2),
            "purchasing_eur": round(self.purchasing_eur, 2),
            "placement_eur": round(self.placement_eur, 2),
            "usable_eur": round(self.usable_eur, 2),
            "committed_eur": round(self.committed_eur, 2),
            "committed_share": round(self.committed_share, 4),
            "free_eur": round(self.free_eur, 2),
            "shortfall_eur": round(self.shortfall_eur, 2),
            "n_enterprises": self.n_enterprises,
            "n_purchasing": self.n_purchasing,
            "n_placement": self.n_placement,
            "placement_value_eur": round(self.placement_value_eur, 2),
            "region_km": self.region_km,
            "top": [
                {
                    "ref": c.ref,
                    "name": c.name,
                    "capacity_eur": round(c.capacity_eur, 2),
                    "purchasing_eur": round(c.usable_purchasing_eur, 2),
                    "placement_eur": round(c.usable_placement_eur, 2),
                    "committed_eur": round(c.committed_usable_eur, 2),
                    "free_eur": round(c.free_eur, 2),
                    "distance_km": None if c.distance_km is None else round(c.distance_km, 1),
                }
                for c in self.top
            ],
        }


def assess(
    due_eur: float | None,
    candidates: Iterable[CandidateCapacity] | CandidateTable,
    *,
    years: float = 1.0,
    region_km: float | None = None,
    top_n: int = 10,
    placement_eur: float = 0.0,
    not_applicable: str | None = None,
) -> Feasibility:
    """The verdict for ``due_eur`` credited euros over ``years`` against ``candidates``
    (``placement_eur``: the value their placements were counted at, for display;
    ``not_applicable``: why nothing is to be assessed, :func:`not_applicable_reason`)."""
    if not_applicable is not None and not_applicable not in NOT_APPLICABLE_REASONS:
        raise ValueError(f"unknown not-applicable reason {not_applicable!r}")
    years = max(1.0, float(years))
    t = candidates if isinstance(candidates, CandidateTable) else CandidateTable.of(candidates)
    if np.any(t.years <= 0):
        raise ValueError("a candidate's capacity is counted over a period of 0 years")
    # The columns of CandidateCapacity.for_term(years) and its properties, per row.
    y = years / t.years
    purchase, places = t.purchase_eur * y, t.placements * y
    pe = t.placement_eur
    usable_purchasing = np.where(t.work_fit, purchase, 0.0)
    usable_placement = np.where(t.serves_groups, places * pe, 0.0)
    usable = usable_purchasing + usable_placement
    committed_usable = (
        np.where(t.work_fit, np.minimum(t.committed_purchase_eur * y, purchase), 0.0)
        + np.where(t.serves_groups, np.minimum(t.committed_placements * y, places), 0.0) * pe)
    free_each = np.maximum(0.0, usable - committed_usable)
    purchasing = float(usable_purchasing.sum())
    placement = float(usable_placement.sum())
    committed = float(committed_usable.sum())
    free = max(0.0, purchasing + placement - committed)
    shown = np.flatnonzero(usable > 0)
    # Largest free first, then largest usable, then by reference (stable, as before).
    order = np.lexsort((np.array(t.refs, dtype=object)[shown].astype(str),
                        -usable[shown], -free_each[shown]))
    top = tuple(t.row(int(i)).for_term(years) for i in shown[order[:top_n]])
    verdict = verdict_for(due_eur, free, not_applicable)
    due = 0.0 if due_eur is None or verdict == "not_applicable" else max(0.0, float(due_eur))
    shortfall = 0.0 if due_eur is None else max(0.0, due - free)
    return Feasibility(
        verdict=verdict, due_eur=due, years=years,
        capacity_eur=float((purchase + places * pe).sum()),
        committed_eur=committed, free_eur=free, shortfall_eur=shortfall,
        n_enterprises=len(t), region_km=region_km, top=top,
        purchasing_eur=purchasing, placement_eur=placement,
        n_purchasing=int(np.count_nonzero(usable_purchasing > 0)),
        n_placement=int(np.count_nonzero(usable_placement > 0)),
        placement_value_eur=placement_eur,
        reason=not_applicable if verdict == "not_applicable" else None,
    )


def tender_candidates(
    index: EnterpriseIndex,
    query: Query,
    committed: Mapping[str, Commitment],
    weights: WeightSet = DEFAULT,
    placement_eur: float | None = None,
) -> CandidateTable:
    """The enterprises of ``index`` passing ``query``'s hard constraints, with their
    capacity state after ``committed`` (per year, by ref), whether each part counts (the
    engine's CPV, text and target-group scores against the module's thresholds), and
    placements valued at ``placement_eur`` (None: the index's value), by reference. Pass
    an index with no commitments, so that fully booked enterprises still count as
    committed capacity. Read off the index's capacity columns, no object per row."""
    value = index.placement_eur if placement_eur is None else placement_eur
    ranked = rank_query(index, query, weights, top_k=None)
    if len(ranked.rows) == 0:
        return CandidateTable.of([])
    X = ranked.X
    refs_of = index.refs_
    refs = [refs_of[r] for r in ranked.rows.tolist()]
    order = sorted(range(len(refs)), key=refs.__getitem__)
    rows = ranked.rows[order]
    refs = [refs[k] for k in order]
    n = len(refs)
    committed_purchase = np.zeros(n)
    committed_places = np.zeros(n)
    if committed and n:
        at = {ref: k for k, ref in enumerate(refs)}
        for ref, c in committed.items():
            k = at.get(ref)
            if k is not None:
                committed_purchase[k] = c.purchase_eur
                committed_places[k] = c.placements
    if query.lat is not None and query.lon is not None:
        km = haversine_km_many(query.lat, query.lon, index.lat_[rows], index.lon_[rows])
    else:
        km = np.full(n, np.nan)
    ents = index.enterprises_
    return CandidateTable(
        refs=refs, names=[ents[r].name for r in rows.tolist()],  # type: ignore[union-attr]
        purchase_eur=index.purchase_eur_[rows].astype(np.float64),
        placements=index.placements_[rows].astype(np.float64),
        committed_purchase_eur=committed_purchase, committed_placements=committed_places,
        years=np.ones(n), placement_eur=np.full(n, float(value)), distance_km=km,
        work_fit=((X[order, F_CPV] >= CPV_FIT_MIN) | (X[order, F_TEXT] >= TEXT_FIT_MIN)),
        serves_groups=X[order, F_GROUPS] > GROUP_FIT_MIN,
    )
