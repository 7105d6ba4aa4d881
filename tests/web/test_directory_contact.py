"""Contact details on enterprises (#16 item 7a): the importer's checks of e-mail, phone and
web address (JSON and CSV), the export carrying them back, the form showing the same
checks beside its fields in Dutch and English, and the enterprise page linking them.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.importers.interchange import check_record, csv_columns, parse_file
from api.serialize import enterprise_doc
from api.tables import EnterpriseRow
from tests.web.conftest import csrf_of
from tests.web.test_entity_forms import GOOD_ENTERPRISE

pytestmark = pytest.mark.postgres

BASE = {"ref": "E-C1", "name": "Fietsatelier De Spaak", "municipality": "Utrecht",
        "description": "Fietsreparatie door mensen met afstand tot werk."}


def _issues(contact: dict[str, Any]) -> dict[str | None, str]:
    parsed = check_record("enterprises", {**BASE, "contact": contact})
    return {i.field: i.code for i in parsed.issues}


def test_importer_accepts_and_normalises_contact_details() -> None:
    parsed = check_record("enterprises", {**BASE, "contact": {
        "name": " Anouk de Wit ", "email": "info@spaak.example", "phone": "030 - 123  4567",
        "website": "www.spaak.example/over-ons"}})
    assert parsed.issues == []
    values = parsed.records["enterprises"][0].values
    assert values["contact_name"] == "Anouk de Wit"
    assert values["contact_email"] == "info@spaak.example"
    assert values["contact_phone"] == "030 - 123 4567"  # spaces collapsed, as typed else
    # No scheme: taken as https (what a browser would do with it).
    assert values["website"] == "https://www.spaak.example/over-ons"
    assert _issues({"phone": "+31 6 1234 5678"}) == {}
    assert _issues({"phone": "06-12345678"}) == {}


@pytest.mark.parametrize(("contact", "field", "code"), [
    ({"email": "info@spaak"}, "contact_email", "email"),
    ({"email": "info spaak@example.nl"}, "contact_email", "email"),
    ({"email": "@example.nl"}, "contact_email", "email"),
    ({"phone": "030-12345"}, "contact_phone", "phone"),  # too few digits
    ({"phone": "12345678901"}, "contact_phone", "phone"),  # Dutch number must start with 0
    ({"phone": "bel 030-1234567"}, "contact_phone", "phone"),
    ({"phone": "+31"}, "contact_phone", "phone"),
    ({"website": "javascript:alert(1)"}, "contact_website", "website"),
    ({"website": "ftp://files.example.nl"}, "contact_website", "website"),
    ({"website": "spaak"}, "contact_website", "website"),
    ({"website": "https://user:pw@example.nl"}, "contact_website", "website"),
    ({"name": "x" * 201}, "contact_name", "too_long"),
    ({"fax": "030-1234567"}, "contact_fax", ""),  # unknown key: reported, not dropped
])
def test_importer_refuses_bad_contact_details(contact: dict[str, Any], field: str,
                                              code: str) -> None:
    assert _issues(contact) == {field: code}


def test_csv_columns_and_export_round_trip() -> None:
    cols = csv_columns("enterprises")
    assert ("contact_name", "contact_email", "contact_phone", "contact_website") == \
        cols[cols.index("contact_name"):cols.index("contact_name") + 4]
    csv = ("ref,name,description,cpv,municipality,contact_name,contact_email,contact_phone,"
           "contact_website\n"
           "E-C2,De Spaak,Fietsen maken,,Utrecht,Bram Visser,bram@spaak.example,"
           "06-12340001,https://spaak.example\n"
           "E-C3,De Ketting,Fietsen maken,,Utrecht,,,06-1234,\n")
    parsed = parse_file("enterprises.csv", csv.encode())
    assert [(i.location, i.field, i.code) for i in parsed.issues] == \
        [("row 3", "contact_phone", "phone")]
    ok = parse_file("enterprises.csv", csv.splitlines()[0].encode() + b"\n"
                    + csv.splitlines()[1].encode() + b"\n")
    values = ok.records["enterprises"][0].values
    row = EnterpriseRow(**values)
    doc = enterprise_doc(row)
    assert doc["contact"] == {"name": "Bram Visser", "email": "bram@spaak.example",
                              "phone": "06-12340001", "website": "https://spaak.example"}
    # The exported document re-imports to the same values.
    again = parse_file("x.json", json.dumps({"enterprises": [doc]}).encode())
    assert again.issues == []
    again_values = again.records["enterprises"][0].values
    for key in ("contact_name", "contact_email", "contact_phone", "website"):
        assert again_values[key] == values[key]
    # No contact: no "contact" key in the export (absent optional fields are left out).
    assert "contact" not in enterprise_doc(EnterpriseRow(ref="E-C4", name="X", lat=52.1,
                                                         lon=5.1))


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_of(client, "/account")})


def _error(html: str, name: str) -> str:
    m = re.search(rf'id="f-{name}"[^>]*aria-invalid="true" aria-describedby="f-{name}-err"',
                  html)
    assert m, f"{name}: no aria-describedby to its error"
    e = re.search(rf'<span class="error" id="f-{name}-err">([^<]*)</span>', html)
    assert e, f"{name}: no error shown"
    return e.group(1)


def test_form_saves_contact_details_and_page_links_them(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    data = {**GOOD_ENTERPRISE, "contact_name": "Bram Visser",
            "contact_email": "bram@spaak.example", "contact_phone": "06-12340001",
            "contact_website": "spaak.example"}
    r = _post(client, "/enterprises/new", data)
    assert r.status_code == 303, r.text[:800]
    ref = r.headers["location"].rsplit("/", 1)[1]
    with Session(get_engine()) as s:
        row = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == ref)).one()
    assert (row.contact_name, row.contact_email, row.contact_phone, row.website) == \
        ("Bram Visser", "bram@spaak.example", "06-12340001", "https://spaak.example")
    page = client.get(f"/enterprises/{ref}").text
    assert 'href="mailto:bram@spaak.example"' in page
    assert 'href="tel:0612340001"' in page
    assert 'href="https://spaak.example" rel="noopener noreferrer external"' in page
    # The edit form shows them, and an edit that leaves them out clears nothing else.
    edit = client.get(f"/enterprises/{ref}/edit").text
    assert 'value="bram@spaak.example"' in edit and 'value="https://spaak.example"' in edit
    r = _post(client, f"/enterprises/{ref}/edit", {**data, "contact_phone": ""})
    assert r.status_code == 303
    with Session(get_engine()) as s:
        row = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == ref)).one()
    assert row.contact_phone is None and row.contact_email == "bram@spaak.example"


def test_form_shows_contact_errors_in_both_languages(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    bad = {**GOOD_ENTERPRISE, "contact_email": "bram@spaak", "contact_phone": "030-12",
           "contact_website": "javascript:alert(1)"}
    r = _post(client, "/enterprises/new", bad)
    assert r.status_code == 422
    assert _error(r.text, "contact_email") == \
        "Geen e-mailadres: bram@spaak. Schrijf het als naam@domein.nl."
    assert _error(r.text, "contact_phone").startswith("Geen telefoonnummer: 030-12.")
    assert _error(r.text, "contact_website").startswith("Geen webadres: javascript:alert(1).")
    assert 'value="bram@spaak"' in r.text  # what was typed stays
    r = _post(client, "/enterprises/new?lang=en", bad)
    assert _error(r.text, "contact_email") == \
        "Not an e-mail address: bram@spaak. Write it as name@domain.nl."
    assert _error(r.text, "contact_phone").startswith("Not a phone number: 030-12.")
    assert _error(r.text, "contact_website").startswith("Not a web address:")


def test_page_without_contact_says_so(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    with Session(get_engine()) as s:
        ref = s.exec(select(EnterpriseRow.ref).where(
            EnterpriseRow.contact_email == None)).first()  # noqa: E711
    r = client.get(f"/enterprises/{ref}")
    assert r.status_code == 200, (ref, r.status_code)
    assert "Geen contactgegevens bekend." in r.text
