"""Spend classification measured on generated and hand-written ledgers (``make ledger-eval``).

    python -m bench.ledger_eval [--pool generated|hand|all] [--seed N]

Prints, per layout (``fixtures.ledgers.LAYOUTS``: the first Dutch and English layouts and
Excel, and the exports of Exact Online, SnelStart and Moneybird, parsed as the app parses
them) and per pool (the dev ledgers and a held-out one: another seed, other supplier names
and other phrasings of the same categories), the spend-weighted division
and 8-digit accuracy, the share of spend classified above the review threshold, and
addressable-spend precision and recall, with and without the keyword lexicon, and after
a person's first corrections (the ten biggest suppliers in review, corrected once).
The truth is the generator's labels, never a classifier's output.

``--pool hand``: the hand-written ledgers of ``bench/data/ledgers_hand`` (not generated:
four fictional firms, each in another package's export, every line labelled by a person;
see its README). Three are for development, ``gemeente_unit4`` is held out: never tune
the classifier on it. Same metrics, per ledger and per pool (dev, held-out).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

from api.importers.ledger import parse_ledger
from fixtures import ledgers as G
from matcher.spend import SpendClassifier, SpendLabel, SpendLine, fold_supplier, score

HAND_DIR = Path(__file__).resolve().parent / "data" / "ledgers_hand"
# file -> pool; the held-out ledger is measured, never tuned on.
HAND_LEDGERS = {"bouw_twinfield.csv": "dev", "ict_afas.xlsx": "dev",
                "zorg_eboekhouden.csv": "dev", "hotel_exact.csv": "dev",
                "gemeente_unit4.csv": "heldout"}


def _lines(layout: str, seed: int, pool: str) -> tuple[list[SpendLine], list[str],
                                                       list[float], list[bool], int]:
    """The layout's file parsed as the app parses it, each line paired with the generator's
    label in file order (every generated line must come back: none dropped)."""
    lang, write = G.LAYOUTS[layout]
    gen = G.generate(seed, pool=pool, lang=lang)
    parsed = parse_ledger(write(gen), G.LAYOUT_FILES[layout])
    if not parsed.ok or len(parsed.lines) != len(gen):
        raise SystemExit(f"{layout}: {len(parsed.lines)} of {len(gen)} lines parsed, "
                         f"errors {[e.message for e in parsed.errors[:3]]}")
    X = [SpendLine(ln.supplier, ln.description, ln.account, ln.kvk) for ln in parsed.lines]
    y = [g.cpv for g in gen]
    amounts = [abs(ln.amount_eur if ln.amount_eur is not None else ln.amount_currency or 0.0)
               for ln in parsed.lines]
    addr = [g.addressable for g in gen]
    return X, y, amounts, addr, len(parsed.notes)


def hand_lines(filename: str) -> tuple[list[SpendLine], list[str], list[float], list[bool],
                                      int]:
    """A hand-written ledger parsed as the app parses it, each line paired with its label
    (``<stem>.labels.csv``: the file's row, the supplier as a check, CPV, addressable).
    Every labelled row must come back with the same supplier, and no other."""
    path = HAND_DIR / filename
    parsed = parse_ledger(path.read_bytes(), filename)
    with open(HAND_DIR / (path.stem + ".labels.csv"), encoding="utf-8") as fh:
        labels = {int(r["row"]): r for r in csv.DictReader(fh)}
    got = {ln.row: ln for ln in parsed.lines}
    if not parsed.ok or set(got) != set(labels) or any(
            fold_supplier(got[r].supplier) != fold_supplier(lab["supplier"])
            for r, lab in labels.items()):
        raise SystemExit(f"{filename}: {len(parsed.lines)} lines parsed for {len(labels)} "
                         f"labels, errors {[e.message for e in parsed.errors[:3]]}")
    lines = sorted(parsed.lines, key=lambda ln: ln.row)
    X = [SpendLine(ln.supplier, ln.description, ln.account, ln.kvk) for ln in lines]
    y = [labels[ln.row]["cpv"] for ln in lines]
    amounts = [abs(ln.amount_eur or 0.0) for ln in lines]
    addr = [labels[ln.row]["addressable"] == "1" for ln in lines]
    return X, y, amounts, addr, len(parsed.notes)


def _row(name: str, variant: str, labels: list[SpendLabel], y: list[str], amounts: list[float],
         addr: list[bool], notes: int | str) -> str:
    s = score(labels, y, amounts, addr)
    by_lines = score(labels, y, [1.0] * len(y), addr)
    return (f"{name:<28}{variant:<16}{s.lines:>6}"
            f"{notes:>6}{100 * s.division_accuracy:>7.1f}"
            f"{100 * s.exact_accuracy:>7.1f}{100 * s.auto_share:>7.1f}"
            f"{100 * s.auto_division_accuracy:>9.1f}"
            f"{100 * by_lines.division_accuracy:>7.1f}"
            f"{100 * by_lines.exact_accuracy:>7.1f}{100 * by_lines.auto_share:>7.1f}"
            f"{100 * s.addressable_precision:>7.1f}{100 * s.addressable_recall:>7.1f}")


def _hand(base: SpendClassifier, text_only: SpendClassifier) -> None:
    """The hand-written pool: per ledger, then per pool (its ledgers' lines together;
    corrections are per firm, so they are made per ledger)."""
    print("\nhand-written ledgers (bench/data/ledgers_hand; not generated, labelled by a "
          "person; gemeente_unit4 held out)")
    pooled: dict[tuple[str, str], tuple[list[SpendLabel], list[str], list[float],
                                         list[bool]]] = {}
    for filename, pool in HAND_LEDGERS.items():
        X, y, amounts, addr, notes = hand_lines(filename)
        cx, cy = _corrections(X, y, amounts, base)
        for variant, clf in (("rules+text", base), ("text only", text_only),
                             ("+10 corrections", SpendClassifier().fit(cx, cy))):
            labels = clf.classify(X)
            print(_row(f"hand-{pool}/{Path(filename).stem}", variant, labels, y, amounts,
                       addr, notes))
            acc = pooled.setdefault((pool, variant), ([], [], [], []))
            acc[0].extend(labels)
            acc[1].extend(y)
            acc[2].extend(amounts)
            acc[3].extend(addr)
    for (pool, variant), (labels, y, amounts, addr) in pooled.items():
        print(_row(f"hand-{pool} (all)", variant, labels, y, amounts, addr, "-"))


def _corrections(X: list[SpendLine], y: list[str], amounts: list[float],
                 clf: SpendClassifier, n_suppliers: int = 10
                 ) -> tuple[list[SpendLine], list[str]]:
    """What a reviewer does first: one correction per supplier, biggest review spend first."""
    labels = clf.classify(X)
    spend: dict[str, float] = defaultdict(float)
    first: dict[str, int] = {}
    for i, (x, lab) in enumerate(zip(X, labels, strict=True)):
        if lab.needs_review:
            key = fold_supplier(x.supplier)
            spend[key] += amounts[i]
            first.setdefault(key, i)
    top = sorted(spend, key=lambda k: -spend[k])[:n_suppliers]
    return [X[first[k]] for k in top], [y[first[k]] for k in top]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=G.SEED)
    ap.add_argument("--heldout-seed", type=int, default=G.SEED + 17)
    ap.add_argument("--layout", action="append", choices=list(G.LAYOUTS),
                    help="only these layouts (default: every one)")
    ap.add_argument("--pool", choices=("generated", "hand", "all"), default="all",
                    help="generated ledgers, the hand-written ones, or both (default)")
    args = ap.parse_args(argv)
    head = (f"{'ledger':<28}{'variant':<16}{'lines':>6}{'notes':>6}{'div%':>7}{'8dig%':>7}"
            f"{'auto%':>7}{'autoDiv%':>9}{'divL%':>7}{'8digL%':>7}{'autoL%':>7}{'addrP':>7}"
            f"{'addrR':>7}")
    print(head)
    print("-" * len(head))
    base = SpendClassifier().fit()
    text_only = SpendClassifier(use_lexicon=False).fit()
    layouts = args.layout or list(G.LAYOUTS)
    pools = ((("dev", args.seed), ("heldout", args.heldout_seed))
             if args.pool in ("generated", "all") else ())
    for pool, seed in pools:
        for layout in layouts:
            X, y, amounts, addr, notes = _lines(layout, seed, pool)
            cx, cy = _corrections(X, y, amounts, base)
            for variant, clf in (("rules+text", base), ("text only", text_only),
                                 ("+10 corrections", SpendClassifier().fit(cx, cy))):
                print(_row(f"{pool}/{layout}/{seed}", variant, clf.classify(X), y, amounts,
                           addr, notes))
    if args.pool in ("hand", "all"):
        _hand(base, text_only)
    print("\ndiv%, 8dig%, auto%, autoDiv%, addrP/R: of spend (absolute euros); divL%, autoL%: "
          "of lines; notes: what the parser reported (credit notes, totals rows, conversions, "
          "skipped title rows, unused columns, ...); targets (issue #15): div% >= 90, "
          "auto% >= 90 (<= 10 % of spend left for review)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
