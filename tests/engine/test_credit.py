"""One credit calculation and consistent units (issue #11, items 4 and 5).

* ``matcher.valuation.credit_for`` / ``credit_rate``: the one definition of credit;
* ``matcher.capacity.term_years`` + ``CapacityState.for_term``: yearly capacity over a term;
* ``matcher.allocate.whole_placements``: whole places, never more than one place over what
  is due, purchases given back first;
* the plan, the match list (``Candidate.carries``) and the allocation agree on credit.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.allocate import Allocator, whole_placements
from matcher.capacity import CapacityState, Commitment, term_years
from matcher.model import Capacity, Certification, Enterprise, Obligation
from matcher.plan import build_candidates, plan_obligation
from matcher.valuation import (
    credit_for,
    credit_for_placement,
    credit_for_purchase,
    credit_rate,
    load_policy,
)

ON = date(2025, 6, 1)
OOST = load_policy("oost-nederland-2023")
UTRECHT = load_policy("utrecht-2024")


def ent(ref: str, certs: tuple[Certification, ...] = (), places: int = 0, eur: float = 0.0,
        groups: tuple[str, ...] = ("participatiewet",), cpv: tuple[str, ...] = ("45000000",)
        ) -> Enterprise:
    return Enterprise(ref=ref, name=ref, description="", cpv=cpv, lat=52.1, lon=5.1,
                      target_groups=groups, certifications=certs,
                      capacity=Capacity(placements_per_year=places, purchasing_eur_per_year=eur))


# ---------------------------------------------------------------- one credit calculation


def test_credit_for_is_the_building_blocks_to_the_cent() -> None:
    senl = ent("S", (Certification("SENL"),))
    assert credit_for(OOST, "purchase", ON, amount_eur=10_000, enterprise=senl) == \
        credit_for_purchase(OOST, 10_000, senl, ON) == 5_000
    assert credit_rate(OOST, "purchase", ON, enterprise=senl) == 0.5
    # A certificate the policy does not credit earns nothing under it, everywhere.
    bcorp = ent("B", (Certification("BCorp"),))
    assert credit_for(OOST, "purchase", ON, amount_eur=10_000, enterprise=bcorp) == 0.0
    assert credit_for(UTRECHT, "purchase", ON, amount_eur=10_000, enterprise=bcorp) == 10_000
    one = credit_for_placement(OOST, "participatiewet_lt2", 36, 12)
    assert credit_for(OOST, "placement", ON, placements=3, block="participatiewet_lt2") == \
        pytest.approx(3 * one)
    assert credit_rate(OOST, "placement", ON, block="bbl", hours_per_week=18, months=6) == \
        credit_for_placement(OOST, "bbl", 18, 6)


def test_credit_for_refuses_what_it_cannot_value() -> None:
    with pytest.raises(ValueError, match="enterprise"):
        credit_for(OOST, "purchase", ON, amount_eur=1.0)
    with pytest.raises(ValueError, match="block"):
        credit_for(OOST, "placement", ON, placements=1)
    with pytest.raises(ValueError, match="kind"):
        credit_for(OOST, "gift", ON)
    with pytest.raises(ValueError, match=">= 0"):
        credit_for(OOST, "purchase", ON, amount_eur=-1.0, enterprise=ent("S"))


# ---------------------------------------------------------------- units


def test_term_years() -> None:
    assert term_years(date(2026, 1, 1), date(2030, 1, 1)) == 4.0
    assert term_years(date(2026, 1, 1), date(2028, 1, 1)) == 2.0
    assert term_years(date(2026, 1, 1), date(2026, 3, 1)) == 1.0
    assert term_years(None, date(2026, 3, 1)) == 1.0
    assert term_years(date(2026, 3, 1), date(2026, 1, 1)) == 1.0


def test_plan_candidates_convert_yearly_capacity_to_the_term_once() -> None:
    e = ent("E", (Certification("SENL"),), places=2, eur=10_000)
    ob = Obligation(ref="O", firm="F", amount_eur=200_000, buys=("45000000",),
                    policy="oost-nederland-2023", target_groups=("participatiewet",))
    committed = {"E": Commitment(purchase_eur=4_000, placements=1)}
    (c,) = build_candidates(ob, [(e, 0.5)], OOST, ON, committed=committed, years=4.0)
    state = CapacityState.of(e.capacity, committed["E"]).for_term(4.0)
    assert c.years == 4.0
    assert c.capacity_eur == state.free_purchase_eur == 24_000
    assert c.capacity_placements == int(state.free_placements) == 4
    # What the match list says it carries is what the plan can get out of it.
    p = plan_obligation("O", 200_000, [c])
    assert c.reach_eur == pytest.approx(p.credit_eur, abs=0.01)
    r = c.carries(200_000)
    assert r.code == "credit_share" and r.params["years"] == 4.0
    assert r.params["share"] == pytest.approx(c.reach_eur / 200_000, abs=1e-4)


def test_an_enterprise_earning_nothing_under_the_policy_carries_nothing() -> None:
    # BCorp earns nothing under oost-nederland; its only place is booked elsewhere.
    e = ent("E", (Certification("BCorp"),), places=1, eur=1_000_000)
    ob = Obligation(ref="O", firm="F", amount_eur=45_000, buys=("45000000",))
    (c,) = build_candidates(ob, [(e, 1.0)], OOST, ON,
                            committed={"E": Commitment(placements=1)}, years=1.0)
    assert c.reach_eur == 0.0
    assert c.carries(45_000).params["share"] == 0.0
    assert not plan_obligation("O", 45_000, [c]).met
    # Under Utrecht the same enterprise carries all of it, and the plan agrees.
    (u,) = build_candidates(ob, [(e, 1.0)], UTRECHT, ON, years=1.0)
    assert u.carries(45_000).params["share"] == 1.0
    assert plan_obligation("O", 45_000, [u]).met


# ---------------------------------------------------------------- allocation: whole places


def test_issue_case_45000_is_not_credited_64995() -> None:
    # Due €45,000; three free places of €21,665 each and a supplier to buy from. The LP
    # fills it with 2.08 places; rounding them up gave €64,995. Now: 2 places and €1,670 of
    # purchases, exactly €45,000.
    per = 21_665.0
    obl, sup = [0, 0], [0, 1]
    fit, share = [0.9, 0.5], [1.0, 1.0]
    cap = [3 * per, 100_000.0]
    res = Allocator("highs").solve(obl, sup, fit, share, cap, [45_000.0])
    assert res.credit_eur[0] == pytest.approx(45_000, abs=1)  # the fractional optimum
    amount, credit, places = whole_placements(obl, sup, fit, share, res.amount_eur, cap,
                                              [per, 0.0], [45_000.0])
    assert places.tolist() == [2, 0]
    assert credit.sum() == pytest.approx(45_000, abs=0.01)
    assert credit[1] == pytest.approx(45_000 - 2 * per, abs=0.01)
    assert amount[1] <= cap[1]


def test_without_purchases_at_most_one_place_over() -> None:
    per = 21_665.0
    amount, credit, places = whole_placements([0], [0], [0.9], [1.0], [45_000.0], [3 * per],
                                              [per], [45_000.0])
    assert places.tolist() == [3]
    assert 45_000 < credit.sum() <= 45_000 + per


def test_a_rounded_up_place_gives_back_purchases_first() -> None:
    # The LP took 1.5 places and €13,335 of purchases (share 0.5) for €45,000 due. The
    # half place is rounded up only when the purchase cannot top up (its capacity is used),
    # and then the purchase gives back the excess.
    per = 20_000.0
    obl, sup, fit, share = [0, 0], [0, 1], [0.9, 0.5], [1.0, 0.5]
    amount_in = [30_000.0, 30_000.0]
    amount, credit, places = whole_placements(obl, sup, fit, share, amount_in,
                                              [40_000.0, 30_000.0], [per, 0.0], [45_000.0])
    assert places.tolist() == [2, 0]
    assert credit.sum() == pytest.approx(45_000, abs=0.01)
    assert amount[1] == pytest.approx(10_000, abs=0.01)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_property_allocation_within_capacity_and_due(data: st.DataObject) -> None:
    n_obl = data.draw(st.integers(1, 4))
    n_sup = data.draw(st.integers(1, 5))
    per = [data.draw(st.sampled_from([0.0, 5_000.0, 21_665.0, 30_000.0])) for _ in range(n_sup)]
    cap = [p * data.draw(st.integers(0, 4)) if p > 0
           else data.draw(st.floats(0, 100_000, allow_nan=False)) for p in per]
    demand = [data.draw(st.floats(0, 120_000, allow_nan=False)) for _ in range(n_obl)]
    edges = data.draw(st.lists(st.tuples(st.integers(0, n_obl - 1), st.integers(0, n_sup - 1)),
                               min_size=1, max_size=12, unique=True))
    obl = [i for i, _ in edges]
    sup = [j for _, j in edges]
    fit = [data.draw(st.floats(0, 1, allow_nan=False)) for _ in edges]
    share = [1.0 if per[j] > 0 else data.draw(st.sampled_from([0.5, 1.0])) for j in sup]
    res = Allocator("highs", base_weight=0.1).solve(obl, sup, fit, share, cap, demand)
    amount, credit, places = whole_placements(obl, sup, fit, share, res.amount_eur, cap,
                                              per, demand)
    o, s = np.array(obl), np.array(sup)
    used = np.bincount(s, weights=amount, minlength=n_sup)
    assert np.all(used <= np.array(cap) + 0.01)  # no supply booked beyond its capacity
    for j, p in enumerate(per):
        if p > 0:
            assert places[s == j].sum() <= round(cap[j] / p)
    got = np.bincount(o, weights=credit, minlength=n_obl)
    for i in range(n_obl):
        one_place = max([per[j] for j in s[o == i].tolist()] + [0.0])
        assert got[i] <= demand[i] + one_place + 0.01
        # Over what is due only by whole places: then no purchase is left to give back.
        if got[i] > demand[i] + 0.01:
            buys = [e for e in np.flatnonzero(o == i).tolist() if per[sup[e]] == 0]
            assert all(credit[e] < 0.01 for e in buys)
    assert np.all(credit == pytest.approx(amount * np.array(share)))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_property_plan_rows_earn_credit_for_under_the_policy(data: st.DataObject) -> None:
    policy = data.draw(st.sampled_from([OOST, UTRECHT]))
    years = data.draw(st.sampled_from([1.0, 2.5, 4.0]))
    certs = [(), (Certification("SENL"),), (Certification("BCorp"),), (Certification("PSO"),)]
    ents = [ent(f"E{k}", data.draw(st.sampled_from(certs)), places=data.draw(st.integers(0, 3)),
                eur=data.draw(st.sampled_from([0.0, 5_000.0, 40_000.0])))
            for k in range(data.draw(st.integers(1, 4)))]
    booked = {e.ref: Commitment(purchase_eur=data.draw(st.sampled_from([0.0, 3_000.0])),
                                placements=data.draw(st.integers(0, 2))) for e in ents}
    ob = Obligation(ref="O", firm="F", amount_eur=data.draw(st.floats(1, 400_000)),
                    buys=("45000000",), target_groups=("participatiewet",))
    cands = build_candidates(ob, [(e, 0.5) for e in ents], policy, ON, committed=booked,
                             years=years)
    plan = plan_obligation("O", ob.amount_eur, cands)
    by = {e.ref: e for e in ents}
    for r in plan.rows:
        e = by[r.enterprise]
        term = CapacityState.of(e.capacity, booked[e.ref]).for_term(years)
        if r.kind == "purchase":
            assert r.amount_eur <= term.free_purchase_eur + 0.01
            expect = credit_for(policy, "purchase", ON, amount_eur=r.amount_eur, enterprise=e)
        else:
            assert r.placements <= term.free_placements
            expect = credit_for(policy, "placement", ON, placements=r.placements, block=r.block)
        assert r.credit_eur == pytest.approx(expect, abs=0.01)
    # The match list's figure is the most the plan can get from each candidate.
    assert plan.credit_eur <= sum(c.reach_eur for c in cands) + 0.01
    if sum(c.reach_eur for c in cands) < ob.amount_eur - 0.01:
        assert not plan.met


def test_whole_places_under_two_policies_on_one_node_credit_each_its_own() -> None:
    # One placement node counted at € 30.000 a place; obligation 1's policy values a place
    # at € 20.000 (share 2/3). Each obligation is credited a place as its policy values it.
    per = 30_000.0
    amount, credit, places = whole_placements(
        [0, 1], [0, 0], [0.9, 0.8], [1.0, 20_000 / per], [30_000.0, 45_000.0], [3 * per],
        [per], [30_000.0, 40_000.0])
    assert places.tolist() == [1, 2]
    assert credit.tolist() == pytest.approx([30_000.0, 40_000.0])
    assert amount.sum() <= 3 * per + 1e-6  # within the node's three places
