"""Curation (connector, admin): the queue of proposed matches, decisions, the log, CSV.

GET  /curation                  open tenders, obligations and Challenges (filter by kind, text),
                                each with the engine's top candidates not yet decided
GET  /curation/export.csv       the queue as CSV (every open query of the chosen kind)
POST /curation/decide           accept / reject / pin / unpin one match, with a reason
                                (required for reject), appended to the curation log
GET  /curation/log              the log, newest first; filters give one match's history
GET  /curation/log.csv          the whole log as CSV (one column per feature score)

JSON: POST /api/v1/curation/decisions, GET /api/v1/curation/queue, GET /api/v1/curation/log.

The log is append-only (``api.services.curation_log.record``): two connectors deciding on
the same match are both kept, and no route edits or deletes a decision. The ranking comes
from ``api.services.matching`` (match_tender / match_obligation / match_challenge).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import or_
from sqlmodel import Session, col, select

from api import reasons
from api.capacity_view import capacity_fields
from api.clock import today
from api.deps import ConnectorUser, SessionDep, api_error, csrf_protect, flash, render
from api.errors import DomainError, NotFound
from api.i18n import N_, api_lang, request_lang, translator
from api.labels import FEATURE_NL
from api.schemas import (
    ERROR_RESPONSES,
    CurationQueuePage,
    DecisionIn,
    DecisionOut,
    LogPage,
)
from api.services import curation_log, matching
from api.services.challenge_board import STAGES, clean_text, deadline_of
from api.services.curation_log import DecisionInput
from api.services.matching import ChallengeMatches, cached_match
from api.tables import ChallengeRow, CurationDecision, EnterpriseRow, ObligationRow, TenderRow
from api.web.csv_export import Column, csv_response
from api.web.curation_forms import DECISION_NL, FORM_ERROR_KEY, pop_form_error, proposal_dict
from api.web.errors import http_status
from api.web.local_time import local_time
from api.web.params import PageQuery, page_param
from matcher.refdata import municipalities

router = APIRouter(tags=["pages"])
api_router = APIRouter(prefix="/curation", tags=["curation"], responses=ERROR_RESPONSES)

KIND_NL = {"tender": "Aanbesteding", "obligation": "Verplichting", "challenge": "Challenge"}
KIND_PLURAL_NL = {"tender": "Aanbestedingen", "obligation": "Verplichtingen",
                  "challenge": "Challenges"}
# How many of the engine's best candidates a query offers, and how many undecided of them
# the queue shows per query; queries per page keep the page well under 150 ms.
TOP_K = 10
SHOWN = 3
QUERIES_PER_PAGE = 5
LOG_PER_PAGE = 50
QUEUE_COLUMNS = (
    Column("query_kind", N_("Soort"), KIND_NL), Column("query_title", N_("Vraag")),
    Column("query_ref", N_("Kenmerk vraag")), Column("rank", N_("Positie")),
    Column("enterprise_name", N_("Onderneming")),
    Column("enterprise_ref", N_("Kenmerk onderneming")),
    Column("municipality_name", N_("Gemeente")), Column("municipality", N_("Gemeentecode")),
    Column("score", N_("Score")),
    Column("distance_km", N_("Afstand (km)")),
    Column("free_purchase_eur_per_year", N_("Vrije inkoopcapaciteit per jaar (EUR)")),
    Column("free_placements_per_year", N_("Vrije plaatsingen per jaar")),
    Column("reasons", N_("Redenen")))

LOG_COLUMNS = (
    Column("id", N_("Nr.")),
    Column("decided_at", N_("Besloten op")),
    Column("decided_by", N_("Door")),
    Column("query_kind", N_("Soort"), KIND_NL), Column("query_title", N_("Vraag")),
    Column("query_ref", N_("Kenmerk vraag")), Column("enterprise_name", N_("Onderneming")),
    Column("enterprise_ref", N_("Kenmerk onderneming")),
    Column("decision", N_("Besluit"), DECISION_NL),
    Column("reason", N_("Reden")), Column("rank", N_("Positie")), Column("score", N_("Score")),
    Column("weight_set", N_("Gewichtenset")), Column("override", N_("Ondanks uitsluiting")))


@dataclass(frozen=True)
class OpenQuery:
    kind: str
    ref: str
    title: str
    who: str  # buyer, firm or municipality code
    when: date | None  # contract start, due date or Challenge deadline

    @property
    def href(self) -> str:
        return f"/{self.kind}s/{self.ref}"


def open_queries(session: Session, kind: str | None = None, text: str = "") -> list[OpenQuery]:
    """Published tenders not yet ended, open obligations and Challenges not closed,
    most urgent first (dates unknown last). Reads a few columns only."""
    on = today()
    like = f"%{text.strip()}%" if text.strip() else None
    out: list[OpenQuery] = []
    if kind in (None, "tender"):
        stmt = select(TenderRow.ref, TenderRow.title, TenderRow.buyer,
                      col(TenderRow.start)).where(
            TenderRow.status == "published",
            or_(col(TenderRow.end).is_(None), col(TenderRow.end) >= on))
        if like:
            stmt = stmt.where(or_(col(TenderRow.ref).ilike(like), col(TenderRow.title).ilike(like),
                                  col(TenderRow.buyer).ilike(like)))
        out += [OpenQuery("tender", r, t, b, s) for r, t, b, s in session.exec(stmt).all()]
    if kind in (None, "obligation"):
        ostmt = select(ObligationRow.ref, ObligationRow.firm, col(ObligationRow.tender_ref),
                       col(ObligationRow.due)).where(ObligationRow.status == "open")
        if like:
            ostmt = ostmt.where(or_(col(ObligationRow.ref).ilike(like),
                                    col(ObligationRow.firm).ilike(like)))
        out += [OpenQuery("obligation", r, f"{f}" + (f" · {tr}" if tr else ""), f, d)
                for r, f, tr, d in session.exec(ostmt).all()]
    if kind in (None, "challenge"):
        cstmt = select(ChallengeRow).where(col(ChallengeRow.status).in_(STAGES))
        if like:
            cstmt = cstmt.where(or_(col(ChallengeRow.ref).ilike(like),
                                    col(ChallengeRow.title).ilike(like)))
        out += [OpenQuery("challenge", c.ref, c.title, c.municipality_code, deadline_of(c)[0])
                for c in session.exec(cstmt).all()]
    out.sort(key=lambda q: (q.when or date.max, q.kind, q.ref))
    return out


def _match_list(session: Session, kind: str, ref: str, top_k: int = TOP_K) -> Any:
    """The engine's MatchList for one query (a Challenge's: its diversified results)."""
    found = cached_match(session, kind, ref, top_k)
    return found.results if isinstance(found, ChallengeMatches) else found


def _undecided(d: CurationDecision | None) -> bool:
    return d is None or d.decision == "unpin"


def queue_for(session: Session, queries: list[OpenQuery], shown: int = SHOWN
              ) -> list[dict[str, Any]]:
    """Per query: its undecided proposals (best first) and how many were decided."""
    latest: dict[tuple[str, str], CurationDecision] = {}
    for kind in KIND_NL:
        refs = [q.ref for q in queries if q.kind == kind]
        for (qref, eref), d in curation_log.latest_states(session, kind, refs).items():
            latest[(f"{kind}|{qref}", eref)] = d
    out = []
    for q in queries:
        try:
            found = _match_list(session, q.kind, q.ref)
        except NotFound:
            found = None
        results = list(found.results) if found is not None else []
        decided = {e: d for (k, e), d in latest.items() if k == f"{q.kind}|{q.ref}"}
        weights = getattr(found, "weights", None)
        proposals = [proposal_dict(q.kind, q.ref, m, None, weights) for m in results
                     if _undecided(decided.get(m.ref))][:shown]
        out.append({"query": q, "proposals": proposals,
                    "n_decided": sum(1 for d in decided.values() if not _undecided(d)),
                    "n_candidates": getattr(found, "n_candidates", None),
                    "log_url": f"/curation/log?query_kind={q.kind}&query_ref={q.ref}"})
    return out


def _kind_param(value: str | None) -> str | None:
    return value if value in KIND_NL else None


# --- pages ------------------------------------------------------------------------------

@router.get("/curation", include_in_schema=False)
def queue_page(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    qp = request.query_params
    kind = _kind_param(qp.get("kind"))
    text = clean_text(qp.get("q"))[:200]
    page = page_param(qp.get("page"))
    queries = open_queries(session, kind, text)
    chunk = queries[(page - 1) * QUERIES_PER_PAGE: page * QUERIES_PER_PAGE]
    counts = {k: 0 for k in KIND_NL}
    for q in (queries if kind is None else open_queries(session, None, text)):
        counts[q.kind] += 1
    return render(request, "curation/queue.html", {
        "items": queue_for(session, chunk), "kind": kind, "q": text, "page": page,
        "per_page": QUERIES_PER_PAGE, "total": len(queries), "counts": counts,
        "kind_labels": KIND_NL, "kind_plural": KIND_PLURAL_NL, "decision_labels": DECISION_NL,
        "form_error": pop_form_error(request), "max_reasons": 3,
        "next_url": str(request.url.path) + (
            "?" + request.url.query if request.url.query else ""),
        "export_url": "/curation/export.csv" + (f"?kind={kind}" if kind else ""),
    })


@router.get("/curation/export.csv", include_in_schema=False)
def queue_csv(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    kind = _kind_param(request.query_params.get("kind"))
    lang = request_lang(request)
    munis = municipalities()
    rows = []
    for item in queue_for(session, open_queries(session, kind), shown=TOP_K):
        q = item["query"]
        for p in item["proposals"]:
            rows.append({"query_kind": q.kind, "query_ref": q.ref, "query_title": q.title,
                         "rank": p["rank"], "enterprise_ref": p["ref"],
                         "enterprise_name": p["name"], "municipality": p["municipality"],
                         "municipality_name": munis[p["municipality"]].name
                         if p["municipality"] in munis else None,
                         "score": round(p["score"], 4), "distance_km": p["distance_km"],
                         "free_purchase_eur_per_year": p["free_purchase_eur_per_year"],
                         "free_placements_per_year": p["free_placements_per_year"],
                         "reasons": " | ".join(reasons.texts(p["reasons"], lang))})
    return csv_response(request, rows, QUEUE_COLUMNS, "curatie-wachtrij.csv")


def _safe_next(value: str | None, default: str = "/curation") -> str:
    if value and value.startswith(("/curation", "/challenges/")) and "//" not in value \
            and "\\" not in value:
        return value
    return default


def _float_or_none(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _features(raw: Any) -> dict[str, float] | None:
    if not raw:
        return None
    try:
        data = json.loads(str(raw))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _fill_from_engine(session: Session, data: DecisionInput) -> DecisionInput:
    """Rank, score and feature scores as the engine shows the match now, when the caller
    did not send them (the learning signal should not be empty)."""
    if data.score is not None or data.query_kind not in KIND_NL:
        return data
    try:
        found = _match_list(session, data.query_kind, data.query_ref, top_k=50)
    except NotFound:
        return data
    for m in (found.results if found is not None else []):
        if m.ref == data.enterprise_ref:
            return replace(
                data, rank=m.rank, score=float(m.score), features=dict(m.features or {}),
                weight_set=data.weight_set or getattr(found, "weights", None))
    return data


@router.post("/curation/decide", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def decide_post(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    form = await request.form()
    get = lambda k: clean_text(str(form.get(k) or ""))  # noqa: E731
    data = DecisionInput(
        query_kind=get("query_kind"), query_ref=get("query_ref"),
        enterprise_ref=get("enterprise_ref"), decision=get("decision"), reason=get("reason"),
        rank=_int_or_none(get("rank")), score=_float_or_none(get("score") or None),
        features=_features(get("features")), weight_set=get("weight_set") or None,
        override=get("override") in ("1", "on", "true"))
    next_url = _safe_next(get("next"))
    t = translator(request_lang(request))
    key = f"{data.query_kind}|{data.query_ref}|{data.enterprise_ref}"
    try:
        data = _fill_from_engine(session, data)
        row = matching.decide(session, data, decided_by=user.email)
    except DomainError as exc:
        session.rollback()
        message = exc.render(request_lang(request))
        request.session[FORM_ERROR_KEY] = {"key": key, "field": exc.field, "message": message,
                                           "decision": data.decision,
                                           "reason": data.reason[:1000]}
        flash(request, t("Besluit niet opgeslagen: {message}", message=message), "error")
        return RedirectResponse(next_url + f"#m-{data.enterprise_ref}", status_code=303)
    flash(request, t("{decision}: {enterprise} voor {ref}. Vastgelegd in het curatielogboek.",
                     decision=t(DECISION_NL.get(row.decision, row.decision)),
                     enterprise=row.enterprise_ref, ref=row.query_ref))
    return RedirectResponse(next_url, status_code=303)


@router.get("/curation/log", include_in_schema=False)
def log_page(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    qp = request.query_params
    kind = _kind_param(qp.get("query_kind"))
    query_ref = clean_text(qp.get("query_ref"))[:200] or None
    enterprise_ref = clean_text(qp.get("enterprise_ref"))[:100] or None
    page = page_param(qp.get("page"))
    rows, total = curation_log.log_page(session, query_ref=query_ref, query_kind=kind,
                                        enterprise_ref=enterprise_ref, page=page,
                                        per_page=LOG_PER_PAGE)
    erefs = {r.enterprise_ref for r in rows}
    names = dict(session.exec(select(EnterpriseRow.ref, EnterpriseRow.name).where(
        col(EnterpriseRow.ref).in_(erefs or {""}))).all())
    return render(request, "curation/log.html", {
        "rows": rows, "names": names, "local_time": local_time, "total": total, "page": page,
        "per_page": LOG_PER_PAGE,
        "kind": kind, "query_ref": query_ref, "enterprise_ref": enterprise_ref,
        "one_match": bool(kind and query_ref and enterprise_ref),
        "kind_labels": KIND_NL, "decision_labels": DECISION_NL,
    })


@router.get("/curation/log.csv", include_in_schema=False)
def log_csv(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    features = curation_log.feature_names(session)
    columns = (*LOG_COLUMNS, *(Column(f"f_{n}", N_("Deelscore {name}"),
                                      params={"name": FEATURE_NL.get(n, n)})
                               for n in features))
    rows = ({**d, "decided_at": datetime.fromisoformat(d["decided_at"])
             if d["decided_at"] else None} for d in curation_log.log_rows(session))
    return csv_response(request, rows, columns, "curatielogboek.csv")


# --- JSON ---------------------------------------------------------------------------------


@api_router.post("/decisions", status_code=201, response_model=DecisionOut,
                 summary="Record a curation decision")
def api_decide(body: DecisionIn, request: Request, user: ConnectorUser, session: SessionDep
               ) -> dict[str, Any]:
    """Appends accept / reject / pin / unpin for one match to the curation log (who and when
    are the caller and now). Rejecting needs a reason. Earlier decisions are never changed:
    the latest decision per match is its state."""
    data = DecisionInput(
        query_kind=body.query_kind, query_ref=clean_text(body.query_ref),
        enterprise_ref=clean_text(body.enterprise_ref), decision=body.decision,
        reason=clean_text(body.reason), rank=body.rank, score=body.score,
        features=body.features, weight_set=clean_text(body.weight_set) or None,
        override=body.override)
    try:
        data = _fill_from_engine(session, data)
        row = matching.decide(session, data, decided_by=user.email)
    except DomainError as exc:
        session.rollback()
        raise api_error(http_status(exc), exc.as_message(), exc.field) from None
    return curation_log.as_dict(row)


@api_router.get("/queue", response_model=CurationQueuePage, summary="Proposed matches to curate")
def api_queue(
    request: Request, user: ConnectorUser, session: SessionDep,
    kind: Annotated[Literal["tender", "obligation", "challenge"] | None,
                    Query(description="Only this kind of query")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in ref/title")] = None,
    page: PageQuery = 1,
    per_page: Annotated[int, Query(ge=1, le=50)] = QUERIES_PER_PAGE,
) -> dict[str, Any]:
    """Open tenders, obligations and Challenges, most urgent first, each with the engine's
    best candidates that no connector has decided on yet."""
    queries = open_queries(session, kind, clean_text(q))
    lang = api_lang(request)
    chunk = queries[(page - 1) * per_page: page * per_page]
    items = []
    for item in queue_for(session, chunk):
        qq = item["query"]
        items.append({
            "query_kind": qq.kind, "query_ref": qq.ref, "title": qq.title, "who": qq.who,
            "when": qq.when, "n_decided": item["n_decided"],
            "proposals": [{"rank": p["rank"], "enterprise_ref": p["ref"], "name": p["name"],
                           "municipality": p["municipality"], "score": p["score"],
                           "distance_km": p["distance_km"], "remaining_eur": p["remaining_eur"],
                           **capacity_fields(p["capacity"]),
                           "reasons": reasons.outs(p["reasons"], lang),
                           "features": json.loads(p["features_json"])}
                          for p in item["proposals"]]})
    total = len(queries)
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


@api_router.get("/log", response_model=LogPage, summary="The curation log")
def api_log(
    user: ConnectorUser, session: SessionDep,
    query_kind: Annotated[Literal["tender", "obligation", "challenge"] | None, Query()] = None,
    query_ref: Annotated[str | None, Query(max_length=200)] = None,
    enterprise_ref: Annotated[str | None, Query(max_length=100)] = None,
    page: PageQuery = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Every decision, newest first; filter by query and enterprise for one match's history.
    Read-only: decisions are never edited or deleted."""
    rows, total = curation_log.log_page(session, query_ref=clean_text(query_ref) or None,
                                        query_kind=query_kind,
                                        enterprise_ref=clean_text(enterprise_ref) or None,
                                        page=page, per_page=per_page)
    return {"items": [curation_log.as_dict(r) for r in rows], "total": total, "page": page,
            "per_page": per_page, "pages": max(1, math.ceil(total / per_page))}
