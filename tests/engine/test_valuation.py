"""Valuation: obligations due and credits, on cases whose answers are known by hand."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from matcher.model import Certification, Enterprise, SroiClause, Tender
from matcher.valuation import (
    DEFAULT_POLICY,
    PolicyError,
    credit_for_placement,
    credit_for_purchase,
    list_policies,
    load_policy,
    load_policy_file,
    obligation_due,
    obligation_due_amount,
    placement_block,
    purchase_share,
)

ON = date(2025, 6, 1)


def enterprise(*certs: Certification) -> Enterprise:
    return Enterprise(ref="E-1", name="Groen & Co", description="", cpv=("77310000",),
                      lat=52.09, lon=5.12, certifications=certs)


# ------------------------------------------------------------------ policies


def test_shipped_policies_load_and_default_exists() -> None:
    names = list_policies()
    assert {"utrecht-2024", "oost-nederland-2023"} <= set(names)
    assert DEFAULT_POLICY in names
    for name in names:
        p = load_policy(name)
        assert p.name == name and p.source_url.startswith("https://")
        assert p.blocks
    assert load_policy().name == DEFAULT_POLICY


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
        "name": name, "valid_from": "2025-01-01", "source": {"url": "https://example.org"},
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
    t = Tender(ref="T", buyer="Utrecht", title="x", cpv=("45000000",),
               contract_value_eur=1_000_000, sroi=SroiClause(percentage=5))
    assert obligation_due_amount(t) == 50_000
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
