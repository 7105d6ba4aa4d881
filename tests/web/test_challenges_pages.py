"""Challenges board and page: every stage on the board (closed included), past deadlines
flagged, portfolio and coalitions, forward-only stage changes and reopenings with their
history in ChallengeEvent rows (page, status API and CRUD API), access, CSV."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.services.challenge_board import status_history
from api.tables import ChallengeRow
from tests.web.conftest import csrf_of
from tests.web.csv_read import read_csv

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]


def _add_challenges() -> None:
    """C-2 opened 2026-05-18 without deadline (default 12 weeks: 2026-08-10, 70 days from
    the fixtures' TODAY); C-3 in pilot with a deadline in 5 days; C-4 closed."""
    with Session(get_engine()) as s:
        s.add(ChallengeRow(ref="C-2", municipality_code="GM0344", title="Groene schoolpleinen",
                           question="Hoe maken we schoolpleinen groener met buurtbewoners?",
                           themes=["groen", "onderwijs"], opened_on=date(2026, 5, 18),
                           status="call", budget_eur=50_000.0))
        s.add(ChallengeRow(ref="C-3", municipality_code="GM0363", title="Fietsherstel",
                           question="Fietsen voor statushouders", themes=["mobiliteit"],
                           opened_on=date(2026, 3, 1), deadline=date(2026, 6, 6),
                           status="pilot"))
        s.add(ChallengeRow(ref="C-4", municipality_code="GM0344", title="Oud project",
                           opened_on=date(2025, 1, 1), status="closed"))
        s.commit()


def _status(ref: str) -> tuple[str, list[dict[str, str]]]:
    """The stored stage and the history read from the Challenge's events."""
    with Session(get_engine()) as s:
        row = s.exec(select(ChallengeRow).where(ChallengeRow.ref == ref)).one()
        return row.status, status_history(s, ref)


@pytest.mark.parametrize("who", ["officer", "firm", "connector"])
def test_board_shows_stages_and_countdown(client: TestClient, login, who: str) -> None:  # type: ignore[no-untyped-def]
    _add_challenges()
    login(who)
    r = client.get("/challenges")
    assert r.status_code == 200
    board = r.text.split('id="challenge-board"')[1]

    def column(stage: str) -> str:
        return board.split(f'data-stage="{stage}"')[1].split("</section>")[0]

    assert 'data-ref="C-1"' in column("intake")
    assert 'data-ref="C-2"' in column("call") and "nog 70 dagen" in column("call")
    assert "10-08-2026" in column("call") or "10 aug" in column("call")
    assert "(standaard)" in column("call")
    assert 'data-ref="C-3"' in column("pilot")
    assert 'class="countdown soon">nog 5 dagen' in column("pilot")
    # C-1 opened 2026-02-01: its twelve weeks ended 2026-04-26.
    assert "deadline 36 dagen voorbij" in column("intake")
    # Past its deadline and still open: flagged; closed ones have their own column, unflagged.
    c1 = column("intake").split('data-ref="C-1"')[1].split("</article>")[0]
    assert "deadline verstreken" in c1
    assert "deadline verstreken" not in column("call") and "deadline verstreken" not in (
        column("pilot"))
    assert 'data-ref="C-4"' in column("closed") and "Oud project" in column("closed")
    assert "deadline verstreken" not in column("closed")
    assert [stage for stage in ("intake", "call", "pitch", "pilot", "evaluation", "closed")
            if f'data-stage="{stage}"' in board] == [
        "intake", "call", "pitch", "pilot", "evaluation", "closed"]

    rows = read_csv(client.get("/challenges/export.csv"))
    c2 = next(row for row in rows if row["Kenmerk"] == "C-2")
    assert (c2["Deadline"], c2["Standaarddeadline"], c2["Dagen over"]) == (
        "2026-08-10", "ja", "70")
    c1_row = next(row for row in rows if row["Kenmerk"] == "C-1")
    assert (c1_row["Deadline verstreken"], c2["Deadline verstreken"]) == ("ja", "nee")


def test_challenge_page_question_portfolio_and_coalitions(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    _add_challenges()
    login("connector")
    r = client.get("/challenges/C-2")
    assert r.status_code == 200
    page = r.text
    assert "Hoe maken we schoolpleinen groener met buurtbewoners?" in page
    assert '<span class="tag">groen</span>' in page and '<span class="tag">onderwijs</span>' in page
    assert 'aria-current="step">Oproep' in page
    portfolio = page.split('id="portfolio-list"')[1].split("</section>")[0]
    refs = portfolio.count('class="proposal"')
    assert refs >= 2, "a portfolio of several enterprises"
    assert 'action="/curation/decide"' in portfolio  # the connector can curate from here
    assert 'name="next" value="/challenges/C-2"' in portfolio
    assert 'id="coalitions"' in page
    coalitions = page.split('id="coalitions"')[1].split("</section>")[0]
    assert "Coalitie 1" in coalitions or "Geen coalities voorgesteld." in coalitions

    # Others see the question and the portfolio, without the curation or status forms.
    client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    login("firm")
    page = client.get("/challenges/C-2").text
    assert 'id="portfolio-list"' in page
    assert 'action="/curation/decide"' not in page and 'id="status-form"' not in page
    assert client.get("/challenges/C-404").status_code == 404


def test_coalitions_say_who_brings_which_theme_and_the_portfolio_has_a_floor(
        client: TestClient, login, api_token: Headers) -> None:  # type: ignore[no-untyped-def]
    # Green maintenance and catering firms each cover one theme; together both.
    with Session(get_engine()) as s:
        s.add(ChallengeRow(ref="C-5", municipality_code="GM0344", title="Groen en eten",
                           question="Buurtbewoners samen laten eten in een groene wijk",
                           themes=["groenonderhoud", "catering"],
                           opened_on=date(2026, 5, 18), status="call"))
        s.commit()
    login("connector")
    page = client.get("/challenges/C-5").text
    coalitions = page.split('id="coalitions"')[1].split("</section>")[0]
    assert "Coalitie 1" in coalitions
    first = coalitions.split('class="coalition"')[1]
    assert 'brengt <span class="tag">groenonderhoud</span>' in first
    assert 'brengt <span class="tag">catering</span>' in first
    assert "dekken samen 2 van de 2 thema" in first
    assert "Groenwerk" in first and "Keukenwerk" in first
    # The portfolio holds only enterprises relevant to the question: no cleaners or guards.
    portfolio = page.split('id="portfolio-list"')[1].split("</section>")[0]
    assert "Groenwerk" in portfolio and "Keukenwerk" in portfolio
    assert "Schoonwerk" not in portfolio and "Wachtwerk" not in portfolio
    r = client.get("/api/v1/challenges/C-5/matches", headers=api_token("connector"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["results"]) < 10
    co = body["coalitions"][0]
    assert set(co["brings"]) == set(co["refs"])
    assert sorted(t for ts in co["brings"].values() for t in ts) == ["catering", "groenonderhoud"]
    assert client.get("/challenges/C-5?lang=en").text.count("brings") >= 2


def test_no_coalition_when_no_group_complements(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    # Only green firms answer; none brings a theme the others lack.
    with Session(get_engine()) as s:
        s.add(ChallengeRow(ref="C-6", municipality_code="GM0344", title="Groene wijk",
                           question="Parken en plantsoenen onderhouden met buurtbewoners",
                           themes=["groenonderhoud", "beplanting"],
                           opened_on=date(2026, 5, 18), status="call"))
        s.commit()
    login("connector")
    page = client.get("/challenges/C-6").text
    coalitions = page.split('id="coalitions"')[1].split("</section>")[0]
    assert "Coalitie 1" not in coalitions
    assert "dan één onderneming alleen." in coalitions


def test_status_change_is_recorded(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    token = csrf_of(client, "/challenges/C-1")
    page = client.get("/challenges/C-1").text
    # The control offers only the next stage; nothing earlier exists to reopen yet.
    form = page.split('id="status-form"')[1].split("</form>")[0]
    assert '<input type="hidden" name="status" value="call">' in form
    assert "<select" not in form and 'id="reopen-form"' not in page
    r = client.post("/challenges/C-1/status", data={"csrf_token": token, "status": "call",
                                                    "reason": "Oproep gepubliceerd"})
    assert r.status_code == 303 and r.headers["location"] == "/challenges/C-1"
    status, history = _status("C-1")
    assert status == "call"
    assert [(h["from"], h["to"], h["by"], h["reason"], h["reopen"]) for h in history] == [
        ("intake", "call", "connector@test.nl", "Oproep gepubliceerd", False)]
    page = client.get("/challenges/C-1").text
    assert "Eenzaamheid staat nu in de fase Oproep." in page
    table = page.split('id="status-history"')[1].split("</table>")[0]
    assert "Oproep gepubliceerd" in table and "connector@test.nl" in table
    assert '<input type="hidden" name="status" value="pitch">' in page
    reopen = page.split('id="reopen-form"')[1].split("</form>")[0]
    assert '<option value="intake">' in reopen and 'value="pitch"' not in reopen

    # The same stage again, a stage that does not exist or a skipped stage: refused,
    # nothing recorded.
    client.post("/challenges/C-1/status", data={"csrf_token": token, "status": "call"})
    assert "De challenge staat al in deze fase." in client.get("/challenges/C-1").text
    client.post("/challenges/C-1/status", data={"csrf_token": token, "status": "done"})
    assert "Kies een fase" in client.get("/challenges/C-1").text
    client.post("/challenges/C-1/status", data={"csrf_token": token, "status": "evaluation"})
    assert "de volgende fase is Pitch" in client.get("/challenges/C-1").text
    # Going back without a reason: refused; with one: a reopening, recorded as such.
    client.post("/challenges/C-1/status", data={"csrf_token": token, "status": "intake"})
    assert "Geef een reden" in client.get("/challenges/C-1").text
    assert len(_status("C-1")[1]) == 1
    client.post("/challenges/C-1/status", data={"csrf_token": token, "status": "intake",
                                                "reason": "Vraag nog niet scherp"})
    status, history = _status("C-1")
    assert status == "intake"
    assert [(h["from"], h["to"], h["reason"], h["reopen"]) for h in history[1:]] == [
        ("call", "intake", "Vraag nog niet scherp", True)]
    assert "heropend" in client.get("/challenges/C-1").text.split(
        'id="status-history"')[1].split("</table>")[0]

    # Without the CSRF token: refused.
    r = client.post("/challenges/C-1/status", data={"status": "call"})
    assert r.status_code == 403 and _status("C-1")[0] == "intake"


def test_status_change_is_for_connectors(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    for who in ("officer", "firm"):
        login(who)
        token = csrf_of(client, "/challenges/C-1")
        r = client.post("/challenges/C-1/status", data={"csrf_token": token, "status": "call"})
        assert r.status_code == 403
        client.post("/logout", data={"csrf_token": token})
    assert _status("C-1") == ("intake", [])


def test_challenge_api_status_and_matches(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    r = client.patch("/api/v1/challenges/C-1/status", headers=h,
                     json={"status": "call", "reason": "Oproep open"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "call" and body["deadline"] == "2026-04-26"
    assert body["history"][-1]["to"] == "call" and body["history"][-1]["by"] == (
        "connector@test.nl")
    # POST is the same endpoint.
    r = client.post("/api/v1/challenges/C-1/status", headers=h, json={"status": "pitch"})
    assert r.status_code == 200 and r.json()["status"] == "pitch"
    r = client.patch("/api/v1/challenges/C-1/status", headers=h, json={"status": "pitch"})
    assert r.status_code == 409 and r.json()["detail"]["field"] == "status"
    # Forward means the next stage only; pilot needs a chosen pilot first.
    r = client.post("/api/v1/challenges/C-1/status", headers=h, json={"status": "closed"})
    assert r.status_code == 409 and "de volgende fase is Pilot" in r.json()["detail"]["message"]
    r = client.post("/api/v1/challenges/C-1/status", headers=h, json={"status": "pilot"})
    assert r.status_code == 409 and "minstens één pitch" in r.json()["detail"]["message"]
    # Back without a reason: refused on the reason; with one: recorded as a reopening.
    r = client.post("/api/v1/challenges/C-1/status", headers=h, json={"status": "call"})
    # A reopening without a reason: the Challenge's stage asks for one (a conflict).
    assert r.status_code == 409 and r.json()["detail"]["field"] == "reason"
    r = client.post("/api/v1/challenges/C-1/status", headers=h,
                    json={"status": "call", "reason": "Te weinig pitches"})
    assert r.status_code == 200 and r.json()["history"][-1]["reopen"] is True
    r = client.patch("/api/v1/challenges/C-1/status", headers=h, json={"status": "later"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "status"
    r = client.patch("/api/v1/challenges/C-1/status", headers=api_token("officer"),
                     json={"status": "pilot"})
    assert r.status_code == 403
    assert client.patch("/api/v1/challenges/C-9/status", headers=h,
                        json={"status": "pilot"}).status_code == 404

    # A status changed through the CRUD API follows the same rules and lands in the same
    # history; the CRUD API cannot write history.
    r = client.patch("/api/v1/challenges/C-1", headers=h,
                     json={"extra": {"status": "pitch"}})
    assert r.status_code == 200, r.text
    status, history = _status("C-1")
    assert status == "pitch"
    assert [(x["from"], x["to"]) for x in history] == [
        ("intake", "call"), ("call", "pitch"), ("pitch", "call"), ("call", "pitch")]
    assert history[-1]["reason"] == "via API"
    r = client.patch("/api/v1/challenges/C-1", headers=h, json={"extra": {"status": "call"}})
    assert r.status_code == 409 and r.json()["detail"]["field"] == "status"
    r = client.patch("/api/v1/challenges/C-1", headers=h, json={"extra": {"status": "closed"}})
    assert r.status_code == 409
    forged = [{"from": "intake", "to": "closed", "by": "x", "at": "2020-01-01T00:00:00",
               "reason": ""}]
    r = client.patch("/api/v1/challenges/C-1", headers=h,
                     json={"extra": {"status_history": forged}})
    assert r.status_code == 200, r.text
    assert "status_history" not in r.json()["extra"]
    r = client.put("/api/v1/challenges/C-1", headers=h, json={
        "municipality": "GM0344", "title": "Eenzaamheid", "question": "Hoe?", "extra": {
            "status": "pitch", "status_history": forged}})
    assert r.status_code == 200, r.text
    assert _status("C-1") == (status, history)
    assert client.get("/api/v1/challenges/C-1", headers=h).json()["status"] == "pitch"

    r = client.get("/api/v1/challenges/C-1/matches?top_k=5", headers=api_token("firm"))
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["challenge"] == "C-1" and m["status"] == "pitch"
    # Loneliness of the elderly: the seed's cleaners, gardeners, cooks, guards, printers
    # and bicycle menders share no theme or work with it, so the portfolio is empty
    # rather than filled with whoever is nearest (matcher.challenge.PORTFOLIO_FLOOR).
    assert m["results"] == [] and m["coalitions"] == []
    client.patch("/api/v1/challenges/C-1", headers=h, json={
        "question": "Maaltijdbezorging en samen eten tegen eenzaamheid"})
    m = client.get("/api/v1/challenges/C-1/matches?top_k=5", headers=api_token("firm")).json()
    assert 0 < len(m["results"]) <= 5
    assert {"rank", "ref", "score", "reasons"} <= set(m["results"][0])
    assert client.get("/api/v1/challenges/C-9/matches", headers=h).status_code == 404
    r = client.get("/api/v1/challenges/C-1/matches?top_k=99", headers=h)
    assert r.status_code == 422 and r.json()["detail"]["field"] == "top_k"


def test_nul_characters_are_refused_or_dropped_not_a_server_error(
        client: TestClient, api_token: Headers) -> None:
    """PostgreSQL refuses NUL in text: a ref with one is simply not found, free text
    loses it."""
    h = api_token("connector")
    assert client.get("/api/v1/challenges/C%001/matches", headers=h).status_code == 404
    assert client.patch("/api/v1/challenges/C%001/status", headers=h,
                        json={"status": "call"}).status_code == 404
    assert client.post("/api/v1/vetting/E%00005", headers=h,
                       json={"status": "vetted"}).status_code == 404
    r = client.post("/api/v1/vetting/E-005", headers=h,
                    json={"status": "rejected", "reason": "geen\u0000 doelgroep"})
    assert r.status_code == 200 and r.json()["event"]["reason"] == "geen doelgroep"
    r = client.post("/api/v1/curation/decisions", headers=h, json={
        "query_kind": "tender", "query_ref": "T-UTR-2", "enterprise_ref": "E-008",
        "decision": "reject", "reason": "te\u0000 ver"})
    assert r.status_code == 201 and r.json()["reason"] == "te ver"
    assert client.get("/api/v1/curation/log?query_ref=T%00", headers=h).status_code == 200
    assert client.get("/api/v1/curation/queue?q=%00", headers=h).status_code == 200


def test_connector_templates_are_translated() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    from api import i18n

    english = i18n.english()
    missing = set()
    for folder in ("curation", "vetting", "challenges"):
        for path in (root / "templates" / folder).glob("*.html"):
            text = path.read_text(encoding="utf-8")
            missing |= {m.group(2) for m in re.finditer(r"""\bt\(\s*(["'])(.+?)\1""", text)
                        if m.group(2) not in english}
    from api.routes import curation, vetting
    from api.services.challenge_board import STAGE_NL
    from api.services.challenge_flow import OUTCOME_NL
    from api.web.curation_forms import DECISION_NL

    for labels in (curation.KIND_NL, curation.KIND_PLURAL_NL, DECISION_NL,
                   STAGE_NL, vetting.FLAG_NL, OUTCOME_NL):
        missing |= {v for v in labels.values() if v not in english}
    assert not missing, f"add to api/translations/en/flows_connector.po: {sorted(missing)}"
