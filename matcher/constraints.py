"""Hard constraints: conditions never traded against score.

An enterprise that fails any of them is not ranked at all, however good its
score would be. Each failure is a reason (``matcher/reasons.py``) with a stable code and its
numbers, so ``why_not`` can answer a connector precisely.

Checked (in this order):
  ``not_vetted`` / ``vetting_expired``  vetting must be valid on the reference date;
  ``outside_service_radius``            the place of work within the enterprise's radius;
  ``outside_clause_region``             ... and within the clause's ``region_km``;
  ``no_capacity_left``                  remaining capacity (after commitments) > 0;
  ``reserved_share_too_low``            reserved (article 20) contract: >= 30 % target-group staff.
Queries without a place skip the two distance checks (nothing to measure against).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from matcher.geo import cos_of_km, km_of_dot
from matcher.index import EnterpriseIndex
from matcher.model import RESERVED_MIN_TARGET_GROUP_SHARE
from matcher.query import Query
from matcher.reasons import Reason, eur, reason


def query_dot(index: EnterpriseIndex, query: Query) -> NDArray[np.float64] | None:
    """Cosine of the angle between the query's place and every enterprise (None: no place)."""
    q = query.unit()
    if q is None:
        return None
    # Column by column, not BLAS: for an (n x 3) mat-vec OpenBLAS wakes its thread
    # pool, whose hand-off costs more than the arithmetic (and einsum is slower still).
    u = index.unit_
    d = u[:, 0] * float(q[0])
    d += u[:, 1] * float(q[1])
    d += u[:, 2] * float(q[2])
    return d


def base_mask(index: EnterpriseIndex) -> NDArray[np.bool_]:
    """The query-independent constraints: alive, valid vetting, capacity left."""
    return index.alive_ & index.vetting_ok_ & (index.remaining_eur_ > 0)


def feasible_mask(
    index: EnterpriseIndex, query: Query, dot: NDArray[np.float64] | None = None,
    base: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """True where an enterprise passes every hard constraint. ``base``: a
    precomputed ``base_mask(index)`` (many queries against one index state)."""
    ok = base_mask(index) if base is None else base.copy()
    if dot is None:
        dot = query_dot(index, query)
    if dot is not None:
        # d <= r  <=>  cos(d/R) >= cos(r/R): no arccos over the registry.
        ok &= dot >= index.cos_radius_
        if query.region_km is not None:
            ok &= dot >= float(cos_of_km(query.region_km))
    if query.reserved:
        # Unknown share (NaN) fails: a reserved contract needs it demonstrated.
        ok &= index.share_ >= RESERVED_MIN_TARGET_GROUP_SHARE
    return ok


def exclusions(index: EnterpriseIndex, query: Query, row: int) -> list[Reason]:
    """Every hard constraint one enterprise fails (empty: it is a candidate), each a
    reason whose code is the constraint's (``matcher/reasons.py``)."""
    out: list[Reason] = []
    e = index.enterprise(row)
    on = index.date_
    v = e.vetting
    if v.status != "vetted":
        out.append(reason("not_vetted", status=v.status))
    elif v.valid_until is not None and v.valid_until < on:
        out.append(reason("vetting_expired", on=v.valid_until.isoformat()))
    q = query.unit()
    if q is not None:
        dot = float(index.unit_[row] @ q)
        km = round(float(km_of_dot(dot)), 1)
        if dot < index.cos_radius_[row]:
            out.append(reason("outside_service_radius", km=km,
                              radius_km=float(index.radius_km_[row])))
        if query.region_km is not None and dot < float(cos_of_km(query.region_km)):
            out.append(reason("outside_clause_region", km=km, region_km=float(query.region_km)))
    if index.remaining_eur_[row] <= 0:
        out.append(reason("no_capacity_left", committed_eur=eur(index.committed_eur_[row]),
                          capacity_eur=eur(index.capacity_eur_[row])))
    if query.reserved:
        share = index.share_[row]
        if np.isnan(share) or share < RESERVED_MIN_TARGET_GROUP_SHARE:
            out.append(reason("reserved_share_too_low",
                              share=None if np.isnan(share) else round(float(share), 4),
                              min_share=RESERVED_MIN_TARGET_GROUP_SHARE))
    return out
