"""`sroi match` / `sroi why-not` through api.cli.main, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import Session

from api import settings as api_settings
from api.cli import main
from api.services import matching
from api.tables import ChallengeRow, EnterpriseRow, ObligationRow, TenderRow

UTRECHT = (52.0907, 5.1214)


def enterprise(ref: str, name: str, description: str, cpv: str, status: str = "vetted",
               themes: tuple[str, ...] = ()) -> EnterpriseRow:
    return EnterpriseRow(
        ref=ref, name=name, description=description, cpv=[cpv], municipality_code="GM0344",
        lat=UTRECHT[0], lon=UTRECHT[1], target_groups=["participatiewet"], themes=list(themes),
        purchasing_eur_per_year=40_000, vetting_status=status, vetted_on=date(2025, 1, 1),
        vetting_valid_until=date(2027, 1, 1),
    )


@pytest.fixture
def db(use_db: str, session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    monkeypatch.setenv("TODAY", "2026-03-01")
    api_settings.get_settings.cache_clear()
    matching.invalidate()
    session.add_all([
        enterprise("E-1", "Schoon Werk", "Schoonmaak van kantoren en scholen", "90911200"),
        enterprise("E-2", "Glans", "Glazenwassen en schoonmaak van gebouwen", "90911300"),
        enterprise("E-3", "Nog Niet", "Schoonmaak van kantoren", "90911200", status="pending"),
        enterprise("E-G", "Groen Doen", "Groenonderhoud van parken en plantsoenen", "77310000",
                   themes=("groen",)),
        enterprise("E-M", "Buurtkeuken", "Maaltijden koken voor ouderen in de buurt",
                   "55520000", themes=("maaltijden",)),
        enterprise("E-D", "Drukkerij", "Drukwerk en grafische vormgeving", "79800000"),
        enterprise("E-F", "Fietsfabriek", "Fietsenreparatie en fietsverhuur", "50000000"),
        TenderRow(ref="T-1", buyer="Gemeente Utrecht", title="Schoonmaak kantoren",
                  description="Schoonmaak van gemeentelijke kantoren", cpv=["90911200"],
                  contract_value_eur=500_000, sroi_percentage=5, municipality_code="GM0344",
                  lat=UTRECHT[0], lon=UTRECHT[1]),
        ObligationRow(ref="O-1", firm="Bouw BV", tender_ref="T-1", buys=["90910000"]),
        ChallengeRow(ref="CH-1", municipality_code="GM0344", title="Groene buurtmaaltijden",
                     question="Parken onderhouden en maaltijden koken voor ouderen in de buurt",
                     themes=["groen", "maaltijden"], max_partners=2),
    ])
    session.commit()
    yield session
    matching.invalidate()
    api_settings.get_settings.cache_clear()


def test_match_tender_json(db: Session, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "match", "tender", "T-1", "--top", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["ref"] for r in out["results"]] == ["E-1", "E-2"]
    r = out["results"][0]
    assert {"ref", "name", "score", "contributions", "reasons"} <= set(r)
    assert r["name"] == "Schoon Werk" and r["contributions"]["cpv"] > 0
    # Reasons are data with their text, English unless --lang nl.
    assert all(set(x) == {"code", "params", "text"} for x in r["reasons"]) and r["reasons"]
    cap = next(x for x in r["reasons"] if x["code"].startswith("capacity"))
    assert "purchasing per year" in cap["text"]
    assert main(["match", "tender", "T-1", "--top", "2", "--json", "--lang", "nl"]) == 0
    nl = json.loads(capsys.readouterr().out)["results"][0]["reasons"]
    assert [x["params"] for x in nl] == [x["params"] for x in r["reasons"]]
    assert "inkoop per jaar" in next(x for x in nl if x["code"] == cap["code"])["text"]
    assert sum(r["contributions"].values()) == pytest.approx(r["score"], abs=1e-4)
    assert out["n_excluded"] == 1


def test_match_tender_table(db: Session, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "match", "tender", "T-1", "--top", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Tender T-1: ")
    assert " suitable of 6 candidates, 1 excluded" in lines[0]
    header = lines[1]
    assert "ref" in header and "score" in header and "strongest features" in header
    row1 = next(line for line in lines if "E-1" in line and "Schoon Werk" in line)
    # Aligned: the score column sits under its header.
    assert row1.index("0.") >= header.index("score") - 1
    assert "  - " in out and "E-3" not in out


def test_match_obligation_json(db: Session, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "match", "obligation", "O-1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "obligation" and out["results"][0]["ref"] in ("E-1", "E-2")


def test_match_challenge_json_and_table(db: Session, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "match", "challenge", "CH-1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["ref"] for r in out["results"][:2]} == {"E-G", "E-M"}
    assert out["coalitions"] and set(out["coalitions"][0]["refs"]) == {"E-G", "E-M"}
    assert all(len(c["members"]) <= 2 for c in out["coalitions"])
    assert main(["--lang", "en", "match", "challenge", "CH-1", "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert "Coalitions (up to 2 partners):" in text
    assert "Groen Doen (E-G)" in text and "cover 2 of 2 themes" in text
    assert main(["--lang", "en", "match", "challenge", "CH-1", "--top", "3", "--lang", "nl"]) == 0
    assert "dekken samen 2 van de 2 thema's" in capsys.readouterr().out


def test_why_not(db: Session, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "why-not", "tender", "T-1", "E-3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["excluded"] is True and "reason" not in out
    assert out["exclusions"] == [{"code": "not_vetted", "params": {"status": "pending"},
                                  "text": "vetting status is Pending, not Vetted"}]
    assert main(["--lang", "en", "why-not", "tender", "T-1", "E-3"]) == 0
    text = capsys.readouterr().out
    assert "Nog Niet (E-3) is not proposed" in text and "[not_vetted]" in text
    assert "[not_vetted] vetting status is Pending, not Vetted" in text
    assert main(["--lang", "en", "why-not", "tender", "T-1", "E-2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["excluded"] is False and out["rank"] == 2 and out["exclusions"] == []
    assert out["reasons"] and all(x["text"] for x in out["reasons"])
    assert main(["--lang", "en", "why-not", "challenge", "CH-1", "E-G"]) == 0
    text = capsys.readouterr().out
    assert "Groen Doen (E-G) is candidate #" in text and "of 6 for challenge CH-1" in text


@pytest.mark.parametrize("argv, message", [
    (["match", "tender", "NOPE"], "sroi match tender: Unknown tender NOPE."),
    (["match", "challenge", "NOPE"], "sroi match challenge: Unknown Challenge NOPE."),
    (["match", "tender", "T-1", "--top", "0"], "--top must be from 1 to 500, got 0"),
    (["match", "tender", "T-1", "--top", "ten"], "--top must be a whole number"),
    (["why-not", "tender", "T-1", "E-404"], "sroi why-not tender: Unknown enterprise E-404."),
    (["why-not", "obligation", "NOPE", "E-1"], "Unknown obligation NOPE."),
])
def test_user_errors_are_one_line(db: Session, capsys: pytest.CaptureFixture[str],
                                  argv: list[str], message: str) -> None:
    assert main(["--lang", "en", *argv]) == 2
    cap = capsys.readouterr()
    assert message in cap.err and cap.out == ""
    assert len(cap.err.strip().splitlines()) == 1 and "Traceback" not in cap.err


def test_unreachable_database(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    api_settings.get_settings.cache_clear()
    try:
        assert main(["--lang", "en", "match", "tender", "T-1"]) == 2
    finally:
        api_settings.get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("sroi match tender: database error: OperationalError")
    assert len(err.strip().splitlines()) == 1


def test_uninitialised_database(tmp_path: object, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    api_settings.get_settings.cache_clear()
    try:
        assert main(["--lang", "en", "why-not", "tender", "T-1", "E-1"]) == 2
    finally:
        api_settings.get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "database error" in err and "sroi init-db" in err


def test_match_and_why_not_show_curation(db: Session, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    from api.services.curation_log import DecisionInput

    for ent, decision, reason in (("E-F", "pin", "Kent de buurt"), ("E-1", "reject", "Vol")):
        matching.decide(db, DecisionInput(query_kind="tender", query_ref="T-1",
                                          enterprise_ref=ent, decision=decision,
                                          reason=reason), decided_by="verbinder@x.nl")
    assert main(["--lang", "en", "match", "tender", "T-1", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "pinned by verbinder@x.nl: Kent de buurt" in out
    assert "Rejected by a connector" in out and "E-1 Schoon Werk: rejected by" in out
    assert out.index("E-F") < out.index("E-2")
    assert main(["--lang", "en", "match", "tender", "T-1", "--top", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["results"][0]["ref"] == "E-F" and data["results"][0]["decision"] == "pin"
    assert data["rejected"][0]["ref"] == "E-1"
    assert main(["--lang", "en", "why-not", "tender", "T-1", "E-1"]) == 0
    assert "Connector's decision: rejected by verbinder@x.nl: Vol" in capsys.readouterr().out


def test_match_tender_per_lot_and_coalition_brings(
        db: Session, capsys: pytest.CaptureFixture[str]) -> None:
    db.add(TenderRow(ref="T-2", buyer="Gemeente Utrecht", title="Schoonmaak en groen",
                     cpv=["90911200", "77310000"], contract_value_eur=800_000,
                     sroi_percentage=5, municipality_code="GM0344",
                     extra={"lots": [
                         {"id": "1", "title": "Schoonmaak kantoren", "cpv": ["90911200"],
                          "value_eur": 500_000},
                         {"id": "2", "title": "Groenonderhoud parken", "cpv": ["77310000"],
                          "value_eur": 300_000}]}))
    db.commit()
    assert main(["--lang", "en", "match", "tender", "T-2", "--json"]) == 0
    lots = json.loads(capsys.readouterr().out)["lots"]
    assert [x["id"] for x in lots] == ["1", "2"]
    assert lots[0]["results"][0]["ref"] in ("E-1", "E-2")
    assert lots[1]["results"][0]["ref"] == "E-G"
    assert all(r["ref"] != "E-G" for r in lots[0]["results"])
    assert main(["--lang", "en", "match", "tender", "T-2"]) == 0
    out = capsys.readouterr().out
    assert "Lot 1: Schoonmaak kantoren (90911200, €500,000)" in out
    assert "Lot 2: Groenonderhoud parken" in out
    assert main(["--lang", "en", "match", "challenge", "CH-1"]) == 0
    out = capsys.readouterr().out
    assert "Groen Doen brings: groen" in out and "Buurtkeuken brings: maaltijden" in out
