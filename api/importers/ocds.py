"""Read OCDS (Open Contracting Data Standard 1.1) into tenders.

Accepted shapes, detected from the content (not the file name):

* a release package ``{"releases": [...]}``;
* a record package ``{"records": [{"ocid", "compiledRelease" | "releases"}]}`` (a
  record's compiledRelease is used; without one, its embedded releases are merged;
  linked releases (only ``url``) are not fetched and are reported);
* a single release or record object, a JSON array of releases;
* JSON Lines: one release, record or package per line.

Releases are grouped by ``ocid`` and merged oldest first by ``date``, per the OCDS
merge rules in simple form: objects merge key by key, arrays of objects with ``id``
merge by id, other arrays are replaced, and a later non-null value wins.

One tender per ocid and buyer (``ref`` = ocid; releases of unrelated buyers sharing an
ocid are separate tenders, see ``api.services.published`` for their refs).

Keep what can be kept: a release is refused only when it has no tender, or nothing to
identify (no buyer, title nor description) or to match it by (no CPV code and no text).
A field that cannot be read is left empty with a warning naming the field and the reason:
no ``tender.title`` (the lot's title or the description is used), a contract period that
is not a period or ends before it starts, a CPV code not in CPV 2008 beside valid ones,
an amount that is not a number. Empty strings count as absent. A value in another
currency is kept and converted to euros at the ECB rate of its release's month
(``common.read_value``). Places: items' ``deliveryAddresses`` / ``deliveryLocations``
(1.2) and ``deliveryAddress`` / ``deliveryLocation`` (1.0/1.1) with NUTS and CBS gazetteer
ids, then the buyer's address (``common.resolve_places``). ``tender.status`` cancelled,
unsuccessful, complete and withdrawn are stored as such and not matched. A package with
no releases is a warning, not an error.

See ``api.importers.common`` for the signal vocabulary and ``api.services.published``
for the write rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from api.importers.common import (
    DateError,
    ItemError,
    ItemOutcome,
    ParsedTenders,
    PlaceSource,
    TenderData,
    add_duration,
    blank,
    crash_text,
    dedupe,
    normalise_timestamp,
    parse_date,
    read_value,
    resolve_places,
)
from api.importers.interchange import cpv_error_text
from api.importers.sroi_text import detect_sroi_in
from api.messages import msg
from matcher.refdata import CpvError, fold, normalise_cpv

SOURCE = "ocds"

# OCDS sustainability goal -> eForms social-objective code (BT-775).
_SOCIAL_GOALS = {
    "social.accessibility": "acc-all",
    "social.disadvantagedEmployment": "opp",
    "social.ethnicEquality": "et-eq",
    "social.genderEquality": "gen-eq",
    "social.humanRightsDueDiligence": "hum-right",
    "social.laborRightsPromotion": "work-cond",
    "social.workConditions": "work-cond",
    "social.workingConditions": "work-cond",
    "social.other": "other",
}
# OCDS reservedParticipation -> eForms reserved-procurement code (BT-71).
_RESERVED = {
    "shelteredWorkshop": "res-ws",
    "publicServiceMissionOrganization": "res-pub-ser",
}


@dataclass
class _Release:
    data: dict[str, Any]
    location: str
    publisher: str | None = None  # the package's publisher.name
    compiled: bool = False  # a record's compiledRelease (its date is the latest change's)


def merge(base: Any, update: Any) -> Any:
    """OCDS merge, simply: later non-null values win, objects merge, arrays of objects
    with ids merge by id, other arrays are replaced."""
    if update is None:
        return base
    if isinstance(base, dict) and isinstance(update, dict):
        out = dict(base)
        for key, value in update.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    if (
        isinstance(base, list)
        and isinstance(update, list)
        and base
        and update
        and all(isinstance(x, dict) and "id" in x for x in base + update)
    ):
        merged: dict[str, Any] = {str(x["id"]): x for x in base}
        for x in update:
            key = str(x["id"])
            merged[key] = merge(merged[key], x) if key in merged else x
        return list(merged.values())
    return update


def _load(data: bytes, filename: str) -> tuple[list[tuple[Any, str]], list[ItemError]]:
    """Top-level JSON values with their location: one for a JSON file, one per line
    for JSON Lines. A line that is not JSON is an error for that line only."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [ItemError(filename, msg("geen UTF-8-tekst (byte {byte})", byte=exc.start))]
    if not text.strip():
        return [], [ItemError(filename, msg("het bestand is leeg"))]
    try:
        return [(json.loads(text), filename)], []
    except json.JSONDecodeError as whole_exc:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        values: list[tuple[Any, str]] = []
        errors: list[ItemError] = []
        for n, line in lines:
            try:
                values.append((json.loads(line), f"{filename}: line {n}"))
            except json.JSONDecodeError as exc:
                errors.append(ItemError(f"{filename}: line {n}",
                                        msg("ongeldige JSON: {error} in kolom {column}",
                                            error=exc.msg, column=exc.colno)))
        if not values or len(lines) == 1:
            # Not JSON Lines either: report the whole-file error where it is.
            return [], [ItemError(
                filename,
                msg("ongeldige JSON: {error} op regel {line} kolom {column}",
                    error=whole_exc.msg, line=whole_exc.lineno, column=whole_exc.colno),
            )]
        return values, errors


def _releases(value: Any, where: str) -> Iterator[_Release | ItemError]:
    """The releases inside one top-level value (package, record, release, array)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _releases(item, f"{where}: [{i}]")
        return
    if not isinstance(value, dict):
        yield ItemError(where, msg("verwacht een JSON-object, gekregen: {type}",
                                   type=type(value).__name__))
        return
    if "records" in value:
        records = value["records"]
        if not isinstance(records, list):
            yield ItemError(where, msg("'records' is geen lijst"), "records")
            return
        pub = value.get("publisher")
        publisher = _text(pub.get("name")) if isinstance(pub, dict) else None
        for i, rec in enumerate(records):
            for got in _record(rec, f"{where}: records[{i}]"):
                if isinstance(got, _Release):
                    got.publisher = publisher
                yield got
        return
    if "compiledRelease" in value or ("releases" in value and "ocid" in value):
        yield from _record(value, where)
        return
    if "releases" in value:
        releases = value["releases"]
        if not isinstance(releases, list):
            yield ItemError(where, msg("'releases' is geen lijst"), "releases")
            return
        pub = value.get("publisher")
        publisher = _text(pub.get("name")) if isinstance(pub, dict) else None
        for i, rel in enumerate(releases):
            loc = f"{where}: releases[{i}]"
            if isinstance(rel, dict):
                yield _Release(rel, loc, publisher)
            else:
                yield ItemError(loc, msg("verwacht een release-object, gekregen: {type}",
                                         type=type(rel).__name__))
        return
    yield _Release(value, where)


def _record(rec: Any, where: str) -> Iterator[_Release | ItemError]:
    if not isinstance(rec, dict):
        yield ItemError(where, msg("verwacht een record-object, gekregen: {type}",
                                   type=type(rec).__name__))
        return
    ocid = rec.get("ocid")
    where_id = f"{where} (ocid {ocid})" if ocid else where
    compiled = rec.get("compiledRelease")
    if isinstance(compiled, dict):
        if ocid and not compiled.get("ocid"):
            compiled = {**compiled, "ocid": ocid}
        yield _Release(compiled, f"{where_id}.compiledRelease", compiled=True)
        return
    embedded = [r for r in _list(rec.get("releases")) if isinstance(r, dict) and "url" not in r]
    if not embedded:
        yield ItemError(where_id, msg("record heeft geen compiledRelease en de releases zijn "
                                      "links (url) die deze import niet ophaalt"),
                        "compiledRelease")
        return
    for i, rel in enumerate(embedded):
        if ocid and not rel.get("ocid"):
            rel = {**rel, "ocid": ocid}
        yield _Release(rel, f"{where_id}.releases[{i}]")


def parse_ocds(data: bytes, filename: str) -> ParsedTenders:
    result = ParsedTenders()
    values, errors = _load(data, filename)
    if errors and not values:
        result.file_errors.extend(errors)
        return result
    for err in errors:
        result.rejected.append(ItemOutcome(err.location, None, "rejected", [err]))

    groups: dict[str, list[_Release]] = {}
    for value, where in values:
        for got in _releases(value, where):
            if isinstance(got, ItemError):
                result.rejected.append(ItemOutcome(got.location, None, "rejected", [got]))
                continue
            ocid = got.data.get("ocid")
            if not isinstance(ocid, str) or not ocid.strip():
                err = ItemError(got.location, msg("release heeft geen ocid"), "ocid")
                result.rejected.append(ItemOutcome(got.location, None, "rejected", [err]))
                continue
            groups.setdefault(ocid.strip(), []).append(got)

    if not groups and not result.rejected:
        empty = [where for value, where in values if _is_empty_package(value)]
        if empty and len(empty) == len(values):
            result.file_warnings.extend(
                ItemError(where, msg("geen releases: het pakket is leeg; niets in te lezen"))
                for where in empty)
        else:
            result.file_errors.append(ItemError(filename,
                                                         msg("geen OCDS-releases of -records "
                                                             "gevonden")))
    for ocid, releases in groups.items():
        for part in _by_buyer(releases):
            _merge_group(result, filename, ocid, part)
    return result


def _is_empty_package(value: Any) -> bool:
    return isinstance(value, dict) and any(
        isinstance(value.get(key), list) and not value[key] for key in ("releases", "records"))


def _by_buyer(releases: list[_Release]) -> list[list[_Release]]:
    """Releases of one ocid, split by buyer: unrelated buyers that share an identifier
    (a converter's placeholder) are separate tenders, never merged. A release that names
    no buyer joins the first group."""
    parts: dict[str | None, list[_Release]] = {}
    for rel in releases:
        parts.setdefault(buyer_key(rel.data), []).append(rel)
    named = [k for k in parts if k is not None]
    if len(named) <= 1:
        return [releases]
    out = [parts[k] for k in named]
    out[0] = parts.get(None, []) + out[0]
    return out


def _merge_group(result: ParsedTenders, filename: str, ocid: str,
                 releases: list[_Release]) -> None:
    ordered = sorted(releases, key=lambda r: str(r.data.get("date") or ""))
    merged: dict[str, Any] = {}
    for rel in ordered:
        merged = merge(merged, rel.data)
    if len(releases) == 1:
        location = f"{releases[0].location} (ocid {ocid})"
        if "(ocid" in releases[0].location:
            location = releases[0].location
    else:
        location = f"{filename}: ocid {ocid} ({len(releases)} releases merged)"
    publisher = next((r.publisher for r in ordered if r.publisher), None)
    # The value's date is that of the release that last gave it, not the latest release.
    value_date = None
    for rel in ordered:
        # Not named "t": Babel's extractor would read t["value"] as a translatable text.
        part = rel.data.get("tender")
        if isinstance(part, dict) and isinstance(part.get("value"), dict) \
                and not blank(part["value"].get("amount")):
            period = part.get("tenderPeriod")
            # A compiled release's date is its last change's: the tender period's start
            # dates the call for tenders better.
            value_date = (period.get("startDate") if rel.compiled and isinstance(period, dict)
                          and not blank(period.get("startDate")) else rel.data.get("date"))
    try:
        tender, errs = _tender(merged, ocid, location, publisher, value_date)
    except Exception as exc:  # one odd release never aborts the file
        tender, errs = None, [ItemError(location, msg("deze release kon niet worden gelezen "
                                                      "({error})",
                                                      error=crash_text(exc)))]
    if errs or tender is None:
        result.rejected.append(ItemOutcome(location, ocid, "rejected", errs))
    else:
        result.tenders.append(tender)


def _list(value: Any) -> list[Any]:
    """An array as published, or empty when the publisher put something else there."""
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Prose inside a JSON value (for the SROI text search)."""
    if depth > 8:
        return
    if isinstance(value, str):
        if " " in value.strip():
            yield value
    elif isinstance(value, dict):
        for key, v in value.items():
            if key not in ("id", "url", "uri", "scheme"):
                yield from _strings(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, depth + 1)


def _buyer(r: dict[str, Any], tender: dict[str, Any]) -> str | None:
    parties = [p for p in _list(r.get("parties")) if isinstance(p, dict)]
    raw = r.get("buyer")
    buyer: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if _text(buyer.get("name")):
        return _text(buyer.get("name"))
    if buyer.get("id") is not None:
        for p in parties:
            if p.get("id") == buyer.get("id") and _text(p.get("name")):
                return _text(p.get("name"))
    for p in parties:
        if "buyer" in _list(p.get("roles")) and _text(p.get("name")):
            return _text(p.get("name"))
    pe = tender.get("procuringEntity")
    if isinstance(pe, dict) and _text(pe.get("name")):
        return _text(pe.get("name"))
    return None


_STATUSES = {  # OCDS tender.status -> ours (common.CLOSED_STATUSES are not matched)
    "cancelled": "cancelled", "unsuccessful": "unsuccessful", "complete": "completed",
    "completed": "completed", "withdrawn": "withdrawn",
}


def _title(r: dict[str, Any], tender: dict[str, Any], lots: list[dict[str, Any]],
           loc: str, warnings: list[ItemError]) -> str | None:
    """tender.title, else the release's title, a lot's title, the description or an
    item's description (said in a warning): many publishers leave tender.title out."""
    title = _text(tender.get("title")) or _text(r.get("title"))
    if title:
        return title
    candidates = [
        *((f"tender.lots[{i}].title", lot.get("title")) for i, lot in enumerate(lots)),
        ("tender.description", tender.get("description")),
        *((f"tender.items[{i}].description", item.get("description"))
          for i, item in enumerate(_list(tender.get("items"))) if isinstance(item, dict)),
    ]
    for where, value in candidates:
        text = _text(value)
        if text:
            first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
            warnings.append(ItemError(loc, msg("geen tender.title; de titel komt uit {where}",
                                               where=where), "tender.title"))
            return first if len(first) <= 200 else first[:199].rstrip() + "…"
    return None


def _period(tender: dict[str, Any], loc: str, warnings: list[ItemError]
            ) -> tuple[date | None, date | None]:
    period = tender.get("contractPeriod")
    if period is None:
        return None, None
    field = "tender.contractPeriod"
    if not isinstance(period, dict):
        warnings.append(ItemError(loc, msg("contractperiode {period} is geen periode (begin- "
                                           "en einddatum); leeg gelaten",
                                           period=repr(period)), field))
        return None, None
    try:
        start = parse_date(period.get("startDate"))
        end = parse_date(period.get("endDate"))
    except DateError as exc:
        warnings.append(ItemError(loc, msg("{error}; contractperiode leeg gelaten",
                                           error=exc.message), field))
        return None, None
    days = period.get("durationInDays")
    if end is None and start is not None and isinstance(days, int | float) \
            and not isinstance(days, bool) and 0 < days < 365 * 100:
        end = add_duration(start, float(days), "DAY")
    if start and end and end < start:
        warnings.append(ItemError(loc, msg("contractperiode eindigt ({end}) voor ze begint "
                                           "({start}); leeg gelaten", end=end, start=start),
                                  field))
        return None, None
    return start, end


def _cpv(tender: dict[str, Any], loc: str, warnings: list[ItemError]) -> list[str]:
    """CPV codes from the tender's and every item's classifications; a code that is
    malformed or not in CPV 2008 is left out with a warning."""
    sources: list[tuple[str, Any]] = []
    if isinstance(tender.get("classification"), dict):
        sources.append(("tender.classification", tender["classification"]))
    for n, c in enumerate(_list(tender.get("additionalClassifications"))):
        sources.append((f"tender.additionalClassifications[{n}]", c))
    for i, item in enumerate(_list(tender.get("items"))):
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("classification"), dict):
            sources.append((f"tender.items[{i}].classification", item["classification"]))
        for n, c in enumerate(_list(item.get("additionalClassifications"))):
            sources.append((f"tender.items[{i}].additionalClassifications[{n}]", c))
    cpv: list[str] = []
    for where, c in sources:
        if not isinstance(c, dict) or str(c.get("scheme") or "").strip().upper() != "CPV":
            continue
        try:
            cpv.append(normalise_cpv(c.get("id")))
        except CpvError as exc:
            warnings.append(ItemError(loc, msg("{error}; weggelaten", error=cpv_error_text(exc)),
                                      f"{where}.id"))
    return dedupe(cpv)


def _address(label: str, addr: Any) -> PlaceSource:
    src = PlaceSource(label)
    if not isinstance(addr, dict):
        return src
    for key, bucket in (("region", src.nuts), ("locality", src.cities), ("city", src.cities),
                        ("postalCode", src.postcodes), ("countryName", src.countries),
                        ("country", src.countries)):
        value = _text(addr.get(key))
        if value:
            bucket.append(value)
    street = _text(addr.get("streetAddress"))
    if street:
        src.texts.append(street)
    return src


def _location(label: str, dl: Any) -> PlaceSource:
    """An OCDS Location: description, GeoJSON point, gazetteer (NUTS, CBS codes)."""
    src = PlaceSource(label)
    if not isinstance(dl, dict):
        return src
    gaz = dl.get("gazetteer")
    if isinstance(gaz, dict):
        scheme = str(gaz.get("scheme") or "").upper()
        ids = [str(x).strip() for x in _list(gaz.get("identifiers")) if _text(str(x))]
        if scheme.startswith("NUTS"):
            src.nuts.extend(ids)
        elif scheme.startswith(("CBS", "GM")) or all(x.upper().startswith("GM") for x in ids):
            src.municipality_codes.extend(ids)
    geometry = dl.get("geometry")
    if isinstance(geometry, dict) and str(geometry.get("type") or "").lower() == "point":
        xy = geometry.get("coordinates")
        if (isinstance(xy, list) and len(xy) >= 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in xy[:2])
                and -90 <= xy[1] <= 90 and -180 <= xy[0] <= 180):
            src.points.append((float(xy[1]), float(xy[0])))  # GeoJSON is lon, lat
    description = _text(dl.get("description"))
    if description:
        src.texts.append(description)
    src_addr = dl.get("address")
    if isinstance(src_addr, dict):
        other = _address(label, src_addr)
        src.nuts += other.nuts
        src.cities += other.cities
        src.postcodes += other.postcodes
        src.countries += other.countries
    return src


def _places(r: dict[str, Any], tender: dict[str, Any], buyer_party: dict[str, Any] | None
            ) -> list[PlaceSource]:
    """Every place the release gives, best first: items' delivery addresses and locations
    (OCDS 1.2 ``deliveryAddresses`` / ``deliveryLocations``, 1.0/1.1 singular
    ``deliveryAddress`` / ``deliveryLocation``), then the buyer's address."""
    sources: list[PlaceSource] = []
    for i, item in enumerate(_list(tender.get("items"))):
        if not isinstance(item, dict):
            continue
        base = f"tender.items[{i}]"
        for key in ("deliveryAddresses", "deliveryAddress"):
            value = item.get(key)
            for n, addr in enumerate(value if isinstance(value, list) else [value]):
                label = f"{base}.{key}" + (f"[{n}]" if isinstance(value, list) else "")
                sources.append(_address(label, addr))
        for key in ("deliveryLocations", "deliveryLocation"):
            value = item.get(key)
            for n, dl in enumerate(value if isinstance(value, list) else [value]):
                label = f"{base}.{key}" + (f"[{n}]" if isinstance(value, list) else "")
                sources.append(_location(label, dl))
    if buyer_party is not None:
        sources.append(_address("buyer address", buyer_party.get("address")))
    return [s for s in sources if s]


def _buyer_party(r: dict[str, Any], tender: dict[str, Any]) -> dict[str, Any] | None:
    parties = [p for p in _list(r.get("parties")) if isinstance(p, dict)]
    raw = r.get("buyer")
    buyer: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if buyer.get("id") is not None:
        for p in parties:
            if p.get("id") == buyer.get("id"):
                return p
    for p in parties:
        if "buyer" in _list(p.get("roles")):
            return p
    pe = tender.get("procuringEntity")
    if isinstance(pe, dict) and pe.get("id") is not None:
        for p in parties:
            if p.get("id") == pe.get("id"):
                return p
    return None


def buyer_key(r: dict[str, Any]) -> str | None:
    """Who published this release, to tell unrelated buyers sharing an ocid apart: the
    buyer's name (folded), else its identifier."""
    tender = r.get("tender") if isinstance(r.get("tender"), dict) else {}
    name = _buyer(r, tender or {})
    if name:
        return fold(name)
    raw = r.get("buyer")
    if isinstance(raw, dict) and _text(str(raw.get("id") or "")):
        return f"id:{raw['id']}"
    return None


def _tender(r: dict[str, Any], ocid: str, loc: str, publisher: str | None = None,
            value_date: Any = None) -> tuple[TenderData | None, list[ItemError]]:
    warnings: list[ItemError] = []
    tender = r.get("tender")
    if not isinstance(tender, dict) or not tender:
        return None, [ItemError(loc, msg("release heeft geen tender"), "tender")]
    lots = [lot for lot in _list(tender.get("lots")) if isinstance(lot, dict)]

    title = _title(r, tender, lots, loc, warnings)
    buyer = _buyer(r, tender)
    if buyer is None and publisher:
        buyer = publisher
        warnings.append(ItemError(loc, msg("geen koper (buyer.name, een party met rol 'buyer' "
                                           "of tender.procuringEntity); de uitgever van het "
                                           "pakket is als koper genomen"), "buyer"))
    if buyer is None and title is None:
        return None, [ItemError(loc, msg("geen koper en geen titel of omschrijving: de "
                                         "aanbesteding is niet te herkennen"), "tender.title")]
    if buyer is None:
        warnings.append(ItemError(loc, msg("geen koper (buyer.name, een party met rol 'buyer' "
                                           "of tender.procuringEntity); leeg gelaten"),
                                  "buyer"))
    raw_buyer = r.get("buyer")
    party = _buyer_party(r, tender)
    buyer_id = (raw_buyer.get("id") if isinstance(raw_buyer, dict) else None) or (
        party.get("id") if party else None)

    cpv = _cpv(tender, loc, warnings)
    description = _text(tender.get("description")) or ""
    if not cpv and not (title or description):
        return None, [ItemError(
            loc, msg("geen onderwerp: geen CPV-code (items[].classification met schema CPV) "
                     "en geen titel of omschrijving"), "tender.items[].classification")]
    if not cpv:
        warnings.append(ItemError(loc, msg("geen CPV-code (items[].classification met schema "
                                           "CPV); alleen op de tekst gematcht"),
                                  "tender.items[].classification"))

    # The value, converted at the rate of its release's date (else the tender period's).
    on = None
    for raw in (value_date, r.get("date"), (tender.get("tenderPeriod") or {}).get("startDate")
                if isinstance(tender.get("tenderPeriod"), dict) else None):
        try:
            on = on or parse_date(raw)
        except ValueError:
            continue
    value = tender.get("value")
    value_eur, value_info = (read_value(value.get("amount"), value.get("currency"), on,
                                        "tender.value", loc, warnings)
                             if isinstance(value, dict) else (None, None))
    if value is not None and not isinstance(value, dict) and not blank(value):
        warnings.append(ItemError(loc, msg("waarde {value} is geen bedrag met valuta; leeg "
                                           "gelaten", value=repr(value)), "tender.value"))

    start, end = _period(tender, loc, warnings)
    place = resolve_places(_places(r, tender, party), loc, warnings)

    # Social signals.
    signals: list[str] = []
    reserved = False
    scopes: list[dict[str, Any]] = [tender, *lots]
    for scope in scopes:
        if scope.get("hasSustainability") is True:
            signals.append("has-sustainability")
        for s in _list(scope.get("sustainability")):
            goal = s.get("goal") if isinstance(s, dict) else None
            if isinstance(goal, str) and goal.startswith("social"):
                signals.append(f"social-objective:{_SOCIAL_GOALS.get(goal, goal)}")
        other = scope.get("otherRequirements")
        if isinstance(other, dict):
            rp = other.get("reservedParticipation") or []
            for code in rp if isinstance(rp, list) else [rp]:
                if isinstance(code, str) and code:
                    signals.append(f"reserved-participation:{_RESERVED.get(code, code)}")
                    reserved = True
        terms = scope.get("contractTerms")
        if isinstance(terms, dict) and terms.get("reservedExecution") is True:
            signals.append("reserved-execution")
    suitability = tender.get("suitability")
    if isinstance(suitability, dict) and suitability.get("vcse") is True:
        signals.append("vcse")

    sroi = detect_sroi_in([
        title, _text(tender.get("description")), *_strings(tender),
        *_strings(r.get("planning")),
    ])
    published_status = _text(tender.get("status"))
    status = _STATUSES.get((published_status or "").lower())
    return TenderData(
        ref=ocid,
        location=loc,
        source=SOURCE,
        buyer=buyer or "",
        title=title or description[:200],
        description=description,
        cpv=cpv,
        contract_value_eur=value_eur,
        start=start,
        end=end,
        municipality_code=place.municipality_code,
        postcode=place.postcode,
        lat=place.lat,
        lon=place.lon,
        nuts3=place.nuts3,
        social_signals=sorted(set(signals)),
        reserved=reserved,
        sroi=sroi,
        as_of=normalise_timestamp(r.get("date")),
        status=status,
        buyer_id=str(buyer_id) if buyer_id is not None else None,
        warnings=warnings,
        extra={
            "format": "ocds",
            "ocid": ocid,
            "release_id": r.get("id"),
            "tender_status": published_status,
            "currency": value_info["currency"] if value_info else None,
            "value": value_info,
            "place_from": place.how,
            "place_source": place.source,
            "lots": [
                {"id": lot.get("id"), "title": lot.get("title")} for lot in lots
            ],
        },
    ), []
