"""Dutch UI by default, English through a switch; Dutch number and date conventions.

Templates and code write Dutch text as ``{{ t("Ondernemingen") }}`` /
``t("Welkom, {name}", name=...)``; counted texts as ``tn("{n} besluit", "{n} besluiten", n)``.
The Dutch text is the gettext msgid; English lives in gettext catalogs,
``api/translations/en/<team>.po`` (one per team, merged at load by
``api/i18n_catalogs.py`` with Babel). A missing translation falls back to the Dutch text:
a gap shows Dutch, never a key (and tests/web/test_translations.py fails on it).
"""

from __future__ import annotations

import gettext
import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from starlette.requests import Request

from api import i18n_catalogs
from api.settings import get_settings

LANGUAGES = ("nl", "en")
LANG_COOKIE = "lang"

MONTHS = {
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}
MONTHS_SHORT = {
    "nl": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}

Translator = Callable[..., str]

# Dutch is the msgid: its "translations" are the identity (ngettext picks singular for 1).
_DUTCH = gettext.NullTranslations()


def translations(lang: str) -> gettext.NullTranslations:
    """The gettext translations of ``lang`` (English: the merged team catalogs)."""
    return i18n_catalogs.english_translations() if lang == "en" else _DUTCH


def english() -> dict[str, str]:
    """``{dutch: english}`` of every translated singular msgid (for tests and reports)."""
    return {e.msgid: e.msgstr for e in i18n_catalogs.entries()
            if isinstance(e.msgid, str) and isinstance(e.msgstr, str)}


def N_(text: str) -> str:
    """Marks a Dutch text for extraction that is translated later through a variable
    (label tables, exception messages): ``STATUS = {"open": N_("Open")}``."""
    return text


def _fill(out: str, fallback: str, params: dict[str, Any]) -> str:
    if not params:
        return out
    try:
        return out.format(**params)
    except (KeyError, IndexError, ValueError):
        # A translation with a wrong placeholder must not break the page.
        return fallback.format(**params)


def translate(text: str, lang: str, **params: Any) -> str:
    """Translate Dutch ``text``; ``{name}`` placeholders are filled from ``params``."""
    return _fill(translations(lang).gettext(text), text, params)


def translate_plural(singular: str, plural: str, n: int, lang: str, **params: Any) -> str:
    """The form of ``n`` in ``lang`` (CLDR plural rules through the catalog's Plural-Forms);
    ``{n}`` is filled with ``n`` formatted as a number of the language."""
    params.setdefault("n", format_number(n, lang=lang))
    dutch = singular if n == 1 else plural
    return _fill(translations(lang).ngettext(singular, plural, n), dutch, params)


def translator(lang: str) -> Translator:
    def t(text: str, **params: Any) -> str:
        return translate(text, lang, **params)

    return t


def plural_translator(lang: str) -> Callable[..., str]:
    def tn(singular: str, plural: str, n: int, **params: Any) -> str:
        return translate_plural(singular, plural, n, lang, **params)

    return tn


def request_lang(request: Request) -> str:
    """?lang= wins (the switch), then the cookie, then the configured default."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    default = get_settings().default_language
    return default if default in LANGUAGES else "nl"


def api_lang(request: Request) -> str:
    """The JSON API's language for texts: ?lang=, then the cookie, then the first of our
    languages in Accept-Language, then the configured default."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return request_lang(request)


# --- number and date formatting (Dutch conventions) -------------------------------

def _group(int_part: str) -> str:
    # Thousands separated by dots: 1234567 -> 1.234.567
    out: list[str] = []
    while len(int_part) > 3:
        out.insert(0, int_part[-3:])
        int_part = int_part[:-3]
    out.insert(0, int_part)
    return ".".join(out)


_EN_SEPARATORS = str.maketrans({".": ",", ",": "."})


def format_number(value: Any, decimals: int | None = None, lang: str = "nl") -> str:
    """1234.5 -> '1.234,5' (English: '1,234.5'). With decimals=None: whole numbers without
    decimals, others with up to two (trailing zeros dropped)."""
    if value is None or value == "":
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number) or math.isinf(number):
        return "–"
    strip = decimals is None
    if decimals is None:
        decimals = 0 if number == int(number) else 2
    text = f"{abs(number):.{decimals}f}"
    int_part, _, frac = text.partition(".")
    if strip:
        frac = frac.rstrip("0")
    sign = "-" if number < 0 and float(text) != 0 else ""
    out = sign + _group(int_part) + ("," + frac if frac else "")
    return out.translate(_EN_SEPARATORS) if lang == "en" else out


def format_eur(value: Any, compact: bool = False, decimals: int | None = None,
               lang: str = "nl") -> str:
    """'€ 1.234.567,89'; compact: '€ 1,2 mln', '€ 3,4 mld', '€ 12.500'
    (English: '€1,234,567.89', '€1.2m', '€3.4bn', '€12,500')."""
    if value is None or value == "":
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    en = lang == "en"
    if compact:
        for size, unit in ((1e9, "bn" if en else " mld"), (1e6, "m" if en else " mln")):
            if abs(number) >= size:
                digits = 1 if abs(number) < 100 * size else 0
                return f"€{'' if en else ' '}{format_number(number / size, digits, lang)}{unit}"
        return f"€{'' if en else ' '}{format_number(round(number), 0, lang)}"
    if decimals is None:
        decimals = 0 if number == int(number) else 2
    return f"€{'' if en else ' '}{format_number(number, decimals, lang)}"


def format_pct(value: Any, decimals: int | None = None, fraction: bool = False,
               lang: str = "nl") -> str:
    """5 -> '5 %' (English: '5%'); with fraction=True the value is a share (0.3 -> '30 %')."""
    if value is None or value == "":
        return "–"
    try:
        number = float(value) * (100 if fraction else 1)
    except (TypeError, ValueError):
        return str(value)
    if decimals is None:
        decimals = 0 if abs(number - round(number)) < 1e-9 else 1
    return f"{format_number(number, decimals, lang)}{'%' if lang == 'en' else ' %'}"


def format_km(value: Any, lang: str = "nl") -> str:
    if value is None or value == "":
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{format_number(number, 0 if number >= 10 else 1, lang)} km"


def format_date(value: Any, style: str = "long", lang: str = "nl") -> str:
    """'23 november 2026' (long), '23 nov 2026' (medium) or '23-11-2026' (short)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        moment = value
        value = value.date()
        if style == "datetime":
            return f"{format_date(value, 'long', lang)} {moment:%H:%M}"
    if not isinstance(value, date):
        return str(value)
    if style == "short":
        return f"{value.day:02d}-{value.month:02d}-{value.year}"
    months = MONTHS_SHORT if style == "medium" else MONTHS
    names = months.get(lang, months["nl"])
    return f"{value.day} {names[value.month - 1]} {value.year}"


def month_label(year_month: str, lang: str = "nl") -> str:
    """'2026-11' -> 'nov 2026'."""
    try:
        year, month = year_month.split("-")[:2]
        return f"{MONTHS_SHORT.get(lang, MONTHS_SHORT['nl'])[int(month) - 1]} {year}"
    except (ValueError, IndexError):
        return year_month
