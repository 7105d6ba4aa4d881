"""POST /api/v1/import/{ocds,eforms}: real published files through the API, per-item reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import SHARED_DATA
from tests.test_import_ocds import in_euro

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not (SHARED_DATA / "ocds").is_dir() or not (SHARED_DATA / "eforms").is_dir(),
                       reason=f"shared OCDS/eForms example files not found under {SHARED_DATA}"),
]

OCDS = SHARED_DATA / "ocds" / "ocds_fictional_example_1.1_release_package.json"
EFORMS = SHARED_DATA / "eforms"

Headers = Callable[[str], dict[str, str]]


CONFIRM = {"confirm": "true"}


def _upload(name: str, data: bytes, mime: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, mime))]


def test_ocds_release_package_through_api(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    # The worked example as published is in GBP: kept, converted at the ECB rate of the
    # tender release's month, and the tender says which rate and month.
    r = client.post("/api/v1/import/ocds", data=CONFIRM, headers=h,
                    files=_upload(OCDS.name, OCDS.read_bytes(), "application/json"))
    assert r.status_code == 200, r.text
    (gbp,) = r.json()["files"]
    assert gbp["written"] is True and gbp["rejected"] == 0 and gbp["created"] == 1
    ocid = json.loads(OCDS.read_bytes())["releases"][0]["ocid"]
    got = client.get(f"/api/v1/tenders/{ocid}", headers=h)
    assert got.status_code == 200, got.text
    assert got.json()["contract_value_eur"] > 1_100_000  # pounds were worth more than euros
    data = json.dumps(in_euro(json.loads(OCDS.read_bytes()))).encode()
    r = client.post("/api/v1/import/ocds", data=CONFIRM, headers=h,
                    files=_upload(OCDS.name, data, "application/json"))
    assert r.status_code == 200, r.text
    body = r.json()
    (report,) = body["files"]
    assert report["format"] == "ocds" and report["written"] is True
    assert report["updated"] == 1  # the same tender, now in euros
    got = client.get(f"/api/v1/tenders/{ocid}", headers=h)
    assert got.status_code == 200, got.text
    assert got.json()["contract_value_eur"] == 1_100_000
    assert got.json()["cpv"], "CPV codes from items[].classification"
    # Idempotent by OCID: the same file again creates nothing.
    again = client.post("/api/v1/import/ocds", data=CONFIRM, headers=h,
                        files=_upload(OCDS.name, data, "application/json")).json()
    assert again["files"][0]["created"] == 0


def test_eforms_notice_and_broken_file(client: TestClient, api_token: Headers) -> None:
    h = api_token("connector")
    good = (EFORMS / "cn-social_24.xml").read_bytes()
    files = _upload("cn-social_24.xml", good, "application/xml")
    files += _upload("broken.xml", b"<not-a-notice", "application/xml")
    r = client.post("/api/v1/import/eforms", data=CONFIRM, headers=h, files=files)
    assert r.status_code == 200, r.text
    body = r.json()
    ok, broken = body["files"]
    assert body["ok"] is False
    assert ok["written"] is True and ok["created"] == 1
    assert broken["written"] is False and broken["created"] == 0
    assert broken["file_errors"] or any(i["errors"] for i in broken["items"])


def test_published_import_access_and_validation(client: TestClient, api_token: Headers) -> None:
    data = OCDS.read_bytes()
    r = client.post("/api/v1/import/ocds", data=CONFIRM, headers=api_token("firm"),
                    files=_upload(OCDS.name, data, "application/json"))
    assert r.status_code == 403
    assert r.json()["detail"]["message"]
    r = client.post("/api/v1/import/csv", data=CONFIRM, headers=api_token("connector"),
                    files=_upload(OCDS.name, data, "application/json"))
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == "fmt"
    r = client.post("/api/v1/import/ocds", data=CONFIRM,
                    files=_upload(OCDS.name, data, "application/json"))
    assert r.status_code == 401


def test_an_officer_imports_only_their_own_buyers_tenders(client: TestClient,
                                                          api_token: Headers) -> None:
    from tests.web.seed import AMSTERDAM, UTRECHT

    doc = in_euro(json.loads(OCDS.read_bytes()))
    ocid = doc["releases"][0]["ocid"]

    def with_buyer(name: str) -> bytes:
        for rel in doc["releases"]:
            rel.setdefault("buyer", {})["name"] = name
            for party in rel.get("parties", []):
                if "buyer" in party.get("roles", []):
                    party["name"] = name
        return json.dumps(doc).encode()

    # Another buyer's notice: refused, with the reason, nothing written.
    r = client.post("/api/v1/import/ocds", data=CONFIRM, headers=api_token("officer"),
                    files=_upload("other.json", with_buyer(AMSTERDAM), "application/json"))
    (report,) = r.json()["files"]
    assert report["written"] is False and report["rejected"] == 1
    assert "is niet uw organisatie" in json.dumps(report["items"])
    assert client.get(f"/api/v1/tenders/{ocid}", headers=api_token("connector")).status_code \
        == 404
    # Their own: imported, and theirs to see.
    r = client.post("/api/v1/import/ocds", data=CONFIRM, headers=api_token("officer"),
                    files=_upload("own.json", with_buyer(UTRECHT), "application/json"))
    assert r.json()["files"][0]["created"] == 1, r.text
    assert client.get(f"/api/v1/tenders/{ocid}", headers=api_token("officer")).status_code \
        == 200
    # The other officer cannot take it over by importing it under their name.
    r = client.post("/api/v1/import/ocds", data=CONFIRM, headers=api_token("officer2"),
                    files=_upload("takeover.json", with_buyer(AMSTERDAM), "application/json"))
    assert r.json()["files"][0]["written"] is False
    got = client.get(f"/api/v1/tenders/{ocid}", headers=api_token("connector")).json()
    assert got["buyer"] == UTRECHT


def test_published_import_previews_without_confirm(client: TestClient,
                                                   api_token: Headers) -> None:
    h = api_token("connector")
    data = json.dumps(in_euro(json.loads(OCDS.read_bytes()))).encode()
    ocid = json.loads(data)["releases"][0]["ocid"]
    r = client.post("/api/v1/import/ocds", headers=h,
                    files=_upload(OCDS.name, data, "application/json"))
    (report,) = r.json()["files"]
    assert r.json()["dry_run"] and report["written"] is False and report["created"] == 1
    assert client.get(f"/api/v1/tenders/{ocid}", headers=h).status_code == 404


def test_tender_page_shows_the_rate_used_and_a_closed_status(
        client: TestClient, api_token: Headers, login: Callable[[str], TestClient],
        db_engine: Any) -> None:
    from matcher.currency import rate_table
    from tests.test_import_ocds import EXAMPLES

    h = api_token("connector")
    for name in ("keep_what_can_be_kept.json", "statuses.json"):
        r = client.post("/api/v1/import/ocds", data={**CONFIRM, "partial": "true"}, headers=h,
                        files=_upload(name, (EXAMPLES / name).read_bytes(), "application/json"))
        assert r.status_code == 200 and r.json()["files"][0]["written"] is True, r.text
    items = r.json()["files"][0]["items"]
    assert all("warnings" in i for i in items)
    page = login("connector")
    html = page.get("/tenders/ocds-oslo-nok?lang=en").text
    rate, month = rate_table().rate("NOK", __import__("datetime").date(2024, 2, 20))
    assert f"converted at the ECB reference rate of {month}" in html
    assert "NOK per euro" in html
    # The obligation on that tender says the same.
    from datetime import date

    from sqlmodel import Session

    from api.tables import ObligationRow
    from tests.web.seed import FIRM_A

    with Session(db_engine) as session:
        session.add(ObligationRow(ref="O-NOK", firm=FIRM_A, tender_ref="ocds-oslo-nok",
                                  amount_eur=50_000.0, buys=["90919300"],
                                  municipality_code="GM0344", due=date(2029, 12, 31)))
        session.commit()
    obligation = page.get("/obligations/O-NOK?lang=en")
    assert obligation.status_code == 200
    assert f"converted at the ECB reference rate of {month}" in obligation.text
    cancelled = page.get("/tenders/ocds-zw01-2024-001?lang=en").text
    assert "Cancelled" in cancelled and "it is not matched" in cancelled
    api = client.get("/api/v1/tenders/ocds-zw01-2024-001/matches", headers=h)
    assert api.status_code == 409 and api.json()["detail"]["field"] == "status"


def test_tender_page_names_the_notice_kind_in_the_page_language(
        client: TestClient, api_token: Headers, login: Callable[[str], TestClient]) -> None:
    """The notice kind is stored as a code and named on the tender's page in the reader's
    language; a tender stored before the codes (an English name) reads the same."""
    from sqlmodel import Session, select

    from api.db import get_engine
    from api.tables import TenderRow

    h = api_token("connector")
    good = (EFORMS / "cn-social_24.xml").read_bytes()
    r = client.post("/api/v1/import/eforms", data=CONFIRM, headers=h,
                    files=_upload("cn-social_24.xml", good, "application/xml"))
    assert r.status_code == 200 and r.json()["files"][0]["created"] == 1, r.text
    with Session(get_engine()) as s:
        row = s.exec(select(TenderRow).where(TenderRow.source == "eforms")).one()
        ref, published = row.ref, dict((row.extra or {})["published"])
    assert published["notice_kind"] == "competition"
    page = login("connector")
    detail = f"({published['notice_type']}, subtype {published['subtype']})"
    nl = page.get(f"/tenders/{ref}?lang=nl").text
    assert f"Gepubliceerd als aankondiging van een opdracht {detail}" in nl
    en = page.get(f"/tenders/{ref}?lang=en").text
    assert f"Published as contract notice {detail}" in en
    # Stored before the codes: the English name reads in Dutch too.
    with Session(get_engine()) as s:
        row = s.exec(select(TenderRow).where(TenderRow.ref == ref)).one()
        row.extra = {**(row.extra or {}), "published": {
            **published, "notice_kind": f"contract notice {detail}"}}
        s.add(row)
        s.commit()
    nl = page.get(f"/tenders/{ref}?lang=nl").text
    assert f"Gepubliceerd als aankondiging van een opdracht {detail}" in nl
