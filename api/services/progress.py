"""A firm's progress on an obligation: deliveries and the planned-vs-delivered series.

A delivery is a purchase (an invoice paid to a social enterprise, credited at the
policy's share for that enterprise's certificates on that date) or a placement
(a person placed there, credited by building block, hours and months). The
credit is computed here with ``matcher.valuation`` — never typed by the firm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api.convert import enterprise_from_row, obligation_from_row
from api.errors import Invalid, NotFound
from api.tables import AllocationRow, DeliveryRow, EnterpriseRow, ObligationRow, TenderRow
from matcher.valuation import (
    PolicyError,
    credit_for_placement,
    credit_for_purchase,
    load_policy,
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


def tender_of(session: Session, row: ObligationRow) -> TenderRow | None:
    if not row.tender_ref:
        return None
    return session.exec(select(TenderRow).where(TenderRow.ref == row.tender_ref)).first()


def record_delivery(
    session: Session, obligation: ObligationRow, data: DeliveryInput, today: date
) -> DeliveryRow:
    """Validate, compute the credit, append the delivery, commit."""
    if data.kind not in DELIVERY_KINDS:
        raise Invalid("kind", "Kies inkoop of plaatsing.")
    if data.on > today:
        raise Invalid("on", "Een levering kan niet in de toekomst liggen.")
    if data.on < today - timedelta(days=10 * 366):
        raise Invalid("on", "Deze datum ligt te ver terug.")
    ent = session.exec(
        select(EnterpriseRow).where(EnterpriseRow.ref == data.enterprise_ref)
    ).first()
    if ent is None:
        raise Invalid("enterprise_ref", "Kies een onderneming.")
    tender = tender_of(session, obligation)
    ob = obligation_from_row(obligation, tender)
    try:
        policy = load_policy(ob.policy)
    except PolicyError:
        policy = load_policy(None)
    note = data.note.strip()[:1000]
    if data.kind == "purchase":
        if data.amount_eur <= 0:
            raise Invalid("amount_eur", "Vul het factuurbedrag (excl. btw) in.")
        if data.amount_eur > 1e9:
            raise Invalid("amount_eur", "Dit bedrag is onwaarschijnlijk groot.")
        credit = credit_for_purchase(policy, data.amount_eur, enterprise_from_row(ent), data.on)
        amount = data.amount_eur
    else:
        if not data.block or data.block not in policy.blocks:
            raise Invalid("block", "Kies een bouwblok uit de waarderingstabel.")
        if not 0 < data.hours_per_week <= 60:
            raise Invalid("hours_per_week", "Vul het aantal uren per week in (1 tot 60).")
        if not 0 < data.months <= 60:
            raise Invalid("months", "Vul het aantal maanden in (1 tot 60).")
        credit = credit_for_placement(policy, data.block, data.hours_per_week, data.months)
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
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


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


def period_of(obligation: ObligationRow, tender: TenderRow | None, today: date
              ) -> tuple[date, date]:
    """The obligation's period: the tender's contract period, else created → due."""
    start = tender.start if tender and tender.start else obligation.created_at.date()
    end = obligation.due or (tender.end if tender and tender.end else None)
    if end is None or end <= start:
        end = start + timedelta(days=365)
    return start, end


def get_obligation(session: Session, ref: str) -> ObligationRow:
    row = session.exec(select(ObligationRow).where(ObligationRow.ref == ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende verplichting.")
    return row
