"""Store rows -> interchange: the one serializer in that direction.

``*_doc(row)`` is the row as an interchange entity: what ``sroi export`` and the export
API write, what the CRUD API merges a PATCH into, and what re-imports to the same row
(the inverse of ``api.importers.interchange``, which is the one way back). Deterministic:
fields in the format's order, absent optional fields left out, store columns the format has
no field for carried in ``extra`` when they differ from their default.

``*_out(row)`` is the API's response: the document plus the store's own fields (status,
timestamps) and coordinates always spelled out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from api.importers.interchange import EXTRA_COLUMNS
from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow
from matcher.refdata import municipalities


def _num(x: float | int | None) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _date(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` unless the value is absent (None, empty list/object/string)."""
    if value is None or value == [] or value == {} or value == "":
        return
    out[key] = value


def _coords_needed(code: str | None, lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None:
        return False
    muni = municipalities().get(code) if code else None
    return muni is None or (muni.lat, muni.lon) != (lat, lon)


def _extra(kind: str, row: Any) -> dict[str, Any]:
    extra = dict(row.extra or {})
    for key, (column, default) in EXTRA_COLUMNS[kind].items():
        value = getattr(row, column)
        if value != default and value is not None:
            extra[key] = list(value) if isinstance(value, list) else value
    return extra


def enterprise_doc(row: EnterpriseRow) -> dict[str, Any]:
    d: dict[str, Any] = {"ref": row.ref, "name": row.name}
    _put(d, "kvk", row.kvk)
    d["description"] = row.description or ""
    d["cpv"] = list(row.cpv or [])
    _put(d, "municipality", row.municipality_code)
    _put(d, "postcode", row.postcode)
    if _coords_needed(row.municipality_code, row.lat, row.lon):
        d["lat"], d["lon"] = row.lat, row.lon
    d["service_radius_km"] = _num(row.service_radius_km)
    _put(d, "target_groups", list(row.target_groups or []))
    _put(d, "themes", list(row.themes or []))
    d["capacity"] = {"placements_per_year": int(row.placements_per_year or 0),
                     "purchasing_eur_per_year": _num(float(row.purchasing_eur_per_year or 0))}
    _put(d, "target_group_share", row.target_group_share)
    _put(d, "trade_income_share", row.trade_income_share)
    _put(d, "certifications", [
        {"scheme": c.get("scheme"), "level": c.get("level"), "valid_until": c.get("valid_until")}
        for c in (row.certifications or [])])
    vet: dict[str, Any] = {"status": row.vetting_status or "pending"}
    _put(vet, "by", row.vetted_by)
    _put(vet, "on", _date(row.vetted_on))
    _put(vet, "valid_until", _date(row.vetting_valid_until))
    d["vetting"] = vet
    contact: dict[str, Any] = {}
    _put(contact, "name", row.contact_name)
    _put(contact, "email", row.contact_email)
    _put(contact, "phone", row.contact_phone)
    _put(contact, "website", row.website)
    _put(d, "contact", contact)
    _put(d, "extra", _extra("enterprises", row))
    return d


def tender_doc(row: TenderRow) -> dict[str, Any]:
    d: dict[str, Any] = {"ref": row.ref, "buyer": row.buyer, "title": row.title}
    _put(d, "description", row.description)
    d["cpv"] = list(row.cpv or [])
    _put(d, "contract_value_eur", _num(row.contract_value_eur))
    _put(d, "start", _date(row.start))
    _put(d, "end", _date(row.end))
    _put(d, "municipality", row.municipality_code)
    _put(d, "postcode", row.postcode)
    if row.lat is not None and row.lon is not None:
        d["lat"], d["lon"] = row.lat, row.lon
    sroi: dict[str, Any] = {}
    _put(sroi, "percentage", _num(row.sroi_percentage))
    _put(sroi, "amount_eur", _num(row.sroi_amount_eur))
    _put(sroi, "threshold_eur", _num(row.sroi_threshold_eur))
    _put(sroi, "cap_eur", _num(row.sroi_cap_eur))
    _put(sroi, "target_groups", list(row.sroi_target_groups or []))
    _put(sroi, "region_km", _num(row.sroi_region_km))
    _put(sroi, "policy", row.sroi_policy)
    _put(sroi, "labour_cost_eur", _num(row.sroi_labour_cost_eur))
    basis = row.sroi_basis or "contract_value"
    if sroi or basis != "contract_value":
        d["sroi"] = {"basis": basis, **sroi}
    _put(d, "extra", _extra("tenders", row))
    return d


def challenge_doc(row: ChallengeRow) -> dict[str, Any]:
    d: dict[str, Any] = {"ref": row.ref, "municipality": row.municipality_code,
                         "title": row.title, "question": row.question or ""}
    _put(d, "themes", list(row.themes or []))
    _put(d, "opened_on", _date(row.opened_on))
    if row.deadline is not None:
        d["deadline"] = _date(row.deadline)
    elif row.opened_on is not None:
        d["deadline"] = None  # explicit: no deadline (absent would default to 12 weeks)
    _put(d, "budget_eur", _num(row.budget_eur))
    d["max_partners"] = int(row.max_partners)
    _put(d, "extra", _extra("challenges", row))
    return d


def obligation_doc(row: ObligationRow) -> dict[str, Any]:
    d: dict[str, Any] = {"ref": row.ref, "firm": row.firm}
    _put(d, "tender", row.tender_ref)
    _put(d, "amount_eur", _num(row.amount_eur))
    _put(d, "due", _date(row.due))
    _put(d, "buys", list(row.buys or []))
    _put(d, "municipality", row.municipality_code)
    if row.lat is not None and row.lon is not None:
        d["lat"], d["lon"] = row.lat, row.lon
    _put(d, "policy", row.policy)
    _put(d, "extra", _extra("obligations", row))
    return d


ROWS: dict[str, tuple[Any, Any]] = {
    "enterprises": (EnterpriseRow, enterprise_doc), "tenders": (TenderRow, tender_doc),
    "challenges": (ChallengeRow, challenge_doc), "obligations": (ObligationRow, obligation_doc),
}


def _stored(row: Any) -> dict[str, Any]:
    return {"created_at": row.created_at, "updated_at": row.updated_at}


def enterprise_out(row: EnterpriseRow) -> dict[str, Any]:
    return {**enterprise_doc(row), "lat": row.lat, "lon": row.lon, **_stored(row)}


def tender_out(row: TenderRow) -> dict[str, Any]:
    return {**tender_doc(row), "status": row.status, **_stored(row)}


def challenge_out(row: ChallengeRow) -> dict[str, Any]:
    return {**challenge_doc(row), "status": row.status, **_stored(row)}


def obligation_out(row: ObligationRow) -> dict[str, Any]:
    return {**obligation_doc(row), "status": row.status, **_stored(row)}
