"""Spend classification: a purchase-ledger line -> a CPV code with a confidence.

Rules first, then a text classifier, the way spend-classification tools work:

1. **known supplier**: a supplier the firm or a connector corrected before (its name or
   KvK number), or a social enterprise of the registry (its own CPV codes);
2. **keywords** in the line's description: a bilingual bookkeeping lexicon (``LEXICON``,
   stems matched inside Dutch compounds, abbreviations such as "schoonm." expanded first);
3. **ledger account**: the lexicon on the account's name ("4330 Schoonmaakkosten"), or an
   account number the corrections consistently put in one category;
4. **text classifier**: TF-IDF char n-grams (robust to typos and abbreviations) against
   the bilingual CPV 2008 vocabulary (Dutch and English labels, ``matcher/data``) and the
   texts of earlier corrections, nearest class by cosine, softmax over the best few.

Then, within the ledger, a supplier's (or account's) confident lines lend their category to
its unsure ones (an empty description, an odd abbreviation): recurring purchases repeat.

Lines under ``review_threshold`` are for a person to review; a correction goes back into
:meth:`SpendClassifier.fit` and is applied to that supplier's other lines.

``addressable`` tells spend a social enterprise could take from spend none can (energy,
rent, insurance, licences, ...; ``NON_ADDRESSABLE``).

Pure: no web or database imports. scikit-learn conventions: configuration in the
constructor, learned state in attributes ending in ``_``.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from rapidfuzz.distance import Levenshtein
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher.refdata import cpv_vocabulary
from matcher.text import fast_fold

# Spend a social enterprise cannot take over, by CPV prefix, with the reason's key
# (api/translations: spend.na.<key>). Checked longest prefix first.
NON_ADDRESSABLE: dict[str, str] = {
    "09": "energy",  # electricity, gas, fuel
    "651": "energy",  # water distribution
    "70": "rent",  # letting and leasing of property
    "66": "insurance",  # insurance, banking, pensions
    "48": "licences",  # software packages and licences
    "72268": "licences",  # software supply
    "642": "telecom",  # telephone and data transmission
    "792": "professional",  # accounting, auditing, legal
    "791": "professional",
    "751": "taxes",  # public administration
    # Goods and works a social enterprise does not supply, by their nature: building
    # materials and machinery, specialised building trades, vehicles, medical products
    # and staff, travel, memberships. An empty reason marks an exception inside such a
    # prefix (painting, small building repairs, bicycles, client transport by taxi).
    "43": "materials",  # construction machinery
    "44": "materials",  # construction materials and structures
    "45": "construction",  # building trades
    "45442": "",  # painting and protective coatings
    "45453": "",  # overhaul and refurbishment
    "341": "vehicles",  # motor vehicles and their lease
    "342": "vehicles",  # vehicle bodies, trailers
    "343": "vehicles",  # vehicle parts
    "33": "medical",  # medical equipment, pharmaceuticals, care products
    "3376": "",  # toilet paper, hand towels and napkins
    "79624": "medical",  # supply of nursing personnel
    "79625": "medical",  # supply of medical personnel
    "602": "travel",  # rail
    "604": "travel",  # air
    "5511": "travel",  # hotels
    "635": "travel",  # travel agencies and booking sites
    "724": "licences",  # internet and hosting services
    "3021": "hardware",  # computers (screens and refurbished kit: 3023, addressable)
    "7960": "professional",  # recruitment
    "7961": "professional",  # placement of personnel
    "981": "memberships",  # membership organisations
}

# Bookkeeping words (Dutch and English) -> CPV. A stem matches a word that starts with it,
# or a stem of 5+ letters anywhere inside a Dutch compound ("groenonderhoud"). The longest
# matching stem wins ("werkkleding" over "reiniging").
LEXICON: dict[str, str] = {
    # cleaning
    "schoonma": "90919200", "schoonmk": "90919200", "poets": "90919200",
    "interieurverzorg": "90919200", "cleaning": "90919200", "janitor": "90919200",
    "reiniging": "90911200", "schoonmaakmiddel": "39830000", "glazenwas": "90911300",
    "glasbewass": "90911300", "ramen wassen": "90911300", "window": "90911300",
    # catering, canteen, coffee
    "catering": "55520000", "catring": "55520000", "lunch": "55520000", "buffet": "55520000",
    "borrel": "55520000", "broodjes": "55520000", "hapjes": "55520000",
    "sandwich": "55520000", "kantine": "55510000", "canteen": "55510000",
    "koffie": "15861000", "coffee": "15861000", "espresso": "15861000", "thee": "15863000",
    # printing
    "drukwerk": "79810000", "drukkerij": "79810000", "drukkost": "79810000",
    "printwerk": "79810000", "printing": "79810000", "visitekaart": "79810000",
    "business card": "79810000", "flyer": "79810000", "folder": "79810000",
    "brochure": "79810000", "briefpapier": "79810000", "oplage": "79810000",
    # green, grounds
    "groenonderh": "77314000", "groenvoorz": "77314000", "tuinonderh": "77314000",
    "hovenier": "77314000", "snoei": "77314000", "maaien": "77314000", "beplanting": "77314000",
    "gardening": "77314000", "grounds": "77314000", "landscap": "77314000",
    "mowing": "77314000",
    # courier, post
    "koerier": "64120000", "kourier": "64120000", "courier": "64120000",
    "pakketbezorg": "64120000", "bezorging": "64120000", "delivery": "64120000",
    "parcel": "64120000", "post": "64110000",
    # laundry, workwear
    "wasserij": "98310000", "was en strijk": "98310000", "stomerij": "98310000",
    "werkkleding": "98310000", "linnen": "98310000", "handdoek": "98310000",
    "laundry": "98310000", "workwear": "98310000", "towel": "98310000",
    "bedrijfskleding": "18100000",
    # waste, recycling
    "afval": "90511000", "container": "90511000", "oud papier": "90511000",
    "recycl": "90511000", "waste": "90511000", "refuse": "90511000", "inzameling": "90511000",
    # bicycles
    "fiets": "50000000", "rijwiel": "50000000", "bicycle": "50000000", "bike": "50000000",
    "cycle": "50000000",
    # office supplies
    "kantoorartikel": "30192000", "kantoorbenodigd": "30192000", "schrijfwaren": "30192000",
    "papier": "30197600", "pennen": "30192000", "ordner": "30192000", "nietjes": "30192000",
    "stationery": "30192000", "office supplies": "30192000", "desk supplies": "30192000",
    # energy, utilities
    "stroom": "09310000", "elektr": "09310000", "electric": "09310000", "power": "09310000",
    "energie": "09310000", "aardgas": "09123000", "gas ": "09123000", "gaslever": "09123000",
    "gasverbr": "09123000", "natural gas": "09123000", "water": "65110000",
    "diesel": "09134100", "brandstof": "09134100", "tank": "09134100", "fuel": "09134100",
    "benzine": "09132000",
    # rent
    "huur": "70220000", "rent": "70220000", "lease": "70220000", "pand": "70220000",
    # insurance, finance
    "verzeker": "66510000", "premie": "66510000", "polis": "66510000",
    "insurance": "66510000", "premium": "66510000", "bankkost": "66110000",
    # software and licences
    "licentie": "48000000", "licence": "48000000", "license": "48000000",
    "software": "48000000", "saas": "48000000", "abonnement software": "48000000",
    # telecom
    "telefoon": "64210000", "mobiel": "64210000", "internet": "64210000",
    "glasvezel": "64210000", "phone": "64210000", "mobile": "64210000",
    # professional services
    "accountant": "79211000", "jaarrekening": "79211000", "administratie": "79211000",
    "boekhoud": "79211000", "bookkeeping": "79211000", "accountancy": "79211000",
    "audit": "79212000", "advocaat": "79110000", "juridisch": "79110000",
    "advocat": "79110000", "jurist": "79110000", "jaarwerk": "79211000",
    "loonadministratie": "79211000",
    "salarisadministratie": "79211000", "advies": "79400000", "consultancy": "79400000",
    # banking
    "rente": "66110000", "provisie": "66110000", "transactiekost": "66110000",
    # building materials, building trades and their equipment
    "bouwmateria": "44111000", "bouwstof": "44111000", "building material": "44111000",
    "cement": "44111000", "mortel": "44111000", "kalkzandsteen": "44111000",
    "isolatie": "44111000", "insulation": "44111000", "beton": "44114000",
    "concrete": "44114000", "wapening": "44200000", "houthandel": "44191000",
    "balken": "44191000", "timber": "44191000", "hout": "44191000", "kozijn": "44221000",
    "dakpan": "44112000", "gereedschap": "44510000", "tools": "44510000",
    "onderaannem": "45000000", "stucwerk": "45410000", "stukadoor": "45410000",
    "pleisterwerk": "45410000", "schilderwerk": "45442100", "schilder": "45442100",
    "tegelwerk": "45431000", "tegelzet": "45431000", "loodgieter": "45330000",
    "sanitair": "45330000", "plumbing": "45330000", "elektrotechn": "45310000",
    "groepenkast": "45310000", "installatiebedr": "45300000", "installatiewerk": "45300000",
    "steiger": "45262100", "scaffold": "45262100", "kraanverhuur": "45510000",
    "mobiele kraan": "45510000", "hijskraan": "45510000", "crane": "45510000",
    "minigraver": "45500000", "graafmachine": "45500000", "verreiker": "45500000",
    "bouwmachine": "45500000", "huur materieel": "45500000", "grondverzet": "45112000",
    "ontgraven": "45112000", "grondwerk": "45112000", "sloopwerk": "45111000",
    "cv-ketel": "50720000", "cv ketel": "50720000", "ketelonderhoud": "50720000",
    "liften": "50750000", "liftonderh": "50750000", "liftservice": "50750000",
    "onderhoud install": "50700000", "onderhoud gebouw": "50700000",
    "puin": "90500000", "bouwafval": "90500000", "sloopafval": "90500000",
    # vehicles, their lease and repair
    "bestelbus": "34136000", "bestelauto": "34136000", "bestelwagen": "34136000",
    "leaseauto": "34110000", "lease auto": "34110000", "autolease": "34110000",
    "leasekosten auto": "34110000", "leasewagen": "34110000", "car lease": "34110000",
    "autobedrijf": "50112000", "garage": "50112000", "apk": "50112000",
    "autorepar": "50112000", "onderhoud auto": "50112000", "banden": "50112000",
    # computers, hosting, software by name
    "laptop": "30213100", "notebook": "30213100", "monitor": "30231000",
    "beeldscherm": "30231000", "docking": "30200000", "hardware": "30200000",
    "toner": "30192000", "hosting": "72415000", "vps": "72415000", "server": "72415000",
    "microsoft": "48000000", "office 365": "48000000", "m365": "48000000",
    "subscription": "48000000", "users": "48000000", "seats": "48000000",
    "telefonie": "64210000",
    # design, marketing, events, gifts
    "huisstijl": "79822500", "grafisch ontwerp": "79822500", "graphic design": "79822500",
    "vormgeving": "79822500", "reclame": "79341000", "advertentie": "79341000",
    "adverti": "79341000", "campagne": "79341000", "bouwbord": "79341000",
    "marketing": "79342000", "evenement": "79952000", "event": "79952000",
    "teamdag": "79952000", "personeelsuit": "79952000", "bedrijfsuit": "79952000",
    "beurs": "79956000", "standbouw": "79956000", "exhibition": "79956000",
    "kerstpakket": "18530000", "relatiegeschenk": "18530000", "geschenk": "18530000",
    "attentie": "18530000", "gift": "18530000",
    "kerstdiner": "55520000", "kerstlunch": "55520000", "diner": "55520000",
    "dinner": "55520000", "brunch": "55520000",
    # staff, recruitment, training, travel
    "uitzend": "79620000", "inhuur": "79620000", "detachering": "79620000",
    "temp staff": "79620000", "verpleegk": "79624000", "zorgpersoneel": "79624000",
    "nursing staff": "79624000", "werving": "79600000", "recruitment": "79600000",
    "headhunt": "79600000", "training": "80500000", "cursus": "80500000",
    "opleiding": "80500000", "scholing": "80500000", "course": "80500000",
    "workshop": "80500000", "vca": "80550000", "bhv": "80550000", "ehbo": "80550000",
    "hotel": "55110000", "overnachting": "55110000", "vlucht": "60410000",
    "vliegti": "60410000", "flight": "60410000", "trein": "60210000",
    "ns business card": "60210000", "ov-chip": "60210000", "ovchip": "60210000",
    "train ticket": "60210000",
    # workwear and protective gear
    "veiligheidsschoen": "18830000", "werkschoen": "18830000", "werkbroek": "18100000",
    "werkjas": "18100000", "zorgtuniek": "18100000", "pbm": "18143000",
    # care, food, personal services
    "apotheek": "33600000", "geneesmiddel": "33600000", "medicijn": "33600000",
    "baxter": "33600000", "pharmac": "33600000", "incontinentie": "33141000",
    "medisch": "33140000", "medical supplies": "33140000",
    "levensmiddel": "15000000", "boodschappen": "15000000", "groceries": "15000000",
    "voeding": "15000000", "brood": "15810000", "banket": "15810000",
    "bakkerij": "15810000", "kapper": "98321000", "kapsalon": "98321000",
    "haircut": "98321000", "pedicure": "98320000", "manicure": "98320000",
    "muziek": "92000000", "concert": "92000000", "voorstelling": "92000000",
    # memberships, periodicals, fees
    "contributie": "98100000", "lidmaatschap": "98100000", "membership": "98100000",
    "vakblad": "22200000", "tijdschrift": "22200000", "magazine": "22200000",
    "leges": "75100000", "omgevingsvergunning": "75100000", "precario": "75100000",
    "tankbeurt": "09134100", "tanken": "09134100", "tankpas": "09134100",
    "vastgoed": "70220000", "verhuis": "98392000", "beveiliging": "79710000",
    "bewaking": "79710000", "security": "79710000",
    # hospitality: bookings, taxes, textiles, hygiene, decoration, pests, rights
    "boekingssite": "63510000", "booking commission": "63510000", "bookings": "63510000",
    "reisbureau": "63510000", "travel agency": "63510000", "belasting": "75100000",
    "heffing": "75100000", "badlaken": "39512000", "kussensloop": "39512000",
    "beddengoed": "39512000", "bedlinnen": "39512000", "dekbed": "39512000",
    "toiletpapier": "33760000", "handdoekrol": "33760000", "zeep": "39830000",
    "vaatwasmiddel": "39830000", "afwasmiddel": "39830000", "reinigingsmiddel": "39830000",
    "bloem": "03121000", "flowers": "03121000", "ongedierte": "90922000",
    "pest control": "90922000", "auteursrecht": "92000000", "muzieklicentie": "92000000",
    "ramen": "90911300", "verf": "44810000", "paint": "44810000", "kwast": "44810000",
    "bouwmarkt": "44000000",
}

# Stems that count as whole words only ("rent" is not "rente", "hout" not "houten"...).
WHOLE: frozenset[str] = frozenset({
    "gas", "rent", "hout", "vps", "m365", "apk", "pbm", "vca", "bhv", "ehbo", "tools",
    "users", "seats", "event", "gift", "diner", "trein", "puin", "beurs", "ramen", "zeep",
    "verf", "paint"})
# English words are not the parts of Dutch compounds: "kwasten" holds no waste.
NOT_INSIDE: frozenset[str] = frozenset({
    "waste", "cycle", "power", "towel", "phone", "course", "tools", "users",
    "seats", "crane", "audit", "refuse", "parcel", "mobile", "window", "grounds", "server",
    "monitor", "haircut", "timber", "flight", "folder", "bookings", "flowers", "water",
    "delivery", "premium"})

_LEGAL = re.compile(r"\b(b ?v|n ?v|v ?o ?f|vof|bv|nv|cv|holding|en zn|zn|co)\b")
# A number on its own (invoice, week, year, quantity): "m365" and "a4" keep theirs.
_DIGITS = re.compile(r"\b\d+\b")
_ABBREV = re.compile(r"\b([a-zà-ÿ]{3,})\.")
_WORD = re.compile(r"[a-z]{3,}")


@lru_cache(maxsize=65536)
def fold_supplier(name: str) -> str:
    """A supplier's name compared across lines: folded, legal form dropped."""
    return " ".join(_LEGAL.sub(" ", fast_fold(name)).split())


def addressable(cpv: str) -> bool:
    return non_addressable_reason(cpv) is None


def non_addressable_reason(cpv: str) -> str | None:
    for n in range(len(cpv), 1, -1):
        reason = NON_ADDRESSABLE.get(cpv[:n])
        if reason is not None:
            return reason or None
    return None


@dataclass(frozen=True)
class SpendLine:
    supplier: str
    description: str = ""
    account: str = ""
    kvk: str | None = None


@dataclass(frozen=True)
class SpendLabel:
    cpv: str
    confidence: float  # 0..1
    # "supplier", "keyword", "supplier_name", "account", "text", "supplier_pattern",
    # "account_pattern", "none"
    source: str
    needs_review: bool


@lru_cache(maxsize=1)
def _words() -> dict[str, str]:
    """prefix -> the commonest vocabulary word starting with it (abbreviation expansion),
    for prefixes of 3+ letters; built from the CPV labels and the lexicon."""
    counts: Counter[str] = Counter()
    for c in cpv_vocabulary().values():
        counts.update(_WORD.findall(fast_fold(c.label_nl + " " + c.label_en)))
    for stem in LEXICON:
        counts.update(_WORD.findall(stem))
    best: dict[str, tuple[int, str]] = {}
    for w, n in counts.items():
        for k in range(3, len(w)):
            p = w[:k]
            if p not in best or n > best[p][0]:
                best[p] = (n, w)
    return {p: w for p, (_, w) in best.items()}


# Words that date or number a booking, not what was bought.
_NOISE: frozenset[str] = frozenset("""
    januari februari maart april mei juni juli augustus september oktober november december
    january february march may june july august october
    jan feb mrt apr jun jul aug sep sept okt oct nov dec
    wk week weeks kw kwartaal quarter periode period maand month termijn
    creditnota credit note factuur invoice nr no st stuks
    fact fac fa factuurnr inkoopfactuur inkoopfact creditfactuur nota ref order bestelling
    voorschot diversen div overig proj project abonnement abonnementen incl excl btw pers
    yearly annual jaarlijks""".split())


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Folded text with abbreviations ("schoonm.") expanded to the commonest vocabulary
    word they start ("schoonmaak..."), digits dropped (week numbers, invoice numbers)."""
    if not text:
        return ""
    words = _words()
    low = text.lower()
    low = _ABBREV.sub(lambda m: m.group(1) + " " if m.group(1) in _NOISE else
                      words.get(fast_fold(m.group(1)), m.group(1)) + " ", low)
    return " ".join(w for w in _DIGITS.sub(" ", fast_fold(low)).split() if w not in _NOISE)


@lru_cache(maxsize=1)
def _lexicon_patterns() -> tuple[tuple[str, str, bool], ...]:
    # (stem, cpv, inside_compound) longest first
    out = []
    for stem, cpv in LEXICON.items():
        s = stem.strip()
        out.append((s, cpv, len(s) >= 5 and " " not in s and s not in WHOLE
                    and s not in NOT_INSIDE))
    out.sort(key=lambda x: -len(x[0]))
    return tuple(out)


# Words that say how, not what ("delivery", "container"): they decide only when no other
# stem matches ("coffee delivery" is coffee).
WEAK: frozenset[str] = frozenset({
    "bezorging", "delivery", "container", "post", "power", "water", "tank", "pand", "premie",
    "premium", "reiniging", "papier", "administratie", "abonnement software", "refuse",
    "advies", "consultancy", "users", "seats", "subscription", "tools", "hardware",
    "medisch", "voeding", "onderhoud gebouw", "onderhoud install",
    # how it was had, or what it was for, rather than what was bought ("lease 3x bestelbus",
    # "fietskoerier", "huur steiger"): they decide only when nothing else is named
    "huur", "lease", "inhuur", "fiets", "bike", "cycle", "bicycle", "rijwiel"})


def keyword(text: str) -> str | None:
    """The CPV code of the longest lexicon stem in (normalised) ``text``, weak words last."""
    return keyword_hit(text)[0]


@lru_cache(maxsize=65536)
def keyword_hit(text: str, typos: bool = True) -> tuple[str | None, bool]:
    """(CPV code, whether only a weak word said it) of the longest lexicon stem in
    (normalised) ``text``; ``typos``: a stem one edit away counts too (not in names:
    "Branchevereniging" is no typo of "brunch")."""
    if not text:
        return None, False
    padded = f" {text} "
    weak: str | None = None
    best: tuple[int, str] | None = None  # (word index, cpv) of the first word with a stem
    for stem, cpv, inside in _lexicon_patterns():
        # a whole word only: "gast" is not gas, "rente" is not rent
        at = padded.find(f" {stem} " if stem in WHOLE else f" {stem}")
        if at >= 0:
            word = padded.count(" ", 0, at)
        elif inside and (at := text.find(stem)) >= 0:
            word = text.count(" ", 0, at)
        else:
            continue
        if stem in WEAK:
            weak = weak or cpv
            continue
        # The first word that names something wins ("lunchvoorziening teamdag" is lunch,
        # "schilderwerk kozijnen" painting); within a word the longest stem (patterns
        # come longest first: "fietskoerier" is a courier, "schoonmaakmiddel" a product).
        if best is None or word < best[0]:
            best = (word, cpv)
            if word == 0:
                break
    if best is not None:
        return best[1], False
    if weak:
        return weak, True
    return (_typo_keyword(text) if typos else None), False


@lru_cache(maxsize=65536)
def supplier_keyword(name: str) -> str | None:
    """What a supplier's name says it sells ("Schoonmaakbedrijf De Glans",
    "Drukkerij Het Vel", "Houthandel Eikenrood"), legal form dropped; None for a name
    that says nothing ("Van den Berg Holding")."""
    cpv, weak = keyword_hit(fold_supplier(name), typos=False)
    return None if weak else cpv


def _typo_keyword(text: str) -> str | None:
    """A lexicon stem of 6+ letters one edit away from the start of a word ("groeonderhoud",
    "bookkeping"): bookkeeping text is typed in a hurry, and char n-grams alone then drift
    to an unrelated code."""
    for word in text.split():
        if len(word) < 6:
            continue
        for stem, cpv, _inside in _lexicon_patterns():
            n = len(stem)
            if n < 6 or " " in stem or stem in WEAK:
                continue
            for k in (n - 1, n, n + 1):
                if k <= len(word) and Levenshtein.distance(word[:k], stem, score_cutoff=1) <= 1:
                    return cpv
    return None


def _account_name(account: str) -> str:
    return normalise(account)


@lru_cache(maxsize=2)
def _vocabulary_model(ngram_min: int, ngram_max: int
                      ) -> tuple[TfidfVectorizer, sp.csr_matrix, tuple[str, ...]]:
    """The char n-gram model of the bilingual CPV vocabulary: one document per code (its
    Dutch and English labels, and the lexicon stems pointing at it). Read-only, shared."""
    voc = cpv_vocabulary()
    extra: dict[str, list[str]] = defaultdict(list)
    for stem, cpv in LEXICON.items():
        extra[cpv].append(stem)
    codes = tuple(sorted(voc))
    docs = [normalise(voc[c].label_nl + " " + voc[c].label_en + " " + " ".join(extra[c]))
            for c in codes]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(ngram_min, ngram_max),
                          sublinear_tf=True, dtype=np.float32)
    matrix = vec.fit_transform(docs).tocsr()
    return vec, matrix, codes


class SpendClassifier:
    """Classify ledger lines into CPV codes: rules, then char n-gram text similarity.

    ``fit(X, y)`` learns from corrections (lines and the CPV code a person gave them);
    ``known_suppliers`` maps a folded supplier name or a KvK number to a CPV code the
    classifier should trust (the registry's social enterprises).
    """

    # "weak": a description whose only lexicon word says how rather than what ("advies",
    # "users"); "conflict": the description's word and the supplier's name point at
    # different divisions ("elektra" from an electrical contractor): a person decides.
    RULE_CONFIDENCE = {"supplier": 0.98, "keyword": 0.9, "supplier_name": 0.8, "account": 0.75,
                       "weak": 0.7, "conflict": 0.5}

    def __init__(self, review_threshold: float = 0.6, ngram_range: tuple[int, int] = (3, 5),
                 temperature: float = 0.04, top_k: int = 5, pattern_share: float = 0.7,
                 use_lexicon: bool = True, batch_size: int = 2000) -> None:
        self.review_threshold = review_threshold
        self.ngram_range = ngram_range
        self.temperature = temperature
        self.top_k = top_k
        self.pattern_share = pattern_share
        self.use_lexicon = use_lexicon
        self.batch_size = batch_size

    # -- learning ------------------------------------------------------------------------
    def fit(self, X: Sequence[SpendLine] = (), y: Sequence[str] = (),
            known_suppliers: Mapping[str, str] | None = None) -> SpendClassifier:
        if len(X) != len(y):
            raise ValueError(f"X and y differ in length ({len(X)} vs {len(y)})")
        vec, matrix, codes = _vocabulary_model(*self.ngram_range)
        self.vectorizer_ = vec
        self.classes_ = np.array(codes)
        self._class_index = {c: i for i, c in enumerate(codes)}
        for c in y:
            if c not in self._class_index:
                raise ValueError(f"correction CPV {c!r} is not in the CPV 2008 vocabulary")
        # Later corrections override earlier ones for the same supplier or account.
        self.supplier_cpv_: dict[str, str] = {}
        for k, c in (known_suppliers or {}).items():
            self.supplier_cpv_[k if k.isdigit() else fold_supplier(k)] = c
        by_account: dict[str, Counter[str]] = defaultdict(Counter)
        texts: list[str] = []
        labels: list[int] = []
        for line, cpv in zip(X, y, strict=True):
            self.supplier_cpv_[fold_supplier(line.supplier)] = cpv
            if line.kvk:
                self.supplier_cpv_[line.kvk] = cpv
            if line.account:
                by_account[line.account.strip().lower()][cpv] += 1
            text = self._text(line)
            if text:
                texts.append(text)
                labels.append(self._class_index[cpv])
        # An account number belongs to a category when the corrections in it agree.
        self.account_cpv_ = {a: cnt.most_common(1)[0][0] for a, cnt in by_account.items()
                             if cnt.most_common(1)[0][1] >= 2 and len(cnt) == 1}
        self.doc_class_ = np.concatenate([np.arange(len(codes)), np.array(labels, dtype=int)])
        docs = matrix
        if texts:
            docs = sp.vstack([matrix, vec.transform(texts)]).tocsr()
        self.docs_ = docs.T.tocsr().astype(np.float32)
        return self

    def _text(self, line: SpendLine) -> str:
        desc = normalise(line.description)
        return " ".join(x for x in (desc, _account_name(line.account)) if x)

    # -- prediction ----------------------------------------------------------------------
    def _text_scores(self, texts: Sequence[str]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Top-k classes and softmax probabilities per text (nearest document per class)."""
        k = self.top_k
        n = len(texts)
        top = np.zeros((n, k), dtype=np.int64)
        prob = np.zeros((n, k), dtype=np.float64)
        n_docs = self.docs_.shape[1]
        for start in range(0, n, self.batch_size):
            chunk = texts[start:start + self.batch_size]
            q = self.vectorizer_.transform(chunk).astype(np.float32)
            sims = (q @ self.docs_).toarray()  # (batch, docs)
            # Per class, its best document: corrections add documents to their class.
            if n_docs > len(self.classes_):
                extra = sims[:, len(self.classes_):]
                cls = self.doc_class_[len(self.classes_):]
                base = sims[:, :len(self.classes_)]
                for j, c in enumerate(cls):
                    np.maximum(base[:, c], extra[:, j], out=base[:, c])
                sims = base
            idx = np.argpartition(-sims, k, axis=1)[:, :k]
            vals = np.take_along_axis(sims, idx, axis=1)
            order = np.argsort(-vals, axis=1)
            idx = np.take_along_axis(idx, order, axis=1)
            vals = np.take_along_axis(vals, order, axis=1)
            z = np.exp((vals - vals[:, :1]) / self.temperature)
            p = z / z.sum(axis=1, keepdims=True)
            # An absolute floor: a text close to nothing is unsure however peaked.
            p = p * np.clip(vals[:, :1] / 0.5, 0.0, 1.0)
            top[start:start + len(chunk)] = idx
            prob[start:start + len(chunk)] = p
        return top, prob

    def classify(self, X: Sequence[SpendLine]) -> list[SpendLabel]:
        """One label per line (the work behind predict and predict_proba)."""
        n = len(X)
        out: list[SpendLabel | None] = [None] * n
        pending: dict[str, list[int]] = defaultdict(list)  # text -> lines for the text model
        # A year of lines repeats the same supplier, text and account: decide each once.
        done: dict[SpendLine, int] = {}
        for i, line in enumerate(X):
            first = done.setdefault(line, i)
            if first != i:
                continue
            sup = self.supplier_cpv_.get(fold_supplier(line.supplier)) or (
                self.supplier_cpv_.get(line.kvk) if line.kvk else None)
            if sup:
                out[i] = self._label(sup, "supplier")
                continue
            desc = normalise(line.description)
            hit, weak = keyword_hit(desc) if self.use_lexicon else (None, False)
            named = supplier_keyword(line.supplier) if self.use_lexicon else None
            if hit and not weak:
                if named and named[:2] != hit[:2]:
                    out[i] = self._label(hit, "keyword", self.RULE_CONFIDENCE["conflict"])
                else:
                    out[i] = self._label(hit, "keyword")
                continue
            if named:
                out[i] = self._label(named, "supplier_name")
                continue
            acc_key = line.account.strip().lower()
            acc = self.account_cpv_.get(acc_key) or (
                self.account_cpv_.get(acc_key.split()[0]) if acc_key else None)
            if acc is None and self.use_lexicon:
                acc = keyword_hit(_account_name(line.account))[0]
            if acc and not desc:
                out[i] = self._label(acc, "account")
                continue
            if acc and hit and hit[:2] == acc[:2]:
                # A weak word the account's name backs ("Huur januari" on "Huur
                # kantoorruimte"): the line's own words, as sure as the account.
                out[i] = self._label(acc, "keyword", self.RULE_CONFIDENCE["account"])
                continue
            if hit:
                out[i] = self._label(hit, "keyword", self.RULE_CONFIDENCE["weak"])
                continue
            if acc:
                # The description says nothing the lexicon knows; the account's name does.
                out[i] = self._label(acc, "account", self.RULE_CONFIDENCE["weak"])
                continue
            text = self._text(line)
            if text:
                pending[text].append(i)
            else:
                out[i] = SpendLabel("", 0.0, "none", True)
        if pending:
            self._text_labels(X, pending, out)
        for i, line in enumerate(X):
            if out[i] is None:
                out[i] = out[done[line]]
        labels = [x if x is not None else SpendLabel("", 0.0, "none", True) for x in out]
        return self._patterns(X, labels)

    def _text_labels(self, X: Sequence[SpendLine], pending: Mapping[str, list[int]],
                     out: list[SpendLabel | None]) -> None:
        """The text model's label for each pending line. Its softmax alone says little (on
        the dev ledgers a text guess is right at division level about 60 % of the time
        at any confidence), so the confidence is scaled by how many of the line's other
        views (the description alone, the account's name alone, the supplier's name)
        the model puts in the same division: a guess no other view backs goes to
        review."""
        texts = list(pending)
        views: dict[int, tuple[str, ...]] = {}
        for t in texts:
            for i in pending[t]:
                ln = X[i]
                each = (normalise(ln.description), _account_name(ln.account),
                        normalise(fold_supplier(ln.supplier)))
                views[i] = tuple(dict.fromkeys(v for v in each if v and v != t))
        every = list(dict.fromkeys([*texts, *(v for vs in views.values() for v in vs)]))
        top, prob = self._text_scores(every)
        best = {t: (str(self.classes_[row_top[0]]), float(row_p[0]))
                for t, row_top, row_p in zip(every, top, prob, strict=True)}
        for t in texts:
            cpv, p = best[t]
            for i in pending[t]:
                vs = views[i]
                share = (sum(best[v][0][:2] == cpv[:2] for v in vs) / len(vs)) if vs else 1.0
                out[i] = self._label(cpv, "text", p * (0.5 + 0.5 * share))

    def _label(self, cpv: str, source: str, confidence: float | None = None) -> SpendLabel:
        conf = self.RULE_CONFIDENCE[source] if confidence is None else confidence
        return SpendLabel(cpv, round(conf, 4), source, conf < self.review_threshold)

    def _patterns(self, X: Sequence[SpendLine], labels: list[SpendLabel]) -> list[SpendLabel]:
        """A supplier's (then an account's) sure lines lend their category to its unsure
        ones, when they agree on it by at least ``pattern_share`` of their confidence."""
        sup_keys = [fold_supplier(ln.supplier) for ln in X]
        acc_keys = [ln.account.strip().lower() for ln in X]
        for keys, source in ((sup_keys, "supplier_pattern"), (acc_keys, "account_pattern")):
            if not any(lab.needs_review or lab.source == "account" for lab in labels):
                break
            votes: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
            counts: dict[str, Counter[str]] = defaultdict(Counter)
            for key, lab in zip(keys, labels, strict=True):
                if lab.cpv and not lab.needs_review and lab.source != "account":
                    votes[key][lab.cpv] += lab.confidence
                    counts[key][lab.cpv] += 1
            for i, (key, lab) in enumerate(zip(keys, labels, strict=True)):
                # An empty description guessed from the account's name: the supplier's
                # own lines know better ("Kantinekosten" holds coffee and catering).
                weak_guess = source == "supplier_pattern" and lab.source == "account"
                if not lab.needs_review and not weak_guess:
                    continue
                if lab.source == "keyword" and source == "account_pattern":
                    # Its words and its supplier's name disagree: the supplier's other
                    # lines may settle it, an account (broader) does not.
                    continue
                if not key or key not in votes:
                    continue
                cpv, weight = max(votes[key].items(), key=lambda kv: kv[1])
                share = weight / sum(votes[key].values())
                if share >= self.pattern_share:
                    # No surer than the lines it comes from; an account is a broader hint.
                    mean = weight / counts[key][cpv]
                    conf = share * mean * (1.0 if source == "supplier_pattern" else 0.8)
                    labels[i] = SpendLabel(cpv, round(conf, 4), source,
                                           conf < self.review_threshold)
        return labels

    def predict(self, X: Sequence[SpendLine]) -> NDArray[np.str_]:
        return np.array([lab.cpv for lab in self.classify(X)])

    def predict_proba(self, X: Sequence[SpendLine]) -> sp.csr_matrix:
        """(n_lines, n_classes) probabilities, sparse: with 9,454 CPV classes a dense matrix
        of 100,000 lines would take 3.8 GB; only the chosen class is stored (its
        confidence), the rest of the mass is unassigned."""
        labels = self.classify(X)
        rows, cols, vals = [], [], []
        for i, lab in enumerate(labels):
            if lab.cpv:
                rows.append(i)
                cols.append(self._class_index[lab.cpv])
                vals.append(lab.confidence)
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(X), len(self.classes_)))


@dataclass(frozen=True)
class SpendScore:
    lines: int
    division_accuracy: float  # share of spend (absolute euros) with the right CPV division
    exact_accuracy: float  # share of spend with the right 8-digit code
    division_accuracy_lines: float
    auto_share: float  # share of spend classified above the review threshold
    auto_division_accuracy: float  # division accuracy on the auto-classified spend
    addressable_precision: float
    addressable_recall: float


def score(labels: Sequence[SpendLabel], truth: Sequence[str], amounts: Iterable[float],
          truth_addressable: Sequence[bool] | None = None) -> SpendScore:
    """Spend-weighted accuracy against labelled lines (absolute euros: a credit note counts
    as spend classified). Addressable precision/recall over euros as well."""
    amt: NDArray[np.float64] = np.abs(np.array(list(amounts), dtype=float))
    pred = [lab.cpv for lab in labels]
    div = np.array([p[:2] == t[:2] for p, t in zip(pred, truth, strict=True)])
    exact = np.array([p == t for p, t in zip(pred, truth, strict=True)])
    auto = np.array([not lab.needs_review for lab in labels])
    total = amt.sum() or 1.0
    t_addr = np.array(truth_addressable if truth_addressable is not None
                      else [addressable(t) for t in truth])
    p_addr = np.array([bool(p) and addressable(p) for p in pred])
    tp = amt[t_addr & p_addr].sum()
    return SpendScore(
        lines=len(pred),
        division_accuracy=float(amt[div].sum() / total),
        exact_accuracy=float(amt[exact].sum() / total),
        division_accuracy_lines=float(div.mean()) if len(div) else math.nan,
        auto_share=float(amt[auto].sum() / total),
        auto_division_accuracy=float(amt[auto & div].sum() / (amt[auto].sum() or 1.0)),
        addressable_precision=float(tp / (amt[p_addr].sum() or 1.0)),
        addressable_recall=float(tp / (amt[t_addr].sum() or 1.0)),
    )
