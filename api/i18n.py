"""Dutch UI by default, English through a switch; Dutch number and date conventions.

Templates and code write Dutch text as ``{{ t("Ondernemingen") }}`` /
``t("Welkom, {name}", name=...)``; counted texts as ``tn("{n} besluit", "{n} besluiten", n)``.
The Dutch text is the gettext msgid; English lives in gettext catalogs,
``api/translations/en/<team>.po`` (one per team, merged at load by
``api/i18n_catalogs.py`` with Babel). A missing translation falls back to the Dutch text:
a gap shows Dutch, never a key (and tests/web/test_translations.py fails on it).

Numbers and dates follow CLDR through Babel (locales nl_NL and en_GB), ONE rule per kind,
the same on pages, CSV and PDF (the template filters of the same names call these):

- counts, plain figures  format_number   '1.234' / '1.234,5' (up to 2 decimals, none if whole)
- scores and weights     format_score    always 2 decimals: '0,65' / '0.65'
- money                  format_eur      whole euros: '€ 159.144' / '€159,144';
                                         decimals=2 only where cents are real (invoice and
                                         ledger lines, deliveries): '€ 1.234,56';
                                         compact (headline figures): from € 1 mln CLDR's short
                                         form, up to 2 decimals: '€ 1,25 mln.' / '€1.25m'
- percentages            format_pct      at most 1 decimal, none if whole: '5%', '2,5%'
- distances              format_km       1 decimal: '2,4 km', '48,6 km'
- dates                  format_date     '23 november 2026' / '23 November 2026' (long),
                                         '23 nov 2026' (medium), '23-11-2026' (short)
- months                 month_label     'nov 2026' / 'Nov 2026'
- moments (timestamps)   format_moment   in Europe/Amsterdam, labelled:
                                         '3 december 2026 10:15 (Amsterdamse tijd)'
"""

from __future__ import annotations

import gettext
import math
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel.numbers import NumberPattern, format_compact_currency, parse_pattern
from babel.units import format_unit
from starlette.requests import Request

from api import i18n_catalogs
from api.clock import AMSTERDAM
from api.settings import get_settings

LANGUAGES = ("nl", "en")
LANG_COOKIE = "lang"


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


class _Localized:
    """A value formatted in the language of the text it fills (see :class:`Eur`); Dutch
    where no language is known (``str(exc)``, logs)."""

    def localize(self, lang: str) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.localize("nl")

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True)
class Eur(_Localized):
    """A message parameter formatted when the message is shown, in its language:
    ``Invalid("...", "Boven het budget ({budget}).", budget=Eur(12000))`` reads
    '€ 12.000' in Dutch and '€12,000' in English (the raiser doesn't know the language)."""

    value: Any
    decimals: int | None = None

    def localize(self, lang: str) -> str:
        return format_eur(self.value, decimals=self.decimals, lang=lang)


@dataclass(frozen=True)
class Num(_Localized):
    value: Any
    decimals: int | None = None

    def localize(self, lang: str) -> str:
        return format_number(self.value, self.decimals, lang)


@dataclass(frozen=True)
class Pct(_Localized):
    """A share (0.3 -> '30%'); fraction=False for a value already in percent (5 -> '5%')."""

    value: Any
    fraction: bool = True

    def localize(self, lang: str) -> str:
        return format_pct(self.value, fraction=self.fraction, lang=lang)


@dataclass(frozen=True)
class Day(_Localized):
    value: Any
    style: str = "long"

    def localize(self, lang: str) -> str:
        return format_date(self.value, self.style, lang)


@dataclass(frozen=True)
class Moment(_Localized):
    value: Any

    def localize(self, lang: str) -> str:
        return format_moment(self.value, lang)



def _fill(out: str, fallback: str, params: dict[str, Any], lang: str = "nl") -> str:
    if not params:
        return out
    params = {k: v.localize(lang) if isinstance(v, _Localized) else v
              for k, v in params.items()}
    try:
        return out.format(**params)
    except (KeyError, IndexError, ValueError):
        # A translation with a wrong placeholder must not break the page.
        return fallback.format(**params)


def translate(text: str, lang: str, **params: Any) -> str:
    """Translate Dutch ``text``; ``{name}`` placeholders are filled from ``params``."""
    return _fill(translations(lang).gettext(text), text, params, lang)


def translate_plural(singular: str, plural: str, n: int, lang: str, **params: Any) -> str:
    """The form of ``n`` in ``lang`` (CLDR plural rules through the catalog's Plural-Forms);
    ``{n}`` is filled with ``n`` formatted as a number of the language."""
    params.setdefault("n", format_number(n, lang=lang))
    dutch = singular if n == 1 else plural
    return _fill(translations(lang).ngettext(singular, plural, n), dutch, params, lang)


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
    header = accept_language(request.headers.get("accept-language", ""))
    return header or request_lang(request)


def accept_language(header: str) -> str | None:
    """The best of our languages in an Accept-Language header, by its q-values:
    'de, en;q=0.8, nl;q=0.9' -> 'nl'; None when it names neither."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower()[:2]
        if language in LANGUAGES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


# --- numbers and dates: CLDR through Babel, one rule per kind ------------------------

LOCALES = {"nl": Locale.parse("nl_NL"), "en": Locale.parse("en_GB")}
# The zone every moment shown to a user is in, named after the time (clock owns the zone).
ZONE_LABEL = {"nl": "Amsterdamse tijd", "en": "Amsterdam time"}
COMPACT_FROM = 1_000_000  # below a million, amounts are written in full
_EMPTY = "–"


def _plain(text: str) -> str:
    # CLDR puts no-break spaces in "€ 1,25 mln."; pages, CSV cells and test strings use a
    # plain space (a CSV reader or a search for "€ 1.250" must find it).
    return text.replace("\xa0", " ").replace("\u202f", " ")


def _locale(lang: str) -> Locale:
    return LOCALES.get(lang, LOCALES["nl"])


def _rounded(number: float, places: int) -> Decimal:
    """Half away from zero, as people round money (Python's round() and Babel round half
    to even: 6500,5 would show as 6500); never a negative zero."""
    out = Decimal(repr(number)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return out if out != 0 else abs(out)


def _number(value: Any) -> float | None:
    """The value as a finite float, or None for blanks, NaN and infinities."""
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


@lru_cache(maxsize=256)
def _with_fraction(pattern: str, low: int, high: int) -> NumberPattern:
    # The locale's own pattern (grouping, sign, currency place) with our number of decimals.
    # Cached: parsing the pattern was a third of the time of a page with a match table
    # (a few hundred numbers); the pattern is only read after this (``apply``).
    out = copy(parse_pattern(pattern))
    out.frac_prec = (low, high)
    return out


def format_number(value: Any, decimals: int | None = None, lang: str = "nl") -> str:
    """Counts and plain figures. 1234.5 -> '1.234,5' (English '1,234.5'); with decimals=None
    whole numbers have no decimals and others up to two; decimals=k gives exactly k."""
    try:
        number = _number(value)
    except (TypeError, ValueError):
        return str(value)
    if number is None:
        return _EMPTY
    locale = _locale(lang)
    low, high = (0, 2) if decimals is None else (decimals, decimals)
    pattern = _with_fraction(locale.decimal_formats[None].pattern, low, high)
    return _plain(pattern.apply(_rounded(number, high), locale))


def format_score(value: Any, lang: str = "nl") -> str:
    """Scores and weights (0..1): always two decimals, the locale's separator: '0,65'."""
    return format_number(value, 2, lang)


def format_eur(value: Any, compact: bool = False, decimals: int | None = None,
               lang: str = "nl") -> str:
    """Money. Whole euros ('€ 159.144'; English '€159,144'): plans, obligations, capacities
    and values are estimates in euros. decimals=2 for amounts where cents are real (invoice
    and ledger lines, deliveries): '€ 1.234,56'. compact: from a million CLDR's short form
    with up to two decimals ('€ 1,25 mln.', '€ 3,4 mld.'; English '€1.25m', '€3.4bn'),
    below it in full."""
    try:
        number = _number(value)
    except (TypeError, ValueError):
        return str(value)
    if number is None:
        return _EMPTY
    locale = _locale(lang)
    if compact and abs(number) >= COMPACT_FROM:
        return _plain(format_compact_currency(number, "EUR", locale=locale, fraction_digits=2))
    places = 0 if compact or decimals is None else decimals
    pattern = _with_fraction(locale.currency_formats["standard"].pattern, places, places)
    return _plain(pattern.apply(_rounded(number, places), locale, currency="EUR",
                                currency_digits=False))


def format_pct(value: Any, decimals: int | None = None, fraction: bool = False,
               lang: str = "nl") -> str:
    """Percentages, CLDR's percent sign: at most one decimal, none when whole ('5%', '2,5%',
    '100%'); decimals=k gives exactly k. fraction=True: the value is a share (0.3 -> '30%')."""
    try:
        number = _number(value)
    except (TypeError, ValueError):
        return str(value)
    if number is None:
        return _EMPTY
    share = number if fraction else number / 100
    locale = _locale(lang)
    low, high = (0, 1) if decimals is None else (decimals, decimals)
    pattern = _with_fraction(locale.percent_formats[None].pattern, low, high)
    return _plain(pattern.apply(_rounded(share, high + 2), locale))


def format_km(value: Any, lang: str = "nl") -> str:
    """Distances: kilometres with one decimal ('2,4 km', '48,6 km'; English '48.6 km')."""
    try:
        number = _number(value)
    except (TypeError, ValueError):
        return str(value)
    if number is None:
        return _EMPTY
    return _plain(format_unit(_rounded(number, 1), "length-kilometer", length="short",
                              format="#,##0.0", locale=_locale(lang)))


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return to_amsterdam(value).date()  # the day it was in Amsterdam
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def format_date(value: Any, style: str = "long", lang: str = "nl") -> str:
    """CLDR dates: '23 november 2026' (long), '23 nov 2026' (medium), '23-11-2026' (short;
    English '23/11/2026'). style='datetime' is a moment: :func:`format_moment`."""
    if value is None or value == "":
        return _EMPTY
    if style == "datetime":
        return format_moment(value, lang)
    day = _as_date(value)
    if day is None:
        return str(value)
    return babel_dates.format_date(day, style if style in {"short", "medium", "long"}
                                   else "long", locale=_locale(lang))


def to_amsterdam(moment: datetime) -> datetime:
    """A stored instant (aware, or naive UTC as SQLite returns it) in Europe/Amsterdam."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(AMSTERDAM)


def format_moment(value: Any, lang: str = "nl", style: str = "long",
                  labelled: bool = True) -> str:
    """A moment shown to a user: in Europe/Amsterdam and saying so,
    '3 december 2026 10:15 (Amsterdamse tijd)' / '3 December 2026 10:15 (Amsterdam time)';
    style='short': '03-12-2026 10:15'. labelled=False where a column header names the zone."""
    if value is None or value == "":
        return _EMPTY
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return format_date(value, "long", lang)
    local = to_amsterdam(value)
    locale = _locale(lang)
    day = babel_dates.format_date(local.date(), "short" if style == "short" else "long",
                                  locale=locale)
    text = f"{day} {babel_dates.format_time(local, 'HH:mm', locale=locale)}"
    return f"{text} ({ZONE_LABEL.get(lang, ZONE_LABEL['nl'])})" if labelled else text


def month_label(year_month: str, lang: str = "nl") -> str:
    """'2026-11' -> 'nov 2026' (English 'Nov 2026'), CLDR's year-and-short-month."""
    try:
        year, month = year_month.split("-")[:2]
        first = date(int(year), int(month), 1)
    except (ValueError, IndexError):
        return year_month
    return babel_dates.format_skeleton("yMMM", first, locale=_locale(lang))
