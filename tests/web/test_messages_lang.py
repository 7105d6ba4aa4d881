"""Messages made in Python reach the user in the user's language (#16 item 2): import
errors through the API (Accept-Language) and the import page, API errors, a form's
errors, the vetting history (a file's name, never a server path)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.db import get_engine
from api.services.importing import import_paths
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]
BAD_KVK = {"enterprises": [{
    "ref": "E-LANG-1", "name": "Taal Schoon", "description": "Schoonmaak.", "kvk": "1234",
    "cpv": ["90911200"], "municipality": "Zwolle"}]}


def _import_issue(client: TestClient, headers: dict[str, str], accept: str) -> dict[str, str]:
    files = [("files", ("kvk.json", json.dumps(BAD_KVK), "application/json"))]
    r = client.post("/api/v1/import", headers={**headers, "Accept-Language": accept},
                    files=files)
    assert r.status_code == 200, r.text
    issue: dict[str, str] = r.json()["files"][0]["issues"][0]
    return issue


def test_import_error_in_the_clients_language(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    en = _import_issue(client, h, "en-GB,en;q=0.9")
    assert en["reason"] == "'1234' is not a KvK number"
    assert en["fix"] == ('a KvK number has exactly 8 digits, e.g. "30123456"; if a '
                         "spreadsheet dropped leading zeros, write it as text")
    assert en["message"] == f"kvk.json enterprises[0].kvk (ref E-LANG-1): {en['reason']} — " \
                            f"{en['fix']}"
    nl = _import_issue(client, h, "nl-NL,nl;q=0.9,en;q=0.5")
    assert nl["reason"] == "'1234' is geen KvK-nummer"
    assert nl["fix"] == ('een KvK-nummer heeft precies 8 cijfers, bv. "30123456"; liet een '
                         "spreadsheet voorloopnullen weg, schrijf het dan als tekst")
    assert "number" not in nl["message"] and "digits" not in nl["message"]


def test_csv_import_error_names_the_row_in_the_language(client: TestClient,
                                                        api_token: Headers) -> None:
    rows = ("ref,name,description,cpv,municipality,kvk\n"
            "E-LANG-2,Taal,Schoonmaak,90911200,Zwolle,12\n")
    h = api_token("connector")
    out = {}
    for lang in ("nl", "en"):
        r = client.post("/api/v1/import", headers={**h, "Accept-Language": lang},
                        files=[("files", ("enterprises.csv", rows, "text/csv"))])
        assert r.status_code == 200, r.text
        out[lang] = r.json()["files"][0]["issues"][0]["message"]
    assert out["nl"].startswith("enterprises.csv rij 2, veld kvk: '12' is geen KvK-nummer")
    assert out["en"].startswith("enterprises.csv row 2, field kvk: '12' is not a KvK number")


def test_import_page_shows_the_report_in_the_page_language(client: TestClient,
                                                           login) -> None:  # type: ignore[no-untyped-def]
    from api.services import import_jobs

    login("connector")
    for lang, said, not_said in (("en", "is not a KvK number", "geen KvK-nummer"),
                                 ("nl", "is geen KvK-nummer", "not a KvK number")):
        client.get(f"/import?lang={lang}")
        r = client.post("/import", data={"csrf_token": csrf_of(client, "/import"),
                                         "on_duplicate": "ask", "format": "interchange"},
                        files=[("files", ("kvk.json", json.dumps(BAD_KVK),
                                          "application/json"))], follow_redirects=False)
        assert r.status_code == 303, r.text
        import_jobs.wait_idle()
        page = client.get(r.headers["location"]).text
        assert said in page and not_said not in page


def test_api_errors_in_the_clients_language(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    # A query value pydantic refuses: its message in our words, not pydantic's English.
    r = client.get("/api/v1/enterprises?page=0", headers={**h, "Accept-Language": "nl"})
    assert r.status_code == 422 and r.json()["detail"]["message"] == "Moet minstens 1 zijn"
    r = client.get("/api/v1/enterprises?page=0", headers={**h, "Accept-Language": "en"})
    assert r.json()["detail"]["message"] == "Must be at least 1"
    # An entity refused by the importer's checks (the CRUD API).
    body = {k: v for k, v in BAD_KVK["enterprises"][0].items() if k != "ref"}
    body["ref"] = "E-LANG-3"
    r = client.post("/api/v1/enterprises", headers={**h, "Accept-Language": "en"}, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["message"].startswith("'1234' is not a KvK number — a KvK")
    r = client.post("/api/v1/enterprises", headers={**h, "Accept-Language": "nl"}, json=body)
    assert r.json()["detail"]["message"].startswith("'1234' is geen KvK-nummer — een KvK")
    # A plain Dutch api_error message, translated at the boundary.
    r = client.post("/api/v1/import", headers={**api_token("officer"), "Accept-Language": "en"},
                    files=[("files", ("kvk.json", json.dumps(BAD_KVK), "application/json"))])
    assert r.status_code == 403
    assert r.json()["detail"]["message"] == "Only connectors and administrators can import"


def test_form_error_in_the_page_language(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    # The quotes around the value are HTML-escaped on the page.
    for lang, said in (("en", "unknown municipality &#39;Nergenshuizen&#39;"),
                       ("nl", "onbekende gemeente &#39;Nergenshuizen&#39;")):
        client.get(f"/challenges/new?lang={lang}")
        r = client.post("/challenges/new", data={
            "csrf_token": csrf_of(client, "/challenges/new"), "title": "Eenzaamheid",
            "question": "Hoe bereiken we ouderen?", "municipality": "Nergenshuizen"})
        assert r.status_code == 422
        assert said in r.text, r.text[-3000:]


def test_vetting_history_names_the_file_not_the_server_path(client: TestClient, login,
                                                            tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "deep" / "fixtures" / "sroi_fixtures.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"enterprises": [{
        "ref": "E-LANG-9", "name": "Pad Schoon", "description": "Schoonmaak.",
        "cpv": ["90911200"], "municipality": "Zwolle",
        "vetting": {"status": "vetted", "on": "2026-01-05"}}]}))
    with Session(get_engine()) as s:
        report = import_paths(s, [str(path)])
    assert report.files[0].status == "imported", report.files[0].issues
    login("connector")
    nl = client.get("/vetting/E-LANG-9?lang=nl").text
    assert "geïmporteerd uit sroi_fixtures.json" in nl and str(tmp_path) not in nl
    assert "import van sroi_fixtures.json" in nl
    en = client.get("/vetting/E-LANG-9?lang=en").text
    assert "imported from sroi_fixtures.json" in en and str(tmp_path) not in en
    r = client.get("/api/v1/vetting/E-LANG-9/events", headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["reason"] == "imported from sroi_fixtures.json"


def test_a_refused_pattern_is_said_in_words_not_as_a_regular_expression(
        client: TestClient, api_token: Headers) -> None:
    """A blank required text, a NUL, a malformed e-mail address or CPV prefix: the field's
    rule in words in the client's language, never the pattern it is checked with."""
    h = api_token("connector")
    body = {k: v for k, v in BAD_KVK["enterprises"][0].items() if k != "kvk"}
    said = {}
    for lang in ("nl", "en"):
        for name, value in (("name", "   "), ("description", "a\x00b")):
            r = client.post("/api/v1/enterprises", headers={**h, "Accept-Language": lang},
                            json={**body, "ref": "E-LANG-9", name: value})
            assert r.status_code == 422, r.text
            detail = r.json()["detail"]
            assert detail["field"] == name, detail
            said[lang, name] = detail["message"]
        r = client.post("/api/v1/enterprises", headers={**h, "Accept-Language": lang},
                        json={**body, "ref": "E-LANG-9", "contact": {"email": "geen adres"}})
        assert r.status_code == 422, r.text
        said[lang, "email"] = r.json()["detail"]["message"]
        r = client.get("/api/v1/search?cpv=abc", headers={**h, "Accept-Language": lang})
        assert r.status_code == 422, r.text
        said[lang, "cpv"] = r.json()["detail"]["message"]
    assert said["nl", "name"].startswith("Mag niet leeg zijn")
    assert said["en", "name"].startswith("Must not be blank")
    assert said["nl", "description"] == "Mag geen NUL-teken bevatten"
    assert said["en", "description"] == "Must not contain a NUL character"
    assert said["nl", "email"].startswith("'geen adres' is geen e-mailadres")
    assert said["en", "email"].startswith("'geen adres' is not an e-mail address")
    assert said["nl", "cpv"].startswith("'abc' is geen (begin van een) CPV-code")
    assert said["en", "cpv"].startswith("'abc' is not (the start of) a CPV code")
    for text in said.values():
        assert "^" not in text and "[" not in text, text
