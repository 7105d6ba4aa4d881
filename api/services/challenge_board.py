"""A Challenge's stages, deadline and status history (the board's domain rules).

Every status change is appended to ``extra["status_history"]`` ({from, to, by, at,
reason}), whether made on the board, through the status API or through the CRUD API
(``record_crud_status_change``, its after_write hook).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from api.clock import utcnow
from api.errors import Conflict, Invalid
from api.services.free_text import clean_text
from api.tables import ChallengeRow, User

STAGES = ("intake", "call", "pitch", "pilot", "evaluation")
STATUSES = (*STAGES, "closed")
STAGE_NL = {"intake": "Intake", "call": "Oproep", "pitch": "Pitch", "pilot": "Pilot",
            "evaluation": "Evaluatie", "closed": "Gesloten"}
# Without an explicit deadline, a Challenge's call runs twelve weeks from opening.
DEFAULT_WEEKS = 12
SOON_DAYS = 14


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
        raise Invalid("status", "Kies een fase: intake, oproep, pitch, pilot, evaluatie of "
                                "gesloten.")
    if new == row.status:
        raise Conflict("status", "De challenge staat al in deze fase.")
    if len(reason) > 2000:
        raise Invalid("reason", "De reden is te lang (hoogstens 2000 tekens).")
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
    # The interchange document leaves a default status out of extra (api/serialize.py).
    old = old_extra.get("status", STATUSES[0]) if isinstance(old_extra, dict) else None
    if before is not None and old and old != row.status:
        hist.append(history_entry(str(old), row.status, user.email, "via API"))
    if hist or "status_history" in extra:
        extra["status_history"] = hist
        row.extra = extra
