"""The Challenge workflow on both databases: the create/edit form (the import's validation,
errors beside the fields, input kept), pitches during the call, several pilots each with
its own twelve-week clock and budget, one evaluation per pilot, closing with results."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.services.challenge_board import status_history
from api.tables import ChallengePilot, ChallengeRow
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]


def _row(ref: str) -> ChallengeRow:
    with Session(get_engine()) as s:
        return s.exec(select(ChallengeRow).where(ChallengeRow.ref == ref)).one()


def test_create_and_edit_form(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    token = csrf_of(client, "/challenges/new")
    form = {"csrf_token": token, "title": "Schone wijken", "question": "Wie helpt zwerfafval?",
            "themes": "afval, buurt", "municipality": "Utrechtt", "budget_eur": "veel",
            "deadline": "2026-09-01", "max_partners": "2"}
    r = client.post("/challenges/new", data=form)
    assert r.status_code == 422
    # Errors beside their fields, what was typed kept.
    assert 'id="f-budget_eur-err"' in r.text and 'value="veel"' in r.text
    assert 'id="f-municipality-err"' in r.text and 'value="Utrechtt"' in r.text
    assert 'value="Schone wijken"' in r.text and "Wie helpt zwerfafval?" in r.text
    assert _row_count() == 1

    r = client.post("/challenges/new", data={**form, "municipality": "Utrecht",
                                              "budget_eur": "40.000"})
    assert r.status_code == 303
    ref = r.headers["location"].rsplit("/", 1)[1]
    row = _row(ref)
    assert (row.municipality_code, row.budget_eur, row.themes, row.max_partners,
            str(row.deadline), row.status, str(row.opened_on)) == (
        "GM0344", 40_000.0, ["afval", "buurt"], 2, "2026-09-01", "intake", "2026-06-01")
    with Session(get_engine()) as s:
        assert [(h["from"], h["to"]) for h in status_history(s, ref)] == [(None, "intake")]

    page = client.get(f"/challenges/{ref}/edit").text
    assert 'value="Schone wijken"' in page and 'value="40000"' in page
    r = client.post(f"/challenges/{ref}/edit", data={**form, "municipality": "Utrecht",
                                                     "budget_eur": "", "max_partners": "0"})
    assert r.status_code == 422 and 'id="f-max_partners-err"' in r.text
    r = client.post(f"/challenges/{ref}/edit", data={**form, "municipality": "Amsterdam",
                                                     "budget_eur": "", "title": "Schoon"})
    assert r.status_code == 303
    row = _row(ref)
    assert (row.title, row.municipality_code, row.budget_eur) == ("Schoon", "GM0363", None)


def _row_count() -> int:
    with Session(get_engine()) as s:
        return len(s.exec(select(ChallengeRow)).all())


def test_pitches_pilots_evaluation_close_api(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    pitch = {"enterprise_ref": "E-001", "approach": "Buurtkoks op huisbezoek", "team": "3",
             "budget_eur": 20_000, "themes": ["eenzaamheid"], "partners": ["E-002"]}
    # Pitches only during the call.
    r = client.post("/api/v1/challenges/C-1/pitches", headers=h, json=pitch)
    assert r.status_code == 409 and r.json()["detail"]["field"] == "status"
    assert client.post("/api/v1/challenges/C-1/status", headers=h,
                       json={"status": "call"}).status_code == 200
    # An unknown enterprise is 404; the Challenge's themes and partner limit are stored
    # (409); a pitch's own fault is 422 (issue #18).
    for bad, field, status in ((dict(pitch, enterprise_ref="E-999"), "enterprise_ref", 404),
                               (dict(pitch, partners=["E-998"]), "partners", 404),
                               (dict(pitch, themes=["sport"]), "themes", 409),
                               (dict(pitch, partners=["E-002", "E-003", "E-004"]), "partners",
                                409),
                               (dict(pitch, partners=["E-001"]), "partners", 422),
                               (dict(pitch, approach=" "), "approach", 422)):
        r = client.post("/api/v1/challenges/C-1/pitches", headers=h, json=bad)
        assert r.status_code == status and r.json()["detail"]["field"] == field, r.text
    r = client.post("/api/v1/challenges/C-1/pitches", headers=api_token("firm"), json=pitch)
    assert r.status_code == 403
    r = client.post("/api/v1/challenges/C-1/pitches", headers=h, json=pitch)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["partners"] == ["E-002"] and first["submitted_by"] == "connector@test.nl"
    assert client.post("/api/v1/challenges/C-1/pitches", headers=h,
                       json=pitch).status_code == 409
    second = client.post("/api/v1/challenges/C-1/pitches", headers=h, json=dict(
        pitch, enterprise_ref="E-005", partners=[], budget_eur=15_000)).json()
    assert [p["enterprise_ref"] for p in client.get(
        "/api/v1/challenges/C-1/pitches", headers=api_token("firm")).json()] == [
        "E-001", "E-005"]

    # Pilots are chosen after the pitches: several at once, each with its own clock.
    r = client.post("/api/v1/challenges/C-1/pilots", headers=h,
                    json={"pitch_id": first["id"], "start": "2026-05-01", "budget_eur": 1})
    assert r.status_code == 409
    assert client.post("/api/v1/challenges/C-1/status", headers=h,
                       json={"status": "pitch"}).status_code == 200
    r = client.post("/api/v1/challenges/C-1/pilots", headers=h,
                    json={"pitch_id": first["id"], "start": "2026-05-01", "budget_eur": 20_000})
    assert r.status_code == 201, r.text
    p1 = r.json()
    # TODAY is 2026-06-01: 31 days into twelve weeks (84 days) leaves 53.
    assert (p1["weeks"], p1["end"], p1["days_left"], p1["status"]) == (
        12, "2026-07-24", 53, "running")
    assert client.post("/api/v1/challenges/C-1/pilots", headers=h, json={
        "pitch_id": first["id"], "start": "2026-05-01", "budget_eur": 1}).status_code == 409
    p2 = client.post("/api/v1/challenges/C-1/pilots", headers=h, json={
        "pitch_id": second["id"], "start": "2026-06-15", "budget_eur": 15_000}).json()
    assert p2["days_left"] == 98
    assert client.post("/api/v1/challenges/C-1/status", headers=h,
                       json={"status": "pilot"}).status_code == 200
    assert client.post("/api/v1/challenges/C-1/status", headers=h,
                       json={"status": "evaluation"}).status_code == 200

    # Closing needs every pilot evaluated.
    r = client.post("/api/v1/challenges/C-1/status", headers=h, json={"status": "closed"})
    assert r.status_code == 409 and "Evalueer eerst" in r.json()["detail"]["message"]
    url = f"/api/v1/challenges/C-1/pilots/{p1['id']}/evaluation"
    assert client.post(url, headers=h, json={"outcome": "success", "score": 11}
                       ).status_code == 422
    r = client.post(url, headers=h, json={"outcome": "success", "score": 8, "note": "Goed"})
    assert r.status_code == 200 and (r.json()["outcome"], r.json()["score"]) == ("success", 8)
    assert client.post(f"/api/v1/challenges/C-1/pilots/{p2['id']}/evaluation", headers=h,
                       json={"outcome": "partial", "score": 6}).status_code == 200
    r = client.post("/api/v1/challenges/C-1/status", headers=h,
                    json={"status": "closed", "reason": "Twee aanpakken getest"})
    assert r.status_code == 200
    assert [x["to"] for x in r.json()["history"]] == [
        "call", "pitch", "pilot", "evaluation", "closed"]
    pilots = client.get("/api/v1/challenges/C-1/pilots", headers=api_token("officer")).json()
    assert [(p["status"], p["evaluated_by"]) for p in pilots] == [
        ("evaluated", "connector@test.nl")] * 2


def test_pitches_pilots_evaluation_close_pages(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    token = csrf_of(client, "/challenges/C-1")

    def post(path: str, **data: str) -> None:
        r = client.post(path, data={"csrf_token": token, **data})
        assert r.status_code == 303, r.text

    post("/challenges/C-1/status", status="call")
    page = client.get("/challenges/C-1").text
    assert 'id="pitch-form"' in page
    post("/challenges/C-1/pitches", enterprise_ref="E-001", approach="", budget_eur="1000")
    assert "Beschrijf de aanpak." in client.get("/challenges/C-1").text
    post("/challenges/C-1/pitches", enterprise_ref="E-001", approach="Koken met buren",
         team="Twee koks", budget_eur="12.500", themes="eenzaamheid", partners="E-002")
    page = client.get("/challenges/C-1").text
    pitches = page.split('id="pitches"')[1].split("</section>")[0]
    assert "Koken met buren" in pitches and "Twee koks" in pitches
    post("/challenges/C-1/status", status="pitch")
    page = client.get("/challenges/C-1").text
    assert 'class="inline-form pilot-form"' in page
    with Session(get_engine()) as s:
        from api.tables import ChallengePitch
        pitch_id = s.exec(select(ChallengePitch)).one().id
    post("/challenges/C-1/pilots", pitch_id=str(pitch_id), start="2026-05-18",
         budget_eur="12.500")
    post("/challenges/C-1/status", status="pilot")
    page = client.get("/challenges/C-1").text
    pilots = page.split('id="pilots"')[1].split("</section>")[0]
    assert "nog 70 dagen van de 12 weken" in pilots
    post("/challenges/C-1/status", status="evaluation")
    post("/challenges/C-1/close", summary="")
    assert "Vat de resultaten samen." in client.get("/challenges/C-1").text
    with Session(get_engine()) as s:
        pilot_id = s.exec(select(ChallengePilot)).one().id
    post(f"/challenges/C-1/pilots/{pilot_id}/evaluation", outcome="success", score="9",
         note="Veertig ouderen bereikt")
    post("/challenges/C-1/close", summary="Eén pilot, geslaagd; wordt voortgezet.")
    assert _row("C-1").status == "closed"
    page = client.get("/challenges/C-1").text
    results = page.split('id="results"')[1].split("</section>")[0]
    assert "Eén pilot, geslaagd; wordt voortgezet." in results
    assert "Geslaagd" in results and "cijfer 9" in results
    assert "Veertig ouderen bereikt" in results
    board = client.get("/challenges").text
    assert 'data-ref="C-1"' in board.split('data-stage="closed"')[1]
