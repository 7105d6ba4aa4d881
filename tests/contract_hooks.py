"""Schemathesis hooks for the contract tests (issue #18): the rules of the entity bodies
that the OpenAPI document states in words, not in JSON Schema, applied to the requests
schemathesis generates as *valid*, so that "valid by the schema" means "accepted".

Loaded by ``tests/test_contract.py`` (import), which ``make contract`` runs too. Only
positive cases are touched, and only values that already have the schema's type and form
are replaced, so a case generated as invalid stays invalid (negative_data_rejection still
sees every refusal).

- ``x-vocabulary`` fields (``api.fields.vocabulary``): a CPV code or a municipality must be
  on the reference list; the schema gives the form (8 digits, a non-blank name), the list
  is too long to enumerate. A code of the right form is replaced by one from the list;
  the same for query parameters marked ``x-vocabulary`` (the search's municipality).
- Pairs: ``lat`` and ``lon`` together (both or neither); ``end`` not before ``start``,
  ``deadline`` not before ``opened_on``, a vetting's ``valid_until`` not before ``on``.
- Either-or: an enterprise needs a municipality or coordinates; an obligation needs
  ``amount_eur`` or ``tender``.
- PUT: a ``ref`` in the body is the path's.
- A curation decision: a reason when rejecting or overriding; a vetting: one when
  rejecting or resetting to pending.
- A ledger grant: one of connector and organisation.
- A job: only its kind's parameters.
- A delivery: a purchase's amount, a placement's block, hours and months, an unplanned
  one's reason (what depends on the stored state, its plan, term, vetting, capacity, is a
  409, which positive_data_acceptance accepts).
- A pitch: the pitching enterprise not among its partners.
- A plan's rows: a purchase's amount and a placement's count given, each enterprise once per
  kind.
- ``x-rule`` fields: a contact's phone number (its digit count) and web address (a host
  name) are replaced by valid ones.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import schemathesis
from schemathesis.generation.meta import TestPhase

from api.fields import CPV_PATTERN
from matcher.refdata import cpv_vocabulary, municipalities

ENTITY_PATHS = ("/enterprises", "/tenders", "/challenges", "/obligations")


@lru_cache(maxsize=1)
def _cpv_codes() -> list[str]:
    return sorted(cpv_vocabulary())


@lru_cache(maxsize=1)
def _municipality_codes() -> list[str]:
    return sorted(municipalities())


def _pick(choices: list[str], seed: str) -> str:
    # Deterministic: the same generated value maps to the same listed one (replayable).
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    return choices[int.from_bytes(digest[:4], "big") % len(choices)]


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return True


def _order(body: dict[str, Any], first: str, then: str) -> None:
    a, b = body.get(first), body.get(then)
    if _is_date(a) and _is_date(b) and b < a:
        body[first], body[then] = b, a


def _vocabulary(body: dict[str, Any]) -> None:
    for key in ("cpv", "buys"):
        items = body.get(key)
        if isinstance(items, list):
            body[key] = [_pick(_cpv_codes(), x) if isinstance(x, str)
                         and re.fullmatch(CPV_PATTERN, x) else x for x in items]
    muni = body.get("municipality")
    if isinstance(muni, str) and muni.strip():
        body["municipality"] = _pick(_municipality_codes(), muni)


def repair(path: str, method: str, body: dict[str, Any], path_ref: str | None) -> None:
    """Make a schema-valid entity body keep the rules stated in words (module docstring)."""
    _vocabulary(body)
    contact = body.get("contact")
    if isinstance(contact, dict):  # "x-rule": the digit count and the host, in words
        if isinstance(contact.get("phone"), str):
            contact["phone"] = "030-1234567"
        if isinstance(contact.get("website"), str):
            contact["website"] = "https://www.example.nl"
    lat, lon = body.get("lat"), body.get("lon")
    if (lat is None) != (lon is None) or ("lat" in body) != ("lon" in body):
        # One of the pair (a PATCH's null clears it): both or neither.
        body.pop("lat", None)
        body.pop("lon", None)
    _order(body, "start", "end")
    _order(body, "opened_on", "deadline")
    vetting = body.get("vetting")
    if isinstance(vetting, dict):
        _order(vetting, "on", "valid_until")
    either = {"/enterprises": ("municipality", "lat", _municipality_codes()[0]),
              "/obligations": ("amount_eur", "tender", 0.0)}
    for suffix, (key, other, value) in either.items():
        if not path.endswith(suffix) or body.get(key) is not None or \
                body.get(other) is not None:
            continue
        if method == "PATCH":
            body.pop(key, None)  # keep the stored value rather than clear it
        else:
            body[key] = value
    if method == "PUT" and path_ref is not None and body.get("ref") is not None:
        body["ref"] = unquote(path_ref)  # schemathesis keeps path parameters encoded


def _vocabulary_query(case: schemathesis.Case) -> None:
    # Query parameters with "x-vocabulary" (the search's municipality filter).
    query = case.query
    if not isinstance(query, dict):
        return
    for param in case.operation.query:
        if param.definition.get("schema", {}).get("x-vocabulary") != "municipality":
            continue
        value = query.get(param.name)
        if isinstance(value, str) and value.strip():
            query[param.name] = _pick(_municipality_codes(), value)


def _decision(body: dict[str, Any]) -> None:
    # "Required when rejecting" and "needs a reason" (an override; a vetting that rejects
    # or resets to pending): the reason in words.
    reason = body.get("reason")
    needs = body.get("decision") == "reject" or body.get("override") is True or \
        body.get("status") in ("rejected", "pending")
    if needs and (not isinstance(reason, str) or not reason.replace("\x00", "").strip()):
        body["reason"] = "Reden"


def _plan(body: dict[str, Any]) -> None:
    # A purchase's amount more than 0, a placement's count at least 1, each enterprise
    # once per kind (in words in the row's description).
    rows, seen = body.get("rows"), set()
    if not isinstance(rows, list):
        return
    keep = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        key = (row.get("enterprise"), row.get("kind", "purchase"))
        if key in seen:
            continue
        seen.add(key)
        if key[1] == "purchase" and not row.get("amount_eur"):
            row["amount_eur"] = 1000.0
        if key[1] == "placement" and not row.get("placements"):
            row["placements"] = 1
        keep.append(row)
    body["rows"] = keep


def _grant(body: dict[str, Any]) -> None:
    # Exactly one of connector and organisation (the grant's docstring).
    def given(key: str) -> bool:
        value = body.get(key)
        return isinstance(value, str) and bool(value.strip())

    if given("connector") and given("organisation"):
        body.pop("organisation")
    elif not given("connector") and not given("organisation"):
        body["connector"] = "verbinder@example.nl"


def _delivery(body: dict[str, Any]) -> None:
    # The rules in DeliveryIn's descriptions: a purchase's amount more than 0; a placement's
    # block given, its hours and months more than 0; an unplanned delivery's reason.
    if body.get("kind") == "placement":
        if not isinstance(body.get("block"), str) or not body["block"].strip():
            body["block"] = "participatiewet_lt2"
        for key in ("hours_per_week", "months"):
            if not body.get(key):
                body[key] = 1.0
    elif not body.get("amount_eur"):
        body["amount_eur"] = 100.0
    reason = body.get("unplanned_reason")
    if body.get("unplanned") is True and (
            not isinstance(reason, str) or not reason.replace("\x00", "").strip()):
        body["unplanned_reason"] = "Reden"


def _pitch(body: dict[str, Any]) -> None:
    # The pitching enterprise is not one of its partners (PitchIn's description).
    lead, partners = body.get("enterprise_ref"), body.get("partners")
    if isinstance(lead, str) and isinstance(partners, list):
        body["partners"] = [p for p in partners
                            if not isinstance(p, str) or p.replace("\x00", "").strip()
                            != lead.replace("\x00", "").strip()]


JOB_PARAMS = {"allocate": {"top_k", "save"}, "learn": {"min_decisions"},
              "rank_tenders": {"top_k"}}


def _job(body: dict[str, Any]) -> None:
    # Each kind its own parameters (JobParams' descriptions).
    params = body.get("params")
    if isinstance(params, dict):
        allowed = JOB_PARAMS.get(body.get("kind", ""), set())
        body["params"] = {k: v for k, v in params.items() if k in allowed}


_SCENARIO_REFS = itertools.count(1)


def _fresh_ref(case: schemathesis.Case) -> None:
    # The stateful phase: a create's ref is new each time. The scenarios share the module's
    # database, and hypothesis generates the same choices again (a prefix of an earlier
    # scenario): the same ref would then be a 409 (exists) where it was a 201, the links
    # from the 201 would have nothing to follow, and hypothesis calls the strategy flaky.
    # The generated ref is kept (its characters are still fuzzed), a counter appended.
    if case.meta is None or case.meta.phase.name != TestPhase.STATEFUL or \
            case.method.upper() != "POST" or not isinstance(case.body, dict):
        return
    ref = case.body.get("ref")
    if isinstance(ref, str) and ref.strip():
        case.body["ref"] = f"{ref[:80]}~{next(_SCENARIO_REFS)}"


@schemathesis.hook
def before_call(ctx: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    if not case.meta or not case.meta.generation.mode.is_positive:
        return
    _vocabulary_query(case)
    path = case.operation.path
    if (path.endswith("/curation/decisions") or path.endswith("/vetting/{enterprise_ref}")) \
            and isinstance(case.body, dict):
        _decision(case.body)
    if path.endswith("/plan") and case.method.upper() == "PUT" and isinstance(case.body, dict):
        _plan(case.body)
    if path.endswith("/ledgers/access") and isinstance(case.body, dict):
        _grant(case.body)
    if path.endswith("/jobs") and isinstance(case.body, dict):
        _job(case.body)
    if path.endswith("/deliveries") and isinstance(case.body, dict):
        _delivery(case.body)
    if path.endswith("/pitches") and isinstance(case.body, dict):
        _pitch(case.body)
    base = path.removesuffix("/{ref}")
    if not base.endswith(ENTITY_PATHS) or not isinstance(case.body, dict):
        return
    if base == path:
        _fresh_ref(case)
    path_ref = (case.path_parameters or {}).get("ref")
    repair(base, case.method.upper(), case.body, path_ref if isinstance(path_ref, str) else None)
