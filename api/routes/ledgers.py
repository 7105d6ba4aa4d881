"""Spend analysis pages and API (issue #15): a firm's purchase ledgers.

Pages: GET /ledgers (the firm's ledgers, upload), POST /ledgers (upload; a file whose
columns are not all recognised comes back with the mapping form, the upload kept in the
session's temporary upload), GET /ledgers/{id} (spend by category chart, addressable
share, registry suppliers, suggested switches, review queue), GET /ledgers/{id}/export.csv,
POST /ledgers/{id}/lines/{line_id} (a correction), POST /ledgers/{id}/switches (switches
into the obligation's plan), POST /ledgers/{id}/delete.

API under /api/v1/ledgers: the same. Only the firm and connectors see a ledger
(``api.access.ledger_scope``); another firm's answers 404.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, select
from starlette.datastructures import UploadFile as StarletteUpload

from api.access import can_see_ledger, ledger_scope
from api.deps import SessionDep, csrf_protect, flash, render, require_roles
from api.errors import DomainError, Invalid, NotFound
from api.i18n import request_lang, translator
from api.importers.ledger import FIELDS
from api.labels import LEDGER_PROBLEM_NL, SPEND_NOT_ADDRESSABLE_NL
from api.schemas import ERROR_RESPONSES
from api.services import ledgers as L
from api.tables import LedgerRow, ObligationRow, User
from api.web import upload_store
from api.web.csv_export import csv_response

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["ledgers"], responses=ERROR_RESPONSES)

LedgerUser = Annotated[User, Depends(require_roles("firm", "connector"))]
MAX_BYTES = 50 * 1024 * 1024
FIELD_LABELS = {"supplier": "Leverancier", "description": "Omschrijving",
                "account": "Grootboekrekening", "amount": "Bedrag excl. btw", "date": "Datum",
                "kvk": "KvK-nummer", "place": "Plaats", "currency": "Valuta",
                "amount_currency": "Bedrag in valuta"}
UPLOAD_MARK = "ledger"  # upload_store's on_duplicate slot names the ledger flow


def _ledger(session: Session, user: User, ledger_id: int) -> LedgerRow:
    ledger_scope(user)
    row = session.get(LedgerRow, ledger_id)
    if row is None or not can_see_ledger(user, row.firm):
        raise NotFound(None, "Onbekend grootboek {id}.", id=ledger_id)
    return row


def _firm_for_upload(user: User, firm: str | None) -> str:
    scope = ledger_scope(user)
    if scope is not None:
        return scope
    if not (firm or "").strip():
        raise Invalid("firm", "Kies het bedrijf waarvan dit grootboek is.")
    return str(firm).strip()


async def _read(file: StarletteUpload) -> tuple[str, bytes]:
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Invalid("file", "Het bestand is groter dan 50 MB.")
    return file.filename or "grootboek.csv", data


def _firms(session: Session) -> list[str]:
    return sorted(set(session.exec(select(ObligationRow.firm)).all()))


def _analysis_dict(a: L.Analysis, lang: str) -> dict[str, Any]:
    return {
        "ledger": _ledger_dict(a.ledger), "lines": a.lines, "total_eur": a.total_eur,
        "addressable_eur": a.addressable_eur, "addressable_share": round(a.addressable_share, 4),
        "review_eur": a.review_eur, "review_lines": a.review_lines,
        "foreign_lines": a.foreign_lines, "obligation": a.obligation, "policy": a.policy,
        "due_eur": a.due_eur, "note": a.note, "switch_credit_eur": a.switch_credit_eur,
        "categories": [{"cpv": c.cpv, "label": c.label_nl if lang == "nl" else c.label_en,
                        "spend_eur": c.spend_eur, "lines": c.lines, "addressable": c.addressable,
                        "not_addressable_reason": c.reason} for c in a.categories],
        "registry": [r.__dict__ for r in a.registry],
        "groups": [{"cpv": g.cpv, "label": g.label_nl if lang == "nl" else g.label_en,
                    "supplier": g.supplier, "spend_eur": g.spend_eur, "lines": g.lines,
                    "options": [o.__dict__ for o in g.options]} for g in a.groups],
        "review": [_line_dict(ln) for ln in a.review],
    }


def _ledger_dict(row: LedgerRow) -> dict[str, Any]:
    return {"id": row.id, "firm": row.firm, "filename": row.filename,
            "uploaded_at": row.uploaded_at.isoformat(), "uploaded_by": row.uploaded_by,
            "obligation": row.obligation_ref, "mapping": row.mapping, "notes": len(row.notes)}


def _line_dict(ln: Any) -> dict[str, Any]:
    return {"id": ln.id, "row": ln.row, "date": ln.booked_on.isoformat(),
            "supplier": ln.supplier, "description": ln.description, "account": ln.account,
            "amount_eur": ln.amount_eur, "currency": ln.currency, "cpv": ln.cpv,
            "confidence": ln.confidence, "source": ln.source, "needs_review": ln.needs_review,
            "enterprise": ln.enterprise_ref}


# ---------------------------------------------------------------- pages


def _index(request: Request, session: Session, user: User, **extra: Any) -> Response:
    scope = ledger_scope(user)
    ctx = {"ledgers": L.ledgers_of(session, scope), "firm_choice": scope is None,
           "firms": _firms(session) if scope is None else [], "fields": FIELDS,
           "field_labels": FIELD_LABELS, "problem_nl": LEDGER_PROBLEM_NL}
    ctx.update(extra)
    return render(request, "ledgers/index.html", ctx,
                  status_code=422 if extra.get("problems") else 200)


@router.get("/ledgers", include_in_schema=False)
def ledgers_page(request: Request, user: LedgerUser, session: SessionDep) -> Response:
    return _index(request, session, user)


@router.post("/ledgers", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def ledgers_upload(request: Request, user: LedgerUser, session: SessionDep) -> Response:
    t = translator(request_lang(request))
    form = await request.form()
    upload = form.get("file")
    firm_field = str(form.get("firm") or "") or None
    obligation = str(form.get("obligation") or "").strip() or None
    mapping = {f: str(form.get(f"map_{f}") or "") for f in FIELDS if f"map_{f}" in form}
    if isinstance(upload, StarletteUpload) and upload.filename:
        name, data = await _read(upload)
        upload_store.save(request, [(name, data)], UPLOAD_MARK)
    else:
        kept = upload_store.load(request)
        if kept is None or kept.on_duplicate != UPLOAD_MARK:
            flash(request, t("Kies een bestand om in te lezen."), "error")
            return RedirectResponse("/ledgers", status_code=303)
        name, data = kept.files[0]
    try:
        firm = _firm_for_upload(user, firm_field)
        res = L.import_ledger(session, firm, data, name, user.email, mapping=mapping or None,
                              obligation_ref=obligation)
    except L.LedgerRefused as exc:
        header = _header_of(data, name)
        return _index(request, session, user, problems=exc.problems, refused=name,
                      header=header, mapping=_mapping_of(data, name, mapping),
                      firm=firm_field or "", obligation=obligation or "")
    upload_store.discard(request)
    if res.already_imported:
        flash(request, t("Dit bestand was al ingelezen; het bestaande grootboek wordt getoond."))
    else:
        flash(request, t("{n} regels ingelezen uit {filename}; {review} ter controle.",
                         n=res.lines, filename=name, review=res.review))
    return RedirectResponse(f"/ledgers/{res.ledger.id}", status_code=303)


def _header_of(data: bytes, name: str) -> list[str]:
    from api.importers.ledger import LedgerFileError, parse_ledger

    try:
        return parse_ledger(data, name).header
    except (LedgerFileError, DomainError):
        return []


def _mapping_of(data: bytes, name: str, given: dict[str, str]) -> dict[str, str]:
    from api.importers.ledger import LedgerFileError, parse_ledger

    try:
        guessed = parse_ledger(data, name).mapping
    except LedgerFileError:
        guessed = {}
    return {**guessed, **{k: v for k, v in given.items() if v}}


@router.get("/ledgers/{ledger_id}", include_in_schema=False)
def ledger_page(ledger_id: int, request: Request, user: LedgerUser,
                session: SessionDep) -> Response:
    ledger = _ledger(session, user, ledger_id)
    lang = request_lang(request)
    a = L.analyse(session, ledger)
    chart = [(c.label_nl if lang == "nl" else c.label_en) or "?" for c in a.categories]
    return render(request, "ledgers/show.html", {
        "a": a, "ledger": ledger, "problem_nl": LEDGER_PROBLEM_NL,
        "na_labels": SPEND_NOT_ADDRESSABLE_NL,
        "chart": [(label, c.spend_eur) for label, c in zip(chart, a.categories, strict=True)
                  if c.spend_eur > 0],
    })


@router.get("/ledgers/{ledger_id}/export.csv", include_in_schema=False)
def ledger_export(ledger_id: int, request: Request, user: LedgerUser,
                  session: SessionDep) -> Response:
    ledger = _ledger(session, user, ledger_id)
    rows = L.export_rows(session, ledger, request_lang(request))
    return csv_response([dict(zip(L.EXPORT_COLUMNS, r, strict=True)) for r in rows],
                        L.EXPORT_COLUMNS, f"grootboek-{ledger.id}.csv")


@router.post("/ledgers/{ledger_id}/lines/{line_id}", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def ledger_correct(ledger_id: int, line_id: int, request: Request, user: LedgerUser,
                         session: SessionDep) -> Response:
    t = translator(request_lang(request))
    ledger = _ledger(session, user, ledger_id)
    form = await request.form()
    try:
        n = L.correct(session, ledger, line_id, str(form.get("cpv") or ""), user.email,
                      user.role)
    except DomainError as exc:
        flash(request, t(exc.message, **exc.params), "error")
    else:
        flash(request, t("Gecorrigeerd: {n} regel(s) van deze leverancier.", n=n))
    return RedirectResponse(f"/ledgers/{ledger_id}#review", status_code=303)


@router.post("/ledgers/{ledger_id}/switches", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def ledger_switches(ledger_id: int, request: Request, user: LedgerUser,
                          session: SessionDep) -> Response:
    t = translator(request_lang(request))
    ledger = _ledger(session, user, ledger_id)
    form = await request.form()
    switches = []
    for value in form.getlist("switch"):
        ent, _, amount = str(value).partition("|")
        try:
            switches.append(L.Switch(ent, float(amount)))
        except ValueError:
            continue
    try:
        out = L.plan_switches(session, ledger, switches)
    except DomainError as exc:
        flash(request, t(exc.message, **exc.params), "error")
        return RedirectResponse(f"/ledgers/{ledger_id}#switches", status_code=303)
    flash(request, t("{n} overstap(pen) in het plan van {ref}: {pct} van de verplichting "
                     "gedekt.", n=len(switches), ref=out.obligation,
                     pct=f"{100 * out.coverage:.0f}%"))
    return RedirectResponse(f"/ledgers/{ledger_id}#switches", status_code=303)


@router.post("/ledgers/{ledger_id}/delete", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def ledger_delete(ledger_id: int, request: Request, user: LedgerUser,
                  session: SessionDep) -> Response:
    t = translator(request_lang(request))
    ledger = _ledger(session, user, ledger_id)
    n = L.delete_ledger(session, ledger)
    flash(request, t("Grootboek verwijderd met alle {n} regels.", n=n))
    return RedirectResponse("/ledgers", status_code=303)


# ---------------------------------------------------------------- API


class CorrectionIn(BaseModel):
    line: int = Field(description="the line's id")
    cpv: str = Field(description="8-digit CPV code")


class SwitchIn(BaseModel):
    enterprise: str
    amount_eur: float = Field(gt=0, description="yearly invoice euros moved")


class SwitchesIn(BaseModel):
    switches: list[SwitchIn]


@api_router.get("/ledgers")
def ledgers_json(user: LedgerUser, session: SessionDep) -> list[dict[str, Any]]:
    """The firm's ledgers (connectors: every firm's), newest first."""
    return [_ledger_dict(r) for r in L.ledgers_of(session, ledger_scope(user))]


@api_router.post("/ledgers")
async def ledgers_upload_json(
    user: LedgerUser, session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV (; or ,) or .xlsx purchase ledger")],
    mapping: Annotated[str | None, Form(description='JSON {"field": "header"}')] = None,
    firm: Annotated[str | None, Form(description="connectors: the firm")] = None,
    obligation: Annotated[str | None, Form()] = None,
) -> Response:
    """Import a ledger, all or nothing: 201 with the ledger, or 422 with every problem."""
    name, data = await _read(file)
    given: dict[str, str] | None = None
    if mapping:
        try:
            raw = json.loads(mapping)
        except json.JSONDecodeError:
            raise Invalid("mapping", "De kolomindeling is geen JSON.") from None
        if not isinstance(raw, dict):
            raise Invalid("mapping", "De kolomindeling is geen JSON-object.")
        given = {str(k): str(v) for k, v in raw.items()}
    try:
        res = L.import_ledger(session, _firm_for_upload(user, firm), data, name, user.email,
                              mapping=given, obligation_ref=obligation or None)
    except L.LedgerRefused as exc:
        return JSONResponse({"detail": {"message": str(exc), "field": "file",
                                        "problems": [L.problem_dict(p) for p in exc.problems]}},
                            status_code=422)
    return JSONResponse({"ledger": _ledger_dict(res.ledger), "lines": res.lines,
                         "review": res.review, "already_imported": res.already_imported,
                         "notes": res.notes}, status_code=200 if res.already_imported else 201)


@api_router.get("/ledgers/{ledger_id}")
def ledger_json(ledger_id: int, request: Request, user: LedgerUser,
                session: SessionDep) -> dict[str, Any]:
    """The analysis: spend by category, addressable share, registry suppliers, groups with
    the ranked enterprises and the credit of switching, the review queue."""
    ledger = _ledger(session, user, ledger_id)
    return _analysis_dict(L.analyse(session, ledger), request_lang(request))


@api_router.get("/ledgers/{ledger_id}/lines")
def ledger_lines_json(ledger_id: int, user: LedgerUser, session: SessionDep,
                      review: Annotated[bool, Query()] = False) -> list[dict[str, Any]]:
    """Every classified line (``review=true``: only those waiting for review)."""
    ledger = _ledger(session, user, ledger_id)
    return [_line_dict(ln) for ln in L.lines_of(session, ledger)
            if not review or ln.needs_review]


@api_router.post("/ledgers/{ledger_id}/corrections")
def ledger_correct_json(ledger_id: int, body: CorrectionIn, user: LedgerUser,
                        session: SessionDep) -> dict[str, Any]:
    """A CPV code for a line, applied to every line of its supplier and learnt."""
    ledger = _ledger(session, user, ledger_id)
    return {"updated": L.correct(session, ledger, body.line, body.cpv, user.email, user.role)}


@api_router.post("/ledgers/{ledger_id}/switches")
def ledger_switches_json(ledger_id: int, body: SwitchesIn, user: LedgerUser,
                         session: SessionDep) -> dict[str, Any]:
    """Switches into the obligation's plan (every row or none, with the reasons)."""
    ledger = _ledger(session, user, ledger_id)
    out = L.plan_switches(session, ledger, [L.Switch(s.enterprise, s.amount_eur)
                                            for s in body.switches])
    return {"obligation": out.obligation, "credit_eur": out.credit_eur,
            "planned_credit_eur": out.planned_credit_eur, "amount_eur": out.amount_eur,
            "coverage": round(out.coverage, 4)}


@api_router.delete("/ledgers/{ledger_id}")
def ledger_delete_json(ledger_id: int, user: LedgerUser, session: SessionDep) -> dict[str, Any]:
    """Delete the ledger and every line of it."""
    ledger = _ledger(session, user, ledger_id)
    return {"deleted_lines": L.delete_ledger(session, ledger)}



