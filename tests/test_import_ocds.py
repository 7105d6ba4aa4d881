"""OCDS import against the official OCDS 1.1 worked example, plus broken copies of it."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from api.importers.ocds import parse_ocds
from api.messages import render_text, render_tree
from api.tables import TenderRow
from matcher.currency import rate_table
from tests.conftest import import_one

DATA = Path(__file__).parents[1].parent / "shared" / "data"
OCDS = DATA / "ocds"
RELEASE_PACKAGE = OCDS / "ocds_fictional_example_1.1_release_package.json"
RECORD_PACKAGE = OCDS / "ocds_fictional_example_1.1_record_package.json"
OCID = "ocds-213czf-000-00001"
EXAMPLES = Path(__file__).parent / "data" / "ocds"  # small fictional files, see README there

pytestmark = pytest.mark.skipif(
    not RELEASE_PACKAGE.is_file() or not RECORD_PACKAGE.is_file(),
    reason=f"shared OCDS example data not found under {OCDS}",
)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def in_euro(doc: Any) -> Any:
    """The worked example is in GBP; the same data in EUR (every currency field)."""
    if isinstance(doc, dict):
        return {k: ("EUR" if k == "currency" else in_euro(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [in_euro(v) for v in doc]
    return doc


def as_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(TenderRow)).one())


def row(session: Session, ref: str = OCID) -> TenderRow:
    session.expire_all()
    got = session.exec(select(TenderRow).where(TenderRow.ref == ref)).one()
    return got


def tender_release(**tender_changes: Any) -> dict[str, Any]:
    """The example's tender release (index 1), in EUR, with changes to its tender."""
    rel = in_euro(copy.deepcopy(load(RELEASE_PACKAGE)["releases"][1]))
    rel["tender"].update(tender_changes)
    return rel


# --- the real files -------------------------------------------------------------------


@pytest.mark.parametrize("path", [RELEASE_PACKAGE, RECORD_PACKAGE], ids=["releases", "records"])
def test_real_example_in_gbp_is_kept_and_converted_at_the_ecb_rate(session: Session,
                                                                    path: Path) -> None:
    report = import_one(session, "ocds", path.read_bytes(), path.name, partial=False)
    assert report.ok and report.created == 1, report.to_dict()
    t = row(session)
    value = t.extra["published"]["value"]
    # The tender release (2010-03-15) gave the value: that month's average rate.
    rate, month = rate_table().rate("GBP", date(2010, 3, 15))
    assert (value["amount"], value["currency"], value["rate_month"]) == (1_100_000, "GBP",
                                                                         "2010-03")
    assert value["rate"] == rate and 0.8 < rate < 1.0  # pounds per euro in 2010
    assert t.contract_value_eur == value["eur"] == pytest.approx(1_100_000 / rate, abs=0.01)
    assert "ECB" in value["rate_source"]
    # Its last release ("award", tender.status complete): kept, shown, not matched.
    assert t.status == "completed"
    assert count(session) == 1


def test_release_package_merged_by_date(session: Session) -> None:
    doc = in_euro(load(RELEASE_PACKAGE))
    report = import_one(session, "ocds", as_bytes(doc), RELEASE_PACKAGE.name)
    assert report.ok and report.created == 1, report.to_dict()
    t = row(session)
    assert t.source == "ocds"
    assert t.title == "Planned cycle lane improvements"
    # The tender release's description, not the planning release's.
    assert t.description.startswith("Tenders solicited for work to build new cycle lanes")
    assert t.buyer == "London Borough of Barnet"
    assert t.contract_value_eur == 1_100_000.0  # the tender value, not planning's 1,000,000
    # "45233130.0" and "45233162-2" as published, normalised to 8 digits.
    assert t.cpv == ["45233130", "45233162"]
    assert (t.start, t.end) == (date(2010, 7, 1), date(2011, 6, 30))
    assert t.nuts3 is None and t.municipality_code is None
    assert t.social_signals == [] and t.reserved is False
    assert t.sroi_detected is False and t.sroi_percentage is None
    assert t.extra["published"]["as_of"] == "2011-01-10T09:30:00"


def test_record_package_compiled_release_gives_the_same_tender(session: Session) -> None:
    import_one(session, "ocds", as_bytes(in_euro(load(RELEASE_PACKAGE))), "releases.json")
    first = row(session).model_dump(exclude={"id", "created_at", "updated_at", "extra"})
    report = import_one(session, "ocds", as_bytes(in_euro(load(RECORD_PACKAGE))), "records.json")
    # Only the provenance differs (the compiled release has its own id).
    assert report.ok and report.created == 0 and report.updated == 1, report.to_dict()
    again = row(session).model_dump(exclude={"id", "created_at", "updated_at", "extra"})
    assert again == first
    assert count(session) == 1


def test_record_without_compiled_release_uses_embedded_releases(session: Session) -> None:
    releases = in_euro(load(RELEASE_PACKAGE))["releases"]
    doc = {"records": [{"ocid": OCID, "releases": releases}]}
    report = import_one(session, "ocds", as_bytes(doc), "records.json")
    assert report.ok and report.created == 1
    assert row(session).contract_value_eur == 1_100_000.0


def test_record_with_only_linked_releases_is_reported(session: Session) -> None:
    doc = load(RECORD_PACKAGE)
    del doc["records"][0]["compiledRelease"]
    report = import_one(session, "ocds", as_bytes(doc), "records.json")
    assert report.rejected == 1
    text = render_text(report.errors[0].reason, "en")
    assert "links" in text and OCID in report.errors[0].location


def test_json_lines_of_releases(session: Session) -> None:
    lines = "\n".join(json.dumps(r) for r in in_euro(load(RELEASE_PACKAGE))["releases"])
    report = import_one(session, "ocds", lines.encode(), "releases.jsonl")
    assert report.ok and report.created == 1, report.to_dict()
    assert row(session).contract_value_eur == 1_100_000.0
    assert count(session) == 1


def test_import_twice_updates_not_duplicates(session: Session) -> None:
    data = as_bytes(in_euro(load(RELEASE_PACKAGE)))
    assert import_one(session, "ocds", data, "a.json").created == 1
    again = import_one(session, "ocds", data, "a.json")
    assert again.created == 0 and again.unchanged == 1
    rel = tender_release(title="Cycle lane improvements, phase 2")
    rel["date"] = "2012-01-01T00:00:00Z"
    changed = import_one(session, "ocds", as_bytes(rel), "b.json")
    assert changed.updated == 1
    assert row(session).title == "Cycle lane improvements, phase 2"
    assert count(session) == 1


def test_older_release_does_not_overwrite_newer(session: Session) -> None:
    import_one(session, "ocds", as_bytes(in_euro(load(RELEASE_PACKAGE))), "a.json")
    old = tender_release(title="An old title")  # dated 2010-03-15, before 2011-01-10
    report = import_one(session, "ocds", as_bytes(old), "old.json")
    assert report.ok and report.stale == 1
    assert row(session).title == "Planned cycle lane improvements"


# --- place, signals, social return ----------------------------------------------------


def test_place_signals_and_detected_social_return(session: Session) -> None:
    rel = tender_release(
        description=(
            "Aanleg van fietspaden in het centrum. Social return: 5% van de opdrachtwaarde. "
            "Alle prijzen exclusief 21% btw."
        ),
        lots=[{"id": "1", "title": "Fietspaden", "hasSustainability": True,
               "sustainability": [{"goal": "social.disadvantagedEmployment"},
                                  {"goal": "environmental.pollutionPrevention"}]}],
        otherRequirements={"reservedParticipation": ["shelteredWorkshop"]},
        contractTerms={"reservedExecution": True},
        suitability={"sme": True, "vcse": True},
    )
    rel["tender"]["items"][0]["deliveryAddresses"] = [
        {"region": "NL32B", "locality": "Amsterdam", "postalCode": "1012 AB",
         "countryName": "Nederland"}
    ]
    report = import_one(session, "ocds", as_bytes(rel), "nl.json")
    assert report.ok, report.to_dict()
    t = row(session)
    assert t.nuts3 == "NL32B"
    assert t.municipality_code == "GM0363" and t.postcode == "1012AB"
    assert t.lat == pytest.approx(52.37, abs=0.05)
    assert t.social_signals == [  # sorted, one vocabulary with eForms
        "has-sustainability", "reserved-execution", "reserved-participation:res-ws",
        "social-objective:opp", "vcse",
    ]
    assert t.reserved is True
    assert t.sroi_detected is True and t.sroi_confirmed is False
    assert t.sroi_percentage == 5.0 and t.sroi_basis == "contract_value"
    assert t.sroi_detected_sentence == "Social return: 5% van de opdrachtwaarde."


def test_nuts3_region_alone_uses_the_largest_municipality(session: Session) -> None:
    rel = tender_release()
    rel["tender"]["items"][0]["deliveryAddresses"] = [{"region": "NL414"}]
    assert import_one(session, "ocds", as_bytes(rel), "r.json").ok
    t = row(session)
    assert (t.nuts3, t.municipality_code) == ("NL414", "GM0772")  # Eindhoven
    assert t.extra["published"]["place_from"] == "nuts3-centroid"


def test_officer_confirmation_survives_reimport(session: Session) -> None:
    rel = tender_release(description="SROI: 3% van de aanneemsom.")
    import_one(session, "ocds", as_bytes(rel), "a.json")
    t = row(session)
    t.sroi_confirmed = True
    session.add(t)
    session.commit()
    report = import_one(session, "ocds", as_bytes(rel), "a.json")
    assert report.ok
    t = row(session)
    assert t.sroi_confirmed is True and t.sroi_percentage == 3.0


# --- broken input: reported per item, nothing written by default ------------------------


def _broken_package() -> tuple[dict[str, Any], dict[str, str]]:
    """A release package: one good tender and one copy per thing that refuses a tender
    (no tender; nothing to identify or match it by)."""
    good = tender_release()
    cases: dict[str, tuple[dict[str, Any], str]] = {}

    no_tender = copy.deepcopy(good)
    del no_tender["tender"]
    cases["no-tender"] = (no_tender, "release has no tender")

    no_subject = copy.deepcopy(good)
    for key in ("title", "description"):
        no_subject["tender"].pop(key, None)
    no_subject["tender"]["items"] = [{"id": "1", "classification": {"scheme": "CPV",
                                                                    "id": "99999999"}}]
    cases["no-subject"] = (no_subject, "no subject")

    releases = [good]
    expect: dict[str, str] = {}
    for name, (rel, reason) in cases.items():
        rel["ocid"] = f"ocds-broken-{name}"
        rel["id"] = f"{rel['ocid']}-01"
        releases.append(rel)
        expect[rel["ocid"]] = reason
    return {"releases": releases}, expect


def test_each_error_is_reported_with_its_location_and_nothing_written(session: Session) -> None:
    doc, expect = _broken_package()
    report = import_one(session, "ocds", as_bytes(doc), "mixed.json", partial=False)
    assert not report.ok and report.written is False
    assert report.rejected == len(expect)
    by_ref = {i.ref: i for i in report.items if i.action == "rejected"}
    for ocid, reason in expect.items():
        (err,) = by_ref[ocid].errors
        assert reason in render_text(err.reason, "en"), (ocid, err)
        assert "mixed.json" in err.location and ocid in err.location
    assert by_ref["ocds-broken-no-subject"].errors[0].field == "tender.items[].classification"
    assert report.count("not written") == 1  # the good one, held back
    assert count(session) == 0


def test_partial_imports_the_valid_items(session: Session) -> None:
    doc, expect = _broken_package()
    report = import_one(session, "ocds", as_bytes(doc), "mixed.json", partial=True)
    assert report.created == 1 and report.rejected == len(expect)
    assert count(session) == 1 and row(session).ref == OCID


def test_release_without_ocid(session: Session) -> None:
    rel = tender_release()
    del rel["ocid"]
    report = import_one(session, "ocds", as_bytes({"releases": [rel]}), "x.json")
    assert report.errors[0].field == "ocid" and "releases[0]" in report.errors[0].location


def test_malformed_json_file(session: Session) -> None:
    data = RELEASE_PACKAGE.read_bytes()[:500]
    report = import_one(session, "ocds", data, "cut.json")
    assert not report.ok and report.file_errors
    assert render_text(report.file_errors[0].reason, "en").startswith("malformed JSON")
    assert count(session) == 0


def test_malformed_json_line_is_reported_per_line(session: Session) -> None:
    good = json.dumps(tender_release())
    data = f"{good}\n{{not json\n".encode()
    report = import_one(session, "ocds", data, "r.jsonl")
    assert [e.location for e in report.errors] == ["r.jsonl: line 2"]
    assert count(session) == 0
    report = import_one(session, "ocds", data, "r.jsonl", partial=True)
    assert report.created == 1 and report.rejected == 1
    assert count(session) == 1


def test_a_ref_owned_by_another_source_is_not_overwritten(session: Session) -> None:
    session.add(TenderRow(ref=OCID, buyer="Gemeente X", title="Entered by hand",
                          cpv=["45233130"], source="form"))
    session.commit()
    report = import_one(session, "ocds", as_bytes(tender_release()), "a.json")
    assert report.rejected == 1 and "source 'form'" in render_text(report.errors[0].reason, "en")
    assert row(session).title == "Entered by hand"


# --- command line ---------------------------------------------------------------------


def test_cli_exit_codes_and_json(
    use_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    good = tmp_path / "good.json"
    good.write_bytes(as_bytes(in_euro(load(RELEASE_PACKAGE))))
    assert main(["--lang", "en", "import-ocds", str(good)]) == 0
    out = capsys.readouterr().out
    assert "good.json (ocds): 1 created" in out

    doc, _ = _broken_package()
    mixed = tmp_path / "mixed.json"
    mixed.write_bytes(as_bytes(doc))
    assert main(["--lang", "en", "import-ocds", str(mixed), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (f,) = report["files"]
    assert f["rejected"] == 2 and f["written"] is False
    assert f["items"][0]["errors"][0]["reason"] == "release has no tender"

    # An empty package is not a broken file: a warning, exit status 0.
    assert main(["--lang", "en", "import-ocds", str(EXAMPLES / "empty_package.json")]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "no releases" in out and "file rejected" not in out

    # Fields left empty are listed per tender, with field and reason.
    assert main(["--lang", "en", "import-ocds", str(EXAMPLES / "keep_what_can_be_kept.json"),
                 "--partial"]) == 1
    out = capsys.readouterr().out
    assert "4 created" in out and "1 rejected" in out
    assert "tender.contractPeriod: contract period 24 is not a period" in out

    assert main(["--lang", "en", "import-ocds", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "Traceback" not in err

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["--lang", "en", "import-ocds", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "file rejected" in out and "malformed JSON" in out


# --- whatever a publisher puts where: reported, never a traceback -------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_value_anywhere_is_reported_not_raised(data: st.DataObject) -> None:
    rel = tender_release()
    paths = [p for p in _paths(rel) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = rel
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = data.draw(_json)
        except (KeyError, IndexError, TypeError):
            continue
    result = parse_ocds(as_bytes({"releases": [rel]}), "fuzz.json")
    assert len(result.tenders) + len(result.rejected) + len(result.file_errors) >= 1
    for item in result.rejected:
        assert item.errors and all(e.reason for e in item.errors)


# --- keep what can be kept (tests/data/ocds, fictional files in publishers' shapes) -------


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def test_unreadable_fields_are_left_empty_with_a_warning(session: Session) -> None:
    report = import_one(session, "ocds", example("keep_what_can_be_kept.json"), "keep.json",
                        partial=True)
    assert report.created == 4 and report.rejected == 1, report.to_dict()
    items = {i["ref"]: i for i in render_tree(report.to_dict(), "en")["items"]}
    warned = {ref: {(w["field"], w["reason"].split(";")[0]) for w in i["warnings"]}
              for ref, i in items.items()}

    lot = row(session, "ocds-eh01-lot-title")
    assert lot.title == "Inhuur re-integratiecoaches"  # the lot's title
    assert lot.contract_value_eur is None and (lot.start, lot.end) == (None, None)
    assert lot.extra["published"]["value"] is None  # "amount": "", "currency": "" = absent
    assert ("tender.title", "no tender.title") in warned["ocds-eh01-lot-title"]
    assert ("tender.contractPeriod", "contract period 24 is not a period (start and end "
            "dates)") in warned["ocds-eh01-lot-title"]
    assert not any("amount" in f for f, _ in warned["ocds-eh01-lot-title"])

    desc = row(session, "ocds-eh01-description")
    assert desc.title == "Onderhoud van openbaar groen in stadsdeel Woensel."
    assert desc.cpv == ["77313000"]  # the unknown additional code left out, the main kept
    assert (desc.start, desc.end) == (None, None)
    assert ("tender.items[0].additionalClassifications[0].id",
            "CPV code '77399999' is not in the CPV 2008 vocabulary") \
        in warned["ocds-eh01-description"]
    assert any(f == "tender.contractPeriod" and "before it starts" in r
               for f, r in warned["ocds-eh01-description"])

    text_only = row(session, "ocds-eh01-text-only")
    assert text_only.cpv == [] and text_only.title == "Sociaal ontbijt in wijkcentra"

    (refused,) = [i for i in items.values() if i["action"] == "rejected"]
    assert refused["ref"] == "ocds-eh01-nothing" and "no subject" in refused["errors"][0]["reason"]


def test_a_value_in_another_currency_is_converted_with_the_month_of_its_notice(
        session: Session) -> None:
    import_one(session, "ocds", example("keep_what_can_be_kept.json"), "keep.json", partial=True)
    t = row(session, "ocds-oslo-nok")
    rate, month = rate_table().rate("NOK", date(2024, 2, 20))
    value = t.extra["published"]["value"]
    assert (value["currency"], value["amount"], value["rate_month"]) == ("NOK", 12_000_000, month)
    assert month == "2024-02" and 10 < rate < 13  # kroner per euro
    assert t.contract_value_eur == pytest.approx(12_000_000 / rate, abs=0.01)


def test_an_empty_package_is_a_warning_not_a_file_error(session: Session) -> None:
    report = import_one(session, "ocds", example("empty_package.json"), "empty.json")
    assert report.ok and not report.file_errors
    assert [render_text(w.reason, "en").split(":")[0]
            for w in report.file_warnings] == ["no releases"]
    assert render_tree(report.to_dict(), "en")["file_warnings"][0]["reason"].startswith(
        "no releases")
    assert count(session) == 0


# --- places ---------------------------------------------------------------------------


def test_every_ocds_address_form_and_the_buyers_address(session: Session) -> None:
    report = import_one(session, "ocds", example("places.json"), "places.json")
    assert report.ok and report.created == 5, report.to_dict()

    heemstede = row(session, "ocds-pl01-heemstede")  # 1.2 deliveryLocations
    assert (heemstede.municipality_code, heemstede.nuts3) == ("GM0397", "NL32A")
    assert heemstede.extra["published"]["place_source"] == "tender.items[0].deliveryLocations[0]"

    best = row(session, "ocds-pl01-best")  # 1.1 singular deliveryAddress, locality "Best"
    assert (best.municipality_code, best.postcode) == ("GM0753", "5683EA")

    wales = row(session, "ocds-pl01-wales")  # a free-text region is not a NUTS3 code
    assert wales.nuts3 is None and wales.municipality_code is None
    (w,) = [i for i in report.items if i.ref == "ocds-pl01-wales"][0].warnings
    assert "'WALES' is not a NUTS code" in render_text(w.reason, "en")
    assert "deliveryAddresses[0]" in (w.field or "")

    utrecht = row(session, "ocds-pl01-cbs")  # a CBS gazetteer code
    assert utrecht.municipality_code == "GM0344"

    bosch = row(session, "ocds-pl01-buyer")  # only the buyer's address, informal name
    assert bosch.municipality_code == "GM0796" and bosch.postcode == "5211HH"
    assert bosch.extra["published"]["place_source"] == "buyer address"


# --- identity: identifier and buyer ------------------------------------------------------


def test_unrelated_buyers_sharing_an_ocid_are_separate_tenders(session: Session) -> None:
    data = example("shared_ocid.json")
    report = import_one(session, "ocds", data, "shared.json")
    assert report.ok and report.created == 2, report.to_dict()
    base = "ocds-conv-PROC-0001"
    heemstede = row(session, base)
    italian = row(session, f"{base}~trasporti-urbani-brianza-s-p-a")
    assert heemstede.buyer == "Gemeente Heemstede"
    assert heemstede.title == "Leerlingenvervoer 2024-2028"
    assert italian.buyer == "Trasporti Urbani Brianza S.p.A." and italian.nuts3 == "ITC4D"
    assert italian.extra["published"]["shared_ref"] == base
    shared = [w for i in report.items for w in i.warnings if w.field == "ref"]
    assert len(shared) == 1 and "another buyer's tender" in render_text(shared[0].reason, "en")

    again = import_one(session, "ocds", data, "shared.json")
    assert again.ok and again.unchanged == 2 and again.created == 0

    doc = json.loads(data)
    newer = copy.deepcopy(doc["releases"][0])
    newer["id"], newer["date"] = f"{base}-nl-02", "2023-12-01T10:00:00Z"
    newer["tender"]["title"] = "Leerlingenvervoer 2024-2028 (gewijzigd)"
    assert import_one(session, "ocds", as_bytes({"releases": [newer]}), "n.json").updated == 1
    assert row(session, base).title == "Leerlingenvervoer 2024-2028 (gewijzigd)"

    older = copy.deepcopy(doc["releases"][0])
    older["id"], older["date"] = f"{base}-nl-00", "2023-06-01T10:00:00Z"
    older["tender"]["title"] = "Een oude titel"
    report = import_one(session, "ocds", as_bytes({"releases": [older]}), "o.json")
    assert report.ok and report.stale == 1
    (w,) = report.items[0].warnings
    text = render_text(w.reason, "en")
    assert "older than the stored version" in text and "2023-06-01" in text
    assert row(session, base).title == "Leerlingenvervoer 2024-2028 (gewijzigd)"
    assert row(session, f"{base}~trasporti-urbani-brianza-s-p-a").buyer.startswith("Trasporti")
    assert count(session) == 2


# --- status -------------------------------------------------------------------------------


def test_closed_tenders_are_kept_with_their_status_and_not_matched(session: Session) -> None:
    from api.errors import Conflict
    from api.services import matching

    report = import_one(session, "ocds", example("statuses.json"), "statuses.json")
    assert report.ok and report.created == 5
    statuses = {r.ref: r.status for r in session.exec(select(TenderRow))}
    assert statuses == {
        "ocds-zw01-2024-001": "cancelled", "ocds-zw01-2024-002": "unsuccessful",
        "ocds-zw01-2024-003": "completed", "ocds-zw01-2024-004": "withdrawn",
        "ocds-zw01-2024-005": "published",
    }
    for ref, status in statuses.items():
        if status == "published":
            assert matching.match_tender(session, ref).ref == ref
        else:
            with pytest.raises(Conflict) as exc:
                matching.match_tender(session, ref)
            assert exc.value.params["status"] == status
