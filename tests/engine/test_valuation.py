"""Valuation: obligations due and credits, on cases whose answers are known by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from matcher.model import Certification, Enterprise, SroiClause, Tender
from matcher.valuation import (
    POLICY_DIR,
    PolicyError,
    credit_for_placement,
    credit_for_purchase,
    list_policies,
    load_policy,
    load_policy_file,
    obligation_due,
    obligation_due_amount,
    parse_policy,
    placement_block,
    policy_for,
    purchase_share,
    tender_due,
)

ON = date(2025, 6, 1)


def enterprise(*certs: Certification) -> Enterprise:
    return Enterprise(ref="E-1", name="Groen & Co", description="", cpv=("77310000",),
                      lat=52.09, lon=5.12, certifications=certs)


# ------------------------------------------------------------------ policies


def test_shipped_policies_load_with_their_regions() -> None:
    names = list_policies()
    assert {"utrecht-2024", "oost-nederland-2023"} <= set(names)
    for name in names:
        p = load_policy(name)
        assert p.name == name and p.source_url.startswith("https://")
        assert p.blocks and p.regions
    assert load_policy("utrecht-2024").regions == ("GM0344",)
    # Gelderland and Overijssel (CBS province codes).
    assert set(load_policy("oost-nederland-2023").regions) == {"PV25", "PV23"}


def test_utrecht_table_values() -> None:
    p = load_policy("utrecht-2024")
    assert p.block("participatiewet_lt2").eur_per_year == 30000
    assert p.block("participatiewet_gt2").eur_per_year == 40000
    assert p.block("banenafspraak").eur_per_year == 35000
    assert p.block("nug").eur_per_year == 10000
    assert p.block("bbl").eur_per_year == 15000 and p.block("bol").eur_per_year == 10000
    assert p.block("social_activity").eur_per_hour == 100
    assert p.bonuses["permanent_contract"].eur_per_year == 10000
    assert p.bonuses["age_50_plus"].eur_per_year == 5000
    assert all(b.hours_per_week_basis == 36 for b in p.blocks.values() if b.eur_per_year)


def test_unknown_policy_names_the_known_ones() -> None:
    with pytest.raises(PolicyError, match="unknown valuation policy 'gouda-1999'.*utrecht-2024"):
        load_policy("gouda-1999")
    with pytest.raises(PolicyError, match="unknown valuation policy"):
        load_policy("../etc/passwd")


def _write(tmp_path: Path, name: str, doc: dict) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _minimal(name: str = "x-2025") -> dict:
    return {
        "name": name, "regions": ["GM0344"], "valid_from": "2025-01-01", "source": {"url": "https://example.org"},
        "blocks": {"bbl": {"label_nl": "BBL", "label_en": "BBL", "eur_per_year": 1000,
                           "hours_per_week_basis": 36}},
        "purchasing": {"shares": {}, "default_share": 1.0},
    }


def test_policy_validation_errors_name_file_and_field(tmp_path: Path) -> None:
    assert load_policy_file(_write(tmp_path, "x-2025", _minimal())).name == "x-2025"
    doc = _minimal()
    doc["blocks"]["bbl"]["eur_per_yaer"] = 5  # typo must not pass silently
    with pytest.raises(PolicyError, match=r"x-2025.json.blocks.bbl: unknown field.*eur_per_yaer"):
        load_policy_file(_write(tmp_path, "x-2025", doc))
    doc = _minimal()
    doc["blocks"]["bbl"]["eur_per_month"] = 5
    with pytest.raises(PolicyError, match="exactly one of"):
        load_policy_file(_write(tmp_path, "x-2025", doc))
    doc = _minimal()
    doc["purchasing"]["shares"] = {"SENL": 1.5}
    with pytest.raises(PolicyError, match=r"purchasing.shares.SENL.*<= 1"):
        load_policy_file(_write(tmp_path, "x-2025", doc))
    doc = _minimal()
    del doc["valid_from"]
    with pytest.raises(PolicyError, match="missing required field 'valid_from'"):
        load_policy_file(_write(tmp_path, "x-2025", doc))
    with pytest.raises(PolicyError, match="differs from the file name"):
        load_policy_file(_write(tmp_path, "other", _minimal()))
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid JSON"):
        load_policy_file(tmp_path / "bad.json")
    assert list_policies(tmp_path) == ["bad", "other", "x-2025"]


# ------------------------------------------------------------------ obligation due


def test_five_percent_above_threshold_under_cap() -> None:
    clause = SroiClause(percentage=5, threshold_eur=100_000, cap_eur=300_000)
    r = obligation_due(clause, 2_000_000)
    assert r.amount_eur == 100_000 and r.applies and not r.capped
    assert "5 % of contract value €2,000,000" in r.explanation


def test_below_threshold_nothing_due() -> None:
    r = obligation_due(SroiClause(percentage=5, threshold_eur=100_000), 99_999)
    assert r.amount_eur == 0 and not r.applies and "below the threshold" in r.explanation


def test_cap_binds() -> None:
    r = obligation_due(SroiClause(percentage=2, cap_eur=300_000), 20_000_000)
    assert r.amount_eur == 300_000 and r.capped and "capped at €300,000" in r.explanation


def test_labour_cost_basis_and_amount_wins() -> None:
    clause = SroiClause(percentage=5, basis="labour_cost")
    assert obligation_due(clause, 1_000_000, labour_cost_eur=400_000).amount_eur == 20_000
    assert obligation_due(
        SroiClause(percentage=5, basis="labour_cost", labour_cost_eur=200_000), 1_000_000
    ).amount_eur == 10_000
    with pytest.raises(ValueError, match="labour cost"):
        obligation_due(clause, 1_000_000)
    fixed = SroiClause(percentage=5, amount_eur=12_345)
    r = obligation_due(fixed, 2_000_000)
    assert r.amount_eur == 12_345 and "fixed amount" in r.explanation
    with pytest.raises(ValueError, match="percent"):
        obligation_due(SroiClause(percentage=500), 1_000)


def test_obligation_due_amount_from_tender() -> None:
    t = Tender(ref="T", buyer="Utrecht", title="x", cpv=("45000000",), municipality="GM0344",
               contract_value_eur=1_000_000, sroi=SroiClause(percentage=5))
    assert obligation_due_amount(t) == 50_000
    # No place, no policy named: nothing can be valued (no silent default table).
    assert obligation_due_amount(replace(t, municipality=None)) == 0.0
    assert obligation_due_amount(Tender(ref="T", buyer="b", title="x", cpv=())) == 0.0
    # Unknown contract value: cannot be valued, 0 (the obligation then needs an amount).
    t2 = Tender(ref="T", buyer="b", title="x", cpv=(), sroi=SroiClause(percentage=5))
    assert obligation_due_amount(t2) == 0.0


# ------------------------------------------------------------------ credits


def test_half_time_bbl_for_six_months_is_a_quarter_year() -> None:
    p = load_policy("utrecht-2024")
    assert credit_for_placement(p, "bbl", 18, 6) == pytest.approx(15_000 * 0.5 * 0.5)


def test_full_year_job_with_bonuses_and_counted_years() -> None:
    p = load_policy("utrecht-2024")
    assert credit_for_placement(p, "participatiewet_lt2", 36, 12) == 30_000
    # Permanent contract and 50+ bonuses add to the yearly value, pro rata.
    assert credit_for_placement(
        p, "participatiewet_lt2", 36, 12, ["permanent_contract", "age_50_plus"]
    ) == 45_000
    # Utrecht counts one year: 24 months earn what 12 do ...
    assert credit_for_placement(p, "participatiewet_lt2", 36, 24) == 30_000
    # ... East-NL counts Participatiewet jobs for two years.
    oost = load_policy("oost-nederland-2023")
    assert credit_for_placement(oost, "participatiewet_lt2", 36, 24) == 60_000
    assert credit_for_placement(oost, "participatiewet_lt2", 36, 36) == 60_000
    with pytest.raises(PolicyError, match="does not apply"):
        credit_for_placement(p, "bbl", 36, 12, ["permanent_contract"])
    with pytest.raises(PolicyError, match="no bonus"):
        credit_for_placement(p, "nug", 36, 12, ["vip"])


def test_monthly_and_hourly_blocks() -> None:
    oost = load_policy("oost-nederland-2023")
    # €750 a month, not pro-rated by hours.
    assert credit_for_placement(oost, "work_experience", 20, 4) == 3_000
    utr = load_policy("utrecht-2024")
    # €100/hour x 2 h/week x 12 months x 52/12 weeks = 104 hours.
    assert credit_for_placement(utr, "social_activity", 2, 12) == pytest.approx(10_400)


def test_purchase_share_by_valid_certification() -> None:
    oost = load_policy("oost-nederland-2023")
    codeso = Certification("CodeSO", valid_until=date(2026, 1, 1))
    senl = Certification("SENL")
    expired = Certification("CodeSO", valid_until=date(2024, 12, 31))
    assert credit_for_purchase(oost, 10_000, enterprise(codeso), ON) == 10_000
    assert credit_for_purchase(oost, 10_000, enterprise(senl), ON) == 5_000
    assert credit_for_purchase(oost, 10_000, enterprise(senl, codeso), ON) == 10_000
    assert credit_for_purchase(oost, 10_000, enterprise(expired, senl), ON) == 5_000
    assert credit_for_purchase(oost, 10_000, enterprise(expired), ON) == 0
    assert credit_for_purchase(oost, 10_000, enterprise(), ON) == 0
    assert purchase_share(oost, enterprise(Certification("BCorp")), ON) == 0.0
    # Utrecht credits the invoice amount.
    assert credit_for_purchase(load_policy("utrecht-2024"), 7_500, enterprise(), ON) == 7_500


def test_placement_block_is_the_conservative_match() -> None:
    p = load_policy("utrecht-2024")
    b = placement_block(p, ["participatiewet", "ww"])
    assert b is not None and b.key == "ww_lt1"  # lowest value among the matches
    b = placement_block(p, ["participatiewet", "ww"], prefer=["participatiewet"])
    assert b is not None and b.key == "participatiewet_lt2"
    assert placement_block(p, ["statushouders"]) is None


# ------------------------------------------------------------------ policy by date and region


def _write_policy(directory: Path, name: str, regions: list[str], valid_from: str,
                  valid_until: str | None = None) -> None:
    data = json.loads((POLICY_DIR / "utrecht-2024.json").read_text(encoding="utf-8"))
    data.update(name=name, regions=regions, valid_from=valid_from, valid_until=valid_until)
    (directory / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")


def test_policy_for_region_of_the_shipped_policies() -> None:
    start = date(2026, 3, 1)
    assert policy_for("GM0344", start).name == "utrecht-2024"  # type: ignore[union-attr]
    assert policy_for("Utrecht", start).name == "utrecht-2024"  # type: ignore[union-attr]
    # Arnhem (Gelderland) and Enschede (Overijssel) by their province.
    assert policy_for("GM0202", start).name == "oost-nederland-2023"  # type: ignore[union-attr]
    assert policy_for("Enschede", start).name == "oost-nederland-2023"  # type: ignore[union-attr]


def test_no_policy_outside_every_region_and_no_silent_default() -> None:
    start = date(2026, 3, 1)
    # Rotterdam, Amersfoort (province Utrecht but not the municipality), an unknown place.
    assert policy_for("GM0599", start) is None
    assert policy_for("Amersfoort", start) is None
    assert policy_for("Atlantis", start) is None
    assert policy_for(None, start) is None
    with pytest.raises(TypeError):
        load_policy()  # type: ignore[call-arg]


def test_policy_by_date_before_and_after_validity(tmp_path: Path) -> None:
    _write_policy(tmp_path, "a-2020", ["GM0344"], "2020-01-01", "2023-12-31")
    _write_policy(tmp_path, "a-2024", ["GM0344"], "2024-01-01")
    assert policy_for("GM0344", date(2019, 12, 31), tmp_path) is None  # before any
    assert policy_for("GM0344", date(2021, 5, 1), tmp_path).name == "a-2020"  # type: ignore[union-attr]
    assert policy_for("GM0344", date(2023, 12, 31), tmp_path).name == "a-2020"  # type: ignore[union-attr]
    assert policy_for("GM0344", date(2024, 1, 1), tmp_path).name == "a-2024"  # type: ignore[union-attr]
    # Start unknown: the region's newest.
    assert policy_for("GM0344", None, tmp_path).name == "a-2024"  # type: ignore[union-attr]


def test_policy_naming_the_municipality_wins_over_its_province(tmp_path: Path) -> None:
    _write_policy(tmp_path, "province", ["PV26"], "2024-06-01")
    _write_policy(tmp_path, "city", ["GM0344"], "2020-01-01")
    on = date(2025, 1, 1)
    assert policy_for("GM0344", on, tmp_path).name == "city"  # type: ignore[union-attr]
    assert policy_for("GM0307", on, tmp_path).name == "province"  # type: ignore[union-attr]


def test_regions_are_validated() -> None:
    data = json.loads((POLICY_DIR / "utrecht-2024.json").read_text(encoding="utf-8"))
    del data["regions"]
    with pytest.raises(PolicyError, match="regions"):
        parse_policy(data)
    data["regions"] = ["Utrecht"]
    with pytest.raises(PolicyError, match="regions"):
        parse_policy(data)


def _tender(**clause: object) -> Tender:
    return Tender(ref="T", buyer="Gemeente Rotterdam", title="x", cpv=("90911200",),
                  contract_value_eur=clause.pop("value", 1_000_000.0),  # type: ignore[arg-type]
                  start=date(2026, 1, 1), municipality=str(clause.pop("place", "GM0344")),
                  sroi=SroiClause(**clause))  # type: ignore[arg-type]


def test_tender_due_states() -> None:
    assert tender_due(_tender(percentage=5.0)).amount_eur == 50_000  # type: ignore[union-attr]
    assert tender_due(_tender(percentage=5.0)).state == "due"  # type: ignore[union-attr]
    no_policy = tender_due(_tender(percentage=5.0, place="GM0599"))
    assert no_policy is not None and no_policy.state == "no_policy"
    assert no_policy.amount_eur == 0 and "choose a policy" in no_policy.explanation
    # The tender's own choice is honoured anywhere.
    chosen = tender_due(_tender(percentage=5.0, place="GM0599", policy="utrecht-2024"))
    assert chosen is not None and chosen.state == "due" and chosen.amount_eur == 50_000
    below = tender_due(_tender(percentage=5.0, threshold_eur=2_000_000.0))
    assert below is not None and below.state == "nothing_due" and not below.applies
    zero = tender_due(_tender(amount_eur=0.0))
    assert zero is not None and zero.state == "nothing_due"
    labour = tender_due(_tender(percentage=5.0, basis="labour_cost"))
    assert labour is not None and labour.state == "not_computable"
    assert labour.missing == "labour_cost"
    value = tender_due(_tender(percentage=5.0, value=None))
    assert value is not None and value.state == "not_computable"
    assert value.missing == "contract_value"
    assert obligation_due_amount(_tender(percentage=5.0, place="GM0599")) == 0
    assert obligation_due_amount(_tender(percentage=5.0, place="GM0599"),
                                 require_policy=False) == 50_000
