"""Enterprises: faceted search page (+ CSV), enterprise page, delete; JSON CRUD."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session, col, func, select

from api import access
from api.clock import today, utcnow
from api.crud import Resource, build_router
from api.deps import ConnectorUser, CurrentUser, SessionDep, csrf_protect, flash, render
from api.i18n import N_, request_lang, translator
from api.labels import CODE_NL, TARGET_GROUP_NL, VETTING_NL
from api.schemas import EnterpriseCreate, EnterpriseIn, EnterpriseOut, EnterprisePatch
from api.serialize import enterprise_doc, enterprise_out
from api.services import entity_edit, render_cache
from api.services.capacity import capacity_states
from api.services.enterprise_search import hit_to_dict, search
from api.services.importing import enterprise_duplicates
from api.services.vetting_flow import vetting_state
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
from api.web import entity_forms
from api.web.csv_export import Column, csv_response
from api.web.params import search_params
from matcher.refdata import cpv_label, municipalities

router = APIRouter(tags=["pages"])

@router.get("/enterprises", include_in_schema=False)
def enterprise_search_page(request: Request, user: CurrentUser, session: SessionDep
                           ) -> Response:
    """The results and facets are the same for every reader with the same query, language
    and view of vetting (connectors and admins see every state; others vetted only): the
    render cache keeps them per data version."""
    lang = request_lang(request)
    sees_all = access.sees_all(user)
    main_html = render_cache.shared(
        session, "enterprise-search", (request.url.path, request.url.query, sees_all), lang,
        lambda: _search_main(request, session, sees_all, lang))
    return render(request, "enterprises/search.html", {"main_html": main_html})


def _search_main(request: Request, session: Session, sees_all: bool, lang: str) -> Markup:
    params, errors = search_params(request.query_params)
    result = search(session, params, restrict_vetted=not sees_all)
    errors.update(result.errors)
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
    return render_cache.fragment("enterprises/_search_main.html", {
        "params": params, "result": result, "facets": facets, "errors": errors,
        "tg_labels": TARGET_GROUP_NL, "vetting_labels": VETTING_NL,
        "export_url": export_url, "show_vetting": sees_all, "can_create": sees_all,
        "filters_active": any([params.q, params.cpv, params.municipality, params.target_groups,
                               params.certifications, params.vetting,
                               params.min_capacity_eur is not None]),
    }, lang, url_of=request)


CSV_COLUMNS = (
    Column("name", N_("Onderneming")), Column("ref", N_("Kenmerk")),
    Column("municipality_name", N_("Gemeente")), Column("municipality", N_("Gemeentecode")),
    Column("distance_km", N_("Afstand (km)")), Column("cpv", N_("CPV-codes")),
    Column("target_groups", N_("Doelgroepen"), TARGET_GROUP_NL), Column("themes", N_("Thema's")),
    Column("certifications", N_("Keurmerken")),
    Column("vetting_state", N_("Screening"), VETTING_NL),
    Column("purchasing_eur_per_year", N_("Inkoopcapaciteit per jaar (EUR)")),
    Column("placements_per_year", N_("Plaatsingen per jaar")),
    Column("free_purchase_eur_per_year", N_("Vrije inkoopcapaciteit per jaar (EUR)")),
    Column("free_placements_per_year", N_("Vrije plaatsingen per jaar")))


@router.get("/enterprises/export.csv", include_in_schema=False)
def enterprise_search_csv(request: Request, user: CurrentUser, session: SessionDep
                          ) -> Response:
    params, _ = search_params(request.query_params, per_page=0)
    result = search(session, params, restrict_vetted=not access.sees_all(user))
    return csv_response(request, [hit_to_dict(h) for h in result.hits], CSV_COLUMNS,
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


# --- the enterprise form (connectors, admins): the import's checks and writer ----------

def _render_form(request: Request, row: EnterpriseRow | None, form: dict[str, Any],
                 errors: entity_edit.FormErrors | None = None,
                 duplicates: list[Any] | None = None, status_code: int = 200) -> Response:
    return render(request, "enterprises/form.html", {
        "row": row, "form": form, "errors": entity_forms.error_texts(request, errors or {}),
        "duplicates": entity_forms.duplicate_rows(duplicates or []),
        "groups": list(TARGET_GROUP_NL.items()),
        "municipality_names": sorted(m.name for m in municipalities().values()),
    }, status_code=status_code)


async def _save_form(request: Request, session: Session, row: EnterpriseRow | None
                     ) -> Response:
    form, keep_both = await entity_forms.posted(request, "enterprises")
    outcome = entity_edit.save(session, "enterprises", form, row, keep_both=keep_both)
    if outcome.duplicates:
        return _render_form(request, row, form, duplicates=outcome.duplicates,
                            status_code=409)
    if outcome.conflict and row is not None:
        # Changed by someone else meanwhile: their save stands, this input comes back
        # with the record's new version (saving it again is then a knowing overwrite).
        form[entity_edit.VERSION] = entity_edit.version_of(row)
    if not outcome.ok:
        return _render_form(request, row, form, outcome.errors,
                            status_code=409 if outcome.conflict else 422)
    t = translator(request_lang(request))
    name = form.get("name") or outcome.ref
    flash(request, t("Onderneming {name} aangemaakt; zij wacht op screening.", name=name)
          if outcome.created else t("Onderneming {name} opgeslagen.", name=name))
    return RedirectResponse(f"/enterprises/{outcome.ref}", status_code=303)


@router.get("/enterprises/new", include_in_schema=False)
def enterprise_new_form(request: Request, user: ConnectorUser) -> Response:
    return _render_form(request, None, entity_edit.form_of("enterprises", None))


@router.post("/enterprises/new", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def enterprise_new_post(request: Request, user: ConnectorUser, session: SessionDep
                              ) -> Response:
    return await _save_form(request, session, None)


@router.get("/enterprises/{ref}/edit", include_in_schema=False)
def enterprise_edit_form(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                         ) -> Response:
    row = access.get_enterprise_or_404(session, user, ref)
    return _render_form(request, row, entity_edit.form_of("enterprises", row))


@router.post("/enterprises/{ref}/edit", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def enterprise_edit_post(ref: str, request: Request, user: ConnectorUser,
                               session: SessionDep) -> Response:
    return await _save_form(request, session, access.get_enterprise_or_404(session, user, ref))


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
        "can_delete": access.sees_all(user), "can_edit": access.sees_all(user),
        "vetting_state": vetting_state(row.vetting_status, row.vetting_valid_until, on),
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


def _duplicates(session: Session, values: dict[str, Any]) -> list[dict[str, Any]]:
    return [d.to_dict() for d in enterprise_duplicates(session, values)]


resource = Resource(
    kind="enterprises", path="/enterprises", table=EnterpriseRow, schema_create=EnterpriseCreate,
    schema_in=EnterpriseIn,
    schema_patch=EnterprisePatch, schema_out=EnterpriseOut, label="Onderneming",
    to_interchange=enterprise_doc, to_out=enterprise_out,
    visible=access.visible_enterprises, can_see=_can_see, check_write=_check_write,
    check_delete=_check_delete, search_columns=("ref", "name"), after_write=_log_vetting,
    duplicates=_duplicates,
)
api_router = build_router(resource)
