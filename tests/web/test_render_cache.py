"""The render cache (issue #17 item 3): what every reader of the tender page, the match API
and the search page shares is rendered once per data version — a hit is the same bytes
as a fresh render, a change shows at the next request, and nothing of one reader (their
role, CSRF token, language) reaches another."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.clock import utcnow
from api.db import get_engine
from api.services import render_cache, shared_cache
from api.tables import CurationDecision, EnterpriseRow
from tests.web.conftest import CSRF_RE, do_login

TENDER = "/tenders/T-UTR-1"


@pytest.fixture(autouse=True)
def _process_level_only() -> Iterator[None]:
    """The process-local level alone: "a fresh render" here is one (the level shared by
    processes: tests/web/test_shared_cache.py)."""
    shared_cache.reset()
    shared_cache.override(None)
    yield
    shared_cache.reset()


def _section(page: str, section_id: str) -> str:
    m = re.search(rf'<section[^>]*id="{section_id}".*?(?=<section class="card" id="why-not")',
                  page, re.S)
    assert m, f"no section {section_id}"
    return m.group(0)


def _match_names(page: str) -> list[str]:
    table = page.split('id="match-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/enterprises/E-\d+">([^<]+)</a>', table)


def test_tender_page_hit_is_a_fresh_render_and_keeps_the_user_out(
        client: TestClient, login: Any) -> None:
    login("connector")
    client.get("/")  # the login's flash message goes here, not on the pages compared
    render_cache.clear()
    before = render_cache.stats().hits
    miss = client.get(TENDER).text
    hit = client.get(TENDER).text
    assert render_cache.stats().hits == before + 1
    assert hit == miss  # the same user, the same page: byte for byte
    render_cache.clear()
    assert client.get(TENDER).text == miss  # a fresh render gives the same bytes

    connector_csrf = CSRF_RE.search(miss).group(1)  # type: ignore[union-attr]
    client.post("/logout", data={"csrf_token": connector_csrf})
    client.cookies.clear()
    assert do_login(client, "officer").status_code == 303
    officer = client.get(TENDER).text
    assert render_cache.stats().hits >= before + 2  # the shared part came from the cache
    # What the page shares is the connector's, what is per user is the officer's own.
    assert _section(officer, "matches") == _section(miss, "matches")
    assert connector_csrf not in officer
    officer_csrf = CSRF_RE.search(officer).group(1)  # type: ignore[union-attr]
    assert officer_csrf in officer  # the officer's own logout form
    assert "/tenders/T-UTR-1/edit" in officer
    # Obligations hang on it (kept with the shared part): no delete, for anyone.
    assert "/tenders/T-UTR-1/delete" not in officer
    # Another officer may not see the tender at all, cached or not.
    client.cookies.clear()
    assert do_login(client, "officer2").status_code == 303
    assert client.get(TENDER).status_code == 404
    # A firm reads its obligation's tender: the same matches, no edit or delete.
    client.cookies.clear()
    assert do_login(client, "firm").status_code == 303
    firm = client.get(TENDER).text
    assert _section(firm, "matches") == _section(miss, "matches")
    assert "/tenders/T-UTR-1/edit" not in firm and "/tenders/T-UTR-1/delete" not in firm


def test_a_decision_and_an_enterprise_edit_show_at_the_next_request(
        client: TestClient, login: Any) -> None:
    login("connector")
    client.get("/")
    page = client.get(TENDER).text
    names = _match_names(page)
    assert names and client.get(TENDER).text == page  # cached now
    with Session(get_engine()) as s:
        first = s.exec(select(EnterpriseRow).where(EnterpriseRow.name == names[0])).one()
        ref = first.ref
        first.name = "Hernoemd Schoonwerk"
        first.updated_at = utcnow()  # as every edit does (entity_edit)
        s.add(first)
        s.commit()
    renamed = client.get(TENDER).text
    assert "Hernoemd Schoonwerk" in renamed and names[0] not in _match_names(renamed)
    assert "Hernoemd Schoonwerk" in client.get("/enterprises", params={"q": "Hernoemd"}).text
    api = client.get("/api/v1/tenders/T-UTR-1/matches").json()
    assert "Hernoemd Schoonwerk" in [i["name"] for i in api["items"] + api["maybe"]]

    with Session(get_engine()) as s:
        s.add(CurationDecision(query_kind="tender", query_ref="T-UTR-1", enterprise_ref=ref,
                               decision="reject", decided_by="connector@test.nl",
                               reason="Geen capaciteit dit jaar"))
        s.commit()
    after = client.get(TENDER).text
    assert "Geen capaciteit dit jaar" in after  # in the rejected section now
    assert "Hernoemd Schoonwerk" not in _match_names(after)
    api = client.get("/api/v1/tenders/T-UTR-1/matches").json()
    assert ref in [r["ref"] for r in api["rejected"]]


def test_languages_and_roles_do_not_share_content(client: TestClient, login: Any) -> None:
    login("connector")
    nl = client.get(TENDER).text
    en = client.get(TENDER, params={"lang": "en"}).text
    assert "Passende sociale ondernemingen" in nl and "Passende sociale ondernemingen" not in en
    api_nl = client.get("/api/v1/tenders/T-UTR-1/matches", params={"lang": "nl"})
    api_en = client.get("/api/v1/tenders/T-UTR-1/matches", params={"lang": "en"})
    assert api_nl.json()["maybe"][0]["reasons"][0]["text"] != \
        api_en.json()["maybe"][0]["reasons"][0]["text"]
    render_cache.clear()
    assert client.get("/api/v1/tenders/T-UTR-1/matches",
                      params={"lang": "en"}).content == api_en.content
    assert api_en.headers["content-type"] == "application/json"

    # The search page shows connectors every vetting state, others only vetted ones.
    connector = client.get("/enterprises", params={"lang": "nl"}).text
    assert 'name="vetting"' in connector and "/enterprises/new" in connector
    client.cookies.clear()
    assert do_login(client, "firm").status_code == 303
    firm = client.get("/enterprises", params={"lang": "nl"}).text
    assert 'name="vetting"' not in firm and "/enterprises/new" not in firm
    n_connector = re.search(r"(\d+) gevonden", connector)
    n_firm = re.search(r"(\d+) gevonden", firm)
    assert n_connector and n_firm and int(n_firm.group(1)) < int(n_connector.group(1))
    # Page links follow the request's own query, each query its own entry.
    page2 = client.get("/enterprises", params={"lang": "nl", "page": 2}).text
    assert page2 != firm and 'aria-current="page">2<' in page2


def test_concurrent_misses_of_one_key_build_it_once(db_engine: Any) -> None:
    """Single flight: while one request builds a key, the others asking for it wait and
    get its value; a different key is not held up."""
    import threading

    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    results: list[object] = []

    def build(tag: str) -> str:
        calls.append(tag)
        if tag == "slow":
            started.set()
            release.wait(10)
        return f"value of {tag}"

    def ask(tag: str, key: str) -> None:
        with Session(db_engine) as s:
            results.append(render_cache.shared(s, "single-flight-test", (key,), "nl",
                                               lambda: build(tag)))

    leader = threading.Thread(target=ask, args=("slow", "k1"))
    leader.start()
    assert started.wait(10)
    followers = [threading.Thread(target=ask, args=(f"follower{i}", "k1")) for i in range(3)]
    for t in followers:
        t.start()
    ask("other", "k2")  # another key builds at once, while k1's leader still runs
    assert calls == ["slow", "other"]
    release.set()
    leader.join(10)
    for t in followers:
        t.join(10)
    assert calls == ["slow", "other"]  # the followers did not build k1 again
    assert sorted(map(str, results)) == ["value of other"] + ["value of slow"] * 4
