"""A tender in lots: the page shows "Per perceel" with each lot's own matches, and the
JSON API carries them (lots as the eForms importer keeps them, and as interchange
``extra.lots``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.convert import lots_from_row, tender_from_row
from api.db import get_engine
from api.tables import TenderRow

pytestmark = pytest.mark.postgres

Headers = Callable[[str], dict[str, str]]

LOTS = [
    {"id": "LOT-0001", "title": "Schoonmaak kantoren", "cpv": ["90911200"],
     "value_eur": 1_500_000.0, "strategic": [], "social_objectives": []},
    {"id": "LOT-0002", "title": "Groenonderhoud parken", "cpv": ["77310000-6"],
     "value_eur": 600_000.0},
]


def _add(extra: dict[str, object]) -> None:
    with Session(get_engine()) as s:
        s.add(TenderRow(ref="T-LOTS", buyer="Gemeente Utrecht", title="Schoonmaak en groen",
                        description="Twee percelen: schoonmaak en groenonderhoud",
                        cpv=["90911200", "77310000"], contract_value_eur=2_100_000.0,
                        municipality_code="GM0344", sroi_percentage=5.0, status="published",
                        start=date(2026, 1, 1), end=date(2029, 12, 31), extra=extra))
        s.commit()


def test_lots_are_read_from_the_stored_tender() -> None:
    row = TenderRow(ref="T", buyer="b", title="t", cpv=["90911200"],
                    extra={"published": {"lots": LOTS}})
    lots = lots_from_row(row)
    assert [(x.id, x.cpv, x.value_eur) for x in lots] == [
        ("LOT-0001", ("90911200",), 1_500_000.0), ("LOT-0002", ("77310000",), 600_000.0)]
    assert tender_from_row(row).lots == lots
    inter = TenderRow(ref="T", buyer="b", title="t", cpv=["90911200"], extra={"lots": [
        {"id": "1", "cpv": ["90911200"], "municipality": "Amsterdam"}, "not a lot"]})
    (lot,) = lots_from_row(inter)
    assert lot.municipality == "GM0363" and lot.lat is not None and lot.title == ""
    assert lots_from_row(TenderRow(ref="T", buyer="b", title="t", cpv=[])) == ()


def test_page_and_api_show_matches_per_lot(client: TestClient, login,  # type: ignore[no-untyped-def]
                                           api_token: Headers) -> None:
    _add({"published": {"format": "eforms", "lots": LOTS}})
    login("officer")
    page = client.get("/tenders/T-LOTS").text
    assert 'id="lots-title">Per perceel' in page
    lot1 = page.split('id="lot-1"')[1].split("</section>")[0]
    lot2 = page.split('id="lot-2"')[1].split("</section>")[0]
    assert "Perceel LOT-0001: Schoonmaak kantoren" in lot1
    # Each lot's list holds the firms doing its own work, first.
    assert "Schoonwerk" in lot1.split("<tbody>")[1].split("</tr>")[0]
    assert "Groenwerk" in lot2.split("<tbody>")[1].split("</tr>")[0]
    assert "Groenwerk" not in lot1 and "Schoonwerk" not in lot2
    assert "Per lot" in client.get("/tenders/T-LOTS?lang=en").text

    body = client.get("/api/v1/tenders/T-LOTS/matches", headers=api_token("officer")).json()
    assert [x["id"] for x in body["lots"]] == ["LOT-0001", "LOT-0002"]
    l1, l2 = body["lots"]
    assert l1["cpv"] == ["90911200"] and l2["value_eur"] == 600_000.0
    assert l1["items"] and l2["items"]
    assert all(i["suitable"] for i in l1["items"])
    assert l1["items"][0]["name"].startswith("Schoonwerk")
    assert l2["items"][0]["name"].startswith("Groenwerk")
    assert l1["n_suitable"] >= len(l1["items"])


def test_a_tender_without_lots_has_no_lot_sections(client: TestClient, login,  # type: ignore[no-untyped-def]
                                                   api_token: Headers) -> None:
    login("officer")
    assert 'id="lots-title"' not in client.get("/tenders/T-UTR-1").text
    body = client.get("/api/v1/tenders/T-UTR-1/matches", headers=api_token("officer")).json()
    assert body["lots"] == []
