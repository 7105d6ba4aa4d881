"""Access control over EVERY route of the app × every role.

``MATRIX`` names, for each route (``"METHOD /path"`` as the app declares it), the
concrete request to send and which roles may get through. The routes are
enumerated from ``app.routes``: a route missing from the table (a page added
later) fails ``test_every_route_is_in_the_matrix`` until someone decides who may
use it. Roles:

    A anonymous             O officer of Gemeente Utrecht   o officer of Gemeente Amsterdam
    F firm De Vries (A)     f firm Schoonmaak Holland (B)   C connector      D admin

"Denied" is 401/403/404 (another organisation's object answers 404, not revealing
that it exists), or for pages a redirect to /login. "Allowed" is anything else
below 500 — a 422 for a body this test does not bother to fill in still proves the
request got past the access checks.

The objects are the seed's (tests/web/seed.py): T-UTR-3 is a DRAFT tender of
Utrecht (no firm has an obligation under it), O-1 is firm A's obligation under
Utrecht's T-UTR-1, E-000 is a REJECTED enterprise (connectors' work queue only),
C-1 a Challenge of Utrecht.

The full matrix runs on SQLite, each writing request on a fresh copy of the seeded
database; the tenant-isolation checks (drafts, obligations, lists) also run on
PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

from api.services import import_jobs, learning_jobs
from tests.web.conftest import CSRF_RE, do_login
from tests.web.seed import FIRM_A, PASSWORD, USERS, UTRECHT, seed

ROLES = {"A": None, "O": "officer", "o": "officer2", "F": "firm", "f": "firm2",
         "C": "connector", "D": "admin"}
ALL = "AOoFfCD"
USERS_ALL = "OoFfCD"
STAFF = "CD"

ENT = {"name": "Nieuw Werkbedrijf", "description": "Schoonmaak met leerwerkplekken",
       "cpv": ["90911200"], "municipality": "Utrecht"}
TENDER = {"buyer": UTRECHT, "title": "Nieuwe schoonmaak", "cpv": ["90911200"],
          "contract_value_eur": 100000, "sroi": {"percentage": 5}}
CHALLENGE = {"municipality": "Utrecht", "title": "Nieuwe vraag", "question": "Hoe?"}
OBLIGATION = {"firm": FIRM_A, "tender": "T-UTR-1", "amount_eur": 1000.0}


@dataclass(frozen=True)
class Rule:
    path: str  # the concrete request path
    allowed: str  # role letters that get through
    json: Any = None  # JSON body (API writes)
    form: dict[str, Any] = field(default_factory=dict)  # form fields (page posts)
    files: bool = False  # multipart upload
    file_field: str = "files"  # the upload's form field
    # Public forms (login, logout): anyone gets through; only CSRF and 5xx are checked.
    public: bool = False


def R(path: str, allowed: str, **kw: Any) -> Rule:  # noqa: N802 - reads as a table
    return Rule(path, allowed, **kw)


MATRIX: dict[str, Rule] = {
    # --- documentation and login: public
    "GET /api/openapi.json": R("/api/openapi.json", ALL),
    "GET /api/docs": R("/api/docs", ALL),
    "GET /toegankelijkheid": R("/toegankelijkheid", ALL),
    "GET /health": R("/health", ALL),  # a load balancer's check: no login
    "GET /login": R("/login", ALL),
    "POST /login": R("/login", ALL, form={"email": "nobody@test.nl", "password": "wrong"},
                     public=True),
    "GET /logout": R("/logout", ALL, public=True),
    "POST /logout": R("/logout", ALL, public=True),
    # --- every logged-in user
    "GET /account": R("/account", USERS_ALL),
    "POST /account/token": R("/account/token", USERS_ALL),
    "POST /account/token/revoke": R("/account/token/revoke", USERS_ALL),
    # Changing one's own password (a wrong current password proves the way in: 422).
    "POST /account/password": R("/account/password", USERS_ALL,
                                form={"current_password": "wrong"}),
    # Notifications: one's own, every logged-in user.
    "GET /meldingen": R("/meldingen", USERS_ALL),
    "POST /meldingen/gelezen": R("/meldingen/gelezen", USERS_ALL, form={"all": "1"}),
    "GET /api/v1/notifications": R("/api/v1/notifications", USERS_ALL),
    # Users and organisations: admins only (an invalid form proves the way in: 422).
    "GET /beheer": R("/beheer", "D"),
    "GET /beheer/gebruikers/nieuw": R("/beheer/gebruikers/nieuw", "D"),
    "POST /beheer/gebruikers/nieuw": R("/beheer/gebruikers/nieuw", "D", form={"email": ""}),
    "GET /beheer/gebruikers/{user_id}": R("/beheer/gebruikers/1", "D"),
    "POST /beheer/gebruikers/{user_id}": R("/beheer/gebruikers/1", "D", form={"role": ""}),
    "GET /": R("/", USERS_ALL),
    "GET /dashboard": R("/dashboard", USERS_ALL),
    "GET /dashboard/{table}.csv": R("/dashboard/matches_by_month.csv", USERS_ALL),
    # --- enterprises: search for all; the rejected E-000 only for connectors/admins
    "GET /enterprises": R("/enterprises", USERS_ALL),
    "GET /enterprises/export.csv": R("/enterprises/export.csv", USERS_ALL),
    "GET /enterprises/{ref}": R("/enterprises/E-000", STAFF),
    "POST /enterprises/{ref}/delete": R("/enterprises/E-000/delete", STAFF),
    # The enterprise form: connectors and admins (an empty name proves the way in: 422).
    "GET /enterprises/new": R("/enterprises/new", STAFF),
    "POST /enterprises/new": R("/enterprises/new", STAFF, form={"name": ""}),
    "GET /enterprises/{ref}/edit": R("/enterprises/E-000/edit", STAFF),
    "POST /enterprises/{ref}/edit": R("/enterprises/E-000/edit", STAFF, form={"name": ""}),
    "GET /api/v1/enterprises": R("/api/v1/enterprises", USERS_ALL),
    "GET /api/v1/enterprises/{ref:path}": R("/api/v1/enterprises/E-000", STAFF),
    "POST /api/v1/enterprises": R("/api/v1/enterprises", STAFF, json={"ref": "E-NEW", **ENT}),
    "PUT /api/v1/enterprises/{ref:path}": R("/api/v1/enterprises/E-000", STAFF, json=ENT),
    "PATCH /api/v1/enterprises/{ref:path}": R("/api/v1/enterprises/E-000", STAFF, json={}),
    "DELETE /api/v1/enterprises/{ref:path}": R("/api/v1/enterprises/E-000", STAFF),
    "GET /api/v1/search": R("/api/v1/search?q=schoonmaak", USERS_ALL),
    "GET /api/v1/cpv": R("/api/v1/cpv?q=9091", ALL),  # public reference data
    # --- import / export
    # Officers import their own published tenders on the page too (not interchange).
    "GET /import": R("/import", "OoCD"),
    "GET /import/template/{name}": R("/import/template/enterprises.csv", "OoCD"),
    "POST /import": R("/import", "OoCD", files=True),
    # An import job is seen only by who started it (the connector here) and admins.
    "GET /import/jobs/{job_id}": R("/import/jobs/matrix-job", STAFF),
    "POST /import/jobs/{job_id}/confirm": R("/import/jobs/matrix-job/confirm", STAFF),
    "POST /import/jobs/{job_id}/cancel": R("/import/jobs/matrix-job/cancel", STAFF),
    "GET /api/v1/import/jobs/{job_id}": R("/api/v1/import/jobs/matrix-job", STAFF),
    "POST /api/v1/import/jobs/{job_id}/confirm": R("/api/v1/import/jobs/matrix-job/confirm",
                                                   STAFF),
    "DELETE /api/v1/import/jobs/{job_id}": R("/api/v1/import/jobs/matrix-job", STAFF),
    "POST /api/v1/import": R("/api/v1/import", STAFF, files=True),
    # Officers import their published tenders (OCDS/eForms) themselves.
    "POST /api/v1/import/{fmt}": R("/api/v1/import/ocds", "OoCD", files=True),
    "GET /api/v1/export": R("/api/v1/export", USERS_ALL),  # filtered to what each may see
    # --- tenders: T-UTR-3 is Utrecht's draft
    "GET /tenders": R("/tenders", USERS_ALL),
    "GET /tenders/export.csv": R("/tenders/export.csv", USERS_ALL),
    "GET /tenders/new": R("/tenders/new", "OoCD"),
    "POST /tenders/new": R("/tenders/new", "OoCD", form={"title": ""}),
    "GET /tenders/{ref}": R("/tenders/T-UTR-3", "OCD"),
    "GET /tenders/{ref}/matchrapport.pdf": R("/tenders/T-UTR-3/matchrapport.pdf", "OCD"),
    "GET /tenders/{ref}/edit": R("/tenders/T-UTR-3/edit", "OCD"),
    "POST /tenders/{ref}/edit": R("/tenders/T-UTR-3/edit", "OCD", form={"title": ""}),
    "POST /tenders/{ref}/delete": R("/tenders/T-UTR-3/delete", "OCD"),
    "GET /api/v1/tenders": R("/api/v1/tenders", USERS_ALL),
    "GET /api/v1/tenders/{ref:path}": R("/api/v1/tenders/T-UTR-3", "OCD"),
    "POST /api/v1/tenders": R("/api/v1/tenders", "OCD", json={"ref": "T-NEW", **TENDER}),
    "PUT /api/v1/tenders/{ref:path}": R("/api/v1/tenders/T-UTR-3", "OCD", json=TENDER),
    "PATCH /api/v1/tenders/{ref:path}": R("/api/v1/tenders/T-UTR-3", "OCD", json={}),
    "DELETE /api/v1/tenders/{ref:path}": R("/api/v1/tenders/T-UTR-3", "OCD"),  # own buyer
    "GET /api/v1/tenders/{ref:path}/matches": R("/api/v1/tenders/T-UTR-3/matches", "OCD"),
    "GET /api/v1/tenders/{ref:path}/feasibility": R("/api/v1/tenders/T-UTR-3/feasibility", "OCD"),
    "GET /api/v1/tenders/{ref:path}/why-not/{enterprise_ref:path}": R(
        "/api/v1/tenders/T-UTR-3/why-not/E-001", "OCD"),
    # --- obligations: O-1 is firm A's, under Utrecht's T-UTR-1
    "GET /obligations": R("/obligations", USERS_ALL),
    "GET /obligations/export.csv": R("/obligations/export.csv", USERS_ALL),
    "GET /obligations/{ref}": R("/obligations/O-1", "OFCD"),
    "GET /obligations/{ref}/rapport.pdf": R("/obligations/O-1/rapport.pdf", "OFCD"),
    # The obligation form (its terms): the buyer's officers, connectors, admins; never a
    # firm. Amsterdam's officer may open the form but not file under Utrecht's T-UTR-1.
    "GET /obligations/new": R("/obligations/new", "OoCD"),
    "POST /obligations/new": R("/obligations/new", "OCD", form={"tender": "T-UTR-1"}),
    "GET /obligations/{ref}/edit": R("/obligations/O-1/edit", "OCD"),
    "POST /obligations/{ref}/edit": R("/obligations/O-1/edit", "OCD",
                                      form={"tender": "T-UTR-1"}),
    "POST /obligations/{ref}/plan": R("/obligations/O-1/plan", "FCD"),
    "POST /obligations/{ref}/deliveries": R("/obligations/O-1/deliveries", "FCD"),
    "POST /obligations/{ref}/commit": R("/obligations/O-1/commit", "FCD"),
    "POST /obligations/{ref}/uncommit": R("/obligations/O-1/uncommit", "FCD",
                                          form={"reason": "capaciteit vervallen"}),
    "POST /api/v1/obligations/{ref:path}/plan/commit": R("/api/v1/obligations/O-1/plan/commit",
                                                    "FCD"),
    "POST /api/v1/obligations/{ref:path}/plan/uncommit": R(
        "/api/v1/obligations/O-1/plan/uncommit", "FCD", json={"reason": "capaciteit vervallen"}),
    "GET /obligations/{ref}/deliveries.csv": R("/obligations/O-1/deliveries.csv", "OFCD"),
    # Delivery 1 is O-1's first (E-001); evidence 1 is kept with it (the world fixture).
    "POST /obligations/{ref}/deliveries/{delivery_id}/reversal": R(
        "/obligations/O-1/deliveries/1/reversal", "FCD", form={"reason": "dubbel ingevoerd"}),
    "GET /obligations/{ref}/evidence/{evidence_id}": R("/obligations/O-1/evidence/1", "OFCD"),
    "POST /api/v1/obligations/{ref:path}/deliveries/{delivery_id}/reversal": R(
        "/api/v1/obligations/O-1/deliveries/1/reversal", "FCD",
        json={"reason": "dubbel ingevoerd"}),
    "POST /api/v1/obligations/{ref:path}/deliveries/{delivery_id}/evidence": R(
        "/api/v1/obligations/O-1/deliveries/1/evidence", "FCD", files=True, file_field="file"),
    "GET /api/v1/obligations/{ref:path}/evidence/{evidence_id}": R(
        "/api/v1/obligations/O-1/evidence/1", "OFCD"),
    "GET /api/v1/obligations": R("/api/v1/obligations", USERS_ALL),
    "GET /api/v1/obligations/{ref:path}": R("/api/v1/obligations/O-1", "OFCD"),
    # Firms may not create obligations nor set their terms (see the field table below);
    # officers only under their own buyer's tenders.
    "POST /api/v1/obligations": R("/api/v1/obligations", "OCD",
                                  json={"ref": "O-NEW", **OBLIGATION}),
    "PUT /api/v1/obligations/{ref:path}": R("/api/v1/obligations/O-1", "OCD", json=OBLIGATION),
    "PATCH /api/v1/obligations/{ref:path}": R("/api/v1/obligations/O-1", "OFCD", json={}),
    "DELETE /api/v1/obligations/{ref:path}": R("/api/v1/obligations/O-1", STAFF),
    "GET /api/v1/obligations/{ref:path}/plan": R("/api/v1/obligations/O-1/plan", "OFCD"),
    "PUT /api/v1/obligations/{ref:path}/plan": R("/api/v1/obligations/O-1/plan", "FCD",
                                            json={"rows": []}),
    "GET /api/v1/obligations/{ref:path}/deliveries": R("/api/v1/obligations/O-1/deliveries",
                                                  "OFCD"),
    "POST /api/v1/obligations/{ref:path}/deliveries": R(
        "/api/v1/obligations/O-1/deliveries", "FCD",
        json={"enterprise_ref": "E-001", "on": "2026-05-15", "amount_eur": 100}),
    # --- connectors' work: curation, vetting, weights
    "GET /curation": R("/curation", STAFF),
    "GET /curation/export.csv": R("/curation/export.csv", STAFF),
    "POST /curation/decide": R("/curation/decide", STAFF),
    "GET /curation/log": R("/curation/log", STAFF),
    "GET /curation/log.csv": R("/curation/log.csv", STAFF),
    "POST /api/v1/curation/decisions": R("/api/v1/curation/decisions", STAFF, json={}),
    "GET /api/v1/curation/queue": R("/api/v1/curation/queue", STAFF),
    "GET /api/v1/curation/log": R("/api/v1/curation/log", STAFF),
    "GET /vetting": R("/vetting", STAFF),
    "GET /vetting/export.csv": R("/vetting/export.csv", STAFF),
    "GET /vetting/{ref}": R("/vetting/E-005", STAFF),
    "GET /vetting/{ref}/history.csv": R("/vetting/E-001/history.csv", STAFF),
    "POST /vetting/{ref}": R("/vetting/E-005", STAFF),
    "GET /api/v1/vetting/queue": R("/api/v1/vetting/queue", STAFF),
    "GET /api/v1/vetting/{enterprise_ref:path}/events": R("/api/v1/vetting/E-001/events", STAFF),
    "POST /api/v1/vetting/{enterprise_ref:path}": R("/api/v1/vetting/E-005", STAFF, json={}),
    "GET /weights": R("/weights", STAFF),
    "POST /weights/{version}/activate": R("/weights/1/activate", STAFF),
    "GET /api/v1/weights": R("/api/v1/weights", STAFF),
    "POST /weights/learn": R("/weights/learn", STAFF),
    "GET /api/v1/weights/learn": R("/api/v1/weights/learn", STAFF),
    # --- background jobs (a bad kind proves the way in without starting one: 422)
    "GET /jobs": R("/jobs", STAFF),
    "POST /jobs": R("/jobs", STAFF, form={"kind": "none"}),
    "GET /jobs/{job_id}": R("/jobs/job-seeded", STAFF),
    "POST /jobs/{job_id}/cancel": R("/jobs/job-seeded/cancel", STAFF),
    "POST /api/v1/jobs": R("/api/v1/jobs", STAFF, json={"kind": "none"}),
    "GET /api/v1/jobs": R("/api/v1/jobs", STAFF),
    "GET /api/v1/jobs/{job_id}": R("/api/v1/jobs/job-seeded", STAFF),
    "POST /api/v1/jobs/{job_id}/cancel": R("/api/v1/jobs/job-seeded/cancel", STAFF),
    "GET /api/v1/rankings/{tender_ref}": R("/api/v1/rankings/T-UTR-1", STAFF),
    # --- spend analysis: ledger 1 is firm A's; only that firm and connectors see it
    "GET /ledgers": R("/ledgers", "FfC"),
    "POST /ledgers": R("/ledgers", "FfC", files=True, file_field="file"),
    "GET /ledgers/{ledger_id}": R("/ledgers/1", "FC"),
    "GET /ledgers/{ledger_id}/export.csv": R("/ledgers/1/export.csv", "FC"),
    "POST /ledgers/{ledger_id}/lines/{line_id}": R("/ledgers/1/lines/1", "FC",
                                                   form={"cpv": "90919200"}),
    "POST /ledgers/{ledger_id}/switches": R("/ledgers/1/switches", "FC"),
    "POST /ledgers/{ledger_id}/delete": R("/ledgers/1/delete", "FC"),
    "GET /api/v1/ledgers": R("/api/v1/ledgers", "FfC"),
    "POST /api/v1/ledgers": R("/api/v1/ledgers", "FfC", files=True, file_field="file"),
    "GET /api/v1/ledgers/{ledger_id}": R("/api/v1/ledgers/1", "FC"),
    "GET /api/v1/ledgers/{ledger_id}/lines": R("/api/v1/ledgers/1/lines", "FC"),
    "POST /api/v1/ledgers/{ledger_id}/corrections": R(
        "/api/v1/ledgers/1/corrections", "FC", json={"line": 1, "cpv": "90919200"}),
    "POST /api/v1/ledgers/{ledger_id}/switches": R("/api/v1/ledgers/1/switches", "FC",
                                                   json={"switches": []}),
    "DELETE /api/v1/ledgers/{ledger_id}": R("/api/v1/ledgers/1", "FC"),
    # Who has access (ledger_access; grant 1: firm A -> the connector): the firm and
    # connectors and admins see it; only the firm itself grants and revokes its own.
    "GET /ledgers/access": R("/ledgers/access", "FfCD"),
    "POST /ledgers/access": R("/ledgers/access", "Ff", form={"connector": ""}),
    "POST /ledgers/access/{grant_id}/revoke": R("/ledgers/access/1/revoke", "F"),
    "GET /api/v1/ledgers/access": R("/api/v1/ledgers/access", "FfCD"),
    "POST /api/v1/ledgers/access": R("/api/v1/ledgers/access", "Ff",
                                     json={"connector": USERS["connector"][0]}),
    "DELETE /api/v1/ledgers/access/{grant_id}": R("/api/v1/ledgers/access/1", "F"),
    # A ledger upload's job: only who started it (firm A here).
    "GET /ledgers/jobs/{job_id}": R("/ledgers/jobs/matrix-ledger-job", "F"),
    "POST /ledgers/jobs/{job_id}/cancel": R("/ledgers/jobs/matrix-ledger-job/cancel", "F"),
    "GET /api/v1/ledgers/jobs/{job_id}": R("/api/v1/ledgers/jobs/matrix-ledger-job", "F"),
    "DELETE /api/v1/ledgers/jobs/{job_id}": R("/api/v1/ledgers/jobs/matrix-ledger-job", "F"),
    # --- Challenges: public calls, readable by every user; C-1 is Utrecht's
    "GET /challenges": R("/challenges", USERS_ALL),
    "GET /challenges/export.csv": R("/challenges/export.csv", USERS_ALL),
    "GET /challenges/{ref}": R("/challenges/C-1", USERS_ALL),
    "POST /challenges/{ref}/status": R("/challenges/C-1/status", STAFF),
    "GET /api/v1/challenges": R("/api/v1/challenges", USERS_ALL),
    "GET /api/v1/challenges/{ref:path}": R("/api/v1/challenges/C-1", USERS_ALL),
    "POST /api/v1/challenges": R("/api/v1/challenges", "OCD",
                                 json={"ref": "C-NEW", **CHALLENGE}),
    "PUT /api/v1/challenges/{ref:path}": R("/api/v1/challenges/C-1", "OCD", json=CHALLENGE),
    "PATCH /api/v1/challenges/{ref:path}": R("/api/v1/challenges/C-1", "OCD", json={}),
    "DELETE /api/v1/challenges/{ref:path}": R("/api/v1/challenges/C-1", STAFF),
    "GET /api/v1/challenges/{ref:path}/matches": R("/api/v1/challenges/C-1/matches", USERS_ALL),
    "PATCH /api/v1/challenges/{ref:path}/status": R("/api/v1/challenges/C-1/status", STAFF,
                                               json={}),
    "POST /api/v1/challenges/{ref:path}/status": R("/api/v1/challenges/C-1/status", STAFF,
                                              json={}),
    # The workflow: connectors run it (users are not linked to enterprises, so a pitch is
    # entered by a connector on the enterprise's behalf); everyone reads it.
    "GET /challenges/new": R("/challenges/new", STAFF),
    "POST /challenges/new": R("/challenges/new", STAFF, form={"title": ""}),
    "GET /challenges/{ref}/edit": R("/challenges/C-1/edit", STAFF),
    "POST /challenges/{ref}/edit": R("/challenges/C-1/edit", STAFF, form={"title": ""}),
    "POST /challenges/{ref}/pitches": R("/challenges/C-1/pitches", STAFF),
    "POST /challenges/{ref}/pilots": R("/challenges/C-1/pilots", STAFF),
    "POST /challenges/{ref}/pilots/{pilot_id}/evaluation": R(
        "/challenges/C-1/pilots/1/evaluation", STAFF),
    "POST /challenges/{ref}/close": R("/challenges/C-1/close", STAFF),
    "GET /api/v1/challenges/{ref:path}/pitches": R("/api/v1/challenges/C-1/pitches", USERS_ALL),
    "POST /api/v1/challenges/{ref:path}/pitches": R("/api/v1/challenges/C-1/pitches", STAFF,
                                               json={}),
    "GET /api/v1/challenges/{ref:path}/pilots": R("/api/v1/challenges/C-1/pilots", USERS_ALL),
    "POST /api/v1/challenges/{ref:path}/pilots": R("/api/v1/challenges/C-1/pilots", STAFF,
                                              json={}),
    "POST /api/v1/challenges/{ref:path}/pilots/{pilot_id}/evaluation": R(
        "/api/v1/challenges/C-1/pilots/1/evaluation", STAFF, json={}),
}


def app_routes(application: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD and the static mount aside)."""
    from fastapi.routing import _IncludedRouter

    out: list[tuple[str, str]] = []
    for r in application.routes:
        if isinstance(r, _IncludedRouter):
            for c in r.effective_route_contexts():
                out += [(m, c.path) for m in c.methods or () if m != "HEAD"]
        elif getattr(r, "methods", None):
            out += [(m, r.path) for m in r.methods if m != "HEAD"]
    return sorted(set(out))


# ------------------------------------------------------------------ the SQLite matrix

@dataclass
class World:
    app: Any
    db: Path
    template: Path
    url: str
    cookies: dict[str, dict[str, str]]  # role letter -> session cookies
    csrf: dict[str, str]
    tokens: dict[str, str]

    def reset(self) -> None:
        """A fresh copy of the seeded database (after a write)."""
        from api.db import engine_for

        engine_for(self.url).dispose()
        for suffix in ("-wal", "-shm"):
            Path(str(self.db) + suffix).unlink(missing_ok=True)
        shutil.copyfile(self.template, self.db)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from api import settings as api_settings
    from api.db import engine_for
    from api.security import new_api_token
    from api.tables import (
        DeliveryEvidence,
        ImportJob,
        LedgerAccess,
        LedgerLineRow,
        LedgerRow,
        User,
    )

    d = tmp_path_factory.mktemp("matrix")
    template, db = d / "template.db", d / "work.db"
    url = f"sqlite:///{db}"
    engine = engine_for(f"sqlite:///{template}")
    SQLModel.metadata.create_all(engine)
    tokens: dict[str, str] = {}
    with Session(engine) as s:
        seed(s)
        s.add(DeliveryEvidence(delivery_id=1, filename="factuur.pdf", media_type="application/pdf",
                               size=9, sha256="0" * 64, data=b"%PDF-1.4\n", uploaded_by="seed"))
        s.add(LedgerRow(firm=FIRM_A, filename="grootboek.csv", sha256="0" * 64,
                        uploaded_by="seed"))
        s.add(LedgerLineRow(ledger_id=1, row=2, supplier="Glans B.V.", supplier_key="glans",
                            booked_on=date(2025, 1, 6), amount_eur=400.0, cpv="90919200"))
        connector = s.exec(select(User).where(User.email == USERS["connector"][0])).one()
        firm_a = s.exec(select(User).where(User.email == USERS["firm"][0])).one()
        s.add(LedgerAccess(firm=FIRM_A, connector_id=connector.id, granted_by="seed"))
        s.add(ImportJob(id="matrix-ledger-job", created_by=firm_a.id or 0, format="ledger",
                        mode="write", state="failed", error="x.csv: niet ingelezen",
                        report={"error": "x.csv: niet ingelezen", "problems": []}))
        s.add(ImportJob(id="matrix-job", created_by=connector.id or 0, format="interchange",
                        state="preview_ready", report={"files": []}))
        for letter, who in ROLES.items():
            if who is None:
                continue
            token, digest = new_api_token()
            user = s.exec(select(User).where(User.email == USERS[who][0])).one()
            user.api_token_hash = digest
            s.add(user)
            tokens[letter] = token
        s.commit()
    engine.dispose()
    engine_for.cache_clear()
    shutil.copyfile(template, db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("TODAY", "2026-06-01")
        mp.setenv("SECRET_KEY", "matrix-test-secret")
        mp.setenv("LOGIN_RATE_LIMIT_PER_MINUTE", "1000")
        api_settings.get_settings.cache_clear()
        from api.app import create_app

        application = create_app()
        cookies: dict[str, dict[str, str]] = {}
        csrf: dict[str, str] = {}
        with TestClient(application, follow_redirects=False) as c:
            for letter, who in ROLES.items():
                c.cookies.clear()
                if who is not None:
                    assert do_login(c, who).status_code == 303
                page = c.get("/login" if who is None else "/account")
                m = CSRF_RE.search(page.text)
                assert m, f"no csrf token for {letter}"
                csrf[letter] = m.group(1)
                cookies[letter] = dict(c.cookies)
        yield World(application, db, template, url, cookies, csrf, tokens)
        engine_for(url).dispose()
    api_settings.get_settings.cache_clear()
    engine_for.cache_clear()


def send(client: TestClient, world: World, role: str, method: str, rule: Rule,
         csrf: bool = True) -> Any:
    client.cookies.clear()
    headers: dict[str, str] = {}
    is_api = rule.path.startswith("/api/")
    if is_api:
        if role != "A":
            headers["Authorization"] = f"Bearer {world.tokens[role]}"
    else:
        client.cookies.update(world.cookies[role])
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        if rule.files:
            kwargs["files"] = {rule.file_field: ("x.json", b'{"enterprises": []}',
                                                 "application/json")}
            if not is_api and csrf:
                kwargs["data"] = {"csrf_token": world.csrf[role]}
        elif is_api:
            kwargs["json"] = rule.json if rule.json is not None else {}
        else:
            form = dict(rule.form)
            if csrf:
                form["csrf_token"] = world.csrf[role]
            kwargs["data"] = form
    return client.request(method, rule.path, **kwargs)


def outcome(r: Any, page: bool, public: bool = False) -> str:
    if r.status_code >= 500:
        return "error"
    if public:
        return "denied" if r.status_code == 403 else "allowed"
    if r.status_code in (401, 403, 404):
        return "denied"
    if page and r.status_code in (302, 303, 307) and r.headers.get(
            "location", "").startswith("/login"):
        return "denied"
    return "allowed"


def test_every_route_is_in_the_matrix(world: World) -> None:
    routes = {f"{m} {p}" for m, p in app_routes(world.app)}
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, ("routes without an access rule; add them to MATRIX in "
                         f"tests/web/test_access_matrix.py: {missing}")
    assert not stale, f"MATRIX names routes the app no longer has: {stale}"


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_access(world: World, key: str) -> None:
    method, _, _ = key.partition(" ")
    if key not in {f"{m} {p}" for m, p in app_routes(world.app)}:
        pytest.skip(f"{key} is not mounted in this checkout")
    rule = MATRIX[key]
    page = not rule.path.startswith("/api/")
    # Refused roles first: a refused request must not change anything either.
    order = sorted(ROLES, key=lambda r: r in rule.allowed)
    problems = []
    with TestClient(world.app, follow_redirects=False, raise_server_exceptions=False) as c:
        for role in order:
            if method != "GET":
                learning_jobs.wait_idle()  # POST /weights/learn runs on the inline consumer
                import_jobs.wait_idle()  # and imports
                world.reset()
            r = send(c, world, role, method, rule)
            got = outcome(r, page, rule.public)
            want = "allowed" if role in rule.allowed else "denied"
            if got != want:
                problems.append(f"{ROLES[role] or 'anonymous'}: {want} expected, got "
                                f"{r.status_code} {r.headers.get('location', '')} "
                                f"{r.text[:150]!r}")
    if method != "GET":
        learning_jobs.wait_idle()
        import_jobs.wait_idle()
        world.reset()
    assert not problems, f"{key}:\n" + "\n".join(problems)


def test_form_posts_without_csrf_token_are_refused(world: World) -> None:
    """Every page POST (not /api) refuses a request without the session's CSRF token,
    before doing anything — also for an admin, who may do everything else."""
    problems = []
    with TestClient(world.app, follow_redirects=False, raise_server_exceptions=False) as c:
        for method, path in app_routes(world.app):
            if method != "POST" or path.startswith("/api/"):
                continue
            rule = MATRIX.get(f"{method} {path}")
            if rule is None:
                continue  # reported by test_every_route_is_in_the_matrix
            role = "D" if "D" in rule.allowed else "A"
            world.reset()
            r = send(c, world, role, method, rule, csrf=False)
            if r.status_code != 403:
                problems.append(f"{path}: {r.status_code}")
            # A wrong token is no better than none.
            c.cookies.clear()
            c.cookies.update(world.cookies[role])
            r = c.post(rule.path, data={**rule.form, "csrf_token": "forged"})
            if r.status_code != 403:
                problems.append(f"{path} (forged token): {r.status_code}")
    world.reset()
    assert not problems, problems


def test_api_writes_ignore_the_session_cookie(world: World) -> None:
    """A browser session alone cannot write through the API (that would bypass CSRF)."""
    with TestClient(world.app, follow_redirects=False) as c:
        c.cookies.update(world.cookies["D"])
        r = c.post("/api/v1/enterprises", json={"ref": "E-NEW", **ENT})
        assert r.status_code == 401
        r = c.delete("/api/v1/enterprises/E-000")
        assert r.status_code == 401
    world.reset()


# ------------------------------------------------------------------ both databases

def test_login_is_rate_limited(client: TestClient) -> None:
    from tests.web.conftest import csrf_of

    email = USERS["officer"][0]
    statuses = []
    for _ in range(7):  # the app fixture allows 5 failures per minute
        token = csrf_of(client)
        r = client.post("/login", data={"email": email, "password": "wrong",
                                         "csrf_token": token, "next": "/"})
        statuses.append(r.status_code)
    assert statuses[:5] == [statuses[0]] * 5 and statuses[0] != 429, statuses
    assert statuses[-1] == 429, statuses
    # Even the right password is refused while limited: no guessing around the limit.
    token = csrf_of(client)
    r = client.post("/login", data={"email": email, "password": PASSWORD,
                                     "csrf_token": token, "next": "/"})
    assert r.status_code == 429
    assert "Retry-After" in r.headers


ISOLATION: list[tuple[str, str, str, bool]] = [
    # (role, path, text that must NOT appear, via API)
    ("officer2", "/api/v1/tenders?per_page=500", "T-UTR-3", True),
    ("officer2", "/api/v1/tenders?q=T-UTR", "T-UTR", True),
    ("firm", "/api/v1/tenders?per_page=500", "T-UTR-3", True),
    ("firm2", "/api/v1/obligations?per_page=500", "O-1", True),
    ("firm", "/api/v1/obligations?per_page=500", "O-3", True),
    ("officer2", "/api/v1/obligations?per_page=500", "O-1", True),
    ("officer", "/api/v1/enterprises?per_page=500", "E-000", True),
    ("firm2", "/api/v1/export", "O-1", True),
    ("officer2", "/api/v1/export", "T-UTR-3", True),
    ("officer2", "/tenders", "T-UTR-3", False),
    ("officer2", "/tenders/export.csv", "T-UTR-3", False),
    ("firm2", "/obligations", "O-1", False),
    ("firm2", "/obligations/export.csv", "O-1", False),
    ("firm", "/obligations/export.csv", "O-3", False),
    ("officer", "/enterprises/export.csv", "E-000", False),
]


def test_no_one_sees_another_organisations_objects(
        app: Any, client: TestClient, api_token: Callable[[str], dict[str, str]],
        login: Callable[[str], TestClient]) -> None:
    mounted = {p for _, p in app_routes(app)}
    for role, path, secret, via_api in ISOLATION:
        if path.split("?")[0] not in mounted:
            continue
        client.cookies.clear()
        if via_api:
            r = client.get(path, headers=api_token(role))
        else:
            login(role)
            r = client.get(path)
        assert r.status_code == 200, (role, path, r.status_code)
        assert secret not in r.text, f"{role} sees {secret} on {path}"


def test_officer_never_opens_another_buyers_draft(
        app: Any, client: TestClient, api_token: Callable[[str], dict[str, str]],
        login: Callable[[str], TestClient]) -> None:
    mounted = {p for _, p in app_routes(app)}
    h2 = api_token("officer2")
    for path in ("/api/v1/tenders/T-UTR-3", "/api/v1/tenders/T-UTR-3/matches",
                 "/api/v1/tenders/T-UTR-3/feasibility"):
        r = client.get(path, headers=h2)
        assert r.status_code == 404, (path, r.status_code)
        assert "Catering" not in r.text
    assert client.get("/api/v1/tenders/T-UTR-3", headers=api_token("officer")).status_code == 200
    assert client.get("/api/v1/tenders/T-AMS-2", headers=h2).status_code == 200  # own draft
    if "/tenders/{ref}" in mounted:
        login("officer2")
        r = client.get("/tenders/T-UTR-3")
        assert r.status_code == 404 and "Catering raadhuis" not in r.text


def test_firm_never_opens_another_firms_obligation(
        app: Any, client: TestClient, api_token: Callable[[str], dict[str, str]],
        login: Callable[[str], TestClient]) -> None:
    mounted = {p for _, p in app_routes(app)}
    h = api_token("firm2")
    for path in ("/api/v1/obligations/O-1", "/api/v1/obligations/O-1/plan",
                 "/api/v1/obligations/O-1/deliveries"):
        if path.replace("O-1", "{ref}") not in mounted and "plan" in path:
            continue
        r = client.get(path, headers=h)
        assert r.status_code == 404, (path, r.status_code)
    r = client.patch("/api/v1/obligations/O-1", headers=h, json={"amount_eur": 1.0})
    assert r.status_code == 404
    r = client.post("/api/v1/obligations", headers=h,
                    json={"ref": "O-X", **OBLIGATION})  # in firm A's name
    assert r.status_code == 403
    assert client.get("/api/v1/obligations/O-3", headers=h).status_code == 200
    if "/obligations/{ref}" in mounted:
        login("firm2")
        assert client.get("/obligations/O-1").status_code == 404


def test_anonymous_pages_redirect_to_login(world: World) -> None:
    with TestClient(world.app, follow_redirects=False) as c:
        for method, path in app_routes(world.app):
            rule = MATRIX.get(f"{method} {path}")
            if method != "GET" or rule is None or "A" in rule.allowed:
                continue
            r = c.get(rule.path)
            if rule.path.startswith("/api/"):
                assert r.status_code == 401, (path, r.status_code)
                assert r.headers.get("www-authenticate") == "Bearer"
                assert json.loads(r.text)["detail"]["message"]
            else:
                assert r.status_code == 303, (path, r.status_code)
                assert r.headers["location"].startswith("/login?next=")



# ------------------------------------------------------------------ field-level authority

# PATCH body on O-1 (firm A's, under Utrecht's T-UTR-1) -> the roles that may make it.
# Another organisation's officer or firm does not see O-1 at all (404).
FIELDS: dict[str, tuple[dict[str, Any], str]] = {
    "amount_eur": ({"amount_eur": 1}, "OCD"),
    "due": ({"due": "2031-06-30"}, "OCD"),
    "policy": ({"policy": "oost-nederland-2023"}, "OCD"),
    "status": ({"extra": {"status": "closed"}}, "OCD"),
    "extra.basis": ({"extra": {"basis": "loonsom"}}, "OCD"),
    "extra.start": ({"extra": {"start": "2026-03-01"}}, "OCD"),
    "extra.end": ({"extra": {"end": "2031-03-01"}}, "OCD"),
    "firm": ({"firm": "Schoonmaak Holland B.V."}, "OCD"),
    "tender": ({"tender": "T-UTR-2"}, "OCD"),
    # What a firm does keep: what it buys and where the work is.
    "buys": ({"buys": ["77310000"]}, "OFCD"),
    "municipality": ({"municipality": "Amsterdam"}, "OFCD"),
}


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(FIELDS))
def test_obligation_field_authority(client: TestClient, api_token: Callable[[str], Any],
                                    name: str) -> None:
    """role x field: a refused change answers 403 naming the field, and changes nothing."""
    body, allowed = FIELDS[name]
    staff = api_token("connector")
    problems = []
    # Refused roles first, so a refused change is checked against the untouched row.
    for letter in sorted("OoFfCD", key=lambda r: r in allowed):
        before = client.get("/api/v1/obligations/O-1", headers=staff).json()
        r = client.patch("/api/v1/obligations/O-1", headers=api_token(ROLES[letter] or ""),
                         json=body)
        after = client.get("/api/v1/obligations/O-1", headers=staff).json()
        if letter in allowed:
            if r.status_code != 200:
                problems.append(f"{letter}: 200 expected, got {r.status_code} {r.text[:200]}")
            continue
        if letter in "of":
            ok = r.status_code == 404
        else:
            detail = r.json().get("detail", {})
            ok = r.status_code == 403 and detail.get("field") == name and detail.get("message")
        before.pop("updated_at"), after.pop("updated_at")
        if not ok or before != after:
            problems.append(f"{letter}: refusal expected, got {r.status_code} {r.text[:200]}; "
                            f"changed: {before != after}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.postgres
def test_firm_cannot_create_obligations(client: TestClient,
                                        api_token: Callable[[str], Any]) -> None:
    body = {"ref": "O-OWN", **OBLIGATION, "amount_eur": 1.0}
    r = client.post("/api/v1/obligations", headers=api_token("firm"), json=body)
    assert r.status_code == 403 and r.json()["detail"]["message"]
    staff = api_token("connector")
    assert client.get("/api/v1/obligations/O-OWN", headers=staff).status_code == 404
    # The buyer's officer may; another buyer's officer may not.
    r = client.post("/api/v1/obligations", headers=api_token("officer2"), json=body)
    assert r.status_code == 403 and r.json()["detail"]["field"] == "tender"
    r = client.post("/api/v1/obligations", headers=api_token("officer"), json=body)
    assert r.status_code == 201, r.text
