"""Vetting: the connector approves, rejects or extends an enterprise's listing.

The current state lives on ``EnterpriseRow`` (vetting_status, vetted_by, vetted_on,
vetting_valid_until); every change is also appended to ``VettingEvent`` — both in
the same transaction, so the log never misses a change and never records one that
did not happen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from api.clock import utcnow
from api.errors import Invalid, InvalidState, NotFound
from api.messages import Text, msg
from api.tables import EnterpriseRow, VettingEvent

ACTIONS = ("vetted", "rejected", "pending")
# A vetting without an explicit end is valid for a year; PSO certificates for two.
DEFAULT_VALIDITY_DAYS = 365
EXPIRY_WARNING_DAYS = 31


# How an import records the vetting it brought (api.services.importing._vetting_event):
# fixed Dutch words and the file's name, read back as a message by ``event_text``.
IMPORTED_FROM = "geïmporteerd uit "
IMPORT_OF = "import van "
# Also the words (and full server paths) of events recorded before, still in the log.
_IMPORTED_RE = re.compile(r"^(?:imported from |geïmporteerd uit )(?P<file>.+)$", re.DOTALL)
_IMPORT_OF_RE = re.compile(r"^(?:import of |import van )(?P<file>.+)$", re.DOTALL)


def event_text(value: str | None) -> Text:
    """A vetting event's reason or author as shown: an import's words as a message naming
    the file only (never a path on the server), anything else as written."""
    if not value:
        return ""
    m = _IMPORTED_RE.match(value)
    if m:
        return msg("geïmporteerd uit {file}", file=_file_name(m.group("file")))
    m = _IMPORT_OF_RE.match(value)
    if m:
        return msg("import van {file}", file=_file_name(m.group("file")))
    return value


def _file_name(path: str) -> str:
    # Windows paths too: a file imported on another machine keeps its backslashes.
    return PurePath(path.replace("\\", "/")).name


def vetting_state(status: str, valid_until: date | None, on: date) -> str:
    """The vetting state shown and counted everywhere: ``expired`` when a vetting's end has
    passed on ``on``, else the stored status (vetted, pending, rejected)."""
    if status == "vetted" and valid_until is not None and valid_until < on:
        return "expired"
    return status


def is_validly_vetted(status: str, valid_until: date | None, on: date) -> bool:
    """Vetted and not expired on ``on``: the one rule for every list, count and check."""
    return vetting_state(status, valid_until, on) == "vetted"


def validly_vetted(on: date) -> ColumnElement[bool]:
    """``is_validly_vetted`` as a SQL condition on ``EnterpriseRow``."""
    return and_(col(EnterpriseRow.vetting_status) == "vetted",
                or_(col(EnterpriseRow.vetting_valid_until).is_(None),
                    col(EnterpriseRow.vetting_valid_until) >= on))


def expired_certificates(row: EnterpriseRow, today: date) -> list[tuple[str, str | None, date]]:
    """Certificates whose end has passed: flagged, and no longer credited."""
    out = []
    for c in row.certifications or []:
        until = _cert_date(c.get("valid_until"))
        if until is not None and until < today:
            out.append((str(c.get("scheme")), c.get("level"), until))
    return out


@dataclass
class VettingQueue:
    pending: list[EnterpriseRow] = field(default_factory=list)
    expiring: list[EnterpriseRow] = field(default_factory=list)
    expired: list[EnterpriseRow] = field(default_factory=list)
    # (enterprise, scheme, level, valid_until): certificates running out within a month
    certs_expiring: list[tuple[EnterpriseRow, str, str | None, date]] = field(
        default_factory=list
    )
    # (enterprise, scheme, level, valid_until): certificates that have run out
    certs_expired: list[tuple[EnterpriseRow, str, str | None, date]] = field(
        default_factory=list
    )

    @property
    def total(self) -> int:
        return len(self.pending) + len(self.expiring) + len(self.expired)


def _cert_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def expiring_certificates(
    row: EnterpriseRow, today: date, days: int = EXPIRY_WARNING_DAYS
) -> list[tuple[str, str | None, date]]:
    out = []
    for c in row.certifications or []:
        until = _cert_date(c.get("valid_until"))
        if until is not None and today <= until <= today + timedelta(days=days):
            out.append((str(c.get("scheme")), c.get("level"), until))
    return out


def queue(session: Session, today: date, limit: int = 200) -> VettingQueue:
    """Pending, expiring within a month, expired; plus certificates running out."""
    soon = today + timedelta(days=EXPIRY_WARNING_DAYS)
    q = VettingQueue()
    q.pending = list(session.exec(
        select(EnterpriseRow).where(EnterpriseRow.vetting_status == "pending")
        .order_by(col(EnterpriseRow.created_at), col(EnterpriseRow.id)).limit(limit)
    ).all())
    vetted_dated = and_(col(EnterpriseRow.vetting_status) == "vetted",
                        col(EnterpriseRow.vetting_valid_until).is_not(None))
    q.expiring = list(session.exec(
        select(EnterpriseRow).where(
            vetted_dated,
            col(EnterpriseRow.vetting_valid_until) >= today,
            col(EnterpriseRow.vetting_valid_until) <= soon,
        ).order_by(col(EnterpriseRow.vetting_valid_until)).limit(limit)
    ).all())
    q.expired = list(session.exec(
        select(EnterpriseRow).where(vetted_dated, col(EnterpriseRow.vetting_valid_until) < today)
        .order_by(col(EnterpriseRow.vetting_valid_until)).limit(limit)
    ).all())
    # Certificates are a JSON list: read only vetted/pending rows that have any, in
    # Python (JSON element queries differ between SQLite and PostgreSQL). Only the ids and
    # certificate lists of the whole registry are read; whole rows only for those with a
    # dated certificate (the header's notification count runs this for every connector,
    # and hydrating 10,000 rows took most of a second): those with one expired or ending
    # within the warning period.
    dated = [
        rid for rid, certs in session.exec(
            select(EnterpriseRow.id, EnterpriseRow.certifications).where(
                col(EnterpriseRow.vetting_status).in_(("vetted", "pending"))))
        if any(isinstance(c, dict) and (until := _cert_date(c.get("valid_until"))) is not None
               and until <= soon for c in certs or [])
    ]
    rows = [] if not dated else session.exec(
        select(EnterpriseRow).where(col(EnterpriseRow.id).in_(dated))
        .order_by(col(EnterpriseRow.id))
    ).all()
    for row in rows:
        for scheme, level, until in expiring_certificates(row, today):
            q.certs_expiring.append((row, scheme, level, until))
        for scheme, level, until in expired_certificates(row, today):
            q.certs_expired.append((row, scheme, level, until))
    q.certs_expiring.sort(key=lambda x: (x[3], x[0].name))
    q.certs_expired.sort(key=lambda x: (-x[3].toordinal(), x[0].name))
    return q


def decide(
    session: Session,
    enterprise_ref: str,
    status: str,
    *,
    by: str,
    today: date,
    reason: str = "",
    valid_until: date | None = None,
) -> tuple[EnterpriseRow, VettingEvent]:
    """Set the vetting state and append the event, in one transaction."""
    if status not in ACTIONS:
        raise Invalid("status", "Kies goedkeuren, afwijzen of terugzetten naar in behandeling.")
    reason = (reason or "").strip()
    if status in ("rejected", "pending") and not reason:
        raise Invalid("reason", "Geef een reden.")
    if len(reason) > 2000:
        raise Invalid("reason", "De reden is te lang (hoogstens 2000 tekens).")
    if status == "vetted":
        if valid_until is None:
            valid_until = today + timedelta(days=DEFAULT_VALIDITY_DAYS)
        # Measured from today, not from the request: InvalidState (409 in the API).
        if valid_until <= today:
            raise InvalidState("valid_until", "Geldig tot moet na vandaag liggen.")
        if valid_until > today + timedelta(days=3 * 366):
            raise InvalidState("valid_until", "Een toetsing geldt hoogstens drie jaar.")
    else:
        valid_until = None
    row = session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == enterprise_ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende onderneming.")
    row.vetting_status = status
    row.vetted_by = by
    row.vetted_on = today
    row.vetting_valid_until = valid_until
    row.updated_at = utcnow()
    event = VettingEvent(
        enterprise_ref=enterprise_ref, status=status, valid_until=valid_until,
        reason=reason, decided_by=by, decided_at=utcnow(),
    )
    session.add(row)
    session.add(event)
    session.commit()  # both or neither
    session.refresh(row)
    session.refresh(event)
    return row, event


def events(session: Session, enterprise_ref: str, limit: int = 50) -> list[VettingEvent]:
    return list(session.exec(
        select(VettingEvent).where(VettingEvent.enterprise_ref == enterprise_ref)
        .order_by(col(VettingEvent.decided_at).desc(), col(VettingEvent.id).desc()).limit(limit)
    ).all())


def vetted_on(session: Session, ent: EnterpriseRow, on: date) -> bool:
    """Was ``ent`` vetted (and its vetting still valid) on ``on``? The log's latest event
    decided on or before that day says; without any event, the current row does."""
    logged = session.exec(
        select(VettingEvent).where(VettingEvent.enterprise_ref == ent.ref)
        .order_by(col(VettingEvent.decided_at), col(VettingEvent.id))).all()
    if logged:
        then = [e for e in logged if e.decided_at.date() <= on]
        if not then:
            return False  # not yet vetted on that day
        last = then[-1]
        return last.status == "vetted" and (last.valid_until is None or on <= last.valid_until)
    return (ent.vetting_status == "vetted"
            and (ent.vetted_on is None or ent.vetted_on <= on)
            and (ent.vetting_valid_until is None or on <= ent.vetting_valid_until))


def parse_date(raw: str | None, field_name: str = "valid_until") -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10 and raw[2] == "-" and raw[5] == "-":
            d, m, y = raw.split("-")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(field_name, "Vul een datum in als dd-mm-jjjj.") from None
