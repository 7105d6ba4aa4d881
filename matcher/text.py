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
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
import snowballstemmer
from numpy.typing import NDArray
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from matcher.refdata import fold

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

_SPLIT = re.compile(r"\s+")


class Analyzer:
    """Fold, split, drop stopwords, stem. Callable on a document -> list of terms.

    Stems are cached per surface word: a registry's vocabulary is small compared
    to its token count, so the stemmer runs once per distinct word.
    """

    def __init__(self, ngram_max: int = 2, min_token_len: int = 2) -> None:
        self.ngram_max = ngram_max
        self.min_token_len = min_token_len
        self._stemmer = snowballstemmer.stemmer("dutch")
        self._cache: dict[str, str | None] = {}

    def stems(self, doc: str) -> list[str]:
        cache = self._cache
        out: list[str] = []
        for tok in _SPLIT.split(fold(doc)):
            st = cache.get(tok, "")
            if st == "":
                if len(tok) < self.min_token_len or tok in STOPWORDS or tok.isdigit():
                    st = None
                else:
                    st = self._stemmer.stemWord(tok)
                cache[tok] = st
            if st is not None:
                out.append(st)
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
    """TF-IDF over stemmed word 1–2-grams (a thin, configured TfidfVectorizer).

    Parameters are in the constructor, learned state in attributes ending in ``_``.
    """

    def __init__(self, min_df: int = 2, max_df: float = 0.9, sublinear_tf: bool = True) -> None:
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf

    def _make(self, min_df: int) -> TfidfVectorizer:
        self.analyzer_ = Analyzer()
        return TfidfVectorizer(
            analyzer=self.analyzer_,
            min_df=min_df,
            max_df=self.max_df,
            sublinear_tf=self.sublinear_tf,
            dtype=np.float32,
        )

    def fit_transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        # min_df cannot exceed the corpus size (tiny registries in tests/demos).
        min_df = min(self.min_df, max(1, len(docs)))
        if len(docs) < 10:
            min_df = 1
        self.vectorizer_ = self._make(min_df)
        try:
            X = self.vectorizer_.fit_transform(docs)
        except ValueError:
            # max_df pruned everything (e.g. two identical documents): keep all terms.
            self.vectorizer_.set_params(max_df=1.0)
            X = self.vectorizer_.fit_transform(docs)
        self.vocabulary_: dict[str, int] = self.vectorizer_.vocabulary_
        self.idf_: NDArray[np.float64] = self.vectorizer_.idf_
        return sp.csr_matrix(X, dtype=np.float32)

    def fit(self, docs: Sequence[str]) -> WordTfidf:
        self.fit_transform(docs)
        return self

    def transform(self, docs: Sequence[str]) -> sp.csr_matrix:
        return sp.csr_matrix(self.vectorizer_.transform(docs), dtype=np.float32)


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
        stems = self.word_.analyzer_.stems(text)
        if not stems:
            return sp.csr_matrix((1, self.n_features), dtype=np.float32)
        uniq, counts = np.unique(np.array(stems, dtype=object), return_counts=True)
        vocab, idf = self.word_.vocabulary_, self.word_.idf_
        w = np.array(
            [(1.0 + np.log(c)) * (idf[vocab[s]] if s in vocab else self.max_idf_)
             for s, c in zip(uniq, counts, strict=True)],
            dtype=np.float32,
        )
        H = self.hasher_.transform(list(uniq))
        v = sp.csr_matrix(w[None, :] @ H, dtype=np.float32)
        return sp.csr_matrix(normalize(v), dtype=np.float32)

    def rows_vectors(self, word_rows: sp.csr_matrix) -> sp.csr_matrix:
        return sp.csr_matrix(normalize(word_rows @ self.T_), dtype=np.float32)

    def similarity(self, text: str, word_rows: sp.csr_matrix) -> NDArray[np.float64]:
        """Cosine in [0, 1] between the query text and each given word-matrix row."""
        if word_rows.shape[0] == 0:
            return np.zeros(0)
        q = self.query_vector(text)
        if q.nnz == 0:
            return np.zeros(word_rows.shape[0])
        C = self.rows_vectors(word_rows)
        return np.clip(np.asarray((C @ q.T).toarray()).ravel(), 0.0, 1.0)


class PatchableRows:
    """A row-normalised sparse matrix with fast column-restricted products and
    cheap row patches.

    The bulk lives in CSR (row access) and CSC (posting lists per term). Patched
    or appended rows live in a small side CSR that overrides the bulk, so an
    update costs microseconds instead of re-laying-out millions of entries.
    ``compact()`` folds the side rows back in (O(nnz); call it rarely).
    """

    def __init__(self, X: sp.csr_matrix) -> None:
        self._set_bulk(sp.csr_matrix(X, dtype=np.float32))

    def _set_bulk(self, X: sp.csr_matrix) -> None:
        self.csr = X
        self.csc = X.tocsc()
        self.n_bulk = X.shape[0]
        self.n_rows = X.shape[0]
        self.n_cols = X.shape[1]
        self._patch: dict[int, sp.csr_matrix] = {}
        self._side: sp.csr_matrix = sp.csr_matrix((0, self.n_cols), dtype=np.float32)
        self._side_rows: NDArray[np.int64] = np.zeros(0, dtype=np.int64)

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
            cols = q.indices
            sub = self.csc[:, cols]
            out[: self.n_bulk] = sub @ q.data.astype(np.float64)
            if len(self._side_rows):
                out[self._side_rows] = (self._side @ q.T).toarray().ravel()
        return out

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

    def rows(self, idx: NDArray[np.int64] | Sequence[int]) -> sp.csr_matrix:
        idx = np.asarray(idx, dtype=np.int64)
        if not self._patch:
            return sp.csr_matrix(self.csr[idx])
        parts: list[sp.csr_matrix] = []
        for i in idx.tolist():
            r = self._patch.get(i)
            parts.append(r if r is not None else self.csr[i])
        if not parts:
            return sp.csr_matrix((0, self.n_cols), dtype=np.float32)
        return sp.csr_matrix(sp.vstack(parts, format="csr"))

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
