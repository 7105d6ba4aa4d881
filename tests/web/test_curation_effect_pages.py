"""Curation takes effect on the pages and the JSON API (SQLite and PostgreSQL): the
tender page and its JSON lead with a pinned enterprise (who and why), leave a rejected
one out under "Afgewezen", mark an accepted one; why-not names the decision; the
Challenge portfolio does the same; accepting an excluded enterprise needs an override."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.db import get_engine
from api.services import matching
from api.tables import CurationDecision
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]


def _decide(client: TestClient, headers: dict[str, str], kind: str, ref: str, ent: str,
            decision: str, reason: str = "", override: bool = False) -> int:
    r = client.post("/api/v1/curation/decisions", headers=headers, json={
        "query_kind": kind, "query_ref": ref, "enterprise_ref": ent, "decision": decision,
        "reason": reason, "override": override})
    assert r.status_code != 404, r.text
    return r.status_code


def _excluded_and_low(kind: str, ref: str) -> tuple[str, str]:
    """An enterprise a hard constraint excludes, and a candidate below the top 5."""
    with Session(get_engine()) as s:
        index = matching.get_index(s)
        excluded = low = None
        for ent in index.refs_:
            why = matching.why_not(s, kind, ref, ent)
            if why["excluded"] and excluded is None:
                excluded = ent
            if not why["excluded"] and why["rank"] and why["rank"] > 5 and low is None:
                low = ent
    assert excluded and low
    return excluded, low


def test_tender_page_and_json_follow_decisions(client: TestClient, login,  # type: ignore[no-untyped-def]
                                               api_token: Headers) -> None:
    h = api_token("connector")
    top = client.get("/api/v1/tenders/T-UTR-1/matches?top=5", headers=h).json()["items"]
    first = top[0]["ref"]
    excluded, low = _excluded_and_low("tender", "T-UTR-1")
    assert low not in {i["ref"] for i in top}
    assert _decide(client, h, "tender", "T-UTR-1", low, "pin", "Kent het gebouw") == 201
    assert _decide(client, h, "tender", "T-UTR-1", first, "reject", "Heeft geen tijd") == 201

    data = client.get("/api/v1/tenders/T-UTR-1/matches?top=5", headers=h).json()
    refs = [i["ref"] for i in data["items"]]
    assert refs[0] == low and first not in refs
    assert data["items"][0]["decision"] == "pin"
    assert data["items"][0]["decided"]["reason"] == "Kent het gebouw"
    assert data["items"][0]["decided"]["decided_by"].startswith("connector")
    assert [r["ref"] for r in data["rejected"]] == [first]
    assert data["rejected"][0]["reason"] == "Heeft geen tijd"

    why = client.get(f"/api/v1/tenders/T-UTR-1/why-not/{first}", headers=h).json()
    assert why["decision"]["decision"] == "reject" and why["decision"]["reason"]

    # Accepting an excluded enterprise: refused without an override, kept with one.
    assert _decide(client, h, "tender", "T-UTR-1", excluded, "accept", "Toch") == 409
    assert _decide(client, h, "tender", "T-UTR-1", excluded, "accept", "", True) == 422
    assert _decide(client, h, "tender", "T-UTR-1", excluded, "pin", "Verhuist", True) == 201
    with Session(get_engine()) as s:
        from sqlmodel import col, select
        last = s.exec(select(CurationDecision).where(
            CurationDecision.enterprise_ref == excluded).order_by(
            col(CurationDecision.id).desc())).first()
        assert last is not None and last.override and last.decision == "pin"
    data = client.get("/api/v1/tenders/T-UTR-1/matches?top=5", headers=h).json()
    assert [i["ref"] for i in data["items"]][:2] == [low, excluded]
    assert data["items"][1]["excluded_by"] and data["items"][1]["decided"]["override"]

    login("officer")
    page = client.get(f"/tenders/T-UTR-1?waarom={first}")
    assert page.status_code == 200
    html = page.text
    assert "vastgezet door connector" in html and "Kent het gebouw" in html
    assert html.index(f"/enterprises/{low}") < html.index('id="rejected"')
    assert 'id="rejected"' in html and "Heeft geen tijd" in html
    assert "ondanks uitsluiting" in html
    assert "Besluit van de verbinder:" in html
    english = client.get("/tenders/T-UTR-1?lang=en").text
    assert "pinned by connector" in english and "Rejected" in english


def test_challenge_portfolio_follows_decisions(client: TestClient, login,  # type: ignore[no-untyped-def]
                                               api_token: Headers) -> None:
    h = api_token("connector")
    login("connector")
    # A question the seed's cooks and gardeners answer (loneliness alone fits none of them,
    # and the portfolio holds only candidates above the relevance floor).
    client.patch("/api/v1/challenges/C-1", headers=h, json={
        "question": "Maaltijdbezorging, catering en groenonderhoud in de wijk"})
    before = client.get("/api/v1/challenges/C-1/matches", headers=h).json()
    assert len(before["results"]) >= 2
    first = before["results"][0]["ref"]
    assert _decide(client, h, "challenge", "C-1", first, "reject", "Past niet") == 201
    second = before["results"][1]["ref"]
    assert _decide(client, h, "challenge", "C-1", second, "accept", "Goede partner") == 201
    after = client.get("/api/v1/challenges/C-1/matches", headers=h).json()
    assert first not in [m["ref"] for m in after["results"]]
    assert after["rejected"][0]["ref"] == first
    assert next(m for m in after["results"] if m["ref"] == second)["decision"] == "accept"
    page = client.get("/challenges/C-1").text
    assert 'id="rejected"' in page and "Past niet" in page
    assert "geaccepteerd" in page and "Goede partner" in page


def test_override_checkbox_on_the_form(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    excluded, _low = _excluded_and_low("challenge", "C-1")
    token = csrf_of(client, "/challenges/C-1")
    form = {"csrf_token": token, "query_kind": "challenge", "query_ref": "C-1",
            "enterprise_ref": excluded, "decision": "accept", "reason": "Wel doen",
            "next": "/challenges/C-1"}
    r = client.post("/curation/decide", data=form)
    assert r.status_code == 303
    page = client.get("/challenges/C-1").text
    assert "Een harde eis sluit" in page
    r = client.post("/curation/decide", data={**form, "override": "1",
                                              "csrf_token": csrf_of(client, "/challenges/C-1")})
    assert r.status_code == 303
    with Session(get_engine()) as s:
        from sqlmodel import select
        rows = s.exec(select(CurationDecision).where(
            CurationDecision.enterprise_ref == excluded,
            CurationDecision.query_ref == "C-1")).all()
        assert [(d.decision, d.override) for d in rows] == [("accept", True)]


def test_curation_and_weights_templates_are_translated() -> None:
    import re
    from pathlib import Path

    from api import i18n

    root = Path(__file__).resolve().parents[2]
    english = i18n.english()
    missing = set()
    for name in ("curation/_marks.html", "curation/_proposal.html", "weights/index.html",
                 "challenges/detail.html"):
        text = (root / "templates" / name).read_text("utf-8")
        missing |= {m.group(2) for m in re.finditer(r"""\bt\(\s*(["'])(.+?)\1""", text)
                    if m.group(2) not in english}
    assert not missing, f"add to api/translations/en/curation_effect.po: {sorted(missing)}"
