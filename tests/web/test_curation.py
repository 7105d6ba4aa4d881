"""Curation pages and API: the queue of proposed matches, decisions with reasons, the
append-only log (two decisions on one match both kept), CSV, filters, access."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.db import get_engine
from api.tables import CurationDecision
from tests.web.conftest import csrf_of
from tests.web.csv_read import number, read_csv

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]
PROPOSAL_RE = re.compile(
    r'<form method="post" action="/curation/decide".*?name="query_kind" value="(\w+)">.*?'
    r'name="query_ref" value="([^"]+)">.*?name="enterprise_ref" value="([^"]+)">', re.S)


def _decisions(query_ref: str, enterprise_ref: str | None = None) -> list[CurationDecision]:
    with Session(get_engine()) as s:
        q = select(CurationDecision).where(CurationDecision.query_ref == query_ref)
        if enterprise_ref:
            q = q.where(CurationDecision.enterprise_ref == enterprise_ref)
        return list(s.exec(q.order_by(col(CurationDecision.id))).all())


def _proposals(html: str) -> list[tuple[str, str, str]]:
    return PROPOSAL_RE.findall(html)


def test_queue_proposes_undecided_top_candidates(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    r = client.get("/curation?kind=tender")
    assert r.status_code == 200
    proposals = _proposals(r.text)
    assert proposals, "the queue shows proposals for the open tenders"
    assert {k for k, _, _ in proposals} == {"tender"}
    # Only published tenders (T-UTR-3 and T-AMS-2 are drafts).
    assert {q for _, q, _ in proposals} <= {"T-UTR-1", "T-UTR-2", "T-AMS-1"}
    # The seed accepted E-001/E-006/E-002/E-003 for T-UTR-1: not proposed again.
    decided = {("T-UTR-1", e) for e in ("E-001", "E-006", "E-002", "E-003")}
    assert not decided & {(q, e) for _, q, e in proposals}
    assert "4 al beoordeeld" in r.text
    # Filter by kind: obligations only.
    obligations = _proposals(client.get("/curation?kind=obligation").text)
    assert obligations and {k for k, _, _ in obligations} == {"obligation"}
    everything = client.get("/curation").text
    assert "Aanbestedingen (3)" in everything and "Verplichtingen (3)" in everything
    assert "Challenges (1)" in everything
    # Text filter.
    only = client.get("/curation?q=Groenonderhoud").text
    assert {q for _, q, _ in _proposals(only)} == {"T-UTR-2"}


def test_accept_with_reason_is_logged_with_who_and_when(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    page = client.get("/curation?kind=tender&q=T-UTR-2").text
    kind, qref, eref = _proposals(page)[0]
    token = csrf_of(client, "/curation")
    r = client.post("/curation/decide", data={
        "csrf_token": token, "query_kind": kind, "query_ref": qref, "enterprise_ref": eref,
        "decision": "accept", "reason": "Kent het park al", "next": "/curation?kind=tender"})
    assert r.status_code == 303 and r.headers["location"] == "/curation?kind=tender"
    [d] = _decisions(qref, eref)
    assert (d.decision, d.reason, d.decided_by) == ("accept", "Kent het park al",
                                                   "connector@test.nl")
    assert d.decided_at is not None
    # What the connector saw is kept for learning: rank, score, feature scores, weights.
    assert d.rank is not None and d.score is not None and d.features
    after = client.get("/curation?kind=tender&q=T-UTR-2").text
    assert "Vastgelegd in het curatielogboek" in after
    assert (kind, qref, eref) not in _proposals(after)

    log = client.get("/curation/log").text
    assert "Kent het park al" in log and "connector@test.nl" in log
    history = client.get(f"/curation/log?query_kind=tender&query_ref={qref}"
                         f"&enterprise_ref={eref}").text
    assert "Geschiedenis van deze match" in history and "Kent het park al" in history
    assert "1 besluit<" in history  # the plural form of 1 (#16), never "1 besluiten"


def test_reject_without_reason_is_refused_with_a_clear_message(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    kind, qref, eref = _proposals(client.get("/curation?kind=tender").text)[0]
    token = csrf_of(client, "/curation")
    r = client.post("/curation/decide", data={
        "csrf_token": token, "query_kind": kind, "query_ref": qref, "enterprise_ref": eref,
        "decision": "reject", "reason": "   ", "next": "/curation?kind=tender"})
    assert r.status_code == 303
    assert _decisions(qref, eref) == []
    page = client.get(r.headers["location"].split("#")[0]).text
    assert "Besluit niet opgeslagen: Geef een reden bij afwijzen." in page
    # The message sits beside the refused match's form.
    block = page.split(f'id="m-{eref}"')[1].split('class="proposal"')[0]
    assert 'role="alert">Geef een reden bij afwijzen.' in block

    r = client.post("/curation/decide", data={
        "csrf_token": token, "query_kind": kind, "query_ref": qref, "enterprise_ref": eref,
        "decision": "reject", "reason": "Te ver weg"})
    assert r.status_code == 303
    assert [d.decision for d in _decisions(qref, eref)] == ["reject"]
    # Unknown things are refused too, never a stack trace.
    r = client.post("/curation/decide", data={
        "csrf_token": token, "query_kind": "tender", "query_ref": "T-NOPE",
        "enterprise_ref": eref, "decision": "accept"})
    assert r.status_code == 303
    assert "Onbekende aanbesteding, challenge of verplichting." in client.get("/curation").text


def test_two_decisions_on_one_match_are_both_kept(client: TestClient, login,  # type: ignore[no-untyped-def]
                                                  api_token: Headers) -> None:
    body = {"query_kind": "tender", "query_ref": "T-AMS-1", "enterprise_ref": "E-009",
            "decision": "accept", "reason": "Goede referenties"}
    r1 = client.post("/api/v1/curation/decisions", headers=api_token("connector"), json=body)
    r2 = client.post("/api/v1/curation/decisions", headers=api_token("admin"),
                     json={**body, "decision": "reject", "reason": "Geen capaciteit"})
    assert (r1.status_code, r2.status_code) == (201, 201), r1.text + r2.text
    kept = _decisions("T-AMS-1", "E-009")
    assert [(d.decision, d.decided_by) for d in kept] == [
        ("accept", "connector@test.nl"), ("reject", "admin@test.nl")]
    assert r1.json()["id"] != r2.json()["id"]
    log = client.get("/api/v1/curation/log?query_ref=T-AMS-1&enterprise_ref=E-009",
                     headers=api_token("connector")).json()
    assert log["total"] == 2
    assert [i["decision"] for i in log["items"]] == ["reject", "accept"]  # newest first
    login("connector")
    history = client.get("/curation/log?query_kind=tender&query_ref=T-AMS-1"
                         "&enterprise_ref=E-009").text
    assert "Goede referenties" in history and "Geen capaciteit" in history


def test_curation_api(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.post("/api/v1/curation/decisions", headers=h, json={
        "query_kind": "obligation", "query_ref": "O-3", "enterprise_ref": "E-009",
        "decision": "reject"})
    assert r.status_code == 422
    assert r.json()["detail"] == {"message": "Geef een reden bij afwijzen.", "field": "reason"}
    r = client.post("/api/v1/curation/decisions", headers=h, json={
        "query_kind": "obligation", "query_ref": "O-3", "enterprise_ref": "E-404",
        "decision": "pin"})
    assert r.status_code == 404 and r.json()["detail"]["field"] == "enterprise_ref"
    r = client.post("/api/v1/curation/decisions", headers=h, json={
        "query_kind": "firm", "query_ref": "O-3", "enterprise_ref": "E-009",
        "decision": "pin"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "query_kind"
    pin = {"query_kind": "obligation", "query_ref": "O-3", "enterprise_ref": "E-009",
           "decision": "pin", "reason": "Vaste partner van de firma"}
    # A hard constraint excludes E-009 for O-3: pinning it needs an explicit override.
    r = client.post("/api/v1/curation/decisions", headers=h, json=pin)
    assert r.status_code == 409 and r.json()["detail"]["field"] == "override"
    r = client.post("/api/v1/curation/decisions", headers=h, json={**pin, "override": True})
    assert r.status_code == 201 and r.json()["override"] is True
    assert r.json()["decided_by"] == "connector@test.nl" and r.json()["decision"] == "pin"

    queue = client.get("/api/v1/curation/queue?kind=tender&per_page=2", headers=h).json()
    assert (queue["total"], queue["per_page"], queue["pages"]) == (3, 2, 2)
    assert len(queue["items"]) == 2
    item = queue["items"][0]
    assert item["query_kind"] == "tender" and item["proposals"]
    assert {"rank", "enterprise_ref", "score", "reasons", "features"} <= set(
        item["proposals"][0])
    page2 = client.get("/api/v1/curation/queue?kind=tender&per_page=2&page=2", headers=h).json()
    assert len(page2["items"]) == 1
    assert client.get("/api/v1/curation/queue?kind=nope", headers=h).status_code == 422

    log = client.get("/api/v1/curation/log?per_page=3", headers=h).json()
    assert (log["total"], log["pages"], len(log["items"])) == (9, 3, 3)

    for who in ("officer", "firm"):
        assert client.get("/api/v1/curation/queue", headers=api_token(who)).status_code == 403
        r = client.post("/api/v1/curation/decisions", headers=api_token(who), json={
            "query_kind": "tender", "query_ref": "T-UTR-1", "enterprise_ref": "E-009",
            "decision": "accept"})
        assert r.status_code == 403 and r.json()["detail"]["message"]


def test_csv_exports(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    rows = read_csv(client.get("/curation/log.csv"))
    assert len(rows) == 8 and rows[0]["Door"] == "connector@test.nl"
    assert {r["Besluit"] for r in rows} == {"Geaccepteerd"}
    assert all(r["Onderneming"] and r["Vraag"] for r in rows)  # names beside the refs
    qrows = read_csv(client.get("/curation/export.csv?kind=tender"))
    assert qrows and {r["Soort"] for r in qrows} == {"Aanbesteding"}
    assert all(r["Kenmerk onderneming"] and 0 < number(r["Score"]) <= 1 for r in qrows)
    assert ("T-UTR-1", "E-001") not in {(r["Kenmerk vraag"], r["Kenmerk onderneming"])
                                        for r in qrows}


def test_curation_is_for_connectors_and_needs_csrf(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    for who in ("officer", "firm"):
        login(who)
        for path in ("/curation", "/curation/log", "/curation/log.csv", "/curation/export.csv"):
            assert client.get(path).status_code == 403, (who, path)
        assert client.post("/curation/decide", data={}).status_code == 403
        client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    login("admin")
    assert client.get("/curation").status_code == 200
    r = client.post("/curation/decide", data={
        "query_kind": "tender", "query_ref": "T-UTR-1", "enterprise_ref": "E-009",
        "decision": "accept", "reason": "zonder token"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert _decisions("T-UTR-1", "E-009") == []


def test_no_route_edits_or_deletes_curation_decisions(app) -> None:  # type: ignore[no-untyped-def]
    for route in app.routes:
        path = getattr(route, "path", "")
        if "curation" in path:
            assert not (set(getattr(route, "methods", ())) & {"PUT", "PATCH", "DELETE"}), path
    paths = app.openapi()["paths"]
    decisions = paths["/api/v1/curation/decisions"]
    assert set(decisions) == {"post"}
    example = decisions["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert example
    assert "/api/v1/curation/queue" in paths and "/api/v1/curation/log" in paths


def test_simultaneous_decisions_are_both_kept(app) -> None:  # type: ignore[no-untyped-def]
    """Two connectors deciding on one match at the same moment (own sessions, own
    transactions): append-only inserts, so neither overwrites the other."""
    import threading

    from api.services import curation_log
    from api.services.curation_log import DecisionInput

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def decide(who: str, decision: str, reason: str) -> None:
        try:
            with Session(get_engine()) as s:
                data = DecisionInput(query_kind="obligation", query_ref="O-2",
                                     enterprise_ref="E-014", decision=decision, reason=reason)
                curation_log.validate(s, data)
                barrier.wait(timeout=10)
                curation_log.record(s, data, decided_by=who)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=("a@test.nl", "accept", "past")),
               threading.Thread(target=decide, args=("b@test.nl", "reject", "te duur"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    kept = _decisions("O-2", "E-014")
    assert sorted((d.decided_by, d.decision) for d in kept) == [
        ("a@test.nl", "accept"), ("b@test.nl", "reject")]
