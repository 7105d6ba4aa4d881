"""What the OCDS and eForms importers share: parsed tenders, per-item errors,
place resolution, and writing to the store (all-or-nothing per file).

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
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from api.clock import utcnow
from api.importers.sroi_text import SroiDetection
from api.tables import TenderRow
from matcher.refdata import municipalities, nuts3_regions, resolve_municipality

HERE = Path(__file__).parent
IMPORTER_SOURCES = ("ocds", "eforms")

# Column widths of TenderRow (VARCHAR on PostgreSQL): longer text is cut, not rejected.
_MAX = {"ref": 200, "buyer": 300, "title": 500}


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


@dataclass
class ItemOutcome:
    location: str
    ref: str | None
    action: str  # created | updated | unchanged | stale | rejected
    errors: list[ItemError] = field(default_factory=list)


@dataclass
class ImportReport:
    """What happened to one file."""

    filename: str
    format: str  # ocds | eforms
    partial: bool = False
    items: list[ItemOutcome] = field(default_factory=list)
    file_errors: list[ItemError] = field(default_factory=list)
    written: bool = False

    def count(self, action: str) -> int:
        return sum(1 for i in self.items if i.action == action)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def stale(self) -> int:
        return self.count("stale")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def errors(self) -> list[ItemError]:
        out = list(self.file_errors)
        for item in self.items:
            out.extend(item.errors)
        return out

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "format": self.format,
            "partial": self.partial,
            "written": self.written,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "rejected": self.rejected,
            "items": [
                {
                    "location": i.location,
                    "ref": i.ref,
                    "action": i.action,
                    "errors": [asdict(e) for e in i.errors],
                }
                for i in self.items
            ],
            "file_errors": [asdict(e) for e in self.file_errors],
        }


@dataclass
class ParseResult:
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


def clip(text: str, limit: int) -> str:
    """One line, at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


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


# --- writing --------------------------------------------------------------------------

_SROI_FIELDS = (
    "sroi_percentage", "sroi_basis", "sroi_threshold_eur", "sroi_cap_eur",
    "sroi_detected", "sroi_detected_sentence", "sroi_confirmed",
)


def _row_values(t: TenderData) -> dict[str, Any]:
    return {
        "buyer": clip(t.buyer, _MAX["buyer"]),
        "title": clip(t.title, _MAX["title"]),
        "description": t.description or "",
        "cpv": list(t.cpv),
        "contract_value_eur": t.contract_value_eur,
        "start": t.start,
        "end": t.end,
        "municipality_code": t.municipality_code,
        "postcode": t.postcode,
        "lat": t.lat,
        "lon": t.lon,
        "nuts3": t.nuts3,
        "social_signals": list(t.social_signals),
        "reserved": t.reserved,
        "source": t.source,
        "status": "published",
    }


def _sroi_values(t: TenderData, existing: TenderRow | None) -> dict[str, Any]:
    """Detected clause -> unconfirmed; an officer's confirmation of the same sentence,
    or a clause an officer entered by hand, is never overwritten by a re-import."""
    d = t.sroi
    if existing is not None:
        officer_owned = existing.sroi_confirmed and (
            not existing.sroi_detected
            and (existing.sroi_percentage is not None or existing.sroi_amount_eur is not None)
        )
        confirmed_same = (
            existing.sroi_detected
            and existing.sroi_confirmed
            and d is not None
            and existing.sroi_detected_sentence == d.sentence
        )
        if officer_owned or confirmed_same:
            return {}
    if d is None:
        if existing is not None and existing.sroi_detected and not existing.sroi_confirmed:
            # The sentence is gone from the notice: drop the unconfirmed detection.
            return {
                "sroi_percentage": None, "sroi_amount_eur": None, "sroi_basis": "contract_value",
                "sroi_threshold_eur": None, "sroi_cap_eur": None, "sroi_detected": False,
                "sroi_detected_sentence": None, "sroi_confirmed": True,
            }
        return {}
    return {
        "sroi_percentage": d.percentage,
        "sroi_amount_eur": d.amount_eur,  # a fixed amount ("SROI ter waarde van € 50.000")
        "sroi_basis": d.basis,
        "sroi_threshold_eur": d.threshold_eur,
        "sroi_cap_eur": d.cap_eur,
        "sroi_detected": True,
        "sroi_detected_sentence": d.sentence,
        "sroi_confirmed": False,
    }


def _same_buyer(a: str | None, b: str | None) -> bool:
    # As exact as api.access compares an officer's organisation with a tender's buyer.
    return (a or "").strip() == (b or "").strip()


def write_tenders(
    session: Session, parsed: ParseResult, report: ImportReport, partial: bool,
    only_buyer: str | None = None,
) -> ImportReport:
    """Create or update rows by ref, in one transaction for the file.

    Without ``partial``, any error in the file means nothing from it is written. With
    ``only_buyer`` (an officer importing for their organisation) a tender of another
    buyer, published or already stored, is refused: an officer never writes another
    buyer's tender.
    """
    report.partial = partial
    report.file_errors.extend(parsed.file_errors)
    report.items.extend(parsed.rejected)
    outcomes: list[tuple[TenderData, ItemOutcome]] = []
    for t in parsed.tenders:
        outcome = ItemOutcome(location=t.location, ref=t.ref, action="pending")
        if len(t.ref) > _MAX["ref"]:
            outcome.action = "rejected"
            outcome.errors.append(ItemError(t.location, f"identifier longer than "
                                            f"{_MAX['ref']} characters", "ref"))
        outcomes.append((t, outcome))
        report.items.append(outcome)

    try:
        rows = {
            r.ref: r
            for r in session.exec(
                select(TenderRow).where(TenderRow.ref.in_([t.ref for t in parsed.tenders]))  # type: ignore[attr-defined]
            )
        } if parsed.tenders else {}
        for t, outcome in outcomes:
            if outcome.action == "rejected":
                continue
            row = rows.get(t.ref)
            if only_buyer is not None and not (
                    _same_buyer(t.buyer, only_buyer)
                    and (row is None or _same_buyer(row.buyer, only_buyer))):
                outcome.action = "rejected"
                other = row.buyer if row is not None and not _same_buyer(
                    row.buyer, only_buyer) else t.buyer
                outcome.errors.append(ItemError(
                    t.location,
                    f"the tender's buyer {other!r} is not your organisation {only_buyer!r}; "
                    "a connector can import it",
                    "buyer",
                ))
                continue
            if row is not None and row.source not in IMPORTER_SOURCES:
                outcome.action = "rejected"
                outcome.errors.append(ItemError(
                    t.location,
                    f"a tender with ref {t.ref!r} already exists from source {row.source!r}; "
                    "it is not overwritten by a published notice",
                    "ref",
                ))
                continue
            prev_as_of = (row.extra or {}).get("published", {}).get("as_of") if row else None
            if row is not None and prev_as_of and t.as_of and t.as_of < prev_as_of:
                outcome.action = "stale"
                continue
            values = _row_values(t)
            values.update(_sroi_values(t, row))
            if row is None:
                row = TenderRow(ref=t.ref, **values)
                row.extra = {"published": {**t.extra, "as_of": t.as_of}}
                session.add(row)
                rows[t.ref] = row
                outcome.action = "created"
                continue
            changed = False
            for key, value in values.items():
                if getattr(row, key) != value:
                    setattr(row, key, value)
                    changed = True
            published = {**t.extra, "as_of": t.as_of}
            if (row.extra or {}).get("published") != published:
                row.extra = {**(row.extra or {}), "published": published}
                changed = True
            if changed:
                row.updated_at = utcnow()
                session.add(row)
            outcome.action = "updated" if changed else "unchanged"

        if report.errors and not partial:
            session.rollback()
            for _, outcome in outcomes:
                if outcome.action != "rejected":
                    outcome.action = "not written"
            report.written = False
            return report
        session.commit()
        report.written = any(o.action in ("created", "updated") for _, o in outcomes)
        return report
    except Exception:
        session.rollback()
        raise


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
