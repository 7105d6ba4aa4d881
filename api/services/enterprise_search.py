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

import re
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from api.capacity_view import capacity_fields
from api.clock import today
from api.services import heap
from api.services.capacity import commitments
from api.services.change_tokens import TokenMemo, cached_token
from api.services.lru import LRU
from api.services.vetting_flow import vetting_state
from api.tables import EnterpriseRow
from matcher.capacity import CapacityState, free_amounts
from matcher.geo import haversine_km_many
from matcher.model import CERTIFICATION_SCHEMES, TARGET_GROUPS, VETTING_STATUSES
from matcher.refdata import cpv_vocabulary, fold, municipalities, resolve_municipality

DEFAULT_RADIUS_KM = 25.0
SORTS = ("relevance", "name", "distance", "capacity")


def _committed_columns(session: Session, table: _Table
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Committed purchase euros and placements per item (``api.services.capacity``)."""
    n = len(table.items)
    purchase, places = np.zeros(n), np.zeros(n)
    for ref, c in commitments(session).by_enterprise.items():
        i = table.refs.get(ref)
        if i is not None:
            purchase[i], places[i] = c.purchase_eur, c.placements
    return purchase, places


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


class _Table:
    """The registry as search needs it: the items plus column arrays, built once per change
    token. Per-token text scores, CPV-prefix masks and per-date certificate columns are
    computed on first use and kept (bounded) with the table, so a warm search is a few
    vectorised operations over the whole registry and Python work only for the page shown."""

    TOKEN_CACHE = 512
    PREFIX_CACHE = 256
    # Text score of one token per item: 0 absent, else 1.0 / 1.5 / 3.0 (see _token_codes).
    SCORES = np.array([0.0, 1.0, 1.5, 3.0])

    def __init__(self, items: list[Item]) -> None:
        self.items = items
        n = len(items)
        self.refs = {item.ref: i for i, item in enumerate(items)}
        self.vetted = np.array([it.vetting_status == "vetted" for it in items], dtype=bool)
        # Last valid day of each vetting (ordinal; no end = never expires): the table is
        # cached across days, so validity on "today" is decided per search (vetting_flow).
        self.vetted_until = np.array(
            [it.vetting_valid_until.toordinal() if it.vetting_valid_until else 10**9
             for it in items], dtype=np.int64)
        self.lat = np.array([it.lat for it in items], dtype=np.float64)
        self.lon = np.array([it.lon for it in items], dtype=np.float64)
        self.purchasing = np.array([it.purchasing_eur_per_year for it in items],
                                   dtype=np.float64)
        self.placements = np.array([it.placements_per_year for it in items], dtype=np.float64)
        # Sorting by name: rank in a stable sort by the folded name (ties keep SQL order).
        self.name_rank = np.empty(n, dtype=np.int64)
        self.name_rank[sorted(range(n), key=lambda i: items[i].name_folded)] = np.arange(n)
        self.tg_values, self.tg = _membership([it.target_groups for it in items],
                                              TARGET_GROUPS)
        self.vet_values, self.vet = _membership([[it.vetting_status] for it in items],
                                                VETTING_STATUSES)
        # CPV divisions and municipalities as (item, code) pairs / codes, for bincount.
        divisions = sorted({c[:2] for it in items for c in it.cpv})
        div_pos = {d: j for j, d in enumerate(divisions)}
        pairs = [(i, div_pos[d]) for i, it in enumerate(items) for d in {c[:2] for c in it.cpv}]
        self.divisions = divisions
        self.div_item = np.array([p[0] for p in pairs], dtype=np.int64)
        self.div_code = np.array([p[1] for p in pairs], dtype=np.int64)
        # Sector of each enterprise: the division of its first CPV code ("??" without one).
        firsts = sorted({(it.cpv or ["??"])[0][:2] for it in items})
        first_pos = {d: j for j, d in enumerate(firsts)}
        self.sectors = firsts
        self.sector = np.array([first_pos[(it.cpv or ["??"])[0][:2]] for it in items],
                               dtype=np.int64)
        munis = sorted({it.municipality_code for it in items if it.municipality_code})
        muni_pos = {m: j for j, m in enumerate(munis)}
        self.munis = munis
        self.muni = np.array([muni_pos.get(it.municipality_code or "", -1) for it in items],
                             dtype=np.int64)
        self._lock = threading.Lock()
        self._tokens: LRU[NDArray[np.uint8]] = LRU(self.TOKEN_CACHE)
        self._prefixes: LRU[NDArray[np.bool_]] = LRU(self.PREFIX_CACHE)
        self._certs: dict[date, tuple[list[str], NDArray[np.bool_]]] = {}

    def token_scores(self, tok: str) -> NDArray[np.float64]:
        codes = self._tokens.get(tok)
        if codes is None:
            spaced = " " + tok
            codes = np.fromiter(
                (3 if tok in it.name_folded else 2 if spaced in it.text_folded
                 else 1 if tok in it.text_folded else 0 for it in self.items),
                dtype=np.uint8, count=len(self.items))
            self._tokens.put(tok, codes)
        out: NDArray[np.float64] = self.SCORES[codes]
        return out

    def cpv_mask(self, prefix: str) -> NDArray[np.bool_]:
        mask = self._prefixes.get(prefix)
        if mask is None:
            mask = np.fromiter((any(c.startswith(prefix) for c in it.cpv) for it in self.items),
                               dtype=bool, count=len(self.items))
            self._prefixes.put(prefix, mask)
        return mask

    def valid_on(self, on: date) -> NDArray[np.bool_]:
        """Validly vetted on ``on`` (vetting_flow.is_validly_vetted, vectorised)."""
        return self.vetted & (self.vetted_until >= on.toordinal())

    def certifications(self, on: date) -> tuple[list[str], NDArray[np.bool_]]:
        """Schemes and an (items x schemes) matrix of certificates valid on ``on``."""
        with self._lock:
            hit = self._certs.get(on)
        if hit is None:
            hit = _membership(
                [[str(c.get("scheme")) for c in _valid_certs(it, on)] for it in self.items],
                CERTIFICATION_SCHEMES)
            with self._lock:
                if len(self._certs) > 4:
                    self._certs.clear()
                self._certs[on] = hit
        return hit


def _membership(values: list[list[str]], order: tuple[str, ...] | list[str]
                ) -> tuple[list[str], NDArray[np.bool_]]:
    """(columns, items x columns bool matrix): the vocabulary first, then any other value."""
    columns = list(order)
    seen = set(columns)
    for vals in values:
        for v in vals:
            if v not in seen:
                seen.add(v)
                columns.append(v)
    pos = {v: j for j, v in enumerate(columns)}
    matrix = np.zeros((len(values), len(columns)), dtype=bool)
    rows = [i for i, vals in enumerate(values) for _ in vals]
    cols = [pos[v] for vals in values for v in vals]
    matrix[rows, cols] = True
    return columns, matrix


_cache_lock = threading.Lock()
_build_lock = threading.Lock()  # one build at a time: a second caller waits for it
_cache: dict[str, tuple[tuple[Any, ...], _Table]] = {}


def _stamp(session: Session) -> tuple[Any, ...]:
    # The vetted count is in the stamp because a vetting change may not bump updated_at.
    return tuple(session.exec(
        select(func.count(), func.max(EnterpriseRow.updated_at), func.max(EnterpriseRow.id),
               func.sum(case((col(EnterpriseRow.vetting_status) == "vetted", 1), else_=0)))
        .select_from(EnterpriseRow)).one())


_SHARED_STAMPS = TokenMemo(ttl_s=5.0)  # the shared data version says sooner


def _table(session: Session) -> _Table:
    url = str(session.get_bind().engine.url)
    # Shared between requests for up to a second while nothing is committed.
    stamp = cached_token(_SHARED_STAMPS, session, url, lambda: _stamp(session))
    with _cache_lock:
        hit = _cache.get(url)
    if hit and hit[0] == stamp:
        return hit[1]
    with _build_lock:
        with _cache_lock:
            hit = _cache.get(url)
        if hit and hit[0] == stamp:  # built by the request we waited for
            return hit[1]
        table = _Table(_read_items(session))
        heap.settle_soon()  # long-lived, like the match index
        with _cache_lock:
            _cache[url] = (stamp, table)
    return table


def _load_items(session: Session) -> list[Item]:
    return _table(session).items


def warm(session: Session) -> None:
    """Build the search table now (app start-up), so no request waits for it."""
    _table(session)


_NON_WORD = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    """``matcher.refdata.fold``, with a fast path for ASCII text (no accents to strip)."""
    if text.isascii():
        return _NON_WORD.sub(" ", text.lower()).strip()
    return fold(text)


def _read_items(session: Session) -> list[Item]:
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
            name_folded=_fold(row.name), text_folded=" " + _fold(text) + " ",
        ))
    return items


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
    _SHARED_STAMPS.clear()


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
    capacity: CapacityState  # per year, after commitments elsewhere
    valid_certifications: list[dict[str, Any]]
    vetting_state: str = ""  # vetting_flow.vetting_state on the search's day


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


def _any_of(columns: list[str], matrix: NDArray[np.bool_], wanted: list[str]
            ) -> NDArray[np.bool_]:
    idx = [j for j, v in enumerate(columns) if v in wanted]
    if not idx:
        return np.zeros(matrix.shape[0], dtype=bool)
    out: NDArray[np.bool_] = np.any(matrix[:, idx], axis=1)
    return out


def search(session: Session, params: SearchParams, restrict_vetted: bool = False
           ) -> SearchResult:
    """Run one search. ``restrict_vetted``: only vetted enterprises (officers, firms)."""
    errors: dict[str, str] = {}
    table = _table(session)
    items = table.items
    n = len(items)
    on = today()
    used, used_places = _committed_columns(session, table)

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

    # The filters that are not facets, as one mask over the registry.
    base = table.valid_on(on) if restrict_vetted else np.ones(n, dtype=bool)
    score = np.zeros(n, dtype=np.float64)
    for tok in tokens:
        tok_score = table.token_scores(tok)
        base &= tok_score > 0
        score += tok_score
    if prefix:
        base &= table.cpv_mask(prefix)
    distance: NDArray[np.float64] | None = None
    if place is not None:
        distance = haversine_km_many(place.lat, place.lon, table.lat, table.lon)
        if radius is not None:
            base &= distance <= radius
    left = free_amounts(table.purchasing, used)
    if params.min_capacity_eur is not None:
        base &= left >= params.min_capacity_eur

    # Facets: each one counted over the results of all the *other* filters (disjunctive).
    cert_columns, certs = table.certifications(on)
    facet_data = {"target_group": (table.tg_values, table.tg, params.target_groups,
                                   TARGET_GROUPS),
                  "certification": (cert_columns, certs, params.certifications,
                                    CERTIFICATION_SCHEMES),
                  "vetting": (table.vet_values, table.vet, params.vetting, VETTING_STATUSES)}
    passes = {name: _any_of(columns, matrix, wanted) if wanted else np.ones(n, dtype=bool)
              for name, (columns, matrix, wanted, _order) in facet_data.items()}
    facets: dict[str, list[tuple[str, str, int]]] = {}
    for name, (columns, matrix, wanted, order) in facet_data.items():
        mask = base.copy()
        for other, ok in passes.items():
            if other != name:
                mask &= ok
        counts = dict(zip(columns, matrix[mask].sum(axis=0).tolist(), strict=True))
        facets[name] = [(v, v, counts.get(v, 0)) for v in order if counts.get(v, 0)
                        or v in wanted]

    hit_mask = base & passes["target_group"] & passes["certification"] & passes["vetting"]
    # CPV divisions and municipalities are counted over the final result (navigation aids).
    div_counts = np.bincount(table.div_code[hit_mask[table.div_item]],
                             minlength=len(table.divisions))
    muni_codes = table.muni[hit_mask]
    muni_counts = np.bincount(muni_codes[muni_codes >= 0], minlength=len(table.munis))
    vocab = cpv_vocabulary()
    top_divs = sorted(((d, int(c)) for d, c in zip(table.divisions, div_counts, strict=True)
                       if c), key=lambda kv: (-kv[1], kv[0]))[:15]
    facets["cpv_division"] = [
        (d, (vocab[d + "000000"].label_nl if d + "000000" in vocab else d), c)
        for d, c in top_divs]
    munis = municipalities()
    top_munis = sorted(((m, int(c)) for m, c in zip(table.munis, muni_counts, strict=True)
                        if c), key=lambda kv: (-kv[1], kv[0]))[:15]
    facets["municipality"] = [(code, munis[code].name if code in munis else code, c)
                              for code, c in top_munis]

    sort = params.sort if params.sort in SORTS else "relevance"
    if sort == "relevance" and not tokens:
        sort = "distance" if place is not None else "name"
    idx = np.flatnonzero(hit_mask)
    name_rank = table.name_rank[idx]
    dist0 = distance[idx] if distance is not None else np.zeros(len(idx))
    if sort == "relevance":
        perm = np.lexsort((name_rank, dist0, -score[idx]))
    elif sort == "distance" and place is not None:
        perm = np.lexsort((name_rank, dist0))
    elif sort == "capacity":
        perm = np.lexsort((name_rank, -left[idx]))
    else:
        perm = np.argsort(name_rank, kind="stable")
    ranked = idx[perm]

    total = len(ranked)
    if params.per_page > 0:
        start = (max(1, params.page) - 1) * params.per_page
        ranked = ranked[start:start + params.per_page]
    page_hits = [Hit(items[i], float(score[i]),
                     float(distance[i]) if distance is not None else None,
                     CapacityState(float(table.purchasing[i]), float(table.placements[i]),
                                   float(used[i]), float(used_places[i])),
                     _valid_certs(items[i], on),
                     vetting_state(items[i].vetting_status, items[i].vetting_valid_until, on))
                 for i in ranked.tolist()]
    return SearchResult(params, total, page_hits, facets, place, errors)


def capacity_by_sector(session: Session, restrict_vetted: bool = False
                       ) -> dict[str, tuple[int, float, float]]:
    """Per sector (CPV division of an enterprise's first code, "??" without one): number
    of enterprises, purchasing capacity and committed purchase euros (at most the
    capacity), from the cached search table. ``restrict_vetted``: vetted enterprises only."""
    table = _table(session)
    n = len(table.items)
    used, _ = _committed_columns(session, table)
    keep = table.valid_on(today()) if restrict_vetted else np.ones(n, dtype=bool)
    sector = table.sector[keep]
    k = len(table.sectors)
    counts = np.bincount(sector, minlength=k)
    capacity = np.bincount(sector, weights=table.purchasing[keep], minlength=k)
    committed = np.bincount(sector, weights=np.minimum(used, table.purchasing)[keep],
                            minlength=k)
    return {d: (int(counts[j]), float(capacity[j]), float(committed[j]))
            for j, d in enumerate(table.sectors) if counts[j]}


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
        "vetting_state": hit.vetting_state,
        **capacity_fields(hit.capacity),
        "score": round(hit.score, 2),
    }
