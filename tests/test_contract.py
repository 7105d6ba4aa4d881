"""The API's contract (issue #18): schemathesis over the app's own OpenAPI document, with
every phase (examples, coverage, fuzzing, stateful), every role, on SQLite and on
PostgreSQL, and the checks not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance, negative_data_rejection and
positive_data_acceptance (a request the schema allows is not refused: 2xx, or 401/403/404/
409 where the document says so), in every phase. The rule behind the last: 422 is for a
request that breaks the schema (so the schema can say it: pattern, enumeration, bounds,
format, or a rule in a field's description that ``tests/contract_hooks.py`` keeps); a
refusal that depends on what is stored or on today (a delivery outside the contract's
term, a reference to something in the wrong state) is a 409 with the error envelope, an
unknown reference a 404.

Each generated request is sent once per role (a bearer token each), so the roles share the
generation cost. The stateful phase follows the document's links (``api/openapi_links``):
create, then read, change, deliver, evaluate, delete what was created.
``tests/contract_hooks.py`` keeps schemathesis' valid requests to the rules the document
states in words (vocabularies, dates in order, lat with lon); its docstring says which.

CI runs few examples per operation (``CONTRACT_EXAMPLES``, default 2, and 5 times as many
stateful scenarios per role; the coverage phase's boundary cases come on top);
``make contract`` runs this module with 40 (see the Makefile). The schema is loaded at
module level (``from_asgi``): schemathesis 4's pytest fixture loader breaks under pytest 9
(shared/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

import tests.contract_hooks  # noqa: F401  (registers the hooks)
from api.app import create_app
from tests.conftest import POSTGRES_URL, _require_postgres
from tests.web.seed import seeded_api_database

MAX_EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "2"))
ROLES = ("admin", "officer", "firm", "connector")

app = create_app()
app.openapi()  # built once here: the loader's request times out after 10 s on a busy machine
schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection, positive_data_acceptance]
# Any bytes are a valid uploaded file by the schema (a binary string): schemathesis counts
# a file part reading "null" as a schema violation (negative_data_rejection), and the
# server reads the file's contents, which no JSON Schema describes: an import or a ledger
# that is no CSV, JSON or workbook of the documented columns is refused with 422 and
# every problem (positive_data_acceptance). On multipart bodies only the other checks apply.
UPLOAD_CHECKS = [c for c in CHECKS
                 if c is not negative_data_rejection and c is not positive_data_acceptance]

_TOKENS: dict[str, str] = {}


def _checks(case: schemathesis.Case) -> list[Any]:
    return UPLOAD_CHECKS if (case.media_type or "").startswith("multipart/") else CHECKS


def _auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_TOKENS[role]}"}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def contract_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """A seeded database for the module on each backend, with a token for every role."""
    import uuid

    from sqlalchemy import text

    from api.db import make_engine

    pg_schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'contract.db'}"
    else:
        _require_postgres()
        pg_schema = f"t_{uuid.uuid4().hex[:12]}"
        with make_engine(POSTGRES_URL).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{pg_schema}"'))
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{pg_schema}"
    from api.services import jobs

    with seeded_api_database(url, ROLES, _TOKENS):
        # Imports and ledger uploads run on the job queue: this process consumes it, as the
        # web process does with JOBS_INLINE=true (the ASGI app here runs no lifespan), so an
        # import asked to wait gets its report instead of waiting out its `wait` for a
        # worker that does not exist.
        jobs.start_inline()
        try:
            yield url
        finally:
            jobs.wait_idle()
            jobs.stop_inline()
    if pg_schema is not None:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{pg_schema}" CASCADE'))
        admin.dispose()


def test_every_create_links_to_its_lifecycle() -> None:
    """The stateful phase can only follow links the document has."""
    doc = app.openapi()
    for kind in ("enterprises", "tenders", "challenges", "obligations"):
        links = doc["paths"][f"/api/v1/{kind}"]["post"]["responses"]["201"]["links"]
        assert {"Get", "Replace", "Change", "Delete"} <= set(links), kind
    deliveries = doc["paths"]["/api/v1/obligations/{ref}/deliveries"]["post"]
    assert "Reverse" in deliveries["responses"]["201"]["links"]
    decisions = doc["paths"]["/api/v1/curation/decisions"]["post"]
    assert "Log" in decisions["responses"]["201"]["links"]


def test_every_4xx_is_the_error_envelope() -> None:
    """Every operation documents its client errors as {"detail": {"message", "field"}}."""
    doc = app.openapi()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status in ("401", "403", "404", "409", "422"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), (method, path, status)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_contract(case: schemathesis.Case, contract_db: str) -> None:
    # Every role on SQLite; on PostgreSQL (the same handlers, another driver) the widest
    # and the narrowest role, to keep CI's time (the stateful test runs every role on both).
    roles = ROLES if contract_db.startswith("sqlite") else ("admin", "firm")
    for role in roles:
        case.call_and_validate(headers=_auth(role), checks=_checks(case))


class _Workflow(schema.as_state_machine()):  # type: ignore[misc]
    role = "admin"
    # A failing step is recorded and the scenario goes on: hypothesis would replay the
    # failing scenario to report it, and the replay meets the rows the first run made (a
    # flaky strategy, which hides the failure). test_stateful reports what was recorded.
    failures: list[str]
    scenarios: list[int]  # [how many scenarios began]

    def setup(self) -> None:
        self.scenarios[0] += 1

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {"headers": _auth(self.role)}

    def validate_response(self, response: Any, case: schemathesis.Case,
                          additional_checks: Any = None, **kwargs: Any) -> None:
        try:
            case.validate_response(response, checks=_checks(case), transport_kwargs=kwargs)
        except (Failure, FailureGroup) as exc:
            found = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
            body = response.text[:500]
            self.failures.extend(
                f"{f.title} [{response.status_code}]: {f.message}\n  {body}\n"
                f"  {case.as_curl_command(headers={'Authorization': 'Bearer ' + self.role})}"
                for f in found)


@pytest.mark.parametrize("role", ROLES)
def test_stateful(role: str, contract_db: str) -> None:
    """Lifecycles through the links, as each role (others' objects answer 403/404)."""
    failures: list[str] = []
    scenarios = [0]
    workflow = type(f"Workflow_{role}", (_Workflow,),
                    {"role": role, "failures": failures, "scenarios": scenarios})
    # The scenarios share the module's database, so the same choices need not meet the
    # same answers: a ref read from a list was deleted since, a Challenge moved on. When
    # hypothesis replays a prefix of an earlier scenario (it does, to find new ones) and a
    # link has nothing to follow now, it stops with FlakyStrategyDefinition; the run is
    # then continued with a fresh one until the scenarios are done. Generation only, no
    # replay or shrinking, for the same reason; failures are collected (_Workflow).
    target, restarts = MAX_EXAMPLES * 5, 0
    while scenarios[0] < target:
        try:
            workflow.run(settings=settings(
                max_examples=target - scenarios[0], stateful_step_count=6, deadline=None,
                phases=[Phase.generate], database=None,
                suppress_health_check=list(HealthCheck)))
        except FlakyStrategyDefinition:
            restarts += 1
            assert restarts <= target, "hypothesis keeps finding the strategy flaky"
        else:
            break
    assert not failures, f"{len(failures)} failing steps in {scenarios[0]} scenarios:\n\n" \
        + "\n\n".join(failures)
