"""Login, sessions, CSRF, rate limiting and API tokens."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, do_login

pytestmark = pytest.mark.postgres


def test_pages_need_login(client: TestClient) -> None:
    r = client.get("/enterprises?q=groen")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/enterprises%3Fq%3Dgroen"


def test_login_works_and_sets_a_safe_cookie(client: TestClient) -> None:
    r = do_login(client, "officer", next="/enterprises")
    assert r.status_code == 303
    assert r.headers["location"] == "/enterprises"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("sroi_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # settings.https is off in tests
    page = client.get("/")
    assert page.status_code == 200
    assert "Gemeente Utrecht" in page.text
    assert "U bent ingelogd." in page.text


def test_cookie_is_secure_under_https(use_db: str, db_engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from api import settings as api_settings
    from api.app import create_app

    monkeypatch.setenv("HTTPS", "true")
    api_settings.get_settings.cache_clear()
    with TestClient(create_app(), base_url="https://testserver") as c:
        r = c.get("/login")
        assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_is_refused(client: TestClient) -> None:
    r = do_login(client, "officer", password="wrong-password")
    assert r.status_code == 401
    assert "E-mailadres of wachtwoord klopt niet." in r.text
    assert client.get("/").status_code == 303
    # An unknown e-mail gets the same answer (no account enumeration).
    r = do_login(client, "nobody@test.nl", password="whatever1")
    assert r.status_code == 401
    assert "E-mailadres of wachtwoord klopt niet." in r.text


def test_login_rate_limit(client: TestClient) -> None:
    for _ in range(5):  # LOGIN_RATE_LIMIT_PER_MINUTE=5 in the fixture
        assert do_login(client, "firm", password="nope-nope").status_code == 401
    r = do_login(client, "firm", password="nope-nope")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "Te veel mislukte inlogpogingen" in r.text
    # Even the right password waits now; another account is not affected.
    assert do_login(client, "firm").status_code == 429
    assert do_login(client, "officer").status_code == 303


def test_post_without_csrf_is_refused(client: TestClient) -> None:
    csrf_of(client)  # a session exists, but the form below does not carry its token
    r = client.post("/login", data={"email": "officer@test.nl", "password": "x"})
    assert r.status_code == 403
    r = client.post("/login", data={"email": "officer@test.nl", "password": "x",
                                    "csrf_token": "forged"})
    assert r.status_code == 403
    assert do_login(client, "officer").status_code == 303
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200  # still logged in


def test_logout(client: TestClient) -> None:
    do_login(client, "officer")
    token = csrf_of(client, "/")
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303
    assert client.get("/").status_code == 303


def test_no_open_redirect_after_login(client: TestClient) -> None:
    r = do_login(client, "officer", next="//evil.example/x")
    assert r.headers["location"] == "/"


def test_api_token_create_use_revoke(client: TestClient) -> None:
    do_login(client, "connector")
    csrf = csrf_of(client, "/account")
    r = client.post("/account/token", data={"csrf_token": csrf})
    assert r.status_code == 200
    token = re.search(r'value="(sroi_[^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    api = TestClient(client.app)
    ok = api.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert ok.json()["total"] == 60
    bad = api.get("/api/v1/enterprises", headers={"Authorization": "Bearer sroi_wrong"})
    assert bad.status_code == 401
    assert bad.json()["detail"]["message"] == "Ongeldig API-token"
    assert bad.headers["www-authenticate"] == "Bearer"
    none = api.get("/api/v1/enterprises")
    assert none.status_code == 401
    assert set(none.json()["detail"]) >= {"message", "field"}
    client.post("/account/token/revoke", data={"csrf_token": csrf})
    gone = api.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401


def test_api_writes_need_a_token_not_a_cookie(client: TestClient) -> None:
    # A logged-in browser may read the API, but a cookie alone never writes (no CSRF there).
    do_login(client, "connector")
    assert client.get("/api/v1/enterprises").status_code == 200
    r = client.delete("/api/v1/enterprises/E-010")
    assert r.status_code == 401


def test_role_is_enforced(client: TestClient) -> None:
    do_login(client, "firm")
    r = client.get("/import")
    assert r.status_code == 403
    assert "Geen toegang" in r.text
