"""The procurement officer's flow: tenders, the requirements form, matches and the verdict.

Pages (officer: its own organisation's tenders; firm: the tenders of its obligations,
read-only; connector/admin: all):

* ``/tenders`` — list (+ CSV), ``/tenders/new`` and ``/tenders/{ref}/edit`` — the form
  (``api.services.tender_form`` parses and validates; errors beside the fields, input kept),
  ``POST /tenders/{ref}/delete`` — after a confirmation.
* ``/tenders/{ref}`` — the obligation in euros (``matcher.valuation`` via the clause), the
  ranked vetted enterprises with their reasons and the feasibility verdict
  (``api.services.matching``).

JSON (under /api/v1): ``GET /tenders/{ref}/matches`` and ``GET /tenders/{ref}/feasibility``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process
from sqlmodel import Session, col, func, or_, select

from api import access
from api.convert import clause_from_row
from api.deps import ApiUser, CurrentUser, SessionDep, api_error, csrf_protect, flash, render
from api.i18n import request_lang, translator
from api.labels import TARGET_GROUP_NL
from api.reason_text import localise_why_not, reasons_nl
from api.routes.enterprises import csv_response
from api.schemas import ERROR_RESPONSES, FreeCapacity
from api.services import matching, tender_form
from api.services.feasibility import TIGHT_MARGIN
from api.services.flow_util import FlowError, list_params
from api.services.matching import MatchView
from api.tables import EnterpriseRow, ObligationRow, TenderRow, User
from matcher.cpv import best_match
from matcher.model import CLAUSE_BASES, TARGET_GROUPS
from matcher.refdata import cpv_label, municipalities
from matcher.valuation import DueResult, list_policies, load_policy, obligation_due

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["tenders"], responses=ERROR_RESPONSES)

PER_PAGE = 20
TOP_K = 20
# Below this WRatio a typed name is not taken for an enterprise's name.
WHY_NOT_MIN_SCORE = 80
STATUS_NL = {"draft": "Concept", "published": "Gepubliceerd"}
BASIS_NL = {"contract_value": "Opdrachtwaarde", "labour_cost": "Loonsom"}
VERDICT_NL = {
    "feasible": ("Haalbaar", "De regio heeft ruim genoeg vrije, gescreende capaciteit voor "
                             "dit werk en deze doelgroepen."),
    "tight": ("Krap", "Er is net genoeg vrije capaciteit; één afvaller en het wordt een tekort."),
    "infeasible": ("Niet haalbaar", "De vrije, gescreende capaciteit in de regio voor dit werk en "
                                    "deze doelgroepen is kleiner dan de verplichting."),
    "no_clause": ("Geen clausule", "Deze aanbesteding vraagt geen social return."),
}
VERDICT_BADGE = {"feasible": "ok", "tight": "warn", "infeasible": "err", "no_clause": "pending"}


# ---------------------------------------------------------------- helpers


def _org(user: User) -> str:
    return (user.organisation or "").strip()


def can_create(user: User) -> bool:
    return access.sees_all(user) or (user.role == "officer" and bool(_org(user)))


def _get(session: Session, user: User, ref: str) -> TenderRow:
    return access.get_tender_or_404(session, user, ref)


def _n_obligations(session: Session, ref: str) -> int:
    return int(session.exec(select(func.count()).select_from(ObligationRow)
                            .where(ObligationRow.tender_ref == ref)).one())


def delete_denial(session: Session, user: User, row: TenderRow) -> tuple[int, str] | None:
    """Officers may delete their own tenders, connectors/admins any; never one that has
    obligations (the firms' plans and deliveries hang on it)."""
    if not access.can_edit_tender(user, row):
        return 403, "U kunt deze aanbesteding niet verwijderen."
    n = _n_obligations(session, row.ref)
    if n:
        return 409, ("Er hangen nog verplichtingen aan deze aanbesteding; verwijder die "
                     "eerst.")
    return None


def due_of(row: TenderRow) -> DueResult | None:
    clause = clause_from_row(row)
    if clause is None:
        return None
    try:
        return obligation_due(clause, row.contract_value_eur, row.sroi_labour_cost_eur)
    except ValueError:
        return None


def due_text(t: Any, due: DueResult | None, row: TenderRow) -> str:
    """How the euros were reached, in the page's language."""
    from api.i18n import format_eur, format_pct

    if due is None:
        if clause_from_row(row) is None:
            return str(t("Geen social-returnclausule."))
        return str(t("Niet te berekenen: de opdrachtwaarde of loonsom ontbreekt."))
    if not due.applies:
        if due.percentage is None:
            return str(t("De clausule noemt geen percentage of bedrag."))
        return str(t("De opdrachtwaarde ligt onder de drempel van {thr}: niets verschuldigd.",
                     thr=format_eur(due.threshold_eur)))
    if row.sroi_amount_eur is not None:
        text = t("Vast bedrag {amount}.", amount=format_eur(row.sroi_amount_eur))
    else:
        text = t("{pct} van de {basis} {basis_eur}.", pct=format_pct(due.percentage),
                 basis=t(BASIS_NL.get(due.basis, due.basis)).lower(),
                 basis_eur=format_eur(due.basis_eur))
    if due.capped:
        text += " " + t("Begrensd op {cap}.", cap=format_eur(due.cap_eur))
    return str(text)


def match_rows(session: Session, row: TenderRow, views: list[MatchView], lang: str
               ) -> list[dict[str, Any]]:
    """The engine's matches with structured reasons: codes matched, distance, groups,
    capacity left (one query for the enterprises)."""
    refs = {v.ref for v in views}
    ents = {e.ref: e for e in session.exec(
        select(EnterpriseRow).where(col(EnterpriseRow.ref).in_(refs or {""})))}
    wanted_groups = list(row.sroi_target_groups or [])
    out = []
    for v in views:
        d = v.as_dict()
        e = ents.get(v.ref)
        codes: list[dict[str, Any]] = []
        if e is not None:
            for q in dict.fromkeys(row.cpv or []):
                code, sim, anc = best_match(q, list(e.cpv or []))
                if code is None or anc is None:
                    continue
                how = "exact" if code == q else "binnen" if anc == q else \
                    "omvat" if anc == code else "verwant"
                codes.append({"code": code, "label": cpv_label(code, lang), "requested": q,
                              "how": how, "similarity": round(float(sim), 3)})
            # One line per offered code: the requested code it answers best.
            best: dict[str, dict[str, Any]] = {}
            for c in sorted(codes, key=lambda c: -c["similarity"]):
                best.setdefault(c["code"], c)
            codes = list(best.values())
            groups = [g for g in (e.target_groups or []) if not wanted_groups
                      or g in wanted_groups]
        else:
            groups = []
        d.update(matched_cpv=codes, target_groups=groups, capacity=v.capacity)
        out.append(d)
    return out


def _tg_label(t: Any, g: str) -> str:
    return str(t(TARGET_GROUP_NL.get(g, g)))


# ---------------------------------------------------------------- list


def _list_stmt(user: User, q: str, status: str) -> tuple[Any, Any]:
    stmt = access.visible_tenders(user, select(TenderRow))
    count = access.visible_tenders(user, select(func.count()).select_from(TenderRow))
    if q:
        cond = or_(col(TenderRow.ref).ilike(f"%{q}%"), col(TenderRow.title).ilike(f"%{q}%"),
                   col(TenderRow.buyer).ilike(f"%{q}%"))
        stmt, count = stmt.where(cond), count.where(cond)
    if status in STATUS_NL:
        stmt, count = stmt.where(TenderRow.status == status), count.where(
            TenderRow.status == status)
    return stmt.order_by(col(TenderRow.updated_at).desc(), col(TenderRow.ref)), count


def _summary(row: TenderRow) -> dict[str, Any]:
    due = due_of(row)
    return {"ref": row.ref, "href": f"/tenders/{row.ref}", "title": row.title,
            "buyer": row.buyer, "cpv": "|".join(row.cpv or []),
            "contract_value_eur": row.contract_value_eur,
            "sroi_percentage": row.sroi_percentage, "sroi_amount_eur": row.sroi_amount_eur,
            "due_eur": due.amount_eur if due else None,
            "municipality": row.municipality_code, "start": row.start, "end": row.end,
            "status": row.status}


@router.get("/tenders", include_in_schema=False)
def tender_list(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    q, status, page = list_params(request.query_params)
    stmt, count = _list_stmt(user, q, status)
    total = int(session.exec(count).one())
    rows = session.exec(stmt.offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    export = "/tenders/export.csv" + ("?" + request.url.query if request.url.query else "")
    return render(request, "tenders/list.html", {
        "items": [_summary(r) for r in rows], "total": total, "page": page,
        "per_page": PER_PAGE, "q": q, "status": status, "statuses": STATUS_NL,
        "export_url": export, "can_create": can_create(user),
    })


CSV_COLUMNS = ("ref", "title", "buyer", "cpv", "contract_value_eur", "sroi_percentage",
               "sroi_amount_eur", "due_eur", "municipality", "start", "end", "status")


@router.get("/tenders/export.csv", include_in_schema=False)
def tender_list_csv(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    q, status, _ = list_params(request.query_params)
    stmt, _ = _list_stmt(user, q, status)
    return csv_response([_summary(r) for r in session.exec(stmt).all()], CSV_COLUMNS,
                        "aanbestedingen.csv")


# ---------------------------------------------------------------- form


def _form_page(request: Request, form: tender_form.TenderForm, errors: tender_form.FormErrors,
               *, row: TenderRow | None, buyer: str, buyer_error: str | None = None,
               status_code: int = 200) -> Response:
    t = translator(request_lang(request))
    lang = request_lang(request)
    msgs = {k: str(t(m, **p)) for k, (m, p) in errors.items()}
    if buyer_error:
        msgs["buyer"] = buyer_error
    labels = {c: cpv_label(c, lang) for c in form.cpv_codes if len(c) >= 8}
    return render(request, "tenders/form.html", {
        "form": form, "errors": msgs, "row": row, "buyer": buyer,
        "buyer_editable": access.sees_all(request.state.user),
        "cpv_labels": labels, "bases": [(b, t(BASIS_NL[b])) for b in CLAUSE_BASES],
        "policies": [("", t("Standaard ({name})", name=load_policy(None).label))]
        + [(p, load_policy(p).label) for p in list_policies()],
        "groups": [(g, _tg_label(t, g)) for g in TARGET_GROUPS],
        "municipality_names": sorted(m.name for m in municipalities().values()),
    }, status_code=status_code)


@router.get("/tenders/new", include_in_schema=False)
def tender_new(request: Request, user: CurrentUser) -> Response:
    if not can_create(user):
        raise api_error(403, "Alleen inkopers (met een organisatie) en verbinders kunnen "
                             "aanbestedingen invoeren")
    return _form_page(request, tender_form.TenderForm(), {}, row=None, buyer=_org(user))


async def _read_form(request: Request) -> tuple[tender_form.TenderForm, str, str]:
    data = await request.form()
    form = tender_form.TenderForm.from_mapping(
        {k: v for k, v in data.items() if isinstance(v, str)},
        [str(g) for g in data.getlist("sroi_target_groups")])
    action = str(data.get("action") or "publish")
    action = action if action in tender_form.ACTIONS else "publish"
    return form, action, str(data.get("buyer") or "").strip()


@router.post("/tenders/new", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def tender_create(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    if not can_create(user):
        raise api_error(403, "Alleen inkopers (met een organisatie) en verbinders kunnen "
                             "aanbestedingen invoeren")
    form, action, buyer_in = await _read_form(request)
    buyer = buyer_in if access.sees_all(user) else _org(user)
    cleaned = tender_form.validate(form, action)
    t = translator(request_lang(request))
    buyer_error = None if buyer else str(t("Vul de aanbestedende dienst in."))
    if not cleaned.ok or buyer_error:
        return _form_page(request, form, cleaned.errors, row=None, buyer=buyer,
                          buyer_error=buyer_error, status_code=422)
    existing = set(session.exec(select(TenderRow.ref).where(
        col(TenderRow.buyer) == buyer)).all())
    row = TenderRow(ref=tender_form.new_ref(buyer, existing), buyer=buyer, title=form.title)
    tender_form.apply(row, cleaned, action)
    session.add(row)
    session.commit()
    matching.invalidate()
    flash(request, t("Aanbesteding opgeslagen als concept.") if action == "draft"
          else t("Aanbesteding opgeslagen en gepubliceerd."))
    return RedirectResponse(f"/tenders/{row.ref}", status_code=303)


def _edit_or_403(user: User, row: TenderRow) -> None:
    if not access.can_edit_tender(user, row):
        raise api_error(403, "U kunt deze aanbesteding niet wijzigen")


@router.get("/tenders/{ref}/edit", include_in_schema=False)
def tender_edit(ref: str, request: Request, user: CurrentUser, session: SessionDep
                ) -> Response:
    row = _get(session, user, ref)
    _edit_or_403(user, row)
    return _form_page(request, tender_form.TenderForm.from_row(row), {}, row=row,
                      buyer=row.buyer)


@router.post("/tenders/{ref}/edit", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def tender_update(ref: str, request: Request, user: CurrentUser, session: SessionDep
                        ) -> Response:
    row = _get(session, user, ref)
    _edit_or_403(user, row)
    form, action, buyer_in = await _read_form(request)
    cleaned = tender_form.validate(form, action)
    t = translator(request_lang(request))
    buyer = (buyer_in or row.buyer) if access.sees_all(user) else row.buyer
    if not cleaned.ok:
        return _form_page(request, form, cleaned.errors, row=row, buyer=buyer, status_code=422)
    row.buyer = buyer
    tender_form.apply(row, cleaned, action)
    session.add(row)
    session.commit()
    matching.invalidate()
    flash(request, t("Wijzigingen opgeslagen."))
    return RedirectResponse(f"/tenders/{row.ref}", status_code=303)


@router.post("/tenders/{ref}/delete", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def tender_delete(ref: str, request: Request, user: CurrentUser, session: SessionDep
                  ) -> Response:
    row = _get(session, user, ref)
    t = translator(request_lang(request))
    denial = delete_denial(session, user, row)
    if denial:
        flash(request, t(denial[1]), "error")
        return RedirectResponse(f"/tenders/{ref}", status_code=303)
    session.delete(row)
    session.commit()
    matching.invalidate()
    flash(request, t("Aanbesteding {title} is verwijderd.", title=row.title))
    return RedirectResponse("/tenders", status_code=303)


# ---------------------------------------------------------------- detail


def _verdict(t: Any, feas: Any) -> dict[str, Any]:
    label, text = VERDICT_NL.get(feas.verdict, (feas.verdict, ""))
    usable = getattr(feas, "usable_eur", None)
    cap = (feas.capacity_eur if usable is None else usable) or 0.0
    scale = max(cap, feas.due_eur, 1.0)
    return {
        "verdict": feas.verdict, "label": t(label), "text": t(text),
        "badge": VERDICT_BADGE.get(feas.verdict, "pending"), "f": feas,
        # widths on a 0..100 scale of max(capacity, due), for the SVG bar
        "w_committed": round(100 * feas.committed_eur / scale, 2),
        "w_free": round(100 * feas.free_eur / scale, 2),
        "x_due": round(100 * feas.due_eur / scale, 2),
        "margin": TIGHT_MARGIN, "placement_eur": feas.placement_value_eur,
    }


def resolve_enterprise(session: Session, text: str) -> EnterpriseRow | None:
    """An enterprise by its ref, else by the name closest to ``text`` (a connector types
    what they remember: "Schoonwerk Opstap" for "Schoonmaakcoöperatie Opstap")."""
    text = text.strip()
    if not text:
        return None
    row = session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == text)).first()
    if row is not None:
        return row
    names = {r.ref: r.name for r in session.exec(select(EnterpriseRow))}
    best = process.extractOne(text, names, scorer=fuzz.WRatio, processor=default_process,
                              score_cutoff=WHY_NOT_MIN_SCORE)
    if best is None:
        return None
    return session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == best[2])).first()


def why_not_view(session: Session, row: TenderRow, text: str, lang: str
                 ) -> dict[str, Any]:
    """The why-not answer for the tender page: excluded with its reasons, or its rank."""
    t = translator(lang)
    ent = resolve_enterprise(session, text)
    if ent is None:
        return {"asked": text, "error": t("Geen onderneming gevonden met kenmerk of naam "
                                          "‘{q}’.", q=text)}
    result = localise_why_not(matching.why_not(session, "tender", row.ref, ent.ref), lang)
    return {"asked": text, "ref": ent.ref, "name": ent.name, **result}


@router.get("/tenders/{ref}", include_in_schema=False)
def tender_page(ref: str, request: Request, user: CurrentUser, session: SessionDep,
                waarom: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    row = _get(session, user, ref)
    lang = request_lang(request)
    t = translator(lang)
    why = why_not_view(session, row, waarom, lang) if waarom and waarom.strip() else None
    due = due_of(row)
    matches: list[dict[str, Any]] = []
    verdict = None
    n_candidates = n_excluded = 0
    match_error = None
    try:
        ml = matching.cached_match(session, "tender", row.ref, TOP_K)
        matches = match_rows(session, row, list(ml.results), lang)
        n_candidates, n_excluded = ml.n_candidates, ml.n_excluded
        verdict = _verdict(t, matching.tender_feasibility(session, row.ref))
    except FlowError as exc:
        match_error = str(t(exc.message, **exc.params))
    muni = municipalities().get(row.municipality_code or "")
    return render(request, "tenders/detail.html", {
        "tr": row, "due": due, "due_text": due_text(t, due, row), "matches": matches,
        "why_not": why,
        "verdict": verdict, "n_candidates": n_candidates, "n_excluded": n_excluded,
        "match_error": match_error,
        "municipality": muni, "status_labels": STATUS_NL, "basis_labels": BASIS_NL,
        "tg_labels": TARGET_GROUP_NL, "can_edit": access.can_edit_tender(user, row),
        "can_delete": delete_denial(session, user, row) is None,
        "policy": load_policy(row.sroi_policy).label if row.sroi_policy in list_policies()
        else None,
    })


# ---------------------------------------------------------------- JSON API


class CpvMatch(BaseModel):
    code: str
    label: str
    requested: str = Field(description="The tender's code it answers")
    how: str = Field(description="exact | binnen (within) | omvat (covers) | verwant (related)")
    similarity: float


class MatchItem(FreeCapacity):
    rank: int
    ref: str
    name: str
    municipality: str | None = None
    score: float
    contributions: dict[str, float] = {}
    features: dict[str, float] = {}
    reasons: list[str] = Field([], description="The engine's reasons, in English")
    reasons_nl: list[str] = Field([], description="The same reasons in Dutch")
    distance_km: float | None = None
    remaining_eur: float | None = Field(
        None, description="Free capacity per year in euros, placements valued at the "
                          "valuation policy's placement-year (the ranking's capacity figure)")
    matched_cpv: list[CpvMatch] = []
    target_groups: list[str] = []


class MatchesOut(BaseModel):
    tender: str
    items: list[MatchItem]
    total: int
    page: int
    per_page: int
    pages: int
    n_candidates: int = Field(description="Enterprises that passed the hard constraints")
    n_excluded: int = Field(description="Enterprises excluded by a hard constraint")

    model_config = ConfigDict(json_schema_extra={"example": {
        "tender": "T-UTR-1", "total": 20, "page": 1, "per_page": 20, "pages": 1,
        "n_candidates": 31, "n_excluded": 29,
        "items": [{"rank": 1, "ref": "E-036", "name": "Schoonwerk Utrecht 36",
                   "municipality": "GM0344", "score": 0.71, "distance_km": 1.2,
                   "remaining_eur": 140000.0, "purchasing_eur_per_year": 150000.0,
                   "placements_per_year": 2, "free_purchase_eur_per_year": 110000.0,
                   "free_placements_per_year": 1, "reasons": ["CPV 90911200 offered exactly"],
                   "reasons_nl": ["CPV 90911200 exact aangeboden"],
                   "matched_cpv": [{"code": "90911200", "label": "Schoonmaakdiensten",
                                    "requested": "90911200", "how": "exact",
                                    "similarity": 1.0}],
                   "target_groups": ["participatiewet"]}]}})


@api_router.get("/tenders/{ref}/matches", response_model=MatchesOut,
                summary="Ranked vetted enterprises for a tender, with reasons")
def tender_matches(
    ref: str, user: ApiUser, session: SessionDep,
    top: Annotated[int, Query(ge=1, le=200, description="How many of the best to rank")] = 20,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """The best ``top`` enterprises passing the hard constraints (vetted, in range, capacity),
    best first, paginated."""
    row = _get(session, user, ref)
    try:
        ml = matching.cached_match(session, "tender", row.ref, top)
    except FlowError as exc:
        raise api_error(exc.status, str(exc), exc.field) from None
    items = match_rows(session, row, list(ml.results), "nl")
    start = (page - 1) * per_page
    for item in items[start:start + per_page]:
        item["reasons_nl"] = reasons_nl(item.get("reasons"))
    return {"tender": row.ref, "items": items[start:start + per_page], "total": len(items),
            "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(len(items) / per_page)),
            "n_candidates": ml.n_candidates, "n_excluded": ml.n_excluded}


class WhyNotExclusion(BaseModel):
    code: str
    reason: str
    reason_nl: str


class WhyNotOut(BaseModel):
    ref: str
    name: str
    excluded: bool = Field(description="True when a hard constraint keeps it out")
    reason: str | None = Field(None, description="The exclusions, in English")
    reason_nl: str | None = Field(None, description="The exclusions, in Dutch")
    exclusions: list[WhyNotExclusion] = []
    rank: int | None = Field(None, description="Its place among the candidates, if feasible")
    score: float | None = None
    n_candidates: int
    reasons: list[str] = Field([], description="Why it fits, in English (if feasible)")
    reasons_nl: list[str] = []

    model_config = ConfigDict(json_schema_extra={"example": {
        "ref": "E-077", "name": "Groen Werkt", "excluded": True,
        "reason": "vetting expired on 2025-03-01",
        "reason_nl": "screening verlopen op 2025-03-01",
        "exclusions": [{"code": "vetting_expired", "reason": "vetting expired on 2025-03-01",
                        "reason_nl": "screening verlopen op 2025-03-01"}],
        "rank": None, "score": None, "n_candidates": 31, "reasons": [], "reasons_nl": []}})


@api_router.get("/tenders/{ref}/why-not/{enterprise_ref}", response_model=WhyNotOut,
                summary="Why is an enterprise (not) in a tender's list?")
def tender_why_not(ref: str, enterprise_ref: str, user: ApiUser, session: SessionDep
                   ) -> dict[str, Any]:
    """Its hard-constraint exclusions (not vetted, vetting expired, outside its service
    radius or the clause's region, no capacity left, too few target-group staff for a
    reserved contract), or, when it passes them, its rank and score with reasons."""
    row = _get(session, user, ref)
    try:
        out = matching.why_not(session, "tender", row.ref, enterprise_ref)
    except FlowError as exc:
        raise api_error(exc.status, str(exc), "enterprise_ref") from None
    exclusions = list(out.get("exclusions") or ())
    return {**out, "reason_nl": "; ".join(str(x.get("reason_nl") or "") for x in exclusions)
            or None, "reasons": list(out.get("reasons") or ()),
            "reasons_nl": reasons_nl(out.get("reasons"))}


class FeasibilityCandidate(BaseModel):
    ref: str
    name: str
    capacity_eur: float
    purchasing_eur: float = Field(0.0, description="Purchasing that counts (its work fits)")
    placement_eur: float = Field(0.0, description="Placements that count (target groups)")
    committed_eur: float
    free_eur: float
    distance_km: float | None = None


class FeasibilityOut(BaseModel):
    tender: str
    verdict: str = Field(description="feasible | tight | infeasible | no_clause")
    label: str = Field(description="The verdict in Dutch")
    feasible: bool
    due_eur: float
    years: float
    capacity_eur: float = Field(description="Vetted capacity in range over the period, "
                                "whatever the enterprises' work")
    purchasing_eur: float = Field(0.0, description="Purchasing capacity of the enterprises "
                                  "whose work fits the tender (CPV or text)")
    placement_eur: float = Field(0.0, description="Placement capacity of the enterprises "
                                 "serving the clause's target groups, in euros at "
                                 "placement_value_eur per placement-year")
    placement_value_eur: float = Field(0.0, description="Euros one placement-year counts for "
                                       "(the clause's valuation policy)")
    usable_eur: float = Field(0.0, description="purchasing_eur + placement_eur")
    committed_eur: float = Field(description="Of the usable capacity, already committed "
                                 "elsewhere")
    committed_share: float = Field(description="committed_eur / usable_eur")
    n_purchasing: int = 0
    n_placement: int = 0
    free_eur: float
    shortfall_eur: float
    n_enterprises: int
    region_km: float | None = None
    top: list[FeasibilityCandidate] = []

    model_config = ConfigDict(json_schema_extra={"example": {
        "tender": "T-UTR-1", "verdict": "feasible", "label": "Haalbaar", "feasible": True,
        "due_eur": 120000.0, "years": 4.0, "capacity_eur": 2400000.0,
        "committed_eur": 300000.0, "committed_share": 0.125, "free_eur": 2100000.0,
        "shortfall_eur": 0.0, "n_enterprises": 12, "region_km": None, "top": []}})


@api_router.get("/tenders/{ref}/feasibility", response_model=FeasibilityOut,
                summary="Can the region deliver this tender's social return?")
def tender_feasibility_json(ref: str, user: ApiUser, session: SessionDep) -> dict[str, Any]:
    """The verdict: the vetted capacity of the enterprises passing the tender's hard
    constraints over the contract period, how much is already committed elsewhere, and the
    shortfall against what is due."""
    row = _get(session, user, ref)
    try:
        feas = matching.tender_feasibility(session, row.ref)
    except FlowError as exc:
        raise api_error(exc.status, str(exc), exc.field) from None
    return {"tender": row.ref, "label": VERDICT_NL.get(feas.verdict, (feas.verdict,))[0],
            **feas.as_dict()}
