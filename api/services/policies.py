"""Which valuation policy a tender or obligation is valued with, on the store's side.

The engine chooses (``matcher.valuation.policy_for``: the policy in force on the contract's
start for the buyer's region; ``clause_policy``: the clause's own choice first). This
module turns "none applies" into the one domain error every route and command shows — the
officer must choose a policy — and lists the policies for the forms. There is no default:
a tender outside every policy's region is never valued with another region's table.
"""

from __future__ import annotations

from datetime import date

from api.errors import Invalid, InvalidState
from api.i18n import N_
from matcher.model import Obligation, Tender
from matcher.valuation import (
    Policy,
    PolicyError,
    list_policies,
    load_policy,
    policy_for,
    tender_policy,
)

# Shown on the tender form, the obligation pages, the API and the CLI alike.
NO_POLICY = "Geen beleid van toepassing in deze regio; kies er een"
NO_POLICY_SENTENCE = N_("Geen beleid van toepassing in deze regio; kies er een.")


def no_policy_error(ref: str | None = None) -> Invalid:
    # The stored obligation's state (its region and date), not the request: 409 in the API.
    if ref:
        # Written out (not joined from NO_POLICY) so the catalog extraction finds it.
        return InvalidState("policy", "{ref}: Geen beleid van toepassing in deze regio; kies "
                            "er een.", ref=ref)
    return InvalidState("policy", NO_POLICY_SENTENCE)


def obligation_policy(ob: Obligation) -> Policy:
    """The policy ``ob`` is valued with (resolved by ``api.convert.obligation_from_row``);
    Invalid when none applies or the named one is unknown."""
    if not ob.policy:
        raise no_policy_error(ob.ref)
    try:
        return load_policy(ob.policy)
    except PolicyError as exc:
        raise Invalid("policy", "{ref}: {error}", ref=ob.ref, error=str(exc)) from None


def applicable_policy(tender: Tender) -> Policy | None:
    """The tender's own policy, else the one in force for its region on its start."""
    try:
        return tender_policy(tender)
    except PolicyError:
        return None


def regional_policy(place: str | None, on: date | None) -> Policy | None:
    """The policy in force for ``place`` on ``on`` (None: the officer must choose)."""
    return policy_for(place, on)


def policy_options() -> list[tuple[str, str]]:
    """(name, label) of every shipped policy, for the forms' select."""
    return [(p, load_policy(p).label) for p in list_policies()]
