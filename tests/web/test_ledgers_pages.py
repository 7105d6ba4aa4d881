"""Spend analysis pages and API (/ledgers, /api/v1/ledgers) on SQLite and PostgreSQL:
upload, the mapping fix remembered, the analysis page (chart, addressable share, switches,
review queue), a correction, switches into the plan, CSV export, privacy and deletion."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from api.i18n import translate
from api.labels import LEDGER_PROBLEM_NL
from api.services import import_jobs
from fixtures import ledgers as G
from tests.web.conftest import csrf_of, upload_ledger
from tests.web.csv_read import read_csv
from tests.web.seed import USERS

GEN = G.generate(G.SEED, lang="nl")
NL = G.write_nl_csv(GEN)
XLSX = G.write_xlsx(GEN)


def _upload(client: TestClient, data: bytes, name: str, **form: str):  # type: ignore[no-untyped-def]
    """Upload on the page; a file that passes the quick check goes to a background job
    (tests/web/test_ledger_jobs.py): wait for it, answer where its page sends the user."""
    token = csrf_of(client, "/ledgers")
    r = client.post("/ledgers", data={"csrf_token": token, **form},
                    files={"file": (name, data, "text/csv")})
    if r.status_code == 303 and "/ledgers/jobs/" in r.headers["location"]:
        import_jobs.wait_idle()
        r = client.get(r.headers["location"])
    return r


def test_firm_uploads_sees_analysis_corrects_switches_exports_deletes(
        login: Callable[[str], TestClient]) -> None:
    c = login("firm")
    r = _upload(c, NL, "ledger_nl.csv", obligation="O-1")
    assert r.status_code == 303, r.text[:300]
    url = r.headers["location"]
    page = c.get(url)
    assert page.status_code == 200
    html = page.text
    assert "Uitgaven per categorie" in html and "<svg" in html
    assert "Adresseerbaar voor sociale ondernemingen" in html
    assert "Huur van panden" in html  # rent shown as not addressable, with why
    assert 'name="switch"' in html  # seeded cleaning/green enterprises are suggested
    # The English page.
    assert "Spend by category" in c.get(url + "?lang=en").text
    # CSV export: every line, classified.
    rows = read_csv(c.get(url + "/export.csv?lang=nl"))
    assert len(rows) == len(GEN) and all(r["CPV-code"] for r in rows if r["Omschrijving"])
    # A switch into O-1's plan.
    value = html.split('name="switch" value="', 1)[1].split('"', 1)[0]
    token = csrf_of(c, url)
    r = c.post(url + "/switches", data={"csrf_token": token, "switch": value})
    assert r.status_code == 303
    assert "in het plan van O-1" in c.get(url + "?lang=nl").text
    # A correction from the review queue, or of any line through the API.
    lid = int(url.rsplit("/", 1)[1])
    # Deleting removes it; its page is gone.
    r = c.post(url + "/delete", data={"csrf_token": csrf_of(c, url)})
    assert r.status_code == 303
    assert c.get(url).status_code == 404
    assert lid > 0


def test_mapping_fix_on_the_page_is_remembered(login: Callable[[str], TestClient]) -> None:
    c = login("firm")
    data = "Wanneer;Crediteur;Tekst;Bedrag excl. btw\n03-01-2025;Koerier B;koerier rit;30,00\n"
    r = _upload(c, data.encode(), "a.csv")
    assert r.status_code == 422
    assert "Geen kolom voor Datum" in r.text and 'id="mapping-form"' in r.text
    # Held in the database, not on this process's disk: the next request may reach
    # another process or host (#17).
    assert _held() == [("a.csv", data.encode())]
    token = csrf_of(c, "/ledgers")
    r = c.post("/ledgers", data={"csrf_token": token, "map_date": "Wanneer",
                                 "map_supplier": "Crediteur", "map_description": "Tekst",
                                 "map_amount": "Bedrag excl. btw"})
    assert r.status_code == 303, r.text[:500]
    import_jobs.wait_idle()
    r = c.get(r.headers["location"])
    assert r.status_code == 303 and r.headers["location"].startswith("/ledgers/")
    assert _held() == []  # the job has the file now
    r = _upload(c, data.replace("30,00", "31,00").encode(), "b.csv")
    assert r.status_code == 303  # the remembered mapping reads the next file
    assert _held() == []  # a file read at once is never held


def _held() -> list[tuple[str, bytes]]:
    from sqlmodel import Session, select

    from api.db import get_engine
    from api.tables import HeldUpload

    with Session(get_engine()) as s:
        return [(h.name, h.data) for h in s.exec(select(HeldUpload))]


def test_a_held_upload_is_its_users_only(app) -> None:  # type: ignore[no-untyped-def]
    """The token in one user's session does not give another user the file; an old one
    is gone."""
    from datetime import timedelta

    from sqlmodel import Session, select
    from starlette.requests import Request

    from api.db import get_engine
    from api.tables import HeldUpload, User
    from api.web import upload_store

    with Session(get_engine()) as s:
        firm, firm2 = (s.exec(select(User).where(User.email == USERS[w][0])).one()
                       for w in ("firm", "firm2"))
        mine = Request({"type": "http", "session": {}})
        upload_store.save(mine, s, firm, [("a.csv", b"x;y\n")], "ledger")
        held = upload_store.load(mine, s, firm)
        assert held is not None and held.files == [("a.csv", b"x;y\n")]
        assert upload_store.load(mine, s, firm2) is None  # the same token, another user
        theirs = Request({"type": "http", "session": dict(mine.session)})
        assert upload_store.load(theirs, s, firm2) is None
        # A new upload replaces the held one; an expired one is not given back.
        upload_store.save(mine, s, firm, [("b.csv", b"z\n")], "ledger")
        assert [h.name for h in s.exec(select(HeldUpload))] == ["b.csv"]
        row = s.exec(select(HeldUpload)).one()
        row.created_at = row.created_at - upload_store.MAX_AGE - timedelta(minutes=1)
        s.add(row)
        s.commit()
        assert upload_store.load(mine, s, firm) is None
        upload_store.discard(mine, s)
        assert s.exec(select(HeldUpload)).all() == [] and not mine.session


def test_api_upload_analysis_correction_and_privacy(
        app, api_token: Callable[[str], dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        firm, other, conn, officer = (api_token("firm"), api_token("firm2"),
                                      api_token("connector"), api_token("officer"))
        job = upload_ledger(c, firm, files={"file": ("ledger.xlsx", XLSX,
                                                     "application/octet-stream")})
        assert job["state"] == "done" and job["ledger"]["firm"], job
        lid = job["ledger"]["id"]
        assert job["lines"] == len(GEN) and job["rows_total"] == len(GEN)
        # The same file again: the job ends at once with the existing ledger.
        again = upload_ledger(c, firm, files={"file": ("ledger.xlsx", XLSX,
                                                       "application/octet-stream")})
        assert again["already_imported"] and again["ledger"]["id"] == lid
        a = c.get(f"/api/v1/ledgers/{lid}", headers=firm).json()
        assert 0 < a["addressable_share"] < 1
        assert {x["not_addressable_reason"] for x in a["categories"]} >= {"energy", "rent"}
        # Privacy: the other firm and an officer cannot see it; a connector the firm
        # granted access can (tests/web/test_ledger_access.py: without the grant, not).
        assert c.get(f"/api/v1/ledgers/{lid}", headers=other).status_code == 404
        assert c.get(f"/api/v1/ledgers/{lid}", headers=officer).status_code == 403
        assert c.post("/api/v1/ledgers/access", headers=firm,
                      json={"connector": "connector@test.nl"}).status_code == 201
        assert c.get(f"/api/v1/ledgers/{lid}", headers=conn).status_code == 200
        assert c.get("/api/v1/ledgers", headers=other).json() == []
        # A connector's correction applies to the supplier's other lines.
        lines = c.get(f"/api/v1/ledgers/{lid}/lines", headers=conn).json()
        target = next(ln for ln in lines if ln["supplier"].startswith("Meijer & Zn"))
        r = c.post(f"/api/v1/ledgers/{lid}/corrections", headers=conn,
                   json={"line": target["id"], "cpv": "98310000"})
        assert r.status_code == 200
        same = sum(1 for ln in lines if ln["supplier"] == target["supplier"])
        assert r.json()["updated"] == same > 1
        bad = c.post(f"/api/v1/ledgers/{lid}/corrections", headers=firm,
                     json={"line": target["id"], "cpv": "123"})
        assert bad.status_code == 422
        # A refused file answers every problem.
        r = c.post("/api/v1/ledgers", headers=firm, files={"file": (
            "x.csv", b"Datum;Relatie;Bedrag\n32-01-2025;A;1,00\n03-01-2025;B;x\n", "text/csv")})
        assert r.status_code == 422
        problems = r.json()["detail"]["problems"]
        assert [(p["row"], p["code"]) for p in problems if p["severity"] == "error"] == [
            (2, "bad_date"), (3, "bad_amount")]
        # ... in the caller's language (Accept-Language), the file's message included.
        by_code = {p["code"]: p["message"] for p in problems}
        assert by_code["bad_amount"] == "Bedrag 'x' is geen getal."
        assert "niet ingelezen" in r.json()["detail"]["message"]
        r = c.post("/api/v1/ledgers", headers={**firm, "Accept-Language": "en"}, files={
            "file": ("x.csv", b"Datum;Relatie;Bedrag\n03-01-2025;B;x\n", "text/csv")})
        assert r.status_code == 422 and r.headers["content-language"] == "en"
        english = r.json()["detail"]
        errors = [p["message"] for p in english["problems"] if p["severity"] == "error"]
        assert errors == [translate(LEDGER_PROBLEM_NL["bad_amount"], "en", value="x")]
        assert errors[0] != "Bedrag 'x' is geen getal."
        assert "niet ingelezen" not in english["message"] and "x.csv" in english["message"]
        r = c.post("/api/v1/ledgers", headers=firm, data={"mapping": "{nope"},
                   files={"file": ("x.csv", NL, "text/csv")})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "mapping"
        # Deleting removes every line.
        assert c.delete(f"/api/v1/ledgers/{lid}", headers=other).status_code == 404
        r = c.delete(f"/api/v1/ledgers/{lid}", headers=firm)
        assert r.json()["deleted_lines"] == len(GEN)
        assert c.get(f"/api/v1/ledgers/{lid}/lines", headers=firm).status_code == 404


def test_connector_uploads_for_a_firm(login: Callable[[str], TestClient]) -> None:
    c = login("firm2")  # the firm lets the connector work on its ledgers
    token = csrf_of(c, "/ledgers/access")
    r = c.post("/ledgers/access", data={"csrf_token": token,
                                        "connector": "user:connector@test.nl"})
    assert r.status_code == 303
    c.cookies.clear()
    c = login("connector")
    r = _upload(c, NL, "ledger_nl.csv")
    assert r.status_code == 422 and "Kies het bedrijf" in r.text
    r = _upload(c, NL, "ledger_nl.csv", firm="Schoonmaak Holland B.V.")
    assert r.status_code == 303
    assert "Schoonmaak Holland B.V." in c.get("/ledgers").text
