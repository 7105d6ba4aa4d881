"""The gettext catalogs: every t()/tn()/N_() text of the code and templates has English,
placeholders match, teams agree, and no old JSON catalog is left behind."""

from __future__ import annotations

from api import i18n, i18n_catalogs


def test_no_json_catalogs_are_left() -> None:
    left = [str(p.relative_to(i18n_catalogs.ROOT)) for p in i18n_catalogs.leftover_json()]
    assert not left, ("old {dutch: english} JSON catalogs; convert each with "
                      "`python -m api.i18n_catalogs import-json " + " ".join(left) + "`")


def test_every_extracted_text_has_english() -> None:
    found = i18n_catalogs.extract()
    # The extraction really reads both kinds of file (a broken babel.cfg finds nothing).
    assert any(f.where.startswith("templates/") for f in found)
    assert any(f.where.startswith("api/") for f in found)
    missing = i18n_catalogs.missing(found)
    listing = "\n".join(f"  {where[0]}: {msgid!r}" for msgid, where in sorted(missing.items()))
    assert not missing, ("texts without English; add them to your team's "
                         f"api/translations/en/<team>.po:\n{listing}")


def test_placeholders_match_their_dutch() -> None:
    bad = i18n_catalogs.bad_placeholders()
    assert not bad, "English with other {fields} than the Dutch:\n" + "\n".join(bad)


def test_teams_agree_on_shared_texts() -> None:
    clashes = i18n_catalogs.conflicts()
    assert not clashes, "one Dutch text, two Englishes:\n" + "\n".join(clashes)


def test_catalog_lookup_and_fallback() -> None:
    assert i18n.translate("Ondernemingen", "en") == "Enterprises"
    assert i18n.translate("Ondernemingen", "nl") == "Ondernemingen"
    assert i18n.translate("Geen vertaling hiervoor", "en") == "Geen vertaling hiervoor"
    # A translation with a broken placeholder falls back to the Dutch, never a 500.
    assert i18n._fill("Hello {nam}", "Hallo {name}", {"name": "Ada"}) == "Hallo Ada"


def test_placeholder_fields() -> None:
    assert i18n_catalogs.placeholders("{n} van {total:,} ({{x}})") == {"n", "total"}


def test_jinja_trans_and_gettext_use_the_catalogs() -> None:
    from api.templating import current_lang, env

    token = current_lang.set("en")
    try:
        page = env.from_string('{% trans %}Ondernemingen{% endtrans %}|{{ _("Ondernemingen") }}'
                               '|{{ t("Welkom, {name}", name="Ada") }}').render()
    finally:
        current_lang.reset(token)
    assert page == "Enterprises|Enterprises|Welcome, Ada"


def test_plural_forms_in_both_languages() -> None:
    one, many = "{n} besluit", "{n} besluiten"
    assert i18n.translate_plural(one, many, 1, "nl") == "1 besluit"
    assert i18n.translate_plural(one, many, 0, "nl") == "0 besluiten"
    assert i18n.translate_plural(one, many, 1, "en") == "1 decision"
    assert i18n.translate_plural(one, many, 1234, "en") == "1,234 decisions"
    assert i18n.translate_plural(one, many, 1234, "nl") == "1.234 besluiten"


def test_texts_count_with_plural_forms() -> None:
    """'1 besluiten', 'regel(s)': a counted noun in a template goes through tn(), in Python
    through msgn()/translate_plural (every extracted text, templates and code)."""
    import re

    hack = re.compile(r"\w\((en|s|pen|n)\)")
    found = i18n_catalogs.extract()
    bad = sorted({f"{f.where}: {f.msgid!r}" for f in found
                  if isinstance(f.msgid, str) and hack.search(f.msgid)})
    assert not bad, "use tn(singular, plural, n) instead of '(en)'/'(s)':\n" + "\n".join(bad)


def test_label_tables_are_translated() -> None:
    """Labels reach t() through a variable (``t(KIND_NL[kind])``), out of the extractor's
    sight: every ``*_NL`` table of the api package must have English for each value."""
    import importlib
    import pkgutil
    from collections.abc import Mapping

    import api

    english = i18n.english()
    missing = []
    tables = 0
    for info in pkgutil.walk_packages(api.__path__, "api."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, table in vars(module).items():
            if not (name.endswith("_NL") and isinstance(table, Mapping)):
                continue
            tables += 1
            missing += [f"{info.name}.{name}: {v!r}" for v in table.values()
                        if isinstance(v, str) and v not in english]
    assert tables >= 10  # the walk really finds the label tables
    assert not missing, "labels without English:\n" + "\n".join(sorted(set(missing)))
