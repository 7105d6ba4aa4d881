"""Spend analysis pages and API (issue #15): a firm's purchase ledgers.

Pages: GET /ledgers (the firm's ledgers, upload), POST /ledgers (upload: the columns and
first rows checked at once, a file whose columns are not all recognised comes back with
the mapping form, the upload kept in the session's temporary upload; else the whole file
goes to a background job, ``api.services.import_jobs`` format "ledger"), GET
/ledgers/jobs/{id} (its progress, refreshing itself, then the ledger or every problem),
POST /ledgers/jobs/{id}/cancel, GET /ledgers/{id} (spend by category chart, addressable
share, registry suppliers, suggested switches, review queue), GET /ledgers/{id}/export.csv,
POST /ledgers/{id}/lines/{line_id} (a correction), POST /ledgers/{id}/switches (switches
into the obligation's plan), POST /ledgers/{id}/delete.

GET /ledgers/access (who has access: the firm's grants with grant and revoke, a
connector's firms, every grant for admins), POST /ledgers/access (grant),
POST /ledgers/access/{id}/revoke.

API under /api/v1/ledgers: the same. Only the firm and the connectors it granted access
see a ledger (``api.access.ledger_firms``); anyone else gets 404, and the ledger is not in
their lists.
"""

from __future__ import annotations

import json
from functools import partial as bind
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.datastructures import UploadFile as StarletteUpload

from api.access import (
    can_see_ledger,
    ledger_firms,
    ledger_grant_firm,
    ledger_grant_scope,
    ledger_upload_firm,
)
from api.db import get_engine
from api.deps import SessionDep, csrf_protect, flash, render, require_roles
from api.errors import DomainError, Invalid, NotFound
from api.i18n import (
    N_,
    api_lang,
    format_pct,
    request_lang,
    translate_plural,
    translator,
)
from api.importers.ledger import FIELDS
from api.labels import LEDGER_PROBLEM_NL, SPEND_NOT_ADDRESSABLE_NL, SPEND_SOURCE_NL
from api.schemas import ERROR_RESPONSES, ErrorResponse
from api.services import import_jobs
from api.services import ledgers as L
from api.tables import LedgerRow, User
from api.web import upload_store
from api.web.csv_export import Column, csv_response
from api.web.params import RowId

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["ledgers"], responses=ERROR_RESPONSES)

LedgerUser = Annotated[User, Depends(require_roles("firm", "connector"))]
# Who has access to which firm's ledgers: the firm, its connectors, and admins.
GrantsUser = Annotated[User, Depends(require_roles("firm", "connector", "admin"))]
MAX_BYTES = 50 * 1024 * 1024
FIELD_LABELS = {"supplier": "Leverancier", "description": "Omschrijving",
                "account": "Grootboekrekening", "account_name": "Naam grootboekrekening",
                "amount": "Bedrag excl. btw", "date": "Datum",
                "kvk": "KvK-nummer", "place": "Plaats", "currency": "Valuta",
                "amount_currency": "Bedrag in valuta", "credit": "Credit (naast Debet)",
                "dc": "Debet/credit-teken (D/C)"}
UPLOAD_MARK = "ledger"  # the flow holding an upload (api.web.upload_store)


def _ledger(session: Session, user: User, ledger_id: int) -> LedgerRow:
    row = session.get(LedgerRow, ledger_id)
    if row is None or not can_see_ledger(session, user, row.firm):
        raise NotFound(None, "Onbekend grootboek {id}.", id=ledger_id)
    return row


async def _read(file: StarletteUpload) -> tuple[str, bytes]:
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Invalid("file", "Het bestand is groter dan 50 MB.")
    return file.filename or "grootboek.csv", data


def _analysis_dict(a: L.Analysis, lang: str) -> dict[str, Any]:
    return {
        "ledger": _ledger_dict(a.ledger), "lines": a.lines, "total_eur": a.total_eur,
        "addressable_eur": a.addressable_eur, "addressable_share": round(a.addressable_share, 4),
        "review_eur": a.review_eur, "review_lines": a.review_lines,
        "foreign_lines": a.foreign_lines, "converted_lines": a.converted_lines,
        "converted_eur": a.converted_eur, "obligation": a.obligation, "policy": a.policy,
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
    firms = ledger_firms(session, user)
    ctx = {"ledgers": L.ledgers_of(session, firms), "firm_choice": user.role != "firm",
           "firms": firms if user.role != "firm" else [], "fields": FIELDS,
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
    fresh = isinstance(upload, StarletteUpload) and bool(upload.filename)
    if isinstance(upload, StarletteUpload) and upload.filename:
        name, data = await _read(upload)
    else:
        kept = upload_store.load(request, session, user)
        if kept is None or kept.purpose != UPLOAD_MARK:
            flash(request, t("Kies een bestand om in te lezen."), "error")
            return RedirectResponse("/ledgers", status_code=303)
        name, data = kept.files[0]
    try:
        firm = ledger_upload_firm(session, user, firm_field)
        if obligation:
            L.check_obligation(session, firm, obligation)
        # The columns and the first rows at once (the mapping form comes back here); the
        # whole file then goes to a background job whose page shows its progress.
        L.check_upload(session, firm, data, name, mapping or None)
    except L.LedgerRefused as exc:
        if fresh:  # held for the next try: the user fixes the mapping, not the file
            upload_store.save(request, session, user, [(name, data)], UPLOAD_MARK)
        header = _header_of(data, name)
        return _index(request, session, user, problems=exc.problems, refused=name,
                      header=header, mapping=_mapping_of(data, name, mapping),
                      firm=firm_field or "", obligation=obligation or "")
    params = {"firm": firm, "mapping": mapping or None, "obligation": obligation,
              "uploaded_by": user.email}
    job_id = await anyio.to_thread.run_sync(bind(
        import_jobs.submit, get_engine(), user, [(name, data)], format="ledger", write=True,
        params=params))
    upload_store.discard(request, session)
    return RedirectResponse(f"/ledgers/jobs/{job_id}", status_code=303)


@router.get("/ledgers/jobs/{job_id}", include_in_schema=False)
def ledger_job_page(job_id: str, request: Request, user: LedgerUser,
                    session: SessionDep) -> Response:
    """The upload's progress while its job runs (the page refreshes itself), then the
    ledger (done) or every problem (failed: nothing was written)."""
    lang = request_lang(request)
    t = translator(lang)
    job = import_jobs.get(session, job_id, user)
    view = import_jobs.view(job, lang=lang)  # its stored messages in the page's language
    report = view["report"] or {}
    if job.state == "done" and report.get("ledger"):
        if report.get("already_imported"):
            flash(request, t("Dit bestand was al ingelezen; het bestaande grootboek wordt "
                             "getoond."))
        else:
            flash(request, t("{n} regels ingelezen uit {filename}; {review} ter controle.",
                             n=report["lines"], filename=report["filename"],
                             review=report["review"]))
        return RedirectResponse(f"/ledgers/{report['ledger']}", status_code=303)
    return render(request, "ledgers/job.html", {"job": view, "report": report,
                                                "problem_nl": LEDGER_PROBLEM_NL})


@router.post("/ledgers/jobs/{job_id}/cancel", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def ledger_job_cancel(job_id: str, request: Request, user: LedgerUser) -> Response:
    import_jobs.cancel(get_engine(), job_id, user)
    return RedirectResponse(f"/ledgers/jobs/{job_id}", status_code=303)


def _header_of(data: bytes, name: str) -> list[str]:
    from api.importers.ledger import LedgerFileError, parse_ledger

    try:
        return parse_ledger(data, name, max_rows=L.CHECK_ROWS).header
    except (LedgerFileError, DomainError):
        return []


def _mapping_of(data: bytes, name: str, given: dict[str, str]) -> dict[str, str]:
    from api.importers.ledger import LedgerFileError, parse_ledger

    try:
        guessed = parse_ledger(data, name, max_rows=L.CHECK_ROWS).mapping
    except LedgerFileError:
        guessed = {}
    return {**guessed, **{k: v for k, v in given.items() if v}}


# -------------------------------------------------- who has access (before /ledgers/{id})


def _grant_dict(g: L.Grant) -> dict[str, Any]:
    return {"id": g.id, "firm": g.firm, "connector": g.email, "name": g.name,
            "organisation": g.organisation, "granted_by": g.granted_by,
            "granted_at": g.granted_at.isoformat()}


def _access_page(request: Request, session: Session, user: User,
                 error: str | None = None) -> Response:
    connectors, orgs = L.connector_choices(session) if user.role == "firm" else ([], [])
    return render(request, "ledgers/access.html", {
        "grants": L.grants_of(session, ledger_grant_scope(session, user)),
        "can_grant": user.role == "firm" and bool(ledger_firms(session, user)),
        "connectors": connectors, "organisations": orgs, "error": error,
    }, status_code=422 if error else 200)


@router.get("/ledgers/access", include_in_schema=False)
def ledger_access_page(request: Request, user: GrantsUser, session: SessionDep) -> Response:
    return _access_page(request, session, user)


@router.post("/ledgers/access", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def ledger_access_grant(request: Request, user: GrantsUser,
                              session: SessionDep) -> Response:
    t = translator(request_lang(request))
    firm = ledger_grant_firm(session, user)
    form = await request.form()
    who = str(form.get("connector") or "")
    kind, _, value = who.partition(":")
    try:
        L.grant_access(session, firm, user.email,
                       connector=value if kind == "user" else None,
                       organisation=value if kind == "org" else None)
    except DomainError as exc:
        return _access_page(request, session, user, t(exc.message, **exc.params))
    flash(request, t("Toegang gegeven aan {who}.", who=value))
    return RedirectResponse("/ledgers/access", status_code=303)


@router.post("/ledgers/access/{grant_id}/revoke", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def ledger_access_revoke(grant_id: RowId, request: Request, user: GrantsUser,
                         session: SessionDep) -> Response:
    t = translator(request_lang(request))
    L.revoke_access(session, ledger_grant_firm(session, user), grant_id)
    flash(request, t("Toegang ingetrokken."))
    return RedirectResponse("/ledgers/access", status_code=303)


@router.get("/ledgers/{ledger_id}", include_in_schema=False)
def ledger_page(ledger_id: RowId, request: Request, user: LedgerUser,
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
def ledger_export(ledger_id: RowId, request: Request, user: LedgerUser,
                  session: SessionDep) -> Response:
    ledger = _ledger(session, user, ledger_id)
    rows = L.export_records(session, ledger, request_lang(request))
    return csv_response(request, rows, EXPORT_COLUMNS, f"grootboek-{ledger.id}.csv")


EXPORT_COLUMNS = (
    Column("row", N_("Regel")), Column("date", N_("Datum")), Column("supplier", N_("Leverancier")),
    Column("kvk", N_("KvK-nummer")), Column("description", N_("Omschrijving")),
    Column("account", N_("Grootboekrekening")), Column("amount_eur", N_("Bedrag (EUR)")),
    Column("currency", N_("Valuta")), Column("amount_currency", N_("Bedrag in valuta")),
    Column("cpv", N_("CPV-code")), Column("cpv_label", N_("Categorie")),
    Column("confidence", N_("Zekerheid")), Column("source", N_("Bron"), SPEND_SOURCE_NL),
    Column("needs_review", N_("Te controleren")), Column("addressable", N_("Adresseerbaar")),
    Column("enterprise_name", N_("Sociale onderneming")),
    Column("enterprise", N_("Kenmerk sociale onderneming")))


@router.post("/ledgers/{ledger_id}/lines/{line_id}", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def ledger_correct(ledger_id: RowId, line_id: RowId, request: Request, user: LedgerUser,
                         session: SessionDep) -> Response:
    ledger = _ledger(session, user, ledger_id)
    form = await request.form()
    try:
        n = L.correct(session, ledger, line_id, str(form.get("cpv") or ""), user.email,
                      user.role)
    except DomainError as exc:
        flash(request, exc.render(request_lang(request)), "error")
    else:
        flash(request, translate_plural("Gecorrigeerd: {n} regel van deze leverancier.",
                                        "Gecorrigeerd: {n} regels van deze leverancier.",
                                        n, request_lang(request)))
    return RedirectResponse(f"/ledgers/{ledger_id}#review", status_code=303)


@router.post("/ledgers/{ledger_id}/switches", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def ledger_switches(ledger_id: RowId, request: Request, user: LedgerUser,
                          session: SessionDep) -> Response:
    lang = request_lang(request)
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
        flash(request, exc.render(request_lang(request)), "error")
        return RedirectResponse(f"/ledgers/{ledger_id}#switches", status_code=303)
    flash(request, translate_plural(
        "{n} overstap in het plan van {ref}: {pct} van de verplichting gedekt.",
        "{n} overstappen in het plan van {ref}: {pct} van de verplichting gedekt.",
        len(switches), lang, ref=out.obligation,
        pct=format_pct(out.coverage, 0, fraction=True, lang=lang)))
    return RedirectResponse(f"/ledgers/{ledger_id}#switches", status_code=303)


@router.post("/ledgers/{ledger_id}/delete", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def ledger_delete(ledger_id: RowId, request: Request, user: LedgerUser,
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
    """The firm's ledgers (connectors: of the firms that granted them access), newest
    first."""
    return [_ledger_dict(r) for r in L.ledgers_of(session, ledger_firms(session, user))]


def _api_job_url(job_id: str) -> str:
    return f"/api/v1/ledgers/jobs/{job_id}"


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Accepted: the whole file is imported by a background job; poll "
                         "`Location` (`GET /api/v1/ledgers/jobs/{job_id}`) for its progress, "
                         "then the ledger or every problem",
          "headers": {"Location": {"description": "The job's address",
                                   "schema": {"type": "string"}}}},
    422: {"model": ErrorResponse,
          "description": "Refused at once (nothing stored, no job): a mapping that is not "
                         "JSON, a firm you may not upload for, or a file whose columns or "
                         "first rows cannot be read (`detail.problems`: every one)"},
    503: {"model": ErrorResponse,
          "description": "The job queue cannot be reached: nothing was started"},
}


@api_router.post("/ledgers", status_code=202, responses=UPLOAD_RESPONSES,
                 summary="Import a purchase ledger (a background job)")
async def ledgers_upload_json(
    request: Request, user: LedgerUser, session: SessionDep,
    file: Annotated[UploadFile, File(description="CSV (; or ,) or .xlsx purchase ledger")],
    mapping: Annotated[str | None, Form(description='JSON {"field": "header"}')] = None,
    firm: Annotated[str | None, Form(description="connectors: the firm")] = None,
    obligation: Annotated[str | None, Form()] = None,
) -> Response:
    """Import a ledger, all or nothing. The columns and the first rows are checked at
    once (422 with every problem); the whole file then goes to a background job: 202 with
    the job at `Location`, which ends `done` with the ledger or `failed` with every
    problem (nothing written)."""
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
    lang = api_lang(request)
    the_firm = ledger_upload_firm(session, user, firm)
    if obligation:
        L.check_obligation(session, the_firm, obligation)
    try:
        L.check_upload(session, the_firm, data, name, given)
    except L.LedgerRefused as exc:
        return JSONResponse({"detail": {"message": exc.render(lang), "field": "file",
                                        "problems": [L.problem_dict(p, lang)
                                                     for p in exc.problems]}},
                            status_code=422, headers={"Content-Language": lang})
    params = {"firm": the_firm, "mapping": given, "obligation": obligation or None,
              "uploaded_by": user.email}
    session.close()  # the job's transaction is another connection's
    job_id = await anyio.to_thread.run_sync(bind(
        import_jobs.submit, get_engine(), user, [(name, data)], format="ledger", write=True,
        params=params))

    def answer() -> dict[str, Any]:
        with Session(get_engine()) as s:
            return _job_answer(s, import_jobs.get(s, job_id, user), lang)

    return JSONResponse(await anyio.to_thread.run_sync(answer), status_code=202,
                        headers={"Location": _api_job_url(job_id),
                                 "Content-Language": lang})


def _job_answer(session: Session, job: Any, lang: str) -> dict[str, Any]:
    """A ledger upload's job as the API shows it: state and progress; once done the
    ledger (``ledger``, ``lines``, ``review``, ``already_imported``), once failed the
    message and every problem in ``lang``."""
    view = import_jobs.view(job, lang=lang)
    report = view.pop("report") or {}
    for key in ("mode", "on_duplicate", "partial", "writable"):
        view.pop(key, None)
    view["ledger"] = None
    if job.state == "done" and report.get("ledger"):
        row = session.get(LedgerRow, report["ledger"])
        view["ledger"] = _ledger_dict(row) if row is not None else None
        view.update(lines=report.get("lines"), review=report.get("review"),
                    already_imported=bool(report.get("already_imported")))
    elif job.state == "failed" and "problems" in report:
        view["message"] = report.get("message") or view["error"]
        view["problems"] = [_problem_in(p, lang) for p in report.get("problems") or []]
    return view


def _problem_in(p: dict[str, Any], lang: str) -> dict[str, Any]:
    """A stored problem (the parser's English) in ``lang`` by its code."""
    return {**p, "message": L.problem_message(str(p.get("code")), p.get("params") or {},
                                              p.get("message", ""), lang)}


@api_router.get("/ledgers/jobs/{job_id}", summary="A ledger upload's job",
                description="`state`: queued, running (`step`, `rows_done` of "
                "`rows_total`), done (`ledger`, `lines`, `review`, `already_imported`), "
                "failed (`error`, `message`, `problems`: nothing was written) or cancelled.")
def ledger_job_json(job_id: str, request: Request, user: LedgerUser,
                    session: SessionDep) -> dict[str, Any]:
    return _job_answer(session, import_jobs.get(session, job_id, user), api_lang(request))


@api_router.delete("/ledgers/jobs/{job_id}", summary="Cancel a ledger upload's job",
                   description="A queued job ends at once; a running one stops at its next "
                   "step and writes nothing (202 until it has).",
                   responses={202: {"description": "Stopping"}})
def ledger_job_cancel_json(job_id: str, request: Request, user: LedgerUser) -> JSONResponse:
    job = import_jobs.cancel(get_engine(), job_id, user)
    with Session(get_engine()) as s:
        view = _job_answer(s, job, api_lang(request))
    return JSONResponse(view, status_code=200 if job.state in import_jobs.ENDED else 202,
                        headers={"Location": _api_job_url(job_id)})


class GrantIn(BaseModel):
    """Exactly one of ``connector`` and ``organisation`` (422 otherwise); one that names
    no connector is 404."""
    connector: str | None = Field(default=None, description="a connector's e-mail address")
    organisation: str | None = Field(
        default=None, description="or an organisation: every connector working there")


@api_router.get("/ledgers/access")
def ledger_access_json(user: GrantsUser, session: SessionDep) -> list[dict[str, Any]]:
    """Who has access to which firm's ledgers: a firm its own grants, a connector the
    grants of the firms it works with, an admin every grant."""
    return [_grant_dict(g) for g in L.grants_of(session, ledger_grant_scope(session, user))]


@api_router.post("/ledgers/access", status_code=201)
def ledger_access_grant_json(body: GrantIn, user: GrantsUser,
                             session: SessionDep) -> dict[str, Any]:
    """The firm lets a connector (or every connector of an organisation) see its ledgers."""
    firm = ledger_grant_firm(session, user)
    row = L.grant_access(session, firm, user.email, connector=body.connector,
                         organisation=body.organisation)
    return next(_grant_dict(g) for g in L.grants_of(session, [firm]) if g.id == row.id)


@api_router.delete("/ledgers/access/{grant_id}")
def ledger_access_revoke_json(grant_id: RowId, user: GrantsUser,
                              session: SessionDep) -> dict[str, Any]:
    """The firm withdraws a grant: that connector no longer sees its ledgers."""
    L.revoke_access(session, ledger_grant_firm(session, user), grant_id)
    return {"revoked": grant_id}


@api_router.get("/ledgers/{ledger_id}")
def ledger_json(ledger_id: RowId, request: Request, user: LedgerUser,
                session: SessionDep) -> dict[str, Any]:
    """The analysis: spend by category, addressable share, registry suppliers, groups with
    the ranked enterprises and the credit of switching, the review queue."""
    ledger = _ledger(session, user, ledger_id)
    return _analysis_dict(L.analyse(session, ledger), api_lang(request))


@api_router.get("/ledgers/{ledger_id}/lines")
def ledger_lines_json(ledger_id: RowId, user: LedgerUser, session: SessionDep,
                      review: Annotated[bool, Query()] = False) -> list[dict[str, Any]]:
    """Every classified line (``review=true``: only those waiting for review)."""
    ledger = _ledger(session, user, ledger_id)
    return [_line_dict(ln) for ln in L.lines_of(session, ledger)
            if not review or ln.needs_review]


@api_router.post("/ledgers/{ledger_id}/corrections")
def ledger_correct_json(ledger_id: RowId, body: CorrectionIn, user: LedgerUser,
                        session: SessionDep) -> dict[str, Any]:
    """A CPV code for a line, applied to every line of its supplier and learnt."""
    ledger = _ledger(session, user, ledger_id)
    return {"updated": L.correct(session, ledger, body.line, body.cpv, user.email, user.role)}


@api_router.post("/ledgers/{ledger_id}/switches")
def ledger_switches_json(ledger_id: RowId, body: SwitchesIn, user: LedgerUser,
                         session: SessionDep) -> dict[str, Any]:
    """Switches into the obligation's plan (every row or none, with the reasons)."""
    ledger = _ledger(session, user, ledger_id)
    out = L.plan_switches(session, ledger, [L.Switch(s.enterprise, s.amount_eur)
                                            for s in body.switches])
    return {"obligation": out.obligation, "credit_eur": out.credit_eur,
            "planned_credit_eur": out.planned_credit_eur, "amount_eur": out.amount_eur,
            "coverage": round(out.coverage, 4)}


@api_router.delete("/ledgers/{ledger_id}")
def ledger_delete_json(ledger_id: RowId, user: LedgerUser, session: SessionDep) -> dict[str, Any]:
    """Delete the ledger and every line of it."""
    ledger = _ledger(session, user, ledger_id)
    return {"deleted_lines": L.delete_ledger(session, ledger)}



