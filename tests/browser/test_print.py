"""Print stylesheet (#16 item 4): a printed plan or tender shows the content only — no
navigation, forms or buttons — and the charts' numbers as tables."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_printed_obligation_shows_plan_without_controls(page: Any, login_as: Any) -> None:
    login_as("firm")
    page.goto("/obligations")
    page.locator("main a[href^='/obligations/O-']").first.click()
    page.wait_for_url("**/obligations/O-*")
    assert page.locator("nav.mainnav").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("nav.mainnav").is_visible()
    assert not page.locator("footer").is_visible()
    assert page.locator("main form button:visible, main .button:visible").count() == 0
    assert page.locator("table.plan-table").first.is_visible()
    # The page fits A4 portrait (about 718 CSS px between margins) without a sideways scroll.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]


def test_printed_dashboard_opens_the_chart_tables(page: Any, login_as: Any) -> None:
    login_as("connector")
    page.goto("/dashboard")
    closed = page.locator("details.chart-table:not([open])").count()
    assert closed >= 2
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details.chart-table:not([open])").count() == 0
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.locator("details.chart-table:not([open])").count() == closed


def test_printed_tender_shows_matches_without_forms(page: Any, login_as: Any) -> None:
    login_as("officer")
    page.goto("/tenders?status=published")
    page.locator("#tenders tbody a[href^='/tenders/']").first.click()
    page.wait_for_url("**/tenders/*")
    assert page.locator("#report-pdf").is_visible()
    page.emulate_media(media="print")
    assert not page.locator("nav.mainnav").is_visible()
    assert not page.locator("#report-pdf").is_visible()
    assert page.locator("main form.inline-form:visible").count() == 0
    assert page.locator("#matches").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]


def test_printed_challenge_shows_portfolio_without_forms(page: Any, login_as: Any) -> None:
    login_as("connector")
    page.goto("/challenges")
    page.locator("#challenge-board .board-card h3 a").first.click()
    page.wait_for_url("**/challenges/*")
    page.emulate_media(media="print")
    assert not page.locator("nav.mainnav").is_visible()
    assert page.locator("main form:visible").count() == 0
    assert page.locator("main button:visible, main .button:visible").count() == 0
    assert page.locator("#portfolio-list .proposal").first.is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]
