"""Privacy of purchase ledgers (#15) on SQLite and PostgreSQL: a firm's ledger is seen
only by the firm and the connectors it granted access (one connector, or every connector
of an organisation), on the pages and the API; a revoke takes it away again; admins and
connectors see who has access; the firm's deletion removes every line."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.db import get_engine
from api.security import hash_password
from api.services import import_jobs
from api.tables import LedgerAccess, LedgerLineRow, LedgerRow, User
from fixtures import ledgers as G
from tests.web.conftest import csrf_of, do_login, upload_ledger
from tests.web.seed import FIRM_A, PASSWORD, USERS

GEN = G.generate(G.SEED, lang="en")
EN = G.write_en_csv(GEN)
CONNECTOR = USERS["connector"][0]


def _lines(ledger_id: int | None = None) -> int:
    with Session(get_engine()) as s:
        stmt = select(func.count()).select_from(LedgerLineRow)
        if ledger_id is not None:
            stmt = stmt.where(LedgerLineRow.ledger_id == ledger_id)
        return int(s.exec(stmt).one())


def test_connector_sees_a_ledger_only_with_the_firms_grant(
        app, api_token: Callable[[str], dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        firm, conn, admin = api_token("firm"), api_token("connector"), api_token("admin")
        job = upload_ledger(c, firm, files={"file": ("en.csv", EN, "text/csv")})
        assert job["state"] == "done" and not job["already_imported"], job
        lid = job["ledger"]["id"]
        assert job["lines"] == len(GEN)
        # The job is its starter's: the connector (not granted yet) does not see it.
        assert c.get(f"/api/v1/ledgers/jobs/{job['id']}", headers=conn).status_code == 404
        # Without a grant: 404 on the ledger, its lines, its deletion; not in the list.
        for path in (f"/api/v1/ledgers/{lid}", f"/api/v1/ledgers/{lid}/lines"):
            assert c.get(path, headers=conn).status_code == 404
        assert c.delete(f"/api/v1/ledgers/{lid}", headers=conn).status_code == 404
        assert c.get("/api/v1/ledgers", headers=conn).json() == []
        # ... nor can it upload for the firm, or grant itself access.
        r = c.post("/api/v1/ledgers", headers=conn, data={"firm": FIRM_A},
                   files={"file": ("en.csv", EN, "text/csv")})
        assert r.status_code == 422 and "geen toegang" in r.json()["detail"]["message"]
        r = c.post("/api/v1/ledgers/access", headers=conn, json={"connector": CONNECTOR})
        assert r.status_code == 403
        # The firm grants: the connector sees it.
        r = c.post("/api/v1/ledgers/access", headers=firm, json={"connector": CONNECTOR})
        assert r.status_code == 201, r.text
        grant = r.json()
        assert grant["firm"] == FIRM_A and grant["connector"] == CONNECTOR
        assert c.post("/api/v1/ledgers/access", headers=firm,
                      json={"connector": CONNECTOR}).json()["id"] == grant["id"]  # once
        assert c.get(f"/api/v1/ledgers/{lid}", headers=conn).status_code == 200
        assert [x["id"] for x in c.get("/api/v1/ledgers", headers=conn).json()] == [lid]
        # Who has access: the firm, the connector and an admin see the grant.
        for who in (firm, conn, admin):
            assert [g["id"] for g in c.get("/api/v1/ledgers/access", headers=who).json()] == [
                grant["id"]]
        # Granting to something that is not a connector is refused with the reason.
        r = c.post("/api/v1/ledgers/access", headers=firm, json={"connector": USERS["firm2"][0]})
        assert r.status_code == 404 and "geen verbinder" in r.json()["detail"]["message"]
        # Revoked: gone from the list and 404 again.
        assert c.delete(f"/api/v1/ledgers/access/{grant['id']}", headers=conn).status_code == 403
        assert c.delete(f"/api/v1/ledgers/access/{grant['id']}", headers=firm).status_code == 200
        assert c.get(f"/api/v1/ledgers/{lid}", headers=conn).status_code == 404
        assert c.get("/api/v1/ledgers", headers=conn).json() == []
        assert c.delete(f"/api/v1/ledgers/access/{grant['id']}", headers=firm).status_code == 404


def test_pages_grant_to_an_organisation_revoke_and_delete_every_line(
        app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    with Session(get_engine()) as s:
        s.add(User(email="wsp@test.nl", name="Wsp", role="connector",
                   organisation="Werkgeversservicepunt Midden", password_hash=hash_password(
                       PASSWORD)))
        s.commit()
    firm = TestClient(app, follow_redirects=False)
    do_login(firm, "firm")
    token = csrf_of(firm, "/ledgers")
    r = firm.post("/ledgers", data={"csrf_token": token},
                  files={"file": ("en.csv", EN, "text/csv")})
    assert r.status_code == 303, r.text[:300]
    import_jobs.wait_idle()  # the upload runs as a background job; its page sends on
    r = firm.get(r.headers["location"])
    assert r.status_code == 303
    url = r.headers["location"]
    lid = int(url.rsplit("/", 1)[1])
    assert _lines(lid) == len(GEN)
    conn = client
    assert do_login(conn, "wsp@test.nl").status_code == 303
    # No grant: 404 on the page, not in the list, not offered as a firm to upload for.
    assert conn.get(url).status_code == 404
    assert conn.get(url + "/export.csv").status_code == 404
    page = conn.get("/ledgers").text
    assert "en.csv" not in page and 'id="no-grants"' in page
    # The firm grants every connector of the organisation, on its access page.
    page = firm.get("/ledgers/access").text
    assert 'value="org:Werkgeversservicepunt Midden"' in page
    r = firm.post("/ledgers/access", data={"csrf_token": csrf_of(firm, "/ledgers/access"),
                                           "connector": "org:Werkgeversservicepunt Midden"})
    assert r.status_code == 303
    assert conn.get(url).status_code == 200
    page = conn.get("/ledgers").text
    assert "en.csv" in page and f'<option value="{FIRM_A}"' in page
    access = conn.get("/ledgers/access").text
    assert "Werkgeversservicepunt Midden" in access and "Intrekken" not in access
    assert "Werkgeversservicepunt Midden" in conn.get("/ledgers/access?lang=en").text
    # A bad choice comes back with the reason beside the field.
    r = firm.post("/ledgers/access", data={"csrf_token": csrf_of(firm, "/ledgers/access"),
                                           "connector": "org:Nergens"})
    assert r.status_code == 422 and "Geen verbinder werkt bij Nergens" in r.text
    # Revoke on the page: 404 again.
    with Session(get_engine()) as s:
        gid = s.exec(select(LedgerAccess.id)).one()
    r = firm.post(f"/ledgers/access/{gid}/revoke",
                  data={"csrf_token": csrf_of(firm, "/ledgers/access")})
    assert r.status_code == 303
    assert conn.get(url).status_code == 404
    assert "en.csv" not in conn.get("/ledgers").text
    # The firm deletes the ledger: every line of it goes, other ledgers' lines stay.
    other = TestClient(app, follow_redirects=False)
    do_login(other, "firm2")
    r = other.post("/ledgers", data={"csrf_token": csrf_of(other, "/ledgers")},
                   files={"file": ("en.csv", EN, "text/csv")})
    assert r.status_code == 303
    import_jobs.wait_idle()
    assert _lines() == 2 * len(GEN)
    r = firm.post(url + "/delete", data={"csrf_token": csrf_of(firm, url)})
    assert r.status_code == 303
    assert _lines(lid) == 0 and _lines() == len(GEN)
    with Session(get_engine()) as s:
        assert s.get(LedgerRow, lid) is None
    assert firm.get(url).status_code == 404
