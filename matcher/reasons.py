"""Reasons as data: the one owner of the engine's reason codes.

The engine explains matches, coalitions, plans and exclusions as :class:`Reason`
records, a code with JSON-ready parameters, never as sentences: the views render them
in the user's language (``api/reasons.py``, one table per language), the JSON API
returns them as ``{"code", "params", "text"}``. Parameters are ``str``, ``int``,
``float``, ``None`` or lists of those; amounts are euros, shares are fractions in
[0, 1], dates are ISO strings.

``CODES`` lists every code with its parameters (in the order documented below); the
renderer's tests enumerate it, so a new code without a rendering fails them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Param = str | int | float | None | list[str] | list[int] | list[float]

CODES: Mapping[str, tuple[str, ...]] = {
    # -- a match (matcher/rank.py explain) ---------------------------------------------
    "cpv_exact": ("code",),  # the requested code is offered as such
    # the offered code lies within / covers the requested one (similarity in (0, 1])
    "cpv_within": ("offered", "requested", "similarity"),
    "cpv_covers": ("offered", "requested", "similarity"),
    # both lie in the class ``shared`` (their closest common ancestor)
    "cpv_related": ("offered", "requested", "shared", "similarity"),
    "shared_terms": ("words",),  # the description's words shared, as the query wrote them
    # relevance to the work below the suitable floor (matcher.rank.SUITABLE_FLOOR): shown
    # apart as "mogelijk passend"; lacks: "code" (no specific CPV code of the request),
    # "words" (few of its distinctive words)
    "below_floor": ("relevance", "floor", "lacks"),
    # no Dutch place of work (abroad or not given): distance and region not judged
    "place_not_judged": (),
    "distance": ("km", "radius_km"),  # to the place of work, within the service radius
    "target_group": ("group",),  # works with the target group asked for
    "target_group_counts_as": ("served", "asked"),  # a member of the broader group asked
    "target_group_may_include": ("served", "asked"),  # a broader group than the one asked
    "certified": ("scheme", "level", "valid_until"),  # a valid certificate (level/until: None)
    "staff_share": ("share",),  # >= 30 % of staff from target groups
    # Free capacity per year, purchases and placements named apart (matcher.capacity), and
    # the share of what is due it can carry (placements at the index's placement value).
    "capacity_share": ("free_purchase_eur", "free_placements", "share", "due_eur"),
    "capacity": ("free_purchase_eur", "free_placements"),  # nothing due given
    # An obligation's list: free capacity over its term of ``years`` years, the credit it
    # earns under the obligation's policy (matcher.valuation.credit_rate, as the plan counts
    # it: matcher.plan.Candidate.reach_eur) and the share of what is still due it carries.
    "credit_share": ("free_purchase_eur", "free_placements", "years", "credit_eur", "share",
                     "due_eur"),
    # -- a Challenge's diversified results (matcher/challenge.py) ----------------------
    "themes_covered": ("themes",),
    "different_approach": ("similarity", "closest"),  # to the closest result above it
    # -- a coalition -------------------------------------------------------------------
    # themes covered (>= 50 %) with who covers each, themes partly covered with the
    # share and who, the best single member's coverage when the coalition does better
    "coalition_themes": ("covered", "n_themes", "themes", "themes_by", "partly",
                         "partly_shares", "partly_by", "best_single"),
    "coalition_alike": ("similarity",),  # mean pairwise similarity of the members
    "coalition_cpv": ("divisions",),  # per member, its CPV divisions ("90,98"; "" none)
    "coalition_fit": ("fit",),
    "coalition_budget": ("free_eur", "budget_eur", "share"),
    "coalition_capacity": ("free_eur",),
    # -- a fulfilment plan (matcher/plan.py); the plan parts: euros bought from how many
    # enterprises with what credit, places at how many enterprises with what credit -----
    "plan_nothing_due": (),
    "plan_no_candidates": ("due_eur",),
    "plan_no_options": ("due_eur",),  # nobody can supply what the firm buys or a place
    "plan_met": ("due_eur", "over_eur", "bought_eur", "bought_n", "bought_credit_eur",
                 "placements", "placed_n", "placed_credit_eur", "partners", "fit"),
    # limit: "capacity" (reach_eur: the most credit the candidates yield) | "partners"
    "plan_unmet": ("due_eur", "short_eur", "short_share", "limit", "reach_eur", "bought_eur",
                   "bought_n", "bought_credit_eur", "placements", "placed_n",
                   "placed_credit_eur"),
    "plan_committed": ("done_eur", "total_eur"),  # already committed (api/services/planning)
    # -- hard-constraint exclusions (matcher/constraints.py) ---------------------------
    "not_vetted": ("status",),
    "vetting_expired": ("on",),
    "outside_service_radius": ("km", "radius_km"),
    "outside_clause_region": ("km", "region_km"),
    # Yearly capacity and what is committed of it, purchases and placements apart.
    "no_capacity_left": ("purchase_eur", "placements", "committed_purchase_eur",
                         "committed_placements"),
    "reserved_share_too_low": ("share", "min_share"),  # share None: unknown
}


@dataclass(frozen=True)
class Reason:
    """One reason: a code of ``CODES`` with exactly its parameters."""

    code: str
    params: Mapping[str, Param] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = CODES.get(self.code)
        if names is None:
            raise ValueError(f"unknown reason code {self.code!r}")
        if set(self.params) != set(names):
            raise ValueError(f"reason {self.code!r} takes {names}, got {tuple(self.params)}")

    def __hash__(self) -> int:
        return hash((self.code, repr(sorted(self.params.items()))))

    def as_dict(self) -> dict[str, Any]:
        """``{"code", "params"}`` (lists copied: the caller may change them)."""
        return {"code": self.code,
                "params": {k: list(v) if isinstance(v, list) else v
                           for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        return cls(str(data["code"]), dict(data.get("params") or {}))


def reason(code: str, /, **params: Param) -> Reason:
    return Reason(code, params)


def as_dicts(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in reasons]


def eur(x: float) -> float:
    """Euros as the reasons carry them: to the cent."""
    return round(float(x), 2)
