"""Request/response schemas of the JSON API (separate from the SQLModel tables).

Entity bodies are the interchange format (../shared/interchange.md), so what
`sroi export` writes can be POSTed and what the API returns can be imported. The
types here shape the OpenAPI document and catch wrong JSON types; the meaning
(CPV codes, municipalities, vocabularies, dates in order) is checked by the same
code as file imports (``api.importers.interchange``), so both give the same errors.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")


class ErrorDetail(BaseModel):
    message: str = Field(description="What is wrong, in Dutch")
    field: str | None = Field(None, description="The offending field (dotted path), if any")


class ErrorResponse(BaseModel):
    detail: ErrorDetail

    model_config = ConfigDict(json_schema_extra={
        "example": {"detail": {"message": "CPV code '9091' is malformed", "field": "cpv[0]"}}})


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Malformed body (not JSON, bad encoding)"},
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    403: {"model": ErrorResponse, "description": "Not allowed for your role"},
    404: {"model": ErrorResponse, "description": "Not found (or not yours)"},
    409: {"model": ErrorResponse, "description": "The ref already exists"},
    422: {"model": ErrorResponse, "description": "Invalid input; `field` names the field"},
}


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Number of items over all pages")
    page: int
    per_page: int
    pages: int


def _iso_date(value: Any) -> Any:
    # JSON has no date type: only an ISO string (or a date from Python) is a date; strict
    # mode below would otherwise let 0 pass as 1970-01-01 (lax mode reads Unix time).
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
    raise ValueError("expected an ISO date string (YYYY-MM-DD)")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class _In(BaseModel):
    # Unknown keys are an error, as in the interchange format: a typo must not pass.
    # Strict: a wrong JSON type ("5" for a number, 1 for a string) is refused, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True)


# --- nested ------------------------------------------------------------------------

class Capacity(_In):
    placements_per_year: int | None = None
    purchasing_eur_per_year: float | None = None


class Certification(_In):
    scheme: str = Field(examples=["PSO"])
    level: str | None = Field(None, examples=["2"])
    valid_until: IsoDate | None = None


class Vetting(_In):
    status: str = Field(examples=["vetted"])
    by: str | None = None
    on: IsoDate | None = None
    valid_until: IsoDate | None = None


class SroiClause(_In):
    percentage: float | None = Field(None, examples=[5])
    amount_eur: float | None = None
    basis: str | None = Field(None, examples=["contract_value"])
    threshold_eur: float | None = None
    cap_eur: float | None = None
    target_groups: list[str] | None = None
    region_km: float | None = None
    policy: str | None = Field(None, examples=["utrecht-2023"])
    labour_cost_eur: float | None = None


# --- enterprises ----------------------------------------------------------------------

ENTERPRISE_EXAMPLE: dict[str, Any] = {
    "ref": "E-0001",
    "name": "Schoon & Sociaal Utrecht",
    "kvk": "12345678",
    "description": "Schoonmaak van kantoren en scholen door mensen met een afstand tot werk.",
    "cpv": ["90911200"],
    "municipality": "GM0344",
    "postcode": "3511 AB",
    "service_radius_km": 30,
    "target_groups": ["participatiewet", "banenafspraak"],
    "themes": ["werk"],
    "capacity": {"placements_per_year": 6, "purchasing_eur_per_year": 250000},
    "target_group_share": 0.45,
    "trade_income_share": 0.8,
    "certifications": [{"scheme": "PSO", "level": "2", "valid_until": "2027-05-01"}],
    "vetting": {"status": "vetted", "by": "Social Impact Factory", "on": "2025-03-01",
                "valid_until": "2027-03-01"},
}


class EnterpriseFields(_In):
    name: str | None = None
    kvk: str | None = None
    description: str | None = None
    cpv: list[str] | None = None
    municipality: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    service_radius_km: float | None = None
    target_groups: list[str] | None = None
    themes: list[str] | None = None
    capacity: Capacity | None = None
    target_group_share: float | None = None
    trade_income_share: float | None = None
    certifications: list[Certification] | None = None
    vetting: Vetting | None = None
    extra: dict[str, Any] | None = None


class EnterpriseIn(EnterpriseFields):
    """Create (POST) or replace (PUT) an enterprise."""

    ref: str | None = Field(None, description="Required on POST; on PUT the path's ref")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": ENTERPRISE_EXAMPLE})


class EnterprisePatch(EnterpriseFields):
    """Change some fields (PATCH); absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "example": {"capacity": {"placements_per_year": 8, "purchasing_eur_per_year": 300000}}})


class EnterpriseOut(BaseModel):
    ref: str
    name: str
    kvk: str | None = None
    description: str = ""
    cpv: list[str] = []
    municipality: str | None = None
    postcode: str | None = None
    lat: float
    lon: float
    service_radius_km: float
    target_groups: list[str] = []
    themes: list[str] = []
    capacity: Capacity
    target_group_share: float | None = None
    trade_income_share: float | None = None
    certifications: list[Certification] = []
    vetting: Vetting
    extra: dict[str, Any] = {}
    created_at: datetime | None = None
    updated_at: datetime | None = None

    model_config = ConfigDict(json_schema_extra={"example": ENTERPRISE_EXAMPLE})


# --- tenders -------------------------------------------------------------------------------

TENDER_EXAMPLE: dict[str, Any] = {
    "ref": "T-2026-001",
    "buyer": "Gemeente Utrecht",
    "title": "Schoonmaak stadskantoren",
    "description": "Dagelijkse schoonmaak van vier stadskantoren.",
    "cpv": ["90911200"],
    "contract_value_eur": 2400000,
    "start": "2026-09-01",
    "end": "2030-08-31",
    "municipality": "GM0344",
    "sroi": {"percentage": 5, "basis": "contract_value", "policy": "utrecht-2023",
             "target_groups": ["participatiewet"]},
}


class TenderFields(_In):
    buyer: str | None = None
    title: str | None = None
    description: str | None = None
    cpv: list[str] | None = None
    contract_value_eur: float | None = None
    start: IsoDate | None = None
    end: IsoDate | None = None
    municipality: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    sroi: SroiClause | None = None
    extra: dict[str, Any] | None = Field(
        None, description="Kept as is; also carries status (draft|published) and reserved")


class TenderIn(TenderFields):
    ref: str | None = None
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": TENDER_EXAMPLE})


class TenderPatch(TenderFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "example": {"contract_value_eur": 2600000}})


class TenderOut(BaseModel):
    ref: str
    buyer: str
    title: str
    description: str = ""
    cpv: list[str] = []
    contract_value_eur: float | None = None
    start: date | None = None
    end: date | None = None
    municipality: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    sroi: dict[str, Any] | None = None
    status: str = "published"
    extra: dict[str, Any] = {}
    created_at: datetime | None = None
    updated_at: datetime | None = None

    model_config = ConfigDict(json_schema_extra={"example": TENDER_EXAMPLE})


# --- challenges ----------------------------------------------------------------------------

CHALLENGE_EXAMPLE: dict[str, Any] = {
    "ref": "C-2026-01",
    "municipality": "GM0344",
    "title": "Eenzaamheid onder ouderen",
    "question": "Hoe bereiken we ouderen die niemand meer zien?",
    "themes": ["eenzaamheid", "ouderen"],
    "opened_on": "2026-03-01",
    "budget_eur": 75000,
    "max_partners": 3,
}


class ChallengeFields(_In):
    municipality: str | None = None
    title: str | None = None
    question: str | None = None
    themes: list[str] | None = None
    opened_on: IsoDate | None = None
    deadline: IsoDate | None = None
    budget_eur: float | None = None
    max_partners: int | None = None
    extra: dict[str, Any] | None = None


class ChallengeIn(ChallengeFields):
    ref: str | None = None
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": CHALLENGE_EXAMPLE})


class ChallengePatch(ChallengeFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "example": {"budget_eur": 100000}})


class ChallengeOut(BaseModel):
    ref: str
    municipality: str
    title: str
    question: str = ""
    themes: list[str] = []
    opened_on: date | None = None
    deadline: date | None = None
    budget_eur: float | None = None
    max_partners: int = 3
    status: str = "intake"
    extra: dict[str, Any] = {}
    created_at: datetime | None = None
    updated_at: datetime | None = None

    model_config = ConfigDict(json_schema_extra={"example": CHALLENGE_EXAMPLE})


# --- obligations ---------------------------------------------------------------------------

OBLIGATION_EXAMPLE: dict[str, Any] = {
    "ref": "O-2026-001",
    "firm": "Bouwbedrijf De Vries B.V.",
    "tender": "T-2026-001",
    "amount_eur": 120000,
    "due": "2030-08-31",
    "buys": ["55520000", "90911200"],
    "municipality": "GM0344",
    "policy": "utrecht-2023",
}


class ObligationFields(_In):
    firm: str | None = None
    tender: str | None = None
    amount_eur: float | None = None
    due: IsoDate | None = None
    buys: list[str] | None = None
    municipality: str | None = None
    lat: float | None = None
    lon: float | None = None
    policy: str | None = None
    extra: dict[str, Any] | None = None


class ObligationIn(ObligationFields):
    ref: str | None = None
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": OBLIGATION_EXAMPLE})


class ObligationPatch(ObligationFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "example": {"amount_eur": 130000}})


class ObligationOut(BaseModel):
    ref: str
    firm: str
    tender: str | None = None
    amount_eur: float | None = None
    due: date | None = None
    buys: list[str] = []
    municipality: str | None = None
    lat: float | None = None
    lon: float | None = None
    policy: str | None = None
    status: str = "open"
    extra: dict[str, Any] = {}
    created_at: datetime | None = None
    updated_at: datetime | None = None

    model_config = ConfigDict(json_schema_extra={"example": OBLIGATION_EXAMPLE})


# --- search ------------------------------------------------------------------------------

class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class FreeCapacity(BaseModel):
    """An enterprise's yearly capacity and what is free of it after its commitments
    elsewhere (``matcher.capacity``; the same four fields in every output)."""

    purchasing_eur_per_year: float | None = Field(
        None, description="Purchasing capacity per year (invoice euros)")
    placements_per_year: int | None = Field(None, description="Placements per year")
    free_purchase_eur_per_year: float | None = Field(
        None, description="Purchasing capacity per year not yet committed")
    free_placements_per_year: int | None = Field(
        None, description="Placements per year not yet committed")


class SearchHit(FreeCapacity):
    ref: str
    name: str
    municipality: str | None = None
    municipality_name: str | None = None
    distance_km: float | None = None
    cpv: list[str]
    target_groups: list[str]
    themes: list[str]
    certifications: list[dict[str, Any]]
    vetting_status: str
    score: float


class SearchOut(BaseModel):
    items: list[SearchHit]
    total: int
    page: int
    per_page: int
    pages: int
    facets: dict[str, list[FacetValue]]

    model_config = ConfigDict(json_schema_extra={"example": {
        "items": [{"ref": "E-0001", "name": "Schoon & Sociaal Utrecht", "municipality": "GM0344",
                   "municipality_name": "Utrecht", "distance_km": 1.2, "cpv": ["90911200"],
                   "target_groups": ["participatiewet"], "themes": [], "certifications": [],
                   "vetting_status": "vetted", "purchasing_eur_per_year": 250000,
                   "placements_per_year": 6, "free_purchase_eur_per_year": 200000,
                   "free_placements_per_year": 5, "score": 3.0}],
        "total": 1, "page": 1, "per_page": 20, "pages": 1,
        "facets": {"target_group": [{"value": "participatiewet", "label": "participatiewet",
                                     "count": 1}]}}})


class CpvItem(BaseModel):
    code: str
    label: str
    label_nl: str
    label_en: str
    level: int


class CpvOut(BaseModel):
    items: list[CpvItem]

    model_config = ConfigDict(json_schema_extra={"example": {"items": [
        {"code": "90911200", "label": "Schoonmaken van gebouwen",
         "label_nl": "Schoonmaken van gebouwen", "label_en": "Building-cleaning services",
         "level": 6}]}})
