"""The committed fixtures: reproducible from the seeded generator, valid interchange data
that imports cleanly (SQLite and PostgreSQL), realistic in spread, and labels that follow
the documented rule (only feasible enterprises are relevant)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from api.importers.interchange import parse_file
from api.services.duplicates import Candidate, scan_registry
from api.services.evaluation import load_store, validate_labels
from api.services.importing import import_files
from fixtures import content, generate
from matcher.evaluate import constraint_violations

FIXTURES = Path(generate.__file__).resolve().parent
STORE = FIXTURES / generate.STORE_NAME
LABELS = FIXTURES / generate.LABELS_NAME
ON = generate.LABEL_DATE


@pytest.fixture(scope="module")
def store() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(STORE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def labels() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LABELS.read_text(encoding="utf-8"))
    return data


def test_generator_reproduces_the_committed_files(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / generate.STORE_NAME}" in out and "labelled queries" in out
    for name in (generate.STORE_NAME, generate.LABELS_NAME):
        fresh, committed = (tmp_path / name).read_bytes(), (FIXTURES / name).read_bytes()
        assert fresh == committed, (f"fixtures/{name} differs from the generator's output: "
                                    "run `make fixtures` and commit the result")


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate.write(tmp_path, seed=generate.SEED + 1)
    assert (tmp_path / generate.STORE_NAME).read_bytes() != STORE.read_bytes()


def test_fixtures_are_valid_interchange_data(store: dict[str, Any]) -> None:
    parsed = parse_file(STORE.name, STORE.read_bytes())
    assert parsed.issues == []
    counts = {k: len(v) for k, v in parsed.records.items()}
    assert counts["enterprises"] >= 150
    assert counts["tenders"] >= 40
    assert counts["challenges"] >= 5
    assert counts["obligations"] >= 12
    # The hidden ground truth never leaks into the fixtures.
    for kind in ("enterprises", "tenders", "challenges", "obligations"):
        for item in store[kind]:
            assert not {"sector", "secondary", "relevance", "sif"} & set(item)


def test_enterprises_are_spread_and_varied(store: dict[str, Any]) -> None:
    ents = store["enterprises"]
    assert len({e["municipality"] for e in ents}) >= 20
    kvks = [e["kvk"] for e in ents if "kvk" in e]
    assert all(re.fullmatch(r"\d{8}", k) for k in kvks) and len(set(kvks)) == len(kvks)
    assert all(re.fullmatch(r"[1-9]\d{3} [A-Z]{2}", e["postcode"]) for e in ents)
    cpv_divisions = {c[:2] for e in ents for c in e["cpv"]}
    assert len(cpv_divisions) >= 12
    # Sizes are long-tailed like Dutch social enterprises: mostly small (spare purchasing
    # of tens of thousands a year, a placement or two), a few sheltered-work companies.
    placements = sorted(e["capacity"]["placements_per_year"] for e in ents)
    purchasing = sorted(e["capacity"]["purchasing_eur_per_year"] for e in ents)
    assert placements[0] == 0 and placements[len(ents) // 2] <= 2 and placements[-1] >= 20
    assert purchasing[len(ents) // 2] <= 50_000 and purchasing[-1] >= 300_000
    assert sum(p < 100_000 for p in purchasing) > 0.75 * len(ents)
    schemes = Counter(c["scheme"] for e in ents for c in e.get("certifications", []))
    assert set(schemes) == {"PSO", "PSO30+", "CodeSO", "SENL", "BCorp"}
    assert {c["level"] for e in ents for c in e.get("certifications", [])
            if c["scheme"] == "PSO"} == {"aspirant", "1", "2", "3"}
    english = [e for e in ents if " the " in e["description"] or " and " in e["description"]]
    assert 0.05 * len(ents) < len(english) < 0.3 * len(ents), "some descriptions in English"


def test_vetting_and_certification_dates_around_the_reference_date(
        store: dict[str, Any]) -> None:
    ents = store["enterprises"]
    state: Counter[str] = Counter()
    for e in ents:
        v = e.get("vetting") or {"status": "pending"}
        if v["status"] != "vetted":
            state[v["status"]] += 1
        elif date.fromisoformat(v["valid_until"]) < date(2026, 1, 1):
            state["expired before 2026"] += 1
        elif date.fromisoformat(v["valid_until"]) <= ON + timedelta(days=31):
            state["expiring"] += 1
        elif date.fromisoformat(v["valid_until"]) >= date(2027, 6, 1):
            state["valid until mid-2027 or later"] += 1
        else:
            state["valid"] += 1
    assert state["valid until mid-2027 or later"] > 0.7 * len(ents), state
    for s in ("pending", "rejected", "expired before 2026", "expiring"):
        assert 0 < state[s] < 0.15 * len(ents), (s, state)
    assert any("vetting" not in e for e in ents), "absent vetting means pending"
    certs = [c for e in ents for c in e.get("certifications", []) if c["valid_until"]]
    expiring = [c for c in certs
                if ON < date.fromisoformat(c["valid_until"]) <= ON + timedelta(days=31)]
    expired = [c for c in certs if date.fromisoformat(c["valid_until"]) < ON]
    assert len(expiring) >= 5 and len(expired) >= 5


def test_tenders_challenges_and_obligations(store: dict[str, Any]) -> None:
    tenders = store["tenders"]
    assert len({t["cpv"][0][:2] for t in tenders}) >= 12
    clauses = [t["sroi"] for t in tenders if "sroi" in t]
    pct = Counter(s.get("percentage") for s in clauses)
    assert pct.most_common(1)[0][0] == 5 and len(pct) >= 4
    assert {2, 10} <= set(pct)
    assert any("amount_eur" in s for s in clauses)
    for key in ("threshold_eur", "cap_eur", "region_km", "target_groups", "labour_cost_eur"):
        assert any(key in s for s in clauses), key
    assert {s.get("policy") for s in clauses} >= {"utrecht-2024", "oost-nederland-2023"}
    assert any(t.get("extra", {}).get("reserved") for t in tenders)
    titles = " ".join(c["title"].lower() for c in store["challenges"])
    for word in ("verduurzamen", "maatwerkvervoer", "armoede", "vluchtelingen", "eenzaamheid"):
        assert word in titles
    obligations = store["obligations"]
    assert all(o["buys"] for o in obligations)
    assert sum("tender" in o for o in obligations) >= 10


def test_no_real_enterprise_names(store: dict[str, Any]) -> None:
    names = [e["name"].lower() for e in store["enterprises"]] + \
        [o["firm"].lower() for o in store["obligations"]]
    for bad in content.REAL_NAME_BLACKLIST:
        assert not [n for n in names if bad in n], bad


def test_no_likely_duplicates_among_the_enterprises(store: dict[str, Any]) -> None:
    cands = [Candidate(e["ref"], e["name"], e.get("kvk"), e["municipality"], e["lat"],
                       e["lon"]) for e in store["enterprises"]]
    assert scan_registry(cands) == []


def test_labels_follow_the_format_and_cover_both_kinds(labels: dict[str, Any]) -> None:
    queries = labels["queries"]
    assert len(queries) >= 30
    kinds = Counter("tender" if "tender" in q else "challenge" for q in queries)
    assert kinds["tender"] >= 20 and kinds["challenge"] >= 5
    for q in queries:
        grades = list(q["relevant"].values())
        if not grades:  # a hard case where nothing fits: the right answer is no result
            assert q.get("case") in ("no_fit", "broad_code"), q
            continue
        assert set(grades) <= {1, 2, 3}
        assert 3 in grades, f"{q}: every labelled query with a fit has an ideal answer"
    # The hard cases of issue #14 (fixtures/content_cases.py), each present.
    cases = Counter(q.get("case", "regular") for q in queries)
    assert {"broad_code", "no_fit", "place_trap", "text_only", "synonym"} <= set(cases)
    assert sum(1 for q in queries if not q["relevant"]) >= 4
    assert labels["extra"]["seed"] == generate.SEED


def test_import_is_clean_and_only_feasible_enterprises_are_relevant(
        session: Session, labels: dict[str, Any]) -> None:
    # Default "ask": any likely duplicate would reject the file.
    report = import_files(session, [(STORE.name, STORE.read_bytes())])
    assert report.ok, json.dumps(report.to_dict())[:2000]
    [file_report] = report.files
    assert file_report.issues == [] and file_report.duplicates == []
    assert file_report.counts["enterprises"].created >= 150
    stored = load_store(session)
    for q in validate_labels(labels, stored):
        query = stored.queries[(q.kind, q.ref)]
        for ref, grade in q.relevant.items():
            broken = constraint_violations(stored.enterprises[ref], query, ON)
            assert broken == [], f"{q.kind} {q.ref}: {ref} (grade {grade}) breaks {broken}"


def test_csv_examples_in_the_readme_parse() -> None:
    text = (FIXTURES / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```csv\n(.*?)```", text, flags=re.S)
    kinds: set[str] = set()
    for block in blocks:
        parsed = parse_file("example.csv", block.encode("utf-8"))
        assert parsed.issues == [], [str(i) for i in parsed.issues]
        kinds.update(k for k, recs in parsed.records.items() if recs)
    assert kinds == {"enterprises", "tenders", "obligations"}
    ents = {r.ref: r.values for r in parse_file(
        "example.csv", blocks[0].encode("utf-8")).records["enterprises"]}
    assert ents["E-900"]["certifications"][0] == {"scheme": "PSO", "level": "2",
                                                  "valid_until": "2027-05-01"}
    assert ents["E-900"]["kvk"] == "01234567"
    [tender] = parse_file("example.csv", blocks[1].encode("utf-8")).records["tenders"]
    assert tender.values["contract_value_eur"] == 1250000.5
    assert tender.values["reserved"] is True
    assert tender.values["sroi_target_groups"] == ["participatiewet", "ww"]


def test_demo_activity_on_the_fixtures(session: Session) -> None:
    from sqlmodel import select

    from api.tables import AllocationRow, CurationDecision, DeliveryRow
    from fixtures.activity import add_demo_activity

    assert add_demo_activity(session, until=date(2026, 6, 1)) == 0  # empty store: nothing
    assert import_files(session, [(STORE.name, STORE.read_bytes())]).ok
    assert add_demo_activity(session, until=date(2026, 6, 1)) == 5
    allocations = session.exec(select(AllocationRow)).all()
    assert {a.obligation_ref for a in allocations} == {"O-001", "O-003", "O-008"}
    assert all(a.status == "committed" for a in allocations)
    months = {d.on.strftime("%Y-%m") for d in session.exec(select(DeliveryRow)).all()}
    assert months == {"2026-01", "2026-02", "2026-03", "2026-04", "2026-05"}
    decisions = session.exec(select(CurationDecision)).all()
    assert {d.query_kind for d in decisions} == {"tender", "obligation"}
    assert all(d.decided_at.date() < date(2026, 6, 1) for d in decisions)
