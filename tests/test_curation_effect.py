"""Curation takes effect (issue #12 item 3) on SQLite and PostgreSQL: the connector's
latest decision per match changes the lists every page, the API and the CLI get from
``api.services.matching``; accepting or pinning an excluded enterprise needs an override."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from api.errors import Conflict, Invalid
from api.services import matching
from api.services.curation_log import DecisionInput
from api.tables import CurationDecision
from tests.test_matching_service import pinned_today, store  # noqa: F401  (fixtures)


def decide(session: Session, kind: str, ref: str, ent: str, decision: str, reason: str = "",
           override: bool = False, by: str = "verbinder@example.nl") -> CurationDecision:
    return matching.decide(session, DecisionInput(
        query_kind=kind, query_ref=ref, enterprise_ref=ent, decision=decision, reason=reason,
        override=override), decided_by=by)


def refs(ml: matching.MatchList) -> list[str]:
    return [m.ref for m in ml.results]


def test_tender_pin_leads_reject_leaves_accept_marked(store: Session) -> None:  # noqa: F811
    full = matching.match_tender(store, "T-1", top_k=50)
    # Below the top 3: the last candidate with some score, suitable or only "mogelijk
    # passend" (one doing nothing of the work scores 0: context counts only with relevance).
    low = [m.ref for m in [*full.results, *full.maybe] if m.score > 0][-1]
    before = matching.cached_match(store, "tender", "T-1", 3)
    assert refs(before)[0] == "E-CLEAN" and low not in refs(before)
    assert all(m.decision is None for m in before.results) and before.rejected == []
    second = refs(before)[1]
    decide(store, "tender", "T-1", "E-CLEAN", "reject", "Werkt al voor de concurrent")
    decide(store, "tender", "T-1", low, "pin", "Kent de opdrachtgever")
    decide(store, "tender", "T-1", second, "accept")
    # The cached list sees the decisions at once.
    ml = matching.cached_match(store, "tender", "T-1", 3)
    assert refs(ml)[0] == low and "E-CLEAN" not in refs(ml)
    assert [m.rank for m in ml.results] == list(range(1, len(ml.results) + 1))
    pin = ml.results[0]
    assert pin.decision is not None and pin.decision.decision == "pin"
    assert pin.decision.decided_by == "verbinder@example.nl"
    assert pin.decision.reason == "Kent de opdrachtgever" and pin.score > 0
    accepted = next(m for m in ml.results if m.ref == second)
    assert accepted.decision is not None and accepted.decision.decision == "accept"
    assert [r.ref for r in ml.rejected] == ["E-CLEAN"]
    assert ml.rejected[0].decision.reason == "Werkt al voor de concurrent"
    d = json.loads(json.dumps(ml.as_dict()))
    assert d["results"][0]["decision"] == "pin" and d["results"][0]["decided"]["reason"]
    assert d["rejected"][0]["ref"] == "E-CLEAN" and d["rejected"][0]["decision"] == "reject"
    # why-not names the decision.
    why = matching.why_not(store, "tender", "T-1", "E-CLEAN")
    assert why["decision"]["decision"] == "reject"
    assert why["decision"]["reason"] == "Werkt al voor de concurrent"
    assert matching.why_not(store, "tender", "T-1", "E-F1")["decision"] is None
    # Unpin and a later accept of the rejected one: back to the engine's order, marked.
    decide(store, "tender", "T-1", low, "unpin")
    decide(store, "tender", "T-1", "E-CLEAN", "accept")
    after = matching.cached_match(store, "tender", "T-1", 3)
    assert refs(after)[0] == "E-CLEAN" and low not in refs(after) and after.rejected == []


def test_pins_keep_pin_order(store: Session) -> None:  # noqa: F811
    decide(store, "tender", "T-1", "E-F1", "pin")
    decide(store, "tender", "T-1", "E-F0", "pin")
    assert refs(matching.match_tender(store, "T-1", top_k=3))[:2] == ["E-F1", "E-F0"]


def test_excluded_enterprise_needs_an_override_with_a_reason(store: Session) -> None:  # noqa: F811
    with pytest.raises(Conflict) as exc:
        decide(store, "tender", "T-1", "E-FAR", "pin", "Wil toch")
    assert exc.value.field == "override"
    with pytest.raises(Conflict):
        decide(store, "tender", "T-1", "E-PEND", "accept")
    with pytest.raises(Invalid):
        decide(store, "tender", "T-1", "E-FAR", "pin", override=True)
    store.rollback()
    row = decide(store, "tender", "T-1", "E-FAR", "pin", "Verhuist naar Utrecht",
                 override=True)
    assert row.override is True
    # Rejecting needs no override; an override flag on a candidate is not stored.
    assert decide(store, "tender", "T-1", "E-CLEAN2", "accept", "ok", override=True
                  ).override is False
    ml = matching.match_tender(store, "T-1", top_k=3)
    far = ml.results[0]
    assert far.ref == "E-FAR" and far.decision is not None and far.decision.override
    assert {r.code for r in far.excluded_by} and far.score == 0.0
    stored = store.exec(select(CurationDecision).where(
        CurationDecision.enterprise_ref == "E-FAR")).all()
    assert [d.override for d in stored] == [True]


def test_obligation_list_follows_decisions(store: Session) -> None:  # noqa: F811
    top = refs(matching.match_obligation(store, "O-1", top_k=3))[0]
    decide(store, "obligation", "O-1", top, "reject", "Te duur")
    decide(store, "obligation", "O-1", "E-F2", "pin", "Al partner")
    ml = matching.cached_match(store, "obligation", "O-1", 3)
    assert refs(ml)[0] == "E-F2" and top not in refs(ml)
    assert [r.ref for r in ml.rejected] == [top]


def test_challenge_portfolio_follows_decisions(store: Session) -> None:  # noqa: F811
    found = matching.cached_match(store, "challenge", "CH-1", 3)
    first = refs(found.results)[0]
    decide(store, "challenge", "CH-1", first, "reject", "Geen tijd")
    decide(store, "challenge", "CH-1", "E-F3", "pin", "Buurtkeuken erbij")
    after = matching.cached_match(store, "challenge", "CH-1", 3)
    assert refs(after.results)[0] == "E-F3" and first not in refs(after.results)
    assert after.results.results[0].decision is not None
    d = after.as_dict()
    assert d["rejected"][0]["ref"] == first and d["results"][0]["decision"] == "pin"
