"""`sroi evaluate`, `sroi learn`, `sroi weights list|rollback`: ranking quality and weights.

- ``sroi evaluate LABELS.json [--json]``: NDCG@5, NDCG@10, P@5, R@20 and hard-constraint
  violations in the top 10 for the engine, BM25 and CPV overlap, overall and per kind.
  ``--save`` stores the labels as the labelled set learning is checked against.
- ``sroi learn [--min-decisions N] [--json]``: learn weights from the curation log; the
  new version becomes active only when it ranks held-out decisions better and loses at
  most 0.02 NDCG@10 on the labelled set (else it is stored as refused).
- ``sroi weights list [--json]`` / ``sroi weights rollback VERSION [--force]`` (``--force``
  to activate a refused set).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from api.commands.errors import CliError
from api.commands.lang import cli_lang, say, tr
from api.messages import msg, render_text

DEFAULT_MIN_DECISIONS = 30


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="measure ranking quality on relevance labels (engine vs baselines)",
        description="Rank every labelled tender and Challenge with the engine (active weight "
        "set), BM25 over descriptions and CPV-code overlap; print NDCG@5, NDCG@10, P@5, R@20 "
        "and how many of each top 10 break a hard constraint, overall and per kind. "
        'Labels: {"queries": [{"tender": "T-1", "relevant": {"E-1": 3}}, ...]}, grades 0-3.',
    )
    p.add_argument("labels", metavar="LABELS.json", help="relevance labels file")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--on", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="reference date for vetting and certificates (default TODAY or today)")
    p.add_argument("--weights", type=int, default=None, metavar="VERSION",
                   help="rank with this saved weight-set version instead of the active one")
    p.add_argument("--save", action="store_true",
                   help="store these labels as the labelled set `sroi learn` must not do "
                   "worse on (the latest saved set counts)")
    p.add_argument("--floor", type=float, default=None, metavar="F",
                   help="cut the engine's tender lists at this relevance instead of "
                   "SUITABLE_FLOOR (0: nothing cut)")
    p.add_argument("--calibrate", action="store_true",
                   help="also print, per candidate floor, how often a no-fit tender returns "
                   "nothing, how many good answers are cut and NDCG@10 (how SUITABLE_FLOOR "
                   "was chosen)")
    p.set_defaults(handler=run_evaluate)

    p = subparsers.add_parser(
        "learn",
        help="learn scoring weights from connectors' decisions",
        description="Fit the scoring weights on the curation log (accept/pin preferred over "
        "reject and over shown-but-undecided), test them on held-out queries, save them as "
        "a new weight-set version and make it active only if its held-out NDCG@10 beats the "
        "active set's and it loses at most 0.02 NDCG@10 on the labelled set (sroi evaluate "
        "--save); otherwise it is stored as refused.",
    )
    p.add_argument("--min-decisions", type=int, default=DEFAULT_MIN_DECISIONS, metavar="N",
                   help=f"do nothing below N decisions (default {DEFAULT_MIN_DECISIONS})")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run_learn)

    p = subparsers.add_parser("weights", help="list weight-set versions or roll back to one",
                              description="Weight-set versions: list them, or make an "
                              "earlier one active again.")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    lp = wsub.add_parser("list", help="every version, newest first, the active one marked")
    lp.add_argument("--json", action="store_true", help="print as JSON")
    lp.set_defaults(handler=run_weights_list)
    rp = wsub.add_parser("rollback", help="make VERSION the active weight set")
    rp.add_argument("version", type=int, metavar="VERSION")
    rp.add_argument("--force", action="store_true",
                    help="activate VERSION even though learning refused it")
    rp.set_defaults(handler=run_weights_rollback)
    p.set_defaults(handler=lambda args: _usage(p))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 2


@contextmanager
def _session() -> Iterator[Any]:
    from sqlalchemy.exc import OperationalError, ProgrammingError
    from sqlmodel import Session

    from api.db import get_engine

    try:
        with Session(get_engine()) as session:
            yield session
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise CliError(msg("databasefout: {error} (voer eerst `sroi init-db` uit, controleer "
                           "DATABASE_URL)", error=reason), status=1) from exc


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


# --------------------------------------------------------------------------- evaluate


def read_labels(path: str) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(msg("{path}: bestand bestaat niet", path=path), status=2) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(msg("{path}: kan niet lezen: {error}", path=path, error=str(exc)),
                       status=2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(msg("{path}: ongeldige JSON: {error} op regel {line} kolom {column}",
                           path=path, error=exc.msg, line=str(exc.lineno),
                           column=str(exc.colno)), status=2) from None


def evaluate_words(lang: str) -> dict[str, str]:
    """The evaluation tables' words (``matcher.evaluate.TABLE_WORDS``) in ``lang``."""
    from api.i18n import translate
    from api.labels import EVALUATE_WORDS_NL

    return {en: translate(nl, lang) for en, nl in EVALUATE_WORDS_NL.items()}


def run_evaluate(args: argparse.Namespace) -> int:
    from api.clock import today
    from api.services.evaluation import run_evaluation
    from matcher.evaluate import (
        LabelError,
        calibrate,
        format_calibration,
        format_cut,
        format_table,
    )

    doc = read_labels(args.labels)
    on = args.on or today()
    with _session() as session:
        weights = None
        if args.weights is not None:
            from api.services.weights import WeightsError, weights_of_version

            try:
                weights = weights_of_version(session, args.weights)
            except WeightsError as exc:
                raise CliError(exc.message, status=1) from None
        try:
            if args.floor is not None and not 0.0 <= args.floor <= 1.0:
                raise CliError(msg("--floor moet tussen 0 en 1 liggen, gekregen: {value}",
                                   value=str(args.floor)), status=2)
            reports = run_evaluation(session, doc, on=on, weights=weights, floor=args.floor)
            if args.save:
                from api.services.evaluation import save_label_set

                saved = save_label_set(session, doc, Path(args.labels).name, "cli")
                say(msg("{name} opgeslagen als de gelabelde set (id {id})", name=saved.name,
                        id=str(saved.id)), sys.stderr)
        except LabelError as exc:
            lines = str(exc).splitlines()
            more = tr(msg("\n  ... en nog {n}", n=len(lines) - 20)) if len(lines) > 20 else ""
            raise CliError(msg("{path}: ongeldige labels:\n  {lines}{more}", path=args.labels,
                               lines="\n  ".join(lines[:20]), more=more), status=1) from None
    engine = reports.get("engine")
    calibration = None
    if args.calibrate and engine is not None:
        calibration = calibrate([r for r in engine.queries if (r.kind, r.ref) in engine.judged],
                                engine.judged)
    if args.json:
        out = {
            "labels": args.labels, "on": on.isoformat(),
            "floor": None if engine is None else engine.floor,
            "rankers": {name: rep.summary() for name, rep in reports.items()},
            "per_query": {name: [{"kind": r.kind, "ref": r.ref, "case": r.case, **r.metrics,
                                  "violations@10": r.violation_count,
                                  "top10": r.ranked[:10]} for r in rep.queries]
                          for name, rep in reports.items()},
        }
        if calibration is not None:
            out["calibration"] = calibration
        print(json.dumps(out, indent=2))
    else:
        say(msg("rangschikkingskwaliteit op {path} (peildatum {date})\n", path=args.labels,
                date=on))
        words = evaluate_words(cli_lang())
        print(format_table(reports, words), end="")
        if engine is not None and engine.judged:
            print("\n" + format_cut(engine, words), end="")
        if calibration is not None and engine is not None and engine.floor is not None:
            say(msg("\nijking van de geschiktheidsgrens op de gelabelde aanbestedingen"))
            print(format_calibration(calibration, engine.floor, words), end="")
        if engine is not None:
            reasons = engine.aggregate()["violation_reasons"]
            if reasons:
                say(msg("\novertredingen van de engine: {reasons}", reasons=str(reasons)))
        for name, rep in reports.items():
            if name != "engine" and rep.aggregate()["violation_reasons"]:
                say(msg("overtredingen van {name}: {reasons}", name=name,
                        reasons=str(rep.aggregate()["violation_reasons"])))
    return 0


# --------------------------------------------------------------------------- learn


def run_learn(args: argparse.Namespace) -> int:
    from api.services.learning import engine_shown_candidates, learn_from_log

    if args.min_decisions < 1:
        raise CliError(msg("--min-decisions moet minstens 1 zijn"), status=2)
    with _session() as session:
        result = learn_from_log(session, args.min_decisions,
                                shown=engine_shown_candidates(session))
    if args.json:
        print(json.dumps(result.as_dict(cli_lang()), indent=2))
    else:
        say(result.message)
        if result.weights:
            before = result.active_before.get("weights", {})
            head = [tr(msg(h)) for h in ("kenmerk", "actief", "geleerd")]
            print(f"\n{head[0]:<15}{head[1]:>10}{head[2]:>10}")
            for f, w in result.weights.items():
                print(f"{f:<15}{before.get(f, 0.0):>10.3f}{w:>10.3f}")
            say(msg("\n{decisions} besluiten, {queries} zoekvragen ({train} om van te leren, "
                    "{held} achtergehouden), {pairs} voorkeursparen",
                    decisions=result.decisions, queries=result.queries,
                    train=result.train_queries, held=result.heldout_queries,
                    pairs=result.pairs))
    if result.status == "too_few":
        if args.json:
            return 1
        raise CliError(result.message, status=1)
    return 0


# --------------------------------------------------------------------------- weights


def run_weights_list(args: argparse.Namespace) -> int:
    from api.services.weights import active_weights, history

    with _session() as session:
        rows = history(session, cli_lang())
        active = active_weights(session)
    if args.json:
        print(json.dumps({"active": active.to_dict(), "versions": rows}, indent=2))
        return 0
    if not rows:
        say(msg("geen opgeslagen gewichtensets; de standaard van de engine is in gebruik: "
                "{weights}", weights=str(dict(active.to_dict()["weights"]))))
        return 0
    for r in rows:
        mark = "*" if r["active"] else " "
        ndcg = r["metrics"].get("heldout_ndcg@10")
        weights = " ".join(f"{f}={w:.2f}" for f, w in r["weights"].items())
        print(f"{mark} v{r['version']:<4} {r['name']:<10} {(r['created_at'] or '')[:19]}  "
              + tr(msg("NDCG@10 op achtergehouden besluiten {value}", value=_fmt(ndcg))))
        print(f"        {weights}")
        if r["note"]:
            print(f"        {r['note']}")
    return 0


def run_weights_rollback(args: argparse.Namespace) -> int:
    from api.services.weights import RefusedSet, WeightsError, rollback, was_active

    with _session() as session:
        try:
            before = _version_row(session, args.version)
            again = before is not None and was_active(before)
            row = rollback(session, args.version, force=args.force)
        except WeightsError as exc:
            raise CliError(exc.message, status=1) from None
        except RefusedSet as exc:
            raise CliError(msg("gewichtenset v{version} is bij het leren geweigerd: {reason}; "
                               "gebruik --force om haar toch te activeren",
                               version=str(args.version),
                               reason=render_text(exc.params.get("reason"), cli_lang())),
                           status=1) from None
        say(msg("gewichtenset {name} v{version} is weer actief", name=row.name,
                version=str(row.version)) if again else
            msg("gewichtenset {name} v{version} is nu actief", name=row.name,
                version=str(row.version)))
    return 0


def _version_row(session: Any, version: int) -> Any:
    from sqlmodel import select

    from api.tables import WeightSetRow

    return session.exec(select(WeightSetRow).where(WeightSetRow.version == version)).first()

