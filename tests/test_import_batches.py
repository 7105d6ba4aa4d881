"""Published files are committed in batches, each file in its own savepoint
(api/services/importing.py "Published files are committed in batches"): a rejected file
in a batch loses nothing of the others, a multi-notice file is still all or nothing, a
failed batch commit is reported, never called written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from api.messages import render_text
from api.services import importing
from api.services.importing import import_files
from api.tables import TenderRow

CN = (Path(__file__).parent / "data" / "eforms" / "cn_24_open.xml").read_bytes()


def notice(i: int, *, cpv: str = "90911200") -> tuple[str, bytes]:
    data = re.sub(rb"<cbc:ContractFolderID>[^<]+<",
                  f"<cbc:ContractFolderID>proc-{i:03d}<".encode(), CN)
    data = re.sub(rb'listName="cpv">\d{8}<', f'listName="cpv">{cpv}<'.encode(), data, count=1)
    return f"n{i:03d}.xml", data


def refs(session: Session) -> list[str]:
    session.expire_all()
    return sorted(session.exec(select(TenderRow.ref)).all())


def ocds(*releases: tuple[str, str]) -> bytes:
    """A release package: one tender release per (ocid, buyer)."""
    def release(ocid: str, buyer: str) -> dict[str, Any]:
        return {"ocid": ocid, "id": f"{ocid}-1", "date": "2024-01-02T00:00:00Z",
                "tag": ["tender"], "buyer": {"name": buyer},
                "tender": {"id": "1", "title": f"Schoonmaak {ocid}", "items": [
                    {"id": "1", "classification": {"scheme": "CPV", "id": "90911200"}}]}}
    return json.dumps({"uri": "x", "publishedDate": "2024-01-02T00:00:00Z",
                       "releases": [release(o, b) for o, b in releases]}).encode()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "PUBLISHED_BATCH", 2)


@pytest.mark.usefixtures("small_batches")
def test_a_rejected_notice_loses_nothing_else(session: Session,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    files = [notice(i) for i in range(5)]
    files[2] = notice(2, cpv="99999999")  # an unknown CPV code: this notice is refused
    commits = []
    real_commit = session.commit
    monkeypatch.setattr(session, "commit", lambda: commits.append(1) or real_commit())
    report = import_files(session, files, format="eforms")
    assert len(commits) == 2  # four written files in batches of two, not one per file
    monkeypatch.setattr(session, "commit", real_commit)
    assert [f.status for f in report.files] == ["imported", "imported", "rejected",
                                                "imported", "imported"]
    assert [f.written for f in report.files] == [True, True, False, True, True]
    assert refs(session) == ["proc-000", "proc-001", "proc-003", "proc-004"]
    again = import_files(session, files, format="eforms")  # idempotent
    assert sum(f.counts["tenders"].unchanged for f in again.files) == 4
    assert int(session.exec(select(func.count()).select_from(TenderRow)).one()) == 4


@pytest.mark.usefixtures("small_batches")
def test_a_file_of_several_notices_is_still_all_or_nothing(session: Session) -> None:
    mixed = ocds(("ocds-a-1", "Gemeente Zwolle"), ("ocds-a-2", "Gemeente Deventer"))
    ours = ocds(("ocds-b-1", "Gemeente Zwolle"))
    # An officer of Zwolle: the second release of mixed.json is another buyer's, refused
    # after the first was staged; its savepoint takes the first back out, and ours.json,
    # staged before it in the same batch, stays.
    eforms = import_files(session, [notice(0)], format="eforms")
    report = import_files(session, [("ours.json", ours), ("mixed.json", mixed)],
                          format="ocds", only_buyer="Gemeente Zwolle")
    assert eforms.files[0].written
    ours_report, mixed_report = report.files
    assert mixed_report.status == "rejected" and not mixed_report.written
    assert sorted(i.action for i in mixed_report.items) == ["not written", "rejected"]
    assert ours_report.status == "imported" and ours_report.written
    assert refs(session) == ["ocds-b-1", "proc-000"]


def test_a_failed_batch_commit_is_reported_not_written(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import_files(session, [notice(0)], format="eforms")
    real_commit = session.commit
    calls = {"n": 0}

    def failing_commit() -> None:
        calls["n"] += 1
        raise OSError("disk full")

    monkeypatch.setattr(session, "commit", failing_commit)
    files = [notice(1), notice(2)]
    reports = [importing.FileReport(name, format="eforms") for name, _ in files]
    batch = importing._Batch(session)
    for (name, data), rep in zip(files, reports, strict=True):
        parsed = importing.registry.get("eforms").parse(data, name)
        assert not isinstance(parsed, importing.ParsedFile)
        importing._import_published(session, parsed, rep, False, None, False, batch)
    with pytest.raises(OSError, match="disk full"):
        batch.commit()
    monkeypatch.setattr(session, "commit", real_commit)
    assert calls["n"] == 1
    for rep in reports:
        assert not rep.written and rep.status == "rejected"
        assert "could not be committed" in render_text(rep.file_errors[-1].reason, "en")
        assert [i.action for i in rep.items] == ["not written"]
    assert refs(session) == ["proc-000"]
