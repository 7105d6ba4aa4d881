"""Ranking on registries whose right answer is known by construction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from ranking_fixtures import AMSTERDAM, GRONINGEN, REF_DATE, ent, filler, tender

from matcher.capacity import Commitment
from matcher.index import EnterpriseIndex
from matcher.model import Capacity, Obligation, SroiClause, Vetting
from matcher.query import from_tender
from matcher.rank import (
    candidates_for_obligation,
    effective_weights,
    feature_matrix,
    gate,
    rank_many,
    rank_query,
    rank_tender,
    why_not,
)
from matcher.reasons import reason
from matcher.valuation import reference_placement_year_eur
from matcher.weights import DEFAULT, FEATURES


def build(ents, committed=None) -> EnterpriseIndex:
    return EnterpriseIndex.build(ents, REF_DATE, committed)


def refs(matches) -> list[str]:
    return [m.ref for m in matches]


def test_exact_cpv_beats_shared_division():
    a = ent("A", cpv=("90911200",), description="reiniging van gebouwen")
    # Same division (90) only: street cleaning, not building cleaning.
    b = ent("B", cpv=("90600000",), description="reiniging van gebouwen")
    ix = build([b, a, *filler()])
    ms = rank_tender(ix, tender(), top_k=5)
    assert refs(ms)[:2] == ["A", "B"]
    assert ms[0].features["cpv"] == pytest.approx(1.0)
    assert 0 < ms[1].features["cpv"] < 0.5
    assert reason("cpv_exact", code="90911200") in ms[0].reasons
    related = [r for r in ms[1].reasons if r.code == "cpv_related"]
    assert [(r.params["offered"], r.params["requested"], r.params["shared"])
            for r in related] == [("90600000", "90911200", "90000000")]
    assert 0 < float(related[0].params["similarity"]) < 0.5  # type: ignore[arg-type]


def test_rarer_tender_code_weighs_more():
    # Tender asks for a common code (held by many) and a rare one; the enterprise
    # matching the rare code should beat the one matching only the common code.
    common = [ent(f"C{i}", cpv=("55520000",)) for i in range(8)]
    rare = ent("R", cpv=("77311000",))
    ix = build([*common, rare, *filler(4)])
    t = tender(cpv=("55520000", "77311000"), description="", title="opdracht")
    X = {m.ref: m.features["cpv"] for m in rank_tender(ix, t, top_k=20)}
    assert X["R"] > X["C0"] > 0


def test_expired_vetting_excluded_with_reason():
    a = ent("A", vetting=Vetting("vetted", "x", date(2024, 1, 1), date(2026, 3, 1)))
    b = ent("B")
    ix = build([a, b, *filler()])
    assert "A" not in refs(rank_tender(ix, tender(), top_k=50))
    w = why_not(ix, tender(), "A")
    assert w["excluded"] is True
    assert w["exclusions"][0]["code"] == "vetting_expired"
    assert w["exclusions"][0]["params"] == {"on": "2026-03-01"}
    assert "reason" not in w  # no sentence: the views render the codes


def test_pending_vetting_excluded():
    ix = build([ent("A", vetting=Vetting("pending")), ent("B"), *filler()])
    w = why_not(ix, tender(), "A")
    assert w["excluded"] and w["exclusions"][0]["code"] == "not_vetted"


def test_out_of_radius_excluded_and_clause_region_applies():
    near = ent("N")
    ams = ent("AMS", lat=AMSTERDAM[0], lon=AMSTERDAM[1], service_radius_km=50.0)
    far = ent("G", lat=GRONINGEN[0], lon=GRONINGEN[1], service_radius_km=50.0)
    ix = build([near, ams, far, *filler()])
    got = refs(rank_tender(ix, tender(), top_k=50))
    assert "N" in got and "AMS" in got and "G" not in got
    w = why_not(ix, tender(), "G")
    assert w["exclusions"][0]["code"] == "outside_service_radius"
    params = w["exclusions"][0]["params"]
    assert params["radius_km"] == 50.0 and params["km"] > 50
    # The clause's own radius (20 km) now also excludes Amsterdam (~36 km).
    t = tender(sroi=SroiClause(percentage=5.0, region_km=20.0))
    got = refs(rank_tender(ix, t, top_k=50))
    assert "AMS" not in got and "N" in got
    codes = [x["code"] for x in why_not(ix, t, "AMS")["exclusions"]]
    assert codes == ["outside_clause_region"]


def test_reserved_contract_excludes_low_share():
    low = ent("LOW", target_group_share=0.2)
    unknown = ent("UNK", target_group_share=None)
    high = ent("HIGH", target_group_share=0.35)
    ix = build([low, unknown, high, *filler()])
    t = tender(sroi=SroiClause(percentage=5.0, reserved=True))
    got = refs(rank_tender(ix, t, top_k=50))
    assert "HIGH" in got and "LOW" not in got and "UNK" not in got
    w = why_not(ix, t, "LOW")
    assert w["exclusions"][0]["code"] == "reserved_share_too_low"
    assert w["exclusions"][0]["params"] == {"share": 0.2, "min_share": 0.3}
    unk = why_not(ix, t, "UNK")["exclusions"]
    assert unk == [{"code": "reserved_share_too_low", "params": {"share": None, "min_share": 0.3}}]
    # Not reserved: the same enterprise is a candidate.
    assert "LOW" in refs(rank_tender(ix, tender(), top_k=50))


def test_committed_capacity_excludes_and_scales_fit():
    a = ent("A", capacity=Capacity(0, 100_000.0))
    b = ent("B", capacity=Capacity(0, 100_000.0))
    ix = build([a, b, *filler()],
               committed={"A": Commitment(100_000.0), "B": Commitment(75_000.0)})
    ms = {m.ref: m for m in rank_tender(ix, tender(), top_k=50)}
    assert "A" not in ms
    assert why_not(ix, tender(), "A")["exclusions"][0]["code"] == "no_capacity_left"
    # 5 % of 1,000,000 = 50,000 due; B has 25,000 left -> carries half.
    assert ms["B"].features["capacity"] == pytest.approx(0.5)
    assert reason("capacity_share", free_purchase_eur=25_000.0, free_placements=0, share=0.5,
                  due_eur=50_000.0) in ms["B"].reasons


def test_placements_count_as_capacity():
    a = ent("A", capacity=Capacity(2, 0.0))
    ix = build([a, *filler()])
    m = {m.ref: m for m in rank_tender(ix, tender(), top_k=50)}
    # Two placement-years at the ranking value against 5 % of 1,000,000 due.
    assert ix.placement_eur == reference_placement_year_eur()
    assert m["A"].features["capacity"] == pytest.approx(min(1.0, 2 * ix.placement_eur / 50_000))


def test_placement_value_is_configuration_and_parts_are_separate():
    a = ent("A", capacity=Capacity(2, 20_000.0))
    ix = EnterpriseIndex.build([a, *filler()], REF_DATE, {"A": Commitment(0.0, 1)},
                               placement_eur=10_000.0)
    m = {m.ref: m for m in rank_tender(ix, tender(), top_k=50)}
    # One free placement at 10,000 plus all 20,000 of purchasing (a committed placement
    # never takes purchasing euros): 30,000 of the 50,000 due.
    assert m["A"].features["capacity"] == pytest.approx(30_000 / 50_000)
    state = ix.capacity("A")
    assert (state.free_purchase_eur, state.free_placements) == (20_000.0, 1.0)


def test_target_group_implications():
    wajong = ent("WAJ", target_groups=("wajong",))
    broad = ent("BA", target_groups=("banenafspraak",))
    other = ent("WW", target_groups=("ww",))
    ix = build([wajong, broad, other, *filler()])
    t = tender(sroi=SroiClause(percentage=5.0, target_groups=("banenafspraak",)))
    f = {m.ref: m.features["groups"] for m in rank_tender(ix, t, top_k=50)}
    assert f["WAJ"] == 1.0 and f["BA"] == 1.0 and f["WW"] == 0.0
    t2 = tender(sroi=SroiClause(percentage=5.0, target_groups=("wajong",)))
    f2 = {m.ref: m.features["groups"] for m in rank_tender(ix, t2, top_k=50)}
    assert f2["WAJ"] == 1.0 and f2["BA"] == 0.5 and f2["WW"] == 0.0


def test_text_stemming_matches_inflections():
    a = ent("A", cpv=("45000000",), description="schoonmaakdienst voor kantoor en gebouw")
    b = ent("B", cpv=("45000000",), description="catering en lunch voor bedrijven")
    ix = build([a, b, *filler()])
    t = tender(cpv=("45000000",), title="schoonmaakdiensten", description="kantoren gebouwen")
    ms = rank_tender(ix, t, top_k=50)
    f = {m.ref: m.features for m in ms}
    assert f["A"]["text"] > 0.2 > f["B"]["text"]
    assert refs(ms)[0] == "A"


def test_char_ngrams_see_unseen_compounds():
    a = ent("A", description="glazenwassen en gevelreiniging")
    b = ent("B", description="catering en lunch")
    ix = build([a, b, *filler()])
    # "gevelreinigingsbedrijf" is not in the vocabulary; its char n-grams overlap A's.
    t = tender(title="gevelreinigingsbedrijf gezocht", description="")
    f = {m.ref: m.features for m in rank_tender(ix, t, top_k=50)}
    assert f["A"]["text_char"] > f["B"]["text_char"]


def test_scores_are_weighted_features_and_sorted():
    ix = build([ent("A"), ent("B", cpv=("90600000",)), ent("C", certifications=()), *filler()])
    ms = rank_tender(ix, tender(), top_k=10)
    scores = [m.score for m in ms]
    assert scores == sorted(scores, reverse=True)
    w = dict(zip(FEATURES, effective_weights(from_tender(tender()), DEFAULT), strict=True))
    for m in ms:
        assert m.score == pytest.approx(sum(m.contributions.values()))
        # Context features (distance, groups, recognition, capacity) count in proportion
        # to relevance to the work (rank.gate); the work features in full.
        g = float(gate(np.array([m.relevance]))[0])
        for f, v in m.features.items():
            assert 0.0 <= v <= 1.0
            share = 1.0 if f in ("text", "text_char", "cpv") else g
            assert m.contributions[f] == pytest.approx(w[f] * v * share)


def test_feature_matrix_matches_candidates():
    ents = [ent("A"), ent("B", vetting=Vetting("pending")), *filler()]
    ix = build(ents)
    rs, X, names = feature_matrix(ix, tender())
    assert names == FEATURES
    assert "B" not in rs and "A" in rs
    assert X.shape == (len(rs), len(FEATURES))
    assert np.all((X >= 0) & (X <= 1))
    # Explicit refs bypass constraints (re-scoring judged enterprises).
    rs2, X2, _ = feature_matrix(ix, tender(), refs=["B", "A"])
    assert rs2 == ["B", "A"]
    i = rs.index("A")
    np.testing.assert_allclose(X2[1], X[i])


def test_why_not_included_gives_rank():
    ix = build([ent("A"), ent("B", cpv=("90600000",)), *filler()])
    ms = rank_tender(ix, tender(), top_k=50)
    for m in ms[:3]:
        w = why_not(ix, tender(), m.ref)
        assert w["excluded"] is False
        assert w["rank"] == m.rank
        assert w["score"] == pytest.approx(m.score)
    with pytest.raises(KeyError):
        why_not(ix, tender(), "NOPE")


def test_rank_many_equals_single():
    ents = [ent(f"E{i}", cpv=(c,), lat=52.0 + 0.05 * i)
            for i, c in enumerate(["90911200", "90600000", "55520000", "77311000"] * 3)]
    ix = build([*ents, *filler()])
    ts = [tender(f"T{i}", cpv=(c,), title=t) for i, (c, t) in enumerate(
        [("90911200", "schoonmaak"), ("55520000", "catering lunch"), ("77311000", "tuinen")])]
    rows, scores = rank_many(ix, ts, top_k=5, block=2)
    for j, t in enumerate(ts):
        r = rank_query(ix, from_tender(t), top_k=5)
        np.testing.assert_array_equal(rows[j, : len(r.rows)], r.rows)
        np.testing.assert_allclose(scores[j, : len(r.rows)], r.score, rtol=1e-6)


def test_candidates_for_obligation_use_buys_codes():
    cat = ent("CAT", cpv=("55520000",), description="cateringdiensten en lunch")
    clean = ent("CLN", cpv=("90911200",), description="reiniging van gebouwen")
    ix = build([cat, clean, *filler()])
    ob = Obligation(ref="O-1", firm="Bouwbedrijf", amount_eur=20_000.0, buys=("55520000",),
                    lat=52.09, lon=5.11)
    ms = candidates_for_obligation(ix, ob, top_k=3)
    assert ms[0].ref == "CAT"
    assert ms[0].features["capacity"] == 1.0


def test_add_or_update_and_remove_change_results():
    a = ent("A", cpv=("90600000",), description="straatreiniging")
    ix = build([a, *filler()])
    before = rank_tender(ix, tender(), top_k=3)
    # A new enterprise offering exactly the requested code goes to the top.
    row = ix.add_or_update(ent("NEW", description="schoonmaakdiensten voor kantoren"))
    assert row == ix.n_rows - 1
    after = rank_tender(ix, tender(), top_k=3)
    assert refs(after)[0] == "NEW" and refs(before)[0] != "NEW"
    # Updating it to an expired vetting removes it from the ranking.
    ix.add_or_update(ent("NEW", vetting=Vetting("vetted", "x", date(2020, 1, 1),
                                                date(2021, 1, 1))))
    assert "NEW" not in refs(rank_tender(ix, tender(), top_k=50))
    # Updating A's codes to the exact one lifts its CPV feature.
    old = {m.ref: m.features["cpv"] for m in rank_tender(ix, tender(), top_k=50)}["A"]
    ix.add_or_update(replace(a, cpv=("90911200",)))
    new = {m.ref: m.features["cpv"] for m in rank_tender(ix, tender(), top_k=50)}["A"]
    assert new == 1.0 > old
    assert ix.remove("A") and "A" not in refs(rank_tender(ix, tender(), top_k=50))
    assert not ix.remove("A")


def test_updated_index_equals_rebuilt_on_non_text_features():
    ents = [ent("A"), ent("B", cpv=("90600000",)), *filler()]
    ix = build(ents)
    changed = replace(ents[1], cpv=("90911200",), lat=52.2, service_radius_km=40.0,
                      certifications=())
    ix.add_or_update(changed)
    fresh = build([ents[0], changed, *ents[2:]])
    r1, X1, _ = feature_matrix(ix, tender())
    r2, X2, _ = feature_matrix(fresh, tender())
    assert r1 == r2
    cols = [FEATURES.index(f) for f in ("cpv", "geo", "groups", "certification", "capacity")]
    np.testing.assert_allclose(X1[:, cols], X2[:, cols], rtol=1e-9)


# -- text representation: vocabulary rule, pruned stage 1, fast paths ----------------


def test_words_of_one_enterprise_stay_in_the_vocabulary():
    # A speciality only one enterprise names is its most distinctive word; bigrams
    # seen once are still pruned (min_df applies to bigrams).
    ix = build([ent("A", description="gevelreiniging en glazenwassen"), *filler(20)])
    vocab = ix.word_.vocabulary_
    assert "gevelrein" in vocab and "glazenwass" in vocab
    assert not any(" " in t and t.startswith("gevelrein") for t in vocab)
    assert "plantsoen" in vocab and "regio" not in vocab  # in 5 and in 20 of 21 (max_df)
    assert any(" " in t for t in vocab)  # bigrams seen in >= 2 documents


def test_pruned_stage1_still_reports_exact_text_scores():
    # An aggressive query_drop changes only which rows are shortlisted, never the
    # scores reported for them: those are the exact cosines.
    ents = [ent("A", description="schoonmaakdiensten kantoren regio"),
            ent("B", description="schoonmaak van kantoren en scholen in de regio"),
            *filler(20)]
    exact = EnterpriseIndex.build(ents, REF_DATE, query_drop=0.0)
    pruned = EnterpriseIndex.build(ents, REF_DATE, query_drop=0.3)
    t = tender(description="schoonmaakdiensten voor kantoren in de regio")
    q = from_tender(t)
    from matcher.rank import query_text_vector
    assert query_text_vector(pruned, q).nnz < query_text_vector(pruned, q, prune=False).nnz
    a = {m.ref: m for m in rank_tender(exact, t, top_k=10)}
    b = {m.ref: m for m in rank_tender(pruned, t, top_k=10)}
    assert list(a) == list(b)
    for r, m in a.items():
        assert b[r].features["text"] == pytest.approx(m.features["text"], rel=1e-6)
        assert b[r].score == pytest.approx(m.score, rel=1e-6)
    rs, X, _ = feature_matrix(pruned, t)
    for r, m in b.items():
        assert X[rs.index(r), FEATURES.index("text")] == pytest.approx(m.features["text"],
                                                                        rel=1e-5)


def test_prune_common_terms_drops_only_common_low_weight_terms():
    import scipy.sparse as sp

    from matcher.text import prune_common_terms
    q = sp.csr_matrix((np.array([0.1, 0.7, 0.7], dtype=np.float32), np.array([0, 1, 2]),
                       np.array([0, 3])), shape=(1, 4))
    postings = np.array([1000, 10, 5, 1])
    assert prune_common_terms(q, postings, 0.0).nnz == 3
    out = prune_common_terms(q, postings, 0.02)  # 0.01 / 0.99 of the norm: dropped
    assert out.indices.tolist() == [1, 2]
    assert prune_common_terms(q, postings, 0.005).nnz == 3  # over the budget: kept


def test_char_similarity_equals_cosine_of_materialised_vectors():
    from sklearn.preprocessing import normalize
    ents = [ent("A", description="glazenwassen en gevelreiniging"), *filler(12)]
    ix = build(ents)
    rows = np.arange(ix.n_rows)
    W = ix.text_.rows(rows)
    text = "gevelreinigingsbedrijf voor glazenwassen en tuinen"
    got = ix.char_.similarity(text, W, ix.char_norms(rows))
    C = normalize(W @ ix.char_.T_)
    q = ix.char_.query_vector(text)
    want = np.clip(np.asarray((C @ q.T).toarray()).ravel(), 0, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert got[0] == got.max() > 0


def test_single_document_transform_equals_fitted_rows():
    ents = [ent("A", description="schoonmaakdiensten kantoren"), *filler(12)]
    ix = build(ents)
    from matcher.text import enterprise_document
    docs = [enterprise_document(e.name, e.themes, e.description) for e in ents]
    one = ix.word_.transform([docs[0]]).toarray()
    many = ix.word_.transform(docs[:3]).toarray()
    np.testing.assert_allclose(one[0], ix.text_.rows([0]).toarray()[0], rtol=1e-5)
    np.testing.assert_allclose(many, ix.text_.rows([0, 1, 2]).toarray(), rtol=1e-5)
    assert ix.word_.transform([]).shape == (0, len(ix.word_.vocabulary_))


def test_empty_registry_ranks_nothing():
    ix = build([])
    assert rank_tender(ix, tender()) == []


def test_stemmer_keeps_prefixes_and_does_not_conflate_begeleiding_with_beleid():
    from matcher.text import Analyzer
    a = Analyzer()
    assert a.stems("gevelreiniging gebouwen gebouw") == ["gevelrein", "gebouw", "gebouw"]
    assert a.stems("begeleiding")[0] != a.stems("beleid")[0]
    assert a.stems("schoonmaakdiensten") == a.stems("schoonmaakdienst")


def test_bulk_fit_equals_sklearn_tfidf_on_the_same_terms():
    # The vectorised fit must give sklearn's TfidfVectorizer numbers for the
    # vocabulary rule: unigrams at any df <= max_df, bigrams with min_df <= df.
    from collections import Counter

    from sklearn.feature_extraction.text import TfidfVectorizer

    from matcher.text import Analyzer, WordTfidf
    rng = np.random.default_rng(3)
    words = ("schoonmaak kantoren gebouwen catering lunch groen tuinen fietsen reparatie "
             "vervoer begeleiding de het en van wajong 2024 leerwerkplek gevelreiniging").split()
    docs = [" ".join(rng.choice(words, int(rng.integers(0, 12)))) for _ in range(40)]
    docs[5] = "Één café, één ÉÉN ijsje!"  # accents: the non-ASCII fold path
    wt = WordTfidf(min_df=2, max_df=0.5)
    X = wt.fit_transform(docs)
    an = Analyzer()
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(an(d)))
    want = {t for t, c in df.items() if c <= 0.5 * len(docs) and (" " not in t or c >= 2)}
    assert set(wt.vocabulary_) == want
    ref = TfidfVectorizer(analyzer=Analyzer(), sublinear_tf=True, vocabulary=wt.vocabulary_,
                          dtype=np.float32)
    R = ref.fit_transform(docs)
    np.testing.assert_allclose(wt.idf_, ref.idf_, rtol=1e-6)  # sklearn: float32 IDF
    np.testing.assert_allclose(X.toarray(), R.toarray(), rtol=1e-5, atol=1e-7)
    assert X.has_sorted_indices


@pytest.mark.parametrize("text", [
    "Schoonmaak-diensten, kantoren & gebouwen (2024)!", "", "   ", "Ça va? 45.000.000",
    "Straße café ÉÉN İstanbul ø 3½ naïve – x", "re-integratie\\tjob\\ncoach",
])
def test_fold_tokens_equal_refdata_fold(text):
    from matcher.refdata import fold
    from matcher.text import fold_tokens
    assert fold_tokens(text) == fold(text).split()


# -- fast paths against their plain definitions -----------------------------------------


def test_cpv_score_rows_equal_pairwise_scores_after_updates():
    # score_rows reads each row's codes through a padded id table (8 slots) and
    # keeps updated, appended, removed and many-code rows aside; every path must
    # give CpvIndex.pair's direct best-match score.
    from matcher.cpv import CpvIndex
    many = ("90911200", "90600000", "55520000", "77311000", "60000000", "85300000",
            "45000000", "79000000", "98000000", "90919200")  # 10 codes: beyond the pad
    codes = [("90911200",), ("90600000", "55520000"), (), many, ("45111111",),
             ("99999999",), ("77311000",)]
    ix = CpvIndex().fit(codes)
    ix.set_row(0, ("55520000",))  # update
    ix.set_row(7, ("90911200", "90919200"))  # append
    ix.set_row(9, ("90600000",))  # append past a gap (row 8 holds nothing)
    ix.remove_row(6)
    final = [("55520000",), codes[1], (), many, codes[4], codes[5], (),
             ("90911200", "90919200"), (), ("90600000",)]
    rows = np.arange(10)
    for q in [("90911200",), ("90911200", "55520000"), ("45000000", "77311000"), ("99999999",),
              ("03000000",)]:
        want = np.array([ix.pair(q, c) for c in final])
        np.testing.assert_allclose(ix.score_rows(q, rows), want, atol=1e-12)
        np.testing.assert_allclose(ix.score(q, 10), want, atol=1e-12)
        np.testing.assert_allclose(ix.score_rows(q, np.array([9, 3, 0])), want[[9, 3, 0]],
                                   atol=1e-12)
    assert ix.score_rows(("90911200",), rows)[7] == pytest.approx(1.0)
    assert ix.df_["90911200"] == 2  # rows 3 and 7 (row 0 no longer)


def test_posting_sums_equal_the_dense_product():
    import scipy.sparse as sp

    from matcher.text import PatchableRows
    rng = np.random.default_rng(5)
    X = sp.random(60, 40, density=0.2, format="csr", random_state=7, dtype=np.float32)
    rows = PatchableRows(X)
    for _ in range(5):
        cols = np.sort(rng.choice(40, 7, replace=False))
        vals = rng.random(7).astype(np.float32)
        q = sp.csr_matrix((vals, cols, np.array([0, 7])), shape=(1, 40))
        np.testing.assert_allclose(rows.dot(q), (X @ q.T).toarray().ravel(), rtol=1e-5)
    rows.set_row(60, sp.csr_matrix(np.ones((1, 40), dtype=np.float32)))  # appended, side rows
    assert rows.dot(q)[60] == pytest.approx(float(vals.sum()), rel=1e-5)
    # Row slices mixing bulk, patched and appended rows, in any order, with repeats.
    new5 = sp.csr_matrix(np.full((1, 40), 2.0, dtype=np.float32))
    rows.set_row(5, new5)
    want = np.vstack([X.toarray(), np.ones((1, 40))])
    want[5] = 2.0
    idx = [60, 5, 0, 5, 59, 1]
    np.testing.assert_array_equal(rows.rows(idx).toarray(), want[idx])
    np.testing.assert_array_equal(rows.rows([3, 4]).toarray(), want[[3, 4]])


def test_fit_reads_documents_once_from_a_generator():
    from matcher.text import WordTfidf, enterprise_document
    ents = [ent("A", description="schoonmaakdiensten kantoren"), *filler(12)]
    docs = [enterprise_document(e.name, e.themes, e.description) for e in ents]
    a = WordTfidf().fit_transform(docs)
    wt = WordTfidf()
    b, b_csc = wt.fit_transform_both(d for d in docs)
    assert wt.vocabulary_ == WordTfidf().fit(docs).vocabulary_
    np.testing.assert_array_equal(a.toarray(), b.toarray())
    np.testing.assert_array_equal(b_csc.toarray(), b.toarray())


def test_rank_many_in_worker_processes_equals_one_process():
    ents = [ent(f"E{i}", cpv=(c,), lat=52.0 + 0.05 * i)
            for i, c in enumerate(["90911200", "90600000", "55520000", "77311000"] * 3)]
    ix = build([*ents, *filler()])
    ts = [tender(f"T{i}", cpv=(c,), title=t) for i, (c, t) in enumerate(
        [("90911200", "schoonmaak"), ("55520000", "catering lunch"), ("77311000", "tuinen"),
         ("90600000", "straatreiniging"), ("60000000", "vervoer")])]
    one = rank_many(ix, ts, top_k=5, block=2)
    two = rank_many(ix, ts, top_k=5, block=2, workers=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_shared_terms_are_shown_as_the_query_wrote_them():
    # Two enterprises so the words are not in every document (min_df 2, max_df 0.9).
    glass = [ent(f"G{i}", description="dagelijkse glasbewassing van kantoren en scholen")
             for i in range(2)]
    ix = build([*glass, *filler()])
    t = tender(title="Ramen", description="Dagelijkse glasbewassing, stadhuis en wijkkantoren")
    ms = {m.ref: m for m in rank_tender(ix, t, top_k=5)}
    (shared,) = [r for r in ms["G0"].reasons if r.code == "shared_terms"]
    words = list(shared.params["words"])  # type: ignore[arg-type]
    assert "glasbewassing" in words and "Dagelijkse" in words, words
    # Every word is one the query wrote (a bigram: two words it wrote side by side),
    # none is a stem.
    assert all(w in t.description for w in words), words
    assert not {"glasbewass", "dagelijk"} & set(words)
    assert ix.terms_.count("glasbewass") == 1  # the index itself keeps stems
