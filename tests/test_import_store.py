"""Storing interchange files: per-file transactions, idempotency, references, duplicates,
round trips. Every test runs on SQLite and PostgreSQL (``session`` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session

from api.messages import render_text
from api.services.exporting import dumps, export_csv, export_document
from api.services.importing import import_files
from api.tables import (
    ChallengeRow,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
    VettingEvent,
)

DATA = Path(__file__).parent / "data"


def sample() -> list[tuple[str, bytes]]:
    return [(f"tests/data/{n}", (DATA / n).read_bytes())
            for n in ("sample.json", "enterprises.csv", "tenders.csv")]


def js(**kinds: Any) -> bytes:
    return json.dumps(kinds).encode()


def ent(ref: str, name: str, **over: Any) -> dict[str, Any]:
    d = {"ref": ref, "name": name, "description": "Schoonmaak en groen", "cpv": ["90911200"],
         "municipality": "Utrecht"}
    d.update(over)
    return d


def snapshot(session: Session) -> str:
    session.expire_all()
    return dumps(export_document(session))


def count(session: Session, cls: Any) -> int:
    return int(session.exec(select(func.count()).select_from(cls)).one()[0])


def wipe(session: Session) -> None:
    # The vetting log is append-only (the database refuses DELETE); the export reads the
    # enterprises' own vetting columns, so the round trip does not need it emptied.
    for cls in (EnterpriseRow, TenderRow, ChallengeRow, ObligationRow):
        session.exec(delete(cls))
    session.commit()


def test_import_counts_and_idempotency(session: Session) -> None:
    report = import_files(session, sample())
    assert report.ok, report.to_dict()
    first = report.files[0].counts
    assert (first["enterprises"].created, first["tenders"].created,
            first["challenges"].created, first["obligations"].created) == (3, 2, 1, 2)
    assert report.files[1].counts["enterprises"].created == 2
    before = snapshot(session)
    events = count(session, VettingEvent)
    assert events == 2  # E-001 and E-101 arrive vetted

    again = import_files(session, sample())
    assert again.ok
    for f in again.files:
        assert all(c.created == c.updated == 0 for c in f.counts.values())
    assert sum(c.unchanged for c in again.files[0].counts.values()) == 8
    assert snapshot(session) == before
    assert count(session, VettingEvent) == events


def test_round_trip_json(session: Session) -> None:
    assert import_files(session, sample()).ok
    first = snapshot(session)
    wipe(session)
    assert import_files(session, [("export.json", first.encode())]).ok
    assert snapshot(session) == first
    row = session.exec(select(TenderRow).where(TenderRow.ref == "T-001")).scalar_one()
    assert row.reserved is True and row.sroi_percentage == 5.0


def test_round_trip_csv(session: Session) -> None:
    assert import_files(session, sample()).ok
    first = snapshot(session)
    csvs = [(f"{k}.csv", export_csv(session, k).encode())
            for k in ("obligations", "challenges", "tenders", "enterprises")]
    wipe(session)
    report = import_files(session, csvs)  # obligations first: ordered after tenders
    assert report.ok, [str(i) for f in report.files for i in f.issues]
    assert snapshot(session) == first


def test_failing_file_leaves_database_as_before_and_others_still_import(
        session: Session) -> None:
    assert import_files(session, sample()[:1]).ok
    before = snapshot(session)
    good = ("good.json",
            js(enterprises=[ent("E-900", "Fietsherstel Noord", municipality="Zwolle")]))
    bad = ("bad.json", js(enterprises=[ent("E-001", "Renamed"),  # would update E-001 …
                                       ent("E-901", "X", cpv=["123"])]))  # … but this is bad
    report = import_files(session, [bad, good])
    assert [f.status for f in report.files] == ["rejected", "imported"]
    assert "bad.json enterprises[1].cpv[0]" in report.files[0].issues[0].render("en")
    after = json.loads(snapshot(session))
    assert [e["ref"] for e in after["enterprises"]] == ["E-001", "E-002", "E-003", "E-900"]
    after["enterprises"] = [e for e in after["enterprises"] if e["ref"] != "E-900"]
    assert dumps(after) == before


def test_update_in_place_keeps_vetting_when_absent(session: Session) -> None:
    assert import_files(session, sample()[:1]).ok
    upd = ent("E-001", "Stichting De Groene Fietsenmaker", description="Nieuw",
              cpv=["50000000"])
    report = import_files(session, [("u.json", js(enterprises=[upd]))])
    assert report.files[0].counts["enterprises"].updated == 1
    row = session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-001")).scalar_one()
    assert row.description == "Nieuw" and row.vetting_status == "vetted"
    assert row.postcode is None  # the file is the truth for what it gives
    # An import never changes an existing enterprise's vetting (the vetting flow does):
    # the file's vetting is shown as kept, nothing is logged.
    upd["vetting"] = {"status": "rejected", "by": "curator", "on": "2025-01-01"}
    report = import_files(session, [("u.json", js(enterprises=[upd]))])
    change = report.files[0].changes[0]
    assert change.kept["vetting_status"] == ["vetted", "rejected"]
    session.expire_all()
    row = session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-001")).scalar_one()
    assert row.vetting_status == "vetted"
    events = session.exec(select(VettingEvent).where(VettingEvent.enterprise_ref == "E-001")
                          .order_by(VettingEvent.id)).scalars().all()
    assert [e.status for e in events] == ["vetted"]


def test_dangling_tender_ref_and_tender_from_database(session: Session) -> None:
    ob = {"ref": "O-9", "firm": "Bouw BV", "tender": "T-404"}
    report = import_files(session, [("o.json", js(obligations=[ob]))])
    assert report.files[0].status == "rejected"
    msg = report.files[0].issues[0].render("en")
    assert "o.json obligations[0].tender" in msg and "'T-404' does not exist" in msg
    assert count(session, ObligationRow) == 0
    # The tender in the database (no clause): the amount cannot come from it.
    t = {"ref": "T-404", "buyer": "Gemeente", "title": "t", "cpv": ["90911200"]}
    assert import_files(session, [("t.json", js(tenders=[t]))]).ok
    report = import_files(session, [("o.json", js(obligations=[ob]))])
    assert "has no social-return clause" in report.files[0].issues[0].render("en")
    t["sroi"] = {"amount_eur": 20000}
    assert import_files(session, [("t.json", js(tenders=[t])), ("o.json", js(obligations=[ob]))]).ok
    assert count(session, ObligationRow) == 1


def test_obligations_file_before_its_tenders_file(session: Session) -> None:
    obl = b"ref,firm,tender\nO-1,Bouw BV,T-1\n"
    ten = (b"ref,buyer,title,cpv,contract_value_eur,sroi_percentage\n"
           b"T-1,Gemeente,t,90911200,100000,5\n")
    report = import_files(session, [("obligations.csv", obl), ("tenders.csv", ten)])
    assert report.ok, [str(i) for f in report.files for i in f.issues]
    assert [f.file for f in report.files] == ["obligations.csv", "tenders.csv"]


# ------------------------------------------------------------------ duplicates


def _base(session: Session) -> None:
    base = [ent("E-1", "Stichting De Groene Fietsenmaker", kvk="30123456"),
            ent("E-2", "Kringloop Oost", municipality="Groningen")]
    assert import_files(session, [("base.json", js(enterprises=base))]).ok


def test_same_kvk_other_ref_asks_then_merges(session: Session) -> None:
    _base(session)
    before = snapshot(session)
    newcomer = ent("X-7", "Fietsenmakerij Utrecht", kvk="30123456", municipality="Zeist",
                   themes=["vervoer"])
    files = [("new.json", js(enterprises=[newcomer]))]
    report = import_files(session, files)
    f = report.files[0]
    assert f.status == "duplicates" and not report.ok and report.has_duplicates
    assert f.duplicates[0].existing_ref == "E-1" and f.duplicates[0].reason == "kvk"
    assert "same KvK" in f.duplicates[0].describe().render("en")
    assert snapshot(session) == before

    merged = import_files(session, files, on_duplicate="merge")
    assert merged.ok and merged.files[0].counts["enterprises"].merged == 1
    assert count(session, EnterpriseRow) == 2
    row = session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-1")).scalar_one()
    assert row.extra["merged_refs"] == ["X-7"]
    # A merge keeps the stored name and shows the file's as not applied.
    assert row.name != "Fietsenmakerij Utrecht" and row.themes == ["vervoer"]
    change = merged.files[0].changes[0]
    assert change.action == "merged" and change.into == "E-1"
    assert change.kept["name"] == [row.name, "Fietsenmakerij Utrecht"]
    assert change.diff["themes"][1] == ["vervoer"]
    assert row.municipality_code == "GM0355"  # Zeist: given fields overwrite
    assert row.description == "Schoonmaak en groen"

    # The merged ref now updates E-1: asking again is not needed, nothing changes.
    again = import_files(session, files)
    assert again.ok and again.files[0].counts["enterprises"].unchanged == 1
    # And the merge survives a round trip.
    doc = snapshot(session)
    wipe(session)
    assert import_files(session, [("d.json", doc.encode())], "keep-both").ok
    assert snapshot(session) == doc


def test_fuzzy_name_in_same_area_is_a_duplicate(session: Session) -> None:
    _base(session)
    near = ent("N-1", "De Groene Fietsenmaker B.V.", municipality="GM0344")
    far = ent("N-2", "Groene Fietsenmaker", municipality="Maastricht")
    other = ent("N-3", "Groen", municipality="Utrecht")  # a subset name, not a duplicate
    report = import_files(session, [("n.json", js(enterprises=[near, far, other]))])
    pairs = [(d.incoming_ref, d.existing_ref, d.reason) for d in report.files[0].duplicates]
    assert pairs == [("N-1", "E-1", "name")]

    kept = import_files(session, [("n.json", js(enterprises=[near, far, other]))], "keep-both")
    assert kept.ok and kept.files[0].counts["enterprises"].created == 3
    assert kept.files[0].duplicates[0].action == "kept both"
    assert count(session, EnterpriseRow) == 5
    # Re-importing a kept pair does not ask again.
    assert import_files(session, [("n.json", js(enterprises=[near]))]).ok


def test_duplicates_within_one_file(session: Session) -> None:
    a = ent("A", "Werkbedrijf Lekstroom", kvk="11112222", municipality="Nieuwegein")
    b = ent("B", "Stichting Werkbedrijf Lekstroom", municipality="Nieuwegein")
    report = import_files(session, [("f.json", js(enterprises=[a, b]))])
    assert report.files[0].status == "duplicates"
    assert count(session, EnterpriseRow) == 0
    merged = import_files(session, [("f.json", js(enterprises=[a, b]))], "merge")
    assert merged.ok
    rows = session.exec(select(EnterpriseRow)).scalars().all()
    assert [(r.ref, r.name, r.kvk, r.extra.get("merged_refs")) for r in rows] == [
        ("A", "Stichting Werkbedrijf Lekstroom", "11112222", ["B"])]


def test_preview_writes_nothing_and_confirm_writes_exactly_the_preview(
        session: Session) -> None:
    assert import_files(session, sample()).ok
    before = snapshot(session)
    events = count(session, VettingEvent)
    doc = json.loads(sample()[0][1])
    doc["enterprises"][1]["description"] = "Andere omschrijving"
    doc["enterprises"].append({"ref": "E-050", "name": "Nieuw Werk", "cpv": ["45000000"],
                               "description": "Bouw", "municipality": "Zwolle"})
    files = [("d.json", json.dumps(doc).encode())]
    preview = import_files(session, files, dry_run=True)
    assert snapshot(session) == before and count(session, VettingEvent) == events
    f = preview.files[0]
    assert f.dry_run and not f.written and f.fingerprint
    by_ref = {c.ref: c for c in f.changes}
    assert by_ref["E-050"].action == "new" and by_ref["E-001"].action == "unchanged"
    assert by_ref["E-002"].diff == {"description": [
        "Schoonmaak van kantoren door mensen met een afstand tot de arbeidsmarkt.",
        "Andere omschrijving"]}
    written = import_files(session, files, expect=preview.fingerprints)
    w = written.files[0]
    assert w.written and w.fingerprint == f.fingerprint
    assert [c.to_dict() for c in w.changes] == [c.to_dict() for c in f.changes]
    assert snapshot(session) != before
    # Stale: the same preview again no longer matches (the changes are stored now).
    again = import_files(session, files, expect=preview.fingerprints)
    assert again.files[0].status == "rejected" and not again.files[0].written


def test_another_buyers_tender_and_firms_obligation_are_refused(session: Session) -> None:
    assert import_files(session, sample()).ok
    before = snapshot(session)
    doc = json.loads(sample()[0][1])
    doc["tenders"][0]["buyer"] = "Gemeente Zeist"
    doc["tenders"][0]["contract_value_eur"] = 1
    doc["obligations"][1]["firm"] = "Ander Bedrijf"
    report = import_files(session, [("o.json", json.dumps(doc).encode())])
    f = report.files[0]
    assert f.status == "rejected" and not f.written
    assert [(c.kind, c.ref) for c in f.refused] == [("tenders", "T-001"),
                                                      ("obligations", "O-002")]
    assert "belongs to Gemeente Utrecht" in render_text(f.issues[0].reason, "en")
    assert snapshot(session) == before


def test_a_merge_never_changes_vetting(session: Session) -> None:
    vetted = {"status": "vetted", "by": "connector@utrecht.nl", "on": "2025-01-01",
              "valid_until": "2027-01-01"}
    base = [ent("E-1", "Stichting De Groene Fietsenmaker", kvk="30123456", vetting=vetted)]
    assert import_files(session, [("base.json", js(enterprises=base))]).ok
    events = count(session, VettingEvent)
    for status in ("pending", "rejected"):
        newcomer = ent(f"X-{status}", "Groene Fietsenmaker", kvk="30123456",
                       vetting={"status": status, "by": "import", "on": "2025-06-01"})
        report = import_files(session, [("m.json", js(enterprises=[newcomer]))], "merge")
        change = report.files[0].changes[0]
        assert change.action == "merged" and change.kept["vetting_status"] == ["vetted", status]
        session.expire_all()
        row = session.exec(select(EnterpriseRow).where(EnterpriseRow.ref == "E-1")).scalar_one()
        assert row.vetting_status == "vetted" and row.name == "Stichting De Groene Fietsenmaker"
    assert count(session, VettingEvent) == events


def test_duplicate_scan_counts_every_pair_and_keeps_a_bounded_prefix() -> None:
    from api.services.duplicates import Candidate, find_duplicates, scan_duplicates

    words = ["Groene", "Schoonmaak", "Fietsen", "Samen"]
    cands = [Candidate(f"R-{i}", f"{words[i % 4]} {words[(i // 4) % 4]} Utrecht {i % 3}",
                       None, "GM0344", None, None) for i in range(60)]
    every = find_duplicates(cands, [])
    scan = scan_duplicates(cands, [], keep=25)
    assert scan.total == len(every) > 25
    assert [(m.new.ref, m.other.ref) for m in scan.kept] == \
        [(m.new.ref, m.other.ref) for m in every[:25]]
    # Each newcomer's best match is its first, whether kept or not.
    firsts: dict[str, str] = {}
    for m in every:
        firsts.setdefault(m.new.ref, m.other.ref)
    assert {k: m.other.ref for k, m in scan.best.items()} == firsts
