"""The interchange parser: every kind of bad input gives a clean, placed, fixable message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.importers.interchange import KINDS, MAX_FILE_BYTES, ParsedFile, parse_file

DATA = Path(__file__).parent / "data"


def ent(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"ref": "E-1", "name": "Werkbedrijf Test",
                            "description": "Schoonmaak met leerwerkplekken",
                            "cpv": ["90911200"], "municipality": "Utrecht"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def doc(**kinds: list[dict[str, Any]]) -> bytes:
    return json.dumps(kinds).encode()


def one_issue(p: ParsedFile) -> str:
    assert len(p.issues) == 1, [str(i) for i in p.issues]
    return p.issues[0].render("en")


def test_sample_files_parse_cleanly() -> None:
    for name in ("sample.json", "enterprises.csv", "tenders.csv"):
        p = parse_file(f"tests/data/{name}", (DATA / name).read_bytes())
        assert p.ok, [str(i) for i in p.issues]
    p = parse_file("sample.json", (DATA / "sample.json").read_bytes())
    assert {k: len(v) for k, v in p.records.items()} == {
        "enterprises": 3, "tenders": 2, "challenges": 1, "obligations": 2}
    e1 = p.records["enterprises"][0].values
    assert e1["cpv"] == ["50000000", "34430000"]  # check digit dropped
    assert e1["postcode"] == "3511 AB" and e1["municipality_code"] == "GM0344"
    assert e1["certifications"][0] == {"scheme": "PSO", "level": "2", "valid_until": "2027-05-01"}
    assert p.records["enterprises"][1].values["cpv"] == ["90911200"]  # "90911200.0"
    assert p.records["tenders"][0].values["reserved"] is True
    ch = p.records["challenges"][0].values
    assert (ch["deadline"] - ch["opened_on"]).days == 84  # twelve weeks by default


# (document, expected location, expected words in the message)
BAD_JSON = [
    ("unknown field", doc(enterprises=[ent(descripton="x")]),
     "enterprises[0].descripton", ["unknown field 'descripton'", "did you mean 'description'?"]),
    ("invalid CPV", doc(enterprises=[ent(cpv=["90911200", "1234"])]),
     "enterprises[0].cpv[1]", ["'1234' is malformed", "8 digits"]),
    ("CPV not in vocabulary", doc(enterprises=[ent(cpv=["99999999"])]),
     "enterprises[0].cpv[0]", ["not in the CPV 2008 vocabulary"]),
    ("negative capacity", doc(enterprises=[ent(capacity={"placements_per_year": -2})]),
     "enterprises[0].capacity.placements_per_year", ["-2 is out of range", "≥ 0"]),
    ("missing required field", doc(enterprises=[ent(name=None)]),
     "enterprises[0].name", ["'name' is required"]),
    ("bad KvK", doc(enterprises=[ent(kvk="1234567")]),
     "enterprises[0].kvk", ["not a KvK number", "8 digits", "leading zeros"]),
    ("bad postcode", doc(enterprises=[ent(postcode="35111AB")]),
     "enterprises[0].postcode", ["not a Dutch postcode", "3511 AB"]),
    ("unknown municipality", doc(enterprises=[ent(municipality="Utrehct")]),
     "enterprises[0].municipality", ["unknown municipality 'Utrehct'", "did you mean 'Utrecht'"]),
    ("wrong type", doc(enterprises=[ent(service_radius_km="30")]),
     "enterprises[0].service_radius_km", ["expected a number", "without quotes"]),
    ("share above 1", doc(enterprises=[ent(target_group_share=35)]),
     "enterprises[0].target_group_share", ["out of range", "0.35"]),
    ("unknown target group", doc(enterprises=[ent(target_groups=["wajonge"])]),
     "enterprises[0].target_groups[0]", ["not a known target group", "did you mean 'wajong'"]),
    ("bad date", doc(enterprises=[ent(vetting={"status": "vetted", "on": "01-02-2024"})]),
     "enterprises[0].vetting.on", ["not an ISO date", "YYYY-MM-DD"]),
    ("bad vetting status", doc(enterprises=[ent(vetting={"status": "approved"})]),
     "enterprises[0].vetting.status", ["not a vetting status", "vetted"]),
    ("bad certification", doc(enterprises=[ent(certifications=[{"scheme": "PS0"}])]),
     "enterprises[0].certifications[0].scheme", ["unknown certification scheme",
                                                 "did you mean 'PSO'"]),
    ("swapped coordinates", doc(enterprises=[ent(municipality=None, lat=5.1, lon=52.1)]),
     "enterprises[0].lat", ["not in or near the Netherlands", "swapped"]),
    ("duplicate ref", doc(enterprises=[ent(), ent(name="Ander")]),
     "enterprises[1].ref", ["duplicate ref 'E-1'", "enterprises[0]"]),
    ("tender sroi field", doc(tenders=[{"ref": "T", "buyer": "B", "title": "t", "cpv": ["90911200"],
                                        "sroi": {"percentage": 5, "basis": "turnover"}}]),
     "tenders[0].sroi.basis", ["not a clause basis", "contract_value"]),
    ("tender sroi unknown key", doc(tenders=[{"ref": "T", "buyer": "B", "title": "t",
                                              "cpv": ["90911200"], "sroi": {"percent": 5}}]),
     "tenders[0].sroi.percent", ["unknown field 'percent'", "did you mean 'percentage'"]),
    ("unknown policy", doc(tenders=[{"ref": "T", "buyer": "B", "title": "t", "cpv": ["90911200"],
                                     "sroi": {"percentage": 5, "policy": "utrecht-2042"}}]),
     "tenders[0].sroi.policy", ["unknown valuation policy", "utrecht-2024"]),
    ("obligation without amount or tender", doc(obligations=[{"ref": "O", "firm": "F"}]),
     "obligations[0].amount_eur", ["amount_eur is required"]),
    ("obligation whose tender has no clause",
     doc(tenders=[{"ref": "T", "buyer": "B", "title": "t", "cpv": ["90911200"]}],
         obligations=[{"ref": "O", "firm": "F", "tender": "T"}]),
     "obligations[0].amount_eur", ["tender 'T' has no social-return clause", "give amount_eur"]),
    ("unknown top-level key", b'{"enterprise": []}', "enterprise",
     ["unknown top-level key", "did you mean 'enterprises'"]),
    ("top level not an object", b'[{"ref": "E-1"}]', "", ["top level must be an object",
                                                          "wrap the list"]),
    ("malformed JSON", b'{"enterprises": [\n  {"ref": "E-1",}\n]}', "line 2 column",
     ["not valid JSON"]),
    ("empty file", b"  \n", "", ["file is empty"]),
    ("not UTF-8", '{"enterprises": [{"ref": "café"}]}'.encode("cp1252"), "line 1",
     ["not UTF-8", "cp1252", "save it as UTF-8"]),
    ("NaN", b'{"enterprises": [{"ref": "E", "lat": NaN}]}', "", ["NaN"]),
]


@pytest.mark.parametrize(("label", "data", "where", "words"), BAD_JSON,
                         ids=[b[0] for b in BAD_JSON])
def test_bad_json_is_reported_with_place_and_fix(label: str, data: bytes, where: str,
                                                 words: list[str]) -> None:
    p = parse_file("in.json", data)
    assert not p.ok
    msg = one_issue(p)
    assert msg.startswith("in.json")
    assert where in msg, msg
    for w in words:
        assert w in msg, msg
    issue = p.issues[0]
    assert issue.reason and (issue.fix or label == "NaN")


def test_all_errors_are_collected_not_just_the_first() -> None:
    p = parse_file("in.json", doc(enterprises=[
        ent(kvk="12", postcode="x", cpv=["1"]),
        ent(ref="E-2", capacity={"placements_per_year": -1}),
        ent(ref="E-3")]))
    places = [i.location for i in p.issues]
    assert places == ["enterprises[0].kvk", "enterprises[0].cpv[0]", "enterprises[0].postcode",
                      "enterprises[1].capacity.placements_per_year"]
    assert p.issues[0].ref == "E-1"
    assert [r.ref for r in p.records["enterprises"]] == ["E-3"]  # only E-3 was valid


def test_unknown_keys_are_fine_under_extra() -> None:
    p = parse_file("in.json", doc(enterprises=[ent(extra={"whatever": {"nested": [1]}})]))
    assert p.ok and p.records["enterprises"][0].values["extra"] == {"whatever": {"nested": [1]}}


def test_extra_reserved_sets_the_tender_column() -> None:
    t = {"ref": "T", "buyer": "B", "title": "t", "cpv": ["90911200"],
         "extra": {"reserved": True, "note": "x"}}
    p = parse_file("in.json", doc(tenders=[t]))
    v = p.records["tenders"][0].values
    assert v["reserved"] is True and v["extra"] == {"note": "x"}
    bad = parse_file("in.json", doc(tenders=[{**t, "extra": {"reserved": "yes"}}]))
    assert "tenders[0].extra.reserved" in one_issue(bad)


def test_enterprise_needs_a_place() -> None:
    msg = one_issue(parse_file("in.json", doc(enterprises=[ent(municipality=None)])))
    assert "enterprises[0].municipality" in msg and "or give lat and lon" in msg
    p = parse_file("in.json", doc(enterprises=[ent(municipality=None, lat=52.0, lon=5.0)]))
    assert p.ok and p.records["enterprises"][0].values["municipality_code"] is None


CSV_HEAD = "ref,name,description,cpv,municipality,kvk,postcode,capacity_placements_per_year\n"
BAD_CSV = [
    ("invalid CPV", "E-1,A,d,1234,Utrecht,,,\n", "row 2, field cpv", ["'1234' is malformed"]),
    ("negative capacity", "E-1,A,d,90911200,Utrecht,,,-3\n",
     "row 2, field capacity_placements_per_year", ["-3 is out of range"]),
    ("missing required value", "E-1,,d,90911200,Utrecht,,,\n", "row 2, field name",
     ["'name' is required"]),
    ("bad KvK", "E-1,A,d,90911200,Utrecht,12345,,\n", "row 2, field kvk", ["not a KvK number"]),
    ("bad postcode", "E-1,A,d,90911200,Utrecht,,AB 1234,\n", "row 2, field postcode",
     ["not a Dutch postcode"]),
    ("unknown municipality", "E-1,A,d,90911200,Amsterdm,,,\n", "row 2, field municipality",
     ["did you mean 'Amsterdam'"]),
    ("wrong type", "E-1,A,d,90911200,Utrecht,,,twelve\n",
     "row 2, field capacity_placements_per_year", ["'twelve' is not a whole number"]),
    ("duplicate ref", "E-1,A,d,90911200,Utrecht,,,\nE-1,B,d,90911200,Utrecht,,,\n",
     "row 3, field ref", ["duplicate ref 'E-1' (also at row 2)"]),
    ("too many cells", "E-1,A,d,90911200,Utrecht,,,,,extra\n", "row 2",
     ["row has 10 cells but the header has 8"]),
]


@pytest.mark.parametrize(("label", "rows", "where", "words"), BAD_CSV,
                         ids=[b[0] for b in BAD_CSV])
def test_bad_csv_is_reported_with_row_field_and_fix(label: str, rows: str, where: str,
                                                    words: list[str]) -> None:
    p = parse_file("data/enterprises.csv", (CSV_HEAD + rows).encode())
    msg = one_issue(p)
    assert msg.startswith(f"data/enterprises.csv {where}"), msg
    for w in words:
        assert w in msg, msg
    assert p.issues[0].fix


def test_csv_header_problems() -> None:
    p = parse_file("enterprises.csv", b"ref,name,descriptoin,cpv,municipality\n")
    msgs = [i.render("en") for i in p.issues]
    assert any("unknown column 'descriptoin'" in m and "did you mean 'description'" in m
               for m in msgs), msgs
    assert any("required column 'description' is missing" in m for m in msgs), msgs
    p = parse_file("stuff.csv", b"ref,buyer,title,cpv\nT,B,t,90911200\n")
    msg = one_issue(p)
    assert "cannot tell which kind" in msg and "# kind: tenders" in msg


def test_csv_kind_comment_semicolons_and_decimal_comma() -> None:
    text = ("# kind: enterprises\nref;name;description;cpv;municipality;target_group_share;"
            "certifications\nE-1;A;d;90911200-8|50000000;GM0344;0,35;PSO:aspirant:|CodeSO::\n")
    p = parse_file("export.csv", text.encode())
    assert p.ok, [str(i) for i in p.issues]
    v = p.records["enterprises"][0].values
    assert v["target_group_share"] == 0.35 and v["cpv"] == ["90911200", "50000000"]
    assert v["certifications"] == [{"scheme": "PSO", "level": "aspirant", "valid_until": None},
                                   {"scheme": "CodeSO", "level": None, "valid_until": None}]
    bad = parse_file("export.csv", text.replace("0,35", "x").encode())
    assert "row 3, field target_group_share" in one_issue(bad)  # the comment line is row 1


def test_csv_with_bom_and_crlf() -> None:
    data = ("\ufeff" + CSV_HEAD + "E-1,A,d,90911200,Utrecht,,,\r\n").replace("\n", "\r\n")
    assert parse_file("enterprises.csv", data.encode()).ok


def test_oversized_file_is_rejected_without_parsing() -> None:
    p = parse_file("big.json", b" " * (MAX_FILE_BYTES + 1))
    assert "too large" in one_issue(p) and "split it" in one_issue(p)


def test_utf16_is_named() -> None:
    p = parse_file("x.csv", "ref,name\n".encode("utf-16"))
    assert "UTF-16" in one_issue(p)


# ------------------------------------------------------------------ fuzzing

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["ref", "name", "cpv", "kvk", "lat", "lon", "capacity", "vetting", "sroi",
                         "extra", "tender", "amount_eur", "certifications", "municipality",
                         "zzz", "placements_per_year", "status", "on", "scheme", "level"]),
        inner, max_size=6),
    max_leaves=20)


def _never_raises(name: str, data: bytes) -> None:
    p = parse_file(name, data)
    assert isinstance(p, ParsedFile)
    for issue in p.issues:
        assert str(issue)  # every issue renders
    if p.ok:
        assert all(r.ref for r in p.all_records())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from(["x.json", "enterprises.csv", "x.bin"]))
def test_random_bytes_never_crash(data: bytes, name: str) -> None:
    _never_raises(name, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*KINDS, "enterprise", "x"]),
                       st.lists(_json_values, max_size=3) | _json_values, max_size=4))
def test_garbled_documents_never_crash(document: dict[str, Any]) -> None:
    _never_raises("x.json", json.dumps(document).encode())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=15),
                         max_size=9), max_size=5),
       st.sampled_from(KINDS))
def test_garbled_csv_never_crashes(rows: list[list[str]], kind: str) -> None:
    import csv
    import io

    from api.importers.interchange import csv_columns

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(csv_columns(kind)[:9])
    w.writerows(rows)
    _never_raises(f"{kind}.csv", buf.getvalue().encode("utf-8", "surrogatepass"))
