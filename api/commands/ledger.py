"""`sroi ledger`: spend analysis of a firm's purchase ledger from the command line.

    sroi ledger import FILE --as EMAIL [--firm FIRM] [--obligation REF] [--map FIELD=HEADER ...]
                       [--json]
    sroi ledger list --as EMAIL [--json]
    sroi ledger show ID --as EMAIL [--json]   # spend by category, addressable share, switches
    sroi ledger export ID --as EMAIL [-o PATH]  # the classified lines as CSV
    sroi ledger correct ID LINE CPV --as EMAIL
    sroi ledger delete ID --as EMAIL
    sroi ledger access --as EMAIL [--json]    # who has access
    sroi ledger grant --as EMAIL (--connector EMAIL | --organisation ORG)
    sroi ledger revoke GRANT --as EMAIL

A ledger is the firm's books: every command acts as a user (``--as``, the account's e-mail
address) and sees exactly what that user sees on the web (``api.access``: the firm, and the
connectors it granted access); another firm's ledger is "unknown". Only the firm grants
and revokes access.

An import is all or nothing: a file with any unreadable line is refused with every problem
(row, column, what is wrong) on stderr and exit status 2. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from api.commands.errors import CliError
from api.commands.lang import cli_lang
from api.errors import DomainError

T = TypeVar("T")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ledger", help="spend analysis of a firm's purchase ledger",
        description="Import a purchase ledger (CSV or .xlsx), classify its lines into CPV, "
                    "and show the spend social enterprises could take over.")
    sub = p.add_subparsers(dest="ledger_command", required=True)
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--as", dest="actor", required=True, metavar="EMAIL",
                       help="the user acting (a firm, or a connector the firm gave access)")
    i = sub.add_parser("import", parents=[actor], help="import a ledger file (all or nothing)")
    i.add_argument("file", type=Path)
    i.add_argument("--firm", help="connectors: the firm whose ledger it is")
    i.add_argument("--obligation", help="the obligation whose policy values the credit")
    i.add_argument("--map", action="append", default=[], metavar="FIELD=HEADER",
                   help="map a field to a column header (supplier, description, account, "
                        "amount, date, kvk, place, currency, amount_currency)")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler=run_import)
    ls = sub.add_parser("list", parents=[actor], help="list the ledgers the user sees")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    s = sub.add_parser("show", parents=[actor], help="the analysis of one ledger")
    s.add_argument("id", type=int)
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=run_show)
    e = sub.add_parser("export", parents=[actor], help="the classified lines as CSV")
    e.add_argument("id", type=int)
    e.add_argument("-o", "--output", type=Path)
    e.set_defaults(handler=run_export)
    c = sub.add_parser("correct", parents=[actor],
                       help="a CPV code for a line, applied to its supplier")
    c.add_argument("id", type=int)
    c.add_argument("line", type=int)
    c.add_argument("cpv")
    c.set_defaults(handler=run_correct)
    d = sub.add_parser("delete", parents=[actor], help="delete a ledger and every line of it")
    d.add_argument("id", type=int)
    d.set_defaults(handler=run_delete)
    a = sub.add_parser("access", parents=[actor], help="who has access to which firm's ledgers")
    a.add_argument("--json", action="store_true")
    a.set_defaults(handler=run_access)
    g = sub.add_parser("grant", parents=[actor],
                       help="the firm gives a connector (or an organisation) access")
    who = g.add_mutually_exclusive_group(required=True)
    who.add_argument("--connector", metavar="EMAIL")
    who.add_argument("--organisation", metavar="ORG", help="every connector working there")
    g.set_defaults(handler=run_grant)
    r = sub.add_parser("revoke", parents=[actor], help="the firm withdraws a grant")
    r.add_argument("grant", type=int)
    r.set_defaults(handler=run_revoke)


def _session(fn: Callable[[Any], T]) -> T:
    from sqlmodel import Session

    from api.db import get_engine

    try:
        with Session(get_engine()) as session:
            return fn(session)
    except DomainError as exc:
        raise CliError(exc.render(cli_lang())) from None


def _actor(session: Any, email: str) -> Any:
    """The user a command acts as."""
    from sqlmodel import select

    from api.tables import User

    user = session.exec(select(User).where(User.email == email.strip())).first()
    if user is None:
        raise CliError(f"--as {email}: no such user")
    return user


def _ledger(session: Any, user: Any, ledger_id: int) -> Any:
    """The ledger if ``user`` may see it (``api.access``), else "unknown" as on the web."""
    from api.access import can_see_ledger
    from api.tables import LedgerRow

    row = session.get(LedgerRow, ledger_id)
    if row is None or not can_see_ledger(session, user, row.firm):
        raise CliError(f"Onbekend grootboek {ledger_id} (unknown ledger {ledger_id})")
    return row


def _progress(stage: str, done: int, total: int) -> None:
    print(f"  {stage}: {done}/{total}", file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file")
    mapping = {}
    for item in args.map:
        field, sep, header = item.partition("=")
        if not sep:
            raise CliError(f"--map {item!r}: expected FIELD=HEADER")
        mapping[field.strip()] = header.strip()

    def go(session: Any) -> int:
        from api.access import ledger_upload_firm

        user = _actor(session, args.actor)
        firm = ledger_upload_firm(session, user, args.firm)
        try:
            res = L.import_ledger(session, firm, args.file.read_bytes(), args.file.name,
                                  user.email, mapping=mapping or None,
                                  obligation_ref=args.obligation, progress=_progress)
        except L.LedgerRefused as exc:
            for p in exc.problems:
                if p.severity == "error":
                    where = f"row {p.row}" if p.row else "file"
                    col = f", column {p.column!r}" if p.column else ""
                    print(f"{args.file.name}: {where}{col}: {p.message}", file=sys.stderr)
            raise CliError(f"{args.file.name}: refused, nothing imported") from None
        out = {"ledger": res.ledger.id, "lines": res.lines, "review": res.review,
               "already_imported": res.already_imported, "notes": len(res.notes)}
        if args.json:
            print(json.dumps(out))
        else:
            what = "already imported as" if res.already_imported else "imported as"
            print(f"{args.file.name}: {what} ledger {res.ledger.id}: {res.lines} lines, "
                  f"{res.review} for review, {len(res.notes)} notes")
        return 0

    return _session(go)


def run_list(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    def go(session: Any) -> int:
        from api.access import ledger_firms

        rows = L.ledgers_of(session, ledger_firms(session, _actor(session, args.actor)))
        data = [{"id": r.id, "firm": r.firm, "filename": r.filename,
                 "uploaded_at": r.uploaded_at.isoformat()} for r in rows]
        if args.json:
            print(json.dumps(data))
        else:
            for d in data:
                print(f"{d['id']:>5}  {d['firm']:<32} {d['filename']:<30} {d['uploaded_at']}")
        return 0

    return _session(go)


def run_show(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    def go(session: Any) -> int:
        a = L.analyse(session, _ledger(session, _actor(session, args.actor), args.id))
        if args.json:
            print(json.dumps({
                "total_eur": a.total_eur, "addressable_eur": a.addressable_eur,
                "addressable_share": round(a.addressable_share, 4), "review_eur": a.review_eur,
                "review_lines": a.review_lines, "converted_lines": a.converted_lines,
                "converted_eur": a.converted_eur, "foreign_lines": a.foreign_lines,
                "obligation": a.obligation, "policy": a.policy,
                "categories": [c.__dict__ for c in a.categories],
                "groups": [{**{k: v for k, v in g.__dict__.items() if k != "options"},
                            "options": [o.__dict__ for o in g.options]} for g in a.groups],
                "registry": [r.__dict__ for r in a.registry]}))
            return 0
        print(f"ledger {a.ledger.id} of {a.ledger.firm}: {a.lines} lines, "
              f"spend € {a.total_eur:,.2f}, addressable € {a.addressable_eur:,.2f} "
              f"({100 * a.addressable_share:.1f} %), for review € {a.review_eur:,.2f} "
              f"({a.review_lines} lines)")
        if a.converted_lines or a.foreign_lines:
            print(f"other currencies: {a.converted_lines} lines converted at the ECB monthly "
                  f"rate (€ {a.converted_eur:,.2f}), {a.foreign_lines} without a rate for "
                  "their month (not counted)")
        print(f"\n{'cpv':<9} {'category':<44} {'spend €':>12}  addressable")
        for c in a.categories[:20]:
            flag = "yes" if c.addressable else f"no ({c.reason})" if c.reason else "?"
            print(f"{c.cpv:<9} {c.label_en[:44]:<44} {c.spend_eur:>12,.2f}  {flag}")
        if a.groups:
            print(f"\nswitches (obligation {a.obligation or '-'}, policy {a.policy or '-'}):")
            for g in a.groups[:15]:
                best = g.options[0] if g.options else None
                who = (f"{best.name} (free € {best.free_purchase_eur:,.0f}/yr, credit € "
                       f"{best.credit_eur or 0:,.2f})" if best else "no enterprise with capacity")
                print(f"  {g.label_en[:36]:<36} {g.supplier[:28]:<28} € {g.spend_eur:>10,.2f}"
                      f"  -> {who}")
        return 0

    return _session(go)


def run_export(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    def go(session: Any) -> int:
        ledger = _ledger(session, _actor(session, args.actor), args.id)
        rows = L.export_rows(session, ledger, "en")
        fh = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
        try:
            w = csv.writer(fh)
            w.writerow(L.EXPORT_COLUMNS)
            w.writerows(rows)
        finally:
            if args.output:
                fh.close()
        return 0

    return _session(go)


def run_correct(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    def go(session: Any) -> int:
        user = _actor(session, args.actor)
        n = L.correct(session, _ledger(session, user, args.id), args.line, args.cpv, user.email,
                      user.role)
        print(f"{n} line(s) of that supplier now {args.cpv}")
        return 0

    return _session(go)


def run_delete(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    def go(session: Any) -> int:
        n = L.delete_ledger(session, _ledger(session, _actor(session, args.actor), args.id))
        print(f"ledger {args.id} deleted with {n} lines")
        return 0

    return _session(go)


def run_access(args: argparse.Namespace) -> int:
    from api.access import ledger_grant_scope
    from api.services import ledgers as L

    def go(session: Any) -> int:
        user = _actor(session, args.actor)
        if user.role not in ("firm", "connector", "admin"):
            raise CliError("only firms, connectors and admins see who has access")
        grants = L.grants_of(session, ledger_grant_scope(session, user))
        if args.json:
            print(json.dumps([{"id": g.id, "firm": g.firm, "connector": g.email,
                               "organisation": g.organisation, "granted_by": g.granted_by,
                               "granted_at": g.granted_at.isoformat()} for g in grants]))
        else:
            for g in grants:
                who = g.email or f"every connector of {g.organisation}"
                print(f"{g.id:>5}  {g.firm:<32} {who:<40} by {g.granted_by}")
        return 0

    return _session(go)


def run_grant(args: argparse.Namespace) -> int:
    from api.access import ledger_grant_firm
    from api.services import ledgers as L

    def go(session: Any) -> int:
        user = _actor(session, args.actor)
        firm = ledger_grant_firm(session, user)
        row = L.grant_access(session, firm, user.email, connector=args.connector,
                             organisation=args.organisation)
        print(f"grant {row.id}: {args.connector or args.organisation} sees the ledgers of {firm}")
        return 0

    return _session(go)


def run_revoke(args: argparse.Namespace) -> int:
    from api.access import ledger_grant_firm
    from api.services import ledgers as L

    def go(session: Any) -> int:
        user = _actor(session, args.actor)
        L.revoke_access(session, ledger_grant_firm(session, user), args.grant)
        print(f"grant {args.grant} revoked")
        return 0

    return _session(go)
