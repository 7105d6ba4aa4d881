"""One enterprise with commitments shows the same free capacity, with the same wording,
on the tender page, in the plan (obligation page), on its own page, in search, in the
CSV export and in the API (issue #10: one capacity owner, matcher.capacity)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.db import get_engine
from api.services import matching
from api.tables import AllocationRow, EnterpriseRow
from tests.web.csv_read import number, read_csv

Headers = Callable[[str], dict[str, str]]
SPAN = re.compile(r'<span class="free-capacity" data-free-purchase-eur="([0-9.]+)" '
                  r'data-free-placements="([0-9]+)">([^<]+)</span>')


def _spans_near(html: str, ref: str) -> list[tuple[float, int, str]]:
    """The free-capacity spans in the table row / result / block that links to ``ref``."""
    out = []
    for block in re.split(r"<tr|<article|<div class=\"stats\"", html):
        if f'href="/enterprises/{ref}"' in block or f"<code>{ref}</code>" in block:
            out += [(float(a), int(b), c) for a, b, c in SPAN.findall(block)]
    return out


def test_the_same_free_capacity_everywhere(client: TestClient, login: Callable[[str], TestClient],
                                           api_token: Headers) -> None:
    h = api_token("connector")
    plan = client.get("/api/v1/obligations/O-1/plan", headers=h).json()
    matches = client.get("/api/v1/tenders/T-UTR-1/matches?top=100&per_page=100",
                         headers=h).json()["items"]
    in_plan = {r["enterprise"] for r in plan["rows"]}
    ref = next(m["ref"] for m in matches if m["ref"] in in_plan)

    # Commit part of its purchasing and one placement elsewhere (O-3: not this tender's
    # nor this obligation's own commitments, so every page counts them).
    with Session(get_engine()) as s:
        row = s.exec(select(EnterpriseRow).where(EnterpriseRow.ref == ref)).one()
        purchasing, places = row.purchasing_eur_per_year, row.placements_per_year
        s.add(AllocationRow(obligation_ref="O-3", enterprise_ref=ref, amount_eur=5_000,
                            credit_eur=5_000, status="committed"))
        s.add(AllocationRow(obligation_ref="O-3", enterprise_ref=ref, kind="placement",
                            amount_eur=30_000, credit_eur=30_000, placements=1,
                            status="committed"))
        s.commit()
    matching.invalidate()
    # O-3's contract runs four years (2026-2029): its € 5.000 and one place count a quarter
    # a year (issue #11 item 5), a quarter place taking one whole place off what is free.
    want_eur, want_places = purchasing - 5_000 / 4, places - 1
    assert want_places >= 1
    want_text = (f"vrij: € {want_eur:,.0f}".replace(",", ".") + " inkoop per jaar en "
                 f"{want_places} plaatsing{'' if want_places == 1 else 'en'} per jaar")

    # The API: matches, plan and search carry the same explicit fields.
    fields = {"purchasing_eur_per_year": purchasing, "placements_per_year": places,
              "free_purchase_eur_per_year": want_eur, "free_placements_per_year": want_places}
    m = next(m for m in client.get("/api/v1/tenders/T-UTR-1/matches?top=100&per_page=100",
                                   headers=h).json()["items"] if m["ref"] == ref)
    p = next(r for r in client.get("/api/v1/obligations/O-1/plan", headers=h).json()["rows"]
             if r["enterprise"] == ref)
    hit = next(i for i in client.get(f"/api/v1/search?q={ref}", headers=h).json()["items"]
               if i["ref"] == ref)
    for out in (m, p, hit):
        assert {k: out[k] for k in fields} == fields

    # The CSV export of the search: the same figures under the same names.
    login("connector")
    rows = read_csv(client.get(f"/enterprises/export.csv?q={ref}"))
    row_csv = next(r for r in rows if r["Kenmerk"] == ref)
    assert number(row_csv["Vrije inkoopcapaciteit per jaar (EUR)"]) == want_eur
    assert int(number(row_csv["Vrije plaatsingen per jaar"])) == want_places

    # The pages: tender, plan, enterprise page and search show one span with one text.
    pages = {"tender": "/tenders/T-UTR-1", "plan": "/obligations/O-1",
             "enterprise": f"/enterprises/{ref}", "search": f"/enterprises?q={ref}"}
    for name, path in pages.items():
        html = client.get(path).text
        spans = _spans_near(html, ref)
        assert spans, f"no free capacity for {ref} on the {name} page"
        for eur, n, text in spans:
            assert (eur, n) == (want_eur, want_places), name
            assert text.replace("&nbsp;", " ") == want_text, name
    # English: the same figures, translated wording.
    en = _spans_near(client.get(f"/enterprises/{ref}?lang=en").text, ref)
    assert en and en[0][:2] == (want_eur, want_places) and en[0][2].startswith("free: ")
