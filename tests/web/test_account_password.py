"""Changing one's own password on the account page (#16 item 7e): the current password is
required, the strength rule applies (api.services.accounts, the CLI's rule too), errors are
clear in Dutch and English and never echo a password, and only the new password works after.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.security import verify_password
from api.services.accounts import password_problem
from api.tables import User
from tests.web.conftest import csrf_of, do_login
from tests.web.seed import PASSWORD, USERS

pytestmark = pytest.mark.postgres

NEW = "fiets-bel-2027-rood"


def _change(client: TestClient, current: str, new: str, repeat: str | None = None,
            lang: str = "") -> object:
    return client.post("/account/password" + (f"?lang={lang}" if lang else ""), data={
        "current_password": current, "new_password": new,
        "repeat_password": new if repeat is None else repeat,
        "csrf_token": csrf_of(client, "/account")})


def _hash(who: str) -> str:
    with Session(get_engine()) as s:
        return s.exec(select(User.password_hash).where(User.email == USERS[who][0])).one()


def _error(html: str, name: str) -> str:
    m = re.search(rf'<span class="error" id="f-{name}-err">([^<]*)</span>', html)
    assert m, f"no error beside {name}"
    assert re.search(rf'id="f-{name}"[^>]*aria-invalid="true"', html)
    return m.group(1)


def test_password_rule() -> None:
    assert password_problem("kort-1") is not None  # too short
    assert password_problem("alleenletterszonderiets") is not None  # letters only
    assert password_problem("12345678901234") is not None  # no letters
    assert password_problem("officer-2027!", "officer@test.nl") is not None  # e-mail's name
    assert password_problem(NEW, "officer@test.nl") is None


def test_change_password(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("officer")
    page = client.get("/account").text
    assert 'id="password-form"' in page and 'autocomplete="current-password"' in page
    before = _hash("officer")
    r = _change(client, PASSWORD, NEW)
    assert r.status_code == 303 and r.headers["location"] == "/account"  # type: ignore[attr-defined]
    assert "Uw wachtwoord is gewijzigd." in client.get("/account").text
    assert _hash("officer") != before and verify_password(_hash("officer"), NEW)
    client.cookies.clear()
    assert do_login(client, "officer").status_code == 401  # the old one no longer works
    assert do_login(client, "officer", NEW).status_code == 303


@pytest.mark.parametrize(("current", "new", "repeat", "field", "nl", "en"), [
    ("fout-wachtwoord-1", NEW, None, "current_password",
     "Het huidige wachtwoord klopt niet.", "The current password is not right."),
    (PASSWORD, "kort-1", None, "new_password",
     "Het wachtwoord moet minstens 10 tekens lang zijn.",
     "The password must be at least 10 characters long."),
    (PASSWORD, "alleenmaarletters", None, "new_password",
     "Gebruik in het wachtwoord letters én cijfers of leestekens.",
     "Use letters and digits or punctuation in the password."),
    (PASSWORD, PASSWORD, None, "new_password",
     "Kies een ander wachtwoord dan het huidige.",
     "Choose a password other than the current one."),
    (PASSWORD, NEW, NEW + "x", "repeat_password",
     "De twee nieuwe wachtwoorden zijn niet gelijk.",
     "The two new passwords are not the same."),
])
def test_refusals_say_why_and_change_nothing(client: TestClient, login, current: str,  # type: ignore[no-untyped-def]
                                             new: str, repeat: str | None, field: str,
                                             nl: str, en: str) -> None:
    login("firm")
    before = _hash("firm")
    r = _change(client, current, new, repeat)
    assert r.status_code == 422  # type: ignore[attr-defined]
    html = r.text  # type: ignore[attr-defined]
    assert _error(html, field) == nl
    for secret in {current, new, repeat or new}:
        assert secret not in html  # typed passwords are never sent back
    assert _change(client, current, new, repeat, lang="en").text.count(en) >= 1  # type: ignore[attr-defined]
    assert _hash("firm") == before


def test_csrf_is_required(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    r = client.post("/account/password", data={"current_password": PASSWORD,
                                               "new_password": NEW, "repeat_password": NEW})
    assert r.status_code == 403
    assert verify_password(_hash("connector"), PASSWORD)
