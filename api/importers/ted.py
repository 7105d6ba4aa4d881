"""Read TED XML notices, schema R2.0.9 (``TED_EXPORT``, the 2014 standard forms), into
tenders: how TED published and archived notices until eForms replaced them in 2023-24.

Which forms (``FORM_SECTION/Fnn_2014``; F21-F23 say which notice in ``NOTICE/@TYPE``):

* **create or update a tender**: prior information and periodic indicative notices (F01,
  F04; also used as a call for competition), contract notices (F02, F05 utilities, F24
  concessions), qualification systems (F07), award notices (F03, F06, F25 concessions),
  and the light-regime notices for social and other specific services (F21 public, F22
  utilities, F23 concessions) in every one of their ``NOTICE/@TYPE`` variants, and
  buyer profile notices (F08, as eForms' ``pin-buyer``);
* **refused per notice, saying what it is and what to do**: design contests (F12, F13),
  corrigenda (F14: they list changed fields as old and new text, not the notice),
  voluntary ex-ante transparency (F15), contract modifications
  (F20), defence and other non-2014 forms, and TED schemas older than R2.0.9.

XML is parsed by ``common.parse_xml``: no entities, no external references (defusedxml
reads any document that has a DTD).

Choices, as for eForms (``api.importers.eforms``) where the forms allow:

* **ref** = ``ted-`` + the TED document number (``067028-2021``, from ``TED_EXPORT/@DOC_ID``
  or the OJ S number ``2021/S 027-067028``). An award notice that names the notice that
  opened its procedure (``PROCEDURE/NOTICE_NUMBER_OJ``, else ``REF_NOTICE``) takes that
  notice's ref, so it updates the tender its contract notice created. The forms have no
  procedure identifier shared by all notices of a procedure (``REFERENCE_NUMBER`` is the
  buyer's own file number, not unique across buyers).
* **language**: a notice holds one form per language (``CATEGORY`` ``ORIGINAL`` or
  ``TRANSLATION``). Codes, values, places and the buyer come from the original; title and
  description from the Dutch form, else English, else the original. The social-return
  detector reads the Dutch form's paragraphs first.
* **value**, first found: ``OBJECT_CONTRACT/VAL_ESTIMATED_TOTAL``; the sum of the lots'
  ``VAL_OBJECT`` when every lot has one (also when it exceeds the total; ``value_note``
  says so); the award's ``VAL_TOTAL``; the lower bound of ``VAL_RANGE_TOTAL`` (a range's
  upper bound would overstate what social return is owed on); the sum of the awarded
  contracts' ``VAL_TOTAL``, then of their ``VAL_ESTIMATED_TOTAL``.
* **period**: the lots' ``DATE_START``/``DATE_END``, or ``DATE_START`` plus ``DURATION``.
* **place**, in order (``common.resolve_places``): each lot's ``n2016:NUTS`` code and the
  municipalities its ``MAIN_SITE`` names, then the buyer's address.
* **kept, with a warning**: an unknown CPV code beside a known one, an amount that cannot
  be read, an unreadable period or one ending before it starts: the field is left empty
  and the report names it. Another currency is converted at the ECB reference rate of
  the publication month (``common.read_value``; rate and month in ``conversions``).
* **status**: an award notice whose lots were all not awarded (``NO_AWARDED_CONTRACT``) is
  ``unsuccessful`` (``common.CLOSED_STATUSES``: kept, not matched), as for eForms.
* **buyer id**: ``NATIONALID`` of the contracting body (tells buyers sharing a ref apart).
* **social signals**: ``RESTRICTED_SHELTERED_WORKSHOP`` (reserved to sheltered
  workshops) -> ``reserved-participation:res-ws``; ``RESTRICTED_SHELTERED_PROGRAM``
  (performed in sheltered employment programmes) -> ``reserved-execution``;
  ``RESERVED_ORGANISATIONS_SERVICE_MISSION`` (F21-F23, article 77) ->
  ``reserved-participation:res-pub-ser``.
"""

from __future__ import annotations

import re
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
from api.importers.notice_kinds import hint, ted_kind_text
from api.importers.sroi_text import detect_sroi_in
from api.messages import Text, msg
from matcher.refdata import CpvError, normalise_cpv

SOURCE = "ted"
SCHEMA = "R2.0.9"

# The forms read; the refused ones (F12-F15, F20) are named with why in
# ``api.importers.notice_kinds`` (TED_FORM_NL, KIND_HINTS), in the reader's language.
IMPORTED_FORMS = {"F01", "F02", "F03", "F04", "F05", "F06", "F07", "F08", "F21", "F22", "F23",
                  "F24", "F25"}
AWARD_FORMS = {"F03", "F06", "F25"}
REFUSED_FORMS = {"F12", "F13", "F14", "F15", "F20"}
LANGUAGE_PREFERENCE = ("NL", "EN")
_OJS_RE = re.compile(r"(\d{4})\s*/\s*S\s*\d+\s*-\s*(\d+)")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _strip_namespaces(root: Element) -> None:
    """The forms' elements live in the R2.0.9 namespace and NUTS in ``n2016``; plain
    local names make the paths below readable and the same for both."""
    for el in root.iter():
        el.tag = _local(el.tag)


def _text(node: Element | None) -> str:
    """All text of an element and its ``P`` paragraphs, one line per paragraph."""
    if node is None:
        return ""
    parts = [" ".join("".join(p.itertext()).split()) for p in node.iter("P")]
    if not parts:
        parts = [" ".join("".join(node.itertext()).split())]
    return "\n".join(p for p in parts if p)


def ted_number(value: str | None) -> str | None:
    """``2021/S 027-067028`` or ``067028-2021`` -> ``067028-2021``."""
    if not value:
        return None
    value = value.strip()
    m = _OJS_RE.search(value)
    if m:
        return f"{int(m.group(2)):06d}-{m.group(1)}"
    m = re.fullmatch(r"(\d{1,6})-(\d{4})", value)
    return f"{int(m.group(1)):06d}-{m.group(2)}" if m else None


def _date8(value: str | None) -> str | None:
    """TED's ``YYYYMMDD`` (``DATE_PUB``, ``DS_DATE_DISPATCH``) -> ISO timestamp."""
    if value and re.fullmatch(r"\d{8}", value.strip()):
        v = value.strip()
        return normalise_timestamp(f"{v[:4]}-{v[4:6]}-{v[6:]}")
    return None


def _amount(el: Element | None, field_name: str, loc: str, values: NoticeValues) -> float | None:
    """An amount in euros; another currency converted by ``common.read_value`` (kept in
    ``values.conversions`` with the rate and month used); an unreadable one is None with a
    warning, never a refusal of the notice."""
    if el is None:
        return None
    raw = "".join(el.itertext()).strip().replace(" ", "")
    if not raw:
        return None
    currency = el.get("CURRENCY") or el.get("_CURRENCY")
    eur, info = read_value(raw, currency, values.on, field_name, loc, values.warnings)
    if info is not None and info.get("currency") != "EUR":
        values.conversions.append({"field": field_name, **info})
    return eur


def _low(range_el: Element | None) -> Element | None:
    """A range's ``LOW`` bound, carrying the range's ``CURRENCY`` (given on the range)."""
    low = range_el.find("LOW") if range_el is not None else None
    if range_el is not None and low is not None and not low.get("CURRENCY"):
        low.set("_CURRENCY", range_el.get("CURRENCY") or "")
    return low


def _refusal(filename: str, what: Text, why: Text) -> ParsedTenders:
    result = ParsedTenders()
    result.file_errors.append(ItemError(
        filename, msg("niet ondersteunde TED-aankondiging: {what} ({why}); van TED XML "
                      "{schema} worden vooraankondigingen, aankondigingen van opdrachten, "
                      "gunningen en aankondigingen voor sociale diensten (formulieren "
                      "F01-F08, F21-F25) ingelezen", what=what, why=why, schema=SCHEMA)))
    return result


def parse_ted(data: bytes, filename: str) -> ParsedTenders:
    result = ParsedTenders()
    root = read_notice_root(data, filename, result)
    if root is None:
        return result
    root_name = _local(root.tag)
    if root_name != "TED_EXPORT":
        if root.tag.startswith("{urn:oasis:names:specification:ubl:schema:xsd:"):
            return _refusal(filename, msg("{root} is een eForms-aankondiging", root=root_name),
                            msg("importeer haar met het eForms-formaat (sroi import --format "
                                "eforms), dat ook TED XML leest"))
        return _refusal(filename, msg("het hoofdelement is {root}, niet TED_EXPORT",
                                      root=root_name),
                        msg("dit is geen TED XML-aankondiging"))
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    version = root.get("VERSION") or ""
    if f"/{SCHEMA}/" not in namespace + "/" and not version.startswith(SCHEMA):
        schema = (msg("TED XML-schema {version}", version=version or namespace)
                  if version or namespace else msg("onbekend TED XML-schema"))
        return _refusal(filename, schema,
                        msg("alleen schema {schema} (aankondigingen van 2014 tot 2023) wordt "
                            "gelezen; download de aankondiging opnieuw van TED, dat {schema} "
                            "of eForms levert", schema=SCHEMA))
    _strip_namespaces(root)
    section = root.find("FORM_SECTION")
    # The forms, one per language; ``NOTICE_UUID`` and such siblings are not forms.
    forms = [f for f in section if isinstance(f.tag, str)
             and (f.get("CATEGORY") or f.tag.endswith("_2014"))] if section is not None else []
    if not forms:
        return _refusal(filename, msg("geen formulier in FORM_SECTION"),
                        msg("de aankondiging is leeg"))
    form_tag = forms[0].tag
    m = re.fullmatch(r"(F\d\d)_2014", form_tag)
    if m is None:
        return _refusal(filename, msg("formulier {form}", form=form_tag),
                        msg("geen van de standaardformulieren van 2014 (defensie- en andere "
                            "oudere formulieren worden niet gelezen)"))
    form = m.group(1)
    refused_hint = hint(form) if form in REFUSED_FORMS else None
    if refused_hint is not None:
        return _refusal(filename, ted_kind_text(form), refused_hint)
    if form not in IMPORTED_FORMS:
        return _refusal(filename, msg("formulier {form}", form=form),
                        msg("geen formulier dat deze import leest"))

    original = next((f for f in forms if f.get("CATEGORY") == "ORIGINAL"), forms[0])
    by_lang = {(f.get("LG") or "").upper(): f for f in forms}
    readable = next((by_lang[lg] for lg in LANGUAGE_PREFERENCE if lg in by_lang), original)
    doc = ted_number(root.get("DOC_ID")) or ted_number(
        root.findtext("CODED_DATA_SECTION/NOTICE_DATA/NO_DOC_OJS"))
    loc = f"{filename}: TED notice {doc or '?'}"
    if doc is None:
        result.rejected.append(ItemOutcome(loc, None, "rejected", [ItemError(
            loc, msg("geen TED-documentnummer (DOC_ID, NO_DOC_OJS)"), "DOC_ID")]))
        return result
    try:
        tender, errors = _tender(root, original, readable, forms, form, doc, loc)
    except Exception as exc:  # an odd notice is reported, never a traceback
        tender, errors = None, [ItemError(loc, msg("deze aankondiging kon niet worden "
                                                   "gelezen ({error})",
                                                   error=crash_text(exc)))]
    if errors or tender is None:
        result.rejected.append(ItemOutcome(loc, f"ted-{doc}", "rejected", errors))
    else:
        result.tenders.append(tender)
    return result


def _cpv(code: str | None, where: str, loc: str, errors: list[ItemError]) -> str | None:
    if not code or not code.strip():
        return None
    try:
        return normalise_cpv(code.strip())
    except CpvError as exc:
        errors.append(ItemError(loc, cpv_error_text(exc), where))
        return None


def _tender(root: Element, original: Element, readable: Element, forms: list[Element],
            form: str, doc: str, loc: str) -> tuple[TenderData | None, list[ItemError]]:
    errors: list[ItemError] = []
    warnings: list[ItemError] = []  # fields left empty, the notice kept
    obj = original.find("OBJECT_CONTRACT")
    obj_text = readable.find("OBJECT_CONTRACT")
    lots = original.findall("OBJECT_CONTRACT/OBJECT_DESCR")
    lots_text = readable.findall("OBJECT_CONTRACT/OBJECT_DESCR")
    notice_type_el = original.find("NOTICE")
    notice_type = notice_type_el.get("TYPE") if notice_type_el is not None else None
    award = form in AWARD_FORMS or (notice_type or "").startswith("AWARD")

    title = _text(obj_text.find("TITLE") if obj_text is not None else None) or _text(
        obj.find("TITLE") if obj is not None else None)
    description = _text(obj_text.find("SHORT_DESCR") if obj_text is not None else None)
    for lot in lots_text or lots:
        title = title or _text(lot.find("TITLE"))
        description = description or _text(lot.find("SHORT_DESCR"))
    title = " ".join(title.split())
    if not title:
        errors.append(ItemError(loc, msg("de aankondiging heeft geen titel"),
                                "OBJECT_CONTRACT/TITLE"))

    body = original.find("CONTRACTING_BODY/ADDRESS_CONTRACTING_BODY")
    buyer = " ".join((body.findtext("OFFICIALNAME") or "").split()) if body is not None else ""
    if not buyer:
        errors.append(ItemError(loc, msg("geen naam van de aanbestedende organisatie"),
                                "CONTRACTING_BODY/ADDRESS_CONTRACTING_BODY/OFFICIALNAME"))

    # CPV: the main code and every lot's additional codes; the coded data section's
    # ORIGINAL_CPV when the form gives none.
    cpv: list[str] = []
    main = obj.find("CPV_MAIN/CPV_CODE") if obj is not None else None
    if main is not None:
        code = _cpv(main.get("CODE"), "CPV_MAIN", loc, warnings)
        if code:
            cpv.append(code)
    lot_info: list[dict[str, Any]] = []
    for i, lot in enumerate(lots):
        lot_no = (lot.findtext("LOT_NO") or "").strip() or str(i + 1)
        lot_cpv = [c for el in lot.findall("CPV_ADDITIONAL/CPV_CODE")
                   if (c := _cpv(el.get("CODE"), f"CPV_ADDITIONAL lot {lot_no}", loc,
                                 warnings))]
        cpv += lot_cpv
        text_lot = lots_text[i] if i < len(lots_text) else lot
        lot_info.append({"id": lot_no, "title": _text(text_lot.find("TITLE")) or None,
                         "cpv": dedupe(lot_cpv)})
    if not cpv:
        for el in root.findall("CODED_DATA_SECTION/NOTICE_DATA/ORIGINAL_CPV"):
            code = _cpv(el.get("CODE"), "ORIGINAL_CPV", loc, warnings)
            if code:
                cpv.append(code)
    cpv = dedupe(cpv)
    if not cpv:
        # No subject to match on: the unknown codes are the reason, else there was none.
        errors.extend(w for w in warnings if w.field and "CPV" in w.field)
        if not errors:
            errors.append(ItemError(loc, msg("geen CPV-code (CPV_MAIN) in de aankondiging"),
                                    "CPV_MAIN"))
    else:
        for w in warnings:
            if w.field and "CPV" in w.field:
                w.reason = msg("{error}; weggelaten, de andere codes behouden", error=w.reason)

    # Value: see the module docstring for the order. Amounts never refuse the notice: one
    # that cannot be read or converted is left empty with a warning (common.read_value).
    coded = root.find("CODED_DATA_SECTION")
    as_of = _date8(coded.findtext("REF_OJS/DATE_PUB") if coded is not None else None) or _date8(
        coded.findtext("CODIF_DATA/DS_DATE_DISPATCH") if coded is not None else None)
    values = NoticeValues(warnings, on=parse_date(as_of) if as_of else None)
    value: float | None = None
    value_from = value_note = None
    if obj is not None:
        value = _amount(obj.find("VAL_ESTIMATED_TOTAL"), "VAL_ESTIMATED_TOTAL", loc, values)
        value_from = "VAL_ESTIMATED_TOTAL" if value is not None else None
    lot_values = []
    for lot, info in zip(lots, lot_info, strict=True):
        v = _amount(lot.find("VAL_OBJECT"), f"VAL_OBJECT lot {info['id']}", loc, values)
        info["value_eur"] = v
        lot_values.append(v)
    lots_sum = (round(sum(v for v in lot_values if v is not None), 2)
                if lot_values and all(v is not None for v in lot_values) else None)
    if lots_sum is not None and (value is None or lots_sum > value):
        if value is not None:
            value_note = (f"the estimated total value ({value:.2f}) is less than the sum of "
                          f"the lots' ({lots_sum:.2f}); the lots' sum is used")
        value, value_from = lots_sum, "VAL_OBJECT lots"
    if value is None and obj is not None:
        value = _amount(obj.find("VAL_TOTAL"), "VAL_TOTAL", loc, values)
        value_from = "VAL_TOTAL" if value is not None else None
        if value is None:
            value = _amount(_low(obj.find("VAL_RANGE_TOTAL")), "VAL_RANGE_TOTAL", loc, values)
            value_from = "VAL_RANGE_TOTAL (low)" if value is not None else None
    awarded = original.findall("AWARD_CONTRACT/AWARDED_CONTRACT")
    if value is None and awarded:
        for tag in ("VAL_TOTAL", "VAL_ESTIMATED_TOTAL"):
            amounts = [_amount(a.find(f"VALUES/{tag}"), f"AWARDED_CONTRACT {tag}", loc, values)
                       for a in awarded]
            if any(v is not None for v in amounts):
                value = round(sum(v for v in amounts if v is not None), 2)
                value_from = f"AWARDED_CONTRACT {tag}"
                break

    # Period: the lots' start and end dates, or start plus duration; an unreadable date
    # or an end before the start is left out with a warning.
    starts: list[date] = []
    ends: list[date] = []
    durations: list[str] = []
    for lot, info in zip(lots, lot_info, strict=True):
        try:
            s = parse_date(lot.findtext("DATE_START"))
            e = parse_date(lot.findtext("DATE_END"))
        except DateError as exc:
            warnings.append(ItemError(loc, msg("{error}; periode leeg gelaten", error=exc.message),
                                      f"DATE_START/DATE_END lot {info['id']}"))
            continue
        dur = lot.find("DURATION")
        amount = (dur.text or "").strip() if dur is not None else ""
        if dur is not None and amount:
            unit = dur.get("TYPE") or "MONTH"
            durations.append(f"{amount} {unit}")
            if e is None and s is not None:
                try:
                    e = add_duration(s, float(amount), unit)
                except ValueError:
                    warnings.append(ItemError(loc, msg("looptijd {value} is geen getal; leeg "
                                                       "gelaten", value=repr(amount)),
                                              f"DURATION lot {info['id']}"))
        if s and e and e < s:
            warnings.append(ItemError(loc, msg("de periode eindigt ({end}) voor ze begint "
                                               "({start}); leeg gelaten", end=e, start=s),
                                      f"DATE_END lot {info['id']}"))
            continue
        if s:
            starts.append(s)
        if e:
            ends.append(e)

    # Place, in order (common.resolve_places): each lot's NUTS code and the places its
    # MAIN_SITE names, then the buyer's address.
    sources: list[PlaceSource] = []
    nuts: list[str] = []
    for lot, info in zip(lots, lot_info, strict=True):
        codes = [el.get("CODE", "") for el in lot.findall("NUTS") if el.get("CODE")]
        nuts += codes
        site = _text(lot.find("MAIN_SITE"))
        sources.append(PlaceSource(f"NUTS/MAIN_SITE lot {info['id']}", nuts=codes,
                                   texts=[site] if site else []))
    if body is not None:
        country = body.find("COUNTRY")
        sources.append(PlaceSource(
            "buyer address (ADDRESS_CONTRACTING_BODY)",
            nuts=[el.get("CODE", "") for el in body.findall("NUTS") if el.get("CODE")],
            cities=[t for t in [body.findtext("TOWN") or ""] if t.strip()],
            postcodes=[t for t in [body.findtext("POSTAL_CODE") or ""] if t.strip()],
            countries=[country.get("VALUE", "")] if country is not None
            and country.get("VALUE") else []))
    place = resolve_places([src for src in sources if src], loc, warnings)

    # Social signals (LEFTI: conditions for participation).
    signals: list[str] = []
    lefti = original.find("LEFTI")
    if lefti is not None:
        if lefti.find("RESTRICTED_SHELTERED_WORKSHOP") is not None:
            signals.append("reserved-participation:res-ws")
        if lefti.find("RESTRICTED_SHELTERED_PROGRAM") is not None:
            signals.append("reserved-execution")
        if lefti.find("RESERVED_ORGANISATIONS_SERVICE_MISSION") is not None:
            signals.append("reserved-participation:res-pub-ser")
    reserved = any(s.startswith("reserved-participation:") for s in signals)

    # Social return in prose: the Dutch form first, then English, then the rest.
    def rank(f: Element) -> int:
        lg = (f.get("LG") or "").upper()
        return LANGUAGE_PREFERENCE.index(lg) if lg in LANGUAGE_PREFERENCE else 2

    paragraphs = [t for f in sorted(forms, key=rank)
                  for p in f.iter("P") if (t := " ".join("".join(p.itertext()).split()))]
    sroi = detect_sroi_in(paragraphs)

    if errors or not title or not buyer:
        return None, errors
    # The tender this notice belongs to: an award notice names its contract notice.
    previous = ted_number(original.findtext("PROCEDURE/NOTICE_NUMBER_OJ")) or ted_number(
        root.findtext("CODED_DATA_SECTION/NOTICE_DATA/REF_NOTICE/NO_DOC_OJS"))
    ref = f"ted-{previous}" if award and previous else f"ted-{doc}"
    extra: dict[str, Any] = {
        "format": "ted",
        "schema": root.get("VERSION") or SCHEMA,
        "notice_id": doc,
        "notice_kind": form,  # a code: notice_kinds.notice_kind_text names it
        "form": form,
        "notice_type": notice_type,
        "previous_notice": previous,
        "reference_number": (obj.findtext("REFERENCE_NUMBER") or "").strip() or None
        if obj is not None else None,
        "language": (readable.get("LG") or "").upper() or None,
        "value_from": value_from,
        "place_from": place.how,
        "place_source": place.source,
        "nuts": dedupe(nuts),
        "lots": lot_info,
        "conversions": values.conversions,
    }
    if value_note:
        extra["value_note"] = value_note
    if durations and not ends:
        extra["durations"] = durations
    status = None
    if award:
        not_awarded = len(original.findall("AWARD_CONTRACT/NO_AWARDED_CONTRACT"))
        extra["awarded_contracts"] = len(awarded)
        extra["not_awarded"] = not_awarded
        # No lot awarded at all: unsuccessful or discontinued (common.CLOSED_STATUSES, kept
        # but not matched). An awarded tender stays open to matching, as for eForms: its
        # winner fulfils the social return with the enterprises matched to it.
        status = "unsuccessful" if not_awarded and not awarded else None
    national_id = (body.findtext("NATIONALID") or "").strip() if body is not None else ""
    return TenderData(
        ref=ref,
        location=loc,
        source=SOURCE,
        buyer=buyer,
        title=title,
        description=description,
        cpv=cpv,
        contract_value_eur=value,
        start=min(starts) if starts else None,
        end=max(ends) if ends else None,
        municipality_code=place.municipality_code,
        postcode=place.postcode,
        lat=place.lat,
        lon=place.lon,
        nuts3=place.nuts3,
        social_signals=sorted(set(signals)),
        reserved=reserved,
        sroi=sroi,
        as_of=as_of,
        status=status,
        buyer_id=national_id or None,
        warnings=warnings,
        extra=extra,
    ), []
