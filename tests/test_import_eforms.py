"""eForms import against the eForms SDK example notices, plus altered copies of them."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from api.tables import TenderRow
from tests.conftest import import_one

DATA = Path(__file__).parents[1].parent / "shared" / "data"
EFORMS = DATA / "eforms"

pytestmark = pytest.mark.skipif(
    not (EFORMS / "pin-cfc-social_24.xml").is_file(),
    reason=f"shared eForms example notices not found under {EFORMS}",
)


def read(name: str) -> bytes:
    return (EFORMS / name).read_bytes()


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(TenderRow)).one())


def row(session: Session, ref: str) -> TenderRow:
    session.expire_all()
    return session.exec(select(TenderRow).where(TenderRow.ref == ref)).one()


def imported(session: Session, name: str, data: bytes | None = None) -> TenderRow:
    report = import_one(session, "eforms", read(name) if data is None else data, name)
    assert report.ok and report.created + report.updated == 1, report.to_dict()
    (item,) = report.items
    assert item.ref is not None
    return row(session, item.ref)


# --- the real notices -----------------------------------------------------------------


def test_pin_reserved_to_sheltered_workshops(session: Session) -> None:
    t = imported(session, "pin-cfc-social_24.xml")
    assert t.ref == "7a0d92d2-de31-4c7d-9baa-023a9a2db87b"  # BT-04 procedure identifier
    assert t.source == "eforms"
    assert t.title == "Procurement title vol3"
    assert t.buyer == "ZenithNova Innovations Ltd."
    assert t.cpv == ["85000000"]
    assert t.reserved is True
    assert t.social_signals == ["reserved-participation:res-ws"]
    assert t.extra["published"]["notice_type"] == "pin-cfc-social"


def test_pin_with_three_social_objectives_and_no_procedure_id(session: Session) -> None:
    t = imported(session, "pin-rtl_24.xml")
    assert t.ref == "af25aa4e-6ced-438b-bf19-4458c2cd2c10"  # BT-701: no BT-04 in this PIN
    assert t.social_signals == [
        "social-objective:acc-all", "social-objective:et-eq", "social-objective:opp",
    ]
    assert t.reserved is False
    assert t.cpv == ["80110000"]
    # A Greek NUTS3 region is kept but gives no Dutch place.
    assert t.nuts3 == "EL301" and t.municipality_code is None and t.lat is None


def test_multilingual_notice_prefers_dutch(session: Session) -> None:
    t = imported(session, "cn_24_multilingual.xml")
    assert t.ref == "46c9ce89-5986-40d9-992f-e1a2469a48f8"
    assert t.title.startswith("Verlening van IT-diensten die verband houden met de IT-systemen")
    assert t.description.startswith("Verlening van IT-diensten")
    assert t.buyer == "Bureau voor publicaties van de Europese Unie"
    assert t.contract_value_eur == 4_500_000.0
    assert t.cpv == ["72230000", "72260000"]
    assert t.nuts3 == "LU000"
    assert (t.start, t.end) == (date(2020, 6, 1), date(2024, 5, 31))


def test_multilingual_without_dutch_prefers_english_then_first(session: Session) -> None:
    no_dutch = re.sub(rb'<cbc:(\w+) languageID="NLD">.*?</cbc:\1>\s*', b"", read(
        "cn_24_multilingual.xml"), flags=re.S)
    t = imported(session, "cn_24_multilingual.xml", no_dutch)
    assert t.title == ("Provision of IT Services Related to OP IT Systems "
                       "(EUR-Lex, N-Lex, Search Layer, and Others)")
    assert t.buyer == "Publications Office of the European Union"
    neither = re.sub(rb'<cbc:(\w+) languageID="ENG">.*?</cbc:\1>\s*', b"", no_dutch, flags=re.S)
    t = imported(session, "cn_24_multilingual.xml", neither)
    assert t.title.startswith("Предоставяне на ИТ услуги")  # BUL: the first language given
    assert count(session) == 1


def test_two_lots_make_one_tender_for_the_procedure(session: Session) -> None:
    t = imported(session, "cn_24_FRA_comments.xml")
    assert t.ref == "e3cdabf1-e057-47a5-9210-b1f6fc757228"
    assert t.title == "Service d'entretien de remise en état et de nettoyage des espaces verts"
    assert t.buyer == "Rouen Habitat"
    assert t.cpv == ["77310000"]
    assert t.nuts3 == "FRD22" and t.municipality_code is None
    assert (t.start, t.end) == (date(2019, 9, 1), date(2020, 12, 31))
    lots = t.extra["published"]["lots"]
    assert [lot["id"] for lot in lots] == ["LOT-0001", "LOT-0002"]
    assert lots[1]["title"] == "Agence Hauts de Rouen"


def test_award_notice_value_and_all_lots_cpv(session: Session) -> None:
    t = imported(session, "can-social_24.xml")
    assert t.ref == "23da790b-60bc-4897-8a6b-5b8eda654d89"
    assert t.cpv == ["75121000", "75210000", "18000000"]
    assert t.contract_value_eur == pytest.approx(123456.78)  # BT-161: no BT-27 given
    assert t.extra["published"]["value_from"] == "BT-161"
    assert t.extra["published"]["form_type"] == "result"


def test_social_contract_notice(session: Session) -> None:
    t = imported(session, "cn-social_24.xml")
    assert t.buyer == "Scotland Excel"
    assert t.title == "Secure Care Services"
    assert t.cpv == ["85311300", "85310000", "85300000", "85000000", "80000000"]
    assert t.social_signals == [] and t.reserved is False


def test_value_in_another_currency_is_rejected(session: Session) -> None:
    report = import_one(session, "eforms", read("cn-social_25.xml"), "cn-social_25.xml")
    assert not report.ok
    (err,) = report.errors
    assert err.reason == "value in BWP, only EUR supported"
    assert err.field == "BT-27 procedure"
    assert "cn-social_25.xml" in err.location and "cf9697c2" in err.location
    assert count(session) == 0
    # The same notice in euro: social objectives and reserved execution come out.
    t = imported(session, "cn-social_25.xml",
                 read("cn-social_25.xml").replace(b'currencyID="BWP"', b'currencyID="EUR"'))
    assert t.contract_value_eur == 1231.0
    assert t.social_signals == [
        "reserved-execution", "social-objective:acc-all", "social-objective:opp",
    ]
    assert t.reserved is False  # execution, not participation, is reserved


def test_dutch_place_and_social_return_text(session: Session) -> None:
    data = read("cn_24_FRA_comments.xml")
    data = data.replace(b">FRD22<", b">NL414<").replace(
        b'<cbc:IdentificationCode listName="country">FRA</cbc:IdentificationCode>',
        b'<cbc:IdentificationCode listName="country">NLD</cbc:IdentificationCode>')
    data = data.replace(
        b"<cbc:Description languageID=\"FRA\">Service d'entretien de remise en \xc3\xa9tat et "
        b"de nettoyage des espaces verts.</cbc:Description>\n\t\t<!--BT-23",
        b"<cbc:Description languageID=\"NLD\">Groenonderhoud. Op deze opdracht is Social Return "
        b"van toepassing: 5% van de opdrachtwaarde.</cbc:Description>\n\t\t<!--BT-23",
        1,
    )
    t = imported(session, "cn_24_FRA_comments.xml", data)
    assert t.nuts3 == "NL414" and t.municipality_code == "GM0772"  # Eindhoven, largest
    assert t.description.startswith("Groenonderhoud")
    assert t.sroi_detected is True and t.sroi_confirmed is False
    assert t.sroi_percentage == 5.0 and t.sroi_basis == "contract_value"
    assert "Social Return" in (t.sroi_detected_sentence or "")


def test_reimport_updates_and_older_notice_is_stale(session: Session) -> None:
    imported(session, "pin-cfc-social_24.xml")
    again = import_one(session, "eforms", read("pin-cfc-social_24.xml"), "pin.xml")
    assert again.unchanged == 1 and count(session) == 1
    older = read("pin-cfc-social_24.xml").replace(
        b"<cbc:IssueDate>2023-05-26Z</cbc:IssueDate>", b"<cbc:IssueDate>2022-01-01Z</cbc:IssueDate>"
    ).replace(b"Procurement title vol3", b"Old title")
    report = import_one(session, "eforms", older, "old.xml")
    assert report.ok and report.stale == 1
    assert row(session, "7a0d92d2-de31-4c7d-9baa-023a9a2db87b").title == "Procurement title vol3"


# --- broken and unsupported input ------------------------------------------------------


def test_change_notice_is_refused_naming_its_kind(session: Session) -> None:
    data = read("cn-social_24.xml").replace(
        b'<cbc:NoticeTypeCode listName="competition">cn-social</cbc:NoticeTypeCode>',
        b'<cbc:NoticeTypeCode listName="change">corr</cbc:NoticeTypeCode>')
    report = import_one(session, "eforms", data, "change.xml")
    (err,) = report.file_errors
    assert "unsupported notice kind: change notice (corr, subtype 20)" in err.reason
    assert count(session) == 0


def test_other_root_element_is_refused(session: Session) -> None:
    data = read("pin-rtl_24.xml").replace(b"PriorInformationNotice",
                                          b"BusinessRegistrationInformationNotice")
    report = import_one(session, "eforms", data, "bri.xml")
    assert "BusinessRegistrationInformationNotice" in report.file_errors[0].reason


def test_malformed_and_unsafe_xml(session: Session) -> None:
    report = import_one(session, "eforms", read("pin-rtl_24.xml")[:3000], "cut.xml")
    assert report.file_errors[0].reason.startswith("malformed XML")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b"<ContractNotice>&a;</ContractNotice>")
    report = import_one(session, "eforms", bomb, "bomb.xml")
    assert report.file_errors[0].reason.startswith("unsafe XML refused")
    assert count(session) == 0


def test_unknown_cpv_in_a_lot_is_located(session: Session) -> None:
    data = read("cn_24_FRA_comments.xml")
    first = data.index(b"LOT-0002")
    data = data[:first] + data[first:].replace(b">77310000<", b">99999999<", 1)
    report = import_one(session, "eforms", data, "cn.xml")
    (err,) = report.errors
    assert err.field == "BT-262 lot LOT-0002" and "99999999" in err.reason
    assert count(session) == 0


def test_notice_without_cpv_is_rejected(session: Session) -> None:
    data = re.sub(rb"<cac:MainCommodityClassification>.*?</cac:MainCommodityClassification>",
                  b"", read("pin-cfc-social_24.xml"), flags=re.S)
    report = import_one(session, "eforms", data, "pin.xml")
    (err,) = report.errors
    assert err.field == "BT-262" and "no CPV code" in err.reason


def test_cli_several_files_partial_and_json(
    use_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    files = [str(EFORMS / n) for n in ("pin-cfc-social_24.xml", "cn-social_25.xml")]
    assert main(["import-eforms", *files, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [f["created"] for f in out["files"]] == [1, 0]
    assert out["files"][1]["items"][0]["errors"][0]["field"] == "BT-27 procedure"
    change = tmp_path / "change.xml"
    change.write_bytes(read("cn-social_24.xml").replace(b'listName="competition">cn-social<',
                                                        b'listName="change">corr<'))
    assert main(["import-eforms", str(change)]) == 1
    assert "unsupported notice kind: change notice" in capsys.readouterr().out
    assert main(["import-eforms", str(tmp_path / "nope.xml")]) == 2


# --- through to the engine --------------------------------------------------------------


def test_imported_social_notice_ranks_enterprises(session: Session) -> None:
    """A real PIN with social objectives, imported, converted and ranked by the engine."""
    rank = pytest.importorskip("matcher.rank", reason="ranking engine not in this checkout")
    from api.convert import tender_from_row
    from matcher.index import EnterpriseIndex
    from matcher.model import Capacity, Enterprise, Vetting

    row_ = imported(session, "pin-rtl_24.xml")
    assert "social-objective:opp" in row_.social_signals
    tender = tender_from_row(row_)
    assert tender.cpv == ("80110000",)

    def enterprise(ref: str, cpv: str, description: str) -> Enterprise:
        return Enterprise(
            ref=ref, name=ref, description=description, cpv=(cpv,), lat=52.09, lon=5.11,
            capacity=Capacity(placements_per_year=5, purchasing_eur_per_year=200_000),
            vetting=Vetting(status="vetted"),
        )

    index = EnterpriseIndex.build([
        enterprise("groen-werkt", "77310000", "Groenonderhoud met leerwerkplekken"),
        enterprise("kinderopvang-samen", "80110000",
                   "Voorschoolse educatie en kinderopvang met werkervaringsplaatsen"),
        enterprise("schoon-sociaal", "90911200", "Schoonmaak door mensen met een beperking"),
    ], reference_date=date(2024, 1, 1))
    matches = rank.rank_tender(index, tender, top_k=3)
    assert matches, "no enterprise ranked"
    assert matches[0].ref == "kinderopvang-samen"
    assert matches[0].score > (matches[1].score if len(matches) > 1 else 0.0)
