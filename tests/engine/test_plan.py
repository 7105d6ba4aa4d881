"""Fulfilment plans for one obligation, on cases whose answers are known by construction."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.model import Capacity, Certification, Enterprise, Obligation
from matcher.plan import (
    Candidate,
    FulfilmentPlanner,
    Plan,
    build_candidates,
    plan_obligation,
    supplies,
)
from matcher.reasons import reason
from matcher.valuation import load_policy

ON = date(2025, 6, 1)


def buy(ref: str, fit: float, cap: float, share: float = 1.0) -> Candidate:
    return Candidate(ref, fit, capacity_eur=cap, purchase_share=share, can_supply=True)


def place(ref: str, fit: float, n: int, value: float, block: str = "bbl") -> Candidate:
    return Candidate(ref, fit, capacity_placements=n, placement_credit_eur=value, block=block)


def check_within_capacity(plan: Plan, cands: list[Candidate]) -> None:
    by = {c.enterprise: c for c in cands}
    for r in plan.rows:
        c = by[r.enterprise]
        if r.kind == "purchase":
            assert r.amount_eur <= c.capacity_eur + 1e-9 and c.can_supply
            assert r.credit_eur == pytest.approx(r.amount_eur * c.purchase_share, abs=0.01)
        else:
            assert r.placements <= c.capacity_placements
            assert r.credit_eur == pytest.approx(r.placements * c.placement_credit_eur)
    assert plan.credit_eur == pytest.approx(sum(r.credit_eur for r in plan.rows), abs=0.01)
    assert plan.unmet_eur == pytest.approx(max(plan.due_eur - plan.credit_eur, 0), abs=0.01)


def test_best_fit_first_then_the_rest() -> None:
    cands = [buy("A", 0.9, 60_000), buy("B", 0.5, 100_000), buy("C", 0.7, 30_000)]
    p = plan_obligation("O", 100_000, cands)
    got = {r.enterprise: r.amount_eur for r in p.rows}
    assert got == {"A": 60_000, "C": 30_000, "B": 10_000}
    assert p.met and p.unmet_eur == 0 and [r.code for r in p.explanation] == ["plan_met"]
    check_within_capacity(p, cands)


def test_obligation_larger_than_all_capacity_reports_exact_shortfall() -> None:
    cands = [buy("A", 0.9, 20_000), buy("B", 0.4, 30_000, share=0.5),
             place("C", 0.6, 2, 3_750)]
    p = plan_obligation("O", 100_000, cands)
    # All capacity: 20,000 + 15,000 + 7,500 credit.
    assert p.credit_eur == pytest.approx(42_500)
    assert p.unmet_eur == pytest.approx(57_500)
    assert not p.met
    (why,) = p.explanation
    assert why.code == "plan_unmet" and why.params["short_eur"] == 57_500
    assert why.params["limit"] == "capacity" and why.params["reach_eur"] == 42_500
    check_within_capacity(p, cands)


def test_half_share_costs_twice_the_invoice_and_full_share_is_preferred_at_equal_fit() -> None:
    cands = [buy("SENL", 0.8, 100_000, share=0.5), buy("CodeSO", 0.8, 100_000, share=1.0)]
    p = plan_obligation("O", 30_000, cands)
    assert [(r.enterprise, r.amount_eur) for r in p.rows] == [("CodeSO", 30_000)]
    p = plan_obligation("O", 150_000, cands)
    got = {r.enterprise: (r.amount_eur, r.credit_eur) for r in p.rows}
    assert got == {"CodeSO": (100_000, 100_000), "SENL": (100_000, 50_000)}


def test_placements_are_whole_and_may_overshoot_to_meet() -> None:
    p = plan_obligation("O", 25_000, [place("A", 0.8, 3, 15_000)])
    assert p.rows[0].placements == 2 and p.credit_eur == 30_000 and p.met
    assert p.explanation[0].params["over_eur"] == 5_000
    assert p.explanation[0].params["placements"] == 2


def test_purchase_tops_up_placements() -> None:
    cands = [place("A", 0.9, 1, 30_000, "participatiewet_lt2"), buy("B", 0.5, 50_000)]
    p = plan_obligation("O", 45_000, cands)
    got = {(r.enterprise, r.kind): r.credit_eur for r in p.rows}
    assert got == {("A", "placement"): 30_000, ("B", "purchase"): 15_000}
    assert p.unmet_eur == 0


def test_max_partners_limits_enterprises() -> None:
    cands = [buy("A", 0.9, 50_000), buy("B", 0.8, 50_000), buy("C", 0.2, 100_000)]
    free = plan_obligation("O", 100_000, cands)
    assert {r.enterprise for r in free.rows} == {"A", "B"}
    one = FulfilmentPlanner(max_partners=1).plan("O", 100_000, cands)
    assert [r.enterprise for r in one.rows] == ["C"] and one.met
    short = FulfilmentPlanner(max_partners=1).plan("O", 100_000, cands[:2])
    assert short.unmet_eur == pytest.approx(50_000)
    assert short.explanation[0].params["limit"] == "partners"


def test_nothing_due_no_candidates_and_bad_input() -> None:
    assert plan_obligation("O", 0, [buy("A", 1, 10)]).rows == ()
    p = plan_obligation("O", 1_000, [])
    assert p.unmet_eur == 1_000
    assert p.explanation == (reason("plan_no_candidates", due_eur=1_000.0),)
    p = plan_obligation("O", 1_000, [Candidate("A", 0.5, capacity_eur=5_000, purchase_share=1)])
    assert p.unmet_eur == 1_000  # cannot supply what the firm buys
    with pytest.raises(ValueError, match="fit"):
        plan_obligation("O", 1_000, [buy("A", 1.5, 10)])


@settings(max_examples=40, deadline=None)
@given(
    due=st.integers(0, 200_000),
    caps=st.lists(st.tuples(st.integers(0, 100), st.integers(0, 80_000),
                            st.sampled_from([0.0, 0.5, 1.0]), st.integers(0, 3)),
                  min_size=1, max_size=6),
)
def test_plans_stay_within_capacity_and_shortfall_is_exact(due, caps) -> None:  # type: ignore[no-untyped-def]
    cands = [Candidate(f"E{k}", f / 100, capacity_eur=c, purchase_share=s, can_supply=True,
                       capacity_placements=n, placement_credit_eur=7_500, block="bbl")
             for k, (f, c, s, n) in enumerate(caps)]
    p = plan_obligation("O", due, cands)
    check_within_capacity(p, cands)
    reach = sum(c.capacity_eur * c.purchase_share + c.capacity_placements * 7_500
                for c in cands)
    # Shortfall is exactly what all capacity cannot cover (to the cent).
    assert p.unmet_eur == pytest.approx(max(due - reach, 0), abs=0.02)


# ------------------------------------------------------------------ from domain records


def ent(ref: str, cpv: tuple[str, ...], groups: tuple[str, ...], certs=(), eur=0.0, places=0):  # type: ignore[no-untyped-def]
    return Enterprise(ref=ref, name=ref, description="", cpv=cpv, lat=52.1, lon=5.1,
                      target_groups=groups, certifications=certs,
                      capacity=Capacity(placements_per_year=places, purchasing_eur_per_year=eur))


def test_build_candidates_under_a_policy() -> None:
    oost = load_policy("oost-nederland-2023")
    obligation = Obligation(ref="O", firm="Bouw BV", amount_eur=50_000,
                            buys=("90910000",), target_groups=("bbl",))
    cleaning = ent("clean", ("90911200",), ("participatiewet", "bbl"),
                   (Certification("SENL"),), eur=40_000, places=2)
    catering = ent("cater", ("55520000",), ("wajong",), (Certification("CodeSO"),),
                   eur=80_000, places=1)
    cands = build_candidates(obligation, [(cleaning, 0.8), (catering, 0.6)], oost, ON,
                             used_eur={"clean": 10_000}, hours_per_week=18, months=6)
    c, k = cands
    assert c.can_supply and c.purchase_share == 0.5 and c.capacity_eur == 30_000
    assert c.block == "bbl"  # the obligation's group wins
    assert c.placement_credit_eur == pytest.approx(20_000 * 0.5 * 0.5)
    assert not k.can_supply and k.purchase_share == 1.0 and k.block == "banenafspraak"
    plan = plan_obligation("O", 50_000, cands)
    check_within_capacity(plan, cands)
    assert all(r.kind == "placement" for r in plan.rows if r.enterprise == "cater")


def test_supplies_uses_the_cpv_hierarchy() -> None:
    assert supplies(["90911200"], ["90910000"])  # office cleaning within cleaning services
    assert supplies(["90900000"], ["90911200"])  # the broader code contains the narrower
    assert not supplies(["55520000"], ["90910000"])
    assert not supplies(["90911200"], [])
