"""WCAG 2.1 A and AA in Chromium: axe-core 4 over every page each role can reach, in Dutch
and English, at desktop (1280 px) and phone (390 px) width; at both widths no page may be
wider than the viewport (reflow, WCAG 1.4.10).

axe-core comes from the `axe-playwright-python` package (our registries) and is injected by
the test through the DevTools protocol, so it is never shipped to users and the page's CSP
stays as it is. The pages are found by walking the role's navigation and opening the first
item of every list, so a new page is audited without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {"desktop": 1280, "phone": 390}
# Pages that are files or redirects, not HTML for people.
NOT_PAGES = re.compile(r"(\.csv|\.pdf|\.xlsx|/export|/logout|/api/|/static/|\?.*format=)")
MAX_PAGES_PER_ROLE = 24


def _axe_source() -> str:
    try:
        import axe_playwright_python
    except ModuleNotFoundError:
        pytest.skip("axe-playwright-python is not installed (pip install -e '.[dev]')")
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")


def _route_of(path: str) -> str:
    """One audit per kind of page: /tenders/T-001 and /tenders/T-002 are the same template."""
    parts = [p for p in path.split("/") if p]
    shape = [parts[0]] if parts else []
    for part in parts[1:]:
        shape.append("{id}" if re.search(r"\d", part) else part)
    return "/" + "/".join(shape)


def _links(page: Any) -> list[str]:
    hrefs: Iterable[str] = page.eval_on_selector_all(
        "main a[href], nav a[href], footer a[href]", "els => els.map(e => e.getAttribute('href'))")
    out = []
    for href in hrefs:
        if not href or not href.startswith("/") or href.startswith("//"):
            continue
        if NOT_PAGES.search(href) or "lang=" in href or href.startswith("/api"):
            continue
        out.append(href.split("#")[0])
    return out


def _crawl(page: Any) -> list[str]:
    """The role's pages: its navigation, then one item of each kind linked from them."""
    seen_routes: set[str] = set()
    queue = ["/"]
    pages: list[str] = []
    while queue and len(pages) < MAX_PAGES_PER_ROLE:
        href = queue.pop(0)
        route = _route_of(urlsplit(href).path)
        if route in seen_routes:
            continue
        seen_routes.add(route)
        response = page.goto(href)
        if response is None or response.status != 200 or "text/html" not in (
                response.headers.get("content-type", "")):
            continue
        if urlsplit(page.url).path == "/login" and href != "/login":
            continue
        pages.append(href)
        # Breadth first, one level of details below the navigation is enough to see
        # every template.
        if href.count("/") <= 2:
            queue.extend(link for link in _links(page) if link not in queue)
    return pages


# The element that sticks out furthest to the right, to say what to fix.
WIDEST = """() => {
  let worst = null, right = window.innerWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll('main *, header *')) {
    if (scrolls(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > right + 0.5) { right = r.right; worst = el; }
  }
  return worst ? worst.tagName.toLowerCase() + (worst.id ? '#' + worst.id : '') +
    (worst.className && typeof worst.className === 'string' ? '.' +
     worst.className.trim().split(/\\s+/).join('.') : '') + ' → ' + Math.round(right) + ' px' : '?';
}"""


def _violations(page: Any, axe: str) -> list[str]:
    page.evaluate(axe)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", WCAG_TAGS)
    found = []
    for v in result["violations"]:
        targets = ", ".join(str(n["target"]) for n in v["nodes"][:3])
        found.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])}×): {v['help']} — {targets}")
    return found


def _audit(page: Any, pages: list[str], axe: str, lang: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for href in pages:
        sep = "&" if "?" in href else "?"
        for width_name, width in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{href}{sep}lang={lang}")
            found = _violations(page, axe)
            # WCAG 1.4.10 (reflow): nothing wider than the viewport, tables scroll inside
            # their card instead of widening the page.
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                wide = page.evaluate(WIDEST)
                found.append(f"page is {overflow} px wider than the viewport: {wide}")
            if width >= 1280:
                # The main navigation fits on one line at desktop width (#16 item 6).
                rows = page.evaluate(
                    "() => new Set([...document.querySelectorAll('nav.mainnav a')]"
                    ".map(a => Math.round(a.getBoundingClientRect().top))).size")
                if rows > 1:
                    found.append(f"the main navigation wraps to {rows} lines at {width} px")
            if width < 640:
                found += _phone_header_problems(page)
            if found:
                problems[f"{href} [{lang}, {width_name}]"] = found
    return problems


# The phone header (#16 item 6): compact, and the language switch entirely on screen.
PHONE_HEADER_MAX_PX = 120
HEADER_BOXES = """() => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const lang = [...document.querySelectorAll('.langswitch a, .langswitch strong')];
  return {header: box(document.querySelector('header.topbar')), width: window.innerWidth,
          height: window.innerHeight,
          lang: lang.map(e => ({text: e.textContent.trim(), box: box(e)}))};
}"""


def _phone_header_problems(page: Any) -> list[str]:
    boxes = page.evaluate(HEADER_BOXES)
    found = []
    height = boxes["header"]["bottom"] - boxes["header"]["top"]
    if height > PHONE_HEADER_MAX_PX:
        found.append(f"the header is {height:.0f} px high (at most {PHONE_HEADER_MAX_PX})")
    texts = sorted(item["text"] for item in boxes["lang"])
    if texts != ["EN", "NL"]:
        found.append(f"the language switch shows {texts}, not NL and EN")
    for item in boxes["lang"]:
        b = item["box"]
        if b["left"] < 0 or b["right"] > boxes["width"] or b["top"] < 0 or \
                b["bottom"] > boxes["height"] or b["right"] - b["left"] < 8:
            found.append(f"{item['text']!r} is not entirely on screen: {b}")
    return found


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.parametrize("role", ["officer", "firm", "connector", "admin"])
def test_phone_header_is_compact_with_the_language_switch(role: str, page: Any,
                                                         login_as: Any,
                                                         tmp_path_factory: Any) -> None:
    """At 390 px the header takes at most 120 px and NL/EN are fully visible; at 1280 px
    too. Screenshots (kept in a temp folder, never committed) are as wide as the viewport."""
    shots = tmp_path_factory.mktemp(f"header-{role}")
    login_as(role)
    for lang in ("nl", "en"):
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(f"/?lang={lang}")
            problems = _phone_header_problems(page)
            assert not problems, f"{role} {lang} {width} px: {problems}"
            shot = shots / f"{role}-{lang}-{width}.png"
            page.screenshot(path=str(shot))
            assert _png_size(shot)[0] == width
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{role} {lang} {width} px: {overflow} px too wide"
    print(f"header screenshots: {shots}")


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("role", ["officer", "firm", "connector", "admin"])
def test_every_page_of_the_role_meets_wcag21_aa(role: str, lang: str, page: Any,
                                                 login_as: Any) -> None:
    axe = _axe_source()
    login_as(role)
    pages = _crawl(page)
    # Each role has its home, its lists and at least one detail page to audit.
    assert len(pages) >= 5, pages
    problems = _audit(page, pages, axe, lang)
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(found)
                                   for where, found in problems.items())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_login_and_public_pages_meet_wcag21_aa(lang: str, page: Any) -> None:
    axe = _axe_source()
    problems = _audit(page, ["/login", "/toegankelijkheid"], axe, lang)
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(found)
                                   for where, found in problems.items())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_directory_pages_meet_wcag21_aa(lang: str, page: Any, login_as: Any) -> None:
    """The pages of #16 item 7 (notifications, admin, account with the password form, a
    tender with its region map, an enterprise with its contact details, the import page
    with its templates), including the ones the crawl reaches only from the header."""
    axe = _axe_source()
    login_as("admin")
    page.goto("/tenders")
    tender = page.eval_on_selector("main a[href^='/tenders/T']", "a => a.getAttribute('href')")
    page.goto("/enterprises")
    enterprise = page.eval_on_selector("main a[href^='/enterprises/E']",
                                       "a => a.getAttribute('href')")
    pages = ["/meldingen", "/beheer", "/beheer/gebruikers/nieuw", "/account", "/import",
             tender, enterprise]
    problems = _audit(page, pages, axe, lang)
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(found)
                                   for where, found in problems.items())
