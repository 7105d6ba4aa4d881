"""PDF downloads (#16 item 4): a firm's plan and progress report and a tender's match report,
in the user's language, with the page's numbers; the same access as the pages."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.i18n import format_eur
from api.web import pdf

NO_PDF = pdf.unavailable()
needs_pdf = pytest.mark.skipif(
    NO_PDF is not None, reason=f"WeasyPrint cannot load here (system Pango missing?): {NO_PDF}")


def _text(r: Any) -> str:
    from pypdf import PdfReader

    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(r.content)).pages)
    # Layout may break lines and use narrow no-break spaces: compare on single spaces.
    return _spaced(text)


def _spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\xa0", " "))


@needs_pdf
def test_firm_downloads_its_plan_and_progress(client: TestClient, login: Any) -> None:
    login("firm")
    page = client.get("/obligations/O-1").text
    assert 'href="/obligations/O-1/rapport.pdf"' in page
    r = client.get("/obligations/O-1/rapport.pdf")
    assert 'filename="plan-en-voortgang-O-1.pdf"' in r.headers["content-disposition"]
    text = _text(r)
    due = re.search(r'id="due">([^<]+)<', page)
    assert due and _spaced(due.group(1)) in text  # the page's figure
    assert "Schoonmaak stadskantoren" in text  # the tender's title
    assert "Invullingsplan" in text and "Voortgang" in text
    assert "€ 120.000" in text  # what is due, formatted as on the page
    assert "Schoonwerk Amsterdam 6" in text  # a committed enterprise, by name
    assert _spaced(format_eur(20_000 / 6)) in text  # one of its deliveries, as pages say it
    # In English: English words, and the amounts exactly as the English page shows them.
    english = _text(client.get("/obligations/O-1/rapport.pdf?lang=en"))
    due = re.search(r'id="due">([^<]+)<', client.get("/obligations/O-1?lang=en").text)
    assert due and "Fulfilment plan and progress" in english
    assert _spaced(due.group(1)) in english


@needs_pdf
def test_officer_downloads_the_tender_match_report(client: TestClient, login: Any) -> None:
    login("officer")
    page = client.get("/tenders/T-UTR-1").text
    assert 'href="/tenders/T-UTR-1/matchrapport.pdf"' in page
    first = re.search(r'<a href="/enterprises/(E-\d+)">([^<]+)</a>', page)
    assert first, "no match on the page"
    text = _text(client.get("/tenders/T-UTR-1/matchrapport.pdf"))
    assert "Schoonmaak stadskantoren" in text and "€ 120.000" in text
    assert first.group(2) in text and first.group(1) in text  # the page's first match


def test_others_get_the_pages_404(client: TestClient, login: Any) -> None:
    login("firm2")
    assert client.get("/obligations/O-1/rapport.pdf").status_code == 404
    assert client.get("/tenders/T-UTR-1/matchrapport.pdf").status_code == 404
    client.cookies.clear()
    login("officer2")
    assert client.get("/tenders/T-UTR-1/matchrapport.pdf").status_code == 404
    assert client.get("/obligations/O-1/rapport.pdf").status_code == 404


def test_without_the_library_the_link_says_why(client: TestClient, login: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf, "unavailable", lambda: "OSError: cannot load library 'pango'")
    login("firm")
    r = client.get("/obligations/O-1/rapport.pdf")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "PDF is op deze server niet beschikbaar" in r.text and "Opslaan als PDF" in r.text
    r = client.get("/obligations/O-1/rapport.pdf?lang=en")
    assert r.status_code == 503 and "Save as PDF" in r.text
