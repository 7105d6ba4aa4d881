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
from api.labels import FEATURE_NL
from api.messages import (
    Message,
    Number,
    Text,
    from_json,
    is_message_json,
    msg,
    parse_stored,
    render_text,
)
from api.tables import WeightSetRow
from matcher.weights import DEFAULT, FEATURES, WeightSet

log = logging.getLogger(__name__)

LEARNED_NAME = "learned"
REFUSED = "refused"  # metrics["status"] of a learnt set the guard did not activate


class WeightsError(Exception):
    """A weights operation a user asked for that cannot be done; ``message`` says why, in
    the reader's language (api.messages)."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


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


def describe_change(old: Mapping[str, float], new: Mapping[str, float], top: int = 3
                    ) -> Message:
    """'Afstand 0,14 -> 0,52, CPV-codes 0,30 -> 0,12': the largest weight changes first,
    each feature by its label (api/labels.py), said in the reader's language."""
    diffs = sorted(
        ((f, float(old.get(f, 0.0)), float(new.get(f, 0.0))) for f in FEATURES),
        key=lambda t: -abs(t[2] - t[1]),
    )
    parts = [msg("{feature} {old} -> {new}", feature=Message(FEATURE_NL.get(f, f)),
                old=Number(a, 2), new=Number(b, 2))
             for f, a, b in diffs[:top] if abs(b - a) >= 0.005]
    if not parts:
        return msg("geen gewicht veranderd met 0,005 of meer")
    return msg("{changes}", changes=parts)


# The engine's own notes (matcher.weights, English there: the engine has no language) in
# Dutch; a stored note of a learnt set is a message (``learning.learn``, ``dumps``).
ENGINE_NOTES: dict[str, Message] = {
    "hand-set starting weights": msg("handmatig gekozen startgewichten"),
    "engine default weights": msg("standaardgewichten van de engine"),
    "hand-set Challenge profile: question text first, place and recognition light":
        msg("handmatig gekozen Challenge-profiel: eerst de tekst van de vraag, plaats en "
           "erkenning licht"),
}


def note_text(note: str | None) -> Text:
    """A weight set's stored note as shown: a message in the reader's language, an engine
    note in our words, anything else (an older row, a person's note) as written."""
    if note in ENGINE_NOTES:
        return ENGINE_NOTES[note]
    return parse_stored(note)


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
        known = ", ".join(str(r.version) for r in list_versions(session)) or "-"
        raise WeightsError(msg("geen gewichtenset met versie {version} (opgeslagen versies: "
                               "{known})", version=str(version), known=known))
    return row_to_weightset(row)


def rollback(session: Session, version: int, force: bool = False) -> WeightSetRow:
    """Make an earlier (or any saved) version the active set. A set the learning guard
    refused raises :class:`RefusedSet` unless ``force``."""
    ensure_default(session)
    row = session.exec(select(WeightSetRow).where(WeightSetRow.version == version)).first()
    if row is None:
        known = ", ".join(str(r.version) for r in list_versions(session))
        raise WeightsError(msg("geen gewichtenset met versie {version} (opgeslagen versies: "
                               "{known})", version=str(version), known=known))
    if is_refused(row) and not force:
        raise RefusedSet("force", "Versie {version} is bij het leren geweigerd: {reason}. "
                         "Bevestig om haar toch te activeren.", version=str(version),
                         reason=reason_text((row.metrics or {}).get("reason", "")))
    _set_active(session, row)
    session.commit()
    session.refresh(row)
    return row


def version_dict(row: WeightSetRow, previous: WeightSetRow | None = None,
                 lang: str = "nl") -> dict[str, Any]:
    """One version as pages, the API and the CLI show it; its note, change and refusal in
    ``lang``."""
    metrics = dict(row.metrics or {})
    if "reason" in metrics:
        metrics["reason"] = render_text(reason_text(metrics["reason"]), lang)
    return {
        "name": row.name, "version": row.version, "active": bool(row.active),
        "weights": {f: float((row.weights or {}).get(f, 0.0)) for f in FEATURES},
        "metrics": metrics, "note": render_text(note_text(row.note), lang),
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "change": (describe_change(previous.weights or {}, row.weights or {}).render(lang)
                   if previous is not None else None),
    }


def reason_text(value: Any) -> Text:
    """A learnt set's stored refusal (``metrics["reason"]``): a message, or older text."""
    return from_json(value) if is_message_json(value) else str(value or "")


def history(session: Session, lang: str = "nl") -> list[dict[str, Any]]:
    """Versions newest first, each with the change from the version before it."""
    rows = list_versions(session)
    return [version_dict(r, rows[i + 1] if i + 1 < len(rows) else None, lang)
            for i, r in enumerate(rows)]
