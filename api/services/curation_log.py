"""Connectors' curation decisions: append-only, with the scores they saw.

Every accept / reject / pin / unpin is a new ``CurationDecision`` row — never an
update — so two connectors deciding on the same match at the same moment are both
kept, and the learning engineer can train on exactly what was shown (features,
score, rank, weight set). The *current* state of a match is its latest decision.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.clock import utcnow
from api.errors import Invalid, NotFound
from api.tables import (
    ChallengeRow,
    CurationDecision,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
)

DECISIONS = ("accept", "reject", "pin", "unpin")
QUERY_KINDS = ("tender", "challenge", "obligation")
REASON_MAX = 2000


@dataclass(frozen=True)
class DecisionInput:
    query_kind: str
    query_ref: str
    enterprise_ref: str
    decision: str
    reason: str = ""
    rank: int | None = None
    score: float | None = None
    features: Mapping[str, float] | None = None
    weight_set: str | None = None
    override: bool = False  # accept/pin although a hard constraint excludes it


def _clean_features(features: Mapping[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in (features or {}).items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise Invalid("features", "Kenmerkscores moeten getallen zijn.") from None
        if not math.isfinite(x):
            raise Invalid("features", "Kenmerkscores moeten getallen zijn.")
        out[str(k)[:100]] = x
    return out


def _query_exists(session: Session, kind: str, ref: str) -> bool:
    table: Any = {"tender": TenderRow, "challenge": ChallengeRow, "obligation": ObligationRow}[kind]
    return session.exec(select(table.id).where(table.ref == ref)).first() is not None


def validate(session: Session, data: DecisionInput) -> None:
    if data.query_kind not in QUERY_KINDS:
        raise Invalid("query_kind", "Kies aanbesteding, challenge of verplichting.")
    if data.decision not in DECISIONS:
        raise Invalid("decision", "Kies accepteren, afwijzen, vastzetten of losmaken.")
    if data.decision == "reject" and not data.reason.strip():
        raise Invalid("reason", "Geef een reden bij afwijzen.")
    if data.override and not data.reason.strip():
        raise Invalid("reason", "Geef een reden als u een uitsluiting opzij zet.")
    if len(data.reason) > REASON_MAX:
        raise Invalid("reason", "De reden is te lang (hoogstens {n} tekens).", n=REASON_MAX)
    if not _query_exists(session, data.query_kind, data.query_ref):
        raise NotFound("query_ref", "Onbekende aanbesteding, challenge of verplichting.")
    found = session.exec(
        select(EnterpriseRow.id).where(EnterpriseRow.ref == data.enterprise_ref)
    ).first()
    if found is None:
        raise NotFound("enterprise_ref", "Onbekende onderneming.")


def record(session: Session, data: DecisionInput, decided_by: str) -> CurationDecision:
    """Append one decision (validated) and commit. Never updates an earlier one."""
    validate(session, data)
    row = CurationDecision(
        query_kind=data.query_kind,
        query_ref=data.query_ref,
        enterprise_ref=data.enterprise_ref,
        decision=data.decision,
        reason=data.reason.strip(),
        decided_by=decided_by,
        decided_at=utcnow(),
        rank=data.rank,
        score=None if data.score is None else float(data.score),
        features=_clean_features(data.features),
        weight_set=data.weight_set,
        override=bool(data.override) and data.decision in ("accept", "pin"),
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def latest_states(
    session: Session, kind: str, query_refs: Iterable[str]
) -> dict[tuple[str, str], CurationDecision]:
    """Latest decision per (query_ref, enterprise_ref) for these queries, in one query."""
    refs = list(set(query_refs))
    if not refs:
        return {}
    rows = session.exec(
        select(CurationDecision)
        .where(CurationDecision.query_kind == kind, col(CurationDecision.query_ref).in_(refs))
        .order_by(col(CurationDecision.decided_at), col(CurationDecision.id))
    ).all()
    out: dict[tuple[str, str], CurationDecision] = {}
    for r in rows:
        out[(r.query_ref, r.enterprise_ref)] = r  # later rows overwrite earlier
    return out


def history(
    session: Session, kind: str, query_ref: str, enterprise_ref: str | None = None
) -> list[CurationDecision]:
    """All decisions on a query (or one match of it), newest first."""
    q = select(CurationDecision).where(
        CurationDecision.query_kind == kind, CurationDecision.query_ref == query_ref
    )
    if enterprise_ref:
        q = q.where(CurationDecision.enterprise_ref == enterprise_ref)
    q = q.order_by(col(CurationDecision.decided_at).desc(), col(CurationDecision.id).desc())
    return list(session.exec(q).all())


def log_page(
    session: Session,
    *,
    query_ref: str | None = None,
    query_kind: str | None = None,
    enterprise_ref: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[CurationDecision], int]:
    q = select(CurationDecision)
    cq = select(func.count()).select_from(CurationDecision)
    for column, value in (
        (CurationDecision.query_ref, query_ref),
        (CurationDecision.query_kind, query_kind),
        (CurationDecision.enterprise_ref, enterprise_ref),
    ):
        if value:
            q = q.where(column == value)
            cq = cq.where(column == value)
    total = int(session.exec(cq).one())
    rows = session.exec(
        q.order_by(col(CurationDecision.decided_at).desc(), col(CurationDecision.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total


def as_dict(d: CurationDecision) -> dict[str, Any]:
    return {
        "id": d.id,
        "query_kind": d.query_kind,
        "query_ref": d.query_ref,
        "enterprise_ref": d.enterprise_ref,
        "decision": d.decision,
        "reason": d.reason,
        "decided_by": d.decided_by,
        "decided_at": d.decided_at.isoformat() if d.decided_at else None,
        "rank": d.rank,
        "score": d.score,
        "features": dict(d.features or {}),
        "weight_set": d.weight_set,
        "override": bool(d.override),
    }


CSV_FIELDS = ("id", "decided_at", "decided_by", "query_kind", "query_ref", "enterprise_ref",
              "decision", "reason", "rank", "score", "weight_set", "override")


def feature_names(session: Session) -> list[str]:
    """Every feature name in the log (one cheap pass over the features column)."""
    names: set[str] = set()
    for feats in session.exec(select(CurationDecision.features)).all():
        names.update((feats or {}).keys())
    return sorted(names)


def log_rows(session: Session, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """The whole log oldest first, one flat dict per decision: its fields, each feature as
    ``f_<name>``, and the names beside the references (``enterprise_name``, ``query_title``).

    Streams in batches so a long log never sits in memory whole."""
    last_id = 0
    while True:
        rows = session.exec(
            select(CurationDecision)
            .where(col(CurationDecision.id) > last_id)
            .order_by(col(CurationDecision.id))
            .limit(batch)
        ).all()
        if not rows:
            break
        names = dict(session.exec(select(EnterpriseRow.ref, EnterpriseRow.name).where(
            col(EnterpriseRow.ref).in_({r.enterprise_ref for r in rows}))).all())
        titles: dict[tuple[str, str], str] = {}
        for kind, table, title in (("tender", TenderRow, TenderRow.title),
                                   ("challenge", ChallengeRow, ChallengeRow.title),
                                   ("obligation", ObligationRow, ObligationRow.firm)):
            refs = {r.query_ref for r in rows if r.query_kind == kind}
            if refs:
                ref_col = col(table.ref)  # type: ignore[attr-defined]
                titles.update(((kind, ref), str(name)) for ref, name in session.exec(
                    select(table.ref, title).where(ref_col.in_(refs))).all())  # type: ignore[attr-defined]
        for r in rows:
            d = as_dict(r)
            feats = d.pop("features")
            d.update({f"f_{n}": v for n, v in feats.items()})
            d["enterprise_name"] = names.get(r.enterprise_ref)
            d["query_title"] = titles.get((r.query_kind, r.query_ref))
            yield d
            last_id = int(r.id or last_id)


def export_csv(session: Session, batch: int = 1000) -> Iterator[str]:
    """The whole log as machine CSV for ``sroi audit export`` (English keys, ``,``), one
    column per feature (``f_<name>``), oldest first; people download the page's CSV
    (``/curation/log.csv``), in their language."""
    feature_cols = feature_names(session)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*CSV_FIELDS, *(f"f_{n}" for n in feature_cols)])
    yield buf.getvalue()
    chunk: list[dict[str, Any]] = []
    for d in log_rows(session, batch):
        chunk.append(d)
        if len(chunk) >= batch:
            yield _machine_lines(chunk, feature_cols)
            chunk = []
    if chunk:
        yield _machine_lines(chunk, feature_cols)


def _machine_lines(rows: list[dict[str, Any]], feature_cols: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for d in rows:
        writer.writerow([*(d[k] if d[k] is not None else "" for k in CSV_FIELDS),
                         *(d.get(f"f_{n}", "") for n in feature_cols)])
    return buf.getvalue()
