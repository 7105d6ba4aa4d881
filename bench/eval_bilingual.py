"""Dutch and English on the labelled fixtures: NDCG@10 and R@20 of the engine with and
without the bilingual query expansion (``matcher.bilingual``).

    python -m bench.eval_bilingual            # prints the table

Query sets: the fixtures' labelled Dutch tenders; the English versions of 22 of them
(``tests/data/tenders_en.json``, same codes, place and clause, so the same labels);
both again without CPV codes ("text only"), where only the text can find the trade;
and, for "vice versa", the Dutch tenders' recall of the relevant enterprises that
describe themselves in English.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import matcher.bilingual as bilingual
from matcher.evaluate import ndcg_at_k, recall_at_k
from matcher.index import EnterpriseIndex
from matcher.model import Enterprise, Tender
from matcher.query import Query, as_query
from matcher.rank import rank_query

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
ENGLISH = ROOT / "tests" / "data" / "tenders_en.json"


@dataclass
class Labelled:
    index: EnterpriseIndex
    tenders: dict[str, Tender]
    labels: dict[str, dict[str, int]]  # tender ref -> enterprise ref -> grade
    english: dict[str, Tender]  # English versions, by the original's ref
    enterprises: dict[str, Enterprise]


@contextmanager
def fixture_store() -> Iterator[Labelled]:
    """The fixtures through the real import into a temporary SQLite store, as engine
    records and an index on the labels' reference date."""
    from sqlmodel import Session, SQLModel

    from api.db import engine_for
    from api.services.evaluation import load_store
    from api.services.importing import import_files
    from fixtures.generate import LABEL_DATE

    store_file = FIXTURES / "sroi_fixtures.json"
    with tempfile.TemporaryDirectory() as tmp:
        engine = engine_for(f"sqlite:///{tmp}/bilingual.db")
        SQLModel.metadata.create_all(engine)
        try:
            with Session(engine) as s:
                report = import_files(s, [(store_file.name, store_file.read_bytes())],
                                      on_duplicate="keep-both")
                assert report.ok, "the fixtures did not import"
                st = load_store(s)
        finally:
            engine.dispose()
            engine_for.cache_clear()
    tenders = {ref: q for (kind, ref), q in st.queries.items()
               if kind == "tender" and isinstance(q, Tender)}
    doc: Any = json.loads((FIXTURES / "labels.json").read_text(encoding="utf-8"))
    labels = {q["tender"]: q["relevant"] for q in doc["queries"] if "tender" in q}
    en_doc: Any = json.loads(ENGLISH.read_text(encoding="utf-8"))
    english = {t["ref"]: replace(tenders[t["ref"]], title=t["title"],
                                 description=t["description"]) for t in en_doc["tenders"]}
    index = EnterpriseIndex.build(list(st.enterprises.values()), reference_date=LABEL_DATE,
                                  committed=dict(st.committed))
    yield Labelled(index, tenders, labels, english, st.enterprises)


def plain(q: Query) -> Query:
    """The query as before the bilingual expansion."""
    return replace(q, translated="")


def text_only(t: Tender) -> Tender:
    return replace(t, cpv=())


def scores(data: Labelled, tenders: Sequence[Tender],
           how: Callable[[Query], Query] = lambda q: q,
           relevant: Callable[[str, dict[str, int]], dict[str, int]] = lambda r, g: g,
           ) -> dict[str, float]:
    nd: list[float] = []
    rc: list[float] = []
    for t in tenders:
        grades = relevant(t.ref, data.labels[t.ref])
        if not grades:
            continue
        r = rank_query(data.index, how(as_query(t)), top_k=50)
        refs = [data.index.refs_[i] for i in r.rows.tolist()]
        n = ndcg_at_k(refs, grades, 10)
        rec = recall_at_k(refs, grades, 20)
        if n is not None:
            nd.append(n)
        if rec is not None:
            rc.append(rec)
    return {"queries": len(nd), "ndcg@10": float(np.mean(nd)) if nd else float("nan"),
            "r@20": float(np.mean(rc)) if rc else float("nan")}


def english_described(data: Labelled) -> Callable[[str, dict[str, int]], dict[str, int]]:
    en = {ref for ref, e in data.enterprises.items()
          if bilingual.language(e.description) == "en"}
    return lambda _ref, g: {k: v for k, v in g.items() if k in en}


def table(data: Labelled) -> list[tuple[str, dict[str, float], dict[str, float]]]:
    nl = [t for ref, t in sorted(data.tenders.items()) if ref in data.labels]
    en = [data.english[ref] for ref in sorted(data.english)]
    nl_same = [data.tenders[ref] for ref in sorted(data.english)]
    rows = [
        ("Dutch tenders", nl, {}),
        ("  the same 22, Dutch", nl_same, {}),
        ("English versions", en, {}),
        ("Dutch, text only", [text_only(t) for t in nl], {}),
        ("English, text only", [text_only(t) for t in en], {}),
    ]
    out = []
    for name, ts, _ in rows:
        out.append((name, scores(data, ts, plain), scores(data, ts)))
    vv = english_described(data)
    out.append(("Dutch -> English-described, text only",
                scores(data, [text_only(t) for t in nl], plain, vv),
                scores(data, [text_only(t) for t in nl], relevant=vv)))
    return out


def main() -> int:
    with fixture_store() as data:
        print(f"translation weight {bilingual.TRANSLATION_WEIGHT}")
        print(f"{'queries':40} {'n':>3} {'NDCG@10 before':>15} {'after':>7} "
              f"{'R@20 before':>12} {'after':>7}")
        for name, b, a in table(data):
            print(f"{name:40} {a['queries']:>3} {b['ndcg@10']:>15.3f} {a['ndcg@10']:>7.3f} "
                  f"{b['r@20']:>12.3f} {a['r@20']:>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
