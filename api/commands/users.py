"""`sroi create-user` and `sroi demo-users`: accounts for the web UI and API."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from pathlib import Path

from sqlmodel import Session, case, col, func, select

import api.tables  # noqa: F401  (registers the tables for create_all)
from api.commands.db import init_db
from api.db import get_engine
from api.security import hash_password
from api.tables import AllocationRow, ObligationRow, User

ROLES = ("officer", "firm", "connector", "admin")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sroi_fixtures.json"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

DEMO_PASSWORD = "demo-sroi-2026"
DEMO_OFFICER_ORG = "Gemeente Utrecht"
DEMO_FIRM_FALLBACK = "Bouwbedrijf De Vries B.V."


def _ensure_schema() -> None:
    """Migrate to head like `sroi init-db` (idempotent): create_all would leave a
    database Alembic no longer recognises."""
    init_db()


def _error(message: str) -> int:
    print(f"sroi: {message}", file=sys.stderr)
    return 2


def upsert_user(session: Session, email: str, role: str, organisation: str | None,
                password: str | None, name: str = "", keep_password: bool = False) -> bool:
    """Create or update a user; returns True when created. With keep_password an
    existing user's password is left alone (re-running demo-users changes nothing)."""
    email = email.strip().lower()
    user = session.exec(select(User).where(User.email == email)).first()
    created = user is None
    if user is None:
        if not password:
            raise ValueError("a new user needs a password")
        user = User(email=email, role=role, organisation=organisation, name=name,
                    password_hash=hash_password(password))
    else:
        user.role = role
        user.organisation = organisation
        if name:
            user.name = name
        if password and not keep_password:
            user.password_hash = hash_password(password)
    session.add(user)
    session.commit()
    return created


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
        return _error(f"'{args.email}' is not an e-mail address")
    if args.role in ("officer", "firm") and not args.organisation:
        return _error(f"role {args.role} needs --organisation (the buyer or firm they act for)")
    password = args.password
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
    if len(password) < 8:
        return _error("password must be at least 8 characters")
    _ensure_schema()
    with Session(get_engine()) as session:
        created = upsert_user(session, args.email, args.role, args.organisation, password,
                              name=args.name or "")
    print(f"{'created' if created else 'updated'} {args.email.lower()} ({args.role}"
          f"{', ' + args.organisation if args.organisation else ''})")
    return 0


def cmd_demo_users(args: argparse.Namespace) -> int:
    _ensure_schema()
    with Session(get_engine()) as session:
        accounts = demo_accounts(session)
        print(f"Demo accounts (password for each: {DEMO_PASSWORD}):")
        for email, role, org, name in accounts:
            created = upsert_user(session, email, role, org, DEMO_PASSWORD, name=name,
                                  keep_password=True)
            state = "created" if created else "kept"
            print(f"  {role:<10} {email:<26} {org or '':<32} ({state})")
    print("Start the web app with `uvicorn api.app:app` and log in at http://127.0.0.1:8000/login")
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
