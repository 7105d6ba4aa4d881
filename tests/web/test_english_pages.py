"""Rendered in English, the main pages carry no Dutch interface words (#16 item 2).

The catalog test (test_translations.py) proves every t() text has English; this one catches
what it cannot see: text outside t(), labels translated through a variable that has no
entry, Dutch number notation ("mln.") and formatting done in Dutch. Names and descriptions
of the (Dutch) fictional data are not interface text, so the words below are interface
words that the seed data does not use.
"""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

DUTCH_UI_WORDS = [
    "Opslaan", "Zoeken", "Annuleren", "Verwijderen", "Uitloggen", "Inloggen", "Bekijk",
    "Ondernemingen", "Aanbestedingen", "Verplichtingen", "Verschuldigd", "Toegezegd",
    "Geleverd", "Gepland", "gevonden", "Volgende", "Vorige", "pagina", "nog niet",
    "gescreend", "Gescreend", "inkoop", "plaatsingen", "plaatsing", "vrij:", "besluiten",
    "verlopen", "dagen", "Amsterdamse tijd", "mln.", "mld.", "Onderneming", "Toelichting",
    "Kies", "Geen ", "geen ", "Wanneer", "Datum", "Bedrag", "Waarde", "Regio", "Gemeente ",
    "Screening", "Capaciteit", "capaciteit", "Doelgroepen", "doelgroepen", "Afwijzen",
    "Accepteren", "Voorstel", "Wachtend", "wachtend", "Overzicht", "Terug", "Nieuwe ",
]
PAGES = {
    "officer": ["/", "/tenders", "/tenders/T-UTR-1", "/obligations", "/obligations/O-1",
                "/dashboard"],
    "firm": ["/", "/obligations", "/enterprises", "/enterprises/E-001"],
    "connector": ["/", "/enterprises", "/enterprises/E-001", "/curation", "/curation/log",
                  "/vetting", "/challenges", "/challenges/C-1", "/weights", "/import",
                  "/dashboard"],
}
_SKIP = re.compile(r"<(script|style|code|textarea|option)\b.*?</\1>", re.S | re.I)
_DATA = re.compile(r"<a\b[^>]*href=\"/(enterprises|tenders|obligations|challenges)/[^\"]+\"[^>]*>"
                   r".*?</a>", re.S)
_TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    """The page's text without markup, scripts, codes and links to records (data names)."""
    page = page.split("<main", 1)[-1] if "<main" in page else page
    text = _TAG.sub(" ", _DATA.sub(" ", _SKIP.sub(" ", page)))
    return re.sub(r"\s+", " ", html.unescape(text))


def dutch_words(text: str, data: set[str]) -> list[str]:
    hits = []
    for word in DUTCH_UI_WORDS:
        for m in re.finditer(re.escape(word), text):
            around = text[max(0, m.start() - 50):m.end() + 50]
            if not any(d in around for d in data if word in d):
                hits.append(f"{word!r} in …{around}…")
    return hits


@pytest.mark.parametrize("role", sorted(PAGES))
def test_english_pages_have_no_dutch_interface_words(
        client: TestClient, login, role: str) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import Session, select

    from api.db import get_engine
    from api.tables import ChallengeRow, EnterpriseRow, TenderRow

    # Texts of the seeded records (names, descriptions) are data, not interface.
    with Session(get_engine()) as s:
        data = {str(v) for e in s.exec(select(EnterpriseRow)).all()
                for v in (e.name, e.description) if v}
        data |= {str(v) for t in s.exec(select(TenderRow)).all()
                 for v in (t.title, t.description, t.buyer) if v}
        data |= {str(v) for c in s.exec(select(ChallengeRow)).all()
                 for v in (c.title, c.question) if v}
    login(role)
    # The same check on a Dutch page finds plenty: the word list and the text extraction work.
    dutch = client.get(PAGES[role][-1], params={"lang": "nl"})
    assert len(dutch_words(visible_text(dutch.text), data)) >= 3
    problems = []
    for path in PAGES[role]:
        r = client.get(path, params={"lang": "en"})
        assert r.status_code == 200, (path, r.status_code)
        problems += [f"{path}: {hit}" for hit in dutch_words(visible_text(r.text), data)]
    assert not problems, "Dutch on English pages:\n" + "\n".join(problems)


def test_building_blocks_are_named_in_the_page_language(
        client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    """The valuation policy's building blocks (delivery form) by their own English label."""
    from sqlmodel import Session, select

    from api.db import get_engine
    from api.routes.obligations import overview
    from api.tables import ObligationRow

    with Session(get_engine()) as s:
        row = s.exec(select(ObligationRow).where(ObligationRow.ref == "O-1")).one()
        blocks = list(overview(s, row).policy.blocks.values())
    login("firm")
    english = client.get("/obligations/O-1", params={"lang": "en"}).text
    dutch = client.get("/obligations/O-1", params={"lang": "nl"}).text
    assert any(html.escape(b.label_en) in english for b in blocks)
    assert not any(html.escape(b.label_nl) in english for b in blocks if b.label_nl != b.label_en)
    assert any(html.escape(b.label_nl) in dutch for b in blocks)
