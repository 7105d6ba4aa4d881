"""The audit tables refuse UPDATE and DELETE in the database itself, for raw SQL too,
whether the schema was made by the migrations or by ``create_all`` (the tests' way)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from api.append_only import APPEND_ONLY_TABLES
from api.db import normalise_url
from api.migrate import upgrade
from api.tables import (
    ChallengeEvent,
    CurationDecision,
    DeliveryEvidence,
    DeliveryRow,
    PlanEvent,
    VettingEvent,
)

pytestmark = pytest.mark.postgres


def _write_one_of_each(engine: Engine) -> None:
    with Session(engine) as s:
        s.add(CurationDecision(query_kind="tender", query_ref="T-1", enterprise_ref="E-1",
                               decision="accept", reason="past well", decided_by="c@x.nl"))
        s.add(VettingEvent(enterprise_ref="E-1", status="vetted", decided_by="c@x.nl",
                           valid_until=date(2027, 1, 1)))
        s.add(DeliveryRow(obligation_ref="O-1", enterprise_ref="E-1", on=date(2026, 5, 1),
                          amount_eur=1000.0, credit_eur=1000.0))
        s.add(ChallengeEvent(challenge_ref="C-1", from_status="intake", to_status="call",
                             decided_by="c@x.nl"))
        s.add(DeliveryEvidence(delivery_id=1, filename="f.pdf", media_type="application/pdf",
                               size=8, sha256="0" * 64, data=b"%PDF-1.4", uploaded_by="c@x.nl"))
        s.add(PlanEvent(obligation_ref="O-1", action="uncommit", reason="capaciteit weg",
                        decided_by="f@x.nl", rows=[{"enterprise": "E-1", "kind": "purchase"}]))
        s.commit()


UPDATES = {
    "curation_decision": "UPDATE curation_decision SET reason = 'changed'",
    "vetting_event": "UPDATE vetting_event SET status = 'rejected'",
    "delivery": "UPDATE delivery SET amount_eur = 1",
    "challenge_event": "UPDATE challenge_event SET to_status = 'closed'",
    "delivery_evidence": "UPDATE delivery_evidence SET filename = 'other.pdf'",
    "plan_event": "UPDATE plan_event SET reason = ''",
}


def _assert_refused(engine: Engine) -> None:
    assert set(UPDATES) == set(APPEND_ONLY_TABLES)
    for table in APPEND_ONLY_TABLES:
        for statement in (UPDATES[table], f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    # Nothing changed: every row is still there as written.
    with Session(engine) as s:
        assert s.exec(select(CurationDecision)).one().reason == "past well"
        assert s.exec(select(VettingEvent)).one().status == "vetted"
        assert s.exec(select(DeliveryRow)).one().amount_eur == 1000.0
        assert s.exec(select(ChallengeEvent)).one().to_status == "call"
        assert s.exec(select(DeliveryEvidence)).one().filename == "f.pdf"
        assert s.exec(select(PlanEvent)).one().reason == "capaciteit weg"


def test_raw_sql_cannot_change_or_delete_audit_rows(db_engine: Engine) -> None:
    _write_one_of_each(db_engine)
    _assert_refused(db_engine)
    if db_engine.dialect.name == "postgresql":  # TRUNCATE exists on PostgreSQL only
        with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as conn:
            conn.execute(text("TRUNCATE delivery"))


def test_migrated_database_refuses_raw_changes_too(db_url: str) -> None:
    upgrade(db_url)
    engine = create_engine(normalise_url(db_url))
    try:
        _write_one_of_each(engine)
        _assert_refused(engine)
        # Appending stays possible: a correction is a new row.
        with Session(engine) as s:
            s.add(CurationDecision(query_kind="tender", query_ref="T-1", enterprise_ref="E-1",
                                   decision="reject", reason="withdrawn", decided_by="c@x.nl"))
            s.commit()
            assert len(s.exec(select(CurationDecision)).all()) == 2
    finally:
        engine.dispose()
