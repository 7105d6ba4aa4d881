"""A small deterministic data set for the web tests (independent of the fixtures file).

Two buyers (Gemeente Utrecht, Gemeente Amsterdam), two firms, 60 enterprises around
six municipalities, with allocations, deliveries, curation decisions and vetting events,
and one user per role (plus a second officer and firm for the access tests).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlmodel import Session

from api.security import hash_password
from api.tables import (
    AllocationRow,
    ChallengeRow,
    CurationDecision,
    DeliveryRow,
    EnterpriseRow,
    JobRow,
    ObligationRow,
    TenderRow,
    User,
    VettingEvent,
)
from matcher.refdata import municipalities

PASSWORD = "correct-horse-42"
UTRECHT = "Gemeente Utrecht"
AMSTERDAM = "Gemeente Amsterdam"
FIRM_A = "Bouwbedrijf De Vries B.V."
FIRM_B = "Schoonmaak Holland B.V."

USERS = {
    "officer": ("officer@test.nl", UTRECHT),
    "officer2": ("officer2@test.nl", AMSTERDAM),
    "firm": ("firm@test.nl", FIRM_A),
    "firm2": ("firm2@test.nl", FIRM_B),
    "connector": ("connector@test.nl", None),
    "admin": ("admin@test.nl", None),
}

SECTORS = [
    ("Schoon", ["90911200", "90910000"], "schoonmaak van kantoren en scholen"),
    ("Groen", ["77310000", "77311000"], "groenonderhoud en beplanting van parken"),
    ("Keuken", ["55520000", "55521200"], "catering en maaltijdbezorging"),
    ("Wacht", ["79710000"], "beveiliging en toezicht bij evenementen"),
    ("Druk", ["22000000", "79800000"], "drukwerk en afwerking"),
    ("Fiets", ["50000000", "34430000"], "fietsreparatie en onderhoud"),
]
PLACES = ["GM0344", "GM0363", "GM0599", "GM0307", "GM0193", "GM0394"]
GROUPS = ["participatiewet", "banenafspraak", "wajong", "statushouders", "50plus", "ww"]


def seed(session: Session, n_enterprises: int = 60) -> None:
    rng = random.Random(7)
    munis = municipalities()
    for role, (email, org) in USERS.items():
        session.add(User(email=email, name=role.title(), role=role.rstrip("2"),
                         organisation=org, password_hash=hash_password(PASSWORD)))
    for i in range(n_enterprises):
        word, cpv, what = SECTORS[i % len(SECTORS)]
        code = PLACES[(i // len(SECTORS)) % len(PLACES)]
        m = munis[code]
        status = "vetted" if i % 5 else ("pending" if i % 10 else "rejected")
        certs = []
        if i % 3 == 0:
            certs.append({"scheme": "PSO", "level": "2",
                          "valid_until": "2027-06-30" if i % 6 else "2024-01-31"})
        if i % 4 == 0:
            certs.append({"scheme": "SENL", "level": None, "valid_until": None})
        session.add(EnterpriseRow(
            ref=f"E-{i:03d}", name=f"{word}werk {m.name} {i}",
            description=f"Sociale onderneming voor {what} met mensen met afstand tot werk.",
            cpv=cpv, municipality_code=code, lat=m.lat + rng.uniform(-0.02, 0.02),
            lon=m.lon + rng.uniform(-0.02, 0.02), target_groups=rng.sample(GROUPS, 2),
            themes=["werk"], placements_per_year=2 + i % 7,
            purchasing_eur_per_year=50_000.0 + 10_000 * (i % 10),
            target_group_share=0.35, trade_income_share=0.7, certifications=certs,
            vetting_status=status, vetted_by="Test" if status != "pending" else None,
            vetted_on=date(2025, 3, 1) if status != "pending" else None,
            vetting_valid_until=date(2027, 3, 1) if status == "vetted" else None,
        ))
        if status != "pending":
            session.add(VettingEvent(enterprise_ref=f"E-{i:03d}", status=status,
                                     valid_until=date(2027, 3, 1), reason="test",
                                     decided_by="connector@test.nl",
                                     decided_at=datetime(2025, 3, 1, 10, 0, tzinfo=UTC)))
    tenders = [
        ("T-UTR-1", UTRECHT, "Schoonmaak stadskantoren", ["90911200"], 2_400_000, "published"),
        ("T-UTR-2", UTRECHT, "Groenonderhoud parken", ["77310000"], 900_000, "published"),
        ("T-UTR-3", UTRECHT, "Catering raadhuis (concept)", ["55520000"], 400_000, "draft"),
        ("T-AMS-1", AMSTERDAM, "Beveiliging evenementen", ["79710000"], 1_200_000, "published"),
        ("T-AMS-2", AMSTERDAM, "Drukwerk", ["22000000"], 300_000, "draft"),
    ]
    for ref, buyer, title, cpv, value, status in tenders:
        code = "GM0344" if buyer == UTRECHT else "GM0363"
        session.add(TenderRow(ref=ref, buyer=buyer, title=title, cpv=cpv,
                              contract_value_eur=float(value), municipality_code=code,
                              sroi_percentage=5.0, status=status,
                              start=date(2026, 1, 1), end=date(2029, 12, 31)))
    obligations = [
        ("O-1", FIRM_A, "T-UTR-1", 120_000.0), ("O-2", FIRM_A, "T-UTR-2", 45_000.0),
        ("O-3", FIRM_B, "T-AMS-1", 60_000.0),
    ]
    for ref, firm, tref, amount in obligations:
        session.add(ObligationRow(ref=ref, firm=firm, tender_ref=tref, amount_eur=amount,
                                  buys=["90911200"], municipality_code="GM0344",
                                  due=date(2029, 12, 31)))
    session.add(ChallengeRow(ref="C-1", municipality_code="GM0344", title="Eenzaamheid",
                             question="Hoe bereiken we eenzame ouderen?",
                             themes=["eenzaamheid"], opened_on=date(2026, 2, 1)))
    allocations = [("O-1", "E-001", 30_000.0), ("O-1", "E-006", 20_000.0),
                   ("O-2", "E-002", 15_000.0), ("O-3", "E-003", 25_000.0)]
    for i, (oref, eref, amount) in enumerate(allocations):
        session.add(AllocationRow(obligation_ref=oref, enterprise_ref=eref, amount_eur=amount,
                                  credit_eur=amount, status="committed"))
        for month in range(3):
            session.add(DeliveryRow(obligation_ref=oref, enterprise_ref=eref,
                                    on=date(2026, 1 + month + i, 15), amount_eur=amount / 6,
                                    credit_eur=amount / 6))
        kind, qref = ("obligation", oref)
        session.add(CurationDecision(query_kind=kind, query_ref=qref, enterprise_ref=eref,
                                     decision="accept", decided_by="connector@test.nl",
                                     decided_at=datetime(2026, 1 + i, 10, i, tzinfo=UTC),
                                     rank=1, score=0.8))
        session.add(CurationDecision(query_kind="tender", query_ref="T-UTR-1",
                                     enterprise_ref=eref, decision="accept",
                                     decided_by="connector@test.nl",
                                     decided_at=datetime(2026, 2 + i, 3, tzinfo=UTC), rank=i + 1,
                                     score=0.7))
    # One ended background job (its page and API exist for the access matrix).
    session.add(JobRow(id="job-seeded", kind="rank_tenders", state="done",
                       created_by=0, created_by_email="connector@test.nl",
                       result={"tenders": 0, "rows": 0}))
    session.commit()


@contextmanager
def seeded_api_database(url: str, roles: Iterable[str],
                        tokens: dict[str, str]) -> Iterator[str]:
    """The database at ``url`` created and seeded, a fresh API token per role written into
    ``tokens``, and the app pointed at it (DATABASE_URL, TODAY=2026-06-01) while in use:
    the API test modules that serve one database to a whole module share this."""
    import pytest
    from sqlmodel import SQLModel, select

    from api import settings as api_settings
    from api.db import engine_for
    from api.security import new_api_token

    engine = engine_for(url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        seed(session)
        for role in roles:
            token, digest = new_api_token()
            user = session.exec(select(User).where(User.email == USERS[role][0])).one()
            user.api_token_hash = digest
            session.add(user)
            tokens[role] = token
        session.commit()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("TODAY", "2026-06-01")
        api_settings.get_settings.cache_clear()
        yield url
    api_settings.get_settings.cache_clear()
    engine.dispose()
    engine_for.cache_clear()
