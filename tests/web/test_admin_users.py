"""The admin pages for users and organisations (#16 item 7d): admin only, create with the
accounts owner's checks (the CLI's rules), change role and organisation, deactivate (no
login, no token), never lock oneself out. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.tables import User
from tests.web.conftest import csrf_of, do_login
from tests.web.seed import PASSWORD, USERS

pytestmark = pytest.mark.postgres

NEW_PASSWORD = "kantoor-sleutel-77"


def _user(email: str) -> User | None:
    with Session(get_engine()) as s:
        return s.exec(select(User).where(User.email == email)).first()


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_of(client, "/account")})


def _error(html: str, name: str) -> str:
    m = re.search(rf'<span class="error" id="f-{name}-err">([^<]*)</span>', html)
    assert m, f"no error beside {name}"
    return m.group(1)


@pytest.mark.parametrize("who", ["officer", "firm", "connector"])
def test_only_admins(client: TestClient, login, who: str) -> None:  # type: ignore[no-untyped-def]
    login(who)
    assert client.get("/beheer").status_code == 403
    assert client.get("/beheer/gebruikers/nieuw").status_code == 403
    assert _post(client, "/beheer/gebruikers/nieuw", {"email": "x@test.nl"}).status_code == 403
    assert 'href="/beheer"' not in client.get("/").text  # not in their navigation


def test_lists_users_and_organisations(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("admin")
    page = client.get("/beheer").text
    assert 'href="/beheer" aria-current="page"' in page
    for email, _ in USERS.values():
        assert f"<td>{email}</td>" in page
    # Gemeente Utrecht: one officer, three tenders (one a draft), no obligations.
    assert re.search(r"<td>Gemeente Utrecht</td><td class=\"num\">1</td>"
                     r"<td class=\"num\">3</td><td class=\"num\">0</td>", page)
    assert re.search(r"<td>Bouwbedrijf De Vries B.V.</td><td class=\"num\">1</td>"
                     r"<td class=\"num\">0</td><td class=\"num\">2</td>", page)


def test_create_user_checks_like_the_cli(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("admin")
    bad = {"email": "nieuw@test", "name": "Nina", "role": "officer", "organisation": "",
           "password": "kort"}
    r = _post(client, "/beheer/gebruikers/nieuw", bad)
    assert r.status_code == 422 and "nieuw@test" in r.text
    assert _error(r.text, "email") == "Geen geldig e-mailadres: nieuw@test."
    assert 'value="kort"' not in r.text  # the password is not sent back
    r = _post(client, "/beheer/gebruikers/nieuw", {**bad, "email": "nieuw@test.nl"})
    assert "hoort bij een organisatie" in _error(r.text, "organisation")
    r = _post(client, "/beheer/gebruikers/nieuw",
              {**bad, "email": "nieuw@test.nl", "organisation": "Gemeente Utrecht"})
    assert _error(r.text, "password") == "Het wachtwoord moet minstens 10 tekens lang zijn."
    r = _post(client, "/beheer/gebruikers/nieuw?lang=en",
              {**bad, "email": "officer@test.nl", "organisation": "Gemeente Utrecht",
               "password": NEW_PASSWORD})
    assert r.status_code == 409
    assert _error(r.text, "email") == \
        "There already is an account with e-mail address officer@test.nl."
    assert _user("nieuw@test.nl") is None
    r = _post(client, "/beheer/gebruikers/nieuw",
              {**bad, "email": "Nieuw@Test.nl", "organisation": "Gemeente Utrecht",
               "password": NEW_PASSWORD})
    assert r.status_code == 303
    made = _user("nieuw@test.nl")
    assert made is not None and made.role == "officer" and made.active
    assert made.organisation == "Gemeente Utrecht" and made.name == "Nina"
    client.cookies.clear()
    assert do_login(client, "nieuw@test.nl", NEW_PASSWORD).status_code == 303


def test_change_role_organisation_and_deactivate(client: TestClient, login, api_token) -> None:  # type: ignore[no-untyped-def]
    headers = api_token("firm")
    assert client.get("/api/v1/notifications", headers=headers).status_code == 200
    login("admin")
    firm = _user(USERS["firm"][0])
    assert firm is not None
    edit = client.get(f"/beheer/gebruikers/{firm.id}").text
    assert 'id="f-active" name="active" value="1" checked' in edit
    r = _post(client, f"/beheer/gebruikers/{firm.id}",
              {"name": "Frank", "role": "firm", "organisation": "Schoonmaak Holland B.V.",
               "active": "1"})
    assert r.status_code == 303
    changed = _user(USERS["firm"][0])
    assert changed is not None and changed.organisation == "Schoonmaak Holland B.V."
    # Deactivate: the unchecked box sends nothing.
    r = _post(client, f"/beheer/gebruikers/{firm.id}",
              {"name": "Frank", "role": "firm", "organisation": "Schoonmaak Holland B.V."})
    assert r.status_code == 303
    off = _user(USERS["firm"][0])
    assert off is not None and not off.active and off.api_token_hash is None
    assert "Uitgeschakeld" in client.get("/beheer").text
    client.cookies.clear()  # without the admin's session: the token alone
    assert client.get("/api/v1/notifications", headers=headers).status_code == 401
    r = do_login(client, "firm")
    assert r.status_code == 403 and "Dit account is uitgeschakeld." in r.text


def test_no_self_lockout(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("admin")
    me = _user(USERS["admin"][0])
    assert me is not None
    r = _post(client, f"/beheer/gebruikers/{me.id}", {"role": "admin", "name": "Admin"})
    assert r.status_code == 403
    assert "niet uitschakelen" in _error(r.text, "active")
    r = _post(client, f"/beheer/gebruikers/{me.id}", {"role": "connector", "active": "1"})
    assert r.status_code == 403
    me = _user(USERS["admin"][0])
    assert me is not None and me.active and me.role == "admin"
    assert client.get("/beheer/gebruikers/999999").status_code == 404
    # A logged-in session of a user deactivated meanwhile ends at the next request.
    connector = _user(USERS["connector"][0])
    assert connector is not None
    assert _post(client, f"/beheer/gebruikers/{connector.id}",
                 {"role": "connector", "name": "C"}).status_code == 303
    client.cookies.clear()
    assert do_login(client, "connector", PASSWORD).status_code == 403
