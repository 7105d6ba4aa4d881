"""Hard constraints: conditions never traded against score.

An enterprise that fails any of them is not ranked at all, however good its
score would be. Each failure has a stable machine code and a human reason in
English and Dutch, so ``why_not`` can answer a connector precisely.

Checked (in this order):
  ``not_vetted`` / ``vetting_expired``  vetting must be valid on the reference date;
  ``outside_service_radius``            the place of work within the enterprise's radius;
  ``outside_clause_region``             ... and within the clause's ``region_km``;
  ``no_capacity_left``                  remaining capacity (after commitments) > 0;
  ``reserved_share_too_low``            reserved (article 20) contract: >= 30 % target-group staff.
Queries without a place skip the two distance checks (nothing to measure against).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.geo import cos_of_km, km_of_dot
from matcher.index import EnterpriseIndex
from matcher.model import RESERVED_MIN_TARGET_GROUP_SHARE
from matcher.query import Query


@dataclass(frozen=True)
class Exclusion:
    code: str
    reason: str
    reason_nl: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason, "reason_nl": self.reason_nl}


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


def exclusions(index: EnterpriseIndex, query: Query, row: int) -> list[Exclusion]:
    """Every hard constraint one enterprise fails (empty: it is a candidate)."""
    out: list[Exclusion] = []
    e = index.enterprise(row)
    on = index.date_
    v = e.vetting
    if v.status != "vetted":
        out.append(Exclusion(
            "not_vetted",
            f"vetting status is '{v.status}', not 'vetted'",
            f"screeningsstatus is '{v.status}', niet 'vetted'",
        ))
    elif v.valid_until is not None and v.valid_until < on:
        out.append(Exclusion(
            "vetting_expired",
            f"vetting expired on {v.valid_until.isoformat()}",
            f"screening verlopen op {v.valid_until.isoformat()}",
        ))
    q = query.unit()
    if q is not None:
        dot = float(index.unit_[row] @ q)
        km = float(km_of_dot(dot))
        if dot < index.cos_radius_[row]:
            r = index.radius_km_[row]
            out.append(Exclusion(
                "outside_service_radius",
                f"place of work is {km:.1f} km away, beyond the service radius of {r:g} km",
                f"werklocatie ligt op {km:.1f} km, buiten de werkstraal van {r:g} km",
            ))
        if query.region_km is not None and dot < float(cos_of_km(query.region_km)):
            out.append(Exclusion(
                "outside_clause_region",
                f"enterprise is {km:.1f} km away; the clause asks for within "
                f"{query.region_km:g} km",
                f"onderneming ligt op {km:.1f} km; de clausule vraagt binnen "
                f"{query.region_km:g} km",
            ))
    if index.remaining_eur_[row] <= 0:
        cap, com = index.capacity_eur_[row], index.committed_eur_[row]
        out.append(Exclusion(
            "no_capacity_left",
            f"no capacity left: €{com:,.0f} committed of €{cap:,.0f} per year",
            f"geen capaciteit over: €{com:,.0f} toegezegd van €{cap:,.0f} per jaar",
        ))
    if query.reserved:
        share = index.share_[row]
        if np.isnan(share):
            out.append(Exclusion(
                "reserved_share_too_low",
                "reserved contract (article 20) needs >= 30 % target-group staff; share unknown",
                "voorbehouden opdracht (artikel 20) vraagt >= 30 % medewerkers uit de "
                "doelgroep; aandeel onbekend",
            ))
        elif share < RESERVED_MIN_TARGET_GROUP_SHARE:
            out.append(Exclusion(
                "reserved_share_too_low",
                f"reserved contract (article 20) needs >= 30 % target-group staff; "
                f"enterprise has {share:.0%}",
                f"voorbehouden opdracht (artikel 20) vraagt >= 30 % medewerkers uit de "
                f"doelgroep; onderneming heeft {share:.0%}",
            ))
    return out
