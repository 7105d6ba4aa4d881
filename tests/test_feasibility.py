"""The feasibility model (api.services.feasibility) on known answers: only fitting work's
purchasing and the target groups' placements count, commitments take their share, and the
verdict thresholds; then the engine-backed candidates on a small registry."""

from __future__ import annotations

from datetime import date

import pytest

from api.services.feasibility import (
    CPV_FIT_MIN,
    TIGHT_MARGIN,
    CandidateCapacity,
    assess,
    contract_years,
    tender_candidates,
    verdict_for,
)
from matcher.index import EnterpriseIndex
from matcher.model import Capacity, Enterprise, Vetting
from matcher.query import Query


def cand(ref: str, purchasing: float, placement: float = 0.0, committed: float = 0.0, *,
         work: bool = True, groups: bool = True) -> CandidateCapacity:
    return CandidateCapacity(ref=ref, name=ref, capacity_eur=purchasing + placement,
                             committed_eur=committed, purchasing_eur=purchasing,
                             placement_eur=placement, work_fit=work, serves_groups=groups)


def test_verdict_thresholds() -> None:
    assert verdict_for(None, 1e6) == "no_clause"
    assert verdict_for(100_000, 99_999) == "infeasible"
    assert verdict_for(100_000, 100_000) == "tight"
    assert verdict_for(100_000, 100_000 * TIGHT_MARGIN - 1) == "tight"
    assert verdict_for(100_000, 100_000 * TIGHT_MARGIN) == "feasible"
    assert verdict_for(0, 0) == "feasible"  # nothing due


def test_only_fitting_work_and_target_groups_count() -> None:
    cands = [
        cand("CLEAN", 40_000, 30_000),  # fits both ways
        cand("BIKE", 200_000, 60_000, work=False),  # other work: only its placements
        cand("PRINT", 100_000, 90_000, work=False, groups=False),  # counts for nothing
        cand("CLEAN2", 20_000, 30_000, groups=False),  # fits the work, not the groups
    ]
    f = assess(150_000, cands, years=2)
    assert f.n_enterprises == 4 and f.n_purchasing == 2 and f.n_placement == 2
    assert f.capacity_eur == pytest.approx(2 * 570_000)  # everything in reach, context only
    assert f.purchasing_eur == pytest.approx(2 * 60_000)
    assert f.placement_eur == pytest.approx(2 * 90_000)
    assert f.usable_eur == pytest.approx(300_000) and f.free_eur == pytest.approx(300_000)
    assert f.verdict == "feasible" and f.shortfall_eur == 0  # 300k >= 1.5 x 150k
    assert [c.ref for c in f.top] == ["CLEAN", "BIKE", "CLEAN2"]  # PRINT offers nothing
    d = f.as_dict()
    assert d["usable_eur"] == 300_000 and d["top"][0]["placement_eur"] == 60_000
    assert d["top"][1]["purchasing_eur"] == 0 and d["top"][1]["placement_eur"] == 120_000


def test_commitments_take_their_share_of_each_part() -> None:
    # Half of CLEAN's capacity is committed elsewhere: half of each part is gone.
    f = assess(100_000, [cand("CLEAN", 60_000, 60_000, committed=60_000),
                         cand("BIKE", 100_000, 0, committed=100_000, work=False)], years=1)
    assert f.usable_eur == pytest.approx(120_000)
    assert f.committed_eur == pytest.approx(60_000)  # BIKE's commitment is not ours
    assert f.committed_share == pytest.approx(0.5)
    assert f.free_eur == pytest.approx(60_000) and f.shortfall_eur == pytest.approx(40_000)
    assert f.verdict == "infeasible"
    # Over-committed enterprises give nothing, never less than nothing.
    g = assess(10_000, [cand("X", 10_000, committed=50_000)])
    assert g.free_eur == 0 and g.committed_share == 1.0 and g.verdict == "infeasible"


def test_tight_and_no_clause_and_empty() -> None:
    assert assess(50_000, [cand("A", 60_000)]).verdict == "tight"
    nc = assess(None, [cand("A", 60_000)])
    assert nc.verdict == "no_clause" and nc.due_eur == 0 and nc.shortfall_eur == 0
    empty = assess(10_000, [])
    assert empty.verdict == "infeasible" and empty.committed_share == 0.0
    assert contract_years(date(2026, 1, 1), date(2028, 1, 1)) == 2.0
    assert contract_years(date(2026, 1, 1), date(2026, 3, 1)) == 1.0
    assert contract_years(None, None) == 1.0


def test_candidate_without_breakdown_counts_whole_capacity() -> None:
    c = CandidateCapacity("A", "A", capacity_eur=80_000, committed_eur=20_000)
    assert c.usable_eur == 80_000 and c.free_eur == 60_000


def _ent(ref: str, cpv: str, text: str, groups: list[str], purchasing: float,
         placements: int, lat: float = 52.09) -> Enterprise:
    return Enterprise(ref=ref, name=ref, description=text, cpv=(cpv,), lat=lat, lon=5.12,
                      service_radius_km=30, target_groups=tuple(groups),
                      capacity=Capacity(placements_per_year=placements,
                                        purchasing_eur_per_year=purchasing),
                      vetting=Vetting(status="vetted", valid_until=date(2028, 1, 1)))


def test_tender_candidates_use_the_engine_scores() -> None:
    ents = [
        _ent("CLEAN", "90911200", "Schoonmaak van kantoren", ["participatiewet"], 40_000, 1),
        _ent("CLEAN-PARENT", "90910000", "Reiniging van gebouwen", ["wajong"], 30_000, 2),
        _ent("BIKE", "50000000", "Fietsenreparatie", ["participatiewet"], 90_000, 3),
        _ent("FAR", "90911200", "Schoonmaak van kantoren", ["participatiewet"], 50_000, 1,
             lat=53.2),
    ]
    index = EnterpriseIndex.build(ents, reference_date=date(2026, 6, 1))
    q = Query(kind="tender", ref="T", text="Schoonmaak van kantoren", cpv=("90911200",),
              target_groups=("participatiewet",), lat=52.09, lon=5.12, amount_eur=10_000)
    cands = {c.ref: c for c in tender_candidates(index, q, {"CLEAN": 20_000})}
    assert set(cands) == {"CLEAN", "CLEAN-PARENT", "BIKE"}  # FAR fails the radius
    assert index.cpv_.pair(["90911200"], ["90910000"]) >= CPV_FIT_MIN
    assert cands["CLEAN"].work_fit and cands["CLEAN"].serves_groups
    assert cands["CLEAN-PARENT"].work_fit and not cands["CLEAN-PARENT"].serves_groups
    assert not cands["BIKE"].work_fit and cands["BIKE"].serves_groups
    assert cands["CLEAN"].committed_eur == 20_000
    f = assess(100_000, cands.values())
    # 40k + 30k purchasing; placements 30k (CLEAN) + 90k (BIKE); CLEAN is 20/70 committed.
    assert f.purchasing_eur == pytest.approx(70_000)
    assert f.placement_eur == pytest.approx(120_000)
    assert f.committed_eur == pytest.approx(70_000 * 20_000 / 70_000)
    assert f.free_eur == pytest.approx(170_000) and f.verdict == "feasible"
