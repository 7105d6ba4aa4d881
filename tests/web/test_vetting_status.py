"""One rule for "vetted and valid on day D" (api.services.vetting_flow): the home page's
count, search (list, badge and what officers see), the enterprise page, the plan commit and
the vetting queue's expired certificates all follow it (issue #16 item 5)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from api.db import get_engine
from api.services.vetting_flow import is_validly_vetted, validly_vetted, vetting_state
from api.tables import EnterpriseRow

pytestmark = pytest.mark.postgres

TODAY = date(2026, 6, 1)  # the web fixtures' TODAY


def test_the_rule() -> None:
    assert vetting_state("vetted", None, TODAY) == "vetted"
    assert vetting_state("vetted", TODAY, TODAY) == "vetted"  # valid through its last day
    assert vetting_state("vetted", date(2026, 5, 31), TODAY) == "expired"
    assert vetting_state("pending", date(2020, 1, 1), TODAY) == "pending"
    assert not is_validly_vetted("rejected", None, TODAY)


def _expire(ref: str) -> str:
    with Session(get_engine()) as s:
        row = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == ref)).one()
        assert row.vetting_status == "vetted"
        row.vetting_valid_until = date(2026, 5, 1)
        s.add(row)
        s.commit()
        return row.name


def _count_valid() -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(EnterpriseRow)
                          .where(validly_vetted(TODAY))).one())


def _home_count(client: TestClient) -> int:
    html = client.get("/").text
    m = re.search(r'<span class="value">([\d.]+)</span><span class="label">'
                  r"Gescreende sociale ondernemingen", html)
    assert m, "the home page shows the vetted count"
    return int(m.group(1).replace(".", ""))


def test_home_count_leaves_out_an_expired_vetting(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    before = _home_count(client)
    assert before == _count_valid()
    _expire("E-001")
    assert _home_count(client) == before - 1 == _count_valid()


def test_search_badges_expired_and_officers_do_not_get_it(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    name = _expire("E-001")
    login("connector")
    html = client.get("/enterprises", params={"q": name, "per_page": 100}).text
    article = next(a for a in html.split('<article class="result">')[1:]
                   if 'href="/enterprises/E-001"' in a)
    assert "badge-expired" in article and "Screening verlopen" in article
    api = client.get("/api/v1/search", params={"q": name, "per_page": 100})
    assert api.status_code == 200
    item = next(i for i in api.json()["items"] if i["ref"] == "E-001")
    assert item["vetting_state"] == "expired"
    client.cookies.clear()
    login("officer")
    html = client.get("/enterprises", params={"q": name, "per_page": 100}).text
    assert 'href="/enterprises/E-001"' not in html


def test_enterprise_page_shows_one_state(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    _expire("E-001")
    login("connector")
    head = client.get("/enterprises/E-001").text.split("<h1>", 1)[1].split("</h1>")[0]
    assert "Screening verlopen" in head
    assert "Gescreend" not in head


def test_vetting_queue_flags_expired_certificates(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    with Session(get_engine()) as s:
        row = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-004")).one()
        row.certifications = [{"scheme": "PSO", "level": "2", "valid_until": "2026-04-30"}]
        s.add(row)
        s.commit()
        # Every other certificate the seed gave an end before TODAY is listed too.
        expected = {r.ref for r in s.exec(select(EnterpriseRow).where(
            col(EnterpriseRow.vetting_status).in_(("vetted", "pending")))).all()
            if any(c.get("valid_until") and str(c["valid_until"]) < TODAY.isoformat()
                   for c in r.certifications or [])}
    login("connector")
    section = client.get("/vetting").text.split('id="vetting-certs-expired"')[1]
    section = section.split("</table>")[0]
    listed = set(re.findall(r'data-ref="([^"]+)"', section))
    assert "E-004" in listed
    assert listed == expected
