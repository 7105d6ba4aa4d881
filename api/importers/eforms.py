"""Read EU eForms UBL notices (TED, eForms SDK 1.x) into tenders.

Supported: prior information notices (form type ``planning``, and PINs used as a
call for competition), contract notices (``competition``) and contract award
notices (``result``). Change notices, contract modifications, VEAT (direct award
pre-announcements), business registration and other kinds are refused with a
per-file error naming the kind. XML is parsed with defusedxml (no entities, no DTDs).

Choices:

* **ref** = the procedure identifier (BT-04 ``cbc:ContractFolderID``), so the PIN,
  contract notice and award notice of one procedure update one tender; a notice
  without one (some PINs) uses its notice identifier (BT-701). An older notice never
  overwrites a newer one already stored (by BT-05 issue date and time).
* **lots**: one tender per procedure. Its CPV codes are the procedure's (BT-262/263)
  plus every lot's, its social signals the union of the lots', its contract period
  the earliest lot start to the latest lot end; each lot's id, title, CPV and value are
  kept in ``extra["published"]["lots"]``. The social-return clause and the buyer are the
  procedure's, and a connector matches enterprises to the procedure.
* **value**: BT-27 of the procedure, else the sum of the lots' BT-27 when every lot has
  one, else (award notices) BT-161 total value. Only euro is accepted.
* **text**: Dutch preferred, else English, else the first language given.

Business terms read: BT-04, BT-05, BT-06, BT-21, BT-24, BT-262, BT-263, BT-27, BT-36,
BT-500, BT-5071, BT-5121, BT-5131, BT-5141, BT-536, BT-537, BT-701, BT-71, BT-736,
BT-775, BT-161, BT-300 (for the social-return text).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from api.importers.common import (
    ItemError,
    ItemOutcome,
    ParsedTenders,
    TenderData,
    add_duration,
    dedupe,
    normalise_timestamp,
    parse_date,
    resolve_place,
)
from api.importers.sroi_text import detect_sroi_in
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
SUPPORTED_ROOTS = {
    "PriorInformationNotice": "prior information notice",
    "ContractNotice": "contract notice",
    "ContractAwardNotice": "contract award notice",
}
SUPPORTED_FORM_TYPES = {"planning", "competition", "result"}
_UNSUPPORTED_FORM_TYPES = {
    "change": "change notice",
    "cont-modif": "contract modification notice",
    "dir-awa-pre": "voluntary ex-ante transparency notice",
    "bri": "business registration information notice",
    "consultation": "preliminary market consultation notice",
}
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
                errors.append(ItemError(loc, str(exc), f"{bt} {where}"))
    return out


def _codes(node: Element, path: str, list_name: str) -> list[str]:
    return [
        (el.text or "").strip()
        for el in _find_all(node, path)
        if el.get("listName") == list_name and (el.text or "").strip()
    ]


def _amount(el: Element | None, field: str, loc: str,
            errors: list[ItemError]) -> float | None:
    if el is None or not (el.text or "").strip():
        return None
    currency = (el.get("currencyID") or "").strip().upper()
    try:
        value = float((el.text or "").strip())
    except ValueError:
        errors.append(ItemError(loc, f"amount {el.text!r} is not a number", field))
        return None
    if not currency:
        errors.append(ItemError(loc, "value has no currency (currencyID)", field))
        return None
    if currency != "EUR":
        errors.append(ItemError(loc, f"value in {currency}, only EUR supported", field))
        return None
    return value


def notice_kind(root: Element) -> tuple[str, str | None, str | None, bool]:
    """(human kind, notice type BT-02, form type, supported)."""
    root_name = _local(root.tag)
    type_el = root.find("cbc:NoticeTypeCode", NS)
    notice_type = (type_el.text or "").strip() if type_el is not None else None
    form_type = type_el.get("listName") if type_el is not None else None
    subtype = None
    for el in root.iter(f"{{{NS['cbc']}}}SubTypeCode"):
        if el.get("listName") == "notice-subtype":
            subtype = (el.text or "").strip()
            break
    detail = ", ".join(x for x in (notice_type, f"subtype {subtype}" if subtype else None) if x)
    if root_name not in SUPPORTED_ROOTS:
        return f"{root_name}{f' ({detail})' if detail else ''}", notice_type, form_type, False
    has_changes = next(root.iter(f"{{{NS['efac']}}}Changes"), None) is not None
    if form_type in _UNSUPPORTED_FORM_TYPES or notice_type == "corr" or has_changes:
        label = _UNSUPPORTED_FORM_TYPES.get(form_type or "", "change notice")
        if has_changes and form_type not in _UNSUPPORTED_FORM_TYPES:
            label = "change notice"
        return f"{label} ({detail})", notice_type, form_type, False
    if form_type is not None and form_type not in SUPPORTED_FORM_TYPES:
        return f"{form_type} notice ({detail})", notice_type, form_type, False
    return f"{SUPPORTED_ROOTS[root_name]} ({detail})", notice_type, form_type, True


def parse_eforms(data: bytes, filename: str) -> ParsedTenders:
    result = ParsedTenders()
    if not data.strip():
        result.file_errors.append(ItemError(filename, "the file is empty"))
        return result
    try:
        root = fromstring(data)
    except DefusedXmlException as exc:
        result.file_errors.append(
            ItemError(filename, f"unsafe XML refused ({exc.__class__.__name__})"))
        return result
    except ParseError as exc:
        result.file_errors.append(ItemError(filename, f"malformed XML: {exc}"))
        return result
    kind, notice_type, form_type, supported = notice_kind(root)
    if not supported:
        result.file_errors.append(ItemError(filename, f"unsupported notice kind: {kind}; "
                                            "only prior information, contract and contract "
                                            "award notices are imported"))
        return result

    notice_id = _text_of(root, "cbc:ID")
    folder = _text_of(root, "cbc:ContractFolderID")
    ref = folder or notice_id
    loc = f"{filename}: notice {notice_id or '?'}"
    if ref is None:
        err = ItemError(loc, "no procedure identifier (BT-04) nor notice identifier (BT-701)",
                        "BT-04")
        result.rejected.append(ItemOutcome(loc, None, "rejected", [err]))
        return result
    try:
        tender, errors = _tender(root, ref, loc, kind, notice_id, notice_type, form_type)
    except Exception as exc:  # an odd notice is reported, never a traceback
        tender, errors = None, [ItemError(loc, f"could not read this notice "
                                          f"({exc.__class__.__name__}: {exc})")]
    if errors or tender is None:
        result.rejected.append(ItemOutcome(loc, ref, "rejected", errors))
    else:
        result.tenders.append(tender)
    return result


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


def _tender(root: Element, ref: str, loc: str, kind: str, notice_id: str | None,
            notice_type: str | None, form_type: str | None
            ) -> tuple[TenderData | None, list[ItemError]]:
    errors: list[ItemError] = []
    project = root.find("cac:ProcurementProject", NS)
    lots = _find_all(root, "cac:ProcurementProjectLot")
    lot_projects = [(lot, lot.find("cac:ProcurementProject", NS)) for lot in lots]

    title = _pick_language(_find_all(project, "cbc:Name")) if project is not None else None
    description = (_pick_language(_find_all(project, "cbc:Description"))
                   if project is not None else None)
    for _, lp in lot_projects:
        if lp is not None:
            title = title or _pick_language(_find_all(lp, "cbc:Name"))
            description = description or _pick_language(_find_all(lp, "cbc:Description"))
    if not title:
        errors.append(ItemError(loc, "the notice has no title", "BT-21"))

    buyer_id = _text_of(root, "cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID")
    buyer = _organisation_name(root, buyer_id) or _organisation_name(root, None)
    if not buyer:
        errors.append(ItemError(loc, "no buyer organisation name", "BT-500"))

    # CPV: procedure and every lot.
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
        })
    cpv = dedupe(cpv)
    if not cpv and not any(e.field and e.field.startswith("BT-26") for e in errors):
        errors.append(ItemError(loc, "no CPV code (BT-262) in the procedure or any lot",
                                "BT-262"))

    # Value: BT-27 procedure, else the sum of the lots', else BT-161 (award notices).
    value: float | None = None
    value_from = None
    if project is not None:
        value = _amount(project.find("cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount",
                                     NS), "BT-27 procedure", loc, errors)
        value_from = "BT-27" if value is not None else None
    lot_values: list[float | None] = []
    for (_lot, lp), info in zip(lot_projects, lot_info, strict=True):
        el = (lp.find("cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount", NS)
              if lp is not None else None)
        v = _amount(el, f"BT-27 lot {info['id']}", loc, errors)
        info["value_eur"] = v
        lot_values.append(v)
    if value is None and lot_values and all(v is not None for v in lot_values):
        value = sum(v for v in lot_values if v is not None)
        value_from = "BT-27 lots"
    if value is None:
        total = next(root.iter(f"{{{NS['efac']}}}NoticeResult"), None)
        if total is not None:
            value = _amount(total.find("cbc:TotalAmount", NS), "BT-161", loc, errors)
            value_from = "BT-161" if value is not None else None

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
        except ValueError as exc:
            errors.append(ItemError(loc, str(exc), "BT-536/BT-537"))
            continue
        dur = period.find("cbc:DurationMeasure", NS)
        if e is None and s is not None and dur is not None:
            try:
                e = add_duration(s, float((dur.text or "").strip()), dur.get("unitCode") or "DAY")
            except ValueError:
                errors.append(ItemError(loc, f"duration {dur.text!r} is not a number", "BT-36"))
        if s:
            starts.append(s)
        if e:
            ends.append(e)
    start = min(starts) if starts else None
    end = max(ends) if ends else None

    # Place of performance (BT-5071 NUTS, BT-5131 city, BT-5121 post code, BT-5141 country).
    nuts: list[str] = []
    cities: list[str] = []
    postcodes: list[str] = []
    countries: list[str] = []
    for node in [project, *(lp for _, lp in lot_projects)]:
        if node is None:
            continue
        for addr in _find_all(node, "cac:RealizedLocation/cac:Address"):
            for el in _find_all(addr, "cbc:CountrySubentityCode"):
                if (el.text or "").strip():
                    nuts.append((el.text or "").strip())
            for path, bucket in (("cbc:CityName", cities), ("cbc:PostalZone", postcodes),
                                 ("cac:Country/cbc:IdentificationCode", countries)):
                t = _text_of(addr, path)
                if t:
                    bucket.append(t)
    place = resolve_place(nuts, cities, postcodes, countries)

    # Social signals from the procedure and every lot.
    signals: list[str] = []
    reserved = False
    for node in [project, *(lp for _, lp in lot_projects)]:
        if node is None:
            continue
        path = "cac:ProcurementAdditionalType/cbc:ProcurementTypeCode"
        if "soc-obj" in _codes(node, path, "strategic-procurement"):
            signals.append("strategic:soc-obj")
        signals += [f"social-objective:{c}" for c in _codes(node, path, "social-objective")]
    for lot in lots:
        terms = lot.find("cac:TenderingTerms", NS)
        if terms is None:
            continue
        for code in _codes(terms, "cac:TendererQualificationRequest/cac:SpecificTendererRequirement"
                           "/cbc:TendererRequirementTypeCode", "reserved-procurement"):
            if code != "none":
                signals.append(f"reserved-participation:{code}")
                reserved = True
        if "yes" in _codes(terms, "cac:ContractExecutionRequirement/cbc:ExecutionRequirementCode",
                           "reserved-execution"):
            signals.append("reserved-execution")

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
        extra={
            "format": "eforms",
            "notice_id": notice_id,
            "notice_kind": kind,
            "notice_type": notice_type,
            "form_type": form_type,
            "procedure_id": _text_of(root, "cbc:ContractFolderID"),
            "version": _text_of(root, "cbc:VersionID"),
            "value_from": value_from,
            "place_from": place.how,
            "nuts": dedupe(nuts),
            "lots": lot_info,
        },
    ), []
