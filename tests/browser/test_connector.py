"""End to end in Chromium, as a connector: curate a match (refused without a reason, then
accepted with one and found in the log), vet a pending enterprise, open a Challenge with
its portfolio and coalitions, move it to the next stage; walk a new Challenge from the
form to closed (pitches, two pilots with their clocks, evaluations, results). Screenshots
of each main page go outside the repository (SCREENSHOT_DIR, default /tmp/sroi-screenshots).
"""

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
    # The control offers only the next stage.
    target = page.locator("#status-form button[type=submit]").inner_text().removeprefix(
        "Naar fase ")
    page.fill("#status-form input[name=reason]", "Oproep staat open")
    page.click("#status-form button[type=submit]")
    page.wait_for_url(f"**/challenges/{ref}")
    assert "staat nu in de fase" in page.locator(".flash-success").inner_text()
    assert page.locator(".stages li.current").inner_text() == target != before
    history = page.locator("#status-history tbody tr").first.inner_text()
    assert before in history and target in history and "Oproep staat open" in history
    assert not page.js_errors


def _next_stage(page: Any, ref: str, label: str) -> None:
    button = page.locator("#status-form button[type=submit]")
    assert button.inner_text() == f"Naar fase {label}"
    button.click()
    page.wait_for_url(f"**/challenges/{ref}")
    assert page.locator(".stages li.current").inner_text() == label


def test_connector_walks_a_challenge_from_creation_to_closed(page: Any, login_as: Any
                                                             ) -> None:
    login_as("connector")
    page.goto("/challenges")
    page.click("#new-challenge")
    page.wait_for_url("**/challenges/new")
    page.fill("#f-title", "Samen koken tegen eenzaamheid")
    page.fill("#f-question", "Hoe brengen we alleenstaande ouderen samen aan tafel?")
    page.fill("#f-themes", "eenzaamheid, ouderen")
    page.fill("#f-municipality", "Utrecht")
    page.fill("#f-budget_eur", "veel")
    page.fill("#f-deadline", "2026-09-30")
    page.click("#challenge-form button[type=submit]")
    # Refused with the message beside the field, what was typed kept.
    assert page.locator("#f-budget_eur-err").count() == 1
    assert page.input_value("#f-title") == "Samen koken tegen eenzaamheid"
    page.fill("#f-budget_eur", "60.000")
    page.click("#challenge-form button[type=submit]")
    page.wait_for_url("**/challenges/C-*")
    ref = page.url.rsplit("/", 1)[1]
    assert "aangemaakt" in page.locator(".flash-success").inner_text()
    assert page.locator(".stages li.current").inner_text() == "Intake"
    _shot(page, "challenge-new")

    _next_stage(page, ref, "Oproep")
    candidates = page.locator("#portfolio-list input[name=enterprise_ref]")
    assert candidates.count() >= 2
    leads = [candidates.nth(i).get_attribute("value") for i in range(2)]
    for lead, approach in zip(leads, ("Kookclub in het buurthuis", "Maaltijden aan huis"),
                              strict=True):
        page.fill("#f-enterprise_ref", lead)
        page.fill("#f-approach", approach)
        page.fill("#f-team", "Een kok en twee vrijwilligers")
        page.fill("#f-pitch-budget", "25.000")
        page.check("#pitch-form input[name=themes][value=eenzaamheid]")
        page.click("#pitch-form button[type=submit]")
        page.wait_for_url(f"**/challenges/{ref}*")
        assert "opgeslagen" in page.locator(".flash-success").inner_text()
    assert page.locator("#pitches .pitch").count() == 2

    _next_stage(page, ref, "Pitch")
    for start in ("2026-05-18", "2026-06-15"):
        form = page.locator("#pitches form.pilot-form").first
        form.locator("input[name=start]").fill(start)
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"**/challenges/{ref}*")
        assert "Pilot gekozen" in page.locator(".flash-success").inner_text()
    _next_stage(page, ref, "Pilot")
    clocks = page.locator("#pilots .pilot-clock")
    # TODAY is 2026-06-01: one pilot is two weeks in, the other starts in two weeks.
    assert "nog 70 dagen van de 12 weken" in clocks.nth(0).inner_text()
    assert "start over 14 dagen" in clocks.nth(1).inner_text()
    _shot(page, "challenge-pilots")

    _next_stage(page, ref, "Evaluatie")
    for i, (outcome, score) in enumerate((("success", "8"), ("partial", "6"))):
        form = page.locator("#pilots form.evaluation-form").nth(i)
        form.locator("select[name=outcome]").select_option(outcome)
        form.locator("input[name=score]").fill(score)
        form.locator("input[name=note]").fill(f"Pilot {i + 1} geevalueerd")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"**/challenges/{ref}*")
        assert "Evaluatie opgeslagen." in page.locator(".flash-success").inner_text()
    page.fill("#f-summary", "Kookclub gaat door; maaltijden aan huis alleen in de winter.")
    page.click("#close-form button[type=submit]")
    page.wait_for_url(f"**/challenges/{ref}")
    assert page.locator(".stages li.current").inner_text() == "Gesloten"
    results = page.locator("#results").inner_text()
    assert "Kookclub gaat door" in results and "Geslaagd" in results
    assert "cijfer 8" in results and "cijfer 6" in results
    history = page.locator("#status-history tbody tr")
    assert history.count() == 6  # created, then five stage changes
    _shot(page, "challenge-closed")

    page.goto("/challenges")
    assert page.locator(f"[data-stage=closed] .board-card[data-ref='{ref}']").count() == 1
    assert page.locator(".board-card .past-deadline").count() > 0  # the fixtures' old ones
    assert not page.js_errors
