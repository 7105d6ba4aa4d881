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

Every status change is appended to ``extra["status_history"]`` ({from, to, by, at,
reason}); a change made through the CRUD API is recorded the same way (see
challenges_api's after_write hook).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from api import access, reasons
from api.clock import today, utcnow
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
from api.i18n import api_lang, request_lang, translator
from api.routes.enterprises import csv_response
from api.schemas import ERROR_RESPONSES
from api.services import curation_log
from api.services.flow_util import FlowError, NotFound
from api.services.matching import cached_match
from api.tables import ChallengeRow, User

router = APIRouter(tags=["pages"])
api_router = APIRouter(prefix="/challenges", tags=["challenges"], responses=ERROR_RESPONSES)

STAGES = ("intake", "call", "pitch", "pilot", "evaluation")
STATUSES = (*STAGES, "closed")
STAGE_NL = {"intake": "Intake", "call": "Oproep", "pitch": "Pitch", "pilot": "Pilot",
            "evaluation": "Evaluatie", "closed": "Gesloten"}
# Without an explicit deadline, a Challenge's call runs twelve weeks from opening.
DEFAULT_WEEKS = 12
SOON_DAYS = 14
BOARD_COLUMNS = ("ref", "title", "municipality", "status", "opened_on", "deadline",
                 "deadline_is_default", "days_left", "themes", "budget_eur", "max_partners")


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local_time(value: datetime | str | None) -> str:
    """A stored UTC timestamp as Dutch wall-clock time: "01-06-2026 11:30"."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def deadline_of(row: ChallengeRow) -> tuple[date | None, bool]:
    """(deadline, is_default): the set deadline, else twelve weeks from opened_on."""
    if row.deadline is not None:
        return row.deadline, False
    if row.opened_on is not None:
        return row.opened_on + timedelta(weeks=DEFAULT_WEEKS), True
    return None, False


def board_item(row: ChallengeRow, on: date) -> dict[str, Any]:
    deadline, default = deadline_of(row)
    days_left = (deadline - on).days if deadline else None
    return {
        "ref": row.ref, "title": row.title, "municipality": row.municipality_code,
        "status": row.status, "opened_on": row.opened_on, "deadline": deadline,
        "deadline_is_default": default, "days_left": days_left,
        "themes": list(row.themes or []), "budget_eur": row.budget_eur,
        "max_partners": row.max_partners, "href": f"/challenges/{row.ref}",
        "urgency": "over" if days_left is not None and days_left < 0
        else ("soon" if days_left is not None and days_left <= SOON_DAYS else ""),
    }


def status_history(row: ChallengeRow) -> list[dict[str, Any]]:
    hist = (row.extra or {}).get("status_history")
    return [h for h in hist if isinstance(h, dict)] if isinstance(hist, list) else []


def history_entry(old: str, new: str, by: str, reason: str = "") -> dict[str, Any]:
    return {"from": old, "to": new, "by": by, "at": utcnow().isoformat(timespec="seconds"),
            "reason": reason}


def change_status(session: Session, row: ChallengeRow, new: str, by: str, reason: str = ""
                  ) -> ChallengeRow:
    """Move to another stage and append the change to the Challenge's history."""
    reason = clean_text(reason)
    if new not in STATUSES:
        raise FlowError("status", "Kies een fase: intake, oproep, pitch, pilot, evaluatie of "
                                  "gesloten.")
    if new == row.status:
        raise FlowError("status", "De challenge staat al in deze fase.")
    if len(reason) > 2000:
        raise FlowError("reason", "De reden is te lang (hoogstens 2000 tekens).")
    extra = dict(row.extra or {})
    # A new list (and dict): the JSON column notices the change only on reassignment.
    extra["status_history"] = [*status_history(row), history_entry(row.status, new, by, reason)]
    row.extra = extra
    row.status = new
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def clean_text(value: str | None) -> str:
    """Free text as stored: without NUL characters (PostgreSQL refuses them)."""
    return (value or "").replace("\x00", "").strip()


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
    return {"results": result.results, "coalitions": result.coalitions}


@router.get("/challenges/{ref}", include_in_schema=False)
def challenge_page(ref: str, request: Request, user: CurrentUser, session: SessionDep
                   ) -> Response:
    from api.routes.curation import DECISION_NL, pop_form_error, proposal_dict

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
        "proposals": proposals,
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
    except FlowError as exc:
        session.rollback()
        flash(request, t("Fase niet gewijzigd: {message}", message=t(exc.message)), "error")
    else:
        flash(request, t("{title} staat nu in de fase {stage}.", title=row.title,
                         stage=t(STAGE_NL[new])))
    return RedirectResponse(f"/challenges/{ref}", status_code=303)


# --- JSON ---------------------------------------------------------------------------------

class StatusIn(BaseModel):
    status: Literal["intake", "call", "pitch", "pilot", "evaluation", "closed"]
    reason: str = Field("", max_length=2000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "pitch", "reason": "Vijf ondernemingen uitgenodigd voor de pitch"}]})


class StatusOut(BaseModel):
    ref: str
    title: str
    status: str
    deadline: date | None = Field(description="Set deadline, else twelve weeks from opened_on")
    days_left: int | None
    history: list[dict[str, Any]] = Field(description="Status changes, oldest first")

    model_config = ConfigDict(json_schema_extra={"example": {
        "ref": "C-2026-01", "title": "Eenzaamheid onder ouderen", "status": "pitch",
        "deadline": "2026-05-24", "days_left": 12,
        "history": [{"from": "call", "to": "pitch", "by": "verbinder@gemeente.nl",
                     "at": "2026-05-12T09:30:00+00:00", "reason": "Vijf pitches"}]}})


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
    except FlowError as exc:
        session.rollback()
        raise api_error(409 if exc.field == "status" else exc.status,
                        t(exc.message), exc.field) from None
    return _status_out(row)


def record_crud_status_change(session: Session, user: User, row: ChallengeRow,
                              before: dict[str, Any] | None) -> None:
    """after_write hook for the CRUD API: a status changed there is recorded too, and a
    replaced ``extra`` keeps the earlier history."""
    old_extra = (before or {}).get("extra") or {}
    earlier = old_extra.get("status_history") if isinstance(old_extra, dict) else None
    extra = dict(row.extra or {})
    hist = extra.get("status_history")
    if not isinstance(hist, list) and isinstance(earlier, list):
        hist = list(earlier)
    hist = list(hist) if isinstance(hist, list) else []
    old = old_extra.get("status") if isinstance(old_extra, dict) else None
    if before is not None and old and old != row.status:
        hist.append(history_entry(str(old), row.status, user.email, "via API"))
    if hist or "status_history" in extra:
        extra["status_history"] = hist
        row.extra = extra


__all__ = ["STAGES", "STAGE_NL", "STATUSES", "board_item", "change_status", "deadline_of",
           "record_crud_status_change", "status_history"]
