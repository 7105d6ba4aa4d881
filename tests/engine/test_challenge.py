"""Challenge matching: MMR diversification and coalitions, on cases known by construction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pytest

from matcher.challenge import (
    COMPOUND_PARTS_CREDIT,
    MIN_THEME_WEIGHT,
    PORTFOLIO_FLOOR,
    ChallengeMatcher,
    match_challenge,
    mmr_order,
    similarity_matrix,
    theme_coverage,
    theme_weights,
)
from matcher.index import EnterpriseIndex
from matcher.model import Capacity, Challenge, Enterprise, Vetting
from matcher.reasons import reason
from matcher.weights import CHALLENGE, DEFAULT, FEATURES

ON = date(2026, 3, 1)
UTRECHT = (52.0907, 5.1214)
VETTED = Vetting("vetted", "test", date(2025, 1, 1), date(2027, 1, 1))


def ent(ref: str, description: str, **kw: Any) -> Enterprise:
    base = Enterprise(
        ref=ref, name=kw.pop("name", f"Onderneming {ref}"), description=description,
        cpv=kw.pop("cpv", ("85300000",)), lat=UTRECHT[0], lon=UTRECHT[1],
        service_radius_km=50.0, target_groups=("participatiewet",),
        capacity=Capacity(1, 50_000.0), vetting=VETTED,
    )
    return replace(base, **kw)


def filler() -> list[Enterprise]:
    """Unrelated enterprises: realistic document frequencies for the TF-IDF."""
    topics = [
        ("schoonmaak van kantoren en scholen", ("90911200",)),
        ("drukwerk en grafische vormgeving", ("79800000",)),
        ("fietsenreparatie en fietsverhuur", ("50000000",)),
        ("ICT-beheer en het wissen van datadragers", ("72000000",)),
    ]
    return [ent(f"F-{i}", f"{t} in de regio, team {i}", cpv=c, themes=("werk",))
            for i, (t, c) in enumerate(topics * 2)]


def challenge(**kw: Any) -> Challenge:
    base = Challenge(
        ref="CH-1", municipality="GM0344", title="Eenzaamheid onder ouderen",
        question="Hoe bereiken we eenzame ouderen in de wijk en brengen we ze samen?",
        themes=("eenzaamheid", "ouderen"), lat=UTRECHT[0], lon=UTRECHT[1], max_partners=3,
    )
    return replace(base, **kw)


LONELY_A = ("Eenzame ouderen in de wijk samen laten eten in een wijkrestaurant: samen koken "
            "tegen eenzaamheid")
# Near-copy of A: same text (bar one rare word), codes and groups.
LONELY_A2 = LONELY_A + " en ontmoeting"
# A different approach to the same question: transport, not meals.
LONELY_B = "Vervoer van ouderen naar dagactiviteiten met een buurtbus, tegen eenzaamheid"


def index_of(ents: list[Enterprise]) -> EnterpriseIndex:
    return EnterpriseIndex.build(ents, reference_date=ON)


def test_mmr_order_on_a_constructed_matrix() -> None:
    rel = np.array([0.9, 0.89, 0.6])
    sim = np.array([[1.0, 0.99, 0.1], [0.99, 1.0, 0.1], [0.1, 0.1, 1.0]])
    assert mmr_order(rel, sim, 3, lambda_=1.0) == [0, 1, 2]  # pure relevance
    assert mmr_order(rel, sim, 2, lambda_=0.7) == [0, 2]  # the near-copy waits
    assert mmr_order(rel, sim, 5, lambda_=0.7) == [0, 2, 1]  # k > n: all, once each
    assert mmr_order(rel, sim, 0, lambda_=0.7) == []


def test_mmr_diversifies_only_among_relevant_candidates() -> None:
    # Two good answers that are alike, one unrelated enterprise with a poor fit.
    rel = np.array([0.9, 0.85, 0.2, 0.5])
    sim = np.array([[1.0, 0.9, 0.0, 0.1], [0.9, 1.0, 0.0, 0.1],
                    [0.0, 0.0, 1.0, 0.0], [0.1, 0.1, 0.0, 1.0]])
    # Without a floor the unrelated one jumps the second good answer...
    assert mmr_order(rel, sim, 4, lambda_=0.5) == [0, 3, 2, 1]
    # ...with it, only the relevant ones are diversified; the poor fit comes last.
    assert mmr_order(rel, sim, 4, lambda_=0.5, floor=0.5) == [0, 3, 1, 2]
    assert mmr_order(rel, sim, 2, lambda_=0.5, floor=0.5) == [0, 3]
    assert mmr_order(rel, sim, 4, lambda_=0.5, floor=1.0) == [0, 1, 3, 2]
    assert mmr_order(np.zeros(3), np.eye(3), 3, lambda_=0.5, floor=0.5) == [0, 1, 2]


def test_similarity_matrix_near_copies_high_different_approaches_low() -> None:
    a = ent("A", LONELY_A, cpv=("55300000",))
    a2 = ent("A2", LONELY_A2, cpv=("55300000",))
    b = ent("B", LONELY_B, cpv=("60130000",), target_groups=("50plus",))
    idx = index_of([a, a2, b, *filler()])
    S = similarity_matrix(idx, [0, 1, 2])
    np.testing.assert_allclose(S, S.T)
    np.testing.assert_allclose(np.diag(S), 1.0)
    assert S[0, 1] > 0.85
    assert S[0, 2] < 0.4 and S[1, 2] < 0.4
    assert np.all((S >= 0) & (S <= 1))


def test_mmr_keeps_only_one_of_two_near_identical_enterprises_in_the_top_two() -> None:
    a = ent("A", LONELY_A, cpv=("55300000",))
    a2 = ent("A2", LONELY_A2, cpv=("55300000",))
    b = ent("B", LONELY_B, cpv=("60130000",))
    idx = index_of([a, a2, b, *filler()])
    ch = challenge()
    plain = ChallengeMatcher(top_k=20, lambda_mmr=1.0).fit(idx, ch)
    plain_top2 = {m.ref for m in plain.results_[:2]}
    assert plain_top2 == {"A", "A2"}, "construction: the two copies fit best"
    m = ChallengeMatcher(top_k=3).fit(idx, ch)
    top2 = [r.ref for r in m.results_[:2]]
    assert "B" in top2 and len({"A", "A2"} & set(top2)) == 1
    assert [r.rank for r in m.results_] == [1, 2, 3]
    # Scores stay the fit to the question, not the MMR value.
    fit = {r.ref: r.score for r in plain.results_}
    assert all(r.score == pytest.approx(fit[r.ref]) for r in m.results_)
    assert any(r.code == "different_approach" for r in m.results_[1].reasons)
    top = m.results_[0]
    assert top.contributions and "text" in top.contributions
    # Relevance = (1 - theme_weight) * feature score + theme_weight * theme coverage.
    assert top.features["themes"] == 1.0  # A names both themes
    assert sum(top.contributions.values()) == pytest.approx(top.score)
    assert top.contributions["themes"] == pytest.approx(m.theme_weight)


def test_theme_coverage_lifts_relevance() -> None:
    # Same text fit, but only T names the Challenge's theme "armoede".
    t = ent("T", "Budgetcoaching en schuldhulp voor gezinnen", themes=("armoede",))
    u = ent("U", "Budgetcoaching en schuldhulp voor gezinnen")
    idx = index_of([t, u, *filler()])
    ch = challenge(title="Schulden", question="Hoe helpen we gezinnen met schulden?",
                   themes=("armoede",))
    plain = ChallengeMatcher(theme_weight=0.0, lambda_mmr=1.0).fit(idx, ch)
    assert plain.results_[0].score == pytest.approx(plain.ranked_.score[0])
    assert "themes" not in plain.results_[0].contributions
    m = ChallengeMatcher(lambda_mmr=1.0).fit(idx, ch)
    assert m.results_[0].ref == "T" and m.results_[0].features["themes"] == 1.0
    assert m.results_[0].reasons[0] == reason("themes_covered", themes=["armoede"])


def test_theme_coverage_own_theme_compound_and_partial() -> None:
    e1 = ent("1", "wij doen groen onderhoud", themes=("armoede",))
    e2 = ent("2", "vervoer")
    cov = theme_coverage([e1, e2], ["Armoede", "groenonderhoud", "vervoer ouderen"])
    assert cov[0, 0] == 1.0  # own theme, folded
    assert cov[0, 1] == 1.0  # spaces ignored
    assert cov[1, 2] == pytest.approx(0.5)  # one of two stems
    assert cov[1, 0] == 0.0


def _two_theme_registry() -> list[Enterprise]:
    return [
        ent("G", "Groenonderhoud van parken en plantsoenen door mensen met een "
            "afstand tot de arbeidsmarkt", cpv=("77310000",), themes=("groen",)),
        ent("G2", "Groenonderhoud en snoeien van parken en plantsoenen door mensen met een "
            "afstand tot de arbeidsmarkt", cpv=("77310000",), themes=("groen",)),
        ent("K", "Catering en maaltijden koken voor de buurt, een buurtkeuken",
            cpv=("55520000",), themes=("maaltijden",)),
        ent("P", "Pending enterprise doing both parks and meals: groen en maaltijden",
            cpv=("77310000",), themes=("groen", "maaltijden"),
            vetting=Vetting("pending")),
        *filler(),
    ]


def test_coalition_covers_two_themes_no_single_enterprise_covers() -> None:
    idx = index_of(_two_theme_registry())
    ch = challenge(title="Groene buurtmaaltijden", question="Een groene wijk waar mensen "
                   "samen eten: parken onderhouden en maaltijden voor de buurt",
                   themes=("groen", "maaltijden"), max_partners=2)
    m = ChallengeMatcher().fit(idx, ch)
    single = m.coverage_.mean(axis=1)
    assert single.max() < 1.0, "construction: no single vetted enterprise covers both"
    best = m.coalitions_[0]
    assert set(best.refs) in ({"G", "K"}, {"G2", "K"})
    assert best.coverage == pytest.approx(1.0)
    assert best.size == 2
    assert any(r.code == "coalition_themes" and r.params["covered"] == 2
               and r.params["n_themes"] == 2 for r in best.reasons)
    # Two near-copies never form a coalition: they add nothing to each other.
    assert all(set(c.refs) != {"G", "G2"} for c in m.coalitions_)
    # The pending enterprise (covers both themes alone) never appears anywhere.
    assert "P" not in {r.ref for r in m.results_}
    assert all("P" not in c.refs for c in m.coalitions_)
    d = best.as_dict()
    assert d["refs"] == list(best.refs)
    assert d["reasons"] == [r.as_dict() for r in best.reasons] and d["reasons"]


@pytest.mark.parametrize("limit", [2, 3])
def test_max_partners_respected(limit: int) -> None:
    # Four enterprises, each covering one of four themes: the best coalition wants all four.
    themes = ("vervoer", "maaltijden", "groen", "taal")
    texts = {
        "vervoer": ("Vervoer van ouderen met een buurtbus", ("60130000",)),
        "maaltijden": ("Maaltijden koken in een buurtkeuken", ("55520000",)),
        "groen": ("Groen onderhouden in parken", ("77310000",)),
        "taal": ("Taal leren met vrijwilligers, taalcafé", ("80000000",)),
    }
    ents = [ent(t.upper(), d, cpv=c, themes=(t,)) for t, (d, c) in texts.items()]
    idx = index_of([*ents, *filler()])
    ch = challenge(themes=themes, question="vervoer, maaltijden, groen en taal in de wijk",
                   max_partners=4)
    m = ChallengeMatcher(max_partners=limit).fit(idx, ch)
    assert m.max_partners_ == limit
    assert m.coalitions_
    assert all(2 <= c.size <= limit for c in m.coalitions_)
    assert m.coalitions_[0].size == limit  # more partners, more themes covered
    assert m.coalitions_[0].coverage == pytest.approx(limit / 4)
    # Without an override the Challenge's own max_partners applies.
    m4 = ChallengeMatcher().fit(idx, ch)
    assert m4.max_partners_ == 4 and m4.coalitions_[0].size == 4
    assert m4.coalitions_[0].coverage == pytest.approx(1.0)


def test_max_partners_one_means_no_coalitions() -> None:
    idx = index_of(_two_theme_registry())
    m = ChallengeMatcher().fit(idx, challenge(themes=("groen", "maaltijden"), max_partners=1))
    assert m.coalitions_ == []
    assert m.results_


def test_budget_counts_combined_capacity() -> None:
    # Two small enterprises, each bringing one theme: their capacity adds up for the budget.
    small = [ent("S0", LONELY_A, cpv=("55300000",), themes=("eenzaamheid",),
                 capacity=Capacity(0, 30_000.0)),
             ent("S1", "Vervoer van ouderen naar dagactiviteiten met een buurtbus",
                 cpv=("60130000",), themes=("vervoer",), capacity=Capacity(0, 30_000.0))]
    idx = index_of([*small, *filler()])
    ch = challenge(themes=("eenzaamheid", "vervoer"), budget_eur=50_000.0, max_partners=3)
    m = ChallengeMatcher().fit(idx, ch)
    best = m.coalitions_[0]
    assert set(best.refs) == {"S0", "S1"}
    assert best.capacity_eur == pytest.approx(60_000.0)
    assert best.parts["capacity"] > 0
    assert any(r.code == "coalition_budget" and r.params["budget_eur"] == 50_000
               and r.params["free_eur"] == 60_000 for r in best.reasons)


def test_coalition_says_which_member_brings_which_theme() -> None:
    idx = index_of(_two_theme_registry())
    ch = challenge(title="Groene buurtmaaltijden", question="Een groene wijk waar mensen "
                   "samen eten: parken onderhouden en maaltijden voor de buurt",
                   themes=("groen", "maaltijden"), max_partners=3)
    m = ChallengeMatcher().fit(idx, ch)
    assert m.coalitions_
    for c in m.coalitions_:
        assert set(c.brings) == set(c.refs)
        assert all(c.brings[r] for r in c.refs), c.brings  # every member brings something
        assert sorted(t for ts in c.brings.values() for t in ts) == ["groen", "maaltijden"]
        assert c.brings["K"] == ("maaltijden",)
        assert c.as_dict()["brings"] == {k: list(v) for k, v in c.brings.items()}
    # G and G2 both bring "groen": never together (neither would bring a theme of its own).
    assert all(not {"G", "G2"} <= set(c.refs) for c in m.coalitions_)


def test_no_coalition_when_one_member_covers_what_the_others_do() -> None:
    # The housing case: every candidate covers the same themes; partners add nothing.
    texts = ["Isolatie van woningen en energiearmoede aanpakken, verduurzaming met bewoners",
             "Woningen isoleren tegen energiearmoede: verduurzaming met werkzoekenden",
             "Verduurzaming van huurwoningen, kierdichting tegen energiearmoede"]
    ents = [ent(f"I{i}", t, cpv=("45321000",), themes=("verduurzaming", "energiearmoede"))
            for i, t in enumerate(texts)]
    idx = index_of([*ents, *filler()])
    ch = challenge(title="Woningen verduurzamen", question="Hoe isoleren we woningen van "
                   "huurders met een krappe beurs?",
                   themes=("verduurzaming", "energiearmoede", "wonen", "werkgelegenheid"))
    m = ChallengeMatcher().fit(idx, ch)
    assert len(m.results_) >= 2
    assert m.coalitions_ == []


def test_no_coalitions_without_themes() -> None:
    idx = index_of([ent("A", LONELY_A, cpv=("55300000",)), ent("B", LONELY_B), *filler()])
    m = ChallengeMatcher().fit(idx, challenge(themes=(), budget_eur=500_000.0))
    assert m.results_ and m.coalitions_ == []


def test_portfolio_keeps_only_candidates_above_the_floor() -> None:
    idx = index_of(_two_theme_registry())
    ch = challenge(title="Groene buurtmaaltijden", question="Een groene wijk waar mensen "
                   "samen eten: parken onderhouden en maaltijden voor de buurt",
                   themes=("groen", "maaltijden"))
    m = ChallengeMatcher(top_k=10).fit(idx, ch)
    refs = {r.ref for r in m.results_}
    assert {"G", "K"} <= refs
    assert len(m.results_) < 10  # the unrelated filler is not an answer
    assert all(r.score >= PORTFOLIO_FLOOR for r in m.results_)
    assert not any(r.ref.startswith("F-") for r in m.results_)
    # Without the floor the list is filled up with the filler.
    m0 = ChallengeMatcher(top_k=10, relevance_floor=0.0).fit(idx, ch)
    assert len(m0.results_) == 10
    assert any(r.ref.startswith("F-") for r in m0.results_)
    assert all(set(c.refs) <= refs for c in m.coalitions_)


def test_unvetted_and_expired_never_in_results() -> None:
    a = ent("A", LONELY_A, cpv=("55300000",))
    x = ent("X", LONELY_A, cpv=("55300000",), vetting=Vetting("rejected"))
    y = ent("Y", LONELY_B, vetting=Vetting("vetted", "t", date(2024, 1, 1), date(2025, 1, 1)))
    idx = index_of([a, x, y, *filler()])
    results, coalitions = match_challenge(idx, challenge(), top_k=20)
    refs = {r.ref for r in results}
    assert "A" in refs and not refs & {"X", "Y"}
    assert all(not set(c.refs) & {"X", "Y"} for c in coalitions)


def test_invalid_configuration_is_rejected() -> None:
    idx = index_of(filler())
    with pytest.raises(ValueError, match="lambda_mmr"):
        ChallengeMatcher(lambda_mmr=1.5).fit(idx, challenge())
    with pytest.raises(ValueError, match="max_partners"):
        ChallengeMatcher(max_partners=0).fit(idx, challenge())


def test_empty_registry() -> None:
    m = ChallengeMatcher().fit(index_of([]), challenge())
    assert m.results_ == [] and m.coalitions_ == [] and m.n_candidates_ == 0


# -- Challenge profile, theme rarity and Dutch theme matching ---------------------------

ZEIST = (52.0894, 5.2333)  # ~7.5 km from Utrecht


def test_challenge_profile_ranks_topic_above_mere_locality() -> None:
    # L is at the place of work but does something else; T is 7.5 km away (well within
    # its radius) and works on exactly the question. Under the tender weights,
    # renormalised over what a Challenge has (text, place, recognition), distance alone
    # carried ~30 % of the score.
    local = ent("L", "Drukwerk en grafische vormgeving voor bedrijven", cpv=("79800000",))
    topic = ent("T", "Eenzame ouderen in de wijk samen brengen: ontmoeting en een "
                "buurtkamer tegen eenzaamheid", lat=ZEIST[0], lon=ZEIST[1],
                themes=("eenzaamheid", "ouderen"))
    idx = index_of([local, topic, *filler()])
    ch = challenge(themes=())  # the question's words only: no theme fit to help
    m = ChallengeMatcher(lambda_mmr=1.0).fit(idx, ch)
    assert m.weights_ is CHALLENGE and m.results_[0].ref == "T"
    w = m.ranked_.weights
    assert w[FEATURES.index("geo")] < 0.15 < w[FEATURES.index("text")]
    assert w[FEATURES.index("cpv")] == 0.0 and w[FEATURES.index("capacity")] == 0.0
    old = ChallengeMatcher(profile=None, lambda_mmr=1.0).fit(idx, ch)
    assert old.weights_ is DEFAULT
    assert old.ranked_.weights[FEATURES.index("geo")] > 0.25


def test_rare_themes_count_more_than_ones_everybody_names() -> None:
    # Most enterprises name "werkgelegenheid"; only A names "armoede".
    a = ent("A", "Budgetcoaching voor gezinnen", themes=("armoede", "werkgelegenheid"))
    b = ent("B", "Koffiebar met leerwerkplekken", themes=("werkgelegenheid",))
    f = filler()
    rest = [replace(x, themes=("werkgelegenheid",)) for x in f[:6]] + f[6:]
    idx = index_of([a, b, *rest])
    w = theme_weights(idx, ["armoede", "werkgelegenheid", "onbekendwoord"])
    assert w[0] > 3 * w[1] and w[1] >= MIN_THEME_WEIGHT
    assert w[2] == pytest.approx((w[0] + w[1]) / 2)  # unknown: the known stems' mean
    ch = challenge(title="Armoede", question="Hoe helpen we gezinnen verder?",
                   themes=("armoede", "werkgelegenheid"))
    m = ChallengeMatcher(lambda_mmr=1.0).fit(idx, ch)
    fit = dict(zip([idx.refs_[i] for i in m.ranked_.rows], m.theme_fit_, strict=True))
    assert fit["A"] == pytest.approx(1.0)
    assert fit["B"] == pytest.approx(m.theme_weights_[1]) and fit["B"] < 0.3
    assert m.theme_weights_.sum() == pytest.approx(1.0)
    flat = ChallengeMatcher(lambda_mmr=1.0, rarity_weighted_themes=False).fit(idx, ch)
    np.testing.assert_allclose(flat.theme_weights_, [0.5, 0.5])


def test_theme_coverage_dutch_compounds_stems_and_target_groups() -> None:
    e = ent("1", "Energiecoaches tegen energiearmoede; onze taalcoach helpt ook. "
            "Betaalbare en digitaal toegankelijke hulp. Wij gaan verspilling van voedsel "
            "tegen.", themes=("vluchteling",), target_groups=("bbl",))
    s = ent("2", "Fietsenmakerij", target_groups=("statushouders",))
    themes = ["armoede", "taal", "voedselverspilling", "vluchtelingen", "jongeren",
              "onderwijs", "statushouders", "wonen"]
    cov = dict(zip(themes, theme_coverage([e, s], themes)[0], strict=True))
    assert cov["armoede"] == 1.0  # last part of a compound: "energiearmoede"
    assert cov["taal"] == 1.0  # first part of a compound: "taalcoach"
    assert cov["voedselverspilling"] == pytest.approx(COMPOUND_PARTS_CREDIT)  # parts apart
    assert cov["vluchtelingen"] == 1.0  # own theme, same stem
    assert cov["jongeren"] == 1.0 and cov["onderwijs"] == 1.0  # employs BBL learners
    assert cov["statushouders"] == 0.0 and cov["wonen"] == 0.0
    cov2 = dict(zip(themes, theme_coverage([s], themes)[0], strict=True))
    assert cov2["statushouders"] == 1.0 and cov2["vluchtelingen"] == 1.0
    # No false substrings: "betaalbare" and "digitaal" do not mean "taal".
    plain = ent("3", "Betaalbare en digitaal toegankelijke hulp")
    assert theme_coverage([plain], ["taal"])[0, 0] == 0.0


def test_relevance_pool_wider_than_the_mmr_pool() -> None:
    idx = index_of([ent("A", LONELY_A, cpv=("55300000",)),
                    ent("B", LONELY_B, cpv=("60130000",)), *filler()])
    m = ChallengeMatcher(pool=2, top_k=2, coalition_pool=2, relevance_pool=20).fit(
        idx, challenge())
    assert len(m.ranked_.rows) == m.n_candidates_ == 10
    assert m.similarity_.shape == (2, 2) and len(m.results_) == 2
    assert {r.ref for r in m.results_} == {idx.refs_[i] for i in m.ranked_.rows[:2]}
    assert np.all(np.diff(m.relevance_) <= 1e-12)  # relevance order, best first
    with pytest.raises(ValueError, match="relevance_pool"):
        ChallengeMatcher(relevance_pool=-1).fit(idx, challenge())


def test_excluded_enterprise_leaves_results_and_coalitions() -> None:
    """``fit(..., exclude=)`` (a connector's rejections): the excluded enterprise is in no
    result and no coalition, and its near-copy takes its place; nothing else changes."""
    idx = index_of(_two_theme_registry())
    ch = challenge(title="Groene buurtmaaltijden", question="Een groene wijk waar mensen "
                   "samen eten: parken onderhouden en maaltijden voor de buurt",
                   themes=("groen", "maaltijden"), max_partners=2)
    before = ChallengeMatcher().fit(idx, ch)
    assert "K" in {r.ref for r in before.results_}
    assert any("G" in c.refs for c in before.coalitions_)
    m = ChallengeMatcher().fit(idx, ch, exclude=["G", "not-in-the-registry"])
    assert "G" not in {r.ref for r in m.results_}
    assert all("G" not in c.refs for c in m.coalitions_)
    assert {"G2", "K"} in [set(c.refs) for c in m.coalitions_]
    # The reasons name no excluded enterprise as the closest alternative.
    g_name = idx.enterprise("G").name
    assert all(r.params.get("closest") != g_name for x in m.results_ for r in x.reasons)
    assert m.excluded_ == frozenset({"G", "not-in-the-registry"})
    # Excluding nothing is the plain fit.
    same = ChallengeMatcher().fit(idx, ch, exclude=())
    assert [r.ref for r in same.results_] == [r.ref for r in before.results_]
