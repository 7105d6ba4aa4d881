"""Spend analysis in the store (api/services/ledgers.py) on SQLite and PostgreSQL: import
all or nothing, idempotent, mapping remembered per firm, corrections applied to the
supplier's lines, registry suppliers recognised with their credit, addressable groups
with ranked enterprises, switches into the plan, deletion of every line."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, func, select

from api.errors import Invalid
from api.services import ledgers as L
from api.tables import AllocationRow, LedgerLineRow, LedgerRow, SpendCorrection
from fixtures import ledgers as G
from matcher.spend import addressable
from tests.web.seed import FIRM_A, FIRM_B, seed

ON = date(2026, 6, 1)
REGISTRY = [G.Supplier("Groenwerk Utrecht 1 B.V.", "00000001", "Utrecht", "green")]


@pytest.fixture
def seeded(session: Session) -> Session:
    seed(session)
    return session


def _nl(registry: list[G.Supplier] | None = None) -> tuple[bytes, list[G.Line]]:
    gen = G.generate(G.SEED, lang="nl", registry=registry)
    return G.write_nl_csv(gen), gen


def _count(session: Session, ledger_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(LedgerLineRow)
    if ledger_id is not None:
        stmt = stmt.where(LedgerLineRow.ledger_id == ledger_id)
    return int(session.exec(stmt).one())


def test_import_classifies_every_line_and_is_idempotent(seeded: Session) -> None:
    data, gen = _nl()
    stages: list[str] = []
    res = L.import_ledger(seeded, FIRM_A, data, "ledger_nl.csv", "firm@test.nl",
                          progress=lambda stage, done, total: stages.append(stage))
    assert res.lines == len(gen) == _count(seeded, res.ledger.id)
    assert {"parse", "classify", "store"} <= set(stages)
    assert {n["code"] for n in res.notes} >= {"totals_row", "credit_note", "empty_description"}
    lines = L.lines_of(seeded, res.ledger)
    right = sum(abs(ln.amount_eur or 0) for ln, g in zip(lines, gen, strict=True)
                if ln.cpv[:2] == g.cpv[:2])
    assert right / sum(abs(g.amount_eur) for g in gen) >= 0.9
    again = L.import_ledger(seeded, FIRM_A, data, "again.csv", "firm@test.nl")
    assert again.already_imported and again.ledger.id == res.ledger.id
    assert _count(seeded) == len(gen)


def test_a_bad_line_refuses_the_whole_file_with_every_problem(seeded: Session) -> None:
    data, _ = _nl()
    text = data.decode("cp1252").splitlines()
    text[5] = text[5].replace("-2025", "-20x5", 1)
    cells = text[9].split(";")
    cells[7] = "twaalf"  # Bedrag excl. btw
    text[9] = ";".join(cells)
    with pytest.raises(L.LedgerRefused) as err:
        L.import_ledger(seeded, FIRM_A, "\r\n".join(text).encode("cp1252"), "bad.csv", "x")
    codes = [(p.row, p.code) for p in err.value.problems if p.severity == "error"]
    assert (6, "bad_date") in codes and (10, "bad_amount") in codes
    assert _count(seeded) == 0 and not seeded.exec(select(LedgerRow)).all()


def test_mapping_fixed_once_is_remembered_for_the_firm(seeded: Session) -> None:
    csv1 = "Wanneer;Crediteur;Tekst;Bedrag excl. btw\n03-01-2025;Koerier B;koerier rit;30,00\n"
    with pytest.raises(L.LedgerRefused):
        L.import_ledger(seeded, FIRM_A, csv1.encode(), "a.csv", "x")
    L.import_ledger(seeded, FIRM_A, csv1.encode(), "a.csv", "x",
                    mapping={"date": "Wanneer", "description": "Tekst"})
    assert L.remembered_mapping(seeded, FIRM_A)["date"] == "Wanneer"
    csv2 = csv1.replace("30,00", "45,00")
    res = L.import_ledger(seeded, FIRM_A, csv2.encode(), "b.csv", "x")
    line = L.lines_of(seeded, res.ledger)[0]
    assert line.description == "koerier rit" and line.cpv == "64120000"
    with pytest.raises(L.LedgerRefused):  # another firm has no remembered mapping
        L.import_ledger(seeded, FIRM_B, csv2.encode(), "b.csv", "x")
    with pytest.raises(Invalid, match="Onbekend veld"):
        L.import_ledger(seeded, FIRM_A, csv2.encode(), "b.csv", "x", mapping={"wat": "Tekst"})


def test_correction_applies_to_the_suppliers_other_lines_and_teaches(seeded: Session) -> None:
    data, gen = _nl()
    res = L.import_ledger(seeded, FIRM_A, data, "l.csv", "x")
    lines = L.lines_of(seeded, res.ledger)
    target = next(ln for ln in lines if ln.supplier.startswith("JvdB Services"))
    same = [ln for ln in lines if ln.supplier_key == target.supplier_key]
    n = L.correct(seeded, res.ledger, target.id or 0, "90911300", "firm@test.nl", "firm")
    assert n == len(same) > 1
    for ln in L.lines_of(seeded, res.ledger):
        if ln.supplier_key == target.supplier_key:
            assert (ln.cpv, ln.source, ln.needs_review) == ("90911300", "correction", False)
    assert seeded.exec(select(SpendCorrection)).one().cpv == "90911300"
    # The next upload of the firm learns it; another firm's does not.
    again = G.write_nl_csv(gen[:200])
    mine = L.import_ledger(seeded, FIRM_A, again, "next.csv", "x")
    theirs = L.import_ledger(seeded, FIRM_B, again, "next.csv", "x")
    key = target.supplier_key
    assert {ln.cpv for ln in L.lines_of(seeded, mine.ledger) if ln.supplier_key == key} == {
        "90911300"}
    assert "90911300" not in {ln.cpv for ln in L.lines_of(seeded, theirs.ledger)
                              if ln.supplier_key == key}
    with pytest.raises(Invalid, match="CPV"):
        L.correct(seeded, res.ledger, target.id or 0, "12345678", "x", "firm")


def test_analysis_registry_supplier_groups_and_non_addressable(seeded: Session) -> None:
    data, gen = _nl(REGISTRY)
    res = L.import_ledger(seeded, FIRM_A, data, "l.csv", "x", obligation_ref="O-1")
    a = L.analyse(seeded, res.ledger, on=ON)
    assert a.obligation == "O-1" and a.policy
    assert a.total_eur == pytest.approx(sum(g.amount_eur for g in gen if g.currency == "EUR"
                                            or True), abs=0.05)
    # The registry enterprise is recognised by its name in the same place.
    reg = {r.enterprise: r for r in a.registry}
    assert "E-001" in reg
    spend = sum(g.amount_eur for g in gen if g.supplier.name.startswith("Groenwerk Utrecht 1"))
    assert reg["E-001"].spend_eur == pytest.approx(spend, abs=0.01)
    assert reg["E-001"].credit_eur is not None and reg["E-001"].credit_eur > 0
    cats = {c.cpv: c for c in a.categories}
    assert not cats["70220000"].addressable and cats["70220000"].reason == "rent"
    assert not cats["09310000"].addressable and cats["09310000"].reason == "energy"
    assert cats["90919200"].addressable
    assert 0 < a.addressable_share < 1
    cleaning = [g for g in a.groups if g.cpv == "90919200"]
    assert cleaning and cleaning[0].options, "cleaning is offered by seeded Schoonwerk enterprises"
    for opt in cleaning[0].options:
        assert opt.free_purchase_eur > 0 and opt.credit_eur is not None and opt.credit_eur > 0
    assert all(addressable(g.cpv) for g in a.groups)
    assert len(a.review) == min(a.review_lines, 50)


def test_switches_become_plan_rows(seeded: Session) -> None:
    data, _ = _nl()
    res = L.import_ledger(seeded, FIRM_A, data, "l.csv", "x", obligation_ref="O-1")
    a = L.analyse(seeded, res.ledger, on=ON)
    group = next(g for g in a.groups if g.options)
    before = seeded.exec(select(AllocationRow).where(AllocationRow.obligation_ref == "O-1")).all()
    out = L.plan_switches(seeded, res.ledger,
                          [L.Switch(group.options[0].enterprise, group.spend_eur)], on=ON)
    assert out.credit_eur > 0
    rows = seeded.exec(select(AllocationRow).where(AllocationRow.obligation_ref == "O-1")).all()
    assert len(rows) == len(before) + 1
    assert 0 < out.coverage and out.planned_credit_eur == pytest.approx(
        sum(r.credit_eur for r in rows), abs=0.01)
    with pytest.raises(Exception, match="Onbekende onderneming"):
        L.plan_switches(seeded, res.ledger, [L.Switch("E-999", 100.0)], on=ON)


def test_delete_removes_every_line(seeded: Session) -> None:
    data, gen = _nl()
    res = L.import_ledger(seeded, FIRM_A, data, "l.csv", "x")
    other = L.import_ledger(seeded, FIRM_B, data, "l.csv", "x")
    assert L.delete_ledger(seeded, res.ledger) == len(gen)
    assert _count(seeded) == len(gen) == _count(seeded, other.ledger.id)
    assert [x.id for x in L.ledgers_of(seeded, [FIRM_A])] == []


def test_export_rows_have_every_line(seeded: Session) -> None:
    data, gen = _nl()
    res = L.import_ledger(seeded, FIRM_A, data, "l.csv", "x")
    rows = L.export_rows(seeded, res.ledger)
    assert len(rows) == len(gen) and len(rows[0]) == len(L.EXPORT_COLUMNS)
