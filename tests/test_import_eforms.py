"""eForms import against the eForms SDK example notices, plus altered copies of them."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from api.importers.notice_kinds import notice_kind_text
from api.messages import render_text
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


def test_value_in_a_currency_without_an_ecb_rate_is_kept_unconverted(session: Session) -> None:
    report = import_one(session, "eforms", read("cn-social_25.xml"), "cn-social_25.xml")
    assert report.ok and report.created == 1, report.to_dict()
    (warning,) = [w for i in report.items for w in i.warnings]
    assert "no euro reference rate for currency 'BWP'" in render_text(warning.reason, "en")
    assert warning.field == "BT-27 procedure.currency"
    assert "cn-social_25.xml" in warning.location and "cf9697c2" in warning.location
    t = session.exec(select(TenderRow)).one()
    assert t.contract_value_eur is None
    (kept,) = t.extra["published"]["conversions"]
    assert (kept["currency"], kept["eur"]) == ("BWP", None) and kept["amount"] > 0


def test_value_in_another_currency_is_converted_at_the_notice_months_rate(
        session: Session) -> None:
    from matcher.currency import rate_table

    data = read("cn_24_multilingual.xml")
    assert b'currencyID="EUR"' in data
    t = imported(session, "cn_24_multilingual.xml", data.replace(b'currencyID="EUR"',
                                                                 b'currencyID="SEK"'))
    (conv,) = [c for c in t.extra["published"]["conversions"] if c["field"] == "BT-27 procedure"]
    issued = date.fromisoformat(re.search(rb"<cbc:IssueDate>(\d{4}-\d{2}-\d{2})",
                                          data).group(1).decode())  # type: ignore[union-attr]
    rate, month = rate_table().rate("SEK", issued)
    assert (conv["currency"], conv["rate"], conv["rate_month"]) == ("SEK", rate, month)
    assert conv["eur"] == pytest.approx(conv["amount"] / rate, abs=0.01)
    assert t.contract_value_eur == conv["eur"] and conv["amount"] == 4_500_000
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


def test_change_notice_without_its_tender_is_refused_naming_its_kind(session: Session) -> None:
    data = read("cn-social_24.xml").replace(
        b'<cbc:NoticeTypeCode listName="competition">cn-social</cbc:NoticeTypeCode>',
        b'<cbc:NoticeTypeCode listName="change">corr</cbc:NoticeTypeCode>')
    report = import_one(session, "eforms", data, "change.xml")
    (err,) = report.errors
    assert "this change notice (corr, subtype 20) changes tender" in render_text(err.reason, "en")
    # In Dutch all through: the place, the kind and the reason.
    dutch = err.render("nl")
    assert dutch.startswith("change.xml: aankondiging "), dutch
    assert "deze wijzigingsaankondiging (corr, subtype 20) wijzigt aanbesteding" in dutch
    assert err.render("en").startswith("change.xml: notice ")
    assert count(session) == 0
    imported(session, "cn-social_24.xml")
    report = import_one(session, "eforms", data, "change.xml")
    assert report.ok and report.unchanged + report.updated == 1 and count(session) == 1


def test_other_root_element_is_refused(session: Session) -> None:
    data = read("pin-rtl_24.xml").replace(b"PriorInformationNotice",
                                          b"BusinessRegistrationInformationNotice")
    report = import_one(session, "eforms", data, "bri.xml")
    text = render_text(report.file_errors[0].reason, "en")
    assert "BusinessRegistrationInformationNotice" in text
    assert "(it registers an organisation and holds no tender)" in text
    dutch = render_text(report.file_errors[0].reason, "nl")
    assert dutch.startswith("niet ondersteunde soort aankondiging: "
                            "BusinessRegistrationInformationNotice (pin-rtl, subtype 7) (zij "
                            "registreert een organisatie en bevat geen aanbesteding)"), dutch


def test_malformed_and_unsafe_xml(session: Session) -> None:
    report = import_one(session, "eforms", read("pin-rtl_24.xml")[:3000], "cut.xml")
    assert render_text(report.file_errors[0].reason, "en").startswith("malformed XML")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b"<ContractNotice>&a;</ContractNotice>")
    report = import_one(session, "eforms", bomb, "bomb.xml")
    assert render_text(report.file_errors[0].reason, "en").startswith("unsafe XML refused")
    assert count(session) == 0


def test_unknown_cpv_in_a_lot_is_located(session: Session) -> None:
    data = read("cn_24_FRA_comments.xml")
    first = data.index(b"LOT-0002")
    data = data[:first] + data[first:].replace(b">77310000<", b">99999999<", 1)
    report = import_one(session, "eforms", data, "cn.xml")
    (err,) = report.errors
    assert err.field == "BT-262 lot LOT-0002" and "99999999" in render_text(err.reason, "en")
    assert count(session) == 0


def test_notice_without_cpv_is_rejected(session: Session) -> None:
    data = re.sub(rb"<cac:MainCommodityClassification>.*?</cac:MainCommodityClassification>",
                  b"", read("pin-cfc-social_24.xml"), flags=re.S)
    report = import_one(session, "eforms", data, "pin.xml")
    (err,) = report.errors
    assert err.field == "BT-262" and "no CPV code" in render_text(err.reason, "en")


def test_cli_several_files_partial_and_json(
    use_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    files = [str(EFORMS / n) for n in ("pin-cfc-social_24.xml", "cn-social_25.xml")]
    assert main(["--lang", "en", "import-eforms", *files, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["created"] for f in out["files"]] == [1, 1]
    assert out["files"][1]["items"][0]["warnings"][0]["field"] == "BT-27 procedure.currency"
    change = tmp_path / "change.xml"
    change.write_bytes(read("cn-social_24.xml").replace(b'listName="competition">cn-social<',
                                                        b'listName="change">corr<'))
    assert main(["--lang", "en", "import-eforms", str(change)]) == 1
    assert "this change notice (corr, subtype 20) changes tender" in capsys.readouterr().out
    assert main(["--lang", "en", "import-eforms", str(tmp_path / "nope.xml")]) == 2


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


# --- lots, groups, award values and notice kinds (issue #13 item 3) --------------------

SDK = Path(__file__).parent / "data" / "eforms"  # SDK examples, see its README.md


def sdk(name: str) -> bytes:
    return (SDK / name).read_bytes()


def test_lot_group_is_not_a_lot(session: Session) -> None:
    t = imported(session, "cn_24_maximal.xml", sdk("cn_24_maximal.xml"))
    published = t.extra["published"]
    # Two lots of 9,999,999.99 each; the group GLO-0001 holds both and is not added.
    assert t.contract_value_eur == pytest.approx(19_999_999.98)
    assert published["value_from"] == "BT-27 lots"
    assert "less than the sum of its lots" in published["value_note"]
    assert [lot["id"] for lot in published["lots"]] == ["LOT-0001", "LOT-0002"]
    (group,) = published["lot_groups"]
    assert group["id"] == "GLO-0001" and group["lots"] == ["LOT-0001", "LOT-0002"]
    # Without the procedure's value the lots' sum is all there is: still not the group's.
    no_procedure = re.sub(
        rb"(<cbc:Note languageID=\"ENG\">Additional information ---</cbc:Note>.*?)"
        rb"<cac:RequestedTenderTotal>.*?</cac:RequestedTenderTotal>", rb"\1",
        sdk("cn_24_maximal.xml"), count=1, flags=re.S)
    assert no_procedure.count(b"EstimatedOverallContractAmount") == 2 * 3
    t = imported(session, "cn_24_maximal.xml", no_procedure)
    assert t.contract_value_eur == pytest.approx(19_999_999.98)
    assert "value_note" not in t.extra["published"]


def test_reserved_participation_and_social_objectives_per_lot(session: Session) -> None:
    t = imported(session, "cn_24_maximal.xml", sdk("cn_24_maximal.xml"))
    lot1, lot2 = t.extra["published"]["lots"]
    assert lot1["reserved_participation"] == ["res-pub-ser"]
    assert lot2["reserved_participation"] == []
    assert lot1["social_objectives"] == lot2["social_objectives"] == ["acc-all"]
    assert lot1["reserved_execution"] == ["yes"]
    assert t.reserved is True  # one lot is reserved
    assert "reserved-participation:res-pub-ser" in t.social_signals


def test_award_notice_value_order(session: Session) -> None:
    # BT-161 absent: the winning tender's BT-720 (TEN-0002, selec-w), not the closed lot's.
    data = re.sub(rb"<cbc:TotalAmount[^>]*>[^<]*</cbc:TotalAmount>", b"",
                  read("can-social_24.xml"), count=1)
    t = imported(session, "can-social_24.xml", data)
    assert t.contract_value_eur == 100_000.0
    assert t.extra["published"]["value_from"] == "BT-720"
    # A framework award notice: BT-118 maximum value, then BT-1118.
    t = imported(session, "can_25_ITA.xml", sdk("can_25_ITA.xml"))
    assert t.contract_value_eur == 4_000_000.0
    assert t.extra["published"]["value_from"] == "BT-118"
    approx_only = re.sub(rb"<efbc:OverallMaximumFrameworkContractsAmount[^>]*>[^<]*<[^>]*>",
                         b"", sdk("can_25_ITA.xml"))
    t = imported(session, "can_25_ITA.xml", approx_only)
    assert t.extra["published"]["value_from"] == "BT-1118"


def test_award_notice_of_a_stored_procedure_updates_it(session: Session) -> None:
    cn = imported(session, "cn_24_maximal.xml", sdk("cn_24_maximal.xml"))
    same_procedure = re.sub(rb"<cbc:ContractFolderID>[^<]+<",
                            b"<cbc:ContractFolderID>" + cn.ref.encode() + b"<",
                            sdk("can_24_maximal.xml"))
    can = imported(session, "can_24_maximal.xml", same_procedure)
    assert can.ref == cn.ref and count(session) == 1
    assert can.extra["published"]["form_type"] == "result"


def test_change_notice_updates_the_stored_tender(session: Session) -> None:
    report = import_one(session, "eforms", sdk("change-cn_24_open_dates.xml"), "change.xml")
    (item,) = report.items
    assert item.action == "rejected" and count(session) == 0
    assert "change notice" in render_text(item.errors[0].reason, "en")
    text = render_text(item.errors[0].reason, "en")
    assert "not stored" in text and "first" in text

    cn = imported(session, "cn_24_open.xml", sdk("cn_24_open.xml"))
    changed = imported(session, "change-cn_24_open_dates.xml", sdk("change-cn_24_open_dates.xml"))
    assert changed.ref == cn.ref and count(session) == 1
    # Stored as a code (the form type), named in the reader's language when shown.
    published = changed.extra["published"]
    assert published["notice_kind"] == "change"
    assert render_text(notice_kind_text(published), "en").startswith("change notice (")
    assert render_text(notice_kind_text(published), "nl").startswith("wijzigingsaankondiging (")
    assert changed.extra["published"]["changes_notice"].startswith("c4c415ee")


def test_modification_keeps_what_it_does_not_repeat(session: Session) -> None:
    modif = sdk("can-modif_24_value.xml")
    report = import_one(session, "eforms", modif, "modif.xml")
    assert report.items[0].action == "rejected" and count(session) == 0
    assert "contract modification notice" in render_text(report.items[0].errors[0].reason, "en")
    # The contract notice of that procedure (an older notice with its procedure id).
    folder = re.search(rb"<cbc:ContractFolderID>([^<]+)<", modif)
    assert folder is not None
    cn = re.sub(rb"<cbc:ContractFolderID>[^<]+<", b"<cbc:ContractFolderID>" + folder.group(1)
                + b"<", sdk("cn_24_open.xml"))
    cn = re.sub(rb"<cbc:IssueDate>[^<]+<", b"<cbc:IssueDate>2018-01-02+01:00<", cn)
    stored = imported(session, "cn.xml", cn)
    assert stored.start is not None
    modif_no_period = re.sub(rb"<cac:PlannedPeriod>.*?</cac:PlannedPeriod>", b"", modif,
                             flags=re.S)
    t = imported(session, "modif.xml", modif_no_period)
    assert count(session) == 1
    assert t.contract_value_eur == 4_500_000.0  # the modified contract's BT-161
    assert t.start == stored.start  # not repeated: kept


def test_design_contest_is_refused_with_what_to_do(session: Session) -> None:
    report = import_one(session, "eforms", sdk("cn-desg_24.xml"), "desg.xml")
    (err,) = report.file_errors
    assert "design contest notice (cn-desg, subtype 23)" in render_text(err.reason, "en")
    assert "import the contract notice" in render_text(err.reason, "en")
    assert count(session) == 0


def test_change_notice_given_before_its_contract_notice_in_one_call(session: Session) -> None:
    from api.services.importing import import_files

    report = import_files(session, [
        ("change-cn_24_open_dates.xml", sdk("change-cn_24_open_dates.xml")),
        ("cn_24_open.xml", sdk("cn_24_open.xml")),
    ], format="eforms")
    change, cn = report.files  # reported in the order given, written contract notice first
    assert cn.created == 1 and change.updated == 1
    assert count(session) == 1
