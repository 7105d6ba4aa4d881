"""Store rows -> engine records. The one place that knows both shapes."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow
from matcher.model import (
    Capacity,
    Certification,
    Challenge,
    Enterprise,
    Lot,
    Obligation,
    SroiClause,
    Tender,
    Vetting,
)
from matcher.refdata import CpvError, municipalities, normalise_cpv, resolve_municipality


def _date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _centroid(code: str | None) -> tuple[float | None, float | None]:
    muni = municipalities().get(code) if code else None
    return (muni.lat, muni.lon) if muni else (None, None)


def enterprise_from_row(row: EnterpriseRow) -> Enterprise:
    return Enterprise(
        ref=row.ref,
        name=row.name,
        description=row.description or "",
        cpv=tuple(row.cpv or ()),
        lat=float(row.lat),
        lon=float(row.lon),
        municipality=row.municipality_code,
        kvk=row.kvk,
        postcode=row.postcode,
        service_radius_km=float(row.service_radius_km),
        target_groups=tuple(row.target_groups or ()),
        themes=tuple(row.themes or ()),
        capacity=Capacity(
            placements_per_year=int(row.placements_per_year or 0),
            purchasing_eur_per_year=float(row.purchasing_eur_per_year or 0.0),
        ),
        target_group_share=row.target_group_share,
        trade_income_share=row.trade_income_share,
        certifications=tuple(
            Certification(
                scheme=str(c.get("scheme")),
                level=(str(c["level"]) if c.get("level") is not None else None),
                valid_until=_date(c.get("valid_until")),
            )
            for c in (row.certifications or ())
        ),
        vetting=Vetting(
            status=row.vetting_status,
            by=row.vetted_by,
            on=row.vetted_on,
            valid_until=row.vetting_valid_until,
        ),
    )


def clause_from_row(row: TenderRow) -> SroiClause | None:
    if row.sroi_percentage is None and row.sroi_amount_eur is None:
        return None
    return SroiClause(
        percentage=row.sroi_percentage,
        amount_eur=row.sroi_amount_eur,
        basis=row.sroi_basis or "contract_value",
        threshold_eur=row.sroi_threshold_eur,
        cap_eur=row.sroi_cap_eur,
        target_groups=tuple(row.sroi_target_groups or ()),
        region_km=row.sroi_region_km,
        policy=row.sroi_policy,
        reserved=bool(row.reserved),
        labour_cost_eur=row.sroi_labour_cost_eur,
    )


def _lot(d: dict[str, Any], i: int) -> Lot | None:
    """One stored lot (a dict the published-tender importers keep, or an interchange
    ``extra.lots`` entry: ``id``, ``title``, ``cpv``, ``value_eur``, ``municipality``);
    codes that do not normalise are left out (the importers reported them)."""
    codes: list[str] = []
    for c in d.get("cpv") or ():
        try:
            code = normalise_cpv(c)
        except CpvError:
            continue
        if code not in codes:
            codes.append(code)
    value = d.get("value_eur")
    muni = resolve_municipality(str(d["municipality"])) if d.get("municipality") else None
    return Lot(
        id=str(d.get("id") or i + 1), title=str(d.get("title") or ""), cpv=tuple(codes),
        value_eur=float(value) if isinstance(value, int | float) and value > 0 else None,
        municipality=muni.code if muni else None,
        lat=muni.lat if muni else None, lon=muni.lon if muni else None)


def lots_from_row(row: TenderRow) -> tuple[Lot, ...]:
    """The tender's lots as its importer kept them: ``extra["published"]["lots"]``
    (eForms, TED, OCDS), else ``extra["lots"]`` (interchange)."""
    extra = row.extra or {}
    published = extra.get("published")
    raw = (published.get("lots") if isinstance(published, dict) else None) or extra.get("lots")
    if not isinstance(raw, list):
        return ()
    lots = [_lot(d, i) for i, d in enumerate(raw) if isinstance(d, dict)]
    return tuple(lot for lot in lots if lot is not None)


def tender_from_row(row: TenderRow) -> Tender:
    lat, lon = row.lat, row.lon
    if lat is None or lon is None:
        lat, lon = _centroid(row.municipality_code)
    return Tender(
        ref=row.ref,
        buyer=row.buyer,
        title=row.title,
        cpv=tuple(row.cpv or ()),
        description=row.description or "",
        contract_value_eur=row.contract_value_eur,
        start=row.start,
        end=row.end,
        municipality=row.municipality_code,
        lat=lat,
        lon=lon,
        sroi=clause_from_row(row),
        lots=lots_from_row(row),
    )


def challenge_from_row(row: ChallengeRow) -> Challenge:
    lat, lon = _centroid(row.municipality_code)
    return Challenge(
        ref=row.ref,
        municipality=row.municipality_code,
        title=row.title,
        question=row.question or "",
        themes=tuple(row.themes or ()),
        opened_on=row.opened_on,
        deadline=row.deadline,
        budget_eur=row.budget_eur,
        max_partners=int(row.max_partners or 3),
        lat=lat,
        lon=lon,
    )


def obligation_from_row(row: ObligationRow, tender: TenderRow | None = None) -> Obligation:
    """An obligation inherits what it leaves open (amount, place, policy, codes) from its tender."""
    # local: valuation is optional at import
    from matcher.valuation import obligation_due_amount, policy_for

    lat, lon = row.lat, row.lon
    if lat is None or lon is None:
        lat, lon = _centroid(row.municipality_code)
    amount = row.amount_eur
    policy = row.policy
    cpv: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    if tender is not None:
        t = tender_from_row(tender)
        cpv = t.cpv
        if amount is None:
            amount = obligation_due_amount(t)
        policy = policy or (t.sroi.policy if t.sroi else None)
        groups = t.sroi.target_groups if t.sroi else ()
        if lat is None or lon is None:
            lat, lon = t.lat, t.lon
    if not policy:
        # The policy in force for the buyer's region on the contract's start; None when
        # none covers it (the obligation then asks for a policy, never another region's).
        place = (tender.municipality_code if tender is not None else None) or row.municipality_code
        found = policy_for(place, tender.start if tender is not None else None)
        policy = found.name if found is not None else None
    return Obligation(
        ref=row.ref,
        firm=row.firm,
        amount_eur=float(amount or 0.0),
        tender=row.tender_ref,
        due=row.due,
        buys=tuple(row.buys or ()),
        municipality=row.municipality_code,
        lat=lat,
        lon=lon,
        policy=policy,
        cpv=cpv,
        target_groups=groups,
    )
