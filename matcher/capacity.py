"""Capacity fit: can the enterprise's remaining capacity carry the obligation's euros?

Remaining capacity is what is left of a year's capacity after euros already
committed elsewhere (passed in by the store, which knows the allocations).
Capacity counts purchasing euros plus placements valued at a notional euro
amount per placement (the Utrecht building-block order of magnitude), because an
obligation can be met by buying from the enterprise or by placing people there.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matcher.model import Enterprise

# Notional credit of one placement per year (Utrecht: €30,000–40,000 per job).
PLACEMENT_EUR = 30_000.0


def capacity_eur(e: Enterprise, placement_eur: float = PLACEMENT_EUR) -> float:
    cap = e.capacity
    return float(cap.purchasing_eur_per_year + cap.placements_per_year * placement_eur)


def remaining_eur(total_eur: ArrayLike, committed_eur: ArrayLike) -> NDArray[np.float64]:
    return np.maximum(
        np.asarray(total_eur, dtype=np.float64) - np.asarray(committed_eur, dtype=np.float64), 0.0
    )


def capacity_fit(remaining: ArrayLike, amount_eur: float | None) -> NDArray[np.float64]:
    """Share of ``amount_eur`` the remaining capacity can carry, in [0, 1].
    With no amount known, anyone with capacity left fits fully."""
    r = np.asarray(remaining, dtype=np.float64)
    if amount_eur is None or amount_eur <= 0:
        return (r > 0).astype(np.float64)
    return np.clip(r / amount_eur, 0.0, 1.0)
