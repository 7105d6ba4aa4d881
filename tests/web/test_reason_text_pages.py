"""Match reasons in the user's language on pages (Dutch by default, English by the switch)
and in the JSON API (``reasons`` in English as before, ``reasons_nl`` beside them)."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import reason_text as rt
from api.db import get_engine
from api.tables import ChallengeRow
from tests.web.test_challenges_pages import _add_challenges

pytest.importorskip("api.services.matching", reason="api/services/matching.py is absent")
pytestmark = pytest.mark.postgres

DUTCH_MARKERS = ("exact aangeboden", "van de werklocatie", "omschrijving deelt", "capaciteit",
                 "erkend:", "werkt met")
LI = re.compile(r"<li>(.*?)</li>", re.DOTALL)


def _items(page: str, start: str, end: str = "</ul>") -> list[str]:
    """The <li> texts of every list opened by ``start`` in ``page``."""
    out: list[str] = []
    for chunk in page.split(start)[1:]:
        out += [html.unescape(x) for x in LI.findall(chunk.split(end)[0])]
    return out


def _assert_dutch(items: list[str]) -> None:
    assert items, "the page shows reasons"
    for text in items:
        assert rt.rule_of(text) is None, f"English engine reason on a Dutch page: {text!r}"
    joined = " | ".join(items)
    assert any(w in joined for w in DUTCH_MARKERS), joined
    assert not any(w in joined for w in ("capacity", "place of work", "shares terms")), joined


def _assert_english(items: list[str]) -> None:
    assert items
    assert all(rt.rule_of(text) is not None for text in items), items


def test_tender_page_reasons_follow_the_language(client: TestClient, login: Any,
                                                 api_token: Any) -> None:
    login("officer")
    page = client.get("/tenders/T-UTR-1").text
    dutch = _items(page, "<summary>Waarom</summary><ul>")
    _assert_dutch(dutch)
    assert any("exact aangeboden" in r or "van de werklocatie" in r for r in dutch)

    english = _items(client.get("/tenders/T-UTR-1?lang=en").text, "<summary>Why</summary><ul>")
    _assert_english(english)
    assert [rt.to_dutch(r) for r in english] == dutch

    body = client.get("/api/v1/tenders/T-UTR-1/matches?top=5",
                      headers=api_token("officer")).json()
    item = body["items"][0]
    assert all(rt.rule_of(r) for r in item["reasons"])  # unchanged: English
    assert item["reasons_nl"] == [rt.to_dutch(r) for r in item["reasons"]]


def test_curation_queue_reasons_in_dutch_and_api(client: TestClient, login: Any,
                                                 api_token: Any) -> None:
    login("connector")
    page = client.get("/curation?kind=tender").text
    _assert_dutch(_items(page, '<ul class="reasons">'))
    _assert_english(_items(client.get("/curation?kind=tender&lang=en").text,
                           '<ul class="reasons">'))
    csv_text = client.get("/curation/export.csv?kind=tender&lang=nl").text
    assert "capaciteit vrij" in csv_text and "capacity left" not in csv_text

    body = client.get("/api/v1/curation/queue?kind=tender", headers=api_token("connector"))
    assert body.status_code == 200, body.text
    p = body.json()["items"][0]["proposals"][0]
    assert p["reasons_nl"] == [rt.to_dutch(r) for r in p["reasons"]] and p["reasons"]


def test_challenge_portfolio_and_coalitions_in_dutch(client: TestClient, login: Any,
                                                     api_token: Any) -> None:
    _add_challenges()
    with Session(get_engine()) as s:  # a budget no single enterprise carries: coalitions
        s.add(ChallengeRow(ref="C-R", municipality_code="GM0344", title="Groen en schoon",
                           question="Wie onderhoudt parken en maakt scholen schoon?",
                           themes=["groenonderhoud", "schoonmaak"], opened_on=date(2026, 5, 1),
                           status="call", budget_eur=400_000.0))
        s.commit()
    login("connector")
    page = client.get("/challenges/C-R").text
    _assert_dutch(_items(page, '<ul class="reasons">'))
    coalitions = page.split('id="coalitions"')[1].split("</section>")[0]
    assert "Coalitie 1" in coalitions
    items = _items(coalitions, '<ul class="reasons small">')
    assert items and all(rt.rule_of(r) is None for r in items), items
    assert any(r.startswith("dekken samen") for r in items), items
    english = client.get("/challenges/C-R?lang=en").text.split('id="coalitions"')[1]
    _assert_english(_items(english.split("</section>")[0], '<ul class="reasons small">'))

    body = client.get("/api/v1/challenges/C-R/matches?top_k=5",
                      headers=api_token("connector")).json()
    assert body["coalitions"]
    first = body["results"][0]
    assert first["reasons_nl"] == [rt.to_dutch(r) for r in first["reasons"]]
    for co in body["coalitions"]:
        assert co["reasons_nl"] == [rt.to_dutch(r) for r in co["reasons"]]
        assert all("reasons_nl" in m for m in co["members"])


def test_obligation_plan_explanation_in_dutch(client: TestClient, login: Any,
                                              api_token: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-1?voorstel=1").text
    m = re.search(r'id="engine-explanation"><summary>([^<]+)</summary><p>([^<]+)</p>', page)
    assert m, "the engine's explanation is shown with a proposal"
    assert m.group(1) == "Toelichting van de engine"
    text = html.unescape(m.group(2))
    assert text.startswith("Verschuldigd €") and rt.rule_of(text) is None
    en = re.search(r'id="engine-explanation"><summary>([^<]+)</summary><p>([^<]+)</p>',
                   client.get("/obligations/O-1?voorstel=1&lang=en").text)
    assert en and html.unescape(en.group(1)) == "The engine's explanation"
    assert html.unescape(en.group(2)).startswith("Due €")

    plan = client.get("/api/v1/obligations/O-1/plan", headers=api_token("firm")).json()
    assert plan["explanation"].startswith("Due €")
    assert plan["explanation_nl"] == rt.to_dutch(plan["explanation"])
    saved = client.get("/api/v1/obligations/O-1/plan?saved=true",
                       headers=api_token("firm")).json()
    assert saved["explanation"] is None and saved["explanation_nl"] is None


def test_openapi_documents_the_dutch_reasons(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "reasons_nl" in spec["info"]["description"]
    schemas = spec["components"]["schemas"]
    assert "reasons_nl" in schemas["MatchItem"]["properties"]
    assert "reasons_nl" in schemas["ProposalOut"]["properties"]
    assert "explanation_nl" in schemas["PlanOut"]["properties"]
