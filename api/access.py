"""Who sees what. Every page and endpoint that lists or opens a tender, obligation
or enterprise goes through these helpers, so the rules live in one place.

- officer: tenders whose ``buyer`` is their organisation (drafts included; other
  buyers' tenders, drafts or not, are invisible); no obligations except those
  under their own tenders.
- firm: obligations whose ``firm`` is their organisation, and the tenders those
  obligations belong to.
- connector, admin: everything, except purchase ledgers: those only the firm and the
  connectors it granted access (``visible_ledgers``).
- enterprises: connectors/admins see all; officers and firms see vetted ones only
  (pending and rejected enterprises are the connectors' work queue).

Another organisation's object answers 404, not 403: its existence is not revealed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException
from sqlalchemy import false
from sqlmodel import col, select

from api.errors import Forbidden, Invalid
from api.tables import (
    EnterpriseRow,
    LedgerAccess,
    ObligationRow,
    TenderRow,
    User,
)
from matcher.refdata import resolve_municipality

SelectT = TypeVar("SelectT", bound=Any)

SEES_ALL = ("connector", "admin")


def sees_all(user: User) -> bool:
    return user.role in SEES_ALL


def _org(user: User) -> str:
    return (user.organisation or "").strip()


def visible_tenders(user: User, stmt: SelectT) -> SelectT:
    """Restrict a ``select(TenderRow...)`` to the tenders ``user`` may see."""
    if sees_all(user):
        return stmt
    org = _org(user)
    if user.role == "officer" and org:
        return stmt.where(TenderRow.buyer == org)
    if user.role == "firm" and org:
        own = select(ObligationRow.tender_ref).where(
            ObligationRow.firm == org, col(ObligationRow.tender_ref).is_not(None))
        return stmt.where(col(TenderRow.ref).in_(own))
    return stmt.where(false())


def visible_obligations(user: User, stmt: SelectT) -> SelectT:
    """Restrict a ``select(ObligationRow...)`` to the obligations ``user`` may see."""
    if sees_all(user):
        return stmt
    org = _org(user)
    if user.role == "firm" and org:
        return stmt.where(ObligationRow.firm == org)
    if user.role == "officer" and org:
        own = select(TenderRow.ref).where(TenderRow.buyer == org)
        return stmt.where(col(ObligationRow.tender_ref).in_(own))
    return stmt.where(false())


def visible_enterprises(user: User, stmt: SelectT) -> SelectT:
    if sees_all(user):
        return stmt
    return stmt.where(EnterpriseRow.vetting_status == "vetted")


def can_see_tender(user: User, row: TenderRow | None, firm_tender_refs: set[str] | None = None
                   ) -> bool:
    """``firm_tender_refs``: the tender refs of the firm's obligations (firms only; the
    caller passes them to avoid a query here; without them a firm sees no tender)."""
    if row is None:
        return False
    if sees_all(user):
        return True
    org = _org(user)
    if user.role == "officer":
        return bool(org) and row.buyer == org
    if user.role == "firm":
        return bool(org) and firm_tender_refs is not None and row.ref in firm_tender_refs
    return False


def can_edit_tender(user: User, row: TenderRow) -> bool:
    return sees_all(user) or (user.role == "officer" and can_see_tender(user, row))


def can_see_obligation(user: User, row: ObligationRow | None,
                       officer_tender_refs: set[str] | None = None) -> bool:
    """``officer_tender_refs``: refs of the officer's own tenders (officers only)."""
    if row is None:
        return False
    if sees_all(user):
        return True
    org = _org(user)
    if user.role == "firm":
        return bool(org) and row.firm == org
    if user.role == "officer":
        return (bool(org) and officer_tender_refs is not None
                and row.tender_ref is not None and row.tender_ref in officer_tender_refs)
    return False


def can_edit_obligation(user: User, row: ObligationRow) -> bool:
    return sees_all(user) or (user.role == "firm" and can_see_obligation(user, row))


# An obligation's terms: only the buyer's officers, connectors and admins set them; a firm
# works on its plan and deliveries. Column -> the field name the API and the form use.
OBLIGATION_TERMS: dict[str, str] = {
    "amount_eur": "amount_eur", "due": "due", "policy": "policy", "status": "status",
    "firm": "firm", "tender_ref": "tender",
}
# The same terms when kept in ``extra`` (basis of the amount, contract term, status).
OBLIGATION_EXTRA_TERMS: tuple[str, ...] = ("basis", "start", "end", "status")


def obligation_write_denial(user: User, values: dict[str, Any], row: ObligationRow | None,
                            officer_tender_refs: set[str] | None = None
                            ) -> tuple[str, str | None] | None:
    """Why ``user`` may not store ``values`` (column values) as obligation ``row`` (None:
    a new one), as (Dutch message, field); None when allowed. ``officer_tender_refs``:
    the refs of an officer's own tenders (officers only)."""
    if sees_all(user):
        return None
    org = _org(user)
    if user.role == "officer":
        refs = officer_tender_refs or set()
        if not org or values.get("tender_ref") not in refs or (
                row is not None and row.tender_ref not in refs):
            return ("U kunt alleen verplichtingen onder aanbestedingen van uw eigen "
                    "organisatie invoeren of wijzigen", "tender")
        return None
    if user.role != "firm" or not org:
        return ("Alleen de opdrachtgever en verbinders kunnen verplichtingen wijzigen", None)
    if row is None:
        return ("Een opdrachtnemer kan geen verplichting aanmaken; de opdrachtgever of een "
                "verbinder legt haar vast", None)
    for column, name in OBLIGATION_TERMS.items():
        # A column missing from ``values`` keeps its stored value (see the importer).
        if column in values and values[column] != getattr(row, column):
            return (f"Alleen de opdrachtgever of een verbinder kan {name} wijzigen", name)
    new_extra, old_extra = values.get("extra") or {}, row.extra or {}
    for key in OBLIGATION_EXTRA_TERMS:
        if new_extra.get(key) != old_extra.get(key):
            return (f"Alleen de opdrachtgever of een verbinder kan extra.{key} wijzigen",
                    f"extra.{key}")
    return None


def can_see_enterprise(user: User, row: EnterpriseRow | None) -> bool:
    if row is None:
        return False
    return sees_all(user) or row.vetting_status == "vetted"


def officer_municipality_code(user: User) -> str | None:
    """'Gemeente Utrecht' -> 'GM0344': the municipality an officer buys for, if any."""
    org = _org(user)
    if not org:
        return None
    for prefix in ("gemeente ", "gem. "):
        if org.lower().startswith(prefix):
            org = org[len(prefix):]
            break
    muni = resolve_municipality(org)
    return muni.code if muni else None


def firm_tender_refs(session: Any, user: User) -> set[str]:
    """Tender refs of a firm's obligations (for ``can_see_tender``)."""
    if user.role != "firm" or not _org(user):
        return set()
    rows = session.exec(select(ObligationRow.tender_ref).where(ObligationRow.firm == _org(user)))
    return {r for r in rows if r}


def officer_tender_refs(session: Any, user: User) -> set[str]:
    if user.role != "officer" or not _org(user):
        return set()
    return set(session.exec(select(TenderRow.ref).where(TenderRow.buyer == _org(user))))


def not_found(what: str = "Niet gevonden", field: str | None = None) -> HTTPException:
    return HTTPException(status_code=404, detail={"message": what, "field": field})


def get_tender_or_404(session: Any, user: User, ref: str) -> TenderRow:
    row = session.exec(select(TenderRow).where(TenderRow.ref == ref)).first()
    refs = firm_tender_refs(session, user) if user.role == "firm" else None
    if not can_see_tender(user, row, refs):
        raise not_found(f"Aanbesteding {ref!r} niet gevonden", "ref")
    return row  # type: ignore[no-any-return]


def get_obligation_or_404(session: Any, user: User, ref: str) -> ObligationRow:
    row = session.exec(select(ObligationRow).where(ObligationRow.ref == ref)).first()
    refs = officer_tender_refs(session, user) if user.role == "officer" else None
    if not can_see_obligation(user, row, refs):
        raise not_found(f"Verplichting {ref!r} niet gevonden", "ref")
    return row  # type: ignore[no-any-return]


def get_enterprise_or_404(session: Any, user: User, ref: str) -> EnterpriseRow:
    row = session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == ref)).first()
    if not can_see_enterprise(user, row):
        raise not_found(f"Onderneming {ref!r} niet gevonden", "ref")
    return row  # type: ignore[no-any-return]


__all__ = [
    "can_edit_obligation", "can_edit_tender", "can_see_enterprise", "can_see_obligation",
    "can_see_tender", "firm_tender_refs", "get_enterprise_or_404", "get_obligation_or_404",
    "get_tender_or_404", "not_found", "obligation_write_denial", "officer_municipality_code",
    "officer_tender_refs",
    "sees_all", "visible_enterprises", "visible_obligations", "visible_tenders",
]


# Purchase ledgers (spend analysis): a firm's own, and the connectors the firm works with
# (its grants in ``ledger_access``: one connector, or every connector of an organisation);
# nobody else, not even a role that sees everything elsewhere (they are the firm's books).
# Pages, the API and the CLI all ask these helpers.
LEDGER_ROLES = ("firm", "connector")


def _ledger_grants(user: User) -> Any:
    """``select(LedgerAccess.firm)`` of the grants that reach this connector."""
    reach = col(LedgerAccess.connector_id) == user.id
    org = _org(user)
    if org:
        reach = reach | (col(LedgerAccess.connector_org) == org)
    return select(LedgerAccess.firm).where(reach)


def ledger_firms(session: Any, user: User) -> list[str]:
    """The firms whose ledgers ``user`` sees and may upload for (a firm: itself; a
    connector: the firms that granted it access)."""
    org = _org(user)
    if user.role == "firm":
        return [org] if org else []
    if user.role == "connector" and user.id is not None:
        return sorted(set(session.exec(_ledger_grants(user)).all()))
    return []


def can_see_ledger(session: Any, user: User, firm: str) -> bool:
    return firm in ledger_firms(session, user)


def ledger_upload_firm(session: Any, user: User, firm: str | None) -> str:
    """The firm a new ledger of ``user`` belongs to: a firm's own; a connector names one
    of the firms that granted it access. Raises ``Invalid`` (422 on the web)."""
    firms = ledger_firms(session, user)
    if user.role == "firm":
        if not firms:
            raise Invalid("firm", "Uw account hoort bij geen bedrijf; vraag de beheerder "
                          "het bedrijf in te vullen.")
        return firms[0]
    firm = (firm or "").strip()
    if not firm:
        raise Invalid("firm", "Kies het bedrijf waarvan dit grootboek is.")
    if firm not in firms:
        raise Invalid("firm", "{firm} heeft u geen toegang tot zijn grootboeken gegeven.",
                      firm=firm)
    return firm


def ledger_grant_firm(session: Any, user: User) -> str:
    """The firm whose grants ``user`` may give and revoke: only a firm, its own.
    Raises ``Forbidden``."""
    firms = ledger_firms(session, user)
    if user.role != "firm" or not firms:
        raise Forbidden(None, "Alleen het bedrijf zelf geeft toegang tot zijn grootboeken.")
    return firms[0]


def ledger_grant_scope(session: Any, user: User) -> list[str] | None:
    """Whose grants ``user`` sees (who has access): a firm its own, a connector those of
    the firms it works with, an admin every firm's (None)."""
    return None if user.role == "admin" else ledger_firms(session, user)
