"""Published notices' kinds are stored as codes and named in the reader's language
(api.importers.notice_kinds); tenders stored before the codes, with an English name,
read in Dutch and English too."""

from __future__ import annotations

import pytest

from api.importers.notice_kinds import (
    EFORMS_KIND_NL,
    KIND_HINTS,
    REFUSAL_HINT_NL,
    TED_FORM_NL,
    notice_kind_text,
)
from api.messages import render_text


def _said(published: dict[str, object]) -> tuple[str, str]:
    text = notice_kind_text(published)
    return render_text(text, "nl"), render_text(text, "en")


@pytest.mark.parametrize(("published", "nl", "en"), [
    ({"format": "eforms", "notice_kind": "competition", "notice_type": "cn-standard",
      "subtype": "16"}, "aankondiging van een opdracht (cn-standard, subtype 16)",
     "contract notice (cn-standard, subtype 16)"),
    ({"format": "eforms", "notice_kind": "change", "notice_type": "corr", "subtype": None},
     "wijzigingsaankondiging (corr)", "change notice (corr)"),
    ({"format": "ted", "notice_kind": "F21", "form": "F21",
      "notice_type": "AWARD_CONTRACT"},
     "sociale en andere specifieke diensten, AWARD_CONTRACT (F21)",
     "social and other specific services, AWARD_CONTRACT (F21)"),
    ({"format": "ted", "notice_kind": "F02", "form": "F02", "notice_type": None},
     "aankondiging van een opdracht (F02)", "contract notice (F02)"),
])
def test_a_stored_code_is_named_in_each_language(published: dict[str, object], nl: str,
                                                 en: str) -> None:
    assert _said(published) == (nl, en)


@pytest.mark.parametrize(("published", "nl", "en"), [
    # eForms, stored with the English name and its detail: the name read back to its code.
    ({"format": "eforms", "notice_kind": "contract award notice (can-standard, subtype 29)",
      "notice_type": "can-standard", "subtype": "29"},
     "aankondiging van een gegunde opdracht (can-standard, subtype 29)",
     "contract award notice (can-standard, subtype 29)"),
    ({"format": "eforms", "notice_kind": "contract modification notice (can-modif, "
      "subtype 38)", "notice_type": "can-modif", "subtype": "38"},
     "aankondiging van een wijziging van een opdracht (can-modif, subtype 38)",
     "contract modification notice (can-modif, subtype 38)"),
    # TED, stored with the English name: the form kept beside it names it.
    ({"format": "ted", "notice_kind": "contract notice (utilities) (F05)", "form": "F05",
      "notice_type": None},
     "aankondiging van een opdracht (nutssectoren) (F05)", "contract notice (utilities) (F05)"),
])
def test_a_tender_stored_with_the_old_english_name_reads_in_each_language(
        published: dict[str, object], nl: str, en: str) -> None:
    assert _said(published) == (nl, en)


def test_an_unknown_or_absent_kind() -> None:
    assert _said({"format": "eforms", "notice_kind": "something else"}) == (
        "something else", "something else")
    assert notice_kind_text({"format": "ocds"}) is None


def test_every_refused_kind_has_a_name_and_a_hint() -> None:
    for code, key in KIND_HINTS.items():
        assert code in EFORMS_KIND_NL or code in TED_FORM_NL, code
        assert key in REFUSAL_HINT_NL, key
