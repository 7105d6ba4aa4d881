"""The officer's flow: tenders list, the requirements form (errors beside the fields, input
kept), matches with reasons and the feasibility verdict; access, CSRF, delete with
confirmation, the JSON API and page timings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.tables import TenderRow
from tests.web.conftest import CSRF_RE
from tests.web.csv_read import read_csv

matching = pytest.importorskip("api.services.matching",
                               reason="api/services/matching.py is not in this checkout")

GOOD = {
    "title": "Schoonmaak scholen", "description": "Schoonmaak van basisscholen",
    "cpv": "90911200", "contract_value_eur": "2.000.000", "start": "2026-09-01",
    "end": "2028-08-31", "municipality": "Utrecht", "clause_kind": "percentage",
    "sroi_percentage": "5", "sroi_basis": "contract_value", "action": "publish",
}


def _csrf(text: str) -> str:
    m = CSRF_RE.search(text)
    assert m
    return m.group(1)


def _error_of(page: str, name: str) -> str:
    m = re.search(rf'id="f-{name}-err">([^<]+)<', page)
    assert m, f"no error beside {name}"
    return m.group(1)


def test_officer_sees_only_own_tenders(client: TestClient, login: Any) -> None:
    login("officer")
    page = client.get("/tenders")
    assert page.status_code == 200
    assert "Schoonmaak stadskantoren" in page.text and "Catering raadhuis" in page.text
    assert "Beveiliging evenementen" not in page.text
    assert 'href="/tenders/new"' in page.text
    rows = read_csv(client.get("/tenders/export.csv"))
    assert sorted(r["Kenmerk"] for r in rows) == ["T-UTR-1", "T-UTR-2", "T-UTR-3"]
    assert {r["Verplichting (EUR)"] for r in rows if r["Kenmerk"] == "T-UTR-1"} == {"120000"}
    assert "Catering" not in client.get("/tenders?status=published").text
    assert client.get("/tenders/T-AMS-1").status_code == 404
    assert client.get("/tenders/T-AMS-1/edit").status_code == 404


def test_other_officer_gets_404_and_firm_reads_its_tender(client: TestClient,
                                                          login: Any) -> None:
    login("officer2")
    assert client.get("/tenders/T-UTR-1").status_code == 404
    token = _csrf(client.get("/tenders").text)
    assert client.post("/tenders/T-UTR-1/edit", data={**GOOD, "csrf_token": token}
                       ).status_code == 404
    assert client.post("/tenders/T-UTR-3/delete", data={"csrf_token": token}
                       ).status_code == 404
    client.post("/logout", data={"csrf_token": token})
    login("firm")
    page = client.get("/tenders/T-UTR-1")  # the tender of the firm's own obligation
    assert page.status_code == 200 and 'href="/tenders/T-UTR-1/edit"' not in page.text
    assert client.get("/tenders/T-UTR-3").status_code == 404
    assert client.get("/tenders/new").status_code == 403


def test_new_tender_errors_beside_fields_then_fix(client: TestClient, login: Any) -> None:
    login("officer")
    form = client.get("/tenders/new")
    assert form.status_code == 200
    assert "data-cpv-picker" in form.text and "/static/cpv-picker.js" in form.text
    token = _csrf(form.text)
    bad = {**GOOD, "cpv": "9999", "contract_value_eur": "twee miljoen",
           "municipality": "Utrect", "end": "2025-01-01", "sroi_target_groups": ["wajong"],
           "csrf_token": token}
    r = client.post("/tenders/new", data=bad)
    assert r.status_code == 422
    assert "Onbekende CPV-code: 9999" in _error_of(r.text, "cpv")
    assert "Vul een getal in" in _error_of(r.text, "contract_value_eur")
    assert "Bedoelde u" in _error_of(r.text, "municipality")
    assert "vóór de begindatum" in _error_of(r.text, "end")
    # Everything typed is still there.
    assert 'value="Schoonmaak scholen"' in r.text and 'value="twee miljoen"' in r.text
    assert 'value="Utrect"' in r.text and 'value="9999"' in r.text
    assert re.search(r'value="wajong" checked', r.text)
    with Session(get_engine()) as s:
        assert s.exec(select(TenderRow).where(TenderRow.title == "Schoonmaak scholen")
                      ).first() is None

    ok = client.post("/tenders/new", data={**GOOD, "sroi_target_groups": ["participatiewet"],
                                           "csrf_token": token})
    assert ok.status_code == 303
    url = ok.headers["location"]
    with Session(get_engine()) as s:
        row = s.exec(select(TenderRow).where(TenderRow.title == "Schoonmaak scholen")).one()
    assert url == f"/tenders/{row.ref}"
    assert row.buyer == "Gemeente Utrecht" and row.status == "published"
    assert row.contract_value_eur == 2_000_000 and row.municipality_code == "GM0344"

    page = client.get(url)
    assert page.status_code == 200
    assert "Aanbesteding opgeslagen" in page.text
    assert re.search(r'id="obligation-eur">€ 100\.000<', page.text)  # 5 % of € 2 mln
    assert "5% van de opdrachtwaarde € 2.000.000" in page.text  # CLDR's percent (#16)
    assert 'id="verdict-label">Haalbaar<' in page.text and "<svg" in page.text
    table = page.text.split('id="match-table"', 1)[1]
    assert table.count('href="/enterprises/E-') >= 3
    assert "Reiniging van gebouwen" in table and "(exact)" in table  # the code matched
    assert "km" in table and "Participatiewet" in table


def test_draft_needs_less_and_csrf_is_required(client: TestClient, login: Any) -> None:
    login("officer")
    token = _csrf(client.get("/tenders/new").text)
    assert client.post("/tenders/new", data={**GOOD}).status_code == 403  # no token
    draft = client.post("/tenders/new", data={"title": "Idee: fietsenstalling",
                                              "action": "draft", "csrf_token": token})
    assert draft.status_code == 303
    page = client.get(draft.headers["location"])
    assert "Concept" in page.text and "opgeslagen als concept" in page.text
    publish = client.post("/tenders/new", data={"title": "Idee", "action": "publish",
                                                "csrf_token": token})
    assert publish.status_code == 422
    assert "Kies ten minste één CPV-code" in _error_of(publish.text, "cpv")


def test_edit_keeps_values_and_delete_asks_first(client: TestClient, login: Any) -> None:
    login("officer")
    edit = client.get("/tenders/T-UTR-2/edit")
    assert edit.status_code == 200 and 'value="Groenonderhoud parken"' in edit.text
    assert 'value="900000"' in edit.text
    token = _csrf(edit.text)
    r = client.post("/tenders/T-UTR-2/edit", data={**GOOD, "title": "Groenonderhoud parken 2",
                                                   "cpv": "77310000", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/tenders/T-UTR-2"
    assert "Groenonderhoud parken 2" in client.get("/tenders/T-UTR-2").text

    detail = client.get("/tenders/T-UTR-3")
    assert 'class="confirm-delete"' in detail.text  # the button sits behind a confirmation
    assert 'action="/tenders/T-UTR-3/delete"' in detail.text
    assert client.post("/tenders/T-UTR-3/delete").status_code == 403  # no token
    gone = client.post("/tenders/T-UTR-3/delete", data={"csrf_token": token})
    assert gone.status_code == 303 and gone.headers["location"] == "/tenders"
    assert client.get("/tenders/T-UTR-3").status_code == 404
    # A tender with obligations cannot be deleted: the firms' plans hang on it.
    assert 'action="/tenders/T-UTR-1/delete"' not in client.get("/tenders/T-UTR-1").text
    kept = client.post("/tenders/T-UTR-1/delete", data={"csrf_token": token})
    assert kept.status_code == 303
    assert "verplichtingen" in client.get("/tenders/T-UTR-1").text
    assert client.get("/tenders/T-UTR-1").status_code == 200


def test_connector_enters_buyer(client: TestClient, login: Any) -> None:
    login("connector")
    form = client.get("/tenders/new")
    assert 'name="buyer"' in form.text
    token = _csrf(form.text)
    r = client.post("/tenders/new", data={**GOOD, "csrf_token": token})
    assert r.status_code == 422 and "aanbestedende dienst" in _error_of(r.text, "buyer")
    ok = client.post("/tenders/new", data={**GOOD, "buyer": "Gemeente Zwolle",
                                           "csrf_token": token})
    assert ok.status_code == 303
    assert "GEMEENTE-ZWOLLE" in ok.headers["location"]


def test_matches_and_feasibility_api(client: TestClient, api_token: Any) -> None:
    headers = api_token("officer")
    r = client.get("/api/v1/tenders/T-UTR-1/matches?top=6&per_page=4", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    # Items hold the suitable enterprises only; the rest of the candidates ranked are
    # "mogelijk passend" (maybe), each saying why it falls short.
    total = body["total"]
    assert 1 <= total == min(6, body["n_suitable"]) and body["place_judged"] is True
    assert len(body["items"]) == min(4, total) and body["pages"] == (2 if total > 4 else 1)
    assert all(i["suitable"] for i in body["items"])
    assert body["maybe"] and all(not m["suitable"] for m in body["maybe"])
    assert body["maybe"][0]["reasons"][0]["code"] == "below_floor"
    assert body["maybe"][0]["reasons"][0]["text"].startswith("mogelijk passend")
    first = body["items"][0]
    assert first["rank"] == 1 and first["matched_cpv"][0]["requested"] == "90911200"
    assert first["distance_km"] is not None and first["remaining_eur"] >= 0
    assert [i["rank"] for i in client.get("/api/v1/tenders/T-UTR-1/matches?top=6&per_page=4"
                                          "&page=2", headers=headers).json()["items"]] == \
        list(range(5, total + 1))
    feas = client.get("/api/v1/tenders/T-UTR-1/feasibility", headers=headers)
    assert feas.status_code == 200
    f = feas.json()
    assert f["verdict"] in ("feasible", "tight", "infeasible") and f["due_eur"] == 120000.0
    assert f["label"] and f["capacity_eur"] >= f["free_eur"]

    bad = client.get("/api/v1/tenders/T-UTR-1/matches?top=0", headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "top"
    other = api_token("officer2")
    for path in ("/api/v1/tenders/T-UTR-1/matches", "/api/v1/tenders/T-UTR-1/feasibility"):
        nf = client.get(path, headers=other)
        assert nf.status_code == 404 and nf.json()["detail"]["field"] == "ref"
    assert client.get("/api/v1/tenders/T-UTR-1/matches").status_code == 401
    # The CRUD routes still answer beside the new ones.
    assert client.get("/api/v1/tenders/T-UTR-1", headers=headers).json()["ref"] == "T-UTR-1"


def test_openapi_documents_the_flows(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/v1/tenders/{ref}/matches", "/api/v1/tenders/{ref}/feasibility",
                 "/api/v1/obligations/{ref}/plan", "/api/v1/obligations/{ref}/deliveries"):
        assert path in spec["paths"], path
    assert "put" in spec["paths"]["/api/v1/obligations/{ref}/plan"]
    assert "example" in spec["components"]["schemas"]["MatchesOut"]


def test_english_labels(client: TestClient, login: Any) -> None:
    login("officer")
    page = client.get("/tenders/T-UTR-1?lang=en")
    assert "Feasibility" in page.text and "Feasible" in page.text
    assert "Social return obligation" in page.text
    assert "New tender" in client.get("/tenders?lang=en").text


def test_api_delete_follows_the_page_rules(client: TestClient, api_token: Any) -> None:
    officer, other = api_token("officer"), api_token("officer2")
    assert client.delete("/api/v1/tenders/T-UTR-3", headers=other).status_code == 404
    assert client.delete("/api/v1/tenders/T-UTR-1", headers=officer).status_code == 409
    assert client.delete("/api/v1/tenders/T-UTR-3", headers=officer).status_code == 204
    # The firm sees the tender of its own obligation, but may not delete it.
    assert client.delete("/api/v1/tenders/T-UTR-2",
                         headers=api_token("firm")).status_code == 403


def test_flow_templates_are_translated() -> None:
    from pathlib import Path

    from api import i18n

    root = Path(__file__).resolve().parents[2]
    english = i18n.english()
    from api import i18n_catalogs

    mine = i18n_catalogs.read_catalog(root / "api/translations/en/flows_officer_firm.po")
    assert all(str(m.string).strip() for m in mine if m.id)
    missing = set()
    for folder in ("tenders", "obligations"):
        for path in (root / "templates" / folder).glob("*.html"):
            for m in re.finditer(r"""\bt\(\s*(["'])(.+?)\1""", path.read_text("utf-8")):
                if m.group(2) not in english:
                    missing.add(m.group(2))
    assert not missing, f"add to api/translations/en/flows_officer_firm.po: {sorted(missing)}"


def test_why_not_on_the_page_and_in_the_api(client: TestClient, login: Any,
                                            api_token: Any) -> None:
    from sqlmodel import Session, select

    from api.db import get_engine
    from api.tables import EnterpriseRow

    with Session(get_engine()) as s:
        pending = s.exec(select(EnterpriseRow).where(
            EnterpriseRow.vetting_status == "pending")).first()
        assert pending is not None
        ref, name = pending.ref, pending.name
    login("officer")
    # By reference: excluded, with the reason in Dutch (and in English on the switch).
    page = client.get(f"/tenders/T-UTR-1?waarom={ref}")
    assert page.status_code == 200
    answer = page.text.split('id="why-not-answer"')[1]
    assert "is uitgesloten" in answer and "screeningsstatus" in answer
    en = client.get(f"/tenders/T-UTR-1?waarom={ref}&lang=en").text
    assert "is excluded" in en and "vetting status is Pending, not Vetted" in en
    # By a name typed a little differently.
    typed = name.lower().replace(" ", "  ")
    assert ref in client.get("/tenders/T-UTR-1", params={"waarom": typed}).text
    unknown = client.get("/tenders/T-UTR-1?waarom=Bestaat%20Helemaal%20Niet%20BV&lang=nl")
    assert "Geen onderneming gevonden" in unknown.text
    # The API: the same answer as JSON, both languages; unknown enterprise 404 on the field.
    h = api_token("officer")
    body = client.get(f"/api/v1/tenders/T-UTR-1/why-not/{ref}?lang=nl", headers=h).json()
    assert body["excluded"] is True and body["exclusions"] == [
        {"code": "not_vetted", "params": {"status": "pending"},
         "text": "screeningsstatus is In behandeling, niet Gescreend"}]
    assert body["rank"] is None
    r = client.get("/api/v1/tenders/T-UTR-1/why-not/E-NOPE", headers=h)
    assert r.status_code == 404 and r.json()["detail"]["field"] == "enterprise_ref"
    # Another buyer's tender is not found, whatever the enterprise.
    other = client.get(f"/api/v1/tenders/T-UTR-1/why-not/{ref}", headers=api_token("officer2"))
    assert other.status_code == 404


def test_tender_outside_every_policy_region_asks_for_a_policy(
        client: TestClient, login: Any, api_token: Any) -> None:
    login("officer")
    token = _csrf(client.get("/tenders/new").text)
    ok = client.post("/tenders/new", data={**GOOD, "title": "Schoonmaak Rotterdam",
                                           "municipality": "Rotterdam", "csrf_token": token})
    assert ok.status_code == 303
    url = ok.headers["location"]
    page = client.get(url).text
    # No Utrecht table by default: the due is not computable and the officer is asked.
    assert "Geen beleid van toepassing in deze regio; kies er een" in page
    assert 'id="verdict-label">Niet van toepassing<' in page
    assert ">Haalbaar<" not in page
    edit = client.get(f"{url}/edit").text
    assert 'id="policy-missing"' in edit
    ref = url.rsplit("/", 1)[1]
    f = client.get(f"/api/v1/tenders/{ref}/feasibility", headers=api_token("officer")).json()
    assert f["verdict"] == "not_applicable" and f["reason"] == "no_policy"
    assert not f["feasible"] and "kies er een" in f["reason_text"]
    # The English page says it in English.
    assert "No policy applies in this region" not in page
    assert "No policy applies in this region; choose one" in client.get(f"{url}?lang=en").text
    # Choosing a policy makes it computable; the form no longer asks.
    token = _csrf(edit)
    r = client.post(f"{url}/edit", data={**GOOD, "title": "Schoonmaak Rotterdam",
                                         "municipality": "Rotterdam",
                                         "sroi_policy": "oost-nederland-2023",
                                         "csrf_token": token})
    assert r.status_code == 303
    f2 = client.get(f"/api/v1/tenders/{ref}/feasibility", headers=api_token("officer")).json()
    assert f2["verdict"] != "not_applicable" and f2["due_eur"] == 100000.0
    assert 'id="policy-missing"' not in client.get(f"{url}/edit").text
