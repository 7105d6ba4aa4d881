"""Evidence kept with a delivery: an invoice or contract file (PDF, PNG or JPEG).

The type is read from the file's first bytes, never from its name or the browser's claim,
so a renamed executable or HTML page is refused. Files are stored in the append-only
``delivery_evidence`` table with their SHA-256: what was shown once stays as it was.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from api.errors import Invalid, NotFound
from api.tables import DeliveryEvidence, DeliveryRow

MAX_BYTES = 5 * 1024 * 1024
# Magic numbers: what the first bytes of each accepted type are.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def media_type_of(data: bytes) -> str | None:
    """The accepted media type ``data`` starts like, or None."""
    for magic, media_type in SIGNATURES:
        if data.startswith(magic):
            return media_type
    return None


def check_file(filename: str, data: bytes) -> str:
    """The file's media type; raises Invalid (field ``evidence``) when it cannot be kept."""
    if not data:
        raise Invalid("evidence", "Het bestand {name} is leeg.", name=filename or "?")
    if len(data) > MAX_BYTES:
        raise Invalid("evidence", "Het bestand is groter dan {max_mb} MB.",
                      max_mb=MAX_BYTES // (1024 * 1024))
    media_type = media_type_of(data)
    if media_type is None:
        raise Invalid("evidence", "Alleen een PDF, PNG of JPEG kan als bewijs dienen.")
    return media_type


def _safe_name(filename: str) -> str:
    # Only the base name, in characters every download header and file system accepts.
    base = re.split(r"[\\/]", filename or "")[-1]
    return re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:200] or "bewijs"


def attach(session: Session, delivery: DeliveryRow, filename: str, data: bytes,
           uploaded_by: str) -> DeliveryEvidence:
    """Check the file, keep it with ``delivery``, commit."""
    media_type = check_file(filename, data)
    row = DeliveryEvidence(
        delivery_id=delivery.id or 0, filename=_safe_name(filename), media_type=media_type,
        size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
        uploaded_by=uploaded_by)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def by_delivery(session: Session, delivery_ids: set[int]) -> dict[int, list[DeliveryEvidence]]:
    """The evidence of each delivery (without the file bytes), oldest first."""
    out: dict[int, list[DeliveryEvidence]] = {}
    if not delivery_ids:
        return out
    for ev in session.exec(
        select(DeliveryEvidence).options(defer(DeliveryEvidence.data))  # type: ignore[arg-type]
        .where(col(DeliveryEvidence.delivery_id).in_(delivery_ids))
        .order_by(col(DeliveryEvidence.uploaded_at), col(DeliveryEvidence.id))
    ).all():
        out.setdefault(ev.delivery_id, []).append(ev)
    return out


def get(session: Session, obligation_ref: str, evidence_id: int) -> DeliveryEvidence:
    """One file of a delivery of ``obligation_ref`` (NotFound for any other)."""
    row = session.exec(
        select(DeliveryEvidence).join(
            DeliveryRow, col(DeliveryRow.id) == col(DeliveryEvidence.delivery_id))
        .where(DeliveryEvidence.id == evidence_id, DeliveryRow.obligation_ref == obligation_ref)
    ).first()
    if row is None:
        raise NotFound("evidence", "Onbekend bewijsstuk.")
    return row


def delivery_of(session: Session, obligation_ref: str, delivery_id: int) -> DeliveryRow:
    row = session.exec(select(DeliveryRow).where(
        DeliveryRow.id == delivery_id, DeliveryRow.obligation_ref == obligation_ref)).first()
    if row is None:
        raise NotFound("delivery_id", "Onbekende levering.")
    return row
