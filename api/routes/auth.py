"""Login, logout and the account page (API token create/revoke)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from api import i18n
from api.deps import CurrentUser, SessionDep, csrf_protect, flash, render
from api.errors import DomainError
from api.security import (
    hash_password,
    needs_rehash,
    new_api_token,
    new_csrf_token,
    verify_dummy,
    verify_password,
)
from api.services import accounts
from api.tables import User

router = APIRouter(tags=["auth"])


def safe_next(value: str | None) -> str:
    """Only local paths: an open redirect after login would help phishing."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    if request.session.get("uid"):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next), "email": ""})


@router.post("/login", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    t = i18n.translator(i18n.request_lang(request))
    email = email.strip().lower()
    ip = request.client.host if request.client else "unknown"
    limiter = request.app.state.login_limiter
    wait = limiter.retry_after(ip, email)
    if wait is not None:
        return render(
            request, "auth/login.html",
            {"next": safe_next(next), "email": email,
             "error": t("Te veel mislukte inlogpogingen. Probeer het over {s} seconden opnieuw.",
                        s=wait)},
            status_code=429, headers={"Retry-After": str(wait)},
        )
    user = session.exec(select(User).where(User.email == email)).first() if email else None
    if user is None:
        verify_dummy(password)  # same time as a wrong password: no account enumeration
    if user is None or not verify_password(user.password_hash, password):
        limiter.failed(ip, email)
        return render(
            request, "auth/login.html",
            {"next": safe_next(next), "email": email,
             "error": t("E-mailadres of wachtwoord klopt niet.")},
            status_code=401,
        )
    if not user.active:
        return render(
            request, "auth/login.html",
            {"next": safe_next(next), "email": email,
             "error": t("Dit account is uitgeschakeld. Vraag de beheerder om het weer aan "
                        "te zetten.")},
            status_code=403,
        )
    limiter.succeeded(ip, email)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
        session.commit()
    # A fresh session on login: nothing from before (e.g. a planted cookie) carries over.
    request.session.clear()
    request.session["uid"] = user.id
    request.session["csrf"] = new_csrf_token()
    flash(request, "U bent ingelogd.")
    return RedirectResponse(safe_next(next), status_code=303)


@router.get("/logout", include_in_schema=False)
def logout_page(request: Request) -> Response:
    if not request.session.get("uid"):
        return RedirectResponse("/login", status_code=303)
    return render(request, "auth/logout.html")


@router.post("/logout", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def logout(request: Request) -> Response:
    request.session.clear()
    flash(request, "U bent uitgelogd.")
    return RedirectResponse("/login", status_code=303)


@router.get("/account", include_in_schema=False)
def account(request: Request, user: CurrentUser) -> Response:
    return render(request, "auth/account.html",
                  {"new_token": None, "min_password": accounts.MIN_PASSWORD})


@router.post("/account/password", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def change_password(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    repeat_password: Annotated[str, Form()] = "",
) -> Response:
    try:
        accounts.change_password(session, user, current_password, new_password,
                                 repeat_password)
    except DomainError as exc:
        t = i18n.translator(i18n.request_lang(request))
        # The typed passwords are never sent back into the page.
        return render(request, "auth/account.html",
                      {"new_token": None, "min_password": accounts.MIN_PASSWORD,
                       "password_errors": {exc.field or "new_password":
                                           t(exc.message, **exc.params)}},
                      status_code=422, headers={"Cache-Control": "no-store"})
    flash(request, "Uw wachtwoord is gewijzigd.")
    return RedirectResponse("/account", status_code=303)


@router.post("/account/token", include_in_schema=False, dependencies=[Depends(csrf_protect)])
def create_token(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    token, digest = new_api_token()
    user.api_token_hash = digest
    session.add(user)
    session.commit()
    # Shown once, in this response only: never stored in the (signed, not encrypted) cookie.
    return render(request, "auth/account.html",
                  {"new_token": token, "min_password": accounts.MIN_PASSWORD},
                  headers={"Cache-Control": "no-store"})


@router.post("/account/token/revoke", include_in_schema=False,
             dependencies=[Depends(csrf_protect)])
def revoke_token(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    user.api_token_hash = None
    session.add(user)
    session.commit()
    flash(request, "Het API-token is ingetrokken.")
    return RedirectResponse("/account", status_code=303)
