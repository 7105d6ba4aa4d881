"""The importers under bad input: always a clear report, never a half-written store.

tests/test_interchange.py fuzzes the interchange *parser* (random bytes, garbled
documents and CSV never crash). This file fuzzes the *import into the store* on
SQLite and PostgreSQL, comparing a full export (plus the vetting log) before and
after, and covers what the parser tests do not: wrong encodings, truncated and
mutated files (all-or-nothing), huge files, huge fields, and random bytes and
truncations for the OCDS and eForms importers too.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from api.importers.interchange import MAX_FILE_BYTES
from api.services.exporting import dumps, export_document
from api.services.importing import ImportReport, import_files, import_paths
from api.tables import CurationDecision, TenderRow, VettingEvent
from tests.conftest import import_one

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).parents[1].parent / "shared" / "data"
EFORMS = sorted((SHARED / "eforms").glob("*.xml"))
OCDS = sorted((SHARED / "ocds").glob("*.json"))

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def snapshot(session: Session) -> tuple[str, int, int]:
    session.expire_all()
    events = int(session.exec(select(func.count()).select_from(VettingEvent)).one())
    decisions = int(session.exec(select(func.count()).select_from(CurationDecision)).one())
    return dumps(export_document(session)), events, decisions


@pytest.fixture
def store(session: Session) -> Session:
    """A store holding the sample data (so 'unchanged' means something)."""
    names = ("sample.json", "enterprises.csv", "tenders.csv")
    report = import_files(session, [(n, (DATA / n).read_bytes()) for n in names])
    assert report.ok, report.to_dict()
    return session


def assert_clear(report: ImportReport) -> None:
    """Not ok, and every problem says where and what, without a trace."""
    assert not report.ok
    issues = [i for f in report.files for i in f.issues]
    assert issues
    for issue in issues:
        text = str(issue)
        assert text.strip() and "Traceback" not in text and "object at 0x" not in text


def new_enterprises(n: int, prefix: str = "N") -> list[dict[str, Any]]:
    return [{"ref": f"{prefix}-{i}", "name": f"Werkbedrijf Één {prefix} {i}",
             "description": "Schoonmaak, groen en catering — met leerwerkplekken",
             "cpv": ["90911200"], "municipality": "Utrecht",
             "lat": 52.09 + i * 1e-4, "lon": 5.12} for i in range(n)]


# ------------------------------------------------------------------ interchange

@FUZZ
@given(st.binary(max_size=2000), st.sampled_from(["x.json", "enterprises.csv", "tenders.csv",
                                                   "x.txt"]))
def test_random_bytes_change_nothing(store: Session, data: bytes, name: str) -> None:
    before = snapshot(store)
    report = import_files(store, [(name, data)])
    if not report.ok:
        assert_clear(report)
    assert snapshot(store) == before


VALID_DOC = json.dumps({"enterprises": new_enterprises(30)}, ensure_ascii=False).encode()


@FUZZ
@given(st.integers(min_value=1, max_value=len(VALID_DOC) - 2))
def test_truncated_json_changes_nothing(store: Session, cut: int) -> None:
    before = snapshot(store)
    report = import_files(store, [("cut.json", VALID_DOC[:cut])])
    assert_clear(report)
    assert snapshot(store) == before


def _csv_doc(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["ref", "name", "description", "cpv", "municipality"])
    for r in rows:
        w.writerow([r["ref"], r["name"], r["description"], "|".join(r["cpv"]),
                    r["municipality"]])
    return buf.getvalue()


VALID_CSV = _csv_doc(new_enterprises(20, "C"))


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID_CSV) - 1),
       st.sampled_from(['"', ",", "\n", "\x00", ";", "\ufffd", "", "9"]),
       st.integers(min_value=0, max_value=3))
def test_mutated_csv_is_all_or_nothing(store: Session, pos: int, insert: str,
                                       delete: int) -> None:
    """A damaged CSV is either still valid (imported whole) or refused whole."""
    data = VALID_CSV[:pos] + insert + VALID_CSV[pos + delete:]
    before = snapshot(store)
    report = import_files(store, [("enterprises.csv", data.encode("utf-8"))],
                          on_duplicate="keep-both")
    if report.ok:
        store.expire_all()
        n_rows = sum(c.created + c.updated + c.unchanged for c in report.files[0].counts.values())
        assert n_rows >= 1
    else:
        assert_clear(report)
        assert snapshot(store) == before


@FUZZ
@given(st.integers(min_value=0, max_value=len(VALID_DOC) - 1), st.binary(min_size=1,
                                                                          max_size=3))
def test_mutated_json_is_all_or_nothing(store: Session, pos: int, junk: bytes) -> None:
    data = VALID_DOC[:pos] + junk + VALID_DOC[pos + 1:]
    before = snapshot(store)
    report = import_files(store, [("x.json", data)], on_duplicate="keep-both")
    if report.ok:
        counts = report.files[0].counts["enterprises"]
        assert counts.created + counts.updated + counts.unchanged == 30
    else:
        assert_clear(report)
        assert snapshot(store) == before


ENCODED = ("ref,name,description,cpv,municipality\n"
           "ENC-1,Café Één,Koffie en gebak — ’s ochtends,55520000,Utrecht\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32",
                                      "latin-1", "cp1252", "mac_roman"])
def test_wrong_encodings_are_named_or_read_right(store: Session, encoding: str) -> None:
    try:
        data = ENCODED.encode(encoding)
    except UnicodeEncodeError:
        data = ENCODED.encode(encoding, errors="replace")
    before = snapshot(store)
    report = import_files(store, [("enterprises.csv", data)])
    if report.ok:
        # Read correctly, or not at all: never mojibake in the store.
        doc = json.loads(snapshot(store)[0])
        new = [e for e in doc["enterprises"] if e["ref"] == "ENC-1"]
        assert new and new[0]["name"] == "Café Één", (encoding, new)
    else:
        assert_clear(report)
        message = " ".join(str(i) for f in report.files for i in f.issues).lower()
        assert any(w in message for w in ("utf", "encod", "decode")), message
        assert snapshot(store) == before


def test_json_in_latin1_is_refused_with_the_encoding_named(store: Session) -> None:
    data = json.dumps({"enterprises": new_enterprises(2)}, ensure_ascii=False).encode("latin-1",
                                                                                     "replace")
    before = snapshot(store)
    report = import_files(store, [("x.json", data)])
    if not report.ok:
        assert "utf" in " ".join(str(i) for f in report.files for i in f.issues).lower()
        assert snapshot(store) == before


def test_file_over_the_limit_is_not_read_and_changes_nothing(store: Session,
                                                             tmp_path: Path) -> None:
    big = tmp_path / "huge.json"
    with big.open("wb") as fh:
        fh.write(b'{"enterprises": [')
        fh.seek(MAX_FILE_BYTES + 10)
        fh.write(b"]}")
    before = snapshot(store)
    report = import_paths(store, [str(big)])
    assert_clear(report)
    assert "te groot" in str(report.files[0].issues[0])
    assert snapshot(store) == before


def test_large_file_with_one_bad_row_at_the_end_writes_nothing(store: Session) -> None:
    rows = new_enterprises(3000, "L")
    rows.append({**rows[0], "ref": "L-bad", "cpv": ["1234"]})
    data = json.dumps({"enterprises": rows}).encode()
    before = snapshot(store)
    report = import_files(store, [("large.json", data)], on_duplicate="keep-both")
    assert_clear(report)
    issues = [str(i) for i in report.files[0].issues]
    assert any("enterprises[3000].cpv[0]" in i for i in issues), issues[:3]
    assert snapshot(store) == before


def test_huge_field_is_refused_or_stored_whole(store: Session) -> None:
    rows = new_enterprises(1, "H")
    rows[0]["description"] = "schoonmaak " * 1_000_000  # 11 MB in one field
    rows[0]["name"] = "n" * 10_000
    before = snapshot(store)
    report = import_files(store, [("x.json", json.dumps({"enterprises": rows}).encode())])
    assert_clear(report)  # the name is far over the column's 300 characters
    assert snapshot(store) == before


def test_deeply_nested_json_is_a_clear_error(store: Session) -> None:
    data = b'{"enterprises": [{"extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
    before = snapshot(store)
    report = import_files(store, [("deep.json", data)])
    assert_clear(report)
    assert snapshot(store) == before


def test_one_bad_file_among_good_ones_keeps_the_good_ones(store: Session) -> None:
    good = json.dumps({"enterprises": new_enterprises(3, "G")}).encode()
    report = import_files(store, [("good.json", good), ("bad.json", b"{not json")],
                          on_duplicate="keep-both")
    assert report.files[0].ok and not report.files[1].ok
    refs = {e["ref"] for e in json.loads(snapshot(store)[0])["enterprises"]}
    assert {"G-0", "G-1", "G-2"} <= refs


# ------------------------------------------------------------------ OCDS and eForms

def _tenders(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(TenderRow)).one())


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(["ocds", "eforms", "ted"]))
def test_published_importers_on_random_bytes(store: Session, data: bytes, fmt: str) -> None:
    before = snapshot(store)
    report = import_one(store, fmt, data, f"random.{'json' if fmt == 'ocds' else 'xml'}")
    assert not report.ok and not report.written
    for e in report.errors:
        assert str(e.reason).strip() and "Traceback" not in str(e.reason)
    assert snapshot(store) == before


def _samples(paths: list[Path]) -> list[bytes]:
    return [p.read_bytes() for p in paths]


@pytest.mark.skipif(not EFORMS, reason="shared eForms examples not found")
@FUZZ
@given(st.data())
def test_truncated_or_damaged_eforms_notice(store: Session, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(_samples(EFORMS)))
    cut = data.draw(st.integers(min_value=0, max_value=len(doc) - 1))
    junk = data.draw(st.binary(max_size=4))
    damaged = doc[:cut] + junk + doc[cut + 1:] if junk else doc[:cut]
    before = snapshot(store)
    report = import_one(store, "eforms", damaged, "notice.xml")
    if not report.ok:
        assert not report.written and report.errors
        assert snapshot(store) == before


@pytest.mark.skipif(not OCDS, reason="shared OCDS examples not found")
@FUZZ
@given(st.data())
def test_truncated_ocds_package(store: Session, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(_samples(OCDS)))
    cut = data.draw(st.integers(min_value=1, max_value=len(doc) - 2))
    before = snapshot(store)
    report = import_one(store, "ocds", doc[:cut], "package.json")
    assert not report.ok and not report.written
    assert snapshot(store) == before


def test_xml_entity_expansion_is_refused_quickly(store: Session) -> None:
    import time

    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1
                                                      else b"&lol;") * 10)
                      for i in range(1, 10))
           + b']><ContractNotice>&lol9;</ContractNotice>')
    before = snapshot(store)
    t0 = time.perf_counter()
    report = import_one(store, "eforms", lol, "bomb.xml")
    assert time.perf_counter() - t0 < 10
    assert not report.ok and not report.written
    assert snapshot(store) == before


def test_external_entities_are_not_fetched(store: Session, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
           '<ContractNotice xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
           'ContractNotice-2"><cbc:ID xmlns:cbc="urn:oasis:names:specification:ubl:schema:'
           'xsd:CommonBasicComponents-2">&xxe;</cbc:ID></ContractNotice>').encode()
    report = import_one(store, "eforms", xxe, "xxe.xml")
    assert "TOPSECRET" not in json.dumps(report.to_dict(), default=str)
    assert not report.written
