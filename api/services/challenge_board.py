"""A Challenge's stages, deadline and stage history (the board's domain rules).

Stages move forward one at a time: intake → call → pitch → pilot → evaluation → closed.
Going back is a reopening, which needs a reason. Every change, whether made on the
board, through the status API or through the CRUD API (``record_crud_status_change``,
its after_write hook), appends a row to the append-only ``ChallengeEvent`` table; the
history is read from those events only, never from the Challenge's ``extra``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api.clock import utcnow
from api.errors import Conflict, Invalid
from api.services.free_text import clean_text
from api.tables import ChallengeEvent, ChallengePilot, ChallengeRow, User

STAGES = ("intake", "call", "pitch", "pilot", "evaluation")
STATUSES = (*STAGES, "closed")
STAGE_NL = {"intake": "Intake", "call": "Oproep", "pitch": "Pitch", "pilot": "Pilot",
            "evaluation": "Evaluatie", "closed": "Gesloten"}
# Without an explicit deadline, a Challenge's call runs twelve weeks from opening.
DEFAULT_WEEKS = 12
SOON_DAYS = 14
# The key the JSON history used to live under (moved into events by migration 0003).
LEGACY_HISTORY_KEY = "status_history"


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
    # A closed Challenge is done: its deadline no longer counts as missed.
    past = days_left is not None and days_left < 0 and row.status != "closed"
    return {
        "ref": row.ref, "title": row.title, "municipality": row.municipality_code,
        "status": row.status, "opened_on": row.opened_on, "deadline": deadline,
        "deadline_is_default": default, "days_left": days_left,
        "themes": list(row.themes or []), "budget_eur": row.budget_eur,
        "max_partners": row.max_partners, "href": f"/challenges/{row.ref}",
        "past_deadline": past,
        "urgency": "over" if days_left is not None and days_left < 0
        else ("soon" if days_left is not None and days_left <= SOON_DAYS else ""),
    }


def next_stage(status: str) -> str | None:
    """The one stage the Challenge may move forward to (None once closed)."""
    i = STATUSES.index(status) if status in STATUSES else len(STATUSES) - 1
    return STATUSES[i + 1] if i + 1 < len(STATUSES) else None


def earlier_stages(status: str) -> list[str]:
    """The stages a reopening may go back to."""
    return list(STATUSES[:STATUSES.index(status)]) if status in STATUSES else []


def is_reopening(old: str | None, new: str) -> bool:
    return (old in STATUSES and new in STATUSES
            and STATUSES.index(new) < STATUSES.index(str(old)))


def events(session: Session, ref: str) -> list[ChallengeEvent]:
    """The Challenge's stage events, oldest first."""
    return list(session.exec(select(ChallengeEvent).where(ChallengeEvent.challenge_ref == ref)
                             .order_by(col(ChallengeEvent.decided_at), col(ChallengeEvent.id)))
                .all())


def event_dict(ev: ChallengeEvent) -> dict[str, Any]:
    return {"from": ev.from_status, "to": ev.to_status, "by": ev.decided_by,
            "at": ev.decided_at.isoformat(timespec="seconds"), "reason": ev.reason,
            "reopen": is_reopening(ev.from_status, ev.to_status)}


def status_history(session: Session, ref: str) -> list[dict[str, Any]]:
    """The stage history (oldest first), from the events."""
    return [event_dict(ev) for ev in events(session, ref)]


def record_event(session: Session, ref: str, old: str | None, new: str, by: str,
                 reason: str = "") -> ChallengeEvent:
    ev = ChallengeEvent(challenge_ref=ref, from_status=old, to_status=new, reason=reason,
                        decided_by=by)
    session.add(ev)
    return ev


def check_move(session: Session, row: ChallengeRow, new: str, reason: str) -> None:
    """Refuse a stage change the workflow does not allow (domain errors, nothing written)."""
    if new not in STATUSES:
        raise Invalid("status", "Kies een fase: intake, oproep, pitch, pilot, evaluatie of "
                                "gesloten.")
    if new == row.status:
        raise Conflict("status", "De challenge staat al in deze fase.")
    if len(reason) > 2000:
        raise Invalid("reason", "De reden is te lang (hoogstens 2000 tekens).")
    if is_reopening(row.status, new):
        if not reason:
            # Whether a reason is needed depends on the stored stage: a conflict (409).
            raise Conflict("reason", "Geef een reden om de challenge naar een eerdere fase "
                                     "terug te zetten.")
        return
    following = next_stage(row.status)
    if new != following:
        raise Conflict("status", "Een challenge gaat één fase tegelijk vooruit; de volgende "
                                 "fase is {stage}.", stage=STAGE_NL.get(following or "", "–"))
    pilots = session.exec(select(ChallengePilot).where(
        ChallengePilot.challenge_ref == row.ref)).all()
    if new == "pilot" and not pilots:
        raise Conflict("status", "Kies eerst minstens één pitch als pilot.")
    if new == "closed" and any(p.status != "evaluated" for p in pilots):
        raise Conflict("status", "Evalueer eerst elke pilot voordat de challenge sluit.")


def change_status(session: Session, row: ChallengeRow, new: str, by: str, reason: str = ""
                  ) -> ChallengeRow:
    """Move to the next stage, or reopen an earlier one with a reason; the change is
    appended to the Challenge's events."""
    reason = clean_text(reason)
    check_move(session, row, new, reason)
    record_event(session, row.ref, row.status, new, by, reason)
    row.status = new
    row.updated_at = utcnow()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def record_crud_status_change(session: Session, user: User, row: ChallengeRow,
                              before: dict[str, Any] | None) -> None:
    """after_write hook for the CRUD API: a created Challenge gets its first event, a
    status changed there follows the board's rules and is recorded, and ``extra`` can
    carry no history (the events are the history)."""
    extra = dict(row.extra or {})
    if LEGACY_HISTORY_KEY in extra:
        extra.pop(LEGACY_HISTORY_KEY)
        row.extra = extra
    if before is None:
        record_event(session, row.ref, None, row.status, user.email, "via API")
        return
    old_extra = before.get("extra") or {}
    # The interchange document leaves a default status out of extra (api/serialize.py).
    old = str(old_extra.get("status", STATUSES[0])) if isinstance(old_extra, dict) \
        else STATUSES[0]
    if old != row.status:
        new = row.status
        row.status = old
        if is_reopening(old, new):
            raise Conflict("status", "Terugzetten naar een eerdere fase kan alleen met een "
                                     "reden, via POST /api/v1/challenges/{ref}/status.",
                           ref=row.ref)
        check_move(session, row, new, "")
        row.status = new
        record_event(session, row.ref, old, new, user.email, "via API")
