"""Request/response schemas of the JSON API (separate from the SQLModel tables).

Entity bodies are the interchange format (../shared/interchange.md), so what
`sroi export` writes can be POSTed and what the API returns can be imported. The
types here shape the OpenAPI document and catch wrong JSON types; the meaning
(CPV codes, municipalities, vocabularies, dates in order) is checked by the same
code as file imports (``api.importers.interchange``), so both give the same errors.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
)
from pydantic.json_schema import SkipJsonSchema

from api import fields
from api.i18n import N_
from api.importers import registry
from api.importers.interchange import (
    CONTACT_MAX,
    EMAIL_RE,
    EXTRA_COLUMNS,
    EXTRA_ENUMS,
    EXTRA_MAX_LEN,
    PHONE_RE,
    SINGULAR,
    TENDER_SOURCES,
)

T = TypeVar("T")

# The contact patterns in words, for a refused value (api.app's validation messages).
fields.PATTERN_MESSAGES.update({
    EMAIL_RE.pattern: N_("'{input}' is geen e-mailadres — schrijf het als naam@domein.nl"),
    PHONE_RE.pattern: N_("'{input}' is geen telefoonnummer — alleen cijfers, spaties, "
                         "haakjes, punten, streepjes en een + vooraan"),
})


class RowError(BaseModel):
    index: int = Field(description="The row's position in the request (0-based)")
    field: str = Field(description="The row's field at fault")
    message: str


class ErrorDetail(BaseModel):
    message: str = Field(description="What is wrong, in Dutch")
    field: str | None = Field(None, description="The offending field (dotted path), if any")
    rows: list[RowError] = Field([], description="A refused plan: the reason for each row "
                                                 "at fault (the whole request is refused)")


class ErrorResponse(BaseModel):
    detail: ErrorDetail

    model_config = ConfigDict(json_schema_extra={
        "example": {"detail": {"message": "CPV code '9091' is malformed", "field": "cpv[0]"}}})


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Malformed body (not JSON, bad encoding)"},
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token"},
    403: {"model": ErrorResponse, "description": "Not allowed for your role"},
    404: {"model": ErrorResponse, "description": "Not found (or not yours)"},
    409: {"model": ErrorResponse, "description": (
        "Conflicts with the stored state (the request itself is valid): the ref already "
        "exists or a likely duplicate does, or the state of what it acts on does not allow "
        "it now (a Challenge's stage, a plan over the capacity left or already committed, "
        "nothing to commit, a job already running or ended); `field` names what clashes")},
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
    # Patterns as Python reads them (api.fields), the same engine as the file checks.
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")


# A field that may be left out but not set to null: null clears a field in a PATCH, and a
# required field cannot be cleared (the server answers 422 naming it, as for a bad value).
# The schema leaves null out; the model still reads it, so the answer is the checks' own.
NoNull = SkipJsonSchema[None]


# --- nested ------------------------------------------------------------------------

class Capacity(_In):
    placements_per_year: fields.Count | None = None
    purchasing_eur_per_year: fields.Euros | None = None


class Certification(_In):
    scheme: fields.CertificationScheme = Field(examples=["PSO"])
    level: fields.CertificationLevel | None = Field(None, examples=["2"])
    valid_until: IsoDate | None = None


class Vetting(_In):
    status: fields.VettingStatus = Field(examples=["vetted"])
    by: fields.text(fields.MAX_LEN["by"]) | None = None  # type: ignore[valid-type]
    on: IsoDate | None = None
    valid_until: IsoDate | None = Field(None, description="Not before `on`")


class Contact(_In):
    # The patterns are the file checks' own (api.importers.interchange); the digit count of
    # a phone number and the host of a web address are checked there and said here.
    name: fields.text(CONTACT_MAX["name"]) | None = Field(  # type: ignore[valid-type]
        None, examples=["Anouk de Wit"])
    email: Annotated[str, StringConstraints(pattern=EMAIL_RE.pattern,
                                            max_length=CONTACT_MAX["email"])] | None = Field(
        None, examples=["info@schoon-sociaal.example"])
    phone: Annotated[str, StringConstraints(pattern=PHONE_RE.pattern,
                                            max_length=CONTACT_MAX["phone"])] | None = Field(
        None, examples=["030-1234567"], description="10 digits starting with 0, or 8 to 15 "
                                                     "digits after a +", json_schema_extra={
                                                         "x-rule": "phone"})
    website: fields.text(CONTACT_MAX["website"]) | None = Field(  # type: ignore[valid-type]
        None, examples=["https://www.schoon-sociaal.example"],
        description="An http(s) address or a host name (https:// is added)",
        json_schema_extra={"x-rule": "website"})


class SroiClause(_In):
    percentage: fields.Percentage | None = Field(None, examples=[5])
    amount_eur: fields.Euros | None = None
    basis: fields.ClauseBasis | None = Field(None, examples=["contract_value"])
    threshold_eur: fields.Euros | None = None
    cap_eur: fields.Euros | None = None
    target_groups: list[fields.TargetGroup] | None = None
    region_km: fields.Km | None = None
    policy: fields.Policy | None = Field(None, examples=["utrecht-2024"])
    labour_cost_eur: fields.Euros | None = None


def _extra_model(kind: str) -> Any:
    """``extra``: any object; the store's columns it carries (interchange EXTRA_COLUMNS)
    have their types and choices."""
    props: dict[str, Any] = {}
    for key, (_column, default) in EXTRA_COLUMNS[kind].items():
        choices = EXTRA_ENUMS.get((kind, key))
        if (kind, key) == ("tenders", "source"):
            choices = TENDER_SOURCES + registry.names(published=True)
        typ: Any
        if isinstance(default, bool):
            typ = bool
        elif isinstance(default, list):
            typ = list[fields.Text]
        elif choices:
            typ = Literal[choices]  # type: ignore[valid-type]
        elif (kind, key) in EXTRA_MAX_LEN:
            typ = fields.text(EXTRA_MAX_LEN[(kind, key)])
        else:
            typ = fields.Text
        props[key] = (typ | None, None)
    if not props:
        return dict[str, Any]
    return create_model(f"{SINGULAR[kind].title()}Extra", __config__=ConfigDict(
        extra="allow", strict=True, regex_engine="python-re"), **props)


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
    # Fictional: the reserved .example domain and a made-up number.
    "contact": {"name": "Anouk de Wit", "email": "info@schoon-sociaal.example",
                "phone": "030-1234567", "website": "https://www.schoon-sociaal.example"},
}


_MUNICIPALITY_OR_PLACE = ("Required unless lat and lon are given (then the place is "
                          "theirs); a new municipality in a PATCH moves the place")


class EnterpriseFields(_In):
    kvk: fields.Kvk | None = None
    cpv: list[fields.CpvCode] | None = None
    municipality: fields.Municipality | None = Field(None, description=_MUNICIPALITY_OR_PLACE)
    postcode: fields.Postcode | None = None
    lat: fields.Lat | None = None
    lon: fields.Lon | None = None
    service_radius_km: fields.Km | None = None
    target_groups: list[fields.TargetGroup] | None = None
    themes: list[fields.Text] | None = None
    capacity: Capacity | None = None
    target_group_share: fields.Share | None = None
    trade_income_share: fields.Share | None = None
    certifications: list[Certification] | None = None
    vetting: Vetting | None = None
    contact: Contact | None = None
    extra: _extra_model("enterprises") | None = None  # type: ignore[valid-type]


class EnterpriseIn(EnterpriseFields):
    """Replace (PUT) an enterprise."""

    ref: fields.Ref | None = Field(None, description="The path's ref, if given")
    name: fields.text(fields.MAX_LEN["name"], required=True)  # type: ignore[valid-type]
    description: fields.text(required=True)  # type: ignore[valid-type]
    model_config = ConfigDict(json_schema_extra={"example": ENTERPRISE_EXAMPLE})


class EnterpriseCreate(EnterpriseIn):
    """Create (POST) an enterprise."""

    ref: fields.Ref


class EnterprisePatch(EnterpriseFields):
    """Change some fields (PATCH); absent fields stay as they are, null clears one."""

    name: fields.text(fields.MAX_LEN["name"], required=True) | NoNull = None  # type: ignore[valid-type]
    description: fields.text(required=True) | NoNull = None  # type: ignore[valid-type]
    model_config = ConfigDict(json_schema_extra={
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
    contact: Contact | None = None
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
    "sroi": {"percentage": 5, "basis": "contract_value", "policy": "utrecht-2024",
             "target_groups": ["participatiewet"]},
}


class TenderFields(_In):
    description: fields.Text | None = None
    contract_value_eur: fields.PositiveEuros | None = None
    start: IsoDate | None = None
    end: IsoDate | None = Field(None, description="Not before start")
    municipality: fields.Municipality | None = None
    postcode: fields.Postcode | None = None
    lat: fields.Lat | None = None
    lon: fields.Lon | None = None
    sroi: SroiClause | None = None
    extra: _extra_model("tenders") | None = Field(  # type: ignore[valid-type]
        None, description="Kept as is; also carries status (draft|published) and reserved")


class TenderIn(TenderFields):
    ref: fields.TenderRef | None = Field(None, description="The path's ref, if given")
    buyer: fields.text(fields.MAX_LEN["buyer"], required=True)  # type: ignore[valid-type]
    title: fields.text(fields.MAX_LEN["title"], required=True)  # type: ignore[valid-type]
    cpv: list[fields.CpvCode] = Field(min_length=1)
    model_config = ConfigDict(json_schema_extra={"example": TENDER_EXAMPLE})


class TenderCreate(TenderIn):
    ref: fields.TenderRef


class TenderPatch(TenderFields):
    buyer: fields.text(fields.MAX_LEN["buyer"], required=True) | NoNull = None  # type: ignore[valid-type]
    title: fields.text(fields.MAX_LEN["title"], required=True) | NoNull = None  # type: ignore[valid-type]
    cpv: Annotated[list[fields.CpvCode], Field(min_length=1)] | NoNull = None
    model_config = ConfigDict(json_schema_extra={
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
    themes: list[fields.Text] | None = None
    opened_on: IsoDate | None = None
    deadline: IsoDate | None = Field(None, description="Not before opened_on; absent: twelve "
                                                       "weeks after opened_on")
    budget_eur: fields.Euros | None = None
    max_partners: fields.Partners | None = None
    extra: _extra_model("challenges") | None = None  # type: ignore[valid-type]


class ChallengeIn(ChallengeFields):
    ref: fields.Ref | None = Field(None, description="The path's ref, if given")
    municipality: fields.Municipality
    title: fields.text(fields.MAX_LEN["title"], required=True)  # type: ignore[valid-type]
    question: fields.text(required=True)  # type: ignore[valid-type]
    model_config = ConfigDict(json_schema_extra={"example": CHALLENGE_EXAMPLE})


class ChallengeCreate(ChallengeIn):
    ref: fields.Ref


class ChallengePatch(ChallengeFields):
    municipality: fields.Municipality | NoNull = None
    title: fields.text(fields.MAX_LEN["title"], required=True) | NoNull = None  # type: ignore[valid-type]
    question: fields.text(required=True) | NoNull = None  # type: ignore[valid-type]
    model_config = ConfigDict(json_schema_extra={
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
    "policy": "utrecht-2024",
}


class ObligationFields(_In):
    tender: fields.TenderRef | None = Field(None, description="The tender whose clause sets "
                                                              "the amount; give amount_eur or "
                                                              "tender (or both)")
    amount_eur: fields.Euros | None = Field(None, description="Credited euros due; required "
                                                              "when no tender is given")
    due: IsoDate | None = None
    buys: list[fields.CpvCode] | None = None
    municipality: fields.Municipality | None = None
    lat: fields.Lat | None = None
    lon: fields.Lon | None = None
    policy: fields.Policy | None = None
    extra: _extra_model("obligations") | None = None  # type: ignore[valid-type]


class ObligationIn(ObligationFields):
    ref: fields.Ref | None = Field(None, description="The path's ref, if given")
    firm: fields.text(fields.MAX_LEN["firm"], required=True)  # type: ignore[valid-type]
    model_config = ConfigDict(json_schema_extra={"example": OBLIGATION_EXAMPLE})


class ObligationCreate(ObligationIn):
    ref: fields.Ref


class ObligationPatch(ObligationFields):
    firm: fields.text(fields.MAX_LEN["firm"], required=True) | NoNull = None  # type: ignore[valid-type]
    model_config = ConfigDict(json_schema_extra={
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
    vetting_state: Literal["vetted", "expired", "pending", "rejected"] = Field(
        description="The vetting on today's date: 'expired' when a vetting's end has passed")
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
                   "vetting_status": "vetted", "vetting_state": "vetted",
                   "purchasing_eur_per_year": 250000,
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


# --- Engine reasons (every route that shows matches) ---------------------------------


class ReasonOut(BaseModel):
    """One of the engine's reasons (codes and parameters: ``matcher/reasons.py``)."""

    code: str = Field(description="Stable reason code, e.g. cpv_exact, distance, "
                                  "capacity_share, vetting_expired")
    params: dict[str, Any] = Field(description="The code's parameters: numbers (euros, km, "
                                               "shares in [0, 1]), codes, ISO dates, lists")
    text: str = Field(description="The reason in the request's language (?lang=, the lang "
                                  "cookie, or Accept-Language; Dutch by default)")

    model_config = ConfigDict(json_schema_extra={"example": {
        "code": "distance", "params": {"km": 3.2, "radius_km": 25.0},
        "text": "3,2 km van de werklocatie, binnen de eigen werkstraal van 25 km"}})


# --- Challenges board (api/routes/challenges.py) --------------------------------------


class PitchIn(BaseModel):
    enterprise_ref: fields.Ref = Field(description="The pitching enterprise (404 if unknown)")
    approach: fields.text(5000, required=True)  # type: ignore[valid-type]
    team: fields.text(5000) = ""  # type: ignore[valid-type]
    budget_eur: float = Field(ge=0, allow_inf_nan=False)
    themes: list[fields.Text] = Field(
        [], description="Themes of the Challenge (another theme: 409)")
    partners: list[fields.text(100)] = Field(  # type: ignore[valid-type]
        [], description="Refs of partner enterprises (404 if unknown), not the pitching "
                        "one; with it at most the Challenge's max_partners (409 if more)")

    model_config = ConfigDict(extra="forbid", regex_engine="python-re", json_schema_extra={
        "example": {
        "enterprise_ref": "E-0042", "approach": "Huisbezoeken door buurtkoks",
        "team": "Twee koks en een coordinator", "budget_eur": 20000,
        "themes": ["eenzaamheid"], "partners": ["E-0107"]}})


class PitchOut(BaseModel):
    id: int
    challenge_ref: str
    enterprise_ref: str
    partners: list[str]
    approach: str
    team: str
    budget_eur: float
    themes: list[str]
    submitted_by: str
    submitted_at: datetime


class PilotIn(BaseModel):
    pitch_id: int
    start: date
    budget_eur: float = Field(ge=0, allow_inf_nan=False)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "pitch_id": 1, "start": "2026-06-15", "budget_eur": 20000}})


class EvaluationIn(BaseModel):
    outcome: Literal["success", "partial", "failed"]
    score: int = Field(ge=1, le=10)
    note: str = Field("", max_length=5000)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "outcome": "success", "score": 8, "note": "Veertig ouderen bereikt"}})


class PilotOut(BaseModel):
    id: int
    challenge_ref: str
    pitch_id: int
    start: date
    weeks: int
    end: date = Field(description="start + weeks")
    days_left: int = Field(description="Days left of the pilot's weeks (negative: over)")
    budget_eur: float
    status: str = Field(description="running | evaluated")
    outcome: str | None
    score: int | None
    note: str
    selected_by: str
    evaluated_by: str | None
    evaluated_at: datetime | None



class StatusIn(BaseModel):
    status: Literal["intake", "call", "pitch", "pilot", "evaluation", "closed"]
    reason: str = Field("", max_length=2000, description="Required to go back to an "
                                                        "earlier stage (409 without)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "pitch", "reason": "Vijf ondernemingen uitgenodigd voor de pitch"}]})


class StatusOut(BaseModel):
    ref: str
    title: str
    status: str
    deadline: date | None = Field(description="Set deadline, else twelve weeks from opened_on")
    days_left: int | None
    history: list[dict[str, Any]] = Field(description="Status changes, oldest first")

    model_config = ConfigDict(json_schema_extra={"example": {
        "ref": "C-2026-01", "title": "Eenzaamheid onder ouderen", "status": "pitch",
        "deadline": "2026-05-24", "days_left": 12,
        "history": [{"from": "call", "to": "pitch", "by": "verbinder@gemeente.nl",
                     "at": "2026-05-12T09:30:00+00:00", "reason": "Vijf pitches"}]}})


# --- Curation (api/routes/curation.py) ------------------------------------------------


class DecisionIn(BaseModel):
    query_kind: Literal["tender", "obligation", "challenge"]
    query_ref: str = Field(max_length=200)
    enterprise_ref: str = Field(max_length=100)
    decision: Literal["accept", "reject", "pin", "unpin"]
    reason: str = Field("", max_length=2000, description="Required when rejecting")
    rank: int | None = Field(None, ge=1, le=fields.MAX_COUNT,
                             description="Rank shown; filled from the engine if absent")
    score: float | None = Field(None, description="Score shown; filled from the engine if "
                                                  "absent")
    features: dict[str, float] | None = Field(None, description="Feature scores shown")
    weight_set: str | None = None
    override: bool = Field(False, description="Accept or pin although a hard constraint "
                                              "excludes the enterprise (needs a reason)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"query_kind": "tender", "query_ref": "T-2026-014", "enterprise_ref": "E-0042",
         "decision": "accept", "reason": "Doet dit werk al voor de gemeente"},
        {"query_kind": "tender", "query_ref": "T-2026-014", "enterprise_ref": "E-0107",
         "decision": "reject", "reason": "Werkt niet in deze regio"},
    ]})


class DecisionOut(BaseModel):
    id: int | None
    query_kind: str
    query_ref: str
    enterprise_ref: str
    decision: str
    reason: str
    decided_by: str
    decided_at: str | None
    rank: int | None
    score: float | None
    features: dict[str, float]
    weight_set: str | None
    override: bool = False

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": 12, "query_kind": "tender", "query_ref": "T-2026-014", "enterprise_ref": "E-0042",
        "decision": "accept", "reason": "Doet dit werk al voor de gemeente",
        "decided_by": "verbinder@gemeente.nl", "decided_at": "2026-06-01T09:30:00+00:00",
        "rank": 1, "score": 0.82, "features": {"cpv": 1.0, "geo": 0.9}, "weight_set": None}})


class LogPage(BaseModel):
    items: list[DecisionOut]
    total: int
    page: int
    per_page: int
    pages: int


class ProposalOut(FreeCapacity):
    rank: int
    enterprise_ref: str
    name: str
    municipality: str | None
    score: float
    distance_km: float | None
    remaining_eur: float | None
    reasons: list[ReasonOut] = Field(description="The engine's reasons")
    features: dict[str, float]


class QueueQuery(BaseModel):
    query_kind: str
    query_ref: str
    title: str
    who: str | None
    when: date | None = Field(description="Contract start, due date or Challenge deadline")
    n_decided: int = Field(description="Matches of this query already decided")
    proposals: list[ProposalOut] = Field(description="The engine's best undecided candidates")


class CurationQueuePage(BaseModel):
    items: list[QueueQuery]
    total: int = Field(description="Open queries over all pages")
    page: int
    per_page: int
    pages: int

    model_config = ConfigDict(json_schema_extra={"example": {
        "items": [{"query_kind": "tender", "query_ref": "T-2026-014",
                   "title": "Schoonmaak stadskantoren", "who": "Gemeente Utrecht",
                   "when": "2026-09-01", "n_decided": 2,
                   "proposals": [{"rank": 3, "enterprise_ref": "E-0042",
                                  "name": "Schoonwerk Utrecht", "municipality": "GM0344",
                                  "score": 0.74, "distance_km": 2.1, "remaining_eur": 120000,
                                  "reasons": [{"code": "cpv_exact",
                                               "params": {"code": "90911200"},
                                               "text": "CPV 90911200 (Reiniging van "
                                                       "gebouwen) exact aangeboden"}],
                                  "features": {"cpv": 1.0}}]}],
        "total": 1, "page": 1, "per_page": 5, "pages": 1}})


# --- Obligations: plans and deliveries (api/routes/obligations.py) --------------------


# Rows in one saved plan (the plan form offers as many).
PLAN_MAX_ROWS = 100


class PlanRowOut(FreeCapacity):
    enterprise: str
    name: str
    kind: Literal["purchase", "placement"]
    amount_eur: float = Field(description="Invoiced euros (purchase) or the notional value "
                                          "of the places (placement)")
    credit_eur: float = Field(description="Social return credited under the policy")
    placements: int
    block: str | None = Field(None, description="Building block of a placement")
    fit: float | None = None
    status: Literal["proposed", "planned", "committed"] = "proposed"


class PlanOut(BaseModel):
    obligation: str
    policy: str
    due_eur: float
    committed_credit_eur: float
    credit_eur: float = Field(description="Committed plus this plan's credit")
    unmet_eur: float
    met: bool
    explanation: list[ReasonOut] = Field([], description="The engine's explanation of a "
                                                         "proposal (empty for a saved plan)")
    rows: list[PlanRowOut]
    committed: list[PlanRowOut]

    model_config = ConfigDict(json_schema_extra={"example": {
        "obligation": "O-1", "policy": "utrecht-2024", "due_eur": 120000.0,
        "committed_credit_eur": 50000.0, "credit_eur": 120000.0, "unmet_eur": 0.0, "met": True,
        "explanation": [{"code": "plan_committed",
                         "params": {"done_eur": 50000.0, "total_eur": 120000.0},
                         "text": "Al toegezegd: € 50.000 van € 120.000."}],
        "rows": [{"enterprise": "E-036", "name": "Schoonwerk Utrecht 36", "kind": "placement",
                  "amount_eur": 60000.0, "credit_eur": 60000.0, "placements": 2,
                  "block": "participatiewet_lt2", "fit": 0.66, "status": "proposed"}],
        "committed": []}})


class PlanRowIn(BaseModel):
    # Strict, as api.schemas: a wrong JSON type is refused, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")
    enterprise: fields.Ref = Field(examples=["E-036"], description="A vetted enterprise; "
                                   "each enterprise once per kind in a plan")
    kind: Literal["purchase", "placement"] = "purchase"
    # 0 is allowed for the other kind's field: GET …/plan gives both, and a client PUTs
    # its rows back.
    amount_eur: float | None = Field(None, ge=0, description="Purchases: invoice euros "
                                     "(excl. VAT), more than 0", examples=[10000])
    placements: Annotated[int, Field(ge=0, le=10000), BeforeValidator(fields.whole)] | None \
        = Field(None, description="Placements: full-time places for a year, at least 1")


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"example": {"rows": [
        {"enterprise": "E-036", "kind": "placement", "placements": 2},
        {"enterprise": "E-036", "kind": "purchase", "amount_eur": 10000}]}})
    rows: list[PlanRowIn] = Field(max_length=PLAN_MAX_ROWS)


class DeliveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re",
                              json_schema_extra={"examples": [
        {"enterprise_ref": "E-001", "on": "2026-05-15", "kind": "purchase",
         "amount_eur": 12500},
        {"enterprise_ref": "E-001", "on": "2026-05-15", "kind": "placement",
         "block": "participatiewet_lt2", "hours_per_week": 32, "months": 6}]})
    # What the request says by itself is here (422 when broken); what depends on the
    # stored state or today is a 409 (see the operation's description).
    enterprise_ref: fields.Ref = Field(description="A stored enterprise (404 if unknown)")
    on: IsoDate = Field(description="Not in the future, at most ten years back, within the "
                                    "contract's term and the policy's validity (409)")
    kind: Literal["purchase", "placement"] = "purchase"
    amount_eur: float = Field(0.0, ge=0, le=1e9, description="Purchase: invoice excl. VAT, "
                                                              "more than 0")
    block: fields.text(100) | None = Field(  # type: ignore[valid-type]
        None, description="Placement: building block key of the obligation's policy "
                          "(required; another key: 409)")
    hours_per_week: float = Field(0.0, ge=0, le=60, description="Placement: more than 0")
    months: float = Field(0.0, ge=0, le=60, description="Placement: more than 0")
    note: fields.text(1000) = ""  # type: ignore[valid-type]
    unplanned: bool = Field(False, description="The enterprise is neither in the plan nor "
                                                "committed: say why in unplanned_reason")
    unplanned_reason: fields.text(1000) = Field(  # type: ignore[valid-type]
        "", description="Required (not blank) when unplanned")


class UncommitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re",
                              json_schema_extra={"example": {
                                  "reason": "Onderneming kan de plaatsingen dit jaar niet "
                                            "leveren"}})
    reason: fields.text(1000, required=True) = Field(  # type: ignore[valid-type]
        description="Why the commitment is withdrawn (not blank)")


class PlanEventRowOut(BaseModel):
    enterprise: str
    kind: str
    amount_eur: float
    credit_eur: float
    placements: int
    block: str | None = None


class PlanEventOut(BaseModel):
    id: int
    obligation_ref: str
    action: Literal["commit", "uncommit"]
    reason: str
    decided_by: str
    decided_at: datetime
    rows: list[PlanEventRowOut]


class ReversalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re",
                              json_schema_extra={
                                  "example": {"reason": "Factuur 17 dubbel ingevoerd"}})
    reason: fields.text(1000, required=True) = Field(  # type: ignore[valid-type]
        description="Why the delivery is corrected (not blank)")


class EvidenceOut(BaseModel):
    id: int
    delivery_id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    href: str = Field(description="Download link (for those who can see the obligation)")


class DeliveryOut(BaseModel):
    id: int
    obligation_ref: str
    enterprise_ref: str
    on: date
    amount_eur: float = Field(description="Negative for a reversal")
    credit_eur: float = Field(description="Credited under the policy, computed by the server")
    note: str
    kind: Literal["delivery", "reversal"] = "delivery"
    part: Literal["purchase", "placement"] = "purchase"
    reverses_id: int | None = None
    reversed: bool = Field(False, description="A reversal of this delivery exists")
    unplanned: bool = False
    reason: str = Field("", description="Why unplanned (delivery) or corrected (reversal)")
    recorded_by: str = ""
    evidence: list[EvidenceOut] = []


class ProgressOut(BaseModel):
    months: list[str]
    planned: list[float]
    delivered: list[float | None]
    planned_total: float
    delivered_total: float
    due_eur: float
    start: date
    end: date


class DeliveriesPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    page: int
    per_page: int
    pages: int
    progress: ProgressOut


# --- Tender matches, why-not, feasibility (api/routes/tenders.py) ---------------------


class CpvMatch(BaseModel):
    """One offered code with the requested code it answers best (from the cpv_* reasons)."""

    code: str
    label: str
    requested: str = Field(description="The tender's code it answers")
    how: str = Field(description="exact | binnen (within) | omvat (covers) | verwant (related)")
    similarity: float


class DecisionMarkOut(BaseModel):
    decision: str
    decided_by: str
    reason: str
    decided_at: str | None = None
    override: bool = False


class RejectedOut(DecisionMarkOut):
    ref: str
    name: str


class MatchItem(FreeCapacity):
    rank: int
    ref: str
    name: str
    municipality: str | None = None
    score: float
    contributions: dict[str, float] = {}
    features: dict[str, float] = {}
    reasons: list[ReasonOut] = Field([], description="The engine's reasons")
    distance_km: float | None = None
    remaining_eur: float | None = Field(
        None, description="Free capacity per year in euros, placements valued at the "
                          "valuation policy's placement-year (the ranking's capacity figure)")
    matched_cpv: list[CpvMatch] = []
    target_groups: list[str] = []
    decision: Literal["accept", "pin"] | None = Field(
        None, description="The connector's current decision on this row (pinned rows lead)")
    decided: DecisionMarkOut | None = None
    excluded_by: list[ReasonOut] = Field(
        [], description="Hard constraints a pinned enterprise fails (shown by override)")
    relevance: float | None = Field(
        None, description="Relevance to the work in [0, 1] (CPV and description); suitable "
                          "from the engine's floor (SUITABLE_FLOOR) up")
    suitable: bool = Field(True, description="False: below the suitable floor (only in "
                                             "'maybe')")


class LotMatchesOut(BaseModel):
    """One lot of a tender in two or more lots, matched on its own codes, value and place."""

    id: str = Field(description="The lot's identifier as published (e.g. LOT-0001)")
    title: str = ""
    cpv: list[str] = Field([], description="The lot's CPV codes (empty: the tender's)")
    value_eur: float | None = Field(None, description="The lot's estimated value")
    items: list[MatchItem] = Field([], description="Suitable enterprises for this lot")
    maybe: list[MatchItem] = Field([], description="'Mogelijk passend' for this lot")
    n_suitable: int | None = None
    n_candidates: int = 0


class MatchesOut(BaseModel):
    tender: str
    items: list[MatchItem]
    total: int
    page: int
    per_page: int
    pages: int
    n_candidates: int = Field(description="Enterprises that passed the hard constraints")
    n_excluded: int = Field(description="Enterprises excluded by a hard constraint")
    rejected: list[RejectedOut] = Field(
        [], description="Enterprises a connector rejected for this query (not in items)")
    maybe: list[MatchItem] = Field(
        [], description="'Mogelijk passend': the nearest candidates below the suitable floor, "
                        "each with a below_floor reason saying what it lacks (not in items)")
    n_suitable: int | None = Field(
        None, description="Candidates judged suitable (items hold only these)")
    place_judged: bool = Field(
        True, description="False: no place of performance in the Netherlands, so distance "
                          "and region were not judged")
    lots: list[LotMatchesOut] = Field(
        [], description="A tender in two or more lots: the matches per lot (perceel); "
                        "empty otherwise")

    model_config = ConfigDict(json_schema_extra={"example": {
        "tender": "T-UTR-1", "total": 20, "page": 1, "per_page": 20, "pages": 1,
        "n_candidates": 31, "n_excluded": 29,
        "items": [{"rank": 1, "ref": "E-036", "name": "Schoonwerk Utrecht 36",
                   "municipality": "GM0344", "score": 0.71, "distance_km": 1.2,
                   "remaining_eur": 140000.0, "purchasing_eur_per_year": 150000.0,
                   "placements_per_year": 2, "free_purchase_eur_per_year": 110000.0,
                   "free_placements_per_year": 1,
                   "reasons": [{"code": "cpv_exact", "params": {"code": "90911200"},
                                "text": "CPV 90911200 (Reiniging van gebouwen) exact "
                                        "aangeboden"}],
                   "matched_cpv": [{"code": "90911200", "label": "Schoonmaakdiensten",
                                    "requested": "90911200", "how": "exact",
                                    "similarity": 1.0}],
                   "target_groups": ["participatiewet"]}]}})


class WhyNotOut(BaseModel):
    ref: str
    name: str
    excluded: bool = Field(description="True when a hard constraint keeps it out")
    exclusions: list[ReasonOut] = Field([], description="The hard constraints it fails")
    rank: int | None = Field(None, description="Its place among the candidates, if feasible")
    score: float | None = None
    n_candidates: int
    reasons: list[ReasonOut] = Field([], description="Why it fits (if feasible)")
    decision: DecisionMarkOut | None = Field(
        None, description="The connector's current decision on it for this query")

    model_config = ConfigDict(json_schema_extra={"example": {
        "ref": "E-077", "name": "Groen Werkt", "excluded": True,
        "exclusions": [{"code": "vetting_expired", "params": {"on": "2025-03-01"},
                        "text": "screening verlopen op 1 maart 2025"}],
        "rank": None, "score": None, "n_candidates": 31, "reasons": []}})


class FeasibilityCandidate(BaseModel):
    ref: str
    name: str
    capacity_eur: float
    purchasing_eur: float = Field(0.0, description="Purchasing that counts (its work fits)")
    placement_eur: float = Field(0.0, description="Placements that count (target groups)")
    committed_eur: float
    free_eur: float
    distance_km: float | None = None


class FeasibilityOut(BaseModel):
    tender: str
    verdict: str = Field(description=(
        "feasible | tight | infeasible | no_clause | not_applicable. not_applicable: the "
        "clause owes nothing (no percentage or amount, €0, contract value below the "
        "threshold) or what it owes cannot be computed (contract value or labour cost "
        "unknown, no valuation policy for the buyer's region: choose one); 'reason' says "
        "which. Never 'feasible' then."))
    reason: str | None = Field(None, description=(
        "Why not_applicable: nothing_due | below_threshold | no_contract_value | "
        "no_labour_cost | no_policy; null for the other verdicts"))
    reason_text: str | None = Field(None, description="The reason in Dutch")
    label: str = Field(description="The verdict in Dutch")
    feasible: bool
    due_eur: float
    years: float
    capacity_eur: float = Field(description="Vetted capacity in range over the period, "
                                "whatever the enterprises' work")
    purchasing_eur: float = Field(0.0, description="Purchasing capacity of the enterprises "
                                  "whose work fits the tender (CPV or text)")
    placement_eur: float = Field(0.0, description="Placement capacity of the enterprises "
                                 "serving the clause's target groups, in euros at "
                                 "placement_value_eur per placement-year")
    placement_value_eur: float = Field(0.0, description="Euros one placement-year counts for "
                                       "(the clause's valuation policy)")
    usable_eur: float = Field(0.0, description="purchasing_eur + placement_eur")
    committed_eur: float = Field(description="Of the usable capacity, already committed "
                                 "elsewhere")
    committed_share: float = Field(description="committed_eur / usable_eur")
    n_purchasing: int = 0
    n_placement: int = 0
    free_eur: float
    shortfall_eur: float
    n_enterprises: int
    region_km: float | None = None
    top: list[FeasibilityCandidate] = []

    model_config = ConfigDict(json_schema_extra={"example": {
        "tender": "T-UTR-1", "verdict": "feasible", "label": "Haalbaar", "feasible": True,
        "due_eur": 120000.0, "years": 4.0, "capacity_eur": 2400000.0,
        "committed_eur": 300000.0, "committed_share": 0.125, "free_eur": 2100000.0,
        "shortfall_eur": 0.0, "n_enterprises": 12, "region_km": None, "top": []}})


# --- Vetting (api/routes/vetting.py) --------------------------------------------------


class VettingIn(BaseModel):
    status: Literal["vetted", "rejected", "pending"] = Field(
        description="vetted = approve, rejected = reject, pending = back to the queue")
    valid_until: date | None = Field(
        None, description="End of the vetting (vetted only); default one year from today")
    reason: str = Field("", max_length=2000,
                        description="Why; required when rejecting or resetting to pending")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "vetted", "valid_until": "2027-06-30",
         "reason": "KvK en PSO-certificaat gezien"},
        {"status": "rejected", "reason": "Geen mensen uit de doelgroepen in dienst"},
    ]})


class VettingEventOut(BaseModel):
    id: int | None
    enterprise_ref: str
    status: str
    valid_until: date | None
    reason: str | None = Field(description="Why; absent (null) for an approval without one")
    decided_by: str
    decided_at: datetime | None


class EnterpriseVetting(BaseModel):
    ref: str
    name: str
    vetting_status: str
    vetted_by: str | None
    vetted_on: date | None
    vetting_valid_until: date | None


class VettingOut(BaseModel):
    enterprise: EnterpriseVetting
    event: VettingEventOut

    model_config = ConfigDict(json_schema_extra={"example": {
        "enterprise": {"ref": "E-0042", "name": "Groenwerk Utrecht", "vetting_status": "vetted",
                       "vetted_by": "verbinder@gemeente.nl", "vetted_on": "2026-06-01",
                       "vetting_valid_until": "2027-06-30"},
        "event": {"id": 17, "enterprise_ref": "E-0042", "status": "vetted",
                  "valid_until": "2027-06-30", "reason": "KvK en PSO-certificaat gezien",
                  "decided_by": "verbinder@gemeente.nl",
                  "decided_at": "2026-06-01T09:30:00+00:00"}}})


class QueueItem(BaseModel):
    flag: Literal["pending", "expiring", "expired", "cert_expiring"]
    ref: str
    name: str
    municipality: str | None
    vetting_status: str
    vetting_valid_until: date | None
    days_left: int | None
    certificate: str | None
    certificate_valid_until: date | None


class VettingQueuePage(BaseModel):
    items: list[QueueItem]
    total: int
    page: int
    per_page: int
    pages: int
    counts: dict[str, int] = Field(description="Number of items per flag")

    model_config = ConfigDict(json_schema_extra={"example": {
        "items": [{"flag": "expiring", "ref": "E-0042", "name": "Groenwerk Utrecht",
                   "municipality": "GM0344", "vetting_status": "vetted",
                   "vetting_valid_until": "2026-06-20", "days_left": 19, "certificate": None,
                   "certificate_valid_until": None}],
        "total": 1, "page": 1, "per_page": 50, "pages": 1,
        "counts": {"pending": 0, "expiring": 1, "expired": 0, "cert_expiring": 0}}})


class EventsPage(BaseModel):
    items: list[VettingEventOut]
    total: int
    page: int
    per_page: int
    pages: int
