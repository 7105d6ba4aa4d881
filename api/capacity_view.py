"""How an enterprise's capacity is shown: one text and one set of fields for every page,
CSV export and API output (the figures come from ``matcher.capacity.CapacityState``).

Purchases and placements are two different things and are always named separately:
"vrij: € 25.000 inkoop per jaar en 1 plaatsing per jaar".
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from api.i18n import format_eur, format_number, translate
from matcher.capacity import CapacityState

FREE_ONE = "vrij: {eur} inkoop per jaar en {n} plaatsing per jaar"
FREE_MANY = "vrij: {eur} inkoop per jaar en {n} plaatsingen per jaar"
# Over a contract term (``CapacityState.for_term``): every figure says which period it covers.
FREE_TERM_ONE = "vrij over de looptijd van {years} jaar: {eur} inkoop en {n} plaatsing"
FREE_TERM_MANY = "vrij over de looptijd van {years} jaar: {eur} inkoop en {n} plaatsingen"


def capacity_fields(state: CapacityState) -> dict[str, Any]:
    """The JSON/CSV fields of a yearly capacity state, the same in every output."""
    return {
        "purchasing_eur_per_year": round(state.purchase_eur, 2),
        "placements_per_year": int(state.placements),
        "free_purchase_eur_per_year": round(state.free_purchase_eur, 2),
        "free_placements_per_year": int(state.free_placements),
    }


def free_text(free_purchase_eur: float, free_placements: int, lang: str = "nl",
              years: float = 1.0) -> str:
    """Free capacity as one line in ``lang`` (pages, CSV, API and engine reasons): per year,
    or over a contract term of ``years`` years."""
    n = int(free_placements)
    if years != 1.0:
        return translate(FREE_TERM_ONE if n == 1 else FREE_TERM_MANY, lang,
                         years=format_number(years, lang=lang),
                         eur=format_eur(round(free_purchase_eur), lang=lang),
                         n=format_number(n, lang=lang))
    return translate(FREE_ONE if n == 1 else FREE_MANY, lang,
                     eur=format_eur(round(free_purchase_eur), lang=lang),
                     n=format_number(n, lang=lang))


def free_capacity_text(state: CapacityState, lang: str = "nl") -> str:
    """The free capacity of a yearly state as one line in ``lang``."""
    return free_text(state.free_purchase_eur, int(state.free_placements), lang)


def free_capacity_html(state: CapacityState, lang: str = "nl") -> Markup:
    """:func:`free_capacity_text` in a span that carries the figures (for pages and tests)."""
    return Markup('<span class="free-capacity" data-free-purchase-eur="{}" '
                  'data-free-placements="{}">{}</span>').format(
        f"{state.free_purchase_eur:.2f}", int(state.free_placements),
        escape(free_capacity_text(state, lang)))
