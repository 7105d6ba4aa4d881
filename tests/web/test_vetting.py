"""Vetting pages and API: the flagged queue, approve / reject / validity, history, CSV, access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.db import get_engine
from api.tables import EnterpriseRow, VettingEvent
from tests.web.conftest import csrf_of
from tests.web.csv_read import read_csv

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]
TODAY = date(2026, 6, 1)  # the web fixtures' TODAY


def _flag_some() -> None:
    """E-001 vetting runs out in 19 days, E-002's vetting ran out, E-004 has a PSO
    certificate running out in 14 days."""
    with Session(get_engine()) as s:
        rows = {r.ref: r for r in s.exec(select(EnterpriseRow).where(
            col(EnterpriseRow.ref).in_(["E-001", "E-002", "E-004"]))).all()}
        rows["E-001"].vetting_valid_until = date(2026, 6, 20)
        rows["E-002"].vetting_valid_until = date(2026, 5, 1)
        rows["E-004"].certifications = [{"scheme": "PSO", "level": "3",
                                         "valid_until": "2026-06-15"}]
        for r in rows.values():
            s.add(r)
        s.commit()


def _events(ref: str) -> list[VettingEvent]:
    with Session(get_engine()) as s:
        return list(s.exec(select(VettingEvent).where(VettingEvent.enterprise_ref == ref)
                           .order_by(col(VettingEvent.id))).all())


def test_queue_flags_pending_expiring_and_certificates(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    _flag_some()
    login("connector")
    r = client.get("/vetting")
    assert r.status_code == 200
    page = r.text
    pending = page.split('id="vetting-pending"')[1].split("</table>")[0]
    # Every pending enterprise of the seed (i % 10 == 5) is in the queue with its form.
    for ref in ("E-005", "E-015", "E-055"):
        assert f'data-ref="{ref}"' in pending
        assert f'action="/vetting/{ref}"' in pending
    assert 'data-ref="E-010"' not in pending  # rejected, not pending
    expiring = page.split('id="vetting-expiring"')[1].split("</table>")[0]
    assert 'data-ref="E-001"' in expiring and "nog 19 dagen" in expiring
    expired = page.split('id="vetting-expired"')[1].split("</table>")[0]
    assert 'data-ref="E-002"' in expired
    certs = page.split('id="vetting-certs"')[1].split("</table>")[0]
    assert 'data-ref="E-004"' in certs and "PSO 3" in certs and "nog 14 dagen" in certs
    assert float(r.headers["Server-Timing"].split("dur=")[1]) > 0

    rows = read_csv(client.get("/vetting/export.csv"))
    flags = {(row["Signaal"], row["Kenmerk"]) for row in rows}
    assert {("Wacht op screening", "E-005"), ("Screening verloopt binnen een maand", "E-001"),
            ("Screening verlopen", "E-002"),
            ("Keurmerk verloopt binnen een maand", "E-004")} <= flags
    cert = next(row for row in rows if row["Signaal"] == "Keurmerk verloopt binnen een maand")
    assert cert["Keurmerk geldig tot"] == "2026-06-15" and cert["Dagen over"] == "14"

    english = client.get("/vetting?lang=en").text
    assert "Waiting for vetting" in english and "Vetting expires within a month" in english


def test_approve_with_validity_then_reject_needs_a_reason(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    token = csrf_of(client, "/vetting/E-005")
    r = client.post("/vetting/E-005", data={
        "csrf_token": token, "status": "vetted", "valid_until": "2027-05-31",
        "reason": "KvK en loonstrookjes gezien", "next": "/vetting"})
    assert r.status_code == 303 and r.headers["location"] == "/vetting"
    with Session(get_engine()) as s:
        e = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-005")).one()
        assert (e.vetting_status, e.vetting_valid_until, e.vetted_by) == (
            "vetted", date(2027, 5, 31), "connector@test.nl")
    queue = client.get("/vetting").text
    assert "is goedgekeurd, geldig tot 31-05-2027" in queue
    assert 'data-ref="E-005"' not in queue.split('id="vetting-pending"')[1].split("</table>")[0]

    # Reject without a reason: refused beside the field, what was typed kept, nothing logged.
    r = client.post("/vetting/E-005", data={"csrf_token": token, "status": "rejected",
                                            "valid_until": "", "reason": "  "})
    assert r.status_code == 422
    assert "Geef een reden." in r.text and 'aria-invalid="true"' in r.text
    assert '<option value="rejected" selected>' in r.text
    assert len(_events("E-005")) == 1

    r = client.post("/vetting/E-005", data={"csrf_token": token, "status": "rejected",
                                            "reason": "Geen doelgroepmedewerkers meer"})
    assert r.status_code == 303 and r.headers["location"] == "/vetting/E-005"
    events = _events("E-005")
    assert [e.status for e in events] == ["vetted", "rejected"]
    assert events[1].reason == "Geen doelgroepmedewerkers meer"
    detail = client.get("/vetting/E-005").text
    history = detail.split('id="vetting-history"')[1]
    assert history.index("Afgewezen") < history.index("Gescreend")  # newest first
    lines = client.get("/vetting/E-005/history.csv").text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Nr.;Besloten op;Door;Onderneming") and len(lines) == 3

    # A date in the past and a malformed date are refused with a clear message.
    r = client.post("/vetting/E-005", data={"csrf_token": token, "status": "vetted",
                                            "valid_until": "2026-01-01"})
    assert r.status_code == 422 and "Geldig tot moet na vandaag liggen." in r.text
    r = client.post("/vetting/E-005", data={"csrf_token": token, "status": "vetted",
                                            "valid_until": "31/02/2027"})
    assert r.status_code == 422 and "Vul een datum in als dd-mm-jjjj." in r.text
    # Approve without a date: valid for a year. A foreign "next" is ignored.
    r = client.post("/vetting/E-005", data={"csrf_token": token, "status": "vetted",
                                            "next": "https://evil.example/"})
    assert r.headers["location"] == "/vetting/E-005"
    assert _events("E-005")[-1].valid_until == date(2027, 6, 1)


def test_vetting_is_for_connectors_and_needs_csrf(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    for path in ("/vetting", "/vetting/E-005", "/vetting/export.csv"):
        assert client.get(path).status_code == 403, path
    assert client.post("/vetting/E-005", data={"status": "vetted"}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    login("firm")
    assert client.get("/vetting").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})

    login("connector")
    r = client.post("/vetting/E-005", data={"status": "vetted", "reason": "x"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert _events("E-005") == []
    assert client.get("/vetting/E-999").status_code == 404


def test_vetting_api(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.post("/api/v1/vetting/E-015", headers=h,
                    json={"status": "vetted", "valid_until": "2027-01-31", "reason": "ok"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["enterprise"]["vetting_status"] == "vetted"
    assert body["enterprise"]["vetting_valid_until"] == "2027-01-31"
    assert body["event"]["decided_by"] == "connector@test.nl"

    r = client.post("/api/v1/vetting/E-015", headers=h, json={"status": "rejected"})
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "reason"
    assert r.json()["detail"]["message"] == "Geef een reden."
    r = client.post("/api/v1/vetting/E-015", headers=h, json={"status": "approved"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "status"
    # A validity measured from today (not in the request itself): 409 (issue #18).
    for until in ("2026-01-01", "2099-01-01"):
        r = client.post("/api/v1/vetting/E-015", headers=h,
                        json={"status": "vetted", "valid_until": until})
        assert r.status_code == 409 and r.json()["detail"]["field"] == "valid_until", r.text
    r = client.post("/api/v1/vetting/E-999", headers=h, json={"status": "vetted"})
    assert r.status_code == 404 and r.json()["detail"]["field"] == "ref"
    r = client.post("/api/v1/vetting/E-015", headers=api_token("officer"),
                    json={"status": "vetted"})
    assert r.status_code == 403 and "message" in r.json()["detail"]
    assert client.post("/api/v1/vetting/E-015", json={"status": "vetted"}).status_code == 401

    events = client.get("/api/v1/vetting/E-015/events", headers=h).json()
    assert events["total"] == 1 and events["items"][0]["status"] == "vetted"

    queue = client.get("/api/v1/vetting/queue?per_page=2", headers=h).json()
    assert queue["counts"]["pending"] == 5  # six pending in the seed, one just approved
    assert (queue["total"], queue["per_page"], queue["pages"], len(queue["items"])) == (
        5, 2, 3, 2)
    only = client.get("/api/v1/vetting/queue?flag=expired", headers=h).json()
    assert only["total"] == 0


def test_no_route_edits_or_deletes_vetting_events(app) -> None:  # type: ignore[no-untyped-def]
    for route in app.routes:
        path = getattr(route, "path", "")
        if "vetting" in path:
            assert not (set(getattr(route, "methods", ())) & {"PUT", "PATCH", "DELETE"}), path
    schema = app.openapi()
    op = schema["paths"]["/api/v1/vetting/{enterprise_ref}"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]
    assert "403" in op["responses"] and "422" in op["responses"]
