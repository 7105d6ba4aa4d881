"""EnterpriseIndex: every per-enterprise array the ranking needs, built once.

One row per enterprise. Rows are never renumbered: an update patches its row in
place, a new enterprise is appended, a removal leaves a tombstone (``alive_``
False). That keeps ``add_or_update`` to milliseconds at 100k rows.

Drift trade-off of incremental updates: the word vocabulary and IDF weights are
frozen at ``fit`` time. A patched or new description is transformed with the
fitted vocabulary, so words the registry never contained when it was fitted are
ignored by the word TF-IDF (the char n-gram shortlist still sees them on the
query side only), and IDF does not shift as the registry grows. CPV document
frequencies, by contrast, are updated exactly. This is the usual trade-off of
search engines; refit (rebuild the index) periodically, e.g. nightly or once more
than a few percent of rows have changed (``n_patched`` tells how many).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
from numpy.typing import NDArray

from matcher.capacity import CapacityState, Commitment, free_amounts, in_eur
from matcher.certification import recognition
from matcher.cpv import CpvIndex
from matcher.geo import cos_of_km, unit_vectors
from matcher.groups import GroupFit
from matcher.model import Enterprise
from matcher.text import CharShortlist, PatchableRows, WordTfidf, enterprise_document
from matcher.valuation import reference_placement_year_eur

# Per-row capacity arrays (yearly parts, commitments, and what is derived from them).
_CAPACITY_ARRAYS = ("purchase_eur_", "placements_", "committed_purchase_eur_",
                    "committed_placements_", "free_purchase_eur_", "free_placements_",
                    "remaining_eur_")


class EnterpriseIndex:
    """Arrays over a registry of enterprises, for one reference date.

    Config (constructor): reference date (vetting and certificates are judged on
    it), text and CPV parameters, and ``placement_eur``: the euros one placement-year
    counts for in the capacity feature (None: the default valuation policy's value,
    ``matcher.valuation.placement_year_eur``). Learned state (``fit``): attributes ending
    in ``_``. ``committed`` is what each enterprise has already promised (a mapping
    ref -> ``matcher.capacity.Commitment``).
    """

    def __init__(
        self,
        reference_date: date | None = None,
        min_df: int = 2,
        max_df: float = 0.9,
        cpv_decay: float = 0.6,
        placement_eur: float | None = None,
        query_drop: float = 0.02,
    ) -> None:
        self.reference_date = reference_date
        self.min_df = min_df
        self.max_df = max_df
        self.cpv_decay = cpv_decay
        self.placement_eur = (
            reference_placement_year_eur() if placement_eur is None else placement_eur
        )
        # Share of a query's squared norm its commonest terms may lose (text.prune_common_terms).
        self.query_drop = query_drop

    @classmethod
    def build(
        cls,
        enterprises: Sequence[Enterprise],
        reference_date: date | None = None,
        committed: Mapping[str, Commitment] | None = None,
        **params: float | int | None,
    ) -> EnterpriseIndex:
        return cls(reference_date=reference_date, **params).fit(  # type: ignore[arg-type]
            enterprises, committed
        )

    # -- fitting -------------------------------------------------------------------

    def fit(
        self,
        enterprises: Sequence[Enterprise],
        committed: Mapping[str, Commitment] | None = None,
    ) -> EnterpriseIndex:
        ents = list(enterprises)
        refs = [e.ref for e in ents]
        if len(set(refs)) != len(refs):
            raise ValueError("duplicate enterprise refs in the index input")
        self.date_: date = self.reference_date or date.today()
        self.enterprises_: list[Enterprise | None] = list(ents)
        self.refs_: list[str] = refs
        self.row_of_: dict[str, int] = {r: i for i, r in enumerate(refs)}
        n = len(ents)
        self.alive_: NDArray[np.bool_] = np.ones(n, dtype=bool)

        self.word_ = WordTfidf(min_df=self.min_df, max_df=self.max_df)
        # A generator: the documents are tokenised one by one, never all held.
        docs = (enterprise_document(e.name, e.themes, e.description) for e in ents)
        if n:
            X, X_csc = self.word_.fit_transform_both(docs)
            self.text_ = PatchableRows(X, X_csc)
            del X, X_csc
        else:
            self.word_.fit_transform(["empty registry"])
            self.text_ = PatchableRows(self.word_.transform([]))
        # Inverse vocabulary, for explaining which terms matched.
        self.terms_: list[str] = [""] * len(self.word_.vocabulary_)
        for t, j in self.word_.vocabulary_.items():
            self.terms_[j] = t
        self.char_ = CharShortlist().fit(self.word_)
        self.postings_ = self.text_.postings
        # Char-vector norms per row, computed on first use (shortlists repeat rows).
        self.char_norm_ = np.full(n, np.nan)

        self.cpv_ = CpvIndex(decay=self.cpv_decay).fit([e.cpv for e in ents])
        self.groups_ = GroupFit().fit([e.target_groups for e in ents])

        self.lat_ = np.array([e.lat for e in ents], dtype=np.float64)
        self.lon_ = np.array([e.lon for e in ents], dtype=np.float64)
        # Column-major: a query's dot products read three contiguous columns.
        self.unit_ = np.asfortranarray(unit_vectors(self.lat_, self.lon_).reshape(n, 3))
        self.radius_km_ = np.array([e.service_radius_km for e in ents], dtype=np.float64)
        self.cos_radius_ = cos_of_km(self.radius_km_)
        self.recognition_ = np.array([recognition(e, self.date_)[0] for e in ents])
        self.vetting_ok_ = np.array([e.vetting.is_valid(self.date_) for e in ents], dtype=bool)
        self.share_ = np.array(
            [np.nan if e.target_group_share is None else e.target_group_share for e in ents],
            dtype=np.float64,
        )
        # Capacity per year, each part on its own (matcher.capacity).
        self.purchase_eur_ = np.array([e.capacity.purchasing_eur_per_year for e in ents],
                                      dtype=np.float64)
        self.placements_ = np.array([e.capacity.placements_per_year for e in ents],
                                    dtype=np.float64)
        self.set_committed(committed)
        return self

    def set_committed(self, committed: Mapping[str, Commitment] | None) -> None:
        """Replace what each enterprise has already promised (a mapping ref ->
        ``Commitment``; refs not in the index are ignored, refs missing promised nothing)."""
        n = len(self.refs_)
        purchase, places = np.zeros(n), np.zeros(n)
        for ref, c in (committed or {}).items():
            i = self.row_of_.get(ref)
            if i is not None:
                purchase[i], places[i] = c.purchase_eur, c.placements
        self.committed_purchase_eur_ = purchase
        self.committed_placements_ = places
        # Fresh arrays: copies of a shared index (copy.copy) then never write into its own.
        v = self.placement_eur
        self.free_purchase_eur_ = free_amounts(self.purchase_eur_, purchase)
        self.free_placements_ = free_amounts(self.placements_, places)
        self.remaining_eur_ = in_eur(self.free_purchase_eur_, self.free_placements_, v)

    def _derive_row(self, i: int) -> None:
        # set_committed's arithmetic for one row, through the capacity owner.
        state = self.capacity(i)
        v = self.placement_eur
        self.free_purchase_eur_[i] = state.free_purchase_eur
        self.free_placements_[i] = state.free_placements
        self.remaining_eur_[i] = state.free_eur(v)

    def capacity(self, ref_or_row: str | int) -> CapacityState:
        """The enterprise's yearly capacity state with this index's commitments."""
        i = self.row_of_[ref_or_row] if isinstance(ref_or_row, str) else ref_or_row
        return CapacityState(float(self.purchase_eur_[i]), float(self.placements_[i]),
                             float(self.committed_purchase_eur_[i]),
                             float(self.committed_placements_[i]))

    # -- incremental maintenance ---------------------------------------------------

    def add_or_update(self, e: Enterprise, committed: Commitment | None = None) -> int:
        """Insert or replace one enterprise without refitting; returns its row.

        Cost is independent of registry size except for appends, which copy each
        per-row array once (a few hundred microseconds at 100k rows).
        """
        i = self.row_of_.get(e.ref)
        new = i is None
        if i is None:
            i = len(self.refs_)
            self.refs_.append(e.ref)
            self.row_of_[e.ref] = i
            self.enterprises_.append(e)
            self._grow()
        else:
            self.enterprises_[i] = e
        self.alive_[i] = True
        doc = enterprise_document(e.name, e.themes, e.description)
        self.text_.set_row(i, self.word_.transform([doc]))
        self.char_norm_[i] = np.nan
        self.cpv_.set_row(i, e.cpv)
        self.groups_.M_[i] = self.groups_.row(e.target_groups)
        self.lat_[i], self.lon_[i] = e.lat, e.lon
        self.unit_[i] = unit_vectors([e.lat], [e.lon])[0]
        self.radius_km_[i] = e.service_radius_km
        self.cos_radius_[i] = cos_of_km(e.service_radius_km)
        self.recognition_[i] = recognition(e, self.date_)[0]
        self.vetting_ok_[i] = e.vetting.is_valid(self.date_)
        self.share_[i] = np.nan if e.target_group_share is None else e.target_group_share
        self.purchase_eur_[i] = e.capacity.purchasing_eur_per_year
        self.placements_[i] = e.capacity.placements_per_year
        if committed is not None:
            self.committed_purchase_eur_[i] = committed.purchase_eur
            self.committed_placements_[i] = committed.placements
        elif new:
            self.committed_purchase_eur_[i] = self.committed_placements_[i] = 0.0
        self._derive_row(i)
        return i

    def _grow(self) -> None:
        # One more row in every per-row array (copies; amortised fine at registry scale).
        self.alive_ = np.append(self.alive_, True)
        self.groups_.M_ = np.vstack([self.groups_.M_, np.zeros((1, self.groups_.M_.shape[1]),
                                                               dtype=self.groups_.M_.dtype)])
        self.unit_ = np.asfortranarray(np.vstack([self.unit_, np.zeros((1, 3))]))
        for name in ("lat_", "lon_", "radius_km_", "cos_radius_", "recognition_", "share_",
                     "char_norm_", *_CAPACITY_ARRAYS):
            setattr(self, name, np.append(getattr(self, name), 0.0))
        self.vetting_ok_ = np.append(self.vetting_ok_, False)

    def remove(self, ref: str) -> bool:
        """Tombstone an enterprise: it is never returned again. False if unknown."""
        i = self.row_of_.pop(ref, None)
        if i is None:
            return False
        self.alive_[i] = False
        self.enterprises_[i] = None
        self.cpv_.remove_row(i)
        return True

    def compact(self) -> None:
        """Fold patched text rows into the bulk matrices (O(nnz); run off-peak)."""
        self.text_.compact()
        self.postings_ = self.text_.postings

    def char_norms(self, rows: NDArray[np.int64]) -> NDArray[np.float64]:
        """Char-vector norms of rows, filling the cache for rows not seen yet."""
        norms = self.char_norm_[rows]
        todo = np.isnan(norms)
        if todo.any():
            need = rows[todo]
            # In chunks: a row's char vector has ~10x its word entries.
            fresh = np.concatenate([
                self.char_.row_norms(self.text_.rows(need[a:a + 4096]))
                for a in range(0, len(need), 4096)])
            self.char_norm_[need] = fresh
            norms[todo] = fresh
        return norms

    # -- access --------------------------------------------------------------------

    @property
    def n_rows(self) -> int:
        return len(self.refs_)

    @property
    def n_patched(self) -> int:
        return self.text_.n_patched

    def __len__(self) -> int:
        return int(self.alive_.sum())

    def __contains__(self, ref: object) -> bool:
        return ref in self.row_of_

    def enterprise(self, ref_or_row: str | int) -> Enterprise:
        i = self.row_of_[ref_or_row] if isinstance(ref_or_row, str) else ref_or_row
        e = self.enterprises_[i]
        if e is None:
            raise KeyError(f"enterprise row {i} was removed")
        return e
