"""In-app notifications (``/meldingen``, the count in the header): their one owner.

Notifications are not stored: they are computed on request from the data, for what the
user's role and organisation may see (``api.access`` rules), with "today" from
``api.clock``. Only "read" is stored (``NotificationRead``), under each notification's
stable key; a key names the thing and its date, so a screening renewed and expiring again
later is a new notification.

What is reported:
- screenings running out within ``vetting_flow.EXPIRY_WARNING_DAYS`` (the vetting owner's
  month) and certificates running out in that window: connectors and admins for every
  enterprise; a firm for the enterprises in its plans;
- passed deadlines: a Challenge's call (``challenge_board.deadline_of``; connectors and
  admins) and an open obligation's due date (connectors/admins, the firm, the officer of
  the tender's buyer);
- new proposals to curate: a tender, obligation or Challenge added in the last
  ``NEW_DAYS`` days on which no curation decision was made yet (connectors and admins);
- a committed plan (the ``PlanEvent`` log, last ``RECENT_DAYS`` days): connectors and
  admins, and the officer whose tender it concerns.

Messages are Dutch source strings with their values (the pages translate them).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.access import sees_all, visible_obligations
from api.clock import today as clock_today
from api.clock import utcnow
from api.i18n import N_
from api.services import vetting_flow
from api.services.challenge_board import STAGES, deadline_of
from api.services.single_flight import SingleFlight
from api.shared_state import data_version
from api.tables import (
    AllocationRow,
    ChallengeRow,
    CurationDecision,
    EnterpriseRow,
    NotificationRead,
    ObligationRow,
    PlanEvent,
    TenderRow,
    User,
)

NEW_DAYS = 14  # a query this new without any curation decision is "new proposals"
RECENT_DAYS = 30  # how long a committed plan stays in the list
LIMIT = 200  # per kind: the page lists the most urgent first

KINDS = ("vetting_expiring", "certificate_expiring", "deadline_passed", "new_proposals",
         "plan_committed")


@dataclass(frozen=True)
class Notification:
    key: str  # stable: what and when (marks as read survive recomputation)
    kind: str  # one of KINDS
    message: str  # Dutch, with {placeholders}
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    href: str = ""
    on: date | None = None  # the date it is about (expiry, deadline, commit)
    read: bool = False


def _as_date(value: datetime | date | None) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value


def _vetting(session: Session, user: User, on: date) -> list[Notification]:
    out: list[Notification] = []
    if sees_all(user):
        q = vetting_flow.queue(session, on, limit=LIMIT)
        expiring = q.expiring
        certs = q.certs_expiring
    elif user.role == "firm":
        # The firm's planned and committed enterprises: a screening or certificate that
        # runs out puts their credit at risk.
        own = select(ObligationRow.ref).where(ObligationRow.firm == (user.organisation or ""))
        refs = select(AllocationRow.enterprise_ref).where(
            col(AllocationRow.obligation_ref).in_(own)).distinct()
        rows = session.exec(select(EnterpriseRow).where(col(EnterpriseRow.ref).in_(refs))).all()
        soon = on + timedelta(days=vetting_flow.EXPIRY_WARNING_DAYS)
        expiring = [r for r in rows if r.vetting_status == "vetted" and r.vetting_valid_until
                    and on <= r.vetting_valid_until <= soon]
        certs = [(r, s, lv, u) for r in rows
                 for s, lv, u in vetting_flow.expiring_certificates(r, on)]
    else:
        return out
    for row in expiring:
        until = row.vetting_valid_until
        out.append(Notification(
            f"vetting:{row.ref}:{until}", "vetting_expiring",
            N_("De screening van {name} verloopt op {date}."),
            {"name": row.name, "date": until}, f"/enterprises/{row.ref}", until))
    for row, scheme, level, until in certs:
        out.append(Notification(
            f"cert:{row.ref}:{scheme}:{level or ''}:{until}", "certificate_expiring",
            N_("Het keurmerk {scheme} van {name} verloopt op {date}."),
            {"scheme": scheme + (f" {level}" if level else ""), "name": row.name,
             "date": until}, f"/enterprises/{row.ref}", until))
    return out


def _deadlines(session: Session, user: User, on: date) -> list[Notification]:
    out: list[Notification] = []
    if sees_all(user):
        for ch in session.exec(select(ChallengeRow).where(
                col(ChallengeRow.status).in_(STAGES))).all():
            deadline, _ = deadline_of(ch)
            if deadline is not None and deadline < on:
                out.append(Notification(
                    f"challenge-deadline:{ch.ref}:{deadline}", "deadline_passed",
                    N_("De deadline van Challenge {title} is verstreken ({date})."),
                    {"title": ch.title, "date": deadline}, f"/challenges/{ch.ref}", deadline))
    if user.role in ("officer", "firm") or sees_all(user):
        stmt = visible_obligations(user, select(ObligationRow).where(
            ObligationRow.status == "open", col(ObligationRow.due).is_not(None),
            col(ObligationRow.due) < on)).order_by(col(ObligationRow.due)).limit(LIMIT)
        for ob in session.exec(stmt).all():
            out.append(Notification(
                f"obligation-due:{ob.ref}:{ob.due}", "deadline_passed",
                N_("Verplichting {ref} van {firm} is nog open; de einddatum was {date}."),
                {"ref": ob.ref, "firm": ob.firm, "date": ob.due}, f"/obligations/{ob.ref}",
                ob.due))
    return out


def _new_proposals(session: Session, user: User, on: date) -> list[Notification]:
    if not sees_all(user):
        return []
    since = on - timedelta(days=NEW_DAYS)
    decided = {(k, r) for k, r in session.exec(
        select(CurationDecision.query_kind, CurationDecision.query_ref).distinct()).all()}
    out: list[Notification] = []
    queries: list[tuple[str, str, str, Any]] = []
    queries += [("tender", r, t, c) for r, t, c in session.exec(
        select(TenderRow.ref, TenderRow.title, TenderRow.created_at).where(
            TenderRow.status == "published",
            or_(col(TenderRow.end).is_(None), col(TenderRow.end) >= on))).all()]
    queries += [("obligation", r, f, c) for r, f, c in session.exec(
        select(ObligationRow.ref, ObligationRow.firm, ObligationRow.created_at).where(
            ObligationRow.status == "open")).all()]
    queries += [("challenge", r, t, c) for r, t, c in session.exec(
        select(ChallengeRow.ref, ChallengeRow.title, ChallengeRow.created_at).where(
            col(ChallengeRow.status).in_(STAGES))).all()]
    message = {
        "tender": N_("Nieuwe voorstellen voor aanbesteding {title}: nog niet beoordeeld."),
        "obligation": N_("Nieuwe voorstellen voor verplichting {title}: nog niet beoordeeld."),
        "challenge": N_("Nieuwe voorstellen voor Challenge {title}: nog niet beoordeeld."),
    }
    for kind, ref, title, created in queries:
        added = _as_date(created)
        if added is None or added < since or (kind, ref) in decided:
            continue
        out.append(Notification(
            f"proposals:{kind}:{ref}", "new_proposals",
            message[kind],
            {"title": title}, f"/curation?kind={kind}&q={ref}", added))
    return out[:LIMIT]


def _committed_plans(session: Session, user: User, on: date) -> list[Notification]:
    if not (sees_all(user) or user.role == "officer"):
        return []
    since = datetime.combine(on - timedelta(days=RECENT_DAYS), datetime.min.time())
    stmt = select(PlanEvent, ObligationRow).join(
        ObligationRow, col(ObligationRow.ref) == col(PlanEvent.obligation_ref)).where(
        PlanEvent.action == "commit")
    if user.role == "officer":
        own = select(TenderRow.ref).where(TenderRow.buyer == (user.organisation or ""))
        stmt = stmt.where(col(ObligationRow.tender_ref).in_(own))
    stmt = stmt.order_by(col(PlanEvent.decided_at).desc()).limit(LIMIT)
    out: list[Notification] = []
    for ev, ob in session.exec(stmt).all():
        when = _as_date(ev.decided_at)
        if when is None or when < since.date():
            continue
        out.append(Notification(
            f"plan:{ev.id}", "plan_committed",
            N_("{firm} heeft het plan voor verplichting {ref} vastgelegd."),
            {"firm": ob.firm, "ref": ob.ref}, f"/obligations/{ob.ref}", when))
    return out


def for_user(session: Session, user: User, on: date | None = None) -> list[Notification]:
    """Every notification for ``user`` on ``on`` (default: today), unread first, then the
    most recent or most urgent date first."""
    day = on or clock_today()
    items = (_vetting(session, user, day) + _deadlines(session, user, day)
             + _new_proposals(session, user, day) + _committed_plans(session, user, day))
    read = set(session.exec(select(NotificationRead.key).where(
        NotificationRead.user_id == user.id)).all()) if items else set()
    out = [Notification(n.key, n.kind, n.message, n.params, n.href, n.on, n.key in read)
           for n in items]
    # Unread first; among them what is about today's neighbourhood first (expiries soon,
    # deadlines just passed, commits just made).
    out.sort(key=lambda n: (n.read, abs((n.on - day).days) if n.on else 10**6, n.key))
    return out


def unread_count(session: Session, user: User, on: date | None = None) -> int:
    return sum(1 for n in for_user(session, user, on) if not n.read)


# The header shows the count on every page: kept per (database, user, day) under the
# shared data version (``api.shared_state``: every writing commit of every process bumps
# it, read at most every 0.5 s), so a page costs one computation per change, and a change
# made through another process (a screening renewed, a notification marked read there)
# shows within a second. COUNT_TTL_S bounds what a write that bypasses the ORM (a bulk
# import) can leave behind, and is the only rule where the database has no counter yet.
# One computation per key at a time (100-160 ms for a connector at 10,000 enterprises): when
# only the TTL ran out, the other requests answer with the count they have meanwhile;
# after a change they wait for the new one. Before, every thread that passed the expiry
# computed it: the tender page stalled for a second every 30 s under load (#17).
COUNT_TTL_S = 30.0
_counts: dict[tuple[str, int, date], tuple[float, int | None, int]] = {}
_counts_lock = threading.Lock()
_FLIGHT = SingleFlight()


def _cache_key(session: Session, user: User, day: date) -> tuple[str, int, date]:
    return (str(session.get_bind().engine.url), int(user.id or 0), day)


def header_count(session: Session, user: User) -> int:
    """``unread_count`` for the header, cached until the data changes (see above)."""
    day = clock_today()
    key = _cache_key(session, user, day)
    version = data_version(session.get_bind().engine)

    def cached(fresh_only: bool) -> int | None:
        with _counts_lock:
            hit = _counts.get(key)
        if hit is None or hit[1] != version:
            return None
        return hit[2] if hit[0] > time.monotonic() or not fresh_only else None

    fresh = cached(True)
    if fresh is not None:
        return fresh
    stale = cached(False)
    if stale is not None and _FLIGHT.running(key):
        return stale

    def compute() -> int:
        count = unread_count(session, user, day)
        with _counts_lock:
            if len(_counts) > 10_000:
                _counts.clear()
            _counts[key] = (time.monotonic() + COUNT_TTL_S, version, count)
        return count

    return _FLIGHT.run(key, compute, lambda: cached(True))


def forget_count(user: User) -> None:
    with _counts_lock:
        for key in [k for k in _counts if k[1] == user.id]:
            del _counts[key]


def mark_read(session: Session, user: User, keys: list[str]) -> int:
    """Mark these keys read for ``user`` (only keys the user has now; others are ignored,
    so a forged key stores nothing). Returns how many were newly marked."""
    if user.id is None:
        return 0
    mine = {n.key for n in for_user(session, user)}
    wanted = [k for k in dict.fromkeys(keys) if k in mine]
    if not wanted:
        return 0
    already = set(session.exec(select(NotificationRead.key).where(
        NotificationRead.user_id == user.id, col(NotificationRead.key).in_(wanted))).all())
    new = [k for k in wanted if k not in already]
    for key in new:
        session.add(NotificationRead(user_id=user.id, key=key[:200], read_at=utcnow()))
    forget_count(user)
    try:
        session.commit()
    except IntegrityError:  # a second tab marked the same at the same moment: already read
        session.rollback()
        return 0
    return len(new)
