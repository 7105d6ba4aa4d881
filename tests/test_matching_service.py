"""api.services.matching on SQLite and PostgreSQL: index cache, match lists, why-not,
Challenges with coalitions, feasibility."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from api import settings as api_settings
from api.errors import Invalid, NotFound
from api.services import matching
from api.tables import (
    AllocationRow,
    ChallengeRow,
    CurationDecision,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
)
from matcher.capacity import Commitment
from matcher.reasons import Reason

UTRECHT = (52.0907, 5.1214)
GRONINGEN = (53.2194, 6.5665)


def enterprise(ref: str, description: str, cpv: tuple[str, ...] = ("90911200",),
               eur: float = 50_000, status: str = "vetted", where: tuple[float, float] = UTRECHT,
               themes: tuple[str, ...] = (), name: str | None = None) -> EnterpriseRow:
    return EnterpriseRow(
        ref=ref, name=name or f"Onderneming {ref}", description=description, cpv=list(cpv),
        municipality_code="GM0344", lat=where[0], lon=where[1], service_radius_km=40,
        target_groups=["participatiewet"], themes=list(themes), purchasing_eur_per_year=eur,
        vetting_status=status, vetted_on=date(2025, 1, 1), vetting_valid_until=date(2027, 1, 1),
    )


FILLER = [
    ("drukwerk en grafische vormgeving", ("79800000",)),
    ("fietsenreparatie en fietsverhuur", ("50000000",)),
    ("ICT-beheer en het wissen van datadragers", ("72000000",)),
    ("catering en lunches voor bedrijven", ("55520000",)),
]


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TODAY", "2026-03-01")
    api_settings.get_settings.cache_clear()
    matching.invalidate()
    yield
    matching.invalidate()
    api_settings.get_settings.cache_clear()


@pytest.fixture
def store(session: Session) -> Session:
    session.add_all([
        enterprise("E-CLEAN", "Schoonmaak van kantoren en scholen met mensen met een "
                   "afstand tot de arbeidsmarkt", eur=60_000, name="Schoon Werk"),
        enterprise("E-CLEAN2", "Glazenwassen en schoonmaak van gebouwen", eur=10_000),
        enterprise("E-PEND", "Schoonmaak van kantoren en scholen", status="pending"),
        enterprise("E-FAR", "Schoonmaak van kantoren en scholen", where=GRONINGEN),
        enterprise("E-GREEN", "Groenonderhoud van parken en plantsoenen", cpv=("77310000",),
                   themes=("groen",)),
        enterprise("E-MEAL", "Maaltijden koken voor ouderen in een buurtkeuken",
                   cpv=("55520000",), themes=("maaltijden",)),
        *[enterprise(f"E-F{i}", t, cpv=c) for i, (t, c) in enumerate(FILLER)],
        TenderRow(ref="T-1", buyer="Gemeente Utrecht", title="Schoonmaak kantoren",
                  description="Schoonmaak van gemeentelijke kantoren en scholen",
                  cpv=["90911200"], contract_value_eur=1_000_000, sroi_percentage=5,
                  start=date(2026, 1, 1), end=date(2028, 1, 1),
                  municipality_code="GM0344", lat=UTRECHT[0], lon=UTRECHT[1]),
        ObligationRow(ref="O-1", firm="Bouw BV", tender_ref="T-1", buys=["90910000"]),
        ChallengeRow(ref="CH-1", municipality_code="GM0344", title="Groene buurtmaaltijden",
                     question="Een groene wijk waar ouderen samen eten: parken onderhouden "
                              "en maaltijden koken voor de buurt",
                     themes=["groen", "maaltijden"], max_partners=2),
    ])
    session.commit()
    return session


def test_match_tender_ranks_vetted_nearby_enterprises_with_reasons(store: Session) -> None:
    ml = matching.match_tender(store, "T-1", top_k=5)
    refs = [m.ref for m in ml.results]
    assert refs[0] == "E-CLEAN"
    assert "E-PEND" not in refs and "E-FAR" not in refs
    assert ml.n_excluded == 2 and ml.n_candidates == 8
    assert ml.weights == "default v1"
    top = ml.results[0]
    assert top.rank == 1 and top.name == "Schoon Werk" and top.municipality == "GM0344"
    assert top.distance_km == pytest.approx(0.0, abs=0.01)
    assert top.remaining_eur == pytest.approx(60_000)
    assert sum(top.contributions.values()) == pytest.approx(top.score)
    assert Reason("cpv_exact", {"code": "90911200"}) in top.reasons
    d = json.loads(json.dumps(ml.as_dict()))
    assert d["results"][0]["ref"] == "E-CLEAN"
    assert d["results"][0]["reasons"] == [r.as_dict() for r in top.reasons]
    assert set(d["results"][0]) >= {"ref", "name", "score", "contributions", "reasons"}


def test_unknown_refs_and_bad_top_k(store: Session) -> None:
    with pytest.raises(NotFound):
        matching.match_tender(store, "T-404")
    with pytest.raises(NotFound):
        matching.match_obligation(store, "O-404")
    with pytest.raises(NotFound):
        matching.match_challenge(store, "CH-404")
    with pytest.raises(NotFound):
        matching.why_not(store, "tender", "T-1", "E-404")
    with pytest.raises(Invalid):
        matching.why_not(store, "banaan", "T-1", "E-CLEAN")
    with pytest.raises(Invalid):
        matching.match_tender(store, "T-1", top_k=0)


def test_index_is_cached_and_follows_changes(store: Session) -> None:
    first = matching.get_index(store)
    assert matching.get_index(store) is first
    assert first.date_ == date(2026, 3, 1)
    # A commitment: same fit (no refit), new remaining capacity.
    store.add(AllocationRow(obligation_ref="O-1", enterprise_ref="E-CLEAN", amount_eur=15_000,
                            credit_eur=15_000, status="committed"))
    store.commit()
    second = matching.get_index(store)
    assert second is not first and second.word_ is first.word_
    # € 15.000 over O-1's two-year term (T-1, 2026-2027): € 7.500 a year.
    assert second.remaining_eur_[second.row_of_["E-CLEAN"]] == pytest.approx(52_500)
    assert first.remaining_eur_[first.row_of_["E-CLEAN"]] == pytest.approx(60_000)
    # A new enterprise: rebuilt.
    store.add(enterprise("E-NEW", "Schoonmaak"))
    store.commit()
    third = matching.get_index(store)
    assert "E-NEW" in third and third.word_ is not first.word_
    # A vetting change that does not touch updated_at is still seen.
    row = store.get(EnterpriseRow, 3)
    assert row is not None and row.ref == "E-PEND"
    row.vetting_status = "vetted"
    store.add(row)
    store.commit()
    fourth = matching.get_index(store)
    assert fourth is not third and bool(fourth.vetting_ok_[fourth.row_of_["E-PEND"]])
    matching.invalidate()
    assert matching.get_index(store) is not fourth


def test_tender_list_does_not_count_its_own_accepts(store: Session) -> None:
    # T-1 is due 5 % of 1,000,000 = 50,000; accepting E-CLEAN2 (10,000 capacity) alone
    # books it fully for T-1, which must not push it out of T-1's own list.
    store.add(CurationDecision(query_kind="tender", query_ref="T-1", enterprise_ref="E-CLEAN2",
                               decision="accept", decided_by="c@x.nl",
                               decided_at=datetime(2026, 2, 1, tzinfo=UTC)))
    store.add(TenderRow(ref="T-2", buyer="Gemeente Utrecht", title="Schoonmaak scholen",
                        cpv=["90911200"], contract_value_eur=100_000, sroi_percentage=5,
                        municipality_code="GM0344"))
    store.commit()
    assert "E-CLEAN2" in [m.ref for m in matching.match_tender(store, "T-1").results]
    other = matching.match_tender(store, "T-2")
    assert "E-CLEAN2" not in [m.ref for m in other.results]
    wn = matching.why_not(store, "tender", "T-2", "E-CLEAN2")
    assert wn["excluded"] and wn["exclusions"][0]["code"] == "no_capacity_left"


def test_match_obligation(store: Session) -> None:
    ml = matching.match_obligation(store, "O-1", top_k=3)
    assert ml.kind == "obligation" and ml.results[0].ref in ("E-CLEAN", "E-CLEAN2")
    assert "capacity" in ml.results[0].contributions  # the obligation carries euros


def test_why_not_excluded_and_ranked(store: Session) -> None:
    pend = matching.why_not(store, "tender", "T-1", "E-PEND")
    assert pend["excluded"] is True
    assert pend["exclusions"] == [{"code": "not_vetted", "params": {"status": "pending"}}]
    assert pend["name"] == "Onderneming E-PEND" and pend["kind"] == "tender"
    far = matching.why_not(store, "tender", "T-1", "E-FAR")
    assert far["exclusions"][0]["code"] == "outside_service_radius"
    ok = matching.why_not(store, "tender", "T-1", "E-CLEAN")
    assert ok["excluded"] is False and ok["rank"] == 1 and ok["reasons"]
    ch = matching.why_not(store, "challenge", "CH-1", "E-PEND")
    assert ch["excluded"] is True
    json.dumps(ok)


def test_match_challenge_diversified_with_coalitions(store: Session) -> None:
    cm = matching.match_challenge(store, "CH-1", top_k=5)
    refs = [m.ref for m in cm.results.results]
    assert refs[:2] and set(refs[:2]) == {"E-GREEN", "E-MEAL"}
    assert "E-PEND" not in refs
    assert cm.max_partners == 2
    assert cm.coalitions and all(len(c.members) <= 2 for c in cm.coalitions)
    best = cm.coalitions[0]
    assert {m.ref for m in best.members} == {"E-GREEN", "E-MEAL"}
    assert best.capacity_eur == pytest.approx(100_000)
    assert any(r.code == "coalition_themes" and (r.params["covered"], r.params["n_themes"])
               == (2, 2) for r in best.reasons)
    d = json.loads(json.dumps(cm.as_dict()))
    assert d["results"][0]["ref"] in ("E-GREEN", "E-MEAL")
    assert d["coalitions"][0]["refs"] and d["coalitions"][0]["members"][0]["reasons"]


def test_tender_feasibility(store: Session) -> None:
    f = matching.tender_feasibility(store, "T-1")
    # Candidates: the 8 vetted enterprises within reach, 370,000 a year, over 2 years.
    assert f.n_enterprises == 8 and f.years == 2.0
    assert f.due_eur == pytest.approx(50_000)
    assert f.capacity_eur == pytest.approx(2 * 370_000)
    assert f.verdict == "feasible"
    # E-CLEAN's € 60.000 a year, all of it over O-1's two years (T-1, 2026-2027).
    store.add(AllocationRow(obligation_ref="O-1", enterprise_ref="E-CLEAN", amount_eur=120_000,
                            credit_eur=120_000, status="committed"))
    store.commit()
    f2 = matching.tender_feasibility(store, "T-1")
    # A fully booked enterprise still counts, as committed capacity.
    assert f2.n_enterprises == 8 and f2.committed_eur == pytest.approx(120_000)


def test_empty_registry(session: Session) -> None:
    session.add(TenderRow(ref="T-1", buyer="b", title="Schoonmaak", cpv=["90911200"],
                          sroi_percentage=5, contract_value_eur=100_000,
                          sroi_policy="utrecht-2024"))
    session.commit()
    ml = matching.match_tender(session, "T-1")
    assert ml.results == [] and ml.n_candidates == 0 and ml.n_excluded == 0
    assert matching.tender_feasibility(session, "T-1").verdict == "infeasible"


def test_index_with_committed_copies_the_shared_index(store: Session) -> None:
    shared = matching.get_index(store)
    mine = matching.index_with_committed(store, {"E-CLEAN": Commitment(50_000)})
    assert mine is not shared and mine.word_ is shared.word_
    assert mine.remaining_eur_[mine.row_of_["E-CLEAN"]] == pytest.approx(10_000)
    assert shared.remaining_eur_[shared.row_of_["E-CLEAN"]] == pytest.approx(60_000)
    other_day = matching.index_with_committed(store, {}, on=date(2030, 1, 1))
    assert other_day.word_ is not shared.word_ and other_day.date_ == date(2030, 1, 1)
    assert not other_day.vetting_ok_.any()  # every vetting expired by 2030


def test_cached_match_reuses_results_until_something_changes(store: Session) -> None:
    first = matching.cached_match(store, "tender", "T-1", 5)
    assert matching.cached_match(store, "tender", "T-1", 5) is first
    assert matching.cached_match(store, "tender", "T-1", 3) is not first  # its own key
    # The tender itself changes: recomputed.
    tender = store.exec(select(TenderRow).where(TenderRow.ref == "T-1")).one()
    tender.description = "Schoonmaak van scholen"
    tender.updated_at = datetime(2026, 3, 2, tzinfo=UTC)
    store.add(tender)
    store.commit()
    second = matching.cached_match(store, "tender", "T-1", 5)
    assert second is not first
    # Capacity committed elsewhere changes the remaining euros: recomputed.
    store.add(AllocationRow(obligation_ref="O-1", enterprise_ref="E-CLEAN", amount_eur=50_000,
                            credit_eur=50_000, status="committed"))
    store.commit()
    third = matching.cached_match(store, "tender", "T-1", 5)
    assert third is not second
    assert matching.cached_match(store, "tender", "T-1", 5) is third
    matching.invalidate()
    assert matching.cached_match(store, "tender", "T-1", 5) is not third
    with pytest.raises(NotFound):
        matching.cached_match(store, "tender", "T-404", 5)


def test_concurrent_cold_requests_share_one_index_build(store: Session,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up warm-up and requests arriving meanwhile wait for one build."""
    import threading
    import time

    real_build = matching._build
    builds: list[int] = []

    def slow_build(*args: object, **kwargs: object) -> object:
        builds.append(1)
        time.sleep(0.3)  # long enough for every thread to arrive during the build
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(matching, "_build", slow_build)
    engine = store.get_bind()
    got: list[object] = []
    errors: list[BaseException] = []

    def request(warm: bool) -> None:
        try:
            with Session(engine) as s:
                if warm:
                    matching.warm(s)
                got.append(matching.get_index(s))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=request, args=(i == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(builds) == 1
    assert len(got) == 4 and all(index is got[0] for index in got)
    assert "E-CLEAN" in got[0]  # type: ignore[operator]


def test_change_token_is_remembered_within_a_transaction_only(store: Session) -> None:
    first = matching.get_index(store)
    memo = store.info[matching._TOKENS_MEMO]
    assert matching.get_index(store) is first
    assert store.info[matching._TOKENS_MEMO] is memo  # no second query in the transaction
    # An unflushed change is not hidden by the memo (autoflush, then a fresh token).
    store.add(enterprise("E-MEMO", "Schoonmaak"))
    second = matching.get_index(store)
    assert "E-MEMO" in second
    store.commit()
    assert matching.get_index(store) is second  # new transaction, same data: same index
    assert store.info[matching._TOKENS_MEMO] is not memo
    # A change committed elsewhere is seen by the next transaction of this session.
    with Session(store.get_bind()) as other:
        other.add(enterprise("E-OTHER", "Groenonderhoud", cpv=("77310000",)))
        other.commit()
    store.commit()
    assert "E-OTHER" in matching.get_index(store)


def test_tender_feasibility_is_cached_until_the_tender_or_registry_changes(store: Session
                                                                           ) -> None:
    first = matching.tender_feasibility(store, "T-1")
    assert matching.tender_feasibility(store, "T-1") is first
    row = store.exec(select(TenderRow).where(TenderRow.ref == "T-1")).one()
    row.sroi_percentage = (row.sroi_percentage or 0) * 2
    row.updated_at = datetime.now(UTC)
    store.add(row)
    store.commit()
    doubled = matching.tender_feasibility(store, "T-1")
    assert doubled is not first and doubled.due_eur == pytest.approx(2 * first.due_eur)
    store.add(enterprise("E-FEAS", "Schoonmaak van kantoren", eur=100_000))
    store.commit()
    grown = matching.tender_feasibility(store, "T-1")
    assert grown.n_enterprises == doubled.n_enterprises + 1
    matching.invalidate()
    assert matching.tender_feasibility(store, "T-1") is not grown
