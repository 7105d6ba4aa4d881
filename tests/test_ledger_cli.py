"""`sroi ledger`: import (all or nothing, problems on stderr), show, export, correct,
delete, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlmodel import Session

from api.cli import main
from api.i18n import format_number
from fixtures import ledgers as G
from tests.web.seed import FIRM_A, USERS, seed

GEN = G.generate(G.SEED, lang="en")


def test_ledger_cli_round_trip(session: Session, use_db: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    seed(session)
    path = tmp_path / "ledger_en.csv"
    path.write_bytes(G.write_en_csv(GEN))
    firm = ["--as", USERS["firm"][0]]
    assert main(["ledger", "import", str(path), *firm, "--obligation", "O-1", "--json"]) == 0
    out = capsys.readouterr()
    res = json.loads(out.out)
    assert res["lines"] == len(GEN) and "classify" in out.err  # progress on stderr
    lid = res["ledger"]
    assert main(["ledger", "show", str(lid), *firm, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert 0 < shown["addressable_share"] < 1 and shown["policy"]
    # Foreign lines converted at the ECB rate of their month, reported; none uncounted.
    assert shown["converted_lines"] == sum(1 for g in GEN if g.currency != "EUR") > 0
    assert shown["foreign_lines"] == 0 and shown["converted_eur"] > 0
    assert main(["ledger", "show", str(lid), *firm]) == 0
    assert "beïnvloedbaar" in capsys.readouterr().out  # Dutch unless --lang en
    assert main(["ledger", "export", str(lid), *firm]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(GEN)
    line_id = rows[0]["row"]
    assert main(["ledger", "correct", str(lid), "999999", "90919200", *firm]) == 2
    assert "Onbekende regel" in capsys.readouterr().err
    assert line_id
    assert main(["ledger", "delete", str(lid), *firm]) == 0
    assert f"verwijderd met {format_number(len(GEN))} regels" in capsys.readouterr().out
    assert main(["ledger", "list", *firm, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_ledger_cli_refuses_a_bad_file_with_every_problem(
        session: Session, use_db: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    seed(session)
    path.write_text("Datum;Relatie;Bedrag\n32-01-2025;A;1,00\n03-01-2025;;2,00\n")
    firm = ["--as", USERS["firm"][0]]
    assert main(["ledger", "import", str(path), *firm]) == 2
    err = capsys.readouterr().err
    assert "rij 2" in err and "rij 3" in err and "geweigerd, niets ingelezen" in err
    assert main(["ledger", "import", str(path), *firm, "--map", "nonsense"]) == 2
    assert "VELD=KOP" in capsys.readouterr().err


def test_ledger_cli_acts_as_a_user_through_the_access_rules(
        session: Session, use_db: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A connector sees a firm's ledger only after the firm's grant, and not after the
    revoke; only the firm grants."""
    seed(session)
    path = tmp_path / "ledger_en.csv"
    path.write_bytes(G.write_en_csv(GEN))
    firm, conn = ["--as", USERS["firm"][0]], ["--as", USERS["connector"][0]]
    assert main(["ledger", "import", str(path), *firm, "--json"]) == 0
    lid = str(json.loads(capsys.readouterr().out)["ledger"])
    # No grant: the connector neither lists nor opens it, nor uploads for the firm.
    assert main(["ledger", "list", *conn, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["ledger", "show", lid, *conn]) == 2
    assert "Onbekend grootboek" in capsys.readouterr().err
    assert main(["ledger", "import", str(path), *conn, "--firm", FIRM_A]) == 2
    assert "geen toegang" in capsys.readouterr().err
    # The connector cannot grant itself access; the firm can.
    assert main(["ledger", "grant", *conn, "--connector", USERS["connector"][0]]) == 2
    capsys.readouterr()
    assert main(["ledger", "grant", *firm, "--connector", USERS["connector"][0]]) == 0
    grant = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["ledger", "list", *conn, "--json"]) == 0
    assert [x["id"] for x in json.loads(capsys.readouterr().out)] == [int(lid)]
    assert main(["ledger", "access", *conn, "--json"]) == 0
    assert [g["connector"] for g in json.loads(capsys.readouterr().out)] == [
        USERS["connector"][0]]
    assert main(["ledger", "show", lid, *conn, "--json"]) == 0
    capsys.readouterr()
    # Revoked: gone again.
    assert main(["ledger", "revoke", grant, *firm]) == 0
    capsys.readouterr()
    assert main(["ledger", "show", lid, *conn]) == 2
    assert main(["ledger", "show", lid, "--as", "nobody@test.nl"]) == 2
    assert "deze gebruiker bestaat niet" in capsys.readouterr().err
