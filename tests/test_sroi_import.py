"""A detected fixed social-return amount reaches the tender's amount field on import."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.conftest import import_one
from tests.test_import_ocds import RELEASE_PACKAGE, as_bytes, row, tender_release

pytestmark = pytest.mark.skipif(not RELEASE_PACKAGE.is_file(),
                                reason="shared OCDS example data not found")


def test_fixed_amount_is_stored_as_the_clause_amount(session: Session) -> None:
    rel = tender_release(description="Voor deze opdracht geldt een SROI ter waarde van € 50.000.")
    assert import_one(session, "ocds", as_bytes(rel), "a.json").ok
    t = row(session)
    assert t.sroi_detected is True and t.sroi_confirmed is False
    assert t.sroi_amount_eur == 50_000 and t.sroi_percentage is None
    # The sentence leaves the notice: the unconfirmed detection goes, amount included.
    rel = tender_release(description="Onderhoud van het groen.")
    assert import_one(session, "ocds", as_bytes(rel), "b.json").ok
    t = row(session)
    assert t.sroi_detected is False and t.sroi_amount_eur is None and t.sroi_percentage is None


def test_rate_replaces_an_unconfirmed_amount(session: Session) -> None:
    rel = tender_release(description="SROI is van toepassing. Opdrachtnemer zet een bedrag van "
                                     "€ 30.000 in voor de doelgroep.")
    assert import_one(session, "ocds", as_bytes(rel), "a.json").ok
    assert row(session).sroi_amount_eur == 30_000
    rel = tender_release(description="Social return: 3 tot 5% van de opdrachtwaarde.")
    assert import_one(session, "ocds", as_bytes(rel), "b.json").ok
    t = row(session)
    assert t.sroi_percentage == 3.0 and t.sroi_amount_eur is None
