"""`sroi create-user` and `sroi demo-users`, and the error pages' promise of no traces."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.cli import main
from api.security import verify_password
from api.tables import User


def test_demo_users_are_idempotent(use_db: str, db_engine, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo-users"]) == 0
    assert main(["create-user", "inkoper@demo.sroi.nl", "--role", "officer",
                 "--organisation", "Gemeente Utrecht", "--password", "changed-pw-1"]) == 0
    assert main(["demo-users"]) == 0  # keeps the changed password
    out = capsys.readouterr().out
    assert "demo-sroi-2026" in out and "(behouden)" in out
    with Session(db_engine) as session:
        users = {u.role: u for u in session.exec(select(User))}
    assert set(users) == {"officer", "firm", "connector", "admin"}
    assert users["officer"].organisation == "Gemeente Utrecht"
    assert verify_password(users["officer"].password_hash, "changed-pw-1")
    assert verify_password(users["admin"].password_hash, "demo-sroi-2026")


def test_create_user_refuses_bad_input(use_db: str, db_engine, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["create-user", "not-an-email", "--role", "admin", "--password", "x" * 9]) == 2
    assert main(["create-user", "a@b.nl", "--role", "firm", "--password", "x" * 9]) == 2
    assert main(["create-user", "a@b.nl", "--role", "admin", "--password", "short"]) == 2
    assert "organisation" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["/boom", "/api/v1/boom"])
def test_unexpected_errors_show_no_trace(app, path: str) -> None:  # type: ignore[no-untyped-def]
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route(path, boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(path)
    assert r.status_code == 500
    assert "secret internals" not in r.text and "Traceback" not in r.text
    if path.startswith("/api/"):
        assert r.json()["detail"]["message"].startswith("Er ging iets mis")
    else:
        assert "Er ging iets mis" in r.text
