"""The enterprise and obligation forms (issue #12 item 7): who may use them, the import's
checks beside each field (Dutch, English with ?lang=en, aria-describedby), nothing written
on an error and the typed values kept, the import's duplicate check, edits that keep what
the form does not show. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.db import get_engine
from api.importers import registry
from api.importers.interchange import check_record
from api.tables import EnterpriseRow, ObligationRow, VettingEvent
from tests.web.conftest import csrf_of
from tests.web.seed import FIRM_A, FIRM_B

pytestmark = pytest.mark.postgres

GOOD_ENTERPRISE = {
    "name": "Fietsatelier De Spaak", "kvk": "30123456",
    "description": "Fietsreparatie en onderhoud door mensen met afstand tot werk.",
    "cpv": "50000000, 34430000", "municipality": "Utrecht", "postcode": "3511ab",
    "service_radius_km": "15", "themes": "mobiliteit, werk",
    "target_groups": ["participatiewet", "statushouders"],
    "capacity_placements_per_year": "4", "capacity_purchasing_eur_per_year": "250.000",
    "target_group_share": "0,4", "trade_income_share": "0,65",
}


def _count(table: Any) -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


def _enterprise(ref: str) -> EnterpriseRow:
    with Session(get_engine()) as s:
        return s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == ref)).one()


def _obligation(ref: str) -> ObligationRow:
    with Session(get_engine()) as s:
        return s.exec(select(ObligationRow).where(ObligationRow.ref == ref)).one()


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_of(client, "/account")})


def _error(html: str, name: str) -> str:
    """The error shown beside input ``name``, checking the input points at it."""
    fid = f"f-{name}"
    m = re.search(rf'id="{fid}"[^>]*aria-invalid="true" aria-describedby="{fid}-err"', html)
    assert m, f"{name}: no aria-describedby to its error"
    e = re.search(rf'<span class="error" id="{fid}-err">([^<]*)</span>', html)
    assert e, f"{name}: no error shown"
    return e.group(1)


def test_connector_creates_an_enterprise(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    assert 'href="/enterprises/new"' in client.get("/enterprises").text
    page = client.get("/enterprises/new")
    assert page.status_code == 200 and 'id="enterprise-form"' in page.text
    before = _count(EnterpriseRow)
    r = _post(client, "/enterprises/new", GOOD_ENTERPRISE)
    assert r.status_code == 303, r.text[:800]
    ref = r.headers["location"].rsplit("/", 1)[1]
    assert _count(EnterpriseRow) == before + 1
    row = _enterprise(ref)
    assert row.name == "Fietsatelier De Spaak" and row.kvk == "30123456"
    assert row.cpv == ["50000000", "34430000"] and row.municipality_code == "GM0344"
    assert row.postcode == "3511 AB" and row.service_radius_km == 15.0
    # Dutch notation: "250.000" is a quarter million, "0,4" is 0.4.
    assert row.purchasing_eur_per_year == 250_000.0 and row.placements_per_year == 4
    assert row.target_group_share == 0.4 and row.trade_income_share == 0.65
    assert row.target_groups == ["participatiewet", "statushouders"]
    assert row.themes == ["mobiliteit", "werk"]
    # A new enterprise waits for vetting, like an imported one without a vetting.
    assert row.vetting_status == "pending"
    page = client.get(f"/enterprises/{ref}")
    assert "aangemaakt" in page.text and f'href="/enterprises/{ref}/edit"' in page.text


def test_enterprise_errors_beside_fields_nothing_written(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    before = _count(EnterpriseRow)
    bad = {**GOOD_ENTERPRISE, "name": "", "kvk": "1234", "cpv": "12345678, 9091",
           "municipality": "Utrechtt", "postcode": "35110", "target_group_share": "35",
           "capacity_placements_per_year": "2,5", "capacity_purchasing_eur_per_year": "veel"}
    r = _post(client, "/enterprises/new", bad)
    assert r.status_code == 422
    html = r.text
    assert _count(EnterpriseRow) == before
    assert _error(html, "name") == "Vul dit veld in."
    assert "8 cijfers" in _error(html, "kvk")
    assert "Onbekende CPV-code" in _error(html, "cpv")
    assert "Onbekende gemeente: Utrechtt. Bedoelde u: Utrecht" in _error(html, "municipality")
    assert _error(html, "postcode") == "Een postcode ziet eruit als 3511 AB."
    assert "35% is 0,35" in _error(html, "target_group_share")
    assert _error(html, "capacity_placements_per_year") == "Vul een heel getal in."
    assert "Vul een getal in" in _error(html, "capacity_purchasing_eur_per_year")
    # What was typed stays in the form.
    for typed in ('value="1234"', 'value="12345678, 9091"', 'value="Utrechtt"',
                  'value="veel"', 'value="2,5"'):
        assert typed in html, typed
    assert 'value="statushouders" checked' in html
    # English on request.
    r = _post(client, "/enterprises/new?lang=en", bad)
    assert _error(r.text, "name") == "Fill in this field."
    assert "Unknown municipality: Utrechtt. Did you mean: Utrecht" in _error(r.text,
                                                                            "municipality")
    assert "8 digits" in _error(r.text, "kvk")


def test_form_refuses_what_the_import_refuses(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    """The same values in an imported CSV row fail on the same fields for the same reasons
    (one validation, the importer's)."""
    login("connector")
    bad = {**GOOD_ENTERPRISE, "kvk": "12", "cpv": "99999999", "service_radius_km": "-3",
           "trade_income_share": "1,5"}
    html = _post(client, "/enterprises/new", bad).text
    shown = {name for name in ("kvk", "cpv", "service_radius_km", "trade_income_share",
                               "name", "municipality") if f'id="f-{name}-err"' in html}
    header = "ref,name,kvk,description,cpv,municipality,service_radius_km,trade_income_share"
    row = f'E-X,{bad["name"]},12,"{bad["description"]}",99999999,Utrecht,-3,"1,5"'
    parsed = registry.parse_interchange("enterprises.csv", f"{header}\n{row}\n".encode())
    assert {i.field for i in parsed.issues} == shown == {"kvk", "cpv", "service_radius_km",
                                                         "trade_income_share"}
    codes = {i.field: i.code for i in parsed.issues}
    form_codes = {i.field: i.code for i in check_record("enterprises", {
        "ref": "E-X", "name": bad["name"], "description": bad["description"], "kvk": "12",
        "cpv": ["99999999"], "municipality": "Utrecht", "service_radius_km": "-3",
        "trade_income_share": "1,5"}).issues}
    assert codes == form_codes
    assert codes["trade_income_share"] == "share" and codes["kvk"] == "kvk"


def test_duplicate_kvk_asks_then_keeps_both(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    first = _post(client, "/enterprises/new", GOOD_ENTERPRISE)
    assert first.status_code == 303
    before = _count(EnterpriseRow)
    other = {**GOOD_ENTERPRISE, "name": "Tweewielers Oost", "municipality": "Zeist"}
    r = _post(client, "/enterprises/new", other)
    assert r.status_code == 409
    assert 'id="duplicates"' in r.text and "zelfde KvK-nummer" in r.text
    assert "Fietsatelier De Spaak" in r.text and 'value="Tweewielers Oost"' in r.text
    assert _count(EnterpriseRow) == before
    r = _post(client, "/enterprises/new", {**other, "keep_both": "1"})
    assert r.status_code == 303 and _count(EnterpriseRow) == before + 1


def test_edit_enterprise_keeps_what_the_form_does_not_show(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    before = _enterprise("E-000")  # rejected, with PSO and SENL certificates
    events = _count(VettingEvent)
    page = client.get("/enterprises/E-000/edit")
    assert page.status_code == 200 and f'value="{before.name}"' in page.text
    form = {"name": "Schoonwerk Utrecht Noord", "description": before.description,
            "cpv": "90911200", "municipality": "Utrecht", "service_radius_km": "30",
            "capacity_placements_per_year": "5", "capacity_purchasing_eur_per_year": "80000",
            "target_group_share": "0,5", "target_groups": ["wajong"]}
    r = _post(client, "/enterprises/E-000/edit", form)
    assert r.status_code == 303 and r.headers["location"] == "/enterprises/E-000"
    after = _enterprise("E-000")
    assert after.name == "Schoonwerk Utrecht Noord" and after.placements_per_year == 5
    assert after.target_groups == ["wajong"] and after.cpv == ["90911200"]
    assert after.certifications == before.certifications
    assert after.vetting_status == "rejected" and _count(VettingEvent) == events
    # Cleared fields are cleared (the form is the whole record's view of them).
    assert after.trade_income_share is None and after.themes == []
    # An error on edit writes nothing.
    r = _post(client, "/enterprises/E-000/edit", {**form, "name": "Anders", "cpv": "123"})
    assert r.status_code == 422 and "CPV-code" in _error(r.text, "cpv")
    assert _enterprise("E-000").name == "Schoonwerk Utrecht Noord"


@pytest.mark.parametrize("who", ["officer", "firm"])
def test_only_connectors_edit_enterprises(client: TestClient, login, who: str) -> None:  # type: ignore[no-untyped-def]
    login(who)
    assert 'href="/enterprises/new"' not in client.get("/enterprises").text
    assert client.get("/enterprises/new").status_code == 403
    assert 'href="/enterprises/E-001/edit"' not in client.get("/enterprises/E-001").text
    assert client.get("/enterprises/E-001/edit").status_code == 403


def test_officer_creates_and_edits_an_obligation(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    assert 'href="/obligations/new"' in client.get("/obligations").text
    assert 'value="T-UTR-1"' in client.get("/obligations/new").text
    before = _count(ObligationRow)
    r = _post(client, "/obligations/new", {
        "firm": FIRM_B, "tender": "T-UTR-2", "amount_eur": "45.000,50", "due": "2028-12-31",
        "buys": "77310000", "municipality": "Utrecht", "status": "open"})
    assert r.status_code == 303, r.text[:800]
    ref = r.headers["location"].rsplit("/", 1)[1]
    assert _count(ObligationRow) == before + 1
    row = _obligation(ref)
    assert (row.firm, row.tender_ref, row.amount_eur) == (FIRM_B, "T-UTR-2", 45_000.5)
    assert row.buys == ["77310000"] and row.municipality_code == "GM0344"
    # Edit O-1: the terms change, the firm cannot (an import never moves an obligation).
    page = client.get("/obligations/O-1")
    assert 'href="/obligations/O-1/edit"' in page.text
    r = _post(client, "/obligations/O-1/edit", {
        "firm": FIRM_B, "tender": "T-UTR-1", "amount_eur": "130000", "due": "2029-06-30",
        "buys": "90911200", "municipality": "Utrecht", "status": "met",
        "policy": "utrecht-2024"})
    assert r.status_code == 303, r.text[:800]
    row = _obligation("O-1")
    assert row.firm == FIRM_A and row.amount_eur == 130_000.0 and row.status == "met"
    assert row.due is not None and row.due.isoformat() == "2029-06-30"
    assert row.policy == "utrecht-2024"


def test_obligation_errors_and_refusals(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    before = _count(ObligationRow)
    # Another buyer's tender: refused beside the tender field, nothing written.
    r = _post(client, "/obligations/new", {"firm": FIRM_A, "tender": "T-AMS-1",
                                           "amount_eur": "1000"})
    assert r.status_code == 403 and "eigen organisatie" in _error(r.text, "tender")
    assert 'value="T-AMS-1"' in r.text
    r = _post(client, "/obligations/new", {"firm": "", "tender": "T-UTR-1",
                                           "amount_eur": "-5", "due": "31-12-2028",
                                           "buys": "123", "policy": "geen-idee",
                                           "status": "klaar"})
    assert r.status_code == 422
    assert _error(r.text, "firm") == "Vul dit veld in."
    assert _error(r.text, "amount_eur") == "Mag niet kleiner zijn dan 0."
    assert _error(r.text, "due") == "Vul een datum in als jjjj-mm-dd."
    assert "Onbekende CPV-code" in _error(r.text, "buys")
    assert "Kies een van: open, met, closed" in _error(r.text, "status")
    assert _count(ObligationRow) == before
    client.cookies.clear()
    login("connector")
    r = _post(client, "/obligations/new", {"firm": FIRM_A, "tender": "T-XXX"})
    assert r.status_code == 422
    assert _error(r.text, "tender") == "Aanbesteding T-XXX bestaat niet."
    r = _post(client, "/obligations/new?lang=en", {"firm": FIRM_A, "tender": "T-XXX"})
    assert _error(r.text, "tender") == "Tender T-XXX does not exist."
    assert _count(ObligationRow) == before


def test_firm_sees_no_obligation_form(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("firm")
    assert 'href="/obligations/new"' not in client.get("/obligations").text
    assert 'href="/obligations/O-1/edit"' not in client.get("/obligations/O-1").text
    assert client.get("/obligations/new").status_code == 403
    assert client.get("/obligations/O-1/edit").status_code == 403
    client.cookies.clear()
    login("officer2")  # Amsterdam: O-1 is Utrecht's
    assert client.get("/obligations/O-1/edit").status_code == 404
