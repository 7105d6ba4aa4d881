"""Dutch formatting, the language switch and translation coverage of the core templates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import i18n

ROOT = Path(__file__).resolve().parents[2]


def test_dutch_number_formatting() -> None:
    """One CLDR rule per kind of number (api/i18n.py's docstring), in Dutch."""
    # Money: whole euros; cents only when asked for (invoice lines); half rounds up.
    assert i18n.format_eur(1234567.89) == "€ 1.234.568"
    assert i18n.format_eur(159144.39) == "€ 159.144"
    assert i18n.format_eur(1234567.89, decimals=2) == "€ 1.234.567,89"
    assert i18n.format_eur(6500.5) == "€ 6.501"
    assert i18n.format_eur(2500) == "€ 2.500"
    assert i18n.format_eur(-0.3) == "€ 0"
    # Compact from a million: CLDR's short form with up to two decimals, in full below.
    assert i18n.format_eur(1_250_000, compact=True) == "€ 1,25 mln."
    assert i18n.format_eur(1_000_000, compact=True) == "€ 1 mln."
    assert i18n.format_eur(3_400_000_000, compact=True) == "€ 3,4 mld."
    assert i18n.format_eur(12_499.6, compact=True) == "€ 12.500"
    assert i18n.format_eur(None) == "–"
    assert i18n.format_number(1234.5) == "1.234,5"
    assert i18n.format_number(-1234567) == "-1.234.567"
    assert i18n.format_number(0.125, 2) == "0,13"
    assert i18n.format_number(-0.001, 2) == "0,00"
    assert i18n.format_score(0.6534) == "0,65"
    assert i18n.format_score(0.5) == "0,50"
    assert i18n.format_pct(5) == "5%"
    assert i18n.format_pct(2.5) == "2,5%"
    assert i18n.format_pct(0.3, fraction=True) == "30%"
    assert i18n.format_pct(0.04, fraction=True) == "4%"
    assert i18n.format_pct(100.0) == "100%"
    assert i18n.format_km(12.34) == "12,3 km"
    assert i18n.format_km(48.6) == "48,6 km"
    assert i18n.format_km(2.25) == "2,3 km"


def test_english_number_formatting() -> None:
    assert i18n.format_eur(1234567.89, lang="en") == "€1,234,568"
    assert i18n.format_eur(1234567.89, decimals=2, lang="en") == "€1,234,567.89"
    assert i18n.format_eur(1_250_000, compact=True, lang="en") == "€1.25m"
    assert i18n.format_eur(1_000_000_000, compact=True, lang="en") == "€1bn"
    assert i18n.format_eur(12_499.6, compact=True, lang="en") == "€12,500"
    assert i18n.format_number(1234.5, lang="en") == "1,234.5"
    assert i18n.format_score(0.6534, lang="en") == "0.65"
    assert i18n.format_pct(2.5, lang="en") == "2.5%"
    assert i18n.format_km(48.6, lang="en") == "48.6 km"


def test_dates() -> None:
    d = date(2026, 11, 23)
    assert i18n.format_date(d) == "23 november 2026"
    assert i18n.format_date(d, "short") == "23-11-2026"
    assert i18n.format_date(d, lang="en") == "23 November 2026"
    assert i18n.format_date(d, "short", lang="en") == "23/11/2026"
    assert i18n.format_date("2026-03-01", "medium") == "1 mrt 2026"
    assert i18n.month_label("2026-03") == "mrt 2026"
    assert i18n.month_label("2026-03", "en") == "Mar 2026"
    assert i18n.month_label("not-a-month") == "not-a-month"


def test_moments_are_amsterdam_time_and_say_so() -> None:
    winter = datetime(2026, 12, 3, 9, 15, tzinfo=UTC)  # CET: UTC+1
    assert i18n.format_moment(winter) == "3 december 2026 10:15 (Amsterdamse tijd)"
    assert i18n.format_moment(winter, "en") == "3 December 2026 10:15 (Amsterdam time)"
    # Summer time, and SQLite's naive UTC: 23:15 UTC is already the next day in Amsterdam.
    summer = datetime(2026, 6, 3, 23, 15)
    assert i18n.format_moment(summer, style="short") == "04-06-2026 01:15 (Amsterdamse tijd)"
    assert i18n.format_date(summer) == "4 juni 2026"
    from api.web.local_time import local_time

    assert local_time(summer, "nl", labelled=False) == "04-06-2026 01:15"


def test_message_parameters_follow_the_language() -> None:
    assert i18n.translate("{x}", "nl", x=i18n.Eur(12000)) == "€ 12.000"
    assert i18n.translate("{x}", "en", x=i18n.Eur(12000)) == "€12,000"
    assert i18n.translate("{x}", "en", x=i18n.Day(date(2026, 3, 1), "short")) == "01/03/2026"
    assert str(i18n.Pct(0.25)) == "25%"


def test_translation_falls_back_to_dutch() -> None:
    assert i18n.translate("Ondernemingen", "en") == "Enterprises"
    assert i18n.translate("Een zin zonder vertaling", "en") == "Een zin zonder vertaling"
    assert i18n.translate("Welkom, {name}", "en", name="Ada") == "Welcome, Ada"
    assert i18n.translate("Welkom, {name}", "nl", name="Ada") == "Welkom, Ada"


CORE_TEMPLATES = ["base.html", "_macros.html", "error.html", "home.html", "dashboard.html",
                  "auth/login.html", "auth/logout.html", "auth/account.html", "api_docs.html",
                  "enterprises/search.html", "enterprises/detail.html", "imports/import.html"]


def test_core_templates_are_translated() -> None:
    english = i18n.english()
    missing = set()
    for name in CORE_TEMPLATES:
        text = (ROOT / "templates" / name).read_text(encoding="utf-8")
        for match in re.finditer(r"""\bt\(\s*(["'])(.+?)\1""", text):
            if match.group(2) not in english:
                missing.add(match.group(2))
    assert not missing, f"add to api/translations/en/core.po: {sorted(missing)}"


@pytest.mark.postgres
def test_language_switch(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    nl = client.get("/")
    assert '<html lang="nl">' in nl.text
    assert "Ondernemingen" in nl.text
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text
    assert "Enterprises" in en.text
    assert en.cookies.get("lang") == "en" or client.cookies.get("lang") == "en"
    # The choice sticks through the cookie.
    assert "Enterprises" in client.get("/enterprises").text
    back = client.get("/enterprises?lang=nl")
    assert "Ondernemingen" in back.text


@pytest.mark.postgres
def test_pages_use_dutch_numbers(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    page = client.get("/enterprises/E-001").text
    assert "€ 60.000" in page  # purchasing capacity of E-001
    dash = client.get("/dashboard").text
    assert "€" in dash and "<svg" in dash
