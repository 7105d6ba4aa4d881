"""The firm's flow: obligations list, plan proposal → adjust → save, deliveries, progress;
access rules, CSRF, errors beside the fields, the JSON API and page timings."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.tables import AllocationRow, DeliveryRow
from tests.web.conftest import CSRF_RE
from tests.web.csv_read import number, read_csv


def _csrf(text: str) -> str:
    m = CSRF_RE.search(text)
    assert m, "no csrf token on the page"
    return m.group(1)


def _plan_form(page: str) -> dict[str, str]:
    """The plan form's fields as the browser would send them (no remove boxes ticked)."""
    form = page.split('id="plan-form"', 1)[1].split("</form>", 1)[0]
    data: dict[str, str] = {}
    for m in re.finditer(r'<input type="(?:hidden|text|number)"[^>]*name="([^"]+)"'
                         r'(?:[^>]*value="([^"]*)")?', form):
        data[m.group(1)] = m.group(2) or ""
    data["csrf_token"] = _csrf(page)
    return data


def _planned(ref: str) -> list[AllocationRow]:
    with Session(get_engine()) as s:
        return list(s.exec(select(AllocationRow).where(AllocationRow.obligation_ref == ref,
                                                       AllocationRow.status == "planned")))


def test_lists_show_only_own_obligations(client: TestClient, login: Any) -> None:
    login("firm")
    page = client.get("/obligations")
    assert page.status_code == 200
    assert 'href="/obligations/O-1"' in page.text and 'href="/obligations/O-2"' in page.text
    assert "O-3" not in page.text
    assert "€ 120.000" in page.text  # O-1's due amount, Dutch notation
    rows = read_csv(client.get("/obligations/export.csv"))
    assert sorted(r["Kenmerk"] for r in rows) == ["O-1", "O-2"]
    assert number(rows[0]["Geleverd (EUR)"]) > 0
    assert client.get("/obligations/O-3").status_code == 404
    assert client.get("/obligations?q=O-2").text.count('href="/obligations/O-') == 1


def test_other_firm_and_other_officer_get_404(client: TestClient, login: Any,
                                              api_token: Any) -> None:
    login("firm2")
    assert client.get("/obligations/O-1").status_code == 404
    assert "O-1" not in client.get("/obligations").text
    headers = api_token("firm2")
    r = client.get("/api/v1/obligations/O-1/plan", headers=headers)
    assert r.status_code == 404
    assert r.json()["detail"]["field"] == "ref"
    assert client.get("/api/v1/obligations/O-1/deliveries", headers=headers).status_code == 404
    put = client.put("/api/v1/obligations/O-1/plan", headers=headers, json={"rows": []})
    assert put.status_code == 404
    # The officer of the other municipality does not see Utrecht's obligations either.
    assert client.get("/api/v1/obligations/O-1/plan",
                      headers=api_token("officer2")).status_code == 404


def test_plan_proposal_adjust_recalculate_and_save(client: TestClient, login: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-1")
    assert page.status_code == 200
    assert "Voorstel van de engine" in page.text
    assert "€ 120.000" in page.text  # due
    form = _plan_form(page.text)
    n = int(form["n_rows"])
    assert n >= 1
    purchase = next(i for i in range(n) if f"rows-{i}-amount" in form)
    ent = form[f"rows-{purchase}-enterprise"]

    # Adjust: lower the purchase, drop the other rows, add a purchase at another enterprise.
    form[f"rows-{purchase}-amount"] = "4.000"
    for i in range(n):
        if i != purchase:
            form[f"rows-{i}-remove"] = "1"
    form.update({"new-enterprise": "E-012", "new-kind": "purchase", "new-amount": "2500,50",
                 "action": "recalc"})
    recalc = client.post("/obligations/O-1/plan", data=form)
    assert recalc.status_code == 200
    # 4.000 + 2.500,50 at a 100 % share; a plan is in whole euros (#16), half rounds up
    assert "€ 6.501" in recalc.text
    assert 'value="4.000"' in recalc.text and "E-012" in recalc.text
    assert not _planned("O-1")  # a recalculation saves nothing

    form2 = _plan_form(recalc.text)
    form2["action"] = "save"
    saved = client.post("/obligations/O-1/plan", data=form2)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/obligations/O-1")
    rows = {(a.enterprise_ref, a.kind): a for a in _planned("O-1")}
    assert set(rows) == {(ent, "purchase"), ("E-012", "purchase")}
    assert rows[("E-012", "purchase")].credit_eur == 2500.5
    after = client.get("/obligations/O-1")
    assert "Opgeslagen plan" in after.text and "opgeslagen" in after.text
    assert "Nieuw voorstel van de engine" in after.text
    # The engine's proposal is still one click away, without losing the saved plan.
    assert "Voorstel van de engine" in client.get("/obligations/O-1?voorstel=1").text
    assert len(_planned("O-1")) == 2


def test_plan_errors_beside_the_row_and_input_kept(client: TestClient, login: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-1")
    form = _plan_form(page.text)
    form.update({"new-enterprise": "E-012", "new-kind": "purchase", "new-amount": "9.999.999",
                 "action": "save"})
    r = client.post("/obligations/O-1/plan", data=form)
    assert r.status_code == 422
    assert "Meer dan de vrije inkoopcapaciteit" in r.text
    assert 'value="9.999.999"' in r.text  # what was typed stays
    assert "niet opgeslagen" in r.text
    assert not _planned("O-1")
    # An enterprise that is not vetted cannot be planned.
    form.update({"new-enterprise": "E-010", "new-amount": "1000"})
    r = client.post("/obligations/O-1/plan", data=form)
    assert r.status_code == 422 and "niet gescreende onderneming E-010" in r.text
    # Without the CSRF token nothing happens.
    del form["csrf_token"]
    assert client.post("/obligations/O-1/plan", data=form).status_code == 403


def test_record_delivery_and_progress_chart(client: TestClient, login: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-2")
    assert 'id="progress-chart"' in page.text and "<polyline" in page.text
    token = _csrf(page.text)
    bad = client.post("/obligations/O-2/deliveries", data={
        "csrf_token": token, "enterprise_ref": "E-002", "kind": "purchase",
        "on": "2027-01-01", "amount_eur": "1.500"})
    assert bad.status_code == 422
    assert "toekomst" in bad.text and 'value="1.500"' in bad.text
    assert 'id="f-on-err"' in bad.text  # the message sits beside the date field
    ok = client.post("/obligations/O-2/deliveries", data={
        "csrf_token": token, "enterprise_ref": "E-002", "kind": "purchase",
        "on": "2026-05-20", "amount_eur": "1.500", "note": "factuur 17"})
    assert ok.status_code == 303
    place = client.post("/obligations/O-2/deliveries", data={
        "csrf_token": token, "enterprise_ref": "E-002", "kind": "placement",
        "on": "2026-05-21", "block": "participatiewet_lt2", "hours_per_week": "36",
        "months": "6"})
    assert place.status_code == 303
    with Session(get_engine()) as s:
        rows = s.exec(select(DeliveryRow).where(DeliveryRow.obligation_ref == "O-2")
                      .order_by(DeliveryRow.id)).all()
    assert rows[-2].credit_eur == 1500.0 and rows[-2].note == "factuur 17"
    assert rows[-1].credit_eur == 15000.0  # half a year of a € 30.000 block
    after = client.get("/obligations/O-2")
    assert "factuur 17" in after.text and "Levering vastgelegd" in after.text
    assert "Geleverd (cumulatief)" in after.text
    assert client.post("/obligations/O-2/deliveries", data={
        "enterprise_ref": "E-002", "kind": "purchase", "on": "2026-05-20",
        "amount_eur": "10"}).status_code == 403  # no CSRF token
    csv_text = client.get("/obligations/O-2/deliveries.csv").text
    assert "factuur 17" in csv_text


def test_officer_sees_obligation_read_only(client: TestClient, login: Any) -> None:
    login("officer")
    page = client.get("/obligations/O-1")
    assert page.status_code == 200
    assert 'id="plan-form"' not in page.text and 'id="delivery-form"' not in page.text
    token = _csrf(page.text)
    r = client.post("/obligations/O-1/plan", data={"csrf_token": token, "n_rows": "0"})
    assert r.status_code == 403


def test_plan_and_deliveries_api(client: TestClient, api_token: Any) -> None:
    headers = api_token("firm")
    prop = client.get("/api/v1/obligations/O-1/plan", headers=headers)
    assert prop.status_code == 200
    body = prop.json()
    assert body["due_eur"] == 120000.0 and body["committed_credit_eur"] == 50000.0
    assert body["rows"] and all(r["status"] == "proposed" for r in body["rows"])
    assert body["met"] is (body["unmet_eur"] == 0)

    put = client.put("/api/v1/obligations/O-1/plan", headers=headers, json={"rows": [
        {"enterprise": "E-012", "kind": "purchase", "amount_eur": 5000},
        {"enterprise": "E-036", "kind": "placement", "placements": 1}]})
    assert put.status_code == 200, put.text
    saved = put.json()
    assert {r["enterprise"] for r in saved["rows"]} == {"E-012", "E-036"}
    assert saved["credit_eur"] == 50000.0 + 5000.0 + 30000.0
    assert client.get("/api/v1/obligations/O-1/plan?saved=true",
                      headers=headers).json()["rows"] == saved["rows"]

    too_much = client.put("/api/v1/obligations/O-1/plan", headers=headers, json={"rows": [
        {"enterprise": "E-012", "kind": "purchase", "amount_eur": 5000},
        {"enterprise": "E-012", "kind": "placement", "placements": 999}]})
    assert too_much.status_code == 409  # over the free capacity: the stored state's
    assert too_much.json()["detail"]["field"] == "rows[1].placements"
    unknown = client.put("/api/v1/obligations/O-1/plan", headers=headers,
                         json={"rows": [{"enterprise": "E-012", "amount": 1}]})
    assert unknown.status_code == 422 and "field" in unknown.json()["detail"]

    lst = client.get("/api/v1/obligations/O-1/deliveries?per_page=2", headers=headers).json()
    assert lst["total"] == 6 and len(lst["items"]) == 2 and lst["pages"] == 3
    assert lst["progress"]["delivered_total"] == 25000.0
    new = client.post("/api/v1/obligations/O-1/deliveries", headers=headers, json={
        "enterprise_ref": "E-001", "on": "2026-05-01", "amount_eur": 1000})
    assert new.status_code == 201 and new.json()["credit_eur"] == 1000.0
    bad = client.post("/api/v1/obligations/O-1/deliveries", headers=headers, json={
        "enterprise_ref": "E-001", "on": "2026-05-01", "kind": "placement", "block": "nope"})
    # A block the obligation's policy does not have: the stored policy's (409, issue #18).
    assert bad.status_code == 409 and bad.json()["detail"]["field"] == "block"
    assert "nope" in bad.json()["detail"]["message"]
    # JSON has no dates: a number is not read as Unix time, a string is not a number.
    for wrong in ({"on": 0}, {"on": "15-05-2026"}, {"amount_eur": "1000"}):
        r = client.post("/api/v1/obligations/O-1/deliveries", headers=headers, json={
            "enterprise_ref": "E-001", "on": "2026-05-01", "amount_eur": 1, **wrong})
        assert r.status_code == 422, (wrong, r.text)
        assert r.json()["detail"]["field"] == next(iter(wrong))
    # A bearer token is needed for writes (a session cookie is not enough).
    assert client.post("/api/v1/obligations/O-1/deliveries", json={
        "enterprise_ref": "E-001", "on": "2026-05-01", "amount_eur": 1}).status_code == 401
    # The officer may read, not write.
    officer = api_token("officer")
    assert client.get("/api/v1/obligations/O-1/deliveries", headers=officer).status_code == 200
    assert client.put("/api/v1/obligations/O-1/plan", headers=officer,
                      json={"rows": []}).status_code == 403
