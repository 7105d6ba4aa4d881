"""matcher.currency: the ECB monthly table, conversion by the notice's month, and the
importers' reading of amounts (common.read_value)."""

from __future__ import annotations

from datetime import date

import pytest

from api.importers.common import ItemError, municipality_in_text, nuts_level, read_value
from api.messages import render_text
from matcher.currency import CurrencyError, monthly_averages, parse_table, rate_table, to_eur

DAILY = """Date,USD,GBP,CYP,
2011-02-01,1.40,0.85,N/A,
2011-01-31,1.36,0.86,N/A,
2011-01-03,1.30,0.84,N/A,
"""


def test_monthly_averages_of_the_daily_history() -> None:
    table = parse_table(monthly_averages(DAILY.splitlines()).splitlines())
    assert table.currencies == ["GBP", "USD"]  # a currency with no rate at all is dropped
    assert table.rate("USD", date(2011, 1, 20)) == (pytest.approx(1.33), "2011-01")
    assert table.rate("GBP", date(2011, 2, 28)) == (0.85, "2011-02")
    # The nearest earlier month when the date's month is not in the table.
    assert table.rate("GBP", date(2012, 7, 1)) == (0.85, "2011-02")
    with pytest.raises(CurrencyError, match="table starts 2011-01"):
        table.rate("GBP", date(2010, 12, 31))
    with pytest.raises(CurrencyError, match="'XYZ'"):
        table.rate("XYZ", date(2011, 1, 5))


def test_the_shipped_table() -> None:
    table = rate_table()
    assert {"USD", "GBP", "NOK", "DKK", "SEK", "CZK", "PLN", "CHF"} <= set(table.currencies)
    first, last = table.months["USD"][0], table.months["USD"][-1]
    assert first == "1999-01" and last >= "2026-01"
    # DKK is pegged to the euro within a narrow band: every month near 7.45.
    assert all(7.4 < r < 7.5 for r in table.rates["DKK"])
    conv = to_eur(1000, "dkk", date(2020, 5, 17))
    assert conv.currency == "DKK" and conv.rate_month == "2020-05"
    assert conv.eur == pytest.approx(1000 / conv.rate, abs=0.01)
    assert to_eur(1000, "EUR", date(2020, 5, 17)).eur == 1000


@pytest.mark.parametrize(("amount", "currency", "eur", "warned"), [
    ("", "", None, None),  # empty strings are absent: no value, no warning
    (None, "EUR", None, None),
    ("1200.50", "EUR", 1200.5, None),
    ("twelve", "EUR", None, "is not a number"),
    (-5, "EUR", None, "is negative"),
    (100, "", None, "has no currency"),
    (100, "XYZ", None, "no euro reference rate for currency 'XYZ'"),
])
def test_read_value(amount: object, currency: object, eur: float | None,
                    warned: str | None) -> None:
    warnings: list[ItemError] = []
    got, _ = read_value(amount, currency, date(2024, 1, 1), "tender.value", "f.json", warnings)
    assert got == eur
    texts = [render_text(w.reason, "en") for w in warnings]
    assert [x for x in texts if warned and warned in x] or warned is None
    assert len(warnings) == (1 if warned else 0)


@pytest.mark.parametrize(("text", "code"), [
    ("Heemstede/Bloemendaal", "GM0397"),
    ("werkzaamheden in de gemeente Best", "GM0753"),
    ("Best practices voor schoonmaak", None),  # a common word at a sentence's start
    ("Levering te Goes en Middelburg", "GM0664"),
    ("Den Haag, Laakhaven", "GM0518"),  # the informal name
    ("'s-Hertogenbosch", "GM0796"),
    ("de beste huizen van het land", None),
])
def test_municipality_in_free_text(text: str, code: str | None) -> None:
    got = municipality_in_text(text)
    assert (got.code if got else None) == code


@pytest.mark.parametrize(("code", "level"), [
    ("NL32B", 3), ("UKL21", 3), ("DE21A", 3), ("FI1B1", 3), ("NL3", 1), ("NL", 0),
    ("WALES", None), ("ESSEX", None), ("NLZZZ", None), ("London", None),
])
def test_nuts_level(code: str, level: int | None) -> None:
    assert nuts_level(code) == level
