"""Request dependencies shared by every router: DB session, users, roles, CSRF, render.

HTML pages use ``CurrentUser`` (redirects to /login when not logged in) and put
``Depends(csrf_protect)`` on every POST form route. JSON endpoints use ``ApiUser``
(``Authorization: Bearer <token>``; for GET/HEAD the browser's session cookie is
accepted too, so pages can call read-only endpoints such as /api/v1/cpv — never
for writes, which would otherwise need CSRF protection).

``require_roles("connector", "admin")`` works for both: on /api/* paths it
authenticates like ``ApiUser``, elsewhere like ``CurrentUser``.

Templates: no inline <script> (the Content-Security-Policy allows scripts from
/static only); inline style attributes are allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, select

from api import i18n
from api.db import get_engine, get_session
from api.labels import ROLE_NL
from api.messages import Text
from api.security import hash_api_token, new_csrf_token, tokens_equal
from api.tables import User
from api.templating import current_csrf, current_lang, current_request, templates

SessionDep = Annotated[Session, Depends(get_session)]

ROLES = ("officer", "firm", "connector", "admin")



class LoginRequired(Exception):
    """Raised by CurrentUser; the app turns it into a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def api_error(status_code: int, message: Text, field: str | None = None,
              **params: Any) -> HTTPException:
    """An HTTPException whose JSON body is ``{"detail": {"message", "field"}}``. ``message``
    is a Dutch msgid with ``{placeholders}`` filled from ``params``, or a message
    (api.messages); the error handler (api/app.py) says it in the caller's language
    (:func:`api.i18n.api_lang`)."""
    detail: dict[str, Any] = {"message": message, "field": field}
    if params:
        detail[MESSAGE_PARAMS] = params
    return HTTPException(status_code=status_code, detail=detail)


# The key under which api_error keeps a message's parameters until it is translated.
MESSAGE_PARAMS = "_params"
# The JSON API's language as a dependency: ?lang=, the cookie, then Accept-Language.
ApiLang = Annotated[str, Depends(i18n.api_lang)]


# --- users ------------------------------------------------------------------------

def session_user(request: Request, session: Session) -> User | None:
    """The user of the session cookie, loaded once per request."""
    if "user" in request.state._state:
        return request.state.user  # type: ignore[no-any-return]
    user: User | None = None
    uid = request.session.get("uid")
    if isinstance(uid, int):
        user = session.get(User, uid)
        if user is not None and not user.active:
            user = None  # deactivated on the admin page: logged out at the next request
    request.state.user = user
    return user


def bearer_user(request: Request, session: Session) -> User | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = hash_api_token(token.strip())
    return session.exec(select(User).where(User.api_token_hash == digest,
                                           User.active == True)).first()  # noqa: E712


def get_current_user(request: Request, session: SessionDep) -> User:
    user = session_user(request, session)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return user


def get_api_user(request: Request, session: SessionDep) -> User:
    user = bearer_user(request, session)
    if user is None and request.method in ("GET", "HEAD"):
        user = session_user(request, session)
    if user is None:
        has_header = bool(request.headers.get("authorization"))
        raise HTTPException(
            status_code=401,
            detail={
                "message": "Ongeldig API-token" if has_header
                else ("Niet ingelogd: stuur 'Authorization: Bearer <token>' "
                      "(maak een token aan op /account)"),
                "field": "Authorization",
            },
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
ApiUser = Annotated[User, Depends(get_api_user)]


def require_roles(*roles: str) -> Callable[..., User]:
    """Dependency factory: the logged-in user, 403 unless their role is in ``roles``.

    Usage: ``user: Annotated[User, Depends(require_roles("connector", "admin"))]``.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def dependency(request: Request, session: SessionDep) -> User:
        user = get_api_user(request, session) if is_api(request) else get_current_user(
            request, session)
        if user.role not in roles:
            raise HTTPException(
                status_code=403,
                detail={"message": "Deze actie is niet toegestaan voor uw rol", "field": None},
            )
        return user

    return dependency


ConnectorUser = Annotated[User, Depends(require_roles("connector", "admin"))]
AdminUser = Annotated[User, Depends(require_roles("admin"))]


# --- CSRF ---------------------------------------------------------------------------

def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


async def csrf_protect(request: Request) -> None:
    """Refuse a form POST whose hidden ``csrf_token`` does not match the session's.

    Also accepts the token in an ``X-CSRF-Token`` header (for fetch() from pages).
    """
    sent = request.headers.get("x-csrf-token")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it for the route's Form(...) params
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not tokens_equal(sent, request.session.get("csrf")):
        raise HTTPException(
            status_code=403,
            detail={
                "message": "Het formulier is verlopen of ongeldig (CSRF). Laad de pagina opnieuw "
                           "en probeer het nog eens.",
                "field": "csrf_token",
            },
        )


# --- flash messages -------------------------------------------------------------------

def flash(request: Request, message: str, category: str = "success") -> None:
    """Queue a message for the next rendered page. Categories: success, error, info."""
    queue = list(request.session.get("flash", []))
    queue.append([category, message])
    request.session["flash"] = queue


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    queue = request.session.pop("flash", []) if "flash" in request.session else []
    return [(str(c), str(m)) for c, m in queue]


# --- navigation and render --------------------------------------------------------------

# (path, Dutch label, roles that see it). Links to pages not mounted (yet) are hidden.
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("/", "Start", ROLES),
    ("/tenders", "Aanbestedingen", ("officer", "connector", "admin")),
    ("/obligations", "Verplichtingen", ("firm", "connector", "admin")),
    ("/ledgers", "Inkoopanalyse", ("firm", "connector")),
    ("/challenges", "Challenges", ROLES),
    ("/enterprises", "Ondernemingen", ROLES),
    ("/curation", "Curatie", ("connector", "admin")),
    ("/vetting", "Screening", ("connector", "admin")),
    ("/dashboard", "Dashboard", ROLES),
    ("/import", "Import", ("officer", "connector", "admin")),
    ("/weights", "Gewichten", ("connector", "admin")),
    ("/beheer", "Beheer", ("admin",)),
]


def _mounted_paths(request: Request) -> set[str]:
    # Filled by api.app.create_app from the routers it included.
    return getattr(request.app.state, "page_paths", None) or set()


def nav_for(request: Request, user: User | None, lang: str) -> list[dict[str, Any]]:
    if user is None:
        return []
    t = i18n.translator(lang)
    mounted = _mounted_paths(request)
    current = request.url.path
    out = []
    for path, label, roles in NAV:
        if user.role not in roles or path not in mounted:
            continue
        active = current == "/" if path == "/" else current == path or current.startswith(
            path + "/")
        out.append({"href": path, "label": t(label), "active": active})
    return out


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the common context: user, lang, t, csrf_token, nav, flashes.

    The user comes from the session cookie if no dependency has loaded it yet.
    """
    user = request.state.user if "user" in request.state._state else None
    if user is None and "user" not in request.state._state and request.session.get("uid"):
        with Session(get_engine()) as db:
            user = session_user(request, db)
            if user is not None:
                db.expunge(user)
    lang = i18n.request_lang(request)
    unread = 0
    if user is not None and "/meldingen" in _mounted_paths(request):
        from api.services.notifications import header_count

        with Session(get_engine()) as db:
            unread = header_count(db, user)
    ctx: dict[str, Any] = {
        "request": request,
        "user": user,
        "lang": lang,
        "t": i18n.translator(lang),
        "tn": i18n.plural_translator(lang),
        "csrf_token": csrf_token(request),
        "nav": nav_for(request, user, lang),
        # Paths of the mounted pages: link only to pages this checkout has.
        "mounted": _mounted_paths(request),
        "flashes": pop_flashes(request),
        # Unread notifications, shown in the header (api.services.notifications).
        "notification_count": unread,
        "role_label": (i18n.translate(ROLE_NL.get(user.role, user.role), lang)
                       if user else None),
    }
    if context:
        ctx.update(context)
    current_request.set(request)
    current_lang.set(lang)
    current_csrf.set(ctx["csrf_token"])
    return templates.TemplateResponse(
        request, template_name, ctx, status_code=status_code, headers=headers
    )


def login_redirect_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")
