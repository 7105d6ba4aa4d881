"""Challenges board: open Challenges by stage, deadline countdown, portfolio, status.

GET  /challenges                 the board: every stage (intake → call → pitch → pilot →
                                 evaluation → closed) with the deadline countdown; past
                                 deadlines flagged
GET  /challenges/export.csv      the board as CSV
GET|POST /challenges/new, /challenges/{ref}/edit   the Challenge form (connector, admin)
GET  /challenges/{ref}           the question, stage history (events), pitches, pilots with
                                 their clocks, evaluations, results, and the proposed diverse
                                 portfolio of enterprises and coalitions
POST /challenges/{ref}/status    next stage, or reopen an earlier one with a reason
POST /challenges/{ref}/pitches   a pitch during the call (connectors: users are not linked
                                 to enterprises, so they enter it on the enterprise's behalf)
POST /challenges/{ref}/pilots    a pitch selected as pilot (start date, budget)
POST /challenges/{ref}/pilots/{pilot_id}/evaluation   outcome, score, note
POST /challenges/{ref}/close     close with a summary of the results

JSON: GET /api/v1/challenges/{ref}/matches, PATCH|POST /api/v1/challenges/{ref}/status,
GET|POST /api/v1/challenges/{ref}/pitches, GET|POST /api/v1/challenges/{ref}/pilots,
POST /api/v1/challenges/{ref}/pilots/{pilot_id}/evaluation.
These are mounted before api.routes.challenges_api (ROUTE_MODULES order), whose
``/challenges/{ref:path}`` would otherwise swallow them.

Stages, deadlines and the stage history are ``api.services.challenge_board``'s; pitches,
pilots and evaluations ``api.services.challenge_flow``'s.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from api import access, reasons
from api.clock import today, utcnow
from api.crud import entity_errors
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
from api.i18n import N_, api_lang, request_lang, translator
from api.messages import msg, render_text
from api.schemas import (
    ERROR_RESPONSES,
    EvaluationIn,
    PilotIn,
    PilotOut,
    PitchIn,
    PitchOut,
    StatusIn,
    StatusOut,
)
from api.serialize import challenge_doc
from api.services import challenge_flow as flow
from api.services import curation_log
from api.services.challenge_board import (
    DEFAULT_WEEKS,
    STAGE_NL,
    STATUSES,
    board_item,
    change_status,
    earlier_stages,
    events,
    next_stage,
    record_event,
    status_history,
)
from api.services.matching import cached_match
from api.services.tender_form import NumberError, parse_number
from api.tables import ChallengeRow, EnterpriseRow
from api.web.csv_export import Column, csv_response
from api.web.curation_forms import DECISION_NL, pop_form_error, proposal_dict
from api.web.errors import http_status
from api.web.local_time import local_time
from api.web.params import RowId
from matcher.refdata import municipalities

router = APIRouter(tags=["pages"])
api_router = APIRouter(prefix="/challenges", tags=["challenges"], responses=ERROR_RESPONSES)

BOARD_COLUMNS = (
    Column("title", N_("Challenge")), Column("ref", N_("Kenmerk")),
    Column("municipality_name", N_("Gemeente")), Column("municipality", N_("Gemeentecode")),
    Column("status", N_("Fase"), STAGE_NL), Column("opened_on", N_("Geopend op")),
    Column("deadline", N_("Deadline")), Column("deadline_is_default", N_("Standaarddeadline")),
    Column("days_left", N_("Dagen over")), Column("past_deadline", N_("Deadline verstreken")),
    Column("themes", N_("Thema's")), Column("budget_eur", N_("Budget (EUR)")),
    Column("max_partners", N_("Maximaal aantal partners")))
FORM_FIELDS = ("title", "question", "themes", "municipality", "budget_eur", "deadline",
               "max_partners")


def get_challenge(session: Session, ref: str) -> ChallengeRow:
    # No ref holds a NUL character; PostgreSQL would refuse the query rather than answer.
    row = None if "\x00" in ref else session.exec(
        select(ChallengeRow).where(ChallengeRow.ref == ref)).first()
    if row is None:
        raise api_error(404, msg("Challenge {ref} niet gevonden", ref=repr(ref)), "ref")
    return row


def _message(request: Request, exc: DomainError) -> str:
    return exc.render(request_lang(request))


# --- pages ------------------------------------------------------------------------------

@router.get("/challenges", include_in_schema=False)
def board_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    on = today()
    rows = session.exec(select(ChallengeRow).order_by(col(ChallengeRow.ref))).all()
    items = [board_item(r, on) for r in rows]
    far = date.max
    items.sort(key=lambda i: (i["deadline"] or far, i["ref"]))
    columns = [(s, [i for i in items if i["status"] == s]) for s in STATUSES]
    return render(request, "challenges/board.html", {
        "columns": columns, "on": on, "stage_labels": STAGE_NL,
        "n_open": sum(len(c) for s, c in columns if s != "closed"),
        "n_past": sum(1 for i in items if i["past_deadline"]),
        "weeks": DEFAULT_WEEKS, "can_edit": access.sees_all(user),
    })


@router.get("/challenges/export.csv", include_in_schema=False)
def board_csv(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    on = today()
    munis = municipalities()
    rows = []
    for r in session.exec(select(ChallengeRow).order_by(col(ChallengeRow.ref))).all():
        item = board_item(r, on)
        code = item["municipality"]
        item["municipality_name"] = munis[code].name if code in munis else None
        rows.append(item)
    return csv_response(request, rows, BOARD_COLUMNS, "challenges.csv")


# --- the Challenge form -----------------------------------------------------------------

def _form_of(row: ChallengeRow | None) -> dict[str, str]:
    if row is None:
        return {"max_partners": "3"}
    muni = municipalities().get(row.municipality_code)
    return {"title": row.title, "question": row.question, "themes": ", ".join(row.themes),
            "municipality": muni.name if muni else row.municipality_code,
            "budget_eur": f"{row.budget_eur:.0f}" if row.budget_eur is not None else "",
            "deadline": row.deadline.isoformat() if row.deadline else "",
            "max_partners": str(row.max_partners)}


def _payload(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The form as an interchange entity; empty fields left out."""
    out: dict[str, Any] = {}
    for key in ("title", "question", "municipality", "deadline"):
        if form.get(key):
            out[key] = form[key]
    themes = [t.strip() for t in form.get("themes", "").split(",") if t.strip()]
    if themes:
        out["themes"] = themes
    try:
        budget = parse_number(form.get("budget_eur"))
    except NumberError:
        errors["budget_eur"] = "Vul een bedrag in, bijvoorbeeld 75.000."
    else:
        if budget is not None:
            out["budget_eur"] = budget
    raw = form.get("max_partners", "").strip()
    if raw:
        out["max_partners"] = int(raw) if raw.isdigit() else raw
    return out


def _new_ref(session: Session) -> str:
    year = today().year
    taken = set(session.exec(select(ChallengeRow.ref)).all())
    n = len(taken) + 1
    while f"C-{year}-{n:03d}" in taken:
        n += 1
    return f"C-{year}-{n:03d}"


def _render_form(request: Request, row: ChallengeRow | None, form: dict[str, str],
                 errors: dict[str, str], status_code: int = 200) -> Response:
    t = translator(request_lang(request))
    return render(request, "challenges/form.html", {
        "row": row, "form": form, "errors": {k: t(v) for k, v in errors.items()},
        "municipality_names": sorted(m.name for m in municipalities().values()),
    }, status_code=status_code)


@router.get("/challenges/new", include_in_schema=False)
def new_form(request: Request, user: ConnectorUser) -> Response:
    return _render_form(request, None, _form_of(None), {})


@router.get("/challenges/{ref}/edit", include_in_schema=False)
def edit_form(ref: str, request: Request, user: ConnectorUser, session: SessionDep
              ) -> Response:
    row = get_challenge(session, ref)
    return _render_form(request, row, _form_of(row), {})


async def _save_form(request: Request, session: Session, user_email: str,
                     row: ChallengeRow | None) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k) or "").strip() for k in FORM_FIELDS}
    errors: dict[str, str] = {}
    payload = _payload(form, errors)
    if row is None:
        doc = {"ref": _new_ref(session), "opened_on": today().isoformat(), **payload}
    else:
        # The stored entity with the form's fields replaced (status stays in extra).
        doc = {k: v for k, v in challenge_doc(row).items()
               if k not in FORM_FIELDS or k in payload}
        doc.update(payload)
    values, issues = entity_errors("challenges", doc)
    lang = request_lang(request)
    for issue in issues:
        field = str(issue["field"] or "").split(".")[0].split("[")[0]
        errors.setdefault(field if field in FORM_FIELDS else "title",
                          render_text(issue["message"], lang))
    if errors or values is None:
        return _render_form(request, row, form, errors, status_code=422)
    t = translator(request_lang(request))
    if row is None:
        row = ChallengeRow(**{k: v for k, v in values.items()
                              if k in ChallengeRow.model_fields})
        record_event(session, row.ref, None, row.status, user_email, "aangemaakt")
        message = t("Challenge {title} aangemaakt.", title=row.title)
    else:
        for key, value in values.items():
            if key in ChallengeRow.model_fields and key not in ("id", "ref", "status",
                                                               "created_at"):
                setattr(row, key, value)
        message = t("Challenge {title} opgeslagen.", title=row.title)
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    flash(request, message)
    return RedirectResponse(f"/challenges/{row.ref}", status_code=303)


@router.post("/challenges/new", include_in_schema=False, dependencies=[Depends(csrf_protect)])
async def new_post(request: Request, user: ConnectorUser, session: SessionDep) -> Response:
    return await _save_form(request, session, user.email, None)


@router.post("/challenges/{ref}/edit", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def edit_post(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                    ) -> Response:
    return await _save_form(request, session, user.email, get_challenge(session, ref))


# --- the Challenge page -------------------------------------------------------------------

def portfolio(session: Session, ref: str, top_k: int = 10) -> dict[str, Any]:
    """The engine's diverse portfolio and coalitions."""
    result = cached_match(session, "challenge", ref, top_k)
    return {"results": result.results, "coalitions": result.coalitions,
            "rejected": [r.as_dict() for r in result.results.rejected]}


def _names(session: Session, refs: set[str]) -> dict[str, str]:
    if not refs:
        return {}
    rows = session.exec(select(EnterpriseRow.ref, EnterpriseRow.name).where(
        col(EnterpriseRow.ref).in_(refs))).all()
    return {r: n for r, n in rows}


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
            "members": [{**proposal_dict("challenge", row.ref, m, latest.get((row.ref, m.ref))),
                         "brings": list(c.brings.get(m.ref, ()))} for m in c.members],
            "score": c.score, "reasons": list(c.reasons or []),
            "capacity_eur": c.capacity_eur})
    stage_index = STATUSES.index(row.status) if row.status in STATUSES else len(STATUSES)
    pitches = [flow.pitch_dict(p) for p in flow.pitches(session, row.ref)]
    pilots = [flow.pilot_dict(p, on) for p in flow.pilots(session, row.ref)]
    names = _names(session, {p["enterprise_ref"] for p in pitches}
                   | {x for p in pitches for x in p["partners"]})
    by_pitch = {p["id"]: p for p in pitches}
    for pilot in pilots:
        pilot["pitch"] = by_pitch.get(pilot["pitch_id"])
    piloted = {p["pitch_id"] for p in pilots}
    evs = events(session, row.ref)
    closing = next((e for e in reversed(evs) if e.to_status == "closed"), None) \
        if row.status == "closed" else None
    return render(request, "challenges/detail.html", {
        "c": row, "item": item, "on": on, "stages": STATUSES, "stage_labels": STAGE_NL,
        "stage_index": stage_index, "next_stage": next_stage(row.status),
        "earlier": earlier_stages(row.status),
        "history": list(reversed(status_history(session, row.ref))),
        "pitches": pitches, "pilots": pilots, "piloted": piloted, "names": names,
        "outcomes": flow.OUTCOME_NL, "summary": closing.reason if closing else "",
        "proposals": proposals, "rejected": found["rejected"],
        "coalitions": coalitions, "n_candidates": n_candidates,
        "can_curate": access.sees_all(user), "form_error": pop_form_error(request),
        "next_url": f"/challenges/{row.ref}", "decision_labels": DECISION_NL,
        "local_time": local_time,
    })


def _back(ref: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/challenges/{ref}{anchor}", status_code=303)


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
        flash(request, t("Fase niet gewijzigd: {message}", message=_message(request, exc)),
              "error")
    else:
        flash(request, t("{title} staat nu in de fase {stage}.", title=row.title,
                         stage=t(STAGE_NL[new])))
    return _back(ref)


def _number(raw: Any) -> float | None:
    try:
        return parse_number(str(raw or ""))
    except NumberError:
        return float("nan")


def _date(raw: Any) -> date | None:
    try:
        return date.fromisoformat(str(raw or "").strip())
    except ValueError:
        return None


@router.post("/challenges/{ref}/pitches", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def pitch_post(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                     ) -> Response:
    row = get_challenge(session, ref)
    form = await request.form()
    data = flow.PitchInput(
        enterprise_ref=str(form.get("enterprise_ref") or ""),
        approach=str(form.get("approach") or ""), team=str(form.get("team") or ""),
        budget_eur=_number(form.get("budget_eur")),
        themes=tuple(str(v) for v in form.getlist("themes")),
        partners=tuple(p.strip() for p in str(form.get("partners") or "").split(",")))
    t = translator(request_lang(request))
    try:
        flow.submit_pitch(session, row, data, user.email)
    except DomainError as exc:
        session.rollback()
        flash(request, t("Pitch niet opgeslagen: {message}", message=_message(request, exc)),
              "error")
    else:
        flash(request, t("Pitch van {ref} opgeslagen.", ref=data.enterprise_ref.strip()))
    return _back(ref, "#pitches")


@router.post("/challenges/{ref}/pilots", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def pilot_post(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                     ) -> Response:
    row = get_challenge(session, ref)
    form = await request.form()
    t = translator(request_lang(request))
    raw_id = str(form.get("pitch_id") or "")
    try:
        flow.select_pilot(session, row, int(raw_id) if raw_id.isdigit() else -1,
                          _date(form.get("start")), _number(form.get("budget_eur")),
                          user.email)
    except DomainError as exc:
        session.rollback()
        flash(request, t("Pilot niet gekozen: {message}", message=_message(request, exc)),
              "error")
    else:
        flash(request, t("Pilot gekozen; de twaalf weken lopen vanaf de startdatum."))
    return _back(ref, "#pilots")


@router.post("/challenges/{ref}/pilots/{pilot_id}/evaluation", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def evaluation_post(ref: str, pilot_id: RowId, request: Request, user: ConnectorUser,
                          session: SessionDep) -> Response:
    row = get_challenge(session, ref)
    form = await request.form()
    t = translator(request_lang(request))
    raw_score = str(form.get("score") or "").strip()
    try:
        flow.evaluate_pilot(session, row, pilot_id, str(form.get("outcome") or ""),
                            int(raw_score) if raw_score.isdigit() else None,
                            str(form.get("note") or ""), user.email)
    except DomainError as exc:
        session.rollback()
        flash(request, t("Evaluatie niet opgeslagen: {message}",
                         message=_message(request, exc)), "error")
    else:
        flash(request, t("Evaluatie opgeslagen."))
    return _back(ref, "#pilots")


@router.post("/challenges/{ref}/close", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
async def close_post(ref: str, request: Request, user: ConnectorUser, session: SessionDep
                     ) -> Response:
    row = get_challenge(session, ref)
    form = await request.form()
    t = translator(request_lang(request))
    try:
        flow.close(session, row, str(form.get("summary") or ""), user.email)
    except DomainError as exc:
        session.rollback()
        flash(request, t("Challenge niet gesloten: {message}", message=_message(request, exc)),
              "error")
    else:
        flash(request, t("{title} is gesloten.", title=row.title))
    return _back(ref)


# --- JSON ---------------------------------------------------------------------------------


def _status_out(session: Session, row: ChallengeRow) -> dict[str, Any]:
    item = board_item(row, today())
    return {"ref": row.ref, "title": row.title, "status": row.status,
            "deadline": item["deadline"], "days_left": item["days_left"],
            "history": status_history(session, row.ref)}


def _raise(request: Request, session: Session, exc: DomainError) -> Exception:
    session.rollback()
    return api_error(http_status(exc), exc.as_message(), exc.field)


@api_router.get("/{ref:path}/matches", summary="Portfolio and coalitions for a Challenge",
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
                top_k: Annotated[int, Query(ge=1, le=50, description="How many to rank")] = 10,
                ) -> dict[str, Any]:
    """The engine's diverse ranking of enterprises for the Challenge and the coalitions
    it proposes (complementary enterprises that cover more of its themes together).
    Every reason is ``{"code", "params", "text"}`` (text in the request's language)."""
    row = get_challenge(session, ref)
    try:
        result = cached_match(session, "challenge", row.ref, top_k)
    except NotFound as exc:
        raise api_error(404, exc.as_message(), "ref") from None
    out = reasons.with_texts(result.as_dict(), api_lang(request))
    return {"challenge": row.ref, "status": row.status, **out}


@api_router.patch("/{ref:path}/status", response_model=StatusOut,
                  summary="Move a Challenge to the next stage, or reopen an earlier one")
@api_router.post("/{ref:path}/status", response_model=StatusOut,
                 summary="Move a Challenge to the next stage, or reopen an earlier one")
def api_status(ref: str, body: StatusIn, request: Request, user: ConnectorUser,
               session: SessionDep) -> dict[str, Any]:
    """intake → call → pitch → pilot → evaluation → closed, one stage at a time (409
    otherwise). Going back to an earlier stage is a reopening and needs a ``reason``
    (409 without: whether it is one depends on the stage the Challenge is in). Every change
    is appended to the Challenge's stage events."""
    row = get_challenge(session, ref)
    try:
        change_status(session, row, body.status, user.email, body.reason)
    except DomainError as exc:
        raise _raise(request, session, exc) from None
    return _status_out(session, row)


@api_router.get("/{ref:path}/pitches", response_model=list[PitchOut],
                summary="The pitches submitted to a Challenge")
def api_pitches(ref: str, user: ApiUser, session: SessionDep) -> list[dict[str, Any]]:
    row = get_challenge(session, ref)
    return [flow.pitch_dict(p) for p in flow.pitches(session, row.ref)]


@api_router.post("/{ref:path}/pitches", response_model=PitchOut, status_code=201,
                 summary="Submit a pitch during the call")
def api_pitch_create(ref: str, body: PitchIn, request: Request, user: ConnectorUser,
                     session: SessionDep) -> dict[str, Any]:
    """Connectors enter an enterprise's pitch (users are not linked to enterprises)."""
    row = get_challenge(session, ref)
    data = flow.PitchInput(enterprise_ref=body.enterprise_ref, approach=body.approach,
                           team=body.team, budget_eur=body.budget_eur,
                           themes=tuple(body.themes), partners=tuple(body.partners))
    try:
        return flow.pitch_dict(flow.submit_pitch(session, row, data, user.email))
    except DomainError as exc:
        raise _raise(request, session, exc) from None


@api_router.get("/{ref:path}/pilots", response_model=list[PilotOut],
                summary="The pilots of a Challenge with their clocks and evaluations")
def api_pilots(ref: str, user: ApiUser, session: SessionDep) -> list[dict[str, Any]]:
    row = get_challenge(session, ref)
    on = today()
    return [flow.pilot_dict(p, on) for p in flow.pilots(session, row.ref)]


@api_router.post("/{ref:path}/pilots", response_model=PilotOut, status_code=201,
                 summary="Select a pitch as pilot")
def api_pilot_create(ref: str, body: PilotIn, request: Request, user: ConnectorUser,
                     session: SessionDep) -> dict[str, Any]:
    """Each pilot runs twelve weeks from its start date, on its own budget."""
    row = get_challenge(session, ref)
    try:
        pilot = flow.select_pilot(session, row, body.pitch_id, body.start, body.budget_eur,
                                  user.email)
    except DomainError as exc:
        raise _raise(request, session, exc) from None
    return flow.pilot_dict(pilot, today())


@api_router.post("/{ref:path}/pilots/{pilot_id}/evaluation", response_model=PilotOut,
                 summary="Evaluate a pilot: outcome, score 1-10, note")
def api_pilot_evaluate(ref: str, pilot_id: RowId, body: EvaluationIn, request: Request,
                       user: ConnectorUser, session: SessionDep) -> dict[str, Any]:
    row = get_challenge(session, ref)
    try:
        pilot = flow.evaluate_pilot(session, row, pilot_id, body.outcome, body.score,
                                    body.note, user.email)
    except DomainError as exc:
        raise _raise(request, session, exc) from None
    return flow.pilot_dict(pilot, today())
