"""Public reference data: CPV 2008, Dutch municipalities (CBS), NUTS3 regions.

The files live in ``matcher/data/`` with their sources in ``matcher/data/README.md``.
Loaded lazily and cached per process: they are read-only facts, not state.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"

_CPV_RE = re.compile(r"^\s*(\d{8})(?:\.0+)?(?:\s*-\s*(\d))?\s*$")


class CpvError(ValueError):
    """A CPV code that is malformed or not in the CPV 2008 vocabulary. ``kind`` (``type``,
    ``fraction``, ``malformed``, ``unknown``) and ``value`` let a caller word it in the
    user's language; the text is the English default."""

    def __init__(self, message: str, kind: str = "malformed", value: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.value = value


@dataclass(frozen=True)
class CpvCode:
    code: str  # 8 digits, no check digit
    parent: str | None
    level: int
    label_en: str
    label_nl: str
    type: str = ""  # "services", "works" or "supplies" (the CPV's own split of the codes)


@dataclass(frozen=True)
class Municipality:
    code: str  # "GM0344"
    name: str
    province: str
    lat: float
    lon: float
    alt_name: str | None = None
    province_code: str = ""  # "PV26": how valuation policies name a province (``regions``)


def normalise_cpv(raw: object) -> str:
    """Normalise a CPV code as publishers emit it to 8 digits.

    Accepts ``"90911200"``, ``"90911200-8"``, ``"90911200.0"``, an int or float.
    Raises CpvError for a malformed code or one not in the CPV 2008 vocabulary.
    """
    if isinstance(raw, bool):
        raise CpvError(f"CPV code must be a string of 8 digits, got {raw!r}", "type", repr(raw))
    if isinstance(raw, int):
        raw = f"{raw:08d}"
    elif isinstance(raw, float):
        if not raw.is_integer():
            raise CpvError(f"CPV code {raw!r} is not a whole number", "fraction", repr(raw))
        raw = f"{int(raw):08d}"
    if not isinstance(raw, str):
        raise CpvError(f"CPV code must be a string, got {type(raw).__name__}", "type",
                       type(raw).__name__)
    m = _CPV_RE.match(raw)
    if not m:
        raise CpvError(
            f"CPV code {raw!r} is malformed: expected 8 digits, optionally with a check digit "
            "('90911200', '90911200-8' or '90911200.0')", "malformed", repr(raw)
        )
    code = m.group(1)
    if code not in cpv_vocabulary():
        raise CpvError(f"CPV code {code!r} is not in the CPV 2008 vocabulary", "unknown",
                       repr(code))
    return code


@lru_cache(maxsize=1)
def cpv_vocabulary() -> dict[str, CpvCode]:
    out: dict[str, CpvCode] = {}
    with open(DATA_DIR / "cpv_2008_en_nl.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["code"]] = CpvCode(
                code=row["code"],
                parent=row["parent"] or None,
                level=int(row["level"]),
                label_en=row["label_en"],
                label_nl=row["label_nl"] or row["label_en"],
                type=row.get("type") or "",
            )
    return out


def cpv_ancestors(code: str) -> list[str]:
    """The code's ancestors, nearest first (excluding the code itself)."""
    vocab = cpv_vocabulary()
    out: list[str] = []
    node = vocab.get(code)
    while node is not None and node.parent:
        out.append(node.parent)
        node = vocab.get(node.parent)
    return out


def cpv_label(code: str, lang: str = "nl") -> str:
    node = cpv_vocabulary().get(code)
    if node is None:
        return code
    return node.label_nl if lang == "nl" else node.label_en


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: for matching names people type."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return text.strip()


@lru_cache(maxsize=1)
def municipalities() -> dict[str, Municipality]:
    out: dict[str, Municipality] = {}
    with open(DATA_DIR / "nl_gemeenten_2023.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["gemeentecode"]] = Municipality(
                code=row["gemeentecode"],
                name=row["gemeentenaam"],
                province=row["provincienaam"],
                lat=float(row["lat"]),
                lon=float(row["lon"]),
                alt_name=row["label_alt"] or None,
                province_code=row["provinciecode"],
            )
    return out


@lru_cache(maxsize=1)
def _municipality_names() -> dict[str, str]:
    out: dict[str, str] = {}
    for m in municipalities().values():
        out[fold(m.name)] = m.code
        if m.alt_name:
            for alt in m.alt_name.split("|"):
                out[fold(alt)] = m.code
    # Common official long forms people type.
    extra = {"s gravenhage": "'s-Gravenhage", "s hertogenbosch": "'s-Hertogenbosch"}
    for k, v in extra.items():
        code = out.get(fold(v))
        if code:
            out.setdefault(k, code)
    if "GM0518" in municipalities():
        out.setdefault("den haag", "GM0518")
    if "GM0796" in municipalities():
        out.setdefault("den bosch", "GM0796")
    return out


def resolve_municipality(value: str) -> Municipality | None:
    """Find a municipality by CBS code (``GM0344``, ``0344``, ``344``) or name."""
    value = value.strip()
    munis = municipalities()
    m = re.fullmatch(r"(?i)(?:GM)?\s*(\d{1,4})", value)
    if m:
        return munis.get(f"GM{int(m.group(1)):04d}")
    code = _municipality_names().get(fold(value))
    return munis.get(code) if code else None


def suggest_municipalities(value: str, limit: int = 3) -> list[str]:
    """Closest municipality names, for 'did you mean' messages."""
    from rapidfuzz import fuzz, process

    names = [m.name for m in municipalities().values()]
    hits = process.extract(value, names, scorer=fuzz.WRatio, limit=limit)
    return [h[0] for h in hits if h[1] >= 60]


@lru_cache(maxsize=1)
def nuts3_regions() -> dict[str, str]:
    with open(DATA_DIR / "nuts3_nl.csv", encoding="utf-8") as fh:
        return {row["code"]: row["label_nl"] for row in csv.DictReader(fh)}
