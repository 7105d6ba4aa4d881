"""The vectorised enterprise search against the plain per-enterprise rules it replaced.

``reference`` is the earlier implementation (one Python pass per enterprise, Counter
facets), kept here as the oracle: for random combinations of text, CPV prefix, place,
radius, facets, capacity, sort, page and vetted-only, ``search`` must return the same
total, page, distances, capacity and facets.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from sqlmodel import Session

from api import settings as api_settings
from api.clock import today
from api.services import enterprise_search as es
from api.services.capacity import capacity_states
from matcher.geo import haversine_km
from matcher.model import CERTIFICATION_SCHEMES, TARGET_GROUPS, VETTING_STATUSES
from matcher.refdata import cpv_vocabulary, fold, municipalities, resolve_municipality
from tests.web.seed import seed


def reference(session: Session, params: es.SearchParams, restrict_vetted: bool
              ) -> dict[str, Any]:
    items = es._load_items(session)
    on = today()
    states = capacity_states(session)  # the store's capacity, one enterprise at a time
    place = resolve_municipality(params.municipality) if params.municipality.strip() else None
    radius = params.km if params.km is not None else (es.DEFAULT_RADIUS_KM if place else None)
    tokens = fold(params.q).split() if params.q else []
    prefix = es.cpv_prefix(params.cpv) if params.cpv.strip() else ""
    rows = []
    for item in items:
        if restrict_vetted and item.vetting_status != "vetted":
            continue
        score, ok = 0.0, True
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
        if not ok or (prefix and not any(c.startswith(prefix) for c in item.cpv)):
            continue
        distance = None
        if place is not None:
            distance = haversine_km(place.lat, place.lon, item.lat, item.lon)
            if radius is not None and distance > radius:
                continue
        used = states[item.ref]
        left = used.free_purchase_eur
        if params.min_capacity_eur is not None and left < params.min_capacity_eur:
            continue
        certs = es._valid_certs(item, on)
        values = {"target_group": item.target_groups,
                  "certification": sorted({str(c.get("scheme")) for c in certs}),
                  "vetting": [item.vetting_status]}
        passes = {
            "target_group": not params.target_groups
            or any(g in params.target_groups for g in item.target_groups),
            "certification": not params.certifications
            or any(s in params.certifications for s in values["certification"]),
            "vetting": not params.vetting or item.vetting_status in params.vetting}
        rows.append(((item, score, distance, used, left, certs), passes, values))
    selected = {"target_group": params.target_groups, "certification": params.certifications,
                "vetting": params.vetting}
    facets: dict[str, list[tuple[str, str, int]]] = {}
    for name, order in (("target_group", TARGET_GROUPS),
                        ("certification", CERTIFICATION_SCHEMES), ("vetting", VETTING_STATUSES)):
        counts: Counter[str] = Counter()
        for _hit, passes, values in rows:
            if all(ok for other, ok in passes.items() if other != name):
                counts.update(set(values[name]))
        facets[name] = [(v, v, counts.get(v, 0)) for v in order
                        if counts.get(v, 0) or v in selected[name]]
    hits = [hit for hit, passes, _ in rows if all(passes.values())]
    divisions: Counter[str] = Counter()
    places: Counter[str] = Counter()
    for hit in hits:
        divisions.update({c[:2] for c in hit[0].cpv})
        if hit[0].municipality_code:
            places[hit[0].municipality_code] += 1
    vocab, munis = cpv_vocabulary(), municipalities()
    facets["cpv_division"] = [
        (d, vocab[d + "000000"].label_nl if d + "000000" in vocab else d, n)
        for d, n in sorted(divisions.items(), key=lambda kv: (-kv[1], kv[0]))[:15]]
    facets["municipality"] = [
        (c, munis[c].name if c in munis else c, n)
        for c, n in sorted(places.items(), key=lambda kv: (-kv[1], kv[0]))[:15]]
    sort = params.sort
    if sort == "relevance" and not tokens:
        sort = "distance" if place is not None else "name"
    if sort == "relevance":
        hits.sort(key=lambda h: (-h[1], h[2] or 0.0, h[0].name_folded))
    elif sort == "distance" and place is not None:
        hits.sort(key=lambda h: (h[2] or 0.0, h[0].name_folded))
    elif sort == "capacity":
        hits.sort(key=lambda h: (-h[4], h[0].name_folded))
    else:
        hits.sort(key=lambda h: h[0].name_folded)
    start = (params.page - 1) * params.per_page
    page = hits[start:start + params.per_page] if params.per_page else hits
    return {"total": len(hits), "facets": facets,
            "hits": [(h[0].ref, h[1], h[2], h[3], h[4], h[5]) for h in page]}


@pytest.fixture
def seeded(session: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("TODAY", "2026-06-01")
    api_settings.get_settings.cache_clear()
    es.clear_cache()
    seed(session, n_enterprises=120)
    session.commit()
    return session


def test_vectorised_search_equals_the_per_enterprise_rules(seeded: Session) -> None:
    rng = random.Random(11)
    words = ["schoonmaak", "groen", "werk", "utrecht", "catering", "sociale onderneming",
             "e-01", "xyz", "drukwerk"]
    for _ in range(150):
        params = es.SearchParams(
            q=rng.choice(words) if rng.random() < 0.5 else "",
            cpv=rng.choice(["", "", "909", "77", "55520000", "7"]),
            municipality=rng.choice(["", "", "GM0344", "Amsterdam"]),
            km=rng.choice([None, None, 3.0, 60.0]),
            target_groups=rng.sample(list(TARGET_GROUPS), rng.choice([0, 0, 1, 2])),
            certifications=rng.sample(list(CERTIFICATION_SCHEMES), rng.choice([0, 0, 1])),
            vetting=rng.sample(list(VETTING_STATUSES), rng.choice([0, 0, 1])),
            min_capacity_eur=rng.choice([None, None, 60_000.0, 200_000.0]),
            sort=rng.choice(list(es.SORTS)), page=rng.choice([1, 1, 2]),
            per_page=rng.choice([5, 20, 0]))
        restrict = rng.random() < 0.4
        got = es.search(seeded, params, restrict_vetted=restrict)
        want = reference(seeded, params, restrict)
        assert got.total == want["total"], params
        assert got.facets == want["facets"], params
        page = [(h.item.ref, h.score, h.distance_km, h.capacity, h.capacity.free_purchase_eur,
                 h.valid_certifications) for h in got.hits]
        assert page == want["hits"] or _close(got.hits, want["hits"]), params


def _close(hits: list[es.Hit], want: list[tuple[Any, ...]]) -> bool:
    """Same page, distances equal to 1e-9 km (vectorised vs scalar trigonometry)."""
    if [h.item.ref for h in hits] != [w[0] for w in want]:
        return False
    for h, w in zip(hits, want, strict=True):
        if (h.score, h.capacity, h.capacity.free_purchase_eur, h.valid_certifications) != \
                (w[1], w[3], w[4], w[5]):
            return False
        if (h.distance_km is None) != (w[2] is None) or (
                w[2] is not None and abs(h.distance_km - w[2]) > 1e-9):  # type: ignore[operator]
            return False
    return True


def test_search_table_follows_changes_and_is_reused(seeded: Session) -> None:
    first = es._table(seeded)
    assert es._table(seeded) is first
    row = seeded.get(es.EnterpriseRow, 1)
    assert row is not None
    row.vetting_status = "rejected" if row.vetting_status == "vetted" else "vetted"
    seeded.add(row)
    seeded.commit()
    assert es._table(seeded) is not first
