"""Services raise domain errors without HTTP codes (api/errors.py); the web layer maps each
class to its status in one place (api/web/errors.py) and keeps the error envelope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from api.web.errors import http_status


class _Subclassed(NotFound):
    """A service's own error class keeps its base's status."""


@pytest.mark.parametrize(("cls", "status"), [
    (NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 422), (_Subclassed, 404),
    (DomainError, 422)])
def test_each_class_has_its_status(cls: type[DomainError], status: int) -> None:
    assert http_status(cls("field", "Iets klopt niet.")) == status


def test_message_params_and_field() -> None:
    exc = NotFound("ref", "Onbekende verplichting {ref}.", ref="O-9")
    assert str(exc) == "Onbekende verplichting O-9."
    assert (exc.field, exc.message, exc.params) == ("ref", "Onbekende verplichting {ref}.",
                                                    {"ref": "O-9"})
    assert isinstance(exc, ValueError)  # callers that catch ValueError keep working


@pytest.mark.parametrize(("cls", "status"), [(NotFound, 404), (Forbidden, 403),
                                             (Conflict, 409), (Invalid, 422)])
def test_an_uncaught_domain_error_answers_with_its_status(cls: type[DomainError],
                                                          status: int) -> None:
    app = create_app()

    @app.get("/api/v1/_raise")
    def _api() -> None:
        raise cls("top_k", "Aantal resultaten moet tussen 1 en {max} liggen.", max=50)

    @app.get("/_raise")
    def _page() -> None:
        raise cls(None, "Onbekende onderneming.")

    with TestClient(app) as client:
        r = client.get("/api/v1/_raise")
        assert r.status_code == status
        assert r.json() == {"detail": {"message": "Aantal resultaten moet tussen 1 en 50 liggen.",
                                       "field": "top_k"}}
        page = client.get("/_raise?lang=en")
        assert page.status_code == status
        assert "text/html" in page.headers["content-type"]
        assert "Unknown enterprise." in page.text
        assert "Traceback" not in page.text
