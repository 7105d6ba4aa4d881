"""Store rows -> interchange dicts (what the API returns and PATCH merges into).

The inverse of ``api.importers.interchange``: importing what these write gives
the same rows back, including the store columns the format carries in ``extra``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def enterprise_dict(row: EnterpriseRow) -> dict[str, Any]:
    vetting = _drop_none({"status": row.vetting_status, "by": row.vetted_by,
                          "on": _iso(row.vetted_on), "valid_until": _iso(row.vetting_valid_until)})
    return _drop_none({
        "ref": row.ref, "name": row.name, "kvk": row.kvk, "description": row.description,
        "cpv": list(row.cpv or []), "municipality": row.municipality_code,
        "postcode": row.postcode, "lat": row.lat, "lon": row.lon,
        "service_radius_km": row.service_radius_km,
        "target_groups": list(row.target_groups or []), "themes": list(row.themes or []),
        "capacity": {"placements_per_year": row.placements_per_year,
                     "purchasing_eur_per_year": row.purchasing_eur_per_year},
        "target_group_share": row.target_group_share,
        "trade_income_share": row.trade_income_share,
        "certifications": [dict(c) for c in (row.certifications or [])],
        "vetting": vetting,
        "extra": dict(row.extra or {}),
    })


def enterprise_out(row: EnterpriseRow) -> dict[str, Any]:
    return {**enterprise_dict(row), "created_at": row.created_at, "updated_at": row.updated_at}


def tender_clause(row: TenderRow) -> dict[str, Any] | None:
    if row.sroi_percentage is None and row.sroi_amount_eur is None and not row.sroi_policy:
        return None
    return _drop_none({
        "percentage": row.sroi_percentage, "amount_eur": row.sroi_amount_eur,
        "basis": row.sroi_basis, "threshold_eur": row.sroi_threshold_eur,
        "cap_eur": row.sroi_cap_eur, "target_groups": list(row.sroi_target_groups or []) or None,
        "region_km": row.sroi_region_km, "policy": row.sroi_policy,
        "labour_cost_eur": row.sroi_labour_cost_eur,
    })


def tender_dict(row: TenderRow) -> dict[str, Any]:
    extra = dict(row.extra or {})
    # Store columns without an interchange field travel in extra (see interchange.py).
    extra.update(_drop_none({
        "reserved": row.reserved or None, "status": row.status, "source": row.source,
        "nuts3": row.nuts3, "social_signals": list(row.social_signals or []) or None,
        "sroi_detected": row.sroi_detected or None,
        "sroi_detected_sentence": row.sroi_detected_sentence,
        "sroi_confirmed": None if row.sroi_confirmed else False,
    }))
    return _drop_none({
        "ref": row.ref, "buyer": row.buyer, "title": row.title, "description": row.description,
        "cpv": list(row.cpv or []), "contract_value_eur": row.contract_value_eur,
        "start": _iso(row.start), "end": _iso(row.end),
        "municipality": row.municipality_code, "postcode": row.postcode,
        "lat": row.lat, "lon": row.lon, "sroi": tender_clause(row), "extra": extra,
    })


def tender_out(row: TenderRow) -> dict[str, Any]:
    return {**tender_dict(row), "status": row.status, "created_at": row.created_at,
            "updated_at": row.updated_at}


def challenge_dict(row: ChallengeRow) -> dict[str, Any]:
    extra = dict(row.extra or {})
    extra["status"] = row.status
    return _drop_none({
        "ref": row.ref, "municipality": row.municipality_code, "title": row.title,
        "question": row.question, "themes": list(row.themes or []),
        "opened_on": _iso(row.opened_on), "deadline": _iso(row.deadline),
        "budget_eur": row.budget_eur, "max_partners": row.max_partners, "extra": extra,
    })


def challenge_out(row: ChallengeRow) -> dict[str, Any]:
    return {**challenge_dict(row), "status": row.status, "created_at": row.created_at,
            "updated_at": row.updated_at}


def obligation_dict(row: ObligationRow) -> dict[str, Any]:
    extra = dict(row.extra or {})
    extra["status"] = row.status
    return _drop_none({
        "ref": row.ref, "firm": row.firm, "tender": row.tender_ref,
        "amount_eur": row.amount_eur, "due": _iso(row.due), "buys": list(row.buys or []),
        "municipality": row.municipality_code, "lat": row.lat, "lon": row.lon,
        "policy": row.policy, "extra": extra,
    })


def obligation_out(row: ObligationRow) -> dict[str, Any]:
    return {**obligation_dict(row), "status": row.status, "created_at": row.created_at,
            "updated_at": row.updated_at}
