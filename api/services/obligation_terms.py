"""What an obligation is planned against: its policy, what is still due, its term in years
and what every enterprise has already promised elsewhere.

One place for this so the plan (``api.services.planning``) and the obligation's match list
(``api.services.matching``) value the same enterprise the same way: both build the engine's
plan candidates (``matcher.plan.build_candidates``) from these terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from sqlmodel import Session, select

from api.convert import obligation_from_row
from api.services.capacity import Commitments, commitments, period_of
from api.services.policies import obligation_policy
from api.tables import AllocationRow, ObligationRow, TenderRow
from matcher.capacity import term_years, year_shares
from matcher.model import Enterprise, Obligation
from matcher.plan import Candidate, build_candidates
from matcher.valuation import Policy


@dataclass(frozen=True)
class ObligationTerms:
    obligation: Obligation
    policy: Policy
    due_eur: float  # still due: the amount minus the credit of its committed rows
    done_eur: float  # credit of its committed rows
    years: float  # its contract term (matcher.capacity.term_years)
    committed: Commitments  # its own planned rows left out: a new plan replaces them
    on: date
    shares: dict[int, float]  # its term's share per calendar year (year_shares)
    # (enterprise, kind) it has committed: changed only by uncommitting, never re-planned
    committed_keys: frozenset[tuple[str, str]] = frozenset()

    def candidates(self, matches: Iterable[tuple[Enterprise, float]]) -> list[Candidate]:
        """Plan candidates: capacity over the term (what fits in each of its calendar
        years beside what is booked there), credit under the policy on ``on``."""
        cands = build_candidates(self.obligation, matches, self.policy, self.on,
                                 committed=self.committed.by_enterprise, years=self.years,
                                 booked=self.committed.by_year, shares=self.shares)
        # A kind already committed at an enterprise is not offered again: a saved plan
        # could not hold both rows (planning.save_plan refuses it).
        return [replace(c, capacity_eur=0.0 if (c.enterprise, "purchase") in self.committed_keys
                        else c.capacity_eur,
                        capacity_placements=0 if (c.enterprise, "placement") in
                        self.committed_keys else c.capacity_placements) for c in cands]


def obligation_terms(session: Session, row: ObligationRow, on: date) -> ObligationTerms:
    """The terms of ``row`` on ``on``. Raises ``api.errors.Invalid`` (field ``policy``) when
    no policy applies or the named one is unknown."""
    tender = None
    if row.tender_ref:
        tender = session.exec(select(TenderRow).where(TenderRow.ref == row.tender_ref)).first()
    ob = obligation_from_row(row, tender)
    policy = obligation_policy(ob)  # no silent default: Invalid when none applies
    c = commitments(session, replanning=[row.ref])
    done = c.committed_credit.get(row.ref, 0.0)
    start, end = period_of(row, tender, on)
    keys = frozenset((a.enterprise_ref, a.kind) for a in session.exec(
        select(AllocationRow).where(AllocationRow.obligation_ref == row.ref,
                                    AllocationRow.status == "committed")))
    return ObligationTerms(ob, policy, round(max(ob.amount_eur - done, 0.0), 2), done,
                           term_years(start, end), c, on, year_shares(start, end), keys)
