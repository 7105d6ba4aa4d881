"""Challenges board: open Challenges by stage, deadline countdown, portfolio, status.

GET  /challenges                 the board: open Challenges per stage (intake → call → pitch →
                                 pilot → evaluation) with their deadline countdown; ?closed=1
                                 lists the closed ones too
GET  /challenges/export.csv      the board as CSV
GET  /challenges/{ref}           the question, themes, stage history and the proposed diverse
                                 portfolio of enterprises and coalitions (engine:
                                 ``api.services.matching.match_challenge``)
POST /challenges/{ref}/status    move the Challenge to another stage (connector, admin)

JSON: GET /api/v1/challenges/{ref}/matches, PATCH /api/v1/challenges/{ref}/status.
These are mounted before api.routes.challenges_api (ROUTE_MODULES order), whose
``/challenges/{ref:path}`` would otherwise swallow them.

Stages, deadlines and the status history are ``api.services.challenge_board``'s.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from api import access, reasons
from api.clock import today
from api.deps import (
    ApiUser,
    ConnectorUser,
    CurrentUser,
    SessionDep,
    api_error,
    csrf_protect,
    flash,
    render,
)
from api.errors import DomainError, NotFound
from api.i18n import api_lang, request_lang, translator
from api.schemas import (
    ERROR_RESPONSES,
    StatusIn,
    StatusOut,
)
from api.services import curation_log
from api.services.challenge_board import (
    DEFAULT_WEEKS,
    STAGE_NL,
    STAGES,
    STATUSES,
    board_item,
    change_status,
    status_history,
)
from api.services.matching import cached_match
from api.tables import ChallengeRow
from api.web.csv_export import csv_response
from api.web.curation_forms import DECISION_NL, pop_form_error, proposal_dict
from api.web.errors import http_status
from api.web.local_time import local_time

router = APIRouter(tags=["pages"])
api_router = APIRouter(prefix="/challenges", tags=["challenges"], responses=ERROR_RESPONSES)

BOARD_COLUMNS = ("ref", "title", "municipality", "status", "opened_on", "deadline",
                 "deadline_is_default", "days_left", "themes", "budget_eur", "max_partners")


def get_challenge(session: Session, ref: str) -> ChallengeRow:
    # No ref holds a NUL character; PostgreSQL would refuse the query rather than answer.
    row = None if "\x00" in ref else session.exec(
        select(ChallengeRow).where(ChallengeRow.ref == ref)).first()
    if row is None:
        raise api_error(404, f"Challenge {ref!r} niet gevonden", "ref")
    return row


# --- pages ------------------------------------------------------------------------------

@router.get("/challenges", include_in_schema=False)
def board_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    on = today()
    show_closed = request.query_params.get("closed") == "1"
    rows = session.exec(select(ChallengeRow).order_by(col(ChallengeRow.ref))).all()
    items = [board_item(r, on) for r in rows]
    far = date.max
    items.sort(key=lambda i: (i["deadline"] or far, i["ref"]))
    columns = [(s, [i for i in items if i["status"] == s]) for s in STAGES]
    closed = [i for i in items if i["status"] not in STAGES]
    return render(request, "challenges/board.html", {
        "columns": columns, "closed": closed, "show_closed": show_closed, "on": on,
        "stage_labels": STAGE_NL, "n_open": sum(len(c) for _, c in columns),
        "weeks": DEFAULT_WEEKS,
    })


@router.get("/challenges/export.csv", include_in_schema=False)
def board_csv(user: CurrentUser, session: SessionDep) -> Response:
    on = today()
    rows = []
    for r in session.exec(select(ChallengeRow).order_by(col(ChallengeRow.ref))).all():
        item = board_item(r, on)
        item["deadline"] = item["deadline"].isoformat() if item["deadline"] else None
        item["opened_on"] = item["opened_on"].isoformat() if item["opened_on"] else None
        rows.append(item)
    return csv_response(rows, BOARD_COLUMNS, "challenges.csv")


def portfolio(session: Session, ref: str, top_k: int = 10) -> dict[str, Any]:
    """The engine's diverse portfolio and coalitions."""
    result = cached_match(session, "challenge", ref, top_k)
    return {"results": result.results, "coalitions": result.coalitions,
            "rejected": [r.as_dict() for r in result.results.rejected]}


@router.get("/challenges/{ref}", include_in_schema=False)
def challenge_page(ref: str, request: Request, user: CurrentUser, session: SessionDep
                   ) -> Response:
    row = get_challenge(session, ref)
    on = today()
    item = board_item(row, on)
    found = portfolio(session, row.ref)
    proposals: list[dict[str, Any]] = []
    coalitions: list[dict[str, Any]] = []
    latest = curation_log.latest_states(session, "challenge", [row.ref])
    weights = found["results"].weights
    proposals = [proposal_dict("challenge", row.ref, m, latest.get((row.ref, m.ref)), weights)
                 for m in found["results"].results]
    n_candidates = found["results"].n_candidates
    for c in found["coalitions"]:
        coalitions.append({
            "members": [proposal_dict("challenge", row.ref, m, latest.get((row.ref, m.ref)))
                        for m in c.members],
            "score": c.score, "reasons": list(c.reasons or []),
            "capacity_eur": c.capacity_eur})
    stage_index = STAGES.index(row.status) if row.status in STAGES else len(STAGES)
    return render(request, "challenges/detail.html", {
        "c": row, "item": item, "on": on, "stages": STAGES, "stage_labels": STAGE_NL,
        "stage_index": stage_index, "statuses": STATUSES,
        "next_stage": STAGES[stage_index + 1] if stage_index + 1 < len(STAGES) else None,
        "history": list(reversed(status_history(row))),
        "proposals": proposals, "rejected": found["rejected"],
        "coalitions": coalitions, "n_candidates": n_candidates,
        "can_curate": access.sees_all(user), "form_error": pop_form_error(request),
        "next_url": f"/challenges/{row.ref}", "decision_labels": DECISION_NL,
        "local_time": local_time,
    })


@router.post("/challenges/{ref}/status", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def challenge_status_post(ref: str, request: Request, user: ConnectorUser,
                                session: SessionDep) -> Response:
    row = get_challenge(session, ref)
    form = await request.form()
    t = translator(request_lang(request))
    new = str(form.get("status") or "").strip()
    try:
        change_status(session, row, new, user.email, str(form.get("reason") or ""))
    except DomainError as exc:
        session.rollback()
        flash(request, t("Fase niet gewijzigd: {message}", message=t(exc.message)), "error")
    else:
        flash(request, t("{title} staat nu in de fase {stage}.", title=row.title,
                         stage=t(STAGE_NL[new])))
    return RedirectResponse(f"/challenges/{ref}", status_code=303)


# --- JSON ---------------------------------------------------------------------------------


def _status_out(row: ChallengeRow) -> dict[str, Any]:
    item = board_item(row, today())
    return {"ref": row.ref, "title": row.title, "status": row.status,
            "deadline": item["deadline"], "days_left": item["days_left"],
            "history": status_history(row)}


@api_router.get("/{ref}/matches", summary="Portfolio and coalitions for a Challenge",
                responses={200: {"content": {"application/json": {"example": {
                    "challenge": "C-2026-01", "status": "call",
                    "results": {"results": [{"rank": 1, "ref": "E-0042",
                                             "name": "Buurtkracht Utrecht",
                                             "municipality": "GM0344", "score": 0.71,
                                             "reasons": [{
                                                 "code": "themes_covered",
                                                 "params": {"themes": ["eenzaamheid"]},
                                                 "text": "dekt het Challenge-thema "
                                                         "'eenzaamheid'"}]}],
                                "n_candidates": 120, "n_excluded": 4},
                    "coalitions": [{"members": ["E-0042", "E-0107"], "score": 0.66,
                                    "capacity_eur": 310000}]}}}}})
def api_matches(ref: str, request: Request, user: ApiUser, session: SessionDep,
                top_k: int = 10) -> dict[str, Any]:
    """The engine's diverse ranking of enterprises for the Challenge and the coalitions
    it proposes (complementary enterprises that cover more of its themes together).
    Every reason is ``{"code", "params", "text"}`` (text in the request's language)."""
    row = get_challenge(session, ref)
    if not 1 <= top_k <= 50:
        raise api_error(422, "top_k moet tussen 1 en 50 liggen", "top_k")
    try:
        result = cached_match(session, "challenge", row.ref, top_k)
    except NotFound as exc:
        raise api_error(404, exc.message, "ref") from None
    out = reasons.with_texts(result.as_dict(), api_lang(request))
    return {"challenge": row.ref, "status": row.status, **out}


@api_router.patch("/{ref}/status", response_model=StatusOut,
                  summary="Move a Challenge to another stage")
def api_status(ref: str, body: StatusIn, request: Request, user: ConnectorUser,
               session: SessionDep) -> dict[str, Any]:
    """intake → call → pitch → pilot → evaluation (or closed). The change is appended to the
    Challenge's status history with who and when."""
    row = get_challenge(session, ref)
    t = translator(request_lang(request))
    try:
        change_status(session, row, body.status, user.email, body.reason)
    except DomainError as exc:
        session.rollback()
        raise api_error(http_status(exc),
                        t(exc.message), exc.field) from None
    return _status_out(row)
