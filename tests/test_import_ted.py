"""TED XML R2.0.9 import on real notices (tests/data/ted/README.md), plus altered copies."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from api.importers.registry import get
from api.importers.ted import parse_ted, ted_number
from api.messages import render_text
from api.tables import TenderRow
from tests.conftest import import_one

TED = Path(__file__).parent / "data" / "ted"


def read(name: str) -> bytes:
    return (TED / name).read_bytes()


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(TenderRow)).one())


def imported(session: Session, name: str, data: bytes | None = None) -> TenderRow:
    report = import_one(session, "ted", read(name) if data is None else data, name)
    assert report.ok and report.created + report.updated == 1, report.to_dict()
    (item,) = report.items
    assert item.ref is not None
    session.expire_all()
    return session.exec(select(TenderRow).where(TenderRow.ref == item.ref)).one()


def test_registered_as_a_published_format() -> None:
    fmt = get("ted")
    assert fmt.published and ".xml" in fmt.extensions


def test_ted_number_forms() -> None:
    assert ted_number("2021/S 027-067028") == "067028-2021"
    assert ted_number("67028-2021") == "067028-2021"
    assert ted_number("2020/S 161-391292 ") == "391292-2020"
    assert ted_number("not a number") is None


def test_dutch_contract_notice(session: Session) -> None:
    t = imported(session, "21-064844-001-EXP.xml")
    assert t.ref == "ted-067028-2021" and t.source == "ted"
    assert t.title == ("Raamovereenkomst onderhoud openbare verlichting gemeenten "
                       "Bloemendaal en Heemstede")
    assert t.buyer == "Stichting Regionaal Inkoopbureau IJmond & Kennemerland"
    assert t.cpv == ["50232100"]
    assert t.description.startswith("De opdracht betreft het onderhoud van de openbare")
    # MAIN_SITE "Heemstede en Bloemendaal.": the first municipality named.
    assert t.municipality_code == "GM0397" and t.lat is not None
    assert t.extra["published"]["place_from"] == "municipality"
    assert t.extra["published"]["durations"] == ["48 MONTH"]  # no start date given
    assert (t.start, t.end) == (None, None)
    assert t.extra["published"]["as_of"] == "2021-02-09T00:00:00"  # DATE_PUB
    assert t.contract_value_eur is None


def test_dates_values_and_cpv(session: Session) -> None:
    t = imported(session, "20-377805-001-EXP.xml")
    assert t.buyer == "Wageningen University and Research"
    assert t.cpv == ["71620000", "71610000", "71900000"]
    assert (t.start, t.end) == (date(2020, 9, 18), date(2035, 12, 31))
    assert t.contract_value_eur == 15_000_000.0
    assert t.extra["published"]["value_from"] == "VAL_ESTIMATED_TOTAL"
    assert t.municipality_code == "GM0289"  # Wageningen, the buyer's town


def test_reserved_social_services_notice(session: Session) -> None:
    t = imported(session, "19-090974-001-EXP.xml")
    assert t.extra["published"]["form"] == "F21"
    assert t.extra["published"]["notice_type"] == "CONTRACT"
    assert t.social_signals == ["reserved-execution", "reserved-participation:res-pub-ser",
                                "reserved-participation:res-ws"]
    assert t.reserved is True
    assert t.nuts3 == "FR105" and t.municipality_code is None  # a French place: no Dutch one


def test_award_notice_reads_dutch_and_joins_its_contract_notice(session: Session) -> None:
    t = imported(session, "21-000934-001-EXP.xml")
    # 24 language versions; the Dutch translation's title, the original's codes.
    assert t.title.startswith("Evaluatieondersteuning van ontwerpstrategische GLB-plannen")
    assert t.extra["published"]["language"] == "NL"
    assert t.buyer == "European Commission, Directorate General Environment"
    assert t.ref == "ted-391292-2020"  # the contract notice it names, not its own 000934
    assert t.extra["published"]["notice_id"] != "391292-2020"
    assert t.contract_value_eur == 1_490_000.0
    assert t.extra["published"]["value_from"] == "VAL_TOTAL"


def test_contract_notice_then_its_award_is_one_tender(session: Session) -> None:
    cn = imported(session, "20-377805-001-EXP.xml")
    # An award notice (issued later) pointed at this contract notice, from its buyer.
    award = re.sub(rb"<NOTICE_NUMBER_OJ>[^<]+<", b"<NOTICE_NUMBER_OJ>2020/S 150-365590<",
                   read("21-010961-001-EXP.xml"))
    award = award.replace(b"Mulonga Water Supply and Sanitation Company Ltd",
                          b"Wageningen University and Research")
    t = imported(session, "award.xml", award)
    assert t.ref == cn.ref == "ted-365590-2020" and count(session) == 1
    assert t.extra["published"]["form"] == "F03"
    assert t.contract_value_eur == 1_900_000.0  # the range's lower bound
    assert t.extra["published"]["value_from"] == "VAL_RANGE_TOTAL (low)"


def test_concession_award_and_other_forms_import(session: Session) -> None:
    for name, form in (("19-318420-001-EXP.xml", "F25"), ("19-289373-001-EXP.xml", "F22"),
                       ("20-155018-001-EXP.xml", "F01")):
        t = imported(session, name)
        assert t.extra["published"]["form"] == form and t.cpv
    assert count(session) == 3


@pytest.mark.parametrize(("name", "what", "todo", "dutch"), [
    ("21-363118-001-EXP.xml", "design contest notice (F12)", "import the contract notice",
     "prijsvraagaankondiging (F12) (een prijsvraag kent een prijs toe"),
    ("23-119901-001-EXP.xml", "corrigendum (F14)", "correct the tender on its page",
     "rectificatie (F14) (zij noemt gewijzigde velden"),
])
def test_refused_forms_say_what_and_what_to_do(session: Session, name: str, what: str,
                                               todo: str, dutch: str) -> None:
    report = import_one(session, "ted", read(name), name)
    (err,) = report.file_errors
    text = render_text(err.reason, "en")
    assert f"unsupported TED notice: {what}" in text and todo in text
    # In Dutch all through: the form's name and why it is refused, no English left.
    assert f"niet ondersteunde TED-aankondiging: {dutch}" in render_text(err.reason, "nl")
    assert count(session) == 0


def test_another_currency_is_converted_and_an_unknown_one_kept_with_a_warning(
        session: Session) -> None:
    gbp = read("20-377805-001-EXP.xml").replace(b'CURRENCY="EUR"', b'CURRENCY="GBP"')
    t = imported(session, "gbp.xml", gbp)
    (conv, *_) = t.extra["published"]["conversions"]
    assert conv["field"] == "VAL_ESTIMATED_TOTAL" and conv["currency"] == "GBP"
    assert conv["amount"] == 15_000_000.0
    assert t.contract_value_eur is not None and t.contract_value_eur != 15_000_000.0
    odd = read("20-377805-001-EXP.xml").replace(b'CURRENCY="EUR"', b'CURRENCY="XYZ"')
    (tender,) = parse_ted(odd, "xyz.xml").tenders  # kept: the value left empty
    assert tender.contract_value_eur is None
    assert any(w.field == "VAL_ESTIMATED_TOTAL.currency" for w in tender.warnings)


def test_unknown_additional_cpv_is_left_out_with_a_warning() -> None:
    data = read("20-377805-001-EXP.xml").replace(b'CODE="71610000"', b'CODE="99999999"')
    (t,) = parse_ted(data, "cpv.xml").tenders
    assert t.cpv == ["71620000", "71900000"]
    (w,) = [w for w in t.warnings if "CPV" in (w.field or "")]
    text = render_text(w.reason, "en")
    assert "99999999" in text and "other codes kept" in text


def test_award_notice_status(session: Session) -> None:
    t = imported(session, "21-000934-001-EXP.xml")
    assert t.status == "published"  # awarded: still matched (its winner owes the SROI)
    nothing = re.sub(rb"<AWARDED_CONTRACT>.*?</AWARDED_CONTRACT>",
                     b"<NO_AWARDED_CONTRACT><PROCUREMENT_UNSUCCESSFUL/></NO_AWARDED_CONTRACT>",
                     read("21-010961-001-EXP.xml"), flags=re.S)
    (tender,) = parse_ted(nothing, "none.xml").tenders
    assert tender.status == "unsuccessful"
    (cn,) = parse_ted(read("21-064844-001-EXP.xml"), "cn.xml").tenders
    assert cn.status is None  # a call for competition: open


def test_older_schema_and_eforms_and_broken_input() -> None:
    older = read("20-155018-001-EXP.xml").replace(b"R2.0.9", b"R2.0.8")
    (err,) = parse_ted(older, "old.xml").file_errors
    text = render_text(err.reason, "en")
    assert "R2.0.8" in text and "only schema R2.0.9" in text
    (err,) = parse_ted(b"<TED_EXPORT", "cut.xml").file_errors
    assert render_text(err.reason, "en").startswith("malformed XML")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aa">]><TED_EXPORT>&a;</TED_EXPORT>'
    (err,) = parse_ted(bomb, "bomb.xml").file_errors
    assert render_text(err.reason, "en").startswith("unsafe XML refused")
    eforms = Path(__file__).parent / "data" / "eforms" / "cn_24_open.xml"
    (err,) = parse_ted(eforms.read_bytes(), "cn.xml").file_errors
    text = render_text(err.reason, "en")
    assert "ContractNotice is an eForms notice" in text and "--format eforms" in text


def test_eforms_format_reads_a_ted_notice(session: Session) -> None:
    report = import_one(session, "eforms", read("21-064844-001-EXP.xml"), "ted.xml")
    assert report.ok and report.created == 1
    session.expire_all()
    (row,) = session.exec(select(TenderRow)).all()
    assert row.ref == "ted-067028-2021" and row.source == "ted"


def test_reimport_is_unchanged(session: Session) -> None:
    imported(session, "19-090974-001-EXP.xml")
    report = import_one(session, "ted", read("19-090974-001-EXP.xml"), "again.xml")
    assert report.ok and report.unchanged == 1 and count(session) == 1


def test_value_in_another_currency_is_kept_and_converted() -> None:
    from datetime import date

    from matcher.currency import rate_table

    data = read("20-377805-001-EXP.xml")
    (eur,) = parse_ted(data, "eur.xml").tenders
    (t,) = parse_ted(data.replace(b'CURRENCY="EUR"', b'CURRENCY="GBP"'), "gbp.xml").tenders
    assert not t.warnings
    conv = t.extra["conversions"][0]
    pub = re.search(rb"<DATE_PUB>(\d{8})<", data)
    assert pub is not None
    day = pub.group(1).decode()
    rate, month = rate_table().rate("GBP", date(int(day[:4]), int(day[4:6]), int(day[6:])))
    assert (conv["currency"], conv["rate"], conv["rate_month"]) == ("GBP", rate, month)
    assert conv["amount"] == eur.contract_value_eur  # the same figure, now read as pounds
    assert t.contract_value_eur == pytest.approx(conv["amount"] / rate, abs=0.01)
    (t,) = parse_ted(data.replace(b'CURRENCY="EUR"', b'CURRENCY="XYZ"'), "xyz.xml").tenders
    assert t.contract_value_eur is None
    assert "no euro reference rate for currency 'XYZ'" in render_text(t.warnings[0].reason,
                                                                      "en")


def test_an_award_notice_without_any_contract_awarded_is_unsuccessful() -> None:
    data = read("19-318420-001-EXP.xml")
    (t,) = parse_ted(data, "award.xml").tenders
    assert t.status is None and t.extra["awarded_contracts"] == 1
    none = re.sub(rb"<AWARDED_CONTRACT>.*?</AWARDED_CONTRACT>",
                  b"<NO_AWARDED_CONTRACT><PROCUREMENT_UNSUCCESSFUL/></NO_AWARDED_CONTRACT>",
                  data, flags=re.S)
    (t,) = parse_ted(none, "award.xml").tenders
    assert t.status == "unsuccessful"  # kept, shown with its status, not matched
