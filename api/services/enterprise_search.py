"""Faceted enterprise search, shared by the search page, its CSV export and /api/v1/search.

The enterprise table is small (thousands of rows) and the filters mix JSON lists,
distances and committed capacity, which SQL does poorly on SQLite. So the rows are
read once into light, pre-folded records, cached per process and invalidated when
the table changes (row count + latest ``updated_at``, one cheap query), and every
search filters and counts in memory: a few milliseconds for thousands of rows.

Facet counts are disjunctive: each facet is counted over the results of all the
*other* filters, so ticking one value still shows how many the siblings would add.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from api.settings import get_settings
from api.tables import AllocationRow, EnterpriseRow
from matcher.geo import haversine_km
from matcher.model import CERTIFICATION_SCHEMES, TARGET_GROUPS, VETTING_STATUSES
from matcher.refdata import cpv_vocabulary, fold, municipalities, resolve_municipality

DEFAULT_RADIUS_KM = 25.0
SORTS = ("relevance", "name", "distance", "capacity")


def reference_date() -> date:
    configured = get_settings().today
    return date.fromisoformat(configured) if configured else date.today()


def committed_by_enterprise(session: Session) -> dict[str, float]:
    """Committed purchasing euros per enterprise ref.

    Prefers ``api.services.capacity.committed_eur`` (the capacity owner's definition);
    until that exists, sums committed purchase allocations.
    """
    try:
        from api.services.capacity import committed_eur  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name != "api.services.capacity":
            raise
    else:
        return {str(k): float(v) for k, v in committed_eur(session).items()}
    rows = session.exec(
        select(AllocationRow.enterprise_ref, func.sum(AllocationRow.amount_eur))
        .where(AllocationRow.status == "committed", AllocationRow.kind == "purchase")
        .group_by(AllocationRow.enterprise_ref)
    ).all()
    return {ref: float(total or 0.0) for ref, total in rows}


@dataclass
class Item:
    """What search needs of one enterprise, pre-folded."""

    id: int
    ref: str
    name: str
    description: str
    municipality_code: str | None
    lat: float
    lon: float
    service_radius_km: float
    cpv: list[str]
    target_groups: list[str]
    themes: list[str]
    certifications: list[dict[str, Any]]
    vetting_status: str
    vetting_valid_until: date | None
    purchasing_eur_per_year: float
    placements_per_year: int
    name_folded: str
    text_folded: str


_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[Any, ...], list[Item]]] = {}


def _load_items(session: Session) -> list[Item]:
    url = str(session.get_bind().engine.url)
    # The vetted count is in the stamp because a vetting change may not bump updated_at.
    stamp = tuple(session.exec(
        select(func.count(), func.max(EnterpriseRow.updated_at), func.max(EnterpriseRow.id),
               func.sum(case((col(EnterpriseRow.vetting_status) == "vetted", 1), else_=0)))
        .select_from(EnterpriseRow)).one())
    with _cache_lock:
        hit = _cache.get(url)
        if hit and hit[0] == stamp:
            return hit[1]
    vocab = cpv_vocabulary()
    munis = municipalities()
    items = []
    for row in session.exec(select(EnterpriseRow).order_by(EnterpriseRow.name)):
        cpv = list(row.cpv or [])
        muni = munis.get(row.municipality_code or "")
        labels = " ".join(vocab[c].label_nl + " " + vocab[c].label_en for c in cpv if c in vocab)
        text = " ".join([row.name, row.description or "", " ".join(row.themes or []), labels,
                         muni.name if muni else "", row.ref, row.kvk or ""])
        items.append(Item(
            id=row.id or 0, ref=row.ref, name=row.name, description=row.description or "",
            municipality_code=row.municipality_code, lat=row.lat, lon=row.lon,
            service_radius_km=row.service_radius_km, cpv=cpv,
            target_groups=list(row.target_groups or []), themes=list(row.themes or []),
            certifications=list(row.certifications or []), vetting_status=row.vetting_status,
            vetting_valid_until=row.vetting_valid_until,
            purchasing_eur_per_year=float(row.purchasing_eur_per_year or 0.0),
            placements_per_year=int(row.placements_per_year or 0),
            name_folded=fold(row.name), text_folded=" " + fold(text) + " ",
        ))
    with _cache_lock:
        _cache[url] = (stamp, items)
    return items


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


@dataclass
class SearchParams:
    q: str = ""
    cpv: str = ""  # a code prefix: "909", "90910000" (trailing zeros ignored)
    municipality: str = ""  # code or name
    km: float | None = None
    target_groups: list[str] = field(default_factory=list)
    certifications: list[str] = field(default_factory=list)
    vetting: list[str] = field(default_factory=list)
    min_capacity_eur: float | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass
class Hit:
    item: Item
    score: float
    distance_km: float | None
    committed_eur: float
    capacity_left_eur: float
    valid_certifications: list[dict[str, Any]]


@dataclass
class SearchResult:
    params: SearchParams
    total: int
    hits: list[Hit]  # the requested page (all hits when per_page is 0)
    facets: dict[str, list[tuple[str, str, int]]]  # name -> (value, label, count)
    place: Any  # the resolved Municipality, if any
    errors: dict[str, str]


def cpv_prefix(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())[:8]
    stripped = digits.rstrip("0")
    # Keep at least the division (2 digits): "90000000" means division 90.
    return stripped if len(stripped) >= 2 else digits[:2]


def _valid_certs(item: Item, on: date) -> list[dict[str, Any]]:
    out = []
    for cert in item.certifications:
        until = cert.get("valid_until")
        if until:
            try:
                if date.fromisoformat(str(until)[:10]) < on:
                    continue
            except ValueError:
                continue
        out.append(cert)
    return out


def search(session: Session, params: SearchParams, restrict_vetted: bool = False
           ) -> SearchResult:
    """Run one search. ``restrict_vetted``: only vetted enterprises (officers, firms)."""
    errors: dict[str, str] = {}
    items = _load_items(session)
    on = reference_date()
    committed = committed_by_enterprise(session)

    place = None
    if params.municipality.strip():
        place = resolve_municipality(params.municipality)
        if place is None:
            errors["municipality"] = "Onbekende gemeente"
    radius = params.km if params.km is not None else (DEFAULT_RADIUS_KM if place else None)
    tokens = fold(params.q).split() if params.q else []
    prefix = cpv_prefix(params.cpv) if params.cpv.strip() else ""
    if params.cpv.strip() and not prefix:
        errors["cpv"] = "Geef een CPV-code of het begin ervan (cijfers)"

    # Per-item evaluation of every filter once; facets then combine the booleans.
    rows: list[tuple[Hit, dict[str, bool], dict[str, list[str]]]] = []
    for item in items:
        if restrict_vetted and item.vetting_status != "vetted":
            continue
        score = 0.0
        if tokens:
            ok = True
            for tok in tokens:
                if tok in item.name_folded:
                    score += 3.0
                elif (" " + tok) in item.text_folded:
                    score += 1.5
                elif tok in item.text_folded:
                    score += 1.0
                else:
                    ok = False
                    break
            if not ok:
                continue
        if prefix and not any(c.startswith(prefix) for c in item.cpv):
            continue
        distance = None
        if place is not None:
            distance = haversine_km(place.lat, place.lon, item.lat, item.lon)
            if radius is not None and distance > radius:
                continue
        used = committed.get(item.ref, 0.0)
        left = max(0.0, item.purchasing_eur_per_year - used)
        if params.min_capacity_eur is not None and left < params.min_capacity_eur:
            continue
        certs = _valid_certs(item, on)
        values = {
            "target_group": item.target_groups,
            "certification": sorted({str(c.get("scheme")) for c in certs}),
            "vetting": [item.vetting_status],
        }
        passes = {
            "target_group": not params.target_groups
            or any(g in params.target_groups for g in item.target_groups),
            "certification": not params.certifications
            or any(s in params.certifications for s in values["certification"]),
            "vetting": not params.vetting or item.vetting_status in params.vetting,
        }
        hit = Hit(item, score, distance, used, left, certs)
        rows.append((hit, passes, values))

    facets: dict[str, list[tuple[str, str, int]]] = {}
    vocab_order = {"target_group": TARGET_GROUPS, "certification": CERTIFICATION_SCHEMES,
                   "vetting": VETTING_STATUSES}
    for name, order in vocab_order.items():
        counts: Counter[str] = Counter()
        for _hit, passes, values in rows:
            if all(ok for other, ok in passes.items() if other != name):
                counts.update(set(values[name]))
        facets[name] = [(v, v, counts.get(v, 0)) for v in order if counts.get(v, 0)
                        or v in _selected(params, name)]

    hits = [hit for hit, passes, _ in rows if all(passes.values())]
    # CPV divisions and municipalities are counted over the final result (navigation aids).
    division_counts: Counter[str] = Counter()
    muni_counts: Counter[str] = Counter()
    for hit in hits:
        division_counts.update({c[:2] for c in hit.item.cpv})
        if hit.item.municipality_code:
            muni_counts[hit.item.municipality_code] += 1
    vocab = cpv_vocabulary()
    facets["cpv_division"] = [
        (d, (vocab[d + "000000"].label_nl if d + "000000" in vocab else d), n)
        for d, n in sorted(division_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:15]]
    munis = municipalities()
    facets["municipality"] = [
        (code, munis[code].name if code in munis else code, n)
        for code, n in sorted(muni_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:15]]

    sort = params.sort if params.sort in SORTS else "relevance"
    if sort == "relevance" and not tokens:
        sort = "distance" if place is not None else "name"
    if sort == "relevance":
        hits.sort(key=lambda h: (-h.score, h.distance_km or 0.0, h.item.name_folded))
    elif sort == "distance" and place is not None:
        hits.sort(key=lambda h: (h.distance_km or 0.0, h.item.name_folded))
    elif sort == "capacity":
        hits.sort(key=lambda h: (-h.capacity_left_eur, h.item.name_folded))
    else:
        hits.sort(key=lambda h: h.item.name_folded)

    total = len(hits)
    if params.per_page > 0:
        start = (max(1, params.page) - 1) * params.per_page
        page_hits = hits[start:start + params.per_page]
    else:
        page_hits = hits
    return SearchResult(params, total, page_hits, facets, place, errors)


def _selected(params: SearchParams, facet: str) -> list[str]:
    return {"target_group": params.target_groups, "certification": params.certifications,
            "vetting": params.vetting}.get(facet, [])


def hit_to_dict(hit: Hit, lang: str = "nl") -> dict[str, Any]:
    """A hit as JSON (the API) and as a CSV row."""
    item = hit.item
    return {
        "ref": item.ref,
        "name": item.name,
        "municipality": item.municipality_code,
        "municipality_name": (municipalities()[item.municipality_code].name
                              if item.municipality_code in municipalities() else None),
        "distance_km": round(hit.distance_km, 1) if hit.distance_km is not None else None,
        "cpv": item.cpv,
        "target_groups": item.target_groups,
        "themes": item.themes,
        "certifications": hit.valid_certifications,
        "vetting_status": item.vetting_status,
        "purchasing_eur_per_year": item.purchasing_eur_per_year,
        "placements_per_year": item.placements_per_year,
        "committed_eur": round(hit.committed_eur, 2),
        "capacity_left_eur": round(hit.capacity_left_eur, 2),
        "score": round(hit.score, 2),
    }
