"""User accounts: the one owner of creating, changing and deactivating users, of the
password rule and of changing one's own password. The CLI (``sroi create-user``,
``sroi demo-users``: ``api.commands.users``), the admin pages (``/beheer``) and the account
page all go through here, so they accept and refuse the same things.

Organisations are names, not rows: an officer's organisation is the buyer whose tenders
they see, a firm user's the firm whose obligations they see (``api.access``). The known
organisations are the buyers of tenders, the firms of obligations and the users' own.

Errors are ``api.errors`` domain errors with a Dutch message and the field they belong to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

from api.errors import Conflict, Forbidden, Invalid, NotFound
from api.security import hash_password, verify_password
from api.tables import ObligationRow, TenderRow, User

ROLES = ("officer", "firm", "connector", "admin")
# Officers and firm users act for an organisation (api.access reads it).
ROLES_WITH_ORGANISATION = ("officer", "firm")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200  # argon2 takes any length; a bound keeps a pasted novel out
MAX_NAME = 200
MAX_ORGANISATION = 300


# ------------------------------------------------------------------ rules


def password_problem(password: str, email: str = "") -> tuple[str, dict[str, Any]] | None:
    """Why ``password`` is too weak (a Dutch message and its values), or None.

    The rule: at least ``MIN_PASSWORD`` characters, letters and something else (digits or
    signs), not the e-mail address or its name part. Length matters most; the mix and the
    e-mail check refuse the guesses tried first."""
    if len(password) < MIN_PASSWORD:
        return "Het wachtwoord moet minstens {n} tekens lang zijn.", {"n": MIN_PASSWORD}
    if len(password) > MAX_PASSWORD:
        return "Het wachtwoord mag hoogstens {n} tekens lang zijn.", {"n": MAX_PASSWORD}
    if not any(ch.isalpha() for ch in password) or all(ch.isalpha() for ch in password):
        return ("Gebruik in het wachtwoord letters én cijfers of leestekens.", {})
    local = email.strip().lower().partition("@")[0]
    lowered = password.lower()
    if email and (lowered == email.strip().lower() or (len(local) >= 4 and local in lowered)):
        return "Het wachtwoord mag uw e-mailadres niet bevatten.", {}
    return None


def check_password(password: str, email: str = "", field: str = "password") -> None:
    problem = password_problem(password, email)
    if problem:
        raise Invalid(field, problem[0], **problem[1])


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 200:
        raise Invalid("email", "Geen geldig e-mailadres: {value}.", value=email.strip())
    return value


def _role(role: str) -> str:
    if role not in ROLES:
        raise Invalid("role", "Onbekende rol: {value}.", value=role)
    return role


def _organisation(role: str, organisation: str | None) -> str | None:
    org = (organisation or "").strip() or None
    if org and len(org) > MAX_ORGANISATION:
        raise Invalid("organisation", "De organisatie is te lang: hoogstens {n} tekens.",
                      n=MAX_ORGANISATION)
    if role in ROLES_WITH_ORGANISATION and not org:
        raise Invalid("organisation", "Een inkoper of opdrachtnemer hoort bij een "
                      "organisatie: vul de aanbesteder of het bedrijf in.")
    return org


def _name(name: str) -> str:
    value = name.strip()
    if len(value) > MAX_NAME:
        raise Invalid("name", "De naam is te lang: hoogstens {n} tekens.", n=MAX_NAME)
    return value


# ------------------------------------------------------------------ reading


def by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.role), col(User.email))).all())


@dataclass(frozen=True)
class Organisation:
    name: str
    users: int  # active accounts acting for it
    tenders: int  # tenders it buys (officers see these)
    obligations: int  # obligations it carries (firm users see these)


def organisations(session: Session) -> list[Organisation]:
    """Every known organisation, by name, with how many users, tenders and obligations."""
    users: dict[str, int] = {}
    for org, active in session.exec(select(User.organisation, User.active)).all():
        if org:
            users[org] = users.get(org, 0) + (1 if active else 0)
    tenders = {str(b): int(n) for b, n in session.exec(
        select(TenderRow.buyer, func.count()).group_by(TenderRow.buyer)).all()}
    obligations = {str(f): int(n) for f, n in session.exec(
        select(ObligationRow.firm, func.count()).group_by(ObligationRow.firm)).all()}
    names = sorted(set(users) | set(tenders) | set(obligations), key=str.lower)
    return [Organisation(n, users.get(n, 0), tenders.get(n, 0), obligations.get(n, 0))
            for n in names]


# ------------------------------------------------------------------ writing


def upsert_user(session: Session, email: str, role: str, organisation: str | None,
                password: str | None, name: str = "", keep_password: bool = False) -> bool:
    """Create or update a user (the CLI's way); returns True when created. With
    keep_password an existing user's password is left alone (re-running demo-users
    changes nothing). The caller checks the password rule (the demo accounts' fixed
    password is exempt: it is printed for everyone anyway)."""
    email = email.strip().lower()
    user = by_email(session, email)
    created = user is None
    if user is None:
        if not password:
            raise Invalid("password", "Een nieuwe gebruiker heeft een wachtwoord nodig.")
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


def create_user(session: Session, email: str, role: str, organisation: str | None,
                password: str, name: str = "") -> User:
    """A new account (admin page): every field checked, refused when the e-mail is taken."""
    address = normalise_email(email)
    _role(role)
    org = _organisation(role, organisation)
    display = _name(name)
    check_password(password, address)
    if by_email(session, address) is not None:
        raise Conflict("email", "Er is al een account met e-mailadres {value}.", value=address)
    user = User(email=address, role=role, organisation=org, name=display,
                password_hash=hash_password(password))
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def _other_active_admins(session: Session, user: User) -> int:
    return int(session.exec(select(func.count()).select_from(User).where(
        User.role == "admin", User.active == True, User.id != user.id)).one())  # noqa: E712


def update_user(session: Session, actor: User, user_id: int, *, role: str,
                organisation: str | None, active: bool, name: str | None = None) -> User:
    """Change a user's role, organisation, name or whether the account is active. An
    admin never locks themselves out, nor the organisation out of its last admin."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(None, "Gebruiker {id} bestaat niet.", id=user_id)
    _role(role)
    org = _organisation(role, organisation)
    if user.id == actor.id and (not active or role != "admin"):
        raise Forbidden("active" if not active else "role",
                        "U kunt uw eigen account niet uitschakelen of uw eigen beheerrol "
                        "niet afnemen; vraag dat een andere beheerder.")
    if user.role == "admin" and user.active and (role != "admin" or not active) and \
            _other_active_admins(session, user) == 0:
        raise Conflict("role", "Dit is de laatste actieve beheerder; maak eerst een ander "
                       "beheerder.")
    user.role = role
    user.organisation = org
    user.active = active
    if name is not None:
        user.name = _name(name)
    if not active:
        user.api_token_hash = None  # a deactivated account's token stops working at once
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def change_password(session: Session, user: User, current: str, new: str,
                    repeat: str) -> None:
    """Change one's own password: the current one must be right, the new one follow the
    rule, differ from the current one and be typed twice the same."""
    if not verify_password(user.password_hash, current):
        raise Invalid("current_password", "Het huidige wachtwoord klopt niet.")
    check_password(new, user.email, field="new_password")
    if new == current:
        raise Invalid("new_password", "Kies een ander wachtwoord dan het huidige.")
    if new != repeat:
        raise Invalid("repeat_password", "De twee nieuwe wachtwoorden zijn niet gelijk.")
    user.password_hash = hash_password(new)
    session.add(user)
    session.commit()
