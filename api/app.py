"""The web application: HTML pages (server-rendered) and the JSON API under /api/v1.

Each module in ``ROUTE_MODULES`` may export ``router`` (pages) and/or
``api_router`` (JSON, mounted under /api/v1).

Errors: /api/* answers ``{"detail": {"message": ..., "field": ...}}``; pages answer
an HTML error page. Neither ever shows a stack trace.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from api import i18n, shared_state
from api.deps import MESSAGE_PARAMS, LoginRequired, is_api, login_redirect_url, render
from api.errors import DomainError
from api.fields import (
    NON_BLANK_PATTERN,
    NUL_MESSAGE,
    OTHER_PATTERN_MESSAGE,
    PATTERN_MESSAGES,
    TEXT_PATTERN,
)
from api.i18n import N_
from api.messages import Message, msg, render_tree
from api.openapi_links import with_links
from api.routes import docs
from api.schemas import ERROR_RESPONSES
from api.security import session_middleware_options
from api.services import heap
from api.settings import InsecureSettings, check_serving, get_settings
from api.templating import STATIC_DIR
from api.web.errors import http_status

log = logging.getLogger("sroi.web")

ROUTE_MODULES = (
    "api.routes.auth",
    "api.routes.health",
    "api.routes.docs",
    "api.routes.accessibility",
    "api.routes.home",
    "api.routes.dashboard",
    "api.routes.enterprises",
    "api.routes.search",
    "api.routes.imports",
    "api.routes.tenders",
    "api.routes.obligations",
    "api.routes.curation",
    "api.routes.vetting",
    "api.routes.challenges",
    "api.routes.weights",
    "api.routes.ledgers",
    "api.routes.notifications",
    "api.routes.admin",
    "api.routes.tenders_api",
    "api.routes.challenges_api",
    "api.routes.obligations_api",
    "api.routes.jobs",
)

API_PREFIX = "/api/v1"

# Scripts only from /static (no inline script); inline style attributes are used by SVG charts.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")

STATUS_MESSAGES = {
    400: N_("Ongeldig verzoek"),
    401: N_("Niet ingelogd"),
    403: N_("Geen toegang"),
    404: N_("Pagina niet gevonden"),
    405: N_("Methode niet toegestaan"),
    409: N_("Conflict met bestaande gegevens"),
    413: N_("Bestand te groot"),
    422: N_("Ongeldige invoer"),
    429: N_("Te veel verzoeken"),
    500: N_("Er ging iets mis aan onze kant"),
}


def _include_routes(app: FastAPI) -> list[str]:
    loaded = []
    # Page paths, for the navigation to link only to mounted pages.
    page_paths: set[str] = set()
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "router", None) is not None:
            app.include_router(module.router)
            page_paths.update(getattr(r, "path", "") for r in module.router.routes)
        if getattr(module, "api_router", None) is not None:
            # Every API operation documents the error envelope for each 4xx (issue #18),
            # including routers that forget to say so.
            app.include_router(module.api_router, prefix=API_PREFIX,
                               responses=ERROR_RESPONSES)
        loaded.append(name)
    app.state.page_paths = page_paths
    return loaded


def _detail(detail: Any, status_code: int) -> dict[str, Any]:
    """Normalise any HTTPException detail to {"message", "field"}."""
    if isinstance(detail, dict) and "message" in detail:
        return {"field": None, **detail}
    # Starlette's own errors carry the English status phrase ("Not Found"): say it in Dutch.
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = None
    if isinstance(detail, str) and detail and detail != phrase:
        return {"message": detail, "field": None}
    return {"message": STATUS_MESSAGES.get(status_code, N_("Fout")), "field": None}


def _api_json(request: Request, body: dict[str, Any], status_code: int,
              headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error saying which language its texts are in (Content-Language)."""
    return JSONResponse(body, status_code=status_code,
                        headers={**(headers or {}), "Content-Language": i18n.api_lang(request)})


def _field_from_loc(loc: tuple[Any, ...] | list[Any]) -> str | None:
    # ("body", "cpv", 0) -> "cpv[0]"; ("query", "page") -> "page"
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or None


# Pydantic's error types, said in Dutch (the msgid; English in the catalogs) with the
# values of the error's ``ctx``; a type not listed keeps pydantic's own (English) text.
VALIDATION_MESSAGES: dict[str, str] = {
    "missing": msg("Verplicht veld").text,
    "string_type": msg("Geef tekst").text,
    "string_too_short": msg("Minstens {min_length} tekens").text,
    "string_too_long": msg("Hoogstens {max_length} tekens").text,
    "int_type": msg("Geef een geheel getal").text,
    "int_parsing": msg("Geef een geheel getal").text,
    "int_from_float": msg("Geef een geheel getal").text,
    "float_type": msg("Geef een getal").text,
    "float_parsing": msg("Geef een getal").text,
    "finite_number": msg("Geef een eindig getal").text,
    "bool_type": msg("Geef true of false").text,
    "bool_parsing": msg("Geef true of false").text,
    "greater_than": msg("Moet groter zijn dan {gt}").text,
    "greater_than_equal": msg("Moet minstens {ge} zijn").text,
    "less_than": msg("Moet kleiner zijn dan {lt}").text,
    "less_than_equal": msg("Moet hoogstens {le} zijn").text,
    "literal_error": msg("Kies een van: {expected}").text,
    "enum": msg("Kies een van: {expected}").text,
    "date_type": msg("Geef een datum als JJJJ-MM-DD").text,
    "date_parsing": msg("Geef een datum als JJJJ-MM-DD").text,
    "date_from_datetime_parsing": msg("Geef een datum als JJJJ-MM-DD").text,
    "datetime_type": msg("Geef een datum en tijd (ISO 8601)").text,
    "datetime_parsing": msg("Geef een datum en tijd (ISO 8601)").text,
    "datetime_from_date_parsing": msg("Geef een datum en tijd (ISO 8601)").text,
    "list_type": msg("Geef een lijst").text,
    "dict_type": msg("Geef een object").text,
    "model_type": msg("Geef een object").text,
    "model_attributes_type": msg("Geef een object").text,
    "json_invalid": msg("Geen geldige JSON").text,
    "json_type": msg("Geen geldige JSON").text,
    "extra_forbidden": msg("Onbekend veld").text,
    "too_short": msg("Minstens {min_length} items").text,
    "too_long": msg("Hoogstens {max_length} items").text,
    "uuid_parsing": msg("Geen geldige UUID").text,
    "url_parsing": msg("Geen geldig webadres").text,
    "value_error": msg("Ongeldige waarde").text,
}


def _validation_message(err: Any) -> Message | str:
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", "ongeldige waarde"))
    if kind == "value_error" and msg.startswith("Value error, "):
        # Our own validators' words (Dutch msgids, translated at the boundary).
        return msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        # Said in words, never as the regular expression the field is checked with.
        pattern = str((err.get("ctx") or {}).get("pattern", ""))
        value = str(err.get("input", ""))
        if "\x00" in value and pattern in (NON_BLANK_PATTERN, TEXT_PATTERN):
            return Message(NUL_MESSAGE)
        return Message(PATTERN_MESSAGES.get(pattern, OTHER_PATTERN_MESSAGE),
                       {"input": value[:60]})
    if kind in VALIDATION_MESSAGES:
        ctx = {k: str(v) for k, v in (err.get("ctx") or {}).items()}
        return Message(VALIDATION_MESSAGES[kind], ctx)
    return msg


def validation_detail(exc: RequestValidationError) -> dict[str, Any]:
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        errors.append({"message": _validation_message(err),
                       "field": _field_from_loc(err.get("loc", ()))})
    first = errors[0] if errors else {"message": N_("Ongeldige invoer"), "field": None}
    return {"message": first["message"], "field": first["field"], "errors": errors}


def localised(detail: dict[str, Any], lang: str,
              params: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error body in ``lang``: its messages rendered, a plain Dutch ``message`` (the
    routes' ``api_error("Dutch text", **params)``) translated; a text already translated
    by its route is no msgid and passes unchanged."""
    out: dict[str, Any] = render_tree(detail, lang)
    if isinstance(out.get("message"), str):
        out["message"] = i18n.translate(out["message"], lang, **(params or {}))
    if isinstance(out.get("errors"), list):
        out["errors"] = [{**e, "message": i18n.translate(e["message"], lang)}
                         if isinstance(e, dict) and isinstance(e.get("message"), str) else e
                         for e in out["errors"]]
    return out


def _html_error(request: Request, status_code: int, message: str,
                headers: dict[str, str] | None = None) -> Response:
    try:
        return render(request, "error.html",
                      {"status_code": status_code, "message": message,
                       "title": STATUS_MESSAGES.get(status_code, "Fout")},
                      status_code=status_code, headers=headers)
    except Exception:  # the error page itself failed: plain text, still no trace
        log.exception("error page failed")
        return Response(f"{status_code} {message}", status_code=status_code,
                        media_type="text/plain; charset=utf-8", headers=headers)


def _warm_indexes() -> None:
    try:
        from api.services.cpv_search import warm

        warm()
        # The spend classifier's char n-gram model of the CPV vocabulary (a few seconds).
        from matcher.spend import SpendClassifier

        SpendClassifier().fit()
    except Exception:  # only a warm-up: the first request builds it otherwise
        log.exception("warming the CPV index failed")


def _warm_data() -> None:
    """Build the search table and the engine's index over the registry at start-up, so no
    user request pays for it (about 1 s and 3-8 s at 10,000 enterprises). A request that
    arrives during a build waits for that build (both caches build one at a time)."""
    try:
        from sqlmodel import Session

        from api.db import get_engine
        from api.services import enterprise_search, matching

        with Session(get_engine()) as session:
            enterprise_search.warm(session)
            matching.warm(session)
    except Exception as exc:  # only a warm-up (e.g. a database not migrated yet)
        log.warning("warming the search table and match index failed: %s", exc)
    # What start-up built lives as long as the data: out of the full collections
    # (api/services/heap.py says why).
    heap.settle_soon(0.0)


def _recover_import_jobs() -> None:
    """Imports a restart interrupted are marked failed (each file is one transaction, so
    nothing of the file they were on was written), not left "running" forever."""
    try:
        from api.db import get_engine
        from api.services import import_jobs

        n = import_jobs.recover(get_engine())
        if n:
            log.warning("%d import job(s) interrupted by the restart marked failed", n)
    except Exception as exc:  # e.g. a database not migrated yet
        log.warning("checking for interrupted import jobs failed: %s", exc)


def _start_jobs() -> None:
    """Say clearly at start-up when the job queue cannot be reached: the app serves on,
    and every job asked for is refused with that reason until the queue is back
    (``api.services.jobs.submit``). With JOBS_INLINE=true this process also consumes
    the queue (one machine; else `sroi worker` does)."""
    try:
        from api.services import job_queue, jobs

        why = job_queue.unreachable()
        if why is not None:
            log.error("JOB QUEUE UNREACHABLE (%s): the app serves, but background jobs "
                      "(imports, ledger uploads, allocation, learning, batch ranking) are refused "
                      "until it is back",
                      why)
            return
        log.info("job queue: %s", job_queue.describe())
        if get_settings().jobs_inline:
            jobs.start_inline()
    except Exception as exc:  # e.g. a database not migrated yet
        log.warning("checking the job queue failed: %s", exc)


@asynccontextmanager
async def _serving_lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Page and API handlers are synchronous: they run in AnyIO's thread pool (40 threads by
    # default). They are CPU-bound under the GIL, so more threads add no throughput, only
    # GIL convoys that starve the event loop; the load test (50 users, 10k enterprises)
    # did best with 8.
    anyio.to_thread.current_default_thread_limiter().total_tokens = max(
        1, get_settings().web_threads)
    heap.enable()
    _recover_import_jobs()
    _start_jobs()
    thread = threading.Thread(target=_warm_data, name="warm-data", daemon=True)
    thread.start()
    try:
        yield
    finally:
        # Let a running warm-up finish its query before the server goes on to close the
        # database; a daemon thread, so a long build does not hold up the shutdown.
        await anyio.to_thread.run_sync(thread.join, 5.0)
        heap.disable()
        from api.services import jobs

        await anyio.to_thread.run_sync(jobs.stop_inline)


def create_app(serving: bool = False) -> FastAPI:
    """``serving`` (the served ``app`` below): at start-up, size the handler thread pool
    (``settings.web_threads``) and build the search table and the match index in a
    background thread. Off for apps that tests create: their fixtures replace database
    files between requests, under the warm-up's connection."""
    settings = get_settings()
    app = FastAPI(
        title="Social Return Matcher",
        version="1.0",
        description=(
            "Matches vetted Dutch social enterprises to tenders' social-return (SROI) "
            "obligations, municipal Challenges and firms' obligations.\n\n"
            "Authenticate with `Authorization: Bearer <token>`; create a token on /account. "
            "Errors are `{\"detail\": {\"message\": ..., \"field\": ...}}`.\n\n"
            "Match reasons (`reasons`, why-not `exclusions`, a plan's `explanation`) are "
            "objects `{\"code\", \"params\", \"text\"}`: a stable code, its parameters "
            "(numbers, codes, ISO dates) and the text in the request's language: `?lang=nl|en`, "
            "the `lang` cookie, or `Accept-Language` (Dutch by default)."
        ),
        # /api/docs is ours (api.routes.docs): Swagger UI served offline, no inline script.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_serving_lifespan if serving else None,
    )
    # In Redis or the database, never in this process: every worker counts the same
    # failures (api/shared_state.py).
    app.state.login_limiter = shared_state.login_limiter(
        settings.login_rate_limit_per_minute, settings.redis_url, settings.redis_prefix)
    app.add_middleware(SessionMiddleware, **session_middleware_options(settings))

    @app.middleware("http")
    async def _headers_and_lang(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        # The language switch: ?lang=en sticks through a cookie (a preference, not a secret).
        lang = request.query_params.get("lang")
        if lang in i18n.LANGUAGES and request.cookies.get(i18n.LANG_COOKIE) != lang:
            response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 24 * 3600,
                                samesite="lax", secure=get_settings().https, httponly=True)
        return response

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_redirect_url(exc.next_url), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = _detail(exc.detail, exc.status_code)
        params = detail.pop(MESSAGE_PARAMS, None) or {}
        headers = getattr(exc, "headers", None)
        if is_api(request):
            lang = i18n.api_lang(request)
            return _api_json(request, {"detail": localised(detail, lang, params)},
                             exc.status_code, headers)
        message = localised(detail, i18n.request_lang(request), params)["message"]
        return _html_error(request, exc.status_code, message, headers)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        # A service's error no route turned into a message of its own.
        status_code = http_status(exc)
        if is_api(request):  # in the client's language (Accept-Language)
            return _api_json(request, {"detail": {"message": exc.render(i18n.api_lang(request)),
                                                  "field": exc.field}}, status_code)
        return _html_error(request, status_code, exc.render(i18n.request_lang(request)))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if is_api(request):
            return _api_json(request, {"detail": localised(validation_detail(exc),
                                                           i18n.api_lang(request))}, 422)
        detail = localised(validation_detail(exc), i18n.request_lang(request))
        message = detail["message"] + (f" ({detail['field']})" if detail["field"] else "")
        return _html_error(request, 422, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = N_("Er ging iets mis aan onze kant. Probeer het later opnieuw.")
        if is_api(request):
            return _api_json(request, {"detail": {
                "message": i18n.translate(message, i18n.api_lang(request)), "field": None}}, 500)
        return _html_error(request, 500, i18n.translate(message, i18n.request_lang(request)))

    # Build the CPV type-ahead index off the request path (about 0.2 s of CPU).
    threading.Thread(target=_warm_indexes, name="warm-indexes", daemon=True).start()
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.mount(docs.ASSETS, StaticFiles(directory=str(docs.ASSETS_DIR)), name="api-docs-assets")
    app.state.route_modules = _include_routes(app)
    generate = app.openapi

    def openapi_with_links() -> dict[str, Any]:
        # FastAPI caches the generated document; the links go onto it once.
        if app.openapi_schema is None:
            app.openapi_schema = with_links(generate())
        return app.openapi_schema

    app.openapi = openapi_with_links  # type: ignore[method-assign]
    return app


def serve() -> FastAPI:
    """The served app (``uvicorn api.app:app``), after the settings' start-up checks."""
    check_serving(get_settings())
    return create_app(serving=True)


_served: FastAPI | None = None


def __getattr__(name: str) -> Any:
    # `uvicorn api.app:app` asks for `app`: built on first access, so that importing this
    # module (tests, tools) builds nothing, and a refused start is one line, no traceback.
    global _served
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _served is None:
        try:
            _served = serve()
        except InsecureSettings as exc:
            raise SystemExit(f"sroi: not starting: {exc}") from None
    return _served
