"""Import published tenders (OCDS, eForms) from bytes: for the CLI and the web layer.

Each call handles one file in one transaction: without ``partial`` any rejected item
means nothing from the file is written; with it the valid items are written and the
rejected ones reported. The caller's session is committed or rolled back here.
"""

from __future__ import annotations

from sqlmodel import Session

from api.importers.common import ImportReport, ItemError, write_tenders
from api.importers.eforms import parse_eforms
from api.importers.ocds import parse_ocds

__all__ = ["ImportReport", "ItemError", "import_eforms_bytes", "import_ocds_bytes"]


def import_ocds_bytes(session: Session, data: bytes, filename: str,
                      partial: bool = False, only_buyer: str | None = None) -> ImportReport:
    """OCDS release/record package, single release or JSON Lines -> tenders (ref = ocid).
    ``only_buyer``: refuse tenders of any other buyer (an officer's import)."""
    report = ImportReport(filename=filename, format="ocds")
    return write_tenders(session, parse_ocds(data, filename), report, partial, only_buyer)


def import_eforms_bytes(session: Session, data: bytes, filename: str,
                        partial: bool = False, only_buyer: str | None = None) -> ImportReport:
    """One eForms UBL notice (PIN, CN, CAN) -> one tender (ref = BT-04 procedure id).
    ``only_buyer``: refuse tenders of any other buyer (an officer's import)."""
    report = ImportReport(filename=filename, format="eforms")
    return write_tenders(session, parse_eforms(data, filename), report, partial, only_buyer)
