"""Plans and allocations from the store: the web layer's and CLI's entry points.

* :func:`plan_for_obligation` — one obligation: rank candidates (``matcher.rank``), value
  them under the obligation's policy (``matcher.valuation``), plan (``matcher.plan``).
* :func:`allocate_all` — every open obligation at once, sharing capacity
  (``matcher.allocate``).
* :func:`save_plan` / :func:`save_allocation` — store rows as ``planned`` allocations
  (every row, or none with the reason per row).

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
from api.messages import msgn
from api.services.capacity import commitments, period_of
from api.services.obligation_terms import obligation_terms
from api.services.plan_commit import (
    PlanRefused,
    RowRefusal,
    clashes_with_committed,
    rejected_by_curation,
)
from api.services.policies import obligation_policy
from api.settings import get_settings
from api.tables import AllocationRow, EnterpriseRow, ObligationRow, TenderRow
from matcher.allocate import Allocator, whole_placements
from matcher.capacity import Commitment, term_years, year_shares
from matcher.cluster import rank_many_on
from matcher.index import EnterpriseIndex
from matcher.model import Obligation
from matcher.plan import FulfilmentPlanner, Plan, PlanRow, supplies
from matcher.rank import candidates_for_obligation
from matcher.reasons import eur, reason
from matcher.valuation import (
    PolicyError,
    credit_rate,
    placement_block,
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
    try:
        terms = obligation_terms(session, row, on)
    except PolicyError as exc:
        raise PlanningError("{ref}: {error}", ref=ref, error=str(exc)) from None
    ob = terms.obligation
    if index is None:
        index = build_index(session, on, terms.committed.by_enterprise)
    from api.services.matching import curate_matches

    ws = _weights(session)
    matches = candidates_for_obligation(index, ob, ws, top_k=top_k)
    # The connectors' curation takes effect: rejected enterprises are not planned, pinned
    # ones lead (see curate_matches).
    fits = curate_matches(session, "obligation", ref, index, ob, ws,
                          [(m.ref, float(m.score)) for m in matches])
    pairs = [(index.enterprise(r), fit) for r, fit in fits]
    cands = terms.candidates(pairs)
    plan = (planner or FulfilmentPlanner()).plan(ref, terms.due_eur, cands)
    if terms.done_eur > 0:
        note = reason("plan_committed", done_eur=eur(terms.done_eur),
                      total_eur=eur(ob.amount_eur))
        plan = Plan(plan.obligation, plan.due_eur, plan.rows, plan.credit_eur, plan.unmet_eur,
                    (*plan.explanation, note))
    return plan


# ---------------------------------------------------------------- all obligations


@dataclass(frozen=True)
class _Supply:
    enterprise: str
    kind: str  # purchase | placement
    capacity_eur: float  # invoice euros (purchase) or free places x per_place (placements)
    per_place: float = 0.0


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
    and placements (free places x the credit of one place under its most cautious block,
    credited one for one). Credit per unit is ``matcher.valuation.credit_rate``, as in the
    plan. Capacity is per year, converted once per enterprise to a contract term
    (``Commitments.over_term``): the shortest term among the obligations that list it, and
    in each calendar year the largest share of a term among them, so no obligation is
    promised capacity its own term does not have and no year is booked beyond capacity.
    The fractional solution is settled into whole places by
    ``matcher.allocate.whole_placements`` (never more than one place over what is due,
    purchases given back first).

    A placement node counts places at the highest value one of its obligations gives a
    place; each edge credits its own obligation's value (its block under its policy), so
    the same enterprise and places earn the same credit as in that obligation's plan
    (mixed shares on one node send the solve to HiGHS, see matcher.allocate).
    """
    on = on or today()
    rows = session.exec(select(ObligationRow).where(ObligationRow.status == "open")
                        .order_by(col(ObligationRow.ref))).all()
    tenders = {t.ref: t for t in session.exec(select(TenderRow)).all()}
    periods = {r.ref: period_of(r, tenders.get(r.tender_ref or ""), on) for r in rows}
    years_of = {ref: term_years(*p) for ref, p in periods.items()}
    shares_of = {ref: year_shares(*p) for ref, p in periods.items()}
    obs = [obligation_from_row(r, tenders.get(r.tender_ref or "")) for r in rows]
    c = commitments(session, replanning=[o.ref for o in obs])
    due = {o.ref: round(max(o.amount_eur - c.committed_credit.get(o.ref, 0.0), 0.0), 2)
           for o in obs}
    # An obligation no policy values cannot be credited: it stays unmet until one is chosen.
    obs = [o for o in obs if due[o.ref] > 0 and o.policy]
    if not obs:
        return GlobalAllocation((), due, dict(due), "none", 0.0, 0.0)
    policies = {o.ref: obligation_policy(o) for o in obs}
    index = build_index(session, on, c.by_enterprise)
    ws = _weights(session)
    # The costly part at scale (every obligation against the registry) runs on the Dask
    # cluster when DASK_SCHEDULER is set: the same arrays (matcher.cluster); the solve
    # below stays one optimisation in this process (splitting it would change it).
    top_rows, top_scores = rank_many_on(get_settings().dask_scheduler, index, obs, ws,
                                        top_k=top_k)
    # Per obligation: (row, fit) of its candidates after the connectors' curation of that
    # obligation (rejected pairs dropped, pinned ones first at the highest fit).
    from api.services.matching import curate_matches, decisions_many

    marks = decisions_many(session, "obligation", [o.ref for o in obs])
    cands: list[list[tuple[int, float]]] = []
    for i, ob in enumerate(obs):
        ranked = [(index.refs_[r], score) for r, score in
                  zip(top_rows[i].tolist(), top_scores[i].tolist(), strict=True)
                  if r >= 0 and math.isfinite(score)]
        fits = curate_matches(session, "obligation", ob.ref, index, ob, ws, ranked,
                              marks.get(ob.ref, {}))
        cands.append([(index.row_of_[r], fit) for r, fit in fits])
    # Per enterprise: the shortest term and, per calendar year, the largest share of a term
    # among the obligations that list it. A node's capacity is what fits in every year at
    # those shares, so whatever the solve gives each obligation, spread over its own term,
    # books no year beyond what is free there.
    ent_years: dict[int, float] = {}
    ent_shares: dict[int, dict[int, float]] = {}
    for i, ob in enumerate(obs):
        for r, _fit in cands[i]:
            ent_years[r] = min(ent_years.get(r, years_of[ob.ref]), years_of[ob.ref])
            most = ent_shares.setdefault(r, {})
            for year, f in shares_of[ob.ref].items():
                most[year] = max(most.get(year, 0.0), f)

    # Edges first: a purchase edge credits its obligation's share of each invoiced euro; a
    # placement edge one place at its obligation's own block and policy (credit_rate).
    # A kind an obligation has committed at an enterprise is not allocated again there (its
    # saved plan could not hold both rows; a commitment changes only by uncommitting it).
    taken = {(a.obligation_ref, a.enterprise_ref, a.kind) for a in session.exec(
        select(AllocationRow).where(AllocationRow.status == "committed"))}
    purchase_edges: list[tuple[int, int, float, float]] = []  # (obligation, row, fit, share)
    place_edges: list[tuple[int, int, float, float, str]] = []  # (..., per place, block)
    for i, ob in enumerate(obs):
        policy = policies[ob.ref]
        for r, score in cands[i]:
            ent = index.enterprise(r)
            fit = min(max(score, 0.0), 1.0)
            if ob.buys and supplies(ent.cpv, ob.buys):
                share = credit_rate(policy, "purchase", on, enterprise=ent)
                if share > 0 and (ob.ref, ent.ref, "purchase") not in taken:
                    purchase_edges.append((i, r, fit, share))
            block = placement_block(policy, ent.target_groups, prefer=ob.target_groups)
            if block is not None and (ob.ref, ent.ref, "placement") not in taken:
                per = credit_rate(policy, "placement", on, block=block)
                if per > 0:
                    place_edges.append((i, r, fit, per, block.key))

    # One node per enterprise and kind. A placement node counts places at the highest value
    # any of its obligations gives one, so each edge's share (its own value over that) is
    # at most 1 and every obligation is credited a place as its own policy values it.
    node_per: dict[int, float] = {}
    for _, r, _, per, _ in place_edges:
        node_per[r] = max(node_per.get(r, 0.0), per)
    supplies_: list[_Supply] = []
    node: dict[tuple[int, str], int] = {}

    def supply_node(r: int, kind: str) -> int | None:
        if (r, kind) in node:
            return node[(r, kind)]
        ent = index.enterprise(r)
        state = c.over_term(ent.ref, ent.capacity, ent_shares[r], ent_years[r])
        if kind == "purchase":
            s = _Supply(ent.ref, kind, math.floor(state.free_purchase_eur * 100 + 1e-6) / 100)
        else:
            free = int(state.free_placements + 1e-9)
            s = _Supply(ent.ref, kind, free * node_per[r], node_per[r])
        if s.capacity_eur <= 0:
            return None
        node[(r, kind)] = len(supplies_)
        supplies_.append(s)
        return node[(r, kind)]

    e_obl: list[int] = []
    e_node: list[int] = []
    e_fit: list[float] = []
    e_share: list[float] = []
    e_per: list[float] = []  # placement edges: the credit of one place (purchases: 0)
    e_block: list[str | None] = []
    for i, r, fit, share in purchase_edges:
        j = supply_node(r, "purchase")
        if j is not None:
            e_obl.append(i)
            e_node.append(j)
            e_fit.append(fit)
            e_share.append(share)
            e_per.append(0.0)
            e_block.append(None)
    for i, r, fit, per, key in place_edges:
        j = supply_node(r, "placement")
        if j is not None:
            e_obl.append(i)
            e_node.append(j)
            e_fit.append(fit)
            e_share.append(per / node_per[r])
            e_per.append(per)
            e_block.append(key)

    demand = np.array([due[o.ref] for o in obs])
    capacity = [s.capacity_eur for s in supplies_]
    result = (allocator or Allocator()).solve(
        np.array(e_obl, dtype=np.int64), np.array(e_node, dtype=np.int64), e_fit, e_share,
        capacity, demand,
    )
    amount, credit, places = whole_placements(
        e_obl, e_node, e_fit, e_share, result.amount_eur, capacity,
        [s.per_place for s in supplies_], demand)
    out_rows = _rows_from_flows(obs, supplies_, e_obl, e_node, e_fit, e_share, e_per, e_block,
                                amount, credit, places)
    credit_by: dict[str, float] = {}
    for row in out_rows:
        credit_by[row.obligation] = credit_by.get(row.obligation, 0.0) + row.credit_eur
    unmet = {ref: round(max(d - credit_by.get(ref, 0.0), 0.0), 2) for ref, d in due.items()}
    return GlobalAllocation(tuple(out_rows), due, unmet, result.solver, result.seconds,
                            result.objective)


def _rows_from_flows(
    obs: Sequence[Obligation], supplies_: Sequence[_Supply], e_obl: list[int],
    e_node: list[int], e_fit: list[float], e_share: list[float], e_per: list[float],
    e_block: list[str | None], amount: np.ndarray, credit: np.ndarray, places: np.ndarray,
) -> list[PlanRow]:
    out: list[PlanRow] = []
    for e, j in enumerate(e_node):
        s = supplies_[j]
        if s.kind == "purchase":
            if credit[e] < 0.01:
                continue
            a = math.floor(amount[e] * 100 + 1e-6) / 100  # cents, never over capacity
            # The credit of the invoiced cents at the edge's credit_rate (as credit_for).
            out.append(PlanRow(obs[e_obl[e]].ref, s.enterprise, "purchase", a,
                               round(a * e_share[e], 2), 0, None, e_fit[e]))
        elif places[e] > 0:
            # As credit_for: whole places times the credit of one under the edge's policy.
            v = round(int(places[e]) * e_per[e], 2)
            out.append(PlanRow(obs[e_obl[e]].ref, s.enterprise, "placement", v, v,
                               int(places[e]), e_block[e], e_fit[e]))
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

    Every row is kept (rows for the same enterprise and kind are summed into one), or the
    whole save is refused with :class:`~api.services.plan_commit.PlanRefused` and the
    reason per row: an unknown enterprise or kind, an enterprise a connector rejected for
    this obligation (the curation log), or an enterprise and kind already
    committed for this obligation (a commitment is changed by uncommitting it first, see
    ``api.services.plan_commit``). ``committed`` rows stay as they are. Returns the saved
    planned rows.
    """
    get_obligation_row(session, ref)
    rows = list(rows)
    keys = [(str(_row_value(r, "enterprise")), str(_row_value(r, "kind", "purchase")))
            for r in rows]
    known = set(session.exec(select(EnterpriseRow.ref)).all())
    refusals = [RowRefusal(i, "kind", "Onbekende soort {kind}.", {"kind": kind})
                for i, (_, kind) in enumerate(keys) if kind not in ("purchase", "placement")]
    refusals += [RowRefusal(i, "enterprise", "Onbekende onderneming {ref}.", {"ref": ent})
                 for i, (ent, _) in enumerate(keys) if ent not in known]
    refusals += clashes_with_committed(session, ref, keys)
    refusals += rejected_by_curation(session, ref, keys)
    if refusals:
        raise PlanRefused(msgn("Het plan is niet opgeslagen: {n} regel kan niet worden "
                               "bewaard.", "Het plan is niet opgeslagen: {n} regels kunnen "
                               "niet worden bewaard.", len({r.index for r in refusals})),
                          sorted(refusals, key=lambda r: r.index))
    for a in session.exec(select(AllocationRow).where(AllocationRow.obligation_ref == ref,
                                                      AllocationRow.status == "planned")):
        session.delete(a)
    session.flush()
    saved: list[AllocationRow] = []
    merged: dict[tuple[str, str], AllocationRow] = {}
    for r, (ent, kind) in zip(rows, keys, strict=True):
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

