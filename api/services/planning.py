"""Plans and allocations from the store: the web layer's and CLI's entry points.

* :func:`plan_for_obligation` — one obligation: rank candidates (``matcher.rank``), value
  them under the obligation's policy (``matcher.valuation``), plan (``matcher.plan``).
* :func:`allocate_all` — every open obligation at once, sharing capacity
  (``matcher.allocate``).
* :func:`save_plan` / :func:`save_allocation` — store rows as ``planned`` allocations.

Capacity left = each enterprise's free purchasing and free placements
(``matcher.capacity.CapacityState``, from the commitments of ``api.services.capacity``); the planned
rows of the obligations being (re)planned are left out of the commitments, since the new
plan replaces them, while their ``committed`` rows stay and reduce what is still due.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from api.clock import today
from api.convert import obligation_from_row
from api.errors import Invalid, NotFound
from api.services.capacity import commitments
from api.services.policies import obligation_policy
from api.tables import AllocationRow, EnterpriseRow, ObligationRow, TenderRow
from matcher.allocate import Allocator
from matcher.capacity import CapacityState, Commitment
from matcher.index import EnterpriseIndex
from matcher.model import Enterprise, Obligation
from matcher.plan import FulfilmentPlanner, Plan, PlanRow, build_candidates, supplies
from matcher.rank import candidates_for_obligation, rank_many
from matcher.reasons import eur, reason
from matcher.valuation import (
    Policy,
    credit_for_placement,
    placement_block,
    purchase_share,
)
from matcher.weights import WeightSet

TOP_K = 50


class PlanningError(Invalid):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(None, message, **params)


@dataclass(frozen=True)
class GlobalAllocation:
    rows: tuple[PlanRow, ...]
    due_eur: dict[str, float]  # per obligation: still due (after committed rows)
    unmet_eur: dict[str, float]
    solver: str
    seconds: float
    objective: float

    @property
    def total_credit_eur(self) -> float:
        return round(sum(r.credit_eur for r in self.rows), 2)

    @property
    def total_unmet_eur(self) -> float:
        return round(sum(self.unmet_eur.values()), 2)


# ---------------------------------------------------------------- loading


def _weights(session: Session) -> WeightSet:
    from api.services.weights import active_weights

    return active_weights(session)




def _obligation(session: Session, row: ObligationRow) -> Obligation:
    tender = None
    if row.tender_ref:
        tender = session.exec(select(TenderRow).where(TenderRow.ref == row.tender_ref)).first()
    return obligation_from_row(row, tender)


def build_index(session: Session, on: date, committed: Mapping[str, Commitment]
                ) -> EnterpriseIndex:
    """The ranking index over the whole registry, with what is already committed
    (the shared cached index of ``api.services.matching`` when ``on`` is today)."""
    from api.services.matching import index_with_committed

    return index_with_committed(session, committed, on)


def get_obligation_row(session: Session, ref: str) -> ObligationRow:
    row = session.exec(select(ObligationRow).where(ObligationRow.ref == ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende verplichting {ref}.", ref=ref)
    return row


# ---------------------------------------------------------------- one obligation


def plan_for_obligation(
    session: Session,
    ref: str,
    *,
    on: date | None = None,
    top_k: int = TOP_K,
    index: EnterpriseIndex | None = None,
    planner: FulfilmentPlanner | None = None,
) -> Plan:
    """A fulfilment plan for the obligation ``ref`` (not saved; see :func:`save_plan`)."""
    on = on or today()
    row = get_obligation_row(session, ref)
    ob = _obligation(session, row)
    policy = obligation_policy(ob)
    c = commitments(session, replanning=[ref])
    due = max(ob.amount_eur - c.committed_credit.get(ref, 0.0), 0.0)
    if index is None:
        index = build_index(session, on, c.by_enterprise)
    matches = candidates_for_obligation(index, ob, _weights(session), top_k=top_k)
    pairs = [(index.enterprise(m.ref), float(m.score)) for m in matches]
    cands = build_candidates(ob, pairs, policy, on, committed=c.by_enterprise)
    plan = (planner or FulfilmentPlanner()).plan(ref, round(due, 2), cands)
    done = c.committed_credit.get(ref, 0.0)
    if done > 0:
        note = reason("plan_committed", done_eur=eur(done), total_eur=eur(ob.amount_eur))
        plan = Plan(plan.obligation, plan.due_eur, plan.rows, plan.credit_eur, plan.unmet_eur,
                    (*plan.explanation, note))
    return plan


# ---------------------------------------------------------------- all obligations


@dataclass(frozen=True)
class _Supply:
    enterprise: str
    kind: str  # purchase | placement
    capacity_eur: float  # invoice euros (purchase) or credited euros (placements)
    per_place: float = 0.0
    block: str | None = None


def allocate_all(
    session: Session,
    *,
    on: date | None = None,
    top_k: int = TOP_K,
    allocator: Allocator | None = None,
) -> GlobalAllocation:
    """Share capacity among all open obligations at once (not saved).

    Each enterprise is two supply nodes: purchasing (invoice euros, credited at its share
    under the obligation's policy; only for obligations whose firm buys what it supplies)
    and placements (capacity x the value of one full-time year under its most cautious
    block, credited one for one). Placement credit is rounded to whole places afterwards
    per enterprise (largest remainders first, never above its free places).

    A node's value per place is taken under the policy of the first obligation that lists
    the enterprise; with obligations under different policies that is an approximation
    (and mixed purchase shares on one node send the solve to HiGHS, see matcher.allocate).
    """
    on = on or today()
    rows = session.exec(select(ObligationRow).where(ObligationRow.status == "open")
                        .order_by(col(ObligationRow.ref))).all()
    obs = [_obligation(session, r) for r in rows]
    c = commitments(session, replanning=[o.ref for o in obs])
    due = {o.ref: round(max(o.amount_eur - c.committed_credit.get(o.ref, 0.0), 0.0), 2)
           for o in obs}
    # An obligation no policy values cannot be credited: it stays unmet until one is chosen.
    obs = [o for o in obs if due[o.ref] > 0 and o.policy]
    if not obs:
        return GlobalAllocation((), due, dict(due), "none", 0.0, 0.0)
    policies = {o.ref: obligation_policy(o) for o in obs}
    index = build_index(session, on, c.by_enterprise)
    top_rows, top_scores = rank_many(index, obs, _weights(session), top_k=top_k)

    supplies_: list[_Supply] = []
    node: dict[tuple[str, str], int] = {}
    e_obl: list[int] = []
    e_node: list[int] = []
    e_fit: list[float] = []
    e_share: list[float] = []

    def supply_node(ent: Enterprise, kind: str, policy: Policy) -> int | None:
        key = (ent.ref, kind)
        if key in node:
            return node[key]
        state = CapacityState.of(ent.capacity, c.by_enterprise.get(ent.ref))
        if kind == "purchase":
            s = _Supply(ent.ref, kind, state.free_purchase_eur)
        else:
            block = placement_block(policy, ent.target_groups)
            free = int(state.free_placements)
            if block is None or free <= 0:
                return None
            per = credit_for_placement(policy, block, 36.0, 12.0)
            s = _Supply(ent.ref, kind, free * per, per, block.key)
        if s.capacity_eur <= 0:
            return None
        node[key] = len(supplies_)
        supplies_.append(s)
        return node[key]

    for i, ob in enumerate(obs):
        policy = policies[ob.ref]
        for r, score in zip(top_rows[i].tolist(), top_scores[i].tolist(), strict=True):
            if r < 0 or not math.isfinite(score):
                continue
            ent = index.enterprise(r)
            fit = min(max(score, 0.0), 1.0)
            if ob.buys and supplies(ent.cpv, ob.buys):
                share = purchase_share(policy, ent, on)
                j = supply_node(ent, "purchase", policy) if share > 0 else None
                if j is not None:
                    e_obl.append(i)
                    e_node.append(j)
                    e_fit.append(fit)
                    e_share.append(share)
            j = supply_node(ent, "placement", policy)
            if j is not None:
                e_obl.append(i)
                e_node.append(j)
                e_fit.append(fit)
                e_share.append(1.0)

    demand = np.array([due[o.ref] for o in obs])
    result = (allocator or Allocator()).solve(
        np.array(e_obl, dtype=np.int64), np.array(e_node, dtype=np.int64), e_fit, e_share,
        [s.capacity_eur for s in supplies_], demand,
    )
    out_rows = _rows_from_flows(obs, supplies_, e_obl, e_node, e_fit, result.amount_eur,
                                result.credit_eur)
    credit_by: dict[str, float] = {}
    for row in out_rows:
        credit_by[row.obligation] = credit_by.get(row.obligation, 0.0) + row.credit_eur
    unmet = {ref: round(max(d - credit_by.get(ref, 0.0), 0.0), 2) for ref, d in due.items()}
    return GlobalAllocation(tuple(out_rows), due, unmet, result.solver, result.seconds,
                            result.objective)


def _rows_from_flows(
    obs: Sequence[Obligation], supplies_: Sequence[_Supply], e_obl: list[int],
    e_node: list[int], e_fit: list[float], amount: np.ndarray, credit: np.ndarray,
) -> list[PlanRow]:
    out: list[PlanRow] = []
    by_node: dict[int, list[int]] = {}
    for e, j in enumerate(e_node):
        if credit[e] >= 0.01:
            by_node.setdefault(j, []).append(e)
    for j, edges in by_node.items():
        s = supplies_[j]
        if s.kind == "purchase":
            for e in edges:
                a = math.floor(amount[e] * 100 + 1e-6) / 100  # cents, never over capacity
                out.append(PlanRow(obs[e_obl[e]].ref, s.enterprise, "purchase", a,
                                   round(credit[e], 2), 0, None, e_fit[e]))
            continue
        # Whole places: floors first, then the largest remainders while places are free.
        want = {e: credit[e] / s.per_place for e in edges}
        places = {e: math.floor(w + 1e-9) for e, w in want.items()}
        free = int(round(s.capacity_eur / s.per_place)) - sum(places.values())
        for e in sorted(edges, key=lambda e: -(want[e] - places[e])):
            if free <= 0:
                break
            if want[e] - places[e] > 1e-9:
                places[e] += 1
                free -= 1
        for e in edges:
            if places[e] > 0:
                v = round(places[e] * s.per_place, 2)
                out.append(PlanRow(obs[e_obl[e]].ref, s.enterprise, "placement", v, v,
                                   places[e], s.block, e_fit[e]))
    out.sort(key=lambda r: (r.obligation, -r.credit_eur, r.enterprise, r.kind))
    return out


# ---------------------------------------------------------------- saving


def _row_value(row: PlanRow | Mapping[str, Any], key: str, default: Any = None) -> Any:
    if isinstance(row, Mapping):
        return row.get(key, default)
    return getattr(row, key, default)


def save_plan(
    session: Session, ref: str, rows: Iterable[PlanRow | Mapping[str, Any]]
) -> list[AllocationRow]:
    """Replace the obligation's ``planned`` allocations with ``rows``; commit.

    ``committed`` rows are kept as they are; a plan row for the same enterprise and kind as
    a committed one is left out (the commitment stands). Returns the saved planned rows.
    """
    get_obligation_row(session, ref)
    existing = session.exec(select(AllocationRow).where(AllocationRow.obligation_ref == ref)
                            ).all()
    committed = {(a.enterprise_ref, a.kind) for a in existing if a.status == "committed"}
    for a in existing:
        if a.status != "committed":
            session.delete(a)
    session.flush()
    known = set(session.exec(select(EnterpriseRow.ref)).all())
    saved: list[AllocationRow] = []
    merged: dict[tuple[str, str], AllocationRow] = {}
    for r in rows:
        ent = str(_row_value(r, "enterprise"))
        kind = str(_row_value(r, "kind", "purchase"))
        if kind not in ("purchase", "placement"):
            raise PlanningError("Onbekende soort {kind}.", kind=kind)
        if ent not in known:
            raise NotFound(None, "Onbekende onderneming {ref}.", ref=ent)
        if (ent, kind) in committed:
            continue
        found = merged.get((ent, kind))
        if found is None:
            a = AllocationRow(obligation_ref=ref, enterprise_ref=ent, kind=kind,
                              block=_row_value(r, "block"), status="planned")
            merged[(ent, kind)] = a
            saved.append(a)
        else:
            a = found
        a.amount_eur += float(_row_value(r, "amount_eur", 0.0) or 0.0)
        a.credit_eur += float(_row_value(r, "credit_eur", 0.0) or 0.0)
        a.placements += int(_row_value(r, "placements", 0) or 0)
    for a in saved:
        session.add(a)
    session.commit()
    for a in saved:
        session.refresh(a)
    return saved


def save_allocation(session: Session, allocation: GlobalAllocation) -> int:
    """Save a global allocation as planned rows for each obligation it covers."""
    by_ob: dict[str, list[PlanRow]] = {ref: [] for ref in allocation.due_eur}
    for r in allocation.rows:
        by_ob.setdefault(r.obligation, []).append(r)
    n = 0
    for ref, rows in by_ob.items():
        n += len(save_plan(session, ref, rows))
    return n

