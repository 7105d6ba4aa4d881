"""The web forms that create and edit an enterprise or an obligation.

They hold no rules of their own: what was typed becomes one interchange record, checked by
the importer (``api.importers.interchange.check_record``: the checks of a CSV row) and
written by the import pipeline (``api.services.importing.import_parsed``: the references
into the database, the duplicate check on KvK number and name that the single-record API
create runs too, the owner refusal, an existing enterprise's vetting kept, one transaction).
So a form accepts and refuses exactly what an import does, and writes nothing on error.

An edit starts from the stored record as interchange (``api.serialize``), so the fields the
form does not show (certifications, coordinates, ``extra``) stay as they are.

Errors come back per form field as ``(Dutch message, params)`` (``FormErrors``, as in
``api.services.tender_form``); the templates translate them. The importer says what went
wrong as a code with its values (``Issue.code``, ``Issue.params``); ``MESSAGES`` holds the
Dutch sentence for each code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from api.errors import Invalid
from api.importers.interchange import Issue, check_record
from api.serialize import enterprise_doc, obligation_doc
from api.services.import_report import DuplicatePair
from api.services.importing import import_parsed, ref_in_use
from api.services.tender_form import NumberError, fmt_number_input, parse_number, split_codes
from api.tables import EnterpriseRow, ObligationRow
from matcher.refdata import municipalities

FormErrors = dict[str, tuple[str, dict[str, Any]]]
GENERAL = "_form"  # errors that belong to no one field

# The form's inputs, named as the interchange CSV columns (the importer reports by them).
FIELDS: dict[str, tuple[str, ...]] = {
    "enterprises": ("name", "kvk", "description", "cpv", "municipality", "postcode",
                    "service_radius_km", "target_groups", "themes",
                    "capacity_placements_per_year", "capacity_purchasing_eur_per_year",
                    "target_group_share", "trade_income_share", "contact_name",
                    "contact_email", "contact_phone", "contact_website"),
    "obligations": ("firm", "tender", "amount_eur", "due", "buys", "municipality", "policy",
                    "status"),
}
NUMBERS = {"service_radius_km", "capacity_placements_per_year",
           "capacity_purchasing_eur_per_year", "target_group_share", "trade_income_share",
           "amount_eur"}
CODE_LISTS = {"cpv", "buys"}  # CPV codes: separated by commas, spaces or |
WORD_LISTS = {"themes"}  # separated by commas
CHOICE_LISTS = {"target_groups"}  # checkboxes
OBLIGATION_STATUSES = ("open", "met", "closed")
ROWS: dict[str, Any] = {"enterprises": EnterpriseRow, "obligations": ObligationRow}
REF_PREFIX = {"enterprises": "E", "obligations": "O"}

# The importer's issue codes (api.importers.interchange) as Dutch sentences beside a field.
MESSAGES: dict[str, str] = {
    "required": "Vul dit veld in.",
    "text": "Vul hier tekst in.",
    "too_long": "Te lang: hoogstens {max} tekens (nu {length}).",
    "number": "Vul een getal in, bijvoorbeeld 1250,50.",
    "whole_number": "Vul een heel getal in.",
    "minimum": "Mag niet kleiner zijn dan {min}.",
    "above": "Moet groter zijn dan {min}.",
    "maximum": "Mag niet groter zijn dan {max}.",
    "share": "Vul een aandeel tussen 0 en 1 in: 35% is 0,35.",
    "date": "Vul een datum in als jjjj-mm-dd.",
    "list": "Vul een lijst in, gescheiden door komma's.",
    "cpv_required": "Vul ten minste één CPV-code in.",
    "cpv": "Onbekende CPV-code: {value}. Gebruik de acht cijfers uit de CPV-lijst.",
    "target_group": "Onbekende doelgroep: {value}.",
    "municipality_required": "Vul de gemeente in (naam of CBS-code zoals GM0344).",
    "municipality": "Onbekende gemeente: {value}.",
    "municipality_hints": "Onbekende gemeente: {value}. Bedoelde u: {hints}?",
    "kvk": "Een KvK-nummer heeft precies 8 cijfers, bijvoorbeeld 30123456.",
    "postcode": "Een postcode ziet eruit als 3511 AB.",
    "email": "Geen e-mailadres: {value}. Schrijf het als naam@domein.nl.",
    "phone": "Geen telefoonnummer: {value}. Gebruik 10 cijfers die met 0 beginnen "
             "(030-1234567, 06-12345678) of een internationaal nummer met + (+31 30 123 4567).",
    "website": "Geen webadres: {value}. Schrijf het als https://www.voorbeeld.nl.",
    "policy": "Onbekende waarderingstabel: {value}.",
    "choice": "Kies een van: {choices}.",
    "amount_required": "Vul het bedrag in, of kies de aanbesteding waarvan de clausule het "
                       "bepaalt.",
    "tender_missing": "Aanbesteding {tender} bestaat niet.",
    "tender_sets_no_amount": "Vul het bedrag in: de clausule van aanbesteding {tender} "
                             "bepaalt het niet.",
    "end_before_start": "De einddatum ligt vóór de begindatum.",
    "owner": "Deze verplichting hoort bij een andere opdrachtnemer; die wijzigt u hier niet.",
    "changed": "De gegevens zijn intussen gewijzigd; probeer het opnieuw.",
    # An issue without a code (should not happen for the form's fields): the importer's
    # own English words, so nothing is hidden.
    "other": "Deze waarde wordt niet aanvaard: {reason}",
}


@dataclass
class Outcome:
    """What a save did: ``ref`` when written; else the errors per field, or the likely
    duplicates (nothing written; saving again with ``keep_both`` creates it anyway)."""

    ref: str | None = None
    created: bool = False
    errors: FormErrors = field(default_factory=dict)
    duplicates: list[DuplicatePair] = field(default_factory=list)
    # The record changed since the form was loaded (``VERSION``): nothing written.
    conflict: bool = False

    @property
    def ok(self) -> bool:
        return self.ref is not None


# ------------------------------------------------------------------ the form's values


# A hidden input of the edit forms: the stored record's ``updated_at`` when the form was
# loaded. Two people (or two app processes) saving the same record from forms loaded
# before either save: the second is refused, not silently written over the first.
VERSION = "version"


def version_of(row: Any) -> str:
    stamp = getattr(row, "updated_at", None)
    return stamp.isoformat() if stamp is not None else ""


def form_of(kind: str, row: Any | None) -> dict[str, Any]:
    """The form's inputs for a stored row (None: a new record's defaults), as typed."""
    form = _form_of(kind, row)
    if row is not None:
        form[VERSION] = version_of(row)
    return form


def _form_of(kind: str, row: Any | None) -> dict[str, Any]:
    if kind == "enterprises":
        if row is None:
            return {"target_groups": [], "service_radius_km": "25"}
        muni = municipalities().get(row.municipality_code or "")
        return {
            "name": row.name, "kvk": row.kvk or "", "description": row.description or "",
            "cpv": ", ".join(row.cpv or []), "municipality": muni.name if muni else "",
            "postcode": row.postcode or "",
            "service_radius_km": fmt_number_input(row.service_radius_km),
            "target_groups": list(row.target_groups or []),
            "themes": ", ".join(row.themes or []),
            "capacity_placements_per_year": str(int(row.placements_per_year or 0)),
            "capacity_purchasing_eur_per_year": fmt_number_input(row.purchasing_eur_per_year),
            "target_group_share": fmt_number_input(row.target_group_share),
            "trade_income_share": fmt_number_input(row.trade_income_share),
            "contact_name": row.contact_name or "", "contact_email": row.contact_email or "",
            "contact_phone": row.contact_phone or "", "contact_website": row.website or "",
        }
    if row is None:
        return {"status": "open"}
    muni = municipalities().get(row.municipality_code or "")
    return {
        "firm": row.firm, "tender": row.tender_ref or "",
        "amount_eur": fmt_number_input(row.amount_eur),
        "due": row.due.isoformat() if row.due else "", "buys": ", ".join(row.buys or []),
        "municipality": muni.name if muni else "", "policy": row.policy or "",
        "status": row.status,
    }


def read_form(kind: str, data: Any) -> dict[str, Any]:
    """The posted inputs (a Starlette ``FormData`` or a plain mapping), trimmed."""
    out: dict[str, Any] = {}
    for name in FIELDS[kind]:
        if name in CHOICE_LISTS:
            values = data.getlist(name) if hasattr(data, "getlist") else data.get(name) or []
            out[name] = [str(v).strip() for v in values if str(v).strip()]
        else:
            out[name] = str(data.get(name) or "").strip()
    out[VERSION] = str(data.get(VERSION) or "").strip()
    return out


def _number(raw: str) -> Any:
    """A typed number the Dutch way ("75.000", "1.250,50") as a number; anything else as
    typed, so the importer's own check names what is wrong with it."""
    try:
        value = parse_number(raw)
    except NumberError:
        return raw
    return raw if value is None else value


def _entity(kind: str, form: Mapping[str, Any], row: Any | None) -> dict[str, Any]:
    """The interchange entity: the stored one (for an edit) with the form's fields."""
    if kind == "enterprises":
        doc = enterprise_doc(row) if row is not None else {}
        doc.pop("vetting", None)  # the vetting flow's, never a form's (nor an import's)
    else:
        doc = obligation_doc(row) if row is not None else {}
    stored_muni = doc.get("municipality")
    for name in (*FIELDS[kind], "capacity", "contact"):
        doc.pop(name, None)
    extra = dict(doc.get("extra") or {})
    for name in FIELDS[kind]:
        raw = form.get(name)
        if name in CHOICE_LISTS:
            value: Any = list(raw or [])
        elif name in CODE_LISTS:
            value = split_codes(raw)
        elif name in WORD_LISTS:
            value = [w.strip() for w in str(raw or "").split(",") if w.strip()]
        elif not raw:
            continue
        elif name in NUMBERS:
            value = _number(str(raw))
        else:
            value = str(raw)
        if value == []:
            continue
        if name.startswith(("capacity_", "contact_")):
            group, _, sub = name.partition("_")
            doc.setdefault(group, {})[sub] = value
        elif kind == "obligations" and name == "status":
            extra["status"] = value
        else:
            doc[name] = value
    if kind == "obligations" and row is not None:
        doc["firm"] = row.firm  # an import never moves an obligation to another firm
    if extra:
        doc["extra"] = extra
    else:
        doc.pop("extra", None)
    if doc.get("municipality") != stored_muni:
        # A new place: its municipality's centre replaces stored coordinates.
        doc.pop("lat", None)
        doc.pop("lon", None)
    return doc


# ------------------------------------------------------------------ errors


def _form_field(kind: str, issue: Issue) -> str:
    name = issue.field or ""
    if name in ("lat", "lon"):
        return "municipality"
    if kind == "obligations" and name == "extra":
        return "status"  # the one form field kept in ``extra``
    return name if name in FIELDS[kind] else GENERAL


def _number_text(value: Any) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return fmt_number_input(float(value))
    return value


def issue_message(issue: Issue) -> tuple[str, dict[str, Any]]:
    """The Dutch sentence (with its values) for one of the importer's issues."""
    code = issue.code
    params = {k: _number_text(v) for k, v in issue.params.items()}
    if code == "municipality" and params.get("hints"):
        code = "municipality_hints"
    if code not in MESSAGES or code == "other":
        return MESSAGES["other"], {"reason": issue.reason}
    return MESSAGES[code], params


def errors_of(kind: str, issues: list[Issue]) -> FormErrors:
    """Per field the first problem the importer found there."""
    errors: FormErrors = {}
    for issue in issues:
        errors.setdefault(_form_field(kind, issue), issue_message(issue))
    return errors


# ------------------------------------------------------------------ saving


def new_ref(session: Session, kind: str) -> str:
    """The next free ``E-0001`` / ``O-0001`` style reference (never one merged away)."""
    table = ROWS[kind]
    prefix = REF_PREFIX[kind]
    taken = set(session.exec(select(col(table.ref)).where(
        col(table.ref).like(f"{prefix}-%"))).all())
    numbers = [int(m.group(1)) for r in taken if (m := re.fullmatch(rf"{prefix}-(\d+)", r))]
    n = max(numbers, default=0) + 1
    while f"{prefix}-{n:04d}" in taken or ref_in_use(session, kind, f"{prefix}-{n:04d}"):
        n += 1
    return f"{prefix}-{n:04d}"


Authorize = Callable[[dict[str, Any]], None]


def save(session: Session, kind: str, form: Mapping[str, Any], row: Any | None = None, *,
         keep_both: bool = False, authorize: Authorize | None = None) -> Outcome:
    """Check and write one record typed into a form (``row``: the stored one being edited,
    None for a new one). ``authorize(values)`` sees the column values before anything is
    written and raises ``Forbidden`` to refuse them. Nothing is written on any error."""
    if kind not in FIELDS:
        raise Invalid(None, "Onbekende soort: {kind}", kind=kind)
    if row is not None and form.get(VERSION):
        # The stored row, locked until this save commits (PostgreSQL; SQLite has one
        # writer): a save through another process waits here, then sees this one's stamp.
        row = session.exec(select(type(row)).where(type(row).id == row.id)
                           .with_for_update()
                           .execution_options(populate_existing=True)).one()
        if version_of(row) != form[VERSION]:
            return Outcome(errors={GENERAL: (MESSAGES["changed"], {})}, conflict=True)
    doc = _entity(kind, form, row)
    doc["ref"] = row.ref if row is not None else new_ref(session, kind)
    parsed = check_record(kind, doc)
    if parsed.issues:
        return Outcome(errors=errors_of(kind, parsed.issues))
    values = dict(parsed.records[kind][0].values)
    if authorize is not None:
        authorize(values)
    report = import_parsed(session, parsed, "keep-both" if keep_both else "ask")
    if report.status == "duplicates":
        return Outcome(duplicates=list(report.duplicates))
    if report.status != "imported":
        errors: FormErrors = {}
        for issue in report.issues:
            if issue.code:
                errors.setdefault(_form_field(kind, issue), issue_message(issue))
            elif issue.field == "firm":
                errors.setdefault("firm", (MESSAGES["owner"], {}))
            else:
                errors.setdefault(GENERAL, issue_message(issue))
        return Outcome(errors=errors or {GENERAL: (MESSAGES["changed"], {})})
    return Outcome(ref=doc["ref"], created=row is None)
