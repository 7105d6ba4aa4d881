"""A walk through the product per role, in Dutch and in English (#16 item 9): every page of
the role's navigation plus its notifications and account pages, at desktop (1280 px) and
phone (390 px) width. On each: the page answers 200, the browser logs no console error and
no script error (a Content-Security-Policy violation is a console error too), nothing is
wider than the viewport, no placeholder is left unfilled (``{name}``, ``{{ … }}``) and, in
English, the navigation is not left in Dutch. A screenshot of each page is saved in a
temporary folder (printed; not committed) and is as wide as the viewport.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
# A format placeholder or template tag that reached the page unfilled.
PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}|\{\{|\}\}|\{%|%\}")
# Navigation labels that are Dutch only: in English none of them may be shown.
DUTCH_NAV = ("Aanbestedingen", "Verplichtingen", "Inkoopanalyse", "Ondernemingen", "Curatie",
             "Gewichten", "Beheer", "Uitloggen", "Meldingen")
# Pages every role walks besides its navigation (linked from the header).
ALSO = ("/meldingen", "/account")


def _png_width(path: Path) -> int:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big")


def _nav(page: Any) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all(
        "nav.mainnav a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h.startswith("/")]


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("role", ["officer", "firm", "connector", "admin"])
def test_walk(role: str, lang: str, page: Any, login_as: Any, tmp_path_factory: Any) -> None:
    shots = tmp_path_factory.mktemp(f"walk-{role}-{lang}")
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}")
            if msg.type == "error" else None)
    login_as(role)
    page.goto(f"/?lang={lang}")
    pages = list(dict.fromkeys([*_nav(page), *ALSO]))
    assert len(pages) >= 6, pages  # home, the role's lists, notifications, account
    if role == "admin":
        assert "/beheer" in pages
    problems: list[str] = []
    for href in pages:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            before = len(console) + len(page.js_errors)
            response = page.goto(f"{href}?lang={lang}")
            page.wait_for_load_state("load")
            where = f"{href} [{lang}, {width} px]"
            if response is None or response.status != 200:
                problems.append(f"{where}: status {response.status if response else None}")
                continue
            if len(console) + len(page.js_errors) > before:
                problems.append(f"{where}: console {console[-3:]} {page.js_errors[-3:]}")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                problems.append(f"{where}: {overflow} px wider than the viewport")
            text = page.inner_text("body")
            left = PLACEHOLDER.findall(text)
            if left:
                problems.append(f"{where}: unfilled placeholders {left[:5]}")
            if lang == "en":
                header = page.inner_text("header.topbar")
                dutch = [w for w in DUTCH_NAV if re.search(rf"\b{w}\b", header)]
                if dutch:
                    problems.append(f"{where}: Dutch in the English header: {dutch}")
            name = re.sub(r"[^a-z0-9]+", "-", href.strip("/") or "home")
            shot = shots / f"{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            if _png_width(shot) != width:
                problems.append(f"{where}: screenshot {_png_width(shot)} px wide")
    print(f"walk screenshots ({role}, {lang}): {shots}")
    assert not problems, "\n".join(problems)
