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

One tender per ocid (``ref`` = ocid). See ``api.importers.common`` for the signal
vocabulary and ``api.services.published`` for the write rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from api.importers.common import (
    ItemError,
    ItemOutcome,
    ParsedTenders,
    TenderData,
    add_duration,
    dedupe,
    normalise_timestamp,
    parse_date,
    resolve_place,
)
from api.importers.sroi_text import detect_sroi_in
from matcher.refdata import CpvError, normalise_cpv

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
        return [], [ItemError(filename, f"not UTF-8 text (byte {exc.start})")]
    if not text.strip():
        return [], [ItemError(filename, "the file is empty")]
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
                                        f"malformed JSON: {exc.msg} at column {exc.colno}"))
        if not values or len(lines) == 1:
            # Not JSON Lines either: report the whole-file error where it is.
            return [], [ItemError(
                filename,
                f"malformed JSON: {whole_exc.msg} at line {whole_exc.lineno} "
                f"column {whole_exc.colno}",
            )]
        return values, errors


def _releases(value: Any, where: str) -> Iterator[_Release | ItemError]:
    """The releases inside one top-level value (package, record, release, array)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _releases(item, f"{where}: [{i}]")
        return
    if not isinstance(value, dict):
        yield ItemError(where, f"expected a JSON object, got {type(value).__name__}")
        return
    if "records" in value:
        records = value["records"]
        if not isinstance(records, list):
            yield ItemError(where, "'records' is not an array", "records")
            return
        for i, rec in enumerate(records):
            yield from _record(rec, f"{where}: records[{i}]")
        return
    if "compiledRelease" in value or ("releases" in value and "ocid" in value):
        yield from _record(value, where)
        return
    if "releases" in value:
        releases = value["releases"]
        if not isinstance(releases, list):
            yield ItemError(where, "'releases' is not an array", "releases")
            return
        for i, rel in enumerate(releases):
            loc = f"{where}: releases[{i}]"
            if isinstance(rel, dict):
                yield _Release(rel, loc)
            else:
                yield ItemError(loc, f"expected a release object, got {type(rel).__name__}")
        return
    yield _Release(value, where)


def _record(rec: Any, where: str) -> Iterator[_Release | ItemError]:
    if not isinstance(rec, dict):
        yield ItemError(where, f"expected a record object, got {type(rec).__name__}")
        return
    ocid = rec.get("ocid")
    where_id = f"{where} (ocid {ocid})" if ocid else where
    compiled = rec.get("compiledRelease")
    if isinstance(compiled, dict):
        if ocid and not compiled.get("ocid"):
            compiled = {**compiled, "ocid": ocid}
        yield _Release(compiled, f"{where_id}.compiledRelease")
        return
    embedded = [r for r in _list(rec.get("releases")) if isinstance(r, dict) and "url" not in r]
    if not embedded:
        yield ItemError(where_id, "record has no compiledRelease and its releases are links "
                        "(url) that this importer does not fetch", "compiledRelease")
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
                err = ItemError(got.location, "release has no ocid", "ocid")
                result.rejected.append(ItemOutcome(got.location, None, "rejected", [err]))
                continue
            groups.setdefault(ocid.strip(), []).append(got)

    if not groups and not result.rejected:
        result.file_errors.append(ItemError(filename, "no OCDS releases or records found"))
    for ocid, releases in groups.items():
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
        try:
            tender, errs = _tender(merged, ocid, location)
        except Exception as exc:  # one odd release never aborts the file
            tender, errs = None, [ItemError(location, f"could not read this release "
                                            f"({exc.__class__.__name__}: {exc})")]
        if errs or tender is None:
            result.rejected.append(ItemOutcome(location, ocid, "rejected", errs))
        else:
            result.tenders.append(tender)
    return result


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


def _tender(r: dict[str, Any], ocid: str, loc: str) -> tuple[TenderData | None, list[ItemError]]:
    errors: list[ItemError] = []
    tender = r.get("tender")
    if not isinstance(tender, dict) or not tender:
        return None, [ItemError(loc, "release has no tender", "tender")]

    title = _text(tender.get("title")) or _text(r.get("title"))
    if title is None:
        errors.append(ItemError(loc, "the tender has no title", "tender.title"))
    buyer = _buyer(r, tender)
    if buyer is None:
        errors.append(ItemError(loc, "no buyer (buyer.name, a party with role 'buyer' or "
                                "tender.procuringEntity)", "buyer"))

    # Value: the contract value is kept in euro only.
    value_eur: float | None = None
    value = tender.get("value")
    if isinstance(value, dict) and value.get("amount") is not None:
        amount, currency = value.get("amount"), value.get("currency")
        if isinstance(amount, bool) or not isinstance(amount, int | float | str):
            errors.append(ItemError(loc, f"amount {amount!r} is not a number",
                                    "tender.value.amount"))
        else:
            try:
                number = float(amount)
            except ValueError:
                errors.append(ItemError(loc, f"amount {amount!r} is not a number",
                                        "tender.value.amount"))
            else:
                if not isinstance(currency, str) or not currency.strip():
                    errors.append(ItemError(loc, "value has no currency",
                                            "tender.value.currency"))
                elif currency.strip().upper() != "EUR":
                    errors.append(ItemError(
                        loc, f"value in {currency.strip().upper()}, only EUR supported",
                        "tender.value.currency"))
                elif number < 0:
                    errors.append(ItemError(loc, "value is negative", "tender.value.amount"))
                else:
                    value_eur = number

    # Contract period.
    start = end = None
    period = tender.get("contractPeriod")
    if isinstance(period, dict):
        try:
            start = parse_date(period.get("startDate"))
            end = parse_date(period.get("endDate"))
            days = period.get("durationInDays")
            if end is None and start is not None and isinstance(days, int | float):
                end = add_duration(start, float(days), "DAY")
        except ValueError as exc:
            errors.append(ItemError(loc, str(exc), "tender.contractPeriod"))
        if start and end and end < start:
            errors.append(ItemError(loc, f"contract period ends ({end}) before it starts "
                                    f"({start})", "tender.contractPeriod"))

    # CPV codes, item by item.
    cpv: list[str] = []
    items = [i for i in _list(tender.get("items")) if isinstance(i, dict)]
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
    for where, c in sources:
        if not isinstance(c, dict) or str(c.get("scheme") or "").strip().upper() != "CPV":
            continue
        try:
            cpv.append(normalise_cpv(c.get("id")))
        except CpvError as exc:
            errors.append(ItemError(loc, str(exc), f"{where}.id"))
    cpv = dedupe(cpv)
    if not cpv and not any(e.field and "classification" in e.field.lower() for e in errors):
        errors.append(ItemError(loc, "no CPV code: at least one item needs a classification "
                                "with scheme CPV", "tender.items[].classification"))

    # Place of performance.
    nuts: list[str] = []
    cities: list[str] = []
    postcodes: list[str] = []
    countries: list[str] = []
    for item in items:
        for addr in _list(item.get("deliveryAddresses")):
            if not isinstance(addr, dict):
                continue
            for key, bucket in (("region", nuts), ("locality", cities), ("city", cities),
                                ("postalCode", postcodes), ("countryName", countries),
                                ("country", countries)):
                if _text(addr.get(key)):
                    bucket.append(str(addr[key]).strip())
        loc_ = item.get("deliveryLocation")
        for dl in loc_ if isinstance(loc_, list) else [loc_]:
            if not isinstance(dl, dict):
                continue
            gaz = dl.get("gazetteer")
            if isinstance(gaz, dict) and str(gaz.get("scheme") or "").upper().startswith("NUTS"):
                nuts.extend(str(x) for x in _list(gaz.get("identifiers")))
            if _text(dl.get("description")):
                cities.append(str(dl["description"]).strip())
    place = resolve_place(nuts, cities, postcodes, countries)

    # Social signals.
    signals: list[str] = []
    reserved = False
    lots = [lot for lot in _list(tender.get("lots")) if isinstance(lot, dict)]
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

    if errors or title is None or buyer is None:
        return None, errors
    return TenderData(
        ref=ocid,
        location=loc,
        source=SOURCE,
        buyer=buyer,
        title=title,
        description=_text(tender.get("description")) or "",
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
        extra={
            "format": "ocds",
            "release_id": r.get("id"),
            "tender_status": tender.get("status"),
            "currency": "EUR" if value_eur is not None else None,
            "place_from": place.how,
            "lots": [
                {"id": lot.get("id"), "title": lot.get("title")} for lot in lots
            ],
        },
    ), []
