"""End to end in Chromium: each role logs in, searches, opens an enterprise, switches language."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

# Outside the repository: screenshots are for looking at, not for committing.
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "sroi-screenshots"))


@pytest.mark.parametrize("role", ["officer", "firm", "connector", "admin"])
def test_role_can_search_and_switch_language(role: str, page: Any, login_as: Any) -> None:
    login_as(role)
    assert page.locator("h1").first.inner_text().startswith("Welkom")
    assert page.locator("nav.mainnav a", has_text="Ondernemingen").count() == 1

    page.click("nav.mainnav a:has-text('Ondernemingen')")
    page.wait_for_url("**/enterprises")
    page.fill("input[name=q]", "groen")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/enterprises?*q=groen*")
    results = page.locator("article.result")
    assert results.count() > 0
    # Tick a facet: the form submits itself and the filter sticks.
    facet = page.locator("fieldset.facet input[name=tg]").first
    value = facet.get_attribute("value")
    facet.check()
    page.wait_for_url(f"**tg={value}**")
    assert page.locator(f"fieldset.facet input[name=tg][value='{value}']").is_checked()

    results.first.locator("h3 a").click()
    page.wait_for_url("**/enterprises/*")
    assert page.locator("h2", has_text="Keurmerken").count() == 1

    page.click(".langswitch a:has-text('EN')")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h2", has_text="Certifications").count() == 1
    page.goto("/")
    assert page.locator("nav.mainnav a", has_text="Enterprises").count() == 1
    assert not page.js_errors


def test_cpv_suggestions_and_screenshots(page: Any, login_as: Any) -> None:
    login_as("connector")
    page.goto("/enterprises?municipality=Utrecht&km=40")
    assert page.locator("article.result").count() > 0
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)
    page.goto("/dashboard")
    assert page.locator("figure.chart svg").count() >= 2
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    # The CPV type-ahead answers from the page's session (GET only).
    reply = page.request.get("/api/v1/cpv?q=schoonmaak")
    assert reply.ok
    assert reply.json()["items"][0]["code"].startswith("909")
    assert not page.js_errors


def test_api_docs_render_offline(page: Any) -> None:
    """Swagger UI starts under the CSP with no network beyond this app: the operations
    appear, and nothing was refused or failed to load."""
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text)
            if msg.type == "error" else None)
    page.on("requestfailed", lambda req: refused.append(req.url))
    page.goto("/api/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() > 20
    assert page.locator(".info .title").first.inner_text().startswith("Social Return Matcher")
    assert not refused, refused
    assert not page.js_errors
