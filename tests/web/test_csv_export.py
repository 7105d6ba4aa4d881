"""Spreadsheet CSV downloads (#16 item 4): Dutch files with ``;``, a decimal comma, Dutch
headers, names beside references and a BOM; English files with ``,`` and a point."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from api.i18n import english
from api.routes import (
    challenges,
    curation,
    dashboard,
    enterprises,
    ledgers,
    obligations,
    tenders,
    vetting,
)
from api.web.csv_export import Column, cell, csv_lines, plain_number
from tests.web.csv_read import read_csv

ALL_COLUMNS: list[Column] = [
    *tenders.CSV_COLUMNS, *obligations.CSV_COLUMNS, *obligations.DELIVERY_CSV,
    *challenges.BOARD_COLUMNS, *vetting.QUEUE_COLUMNS, *vetting.HISTORY_COLUMNS,
    *curation.QUEUE_COLUMNS, *curation.LOG_COLUMNS, *enterprises.CSV_COLUMNS,
    *ledgers.EXPORT_COLUMNS, *(c for cols in dashboard.CSV_COLUMNS.values() for c in cols)]


def test_deliveries_in_dutch_for_a_dutch_spreadsheet(client: TestClient, login: Any) -> None:
    login("firm")
    r = client.get("/obligations/O-1/deliveries.csv")
    assert r.content.startswith("\ufeff".encode())  # UTF-8 BOM, so Excel reads accents
    body = r.text[1:]
    header = body.splitlines()[0]
    assert header.startswith("Nr.;Datum;Onderneming;Kenmerk onderneming;")
    # Parsed with the Dutch dialect the columns line up.
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    e006 = [row for row in rows if row["Kenmerk onderneming"] == "E-006"]
    assert e006 and e006[0]["Onderneming"] == "Schoonwerk Amsterdam 6"  # the name beside
    # 20,000 / 6 euros: cents with a decimal comma, no thousands separator, no € sign.
    assert e006[0]["Factuurbedrag (EUR)"] == "3333,33"
    assert float(e006[0]["Waarde social return (EUR)"].replace(",", ".")) == 3333.33
    assert {row["Soort"] for row in rows} == {"Inkoop"}  # codes by their labels
    assert {row["Buiten het plan"] for row in rows} == {"nee"}


def test_deliveries_in_english_use_commas_and_points(client: TestClient, login: Any) -> None:
    login("firm")
    r = client.get("/obligations/O-1/deliveries.csv?lang=en")
    assert r.headers["content-language"] == "en" and r.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(r.text[1:])))  # the default ',' dialect
    e006 = next(row for row in rows if row["Enterprise reference"] == "E-006")
    assert e006["Enterprise"] == "Schoonwerk Amsterdam 6"
    assert e006["Invoice amount (EUR)"] == "3333.33" and e006["Kind"] == "Purchase"
    assert r.text.splitlines()[0].startswith("\ufeffNo.,Date,Enterprise,")


def test_tender_list_names_and_codes(client: TestClient, login: Any) -> None:
    login("officer")
    rows = read_csv(client.get("/tenders/export.csv"))
    t1 = next(r for r in rows if r["Kenmerk"] == "T-UTR-1")
    assert t1["Aanbesteding"] == "Schoonmaak stadskantoren"
    assert (t1["Gemeente"], t1["Gemeentecode"]) == ("Utrecht", "GM0344")
    assert t1["Opdrachtwaarde (EUR)"] == "2400000" and t1["Status"] == "Gepubliceerd"
    assert t1["SROI-percentage"] == "5"


def test_every_header_and_label_has_english() -> None:
    en = english()
    missing = {c.header for c in ALL_COLUMNS if c.header not in en}
    missing |= {v for c in ALL_COLUMNS for v in (c.labels or {}).values() if v not in en}
    assert not missing, sorted(missing)


def test_cells_follow_the_language() -> None:
    assert plain_number(2500.0, "nl") == "2500" and plain_number(2500.5, "nl") == "2500,5"
    assert plain_number(1234567.891, "en", 2) == "1234567.89"
    assert plain_number(-0.0000001, "nl") == "0" and plain_number(float("nan"), "nl") == ""
    assert cell(True, "nl") == "ja" and cell(False, "en") == "no"
    assert cell(["a", "b"], "nl") == "a | b"
    # A text that a spreadsheet would run as a formula is defused; a number is not text.
    assert cell("=HYPERLINK(\"x\")", "nl").startswith("'=") and cell(-5, "nl") == "-5"
    text = "".join(csv_lines([{"x_eur": 2.346, "y": 0.125}],
                             [Column("x_eur", "Bedrag (EUR)"), Column("y", "Score")], "nl"))
    assert text == "\ufeffBedrag (EUR);Score\r\n2,35;0,125\r\n"
