"""`sroi create-user` and `sroi demo-users`: accounts for the web UI and API."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from sqlmodel import Session, case, col, func, select

import api.tables  # noqa: F401  (registers the tables for create_all)
from api.commands.db import init_db
from api.commands.lang import cli_lang, say, tr
from api.db import get_engine
from api.i18n import translate
from api.messages import Text, msg

# The accounts' one owner (the admin pages use it too); re-exported for the CLI's callers.
from api.services.accounts import EMAIL_RE, ROLES, password_problem, upsert_user
from api.tables import AllocationRow, ObligationRow

__all__ = ["ROLES", "demo_accounts", "demo_firm", "register", "upsert_user"]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sroi_fixtures.json"

DEMO_PASSWORD = "demo-sroi-2026"
DEMO_OFFICER_ORG = "Gemeente Utrecht"
DEMO_FIRM_FALLBACK = "Bouwbedrijf De Vries B.V."


def _ensure_schema() -> None:
    """Migrate to head like `sroi init-db` (idempotent): create_all would leave a
    database Alembic no longer recognises."""
    init_db()


def _error(message: Text) -> int:
    print(f"sroi: {tr(message)}", file=sys.stderr)
    return 2


def demo_firm(session: Session) -> str:
    """A firm that has obligations: from the database, else the fixtures file."""
    # Most obligations first; among equals, one with allocations (the demo activity), so
    # the demo firm's plan and progress pages have something to show.
    active = select(AllocationRow.obligation_ref).distinct()
    row = session.exec(
        select(ObligationRow.firm, func.count(), func.max(case(
            (col(ObligationRow.ref).in_(active), 1), else_=0)))
        .group_by(ObligationRow.firm)
        .order_by(func.count().desc(), func.max(case(
            (col(ObligationRow.ref).in_(active), 1), else_=0)).desc(), ObligationRow.firm)
        .limit(1)
    ).first()
    if row:
        return str(row[0])
    if FIXTURES.exists():
        try:
            data = json.loads(FIXTURES.read_text(encoding="utf-8"))
            firms = [o.get("firm") for o in data.get("obligations", []) if o.get("firm")]
            if firms:
                return max(sorted(set(firms)), key=firms.count)
        except (OSError, ValueError):
            pass
    return DEMO_FIRM_FALLBACK


def demo_accounts(session: Session) -> list[tuple[str, str, str | None, str]]:
    """(email, role, organisation, name) per role."""
    return [
        ("inkoper@demo.sroi.nl", "officer", DEMO_OFFICER_ORG, "Inge Inkoper"),
        ("firma@demo.sroi.nl", "firm", demo_firm(session), "Frank Firma"),
        ("verbinder@demo.sroi.nl", "connector", None, "Vera Verbinder"),
        ("beheer@demo.sroi.nl", "admin", None, "Bart Beheer"),
    ]


def cmd_create_user(args: argparse.Namespace) -> int:
    if not EMAIL_RE.match(args.email):
        return _error(msg("'{email}' is geen e-mailadres", email=args.email))
    if args.role in ("officer", "firm") and not args.organisation:
        return _error(msg("rol {role} vraagt --organisation (de aanbesteder of het bedrijf "
                          "namens wie de gebruiker werkt)", role=args.role))
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(tr(msg("Wachtwoord: ")))
    problem = password_problem(password, args.email)
    if problem:
        return _error(translate(problem[0], cli_lang(), **problem[1]))
    _ensure_schema()
    with Session(get_engine()) as session:
        created = upsert_user(session, args.email, args.role, args.organisation, password,
                              name=args.name or "")
    who = f"{args.email.lower()} ({args.role}" + (f", {args.organisation})"
                                                   if args.organisation else ")")
    say(msg("{who} aangemaakt", who=who) if created else msg("{who} bijgewerkt", who=who))
    return 0


def cmd_demo_users(args: argparse.Namespace) -> int:
    _ensure_schema()
    with Session(get_engine()) as session:
        accounts = demo_accounts(session)
        say(msg("Demo-accounts (wachtwoord van elk: {password}):", password=DEMO_PASSWORD))
        for email, role, org, name in accounts:
            created = upsert_user(session, email, role, org, DEMO_PASSWORD, name=name,
                                  keep_password=True)
            state = tr(msg("aangemaakt") if created else msg("behouden"))
            print(f"  {role:<10} {email:<26} {org or '':<32} ({state})")
    say(msg("Start de webapp met `uvicorn api.app:app` en log in op "
            "http://127.0.0.1:8000/login"))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("create-user", help="create or update a web/API user")
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--organisation", help="buyer (officer) or firm (firm) the user acts for")
    p.add_argument("--password", help="read from stdin or prompted when omitted")
    p.add_argument("--name", help="display name")
    p.set_defaults(handler=cmd_create_user)

    d = subparsers.add_parser("demo-users",
                              help="one demo account per role (idempotent)")
    d.set_defaults(handler=cmd_demo_users)
