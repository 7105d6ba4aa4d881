"""What each enterprise has already promised: the store's side of capacity.

The arithmetic (free = capacity − committed, per part, over a term, in euros) belongs to
the engine's ``matcher.capacity``; this module only reads and sums rows, and returns the
engine's objects: :func:`commitments` (``Commitment`` per enterprise) and
:func:`capacity_states` (``CapacityState`` per enterprise, what every page shows).

Two sources of commitment:

* saved allocations (``AllocationRow``) with status ``committed`` or ``planned`` for
  obligations that are still ``open`` — a purchase's ``amount_eur`` against purchasing
  capacity, a placement's ``placements`` against placement capacity;
* accepted tender matches: the latest ``CurationDecision`` per
  (``tender``, tender ref, enterprise ref) with decision ``accept``. Until an allocation
  exists for that tender (for any obligation under it), each accepted enterprise carries
  the tender's due amount split evenly among the accepted enterprises, against purchasing
  capacity (its kind is not known yet; counting it against euros is the cautious choice)
  — a connector's accept is a promise even before the firm's plan is saved.

A tender whose obligations are all closed carries nothing: its work is done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from api.convert import tender_from_row
from api.tables import (
    AllocationRow,
    CurationDecision,
    DeliveryRow,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
)
from matcher.capacity import CapacityState, Commitment
from matcher.model import Capacity
from matcher.valuation import obligation_due_amount

COMMITTING_STATUSES = ("committed", "planned")


@dataclass
class Commitments:
    """What is promised: per enterprise ref, and the credit committed per obligation."""

    by_enterprise: dict[str, Commitment] = field(default_factory=dict)
    # Credited euros already committed per obligation (status 'committed' only).
    committed_credit: dict[str, float] = field(default_factory=dict)


def commitments(
    session: Session,
    *,
    replanning: Iterable[str] = (),
    statuses: Iterable[str] = COMMITTING_STATUSES,
    excluding_tenders: Iterable[str] = (),
) -> Commitments:
    """All commitments; ``planned`` rows of the obligations in ``replanning`` are left out
    (they are about to be replaced), their ``committed`` rows stay. Accepted-match shares
    of the tenders in ``excluding_tenders`` are left out too (a tender's own match list
    must not count its own accepts against the enterprises it is ranking)."""
    replan = set(replanning)
    skip_tenders = set(excluding_tenders)
    wanted = set(statuses)
    ob_rows = session.exec(select(ObligationRow.ref, ObligationRow.tender_ref,
                                  ObligationRow.status)).all()
    open_refs = {ref for ref, _, status in ob_rows if status == "open"}
    tenders_of: dict[str, list[str]] = defaultdict(list)  # tender -> obligation statuses
    tender_of_ob: dict[str, str] = {}
    for ref, tref, status in ob_rows:
        if tref:
            tenders_of[tref].append(status)
            tender_of_ob[ref] = tref

    out = Commitments()
    purchase: dict[str, float] = defaultdict(float)
    places: dict[str, int] = defaultdict(int)
    credit: dict[str, float] = defaultdict(float)
    tenders_with_allocation: set[str] = set()
    for a in session.exec(select(AllocationRow)).all():
        tref = tender_of_ob.get(a.obligation_ref)
        if tref:
            tenders_with_allocation.add(tref)
        if a.obligation_ref not in open_refs or a.status not in wanted:
            continue
        if a.status == "planned" and a.obligation_ref in replan:
            continue
        if a.kind == "placement":
            places[a.enterprise_ref] += int(a.placements or 0)
        else:
            purchase[a.enterprise_ref] += float(a.amount_eur or 0.0)
        if a.status == "committed":
            credit[a.obligation_ref] += float(a.credit_eur or 0.0)

    # Latest decision per (tender, enterprise): later rows overwrite earlier ones.
    latest: dict[tuple[str, str], str] = {}
    for d in session.exec(
        select(CurationDecision)
        .where(CurationDecision.query_kind == "tender")
        .order_by(col(CurationDecision.decided_at), col(CurationDecision.id))
    ).all():
        latest[(d.query_ref, d.enterprise_ref)] = d.decision
    accepted: dict[str, list[str]] = defaultdict(list)
    for (tref, eref), decision in latest.items():
        if decision == "accept":
            accepted[tref].append(eref)
    pending = [
        t for t in accepted
        if t not in tenders_with_allocation and t not in skip_tenders
        and (t not in tenders_of or any(s == "open" for s in tenders_of[t]))
    ]
    if pending:
        for trow in session.exec(select(TenderRow).where(col(TenderRow.ref).in_(pending))).all():
            # Capacity held back for an accepted match is the size of the demand, known
            # before a policy is chosen (nothing is credited from it).
            due = obligation_due_amount(tender_from_row(trow), require_policy=False)
            if due <= 0:
                continue
            share = due / len(accepted[trow.ref])
            for eref in accepted[trow.ref]:
                purchase[eref] += share

    out.by_enterprise = {ref: Commitment(purchase.get(ref, 0.0), places.get(ref, 0))
                         for ref in sorted(set(purchase) | set(places))}
    out.committed_credit = dict(credit)
    return out


def capacity_states(
    session: Session,
    refs: Iterable[str] | None = None,
    *,
    committed: Commitments | None = None,
    **options: Iterable[str],
) -> dict[str, CapacityState]:
    """Each enterprise's yearly ``CapacityState`` (its capacity with what it has promised),
    by ref: every enterprise, or those in ``refs``. ``committed`` (else read here, with
    ``options`` passed to :func:`commitments`) lets a caller reuse what it has read."""
    c = committed if committed is not None else commitments(session, **options)
    stmt = select(EnterpriseRow.ref, EnterpriseRow.purchasing_eur_per_year,
                  EnterpriseRow.placements_per_year)
    if refs is not None:
        stmt = stmt.where(col(EnterpriseRow.ref).in_(list(refs)))
    return {
        ref: CapacityState.of(Capacity(int(places or 0), float(eur or 0.0)),
                              c.by_enterprise.get(ref))
        for ref, eur, places in session.exec(stmt).all()
    }


def delivered_state(session: Session, ent: EnterpriseRow, year: int) -> CapacityState:
    """``ent``'s capacity in ``year`` with what was actually delivered that year (net of
    reversals, over every obligation) as its commitment: purchases against its purchasing
    euros, placement deliveries against its placements."""
    rows = session.exec(
        select(DeliveryRow.part, DeliveryRow.kind, DeliveryRow.amount_eur)
        .where(DeliveryRow.enterprise_ref == ent.ref,
               col(DeliveryRow.on) >= date(year, 1, 1), col(DeliveryRow.on) <= date(year, 12, 31))
    ).all()
    purchase = sum(float(amount or 0.0) for part, _, amount in rows if part == "purchase")
    places = sum((-1 if kind == "reversal" else 1) for part, kind, _ in rows
                 if part == "placement")
    return CapacityState.of(Capacity(int(ent.placements_per_year or 0),
                                     float(ent.purchasing_eur_per_year or 0.0)),
                            Commitment(purchase, max(0, places)))
