"""Feasibility verdict: can the region bear a tender's social-return demand?

The question an officer asks before publishing: *if I ask 5 % social return on
this contract, are there enough vetted social enterprises near enough, doing the
right work, with capacity left, to deliver it?*

Two layers:

* :func:`assess` is pure: given the euros due and the candidate enterprises (each
  with its yearly creditable capacity and the part already committed to other
  obligations) it returns a :class:`Feasibility` — verdict, free capacity,
  committed share, shortfall. Tested on constructed cases.
* :func:`tender_feasibility` gathers those inputs from the store: the tender's due
  amount (``matcher.valuation``), the enterprises passing the tender's hard
  constraints (the engine's, via ``api.services.matching``) and what is already
  committed elsewhere (``api.services.capacity.committed_eur``).

Capacity is counted over the contract period: an enterprise that can absorb
€ 50.000 of purchasing a year offers € 100.000 over a two-year contract. Periods
shorter than a year count as one year (the obligation is usually settled yearly).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# A region is "tight" when free capacity covers the demand by less than this factor:
# feasible on paper, but one withdrawal away from a shortfall.
TIGHT_MARGIN = 1.5


@dataclass(frozen=True)
class CandidateCapacity:
    """One enterprise that passes the tender's hard constraints."""

    ref: str
    name: str
    capacity_eur: float  # creditable euros per year it can deliver
    committed_eur: float = 0.0  # per year, already allocated to other obligations
    distance_km: float | None = None

    @property
    def free_eur(self) -> float:
        return max(0.0, self.capacity_eur - self.committed_eur)


@dataclass(frozen=True)
class Feasibility:
    verdict: str  # "feasible" | "tight" | "infeasible" | "no_clause"
    due_eur: float
    years: float
    capacity_eur: float  # over the period, all candidates
    committed_eur: float  # over the period, already committed elsewhere
    free_eur: float  # over the period
    shortfall_eur: float
    n_enterprises: int
    region_km: float | None
    top: tuple[CandidateCapacity, ...] = field(default=())  # largest free capacity first

    @property
    def feasible(self) -> bool:
        return self.verdict in ("feasible", "tight")

    @property
    def committed_share(self) -> float:
        return self.committed_eur / self.capacity_eur if self.capacity_eur > 0 else 0.0

    @property
    def coverage(self) -> float:
        """Free capacity over demand (1.0 = exactly enough)."""
        if self.due_eur <= 0:
            return float("inf") if self.free_eur > 0 else 0.0
        return self.free_eur / self.due_eur

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "feasible": self.feasible,
            "due_eur": round(self.due_eur, 2),
            "years": self.years,
            "capacity_eur": round(self.capacity_eur, 2),
            "committed_eur": round(self.committed_eur, 2),
            "committed_share": round(self.committed_share, 4),
            "free_eur": round(self.free_eur, 2),
            "shortfall_eur": round(self.shortfall_eur, 2),
            "n_enterprises": self.n_enterprises,
            "region_km": self.region_km,
            "top": [
                {
                    "ref": c.ref,
                    "name": c.name,
                    "capacity_eur": round(c.capacity_eur * self.years, 2),
                    "committed_eur": round(c.committed_eur * self.years, 2),
                    "free_eur": round(c.free_eur * self.years, 2),
                    "distance_km": None if c.distance_km is None else round(c.distance_km, 1),
                }
                for c in self.top
            ],
        }


def contract_years(start: date | None, end: date | None) -> float:
    """Length of the contract in years, at least one (unknown period: one year)."""
    if start is None or end is None or end <= start:
        return 1.0
    return max(1.0, round((end - start).days / 365.25, 2))


def assess(
    due_eur: float | None,
    candidates: Iterable[CandidateCapacity],
    *,
    years: float = 1.0,
    region_km: float | None = None,
    top_n: int = 10,
) -> Feasibility:
    """The verdict for ``due_eur`` credited euros over ``years`` against ``candidates``."""
    cands = list(candidates)
    years = max(1.0, float(years))
    capacity = sum(max(0.0, c.capacity_eur) for c in cands) * years
    committed = sum(min(max(0.0, c.committed_eur), max(0.0, c.capacity_eur)) for c in cands)
    committed *= years
    free = max(0.0, capacity - committed)
    top = tuple(sorted(cands, key=lambda c: (-c.free_eur, c.ref))[:top_n])
    if due_eur is None:
        return Feasibility("no_clause", 0.0, years, capacity, committed, free, 0.0,
                           len(cands), region_km, top)
    due = max(0.0, float(due_eur))
    shortfall = max(0.0, due - free)
    if shortfall > 0:
        verdict = "infeasible"
    elif free < due * TIGHT_MARGIN:
        verdict = "tight"
    else:
        verdict = "feasible"
    return Feasibility(verdict, due, years, capacity, committed, free, shortfall,
                       len(cands), region_km, top)


def candidates_from(
    rows: Iterable[Any],
    capacity_eur: Mapping[str, float],
    committed: Mapping[str, float],
    distances: Mapping[str, float | None] | None = None,
) -> list[CandidateCapacity]:
    """Build candidates from enterprise records (anything with ``ref`` and ``name``)."""
    distances = distances or {}
    return [
        CandidateCapacity(
            ref=r.ref,
            name=r.name,
            capacity_eur=float(capacity_eur.get(r.ref, 0.0)),
            committed_eur=float(committed.get(r.ref, 0.0)),
            distance_km=distances.get(r.ref),
        )
        for r in rows
    ]
