"""Enterprise search (page, CSV, JSON facets) and the CPV type-ahead."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.services.cpv_search import search_cpv
from matcher.geo import haversine_km
from matcher.refdata import municipalities
from tests.web.csv_read import read_csv

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]


def test_cpv_words_find_cleaning() -> None:
    hits = search_cpv("schoonmaak")
    assert hits and hits[0].startswith("909")
    assert any(c.startswith("9091") for c in hits[:5])
    assert search_cpv("Schoonmaken van gebouwen")[:3] and "90911200" in search_cpv(
        "Schoonmaken van gebouwen")
    assert search_cpv("cleaning services")[0].startswith("90")


def test_cpv_endpoint(client: TestClient) -> None:
    r = client.get("/api/v1/cpv?q=schoonmaak")
    assert r.status_code == 200
    items = r.json()["items"]
    assert 0 < len(items) <= 20
    assert items[0]["code"].startswith("909")
    prefix = client.get("/api/v1/cpv?q=9091").json()["items"]
    assert prefix and all(i["code"].startswith("9091") for i in prefix)
    en = client.get("/api/v1/cpv?q=9091&lang=en").json()["items"][0]
    assert en["label"] == en["label_en"]
    assert client.get("/api/v1/cpv?q=").json()["detail"]["field"] == "q"


def test_search_filters_and_distance(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.get("/api/v1/search?q=schoon&municipality=Utrecht&km=40&per_page=50", headers=h)
    body = r.json()
    assert body["total"] > 0
    utrecht = municipalities()["GM0344"]
    for item in body["items"]:
        assert "schoon" in item["name"].lower()
        assert item["distance_km"] <= 40
    # Distances are honest.
    first = body["items"][0]
    assert first["distance_km"] >= 0
    assert haversine_km(utrecht.lat, utrecht.lon, utrecht.lat, utrecht.lon) == 0


def test_cpv_prefix_filter(client: TestClient, api_token: Headers) -> None:
    body = client.get("/api/v1/search?cpv=7731&per_page=100",
                      headers=api_token("connector")).json()
    assert body["total"] == 10
    assert all(any(c.startswith("7731") for c in i["cpv"]) for i in body["items"])


def test_facet_counts_match_filtered_totals(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    base = client.get("/api/v1/search?per_page=1", headers=h).json()
    assert base["total"] == 60
    for facet, param in (("target_group", "target_group"), ("vetting", "vetting"),
                         ("certification", "certification")):
        for value in base["facets"][facet]:
            filtered = client.get(f"/api/v1/search?per_page=1&{param}={value['value']}",
                                  headers=h).json()
            assert filtered["total"] == value["count"], (facet, value)
    # Disjunctive: the other values of a ticked facet keep their counts.
    one = base["facets"]["vetting"][0]["value"]
    ticked = client.get(f"/api/v1/search?per_page=1&vetting={one}", headers=h).json()
    assert ticked["facets"]["vetting"] == base["facets"]["vetting"]


def test_capacity_left_uses_committed_allocations(client: TestClient, api_token: Headers
                                                  ) -> None:
    h = api_token("connector")
    items = client.get("/api/v1/search?q=E-001&per_page=5", headers=h).json()["items"]
    e1 = next(i for i in items if i["ref"] == "E-001")
    # The seed commits €30,000 of E-001's purchasing over O-1's contract term (see
    # tests/web/seed.py), booked per year of that term by the capacity owner.
    from sqlmodel import Session

    from api.db import get_engine
    from api.services.capacity import capacity_states

    with Session(get_engine()) as s:
        state = capacity_states(s, ["E-001"])["E-001"]
    assert 0 < state.committed_purchase_eur <= 30000
    assert e1["free_purchase_eur_per_year"] == pytest.approx(
        e1["purchasing_eur_per_year"] - state.committed_purchase_eur)
    assert e1["free_placements_per_year"] <= e1["placements_per_year"]
    body = client.get("/api/v1/search?min_capacity_eur=130000&per_page=100", headers=h).json()
    assert body["total"] > 0
    assert all(i["free_purchase_eur_per_year"] >= 130000 for i in body["items"])


def test_search_errors_have_fields(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.get("/api/v1/search?municipality=Nergenshuizen", headers=h)
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "municipality"
    r = client.get("/api/v1/search?target_group=kinderen", headers=h)
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "target_group[0]"  # the first value is refused
    r = client.get("/api/v1/search?km=-3", headers=h)
    assert r.json()["detail"]["field"] == "km"


def test_search_page_and_csv(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    r = client.get("/enterprises?q=groen&tg=statushouders")
    assert r.status_code == 200
    assert "Groenwerk" in r.text
    assert 'value="statushouders" checked' in r.text
    rows = read_csv(client.get("/enterprises/export.csv?q=groen&tg=statushouders"))
    api_total = client.get("/api/v1/search?q=groen&target_group=statushouders").json()["total"]
    assert len(rows) == api_total > 0
    assert all("Groen" in row["Onderneming"] for row in rows)
    # A bad number is shown beside its field, not as an error page.
    bad = client.get("/enterprises?km=veel")
    assert bad.status_code == 200
    assert "Geef een afstand in km groter dan 0" in bad.text


def test_enterprise_page_shows_history_and_allocations(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    r = client.get("/enterprises/E-001")
    assert r.status_code == 200
    assert "O-1" in r.text  # allocation
    assert "Schoonmaak stadskantoren" in r.text  # match on the tender
    assert "connector@test.nl" in r.text  # vetting history
    firm_b = TestClient(client.app, follow_redirects=False)
    from tests.web.conftest import do_login

    do_login(firm_b, "firm2")
    page = firm_b.get("/enterprises/E-001").text
    assert "O-1" not in page  # another firm's obligation stays hidden
