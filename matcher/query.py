"""What is being matched, in one shape: a Tender, an Obligation or a Challenge
becomes a Query (text, codes, place, groups, euros, hard conditions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.bilingual import translate
from matcher.geo import unit_vectors
from matcher.model import Challenge, Obligation, Tender
from matcher.refdata import cpv_label, municipalities
from matcher.text import work_text


@dataclass(frozen=True)
class Query:
    ref: str
    kind: str  # tender | obligation | challenge
    text: str
    cpv: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    target_groups: tuple[str, ...] = ()
    amount_eur: float | None = None  # euros the enterprise would carry
    region_km: float | None = None  # the clause's own radius, a hard limit
    reserved: bool = False  # article 20: only >= 30 % target-group staff
    themes: tuple[str, ...] = ()
    # The text's words and codes in the other language (matcher.bilingual.translate).
    translated: str = ""

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None

    def unit(self) -> NDArray[np.float64] | None:
        """The place as a 3-D unit vector (None without a place)."""
        if self.lat is None or self.lon is None:
            return None
        return unit_vectors([self.lat], [self.lon])[0]


def _place(lat: float | None, lon: float | None,
           municipality: str | None) -> tuple[float | None, float | None]:
    if lat is not None and lon is not None:
        return lat, lon
    m = municipalities().get(municipality) if municipality else None
    return (m.lat, m.lon) if m else (None, None)


def tender_euros(tender: Tender) -> float | None:
    """Euros due under the tender's clause (None without a clause or when unknown)."""
    if tender.sroi is None:
        return None
    from matcher.valuation import obligation_due_amount

    # Ranking scales capacity by the size of the demand, known without a policy.
    amount = obligation_due_amount(tender, require_policy=False)
    return amount if amount > 0 else None


def from_tender(tender: Tender) -> Query:
    lat, lon = _place(tender.lat, tender.lon, tender.municipality)
    clause = tender.sroi
    # Place names and proper nouns say where, not what (``text.work_text``).
    text = work_text(f"{tender.title}. {tender.description}")
    return Query(
        # Words only: the codes' labels in the other language lowered recall on the
        # labelled tenders (bench/eval_bilingual.py); the codes themselves are matched.
        ref=tender.ref, kind="tender", text=text, translated=translate(text),
        cpv=tuple(tender.cpv), lat=lat, lon=lon,
        target_groups=tuple(clause.target_groups) if clause else (),
        amount_eur=tender_euros(tender),
        region_km=clause.region_km if clause else None,
        reserved=bool(clause and clause.reserved),
    )


def from_obligation(ob: Obligation) -> Query:
    """An obligation has no prose: its text is the labels of what the firm buys and
    of the tender's codes, so text similarity still finds enterprises describing them."""
    codes = tuple(dict.fromkeys((*ob.buys, *ob.cpv)))
    lat, lon = _place(ob.lat, ob.lon, ob.municipality)
    text = ". ".join(cpv_label(c, "nl") for c in codes)
    return Query(
        ref=ob.ref, kind="obligation", text=text, translated=translate(text, codes),
        cpv=codes, lat=lat, lon=lon,
        target_groups=tuple(ob.target_groups),
        amount_eur=ob.amount_eur if ob.amount_eur > 0 else None,
    )


def from_challenge(ch: Challenge) -> Query:
    lat, lon = _place(ch.lat, ch.lon, ch.municipality)
    th = " ".join(ch.themes)
    # Themes twice, as for enterprises: they are the challenge's keywords.
    text = f"{work_text(ch.title)} {th}. {th}. {work_text(ch.question)}"
    return Query(
        ref=ch.ref, kind="challenge", text=text, translated=translate(text),
        lat=lat, lon=lon, themes=tuple(ch.themes),
    )


def as_query(item: Tender | Obligation | Challenge | Query) -> Query:
    if isinstance(item, Query):
        return item
    if isinstance(item, Tender):
        return from_tender(item)
    if isinstance(item, Obligation):
        return from_obligation(item)
    if isinstance(item, Challenge):
        return from_challenge(item)
    raise TypeError(f"cannot match a {type(item).__name__}")
