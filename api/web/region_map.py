"""The map of a tender's region (#16 item 7b): an SVG drawn by the server, so it works
offline and within the Content-Security-Policy (no tiles, no script, no CDN).

The Netherlands is drawn as the CBS municipality centroids of the reference data
(``matcher.refdata.municipalities``: one light dot each, which gives the country's shape);
on it the tender's place of performance, the circle of its social-return region
(``sroi_region_km``, when the clause sets one) and the matched enterprises as numbered dots.
Coordinates are projected equirectangularly around 52.2° N (one km is the same length in
both directions there; enough for a country 300 km across). Distances are the distance
owner's (``matcher.geo.haversine_km``). The page shows the same enterprises as a table
(text alternative) and links to the match table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlmodel import Session, col, select

from api.tables import EnterpriseRow, TenderRow
from matcher.geo import haversine_km
from matcher.refdata import municipalities

KM_PER_DEG_LAT = 111.32
LAT0 = 52.2  # the projection's standard parallel
WIDTH = 360.0  # SVG user units; the image scales with its box
PAD = 12.0
MAX_DOTS = 25  # the best-ranked matches; more would hide each other


@dataclass(frozen=True)
class Projection:
    lat_max: float
    lon_min: float
    scale: float  # SVG units per km
    height: float

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x = (lon - self.lon_min) * KM_PER_DEG_LAT * math.cos(math.radians(LAT0))
        y = (self.lat_max - lat) * KM_PER_DEG_LAT
        return round(PAD + x * self.scale, 1), round(PAD + y * self.scale, 1)


@cache
def _country() -> tuple[Projection, tuple[tuple[float, float], ...]]:
    munis = list(municipalities().values())
    lats = [m.lat for m in munis]
    lons = [m.lon for m in munis]
    width_km = (max(lons) - min(lons)) * KM_PER_DEG_LAT * math.cos(math.radians(LAT0))
    height_km = (max(lats) - min(lats)) * KM_PER_DEG_LAT
    scale = (WIDTH - 2 * PAD) / width_km
    proj = Projection(max(lats), min(lons), scale, round(height_km * scale + 2 * PAD, 1))
    return proj, tuple(proj.xy(m.lat, m.lon) for m in munis)


def tender_place(row: TenderRow) -> tuple[float, float] | None:
    if row.lat is not None and row.lon is not None:
        return float(row.lat), float(row.lon)
    muni = municipalities().get(row.municipality_code or "")
    return (muni.lat, muni.lon) if muni else None


def tender_map(session: Session, row: TenderRow, matches: list[dict[str, Any]]
               ) -> dict[str, Any] | None:
    """What the template draws: the country's dots, the tender's place and region, the
    matched enterprises (rank, name, place, distance). None when the tender has no place."""
    place = tender_place(row)
    if place is None:
        return None
    proj, country = _country()
    top = matches[:MAX_DOTS]
    refs = [str(m["ref"]) for m in top]
    ents = {e.ref: e for e in session.exec(
        select(EnterpriseRow).where(col(EnterpriseRow.ref).in_(refs or [""])))}
    muni_names = {code: m.name for code, m in municipalities().items()}
    dots: list[dict[str, Any]] = []
    inside = 0
    region = row.sroi_region_km
    for m in top:
        e = ents.get(str(m["ref"]))
        if e is None:
            continue
        x, y = proj.xy(e.lat, e.lon)
        km = haversine_km(place[0], place[1], e.lat, e.lon)
        inside += 1 if region is not None and km <= region else 0
        dots.append({"ref": e.ref, "name": e.name, "rank": m.get("rank"), "x": x, "y": y,
                     "place": muni_names.get(e.municipality_code or "", ""), "km": km,
                     "href": f"/enterprises/{e.ref}"})
    tx, ty = proj.xy(*place)
    return {
        "width": WIDTH, "height": proj.height, "country": country,
        "tender": {"x": tx, "y": ty,
                   "place": muni_names.get(row.municipality_code or "", "")},
        "radius": round(region * proj.scale, 1) if region else None, "region_km": region,
        "dots": dots, "inside": inside,
    }
