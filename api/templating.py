"""The one Jinja2 environment: templates/ at the project root, filters, globals.

Filters follow Dutch conventions (see api/i18n.py). ``date_nl`` reads the page's
language from the template context so month names follow the language switch.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from api import i18n, reasons
from api.capacity_view import free_capacity_html
from api.messages import Message, from_json, is_message_json, render_text
from api.services.vetting_flow import event_text
from matcher.capacity import CapacityState
from matcher.refdata import cpv_label, municipalities

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"

# The request being rendered, so macros imported without "with context" still get the
# page's language, CSRF token and URL (render() in api/deps.py sets these).
current_request: ContextVar[Any] = ContextVar("current_request", default=None)
current_lang: ContextVar[str] = ContextVar("current_lang", default="nl")
current_csrf: ContextVar[str] = ContextVar("current_csrf", default="")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True
# jinja2.ext.i18n: {% trans %} and _()/gettext()/ngettext() use the same catalogs as t(),
# in the language of the page being rendered (newstyle: autoescaped, %(name)s filled).
env.add_extension("jinja2.ext.i18n")


def _lang(ctx: Context) -> str:
    return str(ctx.get("lang") or current_lang.get())


@pass_context
def _date_nl(ctx: Context, value: Any, style: str = "long") -> str:
    return i18n.format_date(value, style, _lang(ctx))


def _in_page_language(fn: Callable[..., str]) -> Callable[..., str]:
    """A formatting filter in the page's language unless lang= is given: ``x|eur`` on an
    English page is '€1,250', not the Dutch '€ 1.250'."""

    @pass_context
    def apply(ctx: Context, value: Any, *args: Any, **kwargs: Any) -> str:
        kwargs.setdefault("lang", _lang(ctx))
        return fn(value, *args, **kwargs)

    return apply


@pass_context
def _moment(ctx: Context, value: Any, style: str = "long", labelled: bool = True) -> str:
    return i18n.format_moment(value, _lang(ctx), style, labelled)


@pass_context
def _month(ctx: Context, value: str) -> str:
    return i18n.month_label(value, _lang(ctx))


@pass_context
def _cpv_label(ctx: Context, code: str) -> str:
    return cpv_label(code, _lang(ctx))


@pass_context
def _reason(ctx: Context, value: Any) -> str:
    """An engine reason, or a list of them read as one paragraph (a plan's explanation),
    in the page's language (api/reasons.py)."""
    if not value:
        return ""
    if isinstance(value, list | tuple):
        return reasons.sentence(value, _lang(ctx))
    return reasons.render(value, _lang(ctx))


@pass_context
def _free_capacity(ctx: Context, state: CapacityState) -> Markup:
    """An enterprise's free capacity, the one wording (api/capacity_view.py)."""
    return free_capacity_html(state, _lang(ctx))


@pass_context
def _msg(ctx: Context, value: Any) -> str:
    """A message (api.messages) in the page's language; plain text as it is."""
    if isinstance(value, Message):
        return value.render(_lang(ctx))
    if is_message_json(value):
        return from_json(value).render(_lang(ctx))
    return "" if value is None else str(value)


@pass_context
def _vetting_text(ctx: Context, value: str | None) -> str:
    """A vetting event's reason or author (an import's words name the file, no path)."""
    return render_text(event_text(value), _lang(ctx))


def _t(text: str, **params: Any) -> str:
    """Global fallback for macros imported without context; pages get a per-request t."""
    return i18n.translate(text, current_lang.get(), **params)


def _tn(singular: str, plural: str, n: int, **params: Any) -> str:
    """Global fallback of the plural ``tn`` for macros imported without context."""
    return i18n.translate_plural(singular, plural, n, current_lang.get(), **params)


def _gettext(message: str) -> str:
    return i18n.translations(current_lang.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(current_lang.get()).ngettext(singular, plural, n)


class _CsrfToken:
    """Renders as the current request's CSRF token (global fallback for macros)."""

    def __str__(self) -> str:
        return current_csrf.get()

    def __html__(self) -> str:
        return current_csrf.get()


def _municipality(code: str | None) -> str:
    if not code:
        return "–"
    muni = municipalities().get(code)
    return muni.name if muni else code


@pass_context
def _url_with(ctx: Context, **changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    request = ctx.get("request") or current_request.get()
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    for key, value in changes.items():
        if value is None or value == "":
            continue
        if isinstance(value, list | tuple):
            params.extend((key, str(v)) for v in value)
        else:
            params.append((key, str(value)))
    query = urlencode(params)
    return request.url.path + ("?" + query if query else "")


env.filters.update(
    eur=_in_page_language(i18n.format_eur),
    num=_in_page_language(i18n.format_number),
    score=_in_page_language(i18n.format_score),
    pct=_in_page_language(i18n.format_pct),
    km=_in_page_language(i18n.format_km),
    moment=_moment,
    date_nl=_date_nl,
    month=_month,
    cpv_label=_cpv_label,
    municipality=_municipality,
    reason=_reason,
    msg=_msg,
    vetting_text=_vetting_text,
)
env.globals.update(url_with=_url_with, t=_t, tn=_tn, csrf_token=_CsrfToken(),
                   free_capacity=_free_capacity)
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=_gettext, ngettext=_ngettext, newstyle=True)
