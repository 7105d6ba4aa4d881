"""List parameters of the pages (search text, filters, page number), read forgivingly:
a hand-edited URL never fails, a bad number becomes a message beside its field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

from fastapi import Path, Query
from starlette.datastructures import QueryParams

from api.labels import VETTING_NL
from api.services.enterprise_search import SORTS, SearchParams
from api.services.free_text import clean_text
from matcher.model import CERTIFICATION_SCHEMES, TARGET_GROUPS

SEARCH_PER_PAGE = 20
# No list has anywhere near this many pages; a larger number would overflow the
# database's OFFSET (SQLite and PostgreSQL take 64-bit integers) and is refused up front.
MAX_PAGE = 100_000
PageQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")]
# Row ids in paths: the tables' INTEGER columns hold at most 2**31 - 1 on PostgreSQL, and a
# larger number overflows the driver (a 500); anything beyond is refused as a 422.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A row id")]


def page_param(value: str | None) -> int:
    """A page number from 1 to MAX_PAGE; anything unreadable is the first page, anything
    beyond the last possible page is MAX_PAGE (an empty page, never an error)."""
    try:
        return min(MAX_PAGE, max(1, int(value or 1)))
    except ValueError:
        return 1


def list_params(query: Mapping[str, str]) -> tuple[str, str, int]:
    """A list page's search text (at most 100 characters), status filter and page."""
    q = clean_text(query.get("q"))[:100]  # no NUL: PostgreSQL refuses one in a LIKE
    status = query.get("status") or ""
    return q, status, page_param(query.get("page"))


def _float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value.replace(".", "").replace(",", ".") if "," in value else value)
    except ValueError:
        return math.nan
    return number


def search_params(qp: QueryParams, per_page: int = SEARCH_PER_PAGE
                  ) -> tuple[SearchParams, dict[str, str]]:
    """The enterprise search's filters; a bad number becomes a message beside its field."""
    errors: dict[str, str] = {}
    km = _float(qp.get("km"))
    if km is not None and (math.isnan(km) or km <= 0):
        errors["km"] = "Geef een afstand in km groter dan 0"
        km = None
    min_cap = _float(qp.get("min_capacity"))
    if min_cap is not None and (math.isnan(min_cap) or min_cap < 0):
        errors["min_capacity"] = "Geef een bedrag in euro's (0 of meer)"
        min_cap = None
    params = SearchParams(
        q=(qp.get("q") or "").strip()[:200],
        cpv=(qp.get("cpv") or "").strip()[:20],
        municipality=(qp.get("municipality") or "").strip()[:100],
        km=km,
        target_groups=[v for v in qp.getlist("tg") if v in TARGET_GROUPS],
        certifications=[v for v in qp.getlist("cert") if v in CERTIFICATION_SCHEMES],
        vetting=[v for v in qp.getlist("vetting") if v in VETTING_NL],
        min_capacity_eur=min_cap,
        sort=str(qp.get("sort")) if qp.get("sort") in SORTS else "relevance",
        page=page_param(qp.get("page")),
        per_page=per_page,
    )
    return params, errors
