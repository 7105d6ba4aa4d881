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
from xml.etree.ElementTree import Element, ParseError
from xml.etree.ElementTree import fromstring as _fast_fromstring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

from api.importers.sroi_text import SroiDetection
from api.messages import Message, Text, msg, render_text, to_json
from matcher.currency import CurrencyError, to_eur
from matcher.refdata import (
    Municipality,
    fold,
    municipalities,
    nuts3_regions,
    resolve_municipality,
)

HERE = Path(__file__).parent


# A notice's place as the eForms and TED importers write it ("file.xml: notice 123",
# "file.xml: TED notice 067028-2021"); location_text says it in the reader's language.
_NOTICE_LOCATION = re.compile(r"^(?P<file>.*): (?P<ted>TED )?notice (?P<id>\S+)$")


def location_text(location: str) -> Text:
    """An item's place for the reader: a notice's (see above) as a message; a JSON path
    (``releases[3] (ocid ocds-x-1)``) is the file's own words and stays as it is."""
    m = _NOTICE_LOCATION.match(location)
    if m is None:
        return location
    if m["ted"]:
        return msg("{file}: TED-aankondiging {id}", file=m["file"], id=m["id"])
    return msg("{file}: aankondiging {id}", file=m["file"], id=m["id"])


@dataclass
class ItemError:
    """One reason an item (release / notice) was rejected, or (as a warning) why one of
    its fields was left empty, with where it was found."""

    location: str  # "file.json: releases[3] (ocid ocds-x-1)"; said by location_text
    reason: Text  # a message (api.messages), rendered in the reader's language
    field: str | None = None

    def __str__(self) -> str:
        return self.render("nl")

    def render(self, lang: str) -> str:
        where = render_text(location_text(self.location), lang)
        where = f"{where}, {self.field}" if self.field else where
        return f"{where}: {render_text(self.reason, lang)}"

    def to_dict(self) -> dict[str, Any]:
        return {"location": to_json(location_text(self.location)),
                "reason": to_json(self.reason), "field": self.field}


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
    # The procedure's state as published, in our words (``CLOSED_STATUSES`` are kept but
    # not offered for matching); None = open.
    status: str | None = None
    # The buyer's identifier as published (OCDS buyer.id / party identifier, eForms
    # organisation id): with the name, tells one buyer from another sharing a ref.
    buyer_id: str | None = None
    # Fields that could not be read and were left empty, each naming field and reason.
    warnings: list[ItemError] = field(default_factory=list)


@dataclass
class ItemOutcome:
    location: str
    ref: str | None
    action: str  # created | updated | unchanged | stale | rejected | not written
    errors: list[ItemError] = field(default_factory=list)
    warnings: list[ItemError] = field(default_factory=list)


@dataclass
class ParsedTenders:
    """What a published-tender parser returns: valid tenders, rejected items, and
    problems with the file as a whole."""

    tenders: list[TenderData] = field(default_factory=list)
    rejected: list[ItemOutcome] = field(default_factory=list)
    file_errors: list[ItemError] = field(default_factory=list)
    # About the file as a whole, not refusing it ("the package has no releases").
    file_warnings: list[ItemError] = field(default_factory=list)


# Published procedure states that are kept and shown but never offered for matching.
CLOSED_STATUSES = ("cancelled", "unsuccessful", "completed", "withdrawn")


# --- values ---------------------------------------------------------------------------


class DateError(ValueError):
    """A date as a publisher wrote it that is not one; ``message`` says why, in the
    reader's language (api.messages)."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


def crash_text(exc: Exception) -> str:
    """An unexpected error inside one item, as a value of its message (the type names
    it for a bug report; the item is refused, the file goes on)."""
    return f"{exc.__class__.__name__}: {exc}"


def parse_date(value: object) -> date | None:
    """An ISO date or date-time as publishers write it ("2010-06-01T00:00:00Z",
    "2019-09-01+02:00", "2023-05-26Z") -> date. Raises DateError when malformed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DateError(msg("verwacht een datum als tekst, gekregen: {value}",
                            value=repr(value)))
    m = re.match(r"^\s*(\d{4}-\d{2}-\d{2})", value)
    if not m:
        raise DateError(msg("{value} is geen ISO-datum", value=repr(value)))
    try:
        return date.fromisoformat(m.group(1))
    except ValueError:
        raise DateError(msg("{value} is geen bestaande datum", value=repr(value))) from None


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


# --- value ----------------------------------------------------------------------------


def blank(value: object) -> bool:
    """Absent as publishers write it: missing, null or an empty string."""
    return value is None or (isinstance(value, str) and not value.strip())


def _not_a_number(amount: object) -> Message:
    return msg("bedrag {amount} is geen getal; leeg gelaten", amount=repr(amount))


def read_value(amount: object, currency: object, on: date | None, field: str, loc: str,
               warnings: list[ItemError]) -> tuple[float | None, dict[str, Any] | None]:
    """A published amount -> (euros, what was read). Never refuses the tender: an amount
    that cannot be read or converted leaves the euro value empty with a warning naming
    ``field`` and the reason. A non-euro amount is kept with its currency and converted
    with the ECB reference rate of ``on``'s month (or the nearest earlier month):
    ``matcher.currency`` owns the conversion and the returned dict says which rate and
    month were used."""
    if blank(amount):
        return None, None
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        warnings.append(ItemError(loc, _not_a_number(amount), f"{field}.amount"))
        return None, None
    try:
        number = float(amount)
    except ValueError:
        warnings.append(ItemError(loc, _not_a_number(amount), f"{field}.amount"))
        return None, None
    if number != number or number in (float("inf"), float("-inf")):
        warnings.append(ItemError(loc, _not_a_number(amount), f"{field}.amount"))
        return None, None
    if number < 0:
        warnings.append(ItemError(loc, msg("bedrag {amount} is negatief; leeg gelaten",
                                           amount=format(number, "g")), f"{field}.amount"))
        return None, None
    if blank(currency) or not isinstance(currency, str):
        warnings.append(ItemError(loc, msg("bedrag {amount} heeft geen valuta; leeg gelaten",
                                           amount=format(number, "g")), f"{field}.currency"))
        return None, None
    code = currency.strip().upper()
    if code == "EUR":
        return number, {"amount": number, "currency": "EUR", "eur": number}
    kept: dict[str, Any] = {"amount": number, "currency": code, "eur": None}
    if on is None:
        warnings.append(ItemError(loc, msg("bedrag in {code} zonder datum van de aankondiging "
                                           "voor de wisselkoers; bewaard, niet omgerekend "
                                           "naar euro's", code=code), f"{field}.currency"))
        return None, kept
    try:
        conv = to_eur(number, code, on)
    except CurrencyError as exc:
        warnings.append(ItemError(loc, msg("{error}; bedrag bewaard in {code}, niet omgerekend "
                                           "naar euro's", error=str(exc), code=code),
                                  f"{field}.currency"))
        return None, kept
    return conv.eur, conv.to_dict()


# --- place ----------------------------------------------------------------------------

# Countries with NUTS codes (EU, EFTA, candidates; "EL" Greece, "UK" until 2020).
_NUTS_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK "
    "UK CH IS LI NO AL ME MK RS TR".split())
_NL_COUNTRIES = {"NL", "NLD", "NETHERLANDS", "NEDERLAND", "THE NETHERLANDS"}
_POSTCODE_RE = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})?\s*$")
_CBS_CODE_RE = re.compile(r"^(?:GM)?(\d{4})$", re.I)
# Municipality names that are also everyday words ("Best", "Goes", "Buren"): in free
# text they count only after "gemeente", "in" or "te", never at a sentence's start.
_COMMON_WORD_NAMES = frozenset({
    "best", "beek", "buren", "goes", "sluis", "putten", "laren", "stein", "duiven",
    "borne", "huizen", "kampen", "hoorn", "delft", "houten", "epe", "ede", "oss", "urk",
    "heerde", "boekel", "lopik", "texel", "venlo", "soest", "altena",
})
_PLACE_CUES = frozenset({"gemeente", "gemeenten", "in", "te", "municipality", "regio"})
_WORD_RE = re.compile(r"'s|[^\W_]+")


def nuts_level(code: str) -> int | None:
    """The NUTS level of a code as published (0 country … 3), None when it is not a NUTS
    code at all (a free-text region like "WALES", "ESSEX"). Extra-regio codes
    (``NLZZZ``) are not places: None."""
    code = code.strip().upper()
    if len(code) < 2 or len(code) > 5 or code[:2] not in _NUTS_COUNTRIES:
        return None
    if not code.isalnum() or code.endswith("Z"):
        return None
    rest = code[2:]
    # Below level 1 every real code has a digit in its last two places (NL32B, UKL21,
    # DE21A, FI1B1); a word that happens to start with a country code does not.
    if len(rest) >= 2 and not any(c.isdigit() for c in rest[1:]):
        return None
    return len(rest)


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
    how: str | None = None  # municipality | point | nuts3-centroid
    source: str | None = None  # which of the notice's places gave it ("buyer address"…)


@dataclass
class PlaceSource:
    """One place a notice gives, as its parts: tried in the order the parser lists them
    (place of performance first, the buyer's address last)."""

    label: str  # "tender.items[0].deliveryAddress", "BT-5071 lot LOT-0001", "buyer address"
    nuts: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)  # a city / locality field: a name
    postcodes: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # free text (BT-728, a description)
    municipality_codes: list[str] = field(default_factory=list)  # gazetteer ids GM0363
    points: list[tuple[float, float]] = field(default_factory=list)  # (lat, lon)

    def __bool__(self) -> bool:
        return any((self.nuts, self.cities, self.postcodes, self.texts,
                    self.municipality_codes, self.points))


@lru_cache(maxsize=1)
def _names_by_words() -> dict[tuple[str, ...], str]:
    """Folded municipality names (formal and informal) as word tuples -> CBS code."""
    out: dict[tuple[str, ...], str] = {}
    for m in municipalities().values():
        for name in [m.name, *((m.alt_name or "").split("|"))]:
            words = tuple(fold(name).split())
            if words:
                out.setdefault(words, m.code)
    for alias, code in (("den haag", "GM0518"), ("den bosch", "GM0796")):
        out.setdefault(tuple(alias.split()), code)
    return out


def municipality_in_text(text: str) -> Municipality | None:
    """The first Dutch municipality a free text names ("Heemstede/Bloemendaal",
    "werkzaamheden in de gemeente Best"). A name must be written with a capital; one
    that is also an everyday word counts only after "gemeente", "in" or "te"."""
    names = _names_by_words()
    longest = max((len(k) for k in names), default=1)
    tokens = [(m.group(0), m.start()) for m in _WORD_RE.finditer(text)]
    folded = [fold(t) for t, _ in tokens]
    for i, (word, pos) in enumerate(tokens):
        if not (word[:1].isupper() or word == "'s"):
            continue
        for n in range(min(longest, len(tokens) - i), 0, -1):
            key = tuple(w for w in folded[i:i + n] if w)
            code = names.get(key)
            if code is None:
                continue
            if n == 1 and key[0] in _COMMON_WORD_NAMES:
                before = folded[i - 1] if i else ""
                starts_sentence = i == 0 or text[:pos].rstrip()[-1:] in ".!?:;"
                whole = len(tokens) == 1
                if not whole and (before not in _PLACE_CUES or starts_sentence and not before):
                    break
            return municipalities().get(code)
    return None


def _city(value: str) -> Municipality | None:
    """A city or locality field: the whole value as a name, else the names in it
    ("Gemeente Heemstede", "Heemstede/Bloemendaal", "Amsterdam-Zuidoost")."""
    value = value.strip()
    if not value or value.isdigit():  # a number here is not a CBS code
        return None
    muni = resolve_municipality(value)
    if muni is None:
        stripped = re.sub(r"(?i)^\s*gemeenten?\s+", "", value)
        muni = resolve_municipality(stripped) if stripped != value else None
    return muni or municipality_in_text(value)


def _muni_from_code(value: str) -> Municipality | None:
    m = _CBS_CODE_RE.match(value.strip())
    return municipalities().get(f"GM{m.group(1)}") if m else None


def resolve_places(sources: list[PlaceSource], loc: str,
                   warnings: list[ItemError]) -> Place:
    """The place of performance from the places a notice gives, in order: the first
    source that locates it wins (a Dutch municipality from a CBS code, a city field or a
    free text; else coordinates; else the largest municipality of a Dutch NUTS3 region).
    Only real NUTS3 codes are stored as NUTS3 (foreign ones too, without a location); a
    region that is not a NUTS code ("WALES") is reported and left out. A source whose
    country is not the Netherlands, or whose NUTS3 code is foreign, gives no municipality."""
    place = Place()
    for src in sources:
        level3: list[str] = []
        for raw in src.nuts:
            if not isinstance(raw, str) or not raw.strip():
                continue
            code = raw.strip().upper()
            level = nuts_level(code)
            if level == 3:
                level3.append(code)
            elif level is None and not code.endswith("ZZZ"):
                warnings.append(ItemError(loc, msg("regio {region} is geen NUTS-code; niet "
                                                   "opgeslagen als NUTS3-regio",
                                                   region=repr(raw.strip())),
                                          f"{src.label} region"))
        dutch = [c for c in level3 if c in nuts3_regions()]
        foreign = (bool(src.countries) and not any(
            c.strip().upper() in _NL_COUNTRIES for c in src.countries if isinstance(c, str))
        ) or (bool(level3) and not any(c.startswith("NL") for c in level3))
        if place.nuts3 is None and level3:
            place.nuts3 = (dutch or level3)[0]
        muni: Municipality | None = None
        if not foreign:
            for value in src.municipality_codes:
                muni = muni or _muni_from_code(value)
            for value in src.cities:
                muni = muni or _city(value)
            for value in src.texts:
                muni = muni or municipality_in_text(value)
            if place.postcode is None:
                for pc in src.postcodes:
                    m = _POSTCODE_RE.match(pc) if isinstance(pc, str) else None
                    if m:
                        place.postcode = (m.group(1) + (m.group(2) or "").upper())[:7]
                        break
        if muni is not None:
            place.municipality_code, place.lat, place.lon = muni.code, muni.lat, muni.lon
            place.how, place.source = "municipality", src.label
            return place
        if src.points:
            place.lat, place.lon = src.points[0]
            place.how, place.source = "point", src.label
            return place
        if dutch:
            centre_code = nuts3_centroids().get(dutch[0])
            centre = municipalities().get(centre_code) if centre_code else None
            if centre is not None:
                place.municipality_code, place.lat, place.lon = (centre.code, centre.lat,
                                                                 centre.lon)
                place.how, place.source = "nuts3-centroid", src.label
                return place
        if place.nuts3 is not None:
            return place  # a region without a place in it: the later fallbacks are wider
    return place


def resolve_place(nuts_codes: list[str], cities: list[str], postcodes: list[str],
                  countries: list[str]) -> Place:
    """One place given as its parts (see ``resolve_places``)."""
    return resolve_places([PlaceSource("place", list(nuts_codes), list(cities),
                                       list(postcodes), list(countries))], "", [])


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


# --- XML ------------------------------------------------------------------------------


def parse_xml(data: bytes) -> Element:
    """A published XML notice's root element, safely: a document with a DTD
    (``<!DOCTYPE``, where entities are declared) goes through defusedxml, which refuses
    entities and external references (``DefusedXmlException``); one without a DTD cannot
    declare any, so the C parser reads it, about twice as fast (bulk imports of thousands
    of notices). Only for bytes in an ASCII-compatible encoding with no NUL byte, where a
    DTD cannot hide from the search (UTF-16 and the like take the defusedxml path).
    Malformed XML raises ``xml.etree.ElementTree.ParseError`` either way."""
    if b"\x00" not in data and b"<!DOCTYPE" not in data.upper():
        return _fast_fromstring(data)
    return _safe_fromstring(data)


def read_notice_root(data: bytes, filename: str, result: ParsedTenders) -> Element | None:
    """The root of a published XML file, or None with the file error in ``result`` (empty,
    unsafe or malformed): the one file check of the eForms and TED parsers."""
    if not data.strip():
        result.file_errors.append(ItemError(filename, msg("het bestand is leeg")))
        return None
    try:
        return parse_xml(data)
    except DefusedXmlException as exc:
        result.file_errors.append(
            ItemError(filename, msg("onveilige XML geweigerd ({error})",
                                    error=exc.__class__.__name__)))
    except ParseError as exc:
        result.file_errors.append(ItemError(filename, msg("ongeldige XML: {error}",
                                                          error=str(exc))))
    return None


@dataclass
class NoticeValues:
    """Where a notice's amounts go: fields left empty (warnings), the notice's date (the
    month whose exchange rate converts another currency) and each conversion made."""

    warnings: list[ItemError]
    on: date | None = None
    conversions: list[dict[str, Any]] = field(default_factory=list)
