"""The JSON API's texts follow the caller's language: ?lang=, the cookie, Accept-Language."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.deps import api_error
from api.errors import Invalid
from api.i18n import Eur, accept_language


def test_accept_language_is_ranked_by_quality() -> None:
    assert accept_language("de, en;q=0.8, nl;q=0.9") == "nl"
    assert accept_language("en-GB,en;q=0.9,nl;q=0.5") == "en"
    assert accept_language("nl;q=0, en") == "en"
    assert accept_language("fr, de") is None
    assert accept_language("") is None


@pytest.fixture
def error_app(app: FastAPI) -> FastAPI:
    # Two routes that fail the ways routes and services do: api_error with a parameter,
    # and a domain error with an amount only formatted when the language is known.
    def route_error() -> None:
        raise api_error(404, "Aanbesteding {ref} niet gevonden", "ref", ref="T-9")

    def domain_error() -> None:
        raise Invalid("budget_eur", "De pilots samen gaan over het budget van de challenge "
                      "({budget}).", budget=Eur(12000))

    app.add_api_route("/api/v1/_route_error", route_error)
    app.add_api_route("/api/v1/_domain_error", domain_error)
    return app


def test_errors_follow_accept_language(error_app: FastAPI) -> None:
    with TestClient(error_app) as client:
        nl = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "nl"})
        en = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en-GB,en"})
        assert nl.status_code == en.status_code == 404
        assert nl.json()["detail"]["message"] == "Pagina niet gevonden"
        assert en.json()["detail"]["message"] == "Page not found"
        assert en.headers["content-language"] == "en"

        r = client.get("/api/v1/_domain_error", headers={"Accept-Language": "en"})
        assert r.status_code == 422
        assert r.json()["detail"] == {
            "message": "The pilots together exceed the Challenge's budget (€12,000).",
            "field": "budget_eur"}
        r = client.get("/api/v1/_domain_error?lang=nl", headers={"Accept-Language": "en"})
        assert r.json()["detail"]["message"].endswith("(€ 12.000).")  # ?lang= wins

        r = client.get("/api/v1/_route_error", headers={"Accept-Language": "nl"})
        assert r.json()["detail"] == {"message": "Aanbesteding T-9 niet gevonden",
                                      "field": "ref"}
        assert "_params" not in r.text
