"""Store logic for published tenders (OCDS, eForms and any other published format of
``api.importers.registry``), called by ``api.services.importing`` which owns the
transaction: ``stage_tenders`` creates or updates rows by ref in the session and records
one outcome per notice; it neither commits nor rolls back.

Rules: a change, modification or completion notice (``TenderData.update_only``)
updates the stored tender of its procedure, keeping stored values for the fields it
leaves empty, and is refused when no such tender is stored. A tender's key is its
identifier *and* its buyer: a notice whose ref is stored
under an unrelated buyer (another name and identifier; converters reuse placeholder
procedure ids) becomes a separate tender with the ref ``<ref>~<buyer-slug>``, never an
overwrite. An older notice never overwrites a newer one stored (``stale``, reported with
both dates); a tender entered by hand or imported as interchange is never overwritten by a
notice; an officer importing for their organisation (``only_buyer``) never writes another
buyer's tender; a detected social-return clause is stored unconfirmed and never overwrites
an officer's. A procedure published as cancelled, unsuccessful, completed or withdrawn
(``common.CLOSED_STATUSES``) is stored with that status, which keeps it out of matching
(``api.services.matching``). Each notice's warnings (fields left empty, and why) are
passed on to its outcome.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from api.clock import utcnow
from api.importers import registry
from api.importers.common import ItemError, ItemOutcome, ParsedTenders, TenderData
from api.importers.notice_kinds import notice_kind_text
from api.messages import msg
from api.tables import TenderRow
from matcher.refdata import fold

# Column widths of TenderRow (VARCHAR on PostgreSQL): longer text is cut, not rejected.
_MAX = {"ref": 200, "buyer": 300, "title": 500}


def clip(text: str, limit: int) -> str:
    """One line, at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _row_values(t: TenderData) -> dict[str, Any]:
    return {
        "buyer": clip(t.buyer, _MAX["buyer"]),
        "title": clip(t.title, _MAX["title"]),
        "description": t.description or "",
        "cpv": list(t.cpv),
        "contract_value_eur": t.contract_value_eur,
        "start": t.start,
        "end": t.end,
        "municipality_code": t.municipality_code,
        "postcode": t.postcode,
        "lat": t.lat,
        "lon": t.lon,
        "nuts3": t.nuts3,
        "social_signals": list(t.social_signals),
        "reserved": t.reserved,
        "source": t.source,
        "status": t.status or "published",
    }


def _sroi_values(t: TenderData, existing: TenderRow | None) -> dict[str, Any]:
    """Detected clause -> unconfirmed; an officer's confirmation of the same sentence,
    or a clause an officer entered by hand, is never overwritten by a re-import."""
    d = t.sroi
    if existing is not None:
        officer_owned = existing.sroi_confirmed and (
            not existing.sroi_detected
            and (existing.sroi_percentage is not None or existing.sroi_amount_eur is not None)
        )
        confirmed_same = (
            existing.sroi_detected
            and existing.sroi_confirmed
            and d is not None
            and existing.sroi_detected_sentence == d.sentence
        )
        if officer_owned or confirmed_same:
            return {}
    if d is None:
        if existing is not None and existing.sroi_detected and not existing.sroi_confirmed:
            # The sentence is gone from the notice: drop the unconfirmed detection.
            return {
                "sroi_percentage": None, "sroi_amount_eur": None, "sroi_basis": "contract_value",
                "sroi_threshold_eur": None, "sroi_cap_eur": None, "sroi_detected": False,
                "sroi_detected_sentence": None, "sroi_confirmed": True,
            }
        return {}
    return {
        "sroi_percentage": d.percentage,
        "sroi_amount_eur": d.amount_eur,  # a fixed amount ("SROI ter waarde van € 50.000")
        "sroi_basis": d.basis,
        "sroi_threshold_eur": d.threshold_eur,
        "sroi_cap_eur": d.cap_eur,
        "sroi_detected": True,
        "sroi_detected_sentence": d.sentence,
        "sroi_confirmed": False,
    }


def _same_buyer(a: str | None, b: str | None) -> bool:
    # As exact as api.access compares an officer's organisation with a tender's buyer.
    return (a or "").strip() == (b or "").strip()


def buyer_slug(buyer: str) -> str:
    """"Comune di Milano" -> "comune-di-milano": the suffix of a shared ref."""
    return re.sub(r"\s+", "-", fold(buyer))[:60].strip("-") or "unknown-buyer"


def own_ref(ref: str, buyer: str) -> str:
    """The ref of a tender whose identifier another buyer's tender already holds."""
    return f"{ref}~{buyer_slug(buyer)}"


def _related(row: TenderRow, t: TenderData) -> bool:
    """The stored tender is this notice's (same buyer), not an unrelated buyer's that
    happens to share its identifier. Names are compared folded (publishers change case
    and accents between notices); an identifier both give decides when names differ."""
    if not (row.buyer or "").strip() or not t.buyer.strip():
        return True  # nothing to tell them apart by
    if fold(row.buyer) == fold(t.buyer):
        return True
    stored_id = _real_id(((row.extra or {}).get("published") or {}).get("buyer_id"))
    return bool(stored_id and stored_id == _real_id(t.buyer_id))


# Identifiers publishers fill in when they have none (eForms examples give "n/a").
_PLACEHOLDER_IDS = frozenset({"", "n a", "na", "none", "unknown", "not applicable", "nvt",
                              "n v t", "0", "00", "000", "x", "xx", "xxx", "null", "tbc"})


def _real_id(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return None if fold(text) in _PLACEHOLDER_IDS else text


def _published(t: TenderData) -> dict[str, Any]:
    """What ``extra["published"]`` keeps of a notice: provenance, the value as published
    (with the exchange rate used), the buyer's identifier, the version's date."""
    out = {**t.extra, "as_of": t.as_of}
    if t.buyer_id:
        out["buyer_id"] = t.buyer_id
    return out


def stage_tenders(session: Session, parsed: ParsedTenders,
                  only_buyer: str | None = None) -> list[ItemOutcome]:
    """Create or update the parsed tenders' rows in ``session`` (not committed): one
    outcome per tender, in the parser's order."""
    outcomes: list[tuple[TenderData, ItemOutcome]] = []
    for t in parsed.tenders:
        outcome = ItemOutcome(location=t.location, ref=t.ref, action="pending")
        if len(t.ref) > _MAX["ref"]:
            outcome.action = "rejected"
            outcome.errors.append(ItemError(t.location, msg(
                "het kenmerk is langer dan {max} tekens", max=_MAX["ref"]),
                "ref"))
        outcomes.append((t, outcome))

    wanted = {t.ref for t in parsed.tenders} | {own_ref(t.ref, t.buyer)
                                                  for t in parsed.tenders}
    rows = {
        r.ref: r
        for r in session.exec(
            select(TenderRow).where(TenderRow.ref.in_(sorted(wanted)))  # type: ignore[attr-defined]
        )
    } if parsed.tenders else {}
    published_sources = registry.names(published=True)
    for t, outcome in outcomes:
        outcome.warnings.extend(t.warnings)
        if outcome.action == "rejected":
            continue
        row = rows.get(t.ref)
        # A change notice names the procedure it changes: it is not split off.
        if row is not None and row.source in published_sources and not t.update_only \
                and not _related(row, t):
            # Another buyer's tender holds this identifier: this one is kept apart.
            ref = own_ref(t.ref, t.buyer)
            if len(ref) > _MAX["ref"]:
                outcome.action = "rejected"
                outcome.errors.append(ItemError(
                    t.location, msg("kenmerk '{ref}' is al in gebruik voor een aanbesteding "
                                    "van een andere aanbesteder ('{buyer}'), en met de "
                                    "aanbesteder erbij is het langer dan {max} tekens",
                                    ref=t.ref, buyer=row.buyer, max=_MAX["ref"]), "ref"))
                continue
            outcome.warnings.append(ItemError(
                t.location, msg("kenmerk '{ref}' is al in gebruik voor een aanbesteding van een "
                                "andere aanbesteder ('{buyer}'); opgeslagen als aparte "
                                "aanbesteding '{own}'", ref=t.ref, buyer=row.buyer, own=ref),
                "ref"))
            t.extra = {**t.extra, "shared_ref": t.ref}
            t.ref = outcome.ref = ref
            row = rows.get(ref)
        if only_buyer is not None and not (
                _same_buyer(t.buyer, only_buyer)
                and (row is None or _same_buyer(row.buyer, only_buyer))):
            outcome.action = "rejected"
            other = row.buyer if row is not None and not _same_buyer(
                row.buyer, only_buyer) else t.buyer
            outcome.errors.append(ItemError(
                t.location,
                msg("de aanbesteder '{buyer}' is niet uw organisatie '{own}'; een verbinder "
                    "kan deze aankondiging importeren", buyer=other, own=only_buyer),
                "buyer",
            ))
            continue
        if row is not None and row.source not in published_sources:
            outcome.action = "rejected"
            outcome.errors.append(ItemError(
                t.location,
                msg("er is al een aanbesteding met kenmerk '{ref}' uit bron '{source}'; een "
                    "gepubliceerde aankondiging overschrijft die niet",
                    ref=t.ref, source=row.source),
                "ref",
            ))
            continue
        if t.update_only and row is None:
            outcome.action = "rejected"
            kind = notice_kind_text(t.extra) or msg("wijzigingsaankondiging")
            outcome.errors.append(ItemError(
                t.location,
                msg("deze {kind} wijzigt aanbesteding '{ref}', die niet is opgeslagen; "
                    "importeer eerst de aankondiging die de aanbesteding publiceerde "
                    "(aankondiging van een opdracht, vooraankondiging of gunning), dan deze",
                    kind=kind, ref=t.ref),
                "ref",
            ))
            continue
        prev_as_of = (row.extra or {}).get("published", {}).get("as_of") if row else None
        if row is not None and prev_as_of and t.as_of and t.as_of < prev_as_of:
            outcome.action = "stale"
            outcome.warnings.append(ItemError(
                t.location, msg("ouder dan de opgeslagen versie (deze aankondiging {as_of}, "
                                "opgeslagen {stored}); niet toegepast",
                                as_of=t.as_of, stored=prev_as_of), "date"))
            continue
        values = _row_values(t)
        if t.update_only:
            # A change notice may repeat only what changed: empty fields keep the stored.
            values = {k: v for k, v in values.items() if v not in (None, "", [])}
            if t.status is None:  # it says nothing of the procedure's state: keep it
                values.pop("status", None)
        values.update(_sroi_values(t, row))
        if row is None:
            row = TenderRow(ref=t.ref, **values)
            row.extra = {"published": _published(t)}
            session.add(row)
            rows[t.ref] = row
            outcome.action = "created"
            continue
        changed = False
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
                changed = True
        published = _published(t)
        if (row.extra or {}).get("published") != published:
            row.extra = {**(row.extra or {}), "published": published}
            changed = True
        if changed:
            row.updated_at = utcnow()
            session.add(row)
        outcome.action = "updated" if changed else "unchanged"
    return [o for _, o in outcomes]
