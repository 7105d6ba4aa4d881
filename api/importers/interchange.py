"""Parse and validate interchange files (``shared/interchange.md``): JSON documents and
one-kind-per-file CSV. Pure: no database. ``api.services.importing`` stores the result.

Everything is checked and *every* problem is collected (never only the first), each with
the file, the place (CSV: ``row N`` as a spreadsheet shows it, the header being row 1, or
row 2 under a ``# kind:`` comment line; JSON: a path such as ``enterprises[3].cpv[1]``,
0-based), the field, the reason and how to fix it.

CSV layout (``fixtures/README.md`` documents it for users): one column per field; list
fields separated by ``|``; nested objects flattened with ``_``: ``capacity_placements_per_year``,
``capacity_purchasing_eur_per_year``, ``vetting_status``, ``vetting_by``, ``vetting_on``,
``vetting_valid_until``, ``sroi_percentage`` … ``sroi_policy``; certifications as
``scheme:level:valid_until`` items (``PSO:2:2027-05-01|SENL::``); ``extra`` holds a JSON
object. An empty cell means the field is absent. ``;``-separated files (Dutch Excel) are
recognised, and then a decimal comma (``0,35``) too.

Columns of the store that the format has no field for travel in ``extra`` so an export
re-imports to the same rows: tenders' ``reserved`` (article 20), ``status``, ``source``,
``nuts3``, ``social_signals``, ``sroi_detected``, ``sroi_detected_sentence``,
``sroi_confirmed``; challenges' and obligations' ``status``. The tender clause also
accepts ``labour_cost_eur`` (the labour-cost basis needs it; the store has the column).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import PurePath
from typing import Any

from api.fields import (
    ISO_DATE_PATTERN,
    KVK_PATTERN,
    LAT_RANGE,
    LON_RANGE,
    MAX_COUNT,
    MAX_LEN,
    POSTCODE_PATTERN,
    TENDER_REF_MAX,
    TEXT_PATTERN,
)
from matcher.model import (
    CERTIFICATION_LEVELS,
    CERTIFICATION_SCHEMES,
    CHALLENGE_TERM_WEEKS,
    CLAUSE_BASES,
    DEFAULT_MAX_PARTNERS,
    DEFAULT_SERVICE_RADIUS_KM,
    TARGET_GROUPS,
    VETTING_STATUSES,
)
from matcher.refdata import (
    CpvError,
    municipalities,
    normalise_cpv,
    resolve_municipality,
    suggest_municipalities,
)

MAX_FILE_BYTES = 50 * 1024 * 1024
KINDS: tuple[str, ...] = ("enterprises", "tenders", "challenges", "obligations")
SINGULAR = {"enterprises": "enterprise", "tenders": "tender", "challenges": "challenge",
            "obligations": "obligation"}

ENTERPRISE_FIELDS = (
    "ref", "name", "kvk", "description", "cpv", "municipality", "postcode", "lat", "lon",
    "service_radius_km", "target_groups", "themes", "capacity", "target_group_share",
    "trade_income_share", "certifications", "vetting", "contact", "extra",
)
TENDER_FIELDS = (
    "ref", "buyer", "title", "description", "cpv", "contract_value_eur", "start", "end",
    "municipality", "postcode", "lat", "lon", "sroi", "extra",
)
CHALLENGE_FIELDS = (
    "ref", "municipality", "title", "question", "themes", "opened_on", "deadline",
    "budget_eur", "max_partners", "extra",
)
OBLIGATION_FIELDS = (
    "ref", "firm", "tender", "amount_eur", "due", "buys", "municipality", "lat", "lon",
    "policy", "extra",
)
FIELDS = {"enterprises": ENTERPRISE_FIELDS, "tenders": TENDER_FIELDS,
          "challenges": CHALLENGE_FIELDS, "obligations": OBLIGATION_FIELDS}
CAPACITY_FIELDS = ("placements_per_year", "purchasing_eur_per_year")
VETTING_FIELDS = ("status", "by", "on", "valid_until")
CERT_FIELDS = ("scheme", "level", "valid_until")
CONTACT_FIELDS = ("name", "email", "phone", "website")
SROI_FIELDS = ("percentage", "amount_eur", "basis", "threshold_eur", "cap_eur",
               "target_groups", "region_km", "policy", "labour_cost_eur")
NESTED = {"capacity": CAPACITY_FIELDS, "vetting": VETTING_FIELDS, "sroi": SROI_FIELDS,
          "contact": CONTACT_FIELDS}
LIST_FIELDS = {"cpv", "target_groups", "themes", "buys", "certifications"}

# Store columns carried in ``extra`` (see module docstring): key -> (column, default).
EXTRA_COLUMNS: dict[str, dict[str, tuple[str, Any]]] = {
    "tenders": {
        "reserved": ("reserved", False),
        "status": ("status", "published"),
        "source": ("source", "interchange"),
        "nuts3": ("nuts3", None),
        "social_signals": ("social_signals", []),
        "sroi_detected": ("sroi_detected", False),
        "sroi_detected_sentence": ("sroi_detected_sentence", None),
        "sroi_confirmed": ("sroi_confirmed", True),
    },
    "challenges": {"status": ("status", "intake")},
    "obligations": {"status": ("status", "open")},
    "enterprises": {},
}
# A tender's source is one of these or a published format of api.importers.registry.
TENDER_SOURCES = ("interchange", "form")
EXTRA_ENUMS = {
    ("tenders", "status"): ("draft", "published"),
    ("challenges", "status"): ("intake", "call", "pitch", "pilot", "evaluation", "closed"),
    ("obligations", "status"): ("open", "met", "closed"),
}


_DATE_RE = re.compile(ISO_DATE_PATTERN)
_POSTCODE_RE = re.compile(POSTCODE_PATTERN)
_KVK_RE = re.compile(KVK_PATTERN)
_TEXT_RE = re.compile(TEXT_PATTERN)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d+,\d+$")
# Contact details: an address with one @ and a domain with a dot; a phone number of
# digits with the usual separators (checked for its digit count below); a web address.
EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
PHONE_RE = re.compile(r"^\+?[\d\s().-]+$")
_HOST_RE = re.compile(r"^(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
                      r"[A-Za-z]{2,}$")
CONTACT_MAX = {"name": 200, "email": 254, "phone": 40, "website": 300}


# ------------------------------------------------------------------ results


@dataclass
class Issue:
    """One problem found in a file: where, which field, why, and what to do."""

    file: str
    location: str  # "row 7", "enterprises[3].cpv[1]", "" for the whole file
    field: str | None
    reason: str
    fix: str = ""
    ref: str | None = None
    # What went wrong as a code with its values (``"required"``, ``{"max": 300}``), so a
    # web form can say it in Dutch or English beside the field (api.services.entity_edit).
    code: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        head = self.file
        if self.location:
            head += f" {self.location}"
        if self.ref and not self.location.startswith("row "):
            head += f" (ref {self.ref})"
        if self.field and (self.location.startswith("row ") or not self.location):
            head += f", field {self.field}"
        text = f"{head}: {self.reason}"
        if self.fix:
            text += f" — {self.fix}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "location": self.location, "field": self.field,
                "reason": self.reason, "fix": self.fix, "ref": self.ref, "message": str(self)}


@dataclass
class Record:
    """One valid entity, as the store's column values."""

    kind: str  # one of KINDS
    ref: str
    location: str
    values: dict[str, Any]
    given: frozenset[str] = frozenset()  # interchange fields present in the input


@dataclass
class ParsedFile:
    name: str
    format: str  # "json" | "csv" | "unknown"
    records: dict[str, list[Record]] = field(default_factory=lambda: {k: [] for k in KINDS})
    issues: list[Issue] = field(default_factory=list)
    # The values a tender's ``source`` may take: TENDER_SOURCES plus the published formats,
    # which the caller (api.importers.registry) names, so this parser needs no registry.
    tender_sources: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues

    def all_records(self) -> Iterable[Record]:
        for kind in KINDS:
            yield from self.records[kind]

    def count(self) -> int:
        return sum(len(v) for v in self.records.values())


# ------------------------------------------------------------------ helpers


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The most similar choice by edit distance (for "did you mean"), or None."""
    from rapidfuzz.distance import Levenshtein

    best, best_score = None, 0.0
    w = str(word).lower()
    for c in choices:
        score = Levenshtein.normalized_similarity(w, c.lower())
        if score > best_score:
            best, best_score = c, score
    return best if best_score >= 0.5 else None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…'"


def _type_name(value: Any) -> str:
    return {str: "text", bool: "true/false", int: "a number", float: "a number",
            list: "a list", dict: "an object", type(None): "null"}.get(type(value),
                                                                       type(value).__name__)


class _Invalid(Exception):
    """Raised inside a field check; the message is already recorded."""


class _Checker:
    """Validates one entity (a dict as in JSON; CSV rows are turned into such dicts)."""

    def __init__(self, parsed: ParsedFile, kind: str, base: str, from_csv: bool,
                 csv_field: Callable[[tuple[str | int, ...]], str] | None = None) -> None:
        self.parsed = parsed
        self.kind = kind
        self.base = base  # "row 7" or "enterprises[3]"
        self.from_csv = from_csv
        self.csv_field = csv_field
        self.ref: str | None = None
        self.failed = False

    # -- reporting
    def where(self, path: tuple[str | int, ...]) -> tuple[str, str | None]:
        fld = str(path[0]) if path else None
        if self.from_csv:
            col = self.csv_field(path) if (self.csv_field and path) else fld
            return self.base, col
        text = self.base
        for p in path:
            text += f"[{p}]" if isinstance(p, int) else f".{p}"
        return text, fld

    def error(self, path: tuple[str | int, ...], reason: str, fix: str = "", code: str = "",
              **params: Any) -> None:
        location, fld = self.where(path)
        self.parsed.issues.append(Issue(self.parsed.name, location, fld, reason, fix, self.ref,
                                        code, params))
        self.failed = True

    def fail(self, path: tuple[str | int, ...], reason: str, fix: str = "", code: str = "",
             **params: Any) -> _Invalid:
        self.error(path, reason, fix, code, **params)
        return _Invalid()

    # -- keys
    def check_keys(self, obj: dict[str, Any], allowed: Iterable[str],
                   path: tuple[str | int, ...] = ()) -> None:
        allowed = tuple(allowed)
        for key in obj:
            if key in allowed:
                continue
            guess = closest(key, allowed)
            hint = f"did you mean {guess!r}?" if guess else \
                f"valid fields here: {', '.join(allowed)}"
            self.error(path + (key,), f"unknown field {key!r}",
                       hint + " (put your own fields under \"extra\")" if path == () else hint)

    # -- scalar types
    def text(self, obj: dict[str, Any], key: str, *, required: bool = False,
             max_len: int | None = None, path: tuple[str | int, ...] = ()) -> str | None:
        value = obj.get(key)
        p = path + (key,)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(p, f"{key!r} is required", f"give the {SINGULAR.get(self.kind, '')} "
                           f"a non-empty {key}".replace("  ", " "), "required")
                raise _Invalid()
            return None
        if not isinstance(value, str):
            raise self.fail(p, f"expected text, got {_type_name(value)} {_short(value)}",
                            "write it as a string in quotes", "text")
        if not _TEXT_RE.match(value) or not value.isascii() and _SURROGATE_RE.search(value):
            # A lone surrogate (JSON lets "\ud800" through) is not Unicode text.
            raise self.fail(p, "contains a NUL character or a lone surrogate (not text)",
                            "remove it", "text")
        value = value.strip()
        if max_len is not None and len(value) > max_len:
            raise self.fail(p, f"too long ({len(value)} characters, at most {max_len})",
                            "shorten it", "too_long", max=max_len, length=len(value))
        return value

    def number(self, value: Any, p: tuple[str | int, ...], *, minimum: float | None = None,
               exclusive_min: bool = False, maximum: float | None = None,
               integer: bool = False) -> float | int:
        what = "a whole number" if integer else "a number"
        if isinstance(value, str) and self.from_csv:
            raw = value.strip()
            if _DECIMAL_COMMA_RE.match(raw):
                raw = raw.replace(",", ".")
            if not _NUMBER_RE.match(raw):
                raise self.fail(p, f"{_short(value)} is not {what}",
                                "write digits with a decimal point, e.g. 1250.50 "
                                "(no currency sign or thousands separator)",
                                "whole_number" if integer else "number")
            value = float(raw) if not re.fullmatch(r"[+-]?\d+", raw) else int(raw)
        if isinstance(value, bool) or not isinstance(value, int | float):
            fix = "write the number without quotes" if isinstance(value, str) and \
                _NUMBER_RE.match(value.strip()) else f"give {what}"
            raise self.fail(p, f"expected {what}, got {_type_name(value)} {_short(value)}", fix,
                            "whole_number" if integer else "number")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(p, f"{value!r} is not a finite number", f"give {what}", "number")
        if integer:
            if isinstance(value, float):
                if not value.is_integer():
                    raise self.fail(p, f"{value!r} is not a whole number", "give a whole number",
                                    "whole_number")
                value = int(value)
        if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
            op = ">" if exclusive_min else "≥"
            raise self.fail(p, f"{value!r} is out of range: must be {op} {minimum:g}",
                            f"give a value {op} {minimum:g}",
                            "above" if exclusive_min else "minimum", min=minimum)
        if maximum is not None and value > maximum:
            raise self.fail(p, f"{value!r} is out of range: must be ≤ {maximum:g}",
                            f"give a value ≤ {maximum:g}" + (" (a share: 35 % is 0.35)"
                                                             if maximum == 1 else ""),
                            "share" if maximum == 1 else "maximum", max=maximum)
        return value

    def opt_number(self, obj: dict[str, Any], key: str, path: tuple[str | int, ...] = (),
                   **kw: Any) -> Any:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return self.number(value, path + (key,), **kw)

    def opt_date(self, obj: dict[str, Any], key: str,
                 path: tuple[str | int, ...] = ()) -> date | None:
        value = obj.get(key)
        p = path + (key,)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise self.fail(p, f"expected a date, got {_type_name(value)} {_short(value)}",
                            "write the date as text, YYYY-MM-DD (e.g. \"2027-05-01\")", "date")
        raw = value.strip()
        if not _DATE_RE.match(raw):
            raise self.fail(p, f"{_short(value)} is not an ISO date",
                            "write YYYY-MM-DD, e.g. 2027-05-01", "date")
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise self.fail(p, f"{_short(value)} is not a real date",
                            "check the month and day", "date") from None

    def str_list(self, obj: dict[str, Any], key: str,
                 path: tuple[str | int, ...] = ()) -> list[Any] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            fix = f"write a list: [{json.dumps(value)}]" if isinstance(value, str) else \
                "write a list"
            raise self.fail(path + (key,), f"expected a list, got {_type_name(value)}", fix,
                            "list")
        return value

    def cpv_list(self, obj: dict[str, Any], key: str, *, required: bool) -> list[str]:
        items = self.str_list(obj, key)
        if not items:
            if required:
                self.error((key,), "at least one CPV code is required",
                           "list the CPV codes, e.g. [\"90911200\"]; look codes up at "
                           "simap.ted.europa.eu", "cpv_required")
            return []
        out: list[str] = []
        bad = False
        for i, raw in enumerate(items):
            try:
                code = normalise_cpv(raw)
            except CpvError as exc:
                bad = True
                fix = ("use 8 digits as in the CPV 2008 list (e.g. 90911200)"
                       if "malformed" in str(exc) or "must be" in str(exc) else
                       "check the code in the CPV 2008 list (simap.ted.europa.eu)")
                self.error((key, i), str(exc), fix, "cpv", value=str(raw))
                continue
            if code not in out:
                out.append(code)
        if bad:
            raise _Invalid()
        return out

    def vocab_list(self, obj: dict[str, Any], key: str, vocab: tuple[str, ...],
                   path: tuple[str | int, ...] = ()) -> list[str]:
        items = self.str_list(obj, key, path) or []
        out: list[str] = []
        bad = False
        for i, raw in enumerate(items):
            value = raw.strip().lower() if isinstance(raw, str) else raw
            if value not in vocab:
                bad = True
                guess = closest(str(raw), vocab) if isinstance(raw, str) else None
                self.error(path + (key, i), f"{_short(raw)} is not a known target group",
                           (f"did you mean {guess!r}? " if guess else "")
                           + "use one of: " + ", ".join(vocab), "target_group", value=str(raw))
                continue
            if value not in out:
                out.append(value)
        if bad:
            raise _Invalid()
        return out

    def word_list(self, obj: dict[str, Any], key: str) -> list[str]:
        items = self.str_list(obj, key) or []
        out: list[str] = []
        bad = False
        for i, raw in enumerate(items):
            if not isinstance(raw, str):
                bad = True
                self.error((key, i), f"expected text, got {_type_name(raw)} {_short(raw)}",
                           "write each item as a string", "text")
                continue
            word = raw.strip()
            if word and word not in out:
                out.append(word)
        if bad:
            raise _Invalid()
        return out

    def municipality(self, obj: dict[str, Any], key: str = "municipality", *,
                     required: bool = False, why_required: str = "") -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error((key,), f"{key!r} is required{why_required}",
                           "give the CBS code (e.g. \"GM0344\") or the name (\"Utrecht\")",
                           "municipality_required")
                raise _Invalid()
            return None
        if not isinstance(value, str):
            raise self.fail((key,), f"expected text, got {_type_name(value)} {_short(value)}",
                            "give the CBS code as text (\"GM0344\") or the name", "text")
        muni = resolve_municipality(value)
        if muni is None:
            hints = suggest_municipalities(value)
            fix = (f"did you mean {' or '.join(repr(h) for h in hints)}? " if hints else "") + \
                "give a 2023 municipality's CBS code (GM0344) or name"
            raise self.fail((key,), f"unknown municipality {_short(value)}", fix,
                            "municipality", value=value, hints=", ".join(hints))
        return muni.code

    def kvk(self, obj: dict[str, Any]) -> str | None:
        value = obj.get("kvk")
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(("kvk",), f"expected text, got {_type_name(value)}",
                            "write the 8-digit KvK number as text", "kvk")
        raw = re.sub(r"[\s.]", "", str(value))
        if not _KVK_RE.match(raw):
            fix = "a KvK number has exactly 8 digits, e.g. \"30123456\""
            if raw.isdigit() and len(raw) < 8:
                fix += "; if a spreadsheet dropped leading zeros, write it as text"
            raise self.fail(("kvk",), f"{_short(value)} is not a KvK number", fix, "kvk")
        return raw

    def postcode(self, obj: dict[str, Any]) -> str | None:
        value = obj.get("postcode")
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        m = _POSTCODE_RE.match(value.strip()) if isinstance(value, str) else None
        if not m:
            raise self.fail(("postcode",), f"{_short(value)} is not a Dutch postcode",
                            "write four digits, a space and two letters, e.g. \"3511 AB\"",
                            "postcode")
        return f"{m.group(1)} {m.group(2).upper()}"

    def coordinates(self, obj: dict[str, Any]) -> tuple[float | None, float | None]:
        lat = self.opt_number(obj, "lat", minimum=-90, maximum=90)
        lon = self.opt_number(obj, "lon", minimum=-180, maximum=180)
        if (lat is None) != (lon is None):
            missing = "lon" if lon is None else "lat"
            raise self.fail((missing,), "lat and lon go together; only one is given",
                            f"give {missing} too, or neither")
        if lat is None or lon is None:
            return None, None
        in_box = LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]
        if not in_box:
            swapped = LAT_RANGE[0] <= lon <= LAT_RANGE[1] and LON_RANGE[0] <= lat <= LON_RANGE[1]
            raise self.fail(("lat",), f"({lat}, {lon}) is not in or near the Netherlands",
                            "lat and lon look swapped; exchange them" if swapped else
                            "give WGS84 degrees, e.g. lat 52.09, lon 5.12")
        return float(lat), float(lon)

    def obj(self, parent: dict[str, Any], key: str,
            allowed: tuple[str, ...]) -> dict[str, Any] | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail((key,), f"expected an object, got {_type_name(value)}",
                            f"write an object with fields {', '.join(allowed)}")
        self.check_keys(value, allowed, (key,))
        return value

    def extra(self, obj: dict[str, Any]) -> dict[str, Any]:
        value = obj.get("extra")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(("extra",), f"expected an object, got {_type_name(value)}",
                            "write extra as an object, e.g. {\"website\": \"…\"}")
        return dict(value)

    def policy(self, obj: dict[str, Any], key: str, path: tuple[str | int, ...] = ()
               ) -> str | None:
        name = self.text(obj, key, path=path)
        if name is None:
            return None
        from matcher.valuation import list_policies

        known = list_policies()
        if name not in known:
            guess = closest(name, known)
            raise self.fail(path + (key,), f"unknown valuation policy {name!r}",
                            (f"did you mean {guess!r}? " if guess else "")
                            + f"known policies: {', '.join(known)}", "policy", value=name)
        return name

    # -- run a field check, collecting errors instead of stopping
    def run(self, fn: Callable[[], Any], default: Any = None) -> Any:
        try:
            return fn()
        except _Invalid:
            return default


# ------------------------------------------------------------------ entities


def _check_ref(c: _Checker, data: dict[str, Any], max_len: int) -> str | None:
    ref = c.run(lambda: c.text(data, "ref", required=True, max_len=max_len))
    c.ref = ref
    return ref


def _enterprise(c: _Checker, d: dict[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    v["ref"] = _check_ref(c, d, MAX_LEN["ref"])
    c.check_keys(d, ENTERPRISE_FIELDS)
    v["name"] = c.run(lambda: c.text(d, "name", required=True, max_len=MAX_LEN["name"]))
    v["kvk"] = c.run(lambda: c.kvk(d))
    v["description"] = c.run(lambda: c.text(d, "description", required=True))
    # May be empty (interchange.md): many registrations have no codes, and matching then
    # relies on the description (issue #14 item 5: text-only enterprises).
    v["cpv"] = c.run(lambda: c.cpv_list(d, "cpv", required=False), [])
    n_issues = len(c.parsed.issues)
    lat, lon = c.run(lambda: c.coordinates(d), (None, None))
    bad_coords = len(c.parsed.issues) > n_issues
    v["municipality_code"] = c.run(lambda: c.municipality(
        d, required=lat is None and not bad_coords,
        why_required=" (or give lat and lon)"))
    if lat is None and v["municipality_code"]:
        muni = municipalities()[v["municipality_code"]]
        lat, lon = muni.lat, muni.lon
    v["lat"], v["lon"] = lat, lon
    v["postcode"] = c.run(lambda: c.postcode(d))
    radius = c.run(lambda: c.opt_number(d, "service_radius_km", minimum=0, exclusive_min=True))
    v["service_radius_km"] = float(radius) if radius is not None else DEFAULT_SERVICE_RADIUS_KM
    v["target_groups"] = c.run(lambda: c.vocab_list(d, "target_groups", TARGET_GROUPS), [])
    v["themes"] = c.run(lambda: c.word_list(d, "themes"), [])
    cap = c.run(lambda: c.obj(d, "capacity", CAPACITY_FIELDS)) or {}
    placements = c.run(lambda: c.opt_number(cap, "placements_per_year", ("capacity",),
                                            minimum=0, maximum=MAX_COUNT, integer=True))
    purchasing = c.run(lambda: c.opt_number(cap, "purchasing_eur_per_year", ("capacity",),
                                            minimum=0))
    v["placements_per_year"] = int(placements or 0)
    v["purchasing_eur_per_year"] = float(purchasing or 0.0)
    for key in ("target_group_share", "trade_income_share"):
        share = c.run(partial(c.opt_number, d, key, minimum=0, maximum=1))
        v[key] = float(share) if share is not None else None
    v["certifications"] = c.run(lambda: _certifications(c, d), [])
    vet = c.run(lambda: c.obj(d, "vetting", VETTING_FIELDS))
    v.update(_vetting(c, vet))
    contact = c.run(lambda: c.obj(d, "contact", CONTACT_FIELDS)) or {}
    v.update(_contact(c, contact))
    v["extra"] = c.run(lambda: c.extra(d), {})
    return v


def _contact(c: _Checker, contact: dict[str, Any]) -> dict[str, Any]:
    """The contact object as the store's columns (absent fields: None). An e-mail address
    must have a domain, a phone number 10 digits (Dutch, 0…) or 8 to 15 after a +, a web
    address a host name; ``example.nl`` is taken as ``https://example.nl``."""
    p: tuple[str | int, ...] = ("contact",)
    texts = {key: c.run(partial(c.text, contact, key, max_len=CONTACT_MAX[key], path=p))
             for key in CONTACT_FIELDS}
    email, phone, site = texts["email"], texts["phone"], texts["website"]
    if email is not None and not EMAIL_RE.match(email):
        c.error(p + ("email",), f"{_short(email)} is not an e-mail address",
                "write it as name@domain.nl", "email", value=email)
        email = None
    if phone is not None:
        digits = re.sub(r"\D", "", phone)
        international = phone.startswith("+")
        ok = bool(PHONE_RE.match(phone)) and (
            8 <= len(digits) <= 15 if international
            else len(digits) == 10 and digits.startswith("0"))
        if not ok:
            c.error(p + ("phone",), f"{_short(phone)} is not a phone number",
                    "write 10 digits starting with 0 (030-1234567, 06-12345678) or an "
                    "international number starting with + (+31 30 123 4567)", "phone",
                    value=phone)
            phone = None
        else:
            phone = " ".join(phone.split())
    if site is not None:
        site = _website(site)
        if site is None:
            c.error(p + ("website",), f"{_short(texts['website'])} is not a web address",
                    "write it as https://www.example.nl", "website",
                    value=texts["website"])
    return {"contact_name": texts["name"], "contact_email": email, "contact_phone": phone,
            "website": site}


def _website(raw: str) -> str | None:
    """``raw`` as an http(s) address (``https://`` added when no scheme is given), or None
    when it is not one."""
    from urllib.parse import urlsplit

    text = raw if "://" in raw else "https://" + raw
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or not _HOST_RE.match(host) or \
            any(ch.isspace() for ch in text) or parts.username or parts.password:
        return None
    return text


def _certifications(c: _Checker, d: dict[str, Any]) -> list[dict[str, Any]]:
    items = c.str_list(d, "certifications") or []
    out: list[dict[str, Any]] = []
    bad = False
    for i, item in enumerate(items):
        p: tuple[str | int, ...] = ("certifications", i)
        if not isinstance(item, dict):
            c.error(p, f"expected an object, got {_type_name(item)} {_short(item)}",
                    "write {\"scheme\": \"PSO\", \"level\": \"2\", \"valid_until\": "
                    "\"2027-05-01\"}")
            bad = True
            continue
        before = len(c.parsed.issues)
        c.check_keys(item, CERT_FIELDS, p)
        scheme_raw = item.get("scheme")
        scheme = None
        if not isinstance(scheme_raw, str) or not scheme_raw.strip():
            c.error(p + ("scheme",), "a certification needs a scheme",
                    "use one of: " + ", ".join(CERTIFICATION_SCHEMES))
        else:
            by_lower = {s.lower(): s for s in CERTIFICATION_SCHEMES}
            scheme = by_lower.get(scheme_raw.strip().lower().replace(" ", ""))
            if scheme is None:
                guess = closest(scheme_raw, CERTIFICATION_SCHEMES)
                c.error(p + ("scheme",), f"unknown certification scheme {_short(scheme_raw)}",
                        (f"did you mean {guess!r}? " if guess else "")
                        + "use one of: " + ", ".join(CERTIFICATION_SCHEMES))
        level_raw = item.get("level")
        level: str | None = None
        if level_raw is not None and level_raw != "":
            level = str(level_raw).strip().lower() if not isinstance(level_raw, bool) else None
            if isinstance(level_raw, float) and level_raw.is_integer():
                level = str(int(level_raw))
            if level not in CERTIFICATION_LEVELS:
                c.error(p + ("level",), f"{_short(level_raw)} is not a certification level",
                        "use one of: " + ", ".join(CERTIFICATION_LEVELS) + ", or leave it empty")
        valid = c.run(partial(c.opt_date, item, "valid_until", p))
        if len(c.parsed.issues) > before:
            bad = True
            continue
        out.append({"scheme": scheme, "level": level,
                    "valid_until": valid.isoformat() if valid else None})
    if bad:
        raise _Invalid()
    return out


def _vetting(c: _Checker, vet: dict[str, Any] | None) -> dict[str, Any]:
    # Absent vetting: a new enterprise is pending (the table's default); an existing one
    # keeps its vetting (a supplier's file must not undo a connector's decision).
    if vet is None:
        return {}
    out: dict[str, Any] = {"vetting_status": "pending", "vetted_by": None, "vetted_on": None,
                           "vetting_valid_until": None}
    p: tuple[str | int, ...] = ("vetting",)
    status = vet.get("status")
    if status is None or status == "":
        c.error(p + ("status",), "vetting needs a status",
                "use one of: " + ", ".join(VETTING_STATUSES))
    elif not isinstance(status, str) or status.strip().lower() not in VETTING_STATUSES:
        guess = closest(str(status), VETTING_STATUSES)
        c.error(p + ("status",), f"{_short(status)} is not a vetting status",
                (f"did you mean {guess!r}? " if guess else "")
                + "use one of: " + ", ".join(VETTING_STATUSES))
    else:
        out["vetting_status"] = status.strip().lower()
    out["vetted_by"] = c.run(lambda: c.text(vet, "by", max_len=MAX_LEN["by"], path=p))
    out["vetted_on"] = c.run(lambda: c.opt_date(vet, "on", p))
    out["vetting_valid_until"] = c.run(lambda: c.opt_date(vet, "valid_until", p))
    if out["vetted_on"] and out["vetting_valid_until"] and \
            out["vetting_valid_until"] < out["vetted_on"]:
        c.error(p + ("valid_until",), "valid_until is before the vetting date",
                "check the dates")
    return out


def _tender(c: _Checker, d: dict[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    v["ref"] = _check_ref(c, d, TENDER_REF_MAX)
    c.check_keys(d, TENDER_FIELDS)
    v["buyer"] = c.run(lambda: c.text(d, "buyer", required=True, max_len=MAX_LEN["buyer"]))
    v["title"] = c.run(lambda: c.text(d, "title", required=True, max_len=MAX_LEN["title"]))
    v["description"] = c.run(lambda: c.text(d, "description")) or ""
    v["cpv"] = c.run(lambda: c.cpv_list(d, "cpv", required=True), [])
    value = c.run(lambda: c.opt_number(d, "contract_value_eur", minimum=0, exclusive_min=True))
    v["contract_value_eur"] = float(value) if value is not None else None
    v["start"] = c.run(lambda: c.opt_date(d, "start"))
    v["end"] = c.run(lambda: c.opt_date(d, "end"))
    if v["start"] and v["end"] and v["end"] < v["start"]:
        c.error(("end",), f"end {v['end']} is before start {v['start']}", "check the dates",
                "end_before_start")
    v["lat"], v["lon"] = c.run(lambda: c.coordinates(d), (None, None))
    v["municipality_code"] = c.run(lambda: c.municipality(d))
    v["postcode"] = c.run(lambda: c.postcode(d))
    sroi = c.run(lambda: c.obj(d, "sroi", SROI_FIELDS)) or {}
    p: tuple[str | int, ...] = ("sroi",)
    num = {"percentage": {"minimum": 0, "maximum": 100}, "amount_eur": {"minimum": 0},
           "threshold_eur": {"minimum": 0}, "cap_eur": {"minimum": 0},
           "region_km": {"minimum": 0, "exclusive_min": True},
           "labour_cost_eur": {"minimum": 0}}
    for key, kw in num.items():
        got = c.run(partial(c.opt_number, sroi, key, p, **kw))
        v[f"sroi_{key}"] = float(got) if got is not None else None
    basis = sroi.get("basis")
    v["sroi_basis"] = "contract_value"
    if basis not in (None, ""):
        if not isinstance(basis, str) or basis.strip() not in CLAUSE_BASES:
            guess = closest(str(basis), CLAUSE_BASES)
            c.error(p + ("basis",), f"{_short(basis)} is not a clause basis",
                    (f"did you mean {guess!r}? " if guess else "")
                    + "use one of: " + ", ".join(CLAUSE_BASES))
        else:
            v["sroi_basis"] = basis.strip()
    v["sroi_target_groups"] = c.run(lambda: c.vocab_list(sroi, "target_groups", TARGET_GROUPS,
                                                         p), [])
    v["sroi_policy"] = c.run(lambda: c.policy(sroi, "policy", p))
    extra = c.run(lambda: c.extra(d), {})
    v.update(_extra_columns(c, "tenders", extra))
    v["extra"] = extra
    return v


def _extra_enum(c: _Checker, kind: str, key: str) -> tuple[str, ...] | None:
    if (kind, key) == ("tenders", "source"):
        return c.parsed.tender_sources or TENDER_SOURCES
    return EXTRA_ENUMS.get((kind, key))


def _extra_columns(c: _Checker, kind: str, extra: dict[str, Any]) -> dict[str, Any]:
    """Pop the store columns carried in ``extra`` (EXTRA_COLUMNS) and check their types."""
    out: dict[str, Any] = {}
    for key, (column, default) in EXTRA_COLUMNS[kind].items():
        if key not in extra:
            continue  # a new row gets the table's default; an existing row keeps its value
        value = extra.pop(key)
        p: tuple[str | int, ...] = ("extra", key)
        if value is None:
            out[column] = list(default) if isinstance(default, list) else default
            continue
        if isinstance(default, bool):
            if not isinstance(value, bool):
                c.error(p, f"expected true or false, got {_short(value)}",
                        f"write {key}: true (JSON true, no quotes)")
                value = default
        elif isinstance(default, list):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                c.error(p, "expected a list of strings", "write a list of strings")
                value = default
        elif not isinstance(value, str):
            c.error(p, f"expected text, got {_type_name(value)}", "write it as a string")
            value = default
        else:
            allowed = _extra_enum(c, kind, key)
            if allowed and value not in allowed:
                c.error(p, f"{_short(value)} is not a valid {key}",
                        "use one of: " + ", ".join(allowed), "choice", choices=", ".join(allowed))
                value = default
        out[column] = value
    return out


def _challenge(c: _Checker, d: dict[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    v["ref"] = _check_ref(c, d, MAX_LEN["ref"])
    c.check_keys(d, CHALLENGE_FIELDS)
    v["municipality_code"] = c.run(lambda: c.municipality(d, required=True))
    v["title"] = c.run(lambda: c.text(d, "title", required=True, max_len=MAX_LEN["title"]))
    v["question"] = c.run(lambda: c.text(d, "question", required=True))
    v["themes"] = c.run(lambda: c.word_list(d, "themes"), [])
    v["opened_on"] = c.run(lambda: c.opt_date(d, "opened_on"))
    v["deadline"] = c.run(lambda: c.opt_date(d, "deadline"))
    if v["deadline"] is None and v["opened_on"] is not None and "deadline" not in d:
        v["deadline"] = v["opened_on"] + timedelta(weeks=CHALLENGE_TERM_WEEKS)
    if v["deadline"] and v["opened_on"] and v["deadline"] < v["opened_on"]:
        c.error(("deadline",), f"deadline {v['deadline']} is before opened_on {v['opened_on']}",
                "check the dates")
    budget = c.run(lambda: c.opt_number(d, "budget_eur", minimum=0))
    v["budget_eur"] = float(budget) if budget is not None else None
    partners = c.run(lambda: c.opt_number(d, "max_partners", minimum=1, maximum=MAX_COUNT,
                                            integer=True))
    v["max_partners"] = int(partners) if partners is not None else DEFAULT_MAX_PARTNERS
    extra = c.run(lambda: c.extra(d), {})
    v.update(_extra_columns(c, "challenges", extra))
    v["extra"] = extra
    return v


def _obligation(c: _Checker, d: dict[str, Any]) -> dict[str, Any]:
    v: dict[str, Any] = {}
    v["ref"] = _check_ref(c, d, MAX_LEN["ref"])
    c.check_keys(d, OBLIGATION_FIELDS)
    v["firm"] = c.run(lambda: c.text(d, "firm", required=True, max_len=MAX_LEN["firm"]))
    v["tender_ref"] = c.run(lambda: c.text(d, "tender", max_len=TENDER_REF_MAX))
    amount = c.run(lambda: c.opt_number(d, "amount_eur", minimum=0))
    v["amount_eur"] = float(amount) if amount is not None else None
    if amount is None and "amount_eur" not in d and v["tender_ref"] is None and \
            "tender" not in d:
        c.error(("amount_eur",), "amount_eur is required when no tender is given",
                "give amount_eur (credited euros due) or the tender whose clause sets it",
                "amount_required")
    v["due"] = c.run(lambda: c.opt_date(d, "due"))
    v["buys"] = c.run(lambda: c.cpv_list(d, "buys", required=False), [])
    v["lat"], v["lon"] = c.run(lambda: c.coordinates(d), (None, None))
    v["municipality_code"] = c.run(lambda: c.municipality(d))
    v["policy"] = c.run(lambda: c.policy(d, "policy"))
    extra = c.run(lambda: c.extra(d), {})
    v.update(_extra_columns(c, "obligations", extra))
    v["extra"] = extra
    return v


CHECKS: dict[str, Callable[[_Checker, dict[str, Any]], dict[str, Any]]] = {
    "enterprises": _enterprise, "tenders": _tender, "challenges": _challenge,
    "obligations": _obligation,
}


def _add_entity(parsed: ParsedFile, kind: str, base: str, data: Any, from_csv: bool,
                seen: dict[str, str],
                csv_field: Callable[[tuple[str | int, ...]], str] | None = None) -> None:
    c = _Checker(parsed, kind, base, from_csv, csv_field)
    if not isinstance(data, dict):
        c.error((), f"expected an object (one {SINGULAR[kind]}), got {_type_name(data)}",
                "write each entry as {\"ref\": …, …}")
        return
    values = CHECKS[kind](c, data)
    ref = values.get("ref")
    if ref is not None:
        if ref in seen:
            c.error(("ref",), f"duplicate ref {ref!r} (also at {seen[ref]})",
                    "give each entry its own ref, or remove the repeated entry")
        else:
            seen[ref] = base
    if c.failed or ref is None:
        return
    given = frozenset(k for k, x in data.items() if x is not None and x != "")
    parsed.records[kind].append(Record(kind, ref, base, values, given))


def _csv_field(path: tuple[str | int, ...]) -> str:
    """The CSV column of a place in an entity: ``("capacity", "placements_per_year")`` is
    ``capacity_placements_per_year``."""
    head = str(path[0])
    if head in NESTED and len(path) > 1 and isinstance(path[1], str):
        return f"{head}_{path[1]}"
    return head


def check_record(kind: str, data: dict[str, Any], *, name: str = "form",
                 tender_sources: tuple[str, ...] = TENDER_SOURCES) -> ParsedFile:
    """One entity typed into a web form, checked exactly as a row of an imported CSV file:
    text values as in a cell (numbers with a decimal comma too), lists and nested objects
    as in JSON. Every problem is in ``issues``, each ``field`` naming the CSV column
    (``capacity_placements_per_year``); the valid record is in ``records[kind]``."""
    parsed = ParsedFile(name=name, format="form", tender_sources=tender_sources)
    _add_entity(parsed, kind, "form", data, True, {}, _csv_field)
    _check_obligations_in_file(parsed)
    return parsed


# ------------------------------------------------------------------ decoding


def _decode(parsed: ParsedFile, data: bytes) -> str | None:
    if len(data) > MAX_FILE_BYTES:
        parsed.issues.append(Issue(
            parsed.name, "", None,
            f"file is too large ({len(data) / 1e6:.0f} MB; at most {MAX_FILE_BYTES // 2**20} MB)",
            "split it into several files (each is imported on its own)"))
        return None
    if not data.strip():
        parsed.issues.append(Issue(parsed.name, "", None, "file is empty",
                                   "export the data again; the file has no content"))
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        parsed.issues.append(Issue(parsed.name, "", None, "file is UTF-16, not UTF-8",
                                   "save it as UTF-8 (in Excel: 'CSV UTF-8')"))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        guess = ""
        try:
            data.decode("cp1252")
            guess = " (looks like cp1252/Windows-1252?)"
        except UnicodeDecodeError:
            pass
        parsed.issues.append(Issue(
            parsed.name, f"line {line}", None,
            f"file is not UTF-8{guess}: byte 0x{data[exc.start]:02x} cannot be read",
            "save it as UTF-8 (in Excel: 'CSV UTF-8 (comma delimited)')"))
        return None
    if "\x00" in text:
        parsed.issues.append(Issue(parsed.name, "", None,
                                   "file contains NUL bytes: it is not a text file",
                                   "give a JSON or CSV file"))
        return None
    return text


def parse_file(name: str, data: bytes, tender_sources: tuple[str, ...] = TENDER_SOURCES
               ) -> ParsedFile:
    """Parse and validate one file. Never raises for bad input: problems are in ``issues``.
    ``tender_sources``: the values a tender's ``source`` may take (the registry passes
    TENDER_SOURCES plus its published formats)."""
    suffix = PurePath(name).suffix.lower()
    fmt = "json" if suffix == ".json" else "csv" if suffix in (".csv", ".txt", ".tsv") else ""
    parsed = ParsedFile(name=name, format=fmt or "unknown", tender_sources=tender_sources)
    text = _decode(parsed, data)
    if text is None:
        return parsed
    if not fmt:
        fmt = "json" if text.lstrip()[:1] in ("{", "[") else "csv"
        parsed.format = fmt
    if fmt == "json":
        _parse_json(parsed, text)
    else:
        _parse_csv(parsed, text)
    return parsed


# ------------------------------------------------------------------ JSON


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _parse_json(parsed: ParsedFile, text: str) -> None:
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        parsed.issues.append(Issue(
            parsed.name, f"line {exc.lineno} column {exc.colno}", None,
            f"not valid JSON: {exc.msg}",
            "fix the syntax there (a missing comma or quote, or a trailing comma, is usual)"))
        return
    except RecursionError:
        parsed.issues.append(Issue(parsed.name, "", None, "JSON is nested too deeply",
                                   "give a document as in the interchange format"))
        return
    except ValueError as exc:
        parsed.issues.append(Issue(parsed.name, "", None, f"not valid JSON: {exc}",
                                   "write numbers as numbers; NaN/Infinity are not JSON"))
        return
    if not isinstance(doc, dict):
        fix = ("wrap the list in an object naming its kind: {\"enterprises\": [ … ]}"
               if isinstance(doc, list) else
               "the document is an object: {\"enterprises\": [ … ], \"tenders\": [ … ]}")
        parsed.issues.append(Issue(parsed.name, "", None,
                                   f"top level must be an object, found {_type_name(doc)}", fix))
        return
    for key in doc:
        if key not in KINDS:
            guess = closest(key, KINDS)
            parsed.issues.append(Issue(
                parsed.name, key, None, f"unknown top-level key {key!r}",
                (f"did you mean {guess!r}? " if guess else "")
                + "the document has only " + ", ".join(KINDS)))
    for kind in KINDS:
        items = doc.get(kind)
        if items is None:
            continue
        if not isinstance(items, list):
            parsed.issues.append(Issue(parsed.name, kind, None,
                                       f"expected a list, got {_type_name(items)}",
                                       f"write \"{kind}\": [ {{…}}, {{…}} ]"))
            continue
        seen: dict[str, str] = {}
        for i, item in enumerate(items):
            _add_entity(parsed, kind, f"{kind}[{i}]", item, False, seen)
    _check_obligations_in_file(parsed)


# ------------------------------------------------------------------ CSV


def csv_columns(kind: str) -> tuple[str, ...]:
    """The CSV columns of one kind, in export order."""
    out: list[str] = []
    for f in FIELDS[kind]:
        if f in NESTED:
            out.extend(f"{f}_{sub}" for sub in NESTED[f])
        else:
            out.append(f)
    return tuple(out)


_KIND_COMMENT = re.compile(r"^\s*#\s*kind\s*:\s*(\w+)\s*,*\s*$", re.IGNORECASE)


def _kind_from_name(name: str) -> str | None:
    stem = PurePath(name).stem.lower()
    for kind in KINDS:
        if stem == kind or stem.endswith(("-" + kind, "_" + kind, "." + kind)):
            return kind
    return None


def _kind_word(word: str) -> str | None:
    w = word.lower()
    for kind in KINDS:
        if w in (kind, SINGULAR[kind]):
            return kind
    return None


def _guess_kind_from_header(header: list[str]) -> str | None:
    best, score = None, 0
    for kind in KINDS:
        cols = set(csv_columns(kind))
        s = sum(1 for h in header if h in cols)
        if s > score:
            best, score = kind, s
    return best


def _cert_cell(cell: str) -> list[Any]:
    out: list[Any] = []
    for item in (x.strip() for x in cell.split("|")):
        if not item:
            continue
        parts = item.split(":")
        if len(parts) > 3:
            out.append(item)  # reported as malformed by the checker
            continue
        parts += [""] * (3 - len(parts))
        out.append({"scheme": parts[0].strip() or None, "level": parts[1].strip() or None,
                    "valid_until": parts[2].strip() or None})
    return out


def _row_to_entity(kind: str, header: list[str], cells: list[str],
                   c_error: Callable[[str, str, str], None]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for col, cell in zip(header, cells, strict=False):
        if not col:
            continue
        cell = cell.strip()
        if cell == "":
            continue
        if col == "extra":
            try:
                value = json.loads(cell, parse_constant=_reject_constant)
            except (ValueError, RecursionError):
                c_error("extra", f"{_short(cell)} is not valid JSON",
                        "write a JSON object, e.g. {\"website\": \"https://…\"}")
                continue
            d["extra"] = value
            continue
        if col == "certifications":
            items = _cert_cell(cell)
            for it in items:
                if isinstance(it, str):
                    c_error("certifications", f"{_short(it)} is not scheme:level:valid_until",
                            "write e.g. PSO:2:2027-05-01|SENL::")
            d["certifications"] = [it for it in items if isinstance(it, dict)]
            continue
        prefix, _, sub = col.partition("_")
        if prefix in NESTED and prefix in FIELDS[kind] and sub in NESTED[prefix]:
            target = d.setdefault(prefix, {})
            target[sub] = [x.strip() for x in cell.split("|") if x.strip()] \
                if sub in LIST_FIELDS else cell
            continue
        if col in LIST_FIELDS:
            d[col] = [x.strip() for x in cell.split("|") if x.strip()]
        else:
            d[col] = cell
    return d


def _parse_csv(parsed: ParsedFile, text: str) -> None:
    lines = text.splitlines(keepends=True)
    skip = 0
    kind: str | None = None
    # Leading comment lines: "# kind: enterprises" names the kind; others are ignored.
    while skip < len(lines) and (lines[skip].lstrip().startswith("#") or not lines[skip].strip()):
        m = _KIND_COMMENT.match(lines[skip].strip().strip('"').rstrip(",;"))
        if m:
            kind = _kind_word(m.group(1))
            if kind is None:
                guess = closest(m.group(1), KINDS)
                parsed.issues.append(Issue(
                    parsed.name, f"row {skip + 1}", None, f"unknown kind {m.group(1)!r}",
                    (f"did you mean {guess!r}? " if guess else "")
                    + "write # kind: enterprises, tenders, challenges or obligations"))
                return
        skip += 1
    body = "".join(lines[skip:])
    if not body.strip():
        parsed.issues.append(Issue(parsed.name, "", None, "file has no header row",
                                   "the first row names the columns: ref,name,…"))
        return
    first = lines[skip]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        parsed.issues.append(Issue(parsed.name, f"row {skip + 1}", None,
                                   f"cannot read the header: {exc}", "check the quoting"))
        return
    if kind is None:
        kind = _kind_from_name(parsed.name)
    if kind is None:
        guess = _guess_kind_from_header(header)
        parsed.issues.append(Issue(
            parsed.name, "", None, "cannot tell which kind of records this CSV holds",
            "add a first line '# kind: " + (guess or "enterprises") + "' or name the file "
            + (f"{guess}.csv" if guess else "enterprises.csv, tenders.csv, challenges.csv "
               "or obligations.csv")))
        return
    columns = csv_columns(kind)
    header_row = f"row {skip + 1}"
    header_ok = True
    seen_cols: set[str] = set()
    for col in header:
        if not col:
            continue
        if col in seen_cols:
            parsed.issues.append(Issue(parsed.name, header_row, col,
                                       f"column {col!r} appears twice", "remove one of them"))
            header_ok = False
        seen_cols.add(col)
        if col not in columns:
            guess = closest(col, columns)
            parsed.issues.append(Issue(
                parsed.name, header_row, col, f"unknown column {col!r} for {kind}",
                (f"did you mean {guess!r}?" if guess else "valid columns: " + ", ".join(columns))
                + " (put your own fields in the 'extra' column as JSON)"))
            header_ok = False
    required = {"enterprises": ("ref", "name", "description", "cpv"),
                "tenders": ("ref", "buyer", "title", "cpv"),
                "challenges": ("ref", "municipality", "title", "question"),
                "obligations": ("ref", "firm")}[kind]
    for col in required:
        if col not in seen_cols:
            parsed.issues.append(Issue(parsed.name, header_row, col,
                                       f"required column {col!r} is missing",
                                       f"add a {col!r} column"))
            header_ok = False
    if kind == "enterprises" and "municipality" not in seen_cols and \
            not {"lat", "lon"} <= seen_cols:
        parsed.issues.append(Issue(parsed.name, header_row, "municipality",
                                   "column 'municipality' is missing (and no lat/lon columns)",
                                   "add a 'municipality' column (CBS code or name)"))
        header_ok = False
    if not header_ok:
        return

    seen: dict[str, str] = {}
    row_no = skip + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.issues.append(Issue(parsed.name, f"row {row_no + 1}", None,
                                       f"cannot read this row: {exc}",
                                       "check the quotes in this row"))
            return
        row_no += 1
        if not any(cell.strip() for cell in cells):
            continue
        base = f"row {row_no}"
        if len(cells) > len(header) and any(x.strip() for x in cells[len(header):]):
            parsed.issues.append(Issue(
                parsed.name, base, None,
                f"row has {len(cells)} cells but the header has {len(header)} columns",
                f"quote cells that contain the separator {delimiter!r}, or use | in lists"))
            continue
        row_errors: list[Issue] = []

        def c_error(col: str, reason: str, fix: str, base: str = base,
                    row_errors: list[Issue] = row_errors) -> None:
            row_errors.append(Issue(parsed.name, base, col, reason, fix))

        entity = _row_to_entity(kind, header, cells, c_error)
        before = len(parsed.issues)
        _add_entity(parsed, kind, base, entity, True, seen, _csv_field)
        if row_errors:
            ref = entity.get("ref") if isinstance(entity.get("ref"), str) else None
            for e in row_errors:
                e.ref = ref
            parsed.issues[before:before] = row_errors
            recs = parsed.records[kind]
            if recs and recs[-1].location == base:
                recs.pop()
    _check_obligations_in_file(parsed)


# ------------------------------------------------------------------ cross-references


def _check_obligations_in_file(parsed: ParsedFile) -> None:
    """An obligation without an amount needs a tender whose clause sets one; a tender in
    this file is checked here, others by the store (``unresolved_tender_refs``)."""
    tenders = {r.ref: r for r in parsed.records["tenders"]}
    keep: list[Record] = []
    for rec in parsed.records["obligations"]:
        tref = rec.values.get("tender_ref")
        if tref is not None and tref in tenders and rec.values.get("amount_eur") is None:
            problem = tender_amount_problem(tenders[tref].values)
            if problem:
                parsed.issues.append(obligation_amount_issue(parsed.name, rec, problem))
                continue
        keep.append(rec)
    parsed.records["obligations"] = keep


def tender_amount_problem(values: dict[str, Any]) -> str | None:
    """Why a tender (column values) cannot set an obligation's amount, or None if it can."""
    pct, amount = values.get("sroi_percentage"), values.get("sroi_amount_eur")
    if amount is not None:
        return None
    if pct is None:
        return "has no social-return clause"
    basis = values.get("sroi_basis") or "contract_value"
    if basis == "labour_cost":
        if values.get("sroi_labour_cost_eur") is None:
            return "gives a percentage of labour cost but no labour_cost_eur"
        return None
    if values.get("contract_value_eur") is None:
        return "gives a percentage but no contract_value_eur"
    return None


def obligation_amount_issue(file: str, rec: Record, problem: str) -> Issue:
    tref = rec.values.get("tender_ref")
    return Issue(file, rec.location + ("" if rec.location.startswith("row ") else
                                       ".amount_eur"),
                 "amount_eur",
                 f"no amount_eur, and tender {tref!r} {problem}, so the amount due is unknown",
                 "give amount_eur, or complete the tender's sroi clause", rec.ref,
                 "tender_sets_no_amount", {"tender": tref})


def dangling_tender_issue(file: str, rec: Record) -> Issue:
    tref = rec.values.get("tender_ref")
    return Issue(file, rec.location + ("" if rec.location.startswith("row ") else ".tender"),
                 "tender", f"tender {tref!r} does not exist (not in this file nor in the database)",
                 "import the tender first (or in the same file), or correct the ref", rec.ref,
                 "tender_missing", {"tender": tref})
