"""In-app notifications (#16 item 7c): computed per role and organisation from the data
(expiring screenings and certificates, passed deadlines, new proposals, committed plans),
the unread count in the header, marking read per user, Dutch and English.
On SQLite and PostgreSQL. The web tests pin today at 2026-06-01 (tests/web/conftest.py)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.db import get_engine
from api.services import notifications
from api.tables import EnterpriseRow, NotificationRead, ObligationRow, PlanEvent, User
from tests.web.conftest import csrf_of
from tests.web.seed import USERS

pytestmark = pytest.mark.postgres

TODAY = date(2026, 6, 1)


@pytest.fixture
def events(app) -> None:  # type: ignore[no-untyped-def]
    """E-001 (in firm A's plan for O-1) loses its screening on 20 June; E-003 (firm B's)
    has a PSO certificate running out on 15 June; O-3 (firm B, Amsterdam's tender) was due
    on 1 May; firm A committed O-1's plan."""
    with Session(get_engine()) as s:
        e1 = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-001")).one()
        e1.vetting_valid_until = date(2026, 6, 20)
        e3 = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-003")).one()
        e3.certifications = [{"scheme": "PSO", "level": "2", "valid_until": "2026-06-15"}]
        o3 = s.exec(select(ObligationRow).where(ObligationRow.ref == "O-3")).one()
        o3.due = date(2026, 5, 1)
        s.add_all([e1, e3, o3, PlanEvent(obligation_ref="O-1", action="commit",
                                         decided_by="firm@test.nl")])
        s.commit()
    notifications._counts.clear()


def _keys(who: str) -> set[str]:
    with Session(get_engine()) as s:
        user = s.exec(select(User).where(User.email == USERS[who][0])).one()
        return {n.key for n in notifications.for_user(s, user, TODAY)}


def _plan_key() -> str:
    with Session(get_engine()) as s:
        return f"plan:{s.exec(select(PlanEvent.id)).one()}"


@pytest.mark.usefixtures("events")
def test_each_role_sees_its_own_events() -> None:
    plan = _plan_key()
    connector = _keys("connector")
    assert {"vetting:E-001:2026-06-20", "cert:E-003:PSO:2:2026-06-15",
            "obligation-due:O-3:2026-05-01", plan,
            # C-1 opened 1 February without a deadline: twelve weeks, so 26 April.
            "challenge-deadline:C-1:2026-04-26",
            # Added just now, nothing decided yet (T-UTR-1 and the obligations have
            # decisions in the seed; drafts are not proposed).
            "proposals:tender:T-UTR-2", "proposals:tender:T-AMS-1",
            "proposals:challenge:C-1"} <= connector
    assert "proposals:tender:T-UTR-1" not in connector
    assert "proposals:tender:T-UTR-3" not in connector  # a draft
    assert _keys("admin") == connector
    # A firm: the screening of an enterprise in its own plan, its own overdue obligation.
    assert _keys("firm") == {"vetting:E-001:2026-06-20"}
    assert _keys("firm2") == {"cert:E-003:PSO:2:2026-06-15", "obligation-due:O-3:2026-05-01"}
    # An officer: commits and overdue obligations under the buyer's own tenders.
    assert _keys("officer") == {plan}
    assert _keys("officer2") == {"obligation-due:O-3:2026-05-01"}


@pytest.mark.usefixtures("events")
def test_page_header_count_and_mark_read(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("firm2")
    page = client.get("/meldingen").text
    assert re.search(r'id="notification-count">2<', page)
    assert "Het keurmerk PSO 2 van Wachtwerk" in page and "verloopt op 15 juni 2026." in page
    assert "Verplichting O-3 van Schoonmaak Holland B.V. is nog open; de einddatum was " \
        "1 mei 2026." in page
    assert 'href="/obligations/O-3"' in page
    en = client.get("/meldingen?lang=en").text
    assert "is still open; its due date was 1 May 2026." in en
    assert ">Mark all as read<" in en
    client.get("/meldingen?lang=nl")  # the language switch is remembered: back to Dutch
    # Mark one read: stored for this user only; the count drops at once.
    r = client.post("/meldingen/gelezen", data={"key": "obligation-due:O-3:2026-05-01",
                                               "csrf_token": csrf_of(client, "/meldingen")})
    assert r.status_code == 303
    page = client.get("/meldingen").text
    assert re.search(r'id="notification-count">1<', page)
    assert re.search(r'class="notification"[^>]*data-kind="deadline_passed"', page)
    assert _keys("officer2") == {"obligation-due:O-3:2026-05-01"}
    with Session(get_engine()) as s:
        officer2 = s.exec(select(User).where(User.email == USERS["officer2"][0])).one()
        assert notifications.unread_count(s, officer2, TODAY) == 1  # not read for them
    # A key the user does not have stores nothing (no forged rows).
    before = _reads()
    client.post("/meldingen/gelezen", data={"key": "plan:999999",
                                           "csrf_token": csrf_of(client, "/meldingen")})
    assert _reads() == before
    # All read: no count in the header.
    r = client.post("/meldingen/gelezen", data={"all": "1",
                                               "csrf_token": csrf_of(client, "/meldingen")})
    assert r.status_code == 303, r.text[:300]
    page = client.get("/meldingen").text
    assert 'id="notification-count"' not in page and "0 ongelezen van 2." in page
    assert _reads() == before + 1


@pytest.mark.usefixtures("events")
def test_header_count_follows_a_change_made_by_another_process(
        client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    """The header's count is cached per data version, not for a fixed time: a notification
    marked read through another process (a commit on another connection, this process's
    own cache untouched) shows at the next version check."""
    from api import shared_state

    login("firm2")
    assert re.search(r'id="notification-count">2<', client.get("/meldingen").text)
    with Session(get_engine()) as s:  # as another process would: no forget_count here
        firm2 = s.exec(select(User).where(User.email == USERS["firm2"][0])).one()
        s.add(NotificationRead(user_id=firm2.id, key="obligation-due:O-3:2026-05-01"))
        s.commit()
    shared_state.forget_versions()  # the 0.5 s between version checks, skipped
    assert re.search(r'id="notification-count">1<', client.get("/meldingen").text)


def _reads() -> int:
    with Session(get_engine()) as s:
        return int(s.exec(select(func.count()).select_from(NotificationRead)).one())


def test_marking_needs_csrf_and_login(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/meldingen").status_code == 303  # to the login page
    login("connector")
    assert client.post("/meldingen/gelezen", data={"all": "1"}).status_code == 403


@pytest.mark.usefixtures("events")
def test_json_list(client: TestClient, api_token) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/notifications", headers={**api_token("officer2"),
                                                     "Accept-Language": "en"})
    assert r.status_code == 200
    assert [(n["key"], n["read"], n["on"]) for n in r.json()] == \
        [("obligation-due:O-3:2026-05-01", False, "2026-05-01")]
    assert r.json()[0]["label"] == "Deadline passed"


@pytest.mark.usefixtures("events")
def test_an_expired_count_is_computed_once_while_the_others_answer_with_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the TTL ran out (the data version is the same): one thread recomputes, the
    others answer with the count they have instead of each computing it (a 1 s stall of
    the tender page every 30 s under load). After a change, nobody gets the old count."""
    import threading

    from api import shared_state

    with Session(get_engine()) as s:
        user = s.exec(select(User).where(User.email == USERS["connector"][0])).one()
        first = notifications.header_count(s, user)
        key = notifications._cache_key(s, user, notifications.clock_today())
        deadline, version, count = notifications._counts[key]
        assert count == first
        notifications._counts[key] = (0.0, version, count)  # the TTL ran out

        computing, release = threading.Event(), threading.Event()
        computed: list[int] = []
        real = notifications.unread_count

        def slow_count(*args, **kwargs):  # type: ignore[no-untyped-def]
            computed.append(1)
            computing.set()
            release.wait(10)
            return real(*args, **kwargs)

        monkeypatch.setattr(notifications, "unread_count", slow_count)

        def lead() -> None:
            with Session(get_engine()) as s2:
                notifications.header_count(s2, user)

        leader = threading.Thread(target=lead)
        leader.start()
        assert computing.wait(10)
        try:
            assert [notifications.header_count(s, user) for _ in range(5)] == [first] * 5
        finally:
            release.set()
            leader.join(10)
        assert len(computed) == 1
        assert notifications._counts[key][0] > 0.0  # the leader stored a fresh one

        # A change: the old count is not answered, whoever computes.
        notifications._counts[key] = (0.0, version, count)
        e = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-002")).one()
        e.vetting_valid_until = date(2026, 6, 25)
        s.add(e)
        s.commit()
        shared_state.forget_versions()
        assert notifications.header_count(s, user) == first + 1
