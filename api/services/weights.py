"""Weight sets in the store: the active set, versions, rollback, learning from the curation log.

Every weight set ever used or proposed is a ``WeightSetRow``; versions are numbered
across all names (``learned`` v7 follows ``default`` v1 ... v6), so ``sroi weights
rollback 3`` names one row. Exactly one row is active; with none, the engine's own
default (``matcher.weights.DEFAULT``) is used and saved as version 1 the first time
a version is written, so the history always starts from it.

Learning from the curation log lives in ``api.services.learning``; a set it refused
(``metrics["status"] == "refused"``) is only activated by :func:`rollback` with ``force``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.clock import utcnow
from api.errors import Conflict
from api.tables import WeightSetRow
from matcher.weights import DEFAULT, FEATURES, WeightSet

log = logging.getLogger(__name__)

LEARNED_NAME = "learned"
REFUSED = "refused"  # metrics["status"] of a learnt set the guard did not activate


class WeightsError(Exception):
    """A weights operation a user asked for that cannot be done (message says why)."""


class RefusedSet(Conflict):
    """Activating a set the learning guard refused, without ``force``."""


# --------------------------------------------------------------------------- rows


def row_to_weightset(row: WeightSetRow) -> WeightSet:
    known = {k: float(v) for k, v in (row.weights or {}).items() if k in FEATURES and v >= 0}
    dropped = set(row.weights or {}) - set(known)
    if dropped:
        log.warning("weight set %s v%s: ignoring unknown features %s",
                    row.name, row.version, sorted(dropped))
    return WeightSet(name=row.name, version=int(row.version), weights=known, note=row.note)


def active_row(session: Session) -> WeightSetRow | None:
    return session.exec(
        select(WeightSetRow).where(col(WeightSetRow.active).is_(True))
        .order_by(col(WeightSetRow.version).desc())
    ).first()


def active_weights(session: Session) -> WeightSet:
    """The weight set matching uses now: the active row, else the engine's default."""
    row = active_row(session)
    return DEFAULT if row is None else row_to_weightset(row)


def list_versions(session: Session) -> list[WeightSetRow]:
    """Every saved version, newest first."""
    return list(session.exec(
        select(WeightSetRow).order_by(col(WeightSetRow.version).desc(), col(WeightSetRow.id).desc())
    ).all())


def _next_version(session: Session) -> int:
    current = session.exec(select(func.max(WeightSetRow.version))).one()
    return int(current or 0) + 1


def _set_active(session: Session, row: WeightSetRow) -> None:
    for other in session.exec(select(WeightSetRow).where(col(WeightSetRow.active).is_(True))):
        if other.id != row.id:
            other.active = False
            session.add(other)
    session.flush()
    row.active = True
    # When it became active, so a later rollback can say "again" truthfully.
    row.metrics = {**(row.metrics or {}),
                   "activated_at": [*(row.metrics or {}).get("activated_at", []),
                                    utcnow().isoformat()]}
    session.add(row)


def is_refused(row: WeightSetRow) -> bool:
    return (row.metrics or {}).get("status") == REFUSED


def was_active(row: WeightSetRow) -> bool:
    """Whether this version was ever the active set (the default counts: it starts so)."""
    return bool((row.metrics or {}).get("activated_at")) or row.version == 1


def ensure_default(session: Session) -> WeightSetRow:
    """The stored row of the engine's default set, created (active) when the table is empty."""
    existing = session.exec(select(WeightSetRow).order_by(col(WeightSetRow.version))).first()
    if existing is not None:
        return existing
    row = WeightSetRow(
        name=DEFAULT.name, version=1,
        weights={f: DEFAULT.get(f) for f in FEATURES},
        active=True, metrics={}, note=DEFAULT.note or "engine default weights",
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def describe_change(old: Mapping[str, float], new: Mapping[str, float], top: int = 3) -> str:
    """'geo 0.14 -> 0.52, cpv 0.30 -> 0.12, ...': the largest weight changes first."""
    diffs = sorted(
        ((f, float(old.get(f, 0.0)), float(new.get(f, 0.0))) for f in FEATURES),
        key=lambda t: -abs(t[2] - t[1]),
    )
    parts = [f"{f} {a:.2f} -> {b:.2f}" for f, a, b in diffs[:top] if abs(b - a) >= 0.005]
    return ", ".join(parts) if parts else "no weight changed by 0.005 or more"


def save_version(
    session: Session,
    weights: Mapping[str, float],
    *,
    name: str = LEARNED_NAME,
    metrics: Mapping[str, Any] | None = None,
    note: str = "",
    activate: bool = False,
) -> WeightSetRow:
    """Append a new version (never edits an old one); optionally make it the active set."""
    WeightSet(name=name, weights=dict(weights))  # validates names and signs
    ensure_default(session)
    row = WeightSetRow(
        name=name, version=_next_version(session),
        weights={f: float(weights.get(f, 0.0)) for f in FEATURES},
        active=False, metrics=dict(metrics or {}), note=note, created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if activate:
        _set_active(session, row)
    session.commit()
    session.refresh(row)
    return row


def weights_of_version(session: Session, version: int) -> WeightSet:
    row = session.exec(select(WeightSetRow).where(WeightSetRow.version == version)).first()
    if row is None:
        known = ", ".join(str(r.version) for r in list_versions(session)) or "none"
        raise WeightsError(f"no weight set version {version} (saved versions: {known})")
    return row_to_weightset(row)


def rollback(session: Session, version: int, force: bool = False) -> WeightSetRow:
    """Make an earlier (or any saved) version the active set. A set the learning guard
    refused raises :class:`RefusedSet` unless ``force``."""
    ensure_default(session)
    row = session.exec(select(WeightSetRow).where(WeightSetRow.version == version)).first()
    if row is None:
        known = ", ".join(str(r.version) for r in list_versions(session))
        raise WeightsError(f"no weight set version {version} (saved versions: {known})")
    if is_refused(row) and not force:
        raise RefusedSet("force", "Versie {version} is bij het leren geweigerd: {reason}. "
                         "Bevestig om haar toch te activeren.", version=version,
                         reason=(row.metrics or {}).get("reason", ""))
    _set_active(session, row)
    session.commit()
    session.refresh(row)
    return row


def version_dict(row: WeightSetRow, previous: WeightSetRow | None = None) -> dict[str, Any]:
    return {
        "name": row.name, "version": row.version, "active": bool(row.active),
        "weights": {f: float((row.weights or {}).get(f, 0.0)) for f in FEATURES},
        "metrics": dict(row.metrics or {}), "note": row.note,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "change": (describe_change(previous.weights or {}, row.weights or {})
                   if previous is not None else None),
    }


def history(session: Session) -> list[dict[str, Any]]:
    """Versions newest first, each with the change from the version before it."""
    rows = list_versions(session)
    return [version_dict(r, rows[i + 1] if i + 1 < len(rows) else None)
            for i, r in enumerate(rows)]
