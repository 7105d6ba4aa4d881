"""JSON CRUD for obligations: /api/v1/obligations. Firms work on their own."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, func, select

from api import access
from api.crud import Resource, build_router
from api.importers.interchange import tender_amount_problem
from api.schemas import ObligationCreate, ObligationIn, ObligationOut, ObligationPatch
from api.serialize import obligation_doc, obligation_out
from api.tables import AllocationRow, DeliveryRow, ObligationRow, TenderRow, User

Denial = tuple[int, str, str | None] | None


def _can_see(session: Session, user: User, row: ObligationRow) -> bool:
    refs = access.officer_tender_refs(session, user) if user.role == "officer" else None
    return access.can_see_obligation(user, row, refs)


def _check_write(session: Session, user: User, values: dict[str, Any],
                 row: ObligationRow | None) -> Denial:
    refs = access.officer_tender_refs(session, user) if user.role == "officer" else None
    denial = access.obligation_write_denial(user, values, row, refs)
    if denial is not None:
        return (403, *denial)
    tref = values.get("tender_ref")
    if tref:
        tender = session.exec(select(TenderRow).where(TenderRow.ref == tref)).first()
        if tender is None:
            # The body is well-formed; what it refers to is missing (as a path's ref).
            return (404, f"Aanbesteding {tref!r} bestaat niet", "tender")
        if values.get("amount_eur") is None:
            problem = tender_amount_problem(tender.model_dump())
            if problem:
                # The stored tender cannot set the amount: a clash with stored state.
                return (409, f"amount_eur ontbreekt en de aanbesteding {problem}", "amount_eur")
    return None


def _check_delete(session: Session, user: User, row: ObligationRow) -> Denial:
    if not access.sees_all(user):
        return (403, "Alleen verbinders en beheerders kunnen verwijderen", None)
    n = session.exec(select(func.count()).select_from(AllocationRow)
                     .where(AllocationRow.obligation_ref == row.ref)).one()
    n += session.exec(select(func.count()).select_from(DeliveryRow)
                      .where(DeliveryRow.obligation_ref == row.ref)).one()
    if n:
        return (409, "Deze verplichting heeft toewijzingen of leveringen; sluit haar af in "
                     "plaats van te verwijderen", "ref")
    return None


resource = Resource(
    kind="obligations", path="/obligations", table=ObligationRow, schema_create=ObligationCreate,
    schema_in=ObligationIn,
    schema_patch=ObligationPatch, schema_out=ObligationOut, label="Verplichting",
    to_interchange=obligation_doc, to_out=obligation_out, visible=access.visible_obligations,
    can_see=_can_see, check_write=_check_write, check_delete=_check_delete,
    search_columns=("ref", "firm"),
)
api_router = build_router(resource)
