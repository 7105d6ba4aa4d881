"""Global allocation: known answers, feasibility, and agreement with brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.allocate import Allocator, allocate, greedy_allocate


def assert_feasible(obl, ent, share, cap, dem, r, tol=1e-6) -> None:  # type: ignore[no-untyped-def]
    obl, ent = np.asarray(obl), np.asarray(ent)
    assert np.all(r.amount_eur >= -tol)
    np.testing.assert_allclose(r.credit_eur, r.amount_eur * np.asarray(share, float), atol=tol)
    used = np.bincount(ent, weights=r.amount_eur, minlength=len(cap))
    got = np.bincount(obl, weights=r.credit_eur, minlength=len(dem))
    assert np.all(used <= np.asarray(cap) + tol), f"over-booked: {used} > {cap}"
    assert np.all(got <= np.asarray(dem) + tol), f"over-served: {got} > {dem}"
    np.testing.assert_allclose(r.unmet_eur, np.maximum(np.asarray(dem) - got, 0), atol=tol)
    np.testing.assert_allclose(r.used_eur, used, atol=tol)


@pytest.mark.parametrize("solver", ["mincostflow", "highs"])
def test_obligation_larger_than_all_capacity_reports_exact_shortfall(solver: str) -> None:
    r = Allocator(solver).solve([0, 0], [0, 1], [0.7, 0.4], 1.0, [100, 200], [1000])
    np.testing.assert_allclose(r.amount_eur, [100, 200], atol=1e-6)
    np.testing.assert_allclose(r.unmet_eur, [700], atol=1e-6)
    assert r.objective == pytest.approx(0.7 * 100 + 0.4 * 200)


@pytest.mark.parametrize("solver", ["mincostflow", "highs"])
def test_joint_allocation_beats_greedy_where_it_must(solver: str) -> None:
    # E0 suits O0 (0.9) and O1 (0.85); E1 suits only O0 (0.8). Greedy gives E0 to O0 and
    # leaves O1 empty; the optimum moves O0 to E1 and serves both.
    args = ([0, 1, 0], [0, 0, 1], [0.9, 0.85, 0.8], 1.0, [100, 100], [100, 100])
    g = greedy_allocate(*args)
    assert g.objective == pytest.approx(90) and g.unmet_eur.tolist() == [0, 100]
    r = Allocator(solver).solve(*args)
    assert r.objective == pytest.approx(165)
    np.testing.assert_allclose(r.unmet_eur, [0, 0], atol=1e-6)
    np.testing.assert_allclose(r.amount_eur, [0, 100, 100], atol=1e-6)


def test_half_share_needs_twice_the_invoice() -> None:
    # SENL member under the Twente rule: €1,000 invoiced earns €500 credit.
    r = allocate([0], [0], [1.0], [0.5], [1000], [800])
    assert r.amount_eur[0] == pytest.approx(1000) and r.credit_eur[0] == pytest.approx(500)
    assert r.unmet_eur[0] == pytest.approx(300)
    r = allocate([0], [0], [1.0], [0.5], [1000], [200])
    assert r.amount_eur[0] == pytest.approx(400) and r.unmet_eur[0] == pytest.approx(0)


def test_share_constant_per_obligation_uses_flow_in_invoice_euros() -> None:
    # Two policies: O0 credits 100 %, O1 50 %; each enterprise serves both.
    obl, ent = [0, 0, 1, 1], [0, 1, 0, 1]
    share = [1.0, 1.0, 0.5, 0.5]
    args = (obl, ent, [0.9, 0.3, 0.6, 0.8], share, [300, 500], [400, 200])
    r = Allocator("mincostflow").solve(*args)
    ref = Allocator("highs").solve(*args)
    assert r.solver == "mincostflow"
    assert r.objective == pytest.approx(ref.objective, abs=1.0)
    assert_feasible(obl, ent, share, [300, 500], [400, 200], r)


def test_mixed_shares_fall_back_to_highs() -> None:
    obl, ent = [0, 0, 1, 1], [0, 1, 0, 1]
    share = [1.0, 0.5, 0.5, 1.0]  # varies along both sides: a generalised flow
    args = (obl, ent, [0.9, 0.3, 0.6, 0.8], share, [300, 500], [400, 200])
    r = allocate(*args)
    assert r.solver.startswith("highs")
    assert_feasible(obl, ent, share, [300, 500], [400, 200], r)
    # By hand: O1 takes E1 (fit .8, 200 credit for 200 invoice); O0 takes E0 fully (300)
    # and E1's remaining 300 invoice at share .5 (150 credit, fit .3) but only 100 is due.
    assert r.objective == pytest.approx(0.8 * 200 + 0.9 * 300 + 0.3 * 100, abs=1e-3)
    with pytest.raises(ValueError, match="constant per enterprise or per obligation"):
        Allocator("mincostflow").solve(*args)


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        allocate([0, 1], [0], [0.5], 1.0, [1], [1, 1])
    with pytest.raises(ValueError, match="enterprise index out of range"):
        allocate([0], [3], [0.5], 1.0, [1], [1])
    with pytest.raises(ValueError, match="fit must lie in"):
        allocate([0], [0], [1.5], 1.0, [1], [1])
    with pytest.raises(ValueError, match="capacity_eur"):
        allocate([0], [0], [0.5], 1.0, [-1], [1])
    with pytest.raises(ValueError, match="solver must be"):
        Allocator("simplex")
    r = allocate(np.array([], int), np.array([], int), [], 1.0, [10.0], [5.0])
    assert r.unmet_eur.tolist() == [5.0] and r.objective == 0


def test_no_enterprise_over_booked_on_a_random_binding_instance() -> None:
    rng = np.random.default_rng(7)
    n_obl, n_ent, k = 300, 800, 10
    obl = np.repeat(np.arange(n_obl), k)
    ent = rng.integers(0, n_ent, obl.size)
    fit = rng.random(obl.size)
    share_ent = np.where(rng.random(n_ent) < 0.5, 1.0, 0.5)
    share = share_ent[ent]
    cap = rng.uniform(0, 5000, n_ent)
    dem = rng.uniform(0, 20000, n_obl)
    mcf = Allocator("mincostflow").solve(obl, ent, fit, share, cap, dem)
    ref = Allocator("highs").solve(obl, ent, fit, share, cap, dem)
    greedy = greedy_allocate(obl, ent, fit, share, cap, dem)
    for r in (mcf, ref, greedy):
        assert_feasible(obl, ent, share, cap, dem, r, tol=1e-3)
    assert mcf.unmet_eur.sum() > 0  # capacity binds
    # Capacities rounded down to whole euros: at most ~1 euro of credit per node lost.
    assert mcf.objective == pytest.approx(ref.objective, abs=n_ent + n_obl)
    assert greedy.objective <= ref.objective + 1e-6


# ------------------------------------------------------------------ brute force


def brute_force(obl, ent, fit, share, cred_cap, dem):  # type: ignore[no-untyped-def]
    """Best objective over all integer *credit* flows, by enumeration.

    In credited euros (share constant per enterprise, so enterprise j can give
    ``cred_cap[j] = capacity_j x share_j`` credit) the constraints are a bipartite
    incidence matrix, which is totally unimodular: with integer capacities and demands
    the LP has an integral optimum, so enumerating integer flows finds the LP optimum.
    """
    m = len(obl)
    ranges = [range(min(cred_cap[ent[e]], dem[obl[e]]) + 1) for e in range(m)]
    best = 0.0
    for flows in itertools.product(*ranges):
        used = [0] * len(cred_cap)
        got = [0] * len(dem)
        for e, f in enumerate(flows):
            used[ent[e]] += f
            got[obl[e]] += f
        if all(u <= c for u, c in zip(used, cred_cap, strict=True)) and all(
            g <= d for g, d in zip(got, dem, strict=True)
        ):
            best = max(best, sum(fit[e] * flows[e] for e in range(m)))
    return best


@st.composite
def small_instances(draw):  # type: ignore[no-untyped-def]
    n_obl = draw(st.integers(1, 3))
    n_ent = draw(st.integers(1, 3))
    pairs = [(i, j) for i in range(n_obl) for j in range(n_ent)]
    edges = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=5, unique=True))
    fit = [draw(st.integers(0, 100)) / 100 for _ in edges]
    share_ent = [draw(st.sampled_from([1.0, 0.5])) for _ in range(n_ent)]
    cred_cap = [draw(st.integers(0, 4)) for _ in range(n_ent)]
    dem = [draw(st.integers(0, 4)) for _ in range(n_obl)]
    obl = [i for i, _ in edges]
    ent = [j for _, j in edges]
    share = [share_ent[j] for j in ent]
    cap_eur = [c / s for c, s in zip(cred_cap, share_ent, strict=True)]
    return obl, ent, fit, share, cap_eur, cred_cap, dem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_solvers_agree_with_brute_force(inst) -> None:  # type: ignore[no-untyped-def]
    obl, ent, fit, share, cap_eur, cred_cap, dem = inst
    best = brute_force(obl, ent, fit, share, cred_cap, dem)
    for solver in ("mincostflow", "highs"):
        r = Allocator(solver).solve(obl, ent, fit, share, cap_eur, dem)
        assert_feasible(obl, ent, share, cap_eur, dem, r)
        assert r.objective == pytest.approx(best, abs=1e-6), solver
    g = greedy_allocate(obl, ent, fit, share, cap_eur, dem)
    assert_feasible(obl, ent, share, cap_eur, dem, g)
    assert g.objective <= best + 1e-9
