"""The social-return detector on the labelled set (tests/data/sroi_sentences.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.importers.sroi_eval import DEFAULT_SET, Labelled, load, main, score

ITEMS = load(DEFAULT_SET)


def test_the_set_is_large_enough_and_mixed() -> None:
    assert len(ITEMS) >= 100
    negatives = [i for i in ITEMS if i.expect is None]
    assert len(negatives) >= 30
    assert len({i.id for i in ITEMS}) == len(ITEMS)
    assert sum(1 for i in ITEMS if i.lang == "en") >= 20
    held_out = [i for i in ITEMS if i.held_out]
    assert len(held_out) == len(ITEMS) // 4
    # Every labelled positive states a rate or a fixed amount, not both.
    for item in ITEMS:
        if item.expect is not None:
            has_pct = item.expect.get("percentage") is not None
            assert has_pct != (item.expect.get("amount_eur") is not None), item.id


def test_precision_and_recall_on_the_whole_set() -> None:
    s = score(ITEMS)
    assert s.precision >= 0.95, s.misses
    assert s.recall >= 0.95, s.misses


def test_precision_and_recall_on_the_held_out_part() -> None:
    s = score(i for i in ITEMS if i.held_out)
    assert s.precision >= 0.95 and s.recall >= 0.95, s.misses


def test_a_wrong_rate_is_both_a_false_alarm_and_a_miss() -> None:
    text = "Social return: 5% van de opdrachtwaarde."
    right = Labelled(1, "nl", text, {"percentage": 5, "basis": "contract_value"})
    wrong = Labelled(2, "nl", text, {"percentage": 4, "basis": "contract_value"})
    wrong_basis = Labelled(3, "nl", text, {"percentage": 5, "basis": "labour_cost"})
    negative = Labelled(5, "nl", text, None)
    s = score([right, wrong, wrong_basis, negative])
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 2, 1, 0)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(2 / 3)
    assert len(s.field_errors) == 1 and "basis" in s.field_errors[0]
    assert negative.held_out is False and Labelled(8, "nl", "", None).held_out is True


def test_command_prints_the_table_and_misses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "set.jsonl"
    lines = [
        {"id": 1, "text": "Social return: 5% van de opdrachtwaarde.",
         "expect": {"percentage": 5, "basis": "contract_value"}},
        {"id": 2, "text": "Korting van 5%.", "expect": None},
        {"id": 3, "text": "Social return: 3% van de opdrachtwaarde.", "expect": None},
        {"id": 4, "text": "Geen SROI.", "expect": {"percentage": 2}},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "held-out" in out
    assert "#3 false alarm 3 %" in out and "#4 (held out) missed 2 %" in out
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
