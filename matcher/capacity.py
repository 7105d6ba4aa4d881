"""Capacity: the one owner of what an enterprise can still take on.

An enterprise offers two separate things per year (``model.Capacity``): *purchasing*
(invoice euros a firm can buy from it) and *placements* (people from its target groups a
firm can employ through it). What is already promised elsewhere (a :class:`Commitment`,
read by the store from allocations and accepted matches) is subtracted from each part on
its own: a booked placement does not use up purchasing euros, nor the other way round.

:class:`CapacityState` holds both parts, committed and free, per year or over a contract
term (:meth:`CapacityState.for_term`, or :meth:`CapacityState.over_years` where what is
booked differs from one calendar year to the next). A commitment over a contract term is
booked in each calendar year by the share of the term that falls in it (:func:`year_shares`):
a €400,000 purchase over four years books €100,000 a year, never the whole amount in one.
Where one euro figure is needed (the ranking's
capacity feature, the feasibility verdict) placements are valued at the valuation policy's
value of one placement-year (``matcher.valuation.placement_year_eur``), passed in by the
caller: that value is configuration, never a constant here.

The vectorised helpers at the bottom do the same arithmetic on arrays for the index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matcher.model import Capacity


def term_years(start: date | None, end: date | None) -> float:
    """Length of a contract term in years (to 0.01), at least one; an unknown or empty
    period counts as one year. The one conversion from dates to the ``years`` of
    :meth:`CapacityState.for_term`."""
    if start is None or end is None or end <= start:
        return 1.0
    return max(1.0, round((end - start).days / 365.25, 2))


def year_shares(start: date, end: date) -> dict[int, float]:
    """The share of the period ``start`` (included) to ``end`` (excluded) that falls in each
    calendar year, by days; the shares sum to 1. An empty or reversed period counts as the
    year from ``start``. How a commitment over a term is booked per year."""
    if end <= start:
        end = start + timedelta(days=365)
    total = (end - start).days
    out: dict[int, float] = {}
    for year in range(start.year, end.year + 1):
        days = (min(end, date(year + 1, 1, 1)) - max(start, date(year, 1, 1))).days
        if days > 0:
            out[year] = days / total
    return out


def spread(amount: float, shares: Mapping[int, float]) -> dict[int, float]:
    """``amount`` (euros or places, fractions allowed) booked per calendar year."""
    return {year: amount * share for year, share in shares.items()}


@dataclass(frozen=True)
class Commitment:
    """What an enterprise has already promised, per year: purchase euros and placements
    (fractional when a place over a term is spread over its calendar years)."""

    purchase_eur: float = 0.0
    placements: float = 0

    def __add__(self, other: Commitment) -> Commitment:
        return Commitment(self.purchase_eur + other.purchase_eur,
                          self.placements + other.placements)


@dataclass(frozen=True)
class CapacityState:
    """An enterprise's purchasing and placement capacity, committed and free.

    Per year unless made by :meth:`for_term` (``years`` says over how many). Free amounts
    are clipped at 0: a part committed beyond its capacity has nothing free, and never
    takes from the other part."""

    purchase_eur: float = 0.0
    placements: float = 0.0
    committed_purchase_eur: float = 0.0
    committed_placements: float = 0.0
    years: float = 1.0

    @classmethod
    def of(cls, capacity: Capacity, committed: Commitment | None = None) -> CapacityState:
        """The yearly state of ``capacity`` with ``committed`` (None: nothing) promised."""
        c = committed or Commitment()
        return cls(float(capacity.purchasing_eur_per_year), float(capacity.placements_per_year),
                   float(c.purchase_eur), float(c.placements))

    @property
    def free_purchase_eur(self) -> float:
        return max(0.0, self.purchase_eur - self.committed_purchase_eur)

    @property
    def free_placements(self) -> float:
        return max(0.0, self.placements - self.committed_placements)

    @property
    def has_free(self) -> bool:
        return self.free_purchase_eur > 0 or self.free_placements > 0

    def for_term(self, years: float) -> CapacityState:
        """The same state over a contract of ``years`` years (every amount times years;
        a yearly commitment is taken to hold for the whole term)."""
        if not years > 0:
            raise ValueError(f"years must be > 0, got {years!r}")
        y = years / self.years
        return CapacityState(self.purchase_eur * y, self.placements * y,
                             self.committed_purchase_eur * y, self.committed_placements * y,
                             years)

    @classmethod
    def over_years(cls, capacity: Capacity, booked: Mapping[int, Commitment],
                   shares: Mapping[int, float], years: float) -> CapacityState:
        """The state over a contract term of ``years`` years whose calendar years carry
        ``shares`` of it (:func:`year_shares`), with ``booked`` already promised per
        calendar year.

        Free over the term is the most that, spread by ``shares``, fits in every year's free
        capacity (a year's free divided by its share), so a plan within it never books an
        enterprise beyond its capacity in any year; and, as :meth:`for_term` counts a term
        in capacity-years, at most ``years`` times the tightest year's free and at most the
        term's capacity less all that is booked in its years (so two contracts over the same
        dates share one contract's capacity exactly, even across a new year)."""
        if not years > 0:
            raise ValueError(f"years must be > 0, got {years!r}")
        yearly = {y: cls.of(capacity, booked.get(y)) for y in shares}
        used = {y: s for y, s in shares.items() if s > 0}
        if not used:
            return cls.of(capacity).for_term(years)

        total = cls.of(capacity).for_term(years)

        def free_over(part: str) -> float:
            frees = {y: getattr(yearly[y], f"free_{part}") for y in used}
            booked_in_term = sum(min(getattr(yearly[y], f"committed_{part}"),
                                     getattr(yearly[y], part)) for y in used)
            return max(0.0, min(min(frees[y] / used[y] for y in used),
                                years * min(frees.values()),
                                getattr(total, part) - booked_in_term))

        return cls(total.purchase_eur, total.placements,
                   max(0.0, total.purchase_eur - free_over("purchase_eur")),
                   max(0.0, total.placements - free_over("placements")), years)

    # -- in euros, at a placement value (see the module docstring) ----------------

    def placements_eur(self, placement_eur: float) -> float:
        """Euro value of all its placements at ``placement_eur`` per placement-year."""
        return self.placements * placement_eur

    def free_placements_eur(self, placement_eur: float) -> float:
        return self.free_placements * placement_eur

    def total_eur(self, placement_eur: float) -> float:
        """Purchasing plus placements valued at ``placement_eur``."""
        return self.purchase_eur + self.placements_eur(placement_eur)

    def committed_eur(self, placement_eur: float) -> float:
        """Committed purchasing plus committed placements valued at ``placement_eur``, each
        part at most its capacity."""
        return (min(self.committed_purchase_eur, self.purchase_eur)
                + min(self.committed_placements, self.placements) * placement_eur)

    def free_eur(self, placement_eur: float) -> float:
        """Free purchasing plus free placements valued at ``placement_eur``."""
        return self.free_purchase_eur + self.free_placements_eur(placement_eur)


# ---------------------------------------------------------------- arrays (the index)


def free_amounts(total: ArrayLike, committed: ArrayLike) -> NDArray[np.float64]:
    """Per row: ``total`` minus ``committed``, clipped at 0 (one part at a time)."""
    return np.maximum(
        np.asarray(total, dtype=np.float64) - np.asarray(committed, dtype=np.float64), 0.0
    )


def in_eur(purchase_eur: ArrayLike, placements: ArrayLike, placement_eur: float
           ) -> NDArray[np.float64]:
    """Per row: purchasing euros plus placements valued at ``placement_eur``."""
    return (np.asarray(purchase_eur, dtype=np.float64)
            + np.asarray(placements, dtype=np.float64) * placement_eur)


def capacity_fit(remaining: ArrayLike, amount_eur: float | None) -> NDArray[np.float64]:
    """Share of ``amount_eur`` the remaining capacity (in euros) can carry, in [0, 1].
    With no amount known, anyone with capacity left fits fully."""
    r = np.asarray(remaining, dtype=np.float64)
    if amount_eur is None or amount_eur <= 0:
        return (r > 0).astype(np.float64)
    return np.clip(r / amount_eur, 0.0, 1.0)
