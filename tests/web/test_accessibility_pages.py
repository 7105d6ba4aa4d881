"""WCAG 2.1 AA on the server side: the accessibility statement, and every chart's text
alternative (title + description + the numbers as a table). The browser audit with axe-core
is tests/browser/test_accessibility.py."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import i18n
from api.routes.accessibility import AUDIT

ROOT = Path(__file__).resolve().parents[2]


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_statement_is_public_and_states_the_audit(client: TestClient) -> None:
    r = client.get("/toegankelijkheid")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Toegankelijkheidsverklaring" in text
    assert f"Status {AUDIT['status']}" in text
    assert "WCAG 2.1 AA" in text
    assert f'datetime="{AUDIT["date"].isoformat()}"' in r.text
    assert f"{AUDIT['violations']} overtredingen" in text
    english = _text(client.get("/toegankelijkheid?lang=en").text)
    assert "Accessibility statement" in english and "violations found" in english


def test_every_page_links_the_statement_in_its_footer(client: TestClient) -> None:
    for path in ("/login", "/toegankelijkheid"):
        footer = client.get(path).text.split("<footer", 1)[1]
        assert 'href="/toegankelijkheid"' in footer, path


def test_statement_strings_are_translated() -> None:
    text = (ROOT / "templates" / "accessibility.html").read_text(encoding="utf-8")
    missing = [m.group(2) for m in re.finditer(r"""\bt\(\s*(["'])(.+?)\1""", text)
               if m.group(2) not in i18n.english()]
    assert not missing


@pytest.mark.postgres
def test_dashboard_charts_have_description_and_table(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login("connector")
    html = client.get("/dashboard").text
    svgs = re.findall(r"<svg [^>]*role=\"img\"[^>]*>.*?</svg>", html, re.S)
    assert len(svgs) >= 2
    for svg in svgs:
        labelled = re.search(r'aria-labelledby="([^"]+)"', svg)
        assert labelled, svg[:200]
        for ident in labelled.group(1).split():
            assert f'id="{ident}"' in svg
        desc = re.search(r"<desc [^>]*>(.*?)</desc>", svg, re.S)
        assert desc and len(desc.group(1).strip()) > 20
    # Each chart's numbers as a table: one row per bar or month, behind "Toon als tabel".
    tables = re.findall(r'<details class="chart-table">(.*?)</details>', html, re.S)
    assert len(tables) == len(svgs)
    for table in tables:
        assert "Toon als tabel" in table
        assert len(re.findall(r"<tr>", table)) >= 2


@pytest.mark.postgres
def test_line_chart_table_has_one_row_per_month_and_series(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    """The monthly credit chart's table holds every month of the dashboard's CSV, one column
    per series, although the axis labels only some months."""
    login("connector")
    months = client.get("/dashboard/credit_by_month.csv").text.strip().splitlines()[1:]
    assert months
    html = client.get("/dashboard").text
    figure = next(f for f in re.findall(r'<figure class="chart">(.*?)</figure>', html, re.S)
                  if "Geleverde social return per maand" in f)
    table = re.search(r'<details class="chart-table">(.*?)</details>', figure, re.S)
    assert table
    assert len(re.findall(r'<tr><th scope="row">', table.group(1))) == len(months)
    header = re.search(r"<thead>(.*?)</thead>", table.group(1), re.S)
    assert header and header.group(1).count('scope="col"') == 3  # month + two series
