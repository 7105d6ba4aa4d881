"""Issue #11 item 7: the money adds up over random plans, deliveries and allocations.

Each example builds a fresh database (SQLite, and PostgreSQL in its own schema) with a few
vetted enterprises of random yearly capacity and certificates, and open obligations of
one to four years under either shipped policy. Through the real services it plans each
obligation, saves and (sometimes) commits the plan, records random deliveries (some
beyond capacity, some reversed), re-plans beside the commitments, runs the global
allocation, saves it (every save must keep its rows) and commits again.
Then:

(a) no enterprise is booked beyond its yearly capacity in any calendar year: per
    obligation, its committed rows spread over the calendar years of its term by days, or
    what was delivered there that year when that is more (a delivery within a commitment
    is that commitment kept), summed over obligations; purchases and places each against
    their own capacity. Right after the allocation is saved its planned rows count too;
(b) the same enterprise and amount earn the same credit in the plan, the obligation's
    match list and the allocation: each figure equals ``matcher.valuation.credit_for``
    under the obligation's policy on the date, and the plan never asks an enterprise for
    more than the match list says it has free.

The spreading in (a) is recomputed here by counting days, not with the code under test.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from api import settings as api_settings
from api.convert import enterprise_from_row
from api.db import make_engine
from api.errors import Conflict, Invalid
from api.services import matching
from api.services.plan_commit import PlanRefused, commit_plan
from api.services.planning import allocate_all, plan_for_obligation, save_allocation, save_plan
from api.services.progress import DeliveryInput, record_delivery, reverse_delivery
from api.tables import AllocationRow, DeliveryRow, EnterpriseRow, ObligationRow, VettingEvent
from matcher.valuation import credit_for, load_policy, placement_block
from tests.conftest import POSTGRES_URL, _require_postgres

TODAY = date(2026, 6, 1)
UTRECHT = (52.0907, 5.1214)
POLICIES = ("utrecht-2024", "oost-nederland-2023")
# Certificates that earn 100 %, 50 % or the default share under one policy or the other.
CERTS: tuple[tuple[dict[str, object], ...], ...] = (
    (), ({"scheme": "CodeSO", "level": None, "valid_until": None},),
    ({"scheme": "SENL", "level": None, "valid_until": None},))
GROUPS = (("participatiewet",), ("ww",), ("banenafspraak", "participatiewet"))
CENT = 0.011  # rounding of each row to the cent, with room for float sums
PLACE_EPS = 1e-6
# Shrinking a world of databases takes minutes; the failing example is printed whole.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


# ---------------------------------------------------------------- random worlds


@dataclass(frozen=True)
class Ent:
    purchasing: int
    places: int
    certs: int
    groups: int


@dataclass(frozen=True)
class Ob:
    start_month: int  # months after 2025-01-01
    years: int
    amount: int
    policy: str
    commit: bool


@dataclass(frozen=True)
class Delivery:
    obligation: int
    enterprise: int
    day: float  # where in the delivery window (0..1)
    placement: bool
    amount_share: float  # of the enterprise's yearly purchasing (purchases)
    reverse: bool


ents_st = st.lists(st.builds(
    Ent, purchasing=st.sampled_from([0, 8_000, 25_000, 60_000, 150_000]),
    places=st.integers(0, 3), certs=st.integers(0, len(CERTS) - 1),
    groups=st.integers(0, len(GROUPS) - 1)), min_size=2, max_size=4)
obs_st = st.lists(st.builds(
    Ob, start_month=st.integers(0, 17), years=st.integers(1, 4),
    amount=st.integers(5, 120).map(lambda k: k * 2_500), policy=st.sampled_from(POLICIES),
    commit=st.booleans()), min_size=2, max_size=4)
deliveries_st = st.lists(st.builds(
    Delivery, obligation=st.integers(0, 3), enterprise=st.integers(0, 3),
    day=st.floats(0, 1), placement=st.booleans(), amount_share=st.floats(0.05, 1.5),
    reverse=st.booleans()), max_size=6)


def _start(month: int) -> date:
    return date(2025 + month // 12, month % 12 + 1, 1)


def _seed(s: Session, ents: list[Ent], obs: list[Ob]) -> None:
    for i, e in enumerate(ents):
        ref = f"E-{i}"
        s.add(EnterpriseRow(
            ref=ref, name=f"Schoonmaakwerk {i}", description="schoonmaak van kantoren met "
            "mensen met afstand tot de arbeidsmarkt", cpv=["90911200"],
            municipality_code="GM0344", lat=UTRECHT[0], lon=UTRECHT[1], service_radius_km=100,
            target_groups=list(GROUPS[e.groups]), placements_per_year=e.places,
            purchasing_eur_per_year=float(e.purchasing), certifications=list(CERTS[e.certs]),
            vetting_status="vetted", vetted_on=date(2024, 1, 1),
            vetting_valid_until=date(2031, 1, 1)))
        s.add(VettingEvent(enterprise_ref=ref, status="vetted", valid_until=date(2031, 1, 1),
                           reason="test", decided_by="connector@test.nl",
                           decided_at=datetime(2024, 1, 1, 10, 0, tzinfo=UTC)))
    for k, o in enumerate(obs):
        start = _start(o.start_month)
        s.add(ObligationRow(
            ref=f"O-{k}", firm=f"Firma {k} BV", amount_eur=float(o.amount),
            due=date(start.year + o.years, start.month, 1), buys=["90910000"],
            municipality_code="GM0344", lat=UTRECHT[0], lon=UTRECHT[1], policy=o.policy,
            created_at=datetime(start.year, start.month, 1, 9, 0, tzinfo=UTC)))
    s.commit()


# ---------------------------------------------------------------- the checks


def _shares_by_days(start: date, end: date) -> dict[int, float]:
    """Share of [start, end) per calendar year, counted day by day (independent of
    matcher.capacity.year_shares)."""
    days: dict[int, int] = defaultdict(int)
    d = start
    while d < end:
        days[d.year] += 1
        d += timedelta(days=1)
    total = sum(days.values())
    return {y: n / total for y, n in days.items()}


def _assert_within_capacity(s: Session, when: str, drafts: bool = False) -> None:
    """Committed rows (and with ``drafts`` the planned ones too: right after an
    allocation, which planned around everything) plus deliveries, per calendar year."""
    obs = {o.ref: o for o in s.exec(select(ObligationRow))}
    ents = {e.ref: e for e in s.exec(select(EnterpriseRow))}
    rows: dict[tuple[str, str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for a in s.exec(select(AllocationRow)):
        o = obs[a.obligation_ref]
        if o.status != "open" or (a.status != "committed" and not drafts):
            continue
        assert o.due is not None
        units = float(a.placements) if a.kind == "placement" else float(a.amount_eur)
        for y, f in _shares_by_days(o.created_at.date(), o.due).items():
            rows[(a.obligation_ref, a.enterprise_ref, a.kind)][y] += units * f
    done: dict[tuple[str, str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for d in s.exec(select(DeliveryRow)):
        sign = -1.0 if d.kind == "reversal" else 1.0
        units = sign if d.part == "placement" else float(d.amount_eur)
        done[(d.obligation_ref, d.enterprise_ref, d.part)][d.on.year] += units
    booked: dict[tuple[str, str, int], float] = defaultdict(float)
    for key in set(rows) | set(done):
        _, ent, part = key
        for y in set(rows[key]) | set(done[key]):
            booked[(ent, part, y)] += max(rows[key][y], done[key][y], 0.0)
    for (ent, part, y), amount in sorted(booked.items()):
        e = ents[ent]
        if part == "placement":
            assert amount <= e.placements_per_year + PLACE_EPS, (when, ent, y, amount)
        else:
            assert amount <= e.purchasing_eur_per_year + CENT, (when, ent, y, amount)


def _credit(ob: ObligationRow, ent: EnterpriseRow, kind: str, amount: float, places: int,
            on: date) -> float:
    policy = load_policy(ob.policy or "")
    e = enterprise_from_row(ent)
    if kind == "purchase":
        return credit_for(policy, "purchase", on, amount_eur=amount, enterprise=e)
    block = placement_block(policy, e.target_groups)
    assert block is not None, (ob.ref, ent.ref)
    return credit_for(policy, "placement", on, placements=places, block=block)


def _assert_one_credit(s: Session, ref: str, rows: list[tuple[str, str, float, float, int]],
                       where: str) -> None:
    """Each (enterprise, kind, amount, credit, places) of ``ref`` earns ``credit_for``."""
    ob = s.exec(select(ObligationRow).where(ObligationRow.ref == ref)).one()
    ents = {e.ref: e for e in s.exec(select(EnterpriseRow))}
    for ent, kind, amount, credit, places in rows:
        want = _credit(ob, ents[ent], kind, amount, places, TODAY)
        assert abs(credit - want) <= 0.01, (where, ref, ent, kind, amount, credit, want)


def _match_list_credit(s: Session, ref: str) -> dict[str, tuple[float, float, float]]:
    """Per enterprise of ``ref``'s match list: (free purchase euros, free places, credit)
    from its ``credit_share`` reason; checked against ``credit_for`` on those amounts."""
    ob = s.exec(select(ObligationRow).where(ObligationRow.ref == ref)).one()
    ents = {e.ref: e for e in s.exec(select(EnterpriseRow))}
    out: dict[str, tuple[float, float, float]] = {}
    for v in matching.match_obligation(s, ref, top_k=20).results:
        share = next((r for r in v.reasons if r.code == "credit_share"), None)
        assert share is not None, (ref, v.ref, v.reasons)
        p = dict(share.params)
        free_eur, places, credit = (float(p["free_purchase_eur"]), float(p["free_placements"]),
                                    float(p["credit_eur"]))
        want = 0.0
        if free_eur > 0:
            want += _credit(ob, ents[v.ref], "purchase", free_eur, 0, TODAY)
        if places > 0:
            want += _credit(ob, ents[v.ref], "placement", 0.0, int(places), TODAY)
        assert abs(credit - want) <= 0.02, ("match list", ref, v.ref, p, want)
        out[v.ref] = (free_eur, places, credit)
    return out


# ---------------------------------------------------------------- databases per example


@contextmanager
def _fresh_engine(backend: str, tmp: str) -> Iterator[Engine]:
    """A new, empty, fully created database for one example (append-only tables cannot
    be emptied between examples, by design)."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp}/{uuid.uuid4().hex}.db")
        SQLModel.metadata.create_all(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"p_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    engine = make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        SQLModel.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "postgres":
        _require_postgres()
    monkeypatch.setenv("TODAY", TODAY.isoformat())
    api_settings.get_settings.cache_clear()
    try:
        yield str(request.param)
    finally:
        api_settings.get_settings.cache_clear()


# ---------------------------------------------------------------- the property


def _run(s: Session, obs: list[Ob], deliveries: list[Delivery]) -> None:
    refs = [f"O-{k}" for k in range(len(obs))]
    # 1. Plan, save and (sometimes) commit each obligation; the plan's credit is credit_for's.
    for ref, o in zip(refs, obs, strict=True):
        listed = _match_list_credit(s, ref)
        plan = plan_for_obligation(s, ref, on=TODAY)
        _assert_one_credit(s, ref, [(r.enterprise, r.kind, r.amount_eur, r.credit_eur,
                                     r.placements) for r in plan.rows], "plan")
        for r in plan.rows:  # never more than the match list says is free for it
            assert r.enterprise in listed, (ref, r.enterprise, sorted(listed))
            free_eur, places, _ = listed[r.enterprise]
            if r.kind == "purchase":
                assert r.amount_eur <= free_eur + 0.005, (ref, r, listed[r.enterprise])
            else:
                assert r.placements <= places, (ref, r, listed[r.enterprise])
        save_plan(s, ref, plan.rows)
        if o.commit and plan.rows:
            try:
                commit_plan(s, ref, by="firm@test.nl")
            except PlanRefused:
                s.rollback()
        _assert_within_capacity(s, f"after planning {ref}")
    # 2. Deliveries, some beyond what is left (refused), some reversed.
    for d in deliveries:
        if d.obligation >= len(obs):
            continue
        ob = s.exec(select(ObligationRow).where(ObligationRow.ref == refs[d.obligation])).one()
        ent = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == f"E-{d.enterprise}")
                     ).first()
        if ent is None or ob.due is None:
            continue
        start, last = ob.created_at.date(), min(ob.due - timedelta(days=1), TODAY)
        on = start + timedelta(days=int((last - start).days * d.day))
        policy = load_policy(ob.policy or "")
        block = placement_block(policy, tuple(ent.target_groups))
        data = (DeliveryInput(ent.ref, on, "placement", block=block.key, hours_per_week=36,
                              months=12, unplanned=True, unplanned_reason="test")
                if d.placement and block is not None else
                DeliveryInput(ent.ref, on, "purchase",
                              amount_eur=round(max(ent.purchasing_eur_per_year, 1_000)
                                               * d.amount_share, 2),
                              unplanned=True, unplanned_reason="test"))
        try:
            row = record_delivery(s, ob, data, TODAY, "firm@test.nl")
        except Invalid:
            s.rollback()
            continue
        want = (_credit(ob, ent, "purchase", row.amount_eur, 0, on) if row.part == "purchase"
                else credit_for(policy, "placement", on, placements=1, block=data.block))
        assert abs(row.credit_eur - want) <= 0.01, ("delivery", row, want)
        if d.reverse:
            reverse_delivery(s, ob, row.id or 0, "verkeerd bedrag", "firm@test.nl")
    _assert_within_capacity(s, "after deliveries")
    # A re-plan beside what is committed saves whole (it never offers a committed row again).
    for ref in refs:
        plan = plan_for_obligation(s, ref, on=TODAY)
        _assert_one_credit(s, ref, [(r.enterprise, r.kind, r.amount_eur, r.credit_eur,
                                     r.placements) for r in plan.rows], "re-plan")
        save_plan(s, ref, plan.rows)
    # 3. The global allocation: its credit is credit_for's; saved and committed it still fits.
    alloc = allocate_all(s, on=TODAY)
    for ref in refs:
        _assert_one_credit(s, ref, [(r.enterprise, r.kind, r.amount_eur, r.credit_eur,
                                     r.placements) for r in alloc.rows if r.obligation == ref],
                           "allocation")
    save_allocation(s, alloc)
    _assert_within_capacity(s, "after saving the allocation", drafts=True)
    for ref in refs:
        try:
            commit_plan(s, ref, by="firm@test.nl")
        except (Conflict, Invalid):  # refused rows (PlanRefused), nothing planned (409)
            s.rollback()
    _assert_within_capacity(s, "after committing the allocation", drafts=True)


@settings(max_examples=12, deadline=None, phases=NO_SHRINK, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ents=ents_st, obs=obs_st, deliveries=deliveries_st)
def test_no_overbooking_and_one_credit(backend: str, tmp_path_factory: pytest.TempPathFactory,
                                       ents: list[Ent], obs: list[Ob],
                                       deliveries: list[Delivery]) -> None:
    tmp = str(tmp_path_factory.mktemp("money"))
    with _fresh_engine(backend, tmp) as engine, Session(engine) as s:
        matching.invalidate()
        _seed(s, ents, obs)
        _run(s, obs, deliveries)
