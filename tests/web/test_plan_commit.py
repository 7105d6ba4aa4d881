"""Plans commit (issue #11, item 3): a save keeps every row or refuses with the reason per
row; the firm commits its plan (capacity re-checked then, booked for every re-plan), the
officer and connector see it; uncommitting needs a reason and is logged append-only.

Seed (tests/web/seed.py): O-1 is firm A's obligation under T-UTR-1 with committed rows
E-001 (€ 30.000 purchase) and E-006; O-2 (firm A) has E-002 committed; O-3 is firm B's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.clock import today
from api.convert import enterprise_from_row
from api.db import get_engine
from api.i18n import format_eur
from api.services.capacity import commitments, period_of
from api.services.plan_commit import PlanRefused
from api.services.planning import save_plan
from api.services.progress import tender_of
from api.tables import AllocationRow, EnterpriseRow, ObligationRow, PlanEvent
from matcher.capacity import term_years, year_shares
from matcher.valuation import credit_for, load_policy
from tests.web.conftest import CSRF_RE
from tests.web.seed import USERS

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]
PLAN = "/api/v1/obligations/O-1/plan"


def _rows(ref: str) -> dict[tuple[str, str], tuple[str, float]]:
    with Session(get_engine()) as s:
        return {(a.enterprise_ref, a.kind): (a.status, a.amount_eur) for a in s.exec(
            select(AllocationRow).where(AllocationRow.obligation_ref == ref))}


def _free_purchase(ref: str, obligation: str) -> float:
    """``ref``'s free purchasing over ``obligation``'s term, as its plan sees it: what fits
    in every calendar year of the term beside what is booked there."""
    with Session(get_engine()) as s:
        ob = s.exec(select(ObligationRow).where(ObligationRow.ref == obligation)).one()
        period = period_of(ob, tender_of(s, ob))
        ent = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == ref)).one()
        c = commitments(s, replanning=[obligation])
        return c.over_term(ref, enterprise_from_row(ent).capacity, year_shares(*period),
                           term_years(*period)).free_purchase_eur


def _save(client: TestClient, h: dict[str, str], *rows: dict[str, Any]) -> Any:
    return client.put(PLAN, headers=h, json={"rows": list(rows)})


def test_save_refuses_a_row_already_committed_instead_of_dropping_it(
        client: TestClient, api_token: Headers) -> None:
    h = api_token("firm")
    before = _rows("O-1")
    r = _save(client, h, {"enterprise": "E-002", "kind": "purchase", "amount_eur": 1000},
              {"enterprise": "E-001", "kind": "purchase", "amount_eur": 2000})
    assert r.status_code == 409, r.text  # a clash with the stored commitments
    detail = r.json()["detail"]
    assert detail["field"] == "rows[1].enterprise"
    assert [(x["index"], x["field"]) for x in detail["rows"]] == [(1, "enterprise")]
    assert "toegezegd" in detail["rows"][0]["message"]
    assert _rows("O-1") == before  # nothing saved, the commitment untouched
    ok = _save(client, h, {"enterprise": "E-002", "kind": "purchase", "amount_eur": 1000},
               {"enterprise": "E-001", "kind": "placement", "placements": 1})
    assert ok.status_code == 200, ok.text
    assert sorted((x["enterprise"], x["kind"]) for x in ok.json()["rows"]) == \
        [("E-001", "placement"), ("E-002", "purchase")]  # every row kept


def test_service_save_refuses_every_bad_row_and_keeps_the_old_draft(app: Any) -> None:
    with Session(get_engine()) as s:
        save_plan(s, "O-1", [{"enterprise": "E-002", "kind": "purchase", "amount_eur": 500.0}])
        with pytest.raises(PlanRefused) as info:
            save_plan(s, "O-1", [
                {"enterprise": "E-004", "kind": "purchase", "amount_eur": 1.0},
                {"enterprise": "E-001", "kind": "purchase", "amount_eur": 1.0},
                {"enterprise": "E-NOPE", "kind": "purchase", "amount_eur": 1.0},
                {"enterprise": "E-004", "kind": "gift"}])
    assert [(r.index, r.field) for r in info.value.rows] == \
        [(1, "enterprise"), (2, "enterprise"), (3, "kind")]
    assert info.value.field == "rows[1].enterprise"
    rows = _rows("O-1")
    assert rows[("E-002", "purchase")] == ("planned", 500.0)
    assert ("E-004", "purchase") not in rows
    assert rows[("E-001", "purchase")] == ("committed", 30_000.0)


def test_commit_books_capacity_for_every_replan(client: TestClient,
                                                api_token: Headers) -> None:
    h = api_token("firm")
    # E-002: € 70.000 a year; O-2 holds € 15.000 over 2026-2029 and delivered € 7.500 of it
    # in 2026, so 2026 has € 62.500 left: four times that over O-1's four years.
    free = _free_purchase("E-002", "O-1")
    assert free == pytest.approx(4 * 62_500)
    assert _save(client, h, {"enterprise": "E-002", "kind": "purchase",
                             "amount_eur": free}).status_code == 200
    everyone = ["O-1", "O-2", "O-3"]  # a global re-plan (sroi allocate) drops all drafts
    with Session(get_engine()) as s:
        draft_only = commitments(s, replanning=everyone).by_enterprise["E-002"].purchase_eur
    r = client.post(PLAN + "/commit", headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["action"] == "commit" and body["decided_by"] == USERS["firm"][0]
    assert body["rows"] == [{"enterprise": "E-002", "kind": "purchase",
                             "amount_eur": round(free, 2), "credit_eur": body["rows"][0][
                                 "credit_eur"], "placements": 0, "block": None}]
    assert _rows("O-1")[("E-002", "purchase")] == ("committed", pytest.approx(free))
    with Session(get_engine()) as s:
        booked = commitments(s, replanning=everyone).by_enterprise["E-002"].purchase_eur
    # Booked per year on average: the four-year commitment counts a quarter a year (it used
    # to count whole in every year), and 2026 is now full.
    assert booked == pytest.approx(draft_only + free / 4)
    with Session(get_engine()) as s:
        assert commitments(s).by_year["E-002"][2026].purchase_eur == pytest.approx(70_000)
    # Another obligation's plan sees it taken: O-3 (firm B) cannot plan E-002 any more.
    # (O-3's tender is in Amsterdam, where no shipped policy applies: name one for it.)
    with Session(get_engine()) as s:
        o3 = s.exec(select(ObligationRow).where(ObligationRow.ref == "O-3")).one()
        o3.policy = "utrecht-2024"
        s.add(o3)
        s.commit()
    r3 = client.put("/api/v1/obligations/O-3/plan", headers=api_token("firm2"),
                    json={"rows": [{"enterprise": "E-002", "kind": "purchase",
                                    "amount_eur": 1}]})
    # Over the capacity left: a clash with the stored commitments.
    assert r3.status_code == 409 and r3.json()["detail"]["field"] == "rows[0].amount_eur"
    # Nothing planned is left to commit.
    again = client.post(PLAN + "/commit", headers=h)
    assert again.status_code == 409 and "ontwerpplan" in again.json()["detail"]["message"]


def test_commit_refused_per_row_when_capacity_is_gone(client: TestClient,
                                                     api_token: Headers) -> None:
    h = api_token("firm")
    assert _save(client, h, {"enterprise": "E-002", "kind": "purchase", "amount_eur": 5000},
                 {"enterprise": "E-004", "kind": "purchase", "amount_eur": 1000}
                 ).status_code == 200
    with Session(get_engine()) as s:  # E-002's purchasing shrinks below what is promised
        ent = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-002")).one()
        # O-2 delivered € 7.500 there in 2026 (of € 15.000 over 2026-2029): € 500 is left
        # in 2026, while O-1's € 5.000 over its four years asks € 1.250 of every year.
        ent.purchasing_eur_per_year = 8_000.0
        s.add(ent)
        s.commit()
    r = client.post(PLAN + "/commit", headers=h)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["field"] == "rows[0].amount_eur"
    assert [(x["index"], x["field"]) for x in detail["rows"]] == [(0, "amount_eur")]
    message = detail["rows"][0]["message"]
    assert "2026" in message and "€ 500" in message and "€ 1.250" in message, message
    rows = _rows("O-1")  # all or nothing: E-004 is not committed either
    assert rows[("E-002", "purchase")][0] == rows[("E-004", "purchase")][0] == "planned"
    with Session(get_engine()) as s:
        assert s.exec(select(PlanEvent)).all() == []


def test_uncommit_needs_a_reason_and_is_logged(client: TestClient,
                                               api_token: Headers) -> None:
    h = api_token("firm")
    url = PLAN + "/uncommit"
    blank = client.post(url, headers=h, json={"reason": "  "})
    assert blank.status_code == 422 and blank.json()["detail"]["field"] == "reason"
    assert _rows("O-1")[("E-001", "purchase")][0] == "committed"
    r = client.post(url, headers=h, json={"reason": "E-006 stopt met schoonmaak"})
    assert r.status_code == 201, r.text
    assert r.json()["action"] == "uncommit"
    assert {x["enterprise"] for x in r.json()["rows"]} == {"E-001", "E-006"}
    assert {st for st, _ in _rows("O-1").values()} == {"planned"}
    assert client.post(url, headers=h, json={"reason": "nog eens"}).status_code == 409
    assert client.post(PLAN + "/commit", headers=h).status_code == 201
    with Session(get_engine()) as s:
        log = s.exec(select(PlanEvent).order_by(PlanEvent.id)).all()  # type: ignore[arg-type]
    assert [(e.action, e.reason) for e in log] == [
        ("uncommit", "E-006 stopt met schoonmaak"), ("commit", "")]
    # Officers may see but not commit.
    assert client.post(url, headers=api_token("officer"),
                       json={"reason": "x"}).status_code == 403


def test_page_shows_status_and_log_to_firm_officer_and_connector(
        client: TestClient, login: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-1")
    token = CSRF_RE.search(page.text)
    assert token and 'id="uncommit-form"' in page.text and 'id="commit-form"' not in page.text
    r = client.post("/obligations/O-1/uncommit", data={"csrf_token": token.group(1),
                                                      "reason": ""})
    assert r.status_code == 422 and 'id="f-uncommit-reason-err"' in r.text
    r = client.post("/obligations/O-1/uncommit", data={"csrf_token": token.group(1),
                                                      "reason": "Herzien na gesprek"})
    assert r.status_code == 303
    page = client.get("/obligations/O-1").text
    assert "Ontwerp: nog niet toegezegd" in page and 'id="commit-form"' in page
    assert client.post("/obligations/O-1/commit",
                       data={"csrf_token": token.group(1)}).status_code == 303
    firm_email = USERS["firm"][0]
    for who in ("officer", "connector"):
        client.cookies.clear()
        login(who)
        page = client.get("/obligations/O-1").text
        assert "Toegezegd op" in page and firm_email in page
        assert 'id="plan-log"' in page and "Herzien na gesprek" in page
        assert ('id="commit-form"' in page) is False
    en = client.get("/obligations/O-1?lang=en").text
    assert "Committed on" in en and "Commitment withdrawn" in en


def test_api_plan_credit_is_the_pages_credit_and_credit_for(
        client: TestClient, api_token: Headers, login: Callable[[str], TestClient]) -> None:
    """One credit calculation (issue #11 item 4): the engine's proposal as the API returns
    it and as the firm's page shows it, row by row and in total, is credit_for's."""
    api = client.get(PLAN, headers=api_token("firm"))
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["rows"], body
    page = login("firm").get("/obligations/O-1?voorstel=1")
    assert page.status_code == 200
    html = page.text
    policy = load_policy(body["policy"])
    with Session(get_engine()) as s:
        ents = {e.ref: enterprise_from_row(e) for e in s.exec(select(EnterpriseRow))}
    on = today()
    for r in body["rows"]:
        want = (credit_for(policy, "purchase", on, amount_eur=r["amount_eur"],
                           enterprise=ents[r["enterprise"]]) if r["kind"] == "purchase" else
                credit_for(policy, "placement", on, placements=r["placements"],
                           block=r["block"]))
        assert r["credit_eur"] == pytest.approx(want, abs=0.01), r
        assert f'<td class="num">{format_eur(r["credit_eur"])}</td>' in html, r
    plan_credit = round(sum(r["credit_eur"] for r in body["rows"]), 2)
    assert f'id="plan-credit">{format_eur(plan_credit)}<' in html
    assert f'id="total-credit">{format_eur(body["credit_eur"])}<' in html
