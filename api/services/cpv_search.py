"""Search-as-you-type over the CPV 2008 vocabulary (Dutch and English labels).

The index is built once per process: each distinct folded word of any label points
to the codes using it. A query scans only the distinct words (~10,000), never the
9,000+ labels, so a lookup takes about a millisecond.

Scoring per query word: a whole label word 3, the start of a word 2 ("schoonmaak"
in "schoonmaakdiensten"), inside a compound word 1; every query word must match.
A label starting with the first word gets +0.5. Ties go to the more general code
(lower level), then to the code order. Everyday synonyms bridge the official wording.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from matcher.refdata import cpv_vocabulary, fold


@dataclass(frozen=True)
class CpvIndex:
    words: dict[str, frozenset[str]]  # folded word -> codes
    codes: tuple[str, ...]  # all codes, sorted


def warm() -> None:
    """Build the indexes now (at app start) rather than on the first keystroke."""
    cpv_index()
    _folded_labels()


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
    "fietsenstalling": ("fietsenstallingen",),
    "verhuizing": ("verhuisdiensten",),
    "kantine": ("catering", "kantinediensten"),
}
STOPWORDS = frozenset("""van de het een en of voor met in op aan bij te tot
the and of for a an to with on in by""".split())

_DIGITS = re.compile(r"^\s*(\d{1,8})(?:-\d)?\s*$")


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
    index = cpv_index().words
    scores: dict[str, float] | None = None
    for token in tokens:
        token_scores: dict[str, float] = {}
        variants = (token, *SYNONYMS.get(token, ()))
        for word, codes in index.items():
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
                if token_scores.get(code, 0.0) < s:
                    token_scores[code] = s
        if scores is None:
            scores = token_scores
        else:
            scores = {c: scores[c] + s for c, s in token_scores.items() if c in scores}
        if not scores:
            return []
    assert scores is not None
    # A label that starts with the first word is usually what was meant:
    # "schoonmaak" -> "Schoonmaakdiensten" before "Meubelen ... schoonmaakproducten".
    folded = _folded_labels()
    firsts = (tokens[0], *SYNONYMS.get(tokens[0], ()))
    for code in scores:
        nl, en = folded[code]
        if nl.startswith(firsts) or en.startswith(firsts):
            scores[code] += 0.5
    ranked = sorted(scores, key=lambda c: (-scores[c], vocab[c].level, c))
    return ranked[:limit]
