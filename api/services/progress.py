"""A firm's progress on an obligation: deliveries and the planned-vs-delivered series.

A delivery is a purchase (an invoice paid to a social enterprise, credited at the
policy's share for that enterprise's certificates on that date) or a placement
(a person placed there, credited by building block, hours and months). The
credit is computed here with ``matcher.valuation`` — never typed by the firm.

A delivery is accepted only when it can be true: an enterprise of the plan or its
commitments (or one marked unplanned, with a reason), a date inside the contract term and
the policy's validity, an enterprise vetted on that date, and an amount within what the
enterprise can still deliver that year beside what other obligations booked there
(``api.services.capacity.delivered_state``). The
table is append-only: a wrong delivery is corrected by a reversal row carrying its
amounts negated, so every sum over the table is the net amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api.convert import enterprise_from_row, obligation_from_row
from api.errors import Conflict, Invalid, InvalidState, NotFound
from api.services.capacity import delivered_state, period_of
from api.services.policies import obligation_policy
from api.services.vetting_flow import vetted_on
from api.tables import AllocationRow, DeliveryRow, EnterpriseRow, ObligationRow, TenderRow
from matcher.valuation import (
    Policy,
    credit_for,
)

DELIVERY_KINDS = ("purchase", "placement")


@dataclass(frozen=True)
class DeliveryInput:
    enterprise_ref: str
    on: date
    kind: str = "purchase"
    amount_eur: float = 0.0  # purchase: invoice excl. VAT
    block: str | None = None  # placement: building block key
    hours_per_week: float = 0.0
    months: float = 0.0
    note: str = ""
    unplanned: bool = False  # neither planned nor committed: needs unplanned_reason
    unplanned_reason: str = ""


def tender_of(session: Session, row: ObligationRow) -> TenderRow | None:
    if not row.tender_ref:
        return None
    return session.exec(select(TenderRow).where(TenderRow.ref == row.tender_ref)).first()


def _check_planned(session: Session, obligation: ObligationRow, ent_ref: str,
                   data: DeliveryInput) -> str:
    """The unplanned reason ('' for a planned enterprise); raises Invalid otherwise."""
    planned = session.exec(select(AllocationRow.id).where(
        AllocationRow.obligation_ref == obligation.ref,
        AllocationRow.enterprise_ref == ent_ref)).first()
    if planned is not None:
        return ""
    if not data.unplanned:
        raise InvalidState("enterprise_ref", "Deze onderneming staat niet in het plan of de "
                                        "toezeggingen; meld de levering als ongepland, met "
                                        "een reden.")
    reason = data.unplanned_reason.strip()[:1000]
    if not reason:
        raise Invalid("unplanned_reason", "Geef de reden van deze ongeplande levering.")
    return reason


def _check_date(obligation: ObligationRow, tender: TenderRow | None, policy: Policy,
                on: date, today: date) -> None:
    start, end = period_of(obligation, tender, today)
    if not start <= on <= end:
        raise InvalidState("on", "De datum ligt buiten de looptijd van het contract ({start} tot "
                            "en met {end}).", start=start, end=end)
    if not policy.is_valid(on):
        # Dates stay dates: the boundary writes them for the reader (api.messages).
        until: date | str = policy.valid_until or "–"
        raise InvalidState("on", "De datum ligt buiten de geldigheid van waarderingstabel {policy} "
                            "({start} tot en met {end}).", policy=policy.name,
                      start=policy.valid_from, end=until)


def record_delivery(
    session: Session, obligation: ObligationRow, data: DeliveryInput, today: date,
    recorded_by: str = "",
) -> DeliveryRow:
    """Validate, compute the credit, append the delivery, commit.

    Invalid (422) is what the request gets wrong by itself; a rule that depends on what is
    stored or on the date today (the plan, the contract's term, the policy's validity, the
    vetting, the capacity left) is InvalidState (409 in the API), an unknown enterprise
    NotFound."""
    if data.kind not in DELIVERY_KINDS:
        raise Invalid("kind", "Kies inkoop of plaatsing.")
    if data.on > today:
        raise InvalidState("on", "Een levering kan niet in de toekomst liggen.")
    if data.on < today - timedelta(days=10 * 366):
        raise InvalidState("on", "Deze datum ligt te ver terug.")
    if not data.enterprise_ref.strip():
        raise Invalid("enterprise_ref", "Kies een onderneming.")
    ent = session.exec(
        select(EnterpriseRow).where(EnterpriseRow.ref == data.enterprise_ref)
    ).first()
    if ent is None:
        raise NotFound("enterprise_ref", "Onderneming {ref} bestaat niet.",
                       ref=data.enterprise_ref)
    tender = tender_of(session, obligation)
    ob = obligation_from_row(obligation, tender)
    policy = obligation_policy(ob)
    unplanned_reason = _check_planned(session, obligation, ent.ref, data)
    _check_date(obligation, tender, policy, data.on, today)
    if not vetted_on(session, ent, data.on):
        raise InvalidState("enterprise_ref", "{name} was op {on} niet (geldig) gescreend.",
                      name=ent.name, on=data.on)
    note = data.note.strip()[:1000]
    if data.kind == "purchase":
        if data.amount_eur <= 0:
            raise Invalid("amount_eur", "Vul het factuurbedrag (excl. btw) in.")
        if data.amount_eur > 1e9:
            raise Invalid("amount_eur", "Dit bedrag is onwaarschijnlijk groot.")
        free = delivered_state(session, ent, data.on.year, obligation.ref).free_purchase_eur
        if data.amount_eur > free + 0.005:
            raise InvalidState("amount_eur", "Meer dan de inkoopcapaciteit die {name} in "
                                             "{year} nog heeft ({free_eur}).", name=ent.name,
                               year=data.on.year, free_eur=round(free, 2))
        credit = credit_for(policy, "purchase", data.on, amount_eur=data.amount_eur,
                            enterprise=enterprise_from_row(ent))
        amount = data.amount_eur
    else:
        if not data.block:
            raise Invalid("block", "Kies een bouwblok uit de waarderingstabel.")
        if data.block not in policy.blocks:
            raise InvalidState("block", "Bouwblok {block} staat niet in waarderingstabel "
                                        "{policy}.", block=data.block, policy=policy.name)
        if not 0 < data.hours_per_week <= 60:
            raise Invalid("hours_per_week", "Vul het aantal uren per week in (1 tot 60).")
        if not 0 < data.months <= 60:
            raise Invalid("months", "Vul het aantal maanden in (1 tot 60).")
        if delivered_state(session, ent, data.on.year, obligation.ref).free_placements < 1:
            raise InvalidState("enterprise_ref", "{name} heeft in {year} geen vrije plaatsingen "
                                            "meer.", name=ent.name, year=data.on.year)
        credit = credit_for(policy, "placement", data.on, placements=1, block=data.block,
                            hours_per_week=data.hours_per_week, months=data.months)
        amount = 0.0
        block = policy.block(data.block)
        detail = f"{block.label_nl}: {data.hours_per_week:g} u/week × {data.months:g} mnd"
        note = f"{detail}. {note}" if note else detail
    row = DeliveryRow(
        obligation_ref=obligation.ref,
        enterprise_ref=ent.ref,
        on=data.on,
        amount_eur=round(amount, 2),
        credit_eur=round(credit, 2),
        note=note,
        part=data.kind,
        unplanned=bool(unplanned_reason),
        reason=unplanned_reason,
        recorded_by=recorded_by,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def reverse_delivery(session: Session, obligation: ObligationRow, delivery_id: int,
                     reason: str, recorded_by: str) -> DeliveryRow:
    """Append the reversal of delivery ``delivery_id`` (its amounts negated), commit.
    A delivery is reversed at most once; a reversal is never reversed."""
    original = session.exec(select(DeliveryRow).where(
        DeliveryRow.id == delivery_id, DeliveryRow.obligation_ref == obligation.ref)).first()
    if original is None or original.kind != "delivery":
        raise NotFound("delivery_id", "Onbekende levering.")
    why = reason.strip()[:1000]
    if not why:
        raise Invalid("reason", "Geef de reden van de correctie.")
    done = session.exec(select(DeliveryRow.id).where(
        DeliveryRow.reverses_id == original.id)).first()
    if done is not None:
        raise Conflict("reason", "Deze levering is al gecorrigeerd.")
    row = DeliveryRow(
        obligation_ref=original.obligation_ref, enterprise_ref=original.enterprise_ref,
        on=original.on, amount_eur=-original.amount_eur, credit_eur=-original.credit_eur,
        note=original.note, kind="reversal", part=original.part, reverses_id=original.id,
        reason=why, recorded_by=recorded_by)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def reversed_ids(rows: list[DeliveryRow]) -> set[int]:
    """Ids of the deliveries among ``rows``' reversals' targets (shown as corrected)."""
    return {r.reverses_id for r in rows if r.reverses_id is not None}


def deliveries(session: Session, obligation_ref: str) -> list[DeliveryRow]:
    return list(session.exec(
        select(DeliveryRow).where(DeliveryRow.obligation_ref == obligation_ref)
        .order_by(col(DeliveryRow.on), col(DeliveryRow.id))
    ).all())


def allocations(session: Session, obligation_ref: str) -> list[AllocationRow]:
    return list(session.exec(
        select(AllocationRow).where(AllocationRow.obligation_ref == obligation_ref)
        .order_by(col(AllocationRow.credit_eur).desc(), col(AllocationRow.enterprise_ref))
    ).all())


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _add_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


@dataclass(frozen=True)
class ProgressSeries:
    months: list[str]  # "2026-01"
    planned: list[float]  # cumulative planned credit by the end of each month
    delivered: list[float | None]  # cumulative delivered credit; None after today
    planned_total: float
    delivered_total: float
    due_eur: float
    start: date
    end: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "months": self.months,
            "planned": self.planned,
            "delivered": self.delivered,
            "planned_total": self.planned_total,
            "delivered_total": self.delivered_total,
            "due_eur": self.due_eur,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def series(
    planned_total: float,
    due_eur: float,
    delivered: list[DeliveryRow],
    start: date,
    end: date,
    today: date,
    max_months: int = 60,
) -> ProgressSeries:
    """Monthly cumulative credit: planned (linear from start to end) vs delivered.

    The plan is assumed to be delivered evenly over the period — the usual agreement
    with the region's coordinator — so a firm sees early whether it is behind.
    """
    first = min([start, *(d.on for d in delivered)])
    last = max([end, *(d.on for d in delivered)])
    m = _month_start(first)
    months: list[date] = []
    while m <= last and len(months) < max_months:
        months.append(m)
        m = _add_month(m)
    span = max(1, (end - start).days)
    planned: list[float] = []
    done: list[float | None] = []
    total = 0.0
    by_month: dict[date, float] = {}
    for d in delivered:
        key = _month_start(d.on)
        by_month[key] = by_month.get(key, 0.0) + d.credit_eur
    for mo in months:
        month_end = _add_month(mo) - timedelta(days=1)
        share = min(1.0, max(0.0, (month_end - start).days / span))
        planned.append(round(planned_total * share, 2))
        total += by_month.get(mo, 0.0)
        done.append(round(total, 2) if mo <= today else None)
    return ProgressSeries(
        months=[f"{mo.year}-{mo.month:02d}" for mo in months],
        planned=planned,
        delivered=done,
        planned_total=round(planned_total, 2),
        delivered_total=round(sum(d.credit_eur for d in delivered), 2),
        due_eur=round(due_eur, 2),
        start=start,
        end=end,
    )


def get_obligation(session: Session, ref: str) -> ObligationRow:
    row = session.exec(select(ObligationRow).where(ObligationRow.ref == ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende verplichting.")
    return row
