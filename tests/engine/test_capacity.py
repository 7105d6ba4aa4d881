"""The one capacity owner (matcher.capacity): parts kept apart, clipping, terms, and the
placement value taken from the valuation policy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matcher.capacity import CapacityState, Commitment, capacity_fit, free_amounts, in_eur
from matcher.model import Capacity
from matcher.valuation import (
    POLICY_DIR,
    PolicyError,
    list_policies,
    load_policy,
    parse_policy,
    placement_year_eur,
    reference_placement_year_eur,
)


def test_free_parts_are_capacity_minus_commitments_each_on_its_own() -> None:
    s = CapacityState.of(Capacity(placements_per_year=3, purchasing_eur_per_year=80_000),
                         Commitment(purchase_eur=55_000, placements=1))
    assert (s.free_purchase_eur, s.free_placements) == (25_000, 2)
    assert s.has_free
    # Euros at a placement value: the parts add up, committed parts at most their capacity.
    assert s.total_eur(10_000) == 110_000
    assert s.committed_eur(10_000) == 65_000
    assert s.free_eur(10_000) == 45_000 == s.total_eur(10_000) - s.committed_eur(10_000)
    assert s.free_placements_eur(10_000) == 20_000


def test_committed_beyond_capacity_clips_at_zero_and_never_takes_from_the_other_part() -> None:
    s = CapacityState(purchase_eur=20_000, placements=2, committed_purchase_eur=50_000,
                      committed_placements=0)
    assert s.free_purchase_eur == 0 and s.free_placements == 2
    assert s.committed_eur(1_000) == 20_000  # at most the purchasing capacity
    full = CapacityState(10_000, 1, 10_000, 4)
    assert full.free_purchase_eur == 0 and full.free_placements == 0 and not full.has_free
    assert full.free_eur(30_000) == 0


def test_for_term_scales_every_amount() -> None:
    s = CapacityState(50_000, 2, 10_000, 1)
    t = s.for_term(3)
    assert t.years == 3
    assert (t.purchase_eur, t.placements) == (150_000, 6)
    assert (t.free_purchase_eur, t.free_placements) == (120_000, 3)
    # Back to a year, and a term of a term is relative to the state's own years.
    assert t.for_term(1) == s
    assert s.for_term(2.5).free_eur(1_000) == pytest.approx(2.5 * s.free_eur(1_000))
    with pytest.raises(ValueError):
        s.for_term(0)


def test_commitments_add_up() -> None:
    assert Commitment(1_000, 1) + Commitment(500, 2) == Commitment(1_500, 3)


def test_array_helpers_agree_with_the_state() -> None:
    states = [CapacityState(80_000, 3, 55_000, 1), CapacityState(20_000, 2, 50_000, 0),
              CapacityState(0, 0, 0, 0)]
    p = np.array([s.purchase_eur for s in states])
    n = np.array([s.placements for s in states])
    cp = np.array([s.committed_purchase_eur for s in states])
    cn = np.array([s.committed_placements for s in states])
    free = in_eur(free_amounts(p, cp), free_amounts(n, cn), 7_500)
    np.testing.assert_allclose(free, [s.free_eur(7_500) for s in states])
    np.testing.assert_allclose(capacity_fit(free, 50_000), np.clip(free / 50_000, 0, 1))
    np.testing.assert_array_equal(capacity_fit(free, None), free > 0)


def test_placement_value_comes_from_the_policy() -> None:
    for name in ("utrecht-2024", "oost-nederland-2023"):
        policy = load_policy(name)
        assert policy.placement_block is not None
        assert placement_year_eur(policy) == \
            policy.block(policy.placement_block).full_year_value()
    # Ranking (no one policy applies to every query): the lowest shipped value.
    assert reference_placement_year_eur() == min(
        placement_year_eur(load_policy(n)) for n in list_policies())


def _doc(**changes: object) -> dict[str, object]:
    data = json.loads((POLICY_DIR / "utrecht-2024.json").read_text(encoding="utf-8"))
    data.update(changes)
    return data


def test_placement_value_without_a_named_block_is_the_cheapest_job() -> None:
    data = _doc()
    del data["placement_block"]
    policy = parse_policy(data)
    jobs = [b.full_year_value() for b in policy.blocks.values() if b.kind == "job"]
    assert placement_year_eur(policy) == min(jobs)
    with pytest.raises(PolicyError, match="placement_block"):
        parse_policy(_doc(placement_block="no_such_block"))


def test_year_shares_split_a_term_by_days_per_calendar_year() -> None:
    from datetime import date

    from matcher.capacity import spread, year_shares

    assert year_shares(date(2026, 1, 1), date(2027, 1, 1)) == {2026: 1.0}
    four = year_shares(date(2026, 7, 1), date(2030, 7, 1))
    assert list(four) == [2026, 2027, 2028, 2029, 2030]
    assert sum(four.values()) == pytest.approx(1.0)
    assert four[2028] == pytest.approx(366 / 1461) and four[2026] == pytest.approx(184 / 1461)
    assert year_shares(date(2026, 3, 1), date(2026, 3, 1)) == year_shares(
        date(2026, 3, 1), date(2027, 3, 1))  # an empty period counts as a year
    assert spread(400_000, {2026: 0.25, 2027: 0.75}) == {2026: 100_000, 2027: 300_000}


def test_over_years_is_what_fits_in_every_year_of_the_term() -> None:
    cap = Capacity(placements_per_year=2, purchasing_eur_per_year=50_000)
    shares = {2026: 0.25, 2027: 0.25, 2028: 0.25, 2029: 0.25}
    # Nothing booked: four years of capacity, as for_term.
    free = CapacityState.over_years(cap, {}, shares, 4.0)
    assert free == CapacityState.of(cap).for_term(4.0)
    # 2028 holds € 40.000 and a place: € 10.000 and one place left there, so over the term
    # at most four times that (spread evenly, a quarter falls in 2028).
    booked = {2028: Commitment(40_000, 1)}
    s = CapacityState.over_years(cap, booked, shares, 4.0)
    assert (s.years, s.purchase_eur, s.placements) == (4.0, 200_000, 8)
    assert s.free_purchase_eur == pytest.approx(40_000)
    assert s.free_placements == pytest.approx(4)
    for year, share in shares.items():  # what it allows books no year beyond capacity
        left = CapacityState.of(cap, booked.get(year))
        assert s.free_purchase_eur * share <= left.free_purchase_eur + 1e-9
        assert s.free_placements * share <= left.free_placements + 1e-9
    # A one-year term half in each of two years is still one year of capacity at most.
    half = CapacityState.over_years(cap, {}, {2026: 0.5, 2027: 0.5}, 1.0)
    assert half.free_purchase_eur == pytest.approx(50_000)
    with pytest.raises(ValueError):
        CapacityState.over_years(cap, {}, shares, 0)
