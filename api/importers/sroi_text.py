"""Find the Dutch social-return percentage in a tender's free text.

Neither OCDS nor eForms has a field for the social-return (SROI) obligation:
Dutch buyers write it in prose ("Social return: 5% van de opdrachtwaarde").
This module finds it, conservatively:

* only sentences that name social return (``social return``, ``SROI``,
  ``social return on investment``, ``sociaal rendement``) are read, so
  "21% btw" or "een korting van 5%" elsewhere never count;
* inside such a sentence a percentage tied to a basis ("van de
  opdrachtwaarde", "van de loonsom") wins, otherwise the one nearest to the
  social-return term; percentages about VAT, discounts, indexation, or a share
  *of* the obligation ("waarvan 50% ...") are skipped;
* when the naming sentence has no percentage, the next sentence may carry it
  ("Social return is van toepassing. De verplichting bedraagt 5% van ...").

The result is a *detection*: importers store it with ``sroi_detected=True``
and ``sroi_confirmed=False`` until an officer confirms it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

CONTRACT_VALUE = "contract_value"
LABOUR_COST = "labour_cost"


@dataclass(frozen=True)
class SroiDetection:
    percentage: float | None  # None when the clause is a fixed amount
    basis: str  # contract_value | labour_cost
    sentence: str
    basis_explicit: bool = False  # the text named the basis (else contract_value assumed)
    threshold_eur: float | None = None
    cap_eur: float | None = None
    amount_eur: float | None = None  # a fixed SROI amount ("SROI ter waarde van € 50.000")
    percentage_range: tuple[float, float] | None = None  # "3 tot 5 %": percentage is the low end
    warnings: tuple[str, ...] = ()  # short English notes for the officer who confirms


_TRIGGER = re.compile(
    r"social[\s-]*return(?:[\s-]+on[\s-]+investment)?|\bsroi\b|sociaal\s+rendement|"
    r"socialreturn",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\bgeen\s+(?:social[\s-]*return|sroi)|(?:social[\s-]*return|sroi)\W+(?:\w+\W+){0,3}?"
    r"(?:niet\s+van\s+toepassing|not\s+applicable|does\s+not\s+apply)|\bno\s+social\s+return",
    re.IGNORECASE,
)

_WORD_NUMBERS = {
    "een half": 0.5,
    "anderhalf": 1.5,
    "tweeënhalf": 2.5,
    "tweeenhalf": 2.5,
    "twee en een half": 2.5,
    "twee-en-een-half": 2.5,
    "een": 1,
    "één": 1,
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
    "vijftien": 15,
    "twintig": 20,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_WORDS_ALT = "|".join(sorted((re.escape(w) for w in _WORD_NUMBERS), key=len, reverse=True))
_PERCENT = re.compile(
    rf"(?<![\w.,])(?P<num>\d{{1,3}}(?:[.,]\d{{1,2}})?|{_WORDS_ALT})"
    r"\s*(?:%|procent\b|percent\b|pct\b\.?)",
    re.IGNORECASE,
)
# What follows a percentage that makes it something other than the SROI rate.
_NOT_SROI_AFTER = re.compile(
    r"^\s*(?:\)?\s*)(?:btw|vat|korting|discount|indexatie|index|rente|interest|boete|marge|"
    r"winst|opslag|van\s+(?:de|het|deze)\s+(?:sroi|social[\s-]*return|verplichting|"
    r"sroi-verplichting|inzet)|van\s+de\s+(?:sroi|social[\s-]*return)[\w-]*)",
    re.IGNORECASE,
)
_NOT_SROI_BEFORE = re.compile(
    r"(?:waarvan|minimaal\s+\w+\s+daarvan|daarvan|btw|vat|korting|discount|indexatie)\s*"
    r"(?:minimaal|maximaal|ten\s+minste|tenminste|at\s+least)?\s*$",
    re.IGNORECASE,
)

_BASIS_CONTRACT = re.compile(
    r"opdrachtwaarde|contractwaarde|aanneemsom|opdrachtsom|contractsom|"
    r"(?:totale\s+)?waarde\s+van\s+(?:de|het)\s+(?:opdracht|contract|overeenkomst)|"
    r"factuurwaarde|gunningswaarde|inschrijvingssom|inschrijfsom|contract\s+value|"
    r"value\s+of\s+the\s+contract",
    re.IGNORECASE,
)
_BASIS_LABOUR = re.compile(
    r"loonsom|arbeidskosten|loonkosten|arbeidscomponent|loonwaarde|"
    r"labou?r\s+costs?|wage\s+bill|payroll",
    re.IGNORECASE,
)
# A basis phrase right after a percentage ("5% van de opdrachtwaarde").
_BASIS_RIGHT_AFTER = re.compile(
    r"^\s*(?:van|over|of)\s+(?:de|het|the)?\s*(?:totale\s+|geraamde\s+|netto\s+)?"
    r"(?:" + _BASIS_CONTRACT.pattern + "|" + _BASIS_LABOUR.pattern + ")",
    re.IGNORECASE,
)

_MONEY = re.compile(
    r"(?:€|eur(?:o)?\b)\s*(?P<num>\d{1,3}(?:[.\s]\d{3})+|\d+(?:,\d+)?)(?:,(?:\d{1,2}|-))?"
    r"(?:\s*(?P<mult>miljoen|mln\.?|million|k\b|duizend))?",
    re.IGNORECASE,
)
_THRESHOLD_CUE = re.compile(
    r"(?:vanaf|boven|hoger\s+dan|groter\s+dan|meer\s+dan|drempel(?:waarde)?\s+(?:van\s+)?|"
    r"above|exceeding|from)\s*(?:een\s+(?:opdrachtwaarde|waarde)\s+van\s+)?$",
    re.IGNORECASE,
)
_CAP_CUE = re.compile(
    r"(?:maximum\s+van|maximaal|tot\s+(?:een\s+)?maximum\s+van|tot\s+maximaal|"
    r"met\s+een\s+maximum\s+van|gemaximeerd\s+op|capped\s+at|up\s+to|maximum\s+of)\s*$",
    re.IGNORECASE,
)

_ABBREVIATIONS = (
    "o.a.", "bijv.", "bv.", "incl.", "excl.", "t.b.v.", "m.b.t.", "e.d.", "etc.", "nr.",
    "art.", "ca.", "min.", "max.", "resp.", "i.c.m.", "i.p.v.", "z.s.m.", "d.w.z.", "t.a.v.",
    "e.g.", "i.e.", "vs.",
)
_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9€(\"'‘“])|\n\s*\n|\n\s*[-•*]\s*|\s*•\s*")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping Dutch abbreviations and decimals intact."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = _SPLIT.split(text)
    out: list[str] = []
    for part in parts:
        part = " ".join(part.split())
        if not part:
            continue
        if out and out[-1].lower().endswith(_ABBREVIATIONS):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def _number(raw: str) -> float:
    key = raw.strip().lower()
    if key in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[key])
    return float(key.replace(",", "."))


def parse_eur(text: str) -> float | None:
    """The first euro amount in text: "€ 250.000", "EUR 1,5 miljoen" (approximate words)."""
    m = re.search(
        r"(?:€|eur(?:o)?\b)\s*(?P<num>\d{1,3}(?:[.\s]\d{3})+|\d+(?:,\d+)?)(?:,(?:\d{1,2}|-))?"
        r"(?:\s*(?P<mult>miljoen|mln\.?|million|duizend|k\b))?",
        text,
        re.IGNORECASE,
    )
    if not m:
        return None
    return _money_value(m.group("num"), m.group("mult"))


def _money_value(num: str, mult: str | None) -> float:
    if re.fullmatch(r"\d{1,3}(?:[.\s]\d{3})+", num):
        value = float(re.sub(r"[.\s]", "", num))
    else:
        value = float(num.replace(",", "."))
    if mult:
        mult = mult.lower().rstrip(".")
        if mult in ("miljoen", "mln", "million"):
            value *= 1_000_000
        elif mult in ("duizend", "k"):
            value *= 1_000
    return value


def _amounts(sentence: str) -> tuple[float | None, float | None]:
    threshold = cap = None
    for m in _MONEY.finditer(sentence):
        before = sentence[max(0, m.start() - 60) : m.start()]
        value = _money_value(m.group("num"), m.group("mult"))
        if threshold is None and _THRESHOLD_CUE.search(before):
            threshold = value
        elif cap is None and _CAP_CUE.search(before):
            cap = value
    return threshold, cap


def _candidates(sentence: str) -> list[tuple[float, int, bool]]:
    """(percentage, position, tied-to-a-basis) for each plausible SROI percentage."""
    out: list[tuple[float, int, bool]] = []
    for m in _PERCENT.finditer(sentence):
        after = sentence[m.end() :]
        before = sentence[max(0, m.start() - 40) : m.start()]
        if _NOT_SROI_AFTER.match(after) or _NOT_SROI_BEFORE.search(before):
            continue
        try:
            value = _number(m.group("num"))
        except ValueError:
            continue
        tied = bool(_BASIS_RIGHT_AFTER.match(after))
        # Above 50% only when tied to a basis: "100% ingezet" is not a rate.
        if not 0 < value <= (100 if tied else 50):
            continue
        out.append((value, m.start(), tied))
    return out


def _basis(sentence: str) -> tuple[str, bool]:
    labour = _BASIS_LABOUR.search(sentence)
    contract = _BASIS_CONTRACT.search(sentence)
    if labour and (not contract or labour.start() < contract.start()):
        return LABOUR_COST, True
    if contract:
        return CONTRACT_VALUE, True
    return CONTRACT_VALUE, False


def _pick(sentence: str, trigger_at: int) -> float | None:
    cands = _candidates(sentence)
    if not cands:
        return None
    tied = [c for c in cands if c[2]]
    pool = tied or cands
    return min(pool, key=lambda c: abs(c[1] - trigger_at))[0]


def detect_sroi(text: str | None) -> SroiDetection | None:
    """The social-return percentage in ``text`` with its basis and sentence, or None."""
    if not text or not _TRIGGER.search(text):
        return None
    sentences = split_sentences(text)
    for i, sentence in enumerate(sentences):
        trig = _TRIGGER.search(sentence)
        if not trig:
            continue
        pct = _pick(sentence, trig.start())
        used = sentence
        if pct is None and i + 1 < len(sentences) and not _TRIGGER.search(sentences[i + 1]):
            nxt = sentences[i + 1]
            # Only a follow-up that is plainly about the obligation carries the rate.
            if re.search(r"verplichting|bedraagt|percentage|obligation|amounts?\s+to", nxt, re.I):
                pct = _pick(nxt, 0)
                used = f"{sentence} {nxt}"
        if pct is None:
            continue
        if _NEGATION.search(sentence):
            # "Social return is niet van toepassing" and the like: not an obligation.
            continue
        basis, explicit = _basis(used)
        threshold, cap = _amounts(used)
        return SroiDetection(
            percentage=pct,
            basis=basis,
            sentence=used,
            basis_explicit=explicit,
            threshold_eur=threshold,
            cap_eur=cap,
        )
    return None


def detect_sroi_in(texts: Iterable[str | None]) -> SroiDetection | None:
    """The first detection across several texts (title, description, notes...)."""
    for text in texts:
        found = detect_sroi(text)
        if found is not None:
            return found
    return None
