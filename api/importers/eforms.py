"""Read EU eForms UBL notices (TED, eForms SDK 1.x) into tenders.

Which notices (BT-02 notice type, BT-03 form type, OPP-070 subtype):

* **create or update a tender**: prior information notices (form type ``planning``:
  PIN-only, PIN on a buyer profile, PIN to shorten time limits), calls for competition
  (``competition``: contract notices, PINs used as a call for competition, qualification
  systems, subcontracts) and award notices (``result``);
* **update a stored tender only** (``TenderData.update_only``): change notices (any
  notice carrying ``efac:Changes``, BT-758/BT-140), contract modification notices
  (``cont-modif``, subtypes 38-40 and E6) and completion notices (E5). They repeat the
  procedure identifier of the notice they change; when that tender is not stored the
  notice is refused with the reason instead of creating a tender nobody called for;
* **refused per file, saying what the notice is and what to do**: design contests
  (``cn-desg``/``can-desg``: a prize for a plan, not a contract), voluntary ex-ante
  transparency notices (a contract awarded without a call), market consultations and
  business registration notices.

XML is parsed by ``common.parse_xml``: no entities, no external references (defusedxml
reads any document that has a DTD).

Choices:

* **ref** = the procedure identifier (BT-04 ``cbc:ContractFolderID``), so the PIN,
  contract notice, award notice and modifications of one procedure update one tender; a
  notice without one (some PINs) uses its notice identifier (BT-701). An older notice
  never overwrites a newer one already stored (by BT-05 issue date and time).
* **lots and lot groups**: ``cac:ProcurementProjectLot`` holds lots (``schemeName="Lot"``,
  ``LOT-…``), parts of a PIN (``Part``, ``PAR-…``) and *lot groups* (``LotsGroup``,
  ``GLO-…``: lots that may be awarded together, BT-330/BT-1375). A group is not a lot: its
  value is the value of lots already counted, so it never enters the sum, the CPV codes,
  the period, the place or the social signals; it is kept in
  ``extra["published"]["lot_groups"]`` with its member lots. One tender per procedure: its
  CPV codes are the procedure's (BT-262/263) plus every lot's, its social signals the
  union of the lots', its contract period the earliest lot start to the latest lot end;
  each lot's id, title, CPV, value, reserved participation (BT-71), reserved execution
  (BT-736), strategic procurement (BT-06) and social objectives (BT-775) are kept per lot
  in ``extra["published"]["lots"]``. The social-return clause and the buyer are the
  procedure's, and a connector matches enterprises to the procedure.
* **value**, first found: BT-27 of the procedure; the sum of the lots' BT-27 when every
  lot has one (also when it exceeds the procedure's BT-27: a procedure is never worth
  less than its lots, and ``value_note`` says so); then, for award notices, BT-161 notice
  value, BT-118 framework maximum value, BT-1118 framework approximate value, the sum of
  the winning tenders' BT-720 values (lot tenders, else lot-group tenders). A zero award
  value (publishers' placeholder for frameworks) counts as absent. ``value_from`` names
  the business term used. Another currency is kept and converted with the ECB rate of
  the notice's month (``common.read_value``; rate and month in
  ``extra["published"]["conversions"]``); an unreadable amount is left empty with a
  warning.
* **text**: Dutch preferred, else English, else the first language given.

Business terms read: BT-02, BT-03, BT-04, BT-05, BT-06, BT-21, BT-24, BT-27, BT-36,
BT-71, BT-118, BT-1118, BT-137, BT-140, BT-142, BT-161, BT-262, BT-263, BT-300 (for the
social-return text), BT-330, BT-1375, BT-500, BT-5071, BT-5121, BT-5131, BT-5141, BT-536,
BT-537, BT-701, BT-720, BT-736, BT-758, BT-775, OPP-070.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.etree.ElementTree import Element

from api.importers.common import (
    DateError,
    ItemError,
    ItemOutcome,
    NoticeValues,
    ParsedTenders,
    PlaceSource,
    TenderData,
    add_duration,
    crash_text,
    dedupe,
    normalise_timestamp,
    parse_date,
    read_notice_root,
    read_value,
    resolve_places,
)
from api.importers.interchange import cpv_error_text
from api.importers.notice_kinds import eforms_kind_text, hint
from api.importers.sroi_text import detect_sroi_in
from api.messages import Text, msg
from matcher.refdata import CpvError, normalise_cpv

SOURCE = "eforms"

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
    "efext": "http://data.europa.eu/p27/eforms-ubl-extensions/1",
}
# The notice kinds, by stable codes (``api.importers.notice_kinds`` names them for people,
# in the reader's language): the root element's form type (BT-03) when read as it is.
SUPPORTED_ROOTS = {
    "PriorInformationNotice": "planning",
    "ContractNotice": "competition",
    "ContractAwardNotice": "result",
}
SUPPORTED_FORM_TYPES = {"planning", "competition", "result"}
# Form types / notice types that change a procedure already published: they update the
# stored tender and never create one.
UPDATE_FORM_TYPES = {"change": "change", "cont-modif": "cont-modif", "completion": "completion"}
UPDATE_NOTICE_TYPES = {"corr": "change", "can-modif": "cont-modif", "compl": "completion"}
# Refused, with what the notice is and what to do instead (notice_kinds.hint).
REFUSED_NOTICE_TYPES = {"cn-desg": "cn-desg", "can-desg": "can-desg", "veat": "veat",
                        "pmc": "pmc"}
_REFUSED_FORM_TYPES = {"dir-awa-pre": "veat", "consultation": "pmc", "bri": "bri"}
LANGUAGE_PREFERENCE = ("NLD", "ENG")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _pick_language(elements: list[Element]) -> str | None:
    """Dutch, else English, else the first language given."""
    texts = [(e.get("languageID", "").upper(), (e.text or "").strip()) for e in elements]
    texts = [(lang, t) for lang, t in texts if t]
    for want in LANGUAGE_PREFERENCE:
        for lang, t in texts:
            if lang == want:
                return t
    return texts[0][1] if texts else None


def _find_all(node: Element, path: str) -> list[Element]:
    return list(node.findall(path, NS))


def _text_of(node: Element | None, path: str) -> str | None:
    if node is None:
        return None
    el = node.find(path, NS)
    return (el.text or "").strip() or None if el is not None else None


def _cpvs(project: Element, where: str, errors: list[ItemError], loc: str) -> list[str]:
    out: list[str] = []
    code = "cbc:ItemClassificationCode"
    for bt, path in (("BT-262", f"cac:MainCommodityClassification/{code}"),
                     ("BT-263", f"cac:AdditionalCommodityClassification/{code}")):
        for el in _find_all(project, path):
            if (el.get("listName") or "cpv").lower() != "cpv":
                continue
            try:
                out.append(normalise_cpv((el.text or "").strip()))
            except CpvError as exc:
                errors.append(ItemError(loc, cpv_error_text(exc), f"{bt} {where}"))
    return out


def _codes(node: Element, path: str, list_name: str) -> list[str]:
    return [
        (el.text or "").strip()
        for el in _find_all(node, path)
        if el.get("listName") == list_name and (el.text or "").strip()
    ]


def _amount(el: Element | None, bt: str, loc: str, values: NoticeValues) -> float | None:
    """An amount in euros; another currency converted by ``common.read_value`` (kept in
    ``values.conversions`` with the rate and month used); an unreadable one is None with a
    warning, never a refusal of the notice."""
    if el is None or not (el.text or "").strip():
        return None
    eur, info = read_value((el.text or "").strip(), el.get("currencyID"), values.on, bt, loc,
                           values.warnings)
    if info is not None and info.get("currency") != "EUR":
        values.conversions.append({"field": bt, **info})
    return eur


@dataclass(frozen=True)
class NoticeKind:
    """What a notice is (BT-02 notice type, BT-03 form type, OPP-070 subtype) and what the
    importer does with it."""

    code: str  # stored in extra["notice_kind"]: "competition" (notice_kinds.EFORMS_KIND_NL)
    label: Text  # for people: "aankondiging van een opdracht (cn-standard, subtype 16)"
    notice_type: str | None
    form_type: str | None
    subtype: str | None
    supported: bool
    update_only: bool = False
    hint: Text | None = None  # for a refused kind: why, and what to do instead


def notice_kind(root: Element) -> NoticeKind:
    root_name = _local(root.tag)
    type_el = root.find("cbc:NoticeTypeCode", NS)
    notice_type = (type_el.text or "").strip() if type_el is not None else None
    form_type = type_el.get("listName") if type_el is not None else None
    subtype = None
    for el in root.iter(f"{{{NS['cbc']}}}SubTypeCode"):
        if el.get("listName") == "notice-subtype":
            subtype = (el.text or "").strip()
            break

    def kind(code: str, supported: bool, update_only: bool = False,
             why: str | None = None) -> NoticeKind:
        return NoticeKind(code, eforms_kind_text(code, notice_type, subtype), notice_type,
                          form_type, subtype, supported, update_only, hint(why or code))

    if root_name not in SUPPORTED_ROOTS:
        # Another document (a business registration notice, or not a notice at all): named
        # by its root element, as the file has it.
        return kind(root_name, False,
                    why="bri" if root_name.startswith("BusinessRegistration") else None)
    refused = (REFUSED_NOTICE_TYPES.get(notice_type or "")
               or _REFUSED_FORM_TYPES.get(form_type or ""))
    if refused is not None:
        return kind(refused, False)
    has_changes = next(root.iter(f"{{{NS['efac']}}}Changes"), None) is not None
    update = (UPDATE_NOTICE_TYPES.get(notice_type or "")
              or UPDATE_FORM_TYPES.get(form_type or "")
              or ("change" if has_changes else None))
    if update is not None:
        return kind(update, True, update_only=True)
    if form_type is not None and form_type not in SUPPORTED_FORM_TYPES:
        return NoticeKind(form_type, eforms_kind_text(
            msg("aankondiging van soort {form_type}", form_type=form_type), notice_type, subtype),
            notice_type, form_type, subtype, False)
    return kind(SUPPORTED_ROOTS[root_name], True)


def parse_eforms(data: bytes, filename: str) -> ParsedTenders:
    result = ParsedTenders()
    root = read_notice_root(data, filename, result)
    if root is None:
        return result
    if _local(root.tag) == "TED_EXPORT":
        # A TED XML notice (R2.0.9, before eForms): its own parser reads it.
        from api.importers.ted import parse_ted

        return parse_ted(data, filename)
    kind = notice_kind(root)
    if not kind.supported:
        what = msg("{kind} ({why})", kind=kind.label, why=kind.hint) if kind.hint else kind.label
        result.file_errors.append(ItemError(
            filename, msg("niet ondersteunde soort aankondiging: {kind}; "
                          "vooraankondigingen, aankondigingen van opdrachten en van gegunde "
                          "opdrachten maken aanbestedingen, rectificaties en wijzigingen "
                          "werken ze bij", kind=what)))
        return result

    notice_id = _text_of(root, "cbc:ID")
    folder = _text_of(root, "cbc:ContractFolderID")
    ref = folder or notice_id
    loc = f"{filename}: notice {notice_id or '?'}"
    if ref is None:
        err = ItemError(loc, msg("geen procedurenummer (BT-04) en geen nummer van de "
                                 "aankondiging (BT-701)"), "BT-04")
        result.rejected.append(ItemOutcome(loc, None, "rejected", [err]))
        return result
    try:
        tender, errors = _tender(root, ref, loc, kind, notice_id)
    except Exception as exc:  # an odd notice is reported, never a traceback
        tender, errors = None, [ItemError(loc, msg("deze aankondiging kon niet worden "
                                                   "gelezen ({error})",
                                                   error=crash_text(exc)))]
    if errors or tender is None:
        result.rejected.append(ItemOutcome(loc, ref, "rejected", errors))
    else:
        result.tenders.append(tender)
    return result


def _status(root: Element, kind: NoticeKind) -> str | None:
    """The procedure's state when a notice closes it (common.CLOSED_STATUSES, never
    matched): a completion notice (E5) -> completed; an award notice whose every lot
    result (BT-142) is "closed, no winner" (``clos-nw``) -> unsuccessful."""
    if kind.form_type == "completion":
        return "completed"
    if kind.form_type == "result":
        codes = [(el.text or "").strip() for el in root.iter(f"{{{NS['cbc']}}}TenderResultCode")
                 if el.get("listName") == "winner-selection-status"]
        if codes and all(code == "clos-nw" for code in codes):
            return "unsuccessful"
    return None


def _buyer_address(root: Element, org_id: str | None) -> PlaceSource:
    """The buyer's postal address (BT-513 city, BT-512 post code, BT-507 NUTS, BT-514
    country, BT-510 street): the last fallback for the place of performance."""
    src = PlaceSource("buyer address (BT-513)")
    for company in root.iter(f"{{{NS['efac']}}}Company"):
        if org_id is not None and _text_of(company, "cac:PartyIdentification/cbc:ID") != org_id:
            continue
        addr = company.find("cac:PostalAddress", NS)
        if addr is None:
            continue
        for path, bucket in (("cbc:CountrySubentityCode", src.nuts), ("cbc:CityName", src.cities),
                             ("cbc:PostalZone", src.postcodes),
                             ("cac:Country/cbc:IdentificationCode", src.countries),
                             ("cbc:StreetName", src.texts)):
            t = _text_of(addr, path)
            if t:
                bucket.append(t)
        break
    return src


def _organisation_legal_id(root: Element, org_id: str | None) -> str | None:
    """The buyer's registration number (BT-501): tells one buyer from another sharing a
    procedure identifier, whatever language its name is given in."""
    for company in root.iter(f"{{{NS['efac']}}}Company"):
        if org_id is None or _text_of(company, "cac:PartyIdentification/cbc:ID") == org_id:
            return _text_of(company, "cac:PartyLegalEntity/cbc:CompanyID")
    return None


def _organisation_name(root: Element, org_id: str | None) -> str | None:
    orgs = [
        company
        for company in root.iter(f"{{{NS['efac']}}}Company")
    ]
    for company in orgs:
        cid = _text_of(company, "cac:PartyIdentification/cbc:ID")
        if org_id is None or cid == org_id:
            name = _pick_language(_find_all(company, "cac:PartyName/cbc:Name"))
            if name:
                return name
    return None


def _lot_scheme(lot: Element) -> str:
    """``Lot``, ``Part`` or ``LotsGroup``: by the identifier's schemeName, else by its
    prefix (``GLO-`` groups, ``PAR-`` parts), else a lot."""
    el = lot.find("cbc:ID", NS)
    scheme = (el.get("schemeName") or "") if el is not None else ""
    ident = ((el.text or "").strip().upper() if el is not None else "")
    if scheme.lower() in ("lotsgroup", "lots-group", "lotgroup") or ident.startswith("GLO-"):
        return "LotsGroup"
    if scheme.lower() == "part" or ident.startswith("PAR-"):
        return "Part"
    return "Lot"


def _lot_social(lot: Element, lp: Element | None) -> dict[str, list[str]]:
    """One lot's social terms: BT-71 reserved participation (``none`` dropped), BT-736
    reserved execution, BT-06 strategic procurement, BT-775 social objectives."""
    out: dict[str, list[str]] = {"reserved_participation": [], "reserved_execution": [],
                                 "strategic": [], "social_objectives": []}
    if lp is not None:
        path = "cac:ProcurementAdditionalType/cbc:ProcurementTypeCode"
        out["strategic"] = [c for c in _codes(lp, path, "strategic-procurement") if c != "none"]
        out["social_objectives"] = _codes(lp, path, "social-objective")
    terms = lot.find("cac:TenderingTerms", NS)
    if terms is not None:
        out["reserved_participation"] = [
            c for c in _codes(terms, "cac:TendererQualificationRequest/"
                              "cac:SpecificTendererRequirement/cbc:TendererRequirementTypeCode",
                              "reserved-procurement") if c != "none"]
        if "yes" in _codes(terms, "cac:ContractExecutionRequirement/"
                           "cbc:ExecutionRequirementCode", "reserved-execution"):
            out["reserved_execution"] = ["yes"]
    return {k: dedupe(v) for k, v in out.items()}


def _estimated(node: Element | None) -> Element | None:
    if node is None:
        return None
    return node.find("cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount", NS)


def _award_value(root: Element, loc: str, values: NoticeValues
                 ) -> tuple[float | None, str | None]:
    """An award notice's value: BT-161, BT-118, BT-1118, then the winning tenders' BT-720.
    Zero is a placeholder some publishers give for frameworks: absent."""
    result = next(root.iter(f"{{{NS['efac']}}}NoticeResult"), None)
    if result is None:
        return None, None
    for bt, path in (("BT-161", "cbc:TotalAmount"),
                     ("BT-118", "efbc:OverallMaximumFrameworkContractsAmount"),
                     ("BT-1118", "efbc:OverallApproximateFrameworkContractsAmount")):
        before = len(values.warnings)
        value = _amount(result.find(path, NS), bt, loc, values)
        if value or len(values.warnings) > before:  # a value, or why it cannot be used
            return value, bt
    # BT-720: tenders of lots whose result names a winner (BT-142 selec-w); a tender for
    # a lot group covers lots that may also have their own tenders, so groups count only
    # when no lot tender does.
    winners: set[str] = set()
    for lr in _find_all(result, "efac:LotResult"):
        code = _text_of(lr, "cbc:TenderResultCode")
        if code in (None, "selec-w"):
            winners.update((el.text or "").strip()
                           for el in _find_all(lr, "efac:LotTender/cbc:ID"))
    by_scheme: dict[str, float] = {}
    for lt in _find_all(result, "efac:LotTender"):
        tid = _text_of(lt, "cbc:ID")
        if winners and tid not in winners:
            continue
        lot_el = lt.find("efac:TenderLot/cbc:ID", NS)
        scheme = "LotsGroup" if lot_el is not None and (
            (lot_el.get("schemeName") or "") == "LotsGroup"
            or (lot_el.text or "").strip().upper().startswith("GLO-")) else "Lot"
        before = len(values.warnings)
        value = _amount(lt.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS),
                        f"BT-720 tender {tid or '?'}", loc, values)
        if len(values.warnings) > before:
            return None, None
        if value:
            by_scheme[scheme] = by_scheme.get(scheme, 0.0) + value
    for scheme in ("Lot", "LotsGroup"):
        if scheme in by_scheme:
            return round(by_scheme[scheme], 2), "BT-720"
    return None, None


def _tender(root: Element, ref: str, loc: str, kind: NoticeKind, notice_id: str | None
            ) -> tuple[TenderData | None, list[ItemError]]:
    errors: list[ItemError] = []
    try:  # the notice's date: a value in another currency converts at that month's rate
        on = parse_date(_text_of(root, "cbc:IssueDate"))
    except ValueError:
        on = None
    amounts = NoticeValues([], on)
    project = root.find("cac:ProcurementProject", NS)
    all_lots = _find_all(root, "cac:ProcurementProjectLot")
    lots = [lot for lot in all_lots if _lot_scheme(lot) != "LotsGroup"]
    groups = [lot for lot in all_lots if _lot_scheme(lot) == "LotsGroup"]
    lot_projects = [(lot, lot.find("cac:ProcurementProject", NS)) for lot in lots]

    title = _pick_language(_find_all(project, "cbc:Name")) if project is not None else None
    description = (_pick_language(_find_all(project, "cbc:Description"))
                   if project is not None else None)
    for _, lp in lot_projects:
        if lp is not None:
            title = title or _pick_language(_find_all(lp, "cbc:Name"))
            description = description or _pick_language(_find_all(lp, "cbc:Description"))
    if not title:
        errors.append(ItemError(loc, msg("de aankondiging heeft geen titel"), "BT-21"))

    buyer_id = _text_of(root, "cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID")
    buyer = _organisation_name(root, buyer_id) or _organisation_name(root, None)
    if not buyer:
        errors.append(ItemError(loc, msg("geen naam van de aanbestedende organisatie"),
                                "BT-500"))

    # CPV: procedure and every lot (not lot groups: their lots are counted already).
    cpv: list[str] = []
    if project is not None:
        cpv += _cpvs(project, "procedure", errors, loc)
    lot_info: list[dict[str, Any]] = []
    for lot, lp in lot_projects:
        lot_id = _text_of(lot, "cbc:ID") or "?"
        lot_cpv = _cpvs(lp, f"lot {lot_id}", errors, loc) if lp is not None else []
        cpv += lot_cpv
        lot_info.append({
            "id": lot_id,
            "title": _pick_language(_find_all(lp, "cbc:Name")) if lp is not None else None,
            "cpv": dedupe(lot_cpv),
            **_lot_social(lot, lp),
        })
    cpv = dedupe(cpv)
    if not cpv and not any(e.field and e.field.startswith("BT-26") for e in errors):
        errors.append(ItemError(loc, msg("geen CPV-code (BT-262) in de procedure of een "
                                         "perceel"), "BT-262"))

    # Lot groups (BT-330 / BT-1375): kept for the record, never summed.
    members: dict[str, list[str]] = {}
    for lg in _find_all(root, "cac:TenderingTerms/cac:LotDistribution/cac:LotsGroup"):
        gid = _text_of(lg, "cbc:LotsGroupID")
        if gid:
            refs = _find_all(lg, "cac:ProcurementProjectLotReference/cbc:ID")
            members[gid] = [(el.text or "").strip() for el in refs if (el.text or "").strip()]
    group_info: list[dict[str, Any]] = []
    for g in groups:
        gid = _text_of(g, "cbc:ID") or "?"
        gp = g.find("cac:ProcurementProject", NS)
        group_info.append({
            "id": gid,
            "title": _pick_language(_find_all(gp, "cbc:Name")) if gp is not None else None,
            "lots": members.get(gid, []),
            "value_eur": _amount(_estimated(gp), f"BT-27 lot group {gid}", loc, amounts),
        })

    # Value: see the module docstring for the order.
    value: float | None = None
    value_from = None
    value_note = None
    if project is not None:
        value = _amount(_estimated(project), "BT-27 procedure", loc, amounts)
        value_from = "BT-27" if value is not None else None
    lot_values: list[float | None] = []
    for (_lot, lp), info in zip(lot_projects, lot_info, strict=True):
        v = _amount(_estimated(lp), f"BT-27 lot {info['id']}", loc, amounts)
        info["value_eur"] = v
        lot_values.append(v)
    lots_sum = (round(sum(v for v in lot_values if v is not None), 2)
                if lot_values and all(v is not None for v in lot_values) else None)
    if lots_sum is not None and (value is None or lots_sum > value):
        if value is not None:
            value_note = (f"the procedure's estimated value (BT-27, {value:.2f}) is less than "
                          f"the sum of its lots' ({lots_sum:.2f}); the lots' sum is used")
        value, value_from = lots_sum, "BT-27 lots"
    if value is None and kind.form_type in ("result", "cont-modif", "completion", None):
        value, value_from = _award_value(root, loc, amounts)

    # Period: earliest lot start to latest lot end (BT-536/537, BT-36).
    starts: list[date] = []
    ends: list[date] = []
    for node in [project, *(lp for _, lp in lot_projects)]:
        if node is None:
            continue
        period = node.find("cac:PlannedPeriod", NS)
        if period is None:
            continue
        try:
            s = parse_date(_text_of(period, "cbc:StartDate"))
            e = parse_date(_text_of(period, "cbc:EndDate"))
        except DateError as exc:
            errors.append(ItemError(loc, exc.message, "BT-536/BT-537"))
            continue
        dur = period.find("cbc:DurationMeasure", NS)
        if e is None and s is not None and dur is not None:
            try:
                e = add_duration(s, float((dur.text or "").strip()), dur.get("unitCode") or "DAY")
            except ValueError:
                errors.append(ItemError(loc, msg("looptijd {value} is geen getal",
                                                 value=repr(dur.text)), "BT-36"))
        if s:
            starts.append(s)
        if e:
            ends.append(e)
    start = min(starts) if starts else None
    end = max(ends) if ends else None

    # Place of performance, ordered fallbacks (common.resolve_places): each realized
    # location of the procedure and its lots (BT-5071 NUTS, BT-5131 city, BT-5121 post
    # code, BT-5141 country, BT-5101 street, BT-728 description), then the buyer's address.
    sources: list[PlaceSource] = []
    nuts: list[str] = []
    for node, where in [(project, "procedure"),
                        *((lp, f"lot {info['id']}")
                          for (_, lp), info in zip(lot_projects, lot_info, strict=True))]:
        if node is None:
            continue
        for realized in _find_all(node, "cac:RealizedLocation"):
            src = PlaceSource(f"BT-5071/BT-5131/BT-728 {where}")
            for addr in _find_all(realized, "cac:Address"):
                src.nuts += [(el.text or "").strip()
                             for el in _find_all(addr, "cbc:CountrySubentityCode")
                             if (el.text or "").strip()]
                for path, bucket in (("cbc:CityName", src.cities),
                                     ("cbc:PostalZone", src.postcodes),
                                     ("cac:Country/cbc:IdentificationCode", src.countries),
                                     ("cbc:StreetName", src.texts)):
                    t = _text_of(addr, path)
                    if t:
                        bucket.append(t)
            place_text = _pick_language(_find_all(realized, "cbc:Description"))  # BT-728
            if place_text:
                src.texts.append(place_text)
            nuts += src.nuts
            sources.append(src)
    sources.append(_buyer_address(root, buyer_id))
    place = resolve_places([src for src in sources if src], loc, amounts.warnings)

    # Social signals: the procedure's and the union of the lots' (per lot in lot_info).
    signals: list[str] = []
    if project is not None:
        path = "cac:ProcurementAdditionalType/cbc:ProcurementTypeCode"
        if "soc-obj" in _codes(project, path, "strategic-procurement"):
            signals.append("strategic:soc-obj")
        signals += [f"social-objective:{c}" for c in _codes(project, path, "social-objective")]
    for info in lot_info:
        if "soc-obj" in info["strategic"]:
            signals.append("strategic:soc-obj")
        signals += [f"social-objective:{c}" for c in info["social_objectives"]]
        signals += [f"reserved-participation:{c}" for c in info["reserved_participation"]]
        if info["reserved_execution"]:
            signals.append("reserved-execution")
    reserved = any(info["reserved_participation"] for info in lot_info)

    # Social return in prose: Dutch texts first, then English, then the rest.
    texts: list[tuple[int, str]] = []
    for el in root.iter():
        lang = (el.get("languageID") or "").upper()
        if lang and (el.text or "").strip():
            rank = LANGUAGE_PREFERENCE.index(lang) if lang in LANGUAGE_PREFERENCE else 2
            texts.append((rank, (el.text or "").strip()))
    sroi = detect_sroi_in(t for _, t in sorted(texts, key=lambda x: x[0]))

    if errors or not title or not buyer:
        return None, errors
    issued = _text_of(root, "cbc:IssueDate")
    issued_time = _text_of(root, "cbc:IssueTime")
    as_of = None
    if issued:
        date_part = issued[:10]
        time_part = issued_time or "00:00:00"
        as_of = normalise_timestamp(f"{date_part}T{time_part}") or normalise_timestamp(issued)
    changed = _text_of(root, "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/"
                       "efext:EformsExtension/efac:Changes/efbc:ChangedNoticeIdentifier")
    extra: dict[str, Any] = {
        "format": "eforms",
        "notice_id": notice_id,
        "notice_kind": kind.code,  # a code: notice_kinds.notice_kind_text names it
        "notice_type": kind.notice_type,
        "form_type": kind.form_type,
        "subtype": kind.subtype,
        "procedure_id": _text_of(root, "cbc:ContractFolderID"),
        "version": _text_of(root, "cbc:VersionID"),
        "value_from": value_from,
        "place_from": place.how,
        "place_source": place.source,
        "nuts": dedupe(nuts),
        "lots": lot_info,
    }
    if group_info:
        extra["lot_groups"] = group_info
    if value_note:
        extra["value_note"] = value_note
    if changed:
        extra["changes_notice"] = changed  # BT-758
    return TenderData(
        ref=ref,
        location=loc,
        source=SOURCE,
        buyer=buyer,
        title=title,
        description=description or "",
        cpv=cpv,
        contract_value_eur=value,
        start=start,
        end=end,
        municipality_code=place.municipality_code,
        postcode=place.postcode,
        lat=place.lat,
        lon=place.lon,
        nuts3=place.nuts3,
        social_signals=sorted(set(signals)),
        reserved=reserved,
        sroi=sroi,
        as_of=as_of,
        update_only=kind.update_only,
        status=_status(root, kind),
        warnings=amounts.warnings,
        buyer_id=_organisation_legal_id(root, buyer_id),
        extra={**extra, "conversions": amounts.conversions},
    ), []
