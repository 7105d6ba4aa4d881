"""Capacity: the one owner of what an enterprise can still take on.

An enterprise offers two separate things per year (``model.Capacity``): *purchasing*
(invoice euros a firm can buy from it) and *placements* (people from its target groups a
firm can employ through it). What is already promised elsewhere (a :class:`Commitment`,
read by the store from allocations and accepted matches) is subtracted from each part on
its own: a booked placement does not use up purchasing euros, nor the other way round.

:class:`CapacityState` holds both parts, committed and free, per year or over a contract
term (:meth:`CapacityState.for_term`). Where one euro figure is needed (the ranking's
capacity feature, the feasibility verdict) placements are valued at the valuation policy's
value of one placement-year (``matcher.valuation.placement_year_eur``), passed in by the
caller: that value is configuration, never a constant here.

The vectorised helpers at the bottom do the same arithmetic on arrays for the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


@dataclass(frozen=True)
class Commitment:
    """What an enterprise has already promised, per year: purchase euros and placements."""

    purchase_eur: float = 0.0
    placements: int = 0

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
