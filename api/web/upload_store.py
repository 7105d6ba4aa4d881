"""Uploaded files held between a refused upload and the user's next try (the ledger
upload's column mapping: the user fixes the mapping without choosing the file again).

In the database (``HeldUpload``), not on the web process's disk: with several processes
or hosts behind a load balancer the next request may reach another one (issue #17). The
token lives in the user's signed session cookie and the rows name the user, so one user
can never use another's upload. Written with plain statements on their own connection:
a held file is not data the caches depend on, so it does not bump the shared data
version. Uploads older than ``MAX_AGE`` are removed on the next save.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from starlette.requests import Request

from api.clock import utcnow
from api.tables import HeldUpload, User

SESSION_KEY = "held_upload"
MAX_AGE = timedelta(hours=1)


@dataclass
class Upload:
    token: str
    files: list[tuple[str, bytes]]
    purpose: str


def _engine(session: Session) -> Engine:
    return session.get_bind().engine


def _token(request: Request) -> str | None:
    token = request.session.get(SESSION_KEY)
    return token if isinstance(token, str) and 0 < len(token) <= 40 else None


def save(request: Request, session: Session, user: User, files: list[tuple[str, bytes]],
         purpose: str) -> Upload:
    """Hold the files for this session's user (replacing an earlier held upload)."""
    token = secrets.token_urlsafe(24)
    old = _token(request)
    table = HeldUpload.__table__  # type: ignore[attr-defined]
    with _engine(session).begin() as conn:
        conn.execute(delete(table).where(col(HeldUpload.created_at) < utcnow() - MAX_AGE))
        if old is not None:
            conn.execute(delete(table).where(col(HeldUpload.token) == old))
        conn.execute(insert(table), [
            {"token": token, "user_id": int(user.id or 0), "purpose": purpose, "position": i,
             "name": name[:255], "data": data, "created_at": utcnow()}
            for i, (name, data) in enumerate(files)])
    request.session[SESSION_KEY] = token
    return Upload(token, files, purpose)


def load(request: Request, session: Session, user: User) -> Upload | None:
    """This session's held upload, or None (none, expired, or not this user's)."""
    token = _token(request)
    if token is None:
        return None
    with _engine(session).connect() as conn:
        rows = conn.execute(
            select(col(HeldUpload.name), col(HeldUpload.data), col(HeldUpload.purpose))
            .where(col(HeldUpload.token) == token, col(HeldUpload.user_id) == int(user.id or 0),
                   col(HeldUpload.created_at) >= utcnow() - MAX_AGE)
            .order_by(col(HeldUpload.position))).all()
    if not rows:
        return None
    return Upload(token, [(r[0], bytes(r[1])) for r in rows], rows[0][2])


def discard(request: Request, session: Session) -> None:
    token = _token(request)
    if token is not None:
        table = HeldUpload.__table__  # type: ignore[attr-defined]
        with _engine(session).begin() as conn:
            conn.execute(delete(table).where(col(HeldUpload.token) == token))
    request.session.pop(SESSION_KEY, None)
