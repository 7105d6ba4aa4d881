"""The tender's region map (#16 item 7b): an inline SVG drawn by the server from the
reference data's municipality centroids (no tiles, no script, no outside address), the
tender's place and region circle, the matched enterprises as links, and the same
enterprises as a table (text alternative). On SQLite."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.i18n import format_km
from api.tables import TenderRow
from api.web.region_map import KM_PER_DEG_LAT, _country
from matcher.refdata import municipalities


def test_projection_keeps_the_country_the_right_way_round() -> None:
    proj, dots = _country()
    m = municipalities()
    groningen, maastricht = proj.xy(m["GM0014"].lat, m["GM0014"].lon), \
        proj.xy(m["GM0935"].lat, m["GM0935"].lon)
    den_helder, enschede = proj.xy(m["GM0400"].lat, m["GM0400"].lon), \
        proj.xy(m["GM0153"].lat, m["GM0153"].lon)
    assert groningen[1] < maastricht[1]  # north is up
    assert den_helder[0] < enschede[0]  # west is left
    assert len(dots) == len(m)
    # One km north and one km east are the same length on the map near 52.2° N.
    utrecht = m["GM0344"]
    x0, y0 = proj.xy(utrecht.lat, utrecht.lon)
    _, y1 = proj.xy(utrecht.lat + 10 / KM_PER_DEG_LAT, utrecht.lon)
    assert abs((y0 - y1) - 10 * proj.scale) < 0.2


def test_tender_page_draws_the_region(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    with Session(get_engine()) as s:
        row = s.exec(select(TenderRow).where(TenderRow.ref == "T-UTR-1")).one()
        row.sroi_region_km = 20.0
        s.add(row)
        s.commit()
    login("officer")
    html = client.get("/tenders/T-UTR-1").text
    m = re.search(r'<section class="card" aria-labelledby="map-title" id="region-map">(.*?)'
                  r"</section>", html, re.S)
    assert m, "no map section"
    section = m.group(1)
    svg = section[section.index("<svg"):section.index("</svg>")]
    assert 'role="img"' in svg and 'aria-labelledby="map-svg-title map-svg-desc"' in svg
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")
    assert svg.count('<circle cx=') >= len(municipalities())  # the country's dots
    assert "<a " not in svg  # an image holds no controls; the table links them
    dots = re.findall(r'<circle class="enterprise" data-ref="([^"]+)" data-rank="(\d+)"', svg)
    rows = re.findall(r'<tr><td>(\d+)</td><td><a href="/enterprises/([^"]+)">', section)
    assert dots and sorted(dots) == sorted((ref, r) for r, ref in rows)
    # The region circle: 20 km in map units.
    proj, _ = _country()
    r = re.search(r'<circle class="region" [^>]*r="([\d.]+)"', svg)
    assert r and abs(float(r.group(1)) - 20 * proj.scale) < 0.1
    # The description counts the enterprises within 20 km from the table's distances.
    kms = [float(k.replace(",", ".")) for k in re.findall(
        r'<td class="num">([\d.,]+)\s*km</td></tr>', section)]
    assert len(kms) == len(rows)
    inside = sum(1 for k in kms if k <= 20)
    said = f"Regio van {format_km(20)} rond Utrecht; {inside} van de {len(rows)} getoonde"
    assert said in section
    en = client.get("/tenders/T-UTR-1?lang=en").text
    assert "Map of the region" in en and "Enterprises on the map as a table" in en
