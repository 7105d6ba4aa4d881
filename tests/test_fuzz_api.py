"""Fuzzing the JSON API with schemathesis against the app's own OpenAPI schema.

Every operation the schema contains (so routes added later are covered without
editing this file) gets generated requests — valid ones and deliberately invalid
ones (wrong types, missing fields, unknown fields, strings where numbers belong) —
sent with a real bearer token so they reach the handlers. Checks: never a 5xx,
every status code and body conforms to the schema, invalid input is refused.

Hand-written cases add what schemathesis does not generate: bodies that are not
JSON at all, huge strings and huge bodies, and deeply nested JSON.

The schema is loaded at module level (``schemathesis.openapi.from_asgi``): the
pytest fixture loader of schemathesis 4 breaks under pytest 9 (shared/README.md).
The database is one seeded SQLite file per module; the examples per operation are
bounded (``MAX_EXAMPLES``) so the whole file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session, SQLModel, select

from api.app import create_app
from api.db import engine_for
from api.security import new_api_token
from api.tables import User
from tests.web.seed import USERS, seed

MAX_EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "5"))

# The app object only serves the schema here; requests run against the seeded
# database that the module fixture points DATABASE_URL at.
app = create_app()
app.openapi()  # built once here: the loader's request times out after 10 s on a busy machine
schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
# The officer pass is for the other branches (403/404 on others' objects): random
# fuzzing only; the admin pass above also runs the coverage phase (boundary values,
# wrong types, missing fields for every parameter).
officer_schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
officer_schema.config.phases.coverage.enabled = False

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]

# Any bytes are a valid uploaded file, but schemathesis counts a file part reading "null"
# as a schema violation: on multipart bodies only the other checks apply.
UPLOAD_CHECKS = [c for c in CHECKS if c is not negative_data_rejection]

_TOKENS: dict[str, str] = {}


def _checks(case: schemathesis.Case) -> list[Any]:
    return UPLOAD_CHECKS if (case.media_type or "").startswith("multipart/") else CHECKS


@pytest.fixture(scope="module", autouse=True)
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded SQLite database for the whole module, with tokens for admin and officer."""
    from api import settings as api_settings

    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    url = f"sqlite:///{path}"
    engine = engine_for(url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        seed(session)
        for who in ("admin", "officer"):
            token, digest = new_api_token()
            user = session.exec(select(User).where(User.email == USERS[who][0])).one()
            user.api_token_hash = digest
            session.add(user)
            _TOKENS[who] = token
        session.commit()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("TODAY", "2026-06-01")
        api_settings.get_settings.cache_clear()
        yield url
    api_settings.get_settings.cache_clear()
    engine.dispose()
    engine_for.cache_clear()


def _auth(who: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {_TOKENS[who]}"}


def test_schema_has_operations() -> None:
    """The schema is the app's, and it is not empty (else the fuzzing below tests nothing)."""
    paths = app.openapi()["paths"]
    assert "/api/v1/enterprises" in paths and "/api/v1/search" in paths
    assert sum(len(ops) for ops in paths.values()) >= 10


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_as_admin(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=_auth("admin"), checks=_checks(case))


@officer_schema.parametrize()
@settings(max_examples=max(2, MAX_EXAMPLES // 2), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_as_officer(case: schemathesis.Case) -> None:
    """A restricted role takes other branches (403/404 on others' objects)."""
    case.call_and_validate(headers=_auth("officer"), checks=_checks(case))


# ------------------------------------------------------------- hand-written abuse

def _operations() -> list[tuple[str, str, bool]]:
    """(method, concrete path, takes a JSON body) for every operation in the schema."""
    out = []
    for path, ops in app.openapi()["paths"].items():
        # Any path parameter: a plausible value (an enterprise ref fits most of them).
        concrete = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: {"fmt": "ocds", "version": "1"}.get(
            m.group(1), "E-001"), path)
        for method, op in ops.items():
            body = "requestBody" in op
            out.append((method.upper(), concrete, body))
    return out


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _assert_clean_error(r: Any, method: str, path: str) -> None:
    assert r.status_code < 500, f"{method} {path}: {r.status_code} {r.text[:300]}"
    if r.status_code >= 400:
        body = r.json()
        assert isinstance(body["detail"]["message"], str) and body["detail"]["message"]
        assert "Traceback" not in r.text


BROKEN_BODIES: list[tuple[str, bytes]] = [
    ("truncated", b'{"ref": "X-1", "name": '),
    ("not json", b"this is not json at all"),
    ("invalid utf-8", b'{"ref": "\xff\xfe"}'),
    ("nul bytes", b'{"ref": "A\\u0000B", "name": "\\u0000"}'),
    ("wrong top-level type", b'[1, 2, 3]'),
    ("number", b"12345678901234567890123456789"),
    ("deep nesting", b'{"extra": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("huge string", json.dumps({"ref": "X-1", "name": "x" * 2_000_000,
                                "description": "y" * 100_000}).encode()),
    ("unknown fields", json.dumps({"ref": "X-1", "nmae": "typo", "__proto__": {},
                                   "constructor": 1}).encode()),
    ("wrong types", json.dumps({"ref": 12, "name": ["a"], "cpv": "90911200",
                                "lat": "north", "capacity": 5}).encode()),
    ("nan", b'{"ref": "X-1", "lat": NaN, "lon": Infinity}'),
]


@pytest.mark.parametrize("label,body", BROKEN_BODIES, ids=[b[0] for b in BROKEN_BODIES])
def test_broken_bodies_are_clean_4xx(client: TestClient, label: str, body: bytes) -> None:
    for method, path, takes_body in _operations():
        if not takes_body:
            continue
        r = client.request(method, path, content=body,
                           headers={**_auth(), "Content-Type": "application/json"})
        _assert_clean_error(r, method, path)
        assert r.status_code >= 400, f"{label}: {method} {path} accepted {r.status_code}"


def test_huge_and_strange_query_strings(client: TestClient) -> None:
    values = ["x" * 8_000, "\u0000", "%", "' OR 1=1 --", "😀" * 500, "-1", "1e309", "[]"]
    for method, path, _ in _operations():
        if method != "GET":
            continue
        for value in values:
            params = {"q": value, "page": value, "per_page": value, "km": value,
                      "cpv": value, "municipality": value, "limit": value}
            r = client.get(path, params=params, headers=_auth())
            _assert_clean_error(r, method, path)


def test_huge_path_parameter(client: TestClient) -> None:
    for method, path, _ in _operations():
        if "E-001" not in path:
            continue
        # One huge parameter per request (two would pass the client's 64 KiB URL limit).
        r = client.request(method, path.replace("E-001", "Z" * 50_000, 1), headers=_auth(),
                           json={} if method in ("POST", "PUT", "PATCH") else None)
        _assert_clean_error(r, method, path)
