"""Import page and /api/v1/import (over api.services.importing), /api/v1/export round trip."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of

pytest.importorskip("api.services.importing")
pytestmark = pytest.mark.postgres

DOC = {"enterprises": [{
    "ref": "E-IMP-1", "name": "Import Schoon", "description": "Schoonmaak met statushouders.",
    "cpv": ["90911200"], "municipality": "Zwolle",
    "capacity": {"placements_per_year": 2, "purchasing_eur_per_year": 40000},
}]}
BAD = {"enterprises": [{**DOC["enterprises"][0], "ref": "E-IMP-2", "cpv": ["123"]}]}


def test_api_import_and_report(client: TestClient,
                               api_token: Callable[[str], dict[str, str]]) -> None:
    h = api_token("connector")
    files = [("files", ("ok.json", json.dumps(DOC), "application/json")),
             ("files", ("bad.json", json.dumps(BAD), "application/json"))]
    # Without confirm: the preview, nothing written.
    r = client.post("/api/v1/import", headers=h, files=files, data={"on_duplicate": "ask"})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["dry_run"] and preview["files"][0]["changes"][0]["action"] == "new"
    assert client.get("/api/v1/enterprises/E-IMP-1", headers=h).status_code == 404
    r = client.post("/api/v1/import", headers=h, files=files,
                    data={"on_duplicate": "ask", "confirm": "true",
                          "fingerprint": [f["fingerprint"] for f in preview["files"]]})
    assert r.status_code == 200, r.text
    report = r.json()
    assert not report["dry_run"] and report["files"][0]["written"]
    ok, bad = report["files"]
    assert ok["status"] == "imported"
    assert ok["counts"]["enterprises"]["created"] == 1
    assert bad["status"] == "rejected"
    issue = bad["issues"][0]
    assert issue["location"].startswith("enterprises[0]") and issue["reason"]
    got = client.get("/api/v1/enterprises/E-IMP-1", headers=h)
    assert got.status_code == 200 and got.json()["municipality"] == "GM0193"
    # Officers may not import.
    r = client.post("/api/v1/import", headers=api_token("officer"), files=files[:1])
    assert r.status_code == 403


def _job_page(client: TestClient, r) -> str:  # type: ignore[no-untyped-def]
    """Follow an upload to its job's page and wait there for the job to end."""
    from api.services import import_jobs

    assert r.status_code == 303 and r.headers["location"].startswith("/import/jobs/"), r.text
    import_jobs.wait_idle()
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'http-equiv="refresh"' not in page.text
    return str(r.headers["location"])


def test_import_page(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    token = csrf_of(client, "/import")
    r = client.post("/import", data={"csrf_token": token, "on_duplicate": "ask"},
                    files=[("files", ("bad.json", json.dumps(BAD), "application/json"))])
    text = client.get(_job_page(client, r)).text
    assert "geweigerd" in text and "bad.json" in text and "Bevestigen" not in text
    r = client.post("/import", data={"on_duplicate": "ask"},
                    files=[("files", ("ok.json", json.dumps(DOC), "application/json"))])
    assert r.status_code == 403  # no CSRF token


def test_export_round_trip(client: TestClient,
                           api_token: Callable[[str], dict[str, str]]) -> None:
    h = api_token("connector")
    doc = client.get("/api/v1/export?kind=enterprises", headers=h).json()
    assert len(doc["enterprises"]) == 60
    r = client.post("/api/v1/import", headers=h, data={"on_duplicate": "ask", "confirm": "true"},
                    files=[("files", ("all.json", json.dumps(doc), "application/json"))])
    counts = r.json()["files"][0]["counts"]["enterprises"]
    assert r.json()["ok"], r.json()
    assert counts["created"] == 0 and counts["unchanged"] + counts["updated"] == 60


def test_api_confirm_refuses_a_change_set_other_than_the_preview(
        client: TestClient, api_token: Callable[[str], dict[str, str]]) -> None:
    h = api_token("connector")
    files = [("files", ("ok.json", json.dumps(DOC), "application/json"))]
    preview = client.post("/api/v1/import", headers=h, files=files).json()
    changed = {"enterprises": [{**DOC["enterprises"][0], "description": "Anders"}]}
    r = client.post("/api/v1/import", headers=h,
                    files=[("files", ("ok.json", json.dumps(changed), "application/json"))],
                    data={"confirm": "true", "fingerprint": preview["files"][0]["fingerprint"]})
    f = r.json()["files"][0]
    assert f["status"] == "rejected" and not f["written"]
    assert "gewijzigd sinds de voorvertoning" in f["issues"][0]["reason"]
    assert client.get("/api/v1/enterprises/E-IMP-1", headers=h).status_code == 404


def test_api_create_runs_the_duplicate_check(
        client: TestClient, api_token: Callable[[str], dict[str, str]]) -> None:
    h = api_token("connector")
    existing = client.get("/api/v1/enterprises?per_page=1", headers=h).json()["items"][0]
    body = {"ref": "E-DUP-1", "name": existing["name"], "description": "Zelfde naam.",
            "cpv": existing["cpv"], "municipality": existing["municipality"]}
    r = client.post("/api/v1/enterprises", headers=h, json=body)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert existing["ref"] in [c["existing_ref"] for c in detail["candidates"]]
    assert client.get("/api/v1/enterprises/E-DUP-1", headers=h).status_code == 404
    # Same KvK number under another ref, far away: also a duplicate.
    if existing.get("kvk"):
        far = {**body, "name": "Heel Andere Naam", "municipality": "Maastricht"}
        far["kvk"] = existing["kvk"]
        r = client.post("/api/v1/enterprises", headers=h, json=far)
        assert r.status_code == 409 and r.json()["detail"]["candidates"][0]["reason"] == "kvk"
    r = client.post("/api/v1/enterprises?on_duplicate=keep-both", headers=h, json=body)
    assert r.status_code == 201, r.text


def test_import_page_previews_then_confirms(client: TestClient, login,  # type: ignore[no-untyped-def]
                                            api_token: Callable[[str], dict[str, str]]) -> None:
    h = api_token("connector")
    login("connector")
    token = csrf_of(client, "/import")
    upload = [("files", ("ok.json", json.dumps(DOC), "application/json"))]
    r = client.post("/import", data={"csrf_token": token, "on_duplicate": "ask"}, files=upload)
    job = _job_page(client, r)
    text = client.get(job).text
    assert "Voorbeeld van de import" in text and "E-IMP-1" in text and "Bevestigen" in text
    assert client.get("/api/v1/enterprises/E-IMP-1", headers=h).status_code == 404
    assert "E-IMP-1" in client.get(job).text  # kept server-side between steps
    r = client.post(f"{job}/confirm", data={"csrf_token": token})
    assert _job_page(client, r) == job
    text = client.get(job).text
    assert "ingelezen" in text and "De import is klaar." in text
    assert client.get("/api/v1/enterprises/E-IMP-1", headers=h).status_code == 200
    # Confirming twice writes nothing more: the job is done.
    r = client.post(f"{job}/confirm", data={"csrf_token": token})
    assert r.status_code == 409

    # A change shows its difference; "Annuleren" discards it.
    changed = {"enterprises": [{**DOC["enterprises"][0], "description": "Anders nu."}]}
    r = client.post("/import", data={"csrf_token": token, "on_duplicate": "ask"},
                    files=[("files", ("c.json", json.dumps(changed), "application/json"))])
    job = _job_page(client, r)
    text = client.get(job).text
    assert "gewijzigd" in text and "Schoonmaak met statushouders." in text
    assert "Anders nu." in text
    r = client.post(f"{job}/cancel", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    got = client.get("/api/v1/enterprises/E-IMP-1", headers=h).json()
    assert got["description"] == "Schoonmaak met statushouders."
    text = client.get(job).text
    assert "geannuleerd" in text and "Bevestigen" not in text
    assert client.post(f"{job}/confirm", data={"csrf_token": token}).status_code == 409
