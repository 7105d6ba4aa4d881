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

Two views of the same commitments:

* ``by_enterprise`` — per year on average: each row's amount over its obligation's term in
  years (:func:`period_of`, ``matcher.capacity.term_years``); what the pages and the ranking
  show as "committed per year";
* ``by_year`` — per calendar year: each row spread over the calendar years of its
  obligation's term by their share of it (``matcher.capacity.year_shares``; places too, in
  fractions), or what was delivered for that obligation at that enterprise that year when
  that is more (a delivery within a commitment is that commitment being kept, beyond it it
  takes capacity of its own). The plan, the obligation's match list, the allocation, the
  commit and the deliveries check against this (``Commitments.over_term``), so no
  enterprise is booked beyond its capacity in any year.

An accepted match's hold is capped to what its enterprise has left (in each view): a
connector's accept never books capacity that is not there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api.clock import today
from api.convert import tender_from_row
from api.tables import (
    AllocationRow,
    CurationDecision,
    DeliveryRow,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
)
from matcher.capacity import CapacityState, Commitment, term_years, year_shares
from matcher.model import Capacity
from matcher.valuation import obligation_due_amount

COMMITTING_STATUSES = ("committed", "planned")
PARTS = ("purchase", "placement")


def period_of(obligation: ObligationRow, tender: TenderRow | None, today: date | None = None
              ) -> tuple[date, date]:
    """The obligation's period: the tender's contract period, else created → due (a year
    when neither says). The one owner of an obligation's term in dates (``today`` unused,
    kept for callers that pass it)."""
    start = tender.start if tender and tender.start else obligation.created_at.date()
    end = obligation.due or (tender.end if tender and tender.end else None)
    if end is None or end <= start:
        end = start + timedelta(days=365)
    return start, end


def tender_period(tender: TenderRow, on: date) -> tuple[date, date]:
    """A tender's contract period; from ``on`` for a year when its dates are not known."""
    start = tender.start or on
    end = tender.end if tender.end and tender.end > start else start + timedelta(days=365)
    return start, end


_Key = tuple[str, str, str]  # (obligation, enterprise, part)


@dataclass
class Commitments:
    """What is promised: per enterprise ref (on average per year, and per calendar year),
    and the credit committed per obligation."""

    by_enterprise: dict[str, Commitment] = field(default_factory=dict)
    # Credited euros already committed per obligation (status 'committed' only).
    committed_credit: dict[str, float] = field(default_factory=dict)
    # Per enterprise, per calendar year: booked purchase euros and places (see the module).
    by_year: dict[str, dict[int, Commitment]] = field(default_factory=dict)

    def over_term(self, ref: str, capacity: Capacity, shares: Mapping[int, float],
                  years: float) -> CapacityState:
        """Enterprise ``ref``'s state over a term of ``years`` whose calendar years carry
        ``shares`` of it: what fits in every one of those years."""
        return CapacityState.over_years(capacity, self.by_year.get(ref, {}), shares, years)


def _add(target: dict[int, float], amounts: Mapping[int, float]) -> None:
    for year, amount in amounts.items():
        target[year] = target.get(year, 0.0) + amount


def commitments(
    session: Session,
    *,
    replanning: Iterable[str] = (),
    statuses: Iterable[str] = COMMITTING_STATUSES,
    excluding_tenders: Iterable[str] = (),
    leaving_out: Iterable[str] = (),
    holds: bool = True,
) -> Commitments:
    """All commitments; ``planned`` rows of the obligations in ``replanning`` are left out
    (they are about to be replaced), their ``committed`` rows stay. Accepted-match shares
    of the tenders in ``excluding_tenders`` are left out too (a tender's own match list
    must not count its own accepts against the enterprises it is ranking); ``holds=False``
    leaves out every accepted-match share. The obligations in ``leaving_out`` count for
    nothing in ``by_year`` (neither rows nor deliveries): a caller checking one obligation
    against everything else."""
    replan = set(replanning)
    skip_tenders = set(excluding_tenders)
    left_out = set(leaving_out)
    wanted = set(statuses)
    on = today()
    ob_rows = session.exec(select(ObligationRow)).all()
    open_refs = {r.ref for r in ob_rows if r.status == "open"}
    tenders_of: dict[str, list[str]] = defaultdict(list)  # tender -> obligation statuses
    tender_of_ob: dict[str, str] = {}
    for r in ob_rows:
        if r.tender_ref:
            tenders_of[r.tender_ref].append(r.status)
            tender_of_ob[r.ref] = r.tender_ref
    tenders = {t.ref: t for t in session.exec(
        select(TenderRow).where(col(TenderRow.ref).in_(sorted(set(tender_of_ob.values())))))}
    periods = {r.ref: period_of(r, tenders.get(r.tender_ref or "")) for r in ob_rows}

    out = Commitments()
    rate: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(PARTS, 0.0))
    credit: dict[str, float] = defaultdict(float)
    rows_y: dict[_Key, dict[int, float]] = defaultdict(dict)
    tenders_with_allocation: set[str] = set()
    for a in session.exec(select(AllocationRow)).all():
        tref = tender_of_ob.get(a.obligation_ref)
        if tref:
            tenders_with_allocation.add(tref)
        if a.obligation_ref not in open_refs or a.status not in wanted:
            continue
        if a.status == "planned" and a.obligation_ref in replan:
            continue
        part = "placement" if a.kind == "placement" else "purchase"
        units = float(a.placements or 0) if part == "placement" else float(a.amount_eur or 0.0)
        start, end = periods[a.obligation_ref]
        rate[a.enterprise_ref][part] += units / term_years(start, end)
        if a.obligation_ref not in left_out:
            _add(rows_y[(a.obligation_ref, a.enterprise_ref, part)],
                 {y: units * f for y, f in year_shares(start, end).items()})
        if a.status == "committed":
            credit[a.obligation_ref] += float(a.credit_eur or 0.0)

    delivered_y: dict[_Key, dict[int, float]] = defaultdict(dict)
    for d in session.exec(select(DeliveryRow)).all():
        if d.obligation_ref in left_out:
            continue
        part = "placement" if d.part == "placement" else "purchase"
        units = ((-1.0 if d.kind == "reversal" else 1.0) if part == "placement"
                 else float(d.amount_eur or 0.0))
        _add(delivered_y[(d.obligation_ref, d.enterprise_ref, part)], {d.on.year: units})

    booked: dict[str, dict[int, dict[str, float]]] = defaultdict(
        lambda: defaultdict(lambda: dict.fromkeys(PARTS, 0.0)))
    for key in set(rows_y) | set(delivered_y):
        _, ent, part = key
        planned, done = rows_y.get(key, {}), delivered_y.get(key, {})
        for year in set(planned) | set(done):
            booked[ent][year][part] += max(planned.get(year, 0.0), done.get(year, 0.0), 0.0)

    # Latest decision per (tender, enterprise): later rows overwrite earlier ones.
    latest: dict[tuple[str, str], str] = {}
    for dec in session.exec(
        select(CurationDecision)
        .where(CurationDecision.query_kind == "tender")
        .order_by(col(CurationDecision.decided_at), col(CurationDecision.id))
    ).all():
        latest[(dec.query_ref, dec.enterprise_ref)] = dec.decision
    accepted: dict[str, list[str]] = defaultdict(list)
    for (tref, eref), decision in latest.items():
        if decision == "accept":
            accepted[tref].append(eref)
    pending = sorted(
        t for t in accepted
        if holds and t not in tenders_with_allocation and t not in skip_tenders
        and (t not in tenders_of or any(s == "open" for s in tenders_of[t]))
    )
    if pending:
        held = {eref for t in pending for eref in accepted[t]}
        caps = {ref: float(eur or 0.0) for ref, eur in session.exec(
            select(EnterpriseRow.ref, EnterpriseRow.purchasing_eur_per_year)
            .where(col(EnterpriseRow.ref).in_(sorted(held)))).all()}
        for trow in session.exec(select(TenderRow).where(col(TenderRow.ref).in_(pending))
                                 .order_by(col(TenderRow.ref))).all():
            # Capacity held back for an accepted match is the size of the demand, known
            # before a policy is chosen (nothing is credited from it).
            due = obligation_due_amount(tender_from_row(trow), require_policy=False)
            if due <= 0:
                continue
            share = due / len(accepted[trow.ref])
            start, end = tender_period(trow, on)
            years = term_years(start, end)
            for eref in sorted(accepted[trow.ref]):
                cap = caps.get(eref, 0.0)
                # Never more than is left: an accept promises what is there, no more.
                avg = rate[eref]
                avg["purchase"] += min(share / years, max(0.0, cap - avg["purchase"]))
                for year, f in year_shares(start, end).items():
                    b = booked[eref][year]
                    b["purchase"] += min(share * f, max(0.0, cap - b["purchase"]))

    out.by_enterprise = {ref: Commitment(r["purchase"], r["placement"])
                         for ref, r in sorted(rate.items())
                         if r["purchase"] > 0 or r["placement"] > 0}
    out.by_year = {ref: {y: Commitment(b["purchase"], b["placement"])
                         for y, b in sorted(years_.items())}
                   for ref, years_ in sorted(booked.items())}
    out.committed_credit = dict(credit)
    return out


def capacity_states(
    session: Session,
    refs: Iterable[str] | None = None,
    *,
    committed: Commitments | None = None,
    **options: Any,
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


def delivered_state(session: Session, ent: EnterpriseRow, year: int,
                    obligation_ref: str) -> CapacityState:
    """``ent``'s capacity in ``year`` for one more delivery on ``obligation_ref``: committed
    is what every other obligation has booked at it that year (committed rows spread over
    their terms, or their deliveries when more; ``Commitments.by_year``) plus what was
    already delivered on ``obligation_ref`` there that year (net of reversals). A delivery
    within what the obligation committed is always within it; beyond, only as far as the
    enterprise has room."""
    others = commitments(session, statuses=("committed",), leaving_out=[obligation_ref],
                         holds=False).by_year.get(ent.ref, {}).get(year, Commitment())
    rows = session.exec(
        select(DeliveryRow.part, DeliveryRow.kind, DeliveryRow.amount_eur)
        .where(DeliveryRow.enterprise_ref == ent.ref,
               DeliveryRow.obligation_ref == obligation_ref,
               col(DeliveryRow.on) >= date(year, 1, 1), col(DeliveryRow.on) <= date(year, 12, 31))
    ).all()
    purchase = sum(float(amount or 0.0) for part, _, amount in rows if part == "purchase")
    places = sum((-1 if kind == "reversal" else 1) for part, kind, _ in rows
                 if part == "placement")
    return CapacityState.of(Capacity(int(ent.placements_per_year or 0),
                                     float(ent.purchasing_eur_per_year or 0.0)),
                            others + Commitment(max(0.0, purchase), max(0, places)))
