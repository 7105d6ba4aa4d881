"""Dutch labels of the domain's codes: the one place that names stored codes for people.

Stored data and the engine use stable codes (``participatiewet``, ``vetted``, ``placement``);
pages, CSV exports, reasons and the CLI show them by these Dutch words, which ``t()``
(``api/i18n.py``) translates to English through ``api/translations/``. A code without a
label is shown as itself, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping

from api.messages import Message

# Target groups (doelgroepen), by the codes of matcher.model.TARGET_GROUPS.
TARGET_GROUP_NL: Mapping[str, str] = {
    "participatiewet": "Participatiewet", "ww": "WW", "wajong": "Wajong", "wsw": "Wsw",
    "beschut_werk": "Beschut werk", "banenafspraak": "Banenafspraak", "wia": "WIA",
    "nug": "Niet-uitkeringsgerechtigden", "jongeren_zonder_startkwalificatie":
    "Jongeren zonder startkwalificatie", "statushouders": "Statushouders", "bbl": "BBL",
    "bol": "BOL", "vso_pro": "Vso/pro-schoolverlaters", "50plus": "50-plussers",
}

# Vetting states (matcher.model.VETTING_STATUSES).
VETTING_NL: Mapping[str, str] = {
    "vetted": "Gescreend", "pending": "In behandeling", "rejected": "Afgewezen",
    # Not stored: a vetting whose end has passed (api.services.vetting_flow.vetting_state).
    "expired": "Screening verlopen",
}

# Other stored codes shown in tables: allocation kinds and statuses, curation decisions,
# query kinds.
CODE_NL: Mapping[str, str] = {
    "purchase": "Inkoop", "placement": "Plaatsing", "planned": "Gepland",
    "committed": "Toegezegd", "accept": "Geaccepteerd", "pin": "Vastgezet",
    "reject": "Afgewezen", "unpin": "Losgemaakt",
    "tender": "Aanbesteding", "challenge": "Challenge", "obligation": "Verplichting",
}

# The engine's features (matcher.weights.FEATURES).
FEATURE_NL: Mapping[str, str] = {
    "text": "Tekst (woorden)",
    "text_char": "Tekst (lettergroepen)",
    "cpv": "CPV-codes",
    "geo": "Afstand",
    "groups": "Doelgroepen",
    "certification": "Erkenning",
    "capacity": "Capaciteit",
}

# User roles.
ROLE_NL: Mapping[str, str] = {
    "officer": "Inkoper",
    "firm": "Opdrachtnemer",
    "connector": "Verbinder",
    "admin": "Beheerder",
}


def target_group_nl(code: str) -> str:
    return TARGET_GROUP_NL.get(code, code)


def vetting_nl(code: str) -> str:
    return VETTING_NL.get(code, code)


def code_nl(code: str) -> str:
    return CODE_NL.get(code, code)


# Certification schemes (matcher.model.CERTIFICATION_SCHEMES): PSO's own spelling of its
# names; CodeSO and SENL are registers, written out.
CERTIFICATION_NL: Mapping[str, str] = {
    "PSO": "PSO", "PSO30+": "PSO 30+", "CodeSO": "Code Sociaal Ondernemen",
    "SENL": "Social Enterprise NL", "BCorp": "B Corp",
}


def certification_nl(code: str) -> str:
    return CERTIFICATION_NL.get(code, code)


# Spend analysis (api/services/ledgers.py): the ledger parser's problem codes, why spend is
# not addressable (matcher.spend.NON_ADDRESSABLE), where a line's category came from.
LEDGER_PROBLEM_NL: Mapping[str, str] = {
    "bad_amount": "Bedrag '{value}' is geen getal.",
    "bad_date": "Datum '{value}' is geen datum (dd-mm-jjjj of jjjj-mm-dd).",
    "no_supplier": "Geen leverancier op deze regel.",
    "unmapped": "Geen kolom voor {field}: koppel er een kolom van het bestand aan.",
    "unknown_column": "Kolom '{column}' (voor {field}) staat niet in het bestand.",
    "no_description": "Geen omschrijvingskolom: regels worden alleen op leverancier en "
                      "grootboekrekening ingedeeld.",
    "totals_row": "Totaalregel overgeslagen (geen inkoop).",
    "credit_note": "Creditnota: negatief bedrag, verrekend met de uitgaven bij de leverancier.",
    "empty_description": "Lege omschrijving: ingedeeld op leverancier en grootboekrekening.",
    "foreign_currency": "Bedrag in {currency} zonder eurobedrag: bewaard en ingedeeld, niet "
                        "meegeteld in de uitgaven in euro.",
    "converted": "{currency} {amount} omgerekend tegen de ECB-maandkoers van {month} "
                 "({rate} per euro): {eur} euro.",
    "no_rate": "Bedrag in {currency} op {date}: geen ECB-koers voor die maand; bewaard en "
               "ingedeeld, niet meegeteld in de uitgaven in euro.",
    "bad_kvk": "KvK-nummer '{value}' heeft geen 8 cijfers: genegeerd.",
    "sep_line": "Eerste regel 'sep={sep}' gelezen als scheidingsteken.",
    "skipped_rows": "Titelregels boven de kopregel overgeslagen: rij {rows} (kopregel: rij "
                    "{header_row}).",
    "unused_columns": "Niet gebruikte kolommen: {columns}.",
    "debit_credit": "Bedrag = {debit} min {credit} (een creditbedrag is een creditnota of "
                    "correctie).",
    "no_lines": "Het bestand heeft een kopregel maar geen grootboekregels.",
}
SPEND_NOT_ADDRESSABLE_NL: Mapping[str, str] = {
    "energy": "Energie en water", "rent": "Huur van panden",
    "insurance": "Verzekeringen en financiële diensten", "licences": "Licenties en software",
    "telecom": "Telefonie en internet", "professional": "Accountancy, advies en juridisch",
    "taxes": "Overheid en belastingen",
    "materials": "Bouwmaterialen en bouwmachines", "construction": "Gespecialiseerd bouwwerk",
    "vehicles": "Voertuigen en hun lease", "medical": "Medische producten en zorgpersoneel",
    "travel": "Reizen (trein, vliegtuig, hotel)", "memberships": "Contributies en lidmaatschappen",
    "hardware": "Computers",
}
SPEND_SOURCE_NL: Mapping[str, str] = {
    "supplier": "bekende leverancier", "keyword": "trefwoord", "account": "grootboekrekening",
    "supplier_name": "naam van de leverancier",
    "text": "tekstclassificatie", "supplier_pattern": "andere regels van de leverancier",
    "account_pattern": "andere regels op de rekening", "registry": "register",
    "correction": "correctie", "none": "onbekend",
}


# The progress steps of background jobs (the ``step`` column: a stable code), shown on the
# job pages and in the API's ``step_label``. Imports and the ledger upload
# (api.services.import_jobs; the ledger runner's own steps in api.services.ledgers and
# api.importers.ledger):
IMPORT_STEP_NL: Mapping[str, str] = {
    "read": "bestanden lezen", "duplicates": "dubbelen zoeken", "write": "records verwerken",
}
LEDGER_STEP_NL: Mapping[str, str] = {
    "read": "bestand lezen", "parse": "bestand lezen", "classify": "regels indelen",
    "store": "regels opslaan",
}
# The queue's jobs by kind (api.services.batch, api.services.learning).
JOB_STEP_NL: Mapping[str, Mapping[str, str]] = {
    "allocate": {"allocate": "verplichtingen verdelen", "write": "verdeling opslaan"},
    "rank_tenders": {"load": "register en aanbestedingen laden",
                     "rank": "aanbestedingen rangschikken", "write": "ranglijsten opslaan"},
    "learn": {"decisions": "Beslissingen gelezen", "candidates": "Kandidaten opnieuw gerangschikt",
              "fitted": "Gewichten geschat", "heldout": "Getoetst op achtergehouden beslissingen",
              "labelled": "Getoetst op de gelabelde set", "verdict": "Oordeel"},
}
ALLOCATE_STEP_NL = JOB_STEP_NL["allocate"]  # *_NL: tests/web/test_translations.py checks these
RANK_STEP_NL = JOB_STEP_NL["rank_tenders"]
LEARN_STEP_NL = JOB_STEP_NL["learn"]


def step_label(step: str | None, labels: Mapping[str, str]) -> Message | str:
    """A job's step for people (a message, rendered in the reader's language); a step
    without a label as its code, none as ""."""
    if not step:
        return ""
    label = labels.get(step)
    return Message(label) if label is not None else step


# The words of `sroi evaluate`'s tables (matcher.evaluate.TABLE_WORDS, English there: the
# engine imports nothing of ours), in Dutch; the command passes them in its language.
EVALUATE_WORDS_NL: Mapping[str, str] = {
    "honest cut of {name} (suitable floor {floor})":
        "eerlijke afkap van {name} (geschiktheidsgrens {floor})",
    "case": "geval", "queries": "vragen", "no-fit": "geen-fit", "empty": "leeg",
    "good": "goed", "cut": "afgekapt", "acc.": "redel.", "results": "resultaten",
    "all": "alle", "floor": "grens", "no-fit empty": "geen-fit leeg",
    "good cut": "goed afgekapt", "acc. cut": "redel. afgekapt", "case {case}": "geval {case}",
    "overall": "totaal", "tender": "aanbesteding", "challenge": "Challenge",
    "{title} ({n} queries)": "{title} ({n} vragen)", "ranker": "rangschikker",
    "violations@10": "overtredingen@10",
}
