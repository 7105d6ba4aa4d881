"""Search-as-you-type over the CPV 2008 vocabulary (Dutch and English labels).

The labels are ``matcher.refdata.cpv_vocabulary`` (the one owner of CPV codes and labels).
The index is built once per process: each distinct folded word of any label points to the
codes using it. A query scans only the distinct words (~10,000), never the 9,000+ labels,
so a lookup takes about a millisecond.

Scoring per query word: a curated sense of the word (``SENSES``) 4, a whole label word 3,
the start of a word 2 ("schoonmaak" in "schoonmaakdiensten"), inside a compound word 1;
every query word must match. A Dutch compound that matches no label word is split into
label words (``matcher.bilingual.CompoundSplitter``: "kantoorschoonmaak" -> "kantoor" +
"schoonmaak") and each part must match. A label starting with the first word gets +0.5.

Ties go to the sense most often bought with social return: services before works before
supplies (the CPV's own type of each code; social return is asked for in service and works
contracts, and social enterprises mostly sell services: "groen" is green maintenance
before it is vegetables), then the more general code (lower level), then the code order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from matcher.bilingual import CompoundSplitter, term_map
from matcher.refdata import cpv_vocabulary, fold
from matcher.text import Analyzer


@dataclass(frozen=True)
class CpvIndex:
    words: dict[str, frozenset[str]]  # folded word -> codes
    codes: tuple[str, ...]  # all codes, sorted


def warm() -> None:
    """Build the indexes now (at app start) rather than on the first keystroke."""
    cpv_index()
    _folded_labels()
    _splitter()


@lru_cache(maxsize=1)
def cpv_index() -> CpvIndex:
    words: dict[str, set[str]] = defaultdict(set)
    for code, node in cpv_vocabulary().items():
        for word in set(fold(node.label_nl).split()) | set(fold(node.label_en).split()):
            if len(word) > 1:
                words[word].add(code)
    return CpvIndex({w: frozenset(c) for w, c in words.items()},
                    tuple(sorted(cpv_vocabulary())))


@lru_cache(maxsize=1)
def _folded_labels() -> dict[str, tuple[str, str]]:
    return {code: (fold(n.label_nl), fold(n.label_en)) for code, n in cpv_vocabulary().items()}


@lru_cache(maxsize=1)
def _splitter() -> CompoundSplitter:
    # Parts must be words the Dutch labels use on their own, Dutch words of the bilingual
    # term map (its own compound parts: "tuin", "onderhoud"), or words with synonyms below.
    words = {w for n in cpv_vocabulary().values() for w in fold(n.label_nl).split()}
    return CompoundSplitter(words | term_map().splitter.words | set(SYNONYMS),
                            Analyzer(ngram_max=1))


# Everyday Dutch words the official CPV translation does not use ("schoonmaak" is
# "reiniging" there). Small on purpose: only words people demonstrably type.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "schoonmaak": ("reiniging", "reinigingsdiensten"),
    "schoonmaken": ("reiniging", "reinigingsdiensten"),
    "schoonmaakdiensten": ("reinigingsdiensten",),
    "groenonderhoud": ("groengebieden",),
    "groenvoorziening": ("groengebieden",),
    "hovenier": ("tuinen", "groengebieden"),
    "beveiliging": ("beveiligingsdiensten",),
    "verhuizing": ("verhuisdiensten",),
    "kantine": ("catering", "kantinediensten"),
    "fiets": ("fietsen",),
}

# Words and phrases whose usual meaning in public procurement the labels do not spell out,
# with the codes of that meaning, most usual first. Curated by the project from the words
# officers type (issue #16: "glasbewassing", "fietsenstalling", "groen") and the wording
# of Dutch municipal tenders ("glazenwassersdiensten", "beheer fietsenstalling",
# "groenonderhoud"); each code checked against its CPV 2008 label. Not measured on a
# search log: there is none yet.
SENSES: Mapping[str, tuple[str, ...]] = {
    # Window cleaning services; the parent also names "glazenwassersdiensten".
    "glasbewassing": ("90911300", "90911000"),
    "glazenwassen": ("90911300", "90911000"),
    "glazenwasser": ("90911300", "90911000"),
    "glasreiniging": ("90911300", "90911000"),
    "ramen lappen": ("90911300",),
    # A bicycle park: running it (parking services), building it (buildings associated
    # with transport), its shelters (bus shelters, shelters).
    "fietsenstalling": ("63712400", "45213300", "44212321", "44112100"),
    "fietsstalling": ("63712400", "45213300", "44212321", "44112100"),
    "fietsenrekken": ("44212321", "44112100"),
    "bicycle parking": ("63712400", "45213300", "44212321", "44112100"),
    "bike parking": ("63712400", "45213300", "44212321", "44112100"),
    # Green maintenance: planting and maintaining green areas, gardens, parks, grounds,
    # landscaping of green areas.
    "groen": ("77310000", "77311000", "77313000", "77314000", "45112710"),
    "groenbeheer": ("77310000", "77311000", "77313000", "77314000"),
    "groenonderhoud": ("77310000", "77311000", "77313000", "77314000"),
    "groenvoorziening": ("77310000", "77311000", "77313000", "77314000", "45112710"),
    "green maintenance": ("77310000", "77311000", "77313000", "77314000"),
    "grounds maintenance": ("77314000", "77310000"),
}
SENSE_SCORE = 4.0

STOPWORDS = frozenset("""van de het een en of voor met in op aan bij te tot
the and of for a an to with on in by""".split())
# Ties: what social return is mostly asked for first (see the module's docstring).
TYPE_ORDER = {"services": 0, "works": 1, "supplies": 2}

_DIGITS = re.compile(r"^\s*(\d{1,8})(?:-\d)?\s*$")


def _word_scores(variants: tuple[str, ...]) -> dict[str, float]:
    """Codes whose labels contain one of ``variants``: 3 whole word, 2 start, 1 inside."""
    out: dict[str, float] = {}
    for word, codes in cpv_index().words.items():
        s = 0.0
        for variant in variants:
            if word == variant:
                s = 3.0
                break
            if word.startswith(variant):
                s = max(s, 2.0)
            elif len(variant) >= 3 and variant in word:
                s = max(s, 1.0)
        if not s:
            continue
        for code in codes:
            if out.get(code, 0.0) < s:
                out[code] = s
    return out


def _sense_scores(key: str) -> dict[str, float]:
    # The curated order survives as small steps below SENSE_SCORE.
    return {code: SENSE_SCORE - 0.01 * i for i, code in enumerate(SENSES.get(key, ()))}


def _token_scores(token: str) -> dict[str, float]:
    scores = _word_scores((token, *SYNONYMS.get(token, ())))
    for code, s in _sense_scores(token).items():
        scores[code] = max(scores.get(code, 0.0), s)
    if scores or len(token) < 8:
        return scores
    # A compound no label spells: its parts, each of which must match.
    parts = _splitter().split(token)
    if len(parts) < 2:
        return {}
    return _all_of([_token_scores(p) for p in parts])


def _all_of(per_token: list[dict[str, float]]) -> dict[str, float]:
    """Codes matched by every token, their scores added."""
    if not per_token:
        return {}
    out = dict(per_token[0])
    for scores in per_token[1:]:
        out = {c: out[c] + s for c, s in scores.items() if c in out}
    return out


def _phrases(tokens: list[str]) -> tuple[list[dict[str, float]], list[str]]:
    """The curated multi-word senses in the query (their codes scored per word they
    cover) and the tokens left over."""
    found: list[dict[str, float]] = []
    rest = list(tokens)
    for phrase in sorted((p for p in SENSES if " " in p), key=lambda p: -len(p)):
        words = phrase.split()
        n = len(words)
        for i in range(len(rest) - n + 1):
            if rest[i:i + n] == words:
                scores = _all_of([_word_scores((w, *SYNONYMS.get(w, ()))) for w in words])
                for code, s in _sense_scores(phrase).items():
                    scores[code] = max(scores.get(code, 0.0), s * n)
                found.append(scores)
                del rest[i:i + n]
                break
    return found, rest


def search_cpv(query: str, limit: int = 20) -> list[str]:
    """Codes matching ``query`` (a code prefix or words), best first."""
    query = query.strip()
    if not query:
        return []
    vocab = cpv_vocabulary()
    m = _DIGITS.match(query)
    if m:
        prefix = m.group(1)
        hits = [c for c in cpv_index().codes if c.startswith(prefix)]
        hits.sort(key=lambda c: (vocab[c].level, c))
        return hits[:limit]
    tokens = [t for t in fold(query).split() if t]
    tokens = [t for t in tokens if t not in STOPWORDS] or tokens
    if not tokens:
        return []
    phrase_scores, rest = _phrases(tokens)
    per_token = phrase_scores
    for token in rest:
        scores = _token_scores(token)
        if not scores:
            return []
        per_token.append(scores)
    scores = _all_of(per_token)
    # A label that starts with the first word is usually what was meant:
    # "schoonmaak" -> "Schoonmaakdiensten" before "Meubelen ... schoonmaakproducten".
    folded = _folded_labels()
    firsts = (tokens[0], *SYNONYMS.get(tokens[0], ()))
    for code in scores:
        nl, en = folded[code]
        if nl.startswith(firsts) or en.startswith(firsts):
            scores[code] += 0.5
    ranked = sorted(scores, key=lambda c: (-scores[c], TYPE_ORDER.get(vocab[c].type, 3),
                                           vocab[c].level, c))
    return ranked[:limit]

