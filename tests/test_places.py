"""Places of performance in eForms notices (ordered fallbacks through
common.resolve_places) and buyers told apart by name and registration number."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from api.importers.eforms import parse_eforms
from api.messages import render_text
from api.tables import TenderRow
from tests.conftest import import_one

EFORMS = Path(__file__).parents[1].parent / "shared" / "data" / "eforms"
NOTICE = EFORMS / "cn-social_24.xml"  # Scotland Excel; BT-728 "throughout SCOTLAND"

pytestmark = pytest.mark.skipif(not NOTICE.is_file(), reason=f"{NOTICE} not found")


def dutch(data: bytes) -> bytes:
    """The notice as a Dutch buyer would publish it: country NLD everywhere."""
    return data.replace(b'listName="country">GBR<', b'listName="country">NLD<')


def place_of(data: bytes) -> tuple[str | None, str | None, str | None]:
    result = parse_eforms(data, "n.xml")
    assert not result.rejected and not result.file_errors, (result.rejected, result.file_errors)
    (t,) = result.tenders
    return t.municipality_code, t.extra["place_from"], t.extra["place_source"]


def test_the_real_notice_has_no_dutch_place() -> None:
    # "throughout SCOTLAND", Paisley: nothing Dutch, nothing invented.
    assert place_of(NOTICE.read_bytes()) == (None, None, None)


def test_bt728_description_names_the_municipalities() -> None:
    data = dutch(NOTICE.read_bytes()).replace(
        b"Various locations throughout SCOTLAND.",
        b"Uitvoering in de gemeenten Heemstede en Bloemendaal.")
    assert place_of(data) == ("GM0397", "municipality", "BT-5071/BT-5131/BT-728 procedure")


def test_bt5131_city_even_when_it_is_an_everyday_word() -> None:
    data = dutch(NOTICE.read_bytes()).replace(
        b"<cbc:Region>anyw-cou</cbc:Region>",
        b"<cbc:StreetName>De Ploeg 1</cbc:StreetName><cbc:CityName>Best</cbc:CityName>"
        b"<cbc:PostalZone>5683 EA</cbc:PostalZone>", 1)
    result = parse_eforms(data, "n.xml")
    (t,) = result.tenders
    assert (t.municipality_code, t.postcode) == ("GM0753", "5683EA")


def test_bt5071_nuts3_region_alone_and_a_non_nuts_region() -> None:
    data = dutch(NOTICE.read_bytes()).replace(
        b"<cbc:Region>anyw-cou</cbc:Region>",
        b'<cbc:CountrySubentityCode listName="nuts">NL414</cbc:CountrySubentityCode>', 1)
    result = parse_eforms(data, "n.xml")
    (t,) = result.tenders
    assert (t.nuts3, t.municipality_code, t.extra["place_from"]) == ("NL414", "GM0772",
                                                                     "nuts3-centroid")
    wales = NOTICE.read_bytes().replace(
        b"<cbc:Region>anyw-cou</cbc:Region>",
        b'<cbc:CountrySubentityCode listName="nuts">WALES</cbc:CountrySubentityCode>', 1)
    (t,) = parse_eforms(wales, "n.xml").tenders
    assert t.nuts3 is None
    assert any("'WALES' is not a NUTS code" in render_text(w.reason, "en") for w in t.warnings)


def test_the_buyers_address_is_the_last_fallback() -> None:
    data = re.sub(rb"<cac:RealizedLocation>.*?</cac:RealizedLocation>", b"",
                  dutch(NOTICE.read_bytes()), flags=re.S)
    data = data.replace(b"<cbc:CityName>Paisley</cbc:CityName>",
                        b"<cbc:CityName>Haarlem</cbc:CityName>")
    assert place_of(data) == ("GM0392", "municipality", "buyer address (BT-513)")


def test_unrelated_buyers_with_placeholder_ids_sharing_a_procedure_id(session: Session) -> None:
    first = NOTICE.read_bytes()
    other = first.replace(b"Scotland Excel", b"Gemeente Bloemendaal")
    assert b"<cbc:CompanyID>n/a</cbc:CompanyID>" in first  # the same placeholder in both
    assert import_one(session, "eforms", first, "a.xml").created == 1
    report = import_one(session, "eforms", other, "b.xml")
    assert report.ok and report.created == 1, report.to_dict()
    rows = {r.ref: r.buyer for r in session.exec(select(TenderRow))}
    assert len(rows) == 2 and set(rows.values()) == {"Scotland Excel", "Gemeente Bloemendaal"}
    (suffixed,) = [ref for ref in rows if "~" in ref]
    assert suffixed.endswith("~gemeente-bloemendaal") and rows[suffixed] == "Gemeente Bloemendaal"


def test_an_award_notice_without_any_winner_is_unsuccessful() -> None:
    # Lot results: closed without a winner, awarded, not yet decided (open-nw).
    award = EFORMS / "can-social_24.xml"
    data = award.read_bytes()
    (t,) = parse_eforms(data, "can.xml").tenders
    assert t.status is None  # one lot was awarded: the procedure is not unsuccessful
    still_open = data.replace(b">selec-w<", b">clos-nw<")
    (t,) = parse_eforms(still_open, "can.xml").tenders
    assert t.status is None  # a lot is still open: not over yet
    none_won = still_open.replace(b">open-nw<", b">clos-nw<")
    (t,) = parse_eforms(none_won, "can.xml").tenders
    assert t.status == "unsuccessful"
