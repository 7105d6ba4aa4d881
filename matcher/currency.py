"""Amounts in other currencies, converted to euros with the ECB's euro reference rates.

The one owner of currency conversion. The rates are reference data
(``matcher/data/ecb_eurofxref_monthly.csv``: the monthly average of the ECB's daily euro
foreign exchange reference rates, units of the currency per euro; source and derivation
in ``matcher/data/README.md``). A notice's amount is converted with the rate of the month
of the notice's date, or of the nearest earlier month the table has; the conversion says
which rate and which month it used, so what is shown can be checked.

``python -m matcher.currency eurofxref-hist.csv > matcher/data/ecb_eurofxref_monthly.csv``
derives the table again from the ECB's daily history file.
"""

from __future__ import annotations

import csv
import io
import sys
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "ecb_eurofxref_monthly.csv"
SOURCE = "ECB euro foreign exchange reference rates, monthly average"


class CurrencyError(ValueError):
    """An amount that cannot be converted: unknown currency, or no rate for its date."""


@dataclass(frozen=True)
class Conversion:
    """An amount converted to euros, with the rate used (units of ``currency`` per euro)."""

    amount: float
    currency: str
    eur: float
    rate: float
    rate_month: str  # "2011-01": the month whose average rate was used
    source: str = SOURCE

    def to_dict(self) -> dict[str, object]:
        return {"amount": self.amount, "currency": self.currency, "eur": self.eur,
                "rate": self.rate, "rate_month": self.rate_month, "rate_source": self.source}


@dataclass(frozen=True)
class RateTable:
    """Monthly rates per currency: ``months[c]`` sorted "YYYY-MM", ``rates[c]`` alike."""

    months: dict[str, list[str]]
    rates: dict[str, list[float]]

    @property
    def currencies(self) -> list[str]:
        return sorted(self.months)

    def rate(self, currency: str, on: date, *, within: bool = False) -> tuple[float, str]:
        """(units per euro, month used) for ``on``'s month or the nearest earlier one.
        ``within``: only a date inside the table's months for that currency (a month
        after its last one raises too, instead of taking the last rate)."""
        code = currency.strip().upper()
        months = self.months.get(code)
        if not months:
            raise CurrencyError(f"no euro reference rate for currency {code!r}")
        month = f"{on.year:04d}-{on.month:02d}"
        if within and month > months[-1]:
            raise CurrencyError(f"no euro reference rate for {code} in {month} (the table "
                                f"ends {months[-1]})")
        i = bisect_right(months, month) - 1
        if i < 0:
            raise CurrencyError(f"no euro reference rate for {code} on or before "
                                f"{on.isoformat()} (the table starts {months[0]})")
        return self.rates[code][i], months[i]


def parse_table(lines: Iterable[str]) -> RateTable:
    """The monthly table: ``month,USD,JPY,…`` with an empty cell where there is no rate."""
    months: dict[str, list[str]] = {}
    rates: dict[str, list[float]] = {}
    for row in sorted(csv.DictReader(lines), key=lambda r: r["month"]):
        for code, cell in row.items():
            if code == "month" or not code or not (cell or "").strip():
                continue
            months.setdefault(code, []).append(row["month"])
            rates.setdefault(code, []).append(float(cell))
    return RateTable(months, rates)


@lru_cache(maxsize=1)
def rate_table() -> RateTable:
    with open(DATA_FILE, encoding="utf-8") as fh:
        return parse_table(fh)


def to_eur(amount: float, currency: str, on: date, table: RateTable | None = None, *,
           within: bool = False) -> Conversion:
    """``amount`` of ``currency`` in euros at the rate of ``on``'s month (or the nearest
    earlier month; ``within``: refuse a month after the table's last, as a purchase
    ledger does, whose lines are recent and must not take a stale rate silently).
    Euro amounts come back unchanged with rate 1. Raises CurrencyError."""
    code = currency.strip().upper()
    if code == "EUR":
        return Conversion(amount, code, amount, 1.0, f"{on.year:04d}-{on.month:02d}", "")
    rate, month = (table or rate_table()).rate(code, on, within=within)
    return Conversion(amount, code, round(amount / rate, 2), rate, month)


def monthly_averages(daily: Iterable[str]) -> str:
    """The ECB's daily history CSV (``Date,USD,JPY,…`` with ``N/A`` where there is no
    rate) -> the monthly table as CSV text: per month and currency the mean of the days
    with a rate, rounded to 6 significant digits."""
    sums: dict[tuple[str, str], tuple[float, int]] = {}
    codes: list[str] = []
    for row in csv.DictReader(daily):
        month = row["Date"][:7]
        for code, cell in row.items():
            if code in ("Date", "") or code is None:
                continue
            if code not in codes:
                codes.append(code)
            cell = (cell or "").strip()
            if not cell or cell == "N/A":
                continue
            total, n = sums.get((month, code), (0.0, 0))
            sums[(month, code)] = (total + float(cell), n + 1)
    kept = [c for c in codes if any(k[1] == c for k in sums)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", *kept])
    for month in sorted({m for m, _ in sums}):
        cells = []
        for code in kept:
            got = sums.get((month, code))
            cells.append(f"{got[0] / got[1]:.6g}" if got else "")
        writer.writerow([month, *cells])
    return out.getvalue()


if __name__ == "__main__":  # pragma: no cover - the derivation of the reference file
    if len(sys.argv) != 2:
        sys.exit("usage: python -m matcher.currency eurofxref-hist.csv")
    with open(sys.argv[1], encoding="utf-8") as fh:
        sys.stdout.write(monthly_averages(fh))
