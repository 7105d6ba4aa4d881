"""Match quality on messy input (issue #14): broad codes are weak evidence, context never
lifts an enterprise that does not do the work, the honest cut, text-only enterprises,
place names are not work terms, a tender abroad is not ranked as if local."""

from __future__ import annotations

from matcher.cpv import CpvIndex, best_match, specificity
from matcher.index import EnterpriseIndex
from matcher.query import as_query
from matcher.rank import SUITABLE_FLOOR, rank_query, rank_tender, relevance
from matcher.text import work_text
from tests.engine.ranking_fixtures import CERT_PSO3, REF_DATE, ent, filler, tender

LIGHTING = tender("T-L", title="Onderhoud openbare verlichting", cpv=("50232100",),
                  description="Onderhoud van lichtmasten en armaturen, storingsdienst.")


def _ix(extra: list) -> EnterpriseIndex:  # type: ignore[type-arg]
    return EnterpriseIndex.build([*extra, *filler()], REF_DATE)


def test_a_division_code_covering_a_narrow_request_is_weak() -> None:
    # Division 50000000 "covers" street lighting 50232100 four levels up: weak evidence.
    _, broad, anc = best_match("50232100", ["50000000"])
    assert anc == "50000000" and broad < 0.05
    # A class-level sibling is real evidence; an offered code within the request is never
    # discounted (the request itself was that broad).
    _, sibling, _ = best_match("50232100", ["50232200"])
    assert sibling > 0.3
    assert specificity(1, 0) == 1.0 and specificity(1, 2) < specificity(2, 2) < 1.0
    ix = CpvIndex().fit([["50000000"], ["50232200"], ["90911200"]])
    s = ix.score(["50232100"])
    assert s[0] < 0.05 < 0.3 < s[1] and s[2] == 0.0
    assert s[0] == ix.pair(["50232100"], ["50000000"])


def test_recognition_and_distance_never_lift_an_enterprise_that_does_not_do_the_work(
        ) -> None:
    bikes = ent("E-BIKE", description="fietsenmaker: reparatie van fietsen en verhuur",
                cpv=("50000000",), certifications=(CERT_PSO3,), target_group_share=0.9)
    lights = ent("E-LIGHT", description="onderhoud van openbare verlichting en lichtmasten",
                 cpv=("50232000",), lat=52.0, lon=5.0)
    ms = rank_tender(_ix([bikes, lights]), LIGHTING, top_k=30)
    by = {m.ref: m for m in ms}
    assert ms[0].ref == "E-LIGHT" and by["E-LIGHT"].suitable
    assert not by["E-BIKE"].suitable and by["E-BIKE"].relevance < SUITABLE_FLOOR
    # Its certificate counts only in proportion to its (small) relevance.
    assert by["E-BIKE"].contributions["certification"] < 0.3 * by["E-BIKE"].features[
        "certification"] * 0.06
    below = [r for r in by["E-BIKE"].reasons if r.code == "below_floor"]
    assert below and "code" in below[0].params["lacks"]  # type: ignore[operator]


def test_nothing_fits_means_no_suitable_result() -> None:
    ix = _ix([ent("E-BIKE", description="fietsenmaker", cpv=("50000000",))])
    dna = tender("T-DNA", title="DNA-sequencer voor het laboratorium", cpv=("38434500",),
                 description="Levering en installatie van een sequencer met software.")
    r = rank_query(ix, as_query(dna), top_k=20)
    assert r.n_suitable == 0 and not r.suitable().any()
    assert r.n_candidates > 0  # candidates there are, none does this work


def test_text_only_enterprise_is_found_by_its_description() -> None:
    plain = ent("E-TXT", cpv=(), description="wij doen de schoonmaak van kantoren en "
                "scholen, dagelijks en periodiek")
    ms = rank_tender(_ix([plain]), tender(), top_k=30)
    m = next(m for m in ms if m.ref == "E-TXT")
    assert m.rank == 1 and m.suitable and m.features["cpv"] > 0


def test_place_names_are_not_work_terms() -> None:
    text = work_text("Schoonmaak buurthuizen Overvecht. Dagelijkse schoonmaak in "
                     "Overvecht en Kanaleneiland (gemeente Utrecht) en in Wijk bij Duurstede.")
    low = text.lower()
    for place in ("overvecht", "kanaleneiland", "utrecht", "wijk bij duurstede"):
        assert place not in low
    assert "schoonmaak" in low and "buurthuizen" in low
    # Lower-case words that happen to be place names elsewhere stay ("best").
    assert "best" in work_text("Het best passende team.").lower()
    bus = ent("E-BUS", name="Buurtbus Overvecht", cpv=("60000000",),
              description="vervoer van ouderen in de wijk Overvecht")
    cleaner = ent("E-CLEAN", description="schoonmaak van buurthuizen en kantoren")
    t = tender(title="Schoonmaak buurthuizen Overvecht",
               description="Schoonmaak van buurthuizen in Overvecht.")
    by = {m.ref: m for m in rank_tender(_ix([bus, cleaner]), t, top_k=30)}
    assert by["E-CLEAN"].suitable and not by["E-BUS"].suitable
    words = [w for m in by.values() for r in m.reasons if r.code == "shared_terms"
             for w in r.params["words"]]  # type: ignore[union-attr]
    assert "Overvecht" not in words and "buurthuizen" in words  # as written, not stemmed


def test_a_tender_abroad_is_not_ranked_as_if_local() -> None:
    abroad = tender("T-BE", lat=None, lon=None, municipality=None)
    ms = rank_tender(_ix([ent("E-1")]), abroad, top_k=5)
    assert ms and all(any(r.code == "place_not_judged" for r in m.reasons) for m in ms)
    assert all("geo" not in m.features for m in ms)


def test_relevance_is_the_noisy_or_of_code_and_text() -> None:
    import numpy as np

    from matcher.rank import applicable

    a = applicable(as_query(tender()))
    X = np.zeros((3, 7))
    X[0, 2] = 1.0  # exact code
    X[1, 0] = 0.15  # fair text, codes elsewhere: discounted
    X[2, 0] = 0.15  # fair text, no codes at all
    r = relevance(X, np.array([True, True, False]), a)
    assert r[0] == 1.0 and r[1] < SUITABLE_FLOOR <= r[2]
