"""The procurement officer in Chromium: new tender → validation error → fix → matches and
the feasibility verdict; edit keeps the values; delete asks for confirmation."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

# Outside the repository: screenshots are for looking at, not for committing.
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "sroi-screenshots"))


def test_officer_enters_a_tender_and_sees_matches(page: Any, login_as: Any) -> None:
    login_as("officer")
    page.click("nav.mainnav a:has-text('Aanbestedingen')")
    page.wait_for_url("**/tenders")
    assert page.locator("#tenders tbody tr").count() > 0  # the organisation's own tenders
    page.click("a:has-text('Nieuwe aanbesteding')")
    page.wait_for_url("**/tenders/new")

    page.fill("input[name=title]", "Schoonmaak sporthallen")
    page.fill("textarea[name=description]", "Dagelijkse schoonmaak van vier sporthallen")
    # The CPV picker: type words, pick a suggestion with the keyboard.
    search = page.locator("[data-testid=cpv-search]")
    search.fill("schoonmaak")
    page.wait_for_selector(".cpv-options [role=option]")
    search.press("Enter")
    chip = page.locator(".cpv-chip").first
    chip.wait_for()
    code = chip.get_attribute("data-code")
    assert code and code.startswith("909")
    page.fill("input[name=contract_value_eur]", "twee miljoen")
    page.fill("input[name=municipality]", "Utrecht")
    page.fill("input[name=sroi_percentage]", "5")
    page.check("input[name=sroi_target_groups][value=participatiewet]")
    page.click("button[value=publish]")

    # The error sits beside its field and everything typed is still there.
    error = page.locator("#f-contract_value_eur-err")
    error.wait_for()
    assert "Vul een getal in" in error.inner_text()
    assert page.input_value("input[name=title]") == "Schoonmaak sporthallen"
    assert page.input_value("input[name=contract_value_eur]") == "twee miljoen"
    assert page.locator(f".cpv-chip[data-code='{code}']").count() == 1
    assert page.is_checked("input[name=sroi_target_groups][value=participatiewet]")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "tender-form-error.png"), full_page=True)

    page.fill("input[name=contract_value_eur]", "2.000.000")
    page.click("button[value=publish]")
    page.wait_for_selector("#verdict-label")
    assert page.locator("h1").inner_text().startswith("Schoonmaak sporthallen")
    assert page.locator("#obligation-eur").inner_text() == "€ 100.000"
    assert page.locator("#verdict-label").inner_text() in ("Haalbaar", "Krap", "Niet haalbaar")
    assert page.locator("#verdict svg.feasibility-bar").count() == 1
    rows = page.locator("#match-table tbody tr")
    assert rows.count() > 0
    assert "km" in rows.first.inner_text()
    page.screenshot(path=str(SHOTS / "tender-detail.png"), full_page=True)

    # Edit: the form comes back filled in.
    page.click("a:has-text('Wijzigen')")
    page.wait_for_url("**/edit")
    assert page.input_value("input[name=contract_value_eur]") == "2000000"
    assert page.locator(f".cpv-chip[data-code='{code}']").count() == 1
    page.go_back()

    # Delete asks first; then the tender is gone from the list.
    page.click("details.confirm-delete summary")
    page.click("details.confirm-delete button[type=submit]")
    page.wait_for_url("**/tenders")
    assert "is verwijderd" in page.locator(".flash").inner_text()
    assert page.locator("#tenders", has_text="Schoonmaak sporthallen").count() == 0
    assert not page.js_errors
