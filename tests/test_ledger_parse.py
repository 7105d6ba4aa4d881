"""Purchase-ledger parsing (api/importers/ledger.py) on the generated files of both Dutch
bookkeeping layouts and Excel, and on broken input: every problem reported with its row."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from api.importers.ledger import (
    LedgerFileError,
    guess_mapping,
    parse_amount,
    parse_date,
    parse_ledger,
)
from fixtures import ledgers as G
from matcher.currency import CurrencyError, rate_table, to_eur

DATA = Path(__file__).resolve().parent / "data" / "ledgers"


def _labels(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((DATA / name).read_text())))


@pytest.mark.parametrize(("name", "labels", "encoding"), [
    ("ledger_nl.csv", "ledger_nl.labels.csv", "cp1252"),
    ("ledger_en.csv", "ledger_en.labels.csv", "utf-8"),
    ("ledger.xlsx", "ledger.labels.csv", "xlsx")])
def test_committed_ledgers_parse_whole(name: str, labels: str, encoding: str) -> None:
    parsed = parse_ledger((DATA / name).read_bytes(), name)
    assert parsed.ok, parsed.errors
    assert parsed.encoding == encoding
    assert {"supplier", "description", "account", "amount", "date", "kvk"} <= set(parsed.mapping)
    truth = _labels(labels)
    assert [ln.row for ln in parsed.lines] == [int(r["row"]) for r in truth]
    notes = {(p.row, p.code) for p in parsed.notes}
    for r in truth:
        if r["note"] == "credit_note":
            assert (int(r["row"]), "credit_note") in notes
        if r["note"] == "empty_description":
            assert (int(r["row"]), "empty_description") in notes
    assert all(ln.booked_on.year == G.YEAR for ln in parsed.lines)


def test_dutch_layout_cp1252_decimal_comma_title_and_totals() -> None:
    parsed = parse_ledger((DATA / "ledger_nl.csv").read_bytes(), "ledger_nl.csv")
    assert parsed.delimiter == ";"
    assert any(ln.supplier == "Lunchcafé De Tafel B.V." or ln.supplier.startswith("Lunchcafé")
               for ln in parsed.lines)
    totals = [p for p in parsed.notes if p.code == "totals_row"]
    assert len(totals) == 1 and totals[0].row == parsed.lines[-1].row + 1
    gen = G.generate(G.SEED, lang="nl")
    assert [ln.amount_eur for ln in parsed.lines] == [g.amount_eur for g in gen]


def test_english_layout_foreign_currency_converted_at_the_ecb_rate() -> None:
    """Foreign lines without a euro amount: converted by matcher.currency at the rate of
    the line's month, the original amount and currency kept, each one reported."""
    parsed = parse_ledger((DATA / "ledger_en.csv").read_bytes(), "ledger_en.csv")
    foreign = [ln for ln in parsed.lines if ln.currency != "EUR"]
    assert foreign and all(ln.amount_eur is not None and ln.amount_currency
                           for ln in foreign)
    for ln in foreign:
        conv = to_eur(ln.amount_currency or 0.0, ln.currency, ln.booked_on)
        assert ln.amount_eur == conv.eur != ln.amount_currency
    notes = {p.row: p for p in parsed.notes if p.code == "converted"}
    assert set(notes) == {ln.row for ln in foreign}
    some = notes[foreign[0].row].params
    assert some["month"] == foreign[0].booked_on.strftime("%Y-%m") and some["rate"] > 0


def test_foreign_amounts_outside_the_rate_table_are_kept_and_reported() -> None:
    """A month after the table's last, before its first, or an unknown currency: the line
    is kept with its original amount, reported, and not counted as euros."""
    last = rate_table().months["USD"][-1]
    after = date(int(last[:4]) + 1, 1, 15)
    text = ("Date,Supplier,Description,Net amount,Currency\n"
            f"{after.isoformat()},Courier A,courier run,100.00,USD\n"
            "1990-03-01,Courier A,courier run,50.00,GBP\n"
            "2025-03-03,Courier A,courier run,70.00,XYZ\n"
            "2025-03-04,Courier A,courier run,80.00,usd\n"
            "2025-03-05,Courier A,courier run,90.00,EUR\n")
    parsed = parse_ledger(text.encode(), "x.csv")
    assert parsed.ok, parsed.errors
    assert [(ln.currency, ln.amount_currency, ln.amount_eur is None)
            for ln in parsed.lines[:3]] == [("USD", 100.0, True), ("GBP", 50.0, True),
                                            ("XYZ", 70.0, True)]
    assert [p.row for p in parsed.notes if p.code == "no_rate"] == [2, 3, 4]
    assert parsed.lines[3].amount_eur == to_eur(80.0, "USD", date(2025, 3, 4)).eur
    assert [p.row for p in parsed.notes if p.code == "converted"] == [5]
    assert parsed.lines[4].amount_eur == 90.0 and parsed.lines[4].amount_currency is None


def test_currency_owner_refuses_a_month_after_its_table_only_when_asked() -> None:
    last = rate_table().months["USD"][-1]
    after = date(int(last[:4]) + 1, 1, 15)
    assert to_eur(10.0, "USD", after).rate_month == last  # the notices' nearest earlier
    with pytest.raises(CurrencyError, match="ends"):
        to_eur(10.0, "USD", after, within=True)


def test_xlsx_cells_as_dates_and_numbers() -> None:
    parsed = parse_ledger((DATA / "ledger.xlsx").read_bytes(), "ledger.xlsx")
    first = G.generate(G.SEED, lang="nl")[0]
    assert parsed.lines[0].booked_on == first.booked_on
    assert parsed.lines[0].amount_eur == first.amount_eur
    assert parsed.lines[0].account.isdigit()


def test_committed_files_are_the_generators() -> None:
    for name in ("ledger_nl.csv", "ledger_en.csv", "ledger_nl.labels.csv",
                 "ledger_en.labels.csv", "ledger_exact.csv", "ledger_snelstart.csv",
                 "ledger_moneybird.csv"):
        gen = G.generate(G.SEED, lang="en" if "_en" in name else "nl")
        fresh = {"ledger_nl.csv": G.write_nl_csv, "ledger_en.csv": G.write_en_csv,
                 "ledger_exact.csv": G.write_exact_csv,
                 "ledger_snelstart.csv": G.write_snelstart_csv,
                 "ledger_moneybird.csv": G.write_moneybird_csv}.get(name)
        data = fresh(gen) if fresh else G.labels_csv(gen, 2 if "_en" in name else 3)
        assert (DATA / name).read_bytes() == data, f"{name}: run python -m fixtures.ledgers"


def test_every_bad_row_is_reported_and_refuses_the_file() -> None:
    text = ("Datum;Crediteur;Omschrijving;Bedrag excl. btw\n"
            "03-01-2025;Drukkerij A;drukwerk;12,50\n"
            "32-01-2025;Drukkerij A;drukwerk;12,50\n"
            "04-01-2025;;drukwerk;7,00\n"
            "05-01-2025;Drukkerij A;drukwerk;twaalf\n")
    parsed = parse_ledger(text.encode(), "x.csv")
    assert not parsed.ok
    assert [(p.row, p.code) for p in parsed.errors] == [
        (3, "bad_date"), (4, "no_supplier"), (5, "bad_amount")]
    assert parsed.errors[0].column == "Datum"


def test_missing_column_then_the_users_mapping() -> None:
    text = "Wanneer,Crediteur,Tekst,Netto\n2025-02-01,Koerier B,rit,30.00\n"
    parsed = parse_ledger(text.encode(), "x.csv")
    assert {p.params.get("field") for p in parsed.errors} == {"date"}
    fixed = parse_ledger(text.encode(), "x.csv", {"date": "Wanneer", "description": "Tekst"})
    assert fixed.ok
    assert fixed.lines[0].booked_on == date(2025, 2, 1)
    assert fixed.lines[0].description == "rit" and fixed.lines[0].amount_eur == 30.0
    bad = parse_ledger(text.encode(), "x.csv", {"date": "Bestaat niet"})
    assert [p.code for p in bad.errors] == ["unknown_column"]


@pytest.mark.parametrize(("raw", "comma", "value"), [
    ("1.234,56", True, 1234.56), ("-12,50", True, -12.5), ("€ 7,00", True, 7.0),
    ("12,50-", True, -12.5), ("1,234.56", False, 1234.56), ("(30.00)", False, -30.0)])
def test_amounts(raw: str, comma: bool, value: float) -> None:
    assert parse_amount(raw, comma) == value


def test_header_recognition_prefers_excl_btw() -> None:
    m = guess_mapping(["Leverancier", "Bedrag incl. btw", "Bedrag excl. btw", "Boekdatum",
                       "KvK", "Grootboek"])
    assert m["amount"] == "Bedrag excl. btw" and m["supplier"] == "Leverancier"
    assert m["date"] == "Boekdatum" and m["kvk"] == "KvK" and m["account"] == "Grootboek"


@pytest.mark.parametrize(("data", "nl", "en"), [
    (b"", "het bestand is leeg", "the file is empty"),
    (b"\x00\x01binary", "binair bestand", "binary file"),
    (b"a;b\n1;2\n", "geen kopregel gevonden", "no header row found")])
def test_unreadable_files(data: bytes, nl: str, en: str) -> None:
    """Refused with why, in the reader's language."""
    with pytest.raises(LedgerFileError) as refused:
        parse_ledger(data, "x.csv")
    assert refused.value.message.render("nl").startswith(nl)
    assert refused.value.message.render("en").startswith(en)


def test_unicode_text_export_and_month_names() -> None:
    """Excel's "Unicode text" export (UTF-16 with a byte order mark, tab-separated) and
    dates written with a Dutch or English month name, as some packages print them."""
    text = ("Datum\tLeverancier\tOmschrijving\tBedrag excl. btw\r\n"
            "3 jan 2026\tGlans B.V.\tschoonmaak wk 1\t1.234,56\r\n"
            "04-mrt-2026\tDrukkerij Één\tvisitekaartjes\t99,50\r\n"
            "15 mei 2026\tGlans B.V.\tschoonmaak\t10,00\r\n"
            "1 October 2026\tGlans B.V.\tcleaning\t5,00\r\n")
    for encoding in ("utf-16", "utf-16-be"):
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        parsed = parse_ledger(data, "export.txt")
        assert parsed.ok, parsed.errors
        assert [ln.booked_on for ln in parsed.lines] == [
            date(2026, 1, 3), date(2026, 3, 4), date(2026, 5, 15), date(2026, 10, 1)]
        assert parsed.lines[1].supplier == "Drukkerij Één"
        assert parsed.lines[0].amount_eur == 1234.56
    with pytest.raises(LedgerFileError) as refused:  # an odd byte: not UTF-16 after all
        parse_ledger(b"\xff\xfe" + text.encode("utf-16-le")[:-1], "export.txt")
    assert refused.value.message.render("en").startswith("the file says it is UTF-16")
    for bad in ("31 feb 2026", "3 foo 2026"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_account_number_and_name_columns_are_read_together() -> None:
    """Most packages export the ledger account's number and name as two columns; the line
    carries both ("4330 Schoonmaakkosten"), the name alone where there is no number."""
    text = ("Datum;Crediteurnaam;Omschrijving;Grootboekrekening;Omschrijving grootboek;"
            "Bedrag excl. btw\n"
            "3-1-2026;Glans B.V.;wk 1;4330;Schoonmaakkosten;100,00\n"
            "4-1-2026;Glans B.V.;wk 2;4330;4330 Schoonmaakkosten;100,00\n"
            "5-1-2026;Glans B.V.;wk 3;;Schoonmaakkosten;100,00\n")
    parsed = parse_ledger(text.encode(), "x.csv")
    assert parsed.ok, parsed.errors
    assert parsed.mapping["account"] == "Grootboekrekening"
    assert parsed.mapping["account_name"] == "Omschrijving grootboek"
    assert [ln.account for ln in parsed.lines] == ["4330 Schoonmaakkosten"] * 2 + [
        "Schoonmaakkosten"]
    assert guess_mapping(["Date", "Vendor", "GL account", "GL account name", "Net amount"]
                         )["account_name"] == "GL account name"


def test_damaged_xlsx() -> None:
    with pytest.raises(LedgerFileError, match="Excel"):
        parse_ledger(b"PK\x03\x04garbage", "x.xlsx")


@pytest.mark.parametrize("layout", ["exact", "snelstart", "moneybird"])
def test_other_packages_exports_parse_whole_with_what_was_recognised(layout: str) -> None:
    """The committed exports of Exact Online, SnelStart and Moneybird: every generated line
    comes back with its supplier, date and euro amount; the layout's peculiarities are
    each reported once (sep= line, title rows, debit/credit, subtotals, unused columns)."""
    name = G.LAYOUT_FILES[layout]
    parsed = parse_ledger((DATA / name).read_bytes(), name)
    gen = G.generate(G.SEED, lang="nl")
    assert parsed.ok, parsed.errors
    assert len(parsed.lines) == len(gen)
    for ln, g in zip(parsed.lines, gen, strict=True):
        assert (ln.supplier, ln.booked_on) == (g.supplier.name, g.booked_on)
        if g.currency == "EUR" or layout != "moneybird":
            assert ln.amount_eur == g.amount_eur
        else:  # only the foreign amount: converted at the ECB rate of the month
            assert ln.amount_eur == to_eur(g.amount_currency or 0.0, g.currency,
                                           g.booked_on).eur
    codes = [p.code for p in parsed.notes]
    assert codes.count("unused_columns") == 1
    assert codes.count("credit_note") == sum(1 for g in gen if g.amount_eur < 0)
    if layout == "exact":
        assert parsed.mapping["supplier"] == "Crediteurnaam"  # not the "Crediteur" code
        assert parsed.mapping["description"] == "Omschr." and "credit" not in parsed.mapping
        assert codes.count("sep_line") == 1
    if layout == "snelstart":
        assert codes.count("debit_credit") == 1 and codes.count("skipped_rows") == 1
        assert codes.count("totals_row") == len({g.booked_on.month for g in gen}) + 1
    if layout == "moneybird":
        assert codes.count("converted") == sum(1 for g in gen if g.currency != "EUR") > 0


def test_headers_of_other_packages() -> None:
    m = guess_mapping(["Dagboek", "Boekdatum", "Factuurdatum", "GB-rekening", "Omschr.",
                       "Relatiecode", "Relatienaam", "Bedrag excl.", "Valuta", "KvK-nummer"])
    assert (m["date"], m["account"], m["description"], m["supplier"], m["amount"],
            m["currency"], m["kvk"]) == ("Boekdatum", "GB-rekening", "Omschr.", "Relatienaam",
                                         "Bedrag excl.", "Valuta", "KvK-nummer")
    m = guess_mapping(["Datum", "Relatiecode", "Naam", "Grootboek", "Netto bedrag"])
    assert m["supplier"] == "Naam" and m["amount"] == "Netto bedrag"
    m = guess_mapping(["Crediteurnummer", "Crediteurnaam", "Debet", "Credit", "Datum"])
    assert (m["supplier"], m["amount"], m["credit"]) == ("Crediteurnaam", "Debet", "Credit")


def test_king_like_debit_credit_sign_totals_and_formats() -> None:
    """Blank and title rows before the header, D/C sign, totals in the supplier column,
    opening balances, amounts with a trailing minus, in brackets or with a euro sign,
    dates in every Dutch way; each skipped row reported."""
    text = ("Grootboekkaart 4330 Schoonmaakkosten;;;;;\n"
            ";;;;;\n"
            "Boekdatum;Relatienaam;Omschrijving;Grootboekrekening;Bedrag;D/C\n"
            "3-1-2026;Glans B.V.;schoonmaak wk 1;4330;€ 1.234,56;D\n"
            "03/01/2026;Glans B.V.;creditnota;4330;100,00;C\n"
            "2026-01-05;Glans B.V.;schoonmaak wk 2;4330;(50,00);D\n"
            "06.01.2026;Glans B.V.;correctie;4330;25,00-;D\n"
            "2026-01-07T00:00:00;Glans B.V.;schoonmaak wk 3;4330;1.000;D\n"
            ";Beginsaldo;;;0,00;\n"
            ";Totaal;;;2.059,56;D\n")
    parsed = parse_ledger(text.encode("cp1252"), "king.csv")
    assert parsed.ok, parsed.errors
    assert [ln.amount_eur for ln in parsed.lines] == [1234.56, -100.0, -50.0, -25.0, 1000.0]
    assert [ln.booked_on for ln in parsed.lines] == [
        date(2026, 1, d) for d in (3, 3, 5, 6, 7)]
    assert [p.row for p in parsed.notes if p.code == "totals_row"] == [9, 10]
    skipped = [p for p in parsed.notes if p.code == "skipped_rows"]
    assert [p.params["rows"] for p in skipped] == ["1"]


def test_xlsx_reports_progress_while_the_workbook_is_read() -> None:
    # Reading the sheet is most of an .xlsx import: it says how far it is every 10,000
    # rows, as the CSV parse does, instead of nothing until every row is in memory.
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Datum", "Relatie", "Omschrijving", "Bedrag excl. btw"])
    for i in range(21_000):
        ws.append([date(2025, 1, 1 + i % 28), "Drukkerij Het Vel", "drukwerk", 10.0])
    buf = io.BytesIO()
    wb.save(buf)
    calls: list[tuple[str, int, int]] = []
    parsed = parse_ledger(buf.getvalue(), "big.xlsx",
                          progress=lambda step, done, total: calls.append((step, done, total)))
    assert len(parsed.lines) == 21_000
    assert [c for c in calls if c[0] == "read"] == [("read", n, 21_001)
                                                   for n in (0, 10_000, 20_000)]
    assert ("parse", 20_000, 21_000) in calls


def test_afas_account_name_beside_its_number() -> None:
    # AFAS Profit names the ledger account "Omschrijving rekening" beside "Rekeningnummer"
    # (a number, not mapped: elsewhere that header is a bank account).
    m = guess_mapping(["Rekeningnummer", "Omschrijving rekening", "Datum boeking",
                       "Nummer crediteur", "Naam crediteur", "Omschrijving boeking",
                       "Bedrag debet", "Bedrag credit"])
    assert m["account_name"] == "Omschrijving rekening"
    assert m["description"] == "Omschrijving boeking"
    assert m["supplier"] == "Naam crediteur"
    assert "account" not in m
