"""Admin pages (admin role only): users and organisations (#16 item 7d).

GET  /beheer                          users (with role, organisation, active) and the known
                                      organisations with their users, tenders, obligations
GET  /beheer/gebruikers/nieuw         form for a new user
POST /beheer/gebruikers/nieuw         create (api.services.accounts.create_user)
GET  /beheer/gebruikers/{id}          form: role, organisation, name, active
POST /beheer/gebruikers/{id}          change (api.services.accounts.update_user)

Every rule (e-mail, password strength, organisation needed for officers and firms, the
last admin kept, no self-lockout) lives in ``api.services.accounts``, which the CLI's
``create-user`` uses too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import AdminUser, SessionDep, csrf_protect, flash, render
from api.errors import DomainError, NotFound
from api.i18n import request_lang, translator
from api.labels import ROLE_NL
from api.services import accounts
from api.tables import User
from api.web.errors import http_status
from api.web.params import RowId

router = APIRouter(include_in_schema=False)

FIELDS = ("email", "name", "role", "organisation", "password")


def _context(request: Request, session: SessionDep, **extra: Any) -> dict[str, Any]:
    t = translator(request_lang(request))
    return {
        "roles": [(r, t(ROLE_NL[r])) for r in accounts.ROLES],
        "role_names": {r: t(ROLE_NL[r]) for r in accounts.ROLES},
        "organisations": accounts.organisations(session),
        "min_password": accounts.MIN_PASSWORD,
        **extra,
    }


def _errors(request: Request, exc: DomainError) -> dict[str, str]:
    t = translator(request_lang(request))
    return {exc.field or "_form": t(exc.message, **exc.params)}


@router.get("/beheer")
def admin_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    return render(request, "admin/index.html",
                  _context(request, session, users=accounts.list_users(session)))


@router.get("/beheer/gebruikers/nieuw")
def new_user_form(request: Request, user: AdminUser, session: SessionDep) -> Response:
    return render(request, "admin/user_form.html", _context(
        request, session, edit=None, form={"role": "officer"}, errors={}))


@router.post("/beheer/gebruikers/nieuw", dependencies=[Depends(csrf_protect)])
async def create_user(request: Request, user: AdminUser, session: SessionDep) -> Response:
    data = await request.form()
    form = {k: str(data.get(k) or "") for k in FIELDS}
    try:
        created = accounts.create_user(session, form["email"], form["role"],
                                       form["organisation"], form["password"], form["name"])
    except DomainError as exc:
        form.pop("password")  # never sent back into the page
        return render(request, "admin/user_form.html", _context(
            request, session, edit=None, form=form, errors=_errors(request, exc)),
            status_code=http_status(exc), headers={"Cache-Control": "no-store"})
    flash(request, "Gebruiker aangemaakt.")
    return RedirectResponse(f"/beheer#user-{created.id}", status_code=303)


def _user(session: SessionDep, user_id: int) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise NotFound(None, "Gebruiker {id} bestaat niet.", id=user_id)
    return found


@router.get("/beheer/gebruikers/{user_id}")
def edit_user_form(user_id: RowId, request: Request, user: AdminUser,
                   session: SessionDep) -> Response:
    target = _user(session, user_id)
    form = {"email": target.email, "name": target.name, "role": target.role,
            "organisation": target.organisation or "", "active": target.active}
    return render(request, "admin/user_form.html", _context(
        request, session, edit=target, form=form, errors={}))


@router.post("/beheer/gebruikers/{user_id}", dependencies=[Depends(csrf_protect)])
async def update_user(user_id: RowId, request: Request, user: AdminUser,
                      session: SessionDep) -> Response:
    target = _user(session, user_id)
    data = await request.form()
    name, role = str(data.get("name") or ""), str(data.get("role") or "")
    organisation = str(data.get("organisation") or "")
    active = str(data.get("active") or "") == "1"  # an unchecked box sends nothing
    form: dict[str, Any] = {"email": target.email, "name": name, "role": role,
                            "organisation": organisation, "active": active}
    try:
        accounts.update_user(session, user, user_id, role=role, organisation=organisation,
                             active=active, name=name)
    except DomainError as exc:
        session.rollback()
        return render(request, "admin/user_form.html", _context(
            request, session, edit=_user(session, user_id), form=form,
            errors=_errors(request, exc)), status_code=http_status(exc))
    flash(request, "Gebruiker bijgewerkt.")
    return RedirectResponse(f"/beheer#user-{user_id}", status_code=303)
