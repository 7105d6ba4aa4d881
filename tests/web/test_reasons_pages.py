"""Match reasons in the user's language on pages (Dutch by default, English by the switch)
and in the JSON API (``{"code", "params", "text"}``, text in the request's language)."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import reasons as rt
from api.db import get_engine
from api.tables import ChallengeRow
from tests.web.test_challenges_pages import _add_challenges

pytestmark = pytest.mark.postgres

DUTCH_MARKERS = ("exact aangeboden", "van de werklocatie", "omschrijving deelt", "capaciteit",
                 "erkend:", "werkt met")
ENGLISH_WORDS = ("capacity", "place of work", "shares terms", "offered exactly")
LI = re.compile(r"<li>(.*?)</li>", re.DOTALL)


def _items(page: str, start: str, end: str = "</ul>") -> list[str]:
    """The <li> texts of every list opened by ``start`` in ``page``."""
    out: list[str] = []
    for chunk in page.split(start)[1:]:
        out += [html.unescape(x) for x in LI.findall(chunk.split(end)[0])]
    return out


def _assert_dutch(items: list[str]) -> None:
    assert items, "the page shows reasons"
    joined = " | ".join(items)
    assert any(w in joined for w in DUTCH_MARKERS), joined
    assert not any(w in joined for w in ENGLISH_WORDS), joined


def _assert_english(items: list[str]) -> None:
    assert items
    joined = " | ".join(items)
    assert any(w in joined for w in ENGLISH_WORDS), joined
    assert not any(w in joined for w in DUTCH_MARKERS), joined


def _assert_objects(reasons: list[dict[str, Any]], lang: str) -> None:
    """API reasons: code, params and the text the table renders for ``lang``."""
    assert reasons
    for r in reasons:
        assert set(r) == {"code", "params", "text"}
        assert r["text"] == rt.render(r, lang) != r["code"]


def test_tender_page_reasons_follow_the_language(client: TestClient, login: Any,
                                                 api_token: Any) -> None:
    login("officer")
    page = client.get("/tenders/T-UTR-1").text
    dutch = _items(page, "<summary>Waarom</summary><ul>")
    _assert_dutch(dutch)
    assert any("exact aangeboden" in r or "van de werklocatie" in r for r in dutch)

    body = client.get("/api/v1/tenders/T-UTR-1/matches?top=5",
                      headers=api_token("officer")).json()
    item = body["items"][0]
    _assert_objects(item["reasons"], "nl")
    assert [rt.render(r, "nl") for r in item["reasons"]] == dutch[:len(item["reasons"])]
    # The CPV lines come from the engine's cpv_* reasons.
    cpv = {r["params"].get("offered", r["params"].get("code")) for r in item["reasons"]
           if r["code"].startswith("cpv_")}
    assert {c["code"] for c in item["matched_cpv"]} == cpv
    en = client.get("/api/v1/tenders/T-UTR-1/matches?top=5&lang=en",
                    headers=api_token("officer")).json()["items"][0]
    _assert_objects(en["reasons"], "en")
    assert [r["params"] for r in en["reasons"]] == [r["params"] for r in item["reasons"]]
    by_header = client.get("/api/v1/tenders/T-UTR-1/matches?top=5",
                           headers={**api_token("officer"), "Accept-Language": "en-GB,en;q=0.8"})
    assert by_header.json()["items"][0]["reasons"] == en["reasons"]

    # The page's switch sets the lang cookie, which the API follows too.
    english = _items(client.get("/tenders/T-UTR-1?lang=en").text, "<summary>Why</summary><ul>")
    _assert_english(english)
    assert len(english) == len(dutch)
    again = client.get("/api/v1/tenders/T-UTR-1/matches?top=5", headers=api_token("officer"))
    assert again.json()["items"][0]["reasons"] == en["reasons"]


def test_tender_why_not_page_and_api(client: TestClient, login: Any, api_token: Any) -> None:
    login("officer")
    body = client.get("/api/v1/tenders/T-UTR-1/matches?top=1",
                      headers=api_token("officer")).json()
    ref = body["items"][0]["ref"]
    page = client.get(f"/tenders/T-UTR-1?waarom={ref}").text
    answer = page.split('id="why-not-answer"')[1].split("</div>")[0]
    _assert_dutch(_items(answer, "<ul>"))
    out = client.get(f"/api/v1/tenders/T-UTR-1/why-not/{ref}?lang=en",
                     headers=api_token("officer")).json()
    assert out["excluded"] is False and out["exclusions"] == []
    _assert_objects(out["reasons"], "en")


def test_curation_queue_reasons_in_dutch_and_api(client: TestClient, login: Any,
                                                 api_token: Any) -> None:
    login("connector")
    page = client.get("/curation?kind=tender").text
    _assert_dutch(_items(page, '<ul class="reasons">'))
    _assert_english(_items(client.get("/curation?kind=tender&lang=en").text,
                           '<ul class="reasons">'))
    csv_text = client.get("/curation/export.csv?kind=tender&lang=nl").text
    assert "capaciteit vrij" in csv_text and "capacity left" not in csv_text

    body = client.get("/api/v1/curation/queue?kind=tender&lang=nl",
                      headers=api_token("connector"))
    assert body.status_code == 200, body.text
    _assert_objects(body.json()["items"][0]["proposals"][0]["reasons"], "nl")


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
    assert any(r.startswith("dekken samen") for r in items), items
    english = client.get("/challenges/C-R?lang=en").text.split('id="coalitions"')[1]
    en_items = _items(english.split("</section>")[0], '<ul class="reasons small">')
    assert any(r.startswith("together cover") for r in en_items), en_items

    body = client.get("/api/v1/challenges/C-R/matches?top_k=5&lang=nl",
                      headers=api_token("connector")).json()
    assert body["coalitions"]
    _assert_objects(body["results"][0]["reasons"], "nl")
    for co in body["coalitions"]:
        _assert_objects(co["reasons"], "nl")
        for m in co["members"]:
            _assert_objects(m["reasons"], "nl")


def test_obligation_plan_explanation_in_dutch(client: TestClient, login: Any,
                                              api_token: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-1?voorstel=1").text
    m = re.search(r'id="engine-explanation"><summary>([^<]+)</summary><p>([^<]+)</p>', page)
    assert m, "the engine's explanation is shown with a proposal"
    assert m.group(1) == "Toelichting van de engine"
    text = html.unescape(m.group(2))
    assert text.startswith("Verschuldigd €")
    en = re.search(r'id="engine-explanation"><summary>([^<]+)</summary><p>([^<]+)</p>',
                   client.get("/obligations/O-1?voorstel=1&lang=en").text)
    assert en and html.unescape(en.group(1)) == "The engine's explanation"
    assert html.unescape(en.group(2)).startswith("Due €")

    plan = client.get("/api/v1/obligations/O-1/plan?lang=en", headers=api_token("firm")).json()
    _assert_objects(plan["explanation"], "en")
    assert plan["explanation"][0]["code"].startswith("plan_")
    assert plan["explanation"][0]["text"].startswith("Due €")
    assert rt.sentence(plan["explanation"], "nl") == text
    saved = client.get("/api/v1/obligations/O-1/plan?saved=true",
                       headers=api_token("firm")).json()
    assert saved["explanation"] == []


def test_openapi_documents_the_reason_objects(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert "code" in spec["info"]["description"] and "Accept-Language" in spec["info"][
        "description"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["ReasonOut"]["properties"]) == {"code", "params", "text"}
    for model, field in (("MatchItem", "reasons"), ("ProposalOut", "reasons"),
                         ("PlanOut", "explanation"), ("WhyNotOut", "exclusions"),
                         ("WhyNotOut", "reasons")):
        assert schemas[model]["properties"][field]["items"]["$ref"].endswith("/ReasonOut")
        assert "reasons_nl" not in schemas[model]["properties"]
