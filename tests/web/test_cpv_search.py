"""CPV type-ahead (#16 item 8): everyday Dutch words, compounds and English phrases find
their codes, the usual procurement sense ranks first, and an unknown code is refused."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from api.services.cpv_search import SENSES, search_cpv
from matcher.refdata import cpv_vocabulary
from tests.web.conftest import CSRF_RE


def test_glasbewassing_finds_window_cleaning() -> None:
    assert search_cpv("glasbewassing")[0] == "90911300"  # Window-cleaning services
    assert search_cpv("glazenwasser")[0] == "90911300"
    assert search_cpv("window cleaning")[0] == "90911300"


def test_fietsenstalling_finds_bicycle_parking() -> None:
    hits = search_cpv("fietsenstalling")[:5]
    assert {"45213300", "44212321"} <= set(hits)  # transport buildings, (bus) shelters
    assert hits[0] == "63712400"  # running one: parking services, a service first
    assert search_cpv("bicycle parking")[:4] == hits[:4]


def test_groen_ranks_green_maintenance_above_vegetables() -> None:
    hits = search_cpv("groen", 30)
    assert hits[0] == "77310000"  # planting and maintenance of green areas
    assert "03221000" in hits and hits.index("77310000") < hits.index("03221000")
    # Someone who means vegetables still finds them first.
    assert search_cpv("groenten")[0].startswith(("03", "15"))


def test_compounds_split_into_label_words() -> None:
    # Neither word is in any label; its parts are.
    assert search_cpv("tuinonderhoud")[0] == "77311000"
    assert search_cpv("kantoorschoonmaak")[0] == "90919000"  # office cleaning


def test_services_win_ties_over_supplies() -> None:
    vocab = cpv_vocabulary()
    assert vocab[search_cpv("catering")[0]].type == "services"


def test_every_curated_sense_is_a_real_code() -> None:
    vocab = cpv_vocabulary()
    assert all(code in vocab for codes in SENSES.values() for code in codes)


def test_endpoint_finds_nothing_for_an_unknown_code(client: TestClient) -> None:
    # What the picker asks before it makes a typed code a chip.
    assert client.get("/api/v1/cpv?q=99999999&limit=1").json()["items"] == []
    known = client.get("/api/v1/cpv?q=90911300&limit=1").json()["items"]
    assert [i["code"] for i in known] == ["90911300"]
    r = client.get("/api/v1/cpv?q=glasbewassing").json()["items"]
    assert r[0]["code"] == "90911300" and r[0]["label"] == "Wassen van ramen"


def test_tender_form_refuses_an_unknown_full_code(client: TestClient, login: Any) -> None:
    login("officer")
    form = client.get("/tenders/new")
    assert "data-unknown=" in form.text  # the picker's message for a refused code
    m = CSRF_RE.search(form.text)
    assert m
    r = client.post("/tenders/new", data={
        "title": "Glasbewassing scholen", "cpv": "90911300, 99999999",
        "contract_value_eur": "200000", "start": "2026-09-01", "end": "2028-08-31",
        "municipality": "Utrecht", "clause_kind": "percentage", "sroi_percentage": "5",
        "sroi_basis": "contract_value", "action": "publish", "csrf_token": m.group(1)})
    assert r.status_code == 422
    err = re.search(r'id="f-cpv-err">([^<]+)<', r.text)
    assert err and "Onbekende CPV-code: 99999999" in err.group(1)
