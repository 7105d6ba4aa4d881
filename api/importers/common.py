"""What the published-tender parsers (OCDS, eForms) share: the parsed form they return
(``ParsedTenders`` of ``TenderData``), per-item errors, dates and place resolution.
Parsing only: ``api.services.importing`` writes what they return.

Social signals use one vocabulary for both formats, so the engine need not know
where a tender came from:

* ``social-objective:<code>`` eForms BT-775 codes (``opp``, ``acc-all``, ``et-eq``,
  ``gen-eq``, ``hum-right``, ``work-cond``, ``other``); OCDS ``sustainability[].goal``
  ``social.*`` values are mapped onto them (unknown ones kept as ``social-objective:social.x``);
* ``strategic:soc-obj`` eForms BT-06 "fulfilment of social objectives";
* ``reserved-participation:<code>`` eForms BT-71 (``res-ws``, ``res-pub-ser``); OCDS
  ``otherRequirements.reservedParticipation`` mapped onto them;
* ``reserved-execution`` eForms BT-736 = yes / OCDS ``contractTerms.reservedExecution``;
* ``has-sustainability`` OCDS ``lots[].hasSustainability`` (not necessarily social);
* ``vcse`` UK Contracts Finder ``tender.suitability.vcse``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from api.importers.sroi_text import SroiDetection
from matcher.refdata import municipalities, nuts3_regions, resolve_municipality

HERE = Path(__file__).parent


@dataclass
class ItemError:
    """One reason an item (release / notice) was rejected, with where it was found."""

    location: str  # "file.json: releases[3] (ocid ocds-x-1)"
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.location}, {self.field}" if self.field else self.location
        return f"{where}: {self.reason}"


@dataclass
class TenderData:
    """A tender parsed from a published notice, validated, ready to store."""

    ref: str
    location: str
    source: str
    buyer: str
    title: str
    cpv: list[str]
    description: str = ""
    contract_value_eur: float | None = None
    start: date | None = None
    end: date | None = None
    municipality_code: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    nuts3: str | None = None
    social_signals: list[str] = field(default_factory=list)
    reserved: bool = False
    sroi: SroiDetection | None = None
    # When the publisher issued this version (ISO date-time): an older version never
    # overwrites a newer one already stored.
    as_of: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # A change, modification or completion notice: it updates the stored tender of its
    # procedure and never creates one (the store refuses it when none is stored), and a
    # field it leaves empty keeps the stored value.
    update_only: bool = False


@dataclass
class ItemOutcome:
    location: str
    ref: str | None
    action: str  # created | updated | unchanged | stale | rejected | not written
    errors: list[ItemError] = field(default_factory=list)


@dataclass
class ParsedTenders:
    """What a published-tender parser returns: valid tenders, rejected items, and
    problems with the file as a whole."""

    tenders: list[TenderData] = field(default_factory=list)
    rejected: list[ItemOutcome] = field(default_factory=list)
    file_errors: list[ItemError] = field(default_factory=list)


# --- values ---------------------------------------------------------------------------


def parse_date(value: object) -> date | None:
    """An ISO date or date-time as publishers write it ("2010-06-01T00:00:00Z",
    "2019-09-01+02:00", "2023-05-26Z") -> date. Raises ValueError when malformed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {value!r}")
    m = re.match(r"^\s*(\d{4}-\d{2}-\d{2})", value)
    if not m:
        raise ValueError(f"{value!r} is not an ISO date")
    return date.fromisoformat(m.group(1))


def add_duration(start: date, amount: float, unit: str) -> date:
    unit = unit.upper()
    if unit in ("DAY", "DAYS", "D"):
        return start + timedelta(days=round(amount))
    if unit in ("WEEK", "WEEKS"):
        return start + timedelta(weeks=amount)
    months = round(amount * (12 if unit in ("YEAR", "YEARS", "ANN") else 1))
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    day = min(start.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                          31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])
    return date(year, month, day) - timedelta(days=1)


def dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# --- place ----------------------------------------------------------------------------

_NUTS3_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}$")
_NL_COUNTRIES = {"NL", "NLD", "NETHERLANDS", "NEDERLAND", "THE NETHERLANDS"}
_POSTCODE_RE = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})?\s*$")


@lru_cache(maxsize=1)
def nuts3_centroids() -> dict[str, str]:
    """Dutch NUTS3 (COROP) region -> CBS code of its largest municipality."""
    out: dict[str, str] = {}
    with open(HERE / "nuts3_centroids.csv", encoding="utf-8") as fh:
        rows = (line for line in fh if not line.startswith("#"))
        for row in csv.DictReader(rows):
            out[row["nuts3"]] = row["municipality_code"]
    return out


@dataclass
class Place:
    municipality_code: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    nuts3: str | None = None
    how: str | None = None  # municipality | nuts3-centroid


def resolve_place(
    nuts_codes: list[str], cities: list[str], postcodes: list[str], countries: list[str]
) -> Place:
    """The place of performance from what a notice gives, best evidence first:
    a Dutch municipality named in the address, else the largest municipality of the
    Dutch NUTS3 region. Foreign NUTS3 codes are kept (``nuts3``) without a location."""
    place = Place()
    codes = [c.strip().upper() for c in nuts_codes if isinstance(c, str) and c.strip()]
    dutch = [c for c in codes if c in nuts3_regions() and c != "NLZZZ"]
    level3 = [c for c in codes if _NUTS3_RE.match(c)]
    place.nuts3 = (dutch or level3)[0] if (dutch or level3) else None
    foreign = bool(countries) and not any(
        c.strip().upper() in _NL_COUNTRIES for c in countries if isinstance(c, str)
    )
    if not foreign and (dutch or not level3):
        for city in cities:
            if not isinstance(city, str) or not city.strip():
                continue
            muni = resolve_municipality(city)
            if muni is not None:
                place.municipality_code, place.lat, place.lon = muni.code, muni.lat, muni.lon
                place.how = "municipality"
                break
        for pc in postcodes:
            m = _POSTCODE_RE.match(pc) if isinstance(pc, str) else None
            if m:
                place.postcode = (m.group(1) + (m.group(2) or "").upper())[:7]
                break
    if place.municipality_code is None and dutch:
        code = nuts3_centroids().get(dutch[0])
        muni = municipalities().get(code) if code else None
        if muni is not None:
            place.municipality_code, place.lat, place.lon = muni.code, muni.lat, muni.lon
            place.how = "nuts3-centroid"
    return place


def normalise_timestamp(value: object) -> str | None:
    """A publisher's date or date-time as "YYYY-MM-DDTHH:MM:SS" (UTC when an offset is
    given), comparable as text; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        m = re.match(r"^(\d{4}-\d{2}-\d{2})", raw)
        return f"{m.group(1)}T00:00:00" if m else None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt.isoformat(timespec="seconds")
