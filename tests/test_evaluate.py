"""Ranking metrics, labels, baselines and the constraint audit on hand-computed cases."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.capacity import Commitment
from matcher.evaluate import (
    BM25Ranker,
    CpvOverlapRanker,
    LabelError,
    LabelledQuery,
    baseline_rankers,
    constraint_violations,
    evaluate,
    format_table,
    ndcg_at_k,
    parse_labels,
    precision_at_k,
    recall_at_k,
    tokenize,
)
from matcher.model import Capacity, Challenge, Enterprise, SroiClause, Tender, Vetting

TODAY = date(2026, 6, 1)
UTRECHT = (52.0907, 5.1214)
AMERSFOORT = (52.1561, 5.3878)  # ~19.6 km from Utrecht
GRONINGEN = (53.2194, 6.5665)  # ~160 km from Utrecht


def ent(ref: str, *, lat_lon: tuple[float, float] = UTRECHT, cpv: tuple[str, ...] = ("90911200",),
        description: str = "", status: str = "vetted", valid_until: date | None = None,
        radius: float = 30.0, placements: int = 2, purchasing: float = 10_000.0,
        name: str | None = None, themes: tuple[str, ...] = ()) -> Enterprise:
    return Enterprise(
        ref=ref, name=name or ref, description=description, cpv=cpv,
        lat=lat_lon[0], lon=lat_lon[1], service_radius_km=radius, themes=themes,
        capacity=Capacity(placements_per_year=placements, purchasing_eur_per_year=purchasing),
        vetting=Vetting(status=status, valid_until=valid_until),
    )


def tender(ref: str = "T-1", *, region_km: float | None = None,
           cpv: tuple[str, ...] = ("90911200",), title: str = "schoonmaak",
           description: str = "") -> Tender:
    return Tender(ref=ref, buyer="Gemeente Utrecht", title=title, description=description,
                  cpv=cpv, lat=UTRECHT[0], lon=UTRECHT[1],
                  sroi=SroiClause(percentage=5.0, region_km=region_km))


# --------------------------------------------------------------------------- metrics


def test_ndcg_hand_computed() -> None:
    rel = {"a": 3, "c": 2, "d": 1}
    # DCG@3 = (2^3-1)/log2(2) + 0 + (2^2-1)/log2(4) = 7 + 1.5
    # IDCG@3 = 7 + 3/log2(3) + 1/log2(4), from all labelled grades (d is not retrieved)
    expected = 8.5 / (7 + 3 / math.log2(3) + 0.5)
    assert ndcg_at_k(["a", "b", "c"], rel, 3) == pytest.approx(expected)
    assert ndcg_at_k(["a", "c", "d"], rel, 3) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], rel, 10) == 0.0
    # k=1: only the first position counts; ideal gain 7
    assert ndcg_at_k(["c", "a"], rel, 1) == pytest.approx(3 / 7)


def test_ndcg_undefined_without_relevant() -> None:
    assert ndcg_at_k(["a"], {"a": 0}, 5) is None
    assert recall_at_k(["a"], {}, 5) is None
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], {"a": 1}, 0)


def test_precision_and_recall_hand_computed() -> None:
    rel = {"a": 3, "c": 1, "d": 2, "z": 0}
    ranked = ["a", "b", "z"]
    assert precision_at_k(ranked, rel, 5) == pytest.approx(1 / 5)  # empty slots are misses
    assert precision_at_k(ranked, rel, 1) == 1.0
    assert recall_at_k(ranked, rel, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["d", "c", "a"], rel, 20) == 1.0


@given(st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=8),
       st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 3), min_size=1),
       st.integers(1, 10))
def test_metrics_bounded(ranked: list[str], rel: dict[str, int], k: int) -> None:
    n = ndcg_at_k(ranked, rel, k)
    assert n is None or 0.0 <= n <= 1.0 + 1e-12
    assert 0.0 <= precision_at_k(ranked, rel, k) <= 1.0
    r = recall_at_k(ranked, rel, k)
    assert r is None or 0.0 <= r <= 1.0
    # the ideal order reaches 1
    ideal = sorted(rel, key=lambda x: -rel[x])
    if n is not None:
        assert ndcg_at_k(ideal, rel, k) == pytest.approx(1.0)


# --------------------------------------------------------------------------- labels


def test_parse_labels_valid() -> None:
    doc = {"queries": [{"tender": "T-1", "relevant": {"E-1": 3, "E-2": 1.0}},
                       {"challenge": "C-1", "relevant": {"E-2": 2}}]}
    out = parse_labels(doc, enterprises=["E-1", "E-2"], tenders=["T-1"], challenges=["C-1"])
    assert out == [LabelledQuery("tender", "T-1", {"E-1": 3, "E-2": 1}),
                   LabelledQuery("challenge", "C-1", {"E-2": 2})]


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ([], "JSON object"),
        ({"queries": {}}, '"queries"'),
        ({"queries": []}, "empty"),
        ({"queries": [{"relevant": {}}]}, 'exactly one of "tender" or "challenge"'),
        ({"queries": [{"tender": "T-1", "challenge": "C-1", "relevant": {}}]}, "exactly one"),
        ({"queries": [{"tender": "T-9", "relevant": {"E-1": 1}}]}, "unknown tender ref 'T-9'"),
        ({"queries": [{"tender": "T-1", "relevant": {"E-404": 1}}]},
         "unknown enterprise ref 'E-404'"),
        ({"queries": [{"tender": "T-1", "relevant": {"E-1": 4}}]}, "grade must be 0-3"),
        ({"queries": [{"tender": "T-1", "relevant": {"E-1": "3"}}]}, "whole number"),
        ({"queries": [{"tender": "T-1", "relevant": {"E-1": 2.5}}]}, "whole number"),
        ({"queries": [{"tender": "T-1", "relevant": {"E-1": True}}]}, "whole number"),
        ({"queries": [{"tender": "T-1", "relevant": [1]}]}, ".relevant: must be an object"),
        ({"queries": [{"tender": "T-1", "relevant": {}, "grade": 1}]}, "unknown key(s) grade"),
        ({"queries": [{"tender": "T-1", "relevant": {}}, {"tender": "T-1", "relevant": {}}]},
         "labelled twice"),
    ],
)
def test_parse_labels_errors(doc: object, needle: str) -> None:
    with pytest.raises(LabelError) as err:
        parse_labels(doc, enterprises=["E-1"], tenders=["T-1"], challenges=["C-1"])
    assert needle in str(err.value)


# --------------------------------------------------------------------------- BM25


def test_tokenize_folds_accents_stopwords_and_plurals() -> None:
    assert tokenize("De Fietsen van Cafés") == tokenize("fiets cafe")
    assert len(tokenize("De Fietsen van Cafés")) == 2
    assert tokenize("gardens and the garden")[0] == tokenize("gardens and the garden")[1]
    assert tokenize("bakken bak") == ["bak", "bak"]


def test_bm25_hand_computed_score() -> None:
    # Equal-length documents: length normalisation is 1 and a single occurrence scores
    # tf*(k1+1)/(tf+k1) = 1 times the IDF, ln(1 + (N - df + 0.5)/(df + 0.5)).
    docs = ["fiets werkplaats", "catering lunch", "groen onderhoud"]
    bm = BM25Ranker(k1=1.2, b=0.75, tokenizer=str.split).fit(docs, ["A", "B", "C"])
    idf = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))
    np.testing.assert_allclose(bm.score("fiets"), [idf, 0.0, 0.0])
    # Two query terms in one document add up.
    np.testing.assert_allclose(bm.score("catering lunch")[1], 2 * idf)


def _reference_bm25(docs: list[list[str]], query: list[str], k1: float, b: float) -> list[float]:
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    out = []
    for d in docs:
        tf = Counter(d)
        s = 0.0
        for t in query:
            df = sum(1 for x in docs if t in x)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            f = tf[t]
            s += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(d) / avgdl))
        out.append(s)
    return out


def test_bm25_known_ordering_and_reference() -> None:
    docs = [
        "fiets reparatie fiets",                     # A: two 'fiets' in three words
        "fiets werkplaats",                          # B: one 'fiets' in two words
        "fiets " + "catering " * 12,                 # C: one 'fiets', long document
        "catering lunch kantoor",                    # D: no 'fiets'
        "werkplaats hout meubels werkplaats",        # E: rare term 'hout'
    ]
    bm = BM25Ranker(tokenizer=str.split).fit(docs, list("ABCDE"))
    # tf saturates but still helps; a long document with the same tf ranks below a short one;
    # a document without the term is not returned at all.
    assert bm.rank("fiets") == ["A", "B", "C"]
    # a rare term (high idf) counts more than a common one at equal term frequency
    ranked = bm.rank("hout catering")
    assert ranked.index("E") < ranked.index("D")
    ref = _reference_bm25([d.split() for d in docs], ["fiets", "hout", "fiets"], 1.2, 0.75)
    np.testing.assert_allclose(bm.score("fiets hout fiets"), ref, rtol=1e-12)


def test_bm25_unknown_words_and_empty_corpus() -> None:
    bm = BM25Ranker().fit(["fiets"], ["A"])
    assert bm.rank("onbekend") == []
    assert BM25Ranker().fit([], []).rank("fiets") == []
    with pytest.raises(ValueError):
        BM25Ranker(b=2.0)


# --------------------------------------------------------------------------- CPV overlap


def test_cpv_overlap_exact_then_prefix() -> None:
    cpv = CpvOverlapRanker().fit(
        [
            ("90910000",),              # A: shares class 9091 with the query
            ("90911200", "77310000"),   # B: exact match
            ("90000000",),              # C: shares division 90 only
            ("45000000",),              # D: nothing in common
            ("90911200", "90919200"),   # E: two exact matches
        ],
        list("ABCDE"),
    )
    assert cpv.rank(["90911200", "90919200"]) == ["E", "B", "A", "C"]
    assert cpv.rank([]) == []


# --------------------------------------------------------------------------- constraints


def test_constraint_violations() -> None:
    t = tender(region_km=15.0)
    assert constraint_violations(ent("ok"), t, TODAY) == []
    assert constraint_violations(ent("p", status="pending"), t, TODAY) == ["unvetted"]
    assert constraint_violations(ent("x", valid_until=date(2026, 1, 1)), t, TODAY) == [
        "vetting expired"
    ]
    # Amersfoort is ~20 km away: inside its 30 km radius but outside the clause's 15 km
    assert constraint_violations(ent("a", lat_lon=AMERSFOORT), t, TODAY) == ["outside region_km"]
    assert constraint_violations(ent("a", lat_lon=AMERSFOORT), tender(), TODAY) == []
    far = constraint_violations(ent("g", lat_lon=GRONINGEN), t, TODAY)
    assert far == ["outside service radius", "outside region_km"]
    assert constraint_violations(ent("c", placements=0, purchasing=5000.0), t, TODAY,
                                 {"c": Commitment(5000.0)}) == ["no capacity left"]
    assert constraint_violations(ent("c", placements=0, purchasing=5000.0), t, TODAY,
                                 {"c": Commitment(1000.0)}) == []
    # a free placement is capacity too, whatever the purchasing (matcher.capacity)
    assert constraint_violations(ent("c", placements=1, purchasing=0.0), t, TODAY,
                                 {"c": Commitment(1000.0)}) == []
    assert constraint_violations(ent("c", placements=1, purchasing=0.0), t, TODAY,
                                 {"c": Commitment(0.0, 1)}) == ["no capacity left"]
    reserved = Tender(ref="T-r", buyer="b", title="t", cpv=("90911200",), lat=UTRECHT[0],
                      lon=UTRECHT[1], sroi=SroiClause(percentage=5.0, reserved=True))
    assert constraint_violations(ent("r"), reserved, TODAY) == ["reserved share too low"]


# --------------------------------------------------------------------------- evaluate


def test_evaluate_aggregates_per_kind_and_counts_violations() -> None:
    enterprises = {
        "E1": ent("E1", description="schoonmaak kantoren", cpv=("90911200",)),
        "E2": ent("E2", description="schoonmaak", cpv=("90911200",), status="pending"),
        "E3": ent("E3", description="eenzaamheid ouderen", cpv=("85000000",),
                  themes=("eenzaamheid",)),
        "E4": ent("E4", description="vervoer", cpv=("60000000",), lat_lon=GRONINGEN),
    }
    t = tender("T-1", title="schoonmaak kantoren")
    c = Challenge(ref="C-1", municipality="GM0344", title="Eenzaamheid",
                  question="Hoe bereiken we eenzame ouderen?", themes=("eenzaamheid",),
                  lat=UTRECHT[0], lon=UTRECHT[1])
    labelled = [LabelledQuery("tender", "T-1", {"E1": 3}),
                LabelledQuery("challenge", "C-1", {"E3": 2, "E4": 1})]
    queries = {("tender", "T-1"): t, ("challenge", "C-1"): c}
    rankers = dict(baseline_rankers(list(enterprises.values())))
    rankers["oracle"] = lambda q: ["E1"] if q is t else ["E3", "E4"]
    reports = evaluate(rankers, labelled, queries, enterprises, TODAY)

    oracle = reports["oracle"].summary()
    assert oracle["overall"]["ndcg@10"] == pytest.approx(1.0)
    assert oracle["tender"]["queries"] == 1 and oracle["challenge"]["queries"] == 1
    assert oracle["challenge"]["violations@10"] == 1  # E4 lies outside its radius
    assert oracle["overall"]["violation_reasons"] == {"outside service radius": 1}

    bm25 = reports["BM25"]
    assert bm25.queries[0].ranked[:2] == ["E1", "E2"]  # the shorter matching document first
    assert bm25.aggregate("tender")["violations@10"] == 1  # E2 is not vetted
    cpv = reports["CPV-overlap"].summary()
    assert cpv["challenge"]["ndcg@10"] == 0.0  # Challenges carry no CPV codes
    table = format_table(reports)
    assert "NDCG@10" in table and "challenge (1 queries)" in table and "oracle" in table
