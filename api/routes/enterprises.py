"""Enterprises: faceted search page (+ CSV), enterprise page, delete; JSON CRUD."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, col, func, select

from api import access
from api.clock import today, utcnow
from api.crud import Resource, build_router
from api.deps import ConnectorUser, CurrentUser, SessionDep, csrf_protect, flash, render
from api.i18n import request_lang, translator
from api.labels import CODE_NL, TARGET_GROUP_NL, VETTING_NL
from api.schemas import EnterpriseIn, EnterpriseOut, EnterprisePatch
from api.serialize import enterprise_dict, enterprise_out
from api.services.capacity import capacity_states
from api.services.enterprise_search import (
    SORTS,
    SearchParams,
    hit_to_dict,
    search,
)
from api.tables import (
    AllocationRow,
    ChallengeRow,
    CurationDecision,
    DeliveryRow,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
    User,
    VettingEvent,
)
from matcher.model import CERTIFICATION_SCHEMES, TARGET_GROUPS
from matcher.refdata import cpv_label, municipalities

router = APIRouter(tags=["pages"])

PER_PAGE = 20


def _float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value.replace(".", "").replace(",", ".") if "," in value else value)
    except ValueError:
        return math.nan
    return number


def params_from_query(request: Request, per_page: int = PER_PAGE) -> tuple[SearchParams,
                                                                         dict[str, str]]:
    """Forgiving parse for the page: a bad number becomes a message beside its field."""
    qp = request.query_params
    errors: dict[str, str] = {}
    km = _float(qp.get("km"))
    if km is not None and (math.isnan(km) or km <= 0):
        errors["km"] = "Geef een afstand in km groter dan 0"
        km = None
    min_cap = _float(qp.get("min_capacity"))
    if min_cap is not None and (math.isnan(min_cap) or min_cap < 0):
        errors["min_capacity"] = "Geef een bedrag in euro's (0 of meer)"
        min_cap = None
    try:
        page = max(1, int(qp.get("page") or 1))
    except ValueError:
        page = 1
    params = SearchParams(
        q=(qp.get("q") or "").strip()[:200],
        cpv=(qp.get("cpv") or "").strip()[:20],
        municipality=(qp.get("municipality") or "").strip()[:100],
        km=km,
        target_groups=[v for v in qp.getlist("tg") if v in TARGET_GROUPS],
        certifications=[v for v in qp.getlist("cert") if v in CERTIFICATION_SCHEMES],
        vetting=[v for v in qp.getlist("vetting") if v in VETTING_NL],
        min_capacity_eur=min_cap,
        sort=str(qp.get("sort")) if qp.get("sort") in SORTS else "relevance",
        page=page,
        per_page=per_page,
    )
    return params, errors


@router.get("/enterprises", include_in_schema=False)
def enterprise_search_page(request: Request, user: CurrentUser, session: SessionDep
                           ) -> Response:
    params, errors = params_from_query(request)
    result = search(session, params, restrict_vetted=not access.sees_all(user))
    errors.update(result.errors)
    lang = request_lang(request)
    t = translator(lang)
    errors = {k: t(v) for k, v in errors.items()}
    facets = {
        "target_group": [(v, t(TARGET_GROUP_NL.get(v, v)), n)
                         for v, _, n in result.facets["target_group"]],
        "certification": result.facets["certification"],
        "vetting": [(v, t(VETTING_NL.get(v, v)), n) for v, _, n in result.facets["vetting"]],
        "cpv_division": [(v, cpv_label(v + "000000", lang) if label != v else v, n)
                         for v, label, n in result.facets["cpv_division"]],
        "municipality": result.facets["municipality"],
    }
    export_url = request.url.path + "/export.csv" + (
        "?" + request.url.query if request.url.query else "")
    return render(request, "enterprises/search.html", {
        "params": params, "result": result, "facets": facets, "errors": errors,
        "tg_labels": TARGET_GROUP_NL, "vetting_labels": VETTING_NL,
        "export_url": export_url, "show_vetting": access.sees_all(user),
        "filters_active": any([params.q, params.cpv, params.municipality, params.target_groups,
                               params.certifications, params.vetting,
                               params.min_capacity_eur is not None]),
    })


CSV_COLUMNS = ("ref", "name", "municipality", "municipality_name", "distance_km", "cpv",
               "target_groups", "themes", "certifications", "vetting_status",
               "purchasing_eur_per_year", "placements_per_year", "free_purchase_eur_per_year",
               "free_placements_per_year")


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(
            (f"{v.get('scheme')}:{v.get('level') or ''}:{v.get('valid_until') or ''}"
             if isinstance(v, dict) else str(v)) for v in value)
    if value is None:
        return ""
    text = str(value)
    # Spreadsheet formula injection: a cell starting with = + - @ would be executed.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str],
                 filename: str) -> StreamingResponse:
    """A CSV download (UTF-8 with BOM so Excel reads the accents)."""

    def generate() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        buf.write("\ufeff")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
            if buf.tell() > 64_000:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()

    return StreamingResponse(generate(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/enterprises/export.csv", include_in_schema=False)
def enterprise_search_csv(request: Request, user: CurrentUser, session: SessionDep
                          ) -> Response:
    params, _ = params_from_query(request, per_page=0)
    result = search(session, params, restrict_vetted=not access.sees_all(user))
    return csv_response([hit_to_dict(h) for h in result.hits], CSV_COLUMNS,
                        "ondernemingen.csv")


def _latest_decisions(session: Session, enterprise_ref: str) -> list[CurationDecision]:
    rows = session.exec(select(CurationDecision)
                        .where(CurationDecision.enterprise_ref == enterprise_ref)
                        .order_by(col(CurationDecision.decided_at).desc(),
                                  col(CurationDecision.id).desc())).all()
    seen: set[tuple[str, str]] = set()
    latest = []
    for row in rows:
        key = (row.query_kind, row.query_ref)
        if key not in seen:
            seen.add(key)
            latest.append(row)
    return latest


@router.get("/enterprises/{ref}", include_in_schema=False)
def enterprise_page(ref: str, request: Request, user: CurrentUser, session: SessionDep
                    ) -> Response:
    row = access.get_enterprise_or_404(session, user, ref)
    on = today()
    certs = []
    for cert in row.certifications or []:
        until = cert.get("valid_until")
        expired = bool(until) and str(until)[:10] < on.isoformat()
        certs.append({**cert, "expired": expired})
    events = session.exec(select(VettingEvent).where(VettingEvent.enterprise_ref == ref)
                          .order_by(col(VettingEvent.decided_at).desc())).all()

    # Allocations and matches, limited to the obligations/tenders this user may see;
    # titles loaded in one query per kind (no N+1).
    allocations = session.exec(select(AllocationRow).where(AllocationRow.enterprise_ref == ref)
                               .order_by(col(AllocationRow.created_at).desc())).all()
    obl_refs = {a.obligation_ref for a in allocations}
    decisions = [d for d in _latest_decisions(session, ref) if d.decision in ("accept", "pin")]
    obl_refs |= {d.query_ref for d in decisions if d.query_kind == "obligation"}
    obligations = {o.ref: o for o in session.exec(access.visible_obligations(
        user, select(ObligationRow).where(col(ObligationRow.ref).in_(obl_refs or {""}))))}
    tender_refs = {d.query_ref for d in decisions if d.query_kind == "tender"}
    tenders = {t.ref: t for t in session.exec(access.visible_tenders(
        user, select(TenderRow).where(col(TenderRow.ref).in_(tender_refs or {""}))))}
    challenge_refs = {d.query_ref for d in decisions if d.query_kind == "challenge"}
    challenges = {c.ref: c for c in session.exec(
        select(ChallengeRow).where(col(ChallengeRow.ref).in_(challenge_refs or {""})))}
    deliveries = dict(session.exec(
        select(DeliveryRow.obligation_ref, func.sum(DeliveryRow.credit_eur))
        .where(DeliveryRow.enterprise_ref == ref).group_by(DeliveryRow.obligation_ref)).all())

    t = translator(request_lang(request))
    alloc_rows = [{
        "obligation": a.obligation_ref, "href": f"/obligations/{a.obligation_ref}",
        "firm": obligations[a.obligation_ref].firm, "kind": t(CODE_NL.get(a.kind, a.kind)),
        "status": t(CODE_NL.get(a.status, a.status)),
        "amount_eur": a.amount_eur, "credit_eur": a.credit_eur, "placements": a.placements,
        "delivered_eur": deliveries.get(a.obligation_ref, 0.0),
    } for a in allocations if a.obligation_ref in obligations]
    match_rows = []
    for d in decisions:
        pools: dict[str, dict[str, Any]] = {"tender": tenders, "challenge": challenges,
                                            "obligation": obligations}
        target = pools.get(d.query_kind, {}).get(d.query_ref)
        if target is None:
            continue
        title = getattr(target, "title", None) or getattr(target, "firm", d.query_ref)
        match_rows.append({"kind": t(CODE_NL.get(d.query_kind, d.query_kind)),
                           "ref": d.query_ref, "title": title,
                           "href": f"/{d.query_kind}s/{d.query_ref}",
                           "decision": t(CODE_NL.get(d.decision, d.decision)),
                           "decided_at": d.decided_at, "decided_by": d.decided_by,
                           "score": d.score})
    capacity = capacity_states(session, [ref])[ref]
    muni = municipalities().get(row.municipality_code or "")
    return render(request, "enterprises/detail.html", {
        "e": row, "certs": certs, "events": events, "allocations": alloc_rows,
        "matches": match_rows, "capacity": capacity,
        "municipality": muni, "tg_labels": TARGET_GROUP_NL, "vetting_labels": VETTING_NL,
        "can_delete": access.sees_all(user),
        "vetting_expired": bool(row.vetting_valid_until and row.vetting_valid_until < on),
    })


@router.post("/enterprises/{ref}/delete", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def enterprise_delete(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                      ) -> Response:
    row = access.get_enterprise_or_404(session, user, ref)
    denial = _check_delete(session, user, row)
    if denial:
        flash(request, denial[1], "error")
        return RedirectResponse(f"/enterprises/{ref}", status_code=303)
    session.delete(row)
    session.commit()
    t = translator(request_lang(request))
    flash(request, t("Onderneming {name} is verwijderd.", name=row.name))
    return RedirectResponse("/enterprises", status_code=303)


# --- JSON CRUD -------------------------------------------------------------------------

Denial = tuple[int, str, str | None] | None


def _can_see(session: Session, user: User, row: EnterpriseRow) -> bool:
    return access.can_see_enterprise(user, row)


def _check_write(session: Session, user: User, values: dict[str, Any],
                 row: EnterpriseRow | None) -> Denial:
    if access.sees_all(user):
        return None
    return (403, "Alleen verbinders en beheerders kunnen ondernemingen wijzigen", None)


def _check_delete(session: Session, user: User, row: EnterpriseRow) -> Denial:
    if not access.sees_all(user):
        return (403, "Alleen verbinders en beheerders kunnen verwijderen", None)
    n = session.exec(select(func.count()).select_from(AllocationRow)
                     .where(AllocationRow.enterprise_ref == row.ref)).one()
    if n:
        return (409, f"Deze onderneming heeft nog {n} toewijzing(en); verwijder die eerst of "
                     "zet de screening op afgewezen", "ref")
    return None


def _log_vetting(session: Session, user: User, row: EnterpriseRow,
                 before: dict[str, Any] | None) -> None:
    """A vetting change through the API lands in the audit log like one made in the UI."""
    old = (before or {}).get("vetting", {})
    if before is None and row.vetting_status == "pending":
        return
    if old.get("status") != row.vetting_status or \
            old.get("valid_until") != (row.vetting_valid_until.isoformat()
                                       if row.vetting_valid_until else None):
        session.add(VettingEvent(enterprise_ref=row.ref, status=row.vetting_status,
                                 valid_until=row.vetting_valid_until, reason="via API",
                                 decided_by=user.email, decided_at=utcnow()))


resource = Resource(
    kind="enterprises", path="/enterprises", table=EnterpriseRow, schema_in=EnterpriseIn,
    schema_patch=EnterprisePatch, schema_out=EnterpriseOut, label="Onderneming",
    to_interchange=enterprise_dict, to_out=enterprise_out,
    visible=access.visible_enterprises, can_see=_can_see, check_write=_check_write,
    check_delete=_check_delete, search_columns=("ref", "name"), after_write=_log_vetting,
)
api_router = build_router(resource)
