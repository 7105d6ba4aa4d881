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
from fixtures import ledgers as G
from tests.web.seed import FIRM_A, seed

GEN = G.generate(G.SEED, lang="en")


def test_ledger_cli_round_trip(session: Session, use_db: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    seed(session)
    path = tmp_path / "ledger_en.csv"
    path.write_bytes(G.write_en_csv(GEN))
    assert main(["ledger", "import", str(path), "--firm", FIRM_A, "--obligation", "O-1",
                 "--json"]) == 0
    out = capsys.readouterr()
    res = json.loads(out.out)
    assert res["lines"] == len(GEN) and "classify" in out.err  # progress on stderr
    lid = res["ledger"]
    assert main(["ledger", "show", str(lid), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert 0 < shown["addressable_share"] < 1 and shown["policy"]
    assert main(["ledger", "show", str(lid)]) == 0
    assert "addressable" in capsys.readouterr().out
    assert main(["ledger", "export", str(lid)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(GEN)
    line_id = rows[0]["row"]
    assert main(["ledger", "correct", str(lid), "999999", "90919200"]) == 2
    assert "Onbekende regel" in capsys.readouterr().err
    assert line_id
    assert main(["ledger", "delete", str(lid)]) == 0
    assert f"{len(GEN)} lines" in capsys.readouterr().out
    assert main(["ledger", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_ledger_cli_refuses_a_bad_file_with_every_problem(
        session: Session, use_db: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Datum;Relatie;Bedrag\n32-01-2025;A;1,00\n03-01-2025;;2,00\n")
    assert main(["ledger", "import", str(path), "--firm", FIRM_A]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "row 3" in err and "refused, nothing imported" in err
    assert main(["ledger", "import", str(path), "--firm", FIRM_A, "--map", "nonsense"]) == 2
    assert "FIELD=HEADER" in capsys.readouterr().err
