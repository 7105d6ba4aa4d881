"""Curation takes effect in what is planned too (issue #12 item 3): a rejected enterprise
is not planned for that obligation, neither by the firm's fulfilment plan (service and
JSON API) nor by the global allocation, and a pinned one leads both; a rejected enterprise
is in no Challenge coalition nor in the portfolio. On SQLite and PostgreSQL.

On the seed, O-1's plan without decisions is all E-036 (fit 0.66); E-054 (0.55) and
E-018 (0.55) come next."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.services import matching, plan_commit, planning
from api.services.curation_log import DecisionInput
from api.services.plan_commit import PlanRefused
from api.tables import AllocationRow, ChallengeRow

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]


def _decide(kind: str, ref: str, ent: str, decision: str, reason: str) -> None:
    with Session(get_engine()) as s:
        matching.decide(s, DecisionInput(kind, ref, ent, decision, reason), "connector@test.nl")
        s.commit()


def _plan_refs(ref: str = "O-1") -> list[str]:
    with Session(get_engine()) as s:
        plan = planning.plan_for_obligation(s, ref)
    assert plan.rows, "the obligation gets a plan"
    return [r.enterprise for r in plan.rows]


def _allocated() -> set[tuple[str, str]]:
    with Session(get_engine()) as s:
        return {(r.obligation, r.enterprise) for r in planning.allocate_all(s).rows}


def test_rejected_is_not_planned_and_pinned_leads(client: TestClient,
                                                  api_token: Headers) -> None:
    before = _plan_refs()
    assert "E-036" in before and "E-018" not in before
    assert ("O-1", "E-036") in _allocated()

    _decide("obligation", "O-1", "E-036", "reject", "werkt niet in deze sector")
    after = _plan_refs()
    assert "E-036" not in after and after  # another enterprise takes its place
    alloc = _allocated()
    assert ("O-1", "E-036") not in alloc
    assert any(o == "O-1" for o, _ in alloc)
    # A rejection on O-1 is not one on O-2: E-036 may still serve others (its capacity
    # is no longer taken by O-1).

    _decide("obligation", "O-1", "E-018", "pin", "vaste partner van de opdrachtnemer")
    with Session(get_engine()) as s:
        plan = planning.plan_for_obligation(s, "O-1")
    assert plan.rows[0].enterprise == "E-018" and plan.rows[0].fit == 1.0
    assert "E-036" not in {r.enterprise for r in plan.rows}
    assert ("O-1", "E-018") in _allocated()

    # The firm sees the same plan through the API.
    r = client.get("/api/v1/obligations/O-1/plan", headers=api_token("firm"))
    assert r.status_code == 200, r.text
    refs = [row["enterprise"] for row in r.json()["rows"]]
    assert refs and refs[0] == "E-018" and "E-036" not in refs

    # Nor can the firm type it into the plan (or switch it in from a ledger).
    r = client.put("/api/v1/obligations/O-1/plan", headers=api_token("firm"), json={"rows": [
        {"enterprise": "E-036", "kind": "purchase", "amount_eur": 1000.0},
        {"enterprise": "E-018", "kind": "purchase", "amount_eur": 1000.0}]})
    assert r.status_code == 409, r.text  # a conflict with the curation log, per row
    rows = r.json()["detail"]["rows"]
    assert [(x["index"], x["field"]) for x in rows] == [(0, "enterprise")]
    assert "afgewezen" in r.text and "werkt niet in deze sector" in r.text
    with Session(get_engine()) as s:
        with pytest.raises(PlanRefused) as refused:
            planning.save_plan(s, "O-1", [{"enterprise": "E-036", "kind": "purchase",
                                           "amount_eur": 1000.0, "credit_eur": 1000.0}])
    assert [(x.index, x.field) for x in refused.value.rows] == [(0, "enterprise")]

    # Unpinning gives the lead back to the ranking; the rejection stays.
    _decide("obligation", "O-1", "E-018", "unpin", "")
    assert "E-036" not in _plan_refs()


def test_pinned_below_the_top_k_is_planned(client: TestClient) -> None:
    """A pin reaches the plan even when the ranking would not have fetched it: with the
    top 2 (E-036, E-054) E-018 is not a candidate, until it is pinned."""
    with Session(get_engine()) as s:
        plan = planning.plan_for_obligation(s, "O-1", top_k=2)
    assert "E-018" not in {r.enterprise for r in plan.rows}
    _decide("obligation", "O-1", "E-018", "pin", "afspraak met de gemeente")
    with Session(get_engine()) as s:
        plan = planning.plan_for_obligation(s, "O-1", top_k=2)
    assert plan.rows[0].enterprise == "E-018"


def test_commit_refuses_a_row_rejected_after_saving(client: TestClient) -> None:
    with Session(get_engine()) as s:
        planning.save_plan(s, "O-1", [{"enterprise": "E-018", "kind": "purchase",
                                       "amount_eur": 1000.0, "credit_eur": 1000.0}])
    _decide("obligation", "O-1", "E-018", "reject", "geen verklaring omtrent gedrag")
    with Session(get_engine()) as s:
        with pytest.raises(PlanRefused) as refused:
            plan_commit.commit_plan(s, "O-1", "firm@test.nl")
    rows = refused.value.rows
    assert [(x.index, x.field) for x in rows] == [(0, "enterprise")]
    assert rows[0].params["reason"] == "geen verklaring omtrent gedrag"
    with Session(get_engine()) as s:
        status = {a.status for a in s.exec(select(AllocationRow).where(
            AllocationRow.obligation_ref == "O-1", AllocationRow.enterprise_ref == "E-018"))}
    assert status == {"planned"}  # nothing committed


def _challenge() -> None:
    with Session(get_engine()) as s:
        s.add(ChallengeRow(
            ref="C-9", municipality_code="GM0344", title="Schone en groene buurt",
            question="Wie helpt de buurt schoon en groen te houden, met catering bij "
                     "buurtfeesten?",
            themes=["schoonmaak", "groenonderhoud", "catering"], opened_on=date(2026, 5, 1),
            budget_eur=200_000.0, max_partners=3))
        s.commit()


def _members(ref: str = "C-9") -> tuple[list[str], list[list[str]], list[str]]:
    with Session(get_engine()) as s:
        found = matching.match_challenge(s, ref)
    return ([v.ref for v in found.results.results],
            [[m.ref for m in c.members] for c in found.coalitions],
            [r.ref for r in found.results.rejected])


def test_rejected_enterprise_leaves_coalitions_and_portfolio(
        client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    _challenge()
    results, coalitions, _ = _members()
    assert coalitions, "the Challenge has coalitions to test with"
    counts: dict[str, int] = {}
    for members in coalitions:
        for ref in members:
            counts[ref] = counts.get(ref, 0) + 1
    target = max(sorted(counts), key=lambda r: counts[r])  # in most coalitions
    _decide("challenge", "C-9", target, "reject", "geen ervaring met buurtprojecten")
    results, coalitions, rejected = _members()
    assert coalitions, "coalitions are still proposed without it"
    assert all(target not in members for members in coalitions)
    assert target not in results and target in rejected
    # Nor named as "the closest alternative" of another result.
    with Session(get_engine()) as s:
        found = matching.match_challenge(s, "C-9")
        name = next(r.name for r in found.results.rejected if r.ref == target)
        for v in found.results.results:
            for reason in v.reasons:
                assert reason.params.get("closest") != name
    # The Challenge page: not in the coalitions, listed under the rejected ones.
    login("connector")
    page = client.get("/challenges/C-9").text
    coalitions_html = page.split('id="coalitions"')[1].split("</section>")[0]
    assert "coalition" in coalitions_html and target not in coalitions_html
    assert target in page
