"""A plan's state: saved as a draft (``planned`` rows), committed by the firm, uncommitted
with a reason. Every commit and uncommit is logged in the append-only ``PlanEvent``.

* :func:`clashes_with_committed` — rows of a plan being saved that name an enterprise and
  kind already committed for the obligation (the unique (obligation, enterprise, kind)
  row cannot hold both): ``planning.save_plan`` refuses the save with these, row by row.
* :func:`commit_plan` — the planned rows become ``committed`` after re-checking, at that
  moment, the vetting and the free capacity of each enterprise in every calendar year of
  the obligation's term (each row spread over the term by ``matcher.capacity.year_shares``;
  committed and planned rows of other open obligations count, spread over theirs:
  ``api.services.capacity.commitments``); refused whole, with the reason per row and the
  first year that does not fit, when anything no longer fits.
* :func:`uncommit_plan` — committed rows go back to ``planned``; needs a reason.
* :func:`plan_status` — draft/committed, when and by whom, and the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from api.clock import today, utcnow
from api.errors import Conflict, Invalid, NotFound
from api.messages import Message, msgn
from api.services.capacity import commitments, period_of
from api.services.curation_log import latest_states
from api.services.progress import tender_of
from api.services.vetting_flow import validly_vetted
from api.tables import AllocationRow, DeliveryRow, EnterpriseRow, ObligationRow, PlanEvent
from matcher.capacity import CapacityState, year_shares
from matcher.model import Capacity


@dataclass(frozen=True)
class RowRefusal:
    """Why row ``index`` of a plan cannot be kept; ``field`` is the row's field at fault."""

    index: int
    field: str
    message: str  # Dutch source text, translated with ``params``
    params: dict[str, Any] = dc_field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"rows[{self.index}].{self.field}"


class PlanRefused(Conflict):
    """The whole save or commit is refused; ``rows`` says why for each row at fault."""

    def __init__(self, message: str | Message, rows: Iterable[RowRefusal], **params: Any
                 ) -> None:
        self.rows = tuple(rows)
        first = self.rows[0].path if self.rows else None
        super().__init__(first, message, **params)


def _obligation(session: Session, ref: str) -> ObligationRow:
    row = session.exec(select(ObligationRow).where(ObligationRow.ref == ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende verplichting {ref}.", ref=ref)
    return row


def _allocations(session: Session, ref: str) -> list[AllocationRow]:
    return list(session.exec(select(AllocationRow).where(AllocationRow.obligation_ref == ref)
                             .order_by(col(AllocationRow.id))).all())


def _delivered_by_year(session: Session, ref: str) -> dict[tuple[str, str, int], float]:
    """Net delivered on ``ref`` per (enterprise, part, calendar year): euros, places."""
    out: dict[tuple[str, str, int], float] = {}
    for d in session.exec(select(DeliveryRow).where(DeliveryRow.obligation_ref == ref)):
        part = "placement" if d.part == "placement" else "purchase"
        units = ((-1.0 if d.kind == "reversal" else 1.0) if part == "placement"
                 else float(d.amount_eur or 0.0))
        key = (d.enterprise_ref, part, d.on.year)
        out[key] = out.get(key, 0.0) + units
    return out


def clashes_with_committed(session: Session, ref: str,
                           rows: Iterable[tuple[str, str]]) -> list[RowRefusal]:
    """For each (enterprise, kind) of a plan being saved that is already committed for
    ``ref``: a refusal of that row. A committed share is changed by uncommitting first, so a
    draft never silently replaces or drops it."""
    committed = {(a.enterprise_ref, a.kind) for a in _allocations(session, ref)
                 if a.status == "committed"}
    return [RowRefusal(i, "enterprise",
                       "{ref} heeft al een toegezegde regel van deze soort in dit plan; trek "
                       "de toezegging eerst in om die te wijzigen.", {"ref": ent})
            for i, (ent, kind) in enumerate(rows) if (ent, kind) in committed]


def rejected_by_curation(session: Session, ref: str,
                         rows: Iterable[tuple[str, str]]) -> list[RowRefusal]:
    """For each (enterprise, kind) of a plan for ``ref`` whose enterprise a connector's
    current decision rejects for this obligation (the curation log): a refusal of that row,
    naming who rejected it and why. The engine never proposes such an enterprise
    (``api.services.matching.curate_matches``); this holds rows typed in, switched in from
    a ledger, or saved before the rejection."""
    states = latest_states(session, "obligation", [ref])
    return [RowRefusal(i, "enterprise", "{ref} is voor deze verplichting afgewezen door "
                       "{by}: {reason}", {"ref": ent, "by": d.decided_by,
                                          "reason": d.reason or "–"})
            for i, (ent, _kind) in enumerate(rows)
            if (d := states.get((ref, ent))) is not None and d.decision == "reject"]


def snapshot(rows: Iterable[AllocationRow]) -> list[dict[str, Any]]:
    return [{"enterprise": a.enterprise_ref, "kind": a.kind,
             "amount_eur": round(float(a.amount_eur or 0.0), 2),
             "credit_eur": round(float(a.credit_eur or 0.0), 2),
             "placements": int(a.placements or 0), "block": a.block} for a in rows]


def commit_plan(session: Session, ref: str, by: str) -> PlanEvent:
    """Turn the obligation's planned rows into committed ones, or refuse them all."""
    ob = _obligation(session, ref)
    if ob.status != "open":
        # The obligation's state, not the request, is in the way: a conflict (409).
        raise Conflict(None, "Alleen het plan van een open verplichting kan worden toegezegd.")
    planned = [a for a in _allocations(session, ref) if a.status == "planned"]
    if not planned:
        raise Conflict(None, "Er is geen ontwerpplan om toe te zeggen: sla eerst een plan op.")
    # Capacity now, in every calendar year of the obligation's term: what every other
    # obligation books there (committed and planned rows spread over their terms, or their
    # deliveries when more, accepted matches' holds) beside this row spread over this term,
    # or what this obligation already delivered there when that is more.
    others = commitments(session, leaving_out=[ref])
    shares = year_shares(*period_of(ob, tender_of(session, ob)))
    delivered = _delivered_by_year(session, ref)
    ents = {e.ref: e for e in session.exec(select(EnterpriseRow).where(
        col(EnterpriseRow.ref).in_([a.enterprise_ref for a in planned])))}
    vetted = set(session.exec(select(EnterpriseRow.ref).where(
        col(EnterpriseRow.ref).in_([a.enterprise_ref for a in planned]),
        validly_vetted(today()))).all())
    refusals: list[RowRefusal] = rejected_by_curation(
        session, ref, [(a.enterprise_ref, a.kind) for a in planned])
    for i, a in enumerate(planned):
        ent = ents.get(a.enterprise_ref)
        if ent is None or ent.ref not in vetted:
            refusals.append(RowRefusal(i, "enterprise", "{ref} is niet (meer) gescreend.",
                                       {"ref": a.enterprise_ref}))
            continue
        part = "placement" if a.kind == "placement" else "purchase"
        want = float(a.placements or 0) if part == "placement" else float(a.amount_eur or 0.0)
        booked = others.by_year.get(ent.ref, {})
        for year, share in sorted(shares.items()):
            state = CapacityState.of(Capacity(int(ent.placements_per_year or 0),
                                              float(ent.purchasing_eur_per_year or 0.0)),
                                     booked.get(year))
            done = delivered.get((ent.ref, part, year), 0.0)
            if part == "placement":
                need = max(want * share, done)
                if need > state.free_placements + 1e-6:
                    refusals.append(RowRefusal(
                        i, "placements", "{ref} heeft in {year} nog {free} vrije plaatsing(en), "
                        "het plan vraagt er dat jaar {want}.",
                        {"ref": ent.ref, "year": year, "free": round(state.free_placements, 2),
                         "want": round(need, 2)}))
                    break
            else:
                need = max(want * share, done)
                if need > state.free_purchase_eur + 0.005:
                    refusals.append(RowRefusal(
                        i, "amount_eur", "{ref} heeft in {year} nog {free_eur} vrije "
                        "inkoopcapaciteit, het plan vraagt dat jaar {want_eur}.",
                        {"ref": ent.ref, "year": year,
                         "free_eur": round(state.free_purchase_eur, 2),
                         "want_eur": round(need, 2)}))
                    break
    if refusals:
        refusals.sort(key=lambda r: r.index)
        raise PlanRefused(msgn("Het plan is niet toegezegd: {n} regel past niet meer.",
                               "Het plan is niet toegezegd: {n} regels passen niet meer.",
                               len({r.index for r in refusals})), refusals)
    now = utcnow()
    for a in planned:
        a.status, a.updated_at = "committed", now
        session.add(a)
    event = PlanEvent(obligation_ref=ref, action="commit", decided_by=by, decided_at=now,
                      rows=snapshot(planned))
    session.add(event)
    session.commit()
    session.refresh(event)
    return event


def uncommit_plan(session: Session, ref: str, by: str, reason: str) -> PlanEvent:
    """Turn the obligation's committed rows back into planned ones; ``reason`` is required
    and logged with the rows."""
    _obligation(session, ref)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason", "Geef een reden om de toezegging in te trekken.")
    committed = [a for a in _allocations(session, ref) if a.status == "committed"]
    if not committed:
        raise Conflict(None, "Er is geen toegezegd plan om in te trekken.")
    now = utcnow()
    for a in committed:
        a.status, a.updated_at = "planned", now
        session.add(a)
    event = PlanEvent(obligation_ref=ref, action="uncommit", reason=reason, decided_by=by,
                      decided_at=now, rows=snapshot(committed))
    session.add(event)
    session.commit()
    session.refresh(event)
    return event


@dataclass(frozen=True)
class PlanStatus:
    """``committed`` when the plan has committed rows (``draft_rows`` counts planned ones
    beside them); ``at``/``by`` of the latest commit, when one was logged."""

    state: str  # empty | draft | committed
    draft_rows: int
    committed_rows: int
    at: datetime | None
    by: str | None
    log: tuple[PlanEvent, ...]


def events(session: Session, ref: str) -> list[PlanEvent]:
    return list(session.exec(select(PlanEvent).where(PlanEvent.obligation_ref == ref)
                             .order_by(col(PlanEvent.decided_at), col(PlanEvent.id))).all())


def plan_status(session: Session, ref: str,
                allocations: Iterable[AllocationRow] | None = None) -> PlanStatus:
    rows = list(allocations) if allocations is not None else _allocations(session, ref)
    log = events(session, ref)
    n_committed = sum(1 for a in rows if a.status == "committed")
    n_draft = len(rows) - n_committed
    last_commit = next((e for e in reversed(log) if e.action == "commit"), None)
    state = "committed" if n_committed else "draft" if n_draft else "empty"
    show = last_commit if state == "committed" else None
    return PlanStatus(state, n_draft, n_committed, show.decided_at if show else None,
                      show.decided_by if show else None, tuple(log))


def refusal_texts(exc: PlanRefused, translate: Any,
                  fmt: Mapping[str, Any] | None = None) -> dict[int, tuple[str, str]]:
    """Per row index: (field, message translated by ``translate``); ``fmt`` maps a param
    suffix to a formatter (e.g. ``{"_eur": format_eur}``)."""
    out: dict[int, tuple[str, str]] = {}
    for r in exc.rows:
        params = {k: next((f(v) for s, f in (fmt or {}).items() if k.endswith(s)), v)
                  for k, v in r.params.items()}
        out.setdefault(r.index, (r.field, str(translate(r.message, **params))))
    return out
