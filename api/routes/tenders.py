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
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import TypeAdapter
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process
from sqlmodel import Session, col, func, or_, select

from api import access, reasons
from api.clock import today
from api.convert import tender_from_row
from api.deps import ApiUser, CurrentUser, SessionDep, api_error, csrf_protect, flash, render
from api.errors import DomainError
from api.i18n import N_, api_lang, format_date, request_lang, translator
from api.importers.notice_kinds import notice_kind_text
from api.labels import FEATURE_NL, TARGET_GROUP_NL
from api.messages import Text
from api.schemas import (
    ERROR_RESPONSES,
    FeasibilityOut,
    MatchesOut,
    WhyNotOut,
)
from api.services import matching, render_cache, tender_form
from api.services.feasibility import TIGHT_MARGIN
from api.services.matching import MatchView
from api.services.policies import (
    NO_POLICY_SENTENCE,
    applicable_policy,
    policy_options,
    regional_policy,
)
from api.services.weights import active_weights
from api.tables import EnterpriseRow, ObligationRow, TenderRow, User
from api.web import pdf, region_map
from api.web.csv_export import Column, csv_response
from api.web.errors import http_status
from api.web.params import PageQuery, list_params
from api.web.pdf import pdf_unavailable_page
from matcher.model import CLAUSE_BASES, TARGET_GROUPS
from matcher.rank import why_above
from matcher.reasons import Reason
from matcher.refdata import cpv_label, municipalities
from matcher.valuation import DueResult, Policy, tender_due

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["tenders"], responses=ERROR_RESPONSES)

PER_PAGE = 20
TOP_K = 20
# Below this WRatio a typed name is not taken for an enterprise's name.
WHY_NOT_MIN_SCORE = 80
STATUS_NL = {"draft": "Concept", "published": "Gepubliceerd", "cancelled": "Geannuleerd",
             "unsuccessful": "Niet gegund", "completed": "Afgerond", "withdrawn": "Ingetrokken"}
BASIS_NL = {"contract_value": "Opdrachtwaarde", "labour_cost": "Loonsom"}
VERDICT_NL = {
    "feasible": ("Haalbaar", "De regio heeft ruim genoeg vrije, gescreende capaciteit voor "
                             "dit werk en deze doelgroepen."),
    "tight": ("Krap", "Er is net genoeg vrije capaciteit; één afvaller en het wordt een tekort."),
    "infeasible": ("Niet haalbaar", "De vrije, gescreende capaciteit in de regio voor dit werk en "
                                    "deze doelgroepen is kleiner dan de verplichting."),
    "no_clause": ("Geen clausule", "Deze aanbesteding vraagt geen social return."),
    "not_applicable": ("Niet van toepassing", ""),
}
VERDICT_BADGE = {"feasible": "ok", "tight": "warn", "infeasible": "err", "no_clause": "pending",
                 "not_applicable": "pending"}
# Why the verdict is "not applicable" (api.services.feasibility.NOT_APPLICABLE_REASONS).
NOT_APPLICABLE_NL = {
    "nothing_due": "De clausule vraagt niets (geen percentage of bedrag, of € 0).",
    "below_threshold": "De opdrachtwaarde ligt onder de drempel: niets verschuldigd.",
    "no_contract_value": "Niet te berekenen: de opdrachtwaarde ontbreekt.",
    "no_labour_cost": "Niet te berekenen: de clausule rekent met de loonsom, en die ontbreekt.",
    "no_policy": NO_POLICY_SENTENCE,
}


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


def delete_denial(session: Session, user: User, row: TenderRow,
                  has_obligations: bool | None = None) -> tuple[int, str] | None:
    """Officers may delete their own tenders, connectors/admins any; never one that has
    obligations (the firms' plans and deliveries hang on it). ``has_obligations``: when
    the caller knows already (the tender page's cached part)."""
    if not access.can_edit_tender(user, row):
        return 403, "U kunt deze aanbesteding niet verwijderen."
    if has_obligations is None:
        has_obligations = _n_obligations(session, row.ref) > 0
    if has_obligations:
        return 409, ("Er hangen nog verplichtingen aan deze aanbesteding; verwijder die "
                     "eerst.")
    return None


def due_of(row: TenderRow) -> DueResult | None:
    """What the tender's clause demands (``matcher.valuation.tender_due``: its state says
    why nothing is due: nothing owed, a number missing, no policy for the region)."""
    return tender_due(tender_from_row(row))


def row_policy(row: TenderRow) -> Policy | None:
    """The policy valuing the tender: its own, else the region's on the contract's start."""
    return applicable_policy(tender_from_row(row))


def _policy_missing(form: tender_form.TenderForm, buyer: str) -> bool:
    """The form asks for a policy when none is chosen and none covers the buyer's place."""
    if form.sroi_policy:
        return False
    place = form.municipality or buyer
    start = None
    try:
        start = date.fromisoformat(form.start) if form.start else None
    except ValueError:
        start = None
    return bool(place) and regional_policy(place, start) is None


def due_text(t: Any, due: DueResult | None, row: TenderRow) -> str:
    """How the euros were reached, in the page's language (the amounts follow it: Eur)."""
    from api.i18n import Eur, Pct

    if due is None:
        return str(t("Geen social-returnclausule."))
    if due.state == "no_policy":
        return str(t(NO_POLICY_SENTENCE))
    if due.state == "not_computable":
        return str(t("Niet te berekenen: de opdrachtwaarde of loonsom ontbreekt."))
    if not due.applies:
        if due.percentage is None:
            return str(t("De clausule noemt geen percentage of bedrag."))
        return str(t("De opdrachtwaarde ligt onder de drempel van {thr}: niets verschuldigd.",
                     thr=Eur(due.threshold_eur)))
    if row.sroi_amount_eur is not None:
        text = t("Vast bedrag {amount}.", amount=Eur(row.sroi_amount_eur))
    else:
        text = t("{pct} van de {basis} {basis_eur}.", pct=Pct(due.percentage, fraction=False),
                 basis=t(BASIS_NL.get(due.basis, due.basis)).lower(),
                 basis_eur=Eur(due.basis_eur))
    if due.capped:
        text += " " + t("Begrensd op {cap}.", cap=Eur(due.cap_eur))
    return str(text)


# How an offered code answers a requested one, by reason code (Dutch words, t() on pages).
CPV_HOW = {"cpv_exact": "exact", "cpv_within": "binnen", "cpv_covers": "omvat",
           "cpv_related": "verwant"}


def matched_cpv(reasons: list[Reason], lang: str) -> list[dict[str, Any]]:
    """One line per offered CPV code with the requested code it answers best, from the
    engine's ``cpv_*`` reasons (one per requested code that matched)."""
    best: dict[str, dict[str, Any]] = {}
    for r in reasons:
        how = CPV_HOW.get(r.code)
        if how is None:
            continue
        p = r.params
        offered = str(p["code"] if r.code == "cpv_exact" else p["offered"])
        line = {"code": offered, "label": cpv_label(offered, lang),
                "requested": str(p["code"] if r.code == "cpv_exact" else p["requested"]),
                "how": how,
                "similarity": 1.0 if r.code == "cpv_exact" else float(p["similarity"])}  # type: ignore[arg-type]
        if offered not in best or line["similarity"] > best[offered]["similarity"]:
            best[offered] = line
    return sorted(best.values(), key=lambda c: -c["similarity"])


def match_rows(session: Session, row: TenderRow, views: list[MatchView], lang: str
               ) -> list[dict[str, Any]]:
    """The engine's matches with their CPV lines (from the engine's reasons), target
    groups and capacity (one query for the enterprises). ``reasons`` stay data."""
    refs = {v.ref for v in views}
    ents = {e.ref: e for e in session.exec(
        select(EnterpriseRow).where(col(EnterpriseRow.ref).in_(refs or {""})))}
    wanted_groups = list(row.sroi_target_groups or [])
    out = []
    for v in views:
        d = v.as_dict()
        d["reasons"] = list(v.reasons)
        e = ents.get(v.ref)
        groups = [g for g in (e.target_groups or []) if not wanted_groups
                  or g in wanted_groups] if e is not None else []
        d.update(matched_cpv=matched_cpv(list(v.reasons), lang), target_groups=groups,
                 capacity=v.capacity)
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


CSV_COLUMNS = (
    Column("title", N_("Aanbesteding")), Column("ref", N_("Kenmerk")),
    Column("buyer", N_("Aanbestedende dienst")),
    Column("cpv", N_("CPV-codes")), Column("contract_value_eur", N_("Opdrachtwaarde (EUR)")),
    Column("sroi_percentage", N_("SROI-percentage")),
    Column("sroi_amount_eur", N_("SROI-bedrag (EUR)")),
    Column("due_eur", N_("Verplichting (EUR)")), Column("municipality_name", N_("Gemeente")),
    Column("municipality", N_("Gemeentecode")),
    Column("start", N_("Begin")),
    Column("end", N_("Einde")),
    Column("status", N_("Status"), STATUS_NL))


@router.get("/tenders/export.csv", include_in_schema=False)
def tender_list_csv(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    q, status, _ = list_params(request.query_params)
    stmt, _ = _list_stmt(user, q, status)
    munis = municipalities()
    rows = [{**s, "cpv": s["cpv"].split("|") if s["cpv"] else [],
             "municipality_name": munis[s["municipality"]].name
             if s["municipality"] in munis else None}
            for s in map(_summary, session.exec(stmt).all())]
    return csv_response(request, rows, CSV_COLUMNS, "aanbestedingen.csv")


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
        "policies": [("", t("Volgens regio en startdatum"))] + policy_options(),
        "policy_missing": _policy_missing(form, buyer),
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
    if feas.verdict == "not_applicable":
        text = NOT_APPLICABLE_NL.get(feas.reason or "", text)
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
    result = matching.why_not(session, "tender", row.ref, ent.ref)
    return {"asked": text, "ref": ent.ref, "name": ent.name, **result}


def _comparison(rows: list[dict[str, Any]], a: str | None, b: str | None, t: Any
                ) -> dict[str, Any] | None:
    """"Why is A above B": both rows and the features that decide their order."""
    by_ref = {r["ref"]: r for r in rows}
    if not a or not b or a == b or a not in by_ref or b not in by_ref:
        return None
    hi, lo = sorted((by_ref[a], by_ref[b]), key=lambda r: -float(r["score"]))
    diffs = why_above(hi["contributions"], lo["contributions"])
    def names(fds: list[tuple[str, float]]) -> str:
        return ", ".join(str(t(FEATURE_NL.get(f, f))) for f, _ in fds)

    return {"hi": hi, "lo": lo, "diffs": diffs,
            "for_hi": names([fd for fd in diffs if fd[1] > 0][:3]),
            "for_lo": names([fd for fd in diffs if fd[1] < 0][:2])}


@render_cache.shareable
@dataclass(frozen=True)
class SharedTender:
    """What the tender page shows every reader alike (``api.services.render_cache``): the
    rendered summary (numbers, verdict, facts, map) and match tables, the rows the
    "why is A above B" form chooses from, and whether obligations hang on the tender."""

    summary: Markup
    matches: Markup
    rows: list[dict[str, Any]]
    has_obligations: bool


def tender_context(session: Session, row: TenderRow, lang: str) -> dict[str, Any]:
    """The tender's matches, verdict and facts in ``lang``: nothing of the reader."""
    t = translator(lang)
    due = due_of(row)
    matches: list[dict[str, Any]] = []
    maybe: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    verdict = None
    n_candidates = n_excluded = n_suitable = 0
    place_judged = True
    lots: list[dict[str, Any]] = []
    match_error = None
    try:
        ml = matching.cached_match(session, "tender", row.ref, TOP_K)
        matches = match_rows(session, row, list(ml.results), lang)
        maybe = match_rows(session, row, list(ml.maybe), lang)
        rejected = [r.as_dict() for r in ml.rejected]
        n_candidates, n_excluded = ml.n_candidates, ml.n_excluded
        n_suitable = ml.n_suitable if ml.n_suitable is not None else len(ml.results)
        place_judged = ml.place_judged
        lots = [{"id": x.lot.id, "title": x.lot.title, "cpv": list(x.lot.cpv),
                 "value_eur": x.lot.value_eur,
                 "matches": match_rows(session, row, list(x.matches.results), lang),
                 "maybe": match_rows(session, row, list(x.matches.maybe), lang),
                 "n_suitable": x.matches.n_suitable} for x in ml.lots]
        verdict = _verdict(t, matching.tender_feasibility(session, row.ref))
    except DomainError as exc:
        match_error = exc.render(lang)
    return {
        "tr": row, "due": due, "due_text": due_text(t, due, row), "matches": matches,
        "rejected": rejected,
        "verdict": verdict, "n_candidates": n_candidates, "n_excluded": n_excluded,
        "n_suitable": n_suitable, "maybe": maybe, "place_judged": place_judged,
        "lots": lots, "match_error": match_error,
        "municipality": municipalities().get(row.municipality_code or ""),
        "status_labels": STATUS_NL, "basis_labels": BASIS_NL,
        "tg_labels": TARGET_GROUP_NL,
        "policy": (lambda p: p.label if p is not None else None)(row_policy(row)),
        "policy_explicit": bool(row.sroi_policy),
        "feature_labels": FEATURE_NL,
        "weights": active_weights(session),
        "score_max": max([float(m["score"]) for m in matches + maybe] or [0.0]),
        "region_map": region_map.tender_map(session, row, matches or maybe),
    }


def _compare_row(m: dict[str, Any]) -> dict[str, Any]:
    # What the comparison form and its answer read of a row (kept with the cached page).
    return {k: m[k] for k in ("ref", "rank", "name", "score", "contributions") if k in m}


def shared_tender(session: Session, row: TenderRow, lang: str) -> SharedTender:
    """The tender page's shared part, rendered (``render_cache.fragment``)."""
    ctx = tender_context(session, row, lang)
    return SharedTender(
        summary=render_cache.fragment("tenders/_summary.html", ctx, lang),
        matches=render_cache.fragment("tenders/_matches.html", ctx, lang),
        rows=[_compare_row(m) for m in ctx["matches"] + ctx["maybe"]],
        has_obligations=_n_obligations(session, row.ref) > 0)


@router.get("/tenders/{ref}", include_in_schema=False)
def tender_page(ref: str, request: Request, user: CurrentUser, session: SessionDep,
                waarom: Annotated[str | None, Query(max_length=200)] = None,
                a: Annotated[str | None, Query(max_length=40)] = None,
                b: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """The shared part comes from the render cache (one per tender, language and data
    version); the head (what this user may do), the comparison and why-not answers are
    rendered per request."""
    row = _get(session, user, ref)
    lang = request_lang(request)
    t = translator(lang)
    shared = render_cache.shared(session, "tender-page", (row.ref,), lang,
                                 lambda: shared_tender(session, row, lang))
    why = why_not_view(session, row, waarom, lang) if waarom and waarom.strip() else None
    return render(request, "tenders/detail.html", {
        "tr": row, "shared": shared, "why_not": why, "status_labels": STATUS_NL,
        "feature_labels": FEATURE_NL, "can_edit": access.can_edit_tender(user, row),
        "can_delete": delete_denial(session, user, row, shared.has_obligations) is None,
        "compare": _comparison(shared.rows, a, b, t), "compare_refs": (a, b),
        "notice_kind": _notice_kind(row),
    })


def _notice_kind(row: TenderRow) -> Text | None:
    """What the published notice behind the tender is (eForms, TED), for the page."""
    published = (row.extra or {}).get("published")
    return notice_kind_text(published) if isinstance(published, dict) else None


@router.get("/tenders/{ref}/matchrapport.pdf", include_in_schema=False)
def tender_report_pdf(ref: str, request: Request, user: CurrentUser, session: SessionDep
                      ) -> Response:
    """The ranked matches as a PDF: the page's context in the report template."""
    row = _get(session, user, ref)
    if pdf.unavailable() is not None:
        return pdf_unavailable_page(request)
    lang = request_lang(request)
    page = render(request, "tenders/report.html", {
        **tender_context(session, row, lang),
        "report_date": format_date(today(), "long", lang)})
    return pdf.pdf_response(bytes(page.body).decode(), f"matchrapport-{row.ref}.pdf")


# ---------------------------------------------------------------- JSON API


@api_router.get("/tenders/{ref:path}/matches", response_model=MatchesOut,
                summary="Ranked vetted enterprises for a tender, with reasons")
def tender_matches(
    ref: str, request: Request, user: ApiUser, session: SessionDep,
    top: Annotated[int, Query(ge=1, le=200, description="How many of the best to rank")] = 20,
    page: PageQuery = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Response:
    """The best ``top`` enterprises passing the hard constraints (vetted, in range, capacity),
    best first, paginated."""
    row = _get(session, user, ref)
    lang = api_lang(request)
    body = render_cache.shared(
        session, "tender-matches", (row.ref, top, page, per_page), lang,
        lambda: _matches_json(session, row, top, page, per_page, lang))
    return Response(content=body, media_type="application/json")


_MATCHES_OUT = TypeAdapter(MatchesOut)


def _matches_json(session: Session, row: TenderRow, top: int, page: int, per_page: int,
                  lang: str) -> bytes:
    """The answer as FastAPI would serialise it through ``response_model`` (validated,
    by alias), so a cached answer is the same bytes as a fresh one."""
    try:
        ml = matching.cached_match(session, "tender", row.ref, top)
    except DomainError as exc:
        raise api_error(http_status(exc), exc.as_message(), exc.field) from None
    items = match_rows(session, row, list(ml.results), lang)
    maybe = match_rows(session, row, list(ml.maybe), lang)
    start = (page - 1) * per_page
    for item in [*items[start:start + per_page], *maybe]:
        item["reasons"] = reasons.outs(item["reasons"], lang)
        item["excluded_by"] = reasons.outs(item["excluded_by"], lang)
    out = {"tender": row.ref, "items": items[start:start + per_page], "total": len(items),
           "page": page, "per_page": per_page,
           "pages": max(1, math.ceil(len(items) / per_page)),
           "n_candidates": ml.n_candidates, "n_excluded": ml.n_excluded,
           "rejected": [r.as_dict() for r in ml.rejected], "maybe": maybe,
           "n_suitable": ml.n_suitable, "place_judged": ml.place_judged,
           "lots": [_lot_out(session, row, x, lang) for x in ml.lots]}
    return _MATCHES_OUT.dump_json(_MATCHES_OUT.validate_python(out, from_attributes=True),
                                  by_alias=True)


def _lot_out(session: SessionDep, row: TenderRow, x: matching.LotMatches, lang: str
             ) -> dict[str, Any]:
    items = match_rows(session, row, list(x.matches.results), lang)
    maybe = match_rows(session, row, list(x.matches.maybe), lang)
    for item in [*items, *maybe]:
        item["reasons"] = reasons.outs(item["reasons"], lang)
        item["excluded_by"] = reasons.outs(item["excluded_by"], lang)
    return {"id": x.lot.id, "title": x.lot.title, "cpv": list(x.lot.cpv),
            "value_eur": x.lot.value_eur, "items": items, "maybe": maybe,
            "n_suitable": x.matches.n_suitable, "n_candidates": x.matches.n_candidates}


@api_router.get("/tenders/{ref:path}/why-not/{enterprise_ref:path}", response_model=WhyNotOut,
                summary="Why is an enterprise (not) in a tender's list?")
def tender_why_not(ref: str, enterprise_ref: str, request: Request, user: ApiUser,
                   session: SessionDep) -> dict[str, Any]:
    """Its hard-constraint exclusions (not vetted, vetting expired, outside its service
    radius or the clause's region, no capacity left, too few target-group staff for a
    reserved contract), or, when it passes them, its rank and score with reasons."""
    row = _get(session, user, ref)
    try:
        out = matching.why_not(session, "tender", row.ref, enterprise_ref)
    except DomainError as exc:
        raise api_error(http_status(exc), exc.as_message(), "enterprise_ref") from None
    return dict(reasons.with_texts(out, api_lang(request)))


@api_router.get("/tenders/{ref:path}/feasibility", response_model=FeasibilityOut,
                summary="Can the region deliver this tender's social return?")
def tender_feasibility_json(ref: str, user: ApiUser, session: SessionDep) -> dict[str, Any]:
    """The verdict: the vetted capacity of the enterprises passing the tender's hard
    constraints over the contract period, how much is already committed elsewhere, and the
    shortfall against what is due."""
    row = _get(session, user, ref)
    try:
        feas = matching.tender_feasibility(session, row.ref)
    except DomainError as exc:
        raise api_error(http_status(exc), exc.as_message(), exc.field) from None
    return {"tender": row.ref, "label": VERDICT_NL.get(feas.verdict, (feas.verdict,))[0],
            "reason_text": NOT_APPLICABLE_NL.get(feas.reason) if feas.reason else None,
            **feas.as_dict()}
