"""api.messages: a message is made in Dutch with its values and said in the reader's
language at the boundary; every message in the code has an English translation."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from api import i18n_catalogs
from api.i18n import english
from api.messages import from_json, msg, render_text, render_tree
from api.services.vetting_flow import event_text

ROOT = Path(__file__).resolve().parents[1]


def test_values_are_rendered_in_the_language() -> None:
    m = msg("einde {end} ligt voor begin {start}", end=date(2026, 3, 1), start=date(2026, 5, 2))
    assert m.render("nl") == "einde 1 maart 2026 ligt voor begin 2 mei 2026"
    assert m.render("en") == "end 1 March 2026 is before start 2 May 2026"
    nested = msg("{where}: {reason}", where="x.json", reason=msg("bestand is leeg"))
    assert nested.render("en") == "x.json: file is empty"
    assert str(nested) == "x.json: bestand is leeg"
    # A template's literal braces, with and without values.
    assert msg("schrijf {{\"ref\": …}}").render("nl") == 'schrijf {"ref": …}'


def test_stored_messages_render_later() -> None:
    m = msg("einde {end} ligt voor begin {start}", end=date(2026, 3, 1),
           start=msg("bestand is leeg"))
    stored = json.loads(json.dumps({"issues": [{"reason": m.to_json(), "ref": "E-1"}]}))
    assert from_json(stored["issues"][0]["reason"]) .render("en").startswith("end 1 March 2026")
    assert render_tree(stored, "en") == {"issues": [{
        "reason": "end 1 March 2026 is before start file is empty", "ref": "E-1"}]}
    assert render_text("plain", "en") == "plain" and render_text(None, "en") == ""


def test_vetting_event_text_names_the_file_never_the_path() -> None:
    for stored in ("imported from /srv/app/fixtures/sroi_fixtures.json",
                   "geïmporteerd uit sroi_fixtures.json",
                   "imported from C:\\data\\sroi_fixtures.json"):
        text = event_text(stored)
        assert render_text(text, "nl") == "geïmporteerd uit sroi_fixtures.json"
        assert render_text(text, "en") == "imported from sroi_fixtures.json"
    assert render_text(event_text("import of /tmp/x/a.csv"), "nl") == "import van a.csv"
    assert event_text("Goedgekeurd na gesprek") == "Goedgekeurd na gesprek"


def test_messages_are_found_by_the_catalog_extraction() -> None:
    """msg(), the api.errors classes and api_error are extraction keywords, so the catalog
    test (tests/web/test_translations.py) fails on any of them without English."""
    found = {f.msgid: f.where for f in i18n_catalogs.extract()}
    for msgid, where in (("{value} is geen KvK-nummer", "api/importers/interchange.py"),
                         ("geïmporteerd uit {file}", "api/services/vetting_flow.py"),
                         ("Alleen verbinders en beheerders kunnen importeren",
                          "api/routes/imports.py"),  # api_error
                         ("Onbekende verplichting.", "api/services/progress.py")):  # NotFound
        assert msgid in found and found[msgid].startswith(where), (msgid, found.get(msgid))
    en = english()
    marked = [f for f in found if isinstance(f, str)
              and f.split(":")[0] and re.search(r"[A-Za-z]", re.sub(r"\{[^}]*\}", "", f))]
    ours = [m for m in marked if found[m].startswith(("api/importers/", "api/messages.py",
                                                      "api/services/import"))]
    assert len(ours) > 150 and not [m for m in ours if m not in en]


def test_english_keeps_the_placeholders() -> None:
    names = re.compile(r"(?<!\{)\{(\w*)[^{}]*\}(?!\})")
    ours = [e for e in i18n_catalogs.entries() if e.team == "i18n-messages"]
    assert len(ours) > 200
    for e in ours:
        assert set(names.findall(str(e.msgid))) == set(names.findall(str(e.msgstr))), e
