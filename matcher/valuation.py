"""Valuation: how much social return a contract demands and how much an activity earns.

Two halves:

* the *obligation* — a clause (percentage x basis, above a threshold, under a cap, or a
  fixed amount) turned into credited euros due: :func:`obligation_due`;
* the *credit* — what a placement or a purchase from a social enterprise is worth under a
  named valuation policy: :func:`credit_for_placement`, :func:`credit_for_purchase`.

Policies are dated data files in ``matcher/data/policies/`` (see the README there), never
constants in code: regions publish different tables and change them over time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from matcher.model import CLAUSE_BASES, Enterprise, SroiClause, Tender

POLICY_DIR = Path(__file__).parent / "data" / "policies"
# There is no national valuation table: a clause that names no policy is valued with the
# policy in force for the buyer's region on the contract's start (:func:`policy_for`), and
# with none when no policy covers that region — never with another region's table.
_REGION_RE = re.compile(r"^(GM\d{4}|PV\d{2})$")

BLOCK_KINDS: tuple[str, ...] = ("job", "learning", "work_experience", "activity")
WEEKS_PER_MONTH = 52.0 / 12.0
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class PolicyError(ValueError):
    """A policy file that is missing, unreadable or malformed."""


@dataclass(frozen=True)
class Block:
    """One building block: a kind of activity and its notional value."""

    key: str
    label_nl: str
    label_en: str
    kind: str = "job"
    eur_per_year: float | None = None
    eur_per_month: float | None = None
    eur_per_hour: float | None = None
    hours_per_week_basis: float | None = None
    counted_years: float | None = None
    target_groups: tuple[str, ...] = ()

    def full_year_value(self) -> float:
        """Credit for one full-time place held for twelve months (for ranking blocks)."""
        if self.eur_per_year is not None:
            return self.eur_per_year
        if self.eur_per_month is not None:
            return 12 * self.eur_per_month
        assert self.eur_per_hour is not None
        return self.eur_per_hour * 36 * 52


@dataclass(frozen=True)
class Bonus:
    key: str
    label_nl: str
    label_en: str
    eur_per_year: float
    applies_to: tuple[str, ...] = ("job",)


@dataclass(frozen=True)
class PurchasingRule:
    shares: Mapping[str, float]
    default_share: float
    description: str = ""


@dataclass(frozen=True)
class Policy:
    name: str
    label: str
    region: str
    regions: tuple[str, ...]  # CBS municipality (GM0344) and province (PV26) codes it covers
    valid_from: date
    valid_until: date | None
    source_url: str
    source_description: str
    blocks: Mapping[str, Block]
    bonuses: Mapping[str, Bonus]
    purchasing: PurchasingRule
    # The block that values one placement-year before anyone is hired (capacity).
    placement_block: str | None = None

    def block(self, key: str) -> Block:
        try:
            return self.blocks[key]
        except KeyError:
            raise PolicyError(
                f"policy {self.name!r} has no block {key!r}; known: {', '.join(self.blocks)}"
            ) from None

    def is_valid(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on <= self.valid_until)


# ---------------------------------------------------------------- loading & validation


def _req(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] is None:
        raise PolicyError(f"{where}: missing required field {key!r}")
    return data[key]


def _number(value: Any, where: str, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PolicyError(f"{where}: expected a number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise PolicyError(f"{where}: {value!r} must be >= {minimum}{upper}")
    return float(value)


def _opt_number(data: Mapping[str, Any], key: str, where: str, **kw: Any) -> float | None:
    value = data.get(key)
    return None if value is None else _number(value, f"{where}.{key}", **kw)


def _date_field(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    # A typo in a policy file would otherwise silently drop a value.
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PolicyError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")


_BLOCK_KEYS = {
    "label_nl", "label_en", "kind", "eur_per_year", "eur_per_month", "eur_per_hour",
    "hours_per_week_basis", "counted_years", "target_groups",
}


def _parse_block(key: str, data: Any, where: str) -> Block:
    if not isinstance(data, Mapping):
        raise PolicyError(f"{where}: expected an object")
    _check_keys(data, _BLOCK_KEYS, where)
    kind = data.get("kind", "job")
    if kind not in BLOCK_KINDS:
        raise PolicyError(f"{where}.kind: {kind!r} is not one of {', '.join(BLOCK_KINDS)}")
    rates = {
        k: _opt_number(data, k, where) for k in ("eur_per_year", "eur_per_month", "eur_per_hour")
    }
    given = [k for k, v in rates.items() if v is not None]
    if len(given) != 1:
        raise PolicyError(
            f"{where}: give exactly one of eur_per_year, eur_per_month, eur_per_hour "
            f"(got {', '.join(given) or 'none'})"
        )
    basis = _opt_number(data, "hours_per_week_basis", where, minimum=1.0, maximum=168.0)
    if rates["eur_per_year"] is not None and basis is None:
        raise PolicyError(f"{where}: eur_per_year needs hours_per_week_basis (e.g. 36)")
    groups = data.get("target_groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise PolicyError(f"{where}.target_groups: expected a list of strings")
    return Block(
        key=key,
        label_nl=str(_req(data, "label_nl", where)),
        label_en=str(_req(data, "label_en", where)),
        kind=kind,
        eur_per_year=rates["eur_per_year"],
        eur_per_month=rates["eur_per_month"],
        eur_per_hour=rates["eur_per_hour"],
        hours_per_week_basis=basis,
        counted_years=_opt_number(data, "counted_years", where, minimum=0.0),
        target_groups=tuple(groups),
    )


def parse_policy(data: Any, origin: str = "<policy>") -> Policy:
    """Validate a decoded policy document; errors name the file and the field."""
    if not isinstance(data, Mapping):
        raise PolicyError(f"{origin}: a policy must be a JSON object")
    _check_keys(
        data,
        {"name", "label", "region", "regions", "valid_from", "valid_until", "source", "blocks",
         "bonuses", "purchasing", "placement_block"},
        origin,
    )
    name = str(_req(data, "name", origin))
    if not _NAME_RE.match(name):
        raise PolicyError(f"{origin}.name: {name!r} must be lower-case letters, digits, - _ .")
    source = _req(data, "source", origin)
    if not isinstance(source, Mapping):
        raise PolicyError(f"{origin}.source: expected an object with url and description")
    blocks_raw = _req(data, "blocks", origin)
    if not isinstance(blocks_raw, Mapping) or not blocks_raw:
        raise PolicyError(f"{origin}.blocks: expected a non-empty object")
    blocks = {k: _parse_block(k, v, f"{origin}.blocks.{k}") for k, v in blocks_raw.items()}
    bonuses: dict[str, Bonus] = {}
    for k, v in (data.get("bonuses") or {}).items():
        where = f"{origin}.bonuses.{k}"
        if not isinstance(v, Mapping):
            raise PolicyError(f"{where}: expected an object")
        _check_keys(v, {"label_nl", "label_en", "eur_per_year", "applies_to"}, where)
        applies = v.get("applies_to", ["job"])
        bad = [a for a in applies if a not in BLOCK_KINDS]
        if bad:
            raise PolicyError(f"{where}.applies_to: unknown block kind(s) {bad}")
        bonuses[k] = Bonus(
            key=k,
            label_nl=str(_req(v, "label_nl", where)),
            label_en=str(_req(v, "label_en", where)),
            eur_per_year=_number(_req(v, "eur_per_year", where), f"{where}.eur_per_year"),
            applies_to=tuple(applies),
        )
    purch = _req(data, "purchasing", origin)
    where = f"{origin}.purchasing"
    if not isinstance(purch, Mapping):
        raise PolicyError(f"{where}: expected an object")
    _check_keys(purch, {"shares", "default_share", "description"}, where)
    shares_raw = purch.get("shares") or {}
    if not isinstance(shares_raw, Mapping):
        raise PolicyError(f"{where}.shares: expected an object scheme -> share")
    shares = {
        str(s): _number(v, f"{where}.shares.{s}", maximum=1.0) for s, v in shares_raw.items()
    }
    regions_raw = _req(data, "regions", origin)
    if not isinstance(regions_raw, list) or not regions_raw or not all(
        isinstance(r, str) and _REGION_RE.match(r) for r in regions_raw
    ):
        raise PolicyError(f"{origin}.regions: expected a non-empty list of CBS codes "
                          f"(municipality GM0344, province PV26), got {regions_raw!r}")
    placement = data.get("placement_block")
    if placement is not None and placement not in blocks:
        raise PolicyError(f"{origin}.placement_block: {placement!r} is not one of its blocks")
    valid_from = _date_field(_req(data, "valid_from", origin), f"{origin}.valid_from")
    valid_until = data.get("valid_until")
    until = _date_field(valid_until, f"{origin}.valid_until") if valid_until else None
    if until is not None and until < valid_from:
        raise PolicyError(f"{origin}: valid_until {until} is before valid_from {valid_from}")
    return Policy(
        name=name,
        label=str(data.get("label") or name),
        region=str(data.get("region") or ""),
        regions=tuple(regions_raw),
        valid_from=valid_from,
        valid_until=until,
        source_url=str(_req(source, "url", f"{origin}.source")),
        source_description=str(source.get("description") or ""),
        blocks=MappingProxyType(blocks),
        bonuses=MappingProxyType(bonuses),
        purchasing=PurchasingRule(
            shares=MappingProxyType(shares),
            default_share=_number(
                _req(purch, "default_share", where), f"{where}.default_share", maximum=1.0
            ),
            description=str(purch.get("description") or ""),
        ),
        placement_block=None if placement is None else str(placement),
    )


def list_policies(directory: Path | str | None = None) -> list[str]:
    """Names of the policies shipped (or in ``directory``), sorted."""
    d = Path(directory) if directory is not None else POLICY_DIR
    return sorted(p.stem for p in d.glob("*.json"))


def load_policy_file(path: Path | str) -> Policy:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such policy file") from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{path}: not valid JSON: {exc}") from None
    policy = parse_policy(data, path.name)
    if policy.name != path.stem:
        # The name is how clauses refer to a policy; a mismatch would load the wrong table.
        raise PolicyError(f"{path.name}: name {policy.name!r} differs from the file name")
    return policy


@lru_cache(maxsize=32)
def _load_cached(name: str, directory: str) -> Policy:
    return load_policy_file(Path(directory) / f"{name}.json")


def load_policy(name: str, directory: Path | str | None = None) -> Policy:
    """The policy called ``name``. Cached: files are facts."""
    d = Path(directory) if directory is not None else POLICY_DIR
    if not _NAME_RE.match(name) or not (d / f"{name}.json").is_file():
        known = ", ".join(list_policies(d)) or "none"
        raise PolicyError(f"unknown valuation policy {name!r}; known: {known}")
    return _load_cached(name, str(d))


def _place_codes(place: str | None) -> tuple[str, str] | None:
    """(municipality code, province code) of a CBS code or a municipality's name."""
    from matcher.refdata import resolve_municipality

    if not place or not place.strip():
        return None
    m = resolve_municipality(place)
    return None if m is None else (m.code, m.province_code)


def policy_for(
    place: str | None, on: date | None, directory: Path | str | None = None
) -> Policy | None:
    """The policy in force on ``on`` (the contract's start) for the buyer's ``place`` (a CBS
    municipality code or name); None when no policy covers that place on that date.

    A policy naming the municipality itself wins over one naming its province; among equals
    the latest ``valid_from`` (the newer table replaces the older). With the start unknown
    (``on`` None) the region's newest policy. Never a policy of another region: there is
    no national table, so the officer chooses one (``clause.policy``) instead.
    """
    codes = _place_codes(place)
    if codes is None:
        return None
    muni, province = codes
    best: tuple[int, date, str] | None = None
    found: Policy | None = None
    for name in list_policies(directory):
        p = load_policy(name, directory)
        if on is not None and not p.is_valid(on):
            continue
        if muni in p.regions:
            rank = 2
        elif province and province in p.regions:
            rank = 1
        else:
            continue
        key = (rank, p.valid_from, p.name)
        if best is None or key > best:
            best, found = key, p
    return found


def clause_policy(
    clause: SroiClause | None, place: str | None, on: date | None,
    directory: Path | str | None = None,
) -> Policy | None:
    """The policy a clause is valued with: the one it names, else :func:`policy_for`."""
    if clause is not None and clause.policy:
        return load_policy(clause.policy, directory)
    return policy_for(place, on, directory)


def tender_policy(tender: Tender) -> Policy | None:
    """The policy valuing ``tender``'s clause (its own, else its region's on its start)."""
    return clause_policy(tender.sroi, tender.municipality, tender.start)


# ---------------------------------------------------------------- obligation due


@dataclass(frozen=True)
class DueResult:
    """Credited euros a clause demands, with the numbers that led there."""

    amount_eur: float
    basis: str
    basis_eur: float | None
    percentage: float | None
    applies: bool
    capped: bool
    explanation: str
    threshold_eur: float | None = None
    cap_eur: float | None = None
    # "due" | "nothing_due" (no percentage, €0, below the threshold) | "not_computable"
    # (contract value or labour cost unknown) | "no_policy" (no policy for the region:
    # the officer must choose one). See :func:`tender_due`.
    state: str = "due"
    missing: str | None = None  # not_computable: "contract_value" | "labour_cost"


DUE_STATES: tuple[str, ...] = ("due", "nothing_due", "not_computable", "no_policy")


def _eur(x: float) -> str:
    return f"€{x:,.0f}" if float(x).is_integer() else f"€{x:,.2f}"


def obligation_due(
    clause: SroiClause, contract_value_eur: float | None, labour_cost_eur: float | None = None
) -> DueResult:
    """Credited euros due under ``clause``.

    ``percentage`` is in percent (5 means 5 %). A fixed ``amount_eur`` wins over the
    percentage. The threshold is compared with the contract value (that is how buyers
    publish it: "contracts above €100,000"); below it nothing is due. The cap bounds the
    result. Raises ValueError when the clause needs a number that is not known.
    """
    cap = clause.cap_eur
    thr = clause.threshold_eur
    if clause.basis not in CLAUSE_BASES:
        raise ValueError(f"unknown clause basis {clause.basis!r}; expected one of {CLAUSE_BASES}")
    if clause.amount_eur is not None:
        if clause.amount_eur < 0:
            raise ValueError(f"amount_eur must be >= 0, got {clause.amount_eur}")
        amount = clause.amount_eur
        capped = cap is not None and amount > cap
        amount = min(amount, cap) if cap is not None else amount
        text = f"fixed amount {_eur(clause.amount_eur)} (a fixed amount wins over a percentage)"
        if capped:
            text += f", capped at {_eur(cap)}"  # type: ignore[arg-type]
        return DueResult(round(amount, 2), clause.basis, None, clause.percentage, True, capped,
                         text, thr, cap)
    if clause.percentage is None:
        return DueResult(0.0, clause.basis, None, None, False, False,
                         "the clause gives neither a percentage nor an amount: nothing due",
                         thr, cap)
    if not 0 <= clause.percentage <= 100:
        raise ValueError(f"percentage is in percent (5 = 5 %), got {clause.percentage}")
    if thr is not None:
        if contract_value_eur is None:
            raise ValueError("the clause has a threshold but the contract value is unknown")
        if contract_value_eur < thr:
            return DueResult(
                0.0, clause.basis, None, clause.percentage, False, False,
                f"contract value {_eur(contract_value_eur)} is below the threshold "
                f"{_eur(thr)}: nothing due", thr, cap,
            )
    if clause.basis == "labour_cost":
        basis_eur = labour_cost_eur if labour_cost_eur is not None else clause.labour_cost_eur
        if basis_eur is None:
            raise ValueError("the clause is a percentage of labour cost, which is unknown")
        basis_text = f"labour cost {_eur(basis_eur)}"
    else:
        if contract_value_eur is None:
            raise ValueError("the clause is a percentage of the contract value, which is unknown")
        basis_eur = contract_value_eur
        basis_text = f"contract value {_eur(basis_eur)}"
    raw = clause.percentage / 100.0 * basis_eur
    capped = cap is not None and raw > cap
    amount = min(raw, cap) if cap is not None else raw
    text = f"{clause.percentage:g} % of {basis_text} = {_eur(round(raw, 2))}"
    if thr is not None:
        text += f" (above the threshold {_eur(thr)})"
    if capped:
        text += f", capped at {_eur(cap)}"  # type: ignore[arg-type]
    return DueResult(round(amount, 2), clause.basis, basis_eur, clause.percentage, True, capped,
                     text, thr, cap)


def _missing(clause: SroiClause, contract_value_eur: float | None) -> str | None:
    """The number :func:`obligation_due` lacked, in the order it asks for them."""
    if clause.amount_eur is not None or clause.percentage is None:
        return None
    if clause.threshold_eur is not None and contract_value_eur is None:
        return "contract_value"
    if clause.basis == "labour_cost":
        return "labour_cost" if clause.labour_cost_eur is None else None
    return "contract_value" if contract_value_eur is None else None


def tender_due(tender: Tender, policy: Policy | None = None) -> DueResult | None:
    """What ``tender``'s clause demands, never raising: None without a clause, else a
    :class:`DueResult` whose ``state`` says whether anything is due and why not.

    ``policy``: the policy valuing it (default :func:`tender_policy`). Without one nothing
    can be credited, so nothing can be demanded either: state ``no_policy``, amount 0.
    """
    clause = tender.sroi
    if clause is None:
        return None
    try:
        result = obligation_due(clause, tender.contract_value_eur)
    except ValueError as exc:
        return DueResult(0.0, clause.basis, None, clause.percentage, False, False, str(exc),
                         clause.threshold_eur, clause.cap_eur, state="not_computable",
                         missing=_missing(clause, tender.contract_value_eur))
    if not result.applies or result.amount_eur <= 0:
        return replace(result, state="nothing_due")
    chosen = policy if policy is not None else tender_policy(tender)
    if chosen is None:
        return replace(result, amount_eur=0.0, applies=False, state="no_policy",
                       explanation="no valuation policy covers the buyer's region on the "
                                   "contract's start: choose a policy")
    return result


def obligation_due_amount(tender: Tender, *, require_policy: bool = True) -> float:
    """Credited euros due under a tender's clause; 0 when it has none, nothing is due, or it
    cannot be valued (:func:`tender_due` says which).

    Used by the store's converters to fill an obligation that leaves its amount to the tender.
    ``require_policy=False``: the size of the demand whatever the policy (ranking only uses
    it to scale capacity; nothing is credited or owed from it).
    """
    due = tender_due(tender)
    if due is not None and due.state == "no_policy" and not require_policy:
        assert tender.sroi is not None  # a due result implies a clause
        return obligation_due(tender.sroi, tender.contract_value_eur).amount_eur
    # Not computable / no policy: the obligation then needs an explicit amount or a policy,
    # which the plan's explanation makes visible (due 0).
    return 0.0 if due is None else due.amount_eur


# ---------------------------------------------------------------- credits


def _check_nonneg(value: float, name: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def credit_for_placement(
    policy: Policy,
    block: str | Block,
    hours_per_week: float,
    months: float,
    bonuses: Iterable[str] = (),
) -> float:
    """Credited euros for one placement, pro rata to hours and months.

    Yearly blocks: ``eur_per_year x hours/basis x counted months/12``; months beyond
    ``counted_years`` earn nothing more. Monthly blocks: per month (and per hour share when
    the block names a basis). Hourly blocks: hours a week x weeks. Bonuses are yearly amounts
    pro-rated like the block and only for the block kinds they apply to.
    """
    b = policy.block(block) if isinstance(block, str) else block
    _check_nonneg(hours_per_week, "hours_per_week")
    _check_nonneg(months, "months")
    counted = months if b.counted_years is None else min(months, 12.0 * b.counted_years)
    if b.eur_per_hour is not None:
        return round(b.eur_per_hour * hours_per_week * counted * WEEKS_PER_MONTH, 2)
    hours_share = 1.0
    if b.hours_per_week_basis is not None:
        hours_share = hours_per_week / b.hours_per_week_basis
    yearly = b.eur_per_year if b.eur_per_year is not None else 12.0 * (b.eur_per_month or 0.0)
    for key in bonuses:
        bonus = policy.bonuses.get(key)
        if bonus is None:
            raise PolicyError(
                f"policy {policy.name!r} has no bonus {key!r}; known: "
                f"{', '.join(policy.bonuses) or 'none'}"
            )
        if b.kind not in bonus.applies_to:
            raise PolicyError(f"bonus {key!r} does not apply to a {b.kind} block ({b.key})")
        yearly += bonus.eur_per_year
    return round(yearly * hours_share * counted / 12.0, 2)


def purchase_share(policy: Policy, enterprise: Enterprise, on: date) -> float:
    """Share of an invoice credited for buying from ``enterprise`` on ``on``.

    The best share among its certifications valid that day; ``scheme:level`` keys in the
    policy override plain ``scheme`` keys. The policy's default share otherwise.
    """
    rule = policy.purchasing
    best: float | None = None
    for cert in enterprise.certifications:
        if not cert.is_valid(on):
            continue
        share = None
        if cert.level is not None:
            share = rule.shares.get(f"{cert.scheme}:{cert.level}")
        if share is None:
            share = rule.shares.get(cert.scheme)
        if share is not None and (best is None or share > best):
            best = share
    # A certificate the policy does not list earns nothing extra, but must not lower the
    # share below the default either.
    return max(best, rule.default_share) if best is not None else rule.default_share


def credit_for_purchase(
    policy: Policy, invoice_eur: float, enterprise: Enterprise, on: date
) -> float:
    """Credited euros for an invoice (excl. VAT) paid to ``enterprise`` on ``on``."""
    _check_nonneg(invoice_eur, "invoice_eur")
    return round(invoice_eur * purchase_share(policy, enterprise, on), 2)


# A planned placement before anyone is hired: one full-time place for a year.
PLACEMENT_HOURS_PER_WEEK = 36.0
PLACEMENT_MONTHS = 12.0
CREDIT_KINDS: tuple[str, ...] = ("purchase", "placement")


def credit_rate(
    policy: Policy,
    kind: str,
    on: date,
    *,
    enterprise: Enterprise | None = None,
    block: str | Block | None = None,
    hours_per_week: float = PLACEMENT_HOURS_PER_WEEK,
    months: float = PLACEMENT_MONTHS,
    bonuses: Iterable[str] = (),
) -> float:
    """Credited euros per unit of ``kind`` under ``policy`` on ``on``: per invoiced euro
    for a purchase from ``enterprise`` (its certificates valid that day), per placement of
    ``block`` (``hours_per_week`` for ``months``) for a placement.

    The one definition of credit (with :func:`credit_for`): the plan, the obligation's
    match list, the allocation and the deliveries all call these two, so the same
    enterprise and amount earn the same credit everywhere."""
    if kind == "purchase":
        if enterprise is None:
            raise ValueError("a purchase's credit needs the enterprise it is bought from")
        return purchase_share(policy, enterprise, on)
    if kind == "placement":
        if block is None:
            raise ValueError("a placement's credit needs its building block")
        return credit_for_placement(policy, block, hours_per_week, months, bonuses)
    raise ValueError(f"kind must be one of {CREDIT_KINDS}, got {kind!r}")


def credit_for(
    policy: Policy,
    kind: str,
    on: date,
    *,
    amount_eur: float = 0.0,
    placements: float = 0,
    enterprise: Enterprise | None = None,
    block: str | Block | None = None,
    hours_per_week: float = PLACEMENT_HOURS_PER_WEEK,
    months: float = PLACEMENT_MONTHS,
    bonuses: Iterable[str] = (),
) -> float:
    """Credited euros, to the cent, for ``amount_eur`` invoiced (purchase) or
    ``placements`` places (placement) under ``policy`` on ``on`` (see :func:`credit_rate`)."""
    units = amount_eur if kind == "purchase" else placements
    _check_nonneg(units, "amount_eur" if kind == "purchase" else "placements")
    rate = credit_rate(policy, kind, on, enterprise=enterprise, block=block,
                       hours_per_week=hours_per_week, months=months, bonuses=bonuses)
    return round(units * rate, 2)


def placement_block(
    policy: Policy, target_groups: Iterable[str], prefer: Iterable[str] = ()
) -> Block | None:
    """The block a placement with one of ``target_groups`` would be credited under.

    Among job/learning/work-experience blocks whose groups meet the enterprise's, those
    matching ``prefer`` (the obligation's groups) first, and then the *lowest* value: a
    plan made before anyone is hired must not promise more credit than it can show.
    """
    groups = set(target_groups)
    preferred = set(prefer)
    matches = [
        b for b in policy.blocks.values()
        if b.kind != "activity" and groups.intersection(b.target_groups)
    ]
    if not matches:
        return None
    if preferred:
        top = [b for b in matches if preferred.intersection(b.target_groups)]
        matches = top or matches
    return min(matches, key=lambda b: (b.full_year_value(), b.key))


def placement_year_eur(policy: Policy) -> float:
    """Euro value of one full-time placement held for a year under ``policy``: the full-year
    value of the block its file names as ``placement_block``, else of its cheapest job block
    (the cautious value, as :func:`placement_block` is).

    This is what capacity counts a placement as, before anyone is hired and so before the
    person's exact block is known (``matcher.capacity``)."""
    p = policy
    if p.placement_block is not None:
        return p.block(p.placement_block).full_year_value()
    jobs = [b for b in p.blocks.values() if b.kind == "job"]
    if not jobs:
        raise PolicyError(f"policy {p.name!r} has no job block to value a placement with")
    return min(b.full_year_value() for b in jobs)


def reference_placement_year_eur(directory: Path | str | None = None) -> float:
    """The lowest :func:`placement_year_eur` among the shipped policies: what the index
    counts an enterprise's placements as when *ranking* (no one policy applies to every
    query). Never used to credit or demand: that is always a named policy's value."""
    names = list_policies(directory)
    if not names:
        raise PolicyError("no valuation policies found")
    return min(placement_year_eur(load_policy(n, directory)) for n in names)


__all__ = [
    "CREDIT_KINDS", "DUE_STATES", "PLACEMENT_HOURS_PER_WEEK", "PLACEMENT_MONTHS", "POLICY_DIR",
    "Block", "Bonus", "DueResult", "Policy", "PolicyError", "PurchasingRule", "credit_for",
    "credit_for_placement", "credit_rate", "credit_for_purchase", "list_policies",
    "load_policy", "load_policy_file", "obligation_due", "obligation_due_amount",
    "parse_policy", "placement_block", "placement_year_eur", "policy_for", "clause_policy",
    "tender_policy", "tender_due", "reference_placement_year_eur", "purchase_share",
]
