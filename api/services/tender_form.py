"""The officer's tender form: parse what was typed, validate it, write a TenderRow.

Kept apart from the route so it can be tested without HTTP. Messages are Dutch
source strings (translated by the template's ``t()``) with ``{placeholders}``
filled after translation: ``FormErrors`` maps a field name to ``(message, params)``.

Numbers are read the Dutch way ("2.000.000", "1.250,50", "€ 2 mln" is not
accepted — "2000000" is) and also the international way ("2000000.50").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.clock import utcnow
from api.tables import TenderRow
from matcher.model import CLAUSE_BASES, TARGET_GROUPS, SroiClause
from matcher.refdata import CpvError, normalise_cpv, resolve_municipality, suggest_municipalities
from matcher.valuation import list_policies, obligation_due

FormErrors = dict[str, tuple[str, dict[str, Any]]]

CLAUSE_KINDS = ("percentage", "amount", "none")
ACTIONS = ("draft", "publish")


class NumberError(ValueError):
    pass


def parse_number(raw: str | None) -> float | None:
    """Dutch or international notation; None for empty. Raises NumberError."""
    if raw is None:
        return None
    s = str(raw).strip().replace("€", "").replace("%", "").replace("\u00a0", "").replace(" ", "")
    if s == "":
        return None
    if s.startswith("-"):
        raise NumberError("negative")
    if "," in s:
        # Dutch: dots group thousands, the comma is the decimal separator.
        if s.count(",") > 1 or not re.fullmatch(r"\d{1,3}(\.\d{3})*,\d+|\d+,\d+", s):
            raise NumberError(s)
        return float(s.replace(".", "").replace(",", "."))
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
        return float(s.replace(".", ""))  # "2.000.000"
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    raise NumberError(s)


def split_codes(raw: str | None) -> list[str]:
    return [p for p in re.split(r"[\s,;|]+", raw or "") if p]


def fmt_number_input(value: float | None) -> str:
    """A number as it is shown back in an input: Dutch, no thousands separators."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


@dataclass
class TenderForm:
    """What the officer typed, as strings (so it can be shown back unchanged)."""

    title: str = ""
    description: str = ""
    cpv: str = ""
    contract_value_eur: str = ""
    start: str = ""
    end: str = ""
    municipality: str = ""
    postcode: str = ""
    clause_kind: str = "percentage"
    sroi_percentage: str = ""
    sroi_amount_eur: str = ""
    sroi_basis: str = "contract_value"
    sroi_labour_cost_eur: str = ""
    sroi_threshold_eur: str = ""
    sroi_cap_eur: str = ""
    sroi_target_groups: list[str] = field(default_factory=list)
    sroi_region_km: str = ""
    sroi_policy: str = ""
    reserved: bool = False

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], groups: list[str] | None = None) -> TenderForm:
        def s(key: str, default: str = "") -> str:
            v = data.get(key)
            return default if v is None else str(v).strip()

        return cls(
            title=s("title"),
            description=s("description"),
            cpv=s("cpv"),
            contract_value_eur=s("contract_value_eur"),
            start=s("start"),
            end=s("end"),
            municipality=s("municipality"),
            postcode=s("postcode"),
            clause_kind=s("clause_kind", "percentage") or "percentage",
            sroi_percentage=s("sroi_percentage"),
            sroi_amount_eur=s("sroi_amount_eur"),
            sroi_basis=s("sroi_basis", "contract_value") or "contract_value",
            sroi_labour_cost_eur=s("sroi_labour_cost_eur"),
            sroi_threshold_eur=s("sroi_threshold_eur"),
            sroi_cap_eur=s("sroi_cap_eur"),
            sroi_target_groups=list(groups or []),
            sroi_region_km=s("sroi_region_km"),
            sroi_policy=s("sroi_policy"),
            reserved=s("reserved").lower() in ("1", "on", "true", "yes", "ja"),
        )

    @classmethod
    def from_row(cls, row: TenderRow) -> TenderForm:
        muni = ""
        if row.municipality_code:
            from matcher.refdata import municipalities

            m = municipalities().get(row.municipality_code)
            muni = m.name if m else row.municipality_code
        kind = (
            "amount" if row.sroi_amount_eur is not None
            else "percentage" if row.sroi_percentage is not None
            else "none"
        )
        return cls(
            title=row.title,
            description=row.description or "",
            cpv=", ".join(row.cpv or []),
            contract_value_eur=fmt_number_input(row.contract_value_eur),
            start=row.start.isoformat() if row.start else "",
            end=row.end.isoformat() if row.end else "",
            municipality=muni,
            postcode=row.postcode or "",
            clause_kind=kind,
            sroi_percentage=fmt_number_input(row.sroi_percentage),
            sroi_amount_eur=fmt_number_input(row.sroi_amount_eur),
            sroi_basis=row.sroi_basis or "contract_value",
            sroi_labour_cost_eur=fmt_number_input(row.sroi_labour_cost_eur),
            sroi_threshold_eur=fmt_number_input(row.sroi_threshold_eur),
            sroi_cap_eur=fmt_number_input(row.sroi_cap_eur),
            sroi_target_groups=list(row.sroi_target_groups or []),
            sroi_region_km=fmt_number_input(row.sroi_region_km),
            sroi_policy=row.sroi_policy or "",
            reserved=bool(row.reserved),
        )

    @property
    def cpv_codes(self) -> list[str]:
        return split_codes(self.cpv)


@dataclass
class Cleaned:
    """Validated values, ready for a TenderRow."""

    values: dict[str, Any]
    errors: FormErrors

    @property
    def ok(self) -> bool:
        return not self.errors


def _date(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    m = re.fullmatch(r"(\d{1,2})-(\d{1,2})-(\d{4})", raw)  # Dutch dd-mm-jjjj
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return date.fromisoformat(raw)


def validate(form: TenderForm, action: str = "publish") -> Cleaned:
    """Check every field; all errors at once. ``publish`` asks more than ``draft``."""
    errors: FormErrors = {}
    v: dict[str, Any] = {}
    publishing = action == "publish"

    def err(name: str, msg: str, **params: Any) -> None:
        errors.setdefault(name, (msg, params))

    def number(name: str, raw: str, *, positive: bool = False, maximum: float | None = None
               ) -> float | None:
        try:
            x = parse_number(raw)
        except NumberError:
            err(name, "Vul een getal in, bijvoorbeeld 2.000.000 of 1250,50.")
            return None
        if x is None:
            return None
        if positive and x <= 0:
            err(name, "Moet groter dan nul zijn.")
            return None
        if maximum is not None and x > maximum:
            err(name, "Mag niet groter zijn dan {max}.", max=fmt_number_input(maximum))
            return None
        return x

    # Title & description
    if not form.title:
        err("title", "Vul een titel in.")
    elif len(form.title) > 500:
        err("title", "De titel is te lang (hoogstens 500 tekens).")
    v["title"] = form.title
    v["description"] = form.description

    # CPV codes
    codes: list[str] = []
    for raw in form.cpv_codes:
        try:
            code = normalise_cpv(raw)
        except CpvError:
            err("cpv", "Onbekende CPV-code: {code}. Zoek de code op met het zoekveld.", code=raw)
            continue
        if code not in codes:
            codes.append(code)
    if not form.cpv_codes and publishing:
        err("cpv", "Kies ten minste één CPV-code.")
    v["cpv"] = codes

    # Value and period
    value = number("contract_value_eur", form.contract_value_eur, positive=True)
    if value is None and publishing and "contract_value_eur" not in errors:
        err("contract_value_eur", "Vul de opdrachtwaarde in euro's in.")
    v["contract_value_eur"] = value
    start = end = None
    for name in ("start", "end"):
        try:
            d = _date(getattr(form, name))
        except ValueError:
            err(name, "Vul een datum in als dd-mm-jjjj.")
            d = None
        v[name] = d
        if name == "start":
            start = d
        else:
            end = d
    if start and end and end < start:
        err("end", "De einddatum ligt vóór de begindatum.")

    # Place
    v["municipality_code"] = None
    v["lat"] = v["lon"] = None
    if form.municipality:
        muni = resolve_municipality(form.municipality)
        if muni is None:
            hints = suggest_municipalities(form.municipality)
            if hints:
                err("municipality", "Onbekende gemeente. Bedoelde u: {hints}?",
                    hints=", ".join(hints))
            else:
                err("municipality", "Onbekende gemeente; vul een naam of CBS-code (GM0344) in.")
        else:
            v["municipality_code"] = muni.code
            v["lat"], v["lon"] = muni.lat, muni.lon
    elif publishing:
        err("municipality", "Vul de plaats van uitvoering in (gemeente).")
    pc = form.postcode.replace(" ", "").upper()
    if pc and not re.fullmatch(r"\d{4}[A-Z]{2}", pc):
        err("postcode", "Een postcode ziet eruit als 3511 AB.")
    v["postcode"] = f"{pc[:4]} {pc[4:]}" if pc and "postcode" not in errors else None

    # The social-return clause
    kind = form.clause_kind if form.clause_kind in CLAUSE_KINDS else "percentage"
    pct = amount = labour = None
    if kind == "percentage":
        pct = number("sroi_percentage", form.sroi_percentage, maximum=100)
        if pct is None and "sroi_percentage" not in errors and publishing:
            err("sroi_percentage", "Vul het percentage in (bijvoorbeeld 5).")
    elif kind == "amount":
        amount = number("sroi_amount_eur", form.sroi_amount_eur, positive=True)
        if amount is None and "sroi_amount_eur" not in errors:
            err("sroi_amount_eur", "Vul het bedrag in euro's in.")
    basis = form.sroi_basis if form.sroi_basis in CLAUSE_BASES else None
    if basis is None:
        err("sroi_basis", "Kies een grondslag.")
        basis = "contract_value"
    if kind == "percentage" and basis == "labour_cost":
        labour = number("sroi_labour_cost_eur", form.sroi_labour_cost_eur, positive=True)
        if labour is None and "sroi_labour_cost_eur" not in errors and publishing:
            err("sroi_labour_cost_eur",
                "Vul de loonsom in: het percentage wordt daarover berekend.")
    threshold = number("sroi_threshold_eur", form.sroi_threshold_eur)
    cap = number("sroi_cap_eur", form.sroi_cap_eur, positive=True)
    region = number("sroi_region_km", form.sroi_region_km, positive=True, maximum=400)
    bad_groups = [g for g in form.sroi_target_groups if g not in TARGET_GROUPS]
    if bad_groups:
        err("sroi_target_groups", "Onbekende doelgroep: {groups}.", groups=", ".join(bad_groups))
    policy = form.sroi_policy or None
    if policy is not None and policy not in list_policies():
        err("sroi_policy", "Kies een waarderingstabel uit de lijst.")
    v.update(
        sroi_percentage=pct,
        sroi_amount_eur=amount,
        sroi_basis=basis,
        sroi_labour_cost_eur=labour,
        sroi_threshold_eur=threshold if kind != "none" else None,
        sroi_cap_eur=cap if kind != "none" else None,
        sroi_target_groups=[g for g in form.sroi_target_groups if g in TARGET_GROUPS],
        sroi_region_km=region,
        sroi_policy=policy,
        reserved=form.reserved,
    )
    if kind == "none":
        v["sroi_percentage"] = v["sroi_amount_eur"] = None
    if kind != "none" and not errors:
        clause = SroiClause(percentage=pct, amount_eur=amount, basis=basis,
                            threshold_eur=threshold, cap_eur=cap, labour_cost_eur=labour)
        try:
            obligation_due(clause, value, labour)
        except ValueError:
            if publishing:
                err("sroi_percentage", "Met deze gegevens is de verplichting niet te berekenen.")
    return Cleaned(v, errors)


def apply(row: TenderRow, cleaned: Cleaned, action: str) -> TenderRow:
    for key, value in cleaned.values.items():
        setattr(row, key, value)
    row.status = "published" if action == "publish" else "draft"
    row.source = row.source or "form"
    row.updated_at = utcnow()
    return row


def new_ref(buyer: str, existing: set[str] | None = None) -> str:
    """A readable, unique ref for a tender entered through the form."""
    slug = re.sub(r"[^A-Z0-9]+", "-", buyer.upper()).strip("-")[:20] or "T"
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")[:-3]
    ref = f"{slug}-{stamp}"
    n = 1
    while existing and ref in existing:
        n += 1
        ref = f"{slug}-{stamp}-{n}"
    return ref
