"""JSON CRUD: pagination, validation errors with their field, access rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]

NEW_ENTERPRISE = {
    "ref": "E-NEW", "name": "Nieuw Groen", "description": "Groenonderhoud met statushouders.",
    "cpv": ["77310000-6"], "municipality": "Utrecht", "target_groups": ["statushouders"],
    "capacity": {"placements_per_year": 3, "purchasing_eur_per_year": 80000},
    "vetting": {"status": "vetted", "by": "test", "on": "2026-01-01"},
}


def test_pagination_totals(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.get("/api/v1/enterprises?page=2&per_page=25", headers=h)
    body = r.json()
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (60, 2, 25, 3)
    assert len(body["items"]) == 25
    last = client.get("/api/v1/enterprises?page=3&per_page=25", headers=h).json()
    assert len(last["items"]) == 10
    refs = {e["ref"] for p in (1, 2, 3) for e in client.get(
        f"/api/v1/enterprises?page={p}&per_page=25", headers=h).json()["items"]}
    assert len(refs) == 60
    # Officers and firms see vetted enterprises only.
    officer = client.get("/api/v1/enterprises?per_page=5", headers=api_token("officer")).json()
    assert officer["total"] == 48


def test_search_text_with_nul_finds_as_without(client: TestClient, api_token: Headers,
                                               login) -> None:  # type: ignore[no-untyped-def]
    # PostgreSQL refuses a NUL in a LIKE (was a 500 there, found by the contract run).
    h = api_token("admin")
    for kind in ("enterprises", "tenders", "obligations", "challenges"):
        r = client.get(f"/api/v1/{kind}", params={"q": "\x00"}, headers=h)
        assert r.status_code == 200, (kind, r.text)
        assert r.json()["total"] == client.get(f"/api/v1/{kind}", headers=h).json()["total"]
    login("admin")
    for page in ("/tenders", "/obligations"):
        assert client.get(page, params={"q": "\x00"}).status_code == 200, page


def test_error_shape_names_the_field(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.get("/api/v1/enterprises?per_page=0", headers=h)
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "per_page"
    assert r.json()["detail"]["message"]
    r = client.post("/api/v1/enterprises", headers=h, json={**NEW_ENTERPRISE, "cpv": "909"})
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "cpv"
    r = client.post("/api/v1/enterprises", headers=h,
                    json={**NEW_ENTERPRISE, "cpv": ["12345678"]})
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "cpv[0]"
    assert "CPV" in r.json()["detail"]["message"]
    r = client.post("/api/v1/enterprises", headers=h, json={**NEW_ENTERPRISE, "naam": "x"})
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "naam"
    r = client.post("/api/v1/enterprises", headers=h,
                    json={**NEW_ENTERPRISE, "municipality": "Utrect"})
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "municipality"
    assert "Traceback" not in r.text


def test_enterprise_create_update_delete(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.post("/api/v1/enterprises", headers=h, json=NEW_ENTERPRISE)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["cpv"] == ["77310000"]
    assert body["municipality"] == "GM0344"
    assert r.headers["location"].endswith("/api/v1/enterprises/E-NEW")
    assert client.post("/api/v1/enterprises", headers=h, json=NEW_ENTERPRISE).status_code == 409
    r = client.patch("/api/v1/enterprises/E-NEW", headers=h,
                     json={"capacity": {"purchasing_eur_per_year": 90000}})
    assert r.status_code == 200, r.text
    assert r.json()["capacity"] == {"placements_per_year": 3, "purchasing_eur_per_year": 90000}
    assert r.json()["name"] == "Nieuw Groen"
    r = client.put("/api/v1/enterprises/E-NEW", headers=h,
                   json={**NEW_ENTERPRISE, "ref": None, "name": "Nieuw Groen BV"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Nieuw Groen BV"
    # Officers cannot change or delete enterprises.
    o = api_token("officer")
    assert client.patch("/api/v1/enterprises/E-NEW", headers=o,
                        json={"name": "x"}).status_code == 403
    assert client.delete("/api/v1/enterprises/E-NEW", headers=o).status_code == 403
    assert client.delete("/api/v1/enterprises/E-NEW", headers=h).status_code == 204
    assert client.get("/api/v1/enterprises/E-NEW", headers=h).status_code == 404
    # An enterprise with allocations is not deleted from under them.
    r = client.delete("/api/v1/enterprises/E-001", headers=h)
    assert r.status_code == 409


def test_officer_sees_only_own_buyers_tenders(client: TestClient, api_token: Headers) -> None:
    h = api_token("officer")
    listing = client.get("/api/v1/tenders", headers=h).json()
    assert {t["ref"] for t in listing["items"]} == {"T-UTR-1", "T-UTR-2", "T-UTR-3"}
    assert listing["total"] == 3  # includes the own draft
    assert client.get("/api/v1/tenders/T-UTR-3", headers=h).status_code == 200
    r = client.get("/api/v1/tenders/T-AMS-1", headers=h)
    assert r.status_code == 404  # not 403: existence is not revealed
    assert client.get("/api/v1/tenders/T-AMS-2", headers=h).status_code == 404
    assert client.patch("/api/v1/tenders/T-AMS-1", headers=h,
                        json={"title": "x"}).status_code == 404
    new = {"ref": "T-UTR-9", "buyer": "Gemeente Amsterdam", "title": "Niet van ons",
           "cpv": ["90911200"]}
    r = client.post("/api/v1/tenders", headers=h, json=new)
    assert r.status_code == 403
    assert r.json()["detail"]["field"] == "buyer"
    r = client.post("/api/v1/tenders", headers=h, json={**new, "buyer": "Gemeente Utrecht"})
    assert r.status_code == 201, r.text


def test_officer_html_page_of_other_buyer_is_404(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    # Rejected enterprises are not shown to officers either.
    assert client.get("/enterprises/E-000").status_code == 404
    assert client.get("/enterprises/E-001").status_code == 200


def test_firm_sees_only_own_obligations(client: TestClient, api_token: Headers) -> None:
    h = api_token("firm")
    listing = client.get("/api/v1/obligations", headers=h).json()
    assert {o["ref"] for o in listing["items"]} == {"O-1", "O-2"}
    assert client.get("/api/v1/obligations/O-1", headers=h).status_code == 200
    assert client.get("/api/v1/obligations/O-3", headers=h).status_code == 404
    # The tenders behind their own obligations, and no others.
    tenders = client.get("/api/v1/tenders", headers=h).json()
    assert {t["ref"] for t in tenders["items"]} == {"T-UTR-1", "T-UTR-2"}
    assert client.get("/api/v1/tenders/T-AMS-1", headers=h).status_code == 404
    h2 = api_token("firm2")
    assert client.get("/api/v1/obligations/O-1", headers=h2).status_code == 404
    r = client.post("/api/v1/obligations", headers=h, json={
        "ref": "O-9", "firm": "Schoonmaak Holland B.V.", "amount_eur": 1000})
    assert r.status_code == 403
    # A firm creates no obligations, not even its own (field authority: test_access_matrix).
    r = client.post("/api/v1/obligations", headers=h, json={
        "ref": "O-9", "firm": "Bouwbedrijf De Vries B.V.", "tender": "T-UTR-1"})
    assert r.status_code == 403
    staff = api_token("connector")
    r = client.post("/api/v1/obligations", headers=staff, json={
        "ref": "O-9", "firm": "Bouwbedrijf De Vries B.V.", "tender": "T-NOPE"})
    assert r.status_code == 404  # well-formed, but the tender it names does not exist
    assert r.json()["detail"]["field"] == "tender"
    r = client.post("/api/v1/obligations", headers=staff, json={
        "ref": "O-9", "firm": "Bouwbedrijf De Vries B.V.", "tender": "T-UTR-1"})
    assert r.status_code == 201, r.text


def test_challenges_crud(client: TestClient, api_token: Headers) -> None:
    h = api_token("officer")
    body = {"ref": "C-9", "municipality": "Utrecht", "title": "Armoede",
            "question": "Hoe helpen we gezinnen in armoede?", "opened_on": "2026-03-01"}
    r = client.post("/api/v1/challenges", headers=h, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["deadline"] == "2026-05-24"  # twelve weeks
    r = client.post("/api/v1/challenges", headers=h,
                    json={**body, "ref": "C-10", "municipality": "Amsterdam"})
    assert r.status_code == 403
    assert client.get("/api/v1/challenges", headers=api_token("firm")).json()["total"] == 2


def test_a_ref_with_a_slash_reaches_its_sub_resources(client: TestClient,
                                                      api_token: Headers) -> None:
    # A ref may hold "/" (the schema allows it, the CRUD routes take it): the operations
    # under a created thing take it too (they answered 405, found by the contract run).
    h = api_token("connector")
    body = {"ref": "C/9", "municipality": "Utrecht", "title": "Armoede",
            "question": "Hoe helpen we gezinnen in armoede?", "opened_on": "2026-03-01"}
    assert client.post("/api/v1/challenges", headers=h, json=body).status_code == 201
    for path in ("C%2F9", "C%2F9/pitches", "C%2F9/pilots", "C%2F9/matches"):
        r = client.get(f"/api/v1/challenges/{path}", headers=h)
        assert r.status_code == 200, (path, r.text)
    r = client.post("/api/v1/challenges/C%2F9/status", headers=h, json={"status": "call"})
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/obligations", headers=h, json={
        "ref": "O/9", "firm": "Bouwbedrijf De Vries B.V.", "tender": "T-UTR-1"})
    assert r.status_code == 201, r.text
    for path in ("O%2F9/plan", "O%2F9/deliveries"):
        r = client.get(f"/api/v1/obligations/{path}", headers=h)
        assert r.status_code == 200, (path, r.text)


def test_patch_clashing_with_a_stored_date_is_a_conflict(client: TestClient,
                                                         api_token: Headers) -> None:
    # T-UTR-1 runs 2026-01-01 to 2029-12-31. A start after the stored end: the request is
    # fine by itself, the stored end is in the way (409); both dates given wrong: 422.
    h = api_token("admin")
    r = client.patch("/api/v1/tenders/T-UTR-1", headers=h, json={"start": "2031-01-01"})
    assert r.status_code == 409 and r.json()["detail"]["field"] == "end", r.text
    r = client.patch("/api/v1/tenders/T-UTR-1", headers=h,
                     json={"start": "2031-01-01", "end": "2030-01-01"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "end", r.text
    r = client.patch("/api/v1/enterprises/E-001", headers=h,
                     json={"contact": {"email": "a\x00b@example.nl"}})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "contact.email", r.text


def test_export_is_scoped(client: TestClient, api_token: Headers) -> None:
    r = client.get("/api/v1/export?kind=tenders&kind=obligations", headers=api_token("firm"))
    assert r.status_code == 200
    doc = r.json()
    assert {t["ref"] for t in doc["tenders"]} == {"T-UTR-1", "T-UTR-2"}
    assert {o["ref"] for o in doc["obligations"]} == {"O-1", "O-2"}
    assert "enterprises" not in doc


def test_openapi_has_examples(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "/api/v1/enterprises" in spec["paths"]
    assert spec["components"]["schemas"]["EnterpriseIn"].get("example")
