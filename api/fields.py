"""The formats of the entity fields, defined once (issue #18): the file checks
(``api.importers.interchange``) read their patterns, lengths and ranges from here, and the
API's request schemas (``api.schemas``) are built from the same definitions, so the OpenAPI
document says exactly what the server accepts and the two cannot drift.

The file checks are more forgiving than the schema in a few places (a KvK number with
spaces, a CPV code with its check digit, a municipality by a folded name or a bare number,
a share written with a decimal comma in a CSV cell): the API's schema describes the
canonical form, a subset of what the files accept, so whatever the schema allows the
checks accept. Rules JSON Schema cannot say (dates in order, lat and lon together) are in
the field descriptions; ``tests/contract_hooks.py`` explains how the contract tests keep
to them.

Patterns use explicit classes (``[0-9]``, a literal space) rather than ``\\d`` and ``\\s``:
those differ between Python's ``re``, the Rust regex pydantic uses by default and
JavaScript. Models using these types set ``regex_engine="python-re"``.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

from api.i18n import N_
from matcher.model import (
    CERTIFICATION_LEVELS,
    CERTIFICATION_SCHEMES,
    CLAUSE_BASES,
    TARGET_GROUPS,
    VETTING_STATUSES,
)
from matcher.valuation import list_policies

# Column widths (VARCHAR on PostgreSQL).
MAX_LEN = {"ref": 100, "name": 300, "buyer": 300, "title": 500, "firm": 300, "by": 200}
TENDER_REF_MAX = 200
# Whole numbers go into 32-bit INTEGER columns; no enterprise places a million people.
MAX_COUNT = 1_000_000

# Generous box around the Netherlands (border regions included).
LAT_RANGE = (49.0, 55.5)
LON_RANGE = (2.0, 9.0)

# Text: no NUL character (PostgreSQL cannot store one); a required text has at least one
# character that is not white space (a blank value counts as absent).
TEXT_PATTERN = r"^[^\x00]*$"
# White space spelt out (what Python's \s and str.strip() take): generators differ on
# \x1c-\x1f and \x85 for \s.
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NON_BLANK_PATTERN = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
SPACE = _SPACE  # for a character class elsewhere (the e-mail pattern)
KVK_PATTERN = r"^[0-9]{8}$"
POSTCODE_PATTERN = r"^ *([1-9][0-9]{3}) *([A-Za-z]{2}) *$"
ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _enum(name: str, values: list[str]) -> type[Enum]:
    """A string enumeration: one named component in the OpenAPI document (listed once,
    referenced by every field that uses it)."""
    return Enum(name, {v: v for v in values}, type=str)  # type: ignore[return-value]


def vocabulary(name: str, pattern: str, description: str) -> Any:
    """A code of a large reference list (``matcher.refdata``), checked by the list's owner
    (the file checks), with its form as a pattern and ``x-vocabulary`` naming the list.

    Not an enumeration: schemathesis' coverage phase sends one request per listed value
    (9,454 CPV codes) and the document would grow by 100 kB for each list."""
    return Annotated[str, StringConstraints(pattern=pattern),
                     Field(description=description, json_schema_extra={"x-vocabulary": name})]


def _lax(enum: type[Enum], description: str) -> Any:
    # Lax: the API's models are strict (a wrong JSON type is refused), and strict mode
    # would want an Enum instance where JSON gives a string.
    return Annotated[enum, Field(strict=False, description=description)]


Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]


def text(max_length: int | None = None, *, required: bool = False) -> Any:
    """Text of at most ``max_length`` characters (after trimming, the checks count)."""
    return Annotated[str, StringConstraints(
        pattern=NON_BLANK_PATTERN if required else TEXT_PATTERN, max_length=max_length)]


Ref = Annotated[str, StringConstraints(pattern=NON_BLANK_PATTERN, max_length=MAX_LEN["ref"])]
TenderRef = Annotated[str, StringConstraints(pattern=NON_BLANK_PATTERN,
                                             max_length=TENDER_REF_MAX)]
Kvk = Annotated[str, StringConstraints(pattern=KVK_PATTERN),
                Field(description="KvK number: 8 digits", examples=["30123456"])]
Postcode = Annotated[str, StringConstraints(pattern=POSTCODE_PATTERN),
                     Field(description="Dutch postcode, e.g. \"3511 AB\"")]
Lat = Annotated[float, Field(ge=LAT_RANGE[0], le=LAT_RANGE[1], allow_inf_nan=False,
                             description="WGS84 latitude, in or near the Netherlands; "
                                         "give lon too (both or neither)")]
Lon = Annotated[float, Field(ge=LON_RANGE[0], le=LON_RANGE[1], allow_inf_nan=False,
                             description="WGS84 longitude; give lat too (both or neither)")]
Euros = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveEuros = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Km = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False,
                               description="A share from 0 to 1 (35 % is 0.35)")]
Percentage = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
def whole(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer, and so do the file checks; strict pydantic not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(whole)]
# The bounds before the validator: on the int itself, so the document says "minimum" and
# "maximum" (after it, pydantic wrote them as "ge"/"le", keywords JSON Schema does not know).
Count = Annotated[int, Field(ge=0, le=MAX_COUNT), BeforeValidator(whole)]
Partners = Annotated[int, Field(ge=1, le=MAX_COUNT), BeforeValidator(whole)]

CPV_PATTERN = r"^[0-9]{8}(-[0-9])?$"

# What a refused pattern means, said to people instead of the regular expression
# (api.app's validation messages; ``{input}`` is the value sent).
PATTERN_MESSAGES: dict[str, str] = {
    KVK_PATTERN: N_("'{input}' is geen KvK-nummer — een KvK-nummer heeft 8 cijfers"),
    POSTCODE_PATTERN: N_("'{input}' is geen postcode — schrijf 4 cijfers en 2 letters, "
                         "zoals 3511 AB"),
    ISO_DATE_PATTERN: N_("'{input}' is geen datum — schrijf JJJJ-MM-DD"),
    CPV_PATTERN: N_("'{input}' is geen CPV-code — 8 cijfers, eventueel met het "
                    "controlecijfer, zoals 90911200-8"),
    # A required text refused for being blank (or holding a NUL: api.app tells them apart).
    NON_BLANK_PATTERN: N_("Mag niet leeg zijn: geef tekst die niet alleen uit spaties bestaat"),
    TEXT_PATTERN: N_("Mag geen NUL-teken bevatten"),
}
# The message of a text holding a NUL, whichever text pattern refused it.
NUL_MESSAGE = PATTERN_MESSAGES[TEXT_PATTERN]
# A pattern without its own message: said without the regular expression (the API
# document gives it).
OTHER_PATTERN_MESSAGE = N_("Heeft niet de vorm die dit veld vraagt (zie de API-documentatie)")
CpvCode = vocabulary("cpv", CPV_PATTERN,
                     "A code of the CPV 2008 vocabulary: 8 digits, optionally with its check "
                     "digit (\"77310000-6\"; the check digit is not verified, answers give "
                     "the 8 digits). Look codes up with GET /api/v1/cpv")
Municipality = vocabulary("municipality", NON_BLANK_PATTERN,
                          "A 2023 municipality: its CBS code (GM0344) or its name")
TargetGroup = _lax(_enum("TargetGroup", list(TARGET_GROUPS)), "A target group")
CertificationScheme = _lax(_enum("CertificationScheme", list(CERTIFICATION_SCHEMES)),
                           "A certification scheme")
CertificationLevel = _lax(_enum("CertificationLevel", list(CERTIFICATION_LEVELS)),
                          "The level within the scheme")
VettingStatus = _lax(_enum("VettingStatus", list(VETTING_STATUSES)), "The vetting's outcome")
ClauseBasis = _lax(_enum("ClauseBasis", list(CLAUSE_BASES)), "What the percentage is of")
Policy = _lax(_enum("Policy", list_policies()), "A valuation policy")
