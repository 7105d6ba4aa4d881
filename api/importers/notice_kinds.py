"""What a published notice is, named for people: the kinds of eForms and TED notices the
importers read or refuse, and why a refused kind is refused (issue #16).

Stored data keeps a stable code, never a name: ``extra["published"]["notice_kind"]`` is
the eForms form type (BT-03) the notice was read as (``planning``, ``competition``,
``result``, ``change``, ``cont-modif``, ``completion``) or the TED form (``F02``); the
notice type (BT-02, TED ``NOTICE/@TYPE``) and eForms subtype (OPP-070) are stored beside
it. :func:`notice_kind_text` names a stored notice for the reader's language; tenders
stored before the codes (an English name such as ``"change notice (corr, subtype 38)"``)
are named the same way (the ``_LEGACY_EFORMS`` names, the TED ``form`` kept beside), so
they read in Dutch or English too. The names are Dutch (``*_NL`` tables: their English is
in the catalogs, checked by tests/web/test_translations.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.messages import Message, Text, msg

# eForms: the form type (BT-03) a notice is read as, and the kinds refused (by notice
# type BT-02, or ``bri`` for a business registration notice).
EFORMS_KIND_NL: Mapping[str, str] = {
    "planning": "vooraankondiging",
    "competition": "aankondiging van een opdracht",
    "result": "aankondiging van een gegunde opdracht",
    "change": "wijzigingsaankondiging",
    "cont-modif": "aankondiging van een wijziging van een opdracht",
    "completion": "aankondiging van voltooiing",
    "cn-desg": "prijsvraagaankondiging",
    "can-desg": "aankondiging van de uitslag van een prijsvraag",
    "veat": "vrijwillige aankondiging voor transparantie vooraf",
    "pmc": "aankondiging van een voorafgaande marktconsultatie",
    "bri": "aankondiging van registratiegegevens van een organisatie",
}

# TED XML R2.0.9: the 2014 standard forms, read (F01-F08, F21-F25) or refused.
TED_FORM_NL: Mapping[str, str] = {
    "F01": "vooraankondiging",
    "F02": "aankondiging van een opdracht",
    "F03": "aankondiging van een gegunde opdracht",
    "F04": "periodieke indicatieve aankondiging (nutssectoren)",
    "F05": "aankondiging van een opdracht (nutssectoren)",
    "F06": "aankondiging van een gegunde opdracht (nutssectoren)",
    "F07": "erkenningsregeling (nutssectoren)",
    "F08": "aankondiging op een kopersprofiel (een vooraankondiging op het profiel van de "
           "aanbesteder)",
    "F12": "prijsvraagaankondiging",
    "F13": "aankondiging van de uitslag van een prijsvraag",
    "F14": "rectificatie",
    "F15": "vrijwillige aankondiging voor transparantie vooraf",
    "F20": "aankondiging van een wijziging van een opdracht",
    "F21": "sociale en andere specifieke diensten",
    "F22": "sociale en andere specifieke diensten (nutssectoren)",
    "F23": "sociale en andere specifieke diensten (concessies)",
    "F24": "aankondiging van een concessieopdracht",
    "F25": "aankondiging van een gegunde concessieopdracht",
}

# Why a kind is refused, and what to do instead (by the kind's code).
REFUSAL_HINT_NL: Mapping[str, str] = {
    "design": "een prijsvraag kent een prijs toe voor een plan of ontwerp, geen opdracht; "
              "importeer de aankondiging van de dienstenopdracht die erop volgt, als die er is",
    "veat": "zij meldt een opdracht die zonder oproep tot mededinging is gegund, dus er is "
            "geen aanbesteding om ondernemingen aan te koppelen; voer de aanbesteding met de "
            "hand in als er social return op rust",
    "pmc": "er is nog geen aanbesteding; importeer de aankondiging van de opdracht zodra die "
           "is gepubliceerd",
    "bri": "zij registreert een organisatie en bevat geen aanbesteding",
    "corrigendum": "zij noemt gewijzigde velden van een eerdere aankondiging als oude en "
                   "nieuwe tekst; importeer de verbeterde aankondiging opnieuw als TED die "
                   "opnieuw publiceerde, of verbeter de aanbesteding op haar pagina",
    "modification": "zij wijzigt een gegunde opdracht; verbeter de waarde of looptijd van de "
                    "aanbesteding op haar pagina",
}
# The refused kinds' hints (eForms kinds and TED forms).
KIND_HINTS: Mapping[str, str] = {
    "cn-desg": "design", "can-desg": "design", "veat": "veat", "pmc": "pmc", "bri": "bri",
    "F12": "design", "F13": "design", "F14": "corrigendum", "F15": "veat",
    "F20": "modification",
}

# The English names eForms notice kinds were stored under before the codes (the names
# are followed by " (notice type, subtype N)").
_LEGACY_EFORMS: Mapping[str, str] = {
    "prior information notice": "planning", "contract notice": "competition",
    "contract award notice": "result", "change notice": "change",
    "contract modification notice": "cont-modif", "completion notice": "completion",
}


def _name(table: Mapping[str, str], code: str) -> Text:
    label = table.get(code)
    return Message(label) if label is not None else code


def hint(code: str) -> Message | None:
    """Why a refused kind is refused and what to do; None for a kind that is read."""
    key = KIND_HINTS.get(code)
    return Message(REFUSAL_HINT_NL[key]) if key is not None else None


def eforms_kind_text(code: Text, notice_type: str | None = None,
                     subtype: str | None = None) -> Text:
    """An eForms kind (its code, or a name already made) with its notice type and subtype:
    "aankondiging van een opdracht (cn-standard, subtype 16)"."""
    kind = code if isinstance(code, Message) else _name(EFORMS_KIND_NL, code)
    if notice_type and subtype:
        return msg("{kind} ({notice_type}, subtype {subtype})", kind=kind,
                   notice_type=notice_type, subtype=subtype)
    if notice_type:
        return msg("{kind} ({notice_type})", kind=kind, notice_type=notice_type)
    if subtype:
        return msg("{kind} (subtype {subtype})", kind=kind, subtype=subtype)
    return kind


def ted_kind_text(form: str, notice_type: str | None = None) -> Text:
    """A TED form with the notice type F21-F23 give: "sociale en andere specifieke diensten,
    AWARD_CONTRACT (F21)"."""
    kind = _name(TED_FORM_NL, form)
    if notice_type:
        return msg("{kind}, {notice_type} ({form})", kind=kind, notice_type=notice_type,
                   form=form)
    return msg("{kind} ({form})", kind=kind, form=form)


def _legacy_eforms_code(label: str) -> str | None:
    for name in sorted(_LEGACY_EFORMS, key=len, reverse=True):
        if label == name or label.startswith(name + " ("):
            return _LEGACY_EFORMS[name]
    return None


def notice_kind_text(published: Mapping[str, Any]) -> Text | None:
    """The kind of a stored notice (a tender's ``extra["published"]``, or an importer's
    ``TenderData.extra``) for the reader; None when it says none. A tender stored before
    the codes is named from its English name or its TED form; a name not recognised is
    shown as stored."""
    stored = str(published.get("notice_kind") or "").strip()
    notice_type = published.get("notice_type") or None
    if published.get("format") == "ted":
        form = stored if stored in TED_FORM_NL else str(published.get("form") or "")
        if form in TED_FORM_NL:
            return ted_kind_text(form, notice_type)
        return stored or None
    code = stored if stored in EFORMS_KIND_NL else _legacy_eforms_code(stored)
    if code is None:
        return stored or None
    return eforms_kind_text(code, notice_type, published.get("subtype") or None)
