"""The large firm's flow: its obligations, the engine's fulfilment plan, progress.

Pages (firm: its own obligations; officer: those under its own tenders, read-only;
connector/admin: all):

* ``/obligations`` — the list with what is due, planned and delivered (+ CSV).
* ``/obligations/{ref}`` — the plan (the engine's proposal when nothing is saved yet, or on
  request), which the firm can adjust (amounts, places, remove a row, add a row),
  recalculate and save (``planning.save_plan``); then progress: deliveries recorded with
  ``progress.record_delivery`` and a chart of delivered against planned credit.

Committing: ``POST /obligations/{ref}/commit`` and ``/uncommit`` (with a reason) turn the
saved draft into commitments and back (``plan_commit``; logged append-only).

JSON (under /api/v1): ``GET/PUT /obligations/{ref}/plan``, ``POST .../plan/commit``,
``POST .../plan/uncommit``,
``GET/POST /obligations/{ref}/deliveries``, ``POST .../deliveries/{id}/reversal`` (a wrong
delivery is corrected by a reversal row, never edited), ``POST .../deliveries/{id}/evidence``
(multipart: a PDF, PNG or JPEG) and ``GET /obligations/{ref}/evidence/{id}``. Credits are
always computed here from the policy's building blocks, never taken from the client.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, func, or_, select

from api import access, reasons
from api.capacity_view import capacity_fields
from api.clock import today
from api.convert import enterprise_from_row, obligation_from_row
from api.deps import (
    ApiUser,
    CurrentUser,
    SessionDep,
    api_error,
    csrf_protect,
    flash,
    render,
    require_roles,
)
from api.errors import DomainError, Forbidden, Invalid
from api.i18n import (
    N_,
    Eur,
    Num,
    api_lang,
    format_date,
    format_eur,
    month_label,
    request_lang,
    translate_plural,
    translator,
)
from api.messages import Message
from api.schemas import (
    ERROR_RESPONSES,
    PLAN_MAX_ROWS,
    DeliveriesPage,
    DeliveryIn,
    DeliveryOut,
    EvidenceOut,
    PlanEventOut,
    PlanIn,
    PlanOut,
    ReversalIn,
    UncommitIn,
)
from api.services import delivery_evidence, entity_edit, matching, plan_commit, progress
from api.services.capacity import capacity_states, commitments, period_of
from api.services.plan_commit import PlanRefused
from api.services.planning import plan_for_obligation, save_plan
from api.services.policies import obligation_policy
from api.services.tender_form import NumberError, fmt_number_input, parse_number
from api.tables import (
    AllocationRow,
    DeliveryEvidence,
    DeliveryRow,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
    User,
)
from api.web import entity_forms, pdf
from api.web.csv_export import Column, csv_response
from api.web.errors import http_status
from api.web.local_time import local_time
from api.web.params import PageQuery, RowId, list_params
from api.web.pdf import pdf_unavailable_page
from matcher.capacity import CapacityState, term_years, year_shares
from matcher.model import Obligation
from matcher.plan import Plan
from matcher.reasons import Reason
from matcher.refdata import municipalities
from matcher.valuation import (
    Policy,
    credit_for,
    credit_rate,
    list_policies,
    placement_block,
)

router = APIRouter(tags=["pages"])
api_router = APIRouter(tags=["obligations"], responses=ERROR_RESPONSES)

PER_PAGE = 20
# A row id in a path: bounded so that PostgreSQL's integer columns never overflow.
KIND_NL = {"purchase": "Inkoop", "placement": "Plaatsing"}
STATUS_NL = {"open": "Open", "met": "Voldaan", "closed": "Afgesloten",
             "planned": "Gepland", "committed": "Toegezegd"}
PLAN_ACTION_NL = {"commit": "Toegezegd", "uncommit": "Toezegging ingetrokken"}


# ---------------------------------------------------------------- helpers


def propose(session: Session, row: ObligationRow, on: date) -> Plan:
    """The engine's plan, on the shared cached ranking index (building the index is most
    of the cost)."""
    index = matching.get_index(session)
    has_planned = session.exec(select(func.count()).select_from(AllocationRow).where(
        AllocationRow.obligation_ref == row.ref, AllocationRow.status == "planned")).one()
    if has_planned:  # its own planned rows are about to be replaced: not committed
        index = copy.copy(index)
        index.set_committed(commitments(session, replanning=[row.ref]).by_enterprise)
    return plan_for_obligation(session, row.ref, on=on, index=index)


def _tender(session: Session, row: ObligationRow) -> TenderRow | None:
    return progress.tender_of(session, row)


def _enterprise_rows(session: Session, refs: set[str]) -> dict[str, EnterpriseRow]:
    if not refs:
        return {}
    return {e.ref: e for e in session.exec(
        select(EnterpriseRow).where(col(EnterpriseRow.ref).in_(refs)))}


@dataclass
class PlanLine:
    """One row of a plan as typed or proposed, with its computed credit and errors."""

    enterprise: str
    kind: str = "purchase"
    amount_raw: str = ""
    placements_raw: str = ""
    name: str = ""
    amount_eur: float = 0.0
    placements: int = 0
    credit_eur: float = 0.0
    block: str | None = None
    block_label: str = ""
    fit: float | None = None
    share: float | None = None
    capacity: CapacityState | None = None  # the enterprise's, after commitments elsewhere
    errors: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # The fields of ``errors`` that clash with the stored state (the registry, capacity,
    # commitments) rather than being wrong as input: the API answers those 409.
    conflicts: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"enterprise": self.enterprise, "name": self.name, "kind": self.kind,
                "amount_eur": round(self.amount_eur, 2), "credit_eur": round(self.credit_eur, 2),
                "placements": self.placements, "block": self.block,
                "fit": None if self.fit is None else round(self.fit, 4)}


def price_lines(session: Session, row: ObligationRow, ob: Obligation, policy: Policy,
                lines: list[PlanLine], on: date) -> list[PlanLine]:
    """Check each line and compute its credit under ``policy`` (in place; returns lines).

    A purchase is credited at the policy's share for the enterprise's valid certificates;
    a placement as ``placements`` full-time places for a year under the most cautious
    building block for the enterprise's target groups. Both are bounded by the capacity
    the enterprise has left after its commitments elsewhere.
    """
    ents = _enterprise_rows(session, {ln.enterprise for ln in lines if ln.enterprise})
    booked = commitments(session, replanning=[row.ref])
    states = capacity_states(session, {ln.enterprise for ln in lines if ln.enterprise},
                             committed=booked)
    # The bounds are over the contract term, as the engine's plan counts them (what fits in
    # each of its calendar years; shown per year).
    period = period_of(row, progress.tender_of(session, row), on)
    years, shares = term_years(*period), year_shares(*period)
    seen: set[tuple[str, str]] = set()
    for ln in lines:
        def err(name: str, msg: str, _ln: PlanLine = ln, **params: Any) -> None:
            _ln.errors.setdefault(name, (msg, params))

        def clash(name: str, msg: str, _ln: PlanLine = ln, **params: Any) -> None:
            if name not in _ln.errors:
                _ln.conflicts.add(name)
            _ln.errors.setdefault(name, (msg, params))

        ent = ents.get(ln.enterprise)
        if not ln.enterprise:
            err("enterprise", "Kies een onderneming.")
            continue
        if ent is None or ent.vetting_status != "vetted":
            clash("enterprise", "Onbekende of niet gescreende onderneming {ref}.",
                  ref=ln.enterprise)
            continue
        ln.name = ent.name
        ln.capacity = states[ent.ref]
        engine_ent = enterprise_from_row(ent)
        state = booked.over_term(ent.ref, engine_ent.capacity, shares, years)
        if ln.kind not in KIND_NL:
            err("kind", "Kies inkoop of plaatsing.")
            continue
        if (ln.enterprise, ln.kind) in seen:
            err("enterprise", "Deze onderneming staat al met deze soort in het plan.")
            continue
        seen.add((ln.enterprise, ln.kind))
        if ln.kind == "purchase":
            try:
                amount = parse_number(ln.amount_raw)
            except NumberError:
                err("amount", "Vul een bedrag in, bijvoorbeeld 12.500 of 1250,50.")
                continue
            if amount is None or amount <= 0:
                err("amount", "Vul het inkoopbedrag (excl. btw) in.")
                continue
            share = credit_rate(policy, "purchase", on, enterprise=engine_ent)
            free = math.floor(state.free_purchase_eur * 100 + 1e-6) / 100
            ln.amount_eur, ln.share = round(amount, 2), share
            ln.credit_eur = credit_for(policy, "purchase", on, amount_eur=amount,
                                       enterprise=engine_ent)
            if amount > free + 0.005:
                clash("amount", "Meer dan de vrije inkoopcapaciteit over de looptijd van "
                                "{years} jaar ({free}).", free=Eur(free, 2), years=Num(years))
        else:
            try:
                n_raw = parse_number(ln.placements_raw)
            except NumberError:
                n_raw = math.nan
            if n_raw is None or not math.isfinite(n_raw) or n_raw < 1 or n_raw != int(n_raw):
                err("placements", "Vul een heel aantal plaatsingen in (1 of meer).")
                continue
            n = int(n_raw)
            block = placement_block(policy, engine_ent.target_groups, prefer=ob.target_groups)
            if block is None:
                clash("kind", "De doelgroepen van deze onderneming tellen niet mee als "
                              "plaatsing onder deze waarderingstabel.")
                continue
            free_places = int(state.free_placements + 1e-9)
            ln.placements, ln.block = n, block.key
            ln.block_label = block.label_nl
            ln.credit_eur = ln.amount_eur = credit_for(policy, "placement", on, placements=n,
                                                       block=block)
            if n > free_places:
                clash("placements", "Meer dan de vrije plaatsingen over de looptijd van "
                                    "{years} jaar ({free}).", free=free_places,
                      years=f"{years:g}")
    page_field = {"amount_eur": "amount"}
    for r in plan_commit.clashes_with_committed(session, row.ref,
                                                [(ln.enterprise, ln.kind) for ln in lines]):
        name = page_field.get(r.field, r.field)
        if name not in lines[r.index].errors:
            lines[r.index].conflicts.add(name)
        lines[r.index].errors.setdefault(name, (r.message, r.params))
    return lines


def lines_from_plan(session: Session, row: ObligationRow, lines_in: list[Any]) -> list[PlanLine]:
    out = []
    for r in lines_in:
        out.append(PlanLine(
            enterprise=r.enterprise, kind=r.kind,
            amount_raw=fmt_number_input(r.amount_eur) if r.kind == "purchase" else "",
            placements_raw=str(r.placements) if r.kind == "placement" else "",
            amount_eur=r.amount_eur, credit_eur=r.credit_eur, placements=r.placements,
            block=r.block, fit=getattr(r, "fit", None)))
    return out


def with_capacity(session: Session, row: ObligationRow, lines: list[PlanLine]
                  ) -> list[PlanLine]:
    """Each line's enterprise capacity, as this obligation's plan sees it (its own planned
    rows left out: the plan replaces them). In place; returns lines."""
    missing = {ln.enterprise for ln in lines if ln.capacity is None and ln.enterprise}
    if missing:
        states = capacity_states(session, missing, replanning=[row.ref])
        for ln in lines:
            if ln.capacity is None:
                ln.capacity = states.get(ln.enterprise)
    return lines


def lines_from_allocations(rows: list[AllocationRow]) -> list[PlanLine]:
    return [PlanLine(enterprise=a.enterprise_ref, kind=a.kind,
                     amount_raw=fmt_number_input(a.amount_eur) if a.kind == "purchase" else "",
                     placements_raw=str(a.placements) if a.kind == "placement" else "",
                     amount_eur=a.amount_eur, credit_eur=a.credit_eur, placements=a.placements,
                     block=a.block) for a in rows]


def lines_from_form(form: Any) -> list[PlanLine]:
    """Rows ``rows-{i}-*`` (unless ``rows-{i}-remove`` is ticked) and the ``new-*`` row."""
    try:
        n = min(int(str(form.get("n_rows") or 0)), PLAN_MAX_ROWS)
    except ValueError:
        n = 0
    lines = []
    prefixes = [f"rows-{i}-" for i in range(n)] + ["new-"]
    for p in prefixes:
        if form.get(p + "remove"):
            continue
        ent = str(form.get(p + "enterprise") or "").strip()
        amount = str(form.get(p + "amount") or "").strip()
        places = str(form.get(p + "placements") or "").strip()
        if p == "new-" and not (ent or amount or places):
            continue
        ent = ent.split(" ")[0] if " — " in ent else ent  # "E-001 — Name" from the datalist
        lines.append(PlanLine(enterprise=ent, kind=str(form.get(p + "kind") or "purchase"),
                              amount_raw=amount, placements_raw=places))
    return lines


@dataclass
class Overview:
    row: ObligationRow
    ob: Obligation
    policy: Policy
    tender: TenderRow | None
    allocations: list[AllocationRow]
    committed_credit: float
    planned_credit: float

    @property
    def due_eur(self) -> float:
        return float(self.ob.amount_eur or 0.0)


def overview(session: Session, row: ObligationRow) -> Overview:
    tender = _tender(session, row)
    ob = obligation_from_row(row, tender)
    allocs = progress.allocations(session, row.ref)
    return Overview(
        row=row, ob=ob, policy=obligation_policy(ob), tender=tender, allocations=allocs,
        committed_credit=round(sum(a.credit_eur for a in allocs if a.status == "committed"), 2),
        planned_credit=round(sum(a.credit_eur for a in allocs if a.status != "committed"), 2),
    )


def progress_series(session: Session, ov: Overview) -> tuple[progress.ProgressSeries,
                                                             list[DeliveryRow]]:
    on = today()
    delivered = progress.deliveries(session, ov.row.ref)
    start, end = period_of(ov.row, ov.tender, on)
    planned_total = ov.committed_credit + ov.planned_credit
    return progress.series(planned_total, ov.due_eur, delivered, start, end, on), delivered


def _block_label(block: Any, lang: str) -> str:
    """A valuation policy's building block by its own label in ``lang`` (the policy files
    carry both; they are data, not catalog texts)."""
    return str((block.label_en if lang == "en" else "") or block.label_nl)


def _msg(t: Any, err: tuple[str, dict[str, Any]]) -> str:
    return str(t(err[0], **err[1]))


def _error_text(t: Any, exc: DomainError, lang: str = "nl") -> str:
    """A service's error in the reader's language; ``*_eur`` parameters as euros."""
    params = {k: format_eur(v, lang=lang) if k.endswith("_eur") else v
              for k, v in exc.params.items()}
    return Message(exc.message, params).render(lang)  # dates, numbers for the reader


def _refusal_texts(t: Any, exc: PlanRefused, lang: str = "nl") -> dict[int, tuple[str, str]]:
    """Per refused row: (its field, the reason in the reader's language)."""
    return plan_commit.refusal_texts(exc, t, {"_eur": lambda v: format_eur(v, lang=lang)})


def _plan_refused(exc: PlanRefused, lang: str) -> Exception:
    """A refused save or commit as JSON: the message, the first field, and every row."""
    t = translator(lang)
    error = api_error(http_status(exc), _error_text(t, exc, lang), exc.field)
    api_field = {"amount": "amount_eur"}
    error.detail["rows"] = [  # type: ignore[index]
        {"index": i, "field": api_field.get(f, f), "message": m}
        for i, (f, m) in sorted(_refusal_texts(t, exc, lang).items())]
    return error


# ---------------------------------------------------------------- pages


def _list_rows(session: Session, user: User, q: str, status: str
               ) -> tuple[Any, Any]:
    stmt = access.visible_obligations(user, select(ObligationRow))
    count = access.visible_obligations(user, select(func.count()).select_from(ObligationRow))
    if q:
        cond = or_(col(ObligationRow.ref).ilike(f"%{q}%"), col(ObligationRow.firm).ilike(f"%{q}%"),
                   col(ObligationRow.tender_ref).ilike(f"%{q}%"))
        stmt, count = stmt.where(cond), count.where(cond)
    if status in STATUS_NL:
        stmt = stmt.where(ObligationRow.status == status)
        count = count.where(ObligationRow.status == status)
    return stmt.order_by(col(ObligationRow.ref)), count


def _summaries(session: Session, rows: list[ObligationRow]) -> list[dict[str, Any]]:
    refs = {r.ref for r in rows} or {""}
    trefs = {r.tender_ref for r in rows if r.tender_ref} or {""}
    tenders = {t.ref: t for t in session.exec(
        select(TenderRow).where(col(TenderRow.ref).in_(trefs)))}
    planned = dict(session.exec(
        select(AllocationRow.obligation_ref, func.sum(AllocationRow.credit_eur))
        .where(col(AllocationRow.obligation_ref).in_(refs))
        .group_by(AllocationRow.obligation_ref)).all())
    delivered = dict(session.exec(
        select(DeliveryRow.obligation_ref, func.sum(DeliveryRow.credit_eur))
        .where(col(DeliveryRow.obligation_ref).in_(refs))
        .group_by(DeliveryRow.obligation_ref)).all())
    out = []
    for r in rows:
        tender = tenders.get(r.tender_ref or "")
        due = obligation_from_row(r, tender).amount_eur
        done = float(delivered.get(r.ref) or 0.0)
        out.append({
            "ref": r.ref, "href": f"/obligations/{r.ref}", "firm": r.firm,
            "tender_ref": r.tender_ref, "tender_title": tender.title if tender else None,
            "due_eur": due, "planned_eur": float(planned.get(r.ref) or 0.0),
            "delivered_eur": done, "delivered_share": (done / due) if due else None,
            "due": r.due, "status": r.status,
        })
    return out


@router.get("/obligations", include_in_schema=False)
def obligation_list(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    q, status, page = list_params(request.query_params)
    stmt, count = _list_rows(session, user, q, status)
    total = int(session.exec(count).one())
    rows = list(session.exec(stmt.offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all())
    t = translator(request_lang(request))
    items = _summaries(session, rows)
    for it in items:
        it["status_label"] = t(STATUS_NL.get(it["status"], it["status"]))
    export = "/obligations/export.csv" + ("?" + request.url.query if request.url.query else "")
    return render(request, "obligations/list.html", {
        "items": items, "total": total, "page": page, "per_page": PER_PAGE, "q": q,
        "status": status, "statuses": STATUS_NL, "export_url": export,
    })


CSV_COLUMNS = (
    Column("ref", N_("Kenmerk")), Column("firm", N_("Opdrachtnemer")),
    Column("tender_title", N_("Aanbesteding")), Column("tender_ref", N_("Kenmerk aanbesteding")),
    Column("due_eur", N_("Verplichting (EUR)")), Column("planned_eur", N_("Gepland (EUR)")),
    Column("delivered_eur", N_("Geleverd (EUR)")), Column("due", N_("Uiterlijk")),
    Column("status", N_("Status"), STATUS_NL))


@router.get("/obligations/export.csv", include_in_schema=False)
def obligation_list_csv(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    q, status, _ = list_params(request.query_params)
    stmt, _ = _list_rows(session, user, q, status)
    rows = _summaries(session, list(session.exec(stmt).all()))
    return csv_response(request, rows, CSV_COLUMNS, "verplichtingen.csv")


def _enterprise_options(session: Session) -> list[tuple[str, str]]:
    return [(r, n) for r, n in session.exec(
        select(EnterpriseRow.ref, EnterpriseRow.name)
        .where(EnterpriseRow.vetting_status == "vetted")
        .order_by(col(EnterpriseRow.name)).limit(500)).all()]


def _detail(request: Request, session: Session, user: User, row: ObligationRow, *,
            lines: list[PlanLine] | None = None, proposal: bool = False,
            delivery: dict[str, Any] | None = None,
            delivery_errors: dict[str, str] | None = None,
            reversal_errors: dict[int, str] | None = None,
            commit_errors: list[str] | None = None, uncommit_error: str | None = None,
            status_code: int = 200, template: str = "obligations/detail.html",
            extra: dict[str, Any] | None = None) -> Response:
    t = translator(request_lang(request))
    ov = overview(session, row)
    on = today()
    editable = access.can_edit_obligation(user, row)
    committed = [a for a in ov.allocations if a.status == "committed"]
    planned = [a for a in ov.allocations if a.status != "committed"]
    explanation = None
    unmet_engine = None
    if lines is None:
        if proposal or not planned:
            try:
                plan = propose(session, row, on)
            except DomainError as exc:  # e.g. an unknown valuation policy on the obligation
                flash(request, exc.render(request_lang(request)), "error")
                lines = []
            else:
                lines = lines_from_plan(session, row, list(plan.rows))
                explanation, unmet_engine = plan.explanation, plan.unmet_eur
            proposal = True
        else:  # saved rows keep their saved credit
            lines = lines_from_allocations(planned)
    lang = request_lang(request)
    for ln in lines:  # the building block in the page's language (English showed Dutch)
        if ln.block and ln.block in ov.policy.blocks:
            ln.block_label = _block_label(ov.policy.blocks[ln.block], lang)
    with_capacity(session, row, lines)
    series, delivered = progress_series(session, ov)
    ents = _enterprise_rows(session, {a.enterprise_ref for a in ov.allocations}
                            | {ln.enterprise for ln in lines}
                            | {d.enterprise_ref for d in delivered})
    for ln in lines:
        if not ln.name and ln.enterprise in ents:
            ln.name = ents[ln.enterprise].name
    plan_credit = round(sum(ln.credit_eur for ln in lines if not ln.errors), 2)
    total_credit = round(ov.committed_credit + plan_credit, 2)
    unmet = round(max(0.0, ov.due_eur - total_credit), 2)
    upto = [v for v in series.delivered if v is not None]
    chart_labels = [month_label(m, request_lang(request)) for m in series.months]
    block_opts = [(k, _block_label(b, lang)) for k, b in ov.policy.blocks.items()
                  if b.kind != "activity"]
    block_opts += [(k, _block_label(b, lang)) for k, b in ov.policy.blocks.items()
                   if b.kind == "activity"]
    tender_visible = ov.tender is not None and access.can_see_tender(
        user, ov.tender, access.firm_tender_refs(session, user) if user.role == "firm" else None)
    line_rows = [{
        "i": i, "line": ln, "errors": {k: _msg(t, v) for k, v in ln.errors.items()},
    } for i, ln in enumerate(lines)]
    d = delivery or {"kind": "purchase", "on": on.isoformat()}
    return render(request, template, {
        **(extra or {}),
        "o": row, "ov": ov, "tender": ov.tender if tender_visible else None,
        "tender_ref": row.tender_ref, "editable": editable, "committed": committed,
        "can_edit_terms": user.role in ("officer", "connector", "admin"),
        "line_rows": line_rows, "proposal": proposal, "explanation": explanation,
        "unmet_engine": unmet_engine, "plan_credit": plan_credit, "total_credit": total_credit,
        "unmet": unmet, "ents": ents, "kind_labels": KIND_NL, "status_labels": STATUS_NL,
        "enterprise_options": _enterprise_options(session) if editable else [],
        "series": series, "chart_labels": chart_labels, "delivered_values": upto,
        "deliveries": list(reversed(delivered)), "block_options": block_opts,
        "reversed_ids": progress.reversed_ids(delivered),
        "evidence": delivery_evidence.by_delivery(
            session, {x.id for x in delivered if x.id is not None}),
        "reversal_errors": reversal_errors or {},
        "plan_status": plan_commit.plan_status(session, row.ref, ov.allocations),
        "commit_errors": commit_errors or [], "uncommit_error": uncommit_error,
        "local_time": local_time, "plan_actions": PLAN_ACTION_NL,
        "delivery": d, "delivery_errors": delivery_errors or {},
        "has_errors": any(ln.errors for ln in lines), "today": on,
        "plan_purchase": sum(ln.amount_eur for ln in lines if ln.kind == "purchase"),
        "plan_places": sum(ln.placements for ln in lines if ln.kind == "placement"),
        "plan_partners": len({ln.enterprise for ln in lines}),
    }, status_code=status_code)


def _row_or_404(session: Session, user: User, ref: str) -> ObligationRow:
    return access.get_obligation_or_404(session, user, ref)


def _edit_or_403(user: User, row: ObligationRow) -> None:
    if not access.can_edit_obligation(user, row):
        raise api_error(403, "Alleen de opdrachtnemer zelf (of een verbinder) kan het plan "
                             "wijzigen", None)


# --- the obligation form: its terms, set by the buyer's officers, connectors and admins
# (api.access.obligation_write_denial); checked and written as an import's record.

TermsUser = Annotated[User, Depends(require_roles("officer", "connector", "admin"))]


def _authorize(session: Session, user: User, row: ObligationRow | None
               ) -> entity_edit.Authorize:
    refs = access.officer_tender_refs(session, user) if user.role == "officer" else None

    def check(values: dict[str, Any]) -> None:
        denied = access.obligation_write_denial(user, values, row, refs)
        if denied is not None:
            raise Forbidden(denied[1], denied[0])

    return check


def _tender_options(session: Session, user: User) -> list[tuple[str, str]]:
    stmt = access.visible_tenders(user, select(TenderRow.ref, TenderRow.title))
    return [(r, title) for r, title in session.exec(
        stmt.order_by(col(TenderRow.ref)).limit(1000)).all()]


def _render_terms_form(request: Request, session: Session, user: User,
                       row: ObligationRow | None, form: dict[str, Any],
                       errors: entity_edit.FormErrors | None = None,
                       status_code: int = 200) -> Response:
    t = translator(request_lang(request))
    return render(request, "obligations/form.html", {
        "row": row, "form": form, "errors": entity_forms.error_texts(request, errors or {}),
        "tenders": _tender_options(session, user),
        "policies": [(p, p) for p in list_policies()],
        "statuses": [(s, t(STATUS_NL[s])) for s in entity_edit.OBLIGATION_STATUSES],
        "municipality_names": sorted(m.name for m in municipalities().values()),
    }, status_code=status_code)


async def _save_terms(request: Request, session: Session, user: User,
                      row: ObligationRow | None) -> Response:
    form, _ = await entity_forms.posted(request, "obligations")
    check = _authorize(session, user, row)
    try:
        # Refused before anything is checked: an officer's obligation under another
        # buyer's tender is not theirs to enter, whatever else the form holds.
        check({"tender_ref": form.get("tender") or None})
        outcome = entity_edit.save(session, "obligations", form, row, authorize=check)
    except Forbidden as exc:
        return _render_terms_form(request, session, user, row, form,
                                  entity_forms.refusal(exc), status_code=403)
    if outcome.conflict and row is not None:
        # Changed by someone else meanwhile: their save stands, this input comes back
        # with the record's new version (saving it again is then a knowing overwrite).
        form[entity_edit.VERSION] = entity_edit.version_of(row)
    if not outcome.ok:
        return _render_terms_form(request, session, user, row, form, outcome.errors,
                                  status_code=409 if outcome.conflict else 422)
    t = translator(request_lang(request))
    flash(request, t("Verplichting {ref} aangemaakt.", ref=outcome.ref) if outcome.created
          else t("Verplichting {ref} opgeslagen.", ref=outcome.ref))
    return RedirectResponse(f"/obligations/{outcome.ref}", status_code=303)


@router.get("/obligations/new", include_in_schema=False)
def obligation_new_form(request: Request, user: TermsUser, session: SessionDep) -> Response:
    form = entity_edit.form_of("obligations", None)
    form["tender"] = str(request.query_params.get("tender") or "")[:200]
    return _render_terms_form(request, session, user, None, form)


@router.post("/obligations/new", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def obligation_new_post(request: Request, user: TermsUser, session: SessionDep
                              ) -> Response:
    return await _save_terms(request, session, user, None)


def _terms_row_or_403(session: Session, user: User, ref: str) -> ObligationRow:
    row = _row_or_404(session, user, ref)
    try:
        _authorize(session, user, row)({"tender_ref": row.tender_ref})
    except Forbidden as exc:
        raise api_error(403, exc.as_message(), exc.field) from None
    return row


@router.get("/obligations/{ref}/edit", include_in_schema=False)
def obligation_edit_form(ref: str, request: Request, user: TermsUser, session: SessionDep
                         ) -> Response:
    row = _terms_row_or_403(session, user, ref)
    return _render_terms_form(request, session, user, row,
                              entity_edit.form_of("obligations", row))


@router.post("/obligations/{ref}/edit", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def obligation_edit_post(ref: str, request: Request, user: TermsUser,
                               session: SessionDep) -> Response:
    return await _save_terms(request, session, user, _terms_row_or_403(session, user, ref))


@router.get("/obligations/{ref}", include_in_schema=False)
def obligation_page(ref: str, request: Request, user: CurrentUser, session: SessionDep
                    ) -> Response:
    row = _row_or_404(session, user, ref)
    return _detail(request, session, user, row,
                   proposal=request.query_params.get("voorstel") == "1")


@router.get("/obligations/{ref}/rapport.pdf", include_in_schema=False)
def obligation_report_pdf(ref: str, request: Request, user: CurrentUser, session: SessionDep
                          ) -> Response:
    """The plan and progress as a PDF: the page's context in the report template."""
    row = _row_or_404(session, user, ref)
    if pdf.unavailable() is not None:
        return pdf_unavailable_page(request)
    lang = request_lang(request)
    page = _detail(request, session, user, row, template="obligations/report.html",
                   extra={"report_date": format_date(today(), "long", lang)})
    return pdf.pdf_response(bytes(page.body).decode(), f"plan-en-voortgang-{row.ref}.pdf")


@router.post("/obligations/{ref}/plan", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def obligation_plan_post(ref: str, request: Request, user: CurrentUser,
                               session: SessionDep) -> Response:
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    form = await request.form()
    lines = lines_from_form(form)
    ov = overview(session, row)
    price_lines(session, row, ov.ob, ov.policy, lines, today())
    action = str(form.get("action") or "save")
    if any(ln.errors for ln in lines):
        return _detail(request, session, user, row, lines=lines, status_code=422)
    if action != "save":
        return _detail(request, session, user, row, lines=lines)
    try:
        save_plan(session, row.ref, [ln.as_dict() for ln in lines])
    except PlanRefused as exc:  # e.g. a row committed meanwhile: every row marked, none saved
        for r in exc.rows:
            lines[r.index].errors.setdefault({"amount_eur": "amount"}.get(r.field, r.field),
                                             (r.message, r.params))
        return _detail(request, session, user, row, lines=lines, status_code=http_status(exc))
    flash(request, translate_plural("Het plan is opgeslagen: {n} regel.",
                                    "Het plan is opgeslagen: {n} regels.",
                                    len(lines), request_lang(request)))
    return RedirectResponse(f"/obligations/{ref}#plan", status_code=303)


@router.post("/obligations/{ref}/commit", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def obligation_commit_post(ref: str, request: Request, user: CurrentUser,
                                 session: SessionDep) -> Response:
    """"Plan toezeggen": the saved draft rows become commitments, capacity re-checked now."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    lang = request_lang(request)
    t = translator(lang)
    try:
        plan_commit.commit_plan(session, row.ref, user.email)
    except PlanRefused as exc:
        return _detail(request, session, user, row, status_code=http_status(exc),
                       commit_errors=[_error_text(t, exc, lang)] + [
                           m for _, (_, m) in sorted(_refusal_texts(t, exc, lang).items())])
    except DomainError as exc:
        return _detail(request, session, user, row, status_code=http_status(exc),
                       commit_errors=[_error_text(t, exc, lang)])
    flash(request, t("Het plan is toegezegd: de capaciteit van de ondernemingen is geboekt."))
    return RedirectResponse(f"/obligations/{ref}#plan", status_code=303)


@router.post("/obligations/{ref}/uncommit", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def obligation_uncommit_post(ref: str, request: Request, user: CurrentUser,
                                   session: SessionDep) -> Response:
    """"Toezegging intrekken", with the reason typed beside the button (logged)."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    form = await request.form()
    lang = request_lang(request)
    t = translator(lang)
    try:
        plan_commit.uncommit_plan(session, row.ref, user.email, str(form.get("reason") or ""))
    except DomainError as exc:
        return _detail(request, session, user, row, status_code=http_status(exc),
                       uncommit_error=_error_text(t, exc, lang))
    flash(request, t("De toezegging is ingetrokken; het plan is weer een ontwerp."))
    return RedirectResponse(f"/obligations/{ref}#plan", status_code=303)


def _delivery_input(data: dict[str, Any]) -> progress.DeliveryInput:
    """Raises Invalid on a field that cannot be read."""
    def num(name: str) -> float:
        try:
            value = parse_number(str(data.get(name) or ""))
        except NumberError:
            raise Invalid(name, "Vul een getal in, bijvoorbeeld 1250,50.") from None
        return value or 0.0

    raw_on = str(data.get("on") or "").strip()
    try:
        on = date.fromisoformat(raw_on)
    except ValueError:
        try:
            d, m, y = raw_on.split("-")
            on = date(int(y), int(m), int(d))
        except ValueError:
            raise Invalid("on", "Vul een datum in als dd-mm-jjjj.") from None
    ent = str(data.get("enterprise_ref") or "").strip()
    ent = ent.split(" ")[0] if " — " in ent else ent
    kind = str(data.get("kind") or "purchase")
    return progress.DeliveryInput(
        enterprise_ref=ent, on=on, kind=kind,
        amount_eur=num("amount_eur") if kind == "purchase" else 0.0,
        block=str(data.get("block") or "") or None,
        hours_per_week=num("hours_per_week") if kind == "placement" else 0.0,
        months=num("months") if kind == "placement" else 0.0,
        note=str(data.get("note") or ""),
        unplanned=bool(data.get("unplanned")),
        unplanned_reason=str(data.get("unplanned_reason") or ""))


async def _upload(file: Any) -> tuple[str, bytes] | None:
    """(filename, bytes) of an uploaded file, or None when no file was chosen. Reads one
    byte past the limit only, so an oversized file is refused without holding it whole."""
    if file is None or not hasattr(file, "read") or not getattr(file, "filename", ""):
        return None
    data: bytes = await file.read(delivery_evidence.MAX_BYTES + 1)
    return str(file.filename), data


@router.post("/obligations/{ref}/deliveries", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def obligation_delivery_post(ref: str, request: Request, user: CurrentUser,
                                   session: SessionDep) -> Response:
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    form = await request.form()
    data = {k: str(form.get(k) or "") for k in (
        "enterprise_ref", "on", "kind", "amount_eur", "block", "hours_per_week", "months",
        "note", "unplanned", "unplanned_reason")}
    lang = request_lang(request)
    t = translator(lang)
    try:
        upload = await _upload(form.get("evidence"))
        if upload is not None:  # a file that cannot be kept refuses the whole delivery
            delivery_evidence.check_file(*upload)
        saved = progress.record_delivery(session, row, _delivery_input(data), today(),
                                         recorded_by=user.email)
        if upload is not None:
            delivery_evidence.attach(session, saved, *upload, uploaded_by=user.email)
    except DomainError as exc:
        errors = {exc.field or "note": _error_text(t, exc, lang)}
        return _detail(request, session, user, row, delivery=data, delivery_errors=errors,
                       status_code=422)
    flash(request, t("Levering vastgelegd: {credit} social return.",
                     credit=Eur(saved.credit_eur)))
    return RedirectResponse(f"/obligations/{ref}#voortgang", status_code=303)


@router.post("/obligations/{ref}/deliveries/{delivery_id}/reversal", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def obligation_reversal_post(ref: str, delivery_id: RowId, request: Request,
                                   user: CurrentUser, session: SessionDep) -> Response:
    """"Corrigeren": append the reversal of one delivery, with the reason typed beside it."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    form = await request.form()
    lang = request_lang(request)
    t = translator(lang)
    try:
        progress.reverse_delivery(session, row, delivery_id, str(form.get("reason") or ""),
                                  user.email)
    except DomainError as exc:
        return _detail(request, session, user, row,
                       reversal_errors={delivery_id: _error_text(t, exc, lang)},
                       status_code=http_status(exc))
    flash(request, t("Levering gecorrigeerd: de tegenboeking is vastgelegd."))
    return RedirectResponse(f"/obligations/{ref}#voortgang", status_code=303)


def _evidence_response(ev: DeliveryEvidence) -> Response:
    return Response(content=ev.data, media_type=ev.media_type, headers={
        "Content-Disposition": f'attachment; filename="{ev.filename}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@router.get("/obligations/{ref}/evidence/{evidence_id}", include_in_schema=False)
def obligation_evidence_file(ref: str, evidence_id: RowId, user: CurrentUser,
                             session: SessionDep) -> Response:
    row = _row_or_404(session, user, ref)
    try:
        ev = delivery_evidence.get(session, row.ref, evidence_id)
    except DomainError as exc:
        raise api_error(http_status(exc), exc.as_message(), exc.field) from None
    return _evidence_response(ev)


DELIVERY_KIND_NL = {"delivery": "Levering", "reversal": "Correctie"}
DELIVERY_CSV = (
    Column("id", N_("Nr.")),
    Column("on", N_("Datum")),
    Column("enterprise_name", N_("Onderneming")),
    Column("enterprise_ref", N_("Kenmerk onderneming")), Column("part", N_("Soort"), KIND_NL),
    Column("kind", N_("Regel"), DELIVERY_KIND_NL), Column("reverses_id", N_("Corrigeert nr.")),
    Column("amount_eur", N_("Factuurbedrag (EUR)")),
    Column("credit_eur", N_("Waarde social return (EUR)")),
    Column("unplanned", N_("Buiten het plan")),
    Column("reason", N_("Reden")), Column("recorded_by", N_("Vastgelegd door")),
    Column("note", N_("Opmerking")))


@router.get("/obligations/{ref}/deliveries.csv", include_in_schema=False)
def obligation_deliveries_csv(ref: str, request: Request, user: CurrentUser,
                              session: SessionDep) -> Response:
    row = _row_or_404(session, user, ref)
    found = progress.deliveries(session, row.ref)
    names = dict(session.exec(select(EnterpriseRow.ref, EnterpriseRow.name).where(
        col(EnterpriseRow.ref).in_({d.enterprise_ref for d in found} or {""}))).all())
    rows = [{"id": d.id, "on": d.on, "enterprise_ref": d.enterprise_ref,
             "enterprise_name": names.get(d.enterprise_ref),
             "kind": d.kind, "part": d.part, "reverses_id": d.reverses_id,
             "amount_eur": d.amount_eur, "credit_eur": d.credit_eur,
             "unplanned": d.unplanned, "reason": d.reason,
             "recorded_by": d.recorded_by, "note": d.note}
            for d in found]
    return csv_response(request, rows, DELIVERY_CSV, f"leveringen-{row.ref}.csv")


# ---------------------------------------------------------------- JSON API


def _plan_out(ov: Overview, lines: list[PlanLine], status: str,
              explanation: Sequence[Reason] = (), lang: str = "nl") -> dict[str, Any]:
    credit = round(ov.committed_credit + sum(ln.credit_eur for ln in lines), 2)
    unmet = round(max(0.0, ov.due_eur - credit), 2)
    committed = [a for a in ov.allocations if a.status == "committed"]
    return {
        "obligation": ov.row.ref, "policy": ov.policy.name, "due_eur": round(ov.due_eur, 2),
        "committed_credit_eur": ov.committed_credit, "credit_eur": credit, "unmet_eur": unmet,
        "met": unmet <= 0, "explanation": reasons.outs(explanation, lang),
        "rows": [{**ln.as_dict(), "status": status,
                  **(capacity_fields(ln.capacity) if ln.capacity else {})} for ln in lines],
        "committed": [{"enterprise": a.enterprise_ref, "name": "", "kind": a.kind,
                       "amount_eur": a.amount_eur, "credit_eur": a.credit_eur,
                       "placements": a.placements, "block": a.block, "fit": None,
                       "status": "committed"} for a in committed],
    }


def _names(session: Session, out: dict[str, Any]) -> dict[str, Any]:
    refs = {r["enterprise"] for r in out["rows"] + out["committed"]}
    ents = _enterprise_rows(session, refs)
    for r in out["rows"] + out["committed"]:
        r["name"] = ents[r["enterprise"]].name if r["enterprise"] in ents else r["name"]
    return out


@api_router.get("/obligations/{ref:path}/plan", response_model=PlanOut,
                summary="The engine's fulfilment plan proposal for an obligation")
def plan_get(ref: str, request: Request, user: ApiUser, session: SessionDep,
             saved: Annotated[bool, Query(description="Return the saved plan instead of a "
                                                      "new proposal")] = False
             ) -> dict[str, Any]:
    """Which enterprises, how many euros of purchases or which placements, the credit each
    yields under the policy's building blocks, and the total against what is due. Nothing
    is saved; ``PUT`` the rows (adjusted or not) to save them."""
    row = _row_or_404(session, user, ref)
    ov = overview(session, row)
    if saved:
        lines = lines_from_allocations([a for a in ov.allocations if a.status != "committed"])
        with_capacity(session, row, lines)
        return _names(session, _plan_out(ov, lines, "planned"))
    try:
        plan = propose(session, row, today())
    except DomainError as exc:
        raise api_error(http_status(exc), exc.as_message(), exc.field) from None
    lines = with_capacity(session, row, lines_from_plan(session, row, list(plan.rows)))
    return _names(session, _plan_out(ov, lines, "proposed", plan.explanation,
                                     api_lang(request)))


@api_router.put("/obligations/{ref:path}/plan", response_model=PlanOut,
                summary="Save a (possibly adjusted) fulfilment plan")
def plan_put(ref: str, body: PlanIn, request: Request, user: ApiUser, session: SessionDep
             ) -> dict[str, Any]:
    """Replaces the obligation's planned rows (committed rows stay): every row is saved, or
    none. Credits are computed from the policy. A row that is wrong as input (the same
    enterprise and kind twice) refuses the plan with 422; a row that clashes with the stored
    state (an enterprise unknown or not vetted, over its free capacity, whose target groups
    count for no placement under the policy, or already committed for this obligation with
    that kind) with 409. Either way ``detail.rows`` gives each faulty row's index, field and
    reason (``detail.field`` is the first, e.g. ``rows[i].amount_eur``)."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    ov = overview(session, row)
    lines = [PlanLine(enterprise=r.enterprise, kind=r.kind,
                      amount_raw="" if r.amount_eur is None else repr(float(r.amount_eur)),
                      placements_raw="" if r.placements is None else str(r.placements))
             for r in body.rows]
    price_lines(session, row, ov.ob, ov.policy, lines, today())
    bad = [(i, ln) for i, ln in enumerate(lines) if ln.errors]
    if bad:  # the whole plan is refused, with the reason for every row at fault
        api_name = {"amount": "amount_eur"}
        rows: list[dict[str, Any]] = [
            {"index": i, "field": api_name.get(name, name), "message": msg.format(**params)}
            for i, ln in bad for name, (msg, params) in list(ln.errors.items())[:1]]
        # 409 only when every refused row clashes with the stored state (see above).
        state = all(next(iter(ln.errors)) in ln.conflicts for _, ln in bad)
        error = api_error(409 if state else 422, str(rows[0]["message"]),
                          f"rows[{rows[0]['index']}].{rows[0]['field']}")
        error.detail["rows"] = rows  # type: ignore[index]
        raise error
    try:
        save_plan(session, row.ref, [ln.as_dict() for ln in lines])
    except PlanRefused as exc:
        raise _plan_refused(exc, api_lang(request)) from None
    ov = overview(session, row)
    saved = lines_from_allocations([a for a in ov.allocations if a.status != "committed"])
    with_capacity(session, row, saved)
    return _names(session, _plan_out(ov, saved, "planned"))


def _event_out(ev: Any) -> dict[str, Any]:
    return {"id": ev.id, "obligation_ref": ev.obligation_ref, "action": ev.action,
            "reason": ev.reason, "decided_by": ev.decided_by, "decided_at": ev.decided_at,
            "rows": ev.rows}


@api_router.post("/obligations/{ref:path}/plan/commit", response_model=PlanEventOut,
                 status_code=201, summary="Commit the saved plan (books the capacity)")
def plan_commit_post(ref: str, request: Request, user: ApiUser, session: SessionDep
                     ) -> dict[str, Any]:
    """The saved planned rows become committed: they then count against the enterprises'
    capacity for every other obligation and search. Capacity and vetting are checked again
    now; when a row no longer fits the whole commit is refused (409) with ``detail.rows``.
    The commit is logged (append-only) and returned."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    try:
        event = plan_commit.commit_plan(session, row.ref, user.email)
    except PlanRefused as exc:
        raise _plan_refused(exc, api_lang(request)) from None
    except DomainError as exc:
        raise _api_error(exc, api_lang(request)) from None
    return _event_out(event)


@api_router.post("/obligations/{ref:path}/plan/uncommit", response_model=PlanEventOut,
                 status_code=201, summary="Withdraw the plan's commitment, with a reason")
def plan_uncommit_post(ref: str, body: UncommitIn, request: Request, user: ApiUser,
                       session: SessionDep) -> dict[str, Any]:
    """The committed rows become planned again (their capacity is no longer booked beyond
    this obligation's draft); the reason, who and the rows are logged (append-only)."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    try:
        event = plan_commit.uncommit_plan(session, row.ref, user.email, body.reason)
    except DomainError as exc:
        raise _api_error(exc, api_lang(request)) from None
    return _event_out(event)


def _evidence_out(ev: DeliveryEvidence, obligation_ref: str) -> dict[str, Any]:
    return {"id": ev.id, "delivery_id": ev.delivery_id, "filename": ev.filename,
            "media_type": ev.media_type, "size": ev.size, "sha256": ev.sha256,
            "uploaded_by": ev.uploaded_by, "uploaded_at": ev.uploaded_at,
            "href": f"/api/v1/obligations/{obligation_ref}/evidence/{ev.id}"}


def _delivery_out(d: DeliveryRow, reversed_ids: set[int] | None = None,
                  evidence: list[DeliveryEvidence] | None = None) -> dict[str, Any]:
    return {"id": d.id, "obligation_ref": d.obligation_ref, "enterprise_ref": d.enterprise_ref,
            "on": d.on, "amount_eur": d.amount_eur, "credit_eur": d.credit_eur, "note": d.note,
            "kind": d.kind, "part": d.part, "reverses_id": d.reverses_id,
            "reversed": d.id in (reversed_ids or set()), "unplanned": d.unplanned,
            "reason": d.reason, "recorded_by": d.recorded_by,
            "evidence": [_evidence_out(ev, d.obligation_ref) for ev in evidence or []]}


def _api_error(exc: DomainError, lang: str) -> Exception:
    return api_error(http_status(exc), _error_text(translator(lang), exc, lang), exc.field)


@api_router.get("/obligations/{ref:path}/deliveries", response_model=DeliveriesPage,
                summary="Deliveries recorded against an obligation, with progress")
def deliveries_get(
    ref: str, user: ApiUser, session: SessionDep,
    page: PageQuery = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Newest first; ``progress`` is the monthly cumulative planned and delivered credit."""
    row = _row_or_404(session, user, ref)
    ov = overview(session, row)
    series, delivered = progress_series(session, ov)
    items = list(reversed(delivered))
    start = (page - 1) * per_page
    shown = items[start:start + per_page]
    done = progress.reversed_ids(delivered)
    files = delivery_evidence.by_delivery(session, {d.id for d in shown if d.id is not None})
    return {"items": [_delivery_out(d, done, files.get(d.id or 0)) for d in shown],
            "total": len(items), "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(len(items) / per_page)), "progress": series.as_dict()}


@api_router.post("/obligations/{ref:path}/deliveries", response_model=DeliveryOut, status_code=201,
                 summary="Record a delivery (a purchase or a placement)")
def deliveries_post(ref: str, body: DeliveryIn, request: Request, user: ApiUser,
                    session: SessionDep) -> dict[str, Any]:
    """The credit is computed from the obligation's policy: a purchase at the share for the
    enterprise's certificates on that date, a placement by building block, hours and months.

    Refused with 409 (the error envelope, with the field) unless the enterprise is in the
    plan or the commitments (or ``unplanned``), the date is not in the future nor more than
    ten years back and lies within the contract term and the policy's validity, the
    enterprise was vetted that day, the block is in the obligation's policy, and the
    purchase or placement fits in what the enterprise can still deliver that year; an
    unknown enterprise is 404. 422 is for the request by itself: the schema, and the
    rules in its descriptions (a purchase's amount, a placement's block, hours and months,
    the reason of an unplanned delivery)."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    data = progress.DeliveryInput(
        enterprise_ref=body.enterprise_ref, on=body.on, kind=body.kind,
        amount_eur=body.amount_eur, block=body.block, hours_per_week=body.hours_per_week,
        months=body.months, note=body.note, unplanned=body.unplanned,
        unplanned_reason=body.unplanned_reason)
    try:
        saved = progress.record_delivery(session, row, data, today(), recorded_by=user.email)
    except DomainError as exc:
        raise _api_error(exc, api_lang(request)) from None
    return _delivery_out(saved)


@api_router.post("/obligations/{ref:path}/deliveries/{delivery_id}/reversal",
                 response_model=DeliveryOut, status_code=201,
                 summary="Correct a delivery: append its reversal (amounts negated)")
def reversal_post(ref: str, delivery_id: RowId, body: ReversalIn, request: Request,
                  user: ApiUser, session: SessionDep) -> dict[str, Any]:
    """Deliveries are never edited or deleted; a wrong one is cancelled by a reversal with a
    reason and who made it. A delivery is reversed at most once (409 the second time)."""
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    try:
        saved = progress.reverse_delivery(session, row, delivery_id, body.reason, user.email)
    except DomainError as exc:
        raise _api_error(exc, api_lang(request)) from None
    return _delivery_out(saved)


@api_router.post("/obligations/{ref:path}/deliveries/{delivery_id}/evidence",
                 response_model=EvidenceOut, status_code=201,
                 summary="Attach evidence (an invoice or contract: PDF, PNG or JPEG, 5 MB)")
async def evidence_post(ref: str, delivery_id: RowId, request: Request, user: ApiUser,
                        session: SessionDep,
                        file: Annotated[UploadFile, File(description="PDF, PNG or JPEG")]
                        ) -> dict[str, Any]:
    row = _row_or_404(session, user, ref)
    _edit_or_403(user, row)
    upload = await _upload(file)
    try:
        if upload is None:
            raise Invalid("evidence", "Kies een bestand.")
        delivery = delivery_evidence.delivery_of(session, row.ref, delivery_id)
        ev = delivery_evidence.attach(session, delivery, *upload, uploaded_by=user.email)
    except DomainError as exc:
        raise _api_error(exc, api_lang(request)) from None
    return _evidence_out(ev, row.ref)


@api_router.get("/obligations/{ref:path}/evidence/{evidence_id}", response_class=Response,
                summary="Download one evidence file of an obligation's delivery")
def evidence_get(ref: str, evidence_id: RowId, request: Request, user: ApiUser,
                 session: SessionDep) -> Response:
    row = _row_or_404(session, user, ref)
    try:
        ev = delivery_evidence.get(session, row.ref, evidence_id)
    except DomainError as exc:
        raise _api_error(exc, api_lang(request)) from None
    return _evidence_response(ev)
