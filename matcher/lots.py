"""Tenders with several lots (percelen): each lot is matched on its own.

A tender published in lots is awarded per lot, and the lots usually ask for different
work ("perceel 1 schoonmaak, perceel 2 groenonderhoud"): one list for the whole tender
mixes them, and the clause's euros are owed per awarded lot. ``lot_tender`` makes the
``Tender`` one lot stands for: the lot's codes (else the tender's), its value (the
clause's percentage applies to it), its place (else the tender's), its title (else the
tender's title and description); buyer, period and social-return clause are the tender's. Its ref is
``"{tender ref}/{lot id}"``.
"""

from __future__ import annotations

from dataclasses import replace

from matcher.model import Lot, Tender

LOT_REF_SEPARATOR = "/"


def has_lots(tender: Tender) -> bool:
    """Matched per lot: two or more lots (a single lot is the tender itself)."""
    return len(tender.lots) >= 2


def lot_tender(tender: Tender, lot: Lot) -> Tender:
    """The tender one lot stands for (see the module docstring)."""
    placed = lot.lat is not None and lot.lon is not None
    return replace(
        tender,
        ref=f"{tender.ref}{LOT_REF_SEPARATOR}{lot.id}",
        # The tender's title and prose describe every lot ("schoonmaak en groen"); with a
        # title of its own the lot's text is that title, so the other lots' work does not
        # make their trades look relevant here.
        title=lot.title or tender.title,
        description="" if lot.title else tender.description,
        cpv=lot.cpv or tender.cpv,
        contract_value_eur=lot.value_eur,
        municipality=lot.municipality if placed else tender.municipality,
        lat=lot.lat if placed else tender.lat,
        lon=lot.lon if placed else tender.lon,
        lots=(),
    )


def lot_tenders(tender: Tender) -> list[tuple[Lot, Tender]]:
    """Each lot with the tender it stands for, in the tender's order (empty when the
    tender is not matched per lot)."""
    return [(lot, lot_tender(tender, lot)) for lot in tender.lots] if has_lots(tender) else []
