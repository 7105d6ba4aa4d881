"""Trust in the money: deliveries are validated, corrected by reversals only, and can carry
evidence. O-1 is firm A's obligation under T-UTR-1 (contract 2026-01-01 … 2029-12-31,
policy utrecht-2024 valid from 2024-01-01); its plan holds E-001 and E-006. The seed
delivered € 15.000 of E-001's € 60.000 purchasing capacity in 2026; TODAY is 2026-06-01.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from api.db import get_engine
from api.services.delivery_evidence import MAX_BYTES
from api.tables import DeliveryRow, TenderRow, VettingEvent
from tests.web.conftest import CSRF_RE, do_login
from tests.web.csv_read import read_csv
from tests.web.seed import USERS

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]
URL = "/api/v1/obligations/O-1/deliveries"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _post(client: TestClient, h: dict[str, str], **body: Any) -> Any:
    return client.post(URL, headers=h, json={"enterprise_ref": "E-001", "on": "2026-05-01",
                                             "amount_eur": 1000, **body})


def _refused(r: Any, field: str, words: str, status: int = 422) -> None:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail["field"] == field, detail
    assert words in detail["message"], detail


def _conflict(r: Any, field: str, words: str) -> None:
    # The request is well formed; what is stored (the plan, the term, the vetting, the
    # capacity left) is in the way: 409 (issue #18).
    _refused(r, field, words, status=409)


def _total(client: TestClient, h: dict[str, str]) -> float:
    return float(client.get(URL, headers=h).json()["progress"]["delivered_total"])


def _count() -> int:
    with Session(get_engine()) as s:
        return len(s.exec(select(DeliveryRow)).all())


def test_delivery_must_name_a_planned_enterprise_or_say_why(
        client: TestClient, api_token: Headers) -> None:
    h = api_token("firm")
    n = _count()
    _conflict(_post(client, h, enterprise_ref="E-002"), "enterprise_ref", "niet in het plan")
    _refused(_post(client, h, enterprise_ref="E-002", unplanned=True), "unplanned_reason",
             "reden")
    assert _count() == n
    ok = _post(client, h, enterprise_ref="E-002", unplanned=True,
               unplanned_reason="Spoedklus na storm")
    assert ok.status_code == 201, ok.text
    assert ok.json()["unplanned"] is True and ok.json()["reason"] == "Spoedklus na storm"
    assert ok.json()["recorded_by"] == USERS["firm"][0]


def test_delivery_date_within_contract_and_policy(client: TestClient,
                                                  api_token: Headers) -> None:
    h = api_token("firm")
    _conflict(_post(client, h, on="2025-12-31"), "on", "looptijd")
    # A contract that started before the policy did: the policy's validity refuses.
    with Session(get_engine()) as s:
        tender = s.exec(select(TenderRow).where(TenderRow.ref == "T-UTR-1")).one()
        tender.start = date(2023, 6, 1)
        s.add(tender)
        s.commit()
    # No policy was in force for Utrecht on that start: the obligation asks for one (never
    # another table by default).
    r = _post(client, h, on="2023-07-01")  # the obligation's state: a conflict
    assert r.status_code == 409 and r.json()["detail"]["field"] == "policy", r.text
    assert "kies er een" in r.json()["detail"]["message"]
    with Session(get_engine()) as s:
        tender = s.exec(select(TenderRow).where(TenderRow.ref == "T-UTR-1")).one()
        tender.sroi_policy = "utrecht-2024"
        s.add(tender)
        s.commit()
    _conflict(_post(client, h, on="2023-07-01"), "on", "utrecht-2024")
    assert _post(client, h, on="2026-01-02").status_code == 201


def test_delivery_needs_an_enterprise_vetted_on_that_date(client: TestClient,
                                                          api_token: Headers) -> None:
    with Session(get_engine()) as s:  # E-006's vetting renewed on 1 March, valid one month
        s.add(VettingEvent(enterprise_ref="E-006", status="vetted", valid_until=date(2026, 4, 1),
                           decided_by="connector@test.nl",
                           decided_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC)))
        s.commit()
    h = api_token("firm")
    _conflict(_post(client, h, enterprise_ref="E-006", on="2026-05-01"), "enterprise_ref",
              "gescreend")
    assert _post(client, h, enterprise_ref="E-006", on="2026-03-15").status_code == 201
    # Before its first vetting an enterprise was not vetted either.
    with Session(get_engine()) as s:
        tender = s.exec(select(TenderRow).where(TenderRow.ref == "T-UTR-1")).one()
        tender.start = date(2025, 1, 1)
        s.add(tender)
        s.commit()
    _conflict(_post(client, h, on="2025-02-01"), "enterprise_ref", "gescreend")


def test_delivery_within_the_capacity_left_that_year(client: TestClient,
                                                     api_token: Headers) -> None:
    h = api_token("firm")
    n = _count()
    _conflict(_post(client, h, amount_eur=999_999_999), "amount_eur", "inkoopcapaciteit")
    _conflict(_post(client, h, amount_eur=45_000.01), "amount_eur", "€ 45.000")
    assert _count() == n
    assert _post(client, h, amount_eur=45_000).status_code == 201
    _conflict(_post(client, h, amount_eur=1), "amount_eur", "inkoopcapaciteit")


def test_page_shows_each_refusal_beside_its_field(client: TestClient, login: Any) -> None:
    login("firm")
    token = CSRF_RE.search(client.get("/obligations/O-1").text)
    assert token
    base = {"csrf_token": token.group(1), "kind": "purchase", "on": "2026-05-01",
            "amount_eur": "1.000"}
    r = client.post("/obligations/O-1/deliveries", data={**base, "enterprise_ref": "E-002"})
    assert r.status_code == 422 and 'id="f-enterprise_ref-err"' in r.text
    assert "niet in het plan" in r.text
    r = client.post("/obligations/O-1/deliveries",
                    data={**base, "enterprise_ref": "E-002", "unplanned": "1"})
    assert r.status_code == 422 and 'id="f-unplanned_reason-err"' in r.text
    r = client.post("/obligations/O-1/deliveries",
                    data={**base, "enterprise_ref": "E-001", "amount_eur": "999.999.999"})
    assert r.status_code == 422 and 'id="f-amount_eur-err"' in r.text
    assert "€ 45.000" in r.text and 'value="999.999.999"' in r.text
    en = client.post("/obligations/O-1/deliveries?lang=en",
                     data={**base, "enterprise_ref": "E-001", "on": "2025-12-01"})
    assert en.status_code == 422 and "outside the contract term" in en.text


def test_reversal_nets_out_and_happens_once(client: TestClient, api_token: Headers) -> None:
    h = api_token("firm")
    before = _total(client, h)
    listed = _listed_delivered(client)
    new = _post(client, h, amount_eur=2000, note="factuur 88")
    assert new.status_code == 201
    did = new.json()["id"]
    assert _total(client, h) == before + 2000
    assert _listed_delivered(client) != listed  # the new delivery shows on both
    r = client.post(f"{URL}/{did}/reversal", headers=h, json={"reason": "  "})
    _refused(r, "reason", "niet leeg")  # the schema's non-blank pattern (issue #18)
    rev = client.post(f"{URL}/{did}/reversal", headers=h, json={"reason": "dubbel ingevoerd"})
    assert rev.status_code == 201, rev.text
    body = rev.json()
    assert (body["kind"], body["reverses_id"], body["amount_eur"], body["credit_eur"]) == (
        "reversal", did, -2000.0, -2000.0)
    assert body["reason"] == "dubbel ingevoerd" and body["recorded_by"] == USERS["firm"][0]
    assert _total(client, h) == before
    again = client.post(f"{URL}/{did}/reversal", headers=h, json={"reason": "nog eens"})
    assert again.status_code == 409
    undo = client.post(f"{URL}/{body['id']}/reversal", headers=h, json={"reason": "terug"})
    assert undo.status_code == 404
    items = {d["id"]: d for d in client.get(URL, headers=h).json()["items"]}
    assert items[did]["reversed"] is True and items[did]["amount_eur"] == 2000.0
    # The list's delivered total is net too, and the freed capacity can be used again.
    assert _listed_delivered(client) == listed
    assert _post(client, h, amount_eur=45_000).status_code == 201
    # Nothing was changed or removed: the original is still there as written, and the
    # database refuses raw deletes and updates.
    for statement in ("DELETE FROM delivery WHERE id = :i",
                      "UPDATE delivery SET amount_eur = 0 WHERE id = :i"):
        with pytest.raises(DBAPIError, match="append-only"), get_engine().begin() as conn:
            conn.execute(text(statement), {"i": did})
    with Session(get_engine()) as s:
        assert s.exec(select(DeliveryRow).where(DeliveryRow.id == did)).one().amount_eur == 2000


def _csv(client: TestClient, path: str) -> list[dict[str, str]]:
    client.cookies.clear()
    do_login(client, "connector")
    rows = read_csv(client.get(path))
    client.cookies.clear()
    return rows


def _listed_delivered(client: TestClient) -> tuple[str, str]:
    """O-1's delivered euros on the obligations list and May 2026's credit on the
    dashboard (both CSV), as the connector sees them."""
    listed = next(r["Geleverd (EUR)"] for r in _csv(client, "/obligations/export.csv")
                  if r["Kenmerk"] == "O-1")
    month = next(r["Waarde social return (EUR)"]
                 for r in _csv(client, "/dashboard/credit_by_month.csv")
                 if r["Maand"] == "2026-05")
    return listed, month


def test_reversal_on_the_page(client: TestClient, login: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-1")
    assert "/deliveries/1/reversal" in page.text and "Corrigeren" in page.text
    token = CSRF_RE.search(page.text)
    assert token
    r = client.post("/obligations/O-1/deliveries/1/reversal",
                    data={"csrf_token": token.group(1), "reason": ""})
    assert r.status_code == 422 and 'id="f-reason-1-err"' in r.text
    r = client.post("/obligations/O-1/deliveries/1/reversal",
                    data={"csrf_token": token.group(1), "reason": "verkeerde onderneming"})
    assert r.status_code == 303
    after = client.get("/obligations/O-1").text
    assert "Correctie van levering #1" in after and "verkeerde onderneming" in after
    assert "/deliveries/1/reversal" not in after  # reversed once only
    # The officer reads the page, without the correction forms.
    client.cookies.clear()
    login("officer")
    assert "reversal-form" not in client.get("/obligations/O-1").text


def test_evidence_upload_download_and_access(client: TestClient, api_token: Headers) -> None:
    h = api_token("firm")
    up = client.post(f"{URL}/1/evidence", headers=h,
                     files={"file": ("../factuur 17.pdf", PDF, "application/pdf")})
    assert up.status_code == 201, up.text
    ev = up.json()
    assert ev["sha256"] == hashlib.sha256(PDF).hexdigest() and ev["size"] == len(PDF)
    assert ev["media_type"] == "application/pdf" and ev["filename"] == "factuur 17.pdf"
    got = client.get(ev["href"], headers=h)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert client.get(ev["href"], headers=api_token("officer")).content == PDF
    for who in ("firm2", "officer2"):
        assert client.get(ev["href"], headers=api_token(who)).status_code == 404
    # Listed with its delivery.
    items = {d["id"]: d for d in client.get(f"{URL}?per_page=500", headers=h).json()["items"]}
    assert [e["id"] for e in items[1]["evidence"]] == [ev["id"]]
    # The bytes decide the type, not the name or the claimed type; size is limited.
    fake = client.post(f"{URL}/1/evidence", headers=h,
                       files={"file": ("factuur.pdf", b"<html>hi</html>", "application/pdf")})
    _refused(fake, "evidence", "PDF, PNG of JPEG")
    big = client.post(f"{URL}/1/evidence", headers=h,
                      files={"file": ("groot.pdf", PDF + b"0" * MAX_BYTES, "application/pdf")})
    _refused(big, "evidence", "5 MB")
    png = client.post(f"{URL}/1/evidence", headers=h,
                      files={"file": ("scan.png", PNG, "image/png")})
    assert png.status_code == 201 and png.json()["media_type"] == "image/png"
    # Only the obligation's own editors attach; another obligation's delivery is unknown.
    officer = client.post(f"{URL}/1/evidence", headers=api_token("officer"),
                          files={"file": ("f.pdf", PDF, "application/pdf")})
    assert officer.status_code == 403
    other = client.post("/api/v1/obligations/O-2/deliveries/1/evidence", headers=h,
                        files={"file": ("f.pdf", PDF, "application/pdf")})
    assert other.status_code == 404
    assert client.get(f"/api/v1/obligations/O-2/evidence/{ev['id']}", headers=h
                      ).status_code == 404


def test_evidence_on_the_delivery_form(client: TestClient, login: Any) -> None:
    login("firm")
    token = CSRF_RE.search(client.get("/obligations/O-1").text)
    assert token
    data = {"csrf_token": token.group(1), "enterprise_ref": "E-001", "kind": "purchase",
            "on": "2026-05-02", "amount_eur": "500"}
    n = _count()
    bad = client.post("/obligations/O-1/deliveries", data=data,
                      files={"evidence": ("x.pdf", b"MZ\x90\x00", "application/pdf")})
    assert bad.status_code == 422 and 'id="f-evidence-err"' in bad.text
    assert _count() == n  # a file that cannot be kept refuses the whole delivery
    ok = client.post("/obligations/O-1/deliveries", data=data,
                     files={"evidence": ("bon.pdf", PDF, "application/pdf")})
    assert ok.status_code == 303
    page = client.get("/obligations/O-1").text
    assert "bon.pdf" in page
    href = page.split('href="/obligations/O-1/evidence/')[1].split('"')[0]
    assert client.get(f"/obligations/O-1/evidence/{href}").content == PDF
