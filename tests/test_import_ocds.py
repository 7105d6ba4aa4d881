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
from api.tables import TenderRow
from tests.conftest import import_one

DATA = Path(__file__).parents[1].parent / "shared" / "data"
OCDS = DATA / "ocds"
RELEASE_PACKAGE = OCDS / "ocds_fictional_example_1.1_release_package.json"
RECORD_PACKAGE = OCDS / "ocds_fictional_example_1.1_record_package.json"
OCID = "ocds-213czf-000-00001"

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
def test_real_example_in_gbp_is_rejected_and_nothing_written(session: Session, path: Path) -> None:
    report = import_one(session, "ocds", path.read_bytes(), path.name, partial=False)
    assert not report.ok and report.rejected == 1
    (err,) = report.errors
    assert err.reason == "value in GBP, only EUR supported"
    assert err.field == "tender.value.currency"
    assert OCID in err.location and path.name in err.location
    assert count(session) == 0


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
    assert "links" in report.errors[0].reason and OCID in report.errors[0].location


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
    """A release package: one good tender and one broken copy per kind of error."""
    good = tender_release()
    cases: dict[str, tuple[dict[str, Any], str]] = {}

    no_tender = copy.deepcopy(good)
    del no_tender["tender"]
    cases["no-tender"] = (no_tender, "release has no tender")

    usd = copy.deepcopy(good)
    usd["tender"]["value"] = {"amount": 5000, "currency": "USD"}
    cases["usd"] = (usd, "value in USD, only EUR supported")

    unknown_cpv = copy.deepcopy(good)
    unknown_cpv["tender"]["items"][0]["classification"]["id"] = "99999999"
    cases["bad-cpv"] = (unknown_cpv, "not in the CPV 2008 vocabulary")

    no_cpv = copy.deepcopy(good)
    no_cpv["tender"]["items"] = [{"id": "1", "description": "Fietspaden"}]
    cases["no-cpv"] = (no_cpv, "no CPV code")

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
        assert reason in err.reason, (ocid, err)
        assert "mixed.json" in err.location and ocid in err.location
    assert by_ref["ocds-broken-usd"].errors[0].field == "tender.value.currency"
    assert by_ref["ocds-broken-bad-cpv"].errors[0].field == \
        "tender.items[0].classification.id"
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
    assert report.file_errors[0].reason.startswith("malformed JSON")
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
    assert report.rejected == 1 and "source 'form'" in report.errors[0].reason
    assert row(session).title == "Entered by hand"


# --- command line ---------------------------------------------------------------------


def test_cli_exit_codes_and_json(
    use_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    good = tmp_path / "good.json"
    good.write_bytes(as_bytes(in_euro(load(RELEASE_PACKAGE))))
    assert main(["import-ocds", str(good)]) == 0
    out = capsys.readouterr().out
    assert "good.json (ocds): 1 created" in out

    assert main(["import-ocds", str(RELEASE_PACKAGE), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (f,) = report["files"]
    assert f["rejected"] == 1 and f["written"] is False
    assert f["items"][0]["errors"][0]["reason"] == "value in GBP, only EUR supported"

    assert main(["import-ocds", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "Traceback" not in err

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["import-ocds", str(broken)]) == 1
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
