"""Dashboard: matches and credited euros by month and municipality, capacity per sector.

Each table is computed with a few narrow, grouped queries (no per-row queries) and
shown both as an inline SVG chart and as a table with its own CSV export.
Officers and firms see the figures of their own tenders/obligations only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from api import access
from api.deps import CurrentUser, SessionDep, render
from api.i18n import N_, month_label, request_lang, translator
from api.services.enterprise_search import capacity_by_sector as sector_capacity
from api.tables import (
    AllocationRow,
    ChallengeRow,
    CurationDecision,
    DeliveryRow,
    ObligationRow,
    TenderRow,
    User,
)
from api.web.csv_export import Column, csv_response
from matcher.refdata import cpv_label, municipalities

router = APIRouter(tags=["pages"])

TABLES = ("matches_by_month", "credit_by_month", "by_municipality", "capacity_by_sector")
# The columns of each table's CSV download (the same keys as compute() returns).
CSV_COLUMNS: dict[str, tuple[Column, ...]] = {
    "matches_by_month": (Column("month", N_("Maand")), Column("matches", N_("Matches"))),
    "credit_by_month": (Column("month", N_("Maand")),
                        Column("credit_eur", N_("Waarde social return (EUR)")),
                        Column("invoiced_eur", N_("Gefactureerd (EUR)"))),
    "by_municipality": (Column("name", N_("Gemeente")), Column("municipality", N_("Gemeentecode")),
                        Column("matches", N_("Matches")),
                        Column("credit_eur", N_("Waarde social return (EUR)")),
                        Column("planned_credit_eur", N_("Geplande waarde (EUR)"))),
    "capacity_by_sector": (Column("sector", N_("Sector")), Column("division", N_("CPV-afdeling")),
                           Column("enterprises", N_("Ondernemingen")),
                           Column("capacity_eur", N_("Inkoopcapaciteit per jaar (EUR)")),
                           Column("committed_eur", N_("Toegezegd (EUR)")),
                           Column("used_pct", N_("Benut (%)"))),
}


@dataclass
class Scope:
    """The queries (by kind) and obligations a user's figures cover; None = everything."""

    tenders: set[str] | None
    obligations: set[str] | None
    challenges: set[str] | None


def scope_for(session: Session, user: User) -> Scope:
    if access.sees_all(user):
        return Scope(None, None, None)
    tenders = set(session.exec(access.visible_tenders(user, select(TenderRow.ref))))
    obligations = set(session.exec(access.visible_obligations(user, select(ObligationRow.ref))))
    challenges: set[str] = set()
    code = access.officer_municipality_code(user) if user.role == "officer" else None
    if code:
        challenges = set(session.exec(select(ChallengeRow.ref)
                                      .where(ChallengeRow.municipality_code == code)))
    return Scope(tenders, obligations, challenges)


def _in_scope(scope: Scope, kind: str, ref: str) -> bool:
    allowed = {"tender": scope.tenders, "obligation": scope.obligations,
               "challenge": scope.challenges}.get(kind)
    return allowed is None or ref in allowed


def compute(session: Session, user: User, lang: str) -> dict[str, list[dict[str, Any]]]:
    scope = scope_for(session, user)
    munis = municipalities()

    # Current state of each (kind, query, enterprise): the latest decision counts.
    latest: dict[tuple[str, str, str], tuple[Any, str]] = {}
    # SQLAlchemy's select: sqlmodel's is typed for at most four columns.
    for kind, qref, eref, decision, at in session.execute(
            sa_select(col(CurationDecision.query_kind), col(CurationDecision.query_ref),
                      col(CurationDecision.enterprise_ref), col(CurationDecision.decision),
                      col(CurationDecision.decided_at))
            .where(col(CurationDecision.decision).in_(("accept", "reject", "unpin", "pin")))
            .order_by(col(CurationDecision.decided_at), col(CurationDecision.id))):
        latest[(kind, qref, eref)] = (at, decision)
    accepted = [(k, at) for k, (at, d) in latest.items()
                if d in ("accept", "pin") and _in_scope(scope, k[0], k[1])]

    delivery_stmt = select(col(DeliveryRow.obligation_ref), col(DeliveryRow.on),
                           col(DeliveryRow.credit_eur), col(DeliveryRow.amount_eur))
    alloc_stmt = select(col(AllocationRow.obligation_ref), col(AllocationRow.credit_eur))
    if scope.obligations is not None:
        delivery_stmt = delivery_stmt.where(
            col(DeliveryRow.obligation_ref).in_(scope.obligations or {""}))
        alloc_stmt = alloc_stmt.where(
            col(AllocationRow.obligation_ref).in_(scope.obligations or {""}))
    deliveries = session.exec(delivery_stmt).all()
    allocations = session.exec(alloc_stmt).all()

    # Place of each query: one query per kind, for the refs needed only.
    needed: dict[str, set[str]] = defaultdict(set)
    for (kind, qref, _eref), _at in accepted:
        needed[kind].add(qref)
    needed["obligation"] |= {r[0] for r in deliveries} | {r[0] for r in allocations}
    place: dict[tuple[str, str], str | None] = {}
    for kind, table in (("tender", TenderRow), ("obligation", ObligationRow),
                        ("challenge", ChallengeRow)):
        if needed[kind]:
            ref_col = col(table.ref)  # type: ignore[attr-defined]
            for ref, code in session.exec(
                    select(table.ref, table.municipality_code)  # type: ignore[attr-defined]
                    .where(ref_col.in_(needed[kind]))):
                place[(kind, ref)] = code

    by_month_matches: dict[str, int] = defaultdict(int)
    by_muni: dict[str, dict[str, float]] = defaultdict(lambda: {"matches": 0, "credit": 0.0,
                                                                "planned": 0.0})
    for (kind, qref, _eref), at in accepted:
        by_month_matches[f"{at:%Y-%m}"] += 1
        by_muni[place.get((kind, qref)) or "?"]["matches"] += 1
    by_month_credit: dict[str, dict[str, float]] = defaultdict(lambda: {"credit": 0.0,
                                                                        "amount": 0.0})
    for oref, on, credit, amount in deliveries:
        bucket = by_month_credit[f"{on:%Y-%m}"]
        bucket["credit"] += float(credit or 0.0)
        bucket["amount"] += float(amount or 0.0)
        by_muni[place.get(("obligation", oref)) or "?"]["credit"] += float(credit or 0.0)
    for oref, credit in allocations:
        by_muni[place.get(("obligation", oref)) or "?"]["planned"] += float(credit or 0.0)

    months = sorted(set(by_month_matches) | set(by_month_credit))[-24:]
    t = translator(lang)
    matches_by_month = [{"month": m, "label": month_label(m, lang),
                         "matches": by_month_matches.get(m, 0)} for m in months]
    credit_by_month = [{"month": m, "label": month_label(m, lang),
                        "credit_eur": round(by_month_credit[m]["credit"], 2),
                        "invoiced_eur": round(by_month_credit[m]["amount"], 2)}
                       for m in months]
    by_municipality: list[dict[str, Any]] = sorted(
        ({"municipality": code, "name": munis[code].name if code in munis else t("Onbekend"),
          "matches": int(v["matches"]), "credit_eur": round(v["credit"], 2),
          "planned_credit_eur": round(v["planned"], 2)} for code, v in by_muni.items()),
        key=lambda r: (-r["credit_eur"], -r["matches"], r["name"]))

    # Capacity per sector (CPV division of each enterprise's first code): all enterprises
    # for connectors/admins, vetted ones for others, as on the search page.
    # (From the search service's cached table: no per-request scan of 10,000 JSON rows.)
    sectors = {d: {"n": n, "capacity": capacity, "committed": committed}
               for d, (n, capacity, committed) in sector_capacity(
                   session, restrict_vetted=not access.sees_all(user)).items()}
    capacity_by_sector: list[dict[str, Any]] = sorted(
        ({"division": d, "sector": cpv_label(d + "000000", lang) if d != "??" else "?",
          "enterprises": int(v["n"]), "capacity_eur": round(v["capacity"], 2),
          "committed_eur": round(v["committed"], 2),
          "used_pct": round(100 * v["committed"] / v["capacity"], 1) if v["capacity"] else 0.0}
         for d, v in sectors.items()),
        key=lambda r: (-r["committed_eur"], -r["capacity_eur"]))
    return {"matches_by_month": matches_by_month, "credit_by_month": credit_by_month,
            "by_municipality": by_municipality, "capacity_by_sector": capacity_by_sector}


@router.get("/dashboard", include_in_schema=False)
def dashboard(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    lang = request_lang(request)
    data = compute(session, user, lang)
    totals = {
        "matches": sum(r["matches"] for r in data["matches_by_month"]),
        "credit": sum(r["credit_eur"] for r in data["credit_by_month"]),
        "planned": sum(r["planned_credit_eur"] for r in data["by_municipality"]),
        "capacity": sum(r["capacity_eur"] for r in data["capacity_by_sector"]),
        "committed": sum(r["committed_eur"] for r in data["capacity_by_sector"]),
    }
    return render(request, "dashboard.html", {"data": data, "totals": totals})


@router.get("/dashboard/{table}.csv", include_in_schema=False)
def dashboard_csv(table: str, request: Request, user: CurrentUser, session: SessionDep
                  ) -> Response:
    if table not in TABLES:
        from api.access import not_found

        raise not_found("Onbekende tabel")
    rows = compute(session, user, request_lang(request))[table]
    return csv_response(request, rows, CSV_COLUMNS[table], f"{table}.csv")
