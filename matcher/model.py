"""Plain domain records the engine works on.

These are the engine's input types: frozen dataclasses with no web or database
knowledge. The store (``api/``) converts its tables into these; importers
convert interchange documents into the store. Everything downstream of here
(features, constraints, ranking, valuation, allocation) reads only these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# The interchange format's target-group vocabulary (../shared/interchange.md).
TARGET_GROUPS: tuple[str, ...] = (
    "participatiewet",
    "ww",
    "wajong",
    "wsw",
    "beschut_werk",
    "banenafspraak",
    "wia",
    "nug",
    "jongeren_zonder_startkwalificatie",
    "statushouders",
    "bbl",
    "bol",
    "vso_pro",
    "50plus",
)

CERTIFICATION_SCHEMES: tuple[str, ...] = ("PSO", "PSO30+", "CodeSO", "SENL", "BCorp")
CERTIFICATION_LEVELS: tuple[str, ...] = ("aspirant", "1", "2", "3")
VETTING_STATUSES: tuple[str, ...] = ("vetted", "pending", "rejected")
CLAUSE_BASES: tuple[str, ...] = ("contract_value", "labour_cost")

# Article 20 of Directive 2014/24 (Aanbestedingswet 2.82): reserved contracts need
# at least this share of disadvantaged staff.
RESERVED_MIN_TARGET_GROUP_SHARE = 0.30
DEFAULT_SERVICE_RADIUS_KM = 30.0
DEFAULT_MAX_PARTNERS = 3
CHALLENGE_TERM_WEEKS = 12


@dataclass(frozen=True)
class Certification:
    scheme: str
    level: str | None = None
    valid_until: date | None = None

    def is_valid(self, on: date) -> bool:
        return self.valid_until is None or self.valid_until >= on


@dataclass(frozen=True)
class Vetting:
    status: str = "pending"
    by: str | None = None
    on: date | None = None
    valid_until: date | None = None

    def is_valid(self, on: date) -> bool:
        """Only vetted and unexpired enterprises may be matched."""
        return self.status == "vetted" and (self.valid_until is None or self.valid_until >= on)


@dataclass(frozen=True)
class Capacity:
    placements_per_year: int = 0
    purchasing_eur_per_year: float = 0.0


@dataclass(frozen=True)
class Enterprise:
    ref: str
    name: str
    description: str
    cpv: tuple[str, ...]
    lat: float
    lon: float
    municipality: str | None = None  # CBS code, e.g. "GM0344"
    kvk: str | None = None
    postcode: str | None = None
    service_radius_km: float = DEFAULT_SERVICE_RADIUS_KM
    target_groups: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    capacity: Capacity = field(default_factory=Capacity)
    target_group_share: float | None = None
    trade_income_share: float | None = None
    certifications: tuple[Certification, ...] = ()
    vetting: Vetting = field(default_factory=Vetting)


@dataclass(frozen=True)
class SroiClause:
    percentage: float | None = None
    amount_eur: float | None = None
    basis: str = "contract_value"
    threshold_eur: float | None = None
    cap_eur: float | None = None
    target_groups: tuple[str, ...] = ()
    region_km: float | None = None
    policy: str | None = None
    # Contract reserved under article 20: only enterprises with >= 30 % target-group staff.
    reserved: bool = False
    labour_cost_eur: float | None = None


@dataclass(frozen=True)
class Lot:
    """One lot (perceel) of a tender: its own codes, value and, when it names one, place.
    What a lot leaves open (no codes, no place) is the tender's."""

    id: str
    title: str = ""
    cpv: tuple[str, ...] = ()
    value_eur: float | None = None
    municipality: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Tender:
    ref: str
    buyer: str
    title: str
    cpv: tuple[str, ...]
    description: str = ""
    contract_value_eur: float | None = None
    start: date | None = None
    end: date | None = None
    municipality: str | None = None
    lat: float | None = None
    lon: float | None = None
    sroi: SroiClause | None = None
    lots: tuple[Lot, ...] = ()  # matched one by one when there are two or more


@dataclass(frozen=True)
class Challenge:
    ref: str
    municipality: str
    title: str
    question: str
    themes: tuple[str, ...] = ()
    opened_on: date | None = None
    deadline: date | None = None
    budget_eur: float | None = None
    max_partners: int = DEFAULT_MAX_PARTNERS
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Obligation:
    ref: str
    firm: str
    amount_eur: float
    tender: str | None = None
    due: date | None = None
    buys: tuple[str, ...] = ()
    municipality: str | None = None
    lat: float | None = None
    lon: float | None = None
    policy: str | None = None
    cpv: tuple[str, ...] = ()  # the tender's codes, when known
    target_groups: tuple[str, ...] = ()
