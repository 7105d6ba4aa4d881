"""The format registry: adding a format is one parser and one registry line, and the one
pipeline (``api.services.importing.import_files``) writes it, all-or-nothing per file,
idempotently, with the one report; the CLI reads the registry too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from api.importers import registry
from api.importers.common import ItemError, ItemOutcome, ParsedTenders, TenderData
from api.messages import render_text
from api.services.importing import import_files
from api.tables import TenderRow


def parse_lines(data: bytes, filename: str) -> ParsedTenders:
    """A tiny published format: one ``ref;buyer;title;cpv`` tender per line."""
    out = ParsedTenders()
    for n, line in enumerate(data.decode().splitlines(), 1):
        where = f"{filename}: line {n}"
        cells = line.split(";")
        if len(cells) != 4 or not all(c.strip() for c in cells):
            err = ItemError(where, "expected ref;buyer;title;cpv")
            out.rejected.append(ItemOutcome(where, None, "rejected", [err]))
            continue
        ref, buyer, title, cpv = (c.strip() for c in cells)
        out.tenders.append(TenderData(ref, where, "lines", buyer, title, [cpv]))
    return out


@pytest.fixture
def lines_format() -> Iterator[registry.Format]:
    fmt = registry.register(registry.Format(
        "lines", "Lines", "ref;buyer;title;cpv per line", (".lines",), ("text/plain",),
        parse_lines))
    yield fmt
    registry.unregister("lines")


GOOD = b"L-1;Gemeente Zwolle;Groenonderhoud;77310000\nL-2;Gemeente Zwolle;Catering;55520000\n"
BAD = b"L-3;Gemeente Zwolle;Schoonmaak;90911200\nnot a tender\n"


def refs(session: Session) -> set[str]:
    session.expire_all()
    return set(session.exec(select(TenderRow.ref)).all())


def test_a_registered_format_imports_through_the_one_pipeline(
        session: Session, lines_format: registry.Format) -> None:
    assert "lines" in registry.names(published=True)
    report = import_files(session, [("a.lines", GOOD)], format="lines")
    (f,) = report.files
    assert report.ok and f.format == "lines" and f.created == 2 and f.written
    assert f.counts["tenders"].created == 2
    assert refs(session) == {"L-1", "L-2"}
    row = session.exec(select(TenderRow).where(TenderRow.ref == "L-2")).one()
    assert (row.source, row.buyer, row.cpv) == ("lines", "Gemeente Zwolle", ["55520000"])
    # Idempotent: the same file again changes nothing.
    again = import_files(session, [("a.lines", GOOD)], format="lines").files[0]
    assert (again.created, again.unchanged, again.written) == (0, 2, False)

    # All or nothing per file: a rejected line keeps the valid one out too…
    bad = import_files(session, [("b.lines", BAD)], format="lines")
    (b,) = bad.files
    assert not bad.ok and b.status == "rejected" and not b.written
    assert b.rejected == 1 and b.count("not written") == 1
    assert b.errors[0].location == "b.lines: line 2"
    assert refs(session) == {"L-1", "L-2"}
    # … unless partial.
    part = import_files(session, [("b.lines", BAD)], format="lines", partial=True).files[0]
    assert part.status == "partial" and part.written and part.created == 1
    assert refs(session) == {"L-1", "L-2", "L-3"}
    # The one report's JSON has the same keys for every format.
    interchange = import_files(session, [("x.json", b"{}")]).files[0].to_dict()
    assert set(part.to_dict()) == set(interchange)


def test_the_cli_and_the_tender_source_check_read_the_registry(
        use_db: str, lines_format: registry.Format, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from api.cli import main
    from api.importers.registry import parse_interchange as parse_file

    path = tmp_path / "a.lines"
    path.write_bytes(GOOD)
    assert main(["import", "--format", "lines", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "lines" and out["files"][0]["created"] == 2
    assert main(["import-lines", str(path)]) == 0
    assert "a.lines (lines): 0 aangemaakt, 0 bijgewerkt, 2 ongewijzigd" in capsys.readouterr().out
    assert main(["import", "--format", "lines", str(tmp_path)]) == 0  # a directory: *.lines

    tender = {"ref": "T-1", "buyer": "B", "title": "T", "cpv": ["77310000"],
              "extra": {"source": "lines"}}
    assert parse_file("t.json", json.dumps({"tenders": [tender]}).encode()).ok
    registry.unregister("lines")
    (issue,) = parse_file("t.json", json.dumps({"tenders": [tender]}).encode()).issues
    assert "not a valid source" in render_text(issue.reason, "en")
    assert "ocds" in render_text(issue.fix, "en")


def test_registering_twice_or_asking_for_an_unknown_format_is_refused(
        lines_format: registry.Format) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(lines_format)
    with pytest.raises(registry.UnknownFormat, match="interchange, ocds, eforms, ted, lines"):
        registry.get("xlsx")
    with pytest.raises(registry.UnknownFormat):
        import_files(None, [], format="xlsx")  # type: ignore[arg-type]


def test_the_api_offers_the_registered_published_formats() -> None:
    from api.app import create_app

    schema = create_app().openapi()
    params = schema["paths"]["/api/v1/import/{fmt}"]["post"]["parameters"]
    (fmt,) = [p for p in params if p["name"] == "fmt"]
    assert tuple(fmt["schema"]["enum"]) == registry.names(published=True)
