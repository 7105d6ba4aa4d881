"""Policies by date and region on SQLite and PostgreSQL: the obligation's policy and due
amount, feasibility "not applicable" (owes nothing, cannot be computed, no policy), and no
silent default when no policy covers the buyer's region."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from api import settings as api_settings
from api.convert import obligation_from_row
from api.errors import Invalid
from api.services import matching, planning
from api.services.policies import NO_POLICY, obligation_policy
from api.tables import EnterpriseRow, ObligationRow, TenderRow

UTRECHT = (52.0907, 5.1214)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TODAY", "2026-03-01")
    api_settings.get_settings.cache_clear()
    matching.invalidate()
    yield
    matching.invalidate()
    api_settings.get_settings.cache_clear()


def tender(ref: str, municipality: str, **kw: Any) -> TenderRow:
    data: dict[str, Any] = dict(
        ref=ref, buyer="Gemeente X", title="Schoonmaak kantoren",
        description="Schoonmaak van gemeentelijke kantoren", cpv=["90911200"],
        contract_value_eur=1_000_000, sroi_percentage=5, start=date(2026, 1, 1),
        end=date(2027, 1, 1), municipality_code=municipality)
    data.update(kw)
    return TenderRow(**data)


@pytest.fixture
def store(session: Session) -> Session:
    session.add_all([
        EnterpriseRow(ref="E-1", name="Schoon Werk", description="Schoonmaak van kantoren",
                      cpv=["90911200"], municipality_code="GM0344", lat=UTRECHT[0],
                      lon=UTRECHT[1], service_radius_km=300, target_groups=["participatiewet"],
                      purchasing_eur_per_year=500_000, vetting_status="vetted",
                      vetted_on=date(2025, 1, 1), vetting_valid_until=date(2028, 1, 1)),
        tender("T-UTR", "GM0344"),
        tender("T-ARN", "GM0202"),                     # Arnhem: Gelderland, East NL
        tender("T-RTM", "GM0599"),                     # Rotterdam: no policy covers it
        tender("T-RTM-CHOSEN", "GM0599", sroi_policy="oost-nederland-2023"),
        tender("T-ARN-EARLY", "GM0202", start=date(2023, 1, 1)),  # before East NL's policy
        tender("T-ZERO", "GM0344", sroi_percentage=None, sroi_amount_eur=0.0),
        tender("T-BELOW", "GM0344", sroi_threshold_eur=2_000_000),
        tender("T-LABOUR", "GM0344", sroi_basis="labour_cost"),
        ObligationRow(ref="O-UTR", firm="Bouw BV", tender_ref="T-UTR", buys=["90910000"]),
        ObligationRow(ref="O-RTM", firm="Bouw BV", tender_ref="T-RTM", buys=["90910000"]),
        ObligationRow(ref="O-RTM-AMT", firm="Bouw BV", tender_ref="T-RTM", amount_eur=40_000,
                      buys=["90910000"]),
    ])
    session.commit()
    return session


def _obligation(store: Session, ref: str) -> Any:
    row = store.exec(select(ObligationRow).where(ObligationRow.ref == ref)).one()
    t = store.exec(select(TenderRow).where(TenderRow.ref == row.tender_ref)).one()
    return obligation_from_row(row, t)


def test_obligation_takes_the_regions_policy_on_the_start(store: Session) -> None:
    ob = _obligation(store, "O-UTR")
    assert ob.policy == "utrecht-2024" and ob.amount_eur == pytest.approx(50_000)
    assert obligation_policy(ob).name == "utrecht-2024"


def test_no_policy_is_never_utrechts_table(store: Session) -> None:
    ob = _obligation(store, "O-RTM")
    assert ob.policy is None and ob.amount_eur == 0
    with pytest.raises(Invalid) as exc:
        obligation_policy(ob)
    assert exc.value.field == "policy" and NO_POLICY in exc.value.message
    # The plan says so too (the CLI prints this line).
    with pytest.raises(Invalid) as exc2:
        planning.plan_for_obligation(store, "O-RTM-AMT")
    assert NO_POLICY in exc2.value.message
    # Global allocation leaves it unmet instead of crediting it under another table.
    alloc = planning.allocate_all(store)
    assert alloc.unmet_eur["O-RTM-AMT"] == pytest.approx(40_000)
    assert not [r for r in alloc.rows if r.obligation == "O-RTM-AMT"]


@pytest.mark.parametrize(("ref", "verdict", "reason"), [
    ("T-UTR", "feasible", None),
    ("T-ARN", "feasible", None),
    ("T-RTM", "not_applicable", "no_policy"),
    ("T-RTM-CHOSEN", "feasible", None),
    ("T-ARN-EARLY", "not_applicable", "no_policy"),
    ("T-ZERO", "not_applicable", "nothing_due"),
    ("T-BELOW", "not_applicable", "below_threshold"),
    ("T-LABOUR", "not_applicable", "no_labour_cost"),
])
def test_feasibility_verdicts(store: Session, ref: str, verdict: str,
                              reason: str | None) -> None:
    f = matching.tender_feasibility(store, ref)
    assert f.verdict == verdict and f.reason == reason
    if verdict == "not_applicable":
        assert not f.feasible and f.due_eur == 0 and f.shortfall_eur == 0
        assert f.as_dict()["reason"] == reason
    else:
        assert f.due_eur == pytest.approx(50_000)
