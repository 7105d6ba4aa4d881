"""Planning from the store: committed capacity, plan/allocate services and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session

from api.cli import main
from api.services.capacity import capacity_states, commitments
from api.services.planning import allocate_all, plan_for_obligation, save_plan
from api.tables import (
    AllocationRow,
    CurationDecision,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
)
from matcher.capacity import Commitment

ON = date(2025, 6, 1)
UTRECHT = (52.0907, 5.1214)


def enterprise(ref: str, eur: float, places: int = 0, cpv: tuple[str, ...] = ("90911200",),
               groups: tuple[str, ...] = ("participatiewet",)) -> EnterpriseRow:
    return EnterpriseRow(
        ref=ref, name=f"Schoonmaak {ref}", description="schoonmaak kantoren met mensen met "
        "afstand tot de arbeidsmarkt", cpv=list(cpv), municipality_code="GM0344",
        lat=UTRECHT[0], lon=UTRECHT[1], target_groups=list(groups),
        placements_per_year=places, purchasing_eur_per_year=eur, vetting_status="vetted",
        vetted_on=date(2025, 1, 1), vetting_valid_until=date(2027, 1, 1),
    )


@pytest.fixture
def store(session: Session) -> Session:
    session.add_all([
        enterprise("E-A", 60_000),
        enterprise("E-B", 30_000),
        enterprise("E-C", 0, places=1),
        TenderRow(ref="T-1", buyer="Gemeente Utrecht", title="Schoonmaak",
                  cpv=["90911200"], contract_value_eur=2_000_000, sroi_percentage=5,
                  sroi_threshold_eur=100_000, sroi_cap_eur=300_000,
                  municipality_code="GM0344", lat=UTRECHT[0], lon=UTRECHT[1]),
        TenderRow(ref="T-2", buyer="Gemeente Utrecht", title="Groen", cpv=["77310000"],
                  contract_value_eur=400_000, sroi_percentage=5),
        ObligationRow(ref="O-1", firm="Bouw BV", tender_ref="T-1", buys=["90910000"],
                      municipality_code="GM0344"),
        ObligationRow(ref="O-2", firm="Infra BV", amount_eur=50_000, buys=["90910000"],
                      municipality_code="GM0344", lat=UTRECHT[0], lon=UTRECHT[1]),
    ])
    session.commit()
    return session


def committed(s: Session) -> dict[str, Commitment]:
    return commitments(s).by_enterprise


def test_commitments_count_allocations_and_accepted_tender_matches(store: Session) -> None:
    s = store
    assert committed(s) == {}
    s.add(AllocationRow(obligation_ref="O-2", enterprise_ref="E-A", amount_eur=5_000,
                        credit_eur=5_000, status="committed"))
    s.add(AllocationRow(obligation_ref="O-2", enterprise_ref="E-B", amount_eur=1_000,
                        credit_eur=1_000, status="planned"))
    # T-2 (€20,000 due) accepted for E-A and E-B; E-C accepted then rejected (latest wins).
    for ent, decision, minute in (("E-A", "accept", 1), ("E-B", "accept", 1),
                                  ("E-C", "accept", 1), ("E-C", "reject", 2)):
        s.add(CurationDecision(query_kind="tender", query_ref="T-2", enterprise_ref=ent,
                               decision=decision, decided_by="c@x.nl",
                               decided_at=datetime(2025, 5, 1, 12, minute, tzinfo=UTC)))
    s.commit()
    assert committed(s) == {"E-A": Commitment(15_000), "E-B": Commitment(11_000)}
    c = commitments(s, replanning=["O-2"])  # planned rows of O-2 are about to be replaced
    assert c.by_enterprise == {"E-A": Commitment(15_000), "E-B": Commitment(10_000)}
    assert c.committed_credit == {"O-2": 5_000}
    # Closing the obligation frees its allocations.
    o2 = s.get(ObligationRow, 2)
    assert o2 is not None and o2.ref == "O-2"
    o2.status = "closed"
    s.add(o2)
    s.commit()
    assert committed(s) == {"E-A": Commitment(10_000), "E-B": Commitment(10_000)}


def test_capacity_states_keep_purchases_and_placements_apart(store: Session) -> None:
    s = store
    s.add(AllocationRow(obligation_ref="O-2", enterprise_ref="E-A", amount_eur=20_000,
                        credit_eur=20_000, status="committed"))
    s.add(AllocationRow(obligation_ref="O-2", enterprise_ref="E-C", kind="placement",
                        amount_eur=30_000, credit_eur=30_000, placements=1, status="planned"))
    s.commit()
    states = capacity_states(s)
    assert set(states) == {"E-A", "E-B", "E-C"}
    a, c = states["E-A"], states["E-C"]
    assert (a.purchase_eur, a.committed_purchase_eur, a.free_purchase_eur) == \
        (60_000, 20_000, 40_000)
    # The placement's notional euros do not come off anyone's purchasing.
    assert (c.placements, c.committed_placements, c.free_placements) == (1, 1, 0)
    assert c.committed_purchase_eur == 0
    assert capacity_states(s, ["E-C"], replanning=["O-2"])["E-C"].free_placements == 1


def test_plan_for_obligation_meets_due_within_capacity(store: Session) -> None:
    plan = plan_for_obligation(store, "O-1", on=ON)
    assert plan.due_eur == 100_000  # 5 % of €2M, from the tender
    got = {(r.enterprise, r.kind): r for r in plan.rows}
    assert got[("E-A", "purchase")].amount_eur <= 60_000
    assert got[("E-B", "purchase")].amount_eur <= 30_000
    # Purchases alone reach €90,000: E-C's one Participatiewet job (Utrecht: €30,000) is needed.
    assert got[("E-C", "placement")].credit_eur == 30_000
    assert got[("E-C", "placement")].placements == 1
    assert plan.met and plan.credit_eur == 100_000
    saved = save_plan(store, "O-1", plan.rows)
    assert len(saved) == 3 and all(a.status == "planned" for a in saved)
    # O-2 (€50,000) now finds only the €20,000 O-1's plan left: exactly €30,000 short.
    p2 = plan_for_obligation(store, "O-2", on=ON)
    assert p2.unmet_eur == 30_000
    assert [r.code for r in p2.explanation] == ["plan_unmet"]
    assert p2.explanation[0].params["short_eur"] == 30_000
    # Re-planning O-1 does not count its own planned rows against it.
    assert plan_for_obligation(store, "O-1", on=ON).met


def test_allocate_all_shares_capacity(store: Session) -> None:
    result = allocate_all(store, on=ON)
    used: dict[str, float] = {}
    for r in result.rows:
        if r.kind == "purchase":
            used[r.enterprise] = used.get(r.enterprise, 0) + r.amount_eur
    assert used.get("E-A", 0) <= 60_000 and used.get("E-B", 0) <= 30_000
    assert sum(r.placements for r in result.rows if r.enterprise == "E-C") <= 1
    # Total capacity €120,000 credit against €150,000 due: €30,000 short in all.
    assert result.total_unmet_eur == pytest.approx(30_000, abs=0.05)
    assert result.due_eur == {"O-1": 100_000, "O-2": 50_000}
    # Never more credit than due (a place is whole: at most one place over, and only when no
    # purchase of that obligation is left to give back).
    for ref, due in result.due_eur.items():
        rows = [r for r in result.rows if r.obligation == ref]
        credit = sum(r.credit_eur for r in rows)
        one_place = max([r.credit_eur / r.placements for r in rows if r.placements] + [0.0])
        assert credit <= due + one_place + 0.01
        if credit > due + 0.01:
            assert all(r.kind == "placement" for r in rows)


def test_cli_plan_and_allocate_json(store: Session, use_db: str,
                                    capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TODAY", ON.isoformat())
    from api import settings as api_settings

    api_settings.get_settings.cache_clear()
    assert main(["--lang", "en", "plan", "O-2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["unmet"] == [{"obligation": "O-2", "unmet_eur": 0.0}]
    assert sum(r["credit_eur"] for r in out["rows"]) >= 50_000
    assert {"obligation", "enterprise", "amount_eur", "credit_eur"} <= set(out["rows"][0])
    (why,) = out["explanation"]
    assert why["code"] == "plan_met" and why["params"]["due_eur"] == 50_000
    assert why["text"].startswith("Due €50,000: met")
    assert main(["--lang", "en", "allocate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"]["due_eur"] == 150_000
    assert out["totals"]["unmet_eur"] == pytest.approx(30_000, abs=0.05)
    assert {u["obligation"] for u in out["unmet"]} == {"O-1", "O-2"}
    assert main(["--lang", "en", "plan", "O-1"]) == 0
    text = capsys.readouterr().out
    assert "Obligation O-1: due €100,000.00" in text and "E-C" in text
    assert "\nDue €100,000: met. Plan: " in text
    assert main(["--lang", "en", "plan", "O-1", "--lang", "nl"]) == 0
    assert "\nVerschuldigd € 100.000: gehaald. Plan: " in capsys.readouterr().out
    assert main(["--lang", "en", "allocate", "--save"]) == 0
    assert "Unmet:" in capsys.readouterr().out
    with Session(store.get_bind()) as fresh:
        assert committed(fresh)  # the saved planned rows now count as committed


def test_cli_unknown_obligation(use_db: str, db_engine: object,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "plan", "NOPE"]) == 2
    err = capsys.readouterr().err
    assert "unknown obligation 'NOPE'" in err and "Traceback" not in err
