"""Allocation benchmark: global allocation when capacity binds.

    .venv/bin/python -m bench.bench_allocate            # 10k obligations x 100k enterprises
    .venv/bin/python -m bench.bench_allocate --scale 0.1 --no-reference

Seeded synthetic instance: obligations draw 50 candidates each, mostly from their own
region (a tenth of the enterprises), with fit from a Beta distribution; shares per
enterprise are 100 % or 50 % (Twente-style purchasing); capacity is scaled so that only
about 56 % of demand can be met — the case where solvers differ (shared/performance.md).
Prints one table: solver, instance, seconds, objective, credit, unmet, gap to the best.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.allocate import AllocationResult, Allocator, greedy_allocate

REGIONS = 10


@dataclass(frozen=True)
class Instance:
    name: str
    obl: NDArray[np.int64]
    ent: NDArray[np.int64]
    fit: NDArray[np.float64]
    share: NDArray[np.float64]
    capacity: NDArray[np.float64]
    demand: NDArray[np.float64]

    def args(self) -> tuple[NDArray, ...]:
        return (self.obl, self.ent, self.fit, self.share, self.capacity, self.demand)


def make_instance(
    n_obl: int, n_ent: int, k: int = 50, seed: int = 20240601, capacity_factor: float = 0.66
) -> Instance:
    rng = np.random.default_rng(seed)
    demand = np.round(rng.lognormal(mean=np.log(30_000), sigma=0.8, size=n_obl), 0)
    # Candidates: 80 % from the obligation's region, 20 % from anywhere, no repeats.
    region_of_obl = rng.integers(0, REGIONS, n_obl)
    per_region = n_ent // REGIONS
    local = rng.random((n_obl, k)) < 0.8
    local_pick = region_of_obl[:, None] * per_region + rng.integers(0, per_region, (n_obl, k))
    ent = np.where(local, local_pick, rng.integers(0, n_ent, (n_obl, k)))
    # Re-draw duplicates within a row once; a rare leftover duplicate is a parallel edge,
    # which the model allows.
    ent.sort(axis=1)
    dup = np.zeros_like(ent, dtype=bool)
    dup[:, 1:] = ent[:, 1:] == ent[:, :-1]
    ent[dup] = rng.integers(0, n_ent, int(dup.sum()))
    obl = np.repeat(np.arange(n_obl), k)
    ent = ent.ravel()
    fit = np.round(rng.beta(2.0, 3.0, obl.size), 4)
    share_ent = np.where(rng.random(n_ent) < 0.7, 1.0, 0.5)
    share = share_ent[ent]
    # Capacity: lognormal, scaled so that total capacity is a fraction of total demand.
    cap = rng.lognormal(mean=0.0, sigma=1.0, size=n_ent)
    cap *= capacity_factor * demand.sum() / cap.sum()
    cap = np.round(cap, 0)
    return Instance(f"{n_obl:,}x{n_ent:,} k={k}", obl, ent, fit, share, cap, demand)


def first_come(
    obl: NDArray, ent: NDArray, fit: NDArray, share: NDArray, cap: NDArray, dem: NDArray
) -> AllocationResult:
    """The straightforward per-pair loop: each obligation in turn takes its best candidates.

    What a connector does by hand, obligation by obligation; pure Python over every pair.
    """
    t0 = time.perf_counter()
    cap_left = [float(c) for c in cap]
    amount = [0.0] * len(obl)
    by_obl: dict[int, list[int]] = {}
    for e, i in enumerate(obl.tolist()):
        by_obl.setdefault(i, []).append(e)
    fit_l, ent_l, share_l = fit.tolist(), ent.tolist(), share.tolist()
    for i in range(len(dem)):
        need = float(dem[i])
        for e in sorted(by_obl.get(i, []), key=lambda e: -fit_l[e]):
            if need <= 0:
                break
            j, s = ent_l[e], share_l[e]
            if s <= 0 or fit_l[e] <= 0:
                continue
            credit = min(cap_left[j] * s, need)
            if credit <= 0:
                continue
            amount[e] = credit / s
            cap_left[j] -= credit / s
            need -= credit
    amt = np.array(amount)
    credit_arr = amt * share
    got = np.bincount(obl, weights=credit_arr, minlength=len(dem))
    return AllocationResult(
        amount_eur=amt, credit_eur=credit_arr, unmet_eur=np.maximum(dem - got, 0),
        used_eur=np.bincount(ent, weights=amt, minlength=len(cap)),
        objective=float(np.dot(fit, credit_arr)), solver="first-come loop",
        seconds=time.perf_counter() - t0,
    )


def check_feasible(inst: Instance, r: AllocationResult) -> str:
    used = np.bincount(inst.ent, weights=r.amount_eur, minlength=inst.capacity.size)
    got = np.bincount(inst.obl, weights=r.credit_eur, minlength=inst.demand.size)
    over_cap = float(np.max(used - inst.capacity, initial=0.0))
    over_dem = float(np.max(got - inst.demand, initial=0.0))
    ok = over_cap <= 0.01 and over_dem <= 0.01 and float(r.amount_eur.min(initial=0)) >= 0
    return "ok" if ok else f"VIOLATED cap+{over_cap:.2f} dem+{over_dem:.2f}"


def run(label: str, inst: Instance, fn: Callable[..., AllocationResult]) -> dict[str, object]:
    t0 = time.perf_counter()
    r = fn(*inst.args())
    wall = time.perf_counter() - t0
    return {
        "solver": label, "instance": inst.name, "seconds": wall, "objective": r.objective,
        "credit": r.total_credit_eur, "unmet": r.total_unmet_eur,
        "met": r.total_credit_eur / inst.demand.sum(), "feasible": check_feasible(inst, r),
    }


def print_table(rows: list[dict[str, object]]) -> None:
    best: dict[str, float] = {}
    for r in rows:
        key = str(r["instance"])
        best[key] = max(best.get(key, -np.inf), float(r["objective"]))  # type: ignore[arg-type]
    head = (f"{'solver':<28} {'instance':<24} {'seconds':>8} {'objective':>16} "
            f"{'credit €':>16} {'unmet €':>16} {'met':>6} {'gap':>7}  feasible")
    print(head)
    print("-" * len(head))
    for r in rows:
        gap = 1 - float(r["objective"]) / best[str(r["instance"])]  # type: ignore[arg-type]
        print(f"{r['solver']:<28} {r['instance']:<24} {r['seconds']:>8.2f} "
              f"{r['objective']:>16,.0f} {r['credit']:>16,.0f} {r['unmet']:>16,.0f} "
              f"{r['met']:>6.1%} {gap:>7.2%}  {r['feasible']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of 10,000 obligations x 100,000 enterprises (default 1)")
    ap.add_argument("--k", type=int, default=50, help="candidates per obligation")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--no-reference", action="store_true",
                    help="skip HiGHS interior point at full size (~20-60 s)")
    ap.add_argument("--naive-scale", type=float, default=0.1,
                    help="size for HiGHS dual simplex (slow when capacity binds)")
    args = ap.parse_args(argv)

    n_obl, n_ent = int(10_000 * args.scale), int(100_000 * args.scale)
    inst = make_instance(n_obl, n_ent, args.k, args.seed)
    print(f"instance {inst.name}: {inst.obl.size:,} edges, demand €{inst.demand.sum():,.0f}, "
          f"capacity €{inst.capacity.sum():,.0f}")
    rows = [
        run("OR-Tools min-cost flow", inst, Allocator("mincostflow").solve),
        run("greedy (by fit)", inst, greedy_allocate),
        run("first-come per-pair loop", inst, first_come),
    ]
    if not args.no_reference:
        rows.append(run("HiGHS interior point", inst, Allocator("highs").solve))
    small = make_instance(int(10_000 * args.naive_scale), int(100_000 * args.naive_scale),
                          args.k, args.seed)
    rows += [
        run("OR-Tools min-cost flow", small, Allocator("mincostflow").solve),
        run("HiGHS interior point", small, Allocator("highs").solve),
        run("HiGHS dual simplex", small, Allocator("highs", highs_method="highs-ds").solve),
        run("greedy (by fit)", small, greedy_allocate),
        run("first-come per-pair loop", small, first_come),
    ]
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
