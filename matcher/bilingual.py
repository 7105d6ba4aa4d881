"""Dutch <-> English: a term map learnt from the bilingual CPV labels, and query expansion.

Tenders on TED are often in English, most enterprises describe themselves in Dutch
(about one in six in English). Word TF-IDF alone matches only shared words, so an
English "street lighting maintenance" never meets "onderhoud openbare verlichting".

The CPV 2008 vocabulary (``data/cpv_2008_en_nl.csv``) is a parallel corpus of 9,454
short label pairs ("Cleaning services" / "Schoonmaakdiensten"). ``build_term_map``
aligns their words with IBM Model 1 (EM over the label pairs, both directions; a
pair is kept when each side explains the other), after splitting Dutch compounds
into words the labels also use on their own ("schoonmaakdiensten" -> "schoonmaak"
+ "diensten"). ``python -m matcher.bilingual`` writes the result to
``data/cpv_terms_en_nl.csv`` (source and method in ``data/README.md``); the file is
reproducible byte for byte from the labels.

At query time ``translate`` turns a query text into the other language's words
(English -> Dutch, Dutch -> English; both ways when the language is unclear) plus
the labels of the query's own CPV codes in that language, and ``word_vector`` adds
that text's TF-IDF vector to the query's own at weight ``TRANSLATION_WEIGHT`` (the
query's own words stay the stronger evidence). Enterprise vectors are unchanged, so
nothing is added at index time and a query costs one more ``transform_one``.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from matcher.refdata import DATA_DIR, cpv_label
from matcher.text import STOPWORDS_EN, STOPWORDS_NL, Analyzer, fold_tokens

if TYPE_CHECKING:
    import scipy.sparse as sp

    from matcher.query import Query
    from matcher.text import WordTfidf

TERM_FILE = DATA_DIR / "terms_en_nl.csv"
# Parallel label files: CPV 2008 (procurement) and SBI 2025 (economic activities).
LABEL_FILES = (DATA_DIR / "cpv_2008_en_nl.csv", DATA_DIR / "sbi_2025_nl_en.csv")

# Weight of the translated text's vector beside the query's own (then L2-normalised),
# for an English query (Dutch words are what most enterprises wrote) and for any other
# (English words only reach the one in six that describe themselves in English).
# Chosen on the labelled fixtures with English versions of their tenders
# (tests/data/tenders_en.json, `python -m bench.eval_bilingual`, table in
# bench/README.md): English text-only NDCG@10 0.34 -> 0.58 at 1.0 (0.53 at 0.5, no
# better at 2.0); Dutch text-only 0.73 -> 0.75 at 0.5, the Dutch tenders with codes level.
TRANSLATION_WEIGHT = 1.0
TRANSLATION_WEIGHT_FROM_DUTCH = 0.5
# Per source term at most this many translations, each with at least this score.
MAX_TRANSLATIONS = 2
MIN_SCORE = 0.25
RUNNER_UP = 0.6
# Written to the file (a wider net than used, so the threshold can be tuned without a rebuild).
_FILE_MIN_SCORE = 0.15
_MIN_LABELS = 2  # a pair must co-occur in at least this many label pairs
_EM_ITERATIONS = 8
_MIN_STEM = 3
_MIN_PART = 4  # compound parts: at least this long, and used on their own in the labels


# -- building the map from the CPV labels ------------------------------------------------


class CompoundSplitter:
    """Splits a folded Dutch word into words of a known vocabulary (head + rest, the
    rest again, at most three parts; a linking "s" is dropped): "tuinonderhoud" ->
    ["tuin", "onderhoud"]. Words that do not split come back whole."""

    def __init__(self, words: Iterable[str], analyzer: Analyzer) -> None:
        self.an = analyzer
        self.words = {w for w in words if len(w) >= _MIN_PART}
        self._memo: dict[str, list[str]] = {}

    def _known(self, w: str) -> bool:
        # Written on its own somewhere in the labels, exactly: stems alone let "onder" +
        # "houd" pass for "onderhoud".
        return w in self.words

    def split(self, w: str, depth: int = 0) -> list[str]:
        hit = self._memo.get(w)
        if hit is not None:
            return hit
        best: list[str] | None = None
        for i in range(len(w) - _MIN_PART, _MIN_PART - 1, -1):  # longest head first
            head, rest = w[:i], w[i:]
            if not self._known(head):
                continue
            for tail in (rest, rest[1:] if rest.startswith("s") else ""):
                if len(tail) < _MIN_PART:
                    continue
                if self._known(tail):
                    best = [head, tail]
                    break
                if depth < 1:
                    more = self.split(tail, depth + 1)
                    if len(more) > 1:
                        best = [head, *more]
                        break
            if best:
                break
        out = best or [w]
        self._memo[w] = out
        return out


def english_key(tok: str, an: Analyzer) -> str | None:
    """An English word's lookup stem: plural "-s"/"-ies" folded first (the Dutch
    stemmer the index uses leaves English plurals alone)."""
    if len(tok) > 4 and tok.endswith("ies"):
        tok = tok[:-3] + "y"
    elif len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
        tok = tok[:-1]
    return an.stem(tok)


def _stems(tokens: Iterable[str], key: dict[str, str | None],
           surface: defaultdict[str, Counter[str]]) -> list[str]:
    out: list[str] = []
    for t in tokens:
        s = key.get(t)
        if s and len(s) >= _MIN_STEM and s not in out:
            out.append(s)
            surface[s][t] += 1
    return out


def _ibm1(corpus: Sequence[tuple[list[str], list[str]]],
          iterations: int = _EM_ITERATIONS) -> dict[tuple[str, str], float]:
    """IBM Model 1: p(target word | source word) by EM, with a NULL source word."""
    t: dict[tuple[str, str], float] = defaultdict(lambda: 1.0)
    for _ in range(iterations):
        count: defaultdict[tuple[str, str], float] = defaultdict(float)
        total: defaultdict[str, float] = defaultdict(float)
        for src, tgt in corpus:
            s = [*src, "\0"]
            for w in tgt:
                z = sum(t[e, w] for e in s)
                for e in s:
                    c = t[e, w] / z
                    count[e, w] += c
                    total[e] += c
        t = defaultdict(float, {k: v / total[k[0]] for k, v in count.items()})
    return dict(t)


@dataclass(frozen=True)
class TermPair:
    en: str  # English word as written in the labels (folded), its most frequent form
    nl: str  # Dutch word, likewise
    score: float  # sqrt(p(nl|en) * p(en|nl))
    labels: int  # label pairs holding both


def build_term_map(rows: Iterable[tuple[str, str]]) -> list[TermPair]:
    """Aligned (English, Dutch) word pairs from parallel labels (``rows``: (en, nl))."""
    an = Analyzer(ngram_max=1)
    pairs = [(fold_tokens(en), fold_tokens(nl)) for en, nl in rows]
    nl_words = {t for _, nl in pairs for t in nl if an.stem(t)}
    splitter = CompoundSplitter(nl_words, an)
    en_key: dict[str, str | None] = {}
    nl_key: dict[str, str | None] = {}
    for en, nl in pairs:
        for t in en:
            if t not in en_key:
                en_key[t] = english_key(t, an)
        for t in nl:
            if t not in nl_key:
                nl_key[t] = an.stem(t)
    for t in list(nl_key):
        for part in splitter.split(t):
            if part != t and part not in nl_key:
                nl_key[part] = an.stem(part)
    en_surface: defaultdict[str, Counter[str]] = defaultdict(Counter)
    nl_surface: defaultdict[str, Counter[str]] = defaultdict(Counter)
    corpus: list[tuple[list[str], list[str]]] = []
    for en, nl in pairs:
        nl_all: list[str] = []
        for t in nl:
            nl_all.append(t)
            parts = splitter.split(t)
            if len(parts) > 1:
                nl_all.extend(parts)
        corpus.append((_stems(en, en_key, en_surface), _stems(nl_all, nl_key, nl_surface)))
    p_nl = _ibm1(corpus)
    p_en = _ibm1([(n, e) for e, n in corpus])
    together: Counter[tuple[str, str]] = Counter()
    for e_stems, n_stems in corpus:
        for e in e_stems:
            for n in n_stems:
                together[e, n] += 1
    out: list[TermPair] = []
    for (e, n), c in together.items():
        if c < _MIN_LABELS:
            continue
        score = math.sqrt(p_nl.get((e, n), 0.0) * p_en.get((n, e), 0.0))
        if score < _FILE_MIN_SCORE:
            continue
        # Most frequent written form; ties by the word itself, so the file is reproducible.
        en_w = min(en_surface[e].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        nl_w = min(nl_surface[n].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        out.append(TermPair(en_w, nl_w, round(score, 3), c))
    out.sort(key=lambda p: (p.en, -p.score, p.nl))
    return out


def label_pairs(paths: Sequence[Path] = LABEL_FILES) -> list[tuple[str, str]]:
    """(English, Dutch) label pairs of the reference files, each distinct pair once
    (SBI repeats a class's label on its subclass)."""
    out: dict[tuple[str, str], None] = {}
    for path in paths:
        with path.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                out.setdefault((r["label_en"], r["label_nl"]), None)
    return list(out)


def write_term_map(pairs: Sequence[TermPair]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["en", "nl", "score", "labels"])
    for p in pairs:
        w.writerow([p.en, p.nl, f"{p.score:.3f}", p.labels])
    return buf.getvalue()


# -- using the map -------------------------------------------------------------------------


@dataclass(frozen=True)
class TermMap:
    """Stem -> the other language's words, both directions, best first."""

    en_to_nl: dict[str, tuple[str, ...]]
    nl_to_en: dict[str, tuple[str, ...]]
    splitter: CompoundSplitter
    analyzer: Analyzer


def load_term_map(path: Path = TERM_FILE, min_score: float = MIN_SCORE,
                  per_term: int = MAX_TRANSLATIONS) -> TermMap:
    an = Analyzer(ngram_max=1)
    en_nl: defaultdict[str, list[tuple[float, str]]] = defaultdict(list)
    nl_en: defaultdict[str, list[tuple[float, str]]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            score = float(r["score"])
            if score < min_score:
                continue
            ek, nk = english_key(r["en"], an), an.stem(r["nl"])
            if ek and (score, r["nl"]) not in en_nl[ek]:
                en_nl[ek].append((score, r["nl"]))
            if nk and (score, r["en"]) not in nl_en[nk]:
                nl_en[nk].append((score, r["en"]))

    def best(d: defaultdict[str, list[tuple[float, str]]]) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for k, v in d.items():
            ranked = sorted(v, key=lambda sv: (-sv[0], sv[1]))
            top, first = [ranked[0][1]], ranked[0][0]
            for score, w in ranked[1:per_term]:
                # A runner-up only when nearly as likely and not a compound of the first
                # ("detectie" needs no "detectieapparatuur").
                if score >= RUNNER_UP * first and not any(t in w for t in top):
                    top.append(w)
            out[k] = tuple(top)
        return out

    nl_words = {w for v in en_nl.values() for _, w in v}
    return TermMap(best(en_nl), best(nl_en), CompoundSplitter(nl_words, an), an)


@lru_cache(maxsize=1)
def term_map() -> TermMap:
    return load_term_map()


def language(text: str) -> str | None:
    """"en" or "nl" by which language's function words the text uses more (None: no
    function words of either, or as many of both)."""
    toks = fold_tokens(text)
    en = sum(t in STOPWORDS_EN and t not in STOPWORDS_NL for t in toks)
    nl = sum(t in STOPWORDS_NL and t not in STOPWORDS_EN for t in toks)
    if en == nl:
        return None
    return "en" if en > nl else "nl"


def translate(text: str, cpv: Sequence[str] = (), tm: TermMap | None = None) -> str:
    """The text's words in the other language, and its codes' labels in that language
    (both directions when the language is unclear). Empty when nothing translates."""
    tm = tm or term_map()
    an = tm.analyzer
    lang = language(text)
    out: list[str] = []
    seen: set[str] = set()

    def add(words: Iterable[str]) -> None:
        for w in words:
            if w not in seen:
                seen.add(w)
                out.append(w)

    for tok in fold_tokens(text):
        if tok in STOPWORDS_EN or tok in STOPWORDS_NL or tok.isdigit():
            continue
        if lang != "nl":
            k = english_key(tok, an)
            if k:
                add(tm.en_to_nl.get(k, ()))
        if lang != "en":
            k = an.stem(tok)
            hit = tm.nl_to_en.get(k, ()) if k else ()
            if not hit:  # a compound the map has not seen whole: its parts
                for part in tm.splitter.split(tok):
                    pk = an.stem(part)
                    add(tm.nl_to_en.get(pk, ()) if pk else ())
            add(hit)
    for code in cpv:
        if lang != "nl":
            add(fold_tokens(cpv_label(code, "nl")))
        if lang != "en":
            add(fold_tokens(cpv_label(code, "en")))
    return " ".join(out)


def word_vector(word: WordTfidf, query: Query, weight: float | None = None
                ) -> sp.csr_matrix:
    """The query's word TF-IDF vector with its translation (``query.translated``) added
    at ``weight`` (None: ``TRANSLATION_WEIGHT`` for an English text, else
    ``TRANSLATION_WEIGHT_FROM_DUTCH``), L2-normalised. Without a translation: the plain
    vector."""
    if weight is None and query.translated:
        weight = (TRANSLATION_WEIGHT if language(query.text) == "en"
                  else TRANSLATION_WEIGHT_FROM_DUTCH)
    q = word.transform_one(query.text)
    if not query.translated or not weight:
        return q
    t = word.transform_one(query.translated)
    if t.nnz == 0:
        return q
    v = (q + weight * t).tocsr()
    n = float((v.data.astype("float64") ** 2).sum()) ** 0.5
    if n > 0:
        v.data = (v.data / n).astype(q.dtype)
    return v


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m matcher.bilingual [--check]``: (re)write the term file from the CPV
    labels, or with ``--check`` fail when the committed file differs."""
    args = list(sys.argv[1:] if argv is None else argv)
    text = write_term_map(build_term_map(label_pairs()))
    if "--check" in args:
        same = TERM_FILE.exists() and TERM_FILE.read_text(encoding="utf-8") == text
        print(f"{TERM_FILE.name}: {'up to date' if same else 'differs from the labels'}")
        return 0 if same else 1
    TERM_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {TERM_FILE} ({text.count(chr(10)) - 1} pairs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
