"""The feasibility model (api.services.feasibility) on known answers: only fitting work's
purchasing and the target groups' placements count (placements at the default policy's
value of a placement-year), commitments come off the part they were made from, and the
verdict thresholds; then the engine-backed candidates on a small registry."""

from __future__ import annotations

from datetime import date

import pytest

from api.services.feasibility import (
    CPV_FIT_MIN,
    TIGHT_MARGIN,
    CandidateCapacity,
    assess,
    tender_candidates,
    verdict_for,
)
from matcher.capacity import CapacityState, Commitment, term_years
from matcher.index import EnterpriseIndex
from matcher.model import Capacity, Enterprise, Vetting
from matcher.query import Query
from matcher.valuation import reference_placement_year_eur

PV = reference_placement_year_eur()  # one placement-year as the index counts it


def cand(ref: str, purchasing: float, places: int = 0, committed: float = 0.0,
         committed_places: int = 0, *, work: bool = True, groups: bool = True
         ) -> CandidateCapacity:
    return CandidateCapacity(ref=ref, name=ref,
                             capacity=CapacityState(purchasing, places, committed,
                                                    committed_places),
                             placement_eur=PV, work_fit=work, serves_groups=groups)


def test_verdict_thresholds() -> None:
    assert verdict_for(None, 1e6) == "no_clause"
    assert verdict_for(100_000, 99_999) == "infeasible"
    assert verdict_for(100_000, 100_000) == "tight"
    assert verdict_for(100_000, 100_000 * TIGHT_MARGIN - 1) == "tight"
    assert verdict_for(100_000, 100_000 * TIGHT_MARGIN) == "feasible"
    assert verdict_for(0, 0) == "feasible"  # nothing due


def test_only_fitting_work_and_target_groups_count() -> None:
    cands = [
        cand("CLEAN", 40_000, 1),  # fits both ways
        cand("BIKE", 200_000, 2, work=False),  # other work: only its placements
        cand("PRINT", 100_000, 3, work=False, groups=False),  # counts for nothing
        cand("CLEAN2", 20_000, 1, groups=False),  # fits the work, not the groups
    ]
    f = assess(150_000, cands, years=2)
    assert f.n_enterprises == 4 and f.n_purchasing == 2 and f.n_placement == 2
    # Everything in reach, context only: all purchasing and all 7 placements, over 2 years.
    assert f.capacity_eur == pytest.approx(2 * (360_000 + 7 * PV))
    assert f.purchasing_eur == pytest.approx(2 * 60_000)
    assert f.placement_eur == pytest.approx(2 * 3 * PV)
    usable = 2 * (60_000 + 3 * PV)
    assert f.usable_eur == pytest.approx(usable) and f.free_eur == pytest.approx(usable)
    assert f.verdict == ("feasible" if usable >= 1.5 * 150_000 else "tight")
    assert f.shortfall_eur == 0
    assert {c.ref for c in f.top} == {"CLEAN", "BIKE", "CLEAN2"}  # PRINT offers nothing
    d = f.as_dict()
    top = {c["ref"]: c for c in d["top"]}
    assert d["usable_eur"] == pytest.approx(usable)
    assert top["CLEAN"]["placement_eur"] == pytest.approx(2 * PV)
    assert top["BIKE"]["purchasing_eur"] == 0 and top["BIKE"]["placement_eur"] == 4 * PV


def test_commitments_come_off_the_part_they_were_made_from() -> None:
    # CLEAN's purchasing is fully committed elsewhere; its placements are all free.
    f = assess(100_000, [cand("CLEAN", 60_000, 2, committed=60_000),
                         cand("BIKE", 100_000, 0, committed=100_000, work=False)], years=1)
    assert f.usable_eur == pytest.approx(60_000 + 2 * PV)
    assert f.committed_eur == pytest.approx(60_000)  # BIKE's purchasing does not count
    assert f.committed_share == pytest.approx(60_000 / (60_000 + 2 * PV))
    assert f.free_eur == pytest.approx(2 * PV)
    assert f.shortfall_eur == pytest.approx(max(0.0, 100_000 - 2 * PV))
    # A committed placement comes off the placements, not off the purchasing.
    g = assess(10_000, [cand("P", 20_000, 2, committed_places=1)])
    assert g.committed_eur == pytest.approx(PV) and g.free_eur == pytest.approx(20_000 + PV)
    # Over-committed enterprises give nothing, never less than nothing.
    h = assess(10_000, [cand("X", 10_000, committed=50_000)])
    assert h.free_eur == 0 and h.committed_share == 1.0 and h.verdict == "infeasible"


def test_tight_and_no_clause_and_empty() -> None:
    assert assess(50_000, [cand("A", 60_000)]).verdict == "tight"
    nc = assess(None, [cand("A", 60_000)])
    assert nc.verdict == "no_clause" and nc.due_eur == 0 and nc.shortfall_eur == 0
    empty = assess(10_000, [])
    assert empty.verdict == "infeasible" and empty.committed_share == 0.0
    assert term_years(date(2026, 1, 1), date(2028, 1, 1)) == 2.0
    assert term_years(date(2026, 1, 1), date(2026, 3, 1)) == 1.0
    assert term_years(None, None) == 1.0


def test_candidate_over_a_term() -> None:
    c = cand("A", 80_000, 1, committed=20_000).for_term(3)
    assert c.usable_eur == pytest.approx(3 * (80_000 + PV))
    assert c.free_eur == pytest.approx(3 * (60_000 + PV))


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
    cands = {c.ref: c for c in tender_candidates(index, q, {"CLEAN": Commitment(20_000)})}
    assert set(cands) == {"CLEAN", "CLEAN-PARENT", "BIKE"}  # FAR fails the radius
    assert index.cpv_.pair(["90911200"], ["90910000"]) >= CPV_FIT_MIN
    assert cands["CLEAN"].work_fit and cands["CLEAN"].serves_groups
    assert cands["CLEAN-PARENT"].work_fit and not cands["CLEAN-PARENT"].serves_groups
    assert not cands["BIKE"].work_fit and cands["BIKE"].serves_groups
    assert cands["CLEAN"].capacity.committed_purchase_eur == 20_000
    assert cands["CLEAN"].placement_eur == index.placement_eur == PV
    f = assess(100_000, cands.values())
    # 40k + 30k purchasing; placements 1 (CLEAN) + 3 (BIKE); CLEAN's 20k of purchasing
    # is committed elsewhere.
    assert f.purchasing_eur == pytest.approx(70_000)
    assert f.placement_eur == pytest.approx(4 * PV)
    assert f.committed_eur == pytest.approx(20_000)
    assert f.free_eur == pytest.approx(50_000 + 4 * PV) and f.verdict == "feasible"
