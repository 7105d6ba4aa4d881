"""`sroi import / export / load-fixtures / init-db`, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main

DATA = Path(__file__).parent / "data"

GOOD_ENT = ("ref,name,description,cpv,municipality,kvk,postcode,capacity_placements_per_year\n"
            "E-500,Fietsherstel Oost,Fietsen,50000000,Utrecht,,,\n")

# (label, file name, content, expected words in the output)
BAD_INPUTS = [
    ("malformed file", "x.json", b'{"enterprises": [ {"ref": "E-1"  "name": "A"} ]}',
     ["x.json line 1 column", "not valid JSON", "missing comma"]),
    ("unknown field", "x.json",
     b'{"enterprises": [{"ref": "E-1", "name": "A", "descripton": "d", "cpv": ["90911200"],'
     b' "municipality": "Utrecht"}]}',
     ["enterprises[0].descripton", "did you mean 'description'?"]),
    ("invalid CPV", "enterprises.csv",
     GOOD_ENT.encode() + b"E-1,A,d,1234,Utrecht,,,\n",
     ["enterprises.csv row 3, field cpv: CPV code '1234' is malformed: expected 8 digits"]),
    ("negative capacity", "enterprises.csv", GOOD_ENT.encode() + b"E-1,A,d,90911200,Utrecht,,,-1\n",
     ["row 3, field capacity_placements_per_year", "out of range"]),
    ("missing required field", "enterprises.csv",
     GOOD_ENT.encode() + b"E-1,A,,90911200,Utrecht,,,\n",
     ["row 3, field description", "'description' is required"]),
    ("bad KvK", "enterprises.csv", GOOD_ENT.encode() + b"E-1,A,d,90911200,Utrecht,KVK1,,\n",
     ["row 3, field kvk", "8 digits"]),
    ("bad postcode", "enterprises.csv", GOOD_ENT.encode() + b"E-1,A,d,90911200,Utrecht,,35,\n",
     ["row 3, field postcode", "3511 AB"]),
    ("unknown municipality", "enterprises.csv",
     GOOD_ENT.encode() + b"E-1,A,d,90911200,Groningn,,,\n",
     ["row 3, field municipality", "did you mean 'Groningen'"]),
    ("wrong type", "x.json",
     b'{"enterprises": [{"ref": "E-1", "name": "A", "description": "d", "cpv": "90911200",'
     b' "municipality": "Utrecht"}]}',
     ["enterprises[0].cpv", "expected a list", "[\"90911200\"]"]),
    ("duplicate ref", "enterprises.csv", GOOD_ENT.encode() + GOOD_ENT.encode().split(b"\n")[1],
     ["row 3, field ref", "duplicate ref 'E-500' (also at row 2)"]),
    ("dangling tender ref", "obligations.csv", b"ref,firm,tender\nO-1,Bouw BV,T-nope\n",
     ["obligations.csv row 2, field tender", "'T-nope' does not exist", "import the tender"]),
    ("not UTF-8", "enterprises.csv", GOOD_ENT.replace("Oost", "Zuid-Ost\xe9").encode("cp1252"),
     ["not UTF-8 (looks like cp1252", "save it as UTF-8"]),
    ("empty file", "tenders.csv", b"", ["file is empty"]),
]


def sroi(*args: str) -> int:
    # In English: these tests read the messages as the English catalog words them
    # (tests/web/test_messages_lang.py has the Dutch ones).
    return main(["--lang", "en", *args])


def export_all(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert sroi("export") == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("label", "name", "content", "words"), BAD_INPUTS,
                         ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_rejected_with_place_and_fix_and_db_unchanged(
        use_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        label: str, name: str, content: bytes, words: list[str]) -> None:
    assert sroi("import", str(DATA / "sample.json")) == 0
    before = export_all(capsys)
    path = tmp_path / name
    path.write_bytes(content)
    status = sroi("import", str(path))
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert status == 1, out
    assert "NOT imported" in out and "Traceback" not in out
    for w in words:
        assert w in out, out
    assert export_all(capsys) == before


def test_import_report_and_exit_codes(use_db: str, capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    files = [str(DATA / n) for n in ("sample.json", "enterprises.csv", "tenders.csv")]
    assert sroi("import", *files) == 0
    out = capsys.readouterr().out
    assert "tests/data/sample.json: imported" in out.replace(str(DATA.parent.parent) + "/", "")
    assert "enterprises: 3 created, 0 updated" in out
    assert "enterprises: 2 created, 0 updated" in out
    assert sroi("import", str(DATA / "sample.json"), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["files"][0]["counts"]["enterprises"]["unchanged"] == 3
    # Missing file: usage error, nothing imported.
    assert sroi("import", str(tmp_path / "nope.json")) == 2
    assert "file not found" in capsys.readouterr().err
    # Bad option value: argparse usage error.
    with pytest.raises(SystemExit) as exc:
        sroi("import", files[0], "--on-duplicate", "sometimes")
    assert exc.value.code == 2


def test_duplicates_via_cli(use_db: str, capsys: pytest.CaptureFixture[str],
                            tmp_path: Path) -> None:
    assert sroi("import", str(DATA / "sample.json")) == 0
    dup = tmp_path / "enterprises.csv"
    dup.write_text("ref,name,description,cpv,municipality,kvk\n"
                   "Z-1,Groene Fietsenmaker BV,Fietsen,50000000,Utrecht,\n")
    capsys.readouterr()
    assert sroi("import", str(dup)) == 1
    out = capsys.readouterr().out
    assert "likely duplicate: row 2 'Z-1' (Groene Fietsenmaker BV) looks like 'E-001'" in out
    assert "--on-duplicate merge" in out and "keep-both" in out
    assert sroi("import", str(dup), "--on-duplicate", "merge") == 0
    out = capsys.readouterr().out
    assert "1 merged into existing" in out
    doc = json.loads(export_all(capsys))
    e1 = next(e for e in doc["enterprises"] if e["ref"] == "E-001")
    # A merge keeps the stored name.
    assert e1["extra"]["merged_refs"] == ["Z-1"]
    assert e1["name"] == "Stichting De Groene Fietsenmaker"


def test_dry_run_writes_nothing_and_overwrites_need_confirm(
        use_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert sroi("import", str(DATA / "sample.json"), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "preview, nothing written" in out and "enterprises E-001: new" in out
    assert json.loads(export_all(capsys))["enterprises"] == []
    assert sroi("import", str(DATA / "sample.json")) == 0  # only new records: written
    capsys.readouterr()
    doc = json.loads((DATA / "sample.json").read_text())
    doc["tenders"][0]["title"] = "Schoonmaak stadhuis"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    before = export_all(capsys)
    # A plain run that would overwrite stored records lists them and stops.
    assert sroi("import", str(changed)) == 1
    captured = capsys.readouterr()
    assert "tenders T-001: would change" in captured.out
    assert "title: 'Schoonmaak stadskantoor' -> 'Schoonmaak stadhuis'" in captured.out
    assert "--confirm" in captured.err
    assert export_all(capsys) == before
    assert sroi("import", str(changed), "--confirm") == 0
    capsys.readouterr()
    tender = next(t for t in json.loads(export_all(capsys))["tenders"] if t["ref"] == "T-001")
    assert tender["title"] == "Schoonmaak stadhuis"


def test_another_owners_records_are_refused(
        use_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert sroi("import", str(DATA / "sample.json")) == 0
    capsys.readouterr()
    before = export_all(capsys)
    doc = json.loads((DATA / "sample.json").read_text())
    doc["tenders"][1]["buyer"] = "Gemeente Zeist"
    doc["obligations"][1]["firm"] = "Bouwbedrijf Anders"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    for extra in ((), ("--confirm",)):
        assert sroi("import", str(other), *extra) == 1
        out = capsys.readouterr().out
        assert "T-002 belongs to Gemeente Amersfoort, not to Gemeente Zeist" in out
        assert "O-002 belongs to ICT Partners, not to Bouwbedrijf Anders" in out
        assert export_all(capsys) == before


def test_export_formats(use_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert sroi("import", str(DATA / "sample.json")) == 0
    capsys.readouterr()
    assert sroi("export", "--kind", "tenders", "--kind", "challenges") == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["tenders", "challenges"] and len(doc["tenders"]) == 2
    assert sroi("export", "--format", "csv", "--kind", "enterprises") == 0
    out = capsys.readouterr().out
    assert out.startswith("# kind: enterprises\nref,name,kvk,")
    assert sroi("export", "--format", "csv") == 2  # several kinds need a directory
    assert "one kind per file" in capsys.readouterr().err
    assert sroi("export", "--format", "csv", "-o", str(tmp_path / "out")) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "challenges.csv", "enterprises.csv", "obligations.csv", "tenders.csv"]
    assert sroi("export", "-o", str(tmp_path / "all.json")) == 0
    # Re-importing the exported directory changes nothing.
    before = export_all(capsys)
    assert sroi("import", str(tmp_path / "out")) == 0
    assert "0 created, 0 updated, 3 unchanged" in capsys.readouterr().out
    assert export_all(capsys) == before


def test_init_db_and_load_fixtures(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from api import settings as api_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    api_settings.get_settings.cache_clear()
    try:
        assert sroi("import", str(DATA / "sample.json")) == 1
        assert "run `sroi init-db` first" in capsys.readouterr().err
        fixtures = tmp_path / "fixtures.json"
        fixtures.write_bytes((DATA / "sample.json").read_bytes())
        assert sroi("load-fixtures", "--path", str(fixtures)) == 0
        out = capsys.readouterr().out
        assert "created the schema" in out and "enterprises: 3 created" in out
        assert sroi("load-fixtures", "--path", str(fixtures)) == 0
        out = capsys.readouterr().out
        assert "nothing to do" in out
        assert "fixtures already loaded, keeping your data (3 enterprises)" in out
        assert sroi("init-db") == 0
        assert "nothing to do" in capsys.readouterr().out
    finally:
        from api.db import engine_for

        api_settings.get_settings.cache_clear()
        for engine in [engine_for(db_url)]:
            engine.dispose()
        engine_for.cache_clear()


def test_import_problems_in_the_chosen_language(use_db: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "enterprises.csv"
    path.write_bytes(GOOD_ENT.encode() + b"E-1,A,d,90911200,Utrecht,1234,,\n")
    assert main(["--lang", "nl", "import", str(path)]) == 1
    out = capsys.readouterr().out
    assert "enterprises.csv rij 3, veld kvk: '1234' is geen KvK-nummer — een KvK-nummer" in out
    assert "is not a KvK number" not in out
    # Without --lang: $SROI_LANG, then the locale.
    monkeypatch.setenv("SROI_LANG", "en")
    assert main(["import", str(path)]) == 1
    out = capsys.readouterr().out
    assert "enterprises.csv row 3, field kvk: '1234' is not a KvK number — a KvK number" in out
    assert "geen KvK-nummer" not in out


def test_a_command_error_in_dutch_and_in_english(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The command's own refusals (CliError) are messages too: Dutch by default, English
    with --lang en, the same exit status; a counted one in the language's plural form."""
    missing = tmp_path / "ontbreekt.csv"
    assert main(["--lang", "nl", "import", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"sroi import: bestand niet gevonden: {missing} (niets ingelezen)" in err
    assert main(["--lang", "en", "import", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"sroi import: file not found: {missing} (nothing imported)" in err
    assert "niet gevonden" not in err

    from api.messages import msgn

    for n, nl, en in ((1, "1 onderbroken taak", "1 interrupted job queued again"),
                      (3, "3 onderbroken taken", "3 interrupted jobs queued again")):
        m = msgn("{n} onderbroken taak opnieuw in de wachtrij",
                 "{n} onderbroken taken opnieuw in de wachtrij", n)
        assert m.render("nl").startswith(nl) and m.render("en") == en


def test_cli_language_default() -> None:
    from api.commands.lang import default_lang

    assert default_lang({}) == "nl"
    assert default_lang({"LANG": "C.UTF-8"}) == "nl"
    assert default_lang({"LANG": "en_GB.UTF-8"}) == "en"
    assert default_lang({"SROI_LANG": "nl", "LANG": "en_GB.UTF-8"}) == "nl"
