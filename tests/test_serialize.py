"""One row -> interchange serializer (api/serialize.py): the export and the API use it, the
API's response adds the store's own fields to it, and a CRUD status change from a default
status (left out of the document) still lands in a Challenge's history."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from api import serialize
from api.importers.interchange import parse_file
from api.serialize import challenge_doc, challenge_out, enterprise_doc, enterprise_out
from api.services import exporting
from api.services.challenge_board import record_crud_status_change
from api.tables import ChallengeRow, EnterpriseRow, User
from matcher.refdata import municipalities


def _enterprise(**values: Any) -> EnterpriseRow:
    muni = municipalities()["GM0344"]
    base: dict[str, Any] = {
        "ref": "E-1", "name": "Buurtkracht", "description": "Schoonmaak en groen",
        "municipality_code": "GM0344",
        "lat": muni.lat, "lon": muni.lon, "cpv": ["90911200"], "vetting_status": "vetted",
        "vetting_valid_until": date(2027, 1, 31), "purchasing_eur_per_year": 120000.0}
    return EnterpriseRow(**{**base, **values})


def test_export_uses_the_one_serializer() -> None:
    assert exporting.ROWS is serialize.ROWS
    assert serialize.ROWS["enterprises"][1] is enterprise_doc


def test_document_re_imports_to_the_same_values() -> None:
    row = _enterprise(lat=52.1, lon=5.2, themes=["groen"])
    doc = enterprise_doc(row)
    assert doc["lat"] == 52.1 and doc["vetting"] == {"status": "vetted",
                                                      "valid_until": "2027-01-31"}
    parsed = parse_file("e.json", json.dumps({"enterprises": [doc]}).encode())
    assert not parsed.issues
    values = parsed.records["enterprises"][0].values
    for column in ("ref", "name", "lat", "lon", "themes", "vetting_status",
                   "vetting_valid_until", "purchasing_eur_per_year"):
        assert values[column] == getattr(row, column), column


def test_api_response_is_the_document_plus_store_fields() -> None:
    row = _enterprise()
    doc, out = enterprise_doc(row), enterprise_out(row)
    # The document leaves out coordinates equal to the municipality's centroid; the API
    # always spells them out.
    assert "lat" not in doc and (out["lat"], out["lon"]) == (row.lat, row.lon)
    assert {k: v for k, v in out.items() if k not in ("lat", "lon", "created_at",
                                                      "updated_at")} == doc
    ch = ChallengeRow(ref="C-1", municipality_code="GM0344", title="T", status="pitch")
    assert challenge_out(ch)["status"] == "pitch"
    assert challenge_doc(ch)["extra"] == {"status": "pitch"}


def test_crud_status_change_from_the_default_status_is_recorded() -> None:
    from sqlmodel import Session, SQLModel, create_engine

    from api.services.challenge_board import status_history

    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    row = ChallengeRow(ref="C-1", municipality_code="GM0344", title="T")
    before = challenge_doc(row)
    assert "status" not in before.get("extra", {})  # "intake" is the default: left out
    row.status = "call"
    with Session(engine) as session:
        record_crud_status_change(session, User(email="v@test.nl", role="connector"),
                                  row, before)
        session.commit()
        history = status_history(session, "C-1")
    assert [(h["from"], h["to"], h["by"]) for h in history] == [("intake", "call",
                                                                  "v@test.nl")]
    assert "status_history" not in row.extra
