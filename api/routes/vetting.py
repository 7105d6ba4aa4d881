"""Vetting (connector, admin): the queue of enterprises to screen, decisions, history, CSV.

GET  /vetting                    pending enterprises; vettings and certificates running out
                                 within a month (flagged); expired vettings
GET  /vetting/export.csv         the same queue as CSV
GET  /vetting/{ref}              one enterprise: decision form and its vetting history
GET  /vetting/{ref}/history.csv  its history as CSV
POST /vetting/{ref}              approve / reject / back to pending, with validity and reason

JSON: POST /api/v1/vetting/{enterprise_ref}, GET /api/v1/vetting/queue,
GET /api/v1/vetting/{enterprise_ref}/events. Decisions go through
``api.services.vetting_flow.decide`` (state + append-only VettingEvent in one
transaction); nothing here edits or deletes an event.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from api.clock import today
from api.deps import ConnectorUser, SessionDep, api_error, csrf_protect, flash, render
from api.errors import DomainError
from api.i18n import N_, Day, api_lang, request_lang, translator
from api.labels import TARGET_GROUP_NL, VETTING_NL
from api.messages import msg, render_text
from api.schemas import (
    ERROR_RESPONSES,
    EventsPage,
    VettingIn,
    VettingOut,
    VettingQueuePage,
)
from api.services import vetting_flow
from api.services.free_text import clean_text
from api.tables import EnterpriseRow, VettingEvent
from api.web.csv_export import Column, csv_response
from api.web.errors import http_status
from api.web.local_time import local_time
from api.web.params import PageQuery
from matcher.refdata import municipalities

router = APIRouter(tags=["pages"])
api_router = APIRouter(prefix="/vetting", tags=["vetting"], responses=ERROR_RESPONSES)

FLAG_NL = {
    "pending": "Wacht op screening",
    "expiring": "Screening verloopt binnen een maand",
    "expired": "Screening verlopen",
    "cert_expiring": "Keurmerk verloopt binnen een maand",
}
QUEUE_COLUMNS = (
    Column("flag", N_("Signaal"), FLAG_NL),
    Column("name", N_("Onderneming")),
    Column("ref", N_("Kenmerk")),
    Column("municipality_name", N_("Gemeente")), Column("municipality", N_("Gemeentecode")),
    Column("vetting_status", N_("Screening"), VETTING_NL),
    Column("vetting_valid_until", N_("Screening geldig tot")),
    Column("days_left", N_("Dagen over")),
    Column("certificate", N_("Keurmerk")),
    Column("certificate_valid_until", N_("Keurmerk geldig tot")))
HISTORY_COLUMNS = (
    Column("id", N_("Nr.")),
    Column("decided_at", N_("Besloten op")),
    Column("decided_by", N_("Door")),
    Column("enterprise_name", N_("Onderneming")),
    Column("enterprise_ref", N_("Kenmerk onderneming")),
    Column("status", N_("Screening"), VETTING_NL), Column("valid_until", N_("Geldig tot")),
    Column("reason", N_("Reden")))


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def queue_rows(q: vetting_flow.VettingQueue, on: date) -> list[dict[str, Any]]:
    """One flat row per item of the queue (pages, CSV and JSON share it)."""
    rows: list[dict[str, Any]] = []

    def base(flag: str, e: EnterpriseRow) -> dict[str, Any]:
        until = e.vetting_valid_until
        return {"flag": flag, "ref": e.ref, "name": e.name,
                "municipality": e.municipality_code, "vetting_status": e.vetting_status,
                "vetting_valid_until": _iso(until),
                "days_left": (until - on).days if until else None,
                "certificate": None, "certificate_valid_until": None}

    rows += [base("pending", e) for e in q.pending]
    rows += [base("expiring", e) for e in q.expiring]
    rows += [base("expired", e) for e in q.expired]
    for e, scheme, level, until in q.certs_expiring:
        row = base("cert_expiring", e)
        row.update(certificate=f"{scheme} {level}".strip() if level else scheme,
                   certificate_valid_until=until.isoformat(), days_left=(until - on).days)
        rows.append(row)
    return rows


def _event_dict(ev: VettingEvent, lang: str = "nl") -> dict[str, Any]:
    # An import's words name the file only, in the reader's language (event_text).
    return {"id": ev.id, "enterprise_ref": ev.enterprise_ref, "status": ev.status,
            "valid_until": _iso(ev.valid_until),
            "reason": render_text(vetting_flow.event_text(ev.reason), lang) or None,
            "decided_by": render_text(vetting_flow.event_text(ev.decided_by), lang),
            "decided_at": _iso(ev.decided_at)}


def _enterprise_state(e: EnterpriseRow) -> dict[str, Any]:
    return {"ref": e.ref, "name": e.name, "vetting_status": e.vetting_status,
            "vetted_by": e.vetted_by, "vetted_on": _iso(e.vetted_on),
            "vetting_valid_until": _iso(e.vetting_valid_until)}


def _enterprise(session: Any, ref: str) -> EnterpriseRow:
    row = None if "\x00" in ref else session.exec(
        select(EnterpriseRow).where(EnterpriseRow.ref == ref)).first()
    if row is None:
        raise api_error(404, msg("Onderneming {ref} niet gevonden", ref=repr(ref)), "ref")
    return row  # type: ignore[no-any-return]


# --- pages ------------------------------------------------------------------------------

@router.get("/vetting", include_in_schema=False)
def vetting_page(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    on = today()
    q = vetting_flow.queue(session, on)
    return render(request, "vetting/index.html", {
        "q": q, "on": on, "default_until": on + timedelta(days=vetting_flow.DEFAULT_VALIDITY_DAYS),
        "soon": on + timedelta(days=vetting_flow.EXPIRY_WARNING_DAYS),
        "vetting_labels": VETTING_NL, "tg_labels": TARGET_GROUP_NL,
        "vetting_state": vetting_flow.vetting_state,
    })


@router.get("/vetting/export.csv", include_in_schema=False)
def vetting_csv(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    on = today()
    munis = municipalities()
    rows = [{**r, "municipality_name": munis[r["municipality"]].name
             if r["municipality"] in munis else None}
            for r in queue_rows(vetting_flow.queue(session, on, limit=10_000), on)]
    return csv_response(request, rows, QUEUE_COLUMNS, "screening.csv")


def _detail(request: Request, session: Any, row: EnterpriseRow, *, errors: dict[str, str]
            | None = None, form: dict[str, str] | None = None, status_code: int = 200
            ) -> Response:
    on = today()
    certs = []
    for cert in row.certifications or []:
        until = vetting_flow._cert_date(cert.get("valid_until"))
        certs.append({**cert, "until": until,
                      "expired": bool(until and until < on),
                      "expiring": bool(until and on <= until <= on + timedelta(
                          days=vetting_flow.EXPIRY_WARNING_DAYS))})
    until = row.vetting_valid_until
    default_until = on + timedelta(days=vetting_flow.DEFAULT_VALIDITY_DAYS)
    return render(request, "vetting/detail.html", {
        "e": row, "events": vetting_flow.events(session, row.ref, limit=200), "certs": certs,
        "on": on, "days_left": (until - on).days if until else None,
        "errors": errors or {},
        "form": form or {"status": "vetted", "valid_until": default_until.isoformat(),
                         "reason": ""},
        "vetting_labels": VETTING_NL, "tg_labels": TARGET_GROUP_NL, "local_time": local_time,
    }, status_code=status_code)


@router.get("/vetting/{ref}", include_in_schema=False)
def vetting_detail(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                   ) -> Response:
    return _detail(request, session, _enterprise(session, ref))


@router.get("/vetting/{ref}/history.csv", include_in_schema=False)
def vetting_history_csv(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                        ) -> Response:
    row = _enterprise(session, ref)
    # decided_at as the stored moment, so the file shows it in Dutch wall-clock time.
    events = [{**_event_dict(ev), "decided_at": ev.decided_at, "enterprise_name": row.name}
              for ev in vetting_flow.events(session, row.ref, limit=100_000)]
    return csv_response(request, events, HISTORY_COLUMNS, f"screening-{row.ref}.csv")


def _safe_next(value: str | None, default: str) -> str:
    # Only back to our own vetting pages: never an open redirect.
    if value and value.startswith("/vetting") and "//" not in value and "\\" not in value:
        return value
    return default


@router.post("/vetting/{ref}", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def vetting_decide(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                         ) -> Response:
    row = _enterprise(session, ref)
    data = await request.form()
    form = {k: clean_text(str(data.get(k) or "")) for k in ("status", "valid_until", "reason")}
    t = translator(request_lang(request))
    try:
        valid_until = vetting_flow.parse_date(form["valid_until"])
        row, event = vetting_flow.decide(
            session, ref, form["status"], by=user.email, today=today(),
            reason=form["reason"], valid_until=valid_until)
    except DomainError as exc:
        session.rollback()
        message = exc.render(request_lang(request))
        flash(request, t("Niet opgeslagen: {message}", message=message), "error")
        return _detail(request, session, _enterprise(session, ref),
                       errors={exc.field or "status": message}, form=form, status_code=422)
    if event.status == "vetted":
        flash(request, t("{name} is goedgekeurd, geldig tot {until}.", name=row.name,
                         until=Day(event.valid_until, "short")))
    elif event.status == "rejected":
        flash(request, t("{name} is afgewezen.", name=row.name))
    else:
        flash(request, t("{name} staat weer in behandeling.", name=row.name))
    return RedirectResponse(_safe_next(str(data.get("next") or ""), f"/vetting/{ref}"),
                            status_code=303)


# --- JSON ---------------------------------------------------------------------------------


@api_router.get("/queue", response_model=VettingQueuePage, summary="The vetting queue")
def api_queue(
    user: ConnectorUser, session: SessionDep,
    flag: Annotated[Literal["pending", "expiring", "expired", "cert_expiring"] | None,
                    Query(description="Only this kind of item")] = None,
    page: PageQuery = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Pending enterprises, vettings expiring within a month, expired vettings and
    certificates expiring within a month, flagged."""
    on = today()
    rows = queue_rows(vetting_flow.queue(session, on, limit=10_000), on)
    counts = {f: sum(1 for r in rows if r["flag"] == f) for f in FLAG_NL}
    if flag:
        rows = [r for r in rows if r["flag"] == flag]
    total = len(rows)
    return {"items": rows[(page - 1) * per_page: page * per_page], "total": total,
            "page": page, "per_page": per_page, "pages": max(1, math.ceil(total / per_page)),
            "counts": counts}


@api_router.get("/{enterprise_ref:path}/events", response_model=EventsPage,
                summary="Vetting history of one enterprise")
def api_events(
    enterprise_ref: str, request: Request, user: ConnectorUser, session: SessionDep,
    page: PageQuery = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Newest first. The log is append-only: there is no route to edit or delete an event."""
    row = _enterprise(session, enterprise_ref)
    events = vetting_flow.events(session, row.ref, limit=100_000)
    total = len(events)
    lang = api_lang(request)
    return {"items": [_event_dict(e, lang)
                      for e in events[(page - 1) * per_page: page * per_page]],
            "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


@api_router.post("/{enterprise_ref:path}", response_model=VettingOut,
                 summary="Approve, reject or re-queue an enterprise")
def api_decide(enterprise_ref: str, body: VettingIn, request: Request, user: ConnectorUser,
               session: SessionDep) -> dict[str, Any]:
    """Sets the enterprise's vetting state and appends a vetting event, in one transaction.
    Rejecting needs a reason; approving without ``valid_until`` makes it valid for a year."""
    _enterprise(session, enterprise_ref)
    lang = api_lang(request)
    try:
        row, event = vetting_flow.decide(
            session, enterprise_ref, body.status, by=user.email, today=today(),
            reason=clean_text(body.reason), valid_until=body.valid_until)
    except DomainError as exc:
        session.rollback()
        raise api_error(http_status(exc), exc.render(lang), exc.field) from None
    return {"enterprise": _enterprise_state(row), "event": _event_dict(event, lang)}
