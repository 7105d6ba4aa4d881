"""Hand-written abuse of the JSON API: what schemathesis does not generate — bodies that
are not JSON at all, huge strings and huge bodies, deeply nested JSON, strange query
strings, huge path parameters — sent to every operation of the app's own OpenAPI schema
(so routes added later are covered without editing this file), with a real bearer token.

The schemathesis run (every phase, every role, SQLite and PostgreSQL) is
tests/test_contract.py. The database is one seeded SQLite file per module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.web.seed import seeded_api_database

# The app object only serves the schema here; requests run against the seeded
# database that the module fixture points DATABASE_URL at.
app = create_app()
app.openapi()  # built once, at import

_TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A seeded SQLite database for the whole module, with tokens for admin and officer."""

    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    url = f"sqlite:///{path}"
    with seeded_api_database(url, ("admin", "officer"), _TOKENS):
        yield url


def _auth(who: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {_TOKENS[who]}"}


def test_schema_has_operations() -> None:
    """The schema is the app's, and it is not empty (else the fuzzing below tests nothing)."""
    paths = app.openapi()["paths"]
    assert "/api/v1/enterprises" in paths and "/api/v1/search" in paths
    assert sum(len(ops) for ops in paths.values()) >= 10


# The schemathesis run itself (every phase, every role, both databases) is
# tests/test_contract.py; this module keeps what schemathesis does not generate.


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
