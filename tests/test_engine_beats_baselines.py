"""On the fixtures' labelled queries the engine beats BM25 and CPV overlap, with no violations.

The fixtures (fixtures/sroi_fixtures.json) go through the real import service into a
temporary SQLite store; fixtures/labels.json is evaluated as `sroi evaluate` does it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, SQLModel

from api.db import engine_for
from api.services.evaluation import run_evaluation
from api.services.importing import import_files
from fixtures.generate import LABEL_DATE
from matcher.evaluate import RankerReport

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STORE = FIXTURES / "sroi_fixtures.json"
LABELS = FIXTURES / "labels.json"
MIN_QUERIES = 30


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RankerReport]]:
    for p in (STORE, LABELS):
        assert p.exists(), f"{p} is missing: the fixtures are part of the repository"
    url = f"sqlite:///{tmp_path_factory.mktemp('fixtures') / 'eval.db'}"
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine)
    labels: Any = json.loads(LABELS.read_text(encoding="utf-8"))
    with Session(engine) as s:
        report = import_files(s, [(STORE.name, STORE.read_bytes())], on_duplicate="keep-both")
        assert report.ok, json.dumps(report.to_dict())[:2000]
        # The labels were graded on LABEL_DATE: vetting validity and expiry are as of then.
        yield run_evaluation(s, labels, on=LABEL_DATE)
    engine.dispose()
    engine_for.cache_clear()


def test_enough_labelled_queries_of_both_kinds(reports: dict[str, RankerReport]) -> None:
    summary = reports["engine"].summary()
    assert summary["overall"]["queries"] >= MIN_QUERIES
    assert summary.get("tender", {}).get("queries", 0) > 0
    assert summary.get("challenge", {}).get("queries", 0) > 0


def test_engine_has_no_constraint_violations(reports: dict[str, RankerReport]) -> None:
    agg = reports["engine"].aggregate()
    assert agg["violations@10"] == 0, agg["violation_reasons"]


@pytest.mark.parametrize("baseline", ["BM25", "CPV-overlap"])
def test_engine_beats_baseline_on_ndcg10(reports: dict[str, RankerReport], baseline: str) -> None:
    engine = reports["engine"].aggregate()["ndcg@10"]
    other = reports[baseline].aggregate()["ndcg@10"]
    assert engine is not None and other is not None
    assert engine > other, f"engine NDCG@10 {engine:.3f} <= {baseline} {other:.3f}"


def test_baselines_break_constraints(reports: dict[str, RankerReport]) -> None:
    # The audit itself works on this data: the constraint-blind baselines do get caught.
    assert reports["BM25"].aggregate()["violations@10"] > 0
    assert reports["CPV-overlap"].aggregate()["violations@10"] > 0
