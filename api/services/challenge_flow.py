"""A Challenge's call, pilots and evaluation: pitches submitted during the call, pitches
selected as pilots (each with its own twelve-week clock and budget), one evaluation per
pilot, and closing the Challenge with its results.

Stage rules and the stage history are ``api.services.challenge_board``'s; this module only
adds what happens inside the stages. Who may do what is the routes' business: a user is
not linked to an enterprise in the user model, so pitches are entered by connectors on
the enterprise's behalf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api.clock import utcnow
from api.errors import Conflict, Invalid, InvalidState, NotFound
from api.i18n import Eur
from api.services.challenge_board import change_status
from api.services.free_text import clean_text
from api.tables import ChallengePilot, ChallengePitch, ChallengeRow, EnterpriseRow

PILOT_WEEKS = 12
OUTCOMES = ("success", "partial", "failed")
OUTCOME_NL = {"success": "Geslaagd", "partial": "Deels geslaagd", "failed": "Niet geslaagd"}
TEXT_MAX = 5000


@dataclass(frozen=True)
class PitchInput:
    enterprise_ref: str
    approach: str
    team: str = ""
    budget_eur: float | None = None
    themes: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()


def _amount(field: str, value: float | None) -> float:
    if value is None:
        raise Invalid(field, "Vul een budget in euro's in.")
    if not math.isfinite(value) or value < 0:
        raise Invalid(field, "Het budget moet een positief bedrag zijn.")
    return float(value)


def _text(field: str, value: str, required: str | None = None) -> str:
    text = clean_text(value)
    if required and not text:
        raise Invalid(field, required)
    if len(text) > TEXT_MAX:
        raise Invalid(field, "Te lang (hoogstens {n} tekens).", n=TEXT_MAX)
    return text


def _enterprise_exists(session: Session, ref: str) -> bool:
    return session.exec(select(EnterpriseRow.id).where(EnterpriseRow.ref == ref)).first() \
        is not None


def pitches(session: Session, ref: str) -> list[ChallengePitch]:
    return list(session.exec(select(ChallengePitch).where(ChallengePitch.challenge_ref == ref)
                             .order_by(col(ChallengePitch.id))).all())


def pilots(session: Session, ref: str) -> list[ChallengePilot]:
    return list(session.exec(select(ChallengePilot).where(ChallengePilot.challenge_ref == ref)
                             .order_by(col(ChallengePilot.id))).all())


def submit_pitch(session: Session, row: ChallengeRow, data: PitchInput, by: str
                 ) -> ChallengePitch:
    """Record an enterprise's pitch; only while the Challenge's call is open."""
    if row.status != "call":
        raise Conflict("status", "Pitches worden ingediend tijdens de oproep; deze challenge "
                                 "staat niet in de fase Oproep.")
    lead = clean_text(data.enterprise_ref)
    if not lead:
        raise Invalid("enterprise_ref", "Kies de onderneming die de pitch indient.")
    if not _enterprise_exists(session, lead):
        raise NotFound("enterprise_ref", "Onderneming {ref} bestaat niet.", ref=lead)
    partners = list(dict.fromkeys(clean_text(p) for p in data.partners if clean_text(p)))
    for p in partners:
        if p == lead:
            raise Invalid("partners", "De indiener is geen partner van zichzelf.")
        if not _enterprise_exists(session, p):
            raise NotFound("partners", "Onderneming {ref} bestaat niet.", ref=p)
    # The Challenge's own limits (stored): a conflict with it, not a malformed request.
    if 1 + len(partners) > row.max_partners:
        raise InvalidState("partners", "Deze challenge staat hoogstens {n} partners toe (de "
                                  "indiener meegeteld).", n=row.max_partners)
    themes = list(dict.fromkeys(clean_text(t) for t in data.themes if clean_text(t)))
    unknown = [t for t in themes if row.themes and t not in row.themes]
    if unknown:
        raise InvalidState("themes", "Geen thema van deze challenge: {themes}.",
                      themes=", ".join(unknown))
    if session.exec(select(ChallengePitch.id).where(
            ChallengePitch.challenge_ref == row.ref,
            ChallengePitch.enterprise_ref == lead)).first() is not None:
        raise Conflict("enterprise_ref", "Deze onderneming heeft al een pitch ingediend.")
    pitch = ChallengePitch(
        challenge_ref=row.ref, enterprise_ref=lead, partners=partners,
        approach=_text("approach", data.approach, "Beschrijf de aanpak."),
        team=_text("team", data.team), budget_eur=_amount("budget_eur", data.budget_eur),
        themes=themes, submitted_by=by)
    session.add(pitch)
    session.commit()
    session.refresh(pitch)
    return pitch


def select_pilot(session: Session, row: ChallengeRow, pitch_id: int, start: date | None,
                 budget_eur: float | None, by: str) -> ChallengePilot:
    """Select a pitch as pilot, with its start date and budget; several pilots may run
    side by side. Pilots are chosen after the pitches (stage Pitch) or added while
    others run (stage Pilot)."""
    if row.status not in ("pitch", "pilot"):
        raise Conflict("status", "Pilots worden gekozen na de pitches (fase Pitch of Pilot).")
    pitch = session.get(ChallengePitch, pitch_id)
    if pitch is None or pitch.challenge_ref != row.ref:
        raise NotFound("pitch_id", "Pitch {id} hoort niet bij deze challenge.", id=pitch_id)
    if start is None:
        raise Invalid("start", "Vul de startdatum van de pilot in.")
    budget = _amount("budget_eur", budget_eur)
    chosen = pilots(session, row.ref)
    if any(p.pitch_id == pitch_id for p in chosen):
        raise Conflict("pitch_id", "Deze pitch is al als pilot gekozen.")
    if row.budget_eur is not None and budget + sum(p.budget_eur for p in chosen) \
            > row.budget_eur + 0.005:
        raise InvalidState("budget_eur", "De pilots samen gaan over het budget van de challenge "
                                    "({budget}).", budget=Eur(row.budget_eur))
    pilot = ChallengePilot(challenge_ref=row.ref, pitch_id=pitch_id, start=start,
                           weeks=PILOT_WEEKS, budget_eur=budget, selected_by=by)
    session.add(pilot)
    session.commit()
    session.refresh(pilot)
    return pilot


def evaluate_pilot(session: Session, row: ChallengeRow, pilot_id: int, outcome: str,
                   score: int | None, note: str, by: str) -> ChallengePilot:
    """Record a pilot's outcome, score (1-10) and note; during the evaluation stage."""
    if row.status != "evaluation":
        raise Conflict("status", "Pilots worden geëvalueerd in de fase Evaluatie.")
    pilot = session.get(ChallengePilot, pilot_id)
    if pilot is None or pilot.challenge_ref != row.ref:
        raise NotFound("pilot_id", "Pilot {id} hoort niet bij deze challenge.", id=pilot_id)
    if outcome not in OUTCOMES:
        raise Invalid("outcome", "Kies een uitkomst: geslaagd, deels geslaagd of niet "
                                 "geslaagd.")
    if score is None or not 1 <= score <= 10:
        raise Invalid("score", "Geef een cijfer van 1 tot en met 10.")
    pilot.outcome, pilot.score = outcome, score
    pilot.note = _text("note", note)
    pilot.status = "evaluated"
    pilot.evaluated_by, pilot.evaluated_at = by, utcnow()
    session.add(pilot)
    session.commit()
    session.refresh(pilot)
    return pilot


def close(session: Session, row: ChallengeRow, summary: str, by: str) -> ChallengeRow:
    """Close the Challenge with a summary of its results (kept in the closing event)."""
    text = _text("summary", summary, "Vat de resultaten samen.")
    if row.status != "evaluation":
        raise Conflict("status", "Een challenge sluit na de evaluatie.")
    return change_status(session, row, "closed", by, text)


def pilot_clock(pilot: ChallengePilot, on: date) -> dict[str, Any]:
    """The pilot's own clock: its end date and the days left of its weeks."""
    end = pilot.start + timedelta(weeks=pilot.weeks)
    days_left = (end - on).days
    return {"end": end, "days_left": days_left,
            "started": on >= pilot.start, "over": days_left < 0}


def pitch_dict(p: ChallengePitch) -> dict[str, Any]:
    return {"id": p.id, "challenge_ref": p.challenge_ref, "enterprise_ref": p.enterprise_ref,
            "partners": list(p.partners or []), "approach": p.approach, "team": p.team,
            "budget_eur": p.budget_eur, "themes": list(p.themes or []),
            "submitted_by": p.submitted_by, "submitted_at": p.submitted_at}


def pilot_dict(p: ChallengePilot, on: date) -> dict[str, Any]:
    return {"id": p.id, "challenge_ref": p.challenge_ref, "pitch_id": p.pitch_id,
            "start": p.start, "weeks": p.weeks, "budget_eur": p.budget_eur,
            "status": p.status, "outcome": p.outcome, "score": p.score, "note": p.note,
            "selected_by": p.selected_by, "evaluated_by": p.evaluated_by,
            "evaluated_at": p.evaluated_at, **pilot_clock(p, on)}
