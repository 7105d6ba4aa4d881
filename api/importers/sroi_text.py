"""Find the social-return clause in a tender's free text (Dutch and English).

Neither OCDS nor eForms has a field for the social-return (SROI) obligation:
buyers write it in prose ("Social return: 5% van de opdrachtwaarde"). This module
reads it, conservatively, paragraph by paragraph:

* a clause needs a sentence naming social return (``social return``, ``SROI``,
  ``sociaal rendement``, ``sociale voorwaarden``, ``social value``, ``Buy Social``,
  ``social clause``); its rate or fixed amount stands in that sentence or, in the
  two-sentence form, in the next or previous sentence of the same paragraph
  ("SROI is van toepassing. Opdrachtnemer besteedt 5% van de opdrachtwaarde ...");
  a heading on its own ("4.3 Social Return") belongs to the paragraph under it;
* a percentage is judged by what it is about: a rate tied to a basis ("van de
  opdrachtwaarde", "of the labour costs") wins; guarantees, VAT, discounts,
  indexation, penalties, weightings, CO2, interest, margins, advance payments and
  shares *of* the obligation or of staff are skipped;
* a range ("3 tot 5 %") keeps both bounds, uses the lower and says so in ``warnings``;
* a fixed amount ("SROI ter waarde van € 50.000") goes into ``amount_eur``; amounts
  after "vanaf / boven / above" are the threshold, after "maximaal / capped at" the
  cap, also from the sentence before or after the clause; the contract's own value
  is neither;
* a negation anywhere in the naming sentence ("is voor deze opdracht niet van
  toepassing", "n.v.t.", "geen SROI-verplichting", "does not apply") cancels the
  clause, but one that only narrows it to part of the work ("niet van toepassing op
  onderaannemers", "... op opdrachten onder € 200.000") does not: the contract still
  carries the obligation, and the narrowing is reported in ``warnings``.

``python -m api.importers.sroi_eval`` measures it on ``tests/data/sroi_sentences.jsonl``.
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
    r"socialreturn|social[\s-]+value|buy[\s-]+social|sociale\s+voorwaarden?|"
    r"social\s+clauses?|sociale\s+clausules?",
    re.IGNORECASE,
)
# A negation of the clause anywhere in a sentence that names social return.
_NEGATION = re.compile(
    r"niet\s+van\s+toepassing|(?<!\w)n\.\s?v\.\s?t\.?|\bnvt\b|"
    r"\bgeen\s+(?:[\w-]+\s+){0,2}?(?:social|sroi|sociaal|sociale|verplichting|eis)|"
    r"not\s+(?:be\s+)?applicable|(?:does|do|will|shall)\s+not\s+(?:apply|be\s+applied)|"
    r"\bno\s+(?:[\w-]+\s+){0,2}?(?:social|sroi|obligation|requirement)|"
    r"(?:is|zijn|wordt|worden)\s+uitgesloten|"
    r"(?:wordt|worden)\s+(?:[\w-]+\s+){0,4}?niet\s+(?:gesteld|toegepast|gevraagd|opgelegd|"
    r"gehanteerd)|geldt\s+(?:[\w-]+\s+){0,4}?niet\b|niet\s+geldt|"
    r"\bwaived\b|buiten\s+beschouwing|is\s+not\s+required",
    re.IGNORECASE,
)
# After a negation: "op onderaannemers", "op de levering van materialen", "op opdrachten
# onder € 200.000" restrict the clause to part of the work; "op deze opdracht" cancels it.
_NEGATION_SCOPE = re.compile(
    r"^\s*(?:op|voor|to|for)\s+(?!(?:deze|dit|this)\b)"
    r"(?!(?:de|het|the)\s+(?:opdracht|aanbesteding|overeenkomst|contract|tender|perceel|lot|"
    r"procedure|raamovereenkomst|framework)\b)"
    r"(?!(?:opdracht|aanbesteding|contract|perceel|lot)\b)",
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
_NUM = rf"\d{{1,3}}(?:[.,]\d{{1,2}})?|{_WORDS_ALT}"
_PCT_SIGN = r"\s*(?:%|procent\b|percent\b|pct\b\.?)"
_PERCENT = re.compile(rf"(?<![\w.,])(?P<num>{_NUM}){_PCT_SIGN}", re.IGNORECASE)
# "3 tot 5 %", "2-5%", "3 à 5 procent", "tussen de 2% en 4%", "between 3% and 5%".
_RANGE = re.compile(
    rf"(?:(?:tussen|between)\s+(?:de\s+)?(?P<lo1>{_NUM})(?:{_PCT_SIGN})?\s+(?:en|and)\s+"
    rf"(?P<hi1>{_NUM}){_PCT_SIGN})|"
    rf"(?:(?<![\w.,])(?P<lo2>{_NUM})(?:{_PCT_SIGN})?\s*(?:-|–|tot(?:\s+en\s+met)?|à|a|to)\s*"
    rf"(?P<hi2>{_NUM}){_PCT_SIGN})",
    re.IGNORECASE,
)

# What a percentage is about when it is not the SROI rate. Read in the words just before it
# (the nearest topic wins over a social-return term further back) ...
_UNRELATED = re.compile(
    r"garantie|waarborg|\bbond\b|retentie|retention|\bbtw\b|\bvat\b|korting|discount|boete|"
    r"penalt|indexat|ge[iï]ndexeerd|indexed|\bindex\b|\bcpi\b|weging|\bweegt|weighted|"
    r"weighting|gunningscriteri|award\s+criteri|\bscore|evaluat|beoordel|kwaliteit|quality|"
    r"co2|co₂|uitstoot|"
    r"emissie|marge|margin|winst|\brente\b|interest|aanbetaling|vooruitbetaling|"
    r"advance\s+payment|opslag|meerwerk|minderwerk|\btelt\b|meetel|accounts?\s+for|"
    r"gerealiseerd|realised|waarvan|daarvan|hiervan|of\s+which|deel\b|aandeel|medewerkers|"
    r"werknemers|personeel|\bstaff\b|employees",
    re.IGNORECASE,
)
_ABOUT_SROI = re.compile(
    _TRIGGER.pattern + r"|verplichting|obligation|requirement|\beis\b|percentage|commitment",
    re.IGNORECASE,
)
# ... and in the words right after it ("21% btw", "50% van de SROI-verplichting").
_UNRELATED_AFTER = re.compile(
    r"^\s*\)?\s*(?:btw|vat|korting|discount|indexatie|rente|interest|boete|marge|winst|"
    r"opslag|kwaliteit|prijs|price|co2|fictieve|mee\b|gerealiseerd|uit\s+medewerkers|"
    r"weging|weighting|weight\b|ge[iï]ndexeerd|indexed|"
    r"(?:van|of)\s+(?:de|het|the|haar|hun|alle|all)?\s*(?:[\w-]+\s+){0,2}?"
    r"(?:sroi|social|verplichting|obligation|inzet|medewerkers|werknemers|personeel|staff|"
    r"employees|plaatsingen|opdrachten|aanbestedingen|score|marks|evaluation|punten|"
    r"inschrijf\w*|niet-gerealiseerde))",
    re.IGNORECASE,
)
# A sentence beside the one naming social return carries the rate only when the rate is
# tied to a basis or the sentence is plainly about the obligation.
_OBLIGATION_CUE = re.compile(
    r"verplichting|bedraagt|percentage|hoogte|obligation|amounts?\s+to|requirement",
    re.IGNORECASE,
)

_BASIS_CONTRACT = re.compile(
    r"opdrachtwaarde|contractwaarde|aanneemsom|opdrachtsom|contractsom|"
    r"(?:totale\s+)?waarde\s+van\s+(?:de|het)\s+(?:opdracht|contract|overeenkomst)|"
    r"factuurwaarde|gunningswaarde|inschrijvingssom|inschrijfsom|contract\s+value|"
    r"contract\s+price|value\s+of\s+the\s+contract",
    re.IGNORECASE,
)
_BASIS_LABOUR = re.compile(
    r"loonsom|arbeidskosten|loonkosten|arbeidscomponent|loonwaarde|"
    r"labou?r\s+costs?|wage\s+bill|payroll",
    re.IGNORECASE,
)
# A basis phrase right after a percentage ("5% van de opdrachtwaarde", "of the total
# contract value", "over de werkelijk bestede opdrachtwaarde").
_BASIS_RIGHT_AFTER = re.compile(
    r"^\s*(?:van|over|of)\s+(?:de|het|the)?\s*(?:[\w-]+\s+){0,2}?"
    r"(?:" + _BASIS_CONTRACT.pattern + "|" + _BASIS_LABOUR.pattern + ")",
    re.IGNORECASE,
)

_MONEY = re.compile(
    r"(?:€|\beur(?:o)?\b)\s*(?P<num>\d{1,3}(?:[.\s]\d{3})+(?:,\d{1,2})?|\d{1,3}(?:,\d{3})+"
    r"(?:\.\d{1,2})?|\d+(?:[.,]\d+)?)(?:,-)?"
    r"(?:\s*(?P<mult>miljoen|mln\b\.?|million|mio\b\.?|k\b|duizend))?",
    re.IGNORECASE,
)
_CAP_CUE = re.compile(
    r"(?:maximum\s+van|maximaal|tot\s+maximaal|gemaximeerd\s+op|begrensd\s+op|plafond\s+van|"
    r"capped\s+at|up\s+to|maximum\s+of|at\s+most|not\s+exceeding)\s*$",
    re.IGNORECASE,
)
_THRESHOLD_CUE = re.compile(
    r"(?:vanaf|boven|hoger\s+dan|groter\s+dan|meer\s+dan|lager\s+(?:\w+\s+)?dan|onder|"
    r"drempel(?:waarde)?(?:\s+van)?\s*:?|above|exceeding|over|from|below|under|[<>≥])\s*"
    r"(?:(?:een|de|a|the)\s+)?(?:(?:geraamde\s+)?(?:opdrachtwaarde|waarde|contractwaarde|"
    r"contract\s+value|value)\s+(?:van\s+|of\s+)?)?$",
    re.IGNORECASE,
)
# An amount that is the contract's own value, not a social-return amount.
_CONTRACT_AMOUNT_CUE = re.compile(
    r"(?:opdrachtwaarde|contractwaarde|aanneemsom|opdrachtsom|raming|geraamd\w*|begroting|"
    r"budget|contract\s+value|estimated\s+value|value\s+of\s+the\s+contract)\b[^€]{0,25}$",
    re.IGNORECASE,
)
_AMOUNT_CUE = re.compile(r"bedrag|ter\s+waarde\s+van|worth|amounts?\s+to", re.IGNORECASE)

_ABBREVIATIONS = (
    "o.a.", "bijv.", "bv.", "incl.", "excl.", "t.b.v.", "m.b.t.", "e.d.", "etc.", "nr.",
    "art.", "ca.", "min.", "max.", "resp.", "i.c.m.", "i.p.v.", "z.s.m.", "d.w.z.", "t.a.v.",
    "e.g.", "i.e.", "vs.",
)
_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9€(\"'‘“])|\n\s*\n|\n\s*[-•*]\s*|\s*•\s*")
_PARAGRAPH = re.compile(r"\n\s*\n")
_HEADING_WORDS = 8


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


def _paragraphs(text: str) -> list[str]:
    """Paragraphs split at blank lines; a heading ("4.3 Social Return") joins the one below."""
    out: list[str] = []
    pending = ""
    for para in _PARAGRAPH.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        para = para.strip()
        if not para:
            continue
        para = f"{pending}\n{para}" if pending else para
        if len(para.split()) <= _HEADING_WORDS and not para.endswith((".", ";", ":", "!", "?")):
            pending = para
            continue
        pending = ""
        out.append(para)
    if pending:
        out.append(pending)
    return out


def _number(raw: str) -> float:
    key = raw.strip().lower()
    if key in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[key])
    return float(key.replace(",", "."))


def parse_eur(text: str) -> float | None:
    """The first euro amount in text: "€ 250.000", "EUR 1,5 miljoen", "EUR 50,000"."""
    m = _MONEY.search(text)
    if not m:
        return None
    return _money_value(m.group("num"), m.group("mult"))


def _money_value(num: str, mult: str | None) -> float:
    if re.fullmatch(r"\d{1,3}(?:[.\s]\d{3})+(?:,\d{1,2})?", num):
        value = float(re.sub(r"[.\s]", "", num).replace(",", "."))
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?", num):
        value = float(num.replace(",", ""))  # English digit grouping: "EUR 50,000"
    else:
        value = float(num.replace(",", "."))
    if mult:
        mult = mult.lower().rstrip(".")
        if mult in ("miljoen", "mln", "million", "mio"):
            value *= 1_000_000
        elif mult in ("duizend", "k"):
            value *= 1_000
    return value


@dataclass(frozen=True)
class _Rate:
    value: float
    at: int
    tied: bool  # a basis phrase follows ("van de opdrachtwaarde")
    basis: str | None
    low_high: tuple[float, float] | None = None


def _about_something_else(sentence: str, start: int, end: int, tied: bool) -> bool:
    """True when the percentage at sentence[start:end] is a guarantee, VAT, weighting..."""
    before = sentence[max(0, start - 60) : start].rsplit(";", 1)[-1]
    unrelated = [m.end() for m in _UNRELATED.finditer(before)]
    about = [m.end() for m in _ABOUT_SROI.finditer(before)]
    if unrelated and (not about or unrelated[-1] > about[-1]):
        return True
    return not tied and bool(_UNRELATED_AFTER.match(sentence[end:]))


def _tied_basis(after: str) -> str | None:
    m = _BASIS_RIGHT_AFTER.match(after)
    if not m:
        return None
    return LABOUR_COST if _BASIS_LABOUR.search(m.group(0)) else CONTRACT_VALUE


def _rates(sentence: str) -> list[_Rate]:
    """Every plausible SROI rate in the sentence (ranges as one rate, lower bound first)."""
    out: list[_Rate] = []
    taken: list[tuple[int, int]] = []
    for m in _RANGE.finditer(sentence):
        lo_raw, hi_raw = m.group("lo1") or m.group("lo2"), m.group("hi1") or m.group("hi2")
        try:
            lo, hi = _number(lo_raw), _number(hi_raw)
        except ValueError:
            continue
        if not 0 < lo < hi:
            continue
        basis = _tied_basis(sentence[m.end() :])
        if _about_something_else(sentence, m.start(), m.end(), basis is not None):
            continue
        if hi > (100 if basis else 50):
            continue
        taken.append((m.start(), m.end()))
        out.append(_Rate(lo, m.start(), basis is not None, basis, (lo, hi)))
    for m in _PERCENT.finditer(sentence):
        if any(a <= m.start() < b for a, b in taken):
            continue
        try:
            value = _number(m.group("num"))
        except ValueError:
            continue
        basis = _tied_basis(sentence[m.end() :])
        if _about_something_else(sentence, m.start(), m.end(), basis is not None):
            continue
        # Above 50% only when tied to a basis: "100% ingezet" is not a rate.
        if not 0 < value <= (100 if basis else 50):
            continue
        out.append(_Rate(value, m.start(), basis is not None, basis))
    return out


def _pick(sentence: str, trigger_at: int | None) -> _Rate | None:
    rates = _rates(sentence)
    if trigger_at is None:
        # A sentence beside the naming one: only a rate that is plainly the obligation.
        rates = [r for r in rates if r.tied or _OBLIGATION_CUE.search(sentence)]
    if not rates:
        return None
    pool = [r for r in rates if r.tied] or rates
    at = trigger_at or 0
    return min(pool, key=lambda r: abs(r.at - at))


@dataclass
class _Money:
    thresholds: list[float]
    caps: list[float]
    amounts: list[float]  # neither a threshold, a cap nor the contract's own value


def _money(sentence: str, naming: bool) -> _Money:
    out = _Money([], [], [])
    for m in _MONEY.finditer(sentence):
        before = sentence[max(0, m.start() - 60) : m.start()]
        value = _money_value(m.group("num"), m.group("mult"))
        if _CAP_CUE.search(before):
            out.caps.append(value)
        elif _THRESHOLD_CUE.search(before):
            out.thresholds.append(value)
        elif _CONTRACT_AMOUNT_CUE.search(before):
            continue
        elif naming or _AMOUNT_CUE.search(before):
            out.amounts.append(value)
    return out


def _negated(sentence: str) -> tuple[bool, str | None]:
    """(cancelled, scope): a negation about the contract cancels the clause; one followed by
    "op onderaannemers" only narrows it and is returned as the scope."""
    scope = None
    for m in _NEGATION.finditer(sentence):
        rest = sentence[m.end() :]
        if _NEGATION_SCOPE.match(rest):
            scope = f"{m.group(0)} {rest.strip()}".strip(" .;")[:80]
            continue
        return True, None
    return False, scope


def _basis_of(text: str) -> tuple[str, bool]:
    labour = _BASIS_LABOUR.search(text)
    contract = _BASIS_CONTRACT.search(text)
    if labour and (not contract or labour.start() < contract.start()):
        return LABOUR_COST, True
    if contract:
        return CONTRACT_VALUE, True
    return CONTRACT_VALUE, False


def _in_paragraph(sentences: list[str]) -> SroiDetection | None:
    for i, sentence in enumerate(sentences):
        trig = _TRIGGER.search(sentence)
        if not trig:
            continue
        cancelled, scope = _negated(sentence)
        if cancelled:
            # "Social return is niet van toepassing": neither this sentence nor its
            # neighbours carry an obligation.
            continue
        warnings: list[str] = []
        used = [i]
        rate = _pick(sentence, trig.start())
        money = _money(sentence, naming=True)
        amount = money.amounts[0] if rate is None and money.amounts else None
        if rate is None and amount is None:
            # The two-sentence form: the rate stands in the next (or previous) sentence.
            for j in (i + 1, i - 1, i + 2):
                if not 0 <= j < len(sentences) or _TRIGGER.search(sentences[j]):
                    continue
                if _negated(sentences[j])[0]:
                    continue
                rate = _pick(sentences[j], None)
                if rate is None:
                    other = _money(sentences[j], naming=False)
                    amount = other.amounts[0] if other.amounts else None
                if rate is not None or amount is not None:
                    used = sorted({i, j} | set(range(min(i, j), max(i, j) + 1)))
                    warnings.append("rate from a neighbouring sentence" if rate is not None
                                    else "amount from a neighbouring sentence")
                    break
        if rate is None and amount is None:
            continue
        clause = " ".join(sentences[k] for k in used)
        # Thresholds and caps: the clause's sentences first, then the ones beside them.
        threshold = cap = None
        for k in [*used, max(used) + 1, min(used) - 1]:
            if not 0 <= k < len(sentences):
                continue
            m = _money(sentences[k], naming=False)
            found_here = False
            if threshold is None and m.thresholds:
                threshold, found_here = m.thresholds[0], True
            if cap is None and m.caps:
                cap, found_here = m.caps[0], True
            if found_here and k not in used:
                warnings.append("threshold or cap from a neighbouring sentence")
                before = k < min(used)
                clause = f"{sentences[k]} {clause}" if before else f"{clause} {sentences[k]}"
        if amount is not None and amount in (threshold, cap):
            continue
        if rate is not None and rate.basis is not None:
            basis, explicit = rate.basis, True
        else:
            basis, explicit = _basis_of(" ".join(sentences[k] for k in used))
        if rate is not None and not explicit:
            warnings.append("basis not named: contract value assumed")
        rng = rate.low_high if rate is not None else None
        if rng is not None:
            warnings.append(f"range: lower bound {rng[0]:g} % used of {rng[0]:g}–{rng[1]:g} %")
        if amount is not None:
            warnings.append("fixed amount, no percentage")
        if scope:
            warnings.append(f"negation read as a scope restriction: {scope!r}")
        return SroiDetection(
            percentage=rate.value if rate is not None else None,
            basis=basis,
            sentence=clause,
            basis_explicit=explicit,
            threshold_eur=threshold,
            cap_eur=cap,
            amount_eur=amount,
            percentage_range=rng,
            warnings=tuple(warnings),
        )
    return None


# Every alternative of _TRIGGER contains one of these (tests/test_sroi_text.py checks it):
# a substring test on the folded text rules out most texts ten times faster than the
# regular expression, which matters when thousands of notices are imported at once.
TRIGGER_STEMS = ("soci", "sroi")


def detect_sroi(text: str | None) -> SroiDetection | None:
    """The social-return clause in ``text`` (rate or fixed amount, basis, threshold, cap and
    the sentences it was read from), or None when the text states no obligation."""
    if not text:
        return None
    folded = text.casefold()
    if not any(stem in folded for stem in TRIGGER_STEMS) or not _TRIGGER.search(text):
        return None
    for paragraph in _paragraphs(text):
        if _TRIGGER.search(paragraph):
            found = _in_paragraph(split_sentences(paragraph))
            if found is not None:
                return found
    return None


def detect_sroi_in(texts: Iterable[str | None]) -> SroiDetection | None:
    """The first detection across several texts (title, description, notes...)."""
    for text in texts:
        found = detect_sroi(text)
        if found is not None:
            return found
    return None
