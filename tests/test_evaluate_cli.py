"""`sroi evaluate` end to end on a small store: table, JSON, label errors without tracebacks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from api.cli import main
from api.services.importing import import_files


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the command's English (`SROI_LANG=en`; Dutch is the default)."""
    monkeypatch.setenv("SROI_LANG", "en")


VETTED = {"status": "vetted", "by": "connector", "on": "2026-01-10", "valid_until": "2027-12-31"}


def enterprise(ref: str, name: str, description: str, cpv: list[str], municipality: str,
               **extra: Any) -> dict[str, Any]:
    return {"ref": ref, "name": name, "description": description, "cpv": cpv,
            "municipality": municipality, "vetting": VETTED,
            "capacity": {"placements_per_year": 2, "purchasing_eur_per_year": 50000},
            **extra}


def store_doc() -> dict[str, Any]:
    clean = "Schoonmaak van kantoren en scholen door mensen met afstand tot de arbeidsmarkt."
    return {
        "enterprises": [
            enterprise("E-1", "Schoon Utrecht", clean, ["90911200"], "GM0344"),
            enterprise("E-2", "Glans Zeist", clean + " Ook glasbewassing.", ["90911300"],
                       "GM0355"),
            # Not vetted: text and codes fit perfectly, but it may never be proposed.
            {**enterprise("E-3", "Poets Utrecht", clean, ["90911200"], "GM0344"),
             "vetting": {"status": "pending"}},
            # Vetted but in Groningen: far outside its 30 km radius of Utrecht.
            enterprise("E-4", "Schoon Noord", clean, ["90911200"], "GM0014"),
            # Vetted, near, but all capacity gone (none declared).
            {**enterprise("E-5", "Schoonmaak Nul", clean, ["90911200"], "GM0344"),
             "capacity": {"placements_per_year": 0, "purchasing_eur_per_year": 0}},
            enterprise("E-6", "Groen Utrecht", "Groenonderhoud van parken en plantsoenen; "
                       "we werken met statushouders.", ["77310000"], "GM0344",
                       themes=["eenzaamheid", "groen"]),
            # A window cleaner next door: suitable (a sibling code), not what is asked.
            enterprise("E-7", "Ruit Utrecht", "Glazenwasserij voor ramen en gevels van "
                       "kantoren.", ["90911300"], "GM0344"),
        ],
        "tenders": [
            {"ref": "T-1", "buyer": "Gemeente Utrecht", "title": "Schoonmaak kantoren",
             "description": "Schoonmaak van kantoren van de gemeente.", "cpv": ["90911200"],
             "contract_value_eur": 400000, "municipality": "GM0344",
             "sroi": {"percentage": 5}},
            # Nobody in the store gives legal advice: the honest answer is no result.
            {"ref": "T-2", "buyer": "Gemeente Utrecht", "title": "Juridisch advies",
             "description": "Advies over aanbestedingsrecht en staatssteun.",
             "cpv": ["79110000"], "contract_value_eur": 300000, "municipality": "GM0344",
             "sroi": {"percentage": 5}},
        ],
        "challenges": [
            {"ref": "C-1", "municipality": "GM0344", "title": "Groene ontmoetingsplekken",
             "question": "Hoe maken we van parken plekken tegen eenzaamheid?",
             "themes": ["eenzaamheid", "groen"], "opened_on": "2026-05-01"},
        ],
    }


LABELS = {"queries": [
    {"tender": "T-1", "relevant": {"E-1": 3, "E-2": 2}},
    {"challenge": "C-1", "relevant": {"E-6": 3}},
]}


@pytest.fixture
def store(use_db: str) -> str:
    from api.db import get_engine

    with Session(get_engine()) as s:
        report = import_files(s, [("store.json", json.dumps(store_doc()).encode())],
                              on_duplicate="keep-both")
        assert report.ok, report.to_dict()
    return use_db


def write(tmp_path: Path, doc: Any, name: str = "labels.json") -> str:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(p)


def test_evaluate_table_and_json(store: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, LABELS)
    assert main(["evaluate", path, "--on", "2026-06-01"]) == 0
    out = capsys.readouterr().out
    for needle in ("overall (2 queries)", "tender (1 queries)", "Challenge (1 queries)",
                   "NDCG@10", "violations@10", "engine", "BM25", "CPV-overlap"):
        assert needle in out

    assert main(["evaluate", path, "--on", "2026-06-01", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    engine, bm25, cpv = (res["rankers"][k]["overall"] for k in ("engine", "BM25", "CPV-overlap"))
    assert engine["violations@10"] == 0
    # The baselines know nothing of vetting, distance or capacity: E-3, E-4, E-5 get in.
    assert bm25["violations@10"] >= 3 and cpv["violations@10"] >= 3
    assert set(cpv["violation_reasons"]) >= {"unvetted", "outside service radius",
                                             "no capacity left"}
    top = {q["ref"]: q["top10"] for q in res["per_query"]["engine"]}
    assert top["T-1"][:2] == ["E-1", "E-2"]
    assert not {"E-3", "E-4", "E-5"} & set(top["T-1"])
    assert engine["ndcg@10"] > bm25["ndcg@10"] and engine["ndcg@10"] > cpv["ndcg@10"]


@pytest.mark.parametrize(
    ("content", "status", "needle"),
    [
        ("{not json", 2, "not valid JSON"),
        ({"queries": [{"tender": "T-1", "relevant": {"E-999": 3}}]}, 1,
         "unknown enterprise ref 'E-999'"),
        ({"queries": [{"tender": "T-404", "relevant": {"E-1": 3}}]}, 1, "unknown tender ref"),
        ({"queries": [{"tender": "T-1", "relevant": {"E-1": 7}}]}, 1, "grade must be 0-3"),
        ({"queries": "all"}, 1, '"queries"'),
    ],
)
def test_evaluate_label_errors(store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               content: Any, status: int, needle: str) -> None:
    assert main(["evaluate", write(tmp_path, content)]) == status
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_evaluate_missing_file(store: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_evaluate_with_a_saved_version(store: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from api.db import get_engine
    from api.services.weights import save_version

    path = write(tmp_path, LABELS)
    assert main(["evaluate", path, "--weights", "5"]) == 1
    assert "no weight set version 5" in capsys.readouterr().err
    with Session(get_engine()) as s:
        # Distance alone ranks E-7 (window cleaning, in Utrecht) above E-2 (cleaning, in
        # Zeist) for the cleaning tender: worse than the default. E-6 (parks) is cut at
        # the suitable floor, and never lifted by distance (context counts with relevance).
        save_version(s, {"geo": 1.0})
    assert main(["evaluate", path, "--on", "2026-06-01", "--weights", "2", "--json"]) == 0
    cut = json.loads(capsys.readouterr().out)
    assert "E-6" not in cut["per_query"]["engine"][0]["top10"]
    assert main(["evaluate", path, "--on", "2026-06-01", "--weights", "2", "--json"]) == 0
    only_geo = json.loads(capsys.readouterr().out)["rankers"]["engine"]
    assert main(["evaluate", path, "--on", "2026-06-01", "--json"]) == 0
    active = json.loads(capsys.readouterr().out)["rankers"]["engine"]
    assert only_geo["overall"]["violations@10"] == 0
    assert only_geo["tender"]["ndcg@10"] < active["tender"]["ndcg@10"]
    # Challenges are ranked with their own profile (matcher.weights.CHALLENGE), as the
    # product does: the tender weight set does not change them.
    assert only_geo["challenge"] == active["challenge"]


def test_challenges_evaluated_as_the_product_ranks_them(
        store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`engine` scores a Challenge's ChallengeMatcher relevance order, `engine-diversified`
    exactly the list `match_challenge` shows; tenders are the same in both rows."""
    from api import settings as api_settings
    from api.db import get_engine
    from api.services import matching
    from api.services.evaluation import load_store
    from matcher.challenge import ChallengeMatcher
    from matcher.index import EnterpriseIndex

    monkeypatch.setenv("TODAY", "2026-06-01")
    api_settings.get_settings.cache_clear()
    matching.invalidate()
    path = write(tmp_path, LABELS)
    assert main(["evaluate", path, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["rankers"]) == {"engine", "engine-diversified", "BM25", "CPV-overlap"}
    top = {name: {q["ref"]: q["top10"] for q in res["per_query"][name]}
           for name in ("engine", "engine-diversified")}
    assert top["engine"]["T-1"] == top["engine-diversified"]["T-1"]
    with Session(get_engine()) as s:
        shown = [m.ref for m in matching.match_challenge(s, "C-1", top_k=10).results.results]
        st = load_store(s)
    assert top["engine-diversified"]["C-1"] == shown
    index = EnterpriseIndex.build(list(st.enterprises.values()),
                                  reference_date=date(2026, 6, 1))
    m = ChallengeMatcher(top_k=50).fit(index, st.queries[("challenge", "C-1")])
    assert top["engine"]["C-1"] == [index.refs_[i] for i in m.ranked_.rows[:10].tolist()]
    assert top["engine"]["C-1"][0] == "E-6"  # the one on topic (themes, parks)
    api_settings.get_settings.cache_clear()


def test_evaluate_reports_the_honest_cut_per_case_and_calibrates(
        store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = {"queries": [*LABELS["queries"],
                          {"tender": "T-2", "case": "no_fit", "relevant": {}}]}
    path = write(tmp_path, labels)
    assert main(["evaluate", path, "--on", "2026-06-01", "--calibrate"]) == 0
    out = capsys.readouterr().out
    for needle in ("case no_fit (1 queries)", "honest cut of engine", "no-fit",
                   "calibration of the suitable floor", "<- SUITABLE_FLOOR"):
        assert needle in out, needle
    assert main(["evaluate", path, "--on", "2026-06-01", "--json", "--calibrate"]) == 0
    res = json.loads(capsys.readouterr().out)
    cases = res["rankers"]["engine"]["cases"]
    assert cases["no_fit"]["no_fit"] == 1 and cases["no_fit"]["no_fit_empty"] == 1.0
    assert cases["regular"]["relevant_cut"] == 0.0  # E-1 and E-2 are kept
    no_fit = next(q for q in res["per_query"]["engine"] if q["ref"] == "T-2")
    assert no_fit["case"] == "no_fit" and no_fit["top10"] == []
    floors = [row["floor"] for row in res["calibration"]]
    assert floors == sorted(floors) and res["calibration"][0]["no_fit_empty"] == 0.0
    assert main(["evaluate", path, "--floor", "2"]) == 2
    assert "--floor must be between 0 and 1" in capsys.readouterr().err


def test_evaluate_tables_speak_the_command_language(
        store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables built in matcher/ (English there) are in the command's language: Dutch by
    default, with headers as wide as their words."""
    labels = {"queries": [*LABELS["queries"],
                          {"tender": "T-2", "case": "no_fit", "relevant": {}}]}
    path = write(tmp_path, labels)
    monkeypatch.setenv("SROI_LANG", "nl")
    assert main(["evaluate", path, "--on", "2026-06-01", "--calibrate"]) == 0
    out = capsys.readouterr().out
    for needle in ("totaal (3 vragen)", "aanbesteding (2 vragen)", "geval no_fit (1 vragen)",
                   "rangschikker", "overtredingen@10", "eerlijke afkap van engine",
                   "goed afgekapt", "geen-fit leeg"):
        assert needle in out, needle
    for english in ("overall", "queries", "ranker ", "honest cut", "violations@10"):
        assert english not in out, english
    header = next(line for line in out.splitlines() if line.startswith("rangschikker"))
    assert "overtredingen@10" in header.split()  # a column of its own, not run together
