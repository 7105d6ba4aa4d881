"""`sroi plan OBLIGATION_REF` and `sroi allocate`: fulfilment plans from the store.

`plan` proposes how one obligation can be met (purchases and placements at the best
fitting enterprises with capacity left); `allocate` shares capacity among all open
obligations at once. Neither saves anything unless `--save` is given (the rows are then
stored as `planned` allocations, replacing earlier planned rows of those obligations).

Exit status: 0 done (also when an obligation cannot be fully met: the shortfall is
reported), 2 usage error (unknown obligation, unknown policy, database error).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from api import reasons
from api.commands.errors import CliError
from api.commands.lang import cli_lang, say, tr
from api.errors import DomainError, NotFound
from api.i18n import Eur
from api.messages import Number, msg, msgn
from matcher.plan import PlanRow


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "plan", help="propose a fulfilment plan for one obligation",
        description="Propose which enterprises can meet one obligation's social return, "
                    "within their remaining capacity, and report any shortfall.",
    )
    p.add_argument("obligation", metavar="OBLIGATION_REF")
    p.add_argument("--json", action="store_true", help="print rows and unmet as JSON")
    p.add_argument("--top-k", type=int, default=50, help="candidates considered (default 50)")
    p.add_argument("--max-partners", type=int, default=None,
                   help="at most this many enterprises in the plan")
    p.add_argument("--save", action="store_true", help="store the rows as planned allocations")
    p.add_argument("--lang", choices=("en", "nl"), default=argparse.SUPPRESS,
                   help="language of the explanation (default: sroi --lang)")
    p.set_defaults(handler=run_plan)

    a = subparsers.add_parser(
        "allocate", help="share enterprise capacity among all open obligations",
        description="Allocate every open obligation at once so no enterprise is over-booked; "
                    "report what remains unmet per obligation.",
    )
    a.add_argument("--json", action="store_true", help="print rows and unmet as JSON")
    a.add_argument("--top-k", type=int, default=50, help="candidates per obligation")
    a.add_argument("--save", action="store_true", help="store the rows as planned allocations")
    a.set_defaults(handler=run_allocate)


def _row_dict(r: PlanRow) -> dict[str, Any]:
    return {"obligation": r.obligation, "enterprise": r.enterprise, "kind": r.kind,
            "amount_eur": round(r.amount_eur, 2), "credit_eur": round(r.credit_eur, 2),
            "placements": r.placements, "block": r.block, "fit": round(r.fit, 4)}


def _print_rows(rows: tuple[PlanRow, ...] | list[PlanRow]) -> None:
    if not rows:
        return
    head = [tr(msg(h)) for h in ("verplichting", "onderneming", "soort", "bedrag €",
                                 "krediet €", "plekken", "fit", "blok")]
    print(f"{head[0]:<16} {head[1]:<16} {head[2]:<10} {head[3]:>12} "
          f"{head[4]:>12} {head[5]:>6} {head[6]:>5}  {head[7]}")
    for r in rows:
        print(f"{r.obligation:<16} {r.enterprise:<16} {r.kind:<10} {r.amount_eur:>12,.2f} "
              f"{r.credit_eur:>12,.2f} {r.placements or '':>6} {r.fit:>5.2f}  {r.block or ''}")


def _session_call(fn: Any) -> Any:
    """Run ``fn(session)``; user-fixable failures become :class:`CliError`."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session

    from api.db import get_engine

    try:
        with Session(get_engine()) as session:
            return fn(session)
    except DomainError as exc:
        raise CliError(exc.render(cli_lang())) from None
    except SQLAlchemyError as exc:
        raise CliError(msg("databasefout: {error}", error=f"{exc.__class__.__name__}: "
                           + str(exc).splitlines()[0])) from None


def run_plan(args: argparse.Namespace) -> int:
    from api.services.planning import plan_for_obligation, save_plan
    from matcher.plan import FulfilmentPlanner

    if args.max_partners is not None and args.max_partners < 1:
        raise CliError(msg("--max-partners moet minstens 1 zijn"))

    def work(session: Any) -> Any:
        try:
            plan = plan_for_obligation(
                session, args.obligation, top_k=args.top_k,
                planner=FulfilmentPlanner(max_partners=args.max_partners),
            )
        except NotFound:
            raise CliError(msg("onbekende verplichting {ref}", ref=repr(args.obligation))
                           ) from None
        if args.save:
            save_plan(session, args.obligation, plan.rows)
        return plan

    plan = _session_call(work)
    if args.json:
        print(json.dumps({
            "rows": [_row_dict(r) for r in plan.rows],
            "unmet": [{"obligation": plan.obligation, "unmet_eur": plan.unmet_eur}],
            "totals": {"due_eur": plan.due_eur, "credit_eur": plan.credit_eur,
                       "unmet_eur": plan.unmet_eur},
            "explanation": reasons.outs(plan.explanation, args.lang),
            "saved": bool(args.save),
        }, indent=2, ensure_ascii=False))
        return 0
    say(msg("Verplichting {ref}: verschuldigd {due}, gepland krediet {credit}, open {unmet}",
            ref=plan.obligation, due=Eur(plan.due_eur, 2), credit=Eur(plan.credit_eur, 2),
            unmet=Eur(plan.unmet_eur, 2)))
    _print_rows(plan.rows)
    print(reasons.sentence(plan.explanation, args.lang))
    if args.save:
        say(msgn("{n} geplande regel opgeslagen", "{n} geplande regels opgeslagen",
                 len(plan.rows)))
    return 0


def run_allocate(args: argparse.Namespace) -> int:
    from api.services.planning import allocate_all, save_allocation

    def work(session: Any) -> Any:
        result = allocate_all(session, top_k=args.top_k)
        if args.save:
            save_allocation(session, result)
        return result

    result = _session_call(work)
    unmet = [{"obligation": ref, "unmet_eur": v} for ref, v in sorted(result.unmet_eur.items())]
    if args.json:
        print(json.dumps({
            "rows": [_row_dict(r) for r in result.rows],
            "unmet": unmet,
            "totals": {"due_eur": round(sum(result.due_eur.values()), 2),
                       "credit_eur": result.total_credit_eur,
                       "unmet_eur": result.total_unmet_eur,
                       "obligations": len(result.due_eur), "rows": len(result.rows)},
            "solver": result.solver,
            "saved": bool(args.save),
        }, indent=2, ensure_ascii=False))
        return 0
    say(msg("{open}: verschuldigd {due}, toegewezen krediet {credit}, open {unmet} "
            "({solver}, {seconds} s)",
            open=msgn("{n} open verplichting", "{n} open verplichtingen", len(result.due_eur)),
            due=Eur(sum(result.due_eur.values()), 2), credit=Eur(result.total_credit_eur, 2),
            unmet=Eur(result.total_unmet_eur, 2), solver=result.solver,
            seconds=Number(result.seconds, 2)))
    _print_rows(result.rows)
    short = [u for u in unmet if u["unmet_eur"] > 0]
    if short:
        say(msg("Open:"))
        for u in short:
            print(f"  {u['obligation']:<16} €{u['unmet_eur']:,.2f}")
    if args.save:
        say(msgn("geplande regels opgeslagen voor {n} verplichting",
                 "geplande regels opgeslagen voor {n} verplichtingen", len(result.due_eur)))
    return 0
