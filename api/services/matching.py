"""Matching from the store: the one entry point the pages, the JSON API and the CLI share.

* :func:`get_index` — the engine's ``EnterpriseIndex`` over the whole registry, with the
  commitments of each enterprise (``api.services.capacity``), cached per
  database URL. A cheap change token (a handful of aggregates: counts, latest
  ``updated_at`` and ids of enterprises, allocations, obligations, tenders and tender
  curation decisions, plus the reference date) decides whether the cache is still good.
  When only commitments changed, the cached index is copied with new commitments
  (no refit); when enterprises changed, it is rebuilt. :func:`invalidate` drops it.
* :func:`match_tender`, :func:`match_obligation`, :func:`match_challenge` — ranked
  results as :class:`MatchList` / :class:`ChallengeMatches` (JSON-ready ``as_dict``).
* :func:`why_not` — why an enterprise is or is not proposed for a tender, obligation or
  Challenge (``matcher.rank.why_not``'s dict, plus the connector's decision on it).

Curation takes effect here, after ranking (the engine stays pure): the latest decision
per (query, enterprise) from ``api.services.curation_log``. Pinned enterprises lead the
list in pin order (fetched from the engine when not in the top K, marked when a hard
constraint excludes them), rejected ones leave ``results`` for ``rejected`` with the
reason, accepted ones are marked. Every page, the JSON API and the CLI see the same.
* The honest cut: a tender's or obligation's ``results`` hold only the enterprises the
  engine judges suitable (relevance to the work at or above ``matcher.rank.SUITABLE_FLOOR``);
  the nearest others go to ``maybe`` ("mogelijk passend", each with its ``below_floor``
  reason saying what it lacks), and ``n_suitable`` counts the suitable candidates. When
  nothing is suitable ``results`` is empty and ``maybe`` shows what came closest.
* :func:`tender_feasibility` — can the region bear the tender's social-return demand
  (``api.services.feasibility.assess``)?

A query's own commitments never count against the enterprises it ranks: a tender's list
leaves out its own accepted matches, an obligation's leaves out its own ``planned``
allocation rows (as ``api.services.planning`` does). The cached index is shared between
requests: treat it as read-only (copy it before ``set_committed``/``add_or_update``).
"""

from __future__ import annotations

import copy
import hashlib
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal, overload

from sqlalchemy import case, event, func, true
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from api.capacity_view import capacity_fields
from api.clock import today
from api.convert import (
    challenge_from_row,
    enterprise_from_row,
    obligation_from_row,
    tender_from_row,
)
from api.errors import Conflict, Invalid, NotFound
from api.importers.common import CLOSED_STATUSES
from api.services import curation_log, heap
from api.services.capacity import commitments
from api.services.change_tokens import TokenMemo, cached_token
from api.services.curation_log import DecisionInput, latest_states
from api.services.feasibility import (
    Feasibility,
    assess,
    not_applicable_reason,
    tender_candidates,
)
from api.services.lru import LRU
from api.services.obligation_terms import obligation_terms
from api.services.policies import applicable_policy
from api.tables import (
    AllocationRow,
    ChallengeRow,
    CurationDecision,
    EnterpriseRow,
    ObligationRow,
    TenderRow,
)
from matcher.capacity import CapacityState, Commitment, term_years
from matcher.challenge import ChallengeMatcher, Coalition
from matcher.constraints import exclusions
from matcher.geo import haversine_km
from matcher.index import EnterpriseIndex
from matcher.lots import lot_tenders
from matcher.model import Capacity, Enterprise, Lot, Vetting
from matcher.query import Query, from_challenge, from_obligation, from_tender
from matcher.rank import Match, match_of, rank_query, to_matches
from matcher.rank import why_not as engine_why_not
from matcher.reasons import Reason, as_dicts
from matcher.valuation import (
    Policy,
    placement_year_eur,
    reference_placement_year_eur,
    tender_due,
)
from matcher.weights import WeightSet

KINDS = ("tender", "obligation", "challenge")
MAX_TOP_K = 500
MAYBE_K = 5  # "mogelijk passend": the nearest candidates below the floor shown


# ------------------------------------------------------------------ views


@dataclass(frozen=True)
class DecisionMark:
    """A connector's current decision on one match (the latest in the curation log)."""

    decision: str  # accept | pin | reject
    decided_by: str
    reason: str
    decided_at: datetime | None
    override: bool = False  # accepted/pinned although a hard constraint excludes it

    def as_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "decided_by": self.decided_by,
                "reason": self.reason, "override": self.override,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None}


@dataclass(frozen=True)
class RejectedView:
    ref: str
    name: str
    decision: DecisionMark

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "name": self.name, **self.decision.as_dict()}


@dataclass(frozen=True)
class MatchView:
    rank: int
    ref: str
    name: str
    municipality: str | None
    score: float
    contributions: dict[str, float]
    features: dict[str, float]
    reasons: list[Reason]  # data; rendered by api/reasons.py
    distance_km: float | None
    capacity: CapacityState  # per year, after commitments elsewhere
    placement_eur: float  # euros one placement-year counts for (the index's value)
    decision: DecisionMark | None = None  # the connector's, when there is one
    excluded_by: list[Reason] = field(default_factory=list)  # pinned despite these
    relevance: float = 1.0  # to the work (matcher.rank.relevance)
    suitable: bool = True  # at or above the suitable floor

    @property
    def remaining_eur(self) -> float:
        """Free capacity in euros, placements at ``placement_eur`` (the ranking's figure)."""
        return self.capacity.free_eur(self.placement_eur)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "ref": self.ref, "name": self.name,
            "municipality": self.municipality, "score": round(self.score, 6),
            "contributions": {k: round(v, 6) for k, v in self.contributions.items()},
            "features": {k: round(v, 6) for k, v in self.features.items()},
            "reasons": as_dicts(self.reasons),
            "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
            **capacity_fields(self.capacity),
            "remaining_eur": round(self.remaining_eur, 2),
            "relevance": round(self.relevance, 6), "suitable": self.suitable,
            "decision": None if self.decision is None else self.decision.decision,
            "decided": None if self.decision is None else self.decision.as_dict(),
            "excluded_by": as_dicts(self.excluded_by),
        }


@dataclass(frozen=True)
class MatchList:
    kind: str
    ref: str
    results: list[MatchView]
    n_candidates: int  # enterprises passing the hard constraints
    n_excluded: int  # enterprises in the registry failing at least one
    weights: str  # "name vN" of the weight set that scored them
    rejected: list[RejectedView] = field(default_factory=list)  # left the list by decision
    # Below the suitable floor: the nearest few, with the reason (``below_floor``).
    maybe: list[MatchView] = field(default_factory=list)
    n_suitable: int | None = None  # candidates judged suitable (None: not judged)
    place_judged: bool = True  # False: no Dutch place of work, distance not judged
    # A tender in two or more lots: the same list per lot (matcher.lots), in lot order.
    lots: list[LotMatches] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref,
                "results": [m.as_dict() for m in self.results],
                "maybe": [m.as_dict() for m in self.maybe],
                "rejected": [r.as_dict() for r in self.rejected],
                "n_candidates": self.n_candidates, "n_excluded": self.n_excluded,
                "n_suitable": self.n_suitable, "place_judged": self.place_judged,
                "weights": self.weights, "lots": [x.as_dict() for x in self.lots]}


@dataclass(frozen=True)
class LotMatches:
    """One lot of a tender and its own match list (suitable, "mogelijk passend")."""

    lot: Lot
    matches: MatchList

    def as_dict(self) -> dict[str, Any]:
        lot = self.lot
        return {"id": lot.id, "title": lot.title, "cpv": list(lot.cpv),
                "value_eur": lot.value_eur, "municipality": lot.municipality,
                **{k: v for k, v in self.matches.as_dict().items() if k != "lots"}}


@dataclass(frozen=True)
class CoalitionView:
    members: list[MatchView]
    score: float
    reasons: list[Reason]
    capacity_eur: float
    coverage: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)
    brings: dict[str, tuple[str, ...]] = field(default_factory=dict)  # member ref -> themes

    def as_dict(self) -> dict[str, Any]:
        return {"members": [m.as_dict() for m in self.members],
                "refs": [m.ref for m in self.members],
                "score": round(self.score, 6), "reasons": as_dicts(self.reasons),
                "capacity_eur": round(self.capacity_eur, 2), "coverage": round(self.coverage, 6),
                "parts": {k: round(v, 6) for k, v in self.parts.items()},
                "brings": {k: list(v) for k, v in self.brings.items()}}


@dataclass(frozen=True)
class ChallengeMatches:
    results: MatchList  # diversified (maximal marginal relevance)
    coalitions: list[CoalitionView]
    max_partners: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.results.as_dict(),
                "coalitions": [c.as_dict() for c in self.coalitions],
                "max_partners": self.max_partners}


# ------------------------------------------------------------------ index cache

_lock = threading.Lock()
# url -> (enterprise token, commitments token, reference date, index)
_cache: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], date, EnterpriseIndex]] = {}
_build_lock = threading.Lock()  # one (re)build at a time; others wait and reuse it


def invalidate() -> None:
    """Drop every cached index (call after writes the change token might not see)."""
    with _lock:
        _cache.clear()
    _SHARED_TOKENS.clear()
    _RESULTS.clear()
    _FEASIBILITY.clear()


def _url(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=False)


_TOKENS_MEMO = "matching.tokens"
_SHARED_TOKENS = TokenMemo(ttl_s=5.0)  # the shared data version says sooner


@event.listens_for(OrmSession, "after_flush")
def _forget_tokens(session: Any, _context: Any) -> None:
    session.info.pop(_TOKENS_MEMO, None)


def _tokens(session: Session) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(enterprise token, commitments token): a few aggregates in one round trip, one
    scan per table (each table's aggregates in one derived row, the rows cross-joined).

    Remembered for the rest of the session's transaction (a page asks for the index two
    or three times): forgotten at a flush, a commit or a rollback, and not used while
    the session holds unflushed changes (the query would have flushed them first)."""
    memo = session.info.get(_TOKENS_MEMO)
    pending = bool(session.new or session.dirty or session.deleted)
    if memo is not None and not pending and memo[0] is not None \
            and memo[0] is session.get_transaction():
        return memo[1]  # type: ignore[no-any-return]
    # Across requests: shared for up to a second while nothing is committed (change_tokens).
    tokens = cached_token(_SHARED_TOKENS, session, _url(session),
                          lambda: _query_tokens(session))
    session.info[_TOKENS_MEMO] = (session.get_transaction(), tokens)
    return tokens


def change_tokens(session: Session) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The change tokens of the registry, commitments, obligations, tenders and curation
    decisions (memoised as :func:`_tokens` says), for caches of what is built from them
    (``api.services.render_cache``)."""
    return _tokens(session)


def _query_tokens(session: Session) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    E, A, Ob, T, D = EnterpriseRow, AllocationRow, ObligationRow, TenderRow, CurationDecision

    def n_where(c: Any, value: str) -> Any:
        return func.sum(case((c == value, 1), else_=0))

    per_table = [
        sa_select(func.count(col(E.id)), func.max(E.updated_at), func.max(E.id),
                  # Vetting and capacity changes may not bump updated_at.
                  n_where(E.vetting_status, "vetted"), func.max(E.vetting_valid_until),
                  func.min(E.vetting_valid_until),
                  func.sum(E.purchasing_eur_per_year + E.placements_per_year)),
        sa_select(func.count(col(A.id)), func.max(A.updated_at), func.max(A.id),
                  func.sum(A.amount_eur), n_where(A.status, "committed")),
        sa_select(func.count(col(Ob.id)), func.max(Ob.updated_at), n_where(Ob.status, "open")),
        sa_select(func.count(col(T.id)), func.max(T.updated_at)),
        sa_select(func.count(col(D.id)), func.max(D.id)),
    ]
    subs = [q.subquery(f"t{i}") for i, q in enumerate(per_table)]
    joined: Any = subs[0]
    for sub in subs[1:]:
        joined = joined.join(sub, true())
    row = session.execute(
        sa_select(*[c for sub in subs for c in sub.c]).select_from(joined)).one()
    vals = tuple(str(v) if v is not None else None for v in row)
    return vals[:7], vals[7:]


def _placeholder() -> Enterprise:
    return Enterprise(ref="\x00empty", name="leeg", description="leeg register", cpv=(),
                      lat=0.0, lon=0.0,
                      capacity=Capacity(), vetting=Vetting())


def _build(session: Session, on: date, committed: Mapping[str, Commitment]
           ) -> EnterpriseIndex:
    ents = [enterprise_from_row(r) for r in
            session.exec(select(EnterpriseRow).order_by(col(EnterpriseRow.id))).all()]
    if not ents:
        # An empty registry: fit on one placeholder and tombstone it, so every caller gets
        # a working index with no candidates.
        index = EnterpriseIndex.build([_placeholder()], reference_date=on)
        index.remove(_placeholder().ref)
        return index
    return EnterpriseIndex.build(ents, reference_date=on, committed=dict(committed))


def get_index(session: Session) -> EnterpriseIndex:
    """The ranking index over the whole registry with committed euros, cached per
    database URL; reference date: ``settings.today`` (else the real date).

    Builds one at a time: a request arriving during a build (e.g. the start-up warm-up,
    :func:`warm`) waits for it and takes its result instead of starting a second one."""
    url = _url(session)
    on = today()
    ent_token, com_token = _tokens(session)
    hit = _fresh(url, ent_token, com_token, on)
    if hit is not None:
        return hit
    with _build_lock:
        hit = _fresh(url, ent_token, com_token, on)  # built while we waited
        if hit is not None:
            return hit
        with _lock:
            cached = _cache.get(url)
        if cached is not None and cached[0] == ent_token and cached[2] == on:
            # Only commitments changed: same fit, new committed euros (O(n), no refit).
            index = copy.copy(cached[3])
            index.set_committed(commitments(session).by_enterprise)
        else:
            index = _build(session, on, commitments(session).by_enterprise)
            heap.settle_soon()  # the old index's objects go, the new one's stay
        with _lock:
            _cache[url] = (ent_token, com_token, on, index)
    return index


def _fresh(url: str, ent_token: tuple[Any, ...], com_token: tuple[Any, ...], on: date
           ) -> EnterpriseIndex | None:
    with _lock:
        hit = _cache.get(url)
    if hit is not None and hit[0] == ent_token and hit[1] == com_token and hit[2] == on:
        return hit[3]
    return None


def warm(session: Session) -> None:
    """Build the index now (app start-up, off the request path): the first match request
    then finds it cached, or waits for this build if it is still running."""
    get_index(session)


def _with_committed(index: EnterpriseIndex, committed: Mapping[str, Commitment]
                    ) -> EnterpriseIndex:
    """A shallow copy of the shared index with other commitments."""
    out = copy.copy(index)
    out.set_committed(dict(committed))
    return out


def index_with_committed(session: Session, committed: Mapping[str, Commitment],
                         on: date | None = None) -> EnterpriseIndex:
    """The index with a caller's own commitments (e.g. leaving out the planned rows
    of obligations being replanned): a copy of the cached index when ``on`` is the
    reference date (no refit), a fresh build for any other date."""
    if on is None or on == today():
        return _with_committed(get_index(session), committed)
    return _build(session, on, committed)


# ------------------------------------------------------------------ loading


def _weights(session: Session) -> WeightSet:
    from api.services.weights import active_weights

    return active_weights(session)


def _weights_label(ws: WeightSet) -> str:
    return f"{ws.name} v{ws.version}"


def _tender_row(session: Session, ref: str) -> TenderRow:
    row = session.exec(select(TenderRow).where(TenderRow.ref == ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende aanbesteding {ref}.", ref=ref)
    return row


def _obligation_row(session: Session, ref: str) -> ObligationRow:
    row = session.exec(select(ObligationRow).where(ObligationRow.ref == ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende verplichting {ref}.", ref=ref)
    return row


def _challenge_row(session: Session, ref: str) -> ChallengeRow:
    row = session.exec(select(ChallengeRow).where(ChallengeRow.ref == ref)).first()
    if row is None:
        raise NotFound(None, "Onbekende Challenge {ref}.", ref=ref)
    return row


def _check_top_k(top_k: int) -> int:
    if not 1 <= int(top_k) <= MAX_TOP_K:
        raise Invalid("top_k", "Aantal resultaten moet tussen 1 en {max} liggen.",
                        max=MAX_TOP_K)
    return int(top_k)


def _tender_index(session: Session, ref: str) -> EnterpriseIndex:
    index = get_index(session)
    own = session.exec(select(func.count()).select_from(CurationDecision).where(
        CurationDecision.query_kind == "tender", CurationDecision.query_ref == ref)).one()
    if own:
        index = _with_committed(index,
                                commitments(session, excluding_tenders=[ref]).by_enterprise)
    return index


def _obligation_index(session: Session, ref: str) -> EnterpriseIndex:
    index = get_index(session)
    own = session.exec(select(func.count()).select_from(AllocationRow).where(
        AllocationRow.obligation_ref == ref, AllocationRow.status == "planned")).one()
    if own:
        index = _with_committed(index, commitments(session, replanning=[ref]).by_enterprise)
    return index


def _query(session: Session, kind: str, ref: str) -> tuple[Query, EnterpriseIndex]:
    if kind == "tender":
        tender_row = _tender_row(session, ref)
        if tender_row.status in CLOSED_STATUSES:
            # Kept and shown with its status, but nobody is proposed for a procedure
            # that was cancelled, failed, completed or withdrawn.
            raise Conflict("status", "Deze aanbesteding is gepubliceerd als {status}: er wordt "
                           "niet voor gematcht.", status=tender_row.status)
        return from_tender(tender_from_row(tender_row)), _tender_index(session, ref)
    if kind == "obligation":
        row = _obligation_row(session, ref)
        tender = None
        if row.tender_ref:
            tender = session.exec(
                select(TenderRow).where(TenderRow.ref == row.tender_ref)).first()
        return (from_obligation(obligation_from_row(row, tender)),
                _obligation_index(session, ref))
    if kind == "challenge":
        return from_challenge(challenge_from_row(_challenge_row(session, ref))), get_index(session)
    raise Invalid("kind", "Onbekende soort {kind}: kies tender, obligation of challenge.",
                    kind=kind)


# ------------------------------------------------------------------ views from engine


def _view(index: EnterpriseIndex, query: Query, m: Match, rank: int | None = None
          ) -> MatchView:
    e = index.enterprise(m.ref)
    km = None
    if query.lat is not None and query.lon is not None:
        km = haversine_km(query.lat, query.lon, e.lat, e.lon)
    return MatchView(
        rank=m.rank if rank is None else rank, ref=m.ref, name=m.name,
        municipality=e.municipality, score=float(m.score), contributions=dict(m.contributions),
        features=dict(m.features), reasons=list(m.reasons), distance_km=km,
        capacity=index.capacity(m.ref), placement_eur=index.placement_eur,
        relevance=float(m.relevance), suitable=bool(m.suitable),
    )


# ------------------------------------------------------------------ curation


def decisions(session: Session, kind: str, ref: str) -> dict[str, DecisionMark]:
    """The current decision per enterprise on one query (``unpin`` clears a pin)."""
    return decisions_many(session, kind, [ref]).get(ref, {})


def decisions_many(session: Session, kind: str, refs: Sequence[str]
                   ) -> dict[str, dict[str, DecisionMark]]:
    """``decisions`` for many queries of one kind at once: query ref -> enterprise ->
    decision (queries without any are left out)."""
    out: dict[str, dict[str, DecisionMark]] = {}
    for (q, ent), d in latest_states(session, kind, list(refs)).items():
        if d.decision in ("accept", "pin", "reject"):
            out.setdefault(q, {})[ent] = DecisionMark(
                decision=d.decision, decided_by=d.decided_by, reason=d.reason,
                decided_at=d.decided_at, override=bool(d.override))
    return out


def _decisions_token(session: Session, kind: str, ref: str) -> str:
    """Changes with every decision on this query (the log is append-only)."""
    D = CurationDecision
    n, last = session.execute(
        sa_select(func.count(col(D.id)), func.max(D.id)).where(
            col(D.query_kind) == kind, col(D.query_ref) == ref)).one()
    return f"{n}:{last}"


def _curate(session: Session, kind: str, ref: str, index: EnterpriseIndex, query: Query,
            ws: WeightSet, views: list[MatchView]) -> tuple[list[MatchView], list[RejectedView]]:
    marks = decisions(session, kind, ref)
    if not marks:
        return views, []
    by_ref = {v.ref: v for v in views}
    pins = sorted((r for r, m in marks.items() if m.decision == "pin" and r in index),
                  key=lambda r: (marks[r].decided_at or datetime.min, r))
    pinned: list[MatchView] = []
    for r in pins:
        v = by_ref.get(r)
        if v is None:  # below the top K, or excluded by a hard constraint: shown anyway
            m, exc, _n = match_of(index, query, r, ws)
            if m is None:
                e = index.enterprise(r)
                m = Match(ref=r, name=e.name, score=0.0, rank=0)
            v = replace(_view(index, query, m), excluded_by=list(exc))
        pinned.append(replace(v, decision=marks[r]))
    rest = [replace(v, decision=marks.get(v.ref)) for v in views
            if v.ref not in marks or marks[v.ref].decision == "accept"]
    out = [replace(v, rank=i + 1) for i, v in enumerate([*pinned, *rest])]
    rejected = [RejectedView(ref=r, name=index.enterprise(r).name if r in index else r,
                             decision=m)
                for r, m in sorted(marks.items(), key=lambda x: x[0])
                if m.decision == "reject"]
    return out, rejected


def rejected_refs(session: Session, kind: str, ref: str) -> frozenset[str]:
    """The enterprises a connector's current decision rejects for this query."""
    return frozenset(r for r, m in decisions(session, kind, ref).items()
                     if m.decision == "reject")


def curate_matches(session: Session, kind: str, ref: str, index: EnterpriseIndex,
                   item: Any, ws: WeightSet, matches: Sequence[tuple[str, float]],
                   marks: Mapping[str, DecisionMark] | None = None
                   ) -> list[tuple[str, float]]:
    """The curation log's decisions applied to what a plan or allocation works from:
    ranked ``(enterprise ref, score)`` pairs become ``(enterprise ref, fit)`` pairs with
    the rejected ones left out and the pinned ones first with the highest fit (1.0), so
    a plan uses them before any other (its best-fit phase prefers the higher fit). A
    pinned enterprise below the top K is fetched; one a hard constraint excludes is
    planned only when the connector overrode that constraint. ``item``: the query
    (an engine ``Obligation``, ``Tender`` or ``Query``); ``marks``: the decisions when
    the caller has them already (``decisions``)."""
    marks = decisions(session, kind, ref) if marks is None else marks
    if not marks:
        return [(r, float(s)) for r, s in matches]
    pins = sorted((r for r, m in marks.items() if m.decision == "pin" and r in index),
                  key=lambda r: (marks[r].decided_at or datetime.min, r))
    pinned: list[tuple[str, float]] = []
    for r in pins:
        if not any(r == x for x, _ in matches):
            m, _exc, _n = match_of(index, item, r, ws)
            if m is None and not marks[r].override:
                continue
        pinned.append((r, 1.0))
    done = {r for r, _ in pinned}
    rest = [(r, float(s)) for r, s in matches
            if r not in done and (r not in marks or marks[r].decision != "reject")]
    return [*pinned, *rest]


def _match_list(session: Session, kind: str, ref: str, top_k: int) -> MatchList:
    top_k = _check_top_k(top_k)
    query, index = _query(session, kind, ref)
    ws = _weights(session)
    ml = _ranked_list(session, kind, ref, top_k, query, index, ws)
    if kind == "tender":
        # Per lot: the lot's codes, value and place (matcher.lots); the tender's curation
        # decisions (pins, rejections) hold in every lot's list.
        per_lot = [LotMatches(lot, _ranked_list(session, kind, ref, top_k, from_tender(lt),
                                                index, ws))
                   for lot, lt in lot_tenders(tender_from_row(_tender_row(session, ref)))]
        ml = replace(ml, lots=per_lot)
    return ml


def _ranked_list(session: Session, kind: str, ref: str, top_k: int, query: Query,
                 index: EnterpriseIndex, ws: WeightSet) -> MatchList:
    # Ranked deep enough that the suitable top K and the nearest unsuitable ones are both
    # there (context features are gated by relevance, so the unsuitable sort low).
    ranked = rank_query(index, query, ws, top_k=top_k + MAYBE_K)
    all_views = [_view(index, query, m) for m in to_matches(index, ranked)]
    views = [v for v in all_views if v.suitable][:top_k]
    below = [v for v in all_views if not v.suitable]
    views, rejected = _curate(session, kind, ref, index, query, ws, views)
    decided = {v.ref for v in views} | {r.ref for r in rejected}
    maybe = [replace(v, rank=i + 1) for i, v in
             enumerate([v for v in below if v.ref not in decided][:MAYBE_K])]
    if kind == "obligation":
        views = _credit_shares(session, ref, index, views)
        maybe = _credit_shares(session, ref, index, maybe)
    return MatchList(kind=kind, ref=ref, results=views, n_candidates=ranked.n_candidates,
                     n_excluded=len(index) - ranked.n_candidates, weights=_weights_label(ws),
                     rejected=rejected, maybe=maybe, n_suitable=ranked.n_suitable,
                     place_judged=query.has_location)


def _credit_shares(session: Session, ref: str, index: EnterpriseIndex,
                   views: list[MatchView]) -> list[MatchView]:
    """An obligation's list says what each enterprise carries as its plan counts it: the
    credit of its free capacity over the obligation's term under the obligation's policy
    (``ObligationTerms.candidates``, the plan's own candidates), of what is still due. An
    enterprise whose certificate earns nothing under that policy and whose places are taken
    carries 0 %. Replaces the ranking's generic ``capacity_share`` reason."""
    try:
        terms = obligation_terms(session, _obligation_row(session, ref), today())
    except Invalid:
        # No policy applies (or an unknown one): the plan says so; the ranking's figure stands.
        return views
    cands = terms.candidates([(index.enterprise(v.ref), 0.0) for v in views])
    out = []
    for v, cand in zip(views, cands, strict=True):
        credit = cand.carries(terms.due_eur)
        reasons = [credit if r.code == "capacity_share" else r for r in v.reasons]
        if credit not in reasons:
            reasons.append(credit)
        out.append(replace(v, reasons=reasons))
    return out


def match_tender(session: Session, ref: str, top_k: int = 20) -> MatchList:
    """The best ``top_k`` vetted enterprises for a tender's social-return clause."""
    return _match_list(session, "tender", ref, top_k)


def match_obligation(session: Session, ref: str, top_k: int = 20) -> MatchList:
    """The best ``top_k`` enterprises for a firm's obligation."""
    return _match_list(session, "obligation", ref, top_k)


def match_challenge(session: Session, ref: str, top_k: int = 10,
                    matcher: ChallengeMatcher | None = None) -> ChallengeMatches:
    """Diversified results and coalitions (up to the Challenge's ``max_partners``)."""
    top_k = _check_top_k(top_k)
    ch = challenge_from_row(_challenge_row(session, ref))
    index = get_index(session)
    ws = _weights(session)
    m = copy.copy(matcher) if matcher is not None else ChallengeMatcher()
    m.weights, m.top_k = ws, top_k
    # A rejected enterprise is in no result nor coalition (nor named as the closest
    # alternative); _curate lists it under "rejected".
    m.fit(index, ch, exclude=rejected_refs(session, "challenge", ref))
    query = m.query_
    views, rejected = _curate(session, "challenge", ref, index, query, m.weights_,
                              [_view(index, query, r) for r in m.results_])
    results = MatchList(
        kind="challenge", ref=ref, results=views,
        n_candidates=m.n_candidates_, n_excluded=len(index) - m.n_candidates_,
        weights=_weights_label(m.weights_),  # the Challenge profile, unless the matcher has none
        rejected=rejected,
    )
    coalitions = [_coalition_view(index, m, query, c) for c in m.coalitions_]
    return ChallengeMatches(results=results, coalitions=coalitions,
                            max_partners=m.max_partners_)


def _coalition_view(index: EnterpriseIndex, m: ChallengeMatcher, query: Query,
                    c: Coalition) -> CoalitionView:
    members = [_view(index, query, x) for x in m.member_matches(index, c)]
    return CoalitionView(members=members, score=c.score, reasons=list(c.reasons),
                         capacity_eur=c.capacity_eur, coverage=c.coverage, parts=dict(c.parts),
                         brings=dict(c.brings))


def why_not(session: Session, kind: str, ref: str, enterprise_ref: str) -> dict[str, Any]:
    """Why ``enterprise_ref`` is or is not proposed for the ``kind`` query ``ref``:
    ``matcher.rank.why_not``'s dict plus ``kind``, ``query_ref`` and ``name``."""
    query, index = _query(session, kind, ref)
    if enterprise_ref not in index:
        raise NotFound(None, "Onbekende onderneming {ref}.", ref=enterprise_ref)
    out = engine_why_not(index, query, enterprise_ref, _weights(session))
    out["name"] = index.enterprise(enterprise_ref).name
    out["kind"] = kind
    out["query_ref"] = ref
    mark = decisions(session, kind, ref).get(enterprise_ref)
    # Store data, not an engine reason: the views render it beside the engine's answer.
    out["decision"] = None if mark is None else mark.as_dict()
    return out


def decide(session: Session, data: DecisionInput, decided_by: str) -> CurationDecision:
    """Record a connector's decision (``curation_log.record``). Accepting or pinning an
    enterprise that a hard constraint excludes from this query is refused unless the
    decision says it overrides that, with a reason; the log keeps that it did."""
    curation_log.validate(session, data)
    if data.decision in ("accept", "pin"):
        query, index = _query(session, data.query_kind, data.query_ref)
        excluded = (data.enterprise_ref in index
                    and bool(exclusions(index, query, index.row_of_[data.enterprise_ref])))
        if excluded and not data.override:
            raise Conflict("override", "Een harde eis sluit {ref} uit voor deze vraag. "
                           "Kies ‘uitsluiting opzij zetten’ en geef een reden.",
                           ref=data.enterprise_ref)
        data = replace(data, override=excluded and data.override)
    return curation_log.record(session, data, decided_by)


def placement_value(policy: Policy | None) -> float:
    """Euros one placement-year counts for under the tender's valuation policy; without
    one (nothing can be credited) the index's ranking value, shown as context only."""
    if policy is None:
        return reference_placement_year_eur()
    return placement_year_eur(policy)


def tender_feasibility(session: Session, ref: str) -> Feasibility:
    """Can the region bear this tender's social return? The candidates are the
    enterprises passing the tender's hard constraints other than remaining capacity
    (an enterprise fully booked elsewhere still shows as capacity that is committed),
    with the euros they committed elsewhere; of those, the purchasing capacity of the
    ones whose work fits the tender and the placements of the ones serving its target
    groups count (the model: ``api.services.feasibility``).

    Cached per tender while the index is the same object (no enterprise, commitment,
    curation decision or reference date changed: any of them gives a new index), and
    the weight set and the tender row's ``updated_at`` are the same."""
    row = _tender_row(session, ref)
    index = get_index(session)
    ws = _weights(session)
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), ref)
    stamp = f"{ws.name} v{ws.version}|{row.updated_at}"
    hit = _FEASIBILITY.get(key)
    if hit is not None and hit[0]() is index and hit[1] == stamp:
        return hit[2]
    tender = tender_from_row(row)
    query = from_tender(tender)
    committed = commitments(session, excluding_tenders=[ref]).by_enterprise
    full = _with_committed(index, {})  # remaining = full capacity
    policy = applicable_policy(tender)
    value = placement_value(policy)
    cands = tender_candidates(full, query, committed, ws, value)
    due = tender_due(tender, policy)
    result = assess(due.amount_eur if due is not None else None, cands,
                    years=term_years(tender.start, tender.end),
                    region_km=tender.sroi.region_km if tender.sroi else None,
                    placement_eur=value, not_applicable=not_applicable_reason(due))
    _FEASIBILITY.put(key, (_weak(index), stamp, result))
    return result


# ---------------------------------------------------------------- results cache

# Results of the engine per query, reused while the index, weights and query row are
# unchanged (the Challenge portfolio costs the engine far more than a page may take).
# (url, kind, ref, top_k) -> (weak index, weak fit, capacity digest, stamp, result).
_RESULTS_MAX = 256
_RESULTS: LRU[tuple[Any, Any, str, str, Any]] = LRU(_RESULTS_MAX)
# Feasibility verdicts per (url, tender ref): (weak index, weights|updated_at, verdict).
_FEASIBILITY: LRU[tuple[Any, str, Feasibility]] = LRU(_RESULTS_MAX)
_QUERY_TABLES: dict[str, Any] = {"tender": TenderRow, "obligation": ObligationRow,
                                 "challenge": ChallengeRow}


def _weak(obj: Any) -> Any:
    try:
        return weakref.ref(obj)
    except TypeError:  # not weak-referenceable: never a hit, still correct
        return lambda: None


def _capacity_digest(index: Any) -> str:
    remaining = getattr(index, "remaining_eur_", None)
    if remaining is None or not hasattr(remaining, "tobytes"):
        return ""
    return hashlib.blake2b(remaining.tobytes(), digest_size=16).hexdigest()


@overload
def cached_match(session: Session, kind: Literal["tender", "obligation"], ref: str,
                 top_k: int) -> MatchList: ...
@overload
def cached_match(session: Session, kind: Literal["challenge"], ref: str,
                 top_k: int) -> ChallengeMatches: ...
@overload
def cached_match(session: Session, kind: str, ref: str, top_k: int
                 ) -> MatchList | ChallengeMatches: ...
def cached_match(session: Session, kind: str, ref: str, top_k: int
                 ) -> MatchList | ChallengeMatches:
    """``match_tender`` / ``match_obligation`` / ``match_challenge`` through a small cache.

    ``matching.get_index`` hands out a new index object whenever enterprises, commitments
    or curation decisions change. An entry stays good while the index is the same object,
    or a copy of the same fit (its ``unit_`` array is shared: no enterprise changed) with
    the same remaining capacity (a decision on a Challenge commits nothing) — and while
    the active weight set and the query row's ``updated_at`` are the same. Raises
    NotFound for an unknown ref.
    """
    from api.services.weights import active_weights

    index = get_index(session)
    ws = active_weights(session)
    table = _QUERY_TABLES[kind]
    updated = session.exec(select(table.updated_at).where(table.ref == ref)).first()
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    key = (url, kind, ref, top_k)
    stamp = f"{ws.name} v{ws.version}|{updated}|{_decisions_token(session, kind, ref)}"
    fit = getattr(index, "unit_", None)
    digest = _capacity_digest(index)
    hit = _RESULTS.get(key)
    if hit is not None and hit[3] == stamp and (
            hit[0]() is index or (fit is not None and hit[1]() is fit and hit[2] == digest)):
        return hit[4]
    result: MatchList | ChallengeMatches
    if kind == "tender":
        result = match_tender(session, ref, top_k=top_k)
    elif kind == "obligation":
        result = match_obligation(session, ref, top_k=top_k)
    else:
        result = match_challenge(session, ref, top_k=top_k)
    _RESULTS.put(key, (_weak(index), _weak(fit), digest, stamp, result))
    return result
