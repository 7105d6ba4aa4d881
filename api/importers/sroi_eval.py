"""Precision and recall of the social-return detector on a labelled set.

    python -m api.importers.sroi_eval [FILE] [--misses dev|held-out|all|none]

FILE is JSON Lines as described in ``tests/data/sroi_sentences.md`` (the default). Every 4th
item (``id % 4 == 0``) is held out: tune on the development part only and report both.

A detection counts as a true positive only when its rate (or fixed amount) is the labelled
one; a wrong rate is both a false positive and a miss. Basis, range, threshold and cap errors
on otherwise correct detections are listed separately and do not change the scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.importers.sroi_text import SroiDetection, detect_sroi

DEFAULT_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "sroi_sentences.jsonl"
HELD_OUT_EVERY = 4


@dataclass(frozen=True)
class Labelled:
    id: int
    lang: str
    text: str
    expect: dict[str, Any] | None  # None: the text states no obligation
    note: str = ""

    @property
    def held_out(self) -> bool:
        return self.id % HELD_OUT_EVERY == 0


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)  # wrong or missing rates, false alarms
    field_errors: list[str] = field(default_factory=list)  # basis, range, threshold, cap

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load(path: Path | str = DEFAULT_SET) -> list[Labelled]:
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                items.append(Labelled(int(d["id"]), d.get("lang", "nl"), d["text"],
                                      d.get("expect"), d.get("note", "")))
    return items


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) < 1e-6 * max(1.0, abs(float(b)))


def _show(d: SroiDetection | None) -> str:
    if d is None:
        return "nothing"
    what = f"{d.percentage:g} %" if d.percentage is not None else f"EUR {d.amount_eur:,.0f}"
    return f"{what} ({d.basis})"


def _field_errors(item: Labelled, d: SroiDetection) -> list[str]:
    exp = item.expect or {}
    errs = []
    if d.basis != exp.get("basis", "contract_value"):
        errs.append(f"basis {d.basis}, expected {exp.get('basis')}")
    rng = exp.get("range")
    got_rng = list(d.percentage_range) if d.percentage_range else None
    if (rng is None) != (got_rng is None) or (
        rng and got_rng and not all(_same(a, b) for a, b in zip(rng, got_rng, strict=True))
    ):
        errs.append(f"range {got_rng}, expected {rng}")
    for name in ("threshold_eur", "cap_eur"):
        if not _same(getattr(d, name), exp.get(name)):
            errs.append(f"{name} {getattr(d, name)}, expected {exp.get(name)}")
    return errs


def score(items: Iterable[Labelled]) -> Scores:
    s = Scores()
    for item in items:
        d = detect_sroi(item.text)
        found = d is not None and (d.percentage is not None or d.amount_eur is not None)
        tag = f"#{item.id}{' (held out)' if item.held_out else ''}"
        if item.expect is None:
            if found:
                s.fp += 1
                s.misses.append(f"{tag} false alarm {_show(d)}: {item.text!r}")
            else:
                s.tn += 1
            continue
        exp = item.expect
        if not found or d is None:
            s.fn += 1
            s.misses.append(f"{tag} missed {_expected(exp)}: {item.text!r}")
            continue
        right = _same(d.percentage, exp.get("percentage"))
        if right and _same(d.amount_eur, exp.get("amount_eur")):
            s.tp += 1
            errs = _field_errors(item, d)
            if errs:
                s.field_errors.append(f"{tag} {'; '.join(errs)}: {item.text!r}")
        else:
            s.fp += 1
            s.fn += 1
            s.misses.append(f"{tag} found {_show(d)}, expected {_expected(exp)}: {item.text!r}")
    return s


def _expected(exp: dict[str, Any]) -> str:
    if exp.get("percentage") is not None:
        return f"{exp['percentage']:g} %"
    return f"EUR {exp.get('amount_eur') or 0:,.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m api.importers.sroi_eval",
                                 description="Precision and recall of the SROI detector.")
    ap.add_argument("file", nargs="?", default=str(DEFAULT_SET))
    ap.add_argument("--misses", choices=("dev", "held-out", "all", "none"), default="all",
                    help="which part's misses and field errors to list (default all)")
    args = ap.parse_args(argv)
    try:
        items = load(args.file)
    except (OSError, ValueError, KeyError) as e:
        print(f"sroi_eval: cannot read {args.file}: {e}", file=sys.stderr)
        return 2
    parts = {
        "dev": [i for i in items if not i.held_out],
        "held-out": [i for i in items if i.held_out],
        "all": items,
    }
    scores = {name: score(part) for name, part in parts.items()}
    print(f"{'part':<9} {'items':>5} {'neg':>4} {'TP':>4} {'FP':>3} {'FN':>3} "
          f"{'precision':>9} {'recall':>6} {'F1':>5} {'field errors':>12}")
    for name, part in parts.items():
        s = scores[name]
        neg = sum(1 for i in part if i.expect is None)
        print(f"{name:<9} {len(part):>5} {neg:>4} {s.tp:>4} {s.fp:>3} {s.fn:>3} "
              f"{s.precision:>9.3f} {s.recall:>6.3f} {s.f1:>5.3f} {len(s.field_errors):>12}")
    if args.misses != "none":
        listed = scores[args.misses]
        print(f"\nMisses ({args.misses}): {len(listed.misses)}")
        for line in listed.misses:
            print(f"  {line}")
        print(f"Field errors on correct detections ({args.misses}): {len(listed.field_errors)}")
        for line in listed.field_errors:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
