"""What an obligation is planned against: its policy, what is still due, its term in years
and what every enterprise has already promised elsewhere.

One place for this so the plan (``api.services.planning``) and the obligation's match list
(``api.services.matching``) value the same enterprise the same way: both build the engine's
plan candidates (``matcher.plan.build_candidates``) from these terms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from api.convert import obligation_from_row
from api.services.capacity import Commitments, commitments
from api.services.policies import obligation_policy
from api.services.progress import period_of
from api.tables import ObligationRow, TenderRow
from matcher.capacity import term_years
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

    def candidates(self, matches: Iterable[tuple[Enterprise, float]]) -> list[Candidate]:
        """Plan candidates: capacity over the term, credit under the policy on ``on``."""
        return build_candidates(self.obligation, matches, self.policy, self.on,
                                committed=self.committed.by_enterprise, years=self.years)


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
    return ObligationTerms(ob, policy, round(max(ob.amount_eur - done, 0.0), 2), done,
                           term_years(start, end), c, on)
