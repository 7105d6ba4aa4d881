"""WCAG 2.1.1 and 2.4.7: one flow per role done with the keyboard only (Tab, Shift+Tab,
Enter, Space and typing; no clicks), checking at every stop that the focused element shows
a focus indicator, and that a form error is tied to its field and gets the focus."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.browser

MAX_TABS = 120

FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim(),
    href: el.getAttribute('href') || '',
    name: el.getAttribute('name') || '',
    value: el.getAttribute('value') || '',
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    describedby: el.getAttribute('aria-describedby') || '',
    invalid: el.getAttribute('aria-invalid') || '',
  };
}"""


def _tab_to(page: Any, wanted: Any, *, what: str) -> dict[str, Any]:
    """Press Tab until ``wanted(focus)`` holds; every element passed must show its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_STATE)
        if focus is None:
            continue
        assert focus["outline"], f"no visible focus on {focus}"
        if wanted(focus):
            return dict(focus)
    raise AssertionError(f"{what} not reachable with Tab within {MAX_TABS} presses")


def _login_by_keyboard(page: Any, role: str) -> None:
    page.goto("/login")
    # The e-mail field has autofocus; the rest is typing, Tab and Enter.
    focus = page.evaluate(FOCUS_STATE)
    assert focus and focus["name"] == "email"
    page.keyboard.type(f"browser-{role}@test.nl")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def _follow(page: Any, wanted: Any, *, what: str, url: str) -> None:
    _tab_to(page, wanted, what=what)
    page.keyboard.press("Enter")
    page.wait_for_url(url)


def test_skip_link_is_first_and_moves_to_the_content(page: Any, login_as: Any) -> None:
    login_as("officer")
    page.keyboard.press("Tab")
    focus = page.evaluate(FOCUS_STATE)
    assert focus["href"] == "#main" and focus["outline"]
    # The skip link is visible while focused (it sits off-screen otherwise).
    box = page.locator("a.skip").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_officer_opens_a_tender_by_keyboard(page: Any) -> None:
    _login_by_keyboard(page, "officer")
    _follow(page, lambda f: f["href"] == "/tenders", what="the tenders menu item",
            url="**/tenders")
    _follow(page, lambda f: f["href"].startswith("/tenders/T-"), what="a tender",
            url="**/tenders/T-*")
    assert page.locator("#verdict-title").count() == 1
    # The chart's numbers open as a table with Space on its summary.
    _tab_to(page, lambda f: f["tag"] == "summary", what="Toon als tabel")
    page.keyboard.press("Space")
    assert page.locator("details.chart-table[open], details[open]").count() >= 1
    assert not page.js_errors


def test_firm_opens_its_obligation_and_reads_the_progress_table(page: Any) -> None:
    _login_by_keyboard(page, "firm")
    _follow(page, lambda f: f["href"] == "/obligations", what="the obligations menu item",
            url="**/obligations")
    _follow(page, lambda f: f["href"].startswith("/obligations/O-"), what="an obligation",
            url="**/obligations/O-*")
    summary = _tab_to(page, lambda f: f["tag"] == "summary" and "tabel" in f["text"].lower(),
                      what="the progress chart's table")
    assert summary
    page.keyboard.press("Enter")
    table = page.locator("details.chart-table[open] table")
    assert table.count() == 1 and table.locator("tbody tr").count() >= 1
    assert not page.js_errors


def test_connector_error_is_tied_to_its_field_and_focused(page: Any) -> None:
    _login_by_keyboard(page, "connector")
    _follow(page, lambda f: f["href"] == "/curation", what="the curation menu item",
            url="**/curation*")
    # Reject the first proposal without a reason, by keyboard: refused, and the focus lands
    # on the reason field, which names its error through aria-describedby.
    _tab_to(page, lambda f: f["tag"] == "button" and f["value"] == "reject",
            what="a reject button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    focus = page.evaluate(FOCUS_STATE)
    assert focus is not None and focus["name"] == "reason", (
        page.url, page.evaluate("document.querySelectorAll('main [aria-invalid=true]').length"),
        page.evaluate("document.activeElement.outerHTML.slice(0, 200)"))
    assert focus["invalid"] == "true" and focus["outline"], focus
    error = page.locator(f"#{focus['describedby']}")
    assert error.get_attribute("role") == "alert"
    assert error.inner_text() == "Geef een reden bij afwijzen."
    # Typing the reason where the focus already is, then the reject button: recorded.
    page.keyboard.type("Past niet bij de vraag van de gemeente")
    _tab_to(page, lambda f: f["tag"] == "button" and f["value"] == "reject",
            what="the reject button again")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Vastgelegd in het curatielogboek" in page.locator(".flash-success").inner_text()
    assert not page.js_errors


def test_admin_searches_enterprises_by_keyboard(page: Any) -> None:
    _login_by_keyboard(page, "admin")
    _follow(page, lambda f: f["href"] == "/enterprises", what="the enterprises menu item",
            url="**/enterprises")
    _tab_to(page, lambda f: f["name"] == "q", what="the search field")
    page.keyboard.type("groen")
    page.keyboard.press("Enter")
    page.wait_for_url("**/enterprises?*q=groen*")
    _follow(page, lambda f: f["href"].startswith("/enterprises/E-"), what="a result",
            url="**/enterprises/E-*")
    assert page.locator("h1").count() == 1
    assert not page.js_errors
