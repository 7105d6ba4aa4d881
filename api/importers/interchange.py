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
    SPACE,
    TENDER_REF_MAX,
    TEXT_PATTERN,
)
from api.messages import Message, Text, msg
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
# Text columns carried in ``extra`` that are shorter than free text (the table's length).
EXTRA_MAX_LEN = {("tenders", "nuts3"): 5}
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
# White space spelt out (fields.SPACE: what Python's \s takes; a JSON Schema generator's
# \s may not take \x1c-\x1f and \x85), and no NUL.
EMAIL_RE = re.compile(r"^[^@<>(),;:\"\x00" + SPACE + r"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
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
    reason: Text  # a message (api.messages), rendered in the reader's language
    fix: Text = ""
    ref: str | None = None
    # What went wrong as a code with its values (``"required"``, ``{"max": 300}``), so a
    # web form can say it in Dutch or English beside the field (api.services.entity_edit).
    code: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        return self.render("nl")

    def render(self, lang: str) -> str:
        return self.message().render(lang)

    def where(self) -> Message:
        """The file, the place (``rij 7`` in Dutch) and the field or ref, as a message."""
        loc = location_text(self.location)
        row = self.location.startswith("row ")
        field = self.field if (row or not self.location) else None
        ref = self.ref if not row else None
        if loc and field:
            return msg("{file} {location}, veld {field}", file=self.file, location=loc,
                      field=field)
        if loc and ref:
            return msg("{file} {location} (ref {ref})", file=self.file, location=loc, ref=ref)
        if loc:
            return msg("{file} {location}", file=self.file, location=loc)
        if ref and field:
            return msg("{file} (ref {ref}), veld {field}", file=self.file, ref=ref, field=field)
        if ref:
            return msg("{file} (ref {ref})", file=self.file, ref=ref)
        if field:
            return msg("{file}, veld {field}", file=self.file, field=field)
        return msg("{file}", file=self.file)

    def message(self) -> Message:
        """The whole line: where, why and (when known) what to do."""
        if self.fix:
            return msg("{where}: {reason} — {fix}", where=self.where(), reason=self.reason,
                      fix=self.fix)
        return msg("{where}: {reason}", where=self.where(), reason=self.reason)

    def to_dict(self) -> dict[str, Any]:
        # Messages stay messages (JSON): the boundary renders them in the reader's language
        # (api.messages.render_tree), so a stored report reads in Dutch and English alike.
        return {"file": self.file, "location": _json(location_text(self.location)),
                "field": self.field, "reason": _json(self.reason), "fix": _json(self.fix),
                "ref": self.ref, "message": self.message().to_json()}


def _json(value: Text) -> Any:
    return value.to_json() if isinstance(value, Message) else value


_ROW_RE = re.compile(r"^row (\d+)$")
_LINE_RE = re.compile(r"^line (\d+)(?: column (\d+))?$")


def location_text(location: str) -> Text:
    """A place in a file as the reader says it: ``row 7`` is ``rij 7`` in Dutch; JSON paths
    (``enterprises[3].cpv[1]``) are the file's own words and stay as they are."""
    m = _ROW_RE.match(location)
    if m:
        return msg("rij {n}", n=m.group(1))
    m = _LINE_RE.match(location)
    if m and m.group(2):
        return msg("regel {line} kolom {column}", line=m.group(1), column=m.group(2))
    if m:
        return msg("regel {line}", line=m.group(1))
    return location


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


def _type_name(value: Any) -> Text:
    names: dict[type, Message] = {
        str: msg("tekst"), bool: msg("true/false"), int: msg("een getal"),
        float: msg("een getal"), list: msg("een lijst"), dict: msg("een object"),
        type(None): msg("null")}
    return names.get(type(value), type(value).__name__)


def cpv_error_text(exc: CpvError) -> Message:
    """The engine's CPV refusal (``matcher.refdata.CpvError``) in the user's language."""
    if exc.kind == "unknown":
        return msg("CPV-code {value} staat niet in de CPV 2008-woordenlijst", value=exc.value)
    if exc.kind == "fraction":
        return msg("CPV-code {value} is geen geheel getal", value=exc.value)
    if exc.kind == "type":
        return msg("CPV-code moet tekst van 8 cijfers zijn, gekregen: {value}", value=exc.value)
    return msg("CPV-code {value} is ongeldig: verwacht 8 cijfers, eventueel met een "
              "controlecijfer ('90911200', '90911200-8' of '90911200.0')", value=exc.value)


def _one_of(guess: str | None, choices: Iterable[str]) -> Message:
    """The fix for a value not in a list: the likely one, then the choices."""
    listed = ", ".join(choices)
    if guess:
        return msg("bedoelt u {guess}? Gebruik een van: {choices}", guess=repr(guess),
                  choices=listed)
    return msg("gebruik een van: {choices}", choices=listed)


def _did_you_mean(guess: str | None, otherwise: Message) -> Message:
    return msg("bedoelt u {guess}?", guess=repr(guess)) if guess else otherwise


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

    def error(self, path: tuple[str | int, ...], reason: Text, fix: Text = "", code: str = "",
              **params: Any) -> None:
        location, fld = self.where(path)
        self.parsed.issues.append(Issue(self.parsed.name, location, fld, reason, fix, self.ref,
                                        code, params))
        self.failed = True

    def fail(self, path: tuple[str | int, ...], reason: Text, fix: Text = "", code: str = "",
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
            hint = _did_you_mean(guess, msg("geldige velden hier: {fields}",
                                           fields=", ".join(allowed)))
            self.error(path + (key,), msg("onbekend veld {key}", key=repr(key)),
                       msg("{hint} (zet eigen velden onder \"extra\")", hint=hint)
                       if path == () else hint)

    # -- scalar types
    def text(self, obj: dict[str, Any], key: str, *, required: bool = False,
             max_len: int | None = None, path: tuple[str | int, ...] = ()) -> str | None:
        value = obj.get(key)
        p = path + (key,)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(p, msg("{key} is verplicht", key=repr(key)),
                           msg("geef een niet-lege {key}", key=key), "required")
                raise _Invalid()
            return None
        if not isinstance(value, str):
            raise self.fail(p, msg("tekst verwacht, gekregen: {type} {value}",
                                  type=_type_name(value), value=_short(value)),
                            msg("schrijf het als tekst tussen aanhalingstekens"), "text")
        if not _TEXT_RE.match(value) or not value.isascii() and _SURROGATE_RE.search(value):
            # A lone surrogate (JSON lets "\ud800" through) is not Unicode text.
            raise self.fail(p, msg("bevat een NUL-teken of een losse surrogaat (geen tekst)"),
                            msg("verwijder het"), "text")
        value = value.strip()
        if max_len is not None and len(value) > max_len:
            raise self.fail(p, msg("te lang ({length} tekens, hoogstens {max})",
                                  length=len(value), max=max_len),
                            msg("maak het korter"), "too_long", max=max_len, length=len(value))
        return value

    def number(self, value: Any, p: tuple[str | int, ...], *, minimum: float | None = None,
               exclusive_min: bool = False, maximum: float | None = None,
               integer: bool = False) -> float | int:
        what = msg("een geheel getal") if integer else msg("een getal")
        if isinstance(value, str) and self.from_csv:
            raw = value.strip()
            if _DECIMAL_COMMA_RE.match(raw):
                raw = raw.replace(",", ".")
            if not _NUMBER_RE.match(raw):
                raise self.fail(p, msg("{value} is niet {what}", value=_short(value), what=what),
                                msg("schrijf cijfers met een decimale punt, bv. 1250.50 "
                                   "(zonder valutateken of scheiding van duizendtallen)"),
                                "whole_number" if integer else "number")
            value = float(raw) if not re.fullmatch(r"[+-]?\d+", raw) else int(raw)
        if isinstance(value, bool) or not isinstance(value, int | float):
            fix = msg("schrijf het getal zonder aanhalingstekens") if isinstance(value, str) and \
                _NUMBER_RE.match(value.strip()) else msg("geef {what}", what=what)
            raise self.fail(p, msg("{what} verwacht, gekregen: {type} {value}", what=what,
                                  type=_type_name(value), value=_short(value)), fix,
                            "whole_number" if integer else "number")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(p, msg("{value} is geen eindig getal", value=repr(value)),
                            msg("geef {what}", what=what), "number")
        if integer:
            if isinstance(value, float):
                if not value.is_integer():
                    raise self.fail(p, msg("{value} is geen geheel getal", value=repr(value)),
                                    msg("geef een geheel getal"), "whole_number")
                value = int(value)
        if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
            op = ">" if exclusive_min else "≥"
            raise self.fail(p, msg("{value} valt buiten het bereik: moet {op} {min} zijn",
                                  value=repr(value), op=op, min=format(minimum, "g")),
                            msg("geef een waarde {op} {min}", op=op, min=format(minimum, "g")),
                            "above" if exclusive_min else "minimum", min=minimum)
        if maximum is not None and value > maximum:
            raise self.fail(p, msg("{value} valt buiten het bereik: moet ≤ {max} zijn",
                                  value=repr(value), max=format(maximum, "g")),
                            msg("geef een waarde ≤ {max} (een aandeel: 35 % is 0.35)",
                               max=format(maximum, "g")) if maximum == 1 else
                            msg("geef een waarde ≤ {max}", max=format(maximum, "g")),
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
            raise self.fail(p, msg("datum verwacht, gekregen: {type} {value}",
                                  type=_type_name(value), value=_short(value)),
                            msg("schrijf de datum als tekst, JJJJ-MM-DD (bv. \"2027-05-01\")"),
                            "date")
        raw = value.strip()
        if not _DATE_RE.match(raw):
            raise self.fail(p, msg("{value} is geen ISO-datum", value=_short(value)),
                            msg("schrijf JJJJ-MM-DD, bv. 2027-05-01"), "date")
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise self.fail(p, msg("{value} is geen bestaande datum", value=_short(value)),
                            msg("controleer de maand en de dag"), "date") from None

    def str_list(self, obj: dict[str, Any], key: str,
                 path: tuple[str | int, ...] = ()) -> list[Any] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            fix = msg("schrijf een lijst: [{value}]", value=json.dumps(value)) \
                if isinstance(value, str) else msg("schrijf een lijst")
            raise self.fail(path + (key,), msg("lijst verwacht, gekregen: {type}",
                                              type=_type_name(value)), fix,
                            "list")
        return value

    def cpv_list(self, obj: dict[str, Any], key: str, *, required: bool) -> list[str]:
        items = self.str_list(obj, key)
        if not items:
            if required:
                self.error((key,), msg("minstens één CPV-code is verplicht"),
                           msg("noem de CPV-codes, bv. [\"90911200\"]; zoek codes op via "
                              "simap.ted.europa.eu"), "cpv_required")
            return []
        out: list[str] = []
        bad = False
        for i, raw in enumerate(items):
            try:
                code = normalise_cpv(raw)
            except CpvError as exc:
                bad = True
                fix = (msg("gebruik 8 cijfers zoals in de CPV 2008-lijst (bv. 90911200)")
                       if exc.kind != "unknown" else
                       msg("controleer de code in de CPV 2008-lijst (simap.ted.europa.eu)"))
                self.error((key, i), cpv_error_text(exc), fix, "cpv", value=str(raw))
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
                self.error(path + (key, i), msg("{value} is geen bekende doelgroep",
                                               value=_short(raw)),
                           _one_of(guess, vocab), "target_group", value=str(raw))
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
                self.error((key, i), msg("tekst verwacht, gekregen: {type} {value}",
                                        type=_type_name(raw), value=_short(raw)),
                           msg("schrijf elk item als tekst"), "text")
                continue
            word = raw.strip()
            if word and word not in out:
                out.append(word)
        if bad:
            raise _Invalid()
        return out

    def municipality(self, obj: dict[str, Any], key: str = "municipality", *,
                     required: bool = False, or_coordinates: bool = False) -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error((key,), msg("{key} is verplicht (of geef lat en lon)", key=repr(key))
                           if or_coordinates else msg("{key} is verplicht", key=repr(key)),
                           msg("geef de CBS-code (bv. \"GM0344\") of de naam (\"Utrecht\")"),
                           "municipality_required")
                raise _Invalid()
            return None
        if not isinstance(value, str):
            raise self.fail((key,), msg("tekst verwacht, gekregen: {type} {value}",
                                       type=_type_name(value), value=_short(value)),
                            msg("geef de CBS-code als tekst (\"GM0344\") of de naam"), "text")
        muni = resolve_municipality(value)
        if muni is None:
            hints = suggest_municipalities(value)
            fix = msg("bedoelt u {hints}? Geef de CBS-code (GM0344) of naam van een gemeente "
                     "van 2023", hints=msg("{a} of {b}", a=repr(hints[0]), b=repr(hints[1]))
                     if len(hints) == 2 else ", ".join(repr(h) for h in hints)) if hints else \
                msg("geef de CBS-code (GM0344) of naam van een gemeente van 2023")
            raise self.fail((key,), msg("onbekende gemeente {value}", value=_short(value)), fix,
                            "municipality", value=value, hints=", ".join(hints))
        return muni.code

    def kvk(self, obj: dict[str, Any]) -> str | None:
        value = obj.get("kvk")
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(("kvk",), msg("tekst verwacht, gekregen: {type}",
                                         type=_type_name(value)),
                            msg("schrijf het KvK-nummer van 8 cijfers als tekst"), "kvk")
        raw = re.sub(r"[\s.]", "", str(value))
        if not _KVK_RE.match(raw):
            fix = msg("een KvK-nummer heeft precies 8 cijfers, bv. \"30123456\"; liet een "
                      "spreadsheet voorloopnullen weg, schrijf het dan als tekst") \
                if raw.isdigit() and len(raw) < 8 else \
                msg("een KvK-nummer heeft precies 8 cijfers, bv. \"30123456\"")
            raise self.fail(("kvk",), msg("{value} is geen KvK-nummer", value=_short(value)), fix,
                            "kvk")
        return raw

    def postcode(self, obj: dict[str, Any]) -> str | None:
        value = obj.get("postcode")
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        m = _POSTCODE_RE.match(value.strip()) if isinstance(value, str) else None
        if not m:
            raise self.fail(("postcode",), msg("{value} is geen Nederlandse postcode",
                                              value=_short(value)),
                            msg("schrijf vier cijfers, een spatie en twee letters, bv. "
                                "\"3511 AB\""),
                            "postcode")
        return f"{m.group(1)} {m.group(2).upper()}"

    def coordinates(self, obj: dict[str, Any]) -> tuple[float | None, float | None]:
        lat = self.opt_number(obj, "lat", minimum=-90, maximum=90)
        lon = self.opt_number(obj, "lon", minimum=-180, maximum=180)
        if (lat is None) != (lon is None):
            missing = "lon" if lon is None else "lat"
            raise self.fail((missing,), msg("lat en lon horen bij elkaar; er is er maar één "
                                           "gegeven"),
                            msg("geef ook {missing}, of geen van beide", missing=missing))
        if lat is None or lon is None:
            return None, None
        in_box = LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]
        if not in_box:
            swapped = LAT_RANGE[0] <= lon <= LAT_RANGE[1] and LON_RANGE[0] <= lat <= LON_RANGE[1]
            raise self.fail(("lat",), msg("({lat}, {lon}) ligt niet in of bij Nederland",
                                         lat=str(lat), lon=str(lon)),
                            msg("lat en lon lijken verwisseld; wissel ze om") if swapped else
                            msg("geef WGS84-graden, bv. lat 52.09, lon 5.12"))
        return float(lat), float(lon)

    def obj(self, parent: dict[str, Any], key: str,
            allowed: tuple[str, ...]) -> dict[str, Any] | None:
        value = parent.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail((key,), msg("object verwacht, gekregen: {type}",
                                       type=_type_name(value)),
                            msg("schrijf een object met de velden {fields}",
                               fields=", ".join(allowed)))
        self.check_keys(value, allowed, (key,))
        return value

    def extra(self, obj: dict[str, Any]) -> dict[str, Any]:
        value = obj.get("extra")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(("extra",), msg("object verwacht, gekregen: {type}",
                                         type=_type_name(value)),
                            msg("schrijf extra als object, bv. {{\"website\": \"…\"}}"))
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
            listed = ", ".join(known)
            raise self.fail(path + (key,), msg("onbekend waarderingsbeleid {name}",
                                              name=repr(name)),
                            msg("bedoelt u {guess}? Bekende beleidsregels: {known}",
                               guess=repr(guess), known=listed) if guess else
                            msg("bekende beleidsregels: {known}", known=listed),
                            "policy", value=name)
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
        d, required=lat is None and not bad_coords, or_coordinates=True))
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
        c.error(p + ("email",), msg("{value} is geen e-mailadres", value=_short(email)),
                msg("schrijf het als naam@domein.nl"), "email", value=email)
        email = None
    if phone is not None:
        digits = re.sub(r"\D", "", phone)
        international = phone.startswith("+")
        ok = bool(PHONE_RE.match(phone)) and (
            8 <= len(digits) <= 15 if international
            else len(digits) == 10 and digits.startswith("0"))
        if not ok:
            c.error(p + ("phone",), msg("{value} is geen telefoonnummer", value=_short(phone)),
                    msg("schrijf 10 cijfers die met 0 beginnen (030-1234567, 06-12345678) of "
                        "een internationaal nummer dat met + begint (+31 30 123 4567)"),
                    "phone", value=phone)
            phone = None
        else:
            phone = " ".join(phone.split())
    if site is not None:
        site = _website(site)
        if site is None:
            c.error(p + ("website",), msg("{value} is geen webadres",
                                          value=_short(texts["website"])),
                    msg("schrijf het als https://www.example.nl"), "website",
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
            c.error(p, msg("object verwacht, gekregen: {type} {value}", type=_type_name(item),
                          value=_short(item)),
                    msg("schrijf {{\"scheme\": \"PSO\", \"level\": \"2\", \"valid_until\": "
                       "\"2027-05-01\"}}"))
            bad = True
            continue
        before = len(c.parsed.issues)
        c.check_keys(item, CERT_FIELDS, p)
        scheme_raw = item.get("scheme")
        scheme = None
        if not isinstance(scheme_raw, str) or not scheme_raw.strip():
            c.error(p + ("scheme",), msg("een erkenning heeft een schema nodig"),
                    _one_of(None, CERTIFICATION_SCHEMES))
        else:
            by_lower = {s.lower(): s for s in CERTIFICATION_SCHEMES}
            scheme = by_lower.get(scheme_raw.strip().lower().replace(" ", ""))
            if scheme is None:
                guess = closest(scheme_raw, CERTIFICATION_SCHEMES)
                c.error(p + ("scheme",), msg("onbekend erkenningsschema {value}",
                                            value=_short(scheme_raw)),
                        _one_of(guess, CERTIFICATION_SCHEMES))
        level_raw = item.get("level")
        level: str | None = None
        if level_raw is not None and level_raw != "":
            level = str(level_raw).strip().lower() if not isinstance(level_raw, bool) else None
            if isinstance(level_raw, float) and level_raw.is_integer():
                level = str(int(level_raw))
            if level not in CERTIFICATION_LEVELS:
                c.error(p + ("level",), msg("{value} is geen erkenningsniveau",
                                           value=_short(level_raw)),
                        msg("gebruik een van: {choices}, of laat het leeg",
                           choices=", ".join(CERTIFICATION_LEVELS)))
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
        c.error(p + ("status",), msg("screening heeft een status nodig"),
                _one_of(None, VETTING_STATUSES))
    elif not isinstance(status, str) or status.strip().lower() not in VETTING_STATUSES:
        guess = closest(str(status), VETTING_STATUSES)
        c.error(p + ("status",), msg("{value} is geen screeningsstatus", value=_short(status)),
                _one_of(guess, VETTING_STATUSES))
    else:
        out["vetting_status"] = status.strip().lower()
    out["vetted_by"] = c.run(lambda: c.text(vet, "by", max_len=MAX_LEN["by"], path=p))
    out["vetted_on"] = c.run(lambda: c.opt_date(vet, "on", p))
    out["vetting_valid_until"] = c.run(lambda: c.opt_date(vet, "valid_until", p))
    if out["vetted_on"] and out["vetting_valid_until"] and \
            out["vetting_valid_until"] < out["vetted_on"]:
        c.error(p + ("valid_until",), msg("valid_until ligt voor de screeningsdatum"),
                msg("controleer de datums"))
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
        c.error(("end",), msg("einde {end} ligt voor begin {start}", end=v["end"],
                             start=v["start"]), msg("controleer de datums"), "end_before_start")
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
            c.error(p + ("basis",), msg("{value} is geen grondslag van een clausule",
                                       value=_short(basis)), _one_of(guess, CLAUSE_BASES))
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
                c.error(p, msg("true of false verwacht, gekregen: {value}", value=_short(value)),
                        msg("schrijf {key}: true (JSON true, zonder aanhalingstekens)", key=key))
                value = default
        elif isinstance(default, list):
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                c.error(p, msg("lijst van teksten verwacht"), msg("schrijf een lijst van teksten"))
                value = default
        elif not isinstance(value, str):
            c.error(p, msg("tekst verwacht, gekregen: {type}", type=_type_name(value)),
                    msg("schrijf het als tekst"))
            value = default
        else:
            allowed = _extra_enum(c, kind, key)
            longest = EXTRA_MAX_LEN.get((kind, key))
            if allowed and value not in allowed:
                c.error(p, msg("{value} is geen geldige {key}", value=_short(value), key=key),
                        _one_of(None, allowed), "choice", choices=", ".join(allowed))
                value = default
            elif longest is not None and len(value) > longest:
                # PostgreSQL refuses a longer value for the column (was a 500 there).
                c.error(p, msg("{key} is te lang (hoogstens {n} tekens)", key=key, n=longest),
                        msg("schrijf een NUTS3-code zoals NL310"))
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
        c.error(("deadline",), msg("deadline {deadline} ligt voor opened_on {opened_on}",
                                  deadline=v["deadline"], opened_on=v["opened_on"]),
                msg("controleer de datums"))
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
        c.error(("amount_eur",), msg("amount_eur is verplicht als er geen aanbesteding is "
                                    "gegeven"),
                msg("geef amount_eur (verschuldigde gewaardeerde euro's) of de aanbesteding "
                   "waarvan de clausule het bedrag bepaalt"),
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
        c.error((), msg("object verwacht (één {kind}), gekregen: {type}", kind=SINGULAR[kind],
                       type=_type_name(data)),
                msg("schrijf elk item als {{\"ref\": …, …}}"))
        return
    values = CHECKS[kind](c, data)
    ref = values.get("ref")
    if ref is not None:
        if ref in seen:
            c.error(("ref",), msg("dubbele ref {ref} (ook op {where})", ref=repr(ref),
                                 where=location_text(seen[ref])),
                    msg("geef elk item een eigen ref, of verwijder het herhaalde item"))
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
            msg("bestand is te groot ({size} MB; hoogstens {max} MB)",
               size=round(len(data) / 1e6), max=MAX_FILE_BYTES // 2**20),
            msg("splits het in meerdere bestanden (elk wordt apart ingelezen)")))
        return None
    if not data.strip():
        parsed.issues.append(Issue(parsed.name, "", None, msg("bestand is leeg"),
                                   msg("exporteer de gegevens opnieuw; het bestand heeft geen "
                                      "inhoud")))
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        parsed.issues.append(Issue(parsed.name, "", None, msg("bestand is UTF-16, niet UTF-8"),
                                   msg("sla het op als UTF-8 (in Excel: 'CSV UTF-8')")))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        cp1252 = True
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            cp1252 = False
        byte = f"0x{data[exc.start]:02x}"
        parsed.issues.append(Issue(
            parsed.name, f"line {line}", None,
            msg("bestand is geen UTF-8 (lijkt cp1252/Windows-1252?): byte {byte} is niet te "
               "lezen", byte=byte) if cp1252 else
            msg("bestand is geen UTF-8: byte {byte} is niet te lezen", byte=byte),
            msg("sla het op als UTF-8 (in Excel: 'CSV UTF-8 (gescheiden door "
               "lijstscheidingsteken)')")))
        return None
    if "\x00" in text:
        parsed.issues.append(Issue(parsed.name, "", None,
                                   msg("bestand bevat NUL-bytes: het is geen tekstbestand"),
                                   msg("geef een JSON- of CSV-bestand")))
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
            msg("geen geldige JSON: {error}", error=exc.msg),
            msg("herstel daar de syntaxis (meestal een ontbrekende komma of aanhalingsteken, of "
               "een komma te veel)")))
        return
    except RecursionError:
        parsed.issues.append(Issue(parsed.name, "", None, msg("JSON is te diep genest"),
                                   msg("geef een document zoals in het uitwisselformaat")))
        return
    except ValueError as exc:
        parsed.issues.append(Issue(parsed.name, "", None,
                                   msg("geen geldige JSON: {error}", error=str(exc)),
                                   msg("schrijf getallen als getallen; NaN/Infinity zijn geen "
                                      "JSON")))
        return
    if not isinstance(doc, dict):
        fix = (msg("zet de lijst in een object dat de soort noemt: {{\"enterprises\": [ … ]}}")
               if isinstance(doc, list) else
               msg("het document is een object: {{\"enterprises\": [ … ], \"tenders\": [ … ]}}"))
        parsed.issues.append(Issue(parsed.name, "", None,
                                   msg("het hoogste niveau moet een object zijn, gevonden: {type}",
                                      type=_type_name(doc)), fix))
        return
    for key in doc:
        if key not in KINDS:
            guess = closest(key, KINDS)
            parsed.issues.append(Issue(
                parsed.name, key, None, msg("onbekende sleutel op het hoogste niveau {key}",
                                           key=repr(key)),
                msg("bedoelt u {guess}? Het document heeft alleen {kinds}", guess=repr(guess),
                   kinds=", ".join(KINDS)) if guess else
                msg("het document heeft alleen {kinds}", kinds=", ".join(KINDS))))
    for kind in KINDS:
        items = doc.get(kind)
        if items is None:
            continue
        if not isinstance(items, list):
            parsed.issues.append(Issue(parsed.name, kind, None,
                                       msg("lijst verwacht, gekregen: {type}",
                                          type=_type_name(items)),
                                       msg("schrijf \"{kind}\": [ {{…}}, {{…}} ]", kind=kind)))
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
                   c_error: Callable[[str, Text, Text], None]) -> dict[str, Any]:
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
                c_error("extra", msg("{value} is geen geldige JSON", value=_short(cell)),
                        msg("schrijf een JSON-object, bv. {{\"website\": \"https://…\"}}"))
                continue
            d["extra"] = value
            continue
        if col == "certifications":
            items = _cert_cell(cell)
            for it in items:
                if isinstance(it, str):
                    c_error("certifications", msg("{value} is niet scheme:level:valid_until",
                                                 value=_short(it)),
                            msg("schrijf bv. PSO:2:2027-05-01|SENL::"))
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
                    parsed.name, f"row {skip + 1}", None,
                    msg("onbekende soort {kind}", kind=repr(m.group(1))),
                    msg("bedoelt u {guess}? Schrijf # kind: enterprises, tenders, challenges of "
                       "obligations", guess=repr(guess)) if guess else
                    msg("schrijf # kind: enterprises, tenders, challenges of obligations")))
                return
        skip += 1
    body = "".join(lines[skip:])
    if not body.strip():
        parsed.issues.append(Issue(parsed.name, "", None, msg("bestand heeft geen kopregel"),
                                   msg("de eerste rij noemt de kolommen: ref,name,…")))
        return
    first = lines[skip]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        parsed.issues.append(Issue(parsed.name, f"row {skip + 1}", None,
                                   msg("de kopregel is niet te lezen: {error}", error=str(exc)),
                                   msg("controleer de aanhalingstekens")))
        return
    if kind is None:
        kind = _kind_from_name(parsed.name)
    if kind is None:
        guess = _guess_kind_from_header(header)
        parsed.issues.append(Issue(
            parsed.name, "", None, msg("onduidelijk welke soort gegevens deze CSV bevat"),
            msg("voeg een eerste regel '# kind: {kind}' toe of noem het bestand {name}",
               kind=guess or "enterprises",
               name=guess + ".csv" if guess else msg("enterprises.csv, tenders.csv, "
                                                    "challenges.csv of obligations.csv"))))
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
                                       msg("kolom {column} komt twee keer voor", column=repr(col)),
                                       msg("verwijder er een")))
            header_ok = False
        seen_cols.add(col)
        if col not in columns:
            guess = closest(col, columns)
            parsed.issues.append(Issue(
                parsed.name, header_row, col, msg("onbekende kolom {column} voor {kind}",
                                                 column=repr(col), kind=kind),
                msg("{hint} (zet eigen velden als JSON in de kolom 'extra')",
                   hint=_did_you_mean(guess, msg("geldige kolommen: {columns}",
                                                columns=", ".join(columns))))))
            header_ok = False
    required = {"enterprises": ("ref", "name", "description", "cpv"),
                "tenders": ("ref", "buyer", "title", "cpv"),
                "challenges": ("ref", "municipality", "title", "question"),
                "obligations": ("ref", "firm")}[kind]
    for col in required:
        if col not in seen_cols:
            parsed.issues.append(Issue(parsed.name, header_row, col,
                                       msg("verplichte kolom {column} ontbreekt", column=repr(col)),
                                       msg("voeg een kolom {column} toe", column=repr(col))))
            header_ok = False
    if kind == "enterprises" and "municipality" not in seen_cols and \
            not {"lat", "lon"} <= seen_cols:
        parsed.issues.append(Issue(parsed.name, header_row, "municipality",
                                   msg("kolom 'municipality' ontbreekt (en er zijn geen "
                                      "kolommen lat/lon)"),
                                   msg("voeg een kolom 'municipality' toe (CBS-code of naam)")))
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
                                       msg("deze rij is niet te lezen: {error}", error=str(exc)),
                                       msg("controleer de aanhalingstekens in deze rij")))
            return
        row_no += 1
        if not any(cell.strip() for cell in cells):
            continue
        base = f"row {row_no}"
        if len(cells) > len(header) and any(x.strip() for x in cells[len(header):]):
            parsed.issues.append(Issue(
                parsed.name, base, None,
                msg("rij heeft {cells} cellen maar de kopregel {columns} kolommen",
                   cells=len(cells), columns=len(header)),
                msg("zet cellen met het scheidingsteken {sep} tussen aanhalingstekens, of "
                   "gebruik | in lijsten", sep=repr(delimiter))))
            continue
        row_errors: list[Issue] = []

        def c_error(col: str, reason: Text, fix: Text, base: str = base,
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


def tender_amount_problem(values: dict[str, Any]) -> Message | None:
    """Why a tender (column values) cannot set an obligation's amount, or None if it can."""
    pct, amount = values.get("sroi_percentage"), values.get("sroi_amount_eur")
    if amount is not None:
        return None
    if pct is None:
        return msg("heeft geen social-returnclausule")
    basis = values.get("sroi_basis") or "contract_value"
    if basis == "labour_cost":
        if values.get("sroi_labour_cost_eur") is None:
            return msg("geeft een percentage van de loonkosten maar geen labour_cost_eur")
        return None
    if values.get("contract_value_eur") is None:
        return msg("geeft een percentage maar geen contract_value_eur")
    return None


def obligation_amount_issue(file: str, rec: Record, problem: Message) -> Issue:
    tref = rec.values.get("tender_ref")
    return Issue(file, rec.location + ("" if rec.location.startswith("row ") else
                                       ".amount_eur"),
                 "amount_eur",
                 msg("geen amount_eur, en aanbesteding {tender} {problem}, dus het "
                    "verschuldigde bedrag is onbekend", tender=repr(tref), problem=problem),
                 msg("geef amount_eur, of vul de sroi-clausule van de aanbesteding aan"), rec.ref,
                 "tender_sets_no_amount", {"tender": tref})


def dangling_tender_issue(file: str, rec: Record) -> Issue:
    tref = rec.values.get("tender_ref")
    return Issue(file, rec.location + ("" if rec.location.startswith("row ") else ".tender"),
                 "tender", msg("aanbesteding {tender} bestaat niet (niet in dit bestand en niet in "
                              "de database)", tender=repr(tref)),
                 msg("lees de aanbesteding eerst in (of in hetzelfde bestand), of verbeter de "
                    "ref"), rec.ref,
                 "tender_missing", {"tender": tref})
