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
from api.commands.lang import cli_lang, say, tr
from api.errors import DomainError
from api.i18n import Eur, Pct
from api.importers.ledger import FIELDS
from api.messages import msg, msgn

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
                   help="map a field to a column header (" + ", ".join(FIELDS) + ")")
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
        raise CliError(msg("--as {email}: deze gebruiker bestaat niet", email=email))
    return user


def _ledger(session: Any, user: Any, ledger_id: int) -> Any:
    """The ledger if ``user`` may see it (``api.access``), else "unknown" as on the web."""
    from api.access import can_see_ledger
    from api.tables import LedgerRow

    row = session.get(LedgerRow, ledger_id)
    if row is None or not can_see_ledger(session, user, row.firm):
        raise CliError(msg("Onbekend grootboek {id}", id=str(ledger_id)))
    return row


def _progress(stage: str, done: int, total: int) -> None:
    print(f"  {stage}: {done}/{total}", file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    if not args.file.is_file():
        raise CliError(msg("{path}: bestand bestaat niet", path=str(args.file)))
    mapping = {}
    for item in args.map:
        field, sep, header = item.partition("=")
        if not sep:
            raise CliError(msg("--map {item}: verwacht VELD=KOP", item=repr(item)))
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
                    where = msg("rij {row}", row=str(p.row)) if p.row else msg("bestand")
                    if p.column:
                        where = msg("{where}, kolom {column}", where=where,
                                    column=repr(p.column))
                    say(msg("{file}: {where}: {problem}", file=args.file.name, where=where,
                            problem=L.problem_dict(p, cli_lang())["message"]), sys.stderr)
            raise CliError(msg("{file}: geweigerd, niets ingelezen", file=args.file.name)
                           ) from None
        out = {"ledger": res.ledger.id, "lines": res.lines, "review": res.review,
               "already_imported": res.already_imported, "notes": len(res.notes)}
        if args.json:
            print(json.dumps(out))
        else:
            say(msg("{file}: {what} grootboek {id}: {lines}, {review} ter controle, {notes} "
                    "notities", file=args.file.name,
                    what=msg("al ingelezen als") if res.already_imported else msg("ingelezen als"),
                    id=str(res.ledger.id), lines=msgn("{n} regel", "{n} regels", res.lines),
                    review=res.review, notes=len(res.notes)))
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
        say(msg("grootboek {id} van {firm}: {lines}, uitgaven {total}, beïnvloedbaar "
                "{addressable} ({share}), ter controle {review} ({review_lines})",
                id=str(a.ledger.id), firm=a.ledger.firm,
                lines=msgn("{n} regel", "{n} regels", a.lines), total=Eur(a.total_eur, 2),
                addressable=Eur(a.addressable_eur, 2), share=Pct(a.addressable_share),
                review=Eur(a.review_eur, 2),
                review_lines=msgn("{n} regel", "{n} regels", a.review_lines)))
        if a.converted_lines or a.foreign_lines:
            say(msg("andere valuta: {converted} omgerekend tegen de maandkoers van de ECB "
                    "({eur}), {foreign} zonder koers voor hun maand (niet meegeteld)",
                    converted=msgn("{n} regel", "{n} regels", a.converted_lines),
                    eur=Eur(a.converted_eur, 2), foreign=a.foreign_lines))
        head = [tr(msg(h)) for h in ("cpv", "categorie", "uitgaven €", "beïnvloedbaar")]
        print(f"\n{head[0]:<9} {head[1]:<44} {head[2]:>12}  {head[3]}")
        for c in a.categories[:20]:
            flag = (tr(msg("ja")) if c.addressable else
                    tr(msg("nee ({reason})", reason=c.reason)) if c.reason else "?")
            print(f"{c.cpv:<9} {c.label_en[:44]:<44} {c.spend_eur:>12,.2f}  {flag}")
        if a.groups:
            say(msg("\noverstappen (verplichting {obligation}, beleid {policy}):",
                    obligation=a.obligation or "-", policy=a.policy or "-"))
            for g in a.groups[:15]:
                best = g.options[0] if g.options else None
                who = tr(msg("{name} (vrij {free}/jr, krediet {credit})", name=best.name,
                             free=Eur(best.free_purchase_eur),
                             credit=Eur(best.credit_eur or 0, 2))
                         if best else msg("geen onderneming met capaciteit"))
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
        say(msgn("{n} regel van die leverancier is nu {cpv}",
                 "{n} regels van die leverancier zijn nu {cpv}", n, cpv=args.cpv))
        return 0

    return _session(go)


def run_delete(args: argparse.Namespace) -> int:
    from api.services import ledgers as L

    def go(session: Any) -> int:
        n = L.delete_ledger(session, _ledger(session, _actor(session, args.actor), args.id))
        say(msg("grootboek {id} verwijderd met {lines}", id=str(args.id),
                lines=msgn("{n} regel", "{n} regels", n)))
        return 0

    return _session(go)


def run_access(args: argparse.Namespace) -> int:
    from api.access import ledger_grant_scope
    from api.services import ledgers as L

    def go(session: Any) -> int:
        user = _actor(session, args.actor)
        if user.role not in ("firm", "connector", "admin"):
            raise CliError(msg("alleen bedrijven, verbinders en beheerders zien wie toegang "
                               "heeft"))
        grants = L.grants_of(session, ledger_grant_scope(session, user))
        if args.json:
            print(json.dumps([{"id": g.id, "firm": g.firm, "connector": g.email,
                               "organisation": g.organisation, "granted_by": g.granted_by,
                               "granted_at": g.granted_at.isoformat()} for g in grants]))
        else:
            for g in grants:
                who = g.email or tr(msg("elke verbinder van {organisation}",
                                        organisation=g.organisation))
                by = tr(msg("door {who}", who=g.granted_by))
                print(f"{g.id:>5}  {g.firm:<32} {who:<40} {by}")
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
        say(msg("toegang {id}: {who} ziet de grootboeken van {firm}", id=str(row.id),
                who=args.connector or args.organisation, firm=firm))
        return 0

    return _session(go)


def run_revoke(args: argparse.Namespace) -> int:
    from api.access import ledger_grant_firm
    from api.services import ledgers as L

    def go(session: Any) -> int:
        user = _actor(session, args.actor)
        L.revoke_access(session, ledger_grant_firm(session, user), args.grant)
        say(msg("toegang {id} ingetrokken", id=str(args.grant)))
        return 0

    return _session(go)
