"""JSON CRUD for tenders: /api/v1/tenders. Officers work on their own buyer's tenders."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, func, select

from api import access
from api.crud import Resource, build_router
from api.schemas import TenderCreate, TenderIn, TenderOut, TenderPatch
from api.serialize import tender_doc, tender_out
from api.tables import ObligationRow, TenderRow, User

Denial = tuple[int, str, str | None] | None


def _can_see(session: Session, user: User, row: TenderRow) -> bool:
    refs = access.firm_tender_refs(session, user) if user.role == "firm" else None
    return access.can_see_tender(user, row, refs)


def _check_write(session: Session, user: User, values: dict[str, Any],
                 row: TenderRow | None) -> Denial:
    if access.sees_all(user):
        return None
    if user.role == "officer":
        org = (user.organisation or "").strip()
        if values.get("buyer") != org:
            return (403, f"U kunt alleen aanbestedingen van {org} invoeren of wijzigen", "buyer")
        return None
    return (403, "Alleen inkopers en verbinders kunnen aanbestedingen wijzigen", None)


def _check_delete(session: Session, user: User, row: TenderRow) -> Denial:
    # As on the tender page: an officer may delete its own organisation's tenders.
    if not access.can_edit_tender(user, row):
        return (403, "Alleen de eigen inkoper, verbinders en beheerders kunnen verwijderen",
                None)
    n = session.exec(select(func.count()).select_from(ObligationRow)
                     .where(ObligationRow.tender_ref == row.ref)).one()
    if n:
        return (409, f"Er hangen nog {n} verplichting(en) aan deze aanbesteding; verwijder of "
                     "verplaats die eerst", "ref")
    return None


resource = Resource(
    kind="tenders", path="/tenders", table=TenderRow, schema_create=TenderCreate,
    schema_in=TenderIn,
    schema_patch=TenderPatch, schema_out=TenderOut, label="Aanbesteding",
    to_interchange=tender_doc, to_out=tender_out, visible=access.visible_tenders,
    can_see=_can_see, check_write=_check_write, check_delete=_check_delete,
    search_columns=("ref", "title", "buyer"),
)
api_router = build_router(resource)
