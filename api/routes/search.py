"""JSON search: /api/v1/search (the enterprise facets) and /api/v1/cpv (type-ahead)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api import access, fields
from api.deps import ApiUser, SessionDep, api_error
from api.i18n import N_
from api.schemas import ERROR_RESPONSES, CpvOut, SearchOut
from api.services.cpv_search import search_cpv
from api.services.enterprise_search import SearchParams, hit_to_dict, search
from api.web.params import PageQuery
from matcher.refdata import cpv_vocabulary

# No filter, or 1 to 8 digits and an optional check digit (what cpv_prefix reads).
CPV_PREFIX_PATTERN = r"^([0-9]{1,8}(-[0-9])?)?$"
fields.PATTERN_MESSAGES[CPV_PREFIX_PATTERN] = N_(
    "'{input}' is geen (begin van een) CPV-code — 1 tot 8 cijfers, zoals 909")

api_router = APIRouter(tags=["search"], responses=ERROR_RESPONSES)


@api_router.get("/search", response_model=SearchOut, summary="Faceted enterprise search")
def search_enterprises(
    user: ApiUser,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200, description="Words in name/description/CPV")] = "",
    cpv: Annotated[str, Query(pattern=CPV_PREFIX_PATTERN,
                              description="CPV code or its first digits, e.g. 909")] = "",
    municipality: Annotated[str, Query(
        max_length=100, description="A 2023 municipality: its CBS code (GM0344) or its name",
        json_schema_extra={"x-vocabulary": "municipality"})] = "",
    km: Annotated[float | None, Query(gt=0, le=500, description="Radius around municipality")]
    = None,
    target_group: Annotated[list[fields.TargetGroup] | None, Query()] = None,
    certification: Annotated[list[fields.CertificationScheme] | None, Query()] = None,
    vetting: Annotated[list[fields.VettingStatus] | None, Query()] = None,
    min_capacity_eur: Annotated[float | None, Query(ge=0)] = None,
    sort: Literal["relevance", "name", "distance", "capacity"] = "relevance",
    page: PageQuery = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, object]:
    # The lists' values are the schema's enumerations (api.fields): others are a 422 there.
    params = SearchParams(q=q, cpv=cpv, municipality=municipality, km=km,
                          target_groups=[v.value for v in target_group or []],
                          certifications=[v.value for v in certification or []],
                          vetting=[v.value for v in vetting or []],
                          min_capacity_eur=min_capacity_eur, sort=sort,
                          page=page, per_page=per_page)
    result = search(session, params, restrict_vetted=not access.sees_all(user))
    if result.errors:
        field, message = next(iter(result.errors.items()))
        raise api_error(422, message, field)
    return {
        "items": [hit_to_dict(h) for h in result.hits], "total": result.total, "page": page,
        "per_page": per_page, "pages": max(1, math.ceil(result.total / per_page)),
        "facets": {name: [{"value": v, "label": label, "count": n} for v, label, n in values]
                   for name, values in result.facets.items()},
    }


@api_router.get("/cpv", response_model=CpvOut, summary="CPV codes by code prefix or words")
def cpv_lookup(
    q: Annotated[str, Query(min_length=1, max_length=100,
                            description="Code prefix ('9091') or Dutch/English words")],
    lang: Literal["nl", "en"] = "nl",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict[str, object]:
    # Public reference data: no login needed, so forms can suggest before anything else.
    vocab = cpv_vocabulary()
    items = []
    for code in search_cpv(q, limit):
        node = vocab[code]
        items.append({"code": code, "label": node.label_nl if lang == "nl" else node.label_en,
                      "label_nl": node.label_nl, "label_en": node.label_en,
                      "level": node.level})
    return {"items": items}
