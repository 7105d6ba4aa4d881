"""The engine's reasons as data (matcher/reasons.py) and their rendering in Dutch and
English (api/reasons.py), on real engine output.

Small registries are ranked, a Challenge is matched with coalitions, obligations are
planned and why-not is asked: every code the engine can produce must be produced here
(so the scenarios cover the table), every code has a row in both tables, and every
reason renders in both languages with its numbers in that language's notation.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from api import reasons as rt
from matcher.capacity import Commitment
from matcher.challenge import match_challenge
from matcher.index import EnterpriseIndex
from matcher.model import Capacity, Certification, SroiClause, Vetting
from matcher.plan import Candidate, plan_obligation
from matcher.rank import rank_tender, why_not
from matcher.reasons import CODES, Reason, reason
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
        ent("E-PEND", vetting=Vetting("pending")),
        ent("E-EXP", vetting=Vetting("vetted", "x", date(2024, 1, 1), date(2026, 3, 1))),
        ent("E-BOOKED", capacity=Capacity(0, 10_000.0), target_group_share=0.2),
        ent("E-UNK", target_group_share=None),
    ]
    return EnterpriseIndex.build(ents, REF_DATE, {"E-BOOKED": Commitment(10_000.0)})


GROUPS_TENDER = tender(sroi=SroiClause(percentage=5.0, target_groups=("wajong", "banenafspraak")))
PARENT_CODE_TENDER = tender("T-2", cpv=("90910000",), sroi=None)
STRICT_TENDER = tender("T-3", sroi=SroiClause(percentage=5.0, reserved=True, region_km=20.0))
# A notice performed abroad: no Dutch place, so distance and region are not judged.
FOREIGN_TENDER = tender("T-4", lat=None, lon=None, municipality=None)


def _rank_reasons() -> list[Reason]:
    index = _tender_registry()
    out: list[Reason] = []
    for t in (GROUPS_TENDER, PARENT_CODE_TENDER, FOREIGN_TENDER):
        for m in rank_tender(index, t, top_k=30):
            out += m.reasons
    return out


def _challenge_reasons() -> list[Reason]:
    ents = ch.filler() + [
        ch.ent("A", "eenzaamheid bestrijden met huiskamers en ontmoeting in de wijk",
               name="Huiskamer (Oost)", cpv=("85300000",)),
        ch.ent("B", "ouderen bezoeken en boodschappen doen voor ouderen",
               name="Ouderen aan huis", cpv=("98000000",)),
        # No member covers every theme alone, so coalitions complement (matcher/challenge.py).
        ch.ent("C", "eenzaamheid in de buurt: samen maaltijden en ontmoeting", name="Samen eten"),
        ch.ent("D", "activiteiten voor eenzame mensen en vrijwilligers", name="Buurtkracht",
               cpv=("92000000",)),
    ]
    index = EnterpriseIndex.build(ents, ch.ON)
    out: list[Reason] = []
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


def _plans() -> list[tuple[Reason, ...]]:
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
    out.append((*plans[3].explanation,
                reason("plan_committed", done_eur=5_000.0, total_eur=55_000.0)))
    return out


def _why_not() -> list[dict[str, Any]]:
    index = _tender_registry()
    out = [why_not(index, GROUPS_TENDER, ref) for ref in
           ("E-FAR", "E-EXACT", "E-WITHIN", "E-PEND", "E-EXP", "E-BOOKED")]
    out += [why_not(index, STRICT_TENDER, ref) for ref in ("E-FAR", "E-BOOKED", "E-UNK")]
    return out


@pytest.fixture(scope="module")
def engine_output() -> list[Reason]:
    out = _rank_reasons() + _challenge_reasons() + [r for p in _plans() for r in p]
    # The obligation's match list: what a candidate carries of what is due, over its term.
    out += [_buy("A", 0.9, 30_000).carries(50_000),
            replace(_place("B", 0.8, 2, 15_000.5), years=4.0).carries(50_000)]
    for d in _why_not():
        out += [Reason.from_dict(x) for x in d["exclusions"] + d.get("reasons", [])]
    return list(dict.fromkeys(out))


def test_every_code_has_a_row_in_every_table() -> None:
    for lang, table in rt.TABLES.items():
        assert set(CODES) - set(table) == set(), f"codes without a {lang} rendering"
        assert set(table) - set(CODES) == set(), f"{lang} rows for codes the engine lacks"


def test_every_code_is_produced_by_the_engine(engine_output: list[Reason]) -> None:
    assert set(CODES) - {r.code for r in engine_output} == set()


def test_every_engine_reason_renders_in_both_languages(engine_output: list[Reason]) -> None:
    for r in engine_output:
        nl, en = rt.render(r, "nl"), rt.render(r, "en")
        assert nl != r.code and en != r.code and nl != en, r
        # Params are JSON-ready and survive a round trip unchanged.
        back = Reason.from_dict(json.loads(json.dumps(r.as_dict())))
        assert back == r and rt.render(back, "nl") == nl


def test_reasons_refuse_unknown_codes_and_wrong_params() -> None:
    with pytest.raises(ValueError, match="unknown reason code"):
        Reason("a_new_reason", {})
    with pytest.raises(ValueError, match="takes"):
        reason("distance", km=3.0)


# --- the renderings ----------------------------------------------------------------------


@pytest.mark.parametrize(("r", "dutch", "english"), [
    (reason("cpv_exact", code="90911200"),
     "CPV 90911200 (Reiniging van gebouwen) exact aangeboden",
     "CPV 90911200 (Building-cleaning services) offered exactly"),
    (reason("cpv_covers", offered="90910000", requested="90911200", similarity=0.6),
     "CPV 90910000 (Reinigingsdiensten) omvat de gevraagde 90911200 (Reiniging van gebouwen)",
     "CPV 90910000 (Cleaning services) covers requested 90911200 (Building-cleaning services)"),
    (reason("cpv_related", offered="90919200", requested="90911200", shared="90910000",
            similarity=0.1296),
     "CPV 90919200 deelt klasse 90910000 (Reinigingsdiensten) met de gevraagde 90911200 "
     "(gelijkenis 0,13)",
     "CPV 90919200 shares class 90910000 (Cleaning services) with requested 90911200 "
     "(similarity 0.13)"),
    (reason("shared_terms", words=["glasbewassing", "Dagelijkse"]),
     "omschrijving deelt de termen 'glasbewassing', 'Dagelijkse'",
     "description shares terms 'glasbewassing', 'Dagelijkse'"),
    (reason("distance", km=12.3, radius_km=25.0),
     "12,3 km van de werklocatie, binnen de eigen werkstraal van 25 km",
     "12.3 km from the place of work, within its 25 km service radius"),
    (reason("target_group_counts_as", served="wajong", asked="banenafspraak"),
     "werkt met Wajong, dat meetelt als Banenafspraak",
     "works with Wajong, which counts as Job agreement"),
    (reason("target_group", group="participatiewet"),
     "werkt met doelgroep Participatiewet", "works with target group Participation Act"),
    (reason("certified", scheme="PSO", level="3", valid_until="2027-01-01"),
     "erkend: PSO trede 3 (geldig tot 1 januari 2027)",
     "recognised: PSO level 3 (valid until 1 January 2027)"),
    (reason("certified", scheme="CodeSO", level=None, valid_until=None),
     "erkend: Code Sociaal Ondernemen", "recognised: Code Sociaal Ondernemen"),
    (reason("staff_share", share=0.4),
     "erkend: 40% van de medewerkers uit doelgroepen",
     "recognised: 40% of staff from target groups"),
    (reason("capacity_share", free_purchase_eur=1_234_567.5, free_placements=2, share=0.8,
            due_eur=50_000.0),
     "vrij: € 1.234.568 inkoop per jaar en 2 plaatsingen per jaar: draagt 80% van de "
     "verschuldigde € 50.000",
     "free: €1,234,568 purchasing per year and 2 placements per year: carries 80% of the "
     "€50,000 due"),
    (reason("credit_share", free_purchase_eur=0.0, free_placements=8, years=4.0,
            credit_eur=120_000.0, share=1.0, due_eur=45_000.0),
     "vrij over de looptijd van 4 jaar: € 0 inkoop en 8 plaatsingen: levert € 120.000 waarde "
     "op, 100% van de verschuldigde € 45.000",
     "free over the term of 4 years: €0 purchasing and 8 placements: earns €120,000 credit, "
     "100% of the €45,000 due"),
    (reason("credit_share", free_purchase_eur=10_000.0, free_placements=1, years=1.0,
            credit_eur=5_000.0, share=0.1111, due_eur=45_000.0),
     "vrij: € 10.000 inkoop per jaar en 1 plaatsing per jaar: levert € 5.000 waarde op, 11% "
     "van de verschuldigde € 45.000",
     "free: €10,000 purchasing per year and 1 placement per year: earns €5,000 credit, 11% of "
     "the €45,000 due"),
    (reason("capacity", free_purchase_eur=25_000.0, free_placements=1),
     "vrij: € 25.000 inkoop per jaar en 1 plaatsing per jaar",
     "free: €25,000 purchasing per year and 1 placement per year"),
    (reason("different_approach", similarity=0.32, closest="Huiskamer (Oost)"),
     "een andere aanpak: 32% gelijk aan het meest gelijkende resultaat erboven "
     "(Huiskamer (Oost))",
     "a different approach: similarity 32% to the closest result above it (Huiskamer (Oost))"),
    # The coalition reason in full: covered, partly covered and the best single member;
    # names may hold anything (no parsing).
    (reason("coalition_themes", covered=1, n_themes=3, themes=["eenzaamheid"],
            themes_by=["Samen eten"], partly=["ouderen", "vervoer"], partly_shares=[0.4, 0.25],
            partly_by=["Huiskamer (Oost)", "Rijdt; partly mee"], best_single=0.3),
     "dekken samen 1 van de 3 thema's: 'eenzaamheid' (Samen eten); deels 'ouderen' 40% "
     "(Huiskamer (Oost)), 'vervoer' 25% (Rijdt; partly mee) (beste afzonderlijke lid: 30%)",
     "together cover 1 of 3 themes: 'eenzaamheid' (Samen eten); partly 'ouderen' 40% "
     "(Huiskamer (Oost)), 'vervoer' 25% (Rijdt; partly mee) (best single member: 30%)"),
    (reason("coalition_themes", covered=0, n_themes=2, themes=[], themes_by=[], partly=[],
            partly_shares=[], partly_by=[], best_single=None),
     "dekken samen 0 van de 2 thema's", "together cover 0 of 2 themes"),
    (reason("coalition_cpv", divisions=["85", "90,98", ""]),
     "verschillend soort werk: CPV-afdelingen 85 / 90, 98 / -",
     "different kinds of work: CPV divisions 85 / 90, 98 / -"),
    (reason("plan_met", due_eur=50_000.0, over_eur=10_000.0, bought_eur=0.0, bought_n=0,
            bought_credit_eur=0.0, placements=3, placed_n=1, placed_credit_eur=60_000.0,
            partners=1, fit=0.8),
     "Verschuldigd € 50.000: gehaald (€ 10.000 meer, plaatsingen tellen als hele plaatsen). "
     "Plan: 3 plaatsingen bij 1 onderneming (waarde € 60.000); 1 partner, naar waarde "
     "gewogen aansluiting 0,80.",
     "Due €50,000: met (€10,000 over, placements are whole). Plan: 3 placements at 1 "
     "enterprise (credit €60,000); 1 partner, credit-weighted fit 0.80."),
    (reason("vetting_expired", on="2026-03-01"),
     "screening verlopen op 1 maart 2026", "vetting expired on 1 March 2026"),
    (reason("not_vetted", status="pending"),
     "screeningsstatus is In behandeling, niet Gescreend",
     "vetting status is Pending, not Vetted"),
    (reason("reserved_share_too_low", share=None, min_share=0.3),
     "voorbehouden opdracht (artikel 20) vraagt ten minste 30% medewerkers uit de "
     "doelgroep; aandeel onbekend",
     "reserved contract (article 20) needs at least 30% target-group staff; share unknown"),
])
def test_rendering(r: Reason, dutch: str, english: str) -> None:
    assert rt.render(r, "nl") == dutch
    assert rt.render(r.as_dict(), "nl") == dutch  # the JSON form renders the same
    assert rt.render(r, "en") == english
    assert rt.out(r, "en") == {"code": r.code, "params": r.as_dict()["params"], "text": english}


def test_real_plan_explanations_in_dutch() -> None:
    dutch = [rt.sentence(e, "nl") for e in _plans()]
    assert dutch[0] == "Er is niets verschuldigd: geen plan nodig."
    assert dutch[1] == "Niet haalbaar: geen kandidaten. Tekort € 1.000 van € 1.000."
    assert dutch[5] == (
        "Verschuldigd € 50.000: niet haalbaar — de resterende capaciteit van de kandidaten "
        "levert hoogstens € 10.000 waarde op. Tekort € 40.000 (80%). Plan: inkoop van "
        "€ 10.000 bij 1 onderneming (waarde € 10.000). Voeg kandidaten of capaciteit toe, of "
        "laat de coördinator weten dat de verplichting een andere route nodig heeft.")
    assert dutch[-1].startswith("Verschuldigd € 50.000: gehaald. Plan: inkoop van € 19.999 "
                                "bij 1 onderneming")
    assert dutch[-1].endswith(" Al toegezegd: € 5.000 van € 55.000.")
    # Plans are in whole euros (api/i18n.py's money rule, #16): € 1.234,56 due reads € 1.235.
    assert "Verschuldigd € 1.235: gehaald" in dutch[-2]
    assert "Due €1,235: met" in rt.sentence(_plans()[-2], "en")
    assert rt.sentence(_plans()[6], "en").startswith(
        "Due €50,000: cannot be met — the partner limit leaves too little capacity.")


def test_unknown_codes_fall_back_to_the_code() -> None:
    assert rt.render({"code": "a_new_reason", "params": {}}, "nl") == "a_new_reason"
    # A known code with other params (data from an older engine) is not guessed at.
    assert rt.render({"code": "distance", "params": {"km": 3}}, "en") == "distance"
    assert rt.texts(None, "nl") == [] and rt.sentence((), "en") == ""


def test_why_not_exclusions_render() -> None:
    far, fits = _why_not()[:2]
    assert far["excluded"] and "reason" not in far
    (x,) = far["exclusions"]
    assert x["code"] == "outside_service_radius" and x["params"]["radius_km"] == 5.0
    assert rt.render(x, "nl").startswith("werklocatie ligt op ")
    assert rt.render(x, "en").startswith("place of work is ")
    texts = rt.with_texts(fits, "nl")["reasons"]
    assert texts[0]["text"].startswith("CPV 90911200 (Reiniging van gebouwen)")
    assert [t["params"] for t in texts] == [r["params"] for r in fits["reasons"]]


def test_with_texts_walks_results_and_coalitions() -> None:
    fit = reason("coalition_fit", fit=0.5)
    data: dict[str, Any] = {
        "results": [{"ref": "E-1", "reasons": [fit.as_dict()]}],
        "coalitions": [{"reasons": [reason("coalition_capacity", free_eur=1000.0)],
                        "members": [{"reasons": []}]}], "n": 3}
    out = rt.with_texts(data, "nl")
    assert out["results"][0]["reasons"] == [
        {"code": "coalition_fit", "params": {"fit": 0.5},
         "text": "gemiddelde aansluiting op de vraag 0,50"}]
    assert out["coalitions"][0]["reasons"][0]["text"] == (
        "samen nog € 1.000 capaciteit per jaar vrij")
    assert out["coalitions"][0]["members"][0]["reasons"] == []
    assert out["n"] == 3 and "text" not in data["results"][0]["reasons"][0]  # input untouched
    assert rt.with_texts(data, "en")["results"][0]["reasons"][0]["text"] == (
        "mean fit to the question 0.50")


def test_capacity_amounts_in_each_notation_from_real_ranking() -> None:
    # A fractional capacity: euros carried to the cent, shown whole in each notation.
    index = _tender_registry()
    tight = replace(GROUPS_TENDER, sroi=SroiClause(percentage=50.0))
    caps = [r for m in rank_tender(index, tight, top_k=30) for r in m.reasons
            if r.code == "capacity_share"]
    full = [r for r in caps if r.params["free_purchase_eur"] == 1_234_567.5]
    assert full
    assert "€ 1.234.568" in rt.render(full[0], "nl")
    assert "€1,234,568" in rt.render(full[0], "en")
