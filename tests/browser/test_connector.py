"""End to end in Chromium, as a connector: curate a match (refused without a reason, then
accepted with one and found in the log), vet a pending enterprise, open a Challenge with
its portfolio and coalitions, move it to the next stage. Screenshots of each main page go
outside the repository (SCREENSHOT_DIR, default /tmp/sroi-screenshots)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(tempfile.gettempdir()) / "sroi-screenshots"))


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.screenshot(path=str(SHOTS / f"{name}-top.png"))


def test_connector_curates_a_match(page: Any, login_as: Any) -> None:
    login_as("connector")
    page.click("nav.mainnav a:has-text('Curatie')")
    page.wait_for_url("**/curation")
    assert page.locator("section.query-card").count() > 0
    _shot(page, "curation")
    # Challenge matches: deciding them leaves the other flows' capacity figures alone.
    page.click(".kindtabs a:has-text('Challenges')")
    page.wait_for_url("**/curation?kind=challenge*")
    form = page.locator("form[action='/curation/decide']").first
    qref = form.locator("input[name=query_ref]").get_attribute("value")
    eref = form.locator("input[name=enterprise_ref]").get_attribute("value")

    # Rejecting without a reason is refused, with the message beside the match.
    form.locator("button[value=reject]").click()
    page.wait_for_load_state()
    alert = page.locator(f"#m-{eref} .error[role=alert]")
    assert alert.inner_text() == "Geef een reden bij afwijzen."
    assert page.locator(".flash-error").count() == 1

    # Accepting with a reason is recorded and the match leaves the queue.
    form = page.locator(f"#m-{eref} form[action='/curation/decide']")
    form.locator("input[name=reason]").fill("Werkt al met deze doelgroep in de wijk")
    form.locator("button[value=accept]").click()
    page.wait_for_load_state()
    assert "Vastgelegd in het curatielogboek" in page.locator(".flash-success").inner_text()
    assert page.locator(f"#m-{eref} input[name=query_ref][value='{qref}']").count() == 0

    page.click("a:has-text('Curatielogboek')")
    page.wait_for_url("**/curation/log")
    row = page.locator("#curation-log tbody tr").first
    assert "Werkt al met deze doelgroep in de wijk" in row.inner_text()
    assert eref in row.inner_text() and qref in row.inner_text()
    assert "browser-connector@test.nl" in row.inner_text()
    _shot(page, "curation-log")
    row.locator("a:has-text('Geschiedenis')").click()
    page.wait_for_url("**/curation/log?*enterprise_ref=*")
    assert page.locator("h1").inner_text() == "Geschiedenis van deze match"
    assert not page.js_errors


def test_connector_vets_a_pending_enterprise(page: Any, login_as: Any) -> None:
    login_as("connector")
    page.click("nav.mainnav a:has-text('Screening')")
    page.wait_for_url("**/vetting")
    _shot(page, "vetting")
    rows = page.locator("#vetting-pending tbody tr")
    if rows.count() == 0:
        pytest.skip("the loaded data has no enterprise pending vetting")
    row = rows.first
    ref = row.get_attribute("data-ref")
    name = row.locator("td a").first.inner_text()
    row.locator("input[name=reason]").fill("KvK-uittreksel en loonlijst gecontroleerd")
    row.locator("button[value=vetted]").click()
    page.wait_for_url("**/vetting")
    assert f"{name} is goedgekeurd" in page.locator(".flash-success").inner_text()
    assert page.locator(f"#vetting-pending tr[data-ref='{ref}']").count() == 0

    page.goto(f"/vetting/{ref}")
    history = page.locator("#vetting-history tbody tr").first.inner_text()
    assert "Gescreend" in history and "KvK-uittreksel en loonlijst gecontroleerd" in history
    _shot(page, "vetting-detail")
    assert not page.js_errors


def test_connector_opens_a_challenge_and_moves_its_status(page: Any, login_as: Any) -> None:
    login_as("connector")
    page.click("nav.mainnav a:has-text('Challenges')")
    page.wait_for_url("**/challenges")
    cards = page.locator("#challenge-board .board-card")
    assert cards.count() > 0
    assert page.locator("#challenge-board .countdown").count() > 0
    _shot(page, "challenges-board")

    card = cards.first
    ref = card.get_attribute("data-ref")
    card.locator("h3 a").click()
    page.wait_for_url(f"**/challenges/{ref}")
    assert page.locator("h2", has_text="De vraag").count() == 1
    assert page.locator("#portfolio-list .proposal").count() > 0
    coalitions = page.locator("#coalitions")
    assert coalitions.count() == 1
    assert coalitions.locator(".coalition").count() > 0 or "Geen coalities" in (
        coalitions.inner_text())
    _shot(page, "challenge")

    before = page.locator(".stages li.current").inner_text()
    target = page.locator("#f-status option:checked").inner_text()
    page.fill("#status-form input[name=reason]", "Oproep staat open")
    page.click("#status-form button[type=submit]")
    page.wait_for_url(f"**/challenges/{ref}")
    assert "staat nu in de fase" in page.locator(".flash-success").inner_text()
    assert page.locator(".stages li.current").inner_text() == target != before
    history = page.locator("#status-history tbody tr").first.inner_text()
    assert before in history and target in history and "Oproep staat open" in history
    assert not page.js_errors
