"""The engine's reasons in Dutch (api/reason_text.py), on real engine output.

Small registries are ranked, a Challenge is matched with coalitions, obligations are
planned and why-not is asked; every sentence the engine produces must be recognised by
the table (so a new engine sentence without a Dutch rendering fails here), and every
row of the table must be reached by that output (so the table has no dead rows).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from api import reason_text as rt
from matcher.challenge import match_challenge
from matcher.index import EnterpriseIndex
from matcher.model import Capacity, Certification, SroiClause
from matcher.plan import Candidate, plan_obligation
from matcher.rank import rank_tender, why_not
from tests.engine import test_challenge as ch
from tests.engine.ranking_fixtures import AMSTERDAM, CERT_PSO3, REF_DATE, ent, filler, tender

# --- real engine output --------------------------------------------------------------


def _tender_registry() -> EnterpriseIndex:
    ents = filler() + [
        ent("E-EXACT", description="schoonmaakdiensten voor kantoren en scholen",
            certifications=(CERT_PSO3, Certification("CodeSO", None, None))),
        ent("E-WITHIN", cpv=("90911200",), target_groups=("wajong",)),
        ent("E-COVERS", cpv=("90910000",), target_groups=("banenafspraak",)),
        ent("E-REL", cpv=("90919200",), target_groups=("wajong",),
            certifications=(Certification("PSO", "aspirant", date(2027, 1, 1)),)),
        ent("E-FAR", lat=AMSTERDAM[0], lon=AMSTERDAM[1], service_radius_km=5.0),
        ent("E-FULL", capacity=Capacity(0, 1_234_567.5)),
    ]
    return EnterpriseIndex.build(ents, REF_DATE)


GROUPS_TENDER = tender(sroi=SroiClause(percentage=5.0, target_groups=("wajong", "banenafspraak")))
PARENT_CODE_TENDER = tender("T-2", cpv=("90910000",), sroi=None)


def _rank_reasons() -> list[str]:
    index = _tender_registry()
    out: list[str] = []
    for t in (GROUPS_TENDER, PARENT_CODE_TENDER):
        for m in rank_tender(index, t, top_k=30):
            out += m.reasons
    return out


def _challenge_reasons() -> list[str]:
    ents = ch.filler() + [
        ch.ent("A", "eenzaamheid bestrijden met huiskamers en ontmoeting in de wijk",
               name="Huiskamer (Oost)", cpv=("85300000",)),
        ch.ent("B", "ouderen bezoeken en boodschappen doen voor ouderen",
               name="Ouderen aan huis", cpv=("98000000",)),
        ch.ent("C", "eenzaamheid onder ouderen: maaltijden en ontmoeting", name="Samen eten"),
        ch.ent("D", "activiteiten voor eenzame mensen en vrijwilligers", name="Buurtkracht",
               cpv=("92000000",)),
    ]
    index = EnterpriseIndex.build(ents, ch.ON)
    out: list[str] = []
    for c in (ch.challenge(), ch.challenge(budget_eur=80_000.0),
              ch.challenge(themes=("eenzaamheid", "ouderen", "vervoer"), budget_eur=500_000.0)):
        results, coalitions = match_challenge(index, c)
        assert coalitions, "the scenario must produce coalitions"
        for m in results:
            out += m.reasons
        for co in coalitions:
            out += co.reasons
    return out


def _buy(ref: str, fit: float, cap: float) -> Candidate:
    return Candidate(ref, fit, capacity_eur=cap, purchase_share=1.0, can_supply=True)


def _place(ref: str, fit: float, n: int, value: float) -> Candidate:
    return Candidate(ref, fit, capacity_placements=n, placement_credit_eur=value, block="bbl")


def _plan_explanations() -> list[str]:
    plans = [
        plan_obligation("O", 0, []),
        plan_obligation("O", 1000, []),
        plan_obligation("O", 1000, [Candidate("X", 0.5)]),
        plan_obligation("O", 50_000, [_buy("A", 0.9, 30_000), _place("B", 0.8, 2, 15_000.5)]),
        plan_obligation("O", 50_000, [_place("B", 0.8, 3, 20_000)]),  # overshoot: whole places
        plan_obligation("O", 50_000, [_buy("A", 0.9, 10_000)]),
        plan_obligation("O", 50_000, [_buy("A", 0.9, 30_000), _buy("B", 0.8, 30_000)],
                        max_partners=1),
        plan_obligation("O", 1234.56, [_buy("A", 0.9, 30_000)]),
    ]
    out = [p.explanation for p in plans]
    # api/services/planning.py appends what is already committed.
    out.append(plans[3].explanation + " Already committed: €5,000 of €55,000.")
    return out


def _why_not() -> list[dict[str, Any]]:
    index = _tender_registry()
    return [why_not(index, GROUPS_TENDER, ref) for ref in ("E-FAR", "E-EXACT", "E-WITHIN")]


@pytest.fixture(scope="module")
def engine_output() -> list[str]:
    out = _rank_reasons() + _challenge_reasons() + _plan_explanations()
    for d in _why_not():
        out += d.get("reasons") or []
    return list(dict.fromkeys(out))


def test_every_engine_reason_is_in_the_table(engine_output: list[str]) -> None:
    unknown = [r for r in engine_output if rt.rule_of(r) is None]
    assert not unknown, ("engine reasons without a Dutch rendering in api/reason_text.py: "
                         f"{unknown}")
    # A recognised sentence is really rendered: none comes back in English.
    for r in engine_output:
        assert rt.to_dutch(r) != r, r


def test_every_row_of_the_table_is_reached_by_engine_output(engine_output: list[str]) -> None:
    reached = {rt.rule_of(r) for r in engine_output}
    assert {r.name for r in rt.RULES} - reached == set()


# --- the Dutch renderings --------------------------------------------------------------


@pytest.mark.parametrize(("english", "dutch"), [
    ("CPV 90911200 (Building-cleaning services) offered exactly",
     "CPV 90911200 (Reiniging van gebouwen) exact aangeboden"),
    ("CPV 90910000 (Cleaning services) covers requested 90911200 (Building-cleaning services)",
     "CPV 90910000 (Reinigingsdiensten) omvat de gevraagde 90911200 (Reiniging van gebouwen)"),
    ("CPV 90919200 shares class 90910000 (Cleaning services) with requested 90911200 "
     "(similarity 0.13)",
     "CPV 90919200 deelt klasse 90910000 (Reinigingsdiensten) met de gevraagde 90911200 "
     "(gelijkenis 0,13)"),
    ("12.3 km from the place of work, within its 25 km service radius",
     "12,3 km van de werklocatie, binnen de eigen werkstraal van 25 km"),
    ("works with 'wajong', which counts as 'banenafspraak'",
     "werkt met Wajong, dat meetelt als Banenafspraak"),
    ("recognised: PSO level 3 (valid until 2027-01-01); CodeSO; 40% of staff from target groups",
     "erkend: PSO trede 3 (geldig tot 1 januari 2027); CodeSO; 40 % van de medewerkers uit "
     "doelgroepen"),
    ("€1,234,567 capacity left of €2,000,000 per year: carries 80% of the €50,000 due",
     "nog € 1.234.567 capaciteit vrij van € 2.000.000 per jaar: draagt 80 % van de "
     "verschuldigde € 50.000"),
    ("a different approach: similarity 32% to the closest result above it (Huiskamer (Oost))",
     "een andere aanpak: 32 % gelijk aan het meest gelijkende resultaat erboven "
     "(Huiskamer (Oost))"),
    # The coalition sentence in full: covered, partly covered and the best single member.
    ("together cover 1 of 3 themes: 'eenzaamheid' (Samen eten); partly 'ouderen' 40% "
     "(Huiskamer (Oost)), 'vervoer' 25% (Rijdt; partly mee) (best single member: 30%)",
     "dekken samen 1 van de 3 thema's: 'eenzaamheid' (Samen eten); deels 'ouderen' 40 % "
     "(Huiskamer (Oost)), 'vervoer' 25 % (Rijdt; partly mee) (beste afzonderlijke lid: 30 %)"),
    ("together cover 0 of 2 themes", "dekken samen 0 van de 2 thema's"),
    ("different kinds of work: CPV divisions 85 / 90,98 / -",
     "verschillend soort werk: CPV-afdelingen 85 / 90, 98 / -"),
    ("Due €50,000: met (€10,000 over, placements are whole). Plan: 3 placement(s) at 1 "
     "enterprise(s) (credit €60,000); 1 partner(s), credit-weighted fit 0.80.",
     "Verschuldigd € 50.000: gehaald (€ 10.000 meer, plaatsingen tellen als hele plaatsen). "
     "Plan: 3 plaatsingen bij 1 onderneming (waarde € 60.000); 1 partner, naar waarde "
     "gewogen aansluiting 0,80."),
])
def test_dutch_rendering(english: str, dutch: str) -> None:
    assert rt.to_dutch(english) == dutch
    assert rt.localise(english, "nl") == dutch
    assert rt.localise(english, "en") == english  # English pages show the engine's text


def test_real_plan_explanations_in_dutch() -> None:
    dutch = [rt.to_dutch(e) for e in _plan_explanations()]
    assert dutch[0] == "Er is niets verschuldigd: geen plan nodig."
    assert dutch[1] == "Niet haalbaar: geen kandidaten. Tekort € 1.000 van € 1.000."
    assert dutch[5] == (
        "Verschuldigd € 50.000: niet haalbaar — de resterende capaciteit van de kandidaten "
        "levert hoogstens € 10.000 waarde op. Tekort € 40.000 (80 %). Plan: inkoop van "
        "€ 10.000 bij 1 onderneming (waarde € 10.000). Voeg kandidaten of capaciteit toe, of "
        "laat de coördinator weten dat de verplichting een andere route nodig heeft.")
    committed = rt.to_dutch(_plan_explanations()[-1])
    assert committed.startswith("Verschuldigd € 50.000: gehaald. Plan: inkoop van € 19.999 "
                                "bij 1 onderneming")
    assert committed.endswith(" Al toegezegd: € 5.000 van € 55.000.")
    assert "€ 1.234,56" in rt.to_dutch(_plan_explanations()[-2])


def test_unknown_sentences_fall_back_to_the_engine_text() -> None:
    for text in ("a brand-new reason the table does not know",
                 "recognised: SomeNewScheme",  # schemes are a closed vocabulary
                 "Due €5: met. Plan: rent a boat; 1 partner(s), credit-weighted fit 0.50.",
                 "Cannot be met: a new cause. Short by €1 of €1."):
        assert rt.rule_of(text) is None
        assert rt.to_dutch(text) == text
    assert rt.localise(None, "nl") == "" and rt.localise("", "en") == ""


def test_why_not_in_dutch() -> None:
    excluded, fits, _ = _why_not()
    assert excluded["excluded"] and excluded["reason"].startswith("place of work is")
    nl = rt.localise_why_not(excluded, "nl")
    assert nl["reason"] == excluded["exclusions"][0]["reason_nl"]
    assert nl["reason"].startswith("werklocatie ligt op")
    assert rt.localise_why_not(excluded, "en") == excluded
    nl = rt.localise_why_not(fits, "nl")
    assert nl["reasons"] == [rt.to_dutch(r) for r in fits["reasons"]]
    assert nl["reasons"][0].startswith("CPV 90911200 (Reiniging van gebouwen)")


def test_with_reasons_nl_walks_results_and_coalitions() -> None:
    data: dict[str, Any] = {
        "results": [{"ref": "E-1", "reasons": ["mean fit to the question 0.50"]}],
        "coalitions": [{"reasons": ["€1,000 capacity left together per year"],
                        "members": [{"reasons": []}]}], "n": 3}
    out = rt.with_reasons_nl(data)
    assert out["results"][0]["reasons_nl"] == ["gemiddelde aansluiting op de vraag 0,50"]
    assert out["results"][0]["reasons"] == ["mean fit to the question 0.50"]
    assert out["coalitions"][0]["reasons_nl"] == ["samen nog € 1.000 capaciteit per jaar vrij"]
    assert out["coalitions"][0]["members"][0]["reasons_nl"] == []
    assert out["n"] == 3 and "reasons_nl" not in data["results"][0]  # input untouched


def test_capacity_amounts_in_dutch_notation_from_real_ranking() -> None:
    # A fractional capacity: the engine rounds to whole euros, Dutch groups by dots.
    index = _tender_registry()
    tight = replace(GROUPS_TENDER, sroi=SroiClause(percentage=50.0))
    reasons = [r for m in rank_tender(index, tight, top_k=30) for r in m.reasons
               if "capacity left" in r]
    assert reasons and all(rt.rule_of(r) == "capacity.share" for r in reasons)
    assert any("€ 1.234.568" in rt.to_dutch(r) for r in reasons)
