"""Text similarity: TF-IDF over stemmed word 1–2-grams, char 3–5-grams on a shortlist.

Descriptions are Dutch or English. A Dutch Snowball stemmer folds the common
Dutch inflections ("schoonmaakdiensten" -> "schoonmaakdienst"); English words
pass through it mostly unchanged, which is good enough for matching English
against English. Stopwords of both languages are dropped before stemming.

Two representations, for two costs (see /work/shared/performance.md):

* word 1–2-grams over the whole registry. A query touches only the posting lists
  of its own terms (a column slice of the CSC matrix), which is what keeps one
  query at a few milliseconds at 100k enterprises.
* char 3–5-grams (``char_wb``) are 10–14x denser, so they are never computed
  over the registry. They are computed for a shortlist only, and cheaply: every
  vocabulary term's char n-grams are hashed once at fit time (a term x n-gram
  matrix ``T``), so a candidate's char vector is ``X[cands] @ T``. The query
  side hashes its stems directly, including words the vocabulary never saw;
  that is where char n-grams earn their keep (Dutch compounds, typos).
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import snowballstemmer
from numpy.typing import NDArray
from sklearn.feature_extraction.text import HashingVectorizer

try:  # SciPy's C mat-vec kernels, run on selected rows/columns in place (see _pointer_pairs).
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - another SciPy layout: the public slicing paths
    _csc_matvec = _csr_matvec = None


def _pointer_pairs(indptr: NDArray[np.integer], sel: NDArray[np.int64]
                   ) -> tuple[NDArray[np.int64], NDArray[np.integer]]:
    """For SciPy's CSR/CSC mat-vec kernels on selected rows (columns) without
    slicing: (order, pointers) where ``order`` sorts ``sel`` descending and
    ``pointers = [s0, e0, s1, e1, ...]`` are their start/end offsets. Handed to
    the kernel as a matrix of ``2 * len(sel) - 1`` rows, row ``2k`` is the k-th
    selected one and every odd "gap" row is empty (its end precedes its start)."""
    order = np.argsort(sel)[::-1]
    c = np.asarray(sel, dtype=np.int64)[order]
    ap = np.empty(2 * len(c), dtype=indptr.dtype)
    ap[0::2] = indptr[c]
    ap[1::2] = indptr[c + 1]
    return order, ap

# Deliberately short: IDF already discounts frequent words; the list only removes
# function words that would otherwise form meaningless bigrams ("van de").
STOPWORDS_NL: frozenset[str] = frozenset(
    """aan al alle als bij dat de den der des deze die dit door dus een en er ge
    geen had heb hebben heeft hem het hier hij hoe hun ik in is je kan kon maar
    me meer men met mij mijn na naar niet nog nu of om omdat ons onze ook op over
    te tot u uit van veel voor want was wat we wel werd wie wij worden wordt zal
    ze zei zij zich zijn zo zoals zonder""".split()
)
STOPWORDS_EN: frozenset[str] = frozenset(
    """a about an and are as at be been but by can do for from has have he her
    his i if in into is it its more not of on or our so than that the their them
    then there these they this to us was we were what when which who will with
    you your""".split()
)
STOPWORDS: frozenset[str] = STOPWORDS_NL | STOPWORDS_EN

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[^\W_]+")  # a written word: letters and digits (any script)


# ASCII punctuation -> space (lower-case letters and digits kept), for str.translate.
_ASCII_SPACE = str.maketrans({chr(c): " " for c in range(128)
                              if not (chr(c).islower() or chr(c).isdigit())})
_combining: dict[int, None] | None = None


def _combining_marks() -> dict[int, None]:
    """Every combining code point -> None (deleted by str.translate); built once."""
    global _combining
    if _combining is None:
        _combining = dict.fromkeys(
            c for c in range(0x300, sys.maxunicode + 1) if unicodedata.combining(chr(c)))
    return _combining


def fold_tokens(text: str) -> list[str]:
    """``refdata.fold(text).split()``, faster: C-level ``str.translate`` instead of a
    Python walk over every character and a regex (this is most of the cost of
    indexing 100k descriptions)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).translate(_combining_marks()).lower()
        if not text.isascii():  # letters without an ASCII base (ß, ø): as fold does
            return _NON_ALNUM.sub(" ", text).split()
        return text.translate(_ASCII_SPACE).split()
    return text.lower().translate(_ASCII_SPACE).split()


def fast_fold(text: str) -> str:
    """``refdata.fold`` (lower-case, accents and punctuation stripped)."""
    return " ".join(fold_tokens(text))


def _dutch_stemmer() -> snowballstemmer.stemmer:
    """The classic Snowball Dutch stemmer. snowballstemmer 3 renamed it
    ``dutch_porter`` and gave the name ``dutch`` to a Kraaij-Pohlmann variant that
    strips "ge-" inside words: "gevelreiniging" -> "velrein", "gebouwen" -> "bouw",
    and "begeleiding" (coaching, a core word here) -> "beleid" (policy)."""
    if "dutch_porter" in snowballstemmer.algorithms():
        return snowballstemmer.stemmer("dutch_porter")
    return snowballstemmer.stemmer("dutch")


class Analyzer:
    """Fold, split, drop stopwords, stem. Callable on a document -> list of terms.

    Stems are cached per surface word: a registry's vocabulary is small compared
    to its token count, so the stemmer runs once per distinct word.
    """

    def __init__(self, ngram_max: int = 2, min_token_len: int = 2) -> None:
        self.ngram_max = ngram_max
        self.min_token_len = min_token_len
        self._stemmer = _dutch_stemmer()
        # Snowball's stemmers keep the word being stemmed in the object: two threads
        # stemming at once (web requests ranking new text) corrupt each other's word,
        # which raised IndexError or, silently, gave wrong stems. Only a word the
        # cache has not seen takes the lock.
        self._stem_lock = threading.Lock()
        self._cache: dict[str, str | None] = {}

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_stem_lock"]  # a lock does not pickle (an index sent to a cluster)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._stem_lock = threading.Lock()

    def stem(self, tok: str) -> str | None:
        """One folded token's stem, None for stopwords, digits and short tokens."""
        st = self._cache.get(tok, "")
        if st == "":
            if len(tok) < self.min_token_len or tok in STOPWORDS or tok.isdigit():
                st = None
            else:
                with self._stem_lock:
                    st = self._stemmer.stemWord(tok)
            self._cache[tok] = st
        return st

    def stems(self, doc: str) -> list[str]:
        cache = self._cache
        out: list[str] = []
        for tok in fold_tokens(doc):
            st = cache.get(tok, "")
            if st == "":
                st = self.stem(tok)
            if st is not None:
                out.append(st)
        return out

    def surface_forms(self, doc: str) -> dict[str, str]:
        """Each term of ``doc`` (a stem, or a pair of stems as ``__call__`` makes) -> the
        word(s) ``doc`` first wrote for it, as written: reasons show "glasbewassing",
        not the stem "glasbewass". Only for the few queries whose reasons are shown."""
        seq: list[tuple[str, str]] = []
        for word in _WORD.findall(doc):
            for tok in fold_tokens(word):
                st = self.stem(tok)
                if st is not None:
                    seq.append((st, word))
        out: dict[str, str] = {}
        for st, word in seq:
            out.setdefault(st, word)
        if self.ngram_max >= 2:
            for (a, wa), (b, wb) in zip(seq, seq[1:], strict=False):
                out.setdefault(f"{a} {b}", f"{wa} {wb}")
        return out

    def __call__(self, doc: str) -> list[str]:
        terms = self.stems(doc)
        if self.ngram_max >= 2 and len(terms) > 1:
            terms = terms + [a + " " + b for a, b in zip(terms, terms[1:], strict=False)]
        return terms


def enterprise_document(name: str, themes: Iterable[str], description: str) -> str:
    """The text an enterprise is indexed by: name, themes (twice: they are curated
    keywords, denser in meaning than prose) and description."""
    th = " ".join(themes)
    return f"{name}. {th}. {th}. {description}"


class WordTfidf:
    """TF-IDF over stemmed word 1–2-grams (sklearn's ``TfidfVectorizer`` weighting:
    sublinear TF, smooth IDF, L2 rows; with a vocabulary rule of its own).

    ``min_df`` prunes **bigrams** seen in fewer documents; unigrams are kept at
    any document frequency. A word only one enterprise uses is the most
    distinctive thing about it (its speciality: "gevelreiniging"); pruning it
    made such enterprises invisible to a tender asking for exactly that, and
    left their rows without char n-grams. Bigrams seen once add many columns and
    entries but no recall (their words are unigram columns). ``max_df`` drops
    terms in more than that share of documents, both kinds.

    Parameters are in the constructor, learned state in attributes ending in ``_``.
    """

    def __init__(self, min_df: int = 2, max_df: float = 0.9, sublinear_tf: bool = True) -> None:
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf

    def fit_transform(self, docs: Iterable[str]) -> sp.csr_matrix:
        """Fit the vocabulary and IDF; return the documents' L2-normalised rows."""
        return self.fit_transform_both(docs)[0]

    def fit_transform_both(self, docs: Iterable[str]) -> tuple[sp.csr_matrix, sp.csc_matrix]:
        """``fit_transform``, returning the matrix in both layouts (CSR, CSC).

        The terms are exactly ``Analyzer()(doc)``'s, but counted in bulk: Python
        only maps each token to its stem id (one C-level dict lookup per token;
        stemming runs once per distinct token); counts, document frequencies and
        weights are NumPy operations on id arrays. ``docs`` may be a generator
        (it is read once, so the documents need not all be held).

        Counting without a global ``np.unique``: each (term, document) occurrence
        becomes one int64 key ``term * n_docs + doc``; one in-place sort of the
        keys puts them in CSC order, equal-key runs are the counts, and runs of
        equal term give document frequencies, so ``min_df``/``max_df`` drop whole
        columns before any matrix exists. Same matrix (bit for bit) as counting
        through COO/CSR.
        """
        self.analyzer_ = an = Analyzer()
        stem_id: dict[str, int] = {}
        tok_ids = _StemIds(an, stem_id)
        lookup = tok_ids.__getitem__
        ids = array("i")
        lens = array("q")
        for text in docs:
            before = len(ids)
            ids.extend(map(lookup, fold_tokens(text)))
            lens.append(len(ids) - before)
        del tok_ids
        n_docs = len(lens)
        S = len(stem_id)
        stems = np.frombuffer(ids, dtype=np.int32) if len(ids) else np.zeros(0, np.int32)
        doc = np.repeat(np.arange(n_docs, dtype=np.int32),
                        np.frombuffer(lens, dtype=np.int64) if n_docs else np.zeros(0, np.int64))
        kept = stems >= 0
        stems, doc = stems[kept], doc[kept]
        del kept, ids
        # min_df cannot exceed the corpus size (tiny registries in tests/demos).
        min_df = 1 if n_docs < 10 else min(self.min_df, n_docs)
        max_n = self.max_df * n_docs
        if n_docs and S * S * n_docs >= 2**62:  # pragma: no cover - ~1M stems x 1M docs
            raise ValueError("corpus too large for int64 bigram keys")
        # Unigram keys, and bigrams of adjacent kept stems within a document (term
        # key s1 * S + s2); then the stems are dropped before any sort.
        ukey = stems.astype(np.int64)
        ukey *= n_docs
        ukey += doc
        same = doc[1:] == doc[:-1]
        bkey = stems[:-1].astype(np.int64)
        bkey *= S
        bkey += stems[1:]
        bkey *= n_docs
        bkey += doc[:-1]
        del stems, doc
        bkey = bkey[same]
        del same
        U = _sorted_counts(ukey, n_docs)  # consumes the keys (frees them)
        B = _sorted_counts(bkey, n_docs)
        del ukey, bkey
        keep_u = U.df <= max_n
        keep_b = (B.df >= min_df) & (B.df <= max_n)
        if n_docs and not keep_u.any() and not keep_b.any():
            # max_df pruned everything (e.g. identical documents): keep all terms.
            keep_u, keep_b = U.df >= 1, B.df >= min_df
        stem_of = np.empty(S, dtype=object)
        for st, j in stem_id.items():
            stem_of[j] = st
        names = [str(x) for x in stem_of[U.terms[keep_u]]]
        names += [f"{stem_of[k // S]} {stem_of[k % S]}" for k in B.terms[keep_b].tolist()]
        self.vocabulary_: dict[str, int] = {t: j for j, t in enumerate(names)}
        del names, stem_of
        df = np.concatenate([U.df[keep_u], B.df[keep_b]]).astype(np.float64)
        # sklearn's smooth IDF: ln((1 + n) / (1 + df)) + 1.
        self.idf_: NDArray[np.float64] = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        # CSC of the kept columns (unigrams, then bigrams), counts as float32, filled
        # part by part (each part freed once copied).
        lens_u, lens_b = U.df[keep_u], B.df[keep_b]
        indptr = np.zeros(len(df) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([lens_u, lens_b]), out=indptr[1:])
        nnz = int(indptr[-1])
        indices = np.empty(nnz, dtype=np.int32 if n_docs < 2**31 else np.int64)
        data = np.empty(nnz, dtype=np.float32)
        at = 0
        for part, keep in ((U, keep_u), (B, keep_b)):
            _, rows_, vals = part.columns(keep)
            del part
            indices[at:at + len(rows_)] = rows_
            data[at:at + len(vals)] = vals
            at += len(rows_)
            del rows_, vals
        del U, B
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1.0
        data *= np.repeat(self.idf_.astype(np.float32), np.diff(indptr))
        # L2 rows (as _l2_rows: float64 sums in column order within each row).
        # In chunks: no matrix-sized float64 temporaries. np.add.at is unbuffered and
        # in order, so each row's sum is the sequential one bincount would give.
        step = 1 << 21
        sq = np.zeros(n_docs)
        for a in range(0, len(data), step):
            x = data[a:a + step].astype(np.float64)
            np.square(x, out=x)
            np.add.at(sq, np.asarray(indices[a:a + step], dtype=np.intp), x)
        scale = np.zeros(n_docs)
        np.divide(1.0, np.sqrt(sq), out=scale, where=sq > 0)
        del sq
        for a in range(0, len(data), step):
            data[a:a + step] = data[a:a + step] * scale[indices[a:a + step]]
        idx_t = np.int32 if max(len(data), n_docs) < 2**31 else np.int64
        csc = sp.csc_matrix((data, indices.astype(idx_t), indptr.astype(idx_t)),
                            shape=(n_docs, len(df)))
        del data, indices, indptr
        return sp.csr_matrix(csc.tocsr()), csc

    def fit(self, docs: Sequence[str]) -> WordTfidf:
        self.fit_transform(docs)
        return self

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows of new documents under the fitted vocabulary and IDF (terms
        outside the vocabulary are ignored), L2-normalised."""
        V = len(self.vocabulary_)
        if len(docs) == 0:
            return sp.csr_matrix((0, V), dtype=np.float32)
        return sp.csr_matrix(sp.vstack([self.transform_one(d) for d in docs], format="csr"))

    def transform_one(self, doc: str) -> sp.csr_matrix:
        """One document's row (1 x V). Plain Python: sklearn's per-call validation
        costs more than the work for one short query."""
        vocab = self.vocabulary_
        counts: dict[int, int] = {}
        for t in self.analyzer_(doc):
            j = vocab.get(t)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        V = len(vocab)
        if not counts:
            return sp.csr_matrix((1, V), dtype=np.float32)
        cols = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        tf = np.array([counts[j] for j in cols.tolist()], dtype=np.float64)
        if self.sublinear_tf:
            tf = 1.0 + np.log(tf)
        w = tf * self.idf_[cols]
        w /= np.linalg.norm(w)
        return sp.csr_matrix((w.astype(np.float32), cols, np.array([0, len(cols)])), shape=(1, V))


class CharShortlist:
    """Char 3–5-gram cosine between a query and a shortlist of indexed rows.

    Built from the fitted word vocabulary (see module docstring): ``T_`` maps each
    unigram column of the word matrix to its hashed ``char_wb`` n-grams; bigram
    columns map to nothing (their words are already unigram columns).
    """

    def __init__(self, n_features: int = 2**18, ngram_range: tuple[int, int] = (3, 5)) -> None:
        self.n_features = n_features
        self.ngram_range = ngram_range

    def _hasher(self) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer="char_wb",
            ngram_range=self.ngram_range,
            n_features=self.n_features,
            alternate_sign=False,
            norm="l2",
            dtype=np.float32,
        )

    def fit(self, word: WordTfidf) -> CharShortlist:
        self.word_ = word
        vocab = word.vocabulary_
        terms = [""] * len(vocab)
        for t, j in vocab.items():
            terms[j] = "" if " " in t else t
        self.hasher_ = self._hasher()
        self.T_: sp.csr_matrix = sp.csr_matrix(self.hasher_.transform(terms), dtype=np.float32)
        self.max_idf_ = float(word.idf_.max()) if len(word.idf_) else 1.0
        return self

    def query_vector(self, text: str) -> sp.csr_matrix:
        """Char vector of a query: its stems' n-grams weighted by the word IDF
        (words unseen in the registry get the highest IDF: they are rare)."""
        idx, val = self.query_entries(text)
        return sp.csr_matrix((val.astype(np.float32), idx.astype(np.int32),
                              np.array([0, len(idx)])), shape=(1, self.n_features))

    def query_entries(self, text: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """``query_vector`` as (sorted hashed n-gram ids, L2-normalised values), built
        with NumPy from the stems' rows of ``T_`` (no sparse-matrix objects)."""
        stems = self.word_.analyzer_.stems(text)
        counts: dict[str, int] = {}
        for st in stems:
            counts[st] = counts.get(st, 0) + 1
        vocab, idf = self.word_.vocabulary_, self.word_.idf_
        cols: list[int] = []
        w: list[float] = []
        oov: list[str] = []
        oov_w: list[float] = []
        for st, c in counts.items():
            j = vocab.get(st)
            tf = 1.0 + float(np.log(c))
            if j is None:
                oov.append(st)
                oov_w.append(tf * self.max_idf_)
            else:
                cols.append(j)
                w.append(tf * float(idf[j]))
        c_arr = np.asarray(cols, dtype=np.int64)
        pos, owner = _row_entries(self.T_.indptr, c_arr)
        h = self.T_.indices[pos].astype(np.int64)
        v = self.T_.data[pos].astype(np.float64) * np.asarray(w, dtype=np.float64)[owner]
        if oov:
            H = self._hash_oov(oov)
            oh = np.repeat(np.asarray(oov_w, dtype=np.float64), np.diff(H.indptr))
            h = np.concatenate([h, H.indices.astype(np.int64)])
            v = np.concatenate([v, H.data.astype(np.float64) * oh])
        if len(h) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        uniq, inv = np.unique(h, return_inverse=True)
        val: NDArray[np.float64] = np.bincount(inv, weights=v, minlength=len(uniq)).astype(
            np.float64, copy=False)
        norm = float(np.sqrt(np.dot(val, val)))
        if norm > 0:
            val /= norm
        keep = val != 0
        return uniq[keep], val[keep]

    def _hash_oov(self, stems: list[str]) -> sp.csr_matrix:
        # Cached: the hasher's per-call validation costs more than the hashing.
        cache: dict[str, sp.csr_matrix] = self.__dict__.setdefault("_oov_cache", {})
        missing = [st for st in stems if st not in cache]
        if missing:
            for st, row in zip(missing, self.hasher_.transform(missing), strict=True):
                if len(cache) < 100_000:
                    cache[st] = sp.csr_matrix(row, dtype=np.float32)
                else:
                    return sp.csr_matrix(self.hasher_.transform(stems), dtype=np.float32)
        return sp.csr_matrix(sp.vstack([cache[st] for st in stems], format="csr"))

    def rows_vectors(self, word_rows: sp.csr_matrix) -> sp.csr_matrix:
        """Char vectors (L2-normalised) of word-matrix rows."""
        return _l2_rows(sp.csr_matrix(word_rows @ self.T_))

    def row_norms(self, word_rows: sp.csr_matrix) -> NDArray[np.float64]:
        """Norms of the rows' (unnormalised) char vectors ``word_rows @ T_``."""
        M = sp.csr_matrix(word_rows @ self.T_)
        row = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
        sq = np.bincount(row, weights=M.data.astype(np.float64) ** 2, minlength=M.shape[0])
        return np.sqrt(sq)

    def similarity(self, text: str, word_rows: sp.csr_matrix,
                   norms: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """Cosine in [0, 1] between the query text and each given word-matrix row.

        Computed as ``(W @ (T @ q)) / ||W @ T||``: the query is projected onto the
        vocabulary terms the rows use (``T``'s rows for those terms only), and the
        row norms can be cached by the caller (``norms``). Plain NumPy on the CSR
        arrays: for a 100-row shortlist, sparse-matrix objects cost more than the
        arithmetic.
        """
        n = word_rows.shape[0]
        if n == 0:
            return np.zeros(0)
        qi, qv = self.query_entries(text)
        if len(qi) == 0 or word_rows.nnz == 0:
            return np.zeros(n)
        qd = np.zeros(self.n_features, dtype=np.float32)
        qd[qi] = qv
        # Only the terms these rows use (a shortlist's few thousand, not all of T's rows).
        used = np.zeros(word_rows.shape[1], dtype=bool)
        used[word_rows.indices] = True
        cols = np.flatnonzero(used)
        per_term = np.zeros(word_rows.shape[1], dtype=np.float32)
        T = self.T_
        if _csr_matvec is not None and T.indptr.dtype == T.indices.dtype:
            order, ap = _pointer_pairs(T.indptr, cols)
            y = np.zeros(len(ap) - 1, dtype=np.float32)
            _csr_matvec(len(ap) - 1, T.shape[1], ap, T.indices, T.data, qd, y)
            per_term[cols[order]] = y[0::2]
        else:  # pragma: no cover - another SciPy layout
            per_term[cols] = T[cols] @ qd
        num = np.asarray(word_rows @ per_term, dtype=np.float64)
        if norms is None:
            norms = self.row_norms(word_rows)
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = np.where(norms > 0, num / norms, 0.0)
        return np.clip(sim, 0.0, 1.0)


def _row_entries(indptr: NDArray[np.integer], rows: NDArray[np.int64]
                 ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Positions in a CSR's data/indices of the given rows' entries, and for each
    entry its position in ``rows`` (a row gather without building a matrix)."""
    starts = indptr[rows].astype(np.int64)
    lens = indptr[rows + 1].astype(np.int64) - starts
    total = int(lens.sum())
    owner = np.repeat(np.arange(len(rows)), lens)
    if total == 0:
        return np.zeros(0, dtype=np.int64), owner
    # Entry k of row r sits at starts[r] + (k - first[r]).
    first = np.cumsum(lens) - lens
    pos = np.arange(total, dtype=np.int64) + np.repeat(starts - first, lens)
    return pos, owner


class _StemIds(dict[str, int]):
    """Folded token -> stem id (-1: dropped), stemming each new token once; the
    ids follow the order in which stems are first seen."""

    def __init__(self, analyzer: Analyzer, stem_id: dict[str, int]) -> None:
        super().__init__()
        self.analyzer = analyzer
        self.stem_id = stem_id

    def __missing__(self, tok: str) -> int:
        st = self.analyzer.stem(tok)
        v = -1 if st is None else self.stem_id.setdefault(st, len(self.stem_id))
        self[tok] = v
        return v


class _SortedCounts:
    """(term, document) counts from sorted keys ``term * n_docs + doc``: the terms
    present (ascending), their document frequencies, and per term its documents
    (ascending) with counts — a CSC matrix's columns, before any are chosen."""

    def __init__(self, terms: NDArray[np.int64], df: NDArray[np.int64],
                 docs: NDArray[np.int32], counts: NDArray[np.float32]) -> None:
        self.terms, self.df, self.docs, self.counts = terms, df, docs, counts

    def columns(self, keep: NDArray[np.bool_]
                ) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float32]]:
        """(column lengths, row indices, counts) of the kept terms."""
        take = np.repeat(keep, self.df)
        return self.df[keep], self.docs[take], self.counts[take]


def _sorted_counts(keys: NDArray[np.int64], n_docs: int) -> _SortedCounts:
    """Sorts ``keys`` in place and counts runs; see ``_SortedCounts``. Consumes
    ``keys``: its buffer is released (resized to 0) once read, to bound the peak
    memory of fitting a large registry."""
    if len(keys) == 0:
        z = np.zeros(0, dtype=np.int64)
        return _SortedCounts(z, z, np.zeros(0, np.int32), np.zeros(0, np.float32))
    keys.sort()
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    del new
    counts = np.empty(len(starts), dtype=np.float32)
    np.subtract(starts[1:], starts[:-1], out=counts[:-1], casting="unsafe")
    counts[-1] = len(keys) - starts[-1]
    pairs = keys[starts]
    del starts
    keys.resize(0, refcheck=False)
    term = pairs // n_docs
    np.remainder(pairs, n_docs, out=pairs)
    docs = pairs.astype(np.int32)
    del pairs
    tnew = np.empty(len(term), dtype=bool)
    tnew[0] = True
    np.not_equal(term[1:], term[:-1], out=tnew[1:])
    tstart = np.flatnonzero(tnew)
    del tnew
    df = np.diff(np.append(tstart, len(term)))
    return _SortedCounts(term[tstart], df, docs, counts)


def _l2_rows(M: sp.csr_matrix) -> sp.csr_matrix:
    """Row-normalise a CSR matrix in place (zero rows stay zero)."""
    lens = np.diff(M.indptr)
    row = np.repeat(np.arange(M.shape[0]), lens)
    sq = np.bincount(row, weights=M.data.astype(np.float64) ** 2, minlength=M.shape[0])
    scale = np.zeros(M.shape[0])
    np.divide(1.0, np.sqrt(sq), out=scale, where=sq > 0)
    M.data = (M.data * scale[row]).astype(np.float32)
    return M


def prune_common_terms(
    q: sp.csr_matrix, postings: NDArray[np.int64], drop: float = 0.02
) -> sp.csr_matrix:
    """Drop the query's most common terms while they hold at most ``drop`` of its
    squared norm.

    Query time follows the posting entries touched, and the longest posting
    lists belong to the commonest terms, which IDF has already made nearly
    weightless. Dropping them changes cosines by at most ``sqrt(drop)`` times the
    document's weight on those same common terms (small for the same reason), and
    in return skips a large share of the postings. ``drop=0`` is exact.
    """
    if drop <= 0 or q.nnz == 0:
        return q
    cols, vals = q.indices, q.data
    order = np.argsort(-postings[cols], kind="stable")
    share = np.cumsum(vals[order].astype(np.float64) ** 2) / float(np.dot(vals, vals))
    n_drop = int(np.searchsorted(share, drop, side="right"))
    if n_drop == 0:
        return q
    keep = np.sort(order[n_drop:])
    return sp.csr_matrix((vals[keep], cols[keep], np.array([0, len(keep)])), shape=q.shape)


class PatchableRows:
    """A row-normalised sparse matrix with fast column-restricted products and
    cheap row patches.

    The bulk lives in CSR (row access) and CSC (posting lists per term). Patched
    or appended rows live in a small side CSR that overrides the bulk, so an
    update costs microseconds instead of re-laying-out millions of entries.
    ``compact()`` folds the side rows back in (O(nnz); call it rarely).
    """

    def __init__(self, X: sp.csr_matrix, csc: sp.csc_matrix | None = None) -> None:
        self._set_bulk(sp.csr_matrix(X, dtype=np.float32), csc)

    def _set_bulk(self, X: sp.csr_matrix, csc: sp.csc_matrix | None = None) -> None:
        """``csc``: the same matrix in CSC layout, when the caller already has it."""
        self.csr = X
        self.csc = X.tocsc() if csc is None or csc.dtype != np.float32 else csc
        self.n_bulk = X.shape[0]
        self.n_rows = X.shape[0]
        self.n_cols = X.shape[1]
        self._patch: dict[int, sp.csr_matrix] = {}
        self._side: sp.csr_matrix = sp.csr_matrix((0, self.n_cols), dtype=np.float32)
        self._side_rows: NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    @property
    def postings(self) -> NDArray[np.int64]:
        """Posting-list length per column (bulk rows; patched rows are few)."""
        return np.diff(self.csc.indptr).astype(np.int64)

    @property
    def n_patched(self) -> int:
        return len(self._patch)

    def set_row(self, i: int, row: sp.csr_matrix) -> None:
        if i > self.n_rows:
            raise IndexError(f"row {i} would leave a gap after {self.n_rows} rows")
        row = sp.csr_matrix(row, dtype=np.float32)
        is_new = i not in self._patch
        self._patch[i] = row
        self.n_rows = max(self.n_rows, i + 1)
        if is_new:
            # Appending copies only the (small) side matrix, not the bulk.
            self._side_rows = np.append(self._side_rows, i)
            self._side = sp.csr_matrix(sp.vstack([self._side, row], format="csr"))
        else:
            keys = self._side_rows.tolist()
            self._side = sp.csr_matrix(sp.vstack([self._patch[k] for k in keys], format="csr"))

    def dot(self, q: sp.csr_matrix) -> NDArray[np.float64]:
        """Scores of every row against one query row, touching only q's columns."""
        out = np.zeros(self.n_rows, dtype=np.float64)
        if q.nnz:
            out[: self.n_bulk] = self._posting_sum(q.indices, q.data)
            if len(self._side_rows):
                out[self._side_rows] = (self._side @ q.T).toarray().ravel()
        return out

    def _posting_sum(self, cols: NDArray[np.integer], vals: NDArray[np.floating]
                     ) -> NDArray[np.float32]:
        """``X[:, cols] @ vals`` over the bulk rows, reading the posting lists in place.

        SciPy's column slice copies every posting before the product (4x the cost
        of the product). Instead the CSC mat-vec kernel is handed the selected
        columns as a column-pointer array ``[s0, e0, s1, e1, ...]`` (starts and
        ends of the posting lists, columns in descending order, so each odd "gap"
        column is an empty range) and the values with zeros in between.
        """
        csc = self.csc
        n = self.n_bulk
        if _csc_matvec is None or csc.indptr.dtype != csc.indices.dtype:
            return np.asarray(csc[:, cols] @ vals.astype(np.float32), dtype=np.float32)
        order, ap = _pointer_pairs(csc.indptr, np.asarray(cols, dtype=np.int64))
        x = np.zeros(len(ap), dtype=np.float32)
        x[0::2] = vals[order]
        y = np.zeros(n, dtype=np.float32)
        _csc_matvec(n, len(ap) - 1, ap, csc.indices, csc.data, x, y)
        return y

    def dot_many(self, Q: sp.csr_matrix) -> NDArray[np.float32]:
        """Scores of every row against many query rows (Q: m x V) as a dense m x n
        block: one sparse product (SciPy threads it), patched rows overridden."""
        out = np.zeros((Q.shape[0], self.n_rows), dtype=np.float32)
        out[:, : self.n_bulk] = (Q @ self._csr_t()).toarray()
        if len(self._side_rows):
            out[:, self._side_rows] = (Q @ self._side.T).toarray()
        return out

    def _csr_t(self) -> sp.csr_matrix:
        # X.T in CSR form is the CSC matrix reinterpreted: no copy.
        return sp.csr_matrix(
            (self.csc.data, self.csc.indices, self.csc.indptr),
            shape=(self.n_cols, self.n_bulk),
        )

    def row_arrays(self, i: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """(column indices, values) of one row, without building a sparse matrix."""
        r = self._patch.get(i)
        if r is not None:
            return r.indices, r.data
        a, b = self.csr.indptr[i], self.csr.indptr[i + 1]
        return self.csr.indices[a:b], self.csr.data[a:b]

    def rows(self, idx: NDArray[np.int64] | Sequence[int]) -> sp.csr_matrix:
        idx = np.asarray(idx, dtype=np.int64)
        if not self._patch:
            return sp.csr_matrix(self.csr[idx])
        if len(idx) == 0:
            return sp.csr_matrix((0, self.n_cols), dtype=np.float32)
        # Bulk rows in one slice (patched ones read as row 0 there), side rows in
        # another, then one row permutation puts the side rows in their places.
        side_pos = {r: k for k, r in enumerate(self._side_rows.tolist())}
        pos = np.array([side_pos.get(i, -1) for i in idx.tolist()], dtype=np.int64)
        patched = pos >= 0
        if not patched.any():
            return sp.csr_matrix(self.csr[idx])
        bulk = self.csr[np.where(patched, 0, idx)]
        side = self._side[pos[patched]]
        order = np.arange(len(idx))
        order[patched] = len(idx) + np.arange(int(patched.sum()))
        return sp.csr_matrix(sp.vstack([bulk, side], format="csr")[order])

    def compact(self) -> None:
        if not self._patch:
            return
        n = self.n_rows
        base = self.csr
        if n > self.n_bulk:
            base = sp.vstack([base, sp.csr_matrix((n - self.n_bulk, self.n_cols))], format="csr")
        keep = np.ones(n, dtype=bool)
        keep[self._side_rows] = False
        D = sp.diags(keep.astype(np.float32))
        P = sp.csr_matrix(
            (np.ones(len(self._side_rows), dtype=np.float32),
             (self._side_rows, np.arange(len(self._side_rows)))),
            shape=(n, len(self._side_rows)),
        )
        self._set_bulk(sp.csr_matrix(D @ base + P @ self._side, dtype=np.float32))


# -- the work a request describes, without its places ---------------------------------

_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")
_PLACE_EXTRA = ("nederland", "netherlands", "holland", "the netherlands")


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Folded names of Dutch places a request may mention (municipalities with their
    alternative names, provinces, the country), from ``matcher.refdata``."""
    from matcher.refdata import fold, municipalities

    out: set[str] = set(_PLACE_EXTRA)
    for m in municipalities().values():
        out.add(fold(m.name))
        out.add(fold(m.province))
        for alt in (m.alt_name or "").split("|"):
            if alt.strip():
                out.add(fold(alt))
    out.update({"den haag", "den bosch", "s gravenhage", "s hertogenbosch"})
    out.discard("")
    return frozenset(out)


@lru_cache(maxsize=1)
def work_words() -> frozenset[str]:
    """Folded words of the CPV labels (Dutch and English): the vocabulary of work. A
    capitalised word outside it, in the middle of a sentence, is taken for a proper noun."""
    from matcher.refdata import cpv_vocabulary

    out: set[str] = set()
    for c in cpv_vocabulary().values():
        out.update(fold_tokens(c.label_nl))
        out.update(fold_tokens(c.label_en))
    return frozenset(out)


def _is_title(word: str) -> bool:
    return word[:1].isupper() and not word.isupper()


def work_text(text: str) -> str:
    """``text`` without the place names and other proper nouns that say where or who,
    not what: a tender "in Utrecht-Overvecht" must not make "Buurtbus Overvecht" look
    like a cleaner. Removed: capitalised Dutch municipality, province and country names
    (several words, alternative names; lower-case "best" or "buren" stay), and
    capitalised words in the middle of a sentence that are not in the CPV labels' words
    (street, district, building and organisation names). A sentence written in Title
    Case (an English heading) keeps its words apart from place names. Punctuation
    between sentences is kept, so word pairs do not form across them."""
    names = place_names()
    vocab = work_words()
    out: list[str] = []
    for sentence in _SENTENCE.split(text):
        words = _WORD.findall(sentence)
        if not words:
            continue
        # Title Case (an English heading): no long lower-case word after the first.
        titled = len(words) >= 3 and not any(
            w.islower() and len(w) >= 4 and w not in STOPWORDS for w in words[1:])
        keep = [True] * len(words)
        i = 0
        while i < len(words):
            hit = 0
            if words[i][:1].isupper():
                for n in (4, 3, 2, 1):
                    if i + n <= len(words) and fast_fold(" ".join(words[i:i + n])) in names:
                        hit = n
                        break
            if hit:
                for k in range(i, i + hit):
                    keep[k] = False
                i += hit
                continue
            if i > 0 and not titled and _is_title(words[i]) and \
                    not set(fold_tokens(words[i])) <= vocab:
                keep[i] = False
            i += 1
        kept = [w for w, k in zip(words, keep, strict=True) if k]
        if kept:
            out.append(" ".join(kept) + ".")
    return " ".join(out)
