"""The spend classifier on the hand-written ledgers (bench/data/ledgers_hand): four
fictional firms in other packages' exports, every line labelled by a person, not by the
generator. A floor a few points under what ``python -m bench.ledger_eval --pool hand``
measured (2026-12-03: dev, four ledgers, 99.9 % of spend right at division level, 97.3 %
auto; held-out 84.9 %, 91.4 % auto), so a regression fails. The held-out ledger is never tuned on: a
change that lowers it below its floor is a change that does not generalise."""

from __future__ import annotations

import pytest

from bench.ledger_eval import HAND_LEDGERS, hand_lines
from matcher.spend import SpendClassifier, score

FLOORS = {"dev": (0.96, 0.93), "heldout": (0.80, 0.87)}  # (division, auto) of spend


@pytest.fixture(scope="module")
def clf() -> SpendClassifier:
    return SpendClassifier().fit()


@pytest.mark.parametrize("pool", ["dev", "heldout"])
def test_division_accuracy_on_hand_written_ledgers(clf: SpendClassifier, pool: str) -> None:
    labels, y, amounts, addr = [], [], [], []
    for filename, p in HAND_LEDGERS.items():
        if p != pool:
            continue
        # Every labelled row parsed back, with the same supplier (else SystemExit).
        X, truth, amt, ad, _ = hand_lines(filename)
        labels += clf.classify(X)
        y += truth
        amounts += amt
        addr += ad
    s = score(labels, y, amounts, addr)
    division, auto = FLOORS[pool]
    assert s.division_accuracy >= division, s
    assert s.auto_share >= auto, s
